//! Terminology for token search: value set expansion (`:in`, `:not-in`) and code system
//! subsumption (`:below`, `:above`).
//!
//! [`Terminology`] is what the query parser consults. [`Resolver`] implements it over a
//! [`Source`] of ValueSet and CodeSystem resources (the server's store; [`NoSource`] for none),
//! falling back to the R4 value sets and the FHIR-defined code system hierarchies compiled into
//! the model, and caches what it computes (expansions per canonical, hierarchies per code system)
//! until [`Resolver::invalidate`].
//!
//! What expands: `compose.include` with a `concept` list, a whole system (every code of a
//! CodeSystem held in full), `filter`s (`is-a`, `descendent-of`, `is-not-a`, `generalizes`, `=`
//! and `in` on a property — `concept`/`code` being the code itself — and `exists`), `valueSet`
//! imports (intersected with each other and with the system part), `compose.exclude`; a stored
//! `expansion.contains` (nested) when the compose cannot be expanded or is absent. A CodeSystem's
//! hierarchy comes from nested `concept.concept` and from `parent` / `subsumedBy` / `child`
//! properties. A code system the source does not hold is looked up among the model's
//! hierarchies (`weave_fhir::model::CodeHierarchy`: the complete R4 core code systems with an
//! is-a hierarchy, when no version or their own is asked for); those know codes and relations
//! but not other properties, so a property filter on one is an error. Anything that cannot be expanded in full is an error that says why — never a
//! partial set — and no set may exceed [`MAX_CODES`].

use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use weave_fhir::r4;

/// The most codes an expansion or a subsumption answer may hold.
pub const MAX_CODES: usize = 10_000;
/// The deepest chain of value set imports followed.
const MAX_DEPTH: usize = 16;

/// Why a terminology question has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminologyError {
    #[error("the value set '{0}' is not one this server holds")]
    UnknownValueSet(String),
    #[error("the code system '{0}' is not one this server holds")]
    UnknownSystem(String),
    #[error("the code '{code}' is not in the code system '{system}'")]
    UnknownCode { system: String, code: String },
    #[error("the value set '{url}' cannot be expanded: {reason}")]
    Unexpandable { url: String, reason: String },
    #[error("the code system '{system}' cannot be used: {reason}")]
    UnusableSystem { system: String, reason: String },
    #[error("{what} has more than {MAX_CODES} codes, more than this server searches on")]
    TooLarge { what: String },
    /// The definitions could not be read (a storage failure, not the request's fault).
    #[error("terminology unavailable: {0}")]
    Unavailable(String),
}

/// A set of codes, `(system, code)`, in order and without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    codes: BTreeSet<(String, String)>,
}

impl Expansion {
    /// The codes, in order.
    pub fn codes(&self) -> impl Iterator<Item = &(String, String)> {
        self.codes.iter()
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// True when `system|code` is in the set.
    pub fn contains(&self, system: &str, code: &str) -> bool {
        self.codes.contains(&(system.to_owned(), code.to_owned()))
    }
}

/// Which way `subsumed` walks a hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The code and its descendants (`:below`).
    Below,
    /// The code and its ancestors (`:above`).
    Above,
}

/// The terminology the query parser consults.
pub trait Terminology: Send + Sync {
    /// The codes of a value set (`url` or `url|version`).
    fn expand(&self, value_set: &str) -> Result<Arc<Expansion>, TerminologyError>;
    /// The code with its descendants (`Below`) or ancestors (`Above`) in `system`.
    fn subsumed(&self, system: &str, code: &str, direction: Direction) -> Result<Arc<Expansion>, TerminologyError>;
}

