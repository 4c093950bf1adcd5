//! Edge-case tests of the primitive checks.

use super::*;
use serde_json::json;

#[test]
fn ids() {
    assert!(is_id("a") && is_id("Patient-1.v2") && is_id(&"x".repeat(64)));
    assert!(!is_id("") && !is_id(&"x".repeat(65)) && !is_id("a_b") && !is_id("a b") && !is_id("é"));
}

#[test]
fn dates() {
    for ok in [
        "2020",
        "2020-02",
        "2020-02-29",
        "2000-02-29",
        "0001-01-01",
        "9999-12-31",
    ] {
        assert!(is_date(ok), "{ok}");
    }
    for bad in [
        "0000",
        "2019-02-29",
        "1900-02-29",
        "2020-13",
        "2020-00",
        "2020-04-31",
        "2020-1-01",
        "20",
        "2020-02-30",
        "2020-01-01T00:00:00Z",
        "2020-",
        "2020-01-00",
        "202a",
    ] {
        assert!(!is_date(bad), "{bad}");
    }
}

#[test]
fn date_times() {
    for ok in [
        "2020",
        "2020-05",
        "2020-05-06",
        "2020-05-06T10:11:12Z",
        "2020-05-06T10:11:12.123+01:00",
        "2020-05-06T23:59:60-14:00",
        "2020-05-06T00:00:00+14:00",
    ] {
        assert!(is_date_time(ok), "{ok}");
    }
    for bad in [
        "2020-05-06T10:11Z",
        "2020-05-06T10:11:12",
        "2020-05-06T24:00:00Z",
        "2020-05-06T10:60:00Z",
        "2020-05-06T10:11:12+14:30",
        "2020-05-06T10:11:12.Z",
        "2020-05-06 10:11:12Z",
        "2020-05T10:11:12Z",
        "2020-05-06T10:11:12+0100",
        "2020-02-30T10:11:12Z",
    ] {
        assert!(!is_date_time(bad), "{bad}");
    }
}

#[test]
fn instants_and_times() {
    assert!(is_instant("2015-02-07T13:28:17.239+02:00") && is_instant("2015-02-07T13:28:17Z"));
    for bad in [
        "2015-02-07",
        "2015-02-07T13:28:17",
        "2015-02-07T13:28Z",
        "2015-02-29T13:28:17Z",
    ] {
        assert!(!is_instant(bad), "{bad}");
    }
    assert!(is_time("00:00:00") && is_time("23:59:59.999") && is_time("12:30:60"));
    for bad in ["24:00:00", "12:30", "12:30:00Z", "1:30:00", "12:61:00"] {
        assert!(!is_time(bad), "{bad}");
    }
}

#[test]
fn numbers() {
    assert!(
        is_decimal("0")
            && is_decimal("-0.5")
            && is_decimal("1.50")
            && is_decimal("1e10")
            && is_decimal("1.5E-3")
    );
    for bad in ["01", "1.", ".5", "+1", "1e", "--1", "", "1.5.5"] {
        assert!(!is_decimal(bad), "{bad}");
    }
    assert_eq!(parse_integer("2147483647"), Some(i32::MAX));
    assert_eq!(parse_integer("-2147483648"), Some(i32::MIN));
    assert_eq!(parse_integer("2147483648"), None);
    assert_eq!(parse_integer("1.0"), None);
    assert_eq!(parse_integer("01"), None);
    assert!(
        is_positive_int("1")
            && !is_positive_int("0")
            && !is_positive_int("-1")
            && !is_positive_int("2147483648")
    );
    assert!(
        is_unsigned_int("0")
            && is_unsigned_int("2147483647")
            && !is_unsigned_int("-1")
            && !is_unsigned_int("00")
    );
}

#[test]
fn strings_codes_uris() {
    assert!(is_string("hello\tworld\r\n") && is_string(" "));
    assert!(!is_string("") && !is_string("a\u{0}b") && !is_string("bell\u{7}"));
    assert!(is_string(&"x".repeat(1_048_576)) && !is_string(&"x".repeat(1_048_577)));
    assert!(is_string(&"é".repeat(1_000_000)));
    assert!(is_code("final") && is_code("a b") && is_code("a\tb"));
    for bad in ["", " a", "a ", "a  b", "a\t b", "\n"] {
        assert!(!is_code(bad), "{bad:?}");
    }
    assert!(
        is_uri("http://x.org/a?b=c") && is_uri("urn:x") && !is_uri("http://x .org") && !is_uri("")
    );
    assert!(is_oid("urn:oid:1.2.3.4") && is_oid("urn:oid:2.16.840.1.113883"));
    for bad in [
        "urn:oid:3.1",
        "urn:oid:1",
        "urn:oid:1.02",
        "1.2.3",
        "urn:oid:1..2",
        "urn:oid:1.2.",
    ] {
        assert!(!is_oid(bad), "{bad}");
    }
    assert!(is_uuid("urn:uuid:c757873d-ec9a-4326-a141-556f43239520"));
    assert!(!is_uuid("urn:uuid:C757873D-EC9A-4326-A141-556F43239520"));
    assert!(!is_uuid("c757873d-ec9a-4326-a141-556f43239520"));
    assert!(!is_uuid("urn:uuid:c757873d-ec9a-4326-a141-556f4323952"));
}

#[test]
fn base64_and_xhtml() {
    assert!(
        is_base64("SGVsbG8=")
            && is_base64("SGVs bG8h")
            && is_base64("YQ==")
            && is_base64("AAAA\nBBBB")
    );
    for bad in ["", "SGVsbG8", "SGV=bG8h", "YQ===", "a===", "SGVsbG8*"] {
        assert!(!is_base64(bad), "{bad}");
    }
    assert!(is_xhtml(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"
    ));
    assert!(!is_xhtml("plain text") && !is_xhtml("<p>x</p>"));
}

#[test]
fn json_types_via_check() {
    assert!(check("boolean", &json!(true)).is_ok());
    assert!(check("boolean", &json!("true")).is_err());
    assert!(check("integer", &json!(5)).is_ok());
    assert!(check("integer", &json!("5")).is_err());
    assert!(check("integer", &json!(1.5)).is_err());
    assert!(check("decimal", &json!(1.5)).is_ok());
    assert!(check(
        "decimal",
        &serde_json::from_str::<serde_json::Value>("1.50").expect("json")
    )
    .is_ok());
    assert!(check("positiveInt", &json!(0)).is_err());
    assert!(check("unsignedInt", &json!(0)).is_ok());
    assert!(check("string", &json!(1)).is_err());
    assert!(check("date", &json!("2020-01-01")).is_ok());
    assert!(check("System.String", &json!("x")).is_ok());
    assert!(check("HumanName", &json!("x")).is_err());
    let msg = check("date", &json!("2020-13-01")).expect_err("invalid");
    assert!(msg.contains("2020-13-01") && msg.contains("date"), "{msg}");
    let msg = check("integer", &json!(3_000_000_000_i64)).expect_err("range");
    assert!(msg.contains("out of range"), "{msg}");
    assert!(check("string", &json!(null))
        .expect_err("null")
        .contains("null"));
}
