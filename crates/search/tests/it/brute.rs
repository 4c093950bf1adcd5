//! The brute-force search. Every SearchParameter expression (the whole R4 expression, as
//! published, not the implementation's per-type split) is evaluated with FHIRPath on every live
//! resource; the results become comparable values by the specification's rules for each parameter
//! type; a query is answered by testing every resource of the type.
//!
//! Choices where the specification leaves room, documented here and in the report:
//! - `:missing`: a parameter is present when its expression yields an item with content (a
//!   primitive with only an extension is absent);
//! - dates without a time zone are UTC (the implementation documents this); a Period without an
//!   end is open-ended; a Timing covers the outer limits of its events and `repeat.boundsPeriod`;
//!   a string item of a date parameter counts when it is written as a date;
//! - a token of a primitive (code, string, boolean, ContactPoint) has no system;
//! - `:text` matches CodeableConcept.text, Coding.display and Identifier.type.text by prefix, as
//!   a string parameter would;
//! - chains follow only references to the parameter's target types that define the chained
//!   parameter.

use crate::ast::{Cond, Include, Pfx, Query, RefForm, StrMode, Sys, Test, UriMode};
use crate::data::Res;
use crate::values::{date_range, fold, Dec};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use weave_fhir::model::SearchParamType;
use weave_fhir::r4;
use weave_fhirpath::{EvalContext, Expression, Item};

/// Parameters the brute force does not model (answered elsewhere, or not searchable).
const NOT_MODELLED: [&str; 9] =
    ["_id", "_lastUpdated", "_text", "_content", "_list", "_query", "_filter", "_has", "_type"];

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefTo {
    Local(String, String),
    Url(String),
}

/// A token: `coded` when it comes from a Coding, CodeableConcept or Identifier (where the
/// `system|code` forms mean something).
#[derive(Debug, Clone)]
pub struct Tok {
    pub system: Option<String>,
    pub code: String,
    pub coded: bool,
}

#[derive(Debug, Clone)]
pub struct Qty {
    pub value: Dec,
    pub system: Option<String>,
    pub code: Option<String>,
    pub unit: Option<String>,
}

/// The values of one parameter on one resource.
#[derive(Debug, Clone, Default)]
pub struct Vals {
    pub present: bool,
    /// Some item is of a type the brute force does not model (e.g. SampledData for a quantity).
    pub unsupported: bool,
    pub strings: Vec<String>,
    pub tokens: Vec<Tok>,
    pub texts: Vec<String>,
    pub refs: Vec<RefTo>,
    pub idents: Vec<(Option<String>, String)>,
    pub dates: Vec<(i64, i64)>,
    pub nums: Vec<Dec>,
    pub qtys: Vec<Qty>,
    pub uris: Vec<String>,
}

/// A searchable parameter of a type.
pub struct Param {
    pub code: String,
    pub kind: SearchParamType,
    pub targets: Vec<String>,
    pub phonetic: bool,
    expr: usize,
}

/// The data set as the brute force sees it.
pub struct Db {
    pub base: String,
    pub res: Vec<Res>,
    pub live: Vec<bool>,
    pub key: HashMap<(String, String), usize>,
    /// Live resources per type.
    pub by_type: BTreeMap<String, Vec<usize>>,
    pub params: HashMap<String, Vec<Param>>,
    pub vals: Vec<HashMap<String, Vals>>,
    /// Target (type, id) → (source index, parameter code) of every local reference.
    pub rev: HashMap<(String, String), Vec<(usize, String)>>,
    /// Expressions that failed to evaluate: (type, code, error), first occurrence of each.
    pub eval_errors: BTreeMap<(String, String), String>,
}

fn str_at<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str)
}

fn strings_at(v: &Value, k: &str, out: &mut Vec<String>) {
    match v.get(k) {
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Array(a)) => out.extend(a.iter().filter_map(Value::as_str).map(str::to_owned)),
        _ => {}
    }
}

fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Splits a reference: relative `Type/id[/_history/v]` and the same under the base are local.
pub fn parse_ref(s: &str, base: &str) -> Option<RefTo> {
    if s.is_empty() || s.starts_with('#') {
        return None;
    }
    let rel = s.strip_prefix(base).and_then(|r| r.strip_prefix('/')).unwrap_or(s);
    let segs: Vec<&str> = rel.split('/').collect();
    let local = match segs.as_slice() {
        [t, id] | [t, id, "_history", _] if r4().is_resource_type(t) && is_id(id) => Some((*t, *id)),
        _ => None,
    };
    Some(match local {
        Some((t, id)) => RefTo::Local(t.to_owned(), id.to_owned()),
        None => RefTo::Url(s.to_owned()),
    })
}

