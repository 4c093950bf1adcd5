//! FHIRPath Patch (FHIR R4, <http://hl7.org/fhir/R4/fhirpatch.html>): a `Parameters` resource whose
//! `operation` parameters add, insert, delete, replace or move content at FHIRPath locations.
//!
//! ```
//! use serde_json::json;
//! let mut patient = json!({"resourceType": "Patient", "birthDate": "1920-01-01"});
//! let patch = json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
//!     {"name": "type", "valueCode": "replace"},
//!     {"name": "path", "valueString": "Patient.birthDate"},
//!     {"name": "value", "valueDate": "1930-01-01"}]}]});
//! weave_fhirpath::patch::apply(&mut patient, &patch).unwrap();
//! assert_eq!(patient["birthDate"], "1930-01-01");
//! ```
//!
//! Semantics:
//! - Every path must select elements of the resource being patched (contained resources included) and,
//!   except for `delete`, at least one; `add` and `replace` need exactly one, `delete` at most one (none is
//!   not an error).
//! - `add` appends to a repeating element and sets a single one that has no value yet. On a primitive it adds
//!   the `id`/`extension` to its `_name` object.
//! - `insert` and `move` work on the JSON list holding the selected items; indexes count its items (0-based).
//!   `insert` into an empty list works when the path ends in a member name (`Patient.identifier`).
//! - `replace` and `delete` treat a primitive as a whole element: its `_name` (id, extensions) goes with it;
//!   a replacing value brings its own from `_value[x]`. Objects and lists left empty by a delete are removed.
//! - Values land as FHIR JSON: a `value[x]` keeps its JSON form (`valueInteger` a number, `valueDecimal` its
//!   exact text), complex values given as parts are built child by child against the R4 model, a choice
//!   element gets its typed name (`value` + `valueQuantity` → `valueQuantity`), and a repeating element a list.
//!   The type must fit the element: one of its types, a specialisation (`Age` for `Quantity`), or a primitive
//!   whose JSON is valid for the element's primitive type (`valueString` for a `code`, or for `Narrative.div`,
//!   which `value[x]` cannot carry as `xhtml`).
//! - Operations apply in order to a copy; on any error the resource is left unchanged.

mod build;
mod json;
mod parse;

use std::fmt;

use serde_json::Value;

use crate::value::NULL;
use crate::{EvalContext, Expression, Item};
use build::BuildError;
use json::{Loc, Place, Step};
use parse::Operation;

/// The five FHIRPath Patch operation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOp {
    /// Add a named child to the single selected element.
    Add,
    /// Insert into the selected list at an index.
    Insert,
    /// Delete the selected element, if any.
    Delete,
    /// Replace the selected element.
    Replace,
    /// Move an item within the selected list.
    Move,
}

impl PatchOp {
    /// The operation for a `type` code.
    pub fn from_code(code: &str) -> Option<PatchOp> {
        Some(match code {
            "add" => PatchOp::Add,
            "insert" => PatchOp::Insert,
            "delete" => PatchOp::Delete,
            "replace" => PatchOp::Replace,
            "move" => PatchOp::Move,
            _ => return None,
        })
    }

    /// The `type` code.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Insert => "insert",
            PatchOp::Delete => "delete",
            PatchOp::Replace => "replace",
            PatchOp::Move => "move",
        }
    }
}

impl fmt::Display for PatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a patch could not be applied. `index` is the operation's position in `Parameters.parameter`
/// (0-based, as in the FHIRPath `Parameters.parameter[index]` the messages print).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The patch is not a `Parameters` resource (or its `parameter` is not a list).
    #[error("not a FHIRPath Patch: {message}")]
    NotParameters { message: String },
    /// A parameter is not a well-formed operation (unknown type, missing or repeated part, bad part value).
    #[error("Parameters.parameter[{index}]: {message}")]
    Malformed { index: usize, message: String },
    /// The path does not compile.
    #[error(
        "Parameters.parameter[{index}] ({op}): the path '{path}' is not valid FHIRPath: {message}"
    )]
    InvalidPath {
        index: usize,
        op: PatchOp,
        path: String,
        message: String,
    },
    /// Evaluating the path failed.
    #[error("Parameters.parameter[{index}] ({op}): evaluating '{path}' failed: {message}")]
    Evaluation {
        index: usize,
        op: PatchOp,
        path: String,
        message: String,
    },
    /// The path selects nothing (for every operation but `delete`).
    #[error("Parameters.parameter[{index}] ({op}): no content found at '{path}'")]
    NoMatch {
        index: usize,
        op: PatchOp,
        path: String,
    },
    /// The path selects several elements where the operation needs one.
    #[error("Parameters.parameter[{index}] ({op}): '{path}' matches {count} elements; the operation needs exactly one")]
    MultipleMatches {
        index: usize,
        op: PatchOp,
        path: String,
        count: usize,
    },
    /// An `index`, `source` or `destination` outside the list.
    #[error("Parameters.parameter[{index}] ({op}): {part} {value} is out of range for the list at '{path}' ({len} items)")]
    IndexOutOfRange {
        index: usize,
        op: PatchOp,
        path: String,
        part: &'static str,
        value: usize,
        len: usize,
    },
    /// The value's type does not fit the element.
    #[error("Parameters.parameter[{index}] ({op} at '{path}'): wrong type: {message}")]
    TypeMismatch {
        index: usize,
        op: PatchOp,
        path: String,
        message: String,
    },
    /// The value is invalid (a bad primitive, an unknown or repeated child part).
    #[error("Parameters.parameter[{index}] ({op} at '{path}'): invalid value: {message}")]
    InvalidValue {
        index: usize,
        op: PatchOp,
        path: String,
        message: String,
    },
    /// The operation cannot be done there (not a list, already has a value, not an element, the resource
    /// itself, content outside the resource).
    #[error("Parameters.parameter[{index}] ({op} at '{path}'): {message}")]
    Unprocessable {
        index: usize,
        op: PatchOp,
        path: String,
        message: String,
    },
}

