//! Unit tests of the ER7 parser, escapes and message splitting.

use super::*;

const ADT: &str = "MSH|^~\\&|PAS|R9W|WEAVE|WEAVE|20210101081300||ADT^A01^ADT_A01|C1|P|2.4\rEVN|A01|20210101081300\rPID|1||9434765919^^^NHS^NH~RW1^^^R9W^MR||O'BRIEN^Mary^Ann||19400101|F\rZFT|1|202101011000|FRAILTY TEAM REVIEW|123^SMITH^Jo\r";

fn p(s: &str) -> Result<Message<'_>, ParseError> {
    parse(s, &ParseOptions::default())
}

#[test]
fn parses_fields_components_and_repetitions() {
    let m = p(ADT).expect("parses");
    assert_eq!(m.message_type(), "ADT");
    assert_eq!(m.trigger_event(), "A01");
    assert_eq!(m.structure(), "ADT_A01");
    assert_eq!(m.control_id(), "C1");
    assert_eq!(m.version(), "2.4");
    assert_eq!(m.segments().len(), 4);
    let msh = m.msh();
    assert_eq!(msh.field(1).raw(), "|");
    assert_eq!(msh.field(2).raw(), "^~\\&");
    assert_eq!(msh.field(3).raw(), "PAS");
    let pid = m.segment("PID").expect("pid");
    let ids: Vec<_> = pid.field(3).reps().map(|r| (r.comp(1), r.comp(4), r.comp(5))).collect();
    assert_eq!(ids, vec![("9434765919", "NHS", "NH"), ("RW1", "R9W", "MR")]);
    assert_eq!(pid.field(5).text(1), "O'BRIEN");
    assert_eq!(pid.field(5).text(3), "Ann");
    assert_eq!(pid.field(99).raw(), "");
    assert_eq!(m.segment("ZFT").map(|z| z.field(4).comp(2)), Some("SMITH"));
}

#[test]
fn segment_terminators_cr_lf_crlf_and_mixed() {
    for sep in ["\r", "\n", "\r\n", "\n\r"] {
        let t = ADT.replace('\r', sep);
        let m = p(&t).expect("parses");
        assert_eq!(m.segments().len(), 4, "separator {sep:?}");
    }
    let mixed = "MSH|^~\\&|A|B|C|D|2024||ORU^R01|X|P|2.5\r\nPID|1||1\nOBR|1\rOBX|1|NM|x||5\n";
    assert_eq!(p(mixed).map(|m| m.segments().len()), Ok(4));
}

#[test]
fn other_delimiters_are_read_from_msh() {
    let t = "MSH#$*@%#A#B#C#D#2024##ADT$A08#X#P#2.4\rPID#1##7$$$AUTH$MR*8$$$B$PI##DOE$JOHN%X\r";
    let m = p(t).expect("parses");
    assert_eq!(m.delimiters().field, b'#');
    assert_eq!(m.trigger_event(), "A08");
    let pid = m.segment("PID").expect("pid");
    assert_eq!(pid.field(3).reps().count(), 2);
    assert_eq!(pid.field(5).first().sub(2, 2), "X");
    assert_eq!(pid.field(5).text(2), "JOHN");
}

