//! Turning a patch value into FHIR JSON for a given element, with the type checks the specification asks
//! for ("the type of the value must be correct for the place at which it will be added").
//!
//! - A `value[x]` keeps its JSON form (so `valueInteger` lands as a number, `valueDecimal` with its exact
//!   text); its type must be one of the element's types, a specialisation of one (`Age` for `Quantity`), or
//!   a primitive whose JSON is also valid for the element's primitive type (`valueString` for a `code` or
//!   for the narrative `div`, which `value[x]` cannot carry as `xhtml`).
//! - A choice element gets the typed JSON name (`value` with a `valueQuantity` → `valueQuantity`).
//! - Parts build an object child by child against the model (backbone elements such as `Patient.contact`,
//!   or any complex type), recursively.
//! - A `resource` part fills an element of type `Resource` (`contained`).

use serde_json::{Map, Value};
use weave_fhir::model::ElementDef;
use weave_fhir::primitives;

use super::json;
use super::parse::ValueSpec;

/// The JSON to write for one element: its key, the value and, for primitives, the `_key` object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Built {
    pub(crate) key: String,
    pub(crate) value: Value,
    pub(crate) ext: Option<Value>,
}

/// Why a value cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BuildError {
    /// The value's type does not fit the element.
    Type(String),
    /// The value itself is wrong (an invalid date, an unknown child element, a repeated single element).
    Content(String),
}

type BuildResult<T> = Result<T, BuildError>;

/// The element a name designates on a type: `value` (any of its types), or `valueQuantity` (that type only).
pub(crate) fn element_named(
    type_path: &str,
    name: &str,
) -> Option<(&'static ElementDef, Option<&'static str>)> {
    let model = weave_fhir::r4();
    if let Some(el) = model.element(type_path, name) {
        return Some((el, None));
    }
    let (el, ty) = model.resolve_property(type_path, name)?;
    Some((el, Some(ty)))
}

/// Builds `spec` as a value of `el` (restricted to type `only` when the name gave one).
pub(crate) fn build(
    spec: &ValueSpec<'_>,
    el: &ElementDef,
    only: Option<&str>,
) -> BuildResult<Built> {
    match spec {
        ValueSpec::Typed { ty, json, ext } => typed(ty, json, *ext, el, only),
        ValueSpec::Parts(children) => parts(children, el),
        ValueSpec::Resource(r) => resource(r, el),
    }
}

/// The element's type codes as FHIR type names (`System.String` → `string`, or `uri` for `url`).
fn element_types<'e>(el: &'e ElementDef) -> impl Iterator<Item = &'e str> + 'e {
    el.types.iter().map(move |t| {
        let code = t.code.rsplit('/').next().unwrap_or(&t.code);
        match code.strip_prefix("System.") {
            Some("String") if el.name == "url" => "uri",
            Some("String") => "string",
            Some("Boolean") => "boolean",
            Some("Integer") => "integer",
            Some("Decimal") => "decimal",
            Some("Date") => "date",
            Some("DateTime") => "dateTime",
            Some("Time") => "time",
            _ => code,
        }
    })
}

/// The JSON key for `el` holding a value of type `ty`: `value` + `Quantity` for a choice.
fn key_for(el: &ElementDef, ty: &str) -> String {
    if !el.is_choice {
        return el.name.clone();
    }
    let mut c = ty.chars();
    match c.next() {
        Some(f) => format!("{}{}{}", el.name, f.to_ascii_uppercase(), c.as_str()),
        None => el.name.clone(),
    }
}

fn describe(el: &ElementDef) -> String {
    let types: Vec<&str> = element_types(el).collect();
    format!("{} ({})", el.path, types.join(" | "))
}

