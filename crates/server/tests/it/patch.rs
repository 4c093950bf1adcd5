//! PATCH conformance: the fhir-test-cases JSON Patch cases (`json-patch-tests.json`, RFC 6902
//! examples) and FHIRPath Patch cases (`fhir-patch-tests.xml`), each run through the API:
//! create the input, PATCH it, compare the result (or expect a rejection that writes nothing).
//!
//! The JSON Patch cases are written against free-form JSON (`{"foo": "bar"}`), which is not a
//! FHIR resource. Each case is transposed mechanically onto a `Location`: every key of the
//! document (and of the expected result and patch values) is given a FHIR element of the same
//! shape — a string → `name`/`description`/`availabilityExceptions`, a string array → `alias`,
//! an object of strings → `address` (city, district, …) or `operationalStatus` (display,
//! version, code), an object of numbers → `position.altitude` (with the mandatory latitude and
//! longitude added as 0) — and the patch paths and values are renamed alike.
//! Cases that cannot be transposed are reported as inapplicable and not run: keys that cannot
//! be FHIR element names (`/`, `~1`: A.14, A.15) and mixed-type arrays (A.8). Cases whose RFC
//! result is not valid FHIR (an empty object: A.10; an array inside an array: A.16) must be
//! rejected by the server (it validates the patched resource) and write nothing.
//!
//! The FHIRPath Patch cases are converted from XML with [`crate::fhir_xml`]. `xml-patch-tests.xml`
//! (XML Patch, RFC 5261) is not run: this server speaks FHIR JSON only.

use crate::check::{first_difference, read_json, shared_dir, strip_server_fields, Server};
use crate::fhir_xml;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// FHIRPath Patch cases that must pass through the server: all 33 official R4 cases.
const FHIRPATH_PATCH_FLOOR: usize = 33;

/// What the server must do with a transposed case.
enum Expect {
    /// 200 with this resource (without id/meta).
    Result(Value),
    /// 400/422 with an OperationOutcome, nothing written.
    Rejected(String),
}

/// A case ready to run against the server, or why it cannot be.
enum Plan {
    Run { doc: Value, patch: Value, expect: Expect },
    Inapplicable(String),
}

/// The FHIR elements a free-form key can become, by the shape of its value.
const STRING_POOL: &[&str] = &["name", "description", "availabilityExceptions"];
const ARRAY_POOL: &[&str] = &["alias"];
const OBJECT_POOL: &[(&str, &[&str])] = &[
    ("address", &["city", "district", "state", "postalCode", "country", "text"]),
    ("operationalStatus", &["display", "version", "code"]),
];
/// `position` also needs `latitude` and `longitude` (1..1): they are added as 0 (see `located`).
const NUMBER_OBJECT_POOL: &[(&str, &[&str])] = &[("position", &["altitude"])];

/// Original key path → FHIR element name.
type KeyMap = HashMap<Vec<String>, String>;

/// Why a free-form document cannot be a FHIR resource (after renaming keys), if it cannot.
fn not_fhir(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) if o.is_empty() => Some("it holds an empty object, which FHIR JSON forbids".into()),
        Value::Object(o) => o.iter().find_map(|(k, c)| {
            let name_ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric());
            if name_ok { not_fhir(c) } else { Some(format!("the key {k:?} cannot be a FHIR element name")) }
        }),
        Value::Array(a) if a.iter().any(Value::is_array) => Some("it nests an array in an array".into()),
        Value::Array(a) if a.windows(2).any(|w| kind(&w[0]) != kind(&w[1])) => {
            Some("it mixes types in one array; a FHIR element has one type".into())
        }
        Value::Array(a) => a.iter().find_map(not_fhir),
        _ => None,
    }
}

