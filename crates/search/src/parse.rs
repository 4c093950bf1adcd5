//! FHIR search parameters (`name[:modifier]=value[,value]`, repeated for AND) to a [`SearchQuery`].

use crate::dates::date_range;
use crate::extract::parse_reference;
use crate::normalize;
use crate::terminology::{Direction, Expansion, Terminology, TerminologyError, MAX_CODES};
use weave_fhir::model::{SearchParamDef, SearchParamType};
use weave_fhir::r4;
use weave_store::query::{Clause, IndexTable, Predicate, Prefix, SearchQuery, SortKey, StringMatch, TotalMode, UriMatch};

/// A search request that cannot be run as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("unknown search parameter '{param}' for {resource_type}")]
    UnknownParameter { resource_type: String, param: String },
    #[error("invalid value for search parameter '{param}': {message}")]
    InvalidValue { param: String, message: String },
    #[error("the modifier ':{modifier}' is not supported on '{param}'")]
    UnsupportedModifier { param: String, modifier: String },
    /// The terminology could not be consulted (a storage failure, not the request's fault).
    #[error("terminology unavailable: {0}")]
    Unavailable(String),
}

/// What every part of the parser needs besides the parameter: the server's base URL (for
/// references) and the terminology (for `:in`, `:not-in`, `:above`, `:below` on tokens).
struct Ctx<'a> {
    base: &'a str,
    term: &'a dyn Terminology,
    /// Codes the terminology modifiers of this search have put in its predicates so far.
    codes: std::cell::Cell<usize>,
}

impl Ctx<'_> {
    /// A set of codes for parameter `code`, within the search's budget: every code becomes
    /// bound values of one SQL statement, so all of them together are held to [`MAX_CODES`].
    fn token_in(&self, code: &str, expansion: &Expansion) -> Result<Predicate, SearchError> {
        let total = self.codes.get() + expansion.len();
        if total > MAX_CODES {
            return Err(invalid(code, format!("the value sets and hierarchies of this search select {total} codes in all, more than the {MAX_CODES} this server searches on at once")));
        }
        self.codes.set(total);
        Ok(Predicate::TokenIn { param: code.to_owned(), codes: expansion.codes().cloned().collect() })
    }
}

/// `_include` / `_revinclude`: `source_type:param[:target_type]`, with `:iterate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub source_type: String,
    /// The reference parameter, or `*` for all of them.
    pub param: String,
    pub target_type: Option<String>,
    pub iterate: bool,
}

/// A parsed search request.
#[derive(Debug, Clone)]
pub struct ParsedSearch {
    pub query: SearchQuery,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    /// Parameters ignored under lenient handling, for the response's OperationOutcome.
    pub ignored: Vec<String>,
}

/// Parameters that control the result rather than select resources.
const CONTROL: [&str; 13] = [
    "_count", "_offset", "_cursor", "_sort", "_include", "_revinclude", "_total", "_summary", "_elements", "_format",
    "_pretty", "_contained", "_containedType",
];

fn invalid(param: &str, message: impl Into<String>) -> SearchError {
    SearchError::InvalidValue { param: param.to_owned(), message: message.into() }
}

/// Parses the query of `GET [type]?…`. With `strict`, unknown parameters are errors; otherwise they
/// are ignored and listed in [`ParsedSearch::ignored`]. Token `:in` / `:not-in` know only the R4
/// value sets of the model (see [`parse_query_with`] for a server's own terminology).
pub fn parse_query(
    resource_type: &str,
    pairs: &[(String, String)],
    strict: bool,
    base_url: &str,
    default_count: usize,
    max_count: usize,
) -> Result<ParsedSearch, SearchError> {
    parse_query_with(resource_type, pairs, strict, base_url, default_count, max_count, crate::terminology::builtin())
}

/// True when parsing `pairs` may consult the terminology (a `:in`, `:not-in`, `:above` or
/// `:below` modifier), which may mean reading definitions: callers on an async executor then
/// parse on a blocking thread.
pub fn needs_terminology(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(name, _)| {
        name.rsplit_once(':').is_some_and(|(_, m)| matches!(m, "in" | "not-in" | "above" | "below"))
    })
}

