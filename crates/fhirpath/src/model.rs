//! The engine's view of the FHIR R4 model: every type and backbone path gets a small integer [`TypeId`] and
//! a hash map from element name to [`ElemInfo`] (types, choice suffixes, the `_name` key), built once from
//! `weave_fhir::r4()` on first use. Navigation then costs one hash lookup per step and no allocation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use weave_fhir::model::{Model, TypeKind};

/// A type or backbone element path in the index. `TypeId::UNKNOWN` marks JSON the model does not describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeId(pub(crate) u32);

impl TypeId {
    /// JSON whose type is not known (navigated by plain JSON keys).
    pub const UNKNOWN: TypeId = TypeId(u32::MAX);
}

/// How a FHIR primitive maps to a System type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prim {
    Boolean,
    Integer,
    Decimal,
    String,
    Date,
    DateTime,
    Time,
}

/// What kind of type an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Primitive(Prim),
    Complex,
    /// A backbone element (its `name` is `BackboneElement` or `Element`, its `path` the element path).
    Backbone,
    Resource,
    /// `Resource`, `DomainResource`: the concrete type comes from `resourceType`.
    AbstractResource,
}

/// One type or backbone path.
#[derive(Debug)]
pub(crate) struct TypeEntry {
    /// FHIR type name as `type().name` reports it: `HumanName`, `code`, `Patient`, `BackboneElement`.
    pub(crate) name: &'static str,
    /// Type name or backbone path, as the model's `element()` takes it.
    pub(crate) path: &'static str,
    pub(crate) kind: Kind,
    /// The base type (Age → Quantity, code → string, Patient → DomainResource, a backbone → BackboneElement).
    base: Option<TypeId>,
    elements: FxMap<&'static str, ElemInfo>,
    /// Indexes (into `elements` values) of choice elements, for reverse lookups from JSON keys.
    choices: Vec<&'static str>,
}

/// The types an element can have.
#[derive(Debug)]
pub(crate) enum ElemType {
    Single(TypeId),
    /// `value[x]`: JSON key suffix (`Quantity`), the full `_valueQuantity` key, and the type.
    Choice(Vec<ChoiceType>),
}

/// One alternative of a choice element.
#[derive(Debug)]
pub(crate) struct ChoiceType {
    pub(crate) suffix: String,
    pub(crate) ext_key: String,
    pub(crate) ty: TypeId,
}

/// One element of a type.
#[derive(Debug)]
pub(crate) struct ElemInfo {
    pub(crate) name: &'static str,
    pub(crate) ty: ElemType,
}

/// The index over the whole model.
#[derive(Debug)]
pub(crate) struct TypeIndex {
    pub(crate) model: &'static Model,
    types: Vec<TypeEntry>,
    by_path: FxMap<&'static str, TypeId>,
    /// `Element` (the type of a primitive's `_name` object).
    pub(crate) element_type: TypeId,
    /// `Extension`.
    pub(crate) extension_type: TypeId,
}

/// A fast non-cryptographic hasher for short keys (FxHash).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(buf))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

static INDEX: OnceLock<TypeIndex> = OnceLock::new();

/// The shared index (built on first call).
pub(crate) fn index() -> &'static TypeIndex {
    INDEX.get_or_init(|| TypeIndex::build(weave_fhir::r4()))
}

fn prim_of(code: &str) -> Option<Prim> {
    Some(match code {
        "boolean" => Prim::Boolean,
        "integer" | "positiveInt" | "unsignedInt" | "integer64" => Prim::Integer,
        "decimal" => Prim::Decimal,
        "date" => Prim::Date,
        "dateTime" | "instant" => Prim::DateTime,
        "time" => Prim::Time,
        "string" | "code" | "id" | "uri" | "url" | "canonical" | "oid" | "uuid" | "markdown"
        | "base64Binary" | "xhtml" => Prim::String,
        _ => return None,
    })
}

