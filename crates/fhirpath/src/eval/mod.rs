//! The tree-walking evaluator. Items borrow from the input JSON and the compiled expression; a scope carries
//! `$this`, `$index` and `$total` as borrowed slices, so a `where()` over a collection allocates nothing per item.

mod convert;
mod fhir;
mod funcs;
mod math;
pub(crate) mod ops;
mod strings;

use std::cell::Cell;

use serde_json::Value;
use smallvec::smallvec;

use crate::ast::{Expr, ExprKind, Lit, Member, SysType, TypeSpec};
use crate::datetime::Temporal;
use crate::error::{EvalError, Pos};
use crate::model::{index, ElemType, Kind, TypeId, TypeIndex};
use crate::value::{Collection, Item, Node, Quantity, Text, TypeInfo, NULL};
use crate::EvalContext;

pub(crate) use strings::compile_regex;

/// What `$this`, `$index` and `$total` mean at a point of the evaluation.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'s, 'a> {
    pub(crate) this: &'s [Item<'a>],
    pub(crate) index: Option<usize>,
    pub(crate) total: Option<&'s [Item<'a>]>,
}

/// One evaluation: the context and lazily computed values shared by all nodes.
pub(crate) struct Evaluator<'c, 'a> {
    pub(crate) ctx: &'c EvalContext<'a>,
    pub(crate) idx: &'static TypeIndex,
    /// `%resource` (and the default `%context`, `%rootResource`).
    pub(crate) resource: Item<'a>,
    pub(crate) now: Cell<Option<Temporal>>,
}

pub(crate) type EvalResult<'a> = Result<Collection<'a>, EvalError>;

pub(crate) fn err<T>(pos: Pos, msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError::new(pos, msg))
}

impl<'c, 'a> Evaluator<'c, 'a> {
    pub(crate) fn new(ctx: &'c EvalContext<'a>, resource: &'a Value) -> Self {
        Evaluator {
            ctx,
            idx: index(),
            resource: Item::Node(Node::resource(resource)),
            now: Cell::new(None),
        }
    }

    pub(crate) fn now(&self) -> Temporal {
        if let Some(t) = self.now.get() {
            return t;
        }
        let t = self.ctx.now.unwrap_or_else(crate::datetime::now_utc);
        self.now.set(Some(t));
        t
    }