/// [`parse_query`] with a terminology for token `:in`, `:not-in`, `:above` and `:below`.
pub fn parse_query_with(
    resource_type: &str,
    pairs: &[(String, String)],
    strict: bool,
    base_url: &str,
    default_count: usize,
    max_count: usize,
    terminology: &dyn Terminology,
) -> Result<ParsedSearch, SearchError> {
    let cx = Ctx { base: base_url, term: terminology, codes: std::cell::Cell::new(0) };
    let mut query = SearchQuery::all(resource_type);
    query.count = default_count;
    let mut parsed = ParsedSearch { query, includes: Vec::new(), revincludes: Vec::new(), ignored: Vec::new() };
    for (name, value) in pairs {
        if CONTROL.contains(&name.as_str()) || name.starts_with("_include:") || name.starts_with("_revinclude:") {
            control(&mut parsed, name, value, max_count)?;
            continue;
        }
        if value.is_empty() {
            // An empty value selects nothing and is ignored, as servers commonly do.
            parsed.ignored.push(name.clone());
            continue;
        }
        match clause(resource_type, name, value, &cx) {
            Ok(c) => parsed.query.clauses.push(c),
            Err(SearchError::UnknownParameter { .. }) if !strict => parsed.ignored.push(name.clone()),
            Err(e) => return Err(e),
        }
    }
    crate::contained::check(&parsed, pairs)?;
    Ok(parsed)
}

fn control(p: &mut ParsedSearch, name: &str, value: &str, max_count: usize) -> Result<(), SearchError> {
    let base = name.split(':').next().unwrap_or(name);
    match base {
        "_count" => {
            let n: usize = value.parse().map_err(|_| invalid("_count", format!("'{value}' is not a whole number")))?;
            p.query.count = n.min(max_count);
        }
        "_offset" => {
            p.query.offset = value.parse().map_err(|_| invalid("_offset", format!("'{value}' is not a whole number")))?;
        }
        "_cursor" => {
            p.query.after = Some(value.parse().map_err(|_| invalid("_cursor", format!("'{value}' is not a page cursor")))?);
        }
        // Searching inside contained resources: see `crate::contained`.
        "_contained" => p.query.contained = crate::contained::parse_contained(value)?,
        "_containedType" => p.query.contained_type = crate::contained::parse_contained_type(value)?,
        "_total" => {
            p.query.total = match value {
                "none" => TotalMode::None,
                "estimate" | "accurate" => TotalMode::Accurate,
                _ => return Err(invalid("_total", "expected none, estimate or accurate")),
            }
        }
        "_sort" => {
            for key in value.split(',').filter(|k| !k.is_empty()) {
                let (desc, code) = key.strip_prefix('-').map_or((false, key), |k| (true, k));
                p.query.sort.push((sort_key(&p.query, code)?, desc));
            }
        }
        "_include" | "_revinclude" => {
            let iterate = name.ends_with(":iterate") || name.ends_with(":recurse");
            let inc = parse_include(value, iterate)?;
            if base == "_include" {
                p.includes.push(inc);
            } else {
                p.revincludes.push(inc);
            }
        }
        _ => {}
    }
    Ok(())
}

fn sort_key(q: &SearchQuery, code: &str) -> Result<SortKey, SearchError> {
    match code {
        "_id" => return Ok(SortKey::Id),
        "_lastUpdated" => return Ok(SortKey::LastUpdated),
        _ => {}
    }
    let t = q.resource_type.as_deref().unwrap_or_default();
    let def = crate::custom::param_def(t, code)
        .ok_or_else(|| SearchError::UnknownParameter { resource_type: t.to_owned(), param: code.to_owned() })?;
    if crate::unions::members(t, code).is_some() {
        return Err(invalid("_sort", format!("'{code}' is the union of two parameters and cannot be sorted on; sort on one of them")));
    }
    let table = table_for(def.kind).ok_or_else(|| invalid("_sort", format!("'{code}' cannot be sorted on")))?;
    Ok(SortKey::Param { param: crate::aliases::canonical(t, code).to_owned(), table })
}

