//! Validator tests: one per kind of problem, asserting the exact issue location.

use super::*;
use crate::model::r4;
use serde_json::json;

/// The (location, issue code) pairs found for `v`.
fn issues(v: &Value) -> Vec<(String, &'static str)> {
    validate_resource(r4(), v)
        .into_iter()
        .map(|i| {
            (
                i.expression.first().cloned().unwrap_or_default(),
                i.code.as_str(),
            )
        })
        .collect()
}

/// Asserts exactly one issue, at `loc` with `code`.
fn check(v: Value, loc: &str, code: &str) {
    let found = issues(&v);
    assert_eq!(found, vec![(loc.to_string(), code)], "for {v}");
}

fn patient() -> Value {
    json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Smith", "given": ["Ann", "B"]}],
        "gender": "female", "birthDate": "1970-01-02"})
}

#[test]
fn valid_resources_have_no_issues() {
    assert!(issues(&patient()).is_empty());
    let obs = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2020-01-01T10:00:00Z",
        "valueQuantity": {"value": 72.0, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        "component": [{"code": {"text": "x"}, "valueString": "y"}]});
    assert!(issues(&obs).is_empty(), "{:?}", issues(&obs));
}

#[test]
fn resource_type_problems() {
    check(json!({"id": "x"}), "", "required");
    check(json!({"resourceType": "Foo"}), "resourceType", "invalid");
    check(
        json!({"resourceType": "DomainResource"}),
        "resourceType",
        "invalid",
    );
    check(json!({"resourceType": 5}), "resourceType", "structure");
    check(json!([1]), "", "structure");
}

#[test]
fn unknown_elements_and_wrong_choice_suffix() {
    let mut p = patient();
    p["foo"] = json!(1);
    check(p, "Patient.foo", "structure");
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueFoo": "a"});
    check(obs, "Observation.valueFoo", "structure");
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "valueString": "a", "valueBoolean": true});
    check(obs, "Observation.valueBoolean", "structure");
    let nested = json!({"resourceType": "Patient", "name": [{"family": "x", "bogus": "y"}]});
    check(nested, "Patient.name[0].bogus", "structure");
}

#[test]
fn json_type_and_array_shape() {
    check(
        json!({"resourceType": "Patient", "name": {"family": "x"}}),
        "Patient.name",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "birthDate": ["1970"]}),
        "Patient.birthDate",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "active": "true"}),
        "Patient.active",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "name": [{"given": "Ann"}]}),
        "Patient.name[0].given",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "name": ["Ann"]}),
        "Patient.name[0]",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "multipleBirthInteger": 1.5}),
        "Patient.multipleBirthInteger",
        "value",
    );
}

#[test]
fn empty_values_and_nulls() {
    check(
        json!({"resourceType": "Patient", "name": []}),
        "Patient.name",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "name": [{}]}),
        "Patient.name[0]",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "birthDate": ""}),
        "Patient.birthDate",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "birthDate": null}),
        "Patient.birthDate",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "name": [{"given": ["a", null]}]}),
        "Patient.name[0].given[1]",
        "structure",
    );
    // A null paired with an extension in `_given` is fine.
    let ok = json!({"resourceType": "Patient", "name": [{"given": ["a", null],
        "_given": [null, {"extension": [{"url": "http://x", "valueString": "b"}]}]}]});
    assert!(issues(&ok).is_empty(), "{:?}", issues(&ok));
}

#[test]
fn cardinality() {
    let obs = json!({"resourceType": "Observation", "code": {"text": "x"}});
    check(obs, "Observation.status", "required");
    let link = json!({"resourceType": "Patient", "link": [{"type": "seealso"}]});
    check(link, "Patient.link[0].other", "required");
    let ext = json!({"resourceType": "Patient", "extension": [{"valueString": "x"}]});
    check(ext, "Patient.extension[0].url", "required");
}

#[test]
fn primitive_formats() {
    check(
        json!({"resourceType": "Patient", "birthDate": "1970-02-30"}),
        "Patient.birthDate",
        "value",
    );
    check(
        json!({"resourceType": "Patient", "id": "a_b"}),
        "Patient.id",
        "value",
    );
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "issued": "2020-01-01T10:00:00"});
    check(obs, "Observation.issued", "value");
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "valueQuantity": {"value": "12"}});
    check(obs, "Observation.valueQuantity.value", "structure");
    let ext =
        json!({"resourceType": "Patient", "extension": [{"url": "has space", "valueString": "x"}]});
    check(ext, "Patient.extension[0].url", "value");
}

