//! FHIRPath Patch through the public API: the official R4 cases (`fhir-patch-tests.xml`, 33 cases in FHIR
//! XML, converted with [`fhir_xml`]) and a few JSON-level behaviours that XML cannot show (exact
//! decimals, JSON number and boolean types, `_name` extensions, all-or-nothing application).
//!
//! Each official case applies its `<diff>` Parameters to its `<input>` and compares the result with its
//! `<output>` (JSON equality), or expects an error (and an unchanged resource) when it has `<error>`.

use roxmltree::{Document, Node};
use serde_json::{json, Value};
use weave_fhirpath::patch::{apply, PatchError, PatchOp};

#[path = "fhir_xml.rs"]
mod fhir_xml;

/// Cases passing when this runner was written: all of them. A lower count is a regression.
const FLOOR: usize = 33;

enum Expect {
    Output(Value),
    Error(String),
}

struct Case {
    name: String,
    input: Value,
    diff: Value,
    expect: Expect,
}

/// The resource inside a case's child element `tag`.
fn resource_in(case: Node<'_, '_>, tag: &str) -> Result<Option<Value>, String> {
    let Some(holder) = case.children().find(|n| n.has_tag_name(tag)) else {
        return Ok(None);
    };
    let inner =
        fhir_xml::first_element(holder).ok_or_else(|| format!("<{tag}> holds no resource"))?;
    fhir_xml::resource(inner).map(Some)
}

fn load_cases(xml: &str) -> Result<Vec<Case>, String> {
    let doc = Document::parse(xml).map_err(|e| e.to_string())?;
    let mut cases = Vec::new();
    for c in doc.descendants().filter(|n| n.has_tag_name("case")) {
        let name = c.attribute("name").unwrap_or("?").to_owned();
        let with_name = |e: String| format!("{name}: {e}");
        let input = resource_in(c, "input")
            .map_err(with_name)?
            .ok_or_else(|| with_name("no <input>".into()))?;
        let diff = resource_in(c, "diff")
            .map_err(with_name)?
            .ok_or_else(|| with_name("no <diff>".into()))?;
        let expect = match resource_in(c, "output").map_err(with_name)? {
            Some(out) => Expect::Output(out),
            None => {
                let err = c
                    .children()
                    .find(|n| n.has_tag_name("error"))
                    .ok_or_else(|| with_name("neither <output> nor <error>".into()))?;
                Expect::Error(err.attribute("msg").unwrap_or("").to_owned())
            }
        };
        cases.push(Case {
            name,
            input,
            diff,
            expect,
        });
    }
    Ok(cases)
}

/// Runs one case: `Err(reason)` when it fails.
fn run_case(case: &Case) -> Result<(), String> {
    let mut resource = case.input.clone();
    let result = apply(&mut resource, &case.diff);
    match (&case.expect, result) {
        (Expect::Output(want), Ok(())) if &resource == want => Ok(()),
        (Expect::Output(want), Ok(())) => Err(format!("got {resource}\n    expected {want}")),
        (Expect::Output(_), Err(e)) => Err(format!("unexpected error: {e}")),
        (Expect::Error(msg), Ok(())) => Err(format!("expected the error '{msg}', got {resource}")),
        (Expect::Error(_), Err(_)) if resource != case.input => {
            Err("the operation failed but changed the resource".into())
        }
        (Expect::Error(_), Err(_)) => Ok(()),
    }
}

#[test]
fn official_fhirpath_patch_cases() {
    let file = crate::shared_dir().join("testdata/fhir-patch/fhir-patch-tests.xml");
    let Ok(xml) = std::fs::read_to_string(&file) else {
        println!(
            "notice: {} not found; the FHIRPath Patch cases were not run",
            file.display()
        );
        return;
    };
    let cases = load_cases(&xml).expect("converting the FHIRPath Patch cases to JSON");
    assert_eq!(cases.len(), 33, "the suite has 33 cases");
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(reason) = run_case(case) {
            failures.push(format!("  {}: {reason}", case.name));
        }
    }
    let passed = cases.len() - failures.len();
    println!(
        "FHIRPath Patch (R4 fhir-patch-tests.xml): {passed} passed, {} failed",
        failures.len()
    );
    for f in &failures {
        println!("{f}");
    }
    assert!(
        passed >= FLOOR,
        "{passed} passed, below the floor of {FLOOR}"
    );
}

/// The XML cases compare equal after conversion, so they cannot show JSON types; these do.
#[test]
fn values_land_as_fhir_json_of_the_right_type() {
    let patch: Value = serde_json::from_str(
        r#"{"resourceType": "Parameters", "parameter": [
        {"name": "operation", "part": [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Observation"},
            {"name": "name", "valueString": "value"},
            {"name": "value", "valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}]},
        {"name": "operation", "part": [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Observation"},
            {"name": "name", "valueString": "component"},
            {"name": "value", "part": [
                {"name": "code", "valueCodeableConcept": {"text": "count"}},
                {"name": "value", "valueInteger": 3}]}]},
        {"name": "operation", "part": [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Observation.referenceRange.first()"},
            {"name": "name", "valueString": "text"}, {"name": "value", "valueString": "normal"}]},
        {"name": "operation", "part": [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Observation.status"},
            {"name": "value", "valueCode": "amended", "_valueCode": {"id": "s1"}}]}
    ]}"#,
    )
    .unwrap();
    let mut obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
        "referenceRange": [{"low": {"value": 1}}]});
    apply(&mut obs, &patch).unwrap();
    let text = obs.to_string();
    assert!(
        text.contains(r#""valueQuantity":{"value":72.50,"#),
        "{text}"
    );
    assert_eq!(
        obs["component"],
        json!([{"code": {"text": "count"}, "valueInteger": 3}])
    );
    assert!(obs["component"][0]["valueInteger"].is_u64());
    assert_eq!(obs["referenceRange"][0]["text"], "normal");
    assert_eq!(
        (&obs["status"], &obs["_status"]),
        (&json!("amended"), &json!({"id": "s1"}))
    );
    assert!(
        weave_fhir::validate::validate_resource(weave_fhir::r4(), &obs).is_empty(),
        "{obs}"
    );
}

#[test]
fn errors_name_the_operation_and_keep_the_resource() {
    let original = json!({"resourceType": "Patient", "active": true});
    let mut patient = original.clone();
    let patch = json!({"resourceType": "Parameters", "parameter": [
        {"name": "operation", "part": [{"name": "type", "valueCode": "replace"},
            {"name": "path", "valueString": "Patient.active"}, {"name": "value", "valueBoolean": false}]},
        {"name": "operation", "part": [{"name": "type", "valueCode": "add"},
            {"name": "path", "valueString": "Patient.identifier.where(use = 'official').period"},
            {"name": "name", "valueString": "end"}, {"name": "value", "valueDate": "2021-12-01"}]}
    ]});
    let e = apply(&mut patient, &patch).unwrap_err();
    assert_eq!(patient, original);
    assert!(
        matches!(
            &e,
            PatchError::NoMatch {
                index: 1,
                op: PatchOp::Add,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "Parameters.parameter[1] (add): no content found at 'Patient.identifier.where(use = 'official').period'"
    );
    assert!(!e.is_malformed());
}
