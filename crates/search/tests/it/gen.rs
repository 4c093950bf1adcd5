//! Seeded query generation. Values are drawn from the data (so most queries match something) or
//! made up (so some match nothing); every parameter type, modifier and prefix, OR and AND, chains,
//! `_has`, `_id`, `_include` and `_revinclude` are produced.
//!
//! Not generated (ambiguous in the specification, or not modelled): `ap`; `sa`/`eb` on numbers
//! and quantities; number values in exponent form; `system|code` forms on tokens of primitives
//! (code, string, boolean, ContactPoint) whose implicit system the specification leaves open;
//! `:below` values that do not end at a `/` (path-segment vs character prefix); phonetic
//! parameters; `:missing` on parameters with values the brute force does not model; unit
//! conversion.

use crate::ast::{Cond, Include, Pfx, Query, RefForm, StrMode, Sys, Test, UriMode};
use crate::brute::{Db, Param, RefTo, Vals};
use crate::values::{format_at, DAY};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use unicode_normalization::UnicodeNormalization;
use weave_fhir::model::SearchParamType;

/// The name of a parameter type, for statistics.
pub fn kind_name(k: SearchParamType) -> &'static str {
    match k {
        SearchParamType::String => "string",
        SearchParamType::Token => "token",
        SearchParamType::Reference => "reference",
        SearchParamType::Date => "date",
        SearchParamType::Number => "number",
        SearchParamType::Quantity => "quantity",
        SearchParamType::Uri => "uri",
        SearchParamType::Composite => "composite",
        SearchParamType::Special => "special",
    }
}

/// The generator.
pub struct Gen<'a> {
    db: &'a Db,
    rng: ChaCha8Rng,
    types: Vec<String>,
    /// (type, code) → live resources with usable values for it.
    usable: BTreeMap<(String, String), Vec<usize>>,
    /// Parameters not to generate at all (not compiled by the indexer, phonetic).
    skip: HashSet<(String, String)>,
    /// Parameters with values the brute force does not model: no `:missing` on them.
    no_missing: BTreeSet<(String, String)>,
    /// Target type → (source type, reference code, sources) for `_has` and `_revinclude`.
    has_src: BTreeMap<String, BTreeMap<(String, String), Vec<usize>>>,
    /// Feature tags of the query being generated.
    pub tags: Vec<String>,
}

fn has_values(kind: SearchParamType, v: &Vals) -> bool {
    match kind {
        SearchParamType::String => !v.strings.is_empty(),
        SearchParamType::Token => !v.tokens.is_empty() || !v.texts.is_empty(),
        SearchParamType::Reference => !v.refs.is_empty() || !v.idents.is_empty(),
        SearchParamType::Date => !v.dates.is_empty(),
        SearchParamType::Number => !v.nums.is_empty(),
        SearchParamType::Quantity => !v.qtys.is_empty(),
        SearchParamType::Uri => !v.uris.is_empty(),
        _ => false,
    }
}

const ALL_DATE_PREFIXES: [Pfx; 9] = [Pfx::None, Pfx::Eq, Pfx::Ne, Pfx::Gt, Pfx::Lt, Pfx::Ge, Pfx::Le, Pfx::Sa, Pfx::Eb];
const NUMBER_PREFIXES: [Pfx; 7] = [Pfx::None, Pfx::Eq, Pfx::Ne, Pfx::Gt, Pfx::Lt, Pfx::Ge, Pfx::Le];

