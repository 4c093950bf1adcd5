//! Bad input through the whole pipeline: each kind of damage gives its error kind and the right
//! ACK (AR for what can never be processed, AE for what the sender can fix, AA otherwise).

use weave_ingest::hl7::{ParseError, ParseOptions};
use weave_ingest::map::{MapError, MapOptions};
use weave_ingest::pipeline::{process, Failure, Processed};

const GOOD: &str = "MSH|^~\\&|PAS|R9W|WEAVE|WEAVE|20240105073600||ADT^A01^ADT_A01|C100|P|2.4\rEVN|A01|20240105073600\rPID|1||9434765919^^^NHS^NH~RW1^^^R9W^MR||SMITH^Ann||19400101|F\rPV1|1|I|AMU^^^R9W|21||||||300||||19|||||I0001|||||||||||||||||||||||||202401050736\r";

fn run(bytes: &[u8]) -> Processed {
    process(bytes, &ParseOptions::default(), &MapOptions::default())
}

fn msa(ack: &str) -> &str {
    ack.split('\r').find(|s| s.starts_with("MSA|")).unwrap_or("")
}

fn err(ack: &str) -> &str {
    ack.split('\r').find(|s| s.starts_with("ERR|")).unwrap_or("")
}

#[test]
fn a_good_message_is_accepted() {
    let p = run(GOOD.as_bytes());
    assert!(p.result.is_ok(), "{:?}", p.result.err());
    assert_eq!(msa(&p.ack), "MSA|AA|C100");
    assert!(p.ack.starts_with("MSH|^~\\&|WEAVE|WEAVE|PAS|R9W|"));
    assert!(p.ack.contains("|ACK^A01^ACK|ACKC100|P|2.4\r"));
}

#[test]
fn truncated_input_is_rejected() {
    let p = run(&GOOD.as_bytes()[..20]);
    assert_eq!(p.result.err(), Some(Failure::Parse(ParseError::Truncated { segment: 0, field: 6 })));
    assert_eq!(msa(&p.ack), "MSA|AR|");
    assert!(err(&p.ack).starts_with("ERR||MSH^1^6|100^Segment sequence error^HL70357|E|"), "{}", p.ack);
}

#[test]
fn binary_junk_is_rejected() {
    let mut bytes = GOOD.as_bytes().to_vec();
    bytes.splice(80..80, [0u8, 0xFF, 0x02]);
    let p = run(&bytes);
    assert_eq!(p.result.err(), Some(Failure::Parse(ParseError::Binary { offset: 80, byte: 0 })));
    assert!(msa(&p.ack).starts_with("MSA|AR|C100|binary data"));
    let pure = run(&[0x00, 0x01, 0x02, 0x03]);
    assert!(matches!(pure.result, Err(Failure::Parse(ParseError::Binary { .. }))));
    assert_eq!(msa(&pure.ack), "MSA|AR|");
}

#[test]
fn wrong_delimiters_are_rejected() {
    let p = run(GOOD.replacen("^~\\&", "^^\\&", 1).as_bytes());
    assert!(matches!(p.result, Err(Failure::Parse(ParseError::BadDelimiters { field: 2, .. }))));
    assert_eq!(msa(&p.ack), "MSA|AR|C100|bad delimiters in MSH-2: delimiters must all differ");
    let p = run(GOOD.replacen("MSH|", "MSHA", 1).as_bytes());
    assert!(matches!(p.result, Err(Failure::Parse(ParseError::BadDelimiters { field: 1, .. }))));
}

#[test]
fn missing_msh_is_rejected() {
    let body = GOOD.split_once('\r').map_or("", |x| x.1);
    let p = run(body.as_bytes());
    assert_eq!(p.result.err(), Some(Failure::Parse(ParseError::MissingMsh { found: "EVN".into() })));
    assert_eq!(msa(&p.ack), "MSA|AR|");
}