fn kind(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// Gives every key of `v` (an object at `path`) a FHIR element name from the pools.
fn allocate(v: &Value, path: &[String], pool: Option<&[&str]>, map: &mut KeyMap) {
    let Value::Object(o) = v else { return };
    for (k, child) in o {
        let mut p = path.to_vec();
        p.push(k.clone());
        let taken = |map: &KeyMap, n: &str| map.iter().any(|(q, m)| q.len() == p.len() && q[..q.len() - 1] == p[..p.len() - 1] && m == n);
        if !map.contains_key(&p) {
            let name = match (pool, child) {
                (Some(names), _) => names.iter().find(|n| !taken(map, n)).map(|n| (*n).to_owned()),
                (None, Value::String(_)) => STRING_POOL.iter().find(|n| !taken(map, n)).map(|n| (*n).to_owned()),
                (None, Value::Array(_)) => ARRAY_POOL.iter().find(|n| !taken(map, n)).map(|n| (*n).to_owned()),
                (None, Value::Object(c)) => {
                    let numeric = c.values().all(Value::is_number) && !c.is_empty();
                    let objects = if numeric { NUMBER_OBJECT_POOL } else { OBJECT_POOL };
                    objects.iter().find(|(n, _)| !taken(map, n)).map(|(n, _)| (*n).to_owned())
                }
                _ => None,
            };
            if let Some(name) = name {
                map.insert(p.clone(), name);
            }
        }
        let children = map.get(&p).and_then(|n| {
            OBJECT_POOL.iter().chain(NUMBER_OBJECT_POOL).find(|(o, _)| o == n).map(|(_, c)| *c)
        });
        if path.is_empty() && child.is_object() {
            allocate(child, &p, Some(children.unwrap_or(STRING_POOL)), map);
        }
    }
}

/// Renames the keys of `v` (found at original `path`) with `map`.
fn rename(v: &Value, path: &[String], map: &KeyMap) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, c)| {
                    let mut p = path.to_vec();
                    p.push(k.clone());
                    (map.get(&p).cloned().unwrap_or_else(|| k.clone()), rename(c, &p, map))
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|c| rename(c, path, map)).collect()),
        other => other.clone(),
    }
}

/// Renames the tokens of a JSON pointer; returns the new pointer and the original key path.
fn rename_pointer(ptr: &str, map: &KeyMap) -> (String, Vec<String>) {
    let mut orig = Vec::new();
    let mut out = String::new();
    for token in ptr.split('/').skip(1) {
        let key = token.replace("~1", "/").replace("~0", "~");
        let mut p = orig.clone();
        p.push(key.clone());
        let new = map.get(&p).cloned().unwrap_or(key.clone());
        out.push('/');
        out.push_str(&new.replace('~', "~0").replace('/', "~1"));
        if !key.chars().all(|c| c.is_ascii_digit()) && key != "-" {
            orig = p;
        }
    }
    (out, orig)
}

/// Transposes one JSON Patch case onto a `Location`.
fn plan_json_case(case: &Value) -> Plan {
    let doc = &case["doc"];
    if let Some(why) = not_fhir(doc) {
        return Plan::Inapplicable(format!("the document cannot be a FHIR resource: {why}"));
    }
    let mut map = KeyMap::new();
    allocate(doc, &[], None, &mut map);
    if let Some(e) = case.get("expected") {
        allocate(e, &[], None, &mut map);
    }
    let ops = case["patch"].as_array().cloned().unwrap_or_default();
    let ops: Vec<Value> = ops
        .iter()
        .map(|op| {
            let mut op = op.clone();
            let mut target = Vec::new();
            for field in ["path", "from"] {
                if let Some(p) = op[field].as_str() {
                    let (new, orig) = rename_pointer(p, &map);
                    if field == "path" {
                        target = orig;
                    }
                    op[field] = Value::String(new);
                }
            }
            if let Some(v) = op.get("value") {
                op["value"] = rename(v, &target, &map);
            }
            op
        })
        .collect();
    let located = |v: &Value| {
        let mut r = json!({"resourceType": "Location"});
        if let (Some(o), Value::Object(src)) = (r.as_object_mut(), rename(v, &[], &map)) {
            o.extend(src);
        }
        if let Some(pos) = r.get_mut("position").and_then(Value::as_object_mut) {
            pos.entry("latitude").or_insert(json!(0));
            pos.entry("longitude").or_insert(json!(0));
        }
        r
    };
    let expect = match case.get("expected") {
        None => Expect::Rejected(format!("RFC error: {}", case["error"].as_str().unwrap_or("?"))),
        Some(e) => match not_fhir(e) {
            Some(why) => Expect::Rejected(format!("the RFC result is not valid FHIR: {why}")),
            None => Expect::Result(located(e)),
        },
    };
    Plan::Run { doc: located(doc), patch: Value::Array(ops), expect }
}