    pub(crate) fn eval(&self, e: &'a Expr, sc: Scope<'_, 'a>) -> EvalResult<'a> {
        match &e.kind {
            ExprKind::Empty => Ok(Collection::new()),
            ExprKind::Lit(lit) => literal(lit, e.pos).map(|i| smallvec![i]),
            ExprKind::Const(name) => self.constant(name, e.pos),
            ExprKind::This => Ok(sc.this.iter().cloned().collect()),
            ExprKind::Index => Ok(sc
                .index
                .map(|i| smallvec![Item::Integer(i as i64)])
                .unwrap_or_default()),
            ExprKind::Total => Ok(sc
                .total
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default()),
            ExprKind::Member(m) => {
                let mut out = Collection::new();
                match &m.base {
                    Some(b) => {
                        let input = self.eval(b, sc)?;
                        self.navigate(&input, m, false, &mut out);
                    }
                    None => self.navigate(sc.this, m, true, &mut out),
                }
                Ok(out)
            }
            ExprKind::Call(c) => self.call(c, e.pos, sc),
            ExprKind::Indexer(base, ix) => {
                let input = self.eval(base, sc)?;
                let ix = self.eval(ix, sc)?;
                let Some(i) = self.integer_arg(&ix, ix_pos(e))? else {
                    return Ok(Collection::new());
                };
                Ok(usize::try_from(i)
                    .ok()
                    .and_then(|i| input.into_iter().nth(i))
                    .into_iter()
                    .collect())
            }
            ExprKind::Neg(operand) => {
                let v = self.eval(operand, sc)?;
                ops::negate(&v, e.pos)
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, e.pos, sc),
            ExprKind::Is(operand, spec) => {
                let v = self.eval(operand, sc)?;
                match single(&v, e.pos, "is")? {
                    None => Ok(Collection::new()),
                    Some(item) => Ok(smallvec![Item::Boolean(
                        self.is_type(item, spec, false, e.pos)?
                    )]),
                }
            }
            ExprKind::As(operand, spec) => {
                let v = self.eval(operand, sc)?;
                self.cast(&v, spec, e.pos)
            }
        }
    }

    fn constant(&self, name: &str, pos: Pos) -> EvalResult<'a> {
        let s = |v: &'static str| Ok(smallvec![Item::String(Text::Borrowed(v))]);
        match name {
            "ucum" => return s("http://unitsofmeasure.org"),
            "sct" => return s("http://snomed.info/sct"),
            "loinc" => return s("http://loinc.org"),
            "resource" => {
                return Ok(smallvec![self.ctx.resource.map_or_else(
                    || self.resource.clone(),
                    |r| Item::Node(Node::resource(r))
                )])
            }
            "rootResource" => {
                let root = self.ctx.root_resource.or(self.ctx.resource);
                return Ok(smallvec![root.map_or_else(
                    || self.resource.clone(),
                    |r| Item::Node(Node::resource(r))
                )]);
            }
            "context" => {
                return Ok(match &self.ctx.context {
                    Some(c) => c.iter().cloned().collect(),
                    None => smallvec![self.resource.clone()],
                })
            }
            _ => {}
        }
        if let Some(v) = self.ctx.variables.iter().find(|(n, _)| n == name) {
            return Ok(v.1.iter().cloned().collect());
        }
        if let Some(vs) = name.strip_prefix("vs-") {
            return Ok(smallvec![Item::string(format!(
                "http://hl7.org/fhir/ValueSet/{vs}"
            ))]);
        }
        if let Some(ext) = name.strip_prefix("ext-") {
            return Ok(smallvec![Item::string(format!(
                "http://hl7.org/fhir/StructureDefinition/{ext}"
            ))]);
        }
        err(pos, format!("unknown external constant '%{name}'"))
    }

