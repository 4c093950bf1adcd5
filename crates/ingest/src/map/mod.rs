//! HL7 v2 → FHIR: the result types ([`Mapped`], [`MergeInstruction`], [`MapError`]), the dispatch
//! by message type ([`map_message`]: ADT → [`crate::adt`], ORU^R01 → [`crate::oru`]) and what every
//! mapping shares ([`Ctx`]): the sending facility's Organization, checked dates, warnings, and the
//! Provenance that closes each Bundle (target = every resource written, agent = MSH-3/MSH-4,
//! entity = the message control id MSH-10).
//!
//! Every Bundle is a FHIR transaction of conditional writes, so applying a message twice changes
//! nothing the second time: the source's own records are `PUT Type?identifier=…` (create or
//! replace), shared reference data (organisations, locations, practitioners) is `POST` with
//! `ifNoneExist` (create only when missing: another source's richer copy is never overwritten), and
//! the Provenance is `PUT Provenance/<id>` with the id a name-based UUID of the message.

pub(crate) mod patient;
pub(crate) mod v2;

use crate::ack::{AckCode, ErrInfo, ErrLocation, Severity};
use crate::fhir::{cc, identifier, local_system, reference, BundleBuilder, ODS, WEAVE};
use crate::hl7::{Message, Segment};
use crate::time::{parse_dtm, Dtm, LocalZone};
use serde_json::{json, Value};
use thiserror::Error;

/// Options of the HL7 mappings.
#[derive(Debug, Clone, Copy)]
pub struct MapOptions {
    /// The zone of times sent without a UTC offset.
    pub zone: LocalZone,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self { zone: LocalZone::EuropeLondon }
    }
}

/// A business identifier (system and value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identifier {
    pub system: String,
    pub value: String,
}

/// A patient merge (ADT A40 / A34): the record `retired` is merged into `surviving`. Acting on it
/// (linking or moving the records) is the Identify capability's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeInstruction {
    pub surviving: Identifier,
    pub retired: Identifier,
}

/// A mapped message: a FHIR transaction Bundle, a merge to carry out, and what was noticed but not
/// fatal (unmapped segments, values kept as text, invalid NHS numbers…).
#[derive(Debug, Clone)]
pub struct Mapped {
    pub bundle: Value,
    pub merge: Option<MergeInstruction>,
    pub warnings: Vec<String>,
}

/// Why a parsed message could not be mapped. [`MapError::ack_code`] says whether the sender gets
/// AE (fix and resend) or AR (never processed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MapError {
    #[error("unsupported message type {message_type}")]
    Unsupported { message_type: String, event: bool },
    #[error("the {segment} segment is missing")]
    MissingSegment { segment: &'static str },
    #[error("{segment}-{field} ({name}) is missing")]
    MissingField { segment: &'static str, index: usize, field: usize, name: &'static str },
    #[error("{segment}-{field} has a bad value '{value}': {reason}")]
    BadValue { segment: String, index: usize, field: usize, value: String, reason: &'static str },
}

impl MapError {
    /// AR for unsupported messages, AE for everything the sender can correct.
    #[must_use]
    pub fn ack_code(&self) -> AckCode {
        match self {
            Self::Unsupported { .. } => AckCode::AR,
            _ => AckCode::AE,
        }
    }

    /// The ERR content for this error in `msg`.
    #[must_use]
    pub fn err_info(&self, msg: &Message<'_>) -> ErrInfo {
        let sequence = |index: usize, name: &str| {
            msg.segments().iter().take(index + 1).filter(|s| s.name() == name).count().max(1)
        };
        let (code, location) = match self {
            Self::Unsupported { event, .. } => (
                if *event { 201 } else { 200 },
                Some(ErrLocation { segment: "MSH".into(), sequence: 1, field: 9, component: None }),
            ),
            Self::MissingSegment { .. } => (100, None),
            Self::MissingField { segment, index, field, .. } => (
                101,
                Some(ErrLocation { segment: (*segment).into(), sequence: sequence(*index, segment), field: *field, component: None }),
            ),
            Self::BadValue { segment, index, field, .. } => (
                102,
                Some(ErrLocation { segment: segment.clone(), sequence: sequence(*index, segment), field: *field, component: None }),
            ),
        };
        ErrInfo { code, severity: Severity::Error, location, message: self.to_string() }
    }
}

/// Maps a parsed message: ADT (A01–A08, A11–A13, A28, A31, A34, A40) and ORU^R01.
pub fn map_message(msg: &Message<'_>, opts: &MapOptions) -> Result<Mapped, MapError> {
    match msg.message_type() {
        "ADT" => crate::adt::map(msg, opts),
        "ORU" if matches!(msg.trigger_event(), "R01" | "") => crate::oru::map(msg, opts),
        "ORU" => Err(MapError::Unsupported { message_type: format!("ORU^{}", msg.trigger_event()), event: true }),
        other => Err(MapError::Unsupported { message_type: other.to_owned(), event: false }),
    }
}

/// Whether `code` looks like an ODS organisation code (3–7 upper-case letters and digits with at
/// least one of each, as `R9W`, `Y90001`, `RRK02`).
#[must_use]
pub(crate) fn looks_like_ods(code: &str) -> bool {
    let b = code.as_bytes();
    (3..=7).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_uppercase)
}

