//! HL7 v2 acknowledgements in original mode: `MSH` (sender and receiver swapped, the original's
//! delimiters, version and processing id), `MSA` (AA/AE/AR with the original control id) and, for
//! AE/AR, an `ERR` segment (v2.5+ layout: ERR-2 location, ERR-3 HL7 error code from table 0357,
//! ERR-4 severity, ERR-8 user message; before v2.5: ERR-1 with location and code). Input too broken
//! to parse still gets an AR carrying whatever MSH fields could be recovered.

use crate::hl7::{escape, Delimiters, Message, ParseError};
use crate::time::now_hl7;

/// Acknowledgment code (MSA-1, original mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Application Accept: processed.
    AA,
    /// Application Error: could not be processed now (e.g. a required field is missing);
    /// the sender may correct and resend.
    AE,
    /// Application Reject: will never be processed (unsupported type, unparseable).
    AR,
}

impl AckCode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AA => "AA",
            Self::AE => "AE",
            Self::AR => "AR",
        }
    }
}

/// ERR-4 severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
}

/// Where the error is (ERR-2, ERL): segment id, its 1-based occurrence, field and component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrLocation {
    pub segment: String,
    pub sequence: usize,
    pub field: usize,
    pub component: Option<usize>,
}

/// What goes into the ERR segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrInfo {
    /// HL7 table 0357 code: 100 segment sequence error, 101 required field missing, 102 data type
    /// error, 103 table value not found, 200 unsupported message type, 201 unsupported event code,
    /// 203 unsupported version id, 207 application internal error.
    pub code: u16,
    pub severity: Severity,
    pub location: Option<ErrLocation>,
    pub message: String,
}

/// The text of a table 0357 code.
#[must_use]
pub fn error_code_text(code: u16) -> &'static str {
    match code {
        0 => "Message accepted",
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        202 => "Unsupported processing id",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        205 => "Duplicate key identifier",
        206 => "Application record locked",
        _ => "Application internal error",
    }
}

/// MSH-7 and MSH-10 of an ACK.
#[derive(Debug, Clone, Copy)]
pub struct AckHeader<'a> {
    pub timestamp: &'a str,
    pub control_id: &'a str,
}

/// The ACK for `msg` (MSH-7 now, MSH-10 `ACK<original control id>`).
#[must_use]
pub fn ack(msg: &Message<'_>, code: AckCode, error: Option<&ErrInfo>) -> String {
    let ts = now_hl7();
    let ctrl = format!("ACK{}", msg.control_id());
    ack_with(msg, code, error, &AckHeader { timestamp: &ts, control_id: &ctrl })
}

/// The ACK for `msg` with a given header (deterministic, for tests and replays).
#[must_use]
pub fn ack_with(msg: &Message<'_>, code: AckCode, error: Option<&ErrInfo>, header: &AckHeader<'_>) -> String {
    let msh = msg.msh();
    let fields = Recovered {
        delims: msg.delimiters(),
        sending_app: msh.field(3).raw().to_owned(),
        sending_facility: msh.field(4).raw().to_owned(),
        receiving_app: msh.field(5).raw().to_owned(),
        receiving_facility: msh.field(6).raw().to_owned(),
        trigger: msg.trigger_event().to_owned(),
        control_id: msg.control_id().to_owned(),
        processing_id: msh.field(11).raw().to_owned(),
        version: msh.field(12).raw().to_owned(),
    };
    build(&fields, code, error, header)
}

/// What an ACK needs from the original message (raw, in the original's delimiters).
#[derive(Debug, Clone, Default)]
struct Recovered {
    delims: Delimiters,
    sending_app: String,
    sending_facility: String,
    receiving_app: String,
    receiving_facility: String,
    trigger: String,
    control_id: String,
    processing_id: String,
    version: String,
}

fn version_before_2_5(version: &str) -> bool {
    let mut it = version.split('.').map(|p| p.trim().parse::<u32>().unwrap_or(0));
    let (major, minor) = (it.next().unwrap_or(2), it.next().unwrap_or(0));
    major < 2 || (major == 2 && minor < 5)
}

