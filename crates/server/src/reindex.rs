//! `$reindex`: SearchParameter resources stored in Weave take effect.
//!
//! `POST /$reindex` starts a job in the background and answers `202 Accepted` with
//! `Content-Location: [base]/$reindex`; `GET /$reindex` reports its progress. The job reads every
//! stored `SearchParameter` (not `retired`), compiles them with the R4 parameters, puts the new
//! parameters in force for writes and searches, and then re-extracts the index rows of every
//! resource of their base types, and of every resource that contains one (so `_contained`
//! searches find them too), a page at a time, each page its own small write job — reads and
//! writes go on meanwhile (a resource written during the job is indexed by its write, and the job
//! leaves it alone). When it completes, the set of active parameters is kept as
//! `Binary/weave-search-parameters`, which [`restore`] reads at start-up.
//!
//! The body may name resource types to re-index in full as well — `Parameters` with `type`
//! (`valueCode`, repeatable; `*` for every type in the store): after an upgrade that indexes
//! something new (full text, contained resources), the resources stored before it are indexed
//! by it this way.

use crate::error::ApiError;
use crate::http::{fhir_response, to_body};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use std::sync::{Mutex, PoisonError};
use weave_fhir::model::SearchParamDef;
use weave_search::Indexer;
use weave_store::query::{Contained, ContainedType, SearchQuery};
use weave_fhir::r4;
use weave_store::{write, WriteTx};

/// The stored list of active custom parameters (`SearchParameter/id/_history/version`).
const ACTIVE_ID: &str = "weave-search-parameters";
/// Resources re-indexed per write job.
const PAGE: usize = 500;

/// Progress of the current (or last) job.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub state: &'static str,
    pub parameters: Vec<String>,
    pub processed: u64,
    pub total: u64,
    pub error: Option<String>,
}

/// The job slot of a server.
#[derive(Default)]
pub struct Reindexer {
    progress: Mutex<Option<Progress>>,
}

impl Reindexer {
    fn get(&self) -> Option<Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        if let Some(p) = self.progress.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            f(p);
        }
    }
}

/// `/$reindex`.
pub async fn handle(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    if req.method == Method::POST {
        let asked = requested_types(&req.body)?;
        {
            let mut slot = state.reindexer.progress.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.as_ref().is_some_and(|p| p.state == "running") {
                return Err(ApiError::Conflict("a $reindex job is already running; see GET /$reindex".into()));
            }
            *slot = Some(Progress { state: "running", ..Progress::default() });
        }
        let st = state.clone();
        tokio::spawn(async move {
            if let Err(e) = run(&st, asked).await {
                let why = crate::mllp::describe(&e);
                tracing::warn!(error = %why, "$reindex failed");
                st.reindexer.update(|p| {
                    p.state = "failed";
                    p.error = Some(why);
                });
            }
        });
        let mut resp = fhir_response(StatusCode::ACCEPTED, to_body(&status(state), req.pretty()));
        if let Ok(v) = HeaderValue::from_str(&format!("{}/$reindex", state.config.base_url)) {
            resp.headers_mut().insert("content-location", v);
        }
        return Ok(resp);
    }
    if req.method == Method::GET || req.method == Method::HEAD {
        return Ok(fhir_response(StatusCode::OK, to_body(&status(state), req.pretty())));
    }
    Err(ApiError::MethodNotAllowed(format!("{} is not allowed on /$reindex", req.method)))
}

/// The types a `$reindex` body asks to re-index in full (`None`: every type; an empty body or
/// `Parameters` without `type`: none).
fn requested_types(body: &[u8]) -> Result<Option<Vec<String>>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Vec::new()));
    }
    let v = crate::http::parse_json(body)?;
    if v["resourceType"] != "Parameters" {
        return Err(ApiError::invalid("the $reindex body must be a Parameters resource"));
    }
    let mut types = Vec::new();
    for p in v["parameter"].as_array().into_iter().flatten() {
        match (p["name"].as_str(), p["valueCode"].as_str().or_else(|| p["valueString"].as_str())) {
            (Some("type"), Some("*")) => return Ok(None),
            (Some("type"), Some(t)) if r4().is_resource_type(t) => types.push(t.to_owned()),
            (Some("type"), Some(other)) => {
                return Err(ApiError::invalid(format!("$reindex: type '{other}' is not an R4 resource type or '*'")))
            }
            (Some("type"), None) => return Err(ApiError::invalid("$reindex: a type parameter needs a valueCode")),
            (name, _) => {
                return Err(ApiError::invalid(format!("$reindex takes only 'type' parameters, not '{}'", name.unwrap_or(""))))
            }
        }
    }
    Ok(Some(types))
}

