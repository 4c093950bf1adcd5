//! Code system hierarchies (`hierarchies.tsv`): the is-a relations of the CodeSystems in
//! `valuesets.json`, so that token `:below` / `:above` and `is-a`-style value set filters can be
//! answered for FHIR-defined code systems without storing them.
//!
//! A CodeSystem is written when it is held in full (`content` `complete`, or absent), its
//! `hierarchyMeaning` is `is-a` or absent (nesting in an R4 core code system without a stated
//! meaning is a subsumption hierarchy in practice: `issue-type`, `data-absent-reason`, …; the
//! other meanings — `grouped-by`, `part-of`, `classified-with` — are not subsumption and are left
//! out), and it has at least one relation. Relations come from nested `concept.concept` and from
//! the concept properties `parent` / `subsumedBy` (the other code is the parent) and `child` (the
//! other code is the child), recognised by code or by the property's standard URI. Every code of
//! a written system is listed (roots and isolated codes too), so the reader knows the whole
//! system. A system whose relations name a code it does not define is skipped and reported.

use crate::out::{arr_of, bundle_resources, clean, str_of};
use anyhow::Result;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The generated `hierarchies.tsv` text and statistics.
pub struct Hierarchies {
    pub text: String,
    pub n_systems: usize,
    pub n_codes: usize,
    pub n_edges: usize,
    /// Systems left out because a relation names an undefined code: (url, reason).
    pub skipped: Vec<(String, String)>,
}

/// The concepts of one code system in document order, with their parents (indexes).
#[derive(Default)]
struct Tree<'a> {
    codes: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
    parents: Vec<Vec<usize>>,
    n_edges: usize,
}

impl<'a> Tree<'a> {
    fn add(&mut self, code: &'a str) -> usize {
        *self.index.entry(code).or_insert_with(|| {
            self.codes.push(code);
            self.parents.push(Vec::new());
            self.codes.len() - 1
        })
    }

    fn link(&mut self, parent: usize, child: usize) {
        if parent != child && !self.parents[child].contains(&parent) {
            self.parents[child].push(parent);
            self.n_edges += 1;
        }
    }
}

/// Writes the hierarchies of the qualifying CodeSystems of `bundle` in the line format.
pub fn generate(bundle: &Value) -> Result<Hierarchies> {
    let mut out = Hierarchies {
        text: String::from(
            "# weave-fhir R4 4.0.1 code system hierarchies (is-a); see README.md\n",
        ),
        n_systems: 0,
        n_codes: 0,
        n_edges: 0,
        skipped: Vec::new(),
    };
    for cs in bundle_resources(bundle) {
        if str_of(cs, "resourceType") != Some("CodeSystem") || !qualifies(cs) {
            continue;
        }
        let Some(url) = str_of(cs, "url") else {
            continue;
        };
        let tree = match read_tree(cs) {
            Ok(tree) => tree,
            Err(reason) => {
                out.skipped.push((url.to_string(), reason));
                continue;
            }
        };
        if tree.n_edges == 0 {
            continue;
        }
        writeln!(
            out.text,
            "S\t{}\t{}",
            clean(url),
            clean(str_of(cs, "version").unwrap_or(""))
        )?;
        for (code, parents) in tree.codes.iter().zip(&tree.parents) {
            write!(out.text, "C\t{}", clean(code))?;
            for &p in parents {
                write!(out.text, "\t{}", clean(tree.codes[p]))?;
            }
            out.text.push('\n');
        }
        out.n_systems += 1;
        out.n_codes += tree.codes.len();
        out.n_edges += tree.n_edges;
    }
    Ok(out)
}

/// Held in full, and its hierarchy (if any) means subsumption.
fn qualifies(cs: &Value) -> bool {
    matches!(str_of(cs, "content"), None | Some("complete"))
        && matches!(str_of(cs, "hierarchyMeaning"), None | Some("is-a"))
}

/// How a concept property relates the concept to the code it names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The named code is the concept's parent (`parent`, `subsumedBy`).
    Parent,
    /// The named code is the concept's child (`child`).
    Child,
}

