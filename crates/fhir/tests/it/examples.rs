//! Every JSON file of the official R4 examples must validate, except those listed (with the
//! genuine problem) in `known_invalid_examples.txt`; the set of failures must match it exactly.

use crate::{json_files, read_json, shared_dir, summary};
use std::collections::BTreeMap;
use weave_fhir::{r4, validate::validate_resource};

const KNOWN_INVALID: &str = include_str!("known_invalid_examples.txt");

/// `relative path → reason` from the known-invalid list.
fn known_invalid() -> BTreeMap<String, String> {
    KNOWN_INVALID
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(f, r)| (f.to_string(), r.to_string()))
        .collect()
}

#[test]
fn r4_examples_validate_except_known_invalid() {
    let Some(shared) = shared_dir() else { return };
    let root = shared.join("testdata/fhir-r4-examples");
    let files = json_files(&root);
    assert!(
        files.len() > 2500,
        "expected the R4 examples under {}",
        root.display()
    );
    let model = r4();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        match read_json(path) {
            Ok(v) => {
                let issues = validate_resource(model, &v);
                if !issues.is_empty() {
                    failed.insert(rel, summary(&issues, 3));
                }
            }
            Err(e) => {
                failed.insert(rel, format!("    {e}"));
            }
        }
    }
    println!(
        "{} passed, {} failed",
        files.len() - failed.len(),
        failed.len()
    );
    let known = known_invalid();
    for (f, s) in &failed {
        let mark = if known.contains_key(f) {
            "known"
        } else {
            "UNEXPECTED"
        };
        println!("{mark} failure: {f}\n{s}");
    }
    let unexpected: Vec<&String> = failed.keys().filter(|f| !known.contains_key(*f)).collect();
    let now_passing: Vec<&String> = known.keys().filter(|f| !failed.contains_key(*f)).collect();
    assert!(unexpected.is_empty(), "unexpected failures: {unexpected:?}");
    assert!(
        now_passing.is_empty(),
        "listed as invalid but passed: {now_passing:?}"
    );
}