impl<'a> Gen<'a> {
    /// `skip`: (type, code) pairs not to generate (e.g. those the indexer could not compile).
    pub fn new(db: &'a Db, seed: u64, skip: HashSet<(String, String)>) -> Gen<'a> {
        let mut skip = skip;
        let mut usable: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        let mut no_missing = BTreeSet::new();
        let mut has_src: BTreeMap<String, BTreeMap<(String, String), Vec<usize>>> = BTreeMap::new();
        for (t, list) in &db.by_type {
            for p in db.params.get(t).into_iter().flatten() {
                if p.phonetic {
                    skip.insert((t.clone(), p.code.clone()));
                }
            }
            for &i in list {
                for p in db.params.get(t).into_iter().flatten() {
                    let Some(v) = db.vals[i].get(&p.code) else { continue };
                    if v.unsupported {
                        no_missing.insert((t.clone(), p.code.clone()));
                    }
                    if has_values(p.kind, v) {
                        usable.entry((t.clone(), p.code.clone())).or_default().push(i);
                    }
                    for r in &v.refs {
                        let RefTo::Local(tt, id) = r else { continue };
                        let targets_ok = p.targets.is_empty() || p.targets.contains(tt);
                        if targets_ok && db.live_idx(tt, id).is_some() {
                            has_src.entry(tt.clone()).or_default().entry((t.clone(), p.code.clone())).or_default().push(i);
                        }
                    }
                }
            }
        }
        for m in has_src.values_mut() {
            for v in m.values_mut() {
                v.dedup();
            }
        }
        Gen {
            db,
            rng: ChaCha8Rng::seed_from_u64(seed),
            types: db.by_type.keys().cloned().collect(),
            usable,
            skip,
            no_missing,
            has_src,
            tags: Vec::new(),
        }
    }

    /// Parameters excluded from `:missing` (listed in the test output).
    pub fn no_missing(&self) -> &BTreeSet<(String, String)> {
        &self.no_missing
    }

    /// A random index drawn from the generator (for paging choices).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    fn pick<'v, T>(&mut self, v: &'v [T]) -> Option<&'v T> {
        if v.is_empty() {
            None
        } else {
            Some(&v[self.rng.random_range(0..v.len())])
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick_type(&mut self) -> String {
        if self.chance(0.5) {
            let n = self.db.by_type.values().map(Vec::len).sum::<usize>();
            let mut k = self.rng.random_range(0..n);
            for (t, l) in &self.db.by_type {
                if k < l.len() {
                    return t.clone();
                }
                k -= l.len();
            }
        }
        let i = self.rng.random_range(0..self.types.len());
        self.types[i].clone()
    }

    /// Generatable parameters of `t` (with usable values when `with_values`).
    fn params_of(&self, t: &str, with_values: bool) -> Vec<&'a Param> {
        self.db
            .params
            .get(t)
            .into_iter()
            .flatten()
            .filter(|p| !self.skip.contains(&(t.to_owned(), p.code.clone())))
            .filter(|p| !with_values || self.usable.contains_key(&(t.to_owned(), p.code.clone())))
            .collect()
    }

    fn mangle(&mut self, s: &str) -> String {
        match self.rng.random_range(0..5) {
            0 => s.to_ascii_lowercase(),
            1 => s.to_ascii_uppercase(),
            2 => s.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).collect(),
            _ => s.to_owned(),
        }
    }

    fn string_test(&mut self, v: &Vals) -> Option<Test> {
        let s = self.pick(&v.strings)?.clone();
        let chars: Vec<char> = s.chars().collect();
        if chars.is_empty() || crate::values::fold(&s).is_empty() {
            return None;
        }
        let t = match self.rng.random_range(0..10) {
            0..=5 => {
                let n = self.rng.random_range(1..=chars.len().min(12));
                Test::Str(StrMode::Starts, self.mangle(&chars[..n].iter().collect::<String>()))
            }
            6..=7 => Test::Str(StrMode::Exact, if self.chance(0.15) { self.mangle(&s) } else { s }),
            _ => {
                let a = self.rng.random_range(0..chars.len());
                let n = self.rng.random_range(1..=(chars.len() - a).min(8));
                Test::Str(StrMode::Contains, self.mangle(&chars[a..a + n].iter().collect::<String>()))
            }
        };
        match &t {
            Test::Str(_, q) if crate::values::fold(q).is_empty() => None,
            _ => Some(t),
        }
    }

    fn token_test(&mut self, v: &Vals) -> Option<Test> {
        if !v.texts.is_empty() && (v.tokens.is_empty() || self.chance(0.12)) {
            let s = self.pick(&v.texts)?.clone();
            let chars: Vec<char> = s.chars().collect();
            let n = self.rng.random_range(1..=chars.len().clamp(1, 10));
            let q = self.mangle(&chars[..n.min(chars.len())].iter().collect::<String>());
            return (!crate::values::fold(&q).is_empty()).then_some(Test::Text(q));
        }
        let k = self.pick(&v.tokens)?.clone();
        let not = self.chance(0.15);
        let (sys, code) = if k.coded {
            match self.rng.random_range(0..10) {
                0..=3 => (Sys::Any, Some(k.code)),
                4..=6 => (k.system.map_or(Sys::None, Sys::Is), Some(k.code)),
                7 => match k.system {
                    Some(s) => (Sys::Is(s), None),
                    None => (Sys::None, Some(k.code)),
                },
                8 => (Sys::Is("http://example.org/no-such-system".into()), Some(k.code)),
                _ => (Sys::None, Some(k.code)),
            }
        } else {
            (Sys::Any, Some(k.code))
        };
        Some(Test::Token { sys, code, not })
    }