#[test]
fn missing_message_type_is_rejected() {
    let p = run(GOOD.replacen("ADT^A01^ADT_A01", "", 1).as_bytes());
    assert_eq!(p.result.err(), Some(Failure::Parse(ParseError::NoMessageType)));
    assert!(err(&p.ack).starts_with("ERR|MSH^1^9^101"), "{}", p.ack);
}

#[test]
fn bad_dates_are_application_errors_with_their_position() {
    let p = run(GOOD.replacen("19400101", "19401301", 1).as_bytes());
    match &p.result {
        Err(Failure::Map(MapError::BadValue { segment, field, value, .. })) => {
            assert_eq!((segment.as_str(), *field, value.as_str()), ("PID", 7, "19401301"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(msa(&p.ack), "MSA|AE|C100|PID-7 has a bad value '19401301': month out of range");
    assert_eq!(err(&p.ack), "ERR|PID^1^7^102&Data type error&HL70357");
    let p = run(GOOD.replacen("|202401050736\r", "|202402300736\r", 1).as_bytes());
    assert!(matches!(&p.result, Err(Failure::Map(MapError::BadValue { field: 44, .. }))), "{:?}", p.result);
}

#[test]
fn ten_megabyte_messages_are_rejected_before_parsing() {
    let mut big = GOOD.to_owned();
    big.push_str("OBX|1|TX|x||");
    big.push_str(&"A".repeat(10 * 1024 * 1024));
    big.push('\r');
    let p = run(big.as_bytes());
    assert!(matches!(p.result, Err(Failure::Parse(ParseError::Oversized { max: 4_194_304, .. }))));
    assert!(msa(&p.ack).starts_with("MSA|AR|C100|the message is 10486"));
    let roomy = ParseOptions { max_size: 16 * 1024 * 1024, ..ParseOptions::default() };
    let p = process(big.as_bytes(), &roomy, &MapOptions::default());
    assert!(p.result.is_ok(), "a larger limit accepts it: {:?}", p.result.err());
}

#[test]
fn missing_segments_and_unsupported_types() {
    let no_pid: String = GOOD.split('\r').filter(|s| !s.starts_with("PID")).collect::<Vec<_>>().join("\r");
    let p = run(no_pid.as_bytes());
    assert_eq!(p.result.err(), Some(Failure::Map(MapError::MissingSegment { segment: "PID" })));
    assert_eq!(msa(&p.ack), "MSA|AE|C100|the PID segment is missing");
    let p = run(GOOD.replacen("ADT^A01^ADT_A01", "SIU^S12^SIU_S12", 1).as_bytes());
    assert!(matches!(p.result, Err(Failure::Map(MapError::Unsupported { .. }))));
    assert_eq!(err(&p.ack), "ERR|MSH^1^9^200&Unsupported message type&HL70357");
    let p = run(GOOD.replacen("ADT^A01^ADT_A01", "ADT^A29^ADT_A21", 1).as_bytes());
    assert!(msa(&p.ack).starts_with("MSA|AR|C100"));
    assert_eq!(err(&p.ack), "ERR|MSH^1^9^201&Unsupported event code&HL70357");
}

#[test]
fn invalid_nhs_numbers_are_kept_locally_and_flagged() {
    let p = run(GOOD.replacen("9434765919", "9999999991", 1).as_bytes());
    let mapped = p.result.expect("maps");
    let patient = mapped.bundle["entry"].as_array().and_then(|e| e.iter().find(|x| x["resource"]["resourceType"] == "Patient")).map(|e| &e["resource"]).cloned().unwrap_or_default();
    let ids = patient["identifier"].as_array().cloned().unwrap_or_default();
    assert!(ids.iter().all(|i| i["system"] != "https://fhir.nhs.uk/Id/nhs-number"));
    assert!(ids.iter().any(|i| i["system"] == "https://weave.example/Id/R9W/invalid-nhs-number" && i["value"] == "9999999991"));
    assert_eq!(patient["meta"]["tag"][0]["code"], "invalid-nhs-number");
    assert!(mapped.warnings.iter().any(|w| w.contains("9999999991")));
}