const QUANTITY_TYPES: [&str; 7] = ["Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity"];

impl Vals {
    /// Adds one FHIRPath result item as a value of a parameter of `kind`.
    fn add(&mut self, kind: SearchParamType, item: &Item<'_>, base: &str) {
        let (ty, json) = match item {
            Item::Node(n) => (n.type_name(), n.json()),
            Item::String(s) => return self.add_computed_string(kind, s.as_str()),
            Item::Boolean(b) if kind == SearchParamType::Token => {
                self.present = true;
                self.tokens.push(Tok { system: None, code: b.to_string(), coded: false });
                return;
            }
            Item::Integer(_) | Item::Decimal(_) if kind == SearchParamType::Number => {
                self.present = true;
                let text = match item {
                    Item::Integer(i) => i.to_string(),
                    Item::Decimal(d) => d.to_string(),
                    _ => String::new(),
                };
                self.nums.extend(Dec::parse(&text));
                return;
            }
            _ => {
                self.present = true;
                self.unsupported = true;
                return;
            }
        };
        if json.is_null() {
            return; // a primitive with only an extension has no value
        }
        self.present = true;
        let ty = ty.unwrap_or("");
        match kind {
            SearchParamType::String => self.add_string(ty, json),
            SearchParamType::Token => self.add_token(ty, json),
            SearchParamType::Reference => self.add_reference(ty, json, base),
            SearchParamType::Date => self.add_date(ty, json),
            SearchParamType::Number => match json.as_number().and_then(|n| Dec::parse(n.as_str())) {
                Some(d) => self.nums.push(d),
                None => self.unsupported = true,
            },
            SearchParamType::Quantity if QUANTITY_TYPES.contains(&ty) => {
                if let Some(value) = json.get("value").and_then(Value::as_number).and_then(|n| Dec::parse(n.as_str())) {
                    let f = |k| str_at(json, k).map(str::to_owned);
                    self.qtys.push(Qty { value, system: f("system"), code: f("code"), unit: f("unit") });
                }
            }
            SearchParamType::Uri => match json.as_str() {
                Some(s) => self.uris.push(s.to_owned()),
                None => self.unsupported = true,
            },
            _ => self.unsupported = true,
        }
    }

    fn add_computed_string(&mut self, kind: SearchParamType, s: &str) {
        self.present = true;
        match kind {
            SearchParamType::String => self.strings.push(s.to_owned()),
            SearchParamType::Token => self.tokens.push(Tok { system: None, code: s.to_owned(), coded: false }),
            SearchParamType::Uri => self.uris.push(s.to_owned()),
            _ => self.unsupported = true,
        }
    }

    fn add_string(&mut self, ty: &str, v: &Value) {
        match (ty, v) {
            ("HumanName", _) => {
                for k in ["text", "family", "given", "prefix", "suffix"] {
                    strings_at(v, k, &mut self.strings);
                }
            }
            ("Address", _) => {
                for k in ["text", "line", "city", "district", "state", "postalCode", "country"] {
                    strings_at(v, k, &mut self.strings);
                }
            }
            (_, Value::String(s)) => self.strings.push(s.clone()),
            _ => self.unsupported = true,
        }
    }

    fn add_coding(&mut self, c: &Value) {
        if let Some(code) = str_at(c, "code") {
            self.tokens.push(Tok { system: str_at(c, "system").map(str::to_owned), code: code.to_owned(), coded: true });
        }
        if let Some(d) = str_at(c, "display") {
            self.texts.push(d.to_owned());
        }
    }