fn parse_include(value: &str, iterate: bool) -> Result<Include, SearchError> {
    let mut parts = value.split(':');
    let source = parts.next().unwrap_or_default();
    let param = parts.next().ok_or_else(|| invalid("_include", format!("'{value}' is not Type:param[:Target]")))?;
    let target = parts.next().map(str::to_owned);
    if !r4().is_resource_type(source) {
        return Err(invalid("_include", format!("'{source}' is not a resource type")));
    }
    if param != "*" {
        let def = crate::custom::param_def(source, param).ok_or_else(|| SearchError::UnknownParameter {
            resource_type: source.to_owned(),
            param: param.to_owned(),
        })?;
        if def.kind != SearchParamType::Reference {
            return Err(invalid("_include", format!("'{source}:{param}' is not a reference parameter")));
        }
    }
    Ok(Include { source_type: source.to_owned(), param: param.to_owned(), target_type: target, iterate })
}

fn table_for(kind: SearchParamType) -> Option<IndexTable> {
    Some(match kind {
        SearchParamType::String => IndexTable::String,
        SearchParamType::Token => IndexTable::Token,
        SearchParamType::Reference => IndexTable::Reference,
        SearchParamType::Date => IndexTable::Date,
        SearchParamType::Number => IndexTable::Number,
        SearchParamType::Quantity => IndexTable::Quantity,
        SearchParamType::Uri => IndexTable::Uri,
        SearchParamType::Composite | SearchParamType::Special => return None,
    })
}

/// Splits a value on unescaped commas, keeping the escapes: each parameter type unescapes its
/// parts after its own splitting (a token splits on unescaped `|` first).
fn split_values(value: &str) -> Vec<String> {
    split_escaped(value, ',')
}

fn split_escaped(value: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(last) = out.last_mut() {
                        last.push('\\');
                        last.push(n);
                    }
                }
            }
            c if c == sep => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

fn unescape(v: &str) -> String {
    v.replace("\\,", ",").replace("\\|", "|").replace("\\$", "$").replace("\\\\", "\\")
}

/// One `name=value` pair as a clause (its comma-separated values OR-ed).
fn clause(t: &str, name: &str, value: &str, cx: &Ctx) -> Result<Clause, SearchError> {
    let mut any_of = Vec::new();
    for v in split_values(value) {
        any_of.extend(predicates(t, name, &v, cx)?);
    }
    Ok(Clause { any_of })
}

/// The predicates (OR-ed) that `name=value` means on type `t`, chains and `_has` included.
fn predicates(t: &str, name: &str, value: &str, cx: &Ctx) -> Result<Vec<Predicate>, SearchError> {
    if let Some(rest) = name.strip_prefix("_has:") {
        return has(t, rest, value, cx).map(|p| vec![p]);
    }
    if let Some((head, tail)) = name.split_once('.') {
        return chain(t, head, tail, value, cx);
    }
    let (code, modifier) = match name.split_once(':') {
        Some((c, m)) => (c, Some(m)),
        None => (name, None),
    };
    match code {
        "_id" => return Ok(vec![Predicate::Id(unescape(value))]),
        "_list" => return list_pred(value).map(|p| vec![p]),
        "_text" | "_content" => {
            let words = crate::fulltext::words(&unescape(value)).ok_or_else(|| invalid(code, "give at least one word"))?;
            return Ok(vec![Predicate::FullText { narrative: code == "_text", words }]);
        }
        "_lastUpdated" => {
            let (prefix, lo, hi) = date_value(code, value)?;
            return Ok(vec![Predicate::LastUpdated { prefix, lo, hi }]);
        }
        _ => {}
    }
    let def = crate::custom::param_def(t, code)
        .ok_or_else(|| SearchError::UnknownParameter { resource_type: t.to_owned(), param: code.to_owned() })?;
    if let Some(members) = crate::unions::members(t, code) {
        return union_pred(t, code, &members, modifier, value, cx).map(|p| vec![p]);
    }
    predicate(def, crate::aliases::canonical(t, code), modifier, value, cx).map(|p| vec![p])
}

