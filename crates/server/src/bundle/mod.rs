//! `POST /` with a `transaction` or `batch` Bundle.
//!
//! A batch runs each entry as if it were its own request (through the same dispatch as the REST
//! API). A transaction is all-or-nothing: it is checked, its references resolved and its
//! resources validated and indexed before anything is written, and then written in one job.

mod entry;
mod predict;
mod refs;
mod transaction;

pub use predict::Resolved;
pub use transaction::{Hooks, JobStep};

use crate::error::{issue, ApiError};
use crate::http::{fhir_response, parse_json, to_body};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};
use weave_fhir::outcome::IssueType;

pub async fn handle(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    crate::http::body_kind(&req.headers)?;
    let out = process_bytes(state, req, &req.body).await?;
    Ok(fhir_response(StatusCode::OK, to_body(&out, req.pretty())))
}

/// The parts of a transaction Bundle read before its entries are processed.
#[derive(serde::Deserialize)]
struct BundleText {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Absent is no entries; `null` (not FHIR JSON) fails here and is refused by the old path.
    #[serde(default)]
    entry: Vec<entry::EntryText>,
}

/// Like [`process_with`] from the Bundle's bytes. A transaction keeps each POST entry's resource
/// as text until it is processed (see [`entry::parse_text_entries`]); anything else, and any
/// Bundle that is not the expected shape, is parsed whole and takes [`process_with`] (whose
/// errors name the problem precisely).
pub async fn process_bytes(state: &AppState, req: &Req, bytes: &[u8]) -> Result<Value, ApiError> {
    match transaction_bytes(state, req, bytes).await {
        Some(done) => done,
        None => process_with(state, req, parse_json(bytes)?, None).await,
    }
}

/// Processes `bytes` if they are a transaction Bundle of the expected shape; `None` otherwise
/// (nothing done).
pub async fn transaction_bytes(state: &AppState, req: &Req, bytes: &[u8]) -> Option<Result<Value, ApiError>> {
    let b = serde_json::from_slice::<BundleText>(bytes).ok()?;
    if b.resource_type.as_deref() != Some("Bundle") || b.kind.as_deref() != Some("transaction") {
        return None;
    }
    let run = async {
        let entries = entry::parse_text_entries(b.entry)?;
        let responses = transaction::run(state, req, entries, None).await?;
        Ok(response_bundle(state, "transaction", responses))
    };
    Some(run.await)
}

/// Processes a parsed transaction or batch Bundle and returns the response Bundle; a transaction
/// runs `hooks` in its write job. A batch has no single job, so
/// hooks are refused for it.
pub async fn process_with(state: &AppState, req: &Req, mut bundle: Value, hooks: Option<Hooks>) -> Result<Value, ApiError> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ApiError::invalid("POST to the base URL takes a transaction or batch Bundle"));
    }
    let kind = bundle.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
    let entries = entry::parse_entries(&mut bundle, kind == "transaction")?;
    let responses = match kind.as_str() {
        "transaction" => transaction::run(state, req, entries, hooks).await?,
        "batch" if hooks.is_some() => {
            return Err(ApiError::invalid("this feed needs a transaction Bundle, not a batch"));
        }
        "batch" => batch(state, req, entries).await,
        other => {
            return Err(ApiError::BadRequest(vec![issue(
                IssueType::Invalid,
                format!("Bundle.type '{other}' cannot be processed; send a transaction or batch Bundle"),
            )]))
        }
    };
    Ok(response_bundle(state, &kind, responses))
}

fn response_bundle(state: &AppState, kind: &str, responses: Vec<Value>) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": format!("{kind}-response"),
        "link": [{ "relation": "self", "url": state.config.base_url }],
        "entry": responses,
    })
}

/// Runs each entry of a batch as its own request; a failing entry gets its OperationOutcome.
async fn batch(state: &AppState, req: &Req, entries: Vec<entry::Entry>) -> Vec<Value> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let sub = e.to_request(req);
        let resp = Box::pin(crate::routes::route_request(state, sub)).await;
        out.push(response_entry(resp).await);
    }
    out
}

/// A Bundle `entry` (with `response`) from an HTTP response.
async fn response_entry(resp: Response) -> Value {
    let status = resp.status();
    let (location, etag, last_modified) = response_headers(&resp);
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let mut response = Map::new();
    let reason = status.canonical_reason().unwrap_or("");
    response.insert("status".into(), Value::String(format!("{} {reason}", status.as_u16()).trim().to_owned()));
    if let Some(l) = location {
        response.insert("location".into(), Value::String(l));
    }
    if let Some(e) = etag {
        response.insert("etag".into(), Value::String(e));
    }
    // The resource's own lastUpdated is exact; the HTTP header only has whole seconds.
    let exact = parsed.as_ref().and_then(|v| v.get("meta")?.get("lastUpdated")?.as_str().map(str::to_owned));
    if let Some(lm) = exact.or_else(|| last_modified.and_then(|lm| http_to_instant(&lm))) {
        response.insert("lastModified".into(), Value::String(lm));
    }
    let mut entry = Map::new();
    match parsed {
        Some(v) if !status.is_success() || v.get("resourceType").and_then(Value::as_str) == Some("OperationOutcome") => {
            response.insert("outcome".into(), v);
        }
        Some(v) => {
            entry.insert("resource".into(), v);
        }
        None => {}
    }
    entry.insert("response".into(), Value::Object(response));
    Value::Object(entry)
}

fn response_headers(resp: &Response) -> (Option<String>, Option<String>, Option<String>) {
    let header = |name: axum::http::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    (
        header(axum::http::header::LOCATION),
        header(axum::http::header::ETAG),
        header(axum::http::header::LAST_MODIFIED),
    )
}

fn http_to_instant(s: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(&s.replace("GMT", "+0000"), &time::format_description::well_known::Rfc2822).ok()?;
    Some(weave_store::format_instant(i64::try_from(t.unix_timestamp()).ok()? * 1_000_000))
}
