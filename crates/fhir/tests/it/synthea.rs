//! Every Synthea sample bundle (and so every resource in it) must validate.

use crate::{json_files, read_json, shared_dir, summary};
use weave_fhir::{r4, validate::validate_resource};

#[test]
fn synthea_bundles_validate() {
    let Some(shared) = shared_dir() else { return };
    let files = json_files(&shared.join("testdata/synthea"));
    assert!(!files.is_empty(), "expected Synthea bundles");
    let model = r4();
    let mut n_resources = 0usize;
    let mut failures = Vec::new();
    for path in &files {
        let v = match read_json(path) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        n_resources += v["entry"].as_array().map_or(0, Vec::len);
        let issues = validate_resource(model, &v);
        if !issues.is_empty() {
            failures.push(format!(
                "{} ({} issues)\n{}",
                path.display(),
                issues.len(),
                summary(&issues, 5)
            ));
        }
    }
    println!(
        "{} passed, {} failed ({n_resources} resources)",
        files.len() - failures.len(),
        failures.len()
    );
    for f in &failures {
        println!("FAILED {f}");
    }
    assert!(
        failures.is_empty(),
        "{} Synthea bundles failed",
        failures.len()
    );
}
