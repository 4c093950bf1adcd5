//! Precomputed lookup nodes: one per type and per backbone path, with the element list flattened
//! over base types and every JSON property name (choice elements expanded) resolved to its element,
//! type and the target the validator descends into.

use super::{ElementDef, TypeDef, TypeKind};
use crate::fxhash::FxHashMap;
use crate::primitives::Prim;

/// Index of a node in `Model::nodes`.
pub(crate) type NodeId = u32;

/// A type ("Patient", "HumanName") or backbone path ("Patient.contact") with its elements.
#[derive(Debug)]
pub(crate) struct Node {
    /// All elements including inherited ones, base first; a slot is a position in this list.
    pub(crate) all: Vec<u32>,
    /// Element name (no [x]) → slot.
    pub(crate) by_name: FxHashMap<Box<str>, u16>,
    /// JSON property name ("valueQuantity", "birthDate") → property.
    pub(crate) props: FxHashMap<Box<str>, Prop>,
    /// Slots of elements with min > 0.
    pub(crate) required: Vec<u16>,
}

/// A JSON property of a node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prop {
    pub(crate) slot: u16,
    pub(crate) elem: u32,
    /// Index into the element's `types`.
    pub(crate) ty: u8,
    pub(crate) target: Target,
}

/// What a property's value is validated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Primitive(Prim),
    Complex(NodeId),
    /// Any resource (`Resource`-typed: contained, Bundle.entry.resource, Parameters.parameter.resource).
    Resource,
    /// A type the model does not define (not expected in R4 data).
    Unknown,
}

/// Where a node comes from.
pub(crate) enum Origin {
    Type(u32),
    Element(u32),
}

/// Everything needed to build nodes.
pub(crate) struct NodeInput<'a> {
    pub(crate) types: &'a [TypeDef],
    pub(crate) type_by_name: &'a FxHashMap<Box<str>, u32>,
    pub(crate) elements: &'a [ElementDef],
    pub(crate) node_by_path: &'a FxHashMap<Box<str>, NodeId>,
}

/// Builds all nodes given their origins and own elements; returns the nodes and, per element, the
/// node of its children.
pub(crate) fn build_nodes(
    input: &NodeInput<'_>,
    origins: &[Origin],
    own: &[Vec<u32>],
) -> (Vec<Node>, Vec<Option<NodeId>>) {
    let NodeInput {
        types,
        type_by_name,
        elements,
        node_by_path,
    } = *input;
    let elem_node: Vec<Option<NodeId>> = elements
        .iter()
        .map(|e| match (&e.type_path, e.types.as_slice()) {
            (Some(tp), _) => node_by_path.get(tp.as_str()).copied(),
            (None, [t]) => node_by_path.get(t.code.as_str()).copied(),
            _ => None,
        })
        .collect();
    let bases: Vec<Option<NodeId>> = origins
        .iter()
        .map(|o| match o {
            Origin::Type(t) => types[*t as usize]
                .base
                .as_deref()
                .and_then(|b| node_by_path.get(b).copied()),
            Origin::Element(e) => elements[*e as usize]
                .types
                .first()
                .and_then(|t| node_by_path.get(t.code.as_str()).copied()),
        })
        .collect();
    let mut all: Vec<Option<Vec<u32>>> = vec![None; origins.len()];
    for n in 0..origins.len() {
        flatten(n, &bases, own, elements, &mut all, 0);
    }
    let target_of = |e: &ElementDef, ty: usize| -> Target {
        if let (Some(tp), false) = (&e.type_path, e.is_choice) {
            return node_by_path
                .get(tp.as_str())
                .map_or(Target::Unknown, |&n| Target::Complex(n));
        }
        let Some(code) = e.types.get(ty).map(|t| t.code.as_str()) else {
            return Target::Unknown;
        };
        if e.path == "Extension.url" {
            return Target::Primitive(Prim::Uri);
        }
        let kind = type_by_name.get(code).map(|&i| types[i as usize].kind);
        match (Prim::from_code(code), kind) {
            (Some(p), _)
                if code.starts_with("System.") || kind == Some(TypeKind::PrimitiveType) =>
            {
                Target::Primitive(p)
            }
            _ if code == "Resource" || kind == Some(TypeKind::Resource) => Target::Resource,
            _ => node_by_path
                .get(code)
                .map_or(Target::Unknown, |&n| Target::Complex(n)),
        }
    };
    let nodes = all
        .into_iter()
        .map(|all| {
            let all = all.unwrap_or_default();
            let mut by_name = FxHashMap::default();
            let mut props = FxHashMap::default();
            let mut required = Vec::new();
            for (slot, &ei) in all.iter().enumerate() {
                let e = &elements[ei as usize];
                let slot = slot as u16;
                by_name.insert(e.name.as_str().into(), slot);
                if e.min > 0 {
                    required.push(slot);
                }
                if e.is_choice {
                    for (ty, t) in e.types.iter().enumerate() {
                        let prop = Prop {
                            slot,
                            elem: ei,
                            ty: ty as u8,
                            target: target_of(e, ty),
                        };
                        props.insert(choice_name(&e.name, &t.code).into_boxed_str(), prop);
                    }
                } else {
                    props.insert(
                        e.name.as_str().into(),
                        Prop {
                            slot,
                            elem: ei,
                            ty: 0,
                            target: target_of(e, 0),
                        },
                    );
                }
            }
            Node {
                all,
                by_name,
                props,
                required,
            }
        })
        .collect();
    (nodes, elem_node)
}

/// Computes `all` for node `n` (memoised): the base's elements, overridden by name, then own ones.
fn flatten(
    n: usize,
    bases: &[Option<NodeId>],
    own: &[Vec<u32>],
    elements: &[ElementDef],
    all: &mut [Option<Vec<u32>>],
    depth: usize,
) {
    if all[n].is_some() {
        return;
    }
    let mut list = match bases[n] {
        Some(b) if depth < 32 && b as usize != n => {
            flatten(b as usize, bases, own, elements, all, depth + 1);
            all[b as usize].clone().unwrap_or_default()
        }
        _ => Vec::new(),
    };
    for &e in &own[n] {
        let name = &elements[e as usize].name;
        match list
            .iter()
            .position(|&x| &elements[x as usize].name == name)
        {
            Some(pos) => list[pos] = e,
            None => list.push(e),
        }
    }
    all[n] = Some(list);
}

/// The JSON name of a choice element for one type: "value" + "dateTime" → "valueDateTime".
pub(crate) fn choice_name(name: &str, code: &str) -> String {
    let mut s = String::with_capacity(name.len() + code.len());
    s.push_str(name);
    let mut chars = code.chars();
    if let Some(c) = chars.next() {
        s.extend(c.to_uppercase());
        s.push_str(chars.as_str());
    }
    s
}
