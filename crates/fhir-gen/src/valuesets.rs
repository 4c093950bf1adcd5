//! Value set expansion for required bindings, from the CodeSystems and ValueSets in `valuesets.json`.
//!
//! Supported: whole (complete) code systems, explicit concept lists, `is-a` / `descendent-of` /
//! `is-not-a` / `=` filters on a code system's own hierarchy and properties, nested value sets by
//! reference, and excludes. Anything else (external systems such as UCUM or BCP-47, fragments,
//! unknown filters) makes the value set unexpandable; it is then left out of the data.

use crate::out::{arr_of, bundle_resources, clean, str_of};
use crate::structures::strip_version;
use anyhow::Result;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::Rc;

/// The generated `valuesets.tsv` text and statistics.
pub struct ValueSets {
    pub text: String,
    pub n_expanded: usize,
    pub not_expanded: Vec<String>,
}

/// One code of an expansion: (system, code, display).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Code {
    system: String,
    code: String,
    display: Option<String>,
}

type Expansion = Option<Rc<Vec<Code>>>;

struct Expander<'a> {
    code_systems: HashMap<&'a str, &'a Value>,
    value_sets: HashMap<&'a str, &'a Value>,
    cache: HashMap<String, Expansion>,
    in_progress: HashSet<String>,
}

/// Expands each URL in `urls` (those it can) and writes them in the line format.
pub fn generate(bundle: &Value, urls: &BTreeSet<String>) -> Result<ValueSets> {
    let mut ex = Expander {
        code_systems: HashMap::new(),
        value_sets: HashMap::new(),
        cache: HashMap::new(),
        in_progress: HashSet::new(),
    };
    for r in bundle_resources(bundle) {
        let Some(url) = str_of(r, "url") else {
            continue;
        };
        match str_of(r, "resourceType") {
            Some("CodeSystem") => ex.code_systems.insert(url, r),
            Some("ValueSet") => ex.value_sets.insert(url, r),
            _ => None,
        };
    }
    let mut text = String::from(
        "# weave-fhir R4 4.0.1 expanded value sets (required bindings); see README.md\n",
    );
    let mut n_expanded = 0;
    let mut not_expanded = Vec::new();
    for url in urls {
        let Some(codes) = ex.expand_value_set(url) else {
            not_expanded.push(url.clone());
            continue;
        };
        n_expanded += 1;
        writeln!(text, "V\t{}", strip_version(url))?;
        let mut system: Option<&str> = None;
        for c in codes.iter() {
            if system != Some(c.system.as_str()) {
                writeln!(text, "S\t{}", c.system)?;
                system = Some(&c.system);
            }
            writeln!(
                text,
                "C\t{}\t{}",
                clean(&c.code),
                clean(c.display.as_deref().unwrap_or(""))
            )?;
        }
    }
    Ok(ValueSets {
        text,
        n_expanded,
        not_expanded,
    })
}

impl<'a> Expander<'a> {
    fn expand_value_set(&mut self, url: &str) -> Expansion {
        let url = strip_version(url);
        if let Some(done) = self.cache.get(url) {
            return done.clone();
        }
        if !self.in_progress.insert(url.to_string()) {
            return None; // circular reference
        }
        let result = self
            .value_sets
            .get(url)
            .copied()
            .and_then(|vs| self.expand_compose(vs.get("compose")?));
        self.in_progress.remove(url);
        let result = result.map(Rc::new);
        self.cache.insert(url.to_string(), result.clone());
        result
    }

    fn expand_compose(&mut self, compose: &'a Value) -> Option<Vec<Code>> {
        let mut codes: Vec<Code> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for inc in arr_of(compose, "include") {
            for c in self.expand_include(inc)? {
                if seen.insert((c.system.clone(), c.code.clone())) {
                    codes.push(c);
                }
            }
        }
        for exc in arr_of(compose, "exclude") {
            let removed: HashSet<(String, String)> = self
                .expand_include(exc)?
                .into_iter()
                .map(|c| (c.system, c.code))
                .collect();
            codes.retain(|c| !removed.contains(&(c.system.clone(), c.code.clone())));
        }
        Some(codes)
    }

    /// One include/exclude clause: the system part intersected with every referenced value set.
    fn expand_include(&mut self, inc: &'a Value) -> Option<Vec<Code>> {
        let mut result: Option<Vec<Code>> = match str_of(inc, "system") {
            Some(system) => Some(self.expand_system(system, inc)?),
            None => None,
        };
        for vs in arr_of(inc, "valueSet").iter().filter_map(Value::as_str) {
            let codes = self.expand_value_set(vs)?;
            result = Some(match result {
                None => codes.as_ref().clone(),
                Some(prev) => {
                    let keep: HashSet<(&str, &str)> = codes
                        .iter()
                        .map(|c| (c.system.as_str(), c.code.as_str()))
                        .collect();
                    prev.into_iter()
                        .filter(|c| keep.contains(&(c.system.as_str(), c.code.as_str())))
                        .collect()
                }
            });
        }
        result
    }

    fn expand_system(&self, system: &str, inc: &Value) -> Option<Vec<Code>> {
        let cs = self.code_systems.get(system).copied();
        let listed = arr_of(inc, "concept");
        if !listed.is_empty() {
            return Some(
                listed
                    .iter()
                    .filter_map(|c| {
                        let code = str_of(c, "code")?;
                        let display = str_of(c, "display").or_else(|| {
                            cs.and_then(|cs| find_concept(arr_of(cs, "concept"), code)?.1)
                        });
                        Some(make_code(system, code, display))
                    })
                    .collect(),
            );
        }
        let cs = cs.filter(|cs| str_of(cs, "content") == Some("complete"))?;
        let mut selected: Vec<(&str, Option<&str>)> = Vec::new();
        collect_concepts(arr_of(cs, "concept"), &mut selected);
        for filter in arr_of(inc, "filter") {
            selected = apply_filter(cs, filter, selected)?;
        }
        Some(
            selected
                .into_iter()
                .map(|(code, display)| make_code(system, code, display))
                .collect(),
        )
    }
}

