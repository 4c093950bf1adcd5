//! Bulk loading over HTTP, synchronously, answered with a line-numbered `OperationOutcome`:
//!
//! * `POST /$import` — an NDJSON body (`application/fhir+ndjson`), one resource per line, each
//!   written as with `PUT` (its own id; validated and indexed). Invalid lines are refused one by
//!   one — never the whole file — and each is kept as a dead letter with its line number.
//! * `POST /$import-cld` — a council's Client Level Data extract (CSV): valid rows applied,
//!   invalid rows reported by line and column and kept as dead letters.
//!
//! The file itself is kept raw in the inbound log first. (The Bulk Data `$import` form whose
//! inputs are URLs to fetch is refused with a clear message: Weave does not fetch URLs for a
//! client; send the NDJSON as the body, or use `weave import` for files larger than the body
//! limit.)

use crate::error::{issue, ApiError};
use crate::http::{fhir_response, to_body};
use crate::mllp::record_inbound;
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use weave_fhir::outcome::{operation_outcome, Issue, IssueType, Severity};
use weave_store::{InboundSource, NewInbound};

/// NDJSON lines per write job.
const CHUNK: usize = 1_000;

/// What an NDJSON load did.
#[derive(Debug, Default)]
pub struct NdjsonOutcome {
    /// Resources written.
    pub written: usize,
    /// Refused lines: (line number, why).
    pub rejected: Vec<(usize, String)>,
    /// Dead letters kept for the refused lines.
    pub dead_letters: Vec<i64>,
}

/// Writes NDJSON lines (numbered from `first`; blank lines are skipped); each refused line is
/// kept as a dead letter.
pub async fn ndjson_lines(state: &AppState, first: usize, lines: &[&str]) -> Result<NdjsonOutcome, ApiError> {
    let mut out = NdjsonOutcome::default();
    let mut resources = Vec::with_capacity(lines.len());
    let mut kept: Vec<(usize, &str)> = Vec::with_capacity(lines.len());
    let mut refused: Vec<(usize, &str, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(v) => {
                resources.push(v);
                kept.push((first + i, line));
            }
            Err(e) => refused.push((first + i, line, format!("not valid JSON: {e}"))),
        }
    }
    let (written, rejected) = crate::import::put_all(state, resources).await?;
    out.written = written;
    for r in rejected {
        if let Some((line, text)) = kept.get(r.index) {
            refused.push((*line, text, crate::mllp::describe(&r.error)));
        }
    }
    refused.sort_by_key(|r| r.0);
    for (line, text, reason) in refused {
        let record = NewInbound {
            source: InboundSource::Fhir,
            control_id: None,
            accepted: false,
            reason: Some(reason.clone()),
            line: u64::try_from(line).ok(),
            raw: text.as_bytes().to_vec(),
        };
        match record_inbound(state, record).await {
            Ok(id) => out.dead_letters.push(id),
            Err(e) => tracing::error!(error = %e, line, "a refused NDJSON line could not be kept"),
        }
        out.rejected.push((line, reason));
    }
    Ok(out)
}

fn content_type(req: &Req) -> String {
    req.headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Keeps a received file raw in the inbound log.
async fn log_file(state: &AppState, source: InboundSource, bytes: &[u8]) {
    let file = NewInbound { source, control_id: None, accepted: true, reason: None, line: None, raw: bytes.to_vec() };
    if let Err(e) = record_inbound(state, file).await {
        tracing::warn!(error = %e, "a bulk file could not be logged");
    }
}

/// `POST /$import`.
pub async fn import_ndjson(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    let ct = content_type(req);
    if matches!(ct.as_str(), "application/fhir+json" | "application/json") {
        return Err(ApiError::invalid(
            "$import takes the NDJSON itself as the body (Content-Type: application/fhir+ndjson); \
             Weave does not fetch input URLs for a client",
        ));
    }
    if !matches!(ct.as_str(), "application/fhir+ndjson" | "application/x-ndjson" | "application/ndjson") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "$import takes application/fhir+ndjson, not '{ct}'"
        )));
    }
    let text = std::str::from_utf8(&req.body).map_err(|e| ApiError::invalid(format!("the body is not UTF-8: {e}")))?;
    log_file(state, InboundSource::Fhir, &req.body).await;
    let lines: Vec<&str> = text.lines().collect();
    let non_empty = lines.iter().filter(|l| !l.trim().is_empty()).count();
    if non_empty == 0 {
        return Err(ApiError::invalid("the body holds no NDJSON lines"));
    }
    let mut total = NdjsonOutcome::default();
    for (k, chunk) in lines.chunks(CHUNK).enumerate() {
        let done = ndjson_lines(state, k * CHUNK + 1, chunk).await?;
        total.written += done.written;
        total.rejected.extend(done.rejected);
        total.dead_letters.extend(done.dead_letters);
    }
    let mut issues = vec![information(format!(
        "{} resources written from {} lines; {} lines refused (kept as dead letters {:?})",
        total.written,
        non_empty,
        total.rejected.len(),
        total.dead_letters
    ))];
    issues.extend(total.rejected.iter().map(|(line, why)| at_line(Severity::Error, *line, why.clone())));
    Ok(fhir_response(StatusCode::OK, to_body(&operation_outcome(&issues), req.pretty())))
}

fn information(text: String) -> Issue {
    let mut i = issue(IssueType::Informational, text);
    i.severity = Severity::Information;
    i
}

fn at_line(severity: Severity, line: usize, text: String) -> Issue {
    let mut i = issue(if severity == Severity::Error { IssueType::Invalid } else { IssueType::Informational }, format!("line {line}: {text}"));
    i.severity = severity;
    i.expression = vec![format!("line {line}")];
    i
}

/// `POST /$import-cld`.
pub async fn import_cld(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    let done = crate::deadletter::import_cld(state, &req.body).await.map_err(|e| {
        ApiError::BadRequest(vec![issue(IssueType::Invalid, format!("not a CLD extract: {e}"))])
    })?;
    let r = &done.report;
    let mut issues = vec![information(format!(
        "{} rows read, {} valid; {} person Bundles applied ({} resources written or matched); {} refused rows and {} failed Bundles kept as dead letters {:?}",
        r.rows,
        r.valid,
        done.applied,
        done.resources,
        r.invalid_lines().len(),
        done.failed.len(),
        done.dead_letters
    ))];
    for (severity, list) in [(Severity::Error, &r.errors), (Severity::Warning, &r.warnings)] {
        for e in list {
            let column = if e.column.is_empty() { String::new() } else { format!("{} '{}': ", e.column, e.value) };
            issues.push(at_line(severity, usize::try_from(e.line).unwrap_or(0), format!("{column}{}", e.message)));
        }
    }
    issues.extend(done.failed.iter().map(|f| {
        let mut i = issue(IssueType::Processing, format!("a person's Bundle was not applied: {f}"));
        i.severity = Severity::Error;
        i
    }));
    Ok(fhir_response(StatusCode::OK, to_body(&operation_outcome(&issues), req.pretty())))
}