/// Upper-cases the first letter: the JSON suffix of a choice type (`dateTime` → `DateTime`).
fn suffix_of(code: &str) -> String {
    let mut c = code.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

impl TypeIndex {
    fn build(model: &'static Model) -> TypeIndex {
        let mut idx = TypeIndex {
            model,
            types: Vec::new(),
            by_path: FxMap::default(),
            element_type: TypeId::UNKNOWN,
            extension_type: TypeId::UNKNOWN,
        };
        for base in ["Resource", "DomainResource", "Element", "BackboneElement"] {
            idx.intern_named(base);
        }
        idx.element_type = idx.intern_named("Element");
        idx.extension_type = idx.intern_named("Extension");
        let resources: Vec<&'static str> = model.resource_types().collect();
        for r in resources {
            idx.intern_named(r);
        }
        // Fill element maps breadth-first; interning may append new types while we go.
        let mut i = 0;
        while i < idx.types.len() {
            idx.fill(i);
            idx.set_base(i);
            i += 1;
        }
        idx
    }

    /// Interns a named type (`HumanName`, `string`, `Patient`).
    fn intern_named(&mut self, name: &'static str) -> TypeId {
        if let Some(&id) = self.by_path.get(name) {
            return id;
        }
        let kind = match self.model.type_def(name).map(|t| (t.kind, t.is_abstract)) {
            Some((TypeKind::PrimitiveType, _)) => {
                Kind::Primitive(prim_of(name).unwrap_or(Prim::String))
            }
            Some((TypeKind::Resource, true)) => Kind::AbstractResource,
            Some((TypeKind::Resource, false)) => Kind::Resource,
            _ if name == "Resource" || name == "DomainResource" => Kind::AbstractResource,
            _ => prim_of(name).map_or(Kind::Complex, Kind::Primitive),
        };
        self.push(name, name, kind)
    }

    fn push(&mut self, name: &'static str, path: &'static str, kind: Kind) -> TypeId {
        let id = TypeId(u32::try_from(self.types.len()).unwrap_or(u32::MAX - 1));
        self.types.push(TypeEntry {
            name,
            path,
            kind,
            base: None,
            elements: FxMap::default(),
            choices: Vec::new(),
        });
        self.by_path.insert(path, id);
        id
    }

    fn set_base(&mut self, i: usize) {
        let entry = &self.types[i];
        let base = if entry.kind == Kind::Backbone {
            Some(entry.name)
        } else {
            self.model
                .type_def(entry.name)
                .and_then(|t| t.base.as_deref())
        };
        let base = base
            .filter(|b| *b != entry.path)
            .map(|b| self.intern_named(b));
        self.types[i].base = base;
    }

    fn intern_type_ref(
        &mut self,
        owner_is_resource: bool,
        el_name: &str,
        code: &'static str,
    ) -> TypeId {
        let code = match code {
            "http://hl7.org/fhirpath/System.String" | "System.String" => {
                if el_name == "id" && owner_is_resource {
                    "id"
                } else if el_name == "url" {
                    "uri"
                } else {
                    "string"
                }
            }
            c => c.rsplit('.').next().unwrap_or(c),
        };
        self.intern_named(code)
    }

    fn fill(&mut self, i: usize) {
        let entry = &self.types[i];
        if matches!(entry.kind, Kind::Primitive(_)) {
            return;
        }
        let path = entry.path;
        let owner_is_resource = matches!(entry.kind, Kind::Resource | Kind::AbstractResource);
        let model = self.model;
        let mut elements = FxMap::default();
        let mut choices = Vec::new();
        for el in model.children(path) {
            let name: &'static str = el.name.as_str();
            let ty = if let Some(tp) = el.type_path.as_deref() {
                let base = el
                    .types
                    .first()
                    .map_or("BackboneElement", |t| t.code.as_str());
                let id = match self.by_path.get(tp) {
                    Some(&id) => id,
                    None => self.push(
                        if base == "Element" {
                            "Element"
                        } else {
                            "BackboneElement"
                        },
                        tp,
                        Kind::Backbone,
                    ),
                };
                ElemType::Single(id)
            } else if el.is_choice {
                choices.push(name);
                let alts = el
                    .types
                    .iter()
                    .map(|t| {
                        let suffix = suffix_of(&t.code);
                        let ext_key = format!("_{name}{suffix}");
                        ChoiceType {
                            suffix,
                            ext_key,
                            ty: self.intern_type_ref(owner_is_resource, name, &t.code),
                        }
                    })
                    .collect();
                ElemType::Choice(alts)
            } else {
                let code = el.types.first().map_or("Element", |t| t.code.as_str());
                ElemType::Single(self.intern_type_ref(owner_is_resource, name, code))
            };
            elements.insert(name, ElemInfo { name, ty });
        }
        let entry = &mut self.types[i];
        entry.elements = elements;
        entry.choices = choices;
    }

    /// The entry of a type (`None` for [`TypeId::UNKNOWN`]).
    pub(crate) fn get(&self, id: TypeId) -> Option<&TypeEntry> {
        self.types.get(id.0 as usize)
    }

    /// A named type or backbone path.
    pub(crate) fn lookup(&self, path: &str) -> Option<TypeId> {
        self.by_path.get(path).copied()
    }

    /// The FHIR type name of an id (`type().name`), or `None` for unknown.
    pub(crate) fn name(&self, id: TypeId) -> Option<&'static str> {
        self.get(id).map(|t| t.name)
    }

    /// The element `name` of type `id`.
    pub(crate) fn element(&self, id: TypeId, name: &str) -> Option<&ElemInfo> {
        self.get(id)?.elements.get(name)
    }

    /// The element and concrete type for a JSON key (`valueQuantity` → value, Quantity), for walking all
    /// children of an object. `key` has no leading `_`.
    pub(crate) fn element_for_key(&self, id: TypeId, key: &str) -> Option<(&ElemInfo, TypeId)> {
        let t = self.get(id)?;
        if let Some(e) = t.elements.get(key) {
            if let ElemType::Single(ty) = e.ty {
                return Some((e, ty));
            }
        }
        for &c in &t.choices {
            if let Some(rest) = key.strip_prefix(c) {
                let e = t.elements.get(c)?;
                if let ElemType::Choice(alts) = &e.ty {
                    if let Some(alt) = alts.iter().find(|a| a.suffix == rest) {
                        return Some((e, alt.ty));
                    }
                }
            }
        }
        None
    }

    /// The primitive mapping of a type, if it is a FHIR primitive.
    pub(crate) fn prim(&self, id: TypeId) -> Option<Prim> {
        match self.get(id)?.kind {
            Kind::Primitive(p) => Some(p),
            _ => None,
        }
    }

    /// `sub` is `sup` or derives from it (Age ⊂ Quantity, code ⊂ string, Patient ⊂ Resource; a backbone
    /// element ⊂ BackboneElement ⊂ Element).
    pub(crate) fn is_subtype(&self, sub: TypeId, sup: TypeId) -> bool {
        let mut cur = Some(sub);
        let mut steps = 0;
        while let Some(t) = cur {
            if t == sup {
                return true;
            }
            steps += 1;
            if steps > 32 {
                return false;
            }
            cur = self.get(t).and_then(|e| e.base);
        }
        false
    }

    /// The type named by an object's `resourceType`.
    pub(crate) fn resource_type_of(&self, v: &serde_json::Value) -> Option<TypeId> {
        let rt = v.get("resourceType")?.as_str()?;
        self.lookup(rt)
    }
}