fn build(r: &Recovered, code: AckCode, error: Option<&ErrInfo>, header: &AckHeader<'_>) -> String {
    let d = &r.delims;
    let f = char::from(d.field);
    let c = char::from(d.component);
    let ts = escape(header.timestamp, d);
    let ctrl = escape(header.control_id, d);
    let processing = if r.processing_id.is_empty() { "P" } else { &r.processing_id };
    let version = if r.version.is_empty() { "2.5" } else { &r.version };
    let mut out = format!(
        "MSH{f}{enc}{f}{ra}{f}{rf}{f}{sa}{f}{sf}{f}{ts}{f}{f}ACK{c}{trig}{c}ACK{f}{ctrl}{f}{processing}{f}{version}\r",
        enc = d.encoding_chars(),
        ra = r.receiving_app,
        rf = r.receiving_facility,
        sa = r.sending_app,
        sf = r.sending_facility,
        trig = r.trigger,
    );
    let old = version_before_2_5(version);
    out.push_str(&format!("MSA{f}{}{f}{}", code.as_str(), r.control_id));
    if let (true, Some(e)) = (old, error) {
        out.push(f);
        out.push_str(&escape(&e.message, d));
    }
    out.push('\r');
    if let (Some(e), true) = (error, code != AckCode::AA) {
        out.push_str(&err_segment(e, d, old));
    }
    out
}

fn err_segment(e: &ErrInfo, d: &Delimiters, old: bool) -> String {
    let f = char::from(d.field);
    let c = char::from(d.component);
    let s = d.subcomponent.map_or(c, char::from);
    let text = error_code_text(e.code);
    let loc = e.location.as_ref().map_or(String::new(), |l| {
        let comp = l.component.map_or(String::new(), |n| format!("{c}{c}{n}"));
        format!("{}{c}{}{c}{}{comp}", escape(&l.segment, d), l.sequence, l.field)
    });
    if old {
        // v2.4 and before: ERR-1 ELD = segment^sequence^field^code&text&HL70357.
        let (seg, seq, field) = e.location.as_ref().map_or((String::new(), String::new(), String::new()), |l| {
            (escape(&l.segment, d).into_owned(), l.sequence.to_string(), l.field.to_string())
        });
        return format!("ERR{f}{seg}{c}{seq}{c}{field}{c}{}{s}{text}{s}HL70357\r", e.code);
    }
    let sev = match e.severity {
        Severity::Error => "E",
        Severity::Warning => "W",
        Severity::Information => "I",
    };
    format!(
        "ERR{f}{f}{loc}{f}{}{c}{text}{c}HL70357{f}{sev}{f}{f}{f}{f}{}\r",
        e.code,
        escape(&e.message, d)
    )
}

/// The ERR content for a parse failure.
#[must_use]
pub fn parse_error_info(err: &ParseError) -> ErrInfo {
    let code = match err {
        ParseError::Empty | ParseError::MissingMsh { .. } | ParseError::BadSegment { .. } | ParseError::Truncated { .. } | ParseError::SecondMessage { .. } => 100,
        ParseError::NoMessageType | ParseError::MissingField { .. } => 101,
        ParseError::BadDelimiters { .. } | ParseError::Binary { .. } => 102,
        ParseError::Oversized { .. } => 207,
    };
    let location = err.position().map(|(segment, field)| ErrLocation {
        segment: if segment == 0 { "MSH".into() } else { String::new() },
        sequence: 1,
        field,
        component: None,
    });
    ErrInfo { code, severity: Severity::Error, location, message: err.to_string() }
}

/// Recovers the MSH fields an ACK needs from raw input that did not parse.
fn recover(raw: &[u8]) -> Recovered {
    let text: String = String::from_utf8_lossy(raw.get(..raw.len().min(64 * 1024)).unwrap_or(raw)).into_owned();
    let Some(at) = text.find("MSH") else {
        return Recovered::default();
    };
    let line: &str = text[at..].split(['\r', '\n']).next().unwrap_or("");
    let b = line.as_bytes();
    let sep = match b.get(3) {
        Some(&s) if s.is_ascii_graphic() && !s.is_ascii_alphanumeric() => s,
        _ => return Recovered::default(),
    };
    let fields: Vec<&str> = line.split(char::from(sep)).collect();
    let enc = fields.get(1).copied().unwrap_or("").as_bytes();
    let theirs = enc.len() >= 2
        && enc.len() <= 5
        && enc.iter().all(|c| c.is_ascii_graphic() && !c.is_ascii_alphanumeric() && *c != sep);
    let delims = if theirs {
        Delimiters {
            field: sep,
            component: enc[0],
            repetition: enc[1],
            escape: enc.get(2).copied(),
            subcomponent: enc.get(3).copied(),
            truncation: enc.get(4).copied(),
        }
    } else {
        Delimiters::default()
    };
    // Field n of MSH is fields[n - 1]; values are kept raw when the delimiters are the sender's,
    // otherwise they are escaped so that junk cannot break the ACK's structure.
    let get = |n: usize| -> String {
        let v: String = fields.get(n - 1).copied().unwrap_or("").chars().filter(|c| !c.is_control()).take(200).collect();
        if theirs {
            v
        } else {
            escape(&v, &delims).into_owned()
        }
    };
    let trigger: String = {
        let raw9 = fields.get(8).copied().unwrap_or("");
        let t = raw9.split(char::from(delims.component)).nth(1).unwrap_or("");
        t.chars().filter(char::is_ascii_alphanumeric).take(3).collect()
    };
    Recovered {
        delims,
        sending_app: get(3),
        sending_facility: get(4),
        receiving_app: get(5),
        receiving_facility: get(6),
        trigger,
        control_id: get(10),
        processing_id: get(11),
        version: get(12),
    }
}

