//! Unit tests of FHIRPath Patch: each operation type, primitive extensions, choice elements, value types, and
//! the errors (with the resource left unchanged).

use serde_json::{json, Value};

use super::{apply, PatchError, PatchOp};

/// A Parameters resource with one operation per part list.
fn patch(ops: &[Value]) -> Value {
    let parameter: Vec<Value> = ops
        .iter()
        .map(|parts| json!({"name": "operation", "part": parts}))
        .collect();
    json!({"resourceType": "Parameters", "parameter": parameter})
}

fn op(kind: &str, path: &str, extra: Value) -> Value {
    let mut parts = vec![
        json!({"name": "type", "valueCode": kind}),
        json!({"name": "path", "valueString": path}),
    ];
    if let Value::Array(more) = extra {
        parts.extend(more);
    }
    Value::Array(parts)
}

fn value(v: Value) -> Value {
    let mut part = json!({"name": "value"});
    if let (Some(p), Value::Object(v)) = (part.as_object_mut(), v) {
        p.extend(v);
    }
    part
}

fn run(resource: Value, ops: &[Value]) -> Result<Value, PatchError> {
    let mut r = resource;
    apply(&mut r, &patch(ops))?;
    Ok(r)
}

/// Applies and expects an error; checks the resource did not change.
fn fails(resource: Value, ops: &[Value]) -> PatchError {
    let mut r = resource.clone();
    let e = apply(&mut r, &patch(ops)).unwrap_err();
    assert_eq!(
        r, resource,
        "the resource changed although the patch failed ({e})"
    );
    e
}

fn patient() -> Value {
    json!({"resourceType": "Patient", "id": "p",
        "identifier": [{"value": "1"}, {"value": "2"}, {"value": "3"}],
        "name": [{"family": "F", "given": ["A", "B"], "_given": [{"id": "ga"}, null]}],
        "birthDate": "1970-01-01",
        "_birthDate": {"extension": [{"url": "http://e", "valueDateTime": "1970-01-01T10:00:00Z"}]}})
}

#[test]
fn add_sets_a_single_element_and_appends_to_a_list() {
    let r = run(
        json!({"resourceType": "Patient"}),
        &[
            op("add", "Patient", json!([{"name": "name", "valueString": "active"}, value(json!({"valueBoolean": true}))])),
            op("add", "Patient", json!([{"name": "name", "valueString": "identifier"},
                value(json!({"valueIdentifier": {"value": "x"}}))])),
            op("add", "Patient", json!([{"name": "name", "valueString": "identifier"},
                value(json!({"valueIdentifier": {"value": "y"}}))])),
            op("add", "Patient", json!([{"name": "name", "valueString": "multipleBirth"}, value(json!({"valueInteger": 2}))])),
        ],
    )
    .unwrap();
    assert_eq!(
        r,
        json!({"resourceType": "Patient", "active": true, "identifier": [{"value": "x"}, {"value": "y"}],
            "multipleBirthInteger": 2})
    );
}

#[test]
fn add_a_choice_by_typed_value_and_by_json_name() {
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "w"}});
    let q: Value = serde_json::from_str(r#"{"value": 72.50, "unit": "kg"}"#).unwrap();
    let r = run(
        obs.clone(),
        &[op(
            "add",
            "Observation",
            json!([{"name": "name", "valueString": "value"},
        value(json!({"valueQuantity": q}))]),
        )],
    )
    .unwrap();
    assert_eq!(r["valueQuantity"]["value"].to_string(), "72.50");
    let r = run(
        obs.clone(),
        &[op(
            "add",
            "Observation",
            json!([{"name": "name", "valueString": "valueString"},
        value(json!({"valueString": "x"}))]),
        )],
    )
    .unwrap();
    assert_eq!(r["valueString"], "x");
    let e = fails(
        r,
        &[op(
            "add",
            "Observation",
            json!([{"name": "name", "valueString": "value"},
        value(json!({"valueBoolean": true}))]),
        )],
    );
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
    let e = fails(
        obs,
        &[op(
            "add",
            "Observation",
            json!([{"name": "name", "valueString": "valueString"},
        value(json!({"valueBoolean": true}))]),
        )],
    );
    assert!(matches!(e, PatchError::TypeMismatch { .. }), "{e}");
}

