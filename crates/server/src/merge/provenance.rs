//! The Provenance of a merge or an unmerge, and reading one back for `$unmerge`.
//!
//! `target` lists every version the operation wrote (`Type/id/_history/n`); `entity` (role
//! `revision`) lists the version each of those resources had just before, in the same order. That
//! pairing is all `$unmerge` needs to restore the earlier state. An unmerge's Provenance also
//! names the merge's Provenance it undid (`entity`, role `source`).

use serde_json::{json, Value};

/// ISO 21089 record lifecycle events (the `activity` of the Provenance).
pub const LIFECYCLE: &str = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";

/// What a Provenance records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    Merge,
    Unmerge,
}

impl Activity {
    fn code(self) -> &'static str {
        match self {
            Activity::Merge => "merge",
            Activity::Unmerge => "unmerge",
        }
    }

    fn display(self) -> &'static str {
        match self {
            Activity::Merge => "Merge Record Lifecycle Event",
            Activity::Unmerge => "Unmerge Record Lifecycle Event",
        }
    }
}

/// One resource a merge or an unmerge wrote: the version it had before and the version written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub resource_type: String,
    pub id: String,
    /// The version current before the operation.
    pub before: u64,
    /// The version the operation wrote (for a preview, the version it would write).
    pub after: u64,
}

impl Revision {
    /// `Type/id`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.resource_type, self.id)
    }
}

fn versioned(resource_type: &str, id: &str, version: u64) -> Value {
    json!({"reference": format!("{resource_type}/{id}/_history/{version}")})
}

/// A Provenance for the revisions written at `recorded` by `agent`; `undoes` names the merge
/// Provenance an unmerge undid.
pub(crate) fn build(activity: Activity, agent: &str, recorded: &str, revisions: &[Revision], undoes: Option<&str>) -> Value {
    let target: Vec<Value> = revisions.iter().map(|r| versioned(&r.resource_type, &r.id, r.after)).collect();
    let mut entity: Vec<Value> = revisions
        .iter()
        .map(|r| json!({"role": "revision", "what": versioned(&r.resource_type, &r.id, r.before)}))
        .collect();
    if let Some(p) = undoes {
        entity.push(json!({"role": "source", "what": {"reference": format!("Provenance/{p}")}}));
    }
    json!({
        "resourceType": "Provenance",
        "target": target,
        "recorded": recorded,
        "activity": {"coding": [{"system": LIFECYCLE, "code": activity.code(), "display": activity.display()}]},
        "agent": [{"who": {"display": agent}}],
        "entity": entity,
    })
}

/// The lifecycle activity a Provenance records, when it is a merge or an unmerge.
pub(crate) fn activity_of(p: &Value) -> Option<Activity> {
    let codings = p.get("activity")?.get("coding")?.as_array()?;
    codings.iter().filter(|c| c.get("system").and_then(Value::as_str) == Some(LIFECYCLE)).find_map(|c| {
        match c.get("code").and_then(Value::as_str)? {
            "merge" => Some(Activity::Merge),
            "unmerge" => Some(Activity::Unmerge),
            _ => None,
        }
    })
}

/// `Type/id/_history/n` → (type, id, n).
fn parse_versioned(r: &Value) -> Option<(String, String, u64)> {
    let s = r.get("reference")?.as_str()?;
    let mut parts = s.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(t), Some(id), Some("_history"), Some(v), None) => Some((t.to_owned(), id.to_owned(), v.parse().ok()?)),
        _ => None,
    }
}

/// The revisions a merge or unmerge Provenance records, in `target` order; an error message when
/// it does not have the shape [`build`] gives.
pub(crate) fn revisions_of(p: &Value) -> Result<Vec<Revision>, String> {
    let list = |k: &str| p.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let befores: Vec<(String, String, u64)> = list("entity")
        .iter()
        .filter(|e| e.get("role").and_then(Value::as_str) == Some("revision"))
        .filter_map(|e| e.get("what").and_then(parse_versioned))
        .collect();
    let mut out = Vec::new();
    for t in list("target") {
        let (resource_type, id, after) =
            parse_versioned(t).ok_or_else(|| format!("its target {t} is not a versioned reference"))?;
        let before = befores
            .iter()
            .find(|(bt, bid, _)| *bt == resource_type && *bid == id)
            .map(|b| b.2)
            .ok_or_else(|| format!("it records no earlier version of {resource_type}/{id}"))?;
        out.push(Revision { resource_type, id, before, after });
    }
    if out.is_empty() {
        return Err("it lists no targets".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(t: &str, id: &str, before: u64, after: u64) -> Revision {
        Revision { resource_type: t.into(), id: id.into(), before, after }
    }

    #[test]
    fn a_built_provenance_is_valid_and_reads_back() {
        let revs = vec![rev("Patient", "a", 1, 2), rev("Encounter", "e", 3, 4)];
        let p = build(Activity::Unmerge, "Weave API", "2026-01-01T00:00:00Z", &revs, Some("m1"));
        assert!(crate::crud::validate_value(&p).is_ok(), "{p}");
        assert_eq!(activity_of(&p), Some(Activity::Unmerge));
        assert_eq!(revisions_of(&p).unwrap(), revs);
        assert_eq!(p["target"][1]["reference"], "Encounter/e/_history/4");
        assert_eq!(p["entity"][2]["what"]["reference"], "Provenance/m1");
    }

    #[test]
    fn malformed_provenances_are_reported() {
        let mut p = build(Activity::Merge, "x", "2026-01-01T00:00:00Z", &[rev("Patient", "a", 1, 2)], None);
        p["entity"] = serde_json::json!([]);
        assert!(revisions_of(&p).unwrap_err().contains("no earlier version"));
        p["target"] = serde_json::json!([{"reference": "Patient/a"}]);
        assert!(revisions_of(&p).unwrap_err().contains("not a versioned"));
        assert_eq!(activity_of(&serde_json::json!({"activity": {"coding": [{"code": "merge"}]}})), None);
    }
}
