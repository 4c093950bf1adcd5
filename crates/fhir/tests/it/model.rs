//! Cross-checks the embedded model against the official StructureDefinition snapshots: every
//! snapshot element must be found through `Model::element` (directly or through base types) with
//! the same cardinality, types and flags, and every choice type through `resolve_property`.

use crate::{read_json, shared_dir};
use serde_json::Value;
use weave_fhir::r4;

/// The type codes of a snapshot element as the model reports them.
fn expected_types(el: &Value) -> Vec<String> {
    let base_path = el["base"]["path"].as_str().unwrap_or("");
    el["type"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["code"].as_str())
                .map(|c| {
                    if base_path == "Resource.id" {
                        "id".to_string()
                    } else {
                        c.strip_prefix("http://hl7.org/fhirpath/")
                            .unwrap_or(c)
                            .to_string()
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn model_matches_snapshots() {
    let Some(shared) = shared_dir() else { return };
    let model = r4();
    let mut n_checked = 0usize;
    let mut problems = Vec::new();
    for file in ["profiles-types.json", "profiles-resources.json"] {
        let bundle =
            read_json(&shared.join("fhir-r4-definitions").join(file)).expect("definitions");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let sd = &entry["resource"];
            if sd["resourceType"] != "StructureDefinition" || sd["derivation"] == "constraint" {
                continue;
            }
            for el in sd["snapshot"]["element"]
                .as_array()
                .into_iter()
                .flatten()
                .skip(1)
            {
                let path = el["path"].as_str().unwrap_or("");
                let Some((parent, last)) = path.rsplit_once('.') else {
                    continue;
                };
                let name = last.trim_end_matches("[x]");
                n_checked += 1;
                let Some(found) = model.element(parent, name) else {
                    problems.push(format!("{path}: not found"));
                    continue;
                };
                let max = el["max"].as_str().unwrap_or("*");
                let found_max = found.max.map_or_else(|| "*".to_string(), |m| m.to_string());
                let min = el["min"].as_u64().unwrap_or(0);
                let types: Vec<String> = found.types.iter().map(|t| t.code.clone()).collect();
                let expected = expected_types(el);
                // contentReference elements carry the referenced element's types.
                let types_ok =
                    expected.is_empty() || types == expected || path.ends_with("Int.value");
                if u64::from(found.min) != min || found_max != max || !types_ok {
                    problems.push(format!("{path}: model {}..{found_max} {types:?}, snapshot {min}..{max} {expected:?}", found.min));
                }
                if el["isSummary"].as_bool().unwrap_or(false) != found.is_summary
                    || el["isModifier"].as_bool().unwrap_or(false) != found.is_modifier
                {
                    problems.push(format!("{path}: summary/modifier flags differ"));
                }
                if found.is_choice {
                    for t in &expected {
                        let json_name = format!("{name}{}{}", t[..1].to_uppercase(), &t[1..]);
                        if model.resolve_property(parent, &json_name).map(|(_, ty)| ty)
                            != Some(t.as_str())
                        {
                            problems.push(format!("{parent}.{json_name}: not resolved"));
                        }
                    }
                }
            }
        }
    }
    println!(
        "{} passed, {} failed (snapshot elements)",
        n_checked - problems.len(),
        problems.len()
    );
    for p in &problems {
        println!("  {p}");
    }
    assert!(n_checked > 7_000, "only {n_checked} elements checked");
    assert!(problems.is_empty());
}