#[test]
fn primitive_extension_objects() {
    let ok = json!({"resourceType": "Patient", "birthDate": "1970", "_birthDate": {"id": "b",
        "extension": [{"url": "http://x", "valueDateTime": "1970-01-01T10:00:00Z"}]}});
    assert!(issues(&ok).is_empty(), "{:?}", issues(&ok));
    check(
        json!({"resourceType": "Patient", "_birthDate": {"value": "1970"}}),
        "Patient._birthDate.value",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "_birthDate": "x"}),
        "Patient._birthDate",
        "structure",
    );
    check(
        json!({"resourceType": "Patient", "_name": {"id": "x"}}),
        "Patient._name",
        "structure",
    );
    let misaligned = json!({"resourceType": "Patient", "name": [{"given": ["a", "b"], "_given": [{"id": "x"}]}]});
    check(misaligned, "Patient.name[0]._given", "structure");
    let both_null = json!({"resourceType": "Patient", "name": [{"given": ["a", null], "_given": [null, null]}]});
    let found = issues(&both_null);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found
        .iter()
        .all(|(l, _)| l == "Patient.name[0].given[1]" || l == "Patient.name[0]._given[1]"));
}

#[test]
fn nested_resources() {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "resource": patient()},
        {"resource": {"resourceType": "Patient", "birthDate": "nope"}},
        {"resource": {"resourceType": "Nope"}},
        {"resource": {"id": "x"}}]});
    let found = issues(&bundle);
    assert_eq!(
        found,
        vec![
            ("Bundle.entry[1].resource.birthDate".to_string(), "value"),
            (
                "Bundle.entry[2].resource.resourceType".to_string(),
                "invalid"
            ),
            ("Bundle.entry[3].resource".to_string(), "required"),
        ]
    );
    let contained = json!({"resourceType": "Patient", "contained": [{"resourceType": "Organization", "name": 5}]});
    check(contained, "Patient.contained[0].name", "structure");
    let params = json!({"resourceType": "Parameters", "parameter": [{"name": "p",
        "resource": {"resourceType": "Patient", "gender": "x"}}]});
    check(
        params,
        "Parameters.parameter[0].resource.gender",
        "code-invalid",
    );
}

#[test]
fn content_reference_nesting() {
    let q = json!({"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "1", "type": "group",
        "item": [{"linkId": "1.1", "type": "string", "item": [{"type": "string"}]}]}]});
    check(
        q,
        "Questionnaire.item[0].item[0].item[0].linkId",
        "required",
    );
}

#[test]
fn required_bindings() {
    check(
        json!({"resourceType": "Patient", "gender": "f"}),
        "Patient.gender",
        "code-invalid",
    );
    let bad_coding = json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "code": "bogus"}]}});
    check(
        bad_coding,
        "AllergyIntolerance.clinicalStatus.coding[0].code",
        "code-invalid",
    );
    // A coding from another system is not judged.
    let other = json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
        "clinicalStatus": {"coding": [{"system": "http://example.org", "code": "bogus"}]}});
    assert!(issues(&other).is_empty());
    // Value sets that cannot be expanded (mimetypes) are not checked.
    let att = json!({"resourceType": "DocumentReference", "status": "current",
        "content": [{"attachment": {"contentType": "whatever/thing"}}]});
    assert!(issues(&att).is_empty(), "{:?}", issues(&att));
}

#[test]
fn extension_rules() {
    let both = json!({"resourceType": "Patient", "extension": [{"url": "http://x", "valueString": "a",
        "extension": [{"url": "y", "valueString": "b"}]}]});
    check(both, "Patient.extension[0]", "invalid");
    let neither = json!({"resourceType": "Patient", "extension": [{"url": "http://x"}]});
    check(neither, "Patient.extension[0]", "invalid");
    let nested_ok = json!({"resourceType": "Patient", "modifierExtension": [{"url": "http://x",
        "extension": [{"url": "a", "valueCode": "x"}]}]});
    assert!(issues(&nested_ok).is_empty());
}

#[test]
fn max_zero_and_simple_max() {
    let div = json!({"resourceType": "Patient", "text": {"status": "generated",
        "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>", "_div": {"id": "x"}}});
    assert!(issues(&div).is_empty(), "{:?}", issues(&div));
    let bad_div =
        json!({"resourceType": "Patient", "text": {"status": "generated", "div": "plain"}});
    check(bad_div, "Patient.text.div", "value");
}

#[test]
fn collects_all_issues() {
    let v =
        json!({"resourceType": "Patient", "foo": 1, "birthDate": "x", "gender": "y", "name": []});
    assert_eq!(issues(&v).len(), 4);
}
