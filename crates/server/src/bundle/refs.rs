//! Reference handling inside a transaction: `fullUrl`s (`urn:uuid:…` and absolute URLs) rewritten
//! to the ids the server assigned, and conditional references (`Patient?identifier=…`) found.

use serde_json::Value;
use std::collections::HashMap;

/// What a resource's references need.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RefScan {
    /// `urn:uuid:` / `urn:oid:` references that no entry's `fullUrl` defines.
    pub dangling: Vec<String>,
    /// Conditional references, `Type?query`.
    pub conditional: Vec<String>,
}

/// Rewrites every `reference` found in `map` to its target, and reports what could not be rewritten.
pub fn rewrite(v: &mut Value, map: &HashMap<String, String>, scan: &mut RefScan) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if k == "reference" {
                    if let Value::String(r) = child {
                        rewrite_one(r, map, scan);
                        continue;
                    }
                }
                rewrite(child, map, scan);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite(i, map, scan)),
        _ => {}
    }
}

fn rewrite_one(r: &mut String, map: &HashMap<String, String>, scan: &mut RefScan) {
    if let Some(target) = map.get(r.as_str()) {
        r.clone_from(target);
        return;
    }
    if r.starts_with("urn:uuid:") || r.starts_with("urn:oid:") {
        scan.dangling.push(r.clone());
    } else if is_conditional(r) {
        scan.conditional.push(r.clone());
    }
}

/// `Type?params` — a conditional reference (not an absolute URL, not a local `#id`).
pub fn is_conditional(r: &str) -> bool {
    match r.split_once('?') {
        Some((t, _)) => !t.is_empty() && !t.contains('/') && !t.contains(':'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_known_references_and_reports_the_rest() {
        let map = HashMap::from([("urn:uuid:1".to_owned(), "Patient/abc".to_owned())]);
        let mut v = json!({
            "subject": {"reference": "urn:uuid:1"},
            "performer": [{"reference": "urn:uuid:2"}, {"reference": "Practitioner?identifier=x|1"}],
            "contained": [{"reference": "not-a-ref-object", "x": {"reference": "#local"}}]
        });
        let mut scan = RefScan::default();
        rewrite(&mut v, &map, &mut scan);
        assert_eq!(v["subject"]["reference"], "Patient/abc");
        assert_eq!(scan.dangling, vec!["urn:uuid:2"]);
        assert_eq!(scan.conditional, vec!["Practitioner?identifier=x|1"]);
    }

    #[test]
    fn absolute_urls_are_not_conditional() {
        assert!(!is_conditional("http://x.org/fhir/Patient?name=a"));
        assert!(is_conditional("Patient?identifier=a|b"));
        assert!(!is_conditional("Patient/1"));
    }
}
