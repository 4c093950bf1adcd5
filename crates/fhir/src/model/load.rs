//! Reads the embedded tab-separated model data (`crates/fhir/data/*.tsv`, written by
//! `weave-fhir-gen`; format in `data/README.md`) and assembles a [`Model`].

use super::index::{build_nodes, NodeId, NodeInput, Origin};
use super::{
    Binding, BindingStrength, CodeHierarchy, ElementDef, Model, ModelError, SearchParamComponent, SearchParamDef,
    SearchParamType, TypeDef, TypeKind, TypeRef, ValueSetCode, ValueSetDef,
};
use crate::fxhash::FxHashMap;

const TYPES: &str = include_str!("../../data/types.tsv");
const VALUE_SETS: &str = include_str!("../../data/valuesets.tsv");
const SEARCH: &str = include_str!("../../data/search.tsv");
const COMPARTMENT: &str = include_str!("../../data/compartment-patient.tsv");
const HIERARCHIES: &str = include_str!("../../data/hierarchies.tsv");

const SD_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/";
const VS_PREFIX: &str = "http://hl7.org/fhir/ValueSet/";
const SP_PREFIX: &str = "http://hl7.org/fhir/SearchParameter/";

/// Restores a prefix the generator removed (stored text without `:`).
/// The R4 value set of resource type names.
const RESOURCE_TYPES_VS: &str = "http://hl7.org/fhir/ValueSet/resource-types";

fn expand(prefix: &str, s: &str) -> String {
    if s.contains(':') {
        s.to_string()
    } else {
        format!("{prefix}{s}")
    }
}

/// Data lines of a file: (line number, fields), skipping comments and blank lines.
fn lines(text: &'static str) -> impl Iterator<Item = (usize, Vec<&'static str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

fn err(file: &'static str, line: usize, message: impl Into<String>) -> ModelError {
    ModelError::Data {
        file,
        line,
        message: message.into(),
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(str::to_string).collect()
    }
}

impl Model {
    /// Parses the data embedded in the crate into a new model. Use [`super::r4`] for the shared,
    /// once-loaded instance; this is for measuring load time and for tests.
    pub fn load_embedded() -> Result<Model, ModelError> {
        let (types, elements) = parse_types()?;
        let value_sets = parse_value_sets()?;
        let search_all = parse_search()?;
        let compartment = parse_compartment()?;
        let hierarchies = parse_hierarchies(HIERARCHIES)?;
        let mut model = assemble(types, elements, value_sets, search_all, compartment);
        model.hierarchy_by_url = hierarchies
            .iter()
            .enumerate()
            .map(|(i, h)| (h.url(), i as u32))
            .collect();
        model.hierarchies = hierarchies;
        Ok(model)
    }
}

fn parse_types() -> Result<(Vec<TypeDef>, Vec<ElementDef>), ModelError> {
    const F: &str = "types.tsv";
    let mut types = Vec::new();
    let mut elements = Vec::new();
    for (n, f) in lines(TYPES) {
        match f.as_slice() {
            ["T", name, kind, base, is_abstract, regex] => types.push(TypeDef {
                name: (*name).to_string(),
                kind: match *kind {
                    "p" => TypeKind::PrimitiveType,
                    "c" => TypeKind::ComplexType,
                    "r" => TypeKind::Resource,
                    _ => TypeKind::Logical,
                },
                base: opt(base),
                is_abstract: *is_abstract == "1",
                regex: opt(regex),
            }),
            ["E", path, min, max, types_field, flags, content_ref, binding] => {
                elements.push(
                    parse_element(path, min, max, types_field, flags, content_ref, binding)
                        .map_err(|m| err(F, n, m))?,
                );
            }
            _ => return Err(err(F, n, "unexpected line")),
        }
    }
    Ok((types, elements))
}

fn parse_element(
    path: &str,
    min: &str,
    max: &str,
    types_field: &str,
    flags: &str,
    content_ref: &str,
    binding: &str,
) -> Result<ElementDef, String> {
    let last = path.rsplit('.').next().unwrap_or(path);
    let is_choice = last.ends_with("[x]");
    let types = types_field
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once('(') {
            Some((code, rest)) => TypeRef {
                code: code.to_string(),
                target_profiles: rest
                    .trim_end_matches(')')
                    .split(',')
                    .map(|p| expand(SD_PREFIX, p))
                    .collect(),
            },
            None => TypeRef {
                code: t.to_string(),
                target_profiles: Vec::new(),
            },
        })
        .collect();
    let binding = match binding.split_at_checked(1) {
        Some(("R", url)) => Some(Binding {
            strength: BindingStrength::Required,
            value_set: expand(VS_PREFIX, url),
        }),
        Some(("E", url)) => Some(Binding {
            strength: BindingStrength::Extensible,
            value_set: expand(VS_PREFIX, url),
        }),
        _ => None,
    };
    let type_path = if !content_ref.is_empty() {
        Some(content_ref.to_string())
    } else if flags.contains('B') {
        Some(path.to_string())
    } else {
        None
    };
    Ok(ElementDef {
        path: path.to_string(),
        name: last.trim_end_matches("[x]").to_string(),
        min: min.parse().map_err(|_| format!("bad min '{min}'"))?,
        max: if max == "*" {
            None
        } else {
            Some(max.parse().map_err(|_| format!("bad max '{max}'"))?)
        },
        types,
        is_choice,
        type_path,
        binding,
        is_summary: flags.contains('S'),
        is_modifier: flags.contains('M'),
    })
}