/// Creates `doc`, PATCHes it with `body`, and checks the outcome; `Err` describes a failure.
async fn run_case(server: &Server, doc: &Value, body: &Value, content_type: &str, expect: &Expect) -> Result<(), String> {
    let t = doc["resourceType"].as_str().unwrap_or("Basic");
    let created = server.post(&format!("/{t}")).json(doc).send().await;
    if created.status != StatusCode::CREATED {
        return Err(format!("creating the input answered {}: {}", created.status, created.text()));
    }
    let id = created.json()["id"].as_str().unwrap_or_default().to_owned();
    let url = format!("/{t}/{id}");
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let resp = server.patch(&url).body(bytes, content_type).send().await;
    let after = server.get(&url).send().await.json();
    match expect {
        Expect::Result(want) => {
            if resp.status != StatusCode::OK {
                return Err(format!("PATCH answered {}: {}", resp.status, resp.text()));
            }
            let got = strip_server_fields(&resp.json());
            if let Some(d) = first_difference(&strip_server_fields(want), &got) {
                return Err(format!("result differs (expected vs got) at {d}; got {got}"));
            }
            if after["meta"]["versionId"] != "2" || strip_server_fields(&after) != got {
                return Err(format!("the stored version is not the patched one: {after}"));
            }
            Ok(())
        }
        Expect::Rejected(why) => {
            let rejected = matches!(resp.status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY)
                && resp.is_error_outcome();
            if !rejected {
                return Err(format!("expected a rejection ({why}); PATCH answered {}: {}", resp.status, resp.text()));
            }
            if after["meta"]["versionId"] != "1" {
                return Err(format!("a rejected PATCH wrote a new version: {after}"));
            }
            Ok(())
        }
    }
}

fn report(what: &str, passed: usize, failures: &[String], skipped: &[String]) {
    println!("{what}: {passed} passed, {} failed ({} inapplicable, not run)", failures.len(), skipped.len());
    for f in failures {
        println!("  FAILED {f}");
    }
    for s in skipped {
        println!("  inapplicable {s}");
    }
}

#[tokio::test]
async fn json_patch_cases_pass() {
    let Some(shared) = shared_dir() else { return };
    let cases = read_json(&shared.join("testdata/fhir-patch/json-patch-tests.json"));
    let cases = cases.as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 16, "json-patch-tests.json has 16 cases");
    let server = Server::new();
    let (mut passed, mut failures, mut skipped) = (0, Vec::new(), Vec::new());
    for case in &cases {
        let name = case["comment"].as_str().unwrap_or("?").to_owned();
        match plan_json_case(case) {
            Plan::Inapplicable(why) => skipped.push(format!("{name}: {why}")),
            Plan::Run { doc, patch, expect } => {
                match run_case(&server, &doc, &patch, "application/json-patch+json", &expect).await {
                    Ok(()) => passed += 1,
                    Err(e) => failures.push(format!("{name}: {e}\n    input {doc}\n    patch {patch}")),
                }
            }
        }
    }
    report("JSON Patch", passed, &failures, &skipped);
    assert!(failures.is_empty(), "JSON Patch cases failed (listed above)");
    assert_eq!(skipped.len(), 3, "only A.8, A.14 and A.15 are inapplicable to FHIR");
}

/// One FHIRPath Patch case from the XML file: (name, input, Parameters, expected output or error).
fn fhirpath_cases(xml: &str) -> Result<Vec<(String, Value, Value, Expect)>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for case in doc.root_element().children().filter(|n| n.has_tag_name("case")) {
        let name = case.attribute("name").unwrap_or("?").to_owned();
        let part = |tag: &str| {
            case.children()
                .find(|n| n.has_tag_name(tag))
                .and_then(fhir_xml::first_element)
                .map(fhir_xml::resource)
                .transpose()
                .map_err(|e| format!("{name}: <{tag}>: {e}"))
        };
        let input = part("input")?.ok_or_else(|| format!("{name}: no input"))?;
        let diff = part("diff")?.ok_or_else(|| format!("{name}: no diff"))?;
        let expect = match part("output")? {
            Some(o) => Expect::Result(o),
            None => {
                let msg = case.children().find(|n| n.has_tag_name("error")).and_then(|e| e.attribute("msg"));
                Expect::Rejected(format!("error: {}", msg.unwrap_or("?")))
            }
        };
        out.push((name, input, diff, expect));
    }
    Ok(out)
}

#[tokio::test]
async fn fhirpath_patch_cases_do_not_regress() {
    let Some(shared) = shared_dir() else { return };
    let path = shared.join("testdata/fhir-patch/fhir-patch-tests.xml");
    let xml = std::fs::read_to_string(&path).expect("reading fhir-patch-tests.xml");
    let cases = fhirpath_cases(&xml).expect("converting the FHIRPath Patch cases to JSON");
    assert_eq!(cases.len(), 33, "fhir-patch-tests.xml has 33 cases");
    let server = Server::new();
    let (mut passed, mut failures) = (0, Vec::new());
    for (name, input, diff, expect) in &cases {
        match run_case(&server, input, diff, "application/fhir+json", expect).await {
            Ok(()) => passed += 1,
            Err(e) => failures.push(format!("{name}: {}", e.chars().take(300).collect::<String>())),
        }
    }
    report("FHIRPath Patch", passed, &failures, &[]);
    assert!(passed >= FHIRPATH_PATCH_FLOOR, "FHIRPath Patch regressed: {passed} < floor {FHIRPATH_PATCH_FLOOR}");
}