    /// Member access on every item of `input`, appending to `out`. At the start of a path a type name
    /// (`Patient.name`) selects items of that type.
    pub(crate) fn navigate(
        &self,
        input: &[Item<'a>],
        m: &'a Member,
        path_start: bool,
        out: &mut Collection<'a>,
    ) {
        for item in input {
            match item {
                Item::Node(n) => {
                    if path_start
                        && n.ty == TypeId::UNKNOWN
                        && m.name.starts_with(|c: char| c.is_ascii_uppercase())
                    {
                        // Untyped JSON (a resource type the model does not know): `resourceType` decides.
                        if n.value.get("resourceType").and_then(Value::as_str)
                            == Some(m.name.as_str())
                        {
                            out.push(item.clone());
                            continue;
                        }
                    }
                    if path_start {
                        if let Some(tid) = m.type_filter {
                            if n.ty == TypeId::UNKNOWN {
                                if n.value.get("resourceType").and_then(Value::as_str)
                                    == Some(m.name.as_str())
                                {
                                    out.push(item.clone());
                                }
                            } else if self.idx.is_subtype(n.ty, tid) {
                                out.push(item.clone());
                            }
                            continue;
                        }
                    }
                    self.member(n, m, out);
                }
                Item::Quantity(q) => match m.name.as_str() {
                    "value" => out.push(Item::Decimal(q.value)),
                    "unit" => out.push(Item::String(q.unit.clone())),
                    _ => {}
                },
                Item::TypeInfo(t) => match m.name.as_str() {
                    "name" => out.push(Item::String(Text::Borrowed(t.name))),
                    "namespace" => out.push(Item::String(Text::Borrowed(t.namespace))),
                    _ => {}
                },
                _ => {}
            }
        }
    }

    fn member(&self, n: &Node<'a>, m: &'a Member, out: &mut Collection<'a>) {
        let obj = match n.value {
            Value::Object(o) => o,
            _ => {
                // A primitive's `id` and `extension` live in its `_name` sibling.
                if let Some(ext @ Value::Object(_)) = n.ext {
                    if m.name == "extension" || m.name == "id" {
                        self.member(
                            &Node {
                                value: ext,
                                ext: None,
                                ty: self.idx.element_type,
                            },
                            m,
                            out,
                        );
                    }
                }
                return;
            }
        };
        if n.ty == TypeId::UNKNOWN {
            let (v, ext) = get_pair(obj, &m.name, &m.ext_key, true);
            push_values(self.idx, v, ext, TypeId::UNKNOWN, out);
            return;
        }
        let Some(el) = self.idx.element(n.ty, &m.name) else {
            self.member_fallback(obj, n.ty, m, out);
            return;
        };
        match &el.ty {
            ElemType::Single(ty) => {
                // Only primitives have `_name` siblings.
                let (v, ext) = get_pair(obj, &m.name, &m.ext_key, self.idx.prim(*ty).is_some());
                push_values(self.idx, v, ext, *ty, out);
            }
            ElemType::Choice(alts) => {
                for (key, v) in obj {
                    let (ext_only, base) = match key.strip_prefix('_') {
                        Some(b) => (true, b),
                        None => (false, key.as_str()),
                    };
                    let Some(suffix) = base.strip_prefix(m.name.as_str()) else {
                        continue;
                    };
                    let Some(alt) = alts.iter().find(|a| a.suffix == suffix) else {
                        continue;
                    };
                    if !ext_only {
                        let is_prim = self.idx.prim(alt.ty).is_some();
                        let ext = if is_prim {
                            obj.get(alt.ext_key.as_str())
                        } else {
                            None
                        };
                        push_values(self.idx, Some(v), ext, alt.ty, out);
                    } else if !obj.contains_key(base) {
                        // A choice primitive that has only an extension (`_valueString` without `valueString`).
                        push_values(self.idx, None, Some(v), alt.ty, out);
                    }
                }
            }
        }
    }

    /// Names that are not elements: `resourceType` (the JSON property), and a choice element written with its
    /// type suffix (`valueQuantity`), which strict compilation rejects but evaluation tolerates.
    #[cold]
    fn member_fallback(
        &self,
        obj: &'a serde_json::Map<String, Value>,
        ty: TypeId,
        m: &'a Member,
        out: &mut Collection<'a>,
    ) {
        if m.name == "resourceType" {
            if let Some(v) = obj.get("resourceType") {
                out.push(Item::Node(Node {
                    value: v,
                    ext: None,
                    ty: TypeId::UNKNOWN,
                }));
            }
            return;
        }
        if let Some((_, alt)) = self.idx.element_for_key(ty, &m.name) {
            push_values(
                self.idx,
                obj.get(m.name.as_str()),
                obj.get(m.ext_key.as_str()),
                alt,
                out,
            );
        }
    }

    /// Whether `item` is of the type `spec`. `cast` (for `as`/`ofType`) requires the exact type for FHIR
    /// primitives (`code` is not cast to `string`), while `is` follows the type hierarchy.
    pub(crate) fn is_type(
        &self,
        item: &Item<'a>,
        spec: &TypeSpec,
        cast: bool,
        pos: Pos,
    ) -> Result<bool, EvalError> {
        let sys_match = |st: SysType| match item {
            Item::Node(n) if n.ty == TypeId::UNKNOWN => item.type_info().name == st.name(),
            Item::Node(_) => false,
            other => other.type_info().name == st.name(),
        };
        let fhir_match = |tid: TypeId| match item {
            Item::Node(n) if n.ty != TypeId::UNKNOWN => {
                let prim = matches!(self.idx.get(tid).map(|t| t.kind), Some(Kind::Primitive(_)));
                if cast && prim {
                    n.ty == tid
                } else {
                    self.idx.is_subtype(n.ty, tid)
                }
            }
            Item::Node(n) => n
                .value
                .get("resourceType")
                .and_then(Value::as_str)
                .is_some_and(|rt| Some(rt) == self.idx.name(tid)),
            _ => false,
        };
        match spec {
            TypeSpec::System(st) => Ok(sys_match(*st)),
            TypeSpec::Fhir(tid) => Ok(fhir_match(*tid)),
            TypeSpec::Both(st, tid) => Ok(sys_match(*st) || fhir_match(*tid)),
            TypeSpec::Never => Ok(false),
            TypeSpec::Unknown(name) => err(pos, format!("unknown type '{name}'")),
        }
    }

    /// `as`: the single item if it has the type, else empty; several items are an error unless the context
    /// asks for lenient casts (then it filters like `ofType`).
    pub(crate) fn cast(&self, v: &[Item<'a>], spec: &TypeSpec, pos: Pos) -> EvalResult<'a> {
        if v.len() > 1 && !self.ctx.lenient_as {
            return err(pos, format!("as expects a single item, got {}", v.len()));
        }
        let mut out = Collection::new();
        for item in v {
            if self.is_type(item, spec, true, pos)? {
                out.push(item.clone());
            }
        }
        Ok(out)
    }

    /// A single integer argument (`skip(n)`, indexer): empty → `None`; not an integer → error.
    pub(crate) fn integer_arg(&self, v: &[Item<'a>], pos: Pos) -> Result<Option<i64>, EvalError> {
        match single_value(v, pos, "argument")?.map(Item::to_system) {
            None => Ok(None),
            Some(Item::Integer(i)) => Ok(Some(i)),
            Some(other) => err(
                pos,
                format!("expected an integer, got {}", other.type_info().name),
            ),
        }
    }

    /// Evaluates `e` once per input item with that item as `$this` (and its `$index`).
    pub(crate) fn eval_on(
        &self,
        e: &'a Expr,
        item: &Item<'a>,
        i: usize,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        self.eval(
            e,
            Scope {
                this: std::slice::from_ref(item),
                index: Some(i),
                total: sc.total,
            },
        )
    }

    /// The children of a node (every element, flattened), typed from the model.
    pub(crate) fn children(&self, n: &Node<'a>, out: &mut Collection<'a>) {
        if let Some(ext) = n.ext {
            // A primitive's `id` and `extension`.
            self.children(
                &Node {
                    value: ext,
                    ext: None,
                    ty: self.idx.element_type,
                },
                out,
            );
        }
        let Value::Object(obj) = n.value else { return };
        for (key, v) in obj {
            if key == "resourceType" {
                continue;
            }
            if let Some(base) = key.strip_prefix('_') {
                if !obj.contains_key(base) {
                    let ty = self.key_type(n.ty, base);
                    push_values(self.idx, None, Some(v), ty, out);
                }
                continue;
            }
            let ty = self.key_type(n.ty, key);
            let ext = obj.get(format!("_{key}").as_str());
            push_values(self.idx, Some(v), ext, ty, out);
        }
    }

    fn key_type(&self, owner: TypeId, key: &str) -> TypeId {
        if owner == TypeId::UNKNOWN {
            return TypeId::UNKNOWN;
        }
        self.idx
            .element_for_key(owner, key)
            .map_or(TypeId::UNKNOWN, |(_, t)| t)
    }
}

/// A property and (when wanted) its `_name` sibling. Small objects are scanned, which beats hashing the key.
#[inline]
fn get_pair<'v>(
    obj: &'v serde_json::Map<String, Value>,
    name: &str,
    ext_key: &str,
    want_ext: bool,
) -> (Option<&'v Value>, Option<&'v Value>) {
    if obj.len() > 16 {
        return (
            obj.get(name),
            if want_ext { obj.get(ext_key) } else { None },
        );
    }
    let (mut v, mut e) = (None, None);
    for (k, val) in obj {
        if k.len() == name.len() && k == name {
            v = Some(val);
            if !want_ext {
                break;
            }
        } else if want_ext && k.len() == ext_key.len() && k == ext_key {
            e = Some(val);
        }
    }
    (v, e)
}

fn ix_pos(e: &Expr) -> Pos {
    match &e.kind {
        ExprKind::Indexer(_, ix) => ix.pos,
        _ => e.pos,
    }
}

/// Appends the node(s) for one JSON property and its `_name` sibling: arrays are flattened and matched index
/// by index with their extension arrays; a JSON `null` with no extension is skipped.
pub(crate) fn push_values<'a>(
    idx: &TypeIndex,
    v: Option<&'a Value>,
    ext: Option<&'a Value>,
    ty: TypeId,
    out: &mut Collection<'a>,
) {
    let ext_at = |i: usize| match ext {
        Some(Value::Array(a)) => a.get(i).filter(|e| !e.is_null()),
        _ => None,
    };
    match (v, ext) {
        (Some(Value::Array(items)), _) => {
            for (i, item) in items.iter().enumerate() {
                let e = ext_at(i);
                if item.is_null() && e.is_none() {
                    continue;
                }
                out.push(Item::Node(Node {
                    value: item,
                    ext: e,
                    ty: concrete(idx, ty, item),
                }));
            }
            if let Some(Value::Array(exts)) = ext {
                for e in exts.iter().skip(items.len()).filter(|e| !e.is_null()) {
                    out.push(Item::Node(Node {
                        value: &NULL,
                        ext: Some(e),
                        ty,
                    }));
                }
            }
        }
        (Some(Value::Null) | None, Some(Value::Array(exts))) => {
            for e in exts.iter().filter(|e| !e.is_null()) {
                out.push(Item::Node(Node {
                    value: &NULL,
                    ext: Some(e),
                    ty,
                }));
            }
        }
        (Some(Value::Null) | None, Some(e @ Value::Object(_))) => {
            out.push(Item::Node(Node {
                value: &NULL,
                ext: Some(e),
                ty,
            }));
        }
        (Some(Value::Null) | None, _) => {}
        (Some(item), e) => {
            let e = e.filter(|e| e.is_object());
            out.push(Item::Node(Node {
                value: item,
                ext: e,
                ty: concrete(idx, ty, item),
            }));
        }
    }
}

#[inline]
fn concrete(idx: &TypeIndex, ty: TypeId, v: &Value) -> TypeId {
    if ty == TypeId::UNKNOWN {
        return ty;
    }
    match idx.get(ty).map(|t| t.kind) {
        Some(Kind::AbstractResource) => idx.resource_type_of(v).unwrap_or(ty),
        _ => ty,
    }
}

/// The only item of a collection: `None` if empty, an error if there are several.
pub(crate) fn single<'v, 'a>(
    v: &'v [Item<'a>],
    pos: Pos,
    what: &str,
) -> Result<Option<&'v Item<'a>>, EvalError> {
    match v {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => err(
            pos,
            format!("{what} expects a single item, got {}", v.len()),
        ),
    }
}

/// Like [`single`], for contexts that need a value: a primitive node that has only an extension (no value)
/// counts as empty.
pub(crate) fn single_value<'v, 'a>(
    v: &'v [Item<'a>],
    pos: Pos,
    what: &str,
) -> Result<Option<&'v Item<'a>>, EvalError> {
    Ok(single(v, pos, what)?.filter(|i| !matches!(i, Item::Node(n) if n.value.is_null())))
}