fn typed(
    ty: &str,
    json: &Value,
    ext: Option<&Value>,
    el: &ElementDef,
    only: Option<&str>,
) -> BuildResult<Built> {
    let model = weave_fhir::r4();
    let is_prim = model.is_primitive(ty);
    if is_prim {
        primitives::check(ty, json)
            .map_err(|e| BuildError::Content(format!("the {ty} value is invalid: {e}")))?;
    } else if !json.is_object() {
        return Err(BuildError::Content(format!(
            "a {ty} value must be a JSON object"
        )));
    }
    let ext = match ext {
        None => None,
        Some(e @ Value::Object(_)) if is_prim => Some(e.clone()),
        Some(_) if is_prim => {
            return Err(BuildError::Content(format!(
                "the extension part of a {ty} value (_value[x]) must be a JSON object"
            )))
        }
        Some(_) => {
            return Err(BuildError::Content(format!(
                "only primitive values may have an _value[x] part, not {ty}"
            )))
        }
    };
    if el.type_path.is_some() {
        return Err(BuildError::Type(format!(
            "{} is a backbone element: give its content as parts, not a {ty}",
            el.path
        )));
    }
    let candidates = || element_types(el).filter(|t| only.is_none_or(|o| o == *t));
    let target = candidates()
        .find(|t| *t == ty)
        .or_else(|| {
            candidates().find(|t| !is_prim && *t != "Resource" && model.is_subtype_of(ty, t))
        })
        .or_else(|| {
            candidates()
                .find(|t| is_prim && model.is_primitive(t) && primitives::check(t, json).is_ok())
        })
        .ok_or_else(|| BuildError::Type(format!("a {ty} value does not fit {}", describe(el))))?;
    Ok(Built {
        key: key_for(el, target),
        value: json.clone(),
        ext,
    })
}

fn parts(children: &[(&str, ValueSpec<'_>)], el: &ElementDef) -> BuildResult<Built> {
    let model = weave_fhir::r4();
    if el.is_choice {
        return Err(BuildError::Type(format!(
            "{} is a choice element: give a typed value[x], not parts",
            el.path
        )));
    }
    let type_path = match (el.type_path.as_deref(), element_types(el).next()) {
        (Some(tp), _) => tp,
        (None, Some(t)) if t != "Resource" && !model.is_primitive(t) => t,
        _ => {
            return Err(BuildError::Type(format!(
                "{} cannot be given as parts",
                describe(el)
            )))
        }
    };
    let mut obj = Map::new();
    for (name, spec) in children {
        let (child, only) = element_named(type_path, name).ok_or_else(|| {
            BuildError::Content(format!("'{name}' is not an element of {type_path}"))
        })?;
        let b = build(spec, child, only)?;
        place(&mut obj, child, b).map_err(|()| {
            BuildError::Content(format!(
                "'{name}' is given more than once but does not repeat"
            ))
        })?;
    }
    Ok(Built {
        key: el.name.clone(),
        value: Value::Object(obj),
        ext: None,
    })
}

fn resource(r: &Value, el: &ElementDef) -> BuildResult<Built> {
    let model = weave_fhir::r4();
    let rt = r
        .get("resourceType")
        .and_then(Value::as_str)
        .filter(|rt| model.is_resource_type(rt))
        .ok_or_else(|| BuildError::Content("the resource part has no known resourceType".into()))?;
    if !element_types(el).any(|t| model.is_subtype_of(rt, t)) {
        return Err(BuildError::Type(format!(
            "a {rt} resource does not fit {}",
            describe(el)
        )));
    }
    Ok(Built {
        key: el.name.clone(),
        value: r.clone(),
        ext: None,
    })
}

/// The key under which `el` currently has a value in `obj` (any typed name for a choice), if any.
pub(crate) fn present_key<'o>(obj: &'o Map<String, Value>, el: &ElementDef) -> Option<&'o str> {
    obj.keys().map(String::as_str).find(|k| {
        let base = k.strip_prefix('_').unwrap_or(k);
        if el.is_choice {
            base.starts_with(el.name.as_str()) && element_types(el).any(|t| key_for(el, t) == base)
        } else {
            base == el.name
        }
    })
}

