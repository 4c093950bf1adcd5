//! String parameters whose index rows would be another's, row for row: the same expression on
//! the same resource type. In R4 these are `phonetic`, which is `name` on Patient, Person,
//! Practitioner and RelatedPerson (Weave matches it as a string, like `name`). Only the first by
//! code is indexed; a search on another is answered from its rows (the parser names the twin).
//! Other kinds have twins too (CodeSystem's `url` and `system`, for one), but code builds queries
//! on those by name, and references are named by includes, chains and compartments: they keep
//! their own rows.

use std::collections::HashMap;
use std::sync::OnceLock;
use weave_fhir::model::SearchParamType;
use weave_fhir::r4;

/// Type → code → the code whose rows answer it, for every R4 parameter that has such a twin.
type Twins = HashMap<String, HashMap<String, String>>;

fn table() -> &'static Twins {
    static T: OnceLock<Twins> = OnceLock::new();
    T.get_or_init(|| {
        let model = r4();
        let mut out = Twins::new();
        for t in model.resource_types() {
            let mut first: HashMap<String, String> = HashMap::new();
            let mut params: Vec<_> = model
                .search_params(t)
                .iter()
                .filter(|sp| sp.kind == SearchParamType::String)
                .filter_map(|sp| Some((sp, crate::indexer::for_type(sp.expression.as_deref()?, t)?)))
                .collect();
            params.sort_by(|a, b| a.0.code.cmp(&b.0.code));
            for (sp, expr) in params {
                match first.get(&expr) {
                    Some(canonical) => {
                        out.entry(t.to_owned()).or_default().insert(sp.code.clone(), canonical.clone());
                    }
                    None => {
                        first.insert(expr, sp.code.clone());
                    }
                }
            }
        }
        out
    })
}

/// The code whose index rows answer `code` on `resource_type`: its twin's, or its own.
pub fn canonical<'a>(resource_type: &str, code: &'a str) -> &'a str {
    table().get(resource_type).and_then(|twins| twins.get(code)).map_or(code, String::as_str)
}

/// Whether `code` on `resource_type` gets no index rows of its own.
pub fn is_alias(resource_type: &str, code: &str) -> bool {
    canonical(resource_type, code) != code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_r4_twins() {
        let mut found: Vec<(String, String, String)> =
            table().iter().flat_map(|(t, twins)| twins.iter().map(|(c, to)| (t.clone(), c.clone(), to.clone()))).collect();
        found.sort();
        let want = [
            ("Patient", "phonetic", "name"),
            ("Person", "phonetic", "name"),
            ("Practitioner", "phonetic", "name"),
            ("RelatedPerson", "phonetic", "name"),
        ];
        let want: Vec<(String, String, String)> = want.iter().map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into())).collect();
        assert_eq!(found, want);
        assert_eq!(canonical("Patient", "phonetic"), "name");
        assert_eq!(canonical("Patient", "name"), "name");
        assert_eq!(canonical("Organization", "phonetic"), "phonetic", "Organization.name also covers alias");
        assert!(!is_alias("Patient", "family"));
    }

    #[test]
    fn a_twin_is_indexed_once_and_searched_by_its_twins_rows() {
        let p = serde_json::json!({"resourceType": "Patient", "name": [{"family": "Smith", "given": ["Ann"]}]});
        let ix = crate::Indexer::new("http://x").extract("Patient", &p);
        let params: Vec<&str> = ix.strings.iter().map(|s| s.0.as_str()).collect();
        assert!(params.contains(&"name") && !params.contains(&"phonetic"), "{params:?}");
        for q in ["phonetic=smi", "phonetic:missing=true", "_sort=phonetic"] {
            let (k, v) = q.split_once('=').unwrap();
            let parsed = crate::parse_query("Patient", &[(k.into(), v.into())], true, "http://x", 10, 100).expect(q);
            let text = format!("{:?}", parsed.query);
            assert!(text.contains("\"name\"") && !text.contains("phonetic"), "{q}: {text}");
        }
    }
}