/// The job's progress as `Parameters`.
fn status(state: &AppState) -> Value {
    let p = state.reindexer.get().unwrap_or(Progress { state: "none", ..Progress::default() });
    let mut params = vec![
        json!({ "name": "state", "valueCode": p.state }),
        json!({ "name": "processed", "valueInteger": p.processed }),
        json!({ "name": "total", "valueInteger": p.total }),
    ];
    params.extend(p.parameters.iter().map(|c| json!({ "name": "parameter", "valueString": c })));
    if let Some(e) = p.error {
        params.push(json!({ "name": "error", "valueString": e }));
    }
    json!({ "resourceType": "Parameters", "parameter": params })
}

/// A page of `(type, id, version, body)` and the cursor of the next page.
type Page = (Vec<(String, String, u64, Value)>, Option<i64>);

/// The live resources a query finds, a page at a time (after row id `after`).
fn page_of(state: &AppState, query: &SearchQuery, after: Option<i64>) -> Result<Page, ApiError> {
    let mut q = query.clone();
    q.count = PAGE;
    q.after = after;
    let page = state.store.search(&q)?;
    let last = page.matches.last().map(|m| m.2);
    let rids: Vec<i64> = page.matches.iter().map(|m| m.2).collect();
    let rows = state.store.read_rows(&rids)?;
    let out = rows
        .into_iter()
        .filter_map(|s| Some((s.resource_type.clone(), s.id.clone(), s.version, serde_json::from_str(s.body.as_deref()?).ok()?)))
        .collect();
    Ok((out, if page.more { last } else { None }))
}

/// The resources, of any type, that contain a resource of type `t`.
fn containers_of(t: &str) -> SearchQuery {
    SearchQuery { contained: Contained::Only, contained_type: ContainedType::Container, ..SearchQuery::all(t) }
}

/// Stored SearchParameters, each with its version.
fn stored_parameters(state: &AppState) -> Result<Vec<(String, u64, Value)>, ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = page_of(state, &SearchQuery::all("SearchParameter"), after)?;
        out.extend(page.into_iter().filter(|(_, _, _, v)| v["status"].as_str() != Some("retired")).map(|(_, id, v, b)| (id, v, b)));
        match next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

async fn run(state: &AppState, asked: Option<Vec<String>>) -> Result<(), ApiError> {
    let st = state.clone();
    let stored = tokio::task::spawn_blocking(move || stored_parameters(&st))
        .await
        .map_err(|e| ApiError::Internal(format!("$reindex: {e}")))??;
    let mut defs: Vec<SearchParamDef> = Vec::new();
    let mut problems = Vec::new();
    for (_, _, v) in &stored {
        match weave_search::custom::from_resource(v) {
            Ok(d) => defs.push(d),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(format!("SearchParameters that cannot be indexed: {}", problems.join("; "))));
    }
    let indexer = Indexer::with_custom(&state.config.base_url, &defs).map_err(ApiError::invalid)?;
    let codes: Vec<String> = defs.iter().map(|d| format!("{}.{}", d.base.join("|"), d.code)).collect();
    let counts = state.store.counts()?;
    let every = asked.is_none();
    let mut types: Vec<String> = defs.iter().flat_map(|d| d.base.clone()).collect();
    types.extend(asked.unwrap_or_else(|| counts.iter().map(|(t, _)| t.clone()).collect()));
    types.sort();
    types.dedup();
    let total: u64 = counts.iter().filter(|(t, _)| types.contains(t)).map(|(_, n)| *n).sum();
    state.reindexer.update(|p| {
        p.parameters.clone_from(&codes);
        p.total = total;
    });
    // New writes are indexed with the new parameters from now on; searches on them wait for
    // the job (their parameters are made known to the parser only at the end).
    state.set_indexer(indexer);
    for t in &types {
        reindex_all(state, &SearchQuery::all(t), false).await?;
        // With every type re-indexed, the containers are among them.
        if !every {
            reindex_all(state, &containers_of(t), true).await?;
        }
    }
    weave_search::custom::install(defs);
    let active: Vec<Value> = stored.iter().map(|(id, v, _)| json!(format!("SearchParameter/{id}/_history/{v}"))).collect();
    save_active(state, &active).await?;
    state.reindexer.update(|p| p.state = "completed");
    tracing::info!(parameters = codes.len(), "$reindex completed");
    Ok(())
}