fn parse_value_sets() -> Result<Vec<ValueSetDef>, ModelError> {
    const F: &str = "valuesets.tsv";
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<ValueSetCode>)> = None;
    let mut system = "";
    for (n, f) in lines(VALUE_SETS) {
        match f.as_slice() {
            ["V", url] => {
                if let Some((u, codes)) = current.take() {
                    out.push(ValueSetDef::new(u, codes));
                }
                current = Some(((*url).to_string(), Vec::new()));
            }
            ["S", s] => system = s,
            ["C", code, display] => {
                let (_, codes) = current
                    .as_mut()
                    .ok_or_else(|| err(F, n, "code before value set"))?;
                codes.push(ValueSetCode {
                    system: system.to_string(),
                    code: (*code).to_string(),
                    display: opt(display),
                });
            }
            _ => return Err(err(F, n, "unexpected line")),
        }
    }
    if let Some((u, codes)) = current {
        out.push(ValueSetDef::new(u, codes));
    }
    Ok(out)
}

fn parse_search() -> Result<Vec<SearchParamDef>, ModelError> {
    const F: &str = "search.tsv";
    let mut out: Vec<SearchParamDef> = Vec::new();
    for (n, f) in lines(SEARCH) {
        match f.as_slice() {
            ["P", code, url, kind, base, expr, xpath_usage, targets, m_or, m_and, modifiers, comparators, chains] =>
            {
                out.push(SearchParamDef {
                    code: (*code).to_string(),
                    url: expand(SP_PREFIX, url),
                    kind: parse_sp_type(kind)
                        .ok_or_else(|| err(F, n, format!("bad type '{kind}'")))?,
                    base: list(base),
                    expression: opt(expr),
                    xpath_usage: opt(xpath_usage),
                    targets: list(targets),
                    components: Vec::new(),
                    multiple_or: flag(m_or),
                    multiple_and: flag(m_and),
                    modifiers: list(modifiers),
                    comparators: list(comparators),
                    chains: list(chains),
                });
            }
            ["K", definition, expr] => {
                let p = out
                    .last_mut()
                    .ok_or_else(|| err(F, n, "component before parameter"))?;
                p.components.push(SearchParamComponent {
                    definition_url: expand(SP_PREFIX, definition),
                    expression: (*expr).to_string(),
                });
            }
            _ => return Err(err(F, n, "unexpected line")),
        }
    }
    Ok(out)
}

