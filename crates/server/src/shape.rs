//! `_summary` and `_elements`: returning part of a resource, marked `SUBSETTED`.

use crate::error::ApiError;
use crate::http::param;
use serde_json::{json, Map, Value};
use weave_fhir::r4;

/// How to cut a resource down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `_summary=true`: the summary elements only.
    Summary,
    /// `_summary=text`: text, id, meta and the mandatory top-level elements.
    Text,
    /// `_summary=data`: everything but the narrative.
    Data,
    /// `_elements=a,b`: the named top-level elements (plus id, meta and mandatory ones).
    Elements(Vec<String>),
}

impl Shape {
    /// The shape asked for by `_summary` / `_elements`; `None` for the full resource.
    pub fn from_query(q: &[(String, String)]) -> Result<Option<Shape>, ApiError> {
        if let Some(s) = param(q, "_summary") {
            return match s {
                "true" => Ok(Some(Shape::Summary)),
                "text" => Ok(Some(Shape::Text)),
                "data" => Ok(Some(Shape::Data)),
                "false" => Ok(None),
                "count" => Err(ApiError::invalid("_summary=count applies to searches only")),
                other => Err(ApiError::invalid(format!(
                    "_summary '{other}' is not one of true, text, data, count, false"
                ))),
            };
        }
        Ok(param(q, "_elements").map(|e| {
            Shape::Elements(e.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        }))
    }

    /// Cuts `resource` down in place and tags it `SUBSETTED`.
    pub fn apply(&self, resource: &mut Value) {
        let Some(obj) = resource.as_object_mut() else { return };
        let Some(rt) = obj.get("resourceType").and_then(Value::as_str).map(str::to_owned) else { return };
        match self {
            Shape::Data => {
                obj.remove("text");
            }
            Shape::Summary => summarize(obj, &rt),
            Shape::Text => keep_top(obj, &rt, &["text"]),
            Shape::Elements(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                keep_top(obj, &rt, &names);
            }
        }
        tag_subsetted(obj);
    }
}

fn is_kept_always(name: &str) -> bool {
    matches!(name, "resourceType" | "id" | "meta")
}

/// Keeps the named top-level elements, the always-kept ones and the mandatory ones.
fn keep_top(obj: &mut Map<String, Value>, rt: &str, names: &[&str]) {
    let model = r4();
    obj.retain(|k, _| {
        let base = k.strip_prefix('_').unwrap_or(k);
        if is_kept_always(base) {
            return true;
        }
        match model.resolve_property(rt, base) {
            Some((el, _)) => el.min > 0 || names.contains(&el.name.as_str()),
            None => names.contains(&base),
        }
    });
}

/// Keeps summary elements, recursively through complex values.
fn summarize(obj: &mut Map<String, Value>, type_path: &str) {
    let model = r4();
    obj.retain(|k, v| {
        let base = k.strip_prefix('_').unwrap_or(k);
        if is_kept_always(base) {
            return true;
        }
        let Some((el, ty)) = model.resolve_property(type_path, base) else { return false };
        if !(el.is_summary || el.min > 0) {
            return false;
        }
        let child_path = el.type_path.clone().unwrap_or_else(|| ty.to_owned());
        if !model.is_primitive(ty) && !k.starts_with('_') {
            summarize_value(v, &child_path);
        }
        true
    });
}

fn summarize_value(v: &mut Value, type_path: &str) {
    match v {
        Value::Object(o) => summarize(o, type_path),
        Value::Array(items) => items.iter_mut().for_each(|i| summarize_value(i, type_path)),
        _ => {}
    }
}

fn tag_subsetted(obj: &mut Map<String, Value>) {
    let meta = obj.entry("meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        let tags = meta.entry("tag").or_insert_with(|| json!([]));
        if let Some(tags) = tags.as_array_mut() {
            tags.push(json!({
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "SUBSETTED",
                "display": "subsetted"
            }));
        }
    }
}
