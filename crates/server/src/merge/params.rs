//! The `Parameters` bodies of `$merge` and `$unmerge`, parsed and checked before any write job is
//! queued: a wrong body is a 400 that names the parameter.

use crate::crud::{check_resource, validate_value};
use crate::error::ApiError;
use crate::http::is_valid_id;
use serde_json::Value;

/// One identifier naming a patient (`system` absent: any system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    pub system: Option<String>,
    pub value: String,
}

impl Ident {
    /// `system|value` (or `value`), for messages.
    pub fn describe(&self) -> String {
        match &self.system {
            Some(s) => format!("{s}|{}", self.value),
            None => self.value.clone(),
        }
    }
}

/// How a request names a patient: by id, by identifiers, or both (then all must agree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selector {
    pub id: Option<String>,
    pub identifiers: Vec<Ident>,
}

impl Selector {
    /// A patient named by one identifier.
    pub fn by_identifier(system: &str, value: &str) -> Selector {
        let system = (!system.is_empty()).then(|| system.to_owned());
        Selector { id: None, identifiers: vec![Ident { system, value: value.to_owned() }] }
    }

    fn is_empty(&self) -> bool {
        self.id.is_none() && self.identifiers.is_empty()
    }

    /// `Patient/x` or `Patient?identifier=a|b,…`, for messages.
    pub fn describe(&self) -> String {
        match &self.id {
            Some(id) => format!("Patient/{id}"),
            None => {
                let ids: Vec<String> = self.identifiers.iter().map(Ident::describe).collect();
                format!("Patient?identifier={}", ids.join("&identifier="))
            }
        }
    }
}

/// The inputs of `$merge`.
#[derive(Debug, Clone)]
pub(crate) struct MergeInput {
    pub source: Selector,
    pub target: Selector,
    /// The target's new content (`result-patient`), validated.
    pub result: Option<Value>,
    pub preview: bool,
}

/// The inputs of `$unmerge`: the merge's Provenance, or the pair whose latest merge to undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnmergeInput {
    Provenance(String),
    Pair { source: String, target: String },
}

/// The `(name, parameter)` pairs of a `Parameters` body, after checking it is one and valid.
fn parameters(body: &Value) -> Result<Vec<(&str, &Value)>, ApiError> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(ApiError::invalid("the body must be a Parameters resource"));
    }
    validate_value(body)?;
    let list = body.get("parameter").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(list.iter().map(|p| (p.get("name").and_then(Value::as_str).unwrap_or_default(), p)).collect())
}

fn unknown(op: &str, name: &str) -> ApiError {
    ApiError::invalid(format!("'{name}' is not a parameter of {op}"))
}

fn once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), ApiError> {
    if slot.replace(value).is_some() {
        return Err(ApiError::invalid(format!("the parameter '{name}' may be given only once")));
    }
    Ok(())
}

/// Parses `$merge`'s `Parameters`.
pub(crate) fn merge_input(body: &Value, base_url: &str) -> Result<MergeInput, ApiError> {
    let mut source = Selector::default();
    let mut target = Selector::default();
    let (mut result, mut preview) = (None, None);
    for (name, p) in parameters(body)? {
        match name {
            "source-patient" => reference_into(p, name, base_url, &mut source)?,
            "target-patient" => reference_into(p, name, base_url, &mut target)?,
            "source-patient-identifier" => source.identifiers.push(identifier(p.get("valueIdentifier"), name)?),
            "target-patient-identifier" => target.identifiers.push(identifier(p.get("valueIdentifier"), name)?),
            "result-patient" => {
                let r = p.get("resource").cloned().ok_or_else(|| missing_value(name, "a Patient resource"))?;
                once(&mut result, name, check_resource(r, "Patient")?)?;
            }
            "preview" => {
                let b = p.get("valueBoolean").and_then(Value::as_bool).ok_or_else(|| missing_value(name, "valueBoolean"))?;
                once(&mut preview, name, b)?;
            }
            other => return Err(unknown("$merge", other)),
        }
    }
    for (sel, role) in [(&source, "source"), (&target, "target")] {
        if sel.is_empty() {
            return Err(ApiError::invalid(format!(
                "the {role} patient is missing: give '{role}-patient' or '{role}-patient-identifier'"
            )));
        }
    }
    if source.id.is_some() && source.id == target.id {
        return Err(same_patient(source.id.as_deref().unwrap_or_default()));
    }
    Ok(MergeInput { source, target, result, preview: preview.unwrap_or(false) })
}

/// Parses `$unmerge`'s `Parameters`.
pub(crate) fn unmerge_input(body: &Value, base_url: &str) -> Result<UnmergeInput, ApiError> {
    let (mut provenance, mut source, mut target) = (None, None, None);
    for (name, p) in parameters(body)? {
        match name {
            "provenance" => once(&mut provenance, name, reference_id(p, name, base_url, "Provenance")?)?,
            "source-patient" => once(&mut source, name, reference_id(p, name, base_url, "Patient")?)?,
            "target-patient" => once(&mut target, name, reference_id(p, name, base_url, "Patient")?)?,
            other => return Err(unknown("$unmerge", other)),
        }
    }
    match (provenance, source, target) {
        (Some(p), None, None) => Ok(UnmergeInput::Provenance(p)),
        (None, Some(s), Some(t)) if s == t => Err(same_patient(&s)),
        (None, Some(source), Some(target)) => Ok(UnmergeInput::Pair { source, target }),
        _ => Err(ApiError::invalid(
            "$unmerge needs either 'provenance' (the merge's Provenance) or both 'source-patient' and 'target-patient'",
        )),
    }
}

