//! Composite search parameters — `Observation?code-value-quantity=http://loinc.org|8480-6$gt140`:
//! both components must hold *on the same element* (the same Observation, the same component).
//!
//! Weave supports the composites of two components whose first is a token: for every element the
//! composite's expression yields, each code of the first component is folded into the parameter
//! name of the second component's rows — `code-value-quantity$http://loinc.org|8480-6` and
//! `code-value-quantity$*|8480-6` (any system) — so a query is one ordinary predicate on the
//! second component's table, under that name. The second may be of any type (a token too:
//! `Group?characteristic-value=gender$mixed`).
//!
//! Of R4's 46 composite definitions, 41 pair a token with one other component and are indexed,
//! and so is DocumentReference `relationship` once read right: its R4 components pair the `code` expression
//! with the `relatesto` (reference) definition and `target` with `relation` (token) — the
//! definitions are swapped (see [`SWAPPED`]); it is searched as `relation$relatesto`
//! (`relationship=replaces$DocumentReference/1`), as its description says.
//!
//! The four MolecularSequence coordinates pair a token with *two* numbers
//! (`chromosome-variant-coordinate=1$lt345$gt123`: chromosome 1, a variant starting before 345
//! and ending after 123). Both numbers must hold on the same element, so they are kept together:
//! one date-table row per element and code, under the name that folds in the code, with the
//! first number as the row's `lo` and the second as its `hi`; the query is one `NumberPair`
//! predicate on that row.

use crate::extract;
use serde_json::Value;
use weave_fhir::model::{SearchParamDef, SearchParamType};
use weave_fhir::r4;
use weave_fhirpath::{EvalContext, Expression, Item};
use weave_store::IndexEntries;

/// A composite parameter compiled for one resource type.
pub struct Composite {
    code: String,
    /// The elements both components are evaluated on.
    expr: Expression,
    first: Expression,
    second: Expression,
    second_kind: SearchParamType,
    /// The second number of a token + number + number composite.
    third: Option<Expression>,
}

/// The name under which the second component's rows are kept for one code of the first:
/// `system` `None` is "any system" (`*`); `Some("")` is "no system".
pub fn row_param(code: &str, system: Option<&str>, token_code: &str) -> String {
    format!("{code}${}|{token_code}", system.unwrap_or("*"))
}

/// Composites whose R4 components name each other's definitions: DocumentReference
/// `relationship` (`code` is the `relation` token, `target` the `relatesto` reference).
pub const SWAPPED: [&str; 1] = ["http://hl7.org/fhir/SearchParameter/DocumentReference-relationship"];

/// The definition of a composite's `i`th component (the one its `i`th expression extracts).
pub fn component(sp: &SearchParamDef, i: usize) -> Option<&'static SearchParamDef> {
    let j = match (SWAPPED.contains(&sp.url.as_str()) && sp.components.len() == 2, i) {
        (true, 0) => 1,
        (true, 1) => 0,
        _ => i,
    };
    let url = &sp.components.get(j)?.definition_url;
    sp.base.iter().find_map(|t| r4().search_params(t).iter().find(|p| &p.url == url))
}

/// Whether Weave indexes this composite: a token and one other component, or a token and two
/// numbers.
pub fn supported(sp: &SearchParamDef) -> bool {
    let kind = |i| component(sp, i).map(|c| c.kind);
    kind(0) == Some(SearchParamType::Token)
        && match sp.components.len() {
            2 => kind(1).is_some_and(|k| !matches!(k, SearchParamType::Composite | SearchParamType::Special)),
            3 => is_number_pair(sp),
            _ => false,
        }
}

/// Whether this composite is a token followed by two numbers (searched with `NumberPair`).
pub fn is_number_pair(sp: &SearchParamDef) -> bool {
    sp.components.len() == 3
        && (1..3).all(|i| component(sp, i).is_some_and(|c| c.kind == SearchParamType::Number))
}