/// FHIRPath's singleton-to-Boolean rule: empty → `None`, one Boolean → it, one other item → `true`, several →
/// error.
pub(crate) fn to_bool(v: &[Item<'_>], pos: Pos) -> Result<Option<bool>, EvalError> {
    match single_value(v, pos, "a boolean context")? {
        None => Ok(None),
        Some(item) => match item.to_system() {
            Item::Boolean(b) => Ok(Some(b)),
            _ => Ok(Some(true)),
        },
    }
}

fn literal<'a>(lit: &'a Lit, pos: Pos) -> Result<Item<'a>, EvalError> {
    Ok(match lit {
        Lit::Boolean(b) => Item::Boolean(*b),
        Lit::Integer(i) => Item::Integer(*i),
        Lit::Decimal(d) => Item::Decimal(*d),
        Lit::String(s) => Item::String(Text::Borrowed(s)),
        Lit::Date(t) => Item::Date(*t),
        Lit::DateTime(t) => Item::DateTime(*t),
        Lit::Time(t) => Item::Time(*t),
        Lit::Quantity(v, u) => Item::Quantity(Quantity {
            value: *v,
            unit: Text::Borrowed(u),
        }),
        Lit::Invalid(msg) => return err(pos, msg.clone()),
    })
}

/// `type()` of an item as a collection.
pub(crate) fn type_of<'a>(item: &Item<'a>) -> Item<'a> {
    let t: TypeInfo = item.type_info();
    Item::TypeInfo(t)
}
