//! Patient-level edits of a merge on JSON: identifiers, `link`s, `active`, and pointing
//! references at another patient.

use super::params::Ident;
use serde_json::{json, Map, Value};

/// True when the patient carries the identifier (same value; same system when one is given).
pub(crate) fn has_identifier(p: &Value, want: &Ident) -> bool {
    p.get("identifier").and_then(Value::as_array).is_some_and(|ids| {
        ids.iter().any(|i| {
            i.get("value").and_then(Value::as_str) == Some(want.value.as_str())
                && want.system.as_deref().is_none_or(|s| i.get("system").and_then(Value::as_str) == Some(s))
        })
    })
}

/// The id in a `Patient/id` reference, relative or absolute (`…/Patient/id`).
fn patient_id(reference: &str) -> Option<&str> {
    let (prefix, id) = reference.rsplit_once("Patient/")?;
    (prefix.is_empty() || prefix.ends_with('/')).then_some(id).filter(|id| !id.is_empty() && !id.contains('/'))
}

fn links(p: &Value) -> impl Iterator<Item = (&str, Option<&str>)> {
    p.get("link").and_then(Value::as_array).into_iter().flatten().map(|l| {
        let kind = l.get("type").and_then(Value::as_str).unwrap_or_default();
        let other = l.get("other").and_then(|o| o.get("reference")).and_then(Value::as_str).and_then(patient_id);
        (kind, other)
    })
}

/// The patient a link of type `kind` points at (the first such link).
pub(crate) fn link_of(p: &Value, kind: &str) -> Option<String> {
    links(p).find(|(k, _)| *k == kind).and_then(|(_, o)| o).map(str::to_owned)
}

/// True when the patient has a link of type `kind` to `Patient/other`.
pub(crate) fn has_link(p: &Value, kind: &str, other: &str) -> bool {
    links(p).any(|(k, o)| k == kind && o == Some(other))
}

/// Adds a link of type `kind` to `Patient/other`, unless it is there.
pub(crate) fn add_link(p: &mut Value, kind: &str, other: &str) {
    if has_link(p, kind, other) {
        return;
    }
    let Some(obj) = p.as_object_mut() else { return };
    let link = json!({"other": {"reference": format!("Patient/{other}")}, "type": kind});
    match obj.get_mut("link").and_then(Value::as_array_mut) {
        Some(list) => list.push(link),
        None => {
            obj.insert("link".into(), Value::Array(vec![link]));
        }
    }
}

/// `active` is explicitly false.
pub(crate) fn is_inactive(p: &Value) -> bool {
    p.get("active").and_then(Value::as_bool) == Some(false)
}

/// Marks the source of a merge: inactive, `replaced-by` the target.
pub(crate) fn retire(p: &mut Value, target_id: &str) {
    if let Some(obj) = p.as_object_mut() {
        obj.insert("active".into(), Value::Bool(false));
    }
    add_link(p, "replaced-by", target_id);
}

/// A copy without the server-managed `meta.versionId` and `meta.lastUpdated`.
pub(crate) fn without_meta(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
        meta.shift_remove("versionId");
        meta.shift_remove("lastUpdated");
        if meta.is_empty() {
            if let Some(o) = v.as_object_mut() {
                o.shift_remove("meta");
            }
        }
    }
    v
}

/// Points every reference to `Patient/from` (relative, absolute under `base_url`, or versioned)
/// at `Patient/to`, keeping its relative or absolute form (a version is dropped: the new target
/// has its own history). Returns how many references changed. Walks the whole resource,
/// contained resources and extensions included.
pub(crate) fn retarget(v: &mut Value, base_url: &str, from: &str, to: &str) -> usize {
    let relative = format!("Patient/{from}");
    let absolute = format!("{base_url}/Patient/{from}");
    let rewrite = |r: &str| -> Option<String> {
        let is = |stem: &str| r == stem || r.strip_prefix(stem).is_some_and(|rest| rest.starts_with("/_history/"));
        if is(&relative) {
            Some(format!("Patient/{to}"))
        } else if is(&absolute) {
            Some(format!("{base_url}/Patient/{to}"))
        } else {
            None
        }
    };
    walk(v, &rewrite)
}

fn walk(v: &mut Value, rewrite: &dyn Fn(&str) -> Option<String>) -> usize {
    match v {
        Value::Object(o) => rewrite_object(o, rewrite),
        Value::Array(a) => a.iter_mut().map(|x| walk(x, rewrite)).sum(),
        _ => 0,
    }
}

fn rewrite_object(o: &mut Map<String, Value>, rewrite: &dyn Fn(&str) -> Option<String>) -> usize {
    let mut n = 0;
    for (k, x) in o.iter_mut() {
        if let (true, Value::String(s)) = (k == "reference", &*x) {
            if let Some(new) = rewrite(s) {
                *x = Value::String(new);
                n += 1;
            }
        } else {
            n += walk(x, rewrite);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_added_once_and_read_back() {
        let mut p = json!({"resourceType": "Patient", "active": true});
        retire(&mut p, "t");
        retire(&mut p, "t");
        assert_eq!(p["link"], json!([{"other": {"reference": "Patient/t"}, "type": "replaced-by"}]));
        assert!(is_inactive(&p));
        assert_eq!(link_of(&p, "replaced-by").as_deref(), Some("t"));
        assert_eq!(link_of(&p, "replaces"), None);
        let abs = json!({"link": [{"other": {"reference": "http://x/fhir/Patient/q"}, "type": "replaces"}]});
        assert!(has_link(&abs, "replaces", "q"));
    }

    #[test]
    fn every_reference_form_is_retargeted_and_others_are_kept() {
        let base = "http://x.test/fhir";
        let mut r = json!({
            "resourceType": "Encounter",
            "subject": {"reference": "Patient/s", "display": "S"},
            "participant": [{"individual": {"reference": "Practitioner/s"}}],
            "extension": [{"url": "u", "valueReference": {"reference": "http://x.test/fhir/Patient/s/_history/3"}}],
            "contained": [{"resourceType": "Observation", "subject": {"reference": "Patient/s"}}],
            "basedOn": [{"reference": "Patient/st"}, {"reference": "http://elsewhere/Patient/s"}]
        });
        assert_eq!(retarget(&mut r, base, "s", "t"), 3);
        assert_eq!(r["subject"], json!({"reference": "Patient/t", "display": "S"}));
        assert_eq!(r["extension"][0]["valueReference"]["reference"], "http://x.test/fhir/Patient/t");
        assert_eq!(r["contained"][0]["subject"]["reference"], "Patient/t");
        assert_eq!(r["participant"][0]["individual"]["reference"], "Practitioner/s");
        assert_eq!(r["basedOn"][0]["reference"], "Patient/st");
        assert_eq!(r["basedOn"][1]["reference"], "http://elsewhere/Patient/s");
    }

    #[test]
    fn identifiers_match_by_value_and_optional_system() {
        let p = json!({"identifier": [{"system": "s", "value": "1"}]});
        assert!(has_identifier(&p, &Ident { system: Some("s".into()), value: "1".into() }));
        assert!(has_identifier(&p, &Ident { system: None, value: "1".into() }));
        assert!(!has_identifier(&p, &Ident { system: Some("x".into()), value: "1".into() }));
    }
}