/// Re-extracts the index rows of everything `query` finds, a page per write job. Containers
/// (`extra`) were not counted in the job's total: each page adds to it.
async fn reindex_all(state: &AppState, query: &SearchQuery, extra: bool) -> Result<(), ApiError> {
    let mut after = None;
    loop {
        let (st, q) = (state.clone(), query.clone());
        let (page, next) = tokio::task::spawn_blocking(move || page_of(&st, &q, after))
            .await
            .map_err(|e| ApiError::Internal(format!("$reindex: {e}")))??;
        let indexer = state.indexer();
        let rows: Vec<(String, String, u64, weave_store::IndexEntries)> =
            page.iter().map(|(t, id, v, body)| (t.clone(), id.clone(), *v, indexer.extract(t, body))).collect();
        let n = rows.len() as u64;
        write(&*state.store, move |tx: &mut dyn WriteTx| -> Result<(), ApiError> {
            for (t, id, version, mut ix) in rows {
                tx.reindex(&t, &id, version, &mut ix)?;
            }
            Ok(())
        })
        .await?;
        state.reindexer.update(|p| {
            p.processed += n;
            if extra {
                p.total += n;
            }
        });
        match next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}

/// Keeps the list of active parameters (a JSON array of versioned references) as a Binary.
async fn save_active(state: &AppState, active: &[Value]) -> Result<(), ApiError> {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(active).unwrap_or_default());
    let binary = json!({ "resourceType": "Binary", "id": ACTIVE_ID, "contentType": "application/json", "data": data });
    crate::import::put_all(state, vec![binary]).await.map(drop)
}

/// At start-up: puts in force the custom parameters the last completed `$reindex` activated
/// (the versions it indexed with, even if the SearchParameters changed since).
pub fn restore(state: &AppState) -> Result<usize, ApiError> {
    use base64::Engine as _;
    let Some(stored) = state.store.read("Binary", ACTIVE_ID)?.and_then(|s| s.body) else { return Ok(0) };
    let binary: Value = serde_json::from_str(&stored).map_err(|e| ApiError::Internal(format!("{ACTIVE_ID}: {e}")))?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(binary["data"].as_str().unwrap_or_default()).unwrap_or_default();
    let refs: Vec<String> = serde_json::from_slice(&bytes).unwrap_or_default();
    let mut defs = Vec::new();
    for r in refs {
        let mut parts = r.split('/');
        let (Some("SearchParameter"), Some(id), Some("_history"), Some(v)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Some(body) = state.store.vread("SearchParameter", id, v.parse().unwrap_or(0))?.and_then(|s| s.body) else { continue };
        let value: Value = serde_json::from_str(&body).map_err(|e| ApiError::Internal(format!("SearchParameter/{id}: {e}")))?;
        defs.push(weave_search::custom::from_resource(&value).map_err(ApiError::invalid)?);
    }
    let n = defs.len();
    if n > 0 {
        state.set_indexer(Indexer::with_custom(&state.config.base_url, &defs).map_err(ApiError::invalid)?);
        weave_search::custom::install(defs);
    }
    Ok(n)
}