/// The identifier of an organisation known by `code`: ODS when it looks like one, else Weave's
/// facility namespace.
pub(crate) fn org_identifier(code: &str) -> (String, String) {
    if looks_like_ods(code) {
        (ODS.to_owned(), code.to_owned())
    } else {
        (format!("{WEAVE}/Id/facility"), code.to_owned())
    }
}

/// State shared by one message's mapping.
pub(crate) struct Ctx<'m, 'a> {
    pub msg: &'m Message<'a>,
    pub opts: &'m MapOptions,
    pub b: BundleBuilder,
    pub warnings: Vec<String>,
    /// The sending facility's code (MSH-4.1, else MSH-4.2, else MSH-3.1): the namespace of the
    /// source's local identifiers.
    pub facility: String,
    /// `fullUrl` of the sending facility's Organization.
    pub org_url: String,
}

impl<'m, 'a> Ctx<'m, 'a> {
    pub fn new(msg: &'m Message<'a>, opts: &'m MapOptions) -> Self {
        let msh = msg.msh();
        let hd = msh.field(4).first();
        let facility: String = [hd.text(1), hd.text(2), msh.field(3).text(1)]
            .into_iter()
            .find(|s| !s.trim().is_empty())
            .map_or_else(|| "unknown-facility".to_owned(), |s| s.trim().chars().take(64).collect());
        let (system, value) = org_identifier(&facility);
        let org = json!({
            "resourceType": "Organization",
            "meta": { "profile": [crate::fhir::uk_core("Organization")] },
            "identifier": [identifier(&system, &value)],
            "active": true,
            "name": facility
        });
        let mut b = BundleBuilder::new();
        let org_url = b.create_conditional("Organization", &system, &value, org);
        let warnings = msg
            .continued()
            .iter()
            .map(|i| format!("segment {i} spans several lines: a line break inside a field was kept as data"))
            .collect();
        Self { msg, opts, b, warnings, facility, org_url }
    }

    pub fn warn(&mut self, w: impl Into<String>) {
        self.warnings.push(w.into());
    }

    /// The checked date/time in field `field` (component 1) of `seg`; None when empty.
    pub fn dtm(&self, seg: &Segment<'_>, field: usize) -> Result<Option<Dtm>, MapError> {
        let raw = seg.field(field).comp(1).trim();
        if raw.is_empty() {
            return Ok(None);
        }
        parse_dtm(raw).map(Some).map_err(|reason| MapError::BadValue {
            segment: seg.name().to_owned(),
            index: seg.index(),
            field,
            value: raw.chars().take(40).collect(),
            reason,
        })
    }

    /// Field `field` of `seg` as a FHIR dateTime.
    pub fn datetime(&self, seg: &Segment<'_>, field: usize) -> Result<Option<String>, MapError> {
        Ok(self.dtm(seg, field)?.map(|d| d.fhir_datetime(self.opts.zone)))
    }

    /// Field `field` of `seg` as a FHIR instant (needs a full date).
    pub fn instant(&self, seg: &Segment<'_>, field: usize) -> Result<Option<String>, MapError> {
        Ok(self.dtm(seg, field)?.and_then(|d| d.fhir_instant(self.opts.zone)))
    }