    fn add_token(&mut self, ty: &str, v: &Value) {
        match (ty, v) {
            ("Coding", _) => self.add_coding(v),
            ("CodeableConcept", _) => {
                for c in v.get("coding").and_then(Value::as_array).into_iter().flatten() {
                    self.add_coding(c);
                }
                if let Some(t) = str_at(v, "text") {
                    self.texts.push(t.to_owned());
                }
            }
            ("Identifier", _) => {
                if let Some(value) = str_at(v, "value") {
                    self.tokens.push(Tok { system: str_at(v, "system").map(str::to_owned), code: value.to_owned(), coded: true });
                }
                if let Some(t) = v.get("type").and_then(|t| str_at(t, "text")) {
                    self.texts.push(t.to_owned());
                }
            }
            ("ContactPoint", _) => {
                if let Some(value) = str_at(v, "value") {
                    self.tokens.push(Tok { system: None, code: value.to_owned(), coded: false });
                }
            }
            (_, Value::Bool(b)) => self.tokens.push(Tok { system: None, code: b.to_string(), coded: false }),
            (_, Value::String(s)) => self.tokens.push(Tok { system: None, code: s.clone(), coded: false }),
            _ => self.unsupported = true,
        }
    }

    fn add_reference(&mut self, ty: &str, v: &Value, base: &str) {
        match (ty, v) {
            ("Reference", _) => {
                if let Some(r) = str_at(v, "reference").and_then(|r| parse_ref(r, base)) {
                    self.refs.push(r);
                }
                if let Some(idf) = v.get("identifier") {
                    if let Some(value) = str_at(idf, "value") {
                        self.idents.push((str_at(idf, "system").map(str::to_owned), value.to_owned()));
                    }
                }
            }
            (_, Value::String(s)) => self.refs.extend(parse_ref(s, base)),
            _ => self.unsupported = true,
        }
    }

    fn add_date(&mut self, ty: &str, v: &Value) {
        let range = |k: &str| str_at(v, k).and_then(date_range);
        match (ty, v) {
            ("date" | "dateTime" | "instant", Value::String(s)) => self.dates.extend(date_range(s)),
            // A string in a date parameter (`CarePlan.activity.detail.scheduled[x]`): the
            // specification is silent; like the implementation, one written as a date counts.
            ("string", Value::String(s)) => match date_range(s) {
                Some(r) => self.dates.push(r),
                None => self.unsupported = true,
            },
            ("Period", _) => {
                if v.get("start").is_some() || v.get("end").is_some() {
                    let lo = range("start").map_or(i64::MIN, |r| r.0);
                    let hi = range("end").map_or(i64::MAX, |r| r.1);
                    self.dates.push((lo, hi));
                }
            }
            ("Timing", _) => {
                let mut ranges: Vec<(i64, i64)> =
                    v.get("event").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).filter_map(date_range).collect();
                if let Some(b) = v.get("repeat").and_then(|r| r.get("boundsPeriod")) {
                    let lo = str_at(b, "start").and_then(date_range).map_or(i64::MIN, |r| r.0);
                    let hi = str_at(b, "end").and_then(date_range).map_or(i64::MAX, |r| r.1);
                    ranges.push((lo, hi));
                }
                if let (Some(lo), Some(hi)) = (ranges.iter().map(|r| r.0).min(), ranges.iter().map(|r| r.1).max()) {
                    self.dates.push((lo, hi));
                }
            }
            _ => self.unsupported = true,
        }
    }
}

/// Date prefixes as search.html defines them on the ranges of the search value `[slo, shi]`
/// and the target `[tlo, thi]`.
pub fn date_match(p: Pfx, (slo, shi): (i64, i64), (tlo, thi): (i64, i64)) -> bool {
    let contains = slo <= tlo && thi <= shi;
    match p {
        Pfx::None | Pfx::Eq => contains,
        Pfx::Ne => !contains,
        Pfx::Gt => thi > shi,
        Pfx::Lt => tlo < slo,
        Pfx::Ge => thi > shi || contains,
        Pfx::Le => tlo < slo || contains,
        Pfx::Sa => tlo > shi,
        Pfx::Eb => thi < slo,
    }
}

/// Number prefixes: without a prefix (or `eq`/`ne`) the search value's precision makes a range
/// `[v - ½ulp, v + ½ulp)`; the other prefixes compare with the exact value.
pub fn num_match(p: Pfx, q: Dec, x: Dec) -> bool {
    let h = q.half_unit();
    let in_range = || match (q.sub(h), q.add(h)) {
        (Some(lo), Some(hi)) => lo <= x && x < hi,
        _ => false,
    };
    match p {
        Pfx::None | Pfx::Eq => in_range(),
        Pfx::Ne => !in_range(),
        Pfx::Gt => x > q,
        Pfx::Lt => x < q,
        Pfx::Ge => x >= q,
        Pfx::Le => x <= q,
        // Not generated: for a point value the specification's range wording and the number
        // section disagree.
        Pfx::Sa | Pfx::Eb => false,
    }
}

