//! Reading a FHIRPath Patch `Parameters` resource into [`Operation`]s. Every operation is checked here, before
//! anything is applied: its `type`, the parts that type needs, the path (compiled once) and the shape of the
//! value, so a malformed patch is reported as such whatever the resource it would be applied to.

use serde_json::{Map, Value};

use super::{PatchError, PatchOp};
use crate::Expression;

/// A value to add, insert or replace with, as the `Parameters` give it.
#[derive(Debug)]
pub(crate) enum ValueSpec<'p> {
    /// A `value[x]`: the FHIR type named by the suffix (`valueDate` → `date`), the JSON value and, for
    /// primitives, the `_value[x]` object (its `id` and `extension`).
    Typed {
        ty: &'static str,
        json: &'p Value,
        ext: Option<&'p Value>,
    },
    /// A complex value given as parts, one per child element (`name` plus its own value).
    Parts(Vec<(&'p str, ValueSpec<'p>)>),
    /// A resource (`part.resource`), for `contained` and similar elements of type `Resource`.
    Resource(&'p Value),
}

/// One parsed `operation` parameter.
#[derive(Debug)]
pub(crate) struct Operation<'p> {
    /// Position in `Parameters.parameter`.
    pub(crate) index: usize,
    pub(crate) op: PatchOp,
    pub(crate) path: &'p str,
    pub(crate) expr: Expression,
    /// `add`: the name of the child to add.
    pub(crate) name: &'p str,
    /// `add`, `insert`, `replace`.
    pub(crate) value: Option<ValueSpec<'p>>,
    /// `insert`: the position; `move`: the source.
    pub(crate) at: usize,
    /// `move`: the destination.
    pub(crate) to: usize,
}

/// The parts of one operation, before checking which the type needs.
#[derive(Default)]
struct Parts<'p> {
    op: Option<&'p str>,
    path: Option<&'p str>,
    name: Option<&'p str>,
    value: Option<ValueSpec<'p>>,
    index: Option<usize>,
    source: Option<usize>,
    destination: Option<usize>,
}

/// Reads and checks every operation of a patch.
pub(crate) fn operations(patch: &Value) -> Result<Vec<Operation<'_>>, PatchError> {
    let rt = patch.get("resourceType").and_then(Value::as_str);
    if rt != Some("Parameters") {
        return Err(PatchError::NotParameters {
            message: match rt {
                Some(rt) => format!("the body is a {rt}, not a Parameters resource"),
                None => "the body is not a Parameters resource".to_owned(),
            },
        });
    }
    let params = match patch.get("parameter") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(PatchError::NotParameters {
                message: "Parameters.parameter must be an array".into(),
            })
        }
    };
    params
        .iter()
        .enumerate()
        .map(|(index, p)| {
            operation(index, p).map_err(|message| PatchError::Malformed { index, message })?
        })
        .collect()
}

/// One `operation` parameter. The outer error is a malformed parameter; the inner one a path that does not
/// compile.
fn operation(index: usize, param: &Value) -> Result<Result<Operation<'_>, PatchError>, String> {
    let obj = param.as_object().ok_or("a parameter must be an object")?;
    match obj.get("name").and_then(Value::as_str) {
        Some("operation") => {}
        Some(other) => return Err(format!("parameter name must be 'operation', not '{other}'")),
        None => return Err("the parameter has no name".into()),
    }
    let parts = read_parts(obj)?;
    let op_text = parts.op.ok_or("the operation has no 'type' part")?;
    let op = PatchOp::from_code(op_text).ok_or_else(|| {
        format!(
            "unknown operation type '{op_text}' (expected add, insert, delete, replace or move)"
        )
    })?;
    let path = parts
        .path
        .ok_or_else(|| format!("the {op} operation has no 'path' part"))?;
    let need = |present: bool, part: &str| {
        if present {
            Ok(())
        } else {
            Err(format!("the {op} operation needs a '{part}' part"))
        }
    };
    match op {
        PatchOp::Add => {
            need(parts.name.is_some(), "name")?;
            need(parts.value.is_some(), "value")?;
        }
        PatchOp::Insert => {
            need(parts.index.is_some(), "index")?;
            need(parts.value.is_some(), "value")?;
        }
        PatchOp::Replace => need(parts.value.is_some(), "value")?,
        PatchOp::Move => {
            need(parts.source.is_some(), "source")?;
            need(parts.destination.is_some(), "destination")?;
        }
        PatchOp::Delete => {}
    }
    let expr = match Expression::compile(path) {
        Ok(e) => e,
        Err(e) => {
            return Ok(Err(PatchError::InvalidPath {
                index,
                op,
                path: path.to_owned(),
                message: e.to_string(),
            }))
        }
    };
    Ok(Ok(Operation {
        index,
        op,
        path,
        expr,
        name: parts.name.unwrap_or(""),
        value: parts.value,
        at: parts.index.or(parts.source).unwrap_or(0),
        to: parts.destination.unwrap_or(0),
    }))
}

