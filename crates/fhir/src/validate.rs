//! Structural validation of a FHIR R4 JSON resource against the [`Model`]: resourceType, unknown
//! elements, JSON types, arrays vs single values, empty values and nulls, cardinality, primitive
//! formats, `_x` primitive extensions, nested resources (contained, Bundle.entry.resource,
//! Parameters.parameter.resource), required code bindings and the extension value/extension rule.
//!
//! Invariants (FHIRPath constraints) are not checked here. All issues are collected, each with the
//! JSON path of the offending element ("Patient.name[0].given[1]", "Observation.valueQuantity.value").
//! The path is kept as a stack of borrowed segments and only turned into a string for an issue.

use crate::model::{Model, Prop, Target};
use crate::outcome::{Issue, IssueType, Severity};
use crate::primitives::{check_prim, Prim};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Validates `resource` (a JSON resource of any type) and returns every issue found.
pub fn validate_resource(model: &Model, resource: &Value) -> Vec<Issue> {
    let node = |name: &str| model.resolve_node(name);
    let mut v = Validator {
        model,
        path: Vec::with_capacity(16),
        issues: Vec::new(),
        seen: Vec::with_capacity(256),
        element_node: node("Element"),
        extension_node: node("Extension"),
        coding_node: node("Coding"),
        codeable_concept_node: node("CodeableConcept"),
    };
    v.resource(resource);
    v.issues
}

/// One step of a location.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