fn sys_match(s: &Sys, system: Option<&str>) -> bool {
    match s {
        Sys::Any => true,
        Sys::None => system.is_none(),
        Sys::Is(x) => system == Some(x.as_str()),
    }
}

fn uri_match(mode: UriMode, q: &str, u: &str) -> bool {
    match mode {
        UriMode::Exact => u == q,
        // Generated values end with '/', so this is the path-segment reading.
        UriMode::Below => u.starts_with(q),
        UriMode::Above => u == q || (q.starts_with(u) && (u.ends_with('/') || q[u.len()..].starts_with('/'))),
    }
}

impl Db {
    /// Builds the brute-force view: evaluates every modelled parameter on every live resource.
    pub fn new(res: Vec<Res>, live: Vec<bool>, base: &str) -> Db {
        let model = r4();
        let mut exprs: Vec<Expression> = Vec::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut params: HashMap<String, Vec<Param>> = HashMap::new();
        let mut by_type: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut key = HashMap::new();
        for (i, r) in res.iter().enumerate() {
            if live[i] {
                by_type.entry(r.ty.clone()).or_default().push(i);
                key.insert((r.ty.clone(), r.id.clone()), i);
            }
        }
        for t in by_type.keys().cloned().collect::<Vec<_>>().into_iter().chain(model.resource_types().map(str::to_owned)) {
            if params.contains_key(&t) {
                continue;
            }
            let mut list = Vec::new();
            for sp in model.search_params(&t) {
                if NOT_MODELLED.contains(&sp.code.as_str()) || matches!(sp.kind, SearchParamType::Composite | SearchParamType::Special) {
                    continue;
                }
                let Some(text) = sp.expression.as_deref() else { continue };
                let expr = match by_text.get(text) {
                    Some(&e) => e,
                    None => match Expression::compile(text) {
                        Ok(e) => {
                            exprs.push(e);
                            by_text.insert(text.to_owned(), exprs.len() - 1);
                            exprs.len() - 1
                        }
                        Err(_) => continue,
                    },
                };
                let phonetic = sp.xpath_usage.as_deref() == Some("phonetic") || sp.code == "phonetic";
                list.push(Param { code: sp.code.clone(), kind: sp.kind, targets: sp.targets.clone(), phonetic, expr });
            }
            params.insert(t, list);
        }
        let mut db = Db {
            base: base.to_owned(),
            vals: vec![HashMap::new(); res.len()],
            res,
            live,
            key,
            by_type,
            params,
            rev: HashMap::new(),
            eval_errors: BTreeMap::new(),
        };
        db.evaluate_all(&exprs);
        db
    }

    fn evaluate_all(&mut self, exprs: &[Expression]) {
        let ctx = EvalContext { lenient_as: true, ..EvalContext::default() };
        for i in 0..self.res.len() {
            if !self.live[i] {
                continue;
            }
            let r = &self.res[i];
            let mut map = HashMap::new();
            for p in self.params.get(&r.ty).map_or(&[][..], Vec::as_slice) {
                let mut v = Vals::default();
                match exprs[p.expr].evaluate(&r.json, &ctx) {
                    Ok(items) => {
                        for it in &items {
                            v.add(p.kind, it, &self.base);
                        }
                    }
                    Err(e) => {
                        self.eval_errors.entry((r.ty.clone(), p.code.clone())).or_insert_with(|| format!("{}: {e}", r.id));
                    }
                }
                for rf in &v.refs {
                    if let RefTo::Local(t, id) = rf {
                        self.rev.entry((t.clone(), id.clone())).or_default().push((i, p.code.clone()));
                    }
                }
                map.insert(p.code.clone(), v);
            }
            self.vals[i] = map;
        }
    }

    /// The searchable parameter `code` of type `t`.
    pub fn param(&self, t: &str, code: &str) -> Option<&Param> {
        self.params.get(t)?.iter().find(|p| p.code == code)
    }

    /// The live resource `t/id`.
    pub fn live_idx(&self, t: &str, id: &str) -> Option<usize> {
        self.key.get(&(t.to_owned(), id.to_owned())).copied()
    }

