//! The bridge to `weave-search`: index rows for writes, conditional matching, and the search
//! interaction (`GET [type]?…`) with `_include` / `_revinclude`.

use crate::crud::blocking;
use crate::error::ApiError;
use crate::bundle_text::BundleText;
use crate::http::fhir_response;
use crate::routes::Req;
use crate::shape::Shape;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use weave_fhir::model::SearchParamType;
use weave_fhir::outcome::{operation_outcome, Issue, IssueType, Severity};
use weave_search::{parse_query_with, Indexer, ParsedSearch, SearchError};
use weave_store::query::{Clause, Contained, ContainedType, SearchQuery, TotalMode};
use weave_store::{Stored, WriteTx};

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> ApiError {
        match e {
            SearchError::Unavailable(m) => ApiError::Internal(format!("terminology: {m}")),
            other => ApiError::invalid(other.to_string()),
        }
    }
}

/// Parses a conditional-interaction query (`identifier=a|b&…`) strictly.
fn conditional(indexer: &Indexer, t: &str, cond: &str) -> Result<ParsedSearch, ApiError> {
    conditional_pairs(indexer, t, &condition_pairs(t, cond)?)
}

/// The name/value pairs of a condition.
fn condition_pairs(t: &str, cond: &str) -> Result<Vec<(String, String)>, ApiError> {
    // `If-None-Exist` may carry the type as well: `Patient?identifier=…`.
    let cond = cond.strip_prefix(t).and_then(|c| c.strip_prefix('?')).unwrap_or(cond);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(cond.as_bytes()).into_owned().collect();
    if pairs.is_empty() {
        return Err(ApiError::invalid(format!("the condition on {t} has no search parameters")));
    }
    Ok(pairs)
}

/// Parses a condition's pairs strictly, for at most two matches.
fn conditional_pairs(indexer: &Indexer, t: &str, pairs: &[(String, String)]) -> Result<ParsedSearch, ApiError> {
    // Inside a write job the stored definitions are read as last committed.
    let mut parsed = parse_query_with(t, pairs, true, indexer.base_url(), 2, 2, indexer.terminology())?;
    parsed.query.count = 2;
    parsed.query.total = TotalMode::None;
    Ok(parsed)
}

/// Ids of the resources matching a condition, seen from inside a write job (at most 2: enough
/// to tell none, one and several apart).
pub fn find(tx: &mut dyn WriteTx, indexer: &Indexer, t: &str, cond: &str) -> Result<Vec<String>, ApiError> {
    find_parsed(tx, &conditional(indexer, t, cond)?.query)
}

/// A condition parsed ahead of its write job, so that the store's single writer only runs it;
/// `None` when it does not parse (the job parses it again and reports why) or when parsing may
/// read value sets from the store (`:in`, `:below`, …: a blocking read, left to the job's thread).
/// Parsed outside or inside the job, it reads the same stored definitions (the last committed).
pub fn condition_ahead(indexer: &Indexer, t: &str, cond: &str) -> Option<SearchQuery> {
    let pairs = condition_pairs(t, cond).ok()?;
    if weave_search::needs_terminology(&pairs) {
        return None;
    }
    conditional_pairs(indexer, t, &pairs).ok().map(|parsed| parsed.query)
}

/// [`find`] with a condition parsed by [`condition_ahead`].
pub fn find_parsed(tx: &mut dyn WriteTx, query: &SearchQuery) -> Result<Vec<String>, ApiError> {
    let page = tx.search(query)?;
    Ok(page.matches.into_iter().map(|(_, id, _)| id).collect())
}

/// Like [`find`], against the committed state; parsed on the blocking thread too, since its
/// terminology may read definitions from the store.
pub async fn find_now(state: &AppState, t: &str, cond: &str) -> Result<Vec<String>, ApiError> {
    let (indexer, store, t, cond) = (state.indexer(), std::sync::Arc::clone(&state.store), t.to_owned(), cond.to_owned());
    tokio::task::spawn_blocking(move || {
        let parsed = conditional(&indexer, &t, &cond)?;
        let page = store.search(&parsed.query)?;
        Ok(page.matches.into_iter().map(|(_, id, _)| id).collect())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))?
}