#[test]
fn escapes_are_decoded() {
    let d = Delimiters::default();
    assert_eq!(unescape("A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\", &d), "A|B^C&D~E\\");
    assert_eq!(unescape("line1\\.br\\line2", &d), "line1\nline2");
    assert_eq!(unescape("\\H\\bold\\N\\", &d), "bold");
    assert_eq!(unescape("caf\\XC3A9\\", &d), "café");
    assert_eq!(unescape("\\XE9\\", &d), "é");
    assert_eq!(unescape("50\\.sp2\\x", &d), "50\n\nx");
    assert_eq!(unescape("open \\ end", &d), "open \\ end");
    assert_eq!(unescape("\\Q\\", &d), "\\Q\\");
    assert!(matches!(unescape("plain", &d), Cow::Borrowed(_)));
    assert_eq!(escape("a|b^c~d\\e&f\r\ng", &d), "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\.br\\g");
    assert_eq!(unescape(&escape("x|y&z~\\", &d), &d), "x|y&z~\\");
}

#[test]
fn errors_have_kinds_and_positions() {
    assert_eq!(p("").unwrap_err(), ParseError::Empty);
    assert_eq!(p(" \r\n").unwrap_err(), ParseError::Empty);
    assert!(matches!(p("PID|1||2\r").unwrap_err(), ParseError::MissingMsh { found } if found == "PID"));
    assert!(matches!(p("MSHX^~\\&|").unwrap_err(), ParseError::BadDelimiters { field: 1, .. }));
    assert!(matches!(p("MSH||A|B|C|D|2024||ADT^A01|1|P|2.4").unwrap_err(), ParseError::BadDelimiters { field: 2, .. }));
    assert!(matches!(p("MSH|Sender^x|A").unwrap_err(), ParseError::BadDelimiters { field: 2, .. }));
    assert!(matches!(p("MSH|^^\\&|A|B|C|D|2024||ADT^A01|1|P|2.4").unwrap_err(), ParseError::BadDelimiters { field: 2, .. }));
    assert_eq!(p("MSH|").unwrap_err(), ParseError::Truncated { segment: 0, field: 2 });
    assert_eq!(p("MSH|^~\\&|PAS|R9W|WE").unwrap_err(), ParseError::Truncated { segment: 0, field: 6 });
    assert_eq!(p("MSH|^~\\&|A|B|C|D|2024|||1|P|2.4\rPID|1").unwrap_err(), ParseError::NoMessageType);
    assert_eq!(
        p("MSH|^~\\&|A|B|C|D|2024||ADT^A01||P|2.4\rPID|1").unwrap_err(),
        ParseError::MissingField { segment: 0, field: 10, name: "MSH-10 (message control id)" }
    );
    let strict = ParseOptions { strict: true, ..ParseOptions::default() };
    assert_eq!(
        parse("MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.4\rpid|1", &strict).unwrap_err(),
        ParseError::BadSegment { segment: 1, name: "pid|1".into() }
    );
    assert_eq!(
        p("MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.4\rPID|1\rMSH|^~\\&|A").unwrap_err(),
        ParseError::SecondMessage { segment: 2 }
    );
    assert_eq!(p("MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.4\rPI").unwrap_err(), ParseError::Truncated { segment: 1, field: 0 });
    assert!(matches!(p("MSH|^~\\&|A\u{0}B").unwrap_err(), ParseError::Binary { offset: 10, byte: 0 }));
    let small = ParseOptions { max_size: 10, ..ParseOptions::default() };
    assert_eq!(parse(ADT, &small).unwrap_err(), ParseError::Oversized { size: ADT.len(), max: 10 });
}

#[test]
fn framing_bom_and_latin1_are_tolerated() {
    let framed = format!("\u{feff}\u{0b}{ADT}\u{1c}\r");
    assert_eq!(p(&framed).map(|m| m.segments().len()), Ok(4));
    let latin1: Vec<u8> = b"MSH|^~\\&|A|B|C|D|2024||ADT^A08|1|P|2.4\rPID|1||1||M\xdcLLER^J\r".to_vec();
    let text = decode_text(&latin1, &ParseOptions::default()).expect("decodes");
    let m = p(&text).expect("parses");
    assert_eq!(m.segment("PID").map(|s| s.field(5).text(1).into_owned()), Some("MÜLLER".to_owned()));
    assert!(matches!(decode_text(b"MSH|\x01", &ParseOptions::default()), Err(ParseError::Binary { offset: 4, byte: 1 })));
}

#[test]
fn splits_streams_and_batches() {
    let two = format!("{ADT}\n\n{ADT}\n\n");
    let parts = split_messages(&two);
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|m| p(m).is_ok()));
    let batch = format!("FHS|^~\\&|X\rBHS|^~\\&|X\r{ADT}BTS|1\rFTS|1\r");
    let parts = split_messages(&batch);
    assert_eq!(parts.len(), 1);
    assert_eq!(p(parts[0]).map(|m| m.segments().len()), Ok(4));
    assert_eq!(split_messages("junk\rMSH|x").len(), 2);
    assert!(split_messages("").is_empty());
}

#[test]
fn hl7_nulls_and_missing_parts_are_empty() {
    let m = p("MSH|^~\\&|A|B|C|D|2024||ADT^A08|1|P|2.4\rPID|1||\"\"||A^B&C&D\r").expect("parses");
    let pid = m.segment("PID").expect("pid");
    assert!(pid.field(3).is_empty());
    assert_eq!(pid.field(3).reps().count(), 0);
    let name = pid.field(5).first();
    assert_eq!(name.sub(2, 1), "B");
    assert_eq!(name.sub(2, 3), "D");
    assert_eq!(name.sub(2, 4), "");
    assert_eq!(name.comp(0), "");
    assert_eq!(name.comp_as_rep(2).comp(2), "C");
}

#[test]
fn line_breaks_inside_fields_are_continuations_unless_strict() {
    let t = "MSH|^~\\&|A|B|C|D|2024||ORU^R01|1|P|2.5\nOBR|1||F1|54089-8^Newborn screening\npanel AHIC^LN|||2019\nOBX|1|ST|x||y\n";
    let m = p(t).expect("parses");
    assert_eq!(m.segments().len(), 3);
    assert_eq!(m.continued(), &[1]);
    let obr = m.segment("OBR").expect("obr");
    assert_eq!(obr.field(4).text(2), "Newborn screening\npanel AHIC");
    assert_eq!(obr.field(7).raw(), "2019");
    let strict = ParseOptions { strict: true, ..ParseOptions::default() };
    assert!(matches!(parse(t, &strict), Err(ParseError::BadSegment { segment: 2, .. })));
    assert!(p(ADT).map(|m| m.continued().is_empty()).unwrap_or(false));
}