/// An AR for input that could not be parsed, with the MSH fields that could be recovered.
#[must_use]
pub fn ack_unparseable(raw: &[u8], err: &ParseError) -> String {
    let ts = now_hl7();
    let r = recover(raw);
    let ctrl = format!("ACK{}", r.control_id);
    build(&r, AckCode::AR, Some(&parse_error_info(err)), &AckHeader { timestamp: &ts, control_id: &ctrl })
}

/// [`ack_unparseable`] with a given header.
#[must_use]
pub fn ack_unparseable_with(raw: &[u8], err: &ParseError, header: &AckHeader<'_>) -> String {
    build(&recover(raw), AckCode::AR, Some(&parse_error_info(err)), header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::{parse, ParseOptions};

    const H: AckHeader<'static> = AckHeader { timestamp: "20250401090000+0000", control_id: "A1" };

    #[test]
    fn accept_swaps_sender_and_receiver() {
        let m = parse("MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401||ADT^A01^ADT_A01|C42|P|2.5.1\rPID|1\r", &ParseOptions::default()).expect("parses");
        let a = ack_with(&m, AckCode::AA, None, &H);
        assert_eq!(a, "MSH|^~\\&|WEAVE|HUB|PAS|R9W|20250401090000+0000||ACK^A01^ACK|A1|P|2.5.1\rMSA|AA|C42\r");
        let e = ErrInfo {
            code: 101,
            severity: Severity::Error,
            location: Some(ErrLocation { segment: "PID".into(), sequence: 1, field: 3, component: None }),
            message: "PID-3 | missing".into(),
        };
        let a = ack_with(&m, AckCode::AE, Some(&e), &H);
        assert!(a.ends_with("MSA|AE|C42\rERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 \\F\\ missing\r"), "{a}");
        assert!(ack(&m, AckCode::AA, None).contains("|ACK^A01^ACK|ACKC42|P|2.5.1\r"));
    }

    #[test]
    fn version_2_4_uses_msa_3_and_err_1() {
        let m = parse("MSH|^~\\&|PAS|R9W|WEAVE|HUB|2025||ORU^R01|C9|P|2.4\r", &ParseOptions::default()).expect("parses");
        let e = ErrInfo { code: 200, severity: Severity::Error, location: None, message: "no".into() };
        let a = ack_with(&m, AckCode::AR, Some(&e), &H);
        assert!(a.ends_with("MSA|AR|C9|no\rERR|^^^200&Unsupported message type&HL70357\r"), "{a}");
    }

    #[test]
    fn unparseable_input_still_gets_an_ar() {
        let raw = b"MSH||PAS|R9W|WEAVE|HUB|2025||ADT^A01|C7|P|2.5\rPID|1\r";
        let err = parse(std::str::from_utf8(raw).unwrap_or(""), &ParseOptions::default()).unwrap_err();
        let a = ack_unparseable_with(raw, &err, &H);
        assert!(a.starts_with("MSH|^~\\&|WEAVE|HUB|PAS|R9W|"), "{a}");
        assert!(a.contains("\rMSA|AR|C7\rERR||MSH^1^2|102^Data type error^HL70357|E||||"), "{a}");
        let junk = ack_unparseable_with(b"\x00\x01garbage", &ParseError::Binary { offset: 0, byte: 0 }, &H);
        assert!(junk.starts_with("MSH|^~\\&|||||20250401090000+0000||ACK^^ACK|A1|P|2.5\rMSA|AR|\rERR||"), "{junk}");
    }
}