/// Adds a built value as a child of `obj`: appended when `el` repeats, else set if it has no value yet
/// (`Err` when it has one).
pub(crate) fn place(obj: &mut Map<String, Value>, el: &ElementDef, b: Built) -> Result<(), ()> {
    if el.is_array() {
        let len = obj
            .get(&b.key)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        json::insert_item(obj, &b.key, len, b.value, b.ext);
        return Ok(());
    }
    if present_key(obj, el).is_some() {
        return Err(());
    }
    json::set_single(obj, &b.key, b.value, b.ext);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn el(t: &str, n: &str) -> &'static ElementDef {
        weave_fhir::r4().element(t, n).unwrap()
    }

    fn typed_spec<'a>(ty: &'static str, json: &'a Value) -> ValueSpec<'a> {
        ValueSpec::Typed {
            ty,
            json,
            ext: None,
        }
    }

    #[test]
    fn primitives_keep_their_json_and_choices_get_typed_names() {
        let v: Value = serde_json::from_str("1.50").unwrap();
        let b = build(&typed_spec("decimal", &v), el("Quantity", "value"), None).unwrap();
        assert_eq!(b.value.to_string(), "1.50");
        let q = json!({"value": 80, "unit": "kg"});
        let b = build(
            &typed_spec("Quantity", &q),
            el("Observation", "value"),
            None,
        )
        .unwrap();
        assert_eq!(b.key, "valueQuantity");
        let age = json!({"value": 3});
        let b = build(&typed_spec("Age", &age), el("Observation", "value"), None).unwrap();
        assert_eq!(b.key, "valueQuantity");
        let s = json!("male");
        let b = build(&typed_spec("string", &s), el("Patient", "gender"), None).unwrap();
        assert_eq!((b.key.as_str(), b.value), ("gender", json!("male")));
        let u = json!("http://x");
        assert_eq!(
            build(&typed_spec("uri", &u), el("Extension", "url"), None)
                .unwrap()
                .key,
            "url"
        );
    }

    #[test]
    fn wrong_types_and_invalid_values_are_refused() {
        let d = json!("not a date");
        let r = build(&typed_spec("date", &d), el("Patient", "birthDate"), None);
        assert!(matches!(r, Err(BuildError::Content(_))), "{r:?}");
        let b = json!(true);
        let r = build(&typed_spec("boolean", &b), el("Patient", "birthDate"), None);
        assert!(matches!(r, Err(BuildError::Type(_))), "{r:?}");
        let s = json!("abc");
        let r = build(&typed_spec("string", &s), el("Patient", "birthDate"), None);
        assert!(matches!(r, Err(BuildError::Type(_))), "{r:?}");
        let cc = json!({"text": "x"});
        let r = build(
            &typed_spec("CodeableConcept", &cc),
            el("Patient", "contact"),
            None,
        );
        assert!(matches!(r, Err(BuildError::Type(_))), "{r:?}");
        let r = build(
            &typed_spec("CodeableConcept", &s),
            el("Patient", "maritalStatus"),
            None,
        );
        assert!(matches!(r, Err(BuildError::Content(_))), "{r:?}");
        let q = json!({"value": 1});
        let r = build(
            &typed_spec("Quantity", &q),
            el("Observation", "value"),
            Some("string"),
        );
        assert!(matches!(r, Err(BuildError::Type(_))), "{r:?}");
    }

    #[test]
    fn parts_build_nested_objects_against_the_model() {
        let given = [json!("A"), json!("B")];
        let gender = json!("female");
        let name = ValueSpec::Parts(vec![
            ("given", typed_spec("string", &given[0])),
            ("given", typed_spec("string", &given[1])),
        ]);
        let spec = ValueSpec::Parts(vec![
            ("name", name),
            ("gender", typed_spec("code", &gender)),
        ]);
        let b = build(&spec, el("Patient", "contact"), None).unwrap();
        assert_eq!(
            b.value,
            json!({"name": {"given": ["A", "B"]}, "gender": "female"})
        );
        let twice = ValueSpec::Parts(vec![
            ("gender", typed_spec("code", &gender)),
            ("gender", typed_spec("code", &gender)),
        ]);
        assert!(matches!(
            build(&twice, el("Patient", "contact"), None),
            Err(BuildError::Content(_))
        ));
        let unknown = ValueSpec::Parts(vec![("nope", typed_spec("code", &gender))]);
        assert!(matches!(
            build(&unknown, el("Patient", "contact"), None),
            Err(BuildError::Content(_))
        ));
        let into_prim = ValueSpec::Parts(vec![("id", typed_spec("string", &gender))]);
        assert!(matches!(
            build(&into_prim, el("Patient", "birthDate"), None),
            Err(BuildError::Type(_))
        ));
    }

    #[test]
    fn resources_fit_resource_elements_only() {
        let obs = json!({"resourceType": "Observation", "status": "final"});
        let b = build(&ValueSpec::Resource(&obs), el("Patient", "contained"), None).unwrap();
        assert_eq!(b.value, obs);
        assert!(build(&ValueSpec::Resource(&obs), el("Patient", "contact"), None).is_err());
        let bad = json!({"resourceType": "Nope"});
        assert!(build(&ValueSpec::Resource(&bad), el("Patient", "contained"), None).is_err());
    }

    #[test]
    fn present_key_sees_any_choice_type_and_extensions() {
        let o = json!({"valueString": "a", "_birthDate": {"id": "x"}});
        let o = o.as_object().unwrap();
        assert_eq!(
            present_key(o, el("Observation", "value")),
            Some("valueString")
        );
        assert_eq!(
            present_key(o, el("Patient", "birthDate")),
            Some("_birthDate")
        );
        assert_eq!(present_key(o, el("Patient", "gender")), None);
    }
}