impl PatchError {
    /// True when the patch document itself is wrong whatever the resource (a client error, HTTP 400);
    /// otherwise the patch is well-formed but cannot be applied to this resource (HTTP 422).
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            PatchError::NotParameters { .. }
                | PatchError::Malformed { .. }
                | PatchError::InvalidPath { .. }
        )
    }

    /// The position of the failing operation in `Parameters.parameter`, if the error concerns one.
    pub fn operation_index(&self) -> Option<usize> {
        match self {
            PatchError::NotParameters { .. } => None,
            PatchError::Malformed { index, .. }
            | PatchError::InvalidPath { index, .. }
            | PatchError::Evaluation { index, .. }
            | PatchError::NoMatch { index, .. }
            | PatchError::MultipleMatches { index, .. }
            | PatchError::IndexOutOfRange { index, .. }
            | PatchError::TypeMismatch { index, .. }
            | PatchError::InvalidValue { index, .. }
            | PatchError::Unprocessable { index, .. } => Some(*index),
        }
    }
}

/// Applies a FHIRPath Patch (`Parameters`) to a resource. The whole patch is checked first; operations then
/// apply in order to a copy, which replaces `resource` only when all succeed.
pub fn apply(resource: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = parse::operations(patch)?;
    if ops.is_empty() {
        return Ok(());
    }
    let mut work = resource.clone();
    for op in &ops {
        op.apply(&mut work)?;
    }
    *resource = work;
    Ok(())
}

/// A list the operation works on: the object holding it, its key, and its current length.
struct List {
    parent: Vec<Step>,
    key: String,
    len: usize,
}

