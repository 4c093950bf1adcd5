//! Malformed and random expressions must give positioned errors, never panics; deep nesting is refused
//! rather than overflowing the stack.

use serde_json::json;
use weave_fhirpath::{EvalContext, Expression};

const PIECES: &[&str] = &[
    "Patient",
    "name",
    "given",
    ".",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'a'",
    "'",
    "`x`",
    "1",
    "2.5",
    "-",
    "+",
    "*",
    "/",
    "|",
    "&",
    "=",
    "!=",
    "~",
    "<",
    ">=",
    "and",
    "or",
    "xor",
    "implies",
    "is",
    "as",
    "in",
    "contains",
    "div",
    "mod",
    "where(",
    "select(",
    "exists(",
    "iif(",
    "$this",
    "$index",
    "$total",
    "%resource",
    "%",
    "@2014-01",
    "@T10:30",
    "@2014-01-01T10:00:00Z",
    "3 'mg'",
    "4 days",
    ",",
    "first()",
    "substring(",
    "ofType(",
    "Quantity",
    "true",
    "/*",
    "*/",
    "//",
    "\n",
    " ",
    "\\u00",
    "\\",
    "extension(",
    "resolve()",
    "aggregate(",
    "sort(-",
    "repeat(",
    "$",
    "#",
    "é",
    "lowBoundary(",
    "matches('[a-",
    "replaceMatches('(', 'x')",
    "toQuantity('",
    "2147483648000000000000",
];

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn patient() -> serde_json::Value {
    json!({
        "resourceType": "Patient", "id": "p1", "active": true, "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://x", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}, {"given": ["Jim"]}],
        "telecom": [{"system": "phone", "value": "555"}],
        "contained": [{"resourceType": "Organization", "id": "o1", "name": "Acme"}],
        "managingOrganization": {"reference": "#o1"}
    })
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let resource = patient();
    let ctx = EvalContext::default();
    let (mut parsed, mut rejected) = (0, 0);
    for _ in 0..20_000 {
        let n = 1 + (rng.next() % 12) as usize;
        let src: String = (0..n)
            .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
            .collect();
        match Expression::compile(&src) {
            Ok(expr) => {
                parsed += 1;
                if let Err(e) = expr.evaluate(&resource, &ctx) {
                    assert!(e.line() >= 1 && e.column() >= 1, "{src:?}: {e}");
                }
            }
            Err(e) => {
                rejected += 1;
                let lines = src.split('\n').count() as u32;
                assert!(e.line() >= 1 && e.line() <= lines, "{src:?}: {e}");
                assert!(e.column() >= 1, "{src:?}: {e}");
            }
        }
    }
    assert!(
        parsed > 500 && rejected > 1_000,
        "parsed {parsed}, rejected {rejected}"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(42);
    for _ in 0..20_000 {
        let n = (rng.next() % 24) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| (rng.next() % 128) as u8).collect();
        let src = String::from_utf8_lossy(&bytes);
        let _ = Expression::compile(&src);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for src in [
        "(".repeat(100_000),
        format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000)),
        "1".to_string() + &" + 1".repeat(100_000),
        "-".repeat(100_000) + "1",
        "name".to_string() + &".given".repeat(100_000),
        "a".to_string() + &"[0]".repeat(100_000),
    ] {
        let err = Expression::compile(&src).expect_err("too deep");
        assert!(
            err.message.contains("deep") || err.message.contains("expected"),
            "{}",
            err.message
        );
    }
    // Expressions just under the depth limit compile and evaluate without exhausting the stack.
    let src = "1".to_string() + &" + 1".repeat(250);
    let expr = Expression::compile(&src).unwrap();
    let out = expr.evaluate_empty(&EvalContext::default()).unwrap();
    assert_eq!(weave_fhirpath::result_to_json(&out)[0]["value"], "251");
    let resource = patient();
    for src in [
        format!("{}name{}", "where(".repeat(120), ".exists())".repeat(120)),
        format!("{}1{}", "(-".repeat(120), ")".repeat(120)),
        "name".to_string() + &".select($this)".repeat(250),
        format!("{}true{}", "iif(".repeat(120), ", true, false)".repeat(120)),
    ] {
        let expr = Expression::compile(&src).unwrap_or_else(|e| panic!("{}: {e}", &src[..40]));
        expr.evaluate(&resource, &EvalContext::default())
            .unwrap_or_else(|e| panic!("{}: {e}", &src[..40]));
    }
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let cases = [
        ("name.given.", 1, 12),
        ("2 + 2 /", 1, 8),
        ("name.where(given = 'x'", 1, 23),
        ("a\n  + )", 2, 5),
        ("'unterminated", 1, 1),
        ("2 + /* open", 1, 5),
        ("name.nosuchfunction()", 1, 6),
        ("@2014-13-01", 1, 1),
    ];
    for (src, line, column) in cases {
        let e = Expression::compile(src).expect_err(src);
        assert_eq!((e.line(), e.column()), (line, column), "{src}: {e}");
    }
}