fn make_code(system: &str, code: &str, display: Option<&str>) -> Code {
    Code {
        system: system.to_string(),
        code: code.to_string(),
        display: display.map(str::to_string),
    }
}

/// Adds every concept of a (nested) concept tree as (code, display).
fn collect_concepts<'a>(concepts: &'a [Value], out: &mut Vec<(&'a str, Option<&'a str>)>) {
    for c in concepts {
        if let Some(code) = str_of(c, "code") {
            out.push((code, str_of(c, "display")));
        }
        collect_concepts(arr_of(c, "concept"), out);
    }
}

/// Finds a concept by code anywhere in a tree: (concept, display).
fn find_concept<'a>(concepts: &'a [Value], code: &str) -> Option<(&'a Value, Option<&'a str>)> {
    concepts.iter().find_map(|c| {
        if str_of(c, "code") == Some(code) {
            Some((c, str_of(c, "display")))
        } else {
            find_concept(arr_of(c, "concept"), code)
        }
    })
}

fn apply_filter<'a>(
    cs: &'a Value,
    filter: &'a Value,
    selected: Vec<(&'a str, Option<&'a str>)>,
) -> Option<Vec<(&'a str, Option<&'a str>)>> {
    let property = str_of(filter, "property")?;
    let op = str_of(filter, "op")?;
    let value = str_of(filter, "value")?;
    let subtree = |include_self: bool| -> Option<HashSet<&'a str>> {
        let (root, _) = find_concept(arr_of(cs, "concept"), value)?;
        let mut codes = Vec::new();
        collect_concepts(arr_of(root, "concept"), &mut codes);
        let mut set: HashSet<&str> = codes.into_iter().map(|c| c.0).collect();
        if include_self {
            set.insert(value);
        }
        Some(set)
    };
    let keep: Box<dyn Fn(&str) -> bool> = match (property, op) {
        ("concept", "is-a") => {
            let s = subtree(true)?;
            Box::new(move |c| s.contains(c))
        }
        ("concept", "descendent-of") => {
            let s = subtree(false)?;
            Box::new(move |c| s.contains(c))
        }
        ("concept", "is-not-a") => {
            let s = subtree(true)?;
            Box::new(move |c| !s.contains(c))
        }
        (prop, "=") => {
            let mut all = Vec::new();
            collect_property_matches(arr_of(cs, "concept"), prop, value, &mut all);
            let s: HashSet<&str> = all.into_iter().collect();
            Box::new(move |c| s.contains(c))
        }
        _ => return None,
    };
    Some(selected.into_iter().filter(|(c, _)| keep(c)).collect())
}

/// Codes of concepts having property `prop` equal to `value`.
fn collect_property_matches<'a>(
    concepts: &'a [Value],
    prop: &str,
    value: &str,
    out: &mut Vec<&'a str>,
) {
    for c in concepts {
        let matches = arr_of(c, "property").iter().any(|p| {
            str_of(p, "code") == Some(prop)
                && ["valueCode", "valueString", "valueBoolean", "valueInteger"]
                    .iter()
                    .any(|k| p.get(*k).is_some_and(|v| property_value_is(v, value)))
        });
        if matches {
            if let Some(code) = str_of(c, "code") {
                out.push(code);
            }
        }
        collect_property_matches(arr_of(c, "concept"), prop, value, out);
    }
}

/// A concept property value (code, string, boolean or integer) compared with a filter's text.
fn property_value_is(v: &Value, text: &str) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Bool(b) => (if *b { "true" } else { "false" }) == text,
        Value::Number(n) => n.as_str() == text,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle() -> Value {
        json!({"entry": [
            {"resource": {"resourceType": "CodeSystem", "url": "cs", "content": "complete", "concept": [
                {"code": "a", "display": "A", "concept": [{"code": "a1"}, {"code": "a2"}]},
                {"code": "b"}]}},
            {"resource": {"resourceType": "ValueSet", "url": "all", "compose": {"include": [{"system": "cs"}]}}},
            {"resource": {"resourceType": "ValueSet", "url": "isa", "compose": {"include": [
                {"system": "cs", "filter": [{"property": "concept", "op": "is-a", "value": "a"}]}],
                "exclude": [{"system": "cs", "concept": [{"code": "a2"}]}]}}},
            {"resource": {"resourceType": "ValueSet", "url": "nested", "compose": {"include": [{"valueSet": ["isa"]},
                {"system": "ext", "concept": [{"code": "x"}]}]}}},
            {"resource": {"resourceType": "ValueSet", "url": "external", "compose": {"include": [{"system": "ucum"}]}}}
        ]})
    }

    #[test]
    fn expands_supported_compositions() {
        let urls: BTreeSet<String> = ["all", "isa", "nested|4.0.1", "external"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = generate(&bundle(), &urls).expect("generate");
        assert_eq!(out.n_expanded, 3);
        assert_eq!(out.not_expanded, vec!["external".to_string()]);
        assert!(out
            .text
            .contains("V\tall\nS\tcs\nC\ta\tA\nC\ta1\t\nC\ta2\t\nC\tb\t\n"));
        assert!(out.text.contains("V\tisa\nS\tcs\nC\ta\tA\nC\ta1\t\n"));
        assert!(out
            .text
            .contains("V\tnested\nS\tcs\nC\ta\tA\nC\ta1\t\nS\text\nC\tx\t\n"));
    }
}