/// A search on a union parameter, from its members' rows (see [`crate::unions`]).
fn union_pred(t: &str, code: &str, members: &[&str; 2], modifier: Option<&str>, value: &str, cx: &Ctx) -> Result<Predicate, SearchError> {
    let mut each = Vec::with_capacity(2);
    for m in members {
        let def = crate::custom::param_def(t, m).ok_or_else(|| invalid(code, format!("'{m}' is not defined on {t}")))?;
        each.push(predicate(def, m, modifier, value, cx)?);
    }
    // Negations of a union are the conjunction of the members' negations.
    let negated = matches!(modifier, Some("not" | "not-in")) || (modifier == Some("missing") && value == "true");
    Ok(if negated { Predicate::AllOf(each) } else { Predicate::AnyOf(each) })
}

fn chain(t: &str, head: &str, tail: &str, value: &str, cx: &Ctx) -> Result<Vec<Predicate>, SearchError> {
    let (code, explicit) = match head.split_once(':') {
        Some((c, ty)) => (c, Some(ty)),
        None => (head, None),
    };
    let def = crate::custom::param_def(t, code)
        .ok_or_else(|| SearchError::UnknownParameter { resource_type: t.to_owned(), param: code.to_owned() })?;
    if def.kind != SearchParamType::Reference {
        return Err(invalid(head, "only reference parameters can be chained"));
    }
    let chained_code = tail.split(['.', ':']).next().unwrap_or(tail);
    let targets: Vec<String> = match explicit {
        Some(ty) => vec![ty.to_owned()],
        None => def
            .targets
            .iter()
            .filter(|tt| crate::custom::param_def(tt, chained_code).is_some() || chained_code.starts_with('_'))
            .cloned()
            .collect(),
    };
    if targets.is_empty() {
        return Err(invalid(head, format!("no type that '{code}' refers to has a parameter '{chained_code}'")));
    }
    let mut out = Vec::new();
    for target in targets {
        for inner in predicates(&target, tail, value, cx)? {
            out.push(Predicate::Chain { param: code.to_owned(), target_type: target.clone(), inner: Box::new(inner) });
        }
    }
    Ok(out)
}

fn has(t: &str, rest: &str, value: &str, cx: &Ctx) -> Result<Predicate, SearchError> {
    let mut parts = rest.splitn(3, ':');
    let (Some(source), Some(param), Some(inner_name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("_has", format!("'_has:{rest}' is not _has:Type:reference:parameter")));
    };
    if !r4().is_resource_type(source) {
        return Err(invalid("_has", format!("'{source}' is not a resource type")));
    }
    let def = crate::custom::param_def(source, param)
        .ok_or_else(|| SearchError::UnknownParameter { resource_type: source.to_owned(), param: param.to_owned() })?;
    if def.kind != SearchParamType::Reference || !(def.targets.is_empty() || def.targets.iter().any(|x| x == t)) {
        return Err(invalid("_has", format!("'{source}:{param}' does not refer to {t}")));
    }
    let mut inner = predicates(source, inner_name, value, cx)?;
    let inner = if inner.len() == 1 { inner.remove(0) } else {
        return Err(invalid("_has", "the inner parameter of _has must name one type"));
    };
    Ok(Predicate::Has { source_type: source.to_owned(), param: param.to_owned(), inner: Box::new(inner) })
}