/// The CapabilityStatement `searchParam` list of a type: what the indexer really indexes.
pub fn supported_params(indexer: &Indexer, t: &str) -> Vec<Value> {
    let mut out = vec![
        json!({"name": "_id", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id"}),
        json!({"name": "_lastUpdated", "type": "date", "definition": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"}),
        json!({"name": "_text", "type": "string", "definition": "http://hl7.org/fhir/SearchParameter/DomainResource-text"}),
        json!({"name": "_content", "type": "string", "definition": "http://hl7.org/fhir/SearchParameter/Resource-content"}),
        json!({"name": "_list", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-list"}),
        json!({"name": "_contained", "type": "token", "documentation": "false (default) | true | both: search resources contained in others; every clause holds on one contained resource"}),
        json!({"name": "_containedType", "type": "token", "documentation": "container (default) | contained: return the containers, or the contained resources with a '#' fullUrl"}),
    ];
    for code in indexer.composite_codes(t) {
        out.push(json!({ "name": code, "type": "composite" }));
    }
    // Unions and twins have no index rows of their own (their members' and twin's answer them).
    let answered_by_others = |code: &str| weave_search::unions::members(t, code).is_some() || weave_search::aliases::is_alias(t, code);
    for sp in weave_fhir::r4().search_params(t).iter().filter(|sp| answered_by_others(&sp.code)) {
        out.push(json!({ "name": sp.code, "type": if sp.components.is_empty() { kind_name(sp.kind) } else { "composite" } }));
    }
    for p in indexer.params(t) {
        out.push(json!({ "name": p.code, "type": kind_name(p.kind) }));
    }
    out
}

fn kind_name(kind: SearchParamType) -> &'static str {
    match kind {
        SearchParamType::Number => "number",
        SearchParamType::Date => "date",
        SearchParamType::String => "string",
        SearchParamType::Token => "token",
        SearchParamType::Reference => "reference",
        SearchParamType::Quantity => "quantity",
        SearchParamType::Uri => "uri",
        SearchParamType::Composite => "composite",
        SearchParamType::Special => "special",
    }
}

/// The search parameters of a request: the URL's, plus a form body for `POST …/_search`.
fn request_pairs(req: &Req) -> Vec<(String, String)> {
    let mut pairs = req.query.clone();
    if req.method == axum::http::Method::POST {
        pairs.extend(form_urlencoded::parse(&req.body).into_owned());
    }
    pairs
}

/// `GET [type]?…`: a searchset Bundle with matches, includes and paging links.
pub async fn search_response(state: &AppState, req: &Req, t: &str, strict: bool) -> Result<Response, ApiError> {
    search_with(state, req, t, strict, None).await
}

/// A search with an extra clause (a compartment) ANDed inside the query, before paging.
pub async fn search_with(state: &AppState, req: &Req, t: &str, strict: bool, extra: Option<Clause>) -> Result<Response, ApiError> {
    let pairs = request_pairs(req);
    let mut parsed = parse_search(state, t, &pairs, strict).await?;
    let contained = parsed.query.contained != Contained::Exclude;
    if contained && extra.is_some() {
        return Err(ApiError::invalid("_contained=true or both is not supported in a compartment search"));
    }
    parsed.query.clauses.extend(extra);
    if !pairs.iter().any(|(k, _)| k == "_total") {
        // Without `_total`, a total is given when it is free (one page holds every match);
        // counting a large result is only done when asked for (`_total=accurate`).
        parsed.query.total = TotalMode::IfCheap;
    }
    let count_only = is_count(&pairs);
    let shape = if count_only { None } else { Shape::from_query(&pairs)? };
    if count_only {
        parsed.query.count = 0;
        parsed.query.total = TotalMode::Accurate;
    }
    let query = parsed.query.clone();
    let ignored = parsed.ignored.clone();
    let includes_any = !parsed.includes.is_empty() || !parsed.revincludes.is_empty();
    // Contained resources returned themselves share their container's row: paged by offset.
    let by_row = !(contained && query.contained_type == ContainedType::Contained);
    let sorted_by_default = query.sort.is_empty() && by_row;
    let point = crate::lanes::is_point(&query.clauses, includes_any, query.count) && !contained;
    let _broad = if point && !count_only {
        None
    } else {
        state.lanes.broad().await
    };
    let (page, matches, included) = blocking(state, move |s| {
        let page = s.search(&query)?;
        let mut rids: Vec<i64> = page.matches.iter().map(|m| m.2).collect();
        if !by_row {
            // Several contained matches may share a container: read it once.
            let mut seen = std::collections::HashSet::new();
            rids.retain(|r| seen.insert(*r));
        }
        let matches = s.read_rows(&rids)?;
        let included = includes(s, &parsed, &rids)?;
        Ok((page, matches, included))
    })
    .await?;
    // In the default order (no `_sort`), the next page starts after this page's last row.
    let cursor = sorted_by_default.then(|| page.matches.last().map(|m| m.2)).flatten();
    let links = links(state, req, &pairs, page.more && !count_only, cursor);
    let size: usize = matches.iter().chain(&included).map(|s| s.body.as_deref().map_or(0, str::len)).sum();
    let mut bundle = BundleText::new("searchset", page.total, &links, size + 128 * (matches.len() + included.len()));
    if by_row {
        for (list, mode) in [(&matches, "match"), (&included, "include")] {
            for s in list {
                push_entry(state, &mut bundle, s, mode, shape.as_ref())?;
            }
        }
    } else {
        push_contained_matches(state, &mut bundle, &page, &matches, shape.as_ref())?;
    }
    if !ignored.is_empty() {
        bundle.push_value(None, &ignored_outcome(&ignored), "outcome");
    }
    Ok(fhir_response(StatusCode::OK, bundle.finish(req.pretty())))
}

/// Parses a search against the server's terminology; on a blocking thread when it may read
/// ValueSets and CodeSystems from the store.
async fn parse_search(state: &AppState, t: &str, pairs: &[(String, String)], strict: bool) -> Result<ParsedSearch, ApiError> {
    let base = state.indexer().base_url().to_owned();
    let (default_count, max_count) = (state.config.default_count, state.config.max_count);
    if !weave_search::needs_terminology(pairs) {
        return Ok(parse_query_with(t, pairs, strict, &base, default_count, max_count, &*state.terminology)?);
    }
    let (term, t, pairs) = (std::sync::Arc::clone(&state.terminology), t.to_owned(), pairs.to_vec());
    tokio::task::spawn_blocking(move || parse_query_with(&t, &pairs, strict, &base, default_count, max_count, &*term))
        .await
        .map_err(|e| ApiError::Internal(format!("search parse task failed: {e}")))?
        .map_err(ApiError::from)
}

/// Adds a stored resource to a Bundle: spliced as stored, or reshaped for `_summary`/`_elements`.
pub fn push_entry(state: &AppState, bundle: &mut BundleText, s: &Stored, mode: &str, shape: Option<&Shape>) -> Result<(), ApiError> {
    let Some(body) = s.body.as_deref() else { return Ok(()) };
    let url = state.url_of(&s.resource_type, &s.id);
    match shape {
        None => bundle.push_raw(&url, body, mode),
        Some(sh) => {
            let mut resource: Value =
                serde_json::from_str(body).map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?;
            sh.apply(&mut resource);
            bundle.push_value(Some(&url), &resource, mode);
        }
    }
    Ok(())
}

/// The matches of `_containedType=contained`: each contained match is taken out of its container
/// (`containers`, read once each), with the fullUrl `[base]/[Type]/[id]#[local id]`; standalone
/// matches (`_contained=both`) are as usual. A contained resource that its container no longer
/// holds (the container was updated between the search and the read) is left out.
fn push_contained_matches(
    state: &AppState,
    bundle: &mut BundleText,
    page: &weave_store::query::SearchPage,
    containers: &[Stored],
    shape: Option<&Shape>,
) -> Result<(), ApiError> {
    let by_name: std::collections::HashMap<(&str, &str), &Stored> =
        containers.iter().map(|s| ((s.resource_type.as_str(), s.id.as_str()), s)).collect();
    let mut parsed: std::collections::HashMap<(&str, &str), Value> = std::collections::HashMap::new();
    for (i, (t, id, _)) in page.matches.iter().enumerate() {
        let Some(stored) = by_name.get(&(t.as_str(), id.as_str())) else { continue };
        let Some(local) = page.contained.get(i).and_then(Option::as_deref) else {
            push_entry(state, bundle, stored, "match", shape)?;
            continue;
        };
        let container = match parsed.entry((t.as_str(), id.as_str())) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let Some(body) = stored.body.as_deref() else { continue };
                e.insert(serde_json::from_str(body).map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?)
            }
        };
        let found = container["contained"].as_array().and_then(|a| a.iter().find(|c| c["id"].as_str() == Some(local)));
        let Some(found) = found else { continue };
        let mut resource = found.clone();
        if let Some(sh) = shape {
            sh.apply(&mut resource);
        }
        bundle.push_value(Some(&format!("{}#{local}", state.url_of(t, id))), &resource, "match");
    }
    Ok(())
}

fn is_count(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(k, v)| k == "_summary" && v == "count")
}

/// `self` and `next` links: `next` carries a row-id cursor in the default order (stable under
/// concurrent writes), an offset under `_sort`.
fn links(state: &AppState, req: &Req, pairs: &[(String, String)], more: bool, cursor: Option<i64>) -> Vec<Value> {
    let url = |pairs: &[(String, String)]| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        format!("{}/{}?{}", state.config.base_url, req.segments.join("/"), ser.finish())
    };
    let mut out = vec![json!({"relation": "self", "url": url(pairs)})];
    if let (true, Some(rid)) = (more, cursor) {
        let mut next: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "_cursor" && k != "_offset").cloned().collect();
        next.push(("_cursor".into(), rid.to_string()));
        out.push(json!({"relation": "next", "url": url(&next)}));
    } else if more {
        let offset: usize = pairs.iter().find(|(k, _)| k == "_offset").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let count: usize = pairs
            .iter()
            .find(|(k, _)| k == "_count")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(state.config.default_count)
            .min(state.config.max_count);
        let mut next: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "_offset").cloned().collect();
        next.push(("_offset".into(), (offset + count).to_string()));
        out.push(json!({"relation": "next", "url": url(&next)}));
    }
    out
}