    fn ref_test(&mut self, v: &Vals) -> Option<Test> {
        if !v.idents.is_empty() && (v.refs.is_empty() || self.chance(0.2)) {
            let (s, value) = self.pick(&v.idents)?.clone();
            let sys = match s {
                Some(s) if self.chance(0.6) => Sys::Is(s),
                _ => Sys::Any,
            };
            return Some(Test::Ref(RefForm::Identifier(sys, value)));
        }
        Some(Test::Ref(match self.pick(&v.refs)?.clone() {
            RefTo::Local(t, id) => match self.rng.random_range(0..20) {
                0..=7 => RefForm::Typed(t, id),
                8..=11 => RefForm::Bare(id),
                12..=14 => RefForm::Modifier(t, id),
                15..=16 => RefForm::Absolute(t, id),
                _ => RefForm::Typed(t, format!("{id}-nope")),
            },
            // A relative value that is not `Type/id` would read as an id: only absolute ones.
            RefTo::Url(u) if u.contains(':') => RefForm::Url(u),
            RefTo::Url(_) => return None,
        }))
    }

    fn date_test(&mut self, v: &Vals) -> Option<Test> {
        let &(lo, hi) = self.pick(&v.dates)?;
        let anchor = if lo != i64::MIN && (hi == i64::MAX || self.chance(0.5)) {
            lo
        } else if hi != i64::MAX {
            hi
        } else {
            return None;
        };
        let jitter = match self.rng.random_range(0..4) {
            0 => 0,
            1 => self.rng.random_range(-3..=3) * DAY,
            2 => self.rng.random_range(-90..=90) * 60_000_000,
            _ => self.rng.random_range(-400..=400) * DAY,
        };
        let precision = self.rng.random_range(0..=5u8);
        let offset = if precision >= 3 && self.chance(0.3) { self.rng.random_range(-20..=20) * 30 } else { 0 };
        let prefix = *self.pick(&ALL_DATE_PREFIXES)?;
        Some(Test::Date(prefix, format_at(anchor.saturating_add(jitter), precision, offset)))
    }

    fn number_text(&mut self, x: crate::values::Dec) -> String {
        let places = self.rng.random_range(0..=(x.places() + 1).min(8));
        let truncate = self.chance(0.5);
        x.to_places(places, truncate)
    }

    fn num_test(&mut self, v: &Vals) -> Option<Test> {
        let x = *self.pick(&v.nums)?;
        let text = self.number_text(x);
        Some(Test::Num(*self.pick(&NUMBER_PREFIXES)?, text))
    }

    fn qty_test(&mut self, v: &Vals) -> Option<Test> {
        let q = self.pick(&v.qtys)?.clone();
        let text = self.number_text(q.value);
        let prefix = *self.pick(&NUMBER_PREFIXES)?;
        let (sys, code) = match self.rng.random_range(0..10) {
            0..=3 => (None, None),
            4..=6 if q.system.is_some() && q.code.is_some() => (q.system, q.code),
            4..=8 => match (q.code, q.unit) {
                (Some(c), Some(u)) => (None, Some(if self.chance(0.5) { c } else { u })),
                (Some(x), None) | (None, Some(x)) => (None, Some(x)),
                (None, None) => (None, None),
            },
            _ => (None, Some("no-such-unit".to_owned())),
        };
        Some(Test::Qty(prefix, text, sys, code))
    }

    fn uri_test(&mut self, v: &Vals) -> Option<Test> {
        let u = self.pick(&v.uris)?.clone();
        Some(match self.rng.random_range(0..4) {
            0 | 1 => Test::Uri(UriMode::Exact, u),
            2 => {
                let start = u.find("://").map_or(0, |i| i + 3);
                let cuts: Vec<usize> = u[start..].match_indices('/').map(|(i, _)| start + i + 1).collect();
                match self.pick(&cuts) {
                    Some(&c) => Test::Uri(UriMode::Below, u[..c].to_owned()),
                    None => Test::Uri(UriMode::Exact, u),
                }
            }
            _ => Test::Uri(UriMode::Above, if self.chance(0.7) { format!("{u}/_history/1") } else { u }),
        })
    }