fn read_parts(obj: &Map<String, Value>) -> Result<Parts<'_>, String> {
    let list = match obj.get("part") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err("'part' must be an array".into()),
        None => return Err("the operation has no parts".into()),
    };
    let mut parts = Parts::default();
    for part in list {
        let p = part.as_object().ok_or("a part must be an object")?;
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a part has no name")?;
        let dup = || format!("the '{name}' part is given more than once");
        match name {
            "type" => set_once(&mut parts.op, text(p, name)?).map_err(|()| dup())?,
            "path" => set_once(&mut parts.path, text(p, name)?).map_err(|()| dup())?,
            "name" => set_once(&mut parts.name, text(p, name)?).map_err(|()| dup())?,
            "index" => set_once(&mut parts.index, integer(p, name)?).map_err(|()| dup())?,
            "source" => set_once(&mut parts.source, integer(p, name)?).map_err(|()| dup())?,
            "destination" => {
                set_once(&mut parts.destination, integer(p, name)?).map_err(|()| dup())?
            }
            "value" => {
                let v = value_of(p)?.ok_or("the 'value' part has no value")?;
                set_once(&mut parts.value, v).map_err(|()| dup())?;
            }
            other => return Err(format!("unknown part '{other}'")),
        }
    }
    Ok(parts)
}

fn set_once<T>(slot: &mut Option<T>, v: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(v);
    Ok(())
}

/// The `value[x]` of a part: its JSON key and value.
fn typed_value(p: &Map<String, Value>) -> Result<Option<(&str, &Value)>, String> {
    let mut found = None;
    for (k, v) in p {
        if let Some(suffix) = k.strip_prefix("value") {
            if suffix.starts_with(|c: char| c.is_ascii_uppercase()) {
                if found.is_some() {
                    return Err("a part has more than one value[x]".into());
                }
                found = Some((k.as_str(), v));
            }
        }
    }
    Ok(found)
}

/// A part's string value (`valueString`, `valueCode`, any string-valued `value[x]`).
fn text<'p>(p: &'p Map<String, Value>, name: &str) -> Result<&'p str, String> {
    match typed_value(p)? {
        Some((_, Value::String(s))) => Ok(s),
        Some((k, _)) => Err(format!("the '{name}' part's {k} must be a string")),
        None => Err(format!("the '{name}' part has no value")),
    }
}

/// A part's non-negative integer value (`valueInteger`).
fn integer(p: &Map<String, Value>, name: &str) -> Result<usize, String> {
    match typed_value(p)? {
        Some((_, Value::Number(n))) => n
            .as_u64()
            .and_then(|u| usize::try_from(u).ok())
            .ok_or_else(|| format!("the '{name}' part must be a non-negative integer, not {n}")),
        Some((k, _)) => Err(format!("the '{name}' part's {k} must be an integer")),
        None => Err(format!("the '{name}' part has no value")),
    }
}

/// The value a part carries: a `value[x]`, nested parts or a resource (`None` when it has none).
fn value_of(p: &Map<String, Value>) -> Result<Option<ValueSpec<'_>>, String> {
    let typed = typed_value(p)?;
    let nested = p.get("part");
    let resource = p.get("resource");
    let given = usize::from(typed.is_some())
        + usize::from(nested.is_some())
        + usize::from(resource.is_some());
    if given > 1 {
        return Err("a part may have only one of value[x], part and resource".into());
    }
    if let Some((key, json)) = typed {
        let suffix = &key["value".len()..];
        let ty =
            type_for_suffix(suffix).ok_or_else(|| format!("{key}: unknown type '{suffix}'"))?;
        let ext = p.get(format!("_{key}").as_str());
        return Ok(Some(ValueSpec::Typed { ty, json, ext }));
    }
    if let Some(r) = resource {
        return Ok(Some(ValueSpec::Resource(r)));
    }
    let Some(nested) = nested else {
        // A primitive given only as `_value[x]` (an extension without a value) is not supported.
        return Ok(None);
    };
    let list = nested.as_array().ok_or("'part' must be an array")?;
    let mut children = Vec::with_capacity(list.len());
    for sub in list {
        let s = sub.as_object().ok_or("a part must be an object")?;
        let name = s
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a nested part has no name")?;
        let v = value_of(s)?.ok_or_else(|| format!("the nested part '{name}' has no value"))?;
        children.push((name, v));
    }
    if children.is_empty() {
        return Err("a value given as parts needs at least one part".into());
    }
    Ok(Some(ValueSpec::Parts(children)))
}