fn predicate(def: &SearchParamDef, code: &str, modifier: Option<&str>, value: &str, cx: &Ctx) -> Result<Predicate, SearchError> {
    if modifier == Some("missing") {
        let table = table_for(def.kind).ok_or_else(|| unsupported(code, "missing"))?;
        let missing = match value {
            "true" => true,
            "false" => false,
            _ => return Err(invalid(code, ":missing takes true or false")),
        };
        return Ok(Predicate::Missing { param: code.to_owned(), table, missing });
    }
    match def.kind {
        SearchParamType::String => string_pred(code, modifier, value),
        SearchParamType::Token => token_pred(code, modifier, value, cx),
        SearchParamType::Reference => reference_pred(def, code, modifier, value, cx),
        SearchParamType::Date => no_modifier(code, modifier).and_then(|()| {
            let (prefix, lo, hi) = date_value(code, value)?;
            Ok(Predicate::Date { param: code.to_owned(), prefix, lo, hi })
        }),
        SearchParamType::Number => no_modifier(code, modifier).and_then(|()| {
            let (prefix, lo, hi) = number_value(code, value)?;
            Ok(Predicate::Number { param: code.to_owned(), prefix, lo, hi })
        }),
        SearchParamType::Quantity => no_modifier(code, modifier).and_then(|()| quantity_pred(code, value)),
        SearchParamType::Uri => {
            let mode = match modifier {
                None => UriMatch::Exact,
                Some("above") => UriMatch::Above,
                Some("below") => UriMatch::Below,
                Some(m) => return Err(unsupported(code, m)),
            };
            Ok(Predicate::Uri { param: code.to_owned(), value: unescape(value), mode })
        }
        SearchParamType::Composite => no_modifier(code, modifier).and_then(|()| composite_pred(def, code, value, cx)),
        SearchParamType::Special => Err(SearchError::InvalidValue {
            param: code.to_owned(),
            message: "special parameters are not searchable on this server".into(),
        }),
    }
}

fn unsupported(param: &str, modifier: &str) -> SearchError {
    SearchError::UnsupportedModifier { param: param.to_owned(), modifier: modifier.to_owned() }
}

fn no_modifier(code: &str, modifier: Option<&str>) -> Result<(), SearchError> {
    modifier.map_or(Ok(()), |m| Err(unsupported(code, m)))
}

fn string_pred(code: &str, modifier: Option<&str>, value: &str) -> Result<Predicate, SearchError> {
    let mode = match modifier {
        None => StringMatch::StartsWith,
        Some("exact") => StringMatch::Exact,
        Some("contains") => StringMatch::Contains,
        Some(m) => return Err(unsupported(code, m)),
    };
    let value = unescape(value);
    let exact = (mode == StringMatch::Exact).then(|| value.clone());
    Ok(Predicate::String { param: code.to_owned(), norm: normalize(&value), exact, mode })
}

fn token_pred(code: &str, modifier: Option<&str>, value: &str, cx: &Ctx) -> Result<Predicate, SearchError> {
    match modifier {
        Some("text") => return Ok(Predicate::TokenText { param: code.to_owned(), text: normalize(&unescape(value)) }),
        Some("in") => return value_set_pred(code, value, cx),
        Some("not-in") => return value_set_pred(code, value, cx).map(|p| Predicate::Not(Box::new(p))),
        Some("below") => return subsumption_pred(code, value, Direction::Below, cx),
        Some("above") => return subsumption_pred(code, value, Direction::Above, cx),
        Some("of-type") => return of_type_pred(code, value),
        _ => {}
    }
    let parts = split_escaped(value, '|');
    let (system, token_code) = match parts.as_slice() {
        [c] => (None, Some(unescape(c))),
        [s, c] if s.is_empty() => (Some(None), Some(unescape(c))),
        [s, c] if c.is_empty() => (Some(Some(unescape(s))), None),
        [s, c] => (Some(Some(unescape(s))), Some(unescape(c))),
        _ => return Err(invalid(code, format!("'{value}' has more than one '|'"))),
    };
    let p = Predicate::Token { param: code.to_owned(), system, code: token_code };
    match modifier {
        None => Ok(p),
        Some("not") => Ok(Predicate::Not(Box::new(p))),
        Some(m) => Err(unsupported(code, m)),
    }
}