struct Validator<'a> {
    model: &'a Model,
    path: Vec<Seg<'a>>,
    issues: Vec<Issue>,
    /// Per slot of the objects being validated (a stack): 0 = absent, else choice type index + 1.
    seen: Vec<u8>,
    element_node: Option<u32>,
    extension_node: Option<u32>,
    coding_node: Option<u32>,
    codeable_concept_node: Option<u32>,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl<'a> Validator<'a> {
    fn location(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => {
                    let _ = write!(s, "[{i}]");
                }
            }
        }
        s
    }

    fn issue(&mut self, code: IssueType, diagnostics: String) {
        let loc = self.location();
        let expression = if loc.is_empty() {
            Vec::new()
        } else {
            vec![loc]
        };
        self.issues.push(Issue {
            severity: Severity::Error,
            code,
            diagnostics,
            expression,
        });
    }

    fn issue_at(&mut self, seg: Seg<'a>, code: IssueType, diagnostics: String) {
        self.path.push(seg);
        self.issue(code, diagnostics);
        self.path.pop();
    }

    /// A resource: checks `resourceType` and validates the object against the resource's type.
    fn resource(&mut self, v: &'a Value) {
        let Value::Object(obj) = v else {
            self.issue(
                IssueType::Structure,
                format!("a resource must be a JSON object, found {}", json_type(v)),
            );
            return;
        };
        let rt = match obj.get("resourceType") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                let msg = format!("resourceType must be a string, found {}", json_type(other));
                self.issue_at(Seg::Key("resourceType"), IssueType::Structure, msg);
                return;
            }
            None => {
                self.issue(IssueType::Required, "missing resourceType".to_string());
                return;
            }
        };
        let Some(node) = self.model.resource_node(rt) else {
            let msg = format!("unknown resource type '{rt}'");
            self.issue_at(Seg::Key("resourceType"), IssueType::Invalid, msg);
            return;
        };
        let root = self.path.is_empty();
        if root {
            self.path.push(Seg::Key(rt));
        }
        self.object(node, obj, true);
        if root {
            self.path.pop();
        }
    }

    /// An object of a complex type or backbone element (or a resource when `is_resource`).
    fn object(&mut self, node_id: u32, obj: &'a Map<String, Value>, is_resource: bool) {
        if obj.is_empty() {
            self.issue(
                IssueType::Structure,
                "empty object is not allowed".to_string(),
            );
            return;
        }
        let model = self.model;
        let node = model.node(node_id);
        let base = self.seen.len();
        self.seen.resize(base + node.all.len(), 0);
        for (key, val) in obj {
            if is_resource && key == "resourceType" {
                continue;
            }
            let (is_ext, name) = match key.strip_prefix('_') {
                Some(n) => (true, n),
                None => (false, key.as_str()),
            };
            let Some(prop) = node.props.get(name) else {
                self.issue_at(
                    Seg::Key(key),
                    IssueType::Structure,
                    format!("unknown element '{key}'"),
                );
                continue;
            };
            let slot = &mut self.seen[base + prop.slot as usize];
            let tag = prop.ty + 1;
            let duplicate_choice = *slot != 0 && *slot != tag;
            *slot = tag;
            self.path.push(Seg::Key(key));
            if duplicate_choice {
                let el = model.element_at(prop.elem);
                self.issue(
                    IssueType::Structure,
                    format!(
                        "choice element '{}[x]' is given with more than one type",
                        el.name
                    ),
                );
            } else if is_ext {
                self.primitive_extension(prop, val, obj, name);
            } else {
                self.property(prop, val, obj, key);
            }
            self.path.pop();
        }
        for &slot in &node.required {
            if self.seen[base + slot as usize] == 0 {
                let el = model.element_at(node.all[slot as usize]);
                let msg = format!("missing required element '{}' (min {})", el.name, el.min);
                self.issue_at(Seg::Key(&el.name), IssueType::Required, msg);
            }
        }
        self.seen.truncate(base);
    }

    /// The value of a (non-`_`) property, already pushed on the path.
    fn property(&mut self, prop: &Prop, val: &'a Value, obj: &'a Map<String, Value>, key: &str) {
        let el = self.model.element_at(prop.elem);
        if el.max == Some(0) {
            self.issue(
                IssueType::Structure,
                format!("element '{key}' is not allowed here (max 0)"),
            );
            return;
        }
        if !el.is_array() {
            match val {
                Value::Array(_) => self.issue(
                    IssueType::Structure,
                    format!("'{key}' must be a single value, not an array (max 1)"),
                ),
                _ => self.single(prop, val),
            }
            return;
        }
        let Value::Array(items) = val else {
            let msg = format!(
                "'{key}' must be an array (max {}), found {}",
                max_text(el.max),
                json_type(val)
            );
            self.issue(IssueType::Structure, msg);
            return;
        };
        if !self.array_size(items.len(), el.min, el.max) {
            return;
        }
        let mut companion: Option<Option<&'a Vec<Value>>> = None;
        for (i, item) in items.iter().enumerate() {
            self.path.push(Seg::Index(i));
            if item.is_null() {
                // A null is only allowed when the `_key` array carries the extension for this position.
                let c = *companion.get_or_insert_with(|| match obj.get(&format!("_{key}")) {
                    Some(Value::Array(a)) => Some(a),
                    _ => None,
                });
                let paired = matches!(prop.target, Target::Primitive(_))
                    && c.and_then(|a| a.get(i)).is_some_and(|x| !x.is_null());
                if !paired {
                    self.issue(
                        IssueType::Structure,
                        "null value is not allowed".to_string(),
                    );
                }
            } else {
                self.single(prop, item);
            }
            self.path.pop();
        }
    }

    /// Checks an array's size; false when it is empty (nothing more to check).
    fn array_size(&mut self, len: usize, min: u32, max: Option<u32>) -> bool {
        if len == 0 {
            self.issue(
                IssueType::Structure,
                "empty array is not allowed".to_string(),
            );
            return false;
        }
        if len < min as usize {
            self.issue(
                IssueType::Required,
                format!("{len} item(s), at least {min} required"),
            );
        }
        if let Some(m) = max {
            if len > m as usize {
                self.issue(
                    IssueType::Structure,
                    format!("{len} items, at most {m} allowed"),
                );
            }
        }
        true
    }

    /// One value (not an array) of a property.
    fn single(&mut self, prop: &Prop, v: &'a Value) {
        match prop.target {
            Target::Primitive(p) => self.primitive(p, prop.elem, v),
            Target::Complex(n) => {
                let Value::Object(obj) = v else {
                    let el = self.model.element_at(prop.elem);
                    let ty = el
                        .types
                        .get(prop.ty as usize)
                        .map_or("", |t| t.code.as_str());
                    self.issue(
                        IssueType::Structure,
                        format!("{ty} must be a JSON object, found {}", json_type(v)),
                    );
                    return;
                };
                self.object(n, obj, false);
                self.complex_rules(n, prop.elem, obj);
            }
            Target::Resource => self.resource(v),
            Target::Unknown => {}
        }
    }

    fn primitive(&mut self, p: Prim, elem: u32, v: &'a Value) {
        match v {
            Value::Null => {
                self.issue(
                    IssueType::Structure,
                    "null value is not allowed".to_string(),
                );
                return;
            }
            Value::String(s) if s.is_empty() => {
                self.issue(
                    IssueType::Structure,
                    "empty string is not allowed".to_string(),
                );
                return;
            }
            _ => {}
        }
        if let Err(msg) = check_prim(p, v) {
            let code = if matches!(v, Value::Array(_) | Value::Object(_))
                || json_type(v) != p.json_type()
            {
                IssueType::Structure
            } else {
                IssueType::Value
            };
            self.issue(code, msg);
            return;
        }
        if p == Prim::Code {
            if let (Some(vs), Value::String(s)) = (self.model.required_value_set(elem), v) {
                if !vs.contains(None, s) {
                    self.issue(
                        IssueType::CodeInvalid,
                        format!("code '{s}' is not in the required value set {}", vs.url),
                    );
                }
            }
        }
    }

    /// Rules tied to particular complex types: Extension value/extension, required Coding bindings.
    fn complex_rules(&mut self, node: u32, elem: u32, obj: &'a Map<String, Value>) {
        if Some(node) == self.extension_node {
            let has_value = obj
                .keys()
                .any(|k| k.starts_with("value") || k.starts_with("_value"));
            let has_ext = obj.contains_key("extension");
            if has_value == has_ext {
                let msg = if has_value {
                    "an extension must have either extensions or value[x], not both"
                } else {
                    "an extension must have either extensions or value[x]"
                };
                self.issue(IssueType::Invalid, msg.to_string());
            }
            return;
        }
        if Some(node) == self.coding_node {
            self.coding_binding(elem, obj);
        } else if Some(node) == self.codeable_concept_node {
            if let Some(Value::Array(codings)) = obj.get("coding") {
                self.path.push(Seg::Key("coding"));
                for (i, c) in codings.iter().enumerate() {
                    if let Value::Object(c) = c {
                        self.path.push(Seg::Index(i));
                        self.coding_binding(elem, c);
                        self.path.pop();
                    }
                }
                self.path.pop();
            }
        }
    }

    /// A Coding under a required binding: when its system is one of the value set's, its code must be in it.
    fn coding_binding(&mut self, elem: u32, coding: &Map<String, Value>) {
        let Some(vs) = self.model.required_value_set(elem) else {
            return;
        };
        if let (Some(Value::String(system)), Some(Value::String(code))) =
            (coding.get("system"), coding.get("code"))
        {
            if vs.has_system(system) && !vs.contains(Some(system), code) {
                let msg = format!(
                    "code '{code}' from {system} is not in the required value set {}",
                    vs.url
                );
                self.issue_at(Seg::Key("code"), IssueType::CodeInvalid, msg);
            }
        }
    }

    /// `_name`: the id/extensions of a primitive (an object, or an array aligned with `name`).
    fn primitive_extension(
        &mut self,
        prop: &Prop,
        val: &'a Value,
        obj: &'a Map<String, Value>,
        name: &str,
    ) {
        let el = self.model.element_at(prop.elem);
        if !matches!(prop.target, Target::Primitive(_)) {
            self.issue(
                IssueType::Structure,
                format!("unknown element '_{name}' ('{name}' is not a primitive)"),
            );
            return;
        }
        let Some(element_node) = self.element_node else {
            return;
        };
        if !el.is_array() {
            match val {
                Value::Object(o) => self.object(element_node, o, false),
                _ => self.issue(
                    IssueType::Structure,
                    format!("'_{name}' must be a JSON object, found {}", json_type(val)),
                ),
            }
            return;
        }
        let Value::Array(items) = val else {
            self.issue(
                IssueType::Structure,
                format!("'_{name}' must be an array, found {}", json_type(val)),
            );
            return;
        };
        let values = match obj.get(name) {
            Some(Value::Array(a)) => Some(a),
            _ => None,
        };
        if items.is_empty() {
            self.issue(
                IssueType::Structure,
                "empty array is not allowed".to_string(),
            );
            return;
        }
        if let Some(values) = values {
            if values.len() != items.len() {
                let msg = format!(
                    "'_{name}' has {} items but '{name}' has {}",
                    items.len(),
                    values.len()
                );
                self.issue(IssueType::Structure, msg);
            }
        }
        for (i, item) in items.iter().enumerate() {
            self.path.push(Seg::Index(i));
            match item {
                Value::Null => {
                    if values.and_then(|a| a.get(i)).is_none_or(Value::is_null) {
                        self.issue(
                            IssueType::Structure,
                            "null value is not allowed".to_string(),
                        );
                    }
                }
                Value::Object(o) => self.object(element_node, o, false),
                _ => self.issue(
                    IssueType::Structure,
                    format!("must be a JSON object, found {}", json_type(item)),
                ),
            }
            self.path.pop();
        }
    }
}

fn max_text(max: Option<u32>) -> String {
    max.map_or_else(|| "*".to_string(), |m| m.to_string())
}

#[cfg(test)]
mod tests;
