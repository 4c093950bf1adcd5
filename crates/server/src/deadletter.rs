//! Dead letters: what feeds sent that could not be applied, kept raw, listed and replayed; and the
//! CLD extract import that produces them row by row.
//!
//! Admin API (plain JSON, not FHIR): `GET /$deadletter[?_after=ID&_count=N]`,
//! `GET /$deadletter/{id}` (with the raw bytes, as text and base64) and
//! `POST /$deadletter/{id}/$replay`, which re-runs the pipeline of the record's source on the
//! stored bytes and marks the dead letter replayed when it is then applied. A failed replay
//! answers 422 and leaves the dead letter as it was.

use crate::error::{issue, ApiError};
use crate::mllp::{apply_hl7, describe, record_inbound, Outcome};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};
use weave_fhir::outcome::IssueType;
use weave_ingest::cld::{self, CldError, Report};
use weave_store::{format_instant, Inbound, InboundSource, NewInbound};

const DEFAULT_COUNT: usize = 100;
const MAX_COUNT: usize = 1000;

/// Routes `/$deadletter/…` (`rest` is what follows `$deadletter`).
pub(crate) async fn handle(state: &AppState, req: &Req, rest: &[&str]) -> Result<Response, ApiError> {
    let get = req.method == Method::GET || req.method == Method::HEAD;
    match rest {
        [] if get => list(state, req),
        [id] if get => {
            let d = find(state, id)?;
            Ok(json_response(StatusCode::OK, &to_json(&d, true)))
        }
        [id, "$replay"] if req.method == Method::POST => {
            let id = parse_id(id)?;
            Ok(json_response(StatusCode::OK, &replay(state, id).await?))
        }
        [] | [_] | [_, "$replay"] => Err(ApiError::MethodNotAllowed(format!("{} is not allowed here", req.method))),
        _ => Err(ApiError::NotFound(format!("no such endpoint: /{}", req.segments.join("/")))),
    }
}

fn list(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        crate::http::param(&req.query, name)
            .map(|v| v.parse::<i64>().map_err(|_| ApiError::invalid(format!("{name} must be an integer"))))
            .transpose()
    };
    let after = number("_after")?.unwrap_or(0);
    let count = number("_count")?.map_or(DEFAULT_COUNT, |c| usize::try_from(c.max(1)).unwrap_or(1).min(MAX_COUNT));
    let page = state.store.dead_letters(after, count)?;
    let mut body = json!({ "deadLetters": page.iter().map(|d| to_json(d, false)).collect::<Vec<_>>() });
    if page.len() == count {
        if let Some(last) = page.last() {
            body["next"] = json!(format!("{}/$deadletter?_after={}&_count={count}", state.config.base_url, last.id));
        }
    }
    Ok(json_response(StatusCode::OK, &body))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound(format!("no dead letter {id}")))
}

fn find(state: &AppState, id: &str) -> Result<Inbound, ApiError> {
    let n = parse_id(id)?;
    state.store.inbound(n)?.filter(|d| !d.accepted).ok_or_else(|| ApiError::NotFound(format!("no dead letter {id}")))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// A dead letter as JSON; `with_raw` adds its bytes (as lossy UTF-8 text and as base64).
#[must_use]
pub fn to_json(d: &Inbound, with_raw: bool) -> Value {
    let mut v = json!({
        "id": d.id,
        "source": d.source.as_str(),
        "controlId": d.control_id,
        "received": format_instant(d.received),
        "reason": d.reason,
        "line": d.line,
        "replayed": d.replayed,
        "size": d.raw.len(),
    });
    if with_raw {
        v["raw"] = json!(String::from_utf8_lossy(&d.raw));
        v["rawBase64"] = json!(base64::engine::general_purpose::STANDARD.encode(&d.raw));
    }
    v
}

/// Re-runs a dead letter through its source's pipeline; on success marks it replayed and answers
/// `{"id", "replayed": true, "outcome", "ack"?}`. A dead letter replayed already is a conflict;
/// one that still fails is a 422 with the reason.
pub async fn replay(state: &AppState, id: i64) -> Result<Value, ApiError> {
    let d = state.store.inbound(id)?.filter(|d| !d.accepted).ok_or_else(|| ApiError::NotFound(format!("no dead letter {id}")))?;
    if d.replayed {
        return Err(ApiError::Conflict(format!("dead letter {id} was already replayed")));
    }
    let failed = |reason: String| ApiError::Unprocessable(vec![issue(IssueType::Processing, reason)]);
    let mut out = json!({ "id": id, "replayed": true });
    match d.source {
        InboundSource::Hl7v2 => {
            let handled = apply_hl7(state, &d.raw).await?;
            out["ack"] = json!(handled.ack);
            out["outcome"] = json!(match handled.outcome {
                Outcome::Accepted => "accepted",
                Outcome::Duplicate => "duplicate",
                Outcome::Rejected(reason) => return Err(failed(reason)),
            });
        }
        InboundSource::Cld => {
            let imported = import_cld_rows(state, &d.raw, false).await.map_err(|e| failed(e.to_string()))?;
            if let Some(reason) = imported.problem() {
                return Err(failed(reason));
            }
            out["outcome"] = json!("accepted");
        }
        InboundSource::Fhir => {
            let value: Value = serde_json::from_slice(&d.raw).map_err(|e| failed(format!("not JSON: {e}")))?;
            if value.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
                crate::import::bundle(state, value).await.map_err(|e| failed(describe(&e)))?;
            } else {
                // One NDJSON line: written as with PUT.
                let (_, rejected) = crate::import::put_all(state, vec![value]).await.map_err(|e| failed(describe(&e)))?;
                if let Some(r) = rejected.into_iter().next() {
                    return Err(failed(describe(&r.error)));
                }
            }
            out["outcome"] = json!("accepted");
        }
    }
    if !state.store.mark_replayed(id)? {
        return Err(ApiError::NotFound(format!("no dead letter {id}")));
    }
    Ok(out)
}