/// `token$value` on a composite (see [`crate::composite`]): one predicate on the second
/// component's rows, under the name that folds in the token; `token$number$number` on a
/// token + number + number composite: one `NumberPair`.
fn composite_pred(def: &SearchParamDef, code: &str, value: &str, cx: &Ctx) -> Result<Predicate, SearchError> {
    let second = crate::composite::component(def, 1)
        .filter(|_| crate::composite::supported(def))
        .ok_or_else(|| invalid(code, "this composite parameter is not indexed by this server"))?;
    let pair = crate::composite::is_number_pair(def);
    let parts = split_escaped(value, '$');
    let (token, rest) = match (parts.as_slice(), pair) {
        ([token, rest], false) | ([token, rest, _], true) => (token, rest),
        (_, false) => return Err(invalid(code, format!("'{value}' is not token$value (two components joined by '$')"))),
        (_, true) => return Err(invalid(code, format!("'{value}' is not token$number$number (three components joined by '$')"))),
    };
    let name = match split_escaped(token, '|').as_slice() {
        [c] if !c.is_empty() => crate::composite::row_param(code, None, &unescape(c)),
        [s, c] if !c.is_empty() => crate::composite::row_param(code, Some(&unescape(s)), &unescape(c)),
        _ => return Err(invalid(code, format!("'{token}' is not a code or system|code"))),
    };
    if pair {
        let first = number_value(code, rest)?;
        let second = number_value(code, parts.last().map_or("", String::as_str))?;
        return Ok(Predicate::NumberPair { param: name, first, second });
    }
    predicate(second, &name, None, rest, cx).map_err(|e| match e {
        SearchError::InvalidValue { message, .. } => invalid(code, message),
        other => other,
    })
}

/// `_list=id`: resources that are items of List `id` (`_has:List:item:_id=id`). Functional lists
/// (`$current-problems` …) are not kept by this server.
fn list_pred(value: &str) -> Result<Predicate, SearchError> {
    let id = unescape(value);
    if id.starts_with('$') {
        return Err(invalid("_list", format!("the functional list '{id}' is not kept by this server")));
    }
    Ok(Predicate::Has { source_type: "List".into(), param: "item".into(), inner: Box::new(Predicate::Id(id)) })
}

/// `:in` a value set the terminology holds (`url` or `url|version`), expanded.
fn value_set_pred(code: &str, value: &str, cx: &Ctx) -> Result<Predicate, SearchError> {
    let url = unescape(value);
    let expansion = cx.term.expand(&url).map_err(|e| terminology_error(code, e))?;
    cx.token_in(code, &expansion)
}

/// `:below` / `:above` `system|code`: the code with its descendants / ancestors in a code system
/// the terminology holds in full. The system is required: a bare code names no hierarchy.
fn subsumption_pred(code: &str, value: &str, direction: Direction, cx: &Ctx) -> Result<Predicate, SearchError> {
    let modifier = if direction == Direction::Below { "below" } else { "above" };
    let (system, token) = match split_escaped(value, '|').as_slice() {
        [s, c] if !s.is_empty() && !c.is_empty() => (unescape(s), unescape(c)),
        _ => return Err(invalid(code, format!(":{modifier} takes system|code (both given), not '{value}'"))),
    };
    let found = cx.term.subsumed(&system, &token, direction).map_err(|e| terminology_error(code, e))?;
    cx.token_in(code, &found)
}

/// A terminology failure on parameter `code`: the request's fault (400) unless the definitions
/// could not be read.
fn terminology_error(code: &str, e: TerminologyError) -> SearchError {
    match e {
        TerminologyError::Unavailable(m) => SearchError::Unavailable(m),
        other => invalid(code, other.to_string()),
    }
}

/// `:of-type=system|code|value`: an Identifier whose type has that coding and that value (the
/// indexer writes such identifiers under `param:of-type` with code `type|value`).
fn of_type_pred(code: &str, value: &str) -> Result<Predicate, SearchError> {
    let parts = split_escaped(value, '|');
    let [system, type_code, v] = parts.as_slice() else {
        return Err(invalid(code, format!("'{value}' is not system|code|value")));
    };
    if type_code.is_empty() || v.is_empty() {
        return Err(invalid(code, format!("'{value}' needs a type code and a value")));
    }
    let system = if system.is_empty() { None } else { Some(Some(unescape(system))) };
    Ok(Predicate::Token { param: format!("{code}:of-type"), system, code: Some(format!("{}|{}", unescape(type_code), unescape(v))) })
}