fn flag(s: &str) -> Option<bool> {
    match s {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

fn parse_sp_type(s: &str) -> Option<SearchParamType> {
    Some(match s {
        "number" => SearchParamType::Number,
        "date" => SearchParamType::Date,
        "string" => SearchParamType::String,
        "token" => SearchParamType::Token,
        "reference" => SearchParamType::Reference,
        "composite" => SearchParamType::Composite,
        "quantity" => SearchParamType::Quantity,
        "uri" => SearchParamType::Uri,
        "special" => SearchParamType::Special,
        _ => return None,
    })
}

fn parse_compartment() -> Result<FxHashMap<Box<str>, Vec<String>>, ModelError> {
    let mut out = FxHashMap::default();
    for (n, f) in lines(COMPARTMENT) {
        match f.as_slice() {
            ["C", rt, params] => {
                out.insert((*rt).into(), list(params));
            }
            _ => return Err(err("compartment-patient.tsv", n, "unexpected line")),
        }
    }
    Ok(out)
}

/// One code system being read from `hierarchies.tsv`.
struct PendingHierarchy {
    /// The line of its `S`.
    line: usize,
    url: &'static str,
    version: Option<&'static str>,
    codes: Vec<&'static str>,
    /// (line, child index, parent code), resolved when the system is complete.
    parents: Vec<(usize, u32, &'static str)>,
}

impl PendingHierarchy {
    fn finish(self) -> Result<CodeHierarchy, ModelError> {
        let index: FxHashMap<&str, u32> = self
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, i as u32))
            .collect();
        if index.len() != self.codes.len() {
            return Err(err(F_HIER, self.line, format!("{}: a code is listed twice", self.url)));
        }
        let edges = self
            .parents
            .iter()
            .map(|&(line, child, parent)| {
                index.get(parent).map(|&p| (p, child)).ok_or_else(|| {
                    err(F_HIER, line, format!("parent '{parent}' is not a code of {}", self.url))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CodeHierarchy::new(self.url, self.version, self.codes, &edges))
    }
}

const F_HIER: &str = "hierarchies.tsv";

/// `S  url  version` starts a code system, `C  code  parent…` lists one of its codes.
pub(super) fn parse_hierarchies(text: &'static str) -> Result<Vec<CodeHierarchy>, ModelError> {
    let mut out = Vec::new();
    let mut current: Option<PendingHierarchy> = None;
    for (n, f) in lines(text) {
        match f.as_slice() {
            ["S", url, version] => {
                if let Some(done) = current.take() {
                    out.push(done.finish()?);
                }
                current = Some(PendingHierarchy {
                    line: n,
                    url,
                    version: (!version.is_empty()).then_some(*version),
                    codes: Vec::new(),
                    parents: Vec::new(),
                });
            }
            ["C", code, parents @ ..] => {
                let h = current
                    .as_mut()
                    .ok_or_else(|| err(F_HIER, n, "code before code system"))?;
                let child = h.codes.len() as u32;
                h.codes.push(code);
                h.parents.extend(parents.iter().map(|p| (n, child, *p)));
            }
            _ => return Err(err(F_HIER, n, "unexpected line")),
        }
    }
    if let Some(done) = current {
        out.push(done.finish()?);
    }
    Ok(out)
}

/// Builds indexes and nodes.
fn assemble(
    types: Vec<TypeDef>,
    elements: Vec<ElementDef>,
    value_sets: Vec<ValueSetDef>,
    search_all: Vec<SearchParamDef>,
    compartment: FxHashMap<Box<str>, Vec<String>>,
) -> Model {
    let type_by_name: FxHashMap<Box<str>, u32> = types
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str().into(), i as u32))
        .collect();
    let mut node_by_path: FxHashMap<Box<str>, NodeId> = FxHashMap::default();
    let mut origins = Vec::new();
    for (i, t) in types.iter().enumerate() {
        node_by_path.insert(t.name.as_str().into(), origins.len() as NodeId);
        origins.push(Origin::Type(i as u32));
    }
    for (i, e) in elements.iter().enumerate() {
        if e.type_path.as_deref() == Some(e.path.as_str()) {
            node_by_path.insert(e.path.as_str().into(), origins.len() as NodeId);
            origins.push(Origin::Element(i as u32));
        }
    }
    let mut own: Vec<Vec<u32>> = vec![Vec::new(); origins.len()];
    for (i, e) in elements.iter().enumerate() {
        if let Some(&n) = e
            .path
            .rsplit_once('.')
            .and_then(|(parent, _)| node_by_path.get(parent))
        {
            own[n as usize].push(i as u32);
        }
    }
    let input = NodeInput {
        types: &types,
        type_by_name: &type_by_name,
        elements: &elements,
        node_by_path: &node_by_path,
    };
    let (nodes, elem_node) = build_nodes(&input, &origins, &own);

    let vs_by_url: FxHashMap<Box<str>, u32> = value_sets
        .iter()
        .enumerate()
        .map(|(i, v)| (v.url.as_str().into(), i as u32))
        .collect();
    let elem_required_vs = elements
        .iter()
        .map(|e| match &e.binding {
            Some(Binding {
                strength: BindingStrength::Required,
                value_set,
            }) => vs_by_url.get(value_set.as_str()).copied(),
            _ => None,
        })
        .collect();
    // The definitions package also carries SubscriptionStatus (an R4B/R5 resource); R4's own
    // resource-types value set is the authority on what is a resource here.
    let r4_types = vs_by_url
        .get(RESOURCE_TYPES_VS)
        .and_then(|&i| value_sets.get(i as usize));
    let mut resource_names: Vec<String> = types
        .iter()
        .filter(|t| t.kind == TypeKind::Resource && !t.is_abstract)
        .filter(|t| r4_types.is_none_or(|vs| vs.contains(None, &t.name)))
        .map(|t| t.name.clone())
        .collect();
    resource_names.sort();

    let mut model = Model {
        types,
        type_by_name,
        elements,
        elem_node,
        elem_required_vs,
        nodes,
        node_by_path,
        resource_names,
        search_all,
        search_by_type: FxHashMap::default(),
        search_by_code: FxHashMap::default(),
        value_sets,
        vs_by_url,
        compartment,
        hierarchies: Vec::new(),
        hierarchy_by_url: FxHashMap::default(),
    };
    index_search(&mut model);
    model
}

/// Per resource type (abstract ones included) the parameters whose base is the type or an ancestor.
fn index_search(model: &mut Model) {
    let names: Vec<String> = model
        .types
        .iter()
        .filter(|t| t.kind == TypeKind::Resource)
        .map(|t| t.name.clone())
        .collect();
    // Parameter indexes by base name, so each type only looks at its own ancestors' parameters.
    let mut by_base: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, p) in model.search_all.iter().enumerate() {
        for b in &p.base {
            by_base.entry(b.as_str()).or_default().push(i);
        }
    }
    let mut search_by_type = FxHashMap::default();
    let mut search_by_code = FxHashMap::default();
    for name in names {
        let mut idx: Vec<usize> = Vec::new();
        let mut current = Some(name.as_str());
        while let Some(t) = current {
            idx.extend(by_base.get(t).map_or(&[][..], Vec::as_slice));
            current = model.type_def(t).and_then(|d| d.base.as_deref());
        }
        idx.sort_unstable();
        idx.dedup();
        let params: Vec<SearchParamDef> =
            idx.iter().map(|&i| model.search_all[i].clone()).collect();
        let codes: FxHashMap<Box<str>, u32> = params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.code.as_str().into(), i as u32))
            .collect();
        search_by_code.insert(name.as_str().into(), codes);
        search_by_type.insert(name.into_boxed_str(), params);
    }
    model.search_by_type = search_by_type;
    model.search_by_code = search_by_code;
}
