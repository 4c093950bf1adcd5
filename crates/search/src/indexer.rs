//! The indexer: every R4 SearchParameter expression compiled once per resource type, evaluated on
//! each written resource to produce its index rows.

use crate::extract;
use serde_json::Value;
use crate::terminology::Terminology;
use std::collections::HashMap;
use std::sync::Arc;
use weave_fhir::model::{SearchParamDef, SearchParamType};
use weave_fhir::r4;
use weave_fhirpath::{EvalContext, Expression};
use weave_store::IndexEntries;

/// Parameters answered from the resource table rather than index rows, or not indexable.
const NOT_INDEXED: [&str; 9] =
    ["_id", "_lastUpdated", "_text", "_content", "_list", "_query", "_filter", "_has", "_type"];

/// One compiled search parameter of one resource type.
#[derive(Debug)]
pub struct IndexedParam {
    pub code: String,
    pub kind: SearchParamType,
    expr: Expression,
}

/// Compiled search parameters for every resource type.
pub struct Indexer {
    base_url: String,
    by_type: HashMap<String, Vec<IndexedParam>>,
    /// The composite parameters of each type that Weave indexes (see [`crate::composite`]).
    composites: HashMap<String, Vec<crate::composite::Composite>>,
    /// (type, code, reason) of parameters that could not be compiled.
    skipped: Vec<(String, String, String)>,
    /// What conditional searches made with this indexer resolve `:in`, `:not-in`, `:below` and
    /// `:above` against (the model's value sets and hierarchies when none is set).
    terminology: Option<Arc<dyn Terminology>>,
}

impl Indexer {
    /// Compiles the parameters of every resource type. `base_url` lets absolute references to
    /// this server be indexed as local ones.
    pub fn new(base_url: &str) -> Indexer {
        Indexer::build(base_url, &[])
    }

    /// The R4 parameters and `custom` ones (see [`crate::custom`]); an error names a custom
    /// parameter whose expression does not compile for one of its base types.
    pub fn with_custom(base_url: &str, custom: &[SearchParamDef]) -> Result<Indexer, String> {
        let ix = Indexer::build(base_url, custom);
        match ix.skipped.iter().find(|(_, code, _)| custom.iter().any(|c| &c.code == code)) {
            Some((t, code, why)) => Err(format!("{t}.{code}: {why}")),
            None => Ok(ix),
        }
    }

    fn build(base_url: &str, custom: &[SearchParamDef]) -> Indexer {
        let model = r4();
        let mut by_type = HashMap::new();
        let mut composites = HashMap::new();
        let mut skipped = Vec::new();
        for t in model.resource_types() {
            let mut params = Vec::new();
            let mut comps = Vec::new();
            let own_custom = custom.iter().filter(|c| c.base.iter().any(|b| b == t));
            for sp in model.search_params(t).iter().chain(own_custom) {
                if NOT_INDEXED.contains(&sp.code.as_str())
                    || sp.kind == SearchParamType::Special
                    || crate::unions::members(t, &sp.code).is_some()
                    || crate::aliases::is_alias(t, &sp.code)
                {
                    continue;
                }
                let Some(expr) = sp.expression.as_deref() else { continue };
                let Some(own) = for_type(expr, t) else { continue };
                if sp.kind == SearchParamType::Composite {
                    match crate::composite::compile(sp, &own) {
                        Some(Ok(c)) => comps.push(c),
                        Some(Err(e)) => skipped.push((t.to_owned(), sp.code.clone(), e)),
                        None => skipped.push((t.to_owned(), sp.code.clone(), "a composite whose first component is not a token".into())),
                    }
                    continue;
                }
                match Expression::compile(&own) {
                    Ok(expr) => params.push(IndexedParam { code: sp.code.clone(), kind: sp.kind, expr }),
                    Err(e) => skipped.push((t.to_owned(), sp.code.clone(), e.to_string())),
                }
            }
            by_type.insert(t.to_owned(), params);
            composites.insert(t.to_owned(), comps);
        }
        Indexer { base_url: base_url.trim_end_matches('/').to_owned(), by_type, composites, skipped, terminology: None }
    }

    /// The server's base URL (absolute references under it are local).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// This indexer with the terminology its conditional searches use (see [`Indexer::terminology`]).
    #[must_use]
    pub fn with_terminology(mut self, terminology: Arc<dyn Terminology>) -> Indexer {
        self.terminology = Some(terminology);
        self
    }

    /// The terminology for searches parsed where only the indexer is at hand (conditional
    /// interactions inside write jobs): the server's, or the model's value sets and hierarchies.
    pub fn terminology(&self) -> &dyn Terminology {
        match &self.terminology {
            Some(t) => t.as_ref(),
            None => crate::terminology::builtin(),
        }
    }