fn reference_pred(def: &SearchParamDef, code: &str, modifier: Option<&str>, value: &str, cx: &Ctx) -> Result<Predicate, SearchError> {
    if modifier == Some("identifier") {
        let inner = token_pred(&format!("{code}:identifier"), None, value, cx)?;
        return Ok(inner);
    }
    let type_modifier = match modifier {
        None => None,
        Some(m) if r4().is_resource_type(m) => Some(m.to_owned()),
        Some(m) => return Err(unsupported(code, m)),
    };
    let value = &unescape(value);
    let target = parse_reference(value, cx.base).ok_or_else(|| invalid(code, format!("'{value}' is not a reference")))?;
    if let Some(url) = target.url {
        // A bare id looks like a relative URL without a type.
        if !url.contains(':') && !url.contains('/') {
            let single = (def.targets.len() == 1).then(|| def.targets[0].clone());
            return Ok(Predicate::Reference { param: code.to_owned(), target_type: type_modifier.or(single), target_id: Some(url), url: None });
        }
        return Ok(Predicate::Reference { param: code.to_owned(), target_type: None, target_id: None, url: Some(url) });
    }
    Ok(Predicate::Reference {
        param: code.to_owned(),
        target_type: type_modifier.or(target.target_type),
        target_id: target.target_id,
        url: None,
    })
}

fn split_prefix(value: &str) -> (Prefix, &str) {
    let prefixes = [
        ("eq", Prefix::Eq), ("ne", Prefix::Ne), ("gt", Prefix::Gt), ("lt", Prefix::Lt), ("ge", Prefix::Ge),
        ("le", Prefix::Le), ("sa", Prefix::Sa), ("eb", Prefix::Eb), ("ap", Prefix::Ap),
    ];
    for (p, prefix) in prefixes {
        if let Some(rest) = value.strip_prefix(p) {
            if rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') {
                return (prefix, rest);
            }
        }
    }
    (Prefix::Eq, value)
}

fn date_value(code: &str, value: &str) -> Result<(Prefix, i64, i64), SearchError> {
    let (prefix, rest) = split_prefix(value);
    let (lo, hi) = date_range(rest).ok_or_else(|| invalid(code, format!("'{rest}' is not a date, dateTime or instant")))?;
    Ok((prefix, lo, hi))
}

fn number_value(code: &str, value: &str) -> Result<(Prefix, f64, f64), SearchError> {
    let (prefix, rest) = split_prefix(value);
    let v: f64 = rest.parse().map_err(|_| invalid(code, format!("'{rest}' is not a number")))?;
    if !v.is_finite() {
        return Err(invalid(code, format!("'{rest}' is not a finite number")));
    }
    // Precision: the digits after the point, less the exponent (`1.5e2` is known to the unit).
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| invalid(code, format!("'{rest}' is not a number")))?),
        None => (rest, 0),
    };
    // Precision: the digits after the point; in exponent form, as the specification's example
    // reads it (`1e2` is [95, 105)).
    let mantissa_decimals = mantissa.split_once('.').map_or(0, |(_, d)| i32::try_from(d.len()).unwrap_or(0));
    let decimals = if exponent == 0 { mantissa_decimals } else { mantissa_decimals - exponent + 1 };
    let half = 0.5 * 10f64.powi(-decimals);
    // [v - half, v + half), both bounds moved down a hair so that decimal boundaries survive
    // binary floating point (5.4 - 0.05 must include 5.35; 5.4 + 0.05 must exclude 5.45).
    let slack = (v.abs() + half) * 1e-12;
    match prefix {
        // Comparisons are against the value itself; equality-like prefixes use its precision.
        Prefix::Eq | Prefix::Ne | Prefix::Ap => Ok((prefix, v - half - slack, v + half - slack)),
        _ => Ok((prefix, v, v)),
    }
}