#[test]
fn add_an_anonymous_element_from_parts() {
    let r = run(
        json!({"resourceType": "Patient"}),
        &[op("add", "Patient", json!([{"name": "name", "valueString": "contact"}, {"name": "value", "part": [
            {"name": "name", "valueHumanName": {"text": "a name"}},
            {"name": "telecom", "valueContactPoint": {"value": "1"}},
            {"name": "extension", "part": [{"name": "url", "valueUri": "http://e"}, {"name": "value", "valueInteger": 5}]}
        ]}]))],
    )
    .unwrap();
    assert_eq!(
        r["contact"],
        json!([{"name": {"text": "a name"}, "telecom": [{"value": "1"}],
            "extension": [{"url": "http://e", "valueInteger": 5}]}])
    );
}

#[test]
fn add_an_extension_to_a_primitive() {
    let ext = json!({"name": "value", "part": [{"name": "url", "valueUri": "http://x"},
        {"name": "value", "valueString": "v"}]});
    let r = run(
        patient(),
        &[op(
            "add",
            "Patient.name[0].given[1]",
            json!([{"name": "name", "valueString": "extension"}, ext.clone()]),
        )],
    )
    .unwrap();
    assert_eq!(
        r["name"][0]["_given"],
        json!([{"id": "ga"}, {"extension": [{"url": "http://x", "valueString": "v"}]}])
    );
    let r = run(
        patient(),
        &[op(
            "add",
            "Patient.birthDate",
            json!([{"name": "name", "valueString": "extension"}, ext.clone()]),
        )],
    )
    .unwrap();
    assert_eq!(
        r["_birthDate"]["extension"].as_array().map(Vec::len),
        Some(2)
    );
    let e = fails(
        patient(),
        &[op(
            "add",
            "Patient.birthDate",
            json!([{"name": "name", "valueString": "family"}, ext]),
        )],
    );
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
}

