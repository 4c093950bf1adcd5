//! Helpers shared by the integration tests: the shared test data folder, FHIR validation, and
//! lookups in transaction Bundles.

use serde_json::Value;
use std::path::PathBuf;

/// `/work/shared` (or wherever `../../../shared` is); None, with a notice, when absent.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).join(sub);
    if p.exists() {
        Some(p)
    } else {
        println!("notice: {} not found; test skipped", p.display());
        None
    }
}

/// Every error issue of validating `v`.
pub fn invalid(v: &Value) -> Vec<String> {
    weave_fhir::validate::validate_resource(weave_fhir::r4(), v)
        .into_iter()
        .filter(weave_fhir::outcome::Issue::is_error)
        .map(|i| i.to_string())
        .collect()
}

/// The resources of type `rt` in a transaction Bundle.
pub fn resources<'a>(bundle: &'a Value, rt: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == rt)
        .collect()
}

/// The one resource of type `rt` (panics with the bundle when not exactly one).
pub fn one<'a>(bundle: &'a Value, rt: &str) -> &'a Value {
    let r = resources(bundle, rt);
    assert_eq!(r.len(), 1, "expected one {rt} in {bundle:#}");
    r[0]
}

/// The request of the entry holding resource type `rt` (first one).
pub fn request<'a>(bundle: &'a Value, rt: &str) -> &'a Value {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["resource"]["resourceType"] == rt)
        .map_or(&Value::Null, |e| &e["request"])
}

/// Every `.hl7` file under `dir`, sorted.
pub fn hl7_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "hl7") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
