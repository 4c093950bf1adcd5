//! Shared helpers: generating small worlds into temporary directories and reading their outputs.

use std::path::{Path, PathBuf};

use serde_json::Value;
use weave_synth::{generate, Summary, SynthConfig};

/// Generates `people` with `seed` into a fresh temporary directory.
pub fn generate_into(people: usize, seed: u64) -> (tempfile::TempDir, Summary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = generate(&SynthConfig::new(people, seed), dir.path()).expect("generate");
    (dir, summary)
}

/// Every file under `dir`, sorted, as relative paths.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("prefix").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Parses a JSON file.
pub fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// All FHIR bundle paths in the manifest's load order.
pub fn fhir_files(dir: &Path) -> Vec<PathBuf> {
    let m = json(&dir.join("manifest.json"));
    m["fhir_load_order"]
        .as_array()
        .expect("load order")
        .iter()
        .filter_map(Value::as_str)
        .map(|s| dir.join(s))
        .collect()
}

/// The resources of a bundle.
pub fn resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
}