/// What a CLD import did.
#[derive(Debug, Default)]
pub struct CldImported {
    /// The line-numbered validation report.
    pub report: Report,
    /// Person Bundles built from the valid rows.
    pub bundles: usize,
    /// Bundles applied.
    pub applied: usize,
    /// Entries of the applied Bundles (resources written or matched).
    pub resources: usize,
    /// Bundles that failed to apply: the reason of each (each kept as a `fhir` dead letter).
    pub failed: Vec<String>,
    /// Ids of the dead letters written: one per invalid row, one per failed Bundle.
    pub dead_letters: Vec<i64>,
}

impl CldImported {
    /// Why not everything was applied, if it was not.
    fn problem(&self) -> Option<String> {
        let mut why: Vec<String> =
            self.report.errors.iter().map(|e| format!("line {}: {} {}", e.line, e.column, e.message)).collect();
        why.extend(self.failed.iter().cloned());
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// Imports a CLD extract: the file is logged raw, every valid person's Bundle is applied through
/// [`crate::import::bundle`], and every invalid row (header + that line) and every Bundle that
/// fails is kept as a dead letter. Re-importing a file writes no duplicates (conditional writes).
pub async fn import_cld(state: &AppState, bytes: &[u8]) -> Result<CldImported, CldError> {
    let file = NewInbound { source: InboundSource::Cld, control_id: None, accepted: true, reason: None, line: None, raw: bytes.to_vec() };
    if let Err(e) = record_inbound(state, file).await {
        tracing::warn!(error = %e, "a CLD extract could not be logged");
    }
    let mut imported = import_cld_rows(state, bytes, true).await?;
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let header = lines.first().copied().unwrap_or_default();
    for line in imported.report.invalid_lines() {
        let reason: Vec<String> = imported
            .report
            .errors
            .iter()
            .filter(|e| e.line == line)
            .map(|e| if e.column.is_empty() { e.message.clone() } else { format!("{}: {} ('{}')", e.column, e.message, e.value) })
            .collect();
        let row = usize::try_from(line).ok().and_then(|l| lines.get(l.checked_sub(1)?)).copied().unwrap_or_default();
        let mut raw = header.to_vec();
        raw.push(b'\n');
        raw.extend_from_slice(row);
        let record = NewInbound { source: InboundSource::Cld, control_id: None, accepted: false, reason: Some(reason.join("; ")), line: Some(line), raw };
        match record_inbound(state, record).await {
            Ok(id) => imported.dead_letters.push(id),
            Err(e) => tracing::error!(error = %e, line, "an invalid CLD row could not be kept"),
        }
    }
    Ok(imported)
}

/// Validates and applies an extract (no dead letters for invalid rows: see [`import_cld`]); with
/// `keep`, a Bundle that fails is kept as a dead letter (not when replaying one).
async fn import_cld_rows(state: &AppState, bytes: &[u8], keep: bool) -> Result<CldImported, CldError> {
    let mut bundles = Vec::new();
    let report = cld::import_each(bytes, |b| bundles.push(b))?;
    let mut imported = CldImported { report, bundles: bundles.len(), ..CldImported::default() };
    for bundle in bundles {
        // A Bundle that fails is kept as it was: with `keep`, a copy goes in.
        let kept = keep.then(|| bundle.clone());
        match crate::import::bundle(state, bundle).await {
            Ok(resp) => {
                imported.applied += 1;
                imported.resources += resp.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
            }
            Err(e) => {
                let reason = describe(&e);
                let Some(bundle) = kept else {
                    imported.failed.push(reason);
                    continue;
                };
                let raw = bundle.to_string().into_bytes();
                let record = NewInbound { source: InboundSource::Fhir, control_id: None, accepted: false, reason: Some(reason.clone()), line: None, raw };
                match record_inbound(state, record).await {
                    Ok(id) => imported.dead_letters.push(id),
                    Err(e) => tracing::error!(error = %e, "a failed CLD Bundle could not be kept"),
                }
                imported.failed.push(reason);
            }
        }
    }
    Ok(imported)
}