/// The FHIR type a `value[x]` suffix names: `CodeableConcept` → `CodeableConcept`, `DateTime` → `dateTime`.
pub(crate) fn type_for_suffix(suffix: &str) -> Option<&'static str> {
    let model = weave_fhir::r4();
    if let Some(t) = model.type_def(suffix) {
        return Some(t.name.as_str());
    }
    let mut chars = suffix.chars();
    let first = chars.next()?;
    let lower = format!("{}{}", first.to_ascii_lowercase(), chars.as_str());
    model
        .type_def(&lower)
        .filter(|t| model.is_primitive(&t.name))
        .map(|t| t.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(parts: Value) -> Value {
        json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": parts}]})
    }

    #[test]
    fn suffixes_name_types() {
        assert_eq!(type_for_suffix("DateTime"), Some("dateTime"));
        assert_eq!(type_for_suffix("CodeableConcept"), Some("CodeableConcept"));
        assert_eq!(type_for_suffix("Base64Binary"), Some("base64Binary"));
        assert_eq!(type_for_suffix("Nope"), None);
        assert_eq!(type_for_suffix(""), None);
    }

    #[test]
    fn reads_a_complete_operation() {
        let p = op(json!([
            {"name": "type", "valueCode": "insert"},
            {"name": "path", "valueString": "Patient.identifier"},
            {"name": "index", "valueInteger": 1},
            {"name": "value", "valueIdentifier": {"value": "x"}}
        ]));
        let ops = operations(&p).unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].op, PatchOp::Insert);
        assert_eq!(ops[0].at, 1);
        assert!(matches!(
            ops[0].value,
            Some(ValueSpec::Typed {
                ty: "Identifier",
                ..
            })
        ));
    }

    #[test]
    fn rejects_malformed_parameters() {
        let cases = [
            json!({"resourceType": "Patient"}),
            json!({"resourceType": "Parameters", "parameter": {}}),
            json!({"resourceType": "Parameters", "parameter": [1]}),
            json!({"resourceType": "Parameters", "parameter": [{"name": "other"}]}),
            op(
                json!([{"name": "type", "valueCode": "frobnicate"}, {"name": "path", "valueString": "Patient"}]),
            ),
            op(
                json!([{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"}]),
            ),
            op(json!([{"name": "type", "valueCode": "delete"}])),
            op(
                json!([{"name": "type", "valueCode": "delete"}, {"name": "type", "valueCode": "delete"}]),
            ),
            op(json!([{"name": "type", "valueInteger": 3}])),
            op(
                json!([{"name": "type", "valueCode": "move"}, {"name": "path", "valueString": "Patient.name"},
                {"name": "source", "valueInteger": -1}, {"name": "destination", "valueInteger": 0}]),
            ),
            op(
                json!([{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.x"},
                {"name": "value", "valueString": "a", "part": []}]),
            ),
            op(
                json!([{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.x"},
                {"name": "value", "valueFoo": "a"}]),
            ),
            op(
                json!([{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
                {"name": "name", "valueString": "contact"}, {"name": "value", "part": []}]),
            ),
            op(
                json!([{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient"},
                {"name": "bogus", "valueString": "x"}]),
            ),
            op(json!("not parts")),
        ];
        for c in cases {
            let e = operations(&c).unwrap_err();
            assert!(e.is_malformed(), "{c}: {e}");
        }
    }

    #[test]
    fn a_bad_path_is_reported_with_its_text() {
        let p = op(
            json!([{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.("}]),
        );
        let e = operations(&p).unwrap_err();
        assert!(
            matches!(&e, PatchError::InvalidPath { path, .. } if path == "Patient.("),
            "{e}"
        );
        assert!(e.is_malformed());
    }
}