    fn tag_test(&mut self, kind: SearchParamType, t: &Test) {
        let k = kind_name(kind);
        let detail = match t {
            Test::Str(StrMode::Starts, _) => "starts-with".to_owned(),
            Test::Str(StrMode::Exact, _) => ":exact".into(),
            Test::Str(StrMode::Contains, _) => ":contains".into(),
            Test::Token { sys, code, not } => {
                let form = match (sys, code) {
                    (Sys::Any, _) => "code",
                    (Sys::None, _) => "|code",
                    (Sys::Is(_), Some(_)) => "system|code",
                    (Sys::Is(_), None) => "system|",
                };
                if *not { format!(":not {form}") } else { form.to_owned() }
            }
            Test::Text(_) => ":text".into(),
            Test::Ref(f) => match f {
                RefForm::Typed(..) => "Type/id",
                RefForm::Bare(_) => "id",
                RefForm::Modifier(..) => ":Type",
                RefForm::Absolute(..) => "absolute",
                RefForm::Url(_) => "url",
                RefForm::Identifier(..) => ":identifier",
            }
            .to_owned(),
            Test::Date(p, _) | Test::Num(p, _) => format!("prefix {}", if *p == Pfx::None { "(none)" } else { p.text() }),
            Test::Qty(p, _, s, c) => format!(
                "prefix {}{}",
                if *p == Pfx::None { "(none)" } else { p.text() },
                match (s, c) {
                    (None, None) => "",
                    (Some(_), _) => " |system|code",
                    (None, Some(_)) => " ||code",
                }
            ),
            Test::Uri(m, _) => format!("{m:?}").to_lowercase(),
            Test::Missing(b) => format!(":missing={b}"),
        };
        self.tags.push(k.to_owned());
        self.tags.push(format!("{k} {detail}"));
    }

    /// A condition on parameter `p` from the values of resource `i`.
    fn value_cond(&mut self, p: &Param, i: usize) -> Option<Cond> {
        let v = self.db.vals[i].get(&p.code)?;
        let test = match p.kind {
            SearchParamType::String => self.string_test(v),
            SearchParamType::Token => self.token_test(v),
            SearchParamType::Reference => self.ref_test(v),
            SearchParamType::Date => self.date_test(v),
            SearchParamType::Number => self.num_test(v),
            SearchParamType::Quantity => self.qty_test(v),
            SearchParamType::Uri => self.uri_test(v),
            _ => None,
        }?;
        self.tag_test(p.kind, &test);
        Some(Cond::Param(p.code.clone(), test))
    }

    /// A condition with a value that (most likely) occurs nowhere.
    fn absent_cond(&mut self, t: &str, p: &Param) -> Option<Cond> {
        let n = self.rng.random_range(0..100_000);
        let test = match p.kind {
            SearchParamType::String => Test::Str(StrMode::Starts, format!("zzqx{n}")),
            SearchParamType::Token => Test::Token { sys: Sys::Any, code: Some(format!("no-such-code-{n}")), not: false },
            SearchParamType::Reference => Test::Ref(RefForm::Typed(p.targets.first().cloned().unwrap_or_else(|| t.to_owned()), format!("none{n}"))),
            SearchParamType::Date => Test::Date(*self.pick(&ALL_DATE_PREFIXES)?, format!("{}", 1900 + n % 130)),
            SearchParamType::Number => Test::Num(*self.pick(&NUMBER_PREFIXES)?, format!("{}.{}", n % 1000, n % 7)),
            SearchParamType::Quantity => Test::Qty(*self.pick(&NUMBER_PREFIXES)?, format!("{}", n % 500), None, None),
            SearchParamType::Uri => Test::Uri(UriMode::Exact, format!("http://no.such/uri/{n}")),
            _ => return None,
        };
        self.tag_test(p.kind, &test);
        Some(Cond::Param(p.code.clone(), test))
    }

    /// A condition from a parameter type chosen uniformly, then a (type, parameter) with values
    /// of that type chosen uniformly: rare types (number, quantity, uri) get their share.
    fn kind_first_cond(&mut self) -> Option<(String, Cond)> {
        let kinds = [
            SearchParamType::String,
            SearchParamType::Token,
            SearchParamType::Reference,
            SearchParamType::Date,
            SearchParamType::Number,
            SearchParamType::Quantity,
            SearchParamType::Uri,
        ];
        let kind = *self.pick(&kinds)?;
        let pairs: Vec<(String, String)> = self
            .usable
            .keys()
            .filter(|(t, c)| !self.skip.contains(&(t.clone(), c.clone())) && self.db.param(t, c).is_some_and(|p| p.kind == kind))
            .cloned()
            .collect();
        let (t, code) = self.pick(&pairs)?.clone();
        let p = self.db.param(&t, &code)?;
        let list = self.usable.get(&(t.clone(), code))?.clone();
        let i = *self.pick(&list)?;
        self.value_cond(p, i).map(|c| (t, c))
    }