/// `_include` and `_revinclude` (with `:iterate`), every match included — never truncated.
pub fn includes(s: &dyn weave_store::Store, parsed: &ParsedSearch, rids: &[i64]) -> Result<Vec<Stored>, weave_store::StoreError> {
    let mut seen: std::collections::HashSet<i64> = rids.iter().copied().collect();
    let mut out_rids = Vec::new();
    let mut frontier: Vec<i64> = rids.to_vec();
    // Terminates: `seen` only grows, and each round adds only unseen rows.
    for round in 0.. {
        let mut next = Vec::new();
        for inc in &parsed.includes {
            if round > 0 && !inc.iterate {
                continue;
            }
            let params = reference_params(&inc.source_type, &inc.param);
            for r in s.include_rows(&frontier, &inc.source_type, &params, inc.target_type.as_deref())? {
                if seen.insert(r) {
                    next.push(r);
                }
            }
        }
        for inc in &parsed.revincludes {
            if round > 0 && !inc.iterate {
                continue;
            }
            let params = reference_params(&inc.source_type, &inc.param);
            for r in s.revinclude_rows(&frontier, &inc.source_type, &params)? {
                if seen.insert(r) {
                    next.push(r);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        out_rids.extend_from_slice(&next);
        frontier = next;
    }
    s.read_rows(&out_rids)
}

/// The reference parameters an include names: one, or all of the type's for `*`.
fn reference_params(source_type: &str, param: &str) -> Vec<String> {
    if param != "*" {
        return vec![param.to_owned()];
    }
    weave_fhir::r4()
        .search_params(source_type)
        .iter()
        .filter(|p| p.kind == SearchParamType::Reference)
        .map(|p| p.code.clone())
        .collect()
}

/// An OperationOutcome warning listing ignored parameters (lenient handling).
fn ignored_outcome(ignored: &[String]) -> Value {
    let issues: Vec<Issue> = ignored
        .iter()
        .map(|p| Issue {
            severity: Severity::Warning,
            code: IssueType::NotSupported,
            diagnostics: format!("the search parameter '{p}' is not known and was ignored"),
            expression: Vec::new(),
        })
        .collect();
    operation_outcome(&issues)
}