impl Operation<'_> {
    fn apply(&self, res: &mut Value) -> Result<(), PatchError> {
        match self.op {
            PatchOp::Add => self.add(res),
            PatchOp::Insert => self.insert(res),
            PatchOp::Delete => self.delete(res),
            PatchOp::Replace => self.replace(res),
            PatchOp::Move => self.move_item(res),
        }
    }

    fn fail(&self, message: impl Into<String>) -> PatchError {
        PatchError::Unprocessable {
            index: self.index,
            op: self.op,
            path: self.path.to_owned(),
            message: message.into(),
        }
    }

    fn build_error(&self, e: BuildError) -> PatchError {
        let (index, op, path) = (self.index, self.op, self.path.to_owned());
        match e {
            BuildError::Type(message) => PatchError::TypeMismatch {
                index,
                op,
                path,
                message,
            },
            BuildError::Content(message) => PatchError::InvalidValue {
                index,
                op,
                path,
                message,
            },
        }
    }

    fn no_match(&self) -> PatchError {
        PatchError::NoMatch {
            index: self.index,
            op: self.op,
            path: self.path.to_owned(),
        }
    }

    fn value(&self) -> Result<&parse::ValueSpec<'_>, PatchError> {
        self.value
            .as_ref()
            .ok_or_else(|| self.fail("the operation has no value"))
    }

    /// The places of everything the path selects (each once, in order).
    fn select(&self, res: &Value) -> Result<Vec<Place>, PatchError> {
        select(&self.expr, res).map_err(|e| match e {
            Selection::Eval(message) => PatchError::Evaluation {
                index: self.index,
                op: self.op,
                path: self.path.to_owned(),
                message,
            },
            Selection::Outside(message) => self.fail(message),
        })
    }

    /// The one place the path selects.
    fn single(&self, res: &Value) -> Result<Place, PatchError> {
        let mut places = self.select(res)?;
        match places.len() {
            0 => Err(self.no_match()),
            1 => places.pop().ok_or_else(|| self.no_match()),
            count => Err(PatchError::MultipleMatches {
                index: self.index,
                op: self.op,
                path: self.path.to_owned(),
                count,
            }),
        }
    }

    /// The model type of the object at `steps`.
    fn type_at(&self, res: &Value, steps: &[Step]) -> Result<&'static str, PatchError> {
        json::type_at(res, steps)
            .ok_or_else(|| self.fail("the FHIR model does not describe the content there"))
    }

    fn add(&self, res: &mut Value) -> Result<(), PatchError> {
        let place = self.single(res)?;
        // The object receiving the child: the element itself, or a primitive's `_name` object.
        let (steps, primitive) = match &place {
            Place::Root => (Vec::new(), None),
            Place::At(loc) => {
                let steps = json::steps_of(loc);
                match json::get(res, &steps) {
                    Some(Value::Object(_)) => (steps, None),
                    Some(Value::Array(_)) => {
                        return Err(self.fail("the path selects a list, not an element"))
                    }
                    _ => (Vec::new(), Some(loc)),
                }
            }
        };
        let holder_type = match primitive {
            Some(_) => "Element",
            None => self.type_at(res, &steps)?,
        };
        let (el, only) = build::element_named(holder_type, self.name).ok_or_else(|| {
            self.fail(match primitive {
                Some(_) => format!(
                    "only 'id' and 'extension' can be added to a primitive, not '{}'",
                    self.name
                ),
                None => format!("'{}' is not an element of {holder_type}", self.name),
            })
        })?;
        let built = build::build(self.value()?, el, only).map_err(|e| self.build_error(e))?;
        let holder = match primitive {
            None => json::object_mut(res, &steps),
            Some(loc) => json::object_mut(res, &loc.parent)
                .and_then(|obj| json::ext_holder(obj, &loc.key, loc.index)),
        }
        .ok_or_else(|| self.fail("the selected element cannot hold children"))?;
        build::place(holder, el, built).map_err(|()| {
            self.fail(format!(
                "'{}' does not repeat and already has a value (use replace)",
                self.name
            ))
        })
    }

    fn replace(&self, res: &mut Value) -> Result<(), PatchError> {
        let loc = self.element(res)?;
        let ty = self.type_at(res, &loc.parent)?;
        let (el, _) = weave_fhir::r4()
            .resolve_property(ty, &loc.key)
            .ok_or_else(|| self.fail(format!("'{}' is not an element of {ty}", loc.key)))?;
        let built = build::build(self.value()?, el, None).map_err(|e| self.build_error(e))?;
        let obj = json::object_mut(res, &loc.parent)
            .ok_or_else(|| self.fail("the element's parent is not an object"))?;
        match loc.index {
            Some(i) => json::replace_item(obj, &loc.key, i, built.value, built.ext),
            None => {
                if built.key != loc.key {
                    // A choice element changing type: `valueQuantity` → `valueString`.
                    json::remove_pair(obj, &loc.key, None);
                }
                json::set_single(obj, &built.key, built.value, built.ext);
            }
        }
        Ok(())
    }

    fn delete(&self, res: &mut Value) -> Result<(), PatchError> {
        let mut places = self.select(res)?;
        if places.len() > 1 {
            return Err(PatchError::MultipleMatches {
                index: self.index,
                op: self.op,
                path: self.path.to_owned(),
                count: places.len(),
            });
        }
        match places.pop() {
            None => Ok(()),
            Some(Place::Root) => Err(self.fail("the resource itself cannot be deleted")),
            Some(Place::At(loc)) if loc.key == "resourceType" => {
                Err(self.fail("resourceType cannot be patched"))
            }
            Some(Place::At(loc)) => {
                json::remove(res, &loc);
                Ok(())
            }
        }
    }

    fn insert(&self, res: &mut Value) -> Result<(), PatchError> {
        let list = self.list(res)?;
        let ty = self.type_at(res, &list.parent)?;
        let (el, only) = build::element_named(ty, &list.key)
            .ok_or_else(|| self.fail(format!("'{}' is not an element of {ty}", list.key)))?;
        if !el.is_array() {
            return Err(self.fail(format!("{} is not a list", el.path)));
        }
        let built = build::build(self.value()?, el, only).map_err(|e| self.build_error(e))?;
        if self.at > list.len {
            return Err(self.out_of_range("index", self.at, list.len));
        }
        let obj = json::object_mut(res, &list.parent)
            .ok_or_else(|| self.fail("the list's parent is not an object"))?;
        json::insert_item(obj, &built.key, self.at, built.value, built.ext);
        Ok(())
    }

    fn move_item(&self, res: &mut Value) -> Result<(), PatchError> {
        let list = self.list(res)?;
        if self.at >= list.len {
            return Err(self.out_of_range("source", self.at, list.len));
        }
        if self.to >= list.len {
            return Err(self.out_of_range("destination", self.to, list.len));
        }
        let obj = json::object_mut(res, &list.parent)
            .ok_or_else(|| self.fail("the list's parent is not an object"))?;
        json::move_item(obj, &list.key, self.at, self.to);
        Ok(())
    }

    fn out_of_range(&self, part: &'static str, value: usize, len: usize) -> PatchError {
        PatchError::IndexOutOfRange {
            index: self.index,
            op: self.op,
            path: self.path.to_owned(),
            part,
            value,
            len,
        }
    }

    /// The one element (not the resource) the path selects.
    fn element(&self, res: &Value) -> Result<Loc, PatchError> {
        match self.single(res)? {
            Place::Root => Err(self.fail(format!("the resource itself cannot be {}d", self.op))),
            Place::At(loc) => Ok(loc),
        }
    }

    /// The list the path designates: the JSON array holding every selected item. When the path selects
    /// nothing and ends in a member name (`Patient.identifier`), the (empty) list of that name on the single
    /// element before it.
    fn list(&self, res: &Value) -> Result<List, PatchError> {
        let places = self.select(res)?;
        let (parent, key) = match places.first() {
            Some(Place::At(Loc {
                parent,
                key,
                index: Some(_),
            })) => (parent.clone(), key.clone()),
            Some(Place::At(Loc { index: None, .. })) => {
                return Err(
                    self.fail("the path selects an element that does not repeat, not a list")
                )
            }
            Some(Place::Root) => return Err(self.fail("the path selects the resource, not a list")),
            None => self.empty_list(res)?,
        };
        let same = |p: &Place| matches!(p, Place::At(l) if l.index.is_some() && l.parent == parent && l.key == key);
        if !places.iter().all(same) {
            return Err(self.fail("the path selects items of more than one list"));
        }
        let len = json::get(res, &parent)
            .and_then(|o| o.get(key.as_str()))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        Ok(List { parent, key, len })
    }

    fn empty_list(&self, res: &Value) -> Result<(Vec<Step>, String), PatchError> {
        let crate::ast::ExprKind::Member(m) = &self.expr.root.kind else {
            return Err(self.no_match());
        };
        let place = match &m.base {
            None => Place::Root,
            Some(base) => {
                let base = Expression {
                    source: String::new(),
                    root: base.clone(),
                };
                let mut places = select(&base, res).map_err(|_| self.no_match())?;
                if places.len() != 1 {
                    return Err(self.no_match());
                }
                places.pop().ok_or_else(|| self.no_match())?
            }
        };
        let steps = match place {
            Place::Root => Vec::new(),
            Place::At(loc) => json::steps_of(&loc),
        };
        if !json::get(res, &steps).is_some_and(Value::is_object) {
            return Err(self.no_match());
        }
        Ok((steps, m.name.clone()))
    }
}