    /// When the event happened: EVN-6, else EVN-2, else MSH-7.
    pub fn event_time(&self) -> Result<Option<String>, MapError> {
        if let Some(evn) = self.msg.segment("EVN") {
            for f in [6, 2] {
                if let Some(t) = self.datetime(evn, f)? {
                    return Ok(Some(t));
                }
            }
        }
        self.datetime(self.msg.msh(), 7)
    }

    /// Warns once about every segment present but not in `mapped`.
    pub fn note_unmapped(&mut self, mapped: &[&str]) {
        let mut names: Vec<&str> = Vec::new();
        for s in self.msg.segments() {
            if !mapped.contains(&s.name()) && !names.contains(&s.name()) {
                names.push(s.name());
            }
        }
        if !names.is_empty() {
            self.warn(format!("segments not mapped: {}", names.join(", ")));
        }
    }

    /// Adds the Provenance and returns the result.
    pub fn finish(mut self, merge: Option<MergeInstruction>) -> Result<Mapped, MapError> {
        let msh = self.msg.msh();
        let recorded = match self.instant(msh, 7)? {
            Some(t) => t,
            None => match self.msg.segment("EVN").map(|e| self.instant(e, 2)).transpose()?.flatten() {
                Some(t) => t,
                None => {
                    return Err(MapError::MissingField { segment: "MSH", index: 0, field: 7, name: "date/time of message" })
                }
            },
        };
        let ctrl = self.msg.msh().field(10).value().into_owned();
        let app = msh.field(3).text(1).into_owned();
        let kind = format!("{}^{}", self.msg.message_type(), self.msg.trigger_event());
        let targets: Vec<Value> = self.b.written().iter().map(|u| reference(u)).collect();
        let who = if app.is_empty() { self.facility.clone() } else { format!("{app} at {}", self.facility) };
        let prov = json!({
            "resourceType": "Provenance",
            "target": targets,
            "recorded": recorded,
            "activity": cc("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "UPDATE", "revise"),
            "agent": [{
                "type": cc("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"),
                "who": { "reference": self.org_url, "display": who }
            }],
            "entity": [{
                "role": "source",
                "what": {
                    "identifier": identifier(&local_system(&self.facility, "hl7-message"), &ctrl),
                    "display": format!("HL7 v2 {kind} message {ctrl}")
                }
            }]
        });
        let key = format!("{}|{}|{ctrl}", self.facility, app);
        self.b.put_with_id("Provenance", &key, prov);
        Ok(Mapped { bundle: self.b.finish(), merge, warnings: self.warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::{parse, ParseOptions};

    #[test]
    fn ods_codes_are_recognised() {
        for ods in ["R9W", "Y90001", "RRK02", "V9C01"] {
            assert!(looks_like_ods(ods), "{ods}");
        }
        for not in ["GHHSFacility", "ABC", "123", "R9", "r9w", "SISGDSP"] {
            assert!(!looks_like_ods(not), "{not}");
        }
        assert_eq!(org_identifier("R9W").0, ODS);
        assert_eq!(org_identifier("Good Health").0, "https://weave.example/Id/facility");
    }

    #[test]
    fn a_long_multibyte_facility_is_cut_on_a_character_boundary() {
        // Regression (fuzzing): truncating the facility name at byte 64 split a character.
        let fac = "\u{fffd}".repeat(80);
        let text = format!("MSH|^~\\&|PAS|R9W{fac}|W|W|20240101||ADT^A28|C|P|2.4\rPID|1||1^^^X^MR\r");
        let m = parse(&text, &ParseOptions::default()).expect("parses");
        let opts = MapOptions::default();
        let ctx = Ctx::new(&m, &opts);
        assert_eq!(ctx.facility.chars().count(), 64);
    }

    #[test]
    fn errors_locate_the_segment_occurrence() {
        let m = parse("MSH|^~\\&|A|B|C|D|2024||ORU^R01|C|P|2.5\rOBX|1\rOBX|2\r", &ParseOptions::default()).expect("parses");
        let e = MapError::MissingField { segment: "OBX", index: 2, field: 3, name: "observation identifier" };
        let info = e.err_info(&m);
        assert_eq!((info.code, info.location.map(|l| (l.segment, l.sequence, l.field))), (101, Some(("OBX".into(), 2, 3))));
        assert_eq!(e.ack_code(), AckCode::AE);
        let u = MapError::Unsupported { message_type: "SIU".into(), event: false };
        assert_eq!((u.ack_code(), u.err_info(&m).code), (AckCode::AR, 200));
    }
}