    /// The indexed parameters of a type.
    pub fn params(&self, resource_type: &str) -> &[IndexedParam] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }

    /// The composite parameters of a type that are indexed.
    pub fn composite_codes(&self, resource_type: &str) -> Vec<&str> {
        self.composites.get(resource_type).map(|cs| cs.iter().map(crate::composite::Composite::code).collect()).unwrap_or_default()
    }

    /// Parameters that could not be compiled, with the reason.
    pub fn skipped(&self) -> &[(String, String, String)] {
        &self.skipped
    }

    /// The index rows of one resource, its contained resources' included (see
    /// [`crate::contained`]).
    pub fn extract(&self, resource_type: &str, resource: &Value) -> IndexEntries {
        let mut ix = self.rows(resource_type, resource);
        ix.text = crate::fulltext::full_text(resource);
        ix.contained = crate::contained::extract(self, resource);
        ix
    }

    /// The value rows of one resource: its parameters' and composites' (no full text, nothing
    /// of its contained resources).
    pub(crate) fn rows(&self, resource_type: &str, resource: &Value) -> IndexEntries {
        let mut ix = IndexEntries::default();
        // `x as T` on several items filters (like `ofType`) instead of failing: several R4
        // expressions (e.g. `Observation.component.value as Quantity`) rely on it.
        let ctx = EvalContext { lenient_as: true, ..EvalContext::default() };
        for p in self.params(resource_type) {
            let Ok(items) = p.expr.evaluate(resource, &ctx) else { continue };
            let before = rows_for(&ix, p.kind);
            for item in &items {
                match p.kind {
                    SearchParamType::String => extract::add_string(&p.code, item, &mut ix),
                    SearchParamType::Token => extract::add_token(&p.code, item, &mut ix),
                    SearchParamType::Reference => extract::add_reference(&p.code, item, &self.base_url, &mut ix),
                    SearchParamType::Date => extract::add_date(&p.code, item, &mut ix),
                    SearchParamType::Number => extract::add_number(&p.code, item, &mut ix),
                    SearchParamType::Quantity => extract::add_quantity(&p.code, item, &mut ix),
                    SearchParamType::Uri => extract::add_uri(&p.code, item, &mut ix),
                    SearchParamType::Composite | SearchParamType::Special => {}
                }
            }
            // `:missing` asks whether the element is there. Value rows say so already; only a
            // value that gave no row (a CodeableConcept with text alone, say) needs a marker.
            if !items.is_empty() && rows_for(&ix, p.kind) == before {
                ix.present.push(p.code.clone());
            }
        }
        for c in self.composites.get(resource_type).into_iter().flatten() {
            c.extract(resource, &self.base_url, &mut ix);
        }
        ix
    }
}

/// Rows so far in the table of a parameter type (types without a table count as 0, so a value
/// of theirs always gets a marker).
fn rows_for(ix: &IndexEntries, kind: SearchParamType) -> usize {
    match kind {
        SearchParamType::String => ix.strings.len(),
        SearchParamType::Token => ix.tokens.len(),
        SearchParamType::Reference => ix.references.len(),
        SearchParamType::Date => ix.dates.len(),
        SearchParamType::Number => ix.numbers.len(),
        SearchParamType::Quantity => ix.quantities.len(),
        SearchParamType::Uri => ix.uris.len(),
        SearchParamType::Composite | SearchParamType::Special => 0,
    }
}

/// The part of a (possibly multi-type) expression that applies to `t`: top-level `|` branches
/// that start with another resource type are dropped. `None` when nothing applies.
pub(crate) fn for_type(expr: &str, t: &str) -> Option<String> {
    let model = r4();
    let kept: Vec<&str> = split_union(expr)
        .into_iter()
        .filter(|part| {
            let lead: String = part
                .trim_start_matches(|c: char| c == '(' || c.is_whitespace())
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            lead == t || !model.is_resource_type(&lead)
        })
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(kept.join(" | "))
    }
}

/// Splits on `|` outside parentheses and string literals.
fn split_union(expr: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut in_str, mut start) = (0i32, false, 0usize);
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'\'' => in_str = !in_str,
            b'(' if !in_str => depth += 1,
            b')' if !in_str => depth -= 1,
            b'|' if !in_str && depth == 0 => {
                parts.push(expr[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(expr[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_branches_of_the_type() {
        let e = "AllergyIntolerance.patient | CarePlan.subject.where(resolve() is Patient) | (Observation.value as Quantity)";
        assert_eq!(for_type(e, "CarePlan").as_deref(), Some("CarePlan.subject.where(resolve() is Patient)"));
        assert_eq!(for_type(e, "Observation").as_deref(), Some("(Observation.value as Quantity)"));
        assert_eq!(for_type(e, "Patient"), None);
        assert_eq!(split_union("a.where(x = 'a|b') | b"), vec!["a.where(x = 'a|b')", "b"]);
    }
}