fn quantity_pred(code: &str, value: &str) -> Result<Predicate, SearchError> {
    let parts = split_escaped(value, '|');
    let (num, system, unit) = match parts.as_slice() {
        [n] => (n.as_str(), None, None),
        [n, s, u] => (n.as_str(), (!s.is_empty()).then(|| unescape(s)), (!u.is_empty()).then(|| unescape(u))),
        _ => return Err(invalid(code, format!("'{value}' is not number|system|code"))),
    };
    let (prefix, lo, hi) = number_value(code, num)?;
    Ok(Predicate::Quantity { param: code.to_owned(), prefix, lo, hi, system, code: unit })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(t: &str, pairs: &[(&str, &str)]) -> Result<ParsedSearch, SearchError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        parse_query(t, &pairs, true, "http://h", 50, 1000)
    }

    #[test]
    fn tokens_split_system_and_code() {
        let p = q("Patient", &[("identifier", "http://a|1,|2,http://b|")]).unwrap();
        let c = &p.query.clauses[0].any_of;
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], Predicate::Token { param: "identifier".into(), system: Some(Some("http://a".into())), code: Some("1".into()) });
        assert_eq!(c[1], Predicate::Token { param: "identifier".into(), system: Some(None), code: Some("2".into()) });
        assert_eq!(c[2], Predicate::Token { param: "identifier".into(), system: Some(Some("http://b".into())), code: None });
    }

    #[test]
    fn escaped_commas_stay_in_the_value() {
        let p = q("Patient", &[("family", "a\\,b")]).unwrap();
        assert_eq!(p.query.clauses[0].any_of.len(), 1);
        assert!(matches!(&p.query.clauses[0].any_of[0], Predicate::String { norm, .. } if norm == "a,b"));
    }

    #[test]
    fn chains_and_has_parse() {
        let p = q("Observation", &[("subject:Patient.name", "peter")]).unwrap();
        assert!(matches!(&p.query.clauses[0].any_of[0], Predicate::Chain { target_type, .. } if target_type == "Patient"));
        let p = q("Patient", &[("_has:Observation:patient:code", "1234-5")]).unwrap();
        assert!(matches!(&p.query.clauses[0].any_of[0], Predicate::Has { source_type, .. } if source_type == "Observation"));
    }

    #[test]
    fn unknown_parameters_are_errors_only_when_strict() {
        assert!(matches!(q("Patient", &[("nonsense", "1")]), Err(SearchError::UnknownParameter { .. })));
        let pairs = vec![("nonsense".to_owned(), "1".to_owned())];
        let lenient = parse_query("Patient", &pairs, false, "http://h", 50, 1000).unwrap();
        assert_eq!(lenient.ignored, vec!["nonsense"]);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let e = q("Patient", &[("birthdate", "ge-not-a-date")]).unwrap_err();
        assert!(e.to_string().contains("birthdate"), "{e}");
        let e = q("Observation", &[("value-quantity", "x|y")]).unwrap_err();
        assert!(e.to_string().contains("value-quantity"), "{e}");
    }

    #[test]
    fn terminology_modifiers_are_recognised() {
        let pairs = |n: &str| vec![(n.to_owned(), "x".to_owned())];
        for name in ["code:in", "code:not-in", "code:below", "code:above", "_has:Observation:patient:code:in", "subject:Patient.gender:in"] {
            assert!(needs_terminology(&pairs(name)), "{name}");
        }
        for name in ["code", "code:text", "code:not", "url", "_count"] {
            assert!(!needs_terminology(&pairs(name)), "{name}");
        }
        // The model alone holds no hierarchy: `:below` says which system it does not know.
        let e = q("Observation", &[("code:below", "http://loinc.org|LP1")]).unwrap_err().to_string();
        assert!(e.contains("'code'") && e.contains("http://loinc.org"), "{e}");
        let e = q("Observation", &[("code:above", "LP1")]).unwrap_err().to_string();
        assert!(e.contains("system|code"), "{e}");
    }

    #[test]
    fn number_precision_gives_a_range() {
        let (_, lo, hi) = number_value("n", "100").unwrap();
        assert!((lo - 99.5).abs() < 1e-9 && (hi - 100.5).abs() < 1e-9);
        let (p, lo, hi) = number_value("n", "gt1.25").unwrap();
        assert_eq!(p, Prefix::Gt);
        assert!((lo - 1.25).abs() < 1e-12 && (hi - 1.25).abs() < 1e-12);
    }
}