#[test]
fn add_adds_a_contained_resource() {
    let obs =
        json!({"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}});
    let r = run(json!({"resourceType": "Patient"}),
        &[op("add", "Patient", json!([{"name": "name", "valueString": "contained"}, {"name": "value", "resource": obs}]))])
    .unwrap();
    assert_eq!(r["contained"][0]["id"], "o");
    let r = run(
        r,
        &[op(
            "replace",
            "Patient.contained[0].status",
            json!([value(json!({"valueCode": "amended"}))]),
        )],
    )
    .unwrap();
    assert_eq!(r["contained"][0]["status"], "amended");
}

#[test]
fn insert_at_every_position_and_into_an_empty_list() {
    for (at, expect) in [
        (0, ["n", "1", "2", "3"]),
        (1, ["1", "n", "2", "3"]),
        (3, ["1", "2", "3", "n"]),
    ] {
        let r = run(
            patient(),
            &[op(
                "insert",
                "Patient.identifier",
                json!([{"name": "index", "valueInteger": at},
            value(json!({"valueIdentifier": {"value": "n"}}))]),
            )],
        )
        .unwrap();
        let got: Vec<&str> = r["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["value"].as_str())
            .collect();
        assert_eq!(got, expect);
    }
    let r = run(json!({"resourceType": "Patient"}), &[op("insert", "Patient.identifier",
        json!([{"name": "index", "valueInteger": 0}, value(json!({"valueIdentifier": {"value": "n"}}))]))])
    .unwrap();
    assert_eq!(r["identifier"], json!([{"value": "n"}]));
    let e = fails(
        patient(),
        &[op(
            "insert",
            "Patient.identifier",
            json!([{"name": "index", "valueInteger": 4},
        value(json!({"valueIdentifier": {"value": "n"}}))]),
        )],
    );
    assert!(
        matches!(
            e,
            PatchError::IndexOutOfRange {
                part: "index",
                value: 4,
                len: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn insert_keeps_primitive_extensions_aligned() {
    let r = run(
        patient(),
        &[op(
            "insert",
            "Patient.name[0].given",
            json!([{"name": "index", "valueInteger": 0},
        {"name": "value", "valueString": "Z", "_valueString": {"id": "z"}}]),
        )],
    )
    .unwrap();
    assert_eq!(r["name"][0]["given"], json!(["Z", "A", "B"]));
    assert_eq!(
        r["name"][0]["_given"],
        json!([{"id": "z"}, {"id": "ga"}, null])
    );
}

#[test]
fn insert_refuses_single_elements_and_mixed_lists() {
    let e = fails(
        patient(),
        &[op(
            "insert",
            "Patient.birthDate",
            json!([{"name": "index", "valueInteger": 0},
        value(json!({"valueDate": "2000"}))]),
        )],
    );
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
    let two = json!({"resourceType": "Patient", "name": [{"given": ["A"]}, {"given": ["B"]}]});
    let e = fails(
        two,
        &[op(
            "insert",
            "Patient.name.given",
            json!([{"name": "index", "valueInteger": 0},
        value(json!({"valueString": "C"}))]),
        )],
    );
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
}

#[test]
fn delete_one_element_or_nothing_but_never_several() {
    let r = run(
        patient(),
        &[op("delete", "Patient.identifier[1]", json!([]))],
    )
    .unwrap();
    assert_eq!(r["identifier"], json!([{"value": "1"}, {"value": "3"}]));
    let r = run(patient(), &[op("delete", "Patient.telecom", json!([]))]).unwrap();
    assert_eq!(r, patient());
    let e = fails(patient(), &[op("delete", "Patient.identifier", json!([]))]);
    assert!(
        matches!(
            e,
            PatchError::MultipleMatches {
                count: 3,
                op: PatchOp::Delete,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn delete_a_primitive_takes_its_extensions_and_prunes_empties() {
    let r = run(
        patient(),
        &[
            op("delete", "Patient.birthDate", json!([])),
            op("delete", "Patient.name[0].given[0]", json!([])),
        ],
    )
    .unwrap();
    assert!(r.get("birthDate").is_none() && r.get("_birthDate").is_none());
    assert_eq!(r["name"][0], json!({"family": "F", "given": ["B"]}));
    let r = run(
        r,
        &[
            op("delete", "Patient.name.given", json!([])),
            op("delete", "Patient.name.family", json!([])),
        ],
    )
    .unwrap();
    assert!(r.get("name").is_none(), "{r}");
    let r = run(
        patient(),
        &[op("delete", "Patient.birthDate.extension", json!([]))],
    )
    .unwrap();
    assert_eq!(r["birthDate"], "1970-01-01");
    assert!(r.get("_birthDate").is_none());
}

#[test]
fn delete_an_extension_only_primitive() {
    let p = json!({"resourceType": "Patient", "_gender": {"extension": [{"url": "http://x", "valueCode": "u"}]}});
    let r = run(p, &[op("delete", "Patient.gender", json!([]))]).unwrap();
    assert_eq!(r, json!({"resourceType": "Patient"}));
}

#[test]
fn replace_primitives_complex_values_and_choices() {
    let r = run(
        patient(),
        &[op(
            "replace",
            "Patient.birthDate",
            json!([value(json!({"valueDate": "1980-02-02"}))]),
        )],
    )
    .unwrap();
    assert_eq!(r["birthDate"], "1980-02-02");
    assert!(
        r.get("_birthDate").is_none(),
        "a replaced primitive takes the new value's extensions"
    );
    let r = run(
        patient(),
        &[op(
            "replace",
            "Patient.name[0].given[0]",
            json!([value(json!({"valueString": "Q"}))]),
        )],
    )
    .unwrap();
    assert_eq!(
        (&r["name"][0]["given"], r["name"][0].get("_given")),
        (&json!(["Q", "B"]), None)
    );
    let obs = json!({"resourceType": "Observation", "valueQuantity": {"value": 1}, "_valueQuantity": null});
    let r = run(
        obs,
        &[op(
            "replace",
            "Observation.value",
            json!([value(json!({"valueString": "high"}))]),
        )],
    )
    .unwrap();
    assert_eq!(
        r,
        json!({"resourceType": "Observation", "valueString": "high"})
    );
    let r = run(
        patient(),
        &[op(
            "replace",
            "Patient.identifier[2]",
            json!([value(json!({"valueIdentifier": {"system": "s"}}))]),
        )],
    )
    .unwrap();
    assert_eq!(r["identifier"][2], json!({"system": "s"}));
    let r = run(
        patient(),
        &[op(
            "replace",
            "Patient.birthDate.extension[0].value",
            json!([value(json!({"valueDateTime": "1970-01-01T11:00:00Z"}))]),
        )],
    )
    .unwrap();
    assert_eq!(
        r["_birthDate"]["extension"][0]["valueDateTime"],
        "1970-01-01T11:00:00Z"
    );
}

#[test]
fn replace_needs_exactly_one_element_of_the_right_type() {
    let e = fails(
        patient(),
        &[op(
            "replace",
            "Patient.gender",
            json!([value(json!({"valueCode": "male"}))]),
        )],
    );
    assert!(matches!(e, PatchError::NoMatch { .. }), "{e}");
    let e = fails(
        patient(),
        &[op(
            "replace",
            "Patient.identifier.value",
            json!([value(json!({"valueString": "x"}))]),
        )],
    );
    assert!(
        matches!(e, PatchError::MultipleMatches { count: 3, .. }),
        "{e}"
    );
    let e = fails(
        patient(),
        &[op(
            "replace",
            "Patient.birthDate",
            json!([value(json!({"valueBoolean": true}))]),
        )],
    );
    assert!(matches!(e, PatchError::TypeMismatch { .. }), "{e}");
    let e = fails(
        patient(),
        &[op(
            "replace",
            "Patient.birthDate",
            json!([value(json!({"valueDate": "1970-13-01"}))]),
        )],
    );
    assert!(matches!(e, PatchError::InvalidValue { .. }), "{e}");
    let e = fails(
        patient(),
        &[op(
            "replace",
            "Patient",
            json!([value(json!({"valueString": "x"}))]),
        )],
    );
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
    let e = fails(
        patient(),
        &[op(
            "replace",
            "Patient.name.family.length()",
            json!([value(json!({"valueString": "x"}))]),
        )],
    );
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
    let e = fails(
        patient(),
        &[op(
            "replace",
            "Patient.name.single().given.single()",
            json!([value(json!({"valueString": "x"}))]),
        )],
    );
    assert!(matches!(e, PatchError::Evaluation { .. }), "{e}");
}

#[test]
fn move_within_a_list_with_extensions() {
    let r = run(
        patient(),
        &[op(
            "move",
            "Patient.identifier",
            json!([{"name": "source", "valueInteger": 2},
        {"name": "destination", "valueInteger": 0}]),
        )],
    )
    .unwrap();
    assert_eq!(
        r["identifier"],
        json!([{"value": "3"}, {"value": "1"}, {"value": "2"}])
    );
    let r = run(
        patient(),
        &[op(
            "move",
            "Patient.name[0].given",
            json!([{"name": "source", "valueInteger": 0},
        {"name": "destination", "valueInteger": 1}]),
        )],
    )
    .unwrap();
    assert_eq!(
        (&r["name"][0]["given"], &r["name"][0]["_given"]),
        (&json!(["B", "A"]), &json!([null, {"id": "ga"}]))
    );
    let e = fails(
        patient(),
        &[op(
            "move",
            "Patient.identifier",
            json!([{"name": "source", "valueInteger": 0},
        {"name": "destination", "valueInteger": 3}]),
        )],
    );
    assert!(
        matches!(
            e,
            PatchError::IndexOutOfRange {
                part: "destination",
                ..
            }
        ),
        "{e}"
    );
    let e = fails(
        patient(),
        &[op(
            "move",
            "Patient.telecom",
            json!([{"name": "source", "valueInteger": 0},
        {"name": "destination", "valueInteger": 0}]),
        )],
    );
    assert!(
        matches!(
            e,
            PatchError::IndexOutOfRange {
                part: "source",
                len: 0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_failing_operation_leaves_the_resource_unchanged() {
    let e = fails(
        patient(),
        &[
            op("delete", "Patient.birthDate", json!([])),
            op(
                "replace",
                "Patient.nope",
                json!([value(json!({"valueString": "x"}))]),
            ),
        ],
    );
    assert_eq!(e.operation_index(), Some(1));
    assert!(!e.is_malformed());
    assert!(
        e.to_string()
            .starts_with("Parameters.parameter[1] (replace)"),
        "{e}"
    );
}

#[test]
fn paths_cannot_leave_the_resource_or_touch_resource_type() {
    let p =
        json!({"resourceType": "Patient", "managingOrganization": {"reference": "Organization/1"}});
    let e = fails(
        p.clone(),
        &[op(
            "replace",
            "Patient.managingOrganization.resolve().name",
            json!([value(json!({"valueString": "x"}))]),
        )],
    );
    assert!(
        matches!(
            e,
            PatchError::NoMatch {
                op: PatchOp::Replace,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        run(
            p.clone(),
            &[op(
                "delete",
                "Patient.managingOrganization.resolve()",
                json!([])
            )]
        )
        .unwrap(),
        p
    );
    let e = fails(
        p.clone(),
        &[op("delete", "Patient.resourceType", json!([]))],
    );
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
    let e = fails(p, &[op("delete", "%resource", json!([]))]);
    assert!(matches!(e, PatchError::Unprocessable { .. }), "{e}");
}

#[test]
fn malformed_patches_are_reported_not_panicked_on() {
    let bad = [
        json!(null),
        json!([]),
        json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [{"name": 3}]}]}),
        json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
            {"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
            {"name": "name", "valueString": "x"}, {"name": "value"}]}]}),
        json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
            {"name": "type", "valueCode": "insert"}, {"name": "path", "valueString": "Patient.name"},
            {"name": "index", "valueInteger": 1.5}, {"name": "value", "valueString": "x"}]}]}),
    ];
    for p in bad {
        let mut r = patient();
        let e = apply(&mut r, &p).unwrap_err();
        assert!(e.is_malformed(), "{p}: {e}");
        assert_eq!(r, patient());
    }
}

#[test]
fn an_empty_patch_changes_nothing() {
    let mut r = patient();
    apply(&mut r, &json!({"resourceType": "Parameters"})).unwrap();
    assert_eq!(r, patient());
}

#[test]
fn resolve_reaches_contained_resources_only() {
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "contained": [{"resourceType": "Patient", "id": "p", "birthDate": "1970"}],
        "subject": {"reference": "#p"}});
    let r = run(
        obs,
        &[op(
            "replace",
            "Observation.subject.resolve().birthDate",
            json!([value(json!({"valueDate": "1971"}))]),
        )],
    )
    .unwrap();
    assert_eq!(r["contained"][0]["birthDate"], "1971");
}

/// Every part of valid operations replaced by every JSON shape: errors or success, never a panic, and an
/// unchanged resource on error.
#[test]
fn no_panic_on_any_part_shape() {
    let valid = [
        op(
            "add",
            "Patient.name[0]",
            json!([{"name": "name", "valueString": "given"}, value(json!({"valueString": "C"}))]),
        ),
        op(
            "insert",
            "Patient.name[0].given",
            json!([{"name": "index", "valueInteger": 1}, value(json!({"valueString": "C"}))]),
        ),
        op(
            "replace",
            "Patient.birthDate",
            json!([value(json!({"valueDate": "2000"}))]),
        ),
        op("delete", "Patient.name[0].given[0]", json!([])),
        op(
            "move",
            "Patient.identifier",
            json!([{"name": "source", "valueInteger": 0}, {"name": "destination", "valueInteger": 2}]),
        ),
        op(
            "add",
            "Patient",
            json!([{"name": "name", "valueString": "contact"}, {"name": "value", "part": [
            {"name": "name", "valueHumanName": {"text": "n"}}]}]),
        ),
    ];
    let shapes = [
        json!(null),
        json!(1),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!([]),
        json!([1]),
        json!({}),
        json!(true),
    ];
    for parts in &valid {
        assert!(
            run(patient(), std::slice::from_ref(parts)).is_ok(),
            "{parts}"
        );
        let Value::Array(list) = parts else { continue };
        for (i, part) in list.iter().enumerate() {
            let Some(obj) = part.as_object() else {
                continue;
            };
            for key in obj.keys() {
                for shape in &shapes {
                    let mut broken = list.clone();
                    broken[i][key.as_str()] = shape.clone();
                    let mut r = patient();
                    if apply(&mut r, &patch(&[Value::Array(broken)])).is_err() {
                        assert_eq!(r, patient());
                    }
                }
            }
        }
    }
}