/// Where ValueSet and CodeSystem resources come from, by canonical url (and version).
pub trait Source: Send + Sync {
    fn value_set(&self, url: &str, version: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError>;
    fn code_system(&self, url: &str, version: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError>;
}

/// No stored definitions: only the R4 value sets compiled into the model.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSource;

impl Source for NoSource {
    fn value_set(&self, _: &str, _: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
        Ok(None)
    }
    fn code_system(&self, _: &str, _: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
        Ok(None)
    }
}

/// The terminology of the R4 model alone (its expanded required-binding value sets).
pub fn builtin() -> &'static Resolver<NoSource> {
    static BUILTIN: OnceLock<Resolver<NoSource>> = OnceLock::new();
    BUILTIN.get_or_init(|| Resolver::new(NoSource))
}

/// `url|version` → (url, version).
pub fn split_canonical(canonical: &str) -> (&str, Option<&str>) {
    match canonical.split_once('|') {
        Some((u, v)) if !v.is_empty() => (u, Some(v)),
        Some((u, _)) => (u, None),
        None => (canonical, None),
    }
}

#[derive(Default)]
struct Cache {
    /// Bumped by every invalidation: what was computed under an older generation is not kept.
    generation: u64,
    value_sets: HashMap<String, Arc<Expansion>>,
    systems: HashMap<String, Arc<Hierarchy>>,
}

/// [`Terminology`] over a [`Source`], with the model's value sets as fallback, cached.
pub struct Resolver<S> {
    source: S,
    cache: Mutex<Cache>,
}

impl<S: Source> Resolver<S> {
    pub fn new(source: S) -> Self {
        Resolver { source, cache: Mutex::default() }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// Forgets every cached expansion and hierarchy (a definition changed).
    pub fn invalidate(&self) {
        let mut c = self.lock();
        c.generation += 1;
        c.value_sets.clear();
        c.systems.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The hierarchy of a code system held in full.
    pub fn hierarchy(&self, system: &str, version: Option<&str>) -> Result<Arc<Hierarchy>, TerminologyError> {
        let key = format!("{system}|{}", version.unwrap_or_default());
        let generation = {
            let c = self.lock();
            if let Some(h) = c.systems.get(&key) {
                return Ok(Arc::clone(h));
            }
            c.generation
        };
        let h = match self.source.code_system(system, version)? {
            Some(cs) => Hierarchy::from_code_system(&cs).map_err(|reason| TerminologyError::UnusableSystem { system: system.to_owned(), reason })?,
            None => builtin_hierarchy(system, version).ok_or_else(|| TerminologyError::UnknownSystem(system.to_owned()))?,
        };
        let h = Arc::new(h);
        let mut c = self.lock();
        if c.generation == generation {
            c.systems.insert(key, Arc::clone(&h));
        }
        Ok(h)
    }

    fn expand_canonical(&self, canonical: &str, stack: &mut Vec<String>) -> Result<Arc<Expansion>, TerminologyError> {
        let generation = {
            let c = self.lock();
            if let Some(e) = c.value_sets.get(canonical) {
                return Ok(Arc::clone(e));
            }
            c.generation
        };
        if stack.iter().any(|s| s == canonical) || stack.len() >= MAX_DEPTH {
            let url = stack.first().cloned().unwrap_or_else(|| canonical.to_owned());
            return Err(unexpandable(&url, format!("its value set imports loop or nest too deep (at '{canonical}')")));
        }
        let (url, version) = split_canonical(canonical);
        let expansion = match self.source.value_set(url, version)? {
            Some(vs) => {
                stack.push(canonical.to_owned());
                let r = self.expand_resource(canonical, &vs, stack);
                stack.pop();
                r?
            }
            None => builtin_value_set(url).ok_or_else(|| TerminologyError::UnknownValueSet(canonical.to_owned()))?,
        };
        let expansion = Arc::new(expansion);
        let mut c = self.lock();
        if c.generation == generation {
            c.value_sets.insert(canonical.to_owned(), Arc::clone(&expansion));
        }
        Ok(expansion)
    }

    /// A stored ValueSet: its compose, else (or when the compose cannot be expanded) its
    /// complete stored expansion.
    fn expand_resource(&self, url: &str, vs: &Value, stack: &mut Vec<String>) -> Result<Expansion, TerminologyError> {
        let stored = || stored_expansion(url, vs);
        let Some(compose) = vs.get("compose").filter(|c| c.is_object()) else {
            return stored()?.ok_or_else(|| unexpandable(url, "it has neither a compose nor a complete stored expansion"));
        };
        match self.compose(url, compose, stack) {
            Ok(e) => Ok(e),
            Err(e @ (TerminologyError::Unavailable(_) | TerminologyError::TooLarge { .. })) => Err(e),
            Err(e) => stored()?.ok_or(e),
        }
    }

    fn compose(&self, url: &str, compose: &Value, stack: &mut Vec<String>) -> Result<Expansion, TerminologyError> {
        let mut codes = BTreeSet::new();
        for inc in array(compose, "include") {
            codes.extend(self.include(url, inc, stack)?);
            bound(codes.len(), url)?;
        }
        for exc in array(compose, "exclude") {
            for c in self.include(url, exc, stack)? {
                codes.remove(&c);
            }
        }
        Ok(Expansion { codes })
    }

    /// One `include` (or `exclude`): its system part intersected with each imported value set.
    fn include(&self, url: &str, inc: &Value, stack: &mut Vec<String>) -> Result<BTreeSet<(String, String)>, TerminologyError> {
        let system = inc.get("system").and_then(Value::as_str);
        let imports: Vec<&str> = array(inc, "valueSet").filter_map(Value::as_str).collect();
        let mut set = match system {
            Some(s) => Some(self.system_part(url, s, inc)?),
            None if imports.is_empty() => return Err(unexpandable(url, "an include names neither a system nor a value set")),
            None => None,
        };
        for import in imports {
            let e = self.expand_canonical(import, stack)?;
            set = Some(match set {
                None => e.codes.clone(),
                Some(s) => s.into_iter().filter(|c| e.codes.contains(c)).collect(),
            });
        }
        Ok(set.unwrap_or_default())
    }

    /// The codes an include takes from its system: listed, filtered, or all of them.
    fn system_part(&self, url: &str, system: &str, inc: &Value) -> Result<BTreeSet<(String, String)>, TerminologyError> {
        let listed: Vec<&str> = array(inc, "concept").filter_map(|c| c.get("code").and_then(Value::as_str)).collect();
        if !listed.is_empty() {
            bound(listed.len(), url)?;
            return Ok(listed.into_iter().map(|c| (system.to_owned(), c.to_owned())).collect());
        }
        let version = inc.get("version").and_then(Value::as_str);
        let h = self.hierarchy(system, version).map_err(|e| match e {
            TerminologyError::Unavailable(_) => e,
            other => unexpandable(url, other.to_string()),
        })?;
        let mut selected: Option<Vec<bool>> = None;
        for f in array(inc, "filter") {
            let hits = h.filter(f).map_err(|reason| unexpandable(url, reason))?;
            selected = Some(match selected {
                None => hits,
                Some(s) => s.iter().zip(&hits).map(|(a, b)| *a && *b).collect(),
            });
        }
        let chosen: Vec<usize> = match selected {
            None => (0..h.codes.len()).collect(),
            Some(s) => s.iter().enumerate().filter(|(_, on)| **on).map(|(i, _)| i).collect(),
        };
        bound(chosen.len(), url)?;
        Ok(chosen.into_iter().map(|i| (system.to_owned(), h.codes[i].clone())).collect())
    }
}

impl<S: Source> Terminology for Resolver<S> {
    fn expand(&self, value_set: &str) -> Result<Arc<Expansion>, TerminologyError> {
        self.expand_canonical(value_set, &mut Vec::new())
    }

    fn subsumed(&self, system: &str, code: &str, direction: Direction) -> Result<Arc<Expansion>, TerminologyError> {
        let h = self.hierarchy(system, None)?;
        let start = h.index_of(code).ok_or_else(|| TerminologyError::UnknownCode { system: system.to_owned(), code: code.to_owned() })?;
        let found = h.closure(start, direction == Direction::Above);
        if found.len() > MAX_CODES {
            return Err(TerminologyError::TooLarge { what: format!("'{system}|{code}' with its {}", if direction == Direction::Above { "ancestors" } else { "descendants" }) });
        }
        let codes = found.into_iter().map(|i| (system.to_owned(), h.codes[i].clone())).collect();
        Ok(Arc::new(Expansion { codes }))
    }
}

fn unexpandable(url: &str, reason: impl Into<String>) -> TerminologyError {
    TerminologyError::Unexpandable { url: url.to_owned(), reason: reason.into() }
}

fn bound(n: usize, url: &str) -> Result<(), TerminologyError> {
    if n > MAX_CODES {
        return Err(TerminologyError::TooLarge { what: format!("the value set '{url}'") });
    }
    Ok(())
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// A value set of the R4 model (expanded when the model was generated).
fn builtin_value_set(url: &str) -> Option<Expansion> {
    let vs = r4().value_set(url)?;
    Some(Expansion { codes: vs.codes.iter().map(|c| (c.system.clone(), c.code.clone())).collect() })
}

/// The hierarchy of a FHIR-defined code system compiled into the model, when the model has one
/// of the version asked for (any, when none is).
fn builtin_hierarchy(system: &str, version: Option<&str>) -> Option<Hierarchy> {
    let m = r4().code_system_hierarchy(system)?;
    if version.is_some_and(|v| m.version() != Some(v)) {
        return None;
    }
    let mut h = Hierarchy { properties_unknown: true, ..Hierarchy::default() };
    for code in m.codes() {
        h.add(code);
    }
    for parent in 0..m.len() {
        for &child in m.child_indexes(parent as u32) {
            h.link(parent, child as usize);
        }
    }
    Some(h)
}

/// A stored `expansion.contains` (nested), when present and complete (no `offset`; `total`, if
/// given, no more than the entries it holds; every code with its system). Abstract entries are
/// headings, not codes.
fn stored_expansion(url: &str, vs: &Value) -> Result<Option<Expansion>, TerminologyError> {
    let Some(exp) = vs.get("expansion").filter(|e| e.get("contains").is_some()) else { return Ok(None) };
    let mut codes = BTreeSet::new();
    let mut todo: Vec<&Value> = array(exp, "contains").collect();
    let mut entries = 0usize;
    while let Some(c) = todo.pop() {
        todo.extend(array(c, "contains"));
        let Some(code) = c.get("code").and_then(Value::as_str) else { continue };
        entries += 1;
        if c.get("abstract").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        // A code without its system cannot be searched for: the expansion is not usable.
        let Some(system) = c.get("system").and_then(Value::as_str) else { return Ok(None) };
        codes.insert((system.to_owned(), code.to_owned()));
        bound(codes.len(), url)?;
    }
    let total = exp.get("total").and_then(Value::as_u64).and_then(|t| usize::try_from(t).ok());
    let offset = exp.get("offset").and_then(Value::as_u64).unwrap_or(0);
    if offset > 0 || total.is_some_and(|t| t > entries) {
        return Ok(None);
    }
    Ok(Some(Expansion { codes }))
}

/// The concepts of a CodeSystem held in full, with their is-a links and properties.
#[derive(Debug, Default)]
pub struct Hierarchy {
    codes: Vec<String>,
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    /// Per concept: (property code, value as text).
    properties: Vec<Vec<(String, String)>>,
    /// True when only codes and relations are known (a hierarchy from the model): a filter on
    /// another property cannot be answered.
    properties_unknown: bool,
}

impl Hierarchy {
    /// Reads a CodeSystem. Only one whose `content` is `complete` (the default) can answer for
    /// all its codes: a fragment, an example or a supplement is refused.
    pub fn from_code_system(cs: &Value) -> Result<Hierarchy, String> {
        match cs.get("content").and_then(Value::as_str) {
            None | Some("complete") => {}
            Some(other) => return Err(format!("its content is '{other}', not complete, so its codes are not all known")),
        }
        let mut uris: HashMap<&str, &str> = HashMap::new();
        for p in array(cs, "property") {
            if let (Some(code), Some(uri)) = (p.get("code").and_then(Value::as_str), p.get("uri").and_then(Value::as_str)) {
                uris.insert(code, uri);
            }
        }
        let mut h = Hierarchy::default();
        let mut links: Vec<(usize, String, bool)> = Vec::new(); // (concept, other code, other is parent)
        let mut todo: Vec<(&Value, Option<usize>)> = array(cs, "concept").map(|c| (c, None)).collect();
        while let Some((c, parent)) = todo.pop() {
            let Some(code) = c.get("code").and_then(Value::as_str) else { return Err("a concept has no code".into()) };
            let i = h.add(code);
            if let Some(p) = parent {
                h.link(p, i);
            }
            for prop in array(c, "property") {
                let Some(pc) = prop.get("code").and_then(Value::as_str) else { continue };
                let Some(value) = property_text(prop) else { continue };
                let uri = uris.get(pc).copied().unwrap_or_default();
                if matches!(pc, "parent" | "subsumedBy") || uri.ends_with("#parent") {
                    links.push((i, value.clone(), true));
                } else if pc == "child" || uri.ends_with("#child") {
                    links.push((i, value.clone(), false));
                }
                h.properties[i].push((pc.to_owned(), value));
            }
            todo.extend(array(c, "concept").map(|n| (n, Some(i))));
        }
        for (i, other, is_parent) in links {
            let j = *h.index.get(&other).ok_or_else(|| format!("the concept '{}' refers to '{other}', which it does not define", h.codes[i]))?;
            if is_parent { h.link(j, i) } else { h.link(i, j) }
        }
        Ok(h)
    }

    fn add(&mut self, code: &str) -> usize {
        if let Some(&i) = self.index.get(code) {
            return i;
        }
        let i = self.codes.len();
        self.codes.push(code.to_owned());
        self.index.insert(code.to_owned(), i);
        self.parents.push(Vec::new());
        self.children.push(Vec::new());
        self.properties.push(Vec::new());
        i
    }

    fn link(&mut self, parent: usize, child: usize) {
        if parent != child && !self.children[parent].contains(&child) {
            self.children[parent].push(child);
            self.parents[child].push(parent);
        }
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    fn index_of(&self, code: &str) -> Option<usize> {
        self.index.get(code).copied()
    }

    /// `start` and every concept above (`up`) or below it, each once (cycles are harmless).
    fn closure(&self, start: usize, up: bool) -> Vec<usize> {
        let mut seen = HashSet::from([start]);
        let mut out = vec![start];
        let mut k = 0;
        while k < out.len() {
            let next = if up { &self.parents[out[k]] } else { &self.children[out[k]] };
            for &n in next {
                if seen.insert(n) {
                    out.push(n);
                }
            }
            k += 1;
        }
        out
    }

    /// The concepts a ValueSet `filter` selects, as one flag per concept.
    fn filter(&self, f: &Value) -> Result<Vec<bool>, String> {
        let property = f.get("property").and_then(Value::as_str).unwrap_or_default();
        let op = f.get("op").and_then(Value::as_str).unwrap_or_default();
        let value = f.get("value").and_then(Value::as_str).unwrap_or_default();
        let mut on = vec![false; self.codes.len()];
        let mark = |on: &mut Vec<bool>, set: Vec<usize>| set.into_iter().for_each(|i| on[i] = true);
        let is_code = matches!(property, "concept" | "code");
        if !is_code && self.properties_unknown {
            return Err(format!("the property '{property}' of its code system is not known to this server"));
        }
        let known = |code: &str| self.index_of(code).ok_or_else(|| format!("the filter names '{code}', which its code system does not define"));
        match op {
            "is-a" | "descendent-of" | "is-not-a" | "generalizes" if is_code => {
                let start = known(value)?;
                mark(&mut on, self.closure(start, op == "generalizes"));
                match op {
                    "descendent-of" => on[start] = false,
                    "is-not-a" => on.iter_mut().for_each(|b| *b = !*b),
                    _ => {}
                }
            }
            "=" | "in" => {
                let wanted: Vec<&str> = if op == "in" { value.split(',').map(str::trim).collect() } else { vec![value] };
                for (i, b) in on.iter_mut().enumerate() {
                    *b = if is_code {
                        wanted.contains(&self.codes[i].as_str())
                    } else {
                        self.properties[i].iter().any(|(p, v)| p == property && wanted.contains(&v.as_str()))
                    };
                }
            }
            "exists" if !is_code => {
                let want = value == "true";
                for (i, b) in on.iter_mut().enumerate() {
                    *b = self.properties[i].iter().any(|(p, _)| p == property) == want;
                }
            }
            _ => return Err(format!("the filter '{property} {op} {value}' is not one this server evaluates")),
        }
        Ok(on)
    }
}

/// A concept property's value as text (`valueCode`, `valueString`, `valueBoolean`, …).
fn property_text(prop: &Value) -> Option<String> {
    let obj = prop.as_object()?;
    obj.iter().find(|(k, _)| k.starts_with("value")).and_then(|(_, v)| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("code").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SYS: &str = "http://example.org/cs/findings";

    /// Definitions in memory, looked up by url and version.
    #[derive(Default)]
    struct Mem(Mutex<Vec<Value>>);

    impl Mem {
        fn with(resources: &[Value]) -> Resolver<Mem> {
            Resolver::new(Mem(Mutex::new(resources.to_vec())))
        }
        fn find(&self, t: &str, url: &str, version: Option<&str>) -> Option<Arc<Value>> {
            let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            all.iter()
                .filter(|r| r["resourceType"] == t && r["url"] == url)
                .find(|r| version.is_none_or(|v| r["version"] == v))
                .map(|r| Arc::new(r.clone()))
        }
    }

    impl Source for Mem {
        fn value_set(&self, url: &str, version: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
            Ok(self.find("ValueSet", url, version))
        }
        fn code_system(&self, url: &str, version: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
            Ok(self.find("CodeSystem", url, version))
        }
    }

    /// finding ⊃ {cardio ⊃ {hypertension ⊃ {malignant-htn}, arrhythmia}, resp (by `parent`) ⊃ {asthma}}.
    fn code_system() -> Value {
        json!({"resourceType": "CodeSystem", "url": SYS, "status": "active", "content": "complete",
            "property": [{"code": "parent", "type": "code"}, {"code": "severity", "type": "code"}],
            "concept": [
                {"code": "finding", "concept": [
                    {"code": "cardio", "concept": [
                        {"code": "hypertension", "property": [{"code": "severity", "valueCode": "high"}],
                         "concept": [{"code": "malignant-htn", "property": [{"code": "severity", "valueCode": "high"}]}]},
                        {"code": "arrhythmia"}]}]},
                {"code": "resp", "property": [{"code": "parent", "valueCode": "finding"}]},
                {"code": "asthma", "property": [{"code": "parent", "valueCode": "resp"}, {"code": "severity", "valueCode": "low"}]}
            ]})
    }

    fn vs(url: &str, compose: Value) -> Value {
        json!({"resourceType": "ValueSet", "url": url, "status": "active", "compose": compose})
    }

    fn codes(e: &Expansion) -> Vec<&str> {
        e.codes().map(|(_, c)| c.as_str()).collect()
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_unstable();
        v
    }

    #[test]
    fn hierarchies_come_from_nesting_and_parent_properties() {
        let t = Mem::with(&[code_system()]);
        let below = t.subsumed(SYS, "finding", Direction::Below).unwrap();
        assert_eq!(below.len(), 7);
        assert_eq!(codes(&t.subsumed(SYS, "resp", Direction::Below).unwrap()), ["asthma", "resp"]);
        assert_eq!(codes(&t.subsumed(SYS, "malignant-htn", Direction::Above).unwrap()), ["cardio", "finding", "hypertension", "malignant-htn"]);
        assert_eq!(codes(&t.subsumed(SYS, "asthma", Direction::Above).unwrap()), ["asthma", "finding", "resp"]);
        assert!(matches!(t.subsumed(SYS, "nope", Direction::Below), Err(TerminologyError::UnknownCode { .. })));
        assert!(matches!(t.subsumed("http://other", "x", Direction::Below), Err(TerminologyError::UnknownSystem(_))));
    }

    #[test]
    fn filters_select_by_hierarchy_and_property() {
        let t = Mem::with(&[code_system()]);
        let filtered = |f: Value| {
            let h = t.hierarchy(SYS, None).unwrap();
            let on = h.filter(&f).map_err(|e| e.to_string())?;
            Ok::<_, String>(sorted(on.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| h.codes[i].as_str()).collect::<Vec<_>>()).join(","))
        };
        assert_eq!(filtered(json!({"property": "concept", "op": "is-a", "value": "cardio"})).unwrap(), "arrhythmia,cardio,hypertension,malignant-htn");
        assert_eq!(filtered(json!({"property": "concept", "op": "descendent-of", "value": "resp"})).unwrap(), "asthma");
        assert_eq!(filtered(json!({"property": "concept", "op": "is-not-a", "value": "cardio"})).unwrap(), "asthma,finding,resp");
        assert_eq!(filtered(json!({"property": "concept", "op": "generalizes", "value": "asthma"})).unwrap(), "asthma,finding,resp");
        assert_eq!(filtered(json!({"property": "severity", "op": "=", "value": "high"})).unwrap(), "hypertension,malignant-htn");
        assert_eq!(filtered(json!({"property": "concept", "op": "in", "value": "resp, asthma"})).unwrap(), "asthma,resp");
        assert_eq!(filtered(json!({"property": "severity", "op": "exists", "value": "true"})).unwrap(), "asthma,hypertension,malignant-htn");
        assert!(filtered(json!({"property": "concept", "op": "regex", "value": ".*"})).unwrap_err().contains("regex"));
        assert!(filtered(json!({"property": "concept", "op": "is-a", "value": "nope"})).unwrap_err().contains("nope"));
    }

    #[test]
    fn compose_includes_lists_systems_filters_imports_and_excludes() {
        let other = "http://example.org/cs/other";
        let t = Mem::with(&[
            code_system(),
            vs("http://x/vs/cardio", json!({"include": [{"system": SYS, "filter": [{"property": "concept", "op": "is-a", "value": "cardio"}]}],
                                          "exclude": [{"system": SYS, "concept": [{"code": "arrhythmia"}]}]})),
            vs("http://x/vs/listed", json!({"include": [{"system": other, "concept": [{"code": "a"}, {"code": "b"}]}]})),
            vs("http://x/vs/union", json!({"include": [{"valueSet": ["http://x/vs/cardio"]}, {"valueSet": ["http://x/vs/listed"]}]})),
            vs("http://x/vs/meet", json!({"include": [{"system": SYS, "filter": [{"property": "severity", "op": "=", "value": "high"}],
                                                        "valueSet": ["http://x/vs/cardio"]}]})),
            vs("http://x/vs/all", json!({"include": [{"system": SYS}], "exclude": [{"valueSet": ["http://x/vs/cardio"]}]})),
        ]);
        assert_eq!(codes(&t.expand("http://x/vs/cardio").unwrap()), ["cardio", "hypertension", "malignant-htn"]);
        // An explicit list needs no CodeSystem.
        assert_eq!(codes(&t.expand("http://x/vs/listed").unwrap()), ["a", "b"]);
        assert_eq!(t.expand("http://x/vs/union").unwrap().len(), 5);
        assert!(t.expand("http://x/vs/union").unwrap().contains(other, "a"));
        assert_eq!(codes(&t.expand("http://x/vs/meet").unwrap()), ["hypertension", "malignant-htn"]);
        assert_eq!(codes(&t.expand("http://x/vs/all").unwrap()), ["arrhythmia", "asthma", "finding", "resp"]);
    }

    #[test]
    fn what_cannot_be_expanded_in_full_is_an_error() {
        let fragment = json!({"resourceType": "CodeSystem", "url": "http://x/frag", "content": "fragment", "concept": [{"code": "a"}]});
        let t = Mem::with(&[
            code_system(),
            fragment,
            vs("http://x/vs/unknown", json!({"include": [{"system": "http://x/unknown"}]})),
            vs("http://x/vs/frag", json!({"include": [{"system": "http://x/frag"}]})),
            vs("http://x/vs/regex", json!({"include": [{"system": SYS, "filter": [{"property": "concept", "op": "regex", "value": "a.*"}]}]})),
            vs("http://x/vs/loop", json!({"include": [{"valueSet": ["http://x/vs/loop2"]}]})),
            vs("http://x/vs/loop2", json!({"include": [{"valueSet": ["http://x/vs/loop"]}]})),
            vs("http://x/vs/empty-include", json!({"include": [{}]})),
        ]);
        let err = |url: &str| t.expand(url).unwrap_err().to_string();
        assert!(err("http://x/vs/unknown").contains("'http://x/unknown' is not one this server holds"), "{}", err("http://x/vs/unknown"));
        assert!(err("http://x/vs/frag").contains("fragment"));
        assert!(err("http://x/vs/regex").contains("regex"));
        assert!(err("http://x/vs/loop").contains("loop"));
        assert!(err("http://x/vs/empty-include").contains("neither"));
        assert!(matches!(t.expand("http://x/vs/absent"), Err(TerminologyError::UnknownValueSet(_))));
    }

    #[test]
    fn a_complete_stored_expansion_is_used_when_the_compose_cannot_be() {
        let contains = json!([{"system": "http://snomed.info/sct", "code": "404684003", "abstract": true, "contains": [
            {"system": "http://snomed.info/sct", "code": "38341003"}, {"system": "http://snomed.info/sct", "code": "195967001"}]}]);
        let t = Mem::with(&[
            json!({"resourceType": "ValueSet", "url": "http://x/vs/exp", "compose": {"include": [{"system": "http://snomed.info/sct",
                   "filter": [{"property": "concept", "op": "is-a", "value": "404684003"}]}]},
                   "expansion": {"timestamp": "2024-01-01", "total": 2, "contains": contains}}),
            json!({"resourceType": "ValueSet", "url": "http://x/vs/paged", "expansion": {"timestamp": "2024-01-01", "total": 40, "contains": contains}}),
        ]);
        assert_eq!(codes(&t.expand("http://x/vs/exp").unwrap()), ["195967001", "38341003"]);
        assert!(t.expand("http://x/vs/paged").unwrap_err().to_string().contains("complete stored expansion"));
    }

    #[test]
    fn sizes_are_bounded() {
        let many: Vec<Value> = (0..=MAX_CODES).map(|i| json!({"code": format!("c{i}")})).collect();
        let t = Mem::with(&[
            json!({"resourceType": "CodeSystem", "url": "http://x/big", "content": "complete", "concept": [{"code": "top", "concept": many.clone()}]}),
            vs("http://x/vs/big", json!({"include": [{"system": "http://x/other", "concept": many}]})),
        ]);
        assert!(matches!(t.expand("http://x/vs/big"), Err(TerminologyError::TooLarge { .. })));
        assert!(matches!(t.subsumed("http://x/big", "top", Direction::Below), Err(TerminologyError::TooLarge { .. })));
        assert_eq!(t.subsumed("http://x/big", "c7", Direction::Above).unwrap().len(), 2);
    }

    #[test]
    fn versions_and_the_model_value_sets_resolve() {
        let t = Mem::with(&[
            json!({"resourceType": "ValueSet", "url": "http://x/vs/v", "version": "1", "compose": {"include": [{"system": "s", "concept": [{"code": "one"}]}]}}),
            json!({"resourceType": "ValueSet", "url": "http://x/vs/v", "version": "2", "compose": {"include": [{"system": "s", "concept": [{"code": "two"}]}]}}),
        ]);
        assert_eq!(codes(&t.expand("http://x/vs/v|2").unwrap()), ["two"]);
        assert_eq!(codes(&t.expand("http://x/vs/v|1").unwrap()), ["one"]);
        let gender = builtin().expand("http://hl7.org/fhir/ValueSet/administrative-gender").unwrap();
        assert!(gender.contains("http://hl7.org/fhir/administrative-gender", "female"));
        assert!(matches!(builtin().subsumed(SYS, "x", Direction::Below), Err(TerminologyError::UnknownSystem(_))));
    }

    const ISSUE: &str = "http://hl7.org/fhir/issue-type";

    #[test]
    fn fhir_defined_hierarchies_come_from_the_model() {
        let t = builtin();
        assert_eq!(codes(&t.subsumed(ISSUE, "not-found", Direction::Below).unwrap()), ["deleted", "not-found"]);
        assert_eq!(codes(&t.subsumed(ISSUE, "deleted", Direction::Above).unwrap()), ["deleted", "not-found", "processing"]);
        assert_eq!(t.subsumed(ISSUE, "processing", Direction::Below).unwrap().len(), 12, "processing, its 10 children and deleted");
        assert_eq!(codes(&t.subsumed(ISSUE, "informational", Direction::Below).unwrap()), ["informational"]);
        assert!(matches!(t.subsumed(ISSUE, "nope", Direction::Below), Err(TerminologyError::UnknownCode { .. })));
        assert!(t.hierarchy(ISSUE, Some("4.0.1")).is_ok());
        assert!(matches!(t.hierarchy(ISSUE, Some("9.9")), Err(TerminologyError::UnknownSystem(_))));
        // A flat FHIR code system has no hierarchy in the model.
        assert!(matches!(t.subsumed("http://hl7.org/fhir/administrative-gender", "male", Direction::Below), Err(TerminologyError::UnknownSystem(_))));
        let h = t.hierarchy(ISSUE, None).unwrap();
        let status = h.filter(&json!({"property": "status", "op": "=", "value": "deprecated"}));
        assert!(status.unwrap_err().contains("'status'"), "a property the model does not keep");
    }

    #[test]
    fn a_stored_code_system_comes_before_the_model() {
        let t = Mem::with(&[json!({"resourceType": "CodeSystem", "url": ISSUE, "content": "complete",
            "concept": [{"code": "processing", "concept": [{"code": "mine"}]}]})]);
        assert_eq!(codes(&t.subsumed(ISSUE, "processing", Direction::Below).unwrap()), ["mine", "processing"]);
        let u = Mem::with(&[vs("http://x/vs/issues", json!({"include": [{"system": ISSUE, "filter": [
            {"property": "concept", "op": "descendent-of", "value": "invalid"}]}]}))]);
        assert_eq!(codes(&u.expand("http://x/vs/issues").unwrap()), ["invariant", "required", "structure", "value"]);
    }

    #[test]
    fn invalidation_forgets_cached_answers() {
        let t = Mem::with(&[vs("http://x/vs/c", json!({"include": [{"system": "s", "concept": [{"code": "a"}]}]}))]);
        assert_eq!(codes(&t.expand("http://x/vs/c").unwrap()), ["a"]);
        *t.source().0.lock().unwrap() = vec![vs("http://x/vs/c", json!({"include": [{"system": "s", "concept": [{"code": "b"}]}]}))];
        assert_eq!(codes(&t.expand("http://x/vs/c").unwrap()), ["a"], "cached until invalidated");
        t.invalidate();
        assert_eq!(codes(&t.expand("http://x/vs/c").unwrap()), ["b"]);
    }

    #[test]
    fn a_parent_that_is_not_defined_is_reported() {
        let cs = json!({"resourceType": "CodeSystem", "content": "complete", "concept": [{"code": "a", "property": [{"code": "parent", "valueCode": "zz"}]}]});
        assert!(Hierarchy::from_code_system(&cs).unwrap_err().contains("zz"));
    }
}