/// Compiles a composite for a type (`own` is its expression restricted to that type); `None`
/// when it is not supported, `Err` when an expression does not compile.
pub(crate) fn compile(sp: &SearchParamDef, own: &str) -> Option<Result<Composite, String>> {
    if !supported(sp) {
        return None;
    }
    let second_kind = component(sp, 1)?.kind;
    let compile = |s: &str| Expression::compile(s).map_err(|e| e.to_string());
    Some((|| {
        Ok(Composite {
            code: sp.code.clone(),
            expr: compile(own)?,
            first: compile(&sp.components[0].expression)?,
            second: compile(&sp.components[1].expression)?,
            second_kind,
            third: sp.components.get(2).map(|c| compile(&c.expression)).transpose()?,
        })
    })())
}

/// Every (second, third) pair of whole numbers of one element (the components are `integer`s in
/// R4; a value that is not a whole number is not indexed).
fn number_pairs(seconds: &[Item<'_>], thirds: &[Item<'_>]) -> Vec<(i64, i64)> {
    let whole = |items: &[Item<'_>]| -> Vec<i64> {
        let mut ix = IndexEntries::default();
        items.iter().for_each(|i| extract::add_number("", i, &mut ix));
        #[allow(clippy::cast_possible_truncation)]
        ix.numbers.iter().filter(|(_, v)| v.fract() == 0.0 && v.abs() < 9.0e15).map(|(_, v)| *v as i64).collect()
    };
    let (a, b) = (whole(seconds), whole(thirds));
    a.iter().flat_map(|x| b.iter().map(move |y| (*x, *y))).collect()
}

impl Composite {
    /// The parameter's code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Adds the rows of this composite for one resource.
    pub(crate) fn extract(&self, resource: &Value, base_url: &str, ix: &mut IndexEntries) {
        let ctx = EvalContext { lenient_as: true, ..EvalContext::default() };
        let Ok(elements) = self.expr.evaluate(resource, &ctx) else { return };
        for element in &elements {
            let on = EvalContext { lenient_as: true, context: Some(vec![element.clone()]), ..EvalContext::default() };
            let (Ok(firsts), Ok(seconds)) = (self.first.evaluate(resource, &on), self.second.evaluate(resource, &on)) else {
                continue;
            };
            let pairs = match &self.third {
                Some(third) => match third.evaluate(resource, &on) {
                    Ok(thirds) => number_pairs(&seconds, &thirds),
                    Err(_) => continue,
                },
                None => Vec::new(),
            };
            let mut codes = IndexEntries::default();
            for f in &firsts {
                extract::add_token("", f, &mut codes);
            }
            for (_, system, code, _) in codes.tokens.iter().filter(|t| !t.2.is_empty()) {
                let named = [row_param(&self.code, Some(system.as_deref().unwrap_or("")), code), row_param(&self.code, None, code)];
                for name in &named {
                    if self.third.is_some() {
                        ix.dates.extend(pairs.iter().map(|&(a, b)| (name.clone(), a, b)));
                        continue;
                    }
                    for s in &seconds {
                        self.add_second(name, s, base_url, ix);
                    }
                }
            }
        }
    }

    fn add_second(&self, name: &str, item: &Item<'_>, base_url: &str, ix: &mut IndexEntries) {
        match self.second_kind {
            SearchParamType::String => extract::add_string(name, item, ix),
            SearchParamType::Token => extract::add_token(name, item, ix),
            SearchParamType::Reference => extract::add_reference(name, item, base_url, ix),
            SearchParamType::Date => extract::add_date(name, item, ix),
            SearchParamType::Number => extract::add_number(name, item, ix),
            SearchParamType::Quantity => extract::add_quantity(name, item, ix),
            SearchParamType::Uri => extract::add_uri(name, item, ix),
            SearchParamType::Composite | SearchParamType::Special => {}
        }
    }
}