/// Why a selection failed.
enum Selection {
    /// The expression raised an error.
    Eval(String),
    /// A result is not an element of the resource.
    Outside(String),
}

/// Evaluates `expr` on `res` and locates every result in it (each element once, in result order).
fn select(expr: &Expression, res: &Value) -> Result<Vec<Place>, Selection> {
    let ctx = EvalContext {
        reference_stubs: false,
        ..EvalContext::default()
    };
    let out = expr
        .evaluate(res, &ctx)
        .map_err(|e| Selection::Eval(e.to_string()))?;
    let mut targets = Vec::with_capacity(out.len());
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    for item in &out {
        let Item::Node(n) = item else {
            return Err(Selection::Outside(format!(
                "the path selects a computed {} value, not an element of the resource",
                item.type_info().name
            )));
        };
        // A primitive that has only an extension is found by its `_name` object.
        let at = match (std::ptr::eq(n.json(), &NULL), n.primitive_extension()) {
            (false, _) => n.json(),
            (true, Some(ext)) => ext,
            (true, None) => {
                return Err(Selection::Outside(
                    "the path selects content outside the resource".into(),
                ))
            }
        };
        let at = std::ptr::from_ref(at);
        if seen.insert(at as usize) {
            targets.push(at);
        }
    }
    json::locate(res, &targets)
        .into_iter()
        .map(|found| {
            found.ok_or_else(|| {
                Selection::Outside(
                    "the path selects content outside the resource being patched".into(),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