/// The property codes of `cs` that state a relation (by code or by standard URI).
fn relation_properties(cs: &Value) -> HashMap<&str, Relation> {
    let mut map = HashMap::from([
        ("parent", Relation::Parent),
        ("subsumedBy", Relation::Parent),
        ("child", Relation::Child),
    ]);
    for p in arr_of(cs, "property") {
        let (Some(code), Some(uri)) = (str_of(p, "code"), str_of(p, "uri")) else {
            continue;
        };
        if uri.ends_with("#parent") || uri.ends_with("#subsumedBy") {
            map.insert(code, Relation::Parent);
        } else if uri.ends_with("#child") {
            map.insert(code, Relation::Child);
        }
    }
    map
}

/// Reads the concept tree and relation properties of one CodeSystem.
fn read_tree(cs: &Value) -> Result<Tree<'_>, String> {
    let relations = relation_properties(cs);
    let mut tree = Tree::default();
    // (concept, other code, relation), resolved once every code is known.
    let mut links: Vec<(usize, &str, Relation)> = Vec::new();
    // Depth-first, in document order: the stack holds (concepts, next position, parent).
    let mut stack: Vec<(&[Value], usize, Option<usize>)> = vec![(arr_of(cs, "concept"), 0, None)];
    while let Some((list, pos, parent)) = stack.pop() {
        let Some(c) = list.get(pos) else {
            continue;
        };
        stack.push((list, pos + 1, parent));
        let code = str_of(c, "code").ok_or("a concept has no code")?;
        let i = tree.add(code);
        if let Some(p) = parent {
            tree.link(p, i);
        }
        for prop in arr_of(c, "property") {
            let rel = str_of(prop, "code").and_then(|pc| relations.get(pc));
            if let (Some(&rel), Some(other)) = (rel, str_of(prop, "valueCode")) {
                links.push((i, other, rel));
            }
        }
        stack.push((arr_of(c, "concept"), 0, Some(i)));
    }
    for (i, other, rel) in links {
        let j = *tree.index.get(other).ok_or_else(|| {
            format!(
                "the concept '{}' refers to '{other}', which is not defined",
                tree.codes[i]
            )
        })?;
        match rel {
            Relation::Parent => tree.link(j, i),
            Relation::Child => tree.link(i, j),
        }
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_nested_and_property_relations_of_is_a_systems() {
        let bundle = json!({"entry": [
            {"resource": {"resourceType": "CodeSystem", "url": "cs", "version": "1", "content": "complete",
                "property": [{"code": "up", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code"}],
                "concept": [
                    {"code": "a", "concept": [{"code": "a1", "concept": [{"code": "a11"}]}, {"code": "a2"}]},
                    {"code": "b", "property": [{"code": "up", "valueCode": "a"}]},
                    {"code": "c", "property": [{"code": "child", "valueCode": "a2"}]},
                    {"code": "d"}]}},
            {"resource": {"resourceType": "CodeSystem", "url": "flat", "content": "complete", "concept": [{"code": "x"}]}},
            {"resource": {"resourceType": "CodeSystem", "url": "grouped", "hierarchyMeaning": "grouped-by",
                "content": "complete", "concept": [{"code": "g", "concept": [{"code": "g1"}]}]}},
            {"resource": {"resourceType": "CodeSystem", "url": "example", "content": "example",
                "concept": [{"code": "e", "concept": [{"code": "e1"}]}]}},
            {"resource": {"resourceType": "CodeSystem", "url": "broken", "content": "complete",
                "concept": [{"code": "k", "concept": [{"code": "k1"}]}, {"code": "z", "property": [{"code": "parent", "valueCode": "nope"}]}]}}
        ]});
        let out = generate(&bundle).expect("generate");
        assert_eq!(
            out.text.lines().skip(1).collect::<Vec<_>>(),
            ["S\tcs\t1", "C\ta", "C\ta1\ta", "C\ta11\ta1", "C\ta2\ta\tc", "C\tb\ta", "C\tc", "C\td"]
        );
        assert_eq!((out.n_systems, out.n_codes, out.n_edges), (1, 7, 5));
        assert_eq!(out.skipped.len(), 1);
        assert!(out.skipped[0].1.contains("nope"));
    }
}
