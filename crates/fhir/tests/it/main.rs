//! Integration tests of weave-fhir against the shared test data (skipped with a notice when
//! /work/shared is not present): the official R4 examples and the Synthea sample bundles.

mod examples;
mod model;
mod synthea;

use serde_json::Value;
use std::path::{Path, PathBuf};
use weave_fhir::outcome::Issue;

/// The shared folder next to the repository, if it exists.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).to_path_buf();
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "NOTICE: {} not found; skipping shared-data tests",
            dir.display()
        );
        None
    }
}

/// All `*.json` files under `dir`, recursively, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in rd.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("parse: {e}"))
}

/// The first few issues as one line each.
pub fn summary(issues: &[Issue], n: usize) -> String {
    let mut s: Vec<String> = issues.iter().take(n).map(|i| format!("    {i}")).collect();
    if issues.len() > n {
        s.push(format!("    ... {} more", issues.len() - n));
    }
    s.join("\n")
}