    /// A condition on a random parameter of `t`, from the data of a random resource.
    fn some_cond(&mut self, t: &str) -> Option<Cond> {
        let params = self.params_of(t, true);
        let p = *self.pick(&params)?;
        let list = self.usable.get(&(t.to_owned(), p.code.clone()))?.clone();
        let i = *self.pick(&list)?;
        self.value_cond(p, i)
    }

    fn missing_cond(&mut self, t: &str) -> Option<Cond> {
        let params: Vec<&Param> =
            self.params_of(t, false).into_iter().filter(|p| !self.no_missing.contains(&(t.to_owned(), p.code.clone()))).collect();
        let p = *self.pick(&params)?;
        let test = Test::Missing(self.chance(0.5));
        self.tag_test(p.kind, &test);
        self.tags.push(":missing".into());
        Some(Cond::Param(p.code.clone(), test))
    }

    /// An AND of 2–3 conditions, mostly from one resource (so the intersection is not empty).
    fn and_clauses(&mut self, t: &str) -> Option<Vec<Vec<Cond>>> {
        let list = self.db.by_type.get(t)?.clone();
        let i = *self.pick(&list)?;
        let params: Vec<&Param> =
            self.params_of(t, true).into_iter().filter(|p| self.db.vals[i].get(&p.code).is_some_and(|v| has_values(p.kind, v))).collect();
        if params.len() < 2 {
            return None;
        }
        let n = self.rng.random_range(2..=3usize.min(params.len()));
        let mut out = Vec::new();
        let mut used = HashSet::new();
        for _ in 0..n * 3 {
            let p = *self.pick(&params)?;
            if out.len() >= n || !used.insert(p.code.clone()) {
                continue;
            }
            let others = self.usable.get(&(t.to_owned(), p.code.clone()))?.clone();
            let from = if self.chance(0.8) { i } else { *self.pick(&others)? };
            if let Some(c) = self.value_cond(p, from) {
                out.push(vec![c]);
            }
        }
        (out.len() >= 2).then_some(out)
    }

    /// An OR of 2–3 values of one parameter (with the same modifier).
    fn or_clause(&mut self, t: &str) -> Option<Vec<Cond>> {
        let first = self.some_cond(t)?;
        let code = first.code().to_owned();
        let p = self.db.param(t, &code)?;
        let list = self.usable.get(&(t.to_owned(), code.clone()))?.clone();
        let mut out = vec![first];
        for _ in 0..6 {
            if out.len() >= 3 {
                break;
            }
            let i = *self.pick(&list)?;
            if let Some(c) = self.value_cond(p, i) {
                if c.name() == out[0].name() {
                    out.push(c);
                }
            }
        }
        (out.len() >= 2).then_some(out)
    }

    /// `ref[:Type].inner` built from a live target of a reference of a random resource;
    /// `depth` > 0 may chain once more.
    fn chain_cond(&mut self, t: &str, depth: u8) -> Option<Cond> {
        let params: Vec<&Param> = self.params_of(t, true).into_iter().filter(|p| p.kind == SearchParamType::Reference).collect();
        let p = *self.pick(&params)?;
        let list = self.usable.get(&(t.to_owned(), p.code.clone()))?.clone();
        let i = *self.pick(&list)?;
        let locals: Vec<(String, usize)> = self.db.vals[i][&p.code]
            .refs
            .iter()
            .filter_map(|r| match r {
                RefTo::Local(tt, id) if p.targets.is_empty() || p.targets.contains(tt) => self.db.live_idx(tt, id).map(|j| (tt.clone(), j)),
                _ => None,
            })
            .collect();
        let (tt, j) = self.pick(&locals)?.clone();
        let inner = if depth > 0 && self.chance(0.2) {
            self.chain_cond(&tt, depth - 1)
        } else if self.chance(0.08) {
            self.tags.push("_id".into());
            Some(Cond::Id(self.db.res[j].id.clone()))
        } else if self.chance(0.05) {
            self.missing_cond(&tt)
        } else {
            let params: Vec<&Param> = self
                .params_of(&tt, true)
                .into_iter()
                .filter(|q| self.db.vals[j].get(&q.code).is_some_and(|v| has_values(q.kind, v)))
                .collect();
            let q = *self.pick(&params)?;
            self.value_cond(q, j)
        }?;
        self.tags.push("chain".into());
        let ty = if self.chance(0.5) { Some(tt) } else { None };
        Some(Cond::Chain { code: p.code.clone(), ty, inner: Box::new(inner) })
    }

