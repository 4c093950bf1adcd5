//! Searching inside contained resources (R4 search, "_contained").
//!
//! On write, each resource of `contained[]` that has a known `resourceType` and an `id` gets its
//! own index rows, from the search parameters of its type ([`extract`]); the store keeps them
//! apart from standalone resources' rows, so only a search with `_contained=true|both` sees them.
//! At most [`MAX_CONTAINED`] contained resources of a resource are indexed (those past it are not
//! found by `_contained` searches; the container itself still is); one without an `id` cannot be
//! returned on its own and is not indexed. Local references (`#id`) are not indexed, in contained
//! resources as elsewhere.
//!
//! On search, `_contained` (`false`, `true`, `both`) and `_containedType` (`container`,
//! `contained`) set the query's [`Contained`] and [`ContainedType`]; every clause of the search
//! must then hold on one and the same contained resource. [`check`] refuses what such a search
//! does not answer rather than ignore it: `_has`, `_list`, `_text`, `_content`, `_include`,
//! `_revinclude`, and `_cursor` when contained resources are returned themselves (their pages are
//! by `_offset`).

use crate::parse::{ParsedSearch, SearchError};
use crate::Indexer;
use serde_json::Value;
use weave_fhir::r4;
use weave_store::query::{Contained, ContainedEntries, ContainedType, MAX_CONTAINED};

/// The index rows of the contained resources of `resource`.
pub(crate) fn extract(indexer: &Indexer, resource: &Value) -> Vec<ContainedEntries> {
    let Some(Value::Array(items)) = resource.get("contained") else { return Vec::new() };
    let model = r4();
    items
        .iter()
        .take(MAX_CONTAINED)
        .enumerate()
        .filter_map(|(ordinal, item)| {
            let t = item.get("resourceType")?.as_str()?;
            let id = item.get("id")?.as_str()?;
            if !model.is_resource_type(t) {
                return None;
            }
            Some(ContainedEntries { ordinal, resource_type: t.to_owned(), id: id.to_owned(), index: indexer.rows(t, item) })
        })
        .collect()
}

/// `_contained=false|true|both`.
pub(crate) fn parse_contained(value: &str) -> Result<Contained, SearchError> {
    match value {
        "false" => Ok(Contained::Exclude),
        "true" => Ok(Contained::Only),
        "both" => Ok(Contained::Both),
        _ => Err(invalid("_contained", format!("'{value}' is not one of false, true, both"))),
    }
}

/// `_containedType=container|contained`.
pub(crate) fn parse_contained_type(value: &str) -> Result<ContainedType, SearchError> {
    match value {
        "container" => Ok(ContainedType::Container),
        "contained" => Ok(ContainedType::Contained),
        _ => Err(invalid("_containedType", format!("'{value}' is not one of container, contained"))),
    }
}

/// Refuses the parts of a search over contained resources that it cannot answer (see the module
/// documentation); `pairs` are the request's parameters.
pub(crate) fn check(parsed: &ParsedSearch, pairs: &[(String, String)]) -> Result<(), SearchError> {
    let q = &parsed.query;
    if q.contained == Contained::Exclude {
        return Ok(());
    }
    for (name, _) in pairs {
        let base = name.split(':').next().unwrap_or(name);
        let refused = match base {
            "_has" | "_list" | "_text" | "_content" | "_include" | "_revinclude" => true,
            "_cursor" => q.contained_type == ContainedType::Contained,
            _ => false,
        };
        if refused {
            return Err(invalid(
                name,
                "is not supported in a search of contained resources (_contained=true or both); \
                 _cursor there is replaced by _offset with _containedType=contained",
            ));
        }
    }
    Ok(())
}

fn invalid(param: &str, message: impl Into<String>) -> SearchError {
    SearchError::InvalidValue { param: param.to_owned(), message: message.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contained_resources_get_rows_of_their_own_type() {
        let ix = Indexer::new("http://h");
        let mr = json!({
            "resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": "order",
            "subject": {"reference": "Patient/p"},
            "contained": [
                {"resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": "http://s", "code": "A"}]}},
                {"resourceType": "Medication", "code": {"text": "no id"}},
                {"resourceType": "Nonsense", "id": "x"},
                {"resourceType": "Medication", "id": "m2", "form": {"coding": [{"code": "B"}]}}
            ]
        });
        let rows = ix.extract("MedicationRequest", &mr);
        let found: Vec<(usize, &str, &str)> =
            rows.contained.iter().map(|c| (c.ordinal, c.resource_type.as_str(), c.id.as_str())).collect();
        assert_eq!(found, vec![(0, "Medication", "m1"), (3, "Medication", "m2")]);
        let m1 = &rows.contained[0].index;
        assert!(m1.tokens.iter().any(|t| t.0 == "code" && t.2 == "A"), "{m1:?}");
        assert!(m1.text.is_none() && m1.contained.is_empty());
        assert!(!rows.contained[1].index.tokens.iter().any(|t| t.0 == "code"));
        // The container's own rows are not changed by what it contains.
        assert!(!rows.tokens.iter().any(|t| t.2 == "A"));
    }

    #[test]
    fn values_are_checked() {
        assert_eq!(parse_contained("both"), Ok(Contained::Both));
        assert!(parse_contained("maybe").is_err());
        assert_eq!(parse_contained_type("contained"), Ok(ContainedType::Contained));
        assert!(parse_contained_type("x").is_err());
    }
}
