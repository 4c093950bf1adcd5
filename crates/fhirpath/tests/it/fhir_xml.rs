//! A small FHIR XML → FHIR JSON converter for test inputs only (the FHIRPath Patch cases are published as
//! XML; adapted from the server's test converter). It uses the R4 model for what XML does not say: which
//! elements repeat (JSON arrays) and which primitives are JSON booleans or numbers (kept with their exact
//! text). Primitive extensions and element ids go to `_name` as the JSON format requires; the narrative `div`
//! is re-serialized with entities decoded, so equal XHTML compares equal whatever its XML escaping.

use roxmltree::Node;
use serde_json::{Map, Value};
use weave_fhir::r4;

/// One JSON property being built: the values (or `null`) and the `_name` parts (or `null`).
#[derive(Default)]
struct Prop {
    values: Vec<Value>,
    underscores: Vec<Value>,
    is_array: bool,
}

/// Converts a resource element (`<Patient xmlns="http://hl7.org/fhir">…`) to FHIR JSON.
pub fn resource(node: Node<'_, '_>) -> Result<Value, String> {
    let t = node.tag_name().name();
    if !r4().is_resource_type(t) {
        return Err(format!("<{t}> is not a resource type"));
    }
    let mut obj = Map::new();
    obj.insert("resourceType".into(), Value::String(t.to_owned()));
    fill(&mut obj, node, t)?;
    Ok(Value::Object(obj))
}

/// The first element child of `node`.
pub fn first_element<'a, 'i>(node: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    node.children().find(Node::is_element)
}

/// Fills `obj` with the element children of `node`, whose type (or backbone path) is `type_path`.
fn fill(obj: &mut Map<String, Value>, node: Node<'_, '_>, type_path: &str) -> Result<(), String> {
    let model = r4();
    let mut props: Vec<(String, Prop)> = Vec::new();
    for child in node.children().filter(Node::is_element) {
        let name = child.tag_name().name();
        let (el, ty) = model
            .resolve_property(type_path, name)
            .ok_or_else(|| format!("<{name}> is not an element of {type_path}"))?;
        let (value, underscore) = if ty == "xhtml" {
            let mut text = String::new();
            xhtml(child, true, &mut text);
            (Value::String(text), Value::Null)
        } else if model.is_primitive(ty) {
            primitive(child, ty)?
        } else if ty == "Resource" || model.is_resource_type(ty) {
            let inner =
                first_element(child).ok_or_else(|| format!("<{name}> holds no resource"))?;
            (resource(inner)?, Value::Null)
        } else {
            let mut o = Map::new();
            attributes(&mut o, child);
            fill(&mut o, child, el.type_path.as_deref().unwrap_or(ty))?;
            (Value::Object(o), Value::Null)
        };
        let idx = match props.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                props.push((
                    name.to_owned(),
                    Prop {
                        is_array: el.is_array(),
                        ..Prop::default()
                    },
                ));
                props.len() - 1
            }
        };
        let prop = &mut props[idx].1;
        prop.values.push(value);
        prop.underscores.push(underscore);
    }
    for (name, p) in props {
        emit(obj, &name, p);
    }
    Ok(())
}

/// Serializes the narrative `div` (entities decoded, then `&` and `<` escaped, as a FHIR JSON
/// div string is usually written), so equal XHTML compares equal whatever its XML escaping.
fn xhtml(node: Node<'_, '_>, root: bool, out: &mut String) {
    if node.is_text() {
        out.push_str(
            &node
                .text()
                .unwrap_or("")
                .replace('&', "&amp;")
                .replace('<', "&lt;"),
        );
        return;
    }
    if !node.is_element() {
        return;
    }
    let name = node.tag_name().name();
    out.push('<');
    out.push_str(name);
    if root {
        out.push_str(" xmlns=\"http://www.w3.org/1999/xhtml\"");
    }
    for a in node.attributes() {
        let v = a
            .value()
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;");
        out.push_str(&format!(" {}=\"{v}\"", a.name()));
    }
    if node.has_children() {
        out.push('>');
        for c in node.children() {
            xhtml(c, false, out);
        }
        out.push_str(&format!("</{name}>"));
    } else {
        out.push_str("/>");
    }
}

/// `id` (element id) and `url` (extension) attributes.
fn attributes(o: &mut Map<String, Value>, node: Node<'_, '_>) {
    for a in ["id", "url"] {
        if let Some(v) = node.attribute(a) {
            o.insert(a.into(), Value::String(v.to_owned()));
        }
    }
}

/// A primitive: its JSON value (or `null`) and its `_name` object (or `null`).
fn primitive(node: Node<'_, '_>, ty: &str) -> Result<(Value, Value), String> {
    let value = match node.attribute("value") {
        None => Value::Null,
        Some(text) => match ty {
            "boolean" => Value::Bool(text == "true"),
            "integer" | "positiveInt" | "unsignedInt" | "decimal" | "integer64" => {
                serde_json::from_str(text).map_err(|e| format!("{ty} '{text}': {e}"))?
            }
            _ => Value::String(text.to_owned()),
        },
    };
    let mut extra = Map::new();
    attributes(&mut extra, node);
    fill(&mut extra, node, ty)?;
    let underscore = if extra.is_empty() {
        Value::Null
    } else {
        Value::Object(extra)
    };
    Ok((value, underscore))
}

/// Writes one property (and its `_name` twin when any item has one).
fn emit(obj: &mut Map<String, Value>, name: &str, p: Prop) {
    let has_values = p.values.iter().any(|v| !v.is_null());
    let has_underscores = p.underscores.iter().any(|v| !v.is_null());
    let pick = |items: Vec<Value>| {
        if p.is_array {
            Value::Array(items)
        } else {
            items.into_iter().next().unwrap_or(Value::Null)
        }
    };
    if has_values {
        obj.insert(name.to_owned(), pick(p.values));
    }
    if has_underscores {
        obj.insert(format!("_{name}"), pick(p.underscores));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_arrays_primitives_extensions_and_parameters() {
        let xml = r#"<Patient xmlns="http://hl7.org/fhir"><id value="x"/><active value="true"/>
            <name><given value="A"/><given value="B"/></name>
            <birthDate value="1974-12-25"><extension url="http://e"><valueInteger value="7"/></extension></birthDate>
            </Patient>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let v = resource(doc.root_element()).unwrap();
        assert_eq!(
            v,
            json!({"resourceType": "Patient", "id": "x", "active": true, "name": [{"given": ["A", "B"]}],
                "birthDate": "1974-12-25", "_birthDate": {"extension": [{"url": "http://e", "valueInteger": 7}]}})
        );
        let xml = r#"<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/>
            <div xmlns="http://www.w3.org/1999/xhtml"><b class="x">&quot;a&quot;</b> &amp; <br/></div></text></Patient>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let v = resource(doc.root_element()).unwrap();
        assert_eq!(
            v["text"]["div"],
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><b class="x">"a"</b> &amp; <br/></div>"#
        );
        let xml = r#"<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="operation"/>
            <part><name value="type"/><valueCode value="add"/></part></parameter></Parameters>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let v = resource(doc.root_element()).unwrap();
        assert_eq!(
            v,
            json!({"resourceType": "Parameters", "parameter": [{"name": "operation",
                "part": [{"name": "type", "valueCode": "add"}]}]})
        );
    }
}