/// The 400 for merging a patient into itself.
pub(crate) fn same_patient(id: &str) -> ApiError {
    ApiError::invalid(format!("the source and the target are the same patient (Patient/{id}); nothing to merge"))
}

fn missing_value(name: &str, what: &str) -> ApiError {
    ApiError::invalid(format!("the parameter '{name}' needs {what}"))
}

/// A `valueReference` to a Patient: its id (and its identifier, when it has one) go to `sel`.
fn reference_into(p: &Value, name: &str, base_url: &str, sel: &mut Selector) -> Result<(), ApiError> {
    let r = p.get("valueReference").ok_or_else(|| missing_value(name, "a valueReference"))?;
    if r.get("reference").is_some() {
        once(&mut sel.id, name, reference_id(p, name, base_url, "Patient")?)?;
    }
    if let Some(i) = r.get("identifier") {
        sel.identifiers.push(identifier(Some(i), name)?);
    }
    if sel.is_empty() {
        return Err(missing_value(name, "a reference or an identifier"));
    }
    Ok(())
}

/// The id in a `valueReference` to a resource of type `t` (`T/id`, or absolute under `base_url`).
fn reference_id(p: &Value, name: &str, base_url: &str, t: &str) -> Result<String, ApiError> {
    let r = p
        .get("valueReference")
        .and_then(|r| r.get("reference"))
        .and_then(Value::as_str)
        .ok_or_else(|| missing_value(name, &format!("a valueReference to a {t}")))?;
    local_id(r, base_url, t).ok_or_else(|| {
        ApiError::invalid(format!("the parameter '{name}' must reference a {t} on this server as {t}/[id], not '{r}'"))
    })
}

/// `T/id` or `{base}/T/id` → `id`.
pub(crate) fn local_id(reference: &str, base_url: &str, t: &str) -> Option<String> {
    let rel = reference.strip_prefix(base_url).map_or(reference, |r| r.trim_start_matches('/'));
    let id = rel.strip_prefix(t)?.strip_prefix('/')?;
    is_valid_id(id).then(|| id.to_owned())
}

fn identifier(v: Option<&Value>, name: &str) -> Result<Ident, ApiError> {
    let v = v.ok_or_else(|| missing_value(name, "a valueIdentifier"))?;
    let value = v.get("value").and_then(Value::as_str).filter(|s| !s.is_empty());
    let value = value.ok_or_else(|| missing_value(name, "an identifier with a value"))?;
    let system = v.get("system").and_then(Value::as_str).map(str::to_owned);
    Ok(Ident { system, value: value.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BASE: &str = "http://x.test/fhir";

    fn params(list: Value) -> Value {
        json!({"resourceType": "Parameters", "parameter": list})
    }

    #[test]
    fn merge_parameters_by_reference_and_identifier() {
        let body = params(json!([
            {"name": "source-patient", "valueReference": {"reference": "Patient/a"}},
            {"name": "target-patient-identifier", "valueIdentifier": {"system": "s", "value": "1"}},
            {"name": "preview", "valueBoolean": true}
        ]));
        let m = merge_input(&body, BASE).unwrap();
        assert_eq!(m.source.id.as_deref(), Some("a"));
        assert_eq!(m.target.identifiers, vec![Ident { system: Some("s".into()), value: "1".into() }]);
        assert!(m.preview);
        assert_eq!(m.target.describe(), "Patient?identifier=s|1");
    }

    #[test]
    fn merge_parameters_are_refused_clearly() {
        let src = json!({"name": "source-patient", "valueReference": {"reference": "Patient/a"}});
        let cases = [
            (json!({"resourceType": "Patient"}), "must be a parameters"),
            (params(json!([src])), "target patient is missing"),
            (params(json!([src, {"name": "target-patient", "valueReference": {"reference": "Patient/a"}}])), "same patient"),
            (params(json!([src, {"name": "target-patient", "valueReference": {"reference": "Encounter/b"}}])), "must reference a patient"),
            (params(json!([src, {"name": "colour", "valueString": "x"}])), "not a parameter"),
            (params(json!([src, src])), "only once"),
        ];
        for (body, want) in cases {
            let e = merge_input(&body, BASE).unwrap_err();
            let msg = e.issues()[0].diagnostics.to_lowercase();
            assert!(msg.contains(want), "{msg} should contain {want}");
        }
    }

    #[test]
    fn local_ids_accept_relative_and_own_absolute_references() {
        assert_eq!(local_id("Patient/a", BASE, "Patient").as_deref(), Some("a"));
        assert_eq!(local_id("http://x.test/fhir/Patient/a", BASE, "Patient").as_deref(), Some("a"));
        assert_eq!(local_id("http://other/fhir/Patient/a", BASE, "Patient"), None);
        assert_eq!(local_id("Patient/a/_history/2", BASE, "Patient"), None);
        assert_eq!(local_id("Patients/a", BASE, "Patient"), None);
    }

    #[test]
    fn unmerge_parameters() {
        let by_prov = params(json!([{"name": "provenance", "valueReference": {"reference": "Provenance/p1"}}]));
        assert_eq!(unmerge_input(&by_prov, BASE).unwrap(), UnmergeInput::Provenance("p1".into()));
        let pair = params(json!([
            {"name": "source-patient", "valueReference": {"reference": "Patient/a"}},
            {"name": "target-patient", "valueReference": {"reference": "Patient/b"}}
        ]));
        assert_eq!(unmerge_input(&pair, BASE).unwrap(), UnmergeInput::Pair { source: "a".into(), target: "b".into() });
        assert!(unmerge_input(&params(json!([])), BASE).is_err());
    }
}
