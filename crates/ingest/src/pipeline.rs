//! One HL7 message from transport bytes to a checked FHIR Bundle and the ACK to send back: parse
//! (AR when unparseable), map (AE or AR by [`MapError::ack_code`]), validate the Bundle with
//! `weave_fhir` (AE, code 207, if a mapping bug ever produced invalid FHIR), else AA. The caller
//! keeps the input of every failure (dead letters): nothing is lost.

use crate::ack::{ack, ack_unparseable, AckCode, ErrInfo, Severity};
use crate::hl7::{decode_text, parse, ParseError, ParseOptions};
use crate::map::{map_message, MapError, MapOptions, Mapped};
use thiserror::Error;

/// Why a message was not turned into a Bundle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Failure {
    #[error("unparseable: {0}")]
    Parse(#[from] ParseError),
    #[error("not mapped: {0}")]
    Map(#[from] MapError),
    #[error("the mapped Bundle is not valid FHIR: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// The outcome of [`process`]: the ACK to send and the Bundle (or why there is none).
#[derive(Debug, Clone)]
pub struct Processed {
    pub ack: String,
    pub result: Result<Mapped, Failure>,
    /// MSH-10, when the message parsed (the listener keys resends on it).
    pub control_id: Option<String>,
    /// MSH-4.1, when the message parsed and names one.
    pub sending_facility: Option<String>,
}

/// Parses, maps and validates one message.
#[must_use]
pub fn process(bytes: &[u8], parse_opts: &ParseOptions, map_opts: &MapOptions) -> Processed {
    let unparsed = |ack, result| Processed { ack, result, control_id: None, sending_facility: None };
    let text = match decode_text(bytes, parse_opts) {
        Ok(t) => t,
        Err(e) => return unparsed(ack_unparseable(bytes, &e), Err(e.into())),
    };
    let msg = match parse(&text, parse_opts) {
        Ok(m) => m,
        Err(e) => return unparsed(ack_unparseable(bytes, &e), Err(e.into())),
    };
    let facility = msg.msh().field(4).comp(1);
    let parsed = |ack, result| Processed {
        ack,
        result,
        control_id: Some(msg.control_id().to_owned()),
        sending_facility: (!facility.is_empty()).then(|| facility.to_owned()),
    };
    match map_message(&msg, map_opts) {
        Err(e) => parsed(ack(&msg, e.ack_code(), Some(&e.err_info(&msg))), Err(e.into())),
        Ok(mapped) => {
            let problems: Vec<String> = weave_fhir::validate::validate_resource(weave_fhir::r4(), &mapped.bundle)
                .into_iter()
                .filter(weave_fhir::outcome::Issue::is_error)
                .map(|i| i.to_string())
                .collect();
            if problems.is_empty() {
                parsed(ack(&msg, AckCode::AA, None), Ok(mapped))
            } else {
                let info = ErrInfo { code: 207, severity: Severity::Error, location: None, message: "internal mapping error".into() };
                parsed(ack(&msg, AckCode::AE, Some(&info)), Err(Failure::Invalid(problems)))
            }
        }
    }
}