    /// `_has:Source:ref:param=value` from a live source that references a `t` resource.
    fn has_cond(&mut self, t: &str) -> Option<Cond> {
        let pairs: Vec<(String, String)> = self.has_src.get(t)?.keys().cloned().collect();
        let (src, code) = self.pick(&pairs)?.clone();
        let sources = self.has_src[t][&(src.clone(), code.clone())].clone();
        let s = *self.pick(&sources)?;
        let params: Vec<&Param> =
            self.params_of(&src, true).into_iter().filter(|q| self.db.vals[s].get(&q.code).is_some_and(|v| has_values(q.kind, v))).collect();
        let q = *self.pick(&params)?;
        let inner = self.value_cond(q, s)?;
        self.tags.push("_has".into());
        Some(Cond::Has { src, code, inner: Box::new(inner) })
    }

    fn id_clause(&mut self, t: &str) -> Option<Vec<Cond>> {
        let list = self.db.by_type.get(t)?.clone();
        let n = self.rng.random_range(1..=3);
        let mut out = Vec::new();
        for _ in 0..n {
            let i = *self.pick(&list)?;
            out.push(Cond::Id(if self.chance(0.1) { format!("{}x", self.db.res[i].id) } else { self.db.res[i].id.clone() }));
        }
        self.tags.push("_id".into());
        Some(out)
    }

    fn add_includes(&mut self, q: &mut Query) {
        if self.chance(0.2) {
            let refs: Vec<&Param> = self.params_of(&q.ty, false).into_iter().filter(|p| p.kind == SearchParamType::Reference).collect();
            if let Some(p) = self.pick(&refs).copied() {
                let star = self.chance(0.15);
                let target = if !star && self.chance(0.25) { self.pick(&p.targets).cloned() } else { None };
                q.includes.push(Include { src: q.ty.clone(), code: (!star).then(|| p.code.clone()), target });
                self.tags.push("_include".into());
            }
        }
        if self.chance(0.15) {
            let pairs: Vec<(String, String)> = self.has_src.get(&q.ty).map(|m| m.keys().cloned().collect()).unwrap_or_default();
            if let Some((src, code)) = self.pick(&pairs).cloned() {
                let star = self.chance(0.15);
                q.revincludes.push(Include { src, code: (!star).then_some(code), target: None });
                self.tags.push("_revinclude".into());
            }
        }
    }

    /// One query and its feature tags.
    pub fn query(&mut self) -> (Query, Vec<String>) {
        loop {
            self.tags.clear();
            let mut t = self.pick_type();
            let clauses: Option<Vec<Vec<Cond>>> = match self.rng.random_range(0..100) {
                0..=19 => self.some_cond(&t).map(|c| vec![vec![c]]),
                20..=34 => self.kind_first_cond().map(|(ty, c)| {
                    t = ty;
                    vec![vec![c]]
                }),
                35..=42 => {
                    let params = self.params_of(&t, false);
                    self.pick(&params).copied().and_then(|p| self.absent_cond(&t, p)).map(|c| vec![vec![c]])
                }
                43..=52 => self.or_clause(&t).map(|c| vec![c]),
                53..=64 => self.and_clauses(&t),
                65..=70 => self.missing_cond(&t).map(|c| vec![vec![c]]),
                71..=80 => self.chain_cond(&t, 1).map(|c| vec![vec![c]]),
                81..=88 => self.has_cond(&t).map(|c| vec![vec![c]]),
                89..=92 => self.id_clause(&t).map(|c| vec![c]),
                _ => {
                    let a = self.some_cond(&t);
                    let b = if self.chance(0.5) { self.chain_cond(&t, 0) } else { self.missing_cond(&t) };
                    a.zip(b).map(|(a, b)| vec![vec![a], vec![b]])
                }
            };
            let Some(clauses) = clauses else { continue };
            if clauses.iter().any(|c| c.len() > 1) {
                self.tags.push("OR".into());
            }
            if clauses.len() > 1 {
                self.tags.push("AND".into());
            }
            let mut q = Query { ty: t, clauses, ..Query::default() };
            self.add_includes(&mut q);
            let mut tags = std::mem::take(&mut self.tags);
            tags.sort();
            tags.dedup();
            return (q, tags);
        }
    }
}