    fn vals_of(&self, i: usize, code: &str) -> Option<&Vals> {
        self.vals[i].get(code)
    }

    /// Does resource `i` satisfy `c`?
    pub fn cond(&self, i: usize, c: &Cond) -> bool {
        let r = &self.res[i];
        match c {
            Cond::Id(id) => r.id == *id,
            Cond::Param(code, t) => {
                let empty = Vals::default();
                let v = self.vals_of(i, code).unwrap_or(&empty);
                let targets = self.param(&r.ty, code).map_or(&[][..], |p| p.targets.as_slice());
                test(v, t, targets)
            }
            Cond::Chain { code, ty, inner } => {
                let Some(p) = self.param(&r.ty, code) else { return false };
                let inner_code = inner.code();
                let ok_type = |t: &str| match ty {
                    Some(x) => x == t,
                    None => {
                        (p.targets.is_empty() || p.targets.iter().any(|x| x == t))
                            && (inner_code.starts_with('_') || r4().search_param(t, inner_code).is_some())
                    }
                };
                self.vals_of(i, code).is_some_and(|v| {
                    v.refs.iter().any(|rf| match rf {
                        RefTo::Local(t, id) if ok_type(t) => self.live_idx(t, id).is_some_and(|j| self.cond(j, inner)),
                        _ => false,
                    })
                })
            }
            Cond::Has { src, code, inner } => self.rev.get(&(r.ty.clone(), r.id.clone())).is_some_and(|sources| {
                sources.iter().any(|(s, p)| p == code && self.res[*s].ty == *src && self.live[*s] && self.cond(*s, inner))
            }),
        }
    }

    /// The ids of the live resources of the query's type that match its clauses.
    pub fn search(&self, q: &Query) -> Vec<usize> {
        self.by_type
            .get(&q.ty)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| q.clauses.iter().all(|cl| cl.iter().any(|c| self.cond(i, c))))
            .collect()
    }

    /// Reference parameter codes of `t` an include names (`None`: all of them).
    fn ref_codes<'a>(&'a self, t: &str, code: &'a Option<String>) -> Vec<&'a str> {
        match code {
            Some(c) => vec![c.as_str()],
            None => self
                .params
                .get(t)
                .into_iter()
                .flatten()
                .filter(|p| p.kind == SearchParamType::Reference)
                .map(|p| p.code.as_str())
                .collect(),
        }
    }

    /// `_include`: live targets of the matches' references.
    pub fn include(&self, matches: &[usize], inc: &Include) -> HashSet<usize> {
        let mut out = HashSet::new();
        for &m in matches {
            if self.res[m].ty != inc.src {
                continue;
            }
            for code in self.ref_codes(&inc.src, &inc.code) {
                for rf in self.vals_of(m, code).map_or(&[][..], |v| v.refs.as_slice()) {
                    if let RefTo::Local(t, id) = rf {
                        if inc.target.as_deref().is_none_or(|x| x == t) {
                            out.extend(self.live_idx(t, id));
                        }
                    }
                }
            }
        }
        out
    }

    /// `_revinclude`: live `src` resources referencing any match.
    pub fn revinclude(&self, matches: &[usize], inc: &Include) -> HashSet<usize> {
        let codes = self.ref_codes(&inc.src, &inc.code);
        let mut out = HashSet::new();
        for &m in matches {
            let r = &self.res[m];
            for (s, p) in self.rev.get(&(r.ty.clone(), r.id.clone())).into_iter().flatten() {
                if self.live[*s] && self.res[*s].ty == inc.src && codes.contains(&p.as_str()) {
                    out.insert(*s);
                }
            }
        }
        out
    }
}

/// One value test on the values of one parameter.
fn test(v: &Vals, t: &Test, targets: &[String]) -> bool {
    match t {
        Test::Missing(m) => *m != v.present,
        Test::Str(mode, q) => v.strings.iter().any(|s| match mode {
            StrMode::Starts => fold(s).starts_with(&fold(q)),
            StrMode::Exact => s == q,
            StrMode::Contains => fold(s).contains(&fold(q)),
        }),
        Test::Token { sys, code, not } => {
            let any = v.tokens.iter().any(|k| sys_match(sys, k.system.as_deref()) && code.as_ref().is_none_or(|c| *c == k.code));
            any != *not
        }
        Test::Text(q) => v.texts.iter().any(|s| fold(s).starts_with(&fold(q))),
        Test::Ref(form) => v.refs.iter().any(|r| ref_match(form, r, targets)) || ident_match(form, &v.idents),
        Test::Date(p, q) => date_range(q).is_some_and(|s| v.dates.iter().any(|d| date_match(*p, s, *d))),
        Test::Num(p, q) => Dec::parse(q).is_some_and(|q| v.nums.iter().any(|x| num_match(*p, q, *x))),
        Test::Qty(p, q, sys, code) => Dec::parse(q).is_some_and(|q| {
            v.qtys.iter().any(|x| {
                let units = match (sys, code) {
                    (None, None) => true,
                    (Some(s), Some(c)) => x.system.as_ref() == Some(s) && x.code.as_ref() == Some(c),
                    (None, Some(c)) => x.code.as_ref() == Some(c) || x.unit.as_ref() == Some(c),
                    (Some(s), None) => x.system.as_ref() == Some(s),
                };
                units && num_match(*p, q, x.value)
            })
        }),
        Test::Uri(mode, q) => v.uris.iter().any(|u| uri_match(*mode, q, u)),
    }
}

fn ref_match(form: &RefForm, r: &RefTo, targets: &[String]) -> bool {
    match (form, r) {
        (RefForm::Typed(t, id) | RefForm::Modifier(t, id) | RefForm::Absolute(t, id), RefTo::Local(rt, rid)) => t == rt && id == rid,
        (RefForm::Bare(id), RefTo::Local(rt, rid)) => id == rid && (targets.len() != 1 || targets[0] == *rt),
        (RefForm::Url(u), RefTo::Url(ru)) => u == ru,
        _ => false,
    }
}

fn ident_match(form: &RefForm, idents: &[(Option<String>, String)]) -> bool {
    match form {
        RefForm::Identifier(sys, v) => idents.iter().any(|(s, iv)| sys_match(sys, s.as_deref()) && iv == v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> (i64, i64) {
        date_range(s).expect("date")
    }

    #[test]
    fn date_prefixes_follow_the_range_definitions() {
        let q = day("2013-03-14");
        let straddle = (day("2013-03-10").0, day("2013-03-14T12:00:00Z").1);
        assert!(!date_match(Pfx::Ge, q, straddle) && date_match(Pfx::Le, q, straddle));
        assert!(date_match(Pfx::Ge, q, (day("2013-01-21").0, i64::MAX)));
        assert!(date_match(Pfx::Sa, q, day("2013-03-15")) && !date_match(Pfx::Sa, q, (day("2013-01-21").0, i64::MAX)));
        assert!(date_match(Pfx::Eb, q, (i64::MIN, day("2013-01-21").1)));
        assert!(date_match(Pfx::Lt, day("2013-01-14T10:00Z"), day("2013-01-14")));
        assert!(date_match(Pfx::Ne, q, day("2013-03")) && !date_match(Pfx::Eq, q, day("2013-03")));
    }

    #[test]
    fn numbers_use_the_precision_of_the_search_value() {
        let d = |s: &str| Dec::parse(s).expect("decimal");
        assert!(num_match(Pfx::None, d("100"), d("99.5")) && !num_match(Pfx::None, d("100"), d("100.5")));
        assert!(num_match(Pfx::Eq, d("5.4"), d("5.35")) && !num_match(Pfx::Eq, d("5.4"), d("5.45")));
        assert!(num_match(Pfx::Ne, d("100"), d("100.5")) && num_match(Pfx::Gt, d("100"), d("100.001")));
        assert!(!num_match(Pfx::Lt, d("100"), d("100")) && num_match(Pfx::Le, d("100"), d("100.0")));
    }

    #[test]
    fn uris_match_by_path() {
        assert!(uri_match(UriMode::Above, "http://a/b/c/_history/1", "http://a/b/c"));
        assert!(!uri_match(UriMode::Above, "http://a/b/cd/_history/1", "http://a/b/c"));
        assert!(uri_match(UriMode::Below, "http://a/", "http://a/b"));
        assert_eq!(parse_ref("Patient/1/_history/2", "http://h"), Some(RefTo::Local("Patient".into(), "1".into())));
        assert_eq!(parse_ref("http://h/Patient/1", "http://h"), Some(RefTo::Local("Patient".into(), "1".into())));
        assert_eq!(parse_ref("#p", "http://h"), None);
    }
}
