//! Request parsing and response building shared by the handlers: media types, query strings,
//! JSON bodies, version headers, `Prefer`, and FHIR JSON responses with `ETag`/`Last-Modified`.

use crate::error::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// The query string as ordered (name, value) pairs, percent-decoded.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The first value of a query parameter.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// What kind of body a request carries, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    FhirJson,
    JsonPatch,
}

fn is_xml(media: &str) -> bool {
    media.ends_with("/xml") || media.ends_with("+xml")
}

/// Checks the request's `Content-Type`. A missing one is taken as FHIR JSON.
pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else { return Ok(BodyKind::FhirJson) };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let media = ct.split(';').next().unwrap_or("").trim();
    match media {
        "application/fhir+json" | "application/json" | "" => Ok(BodyKind::FhirJson),
        "application/json-patch+json" => Ok(BodyKind::JsonPatch),
        m if is_xml(m) => Err(ApiError::UnsupportedMediaType(
            "this server speaks FHIR JSON only; send application/fhir+json".into(),
        )),
        m => Err(ApiError::UnsupportedMediaType(format!(
            "unsupported content type '{m}'; send application/fhir+json"
        ))),
    }
}

/// Checks `_format` and `Accept`; answers 406 when only XML (or another format) is acceptable.
pub fn check_accept(headers: &HeaderMap, pairs: &[(String, String)]) -> Result<(), ApiError> {
    if let Some(f) = param(pairs, "_format") {
        let f = f.to_ascii_lowercase();
        let ok = matches!(f.as_str(), "json" | "application/json" | "application/fhir+json")
            || f.starts_with("application/fhir+json");
        if !ok {
            return Err(ApiError::NotAcceptable(format!(
                "_format '{f}' is not supported; this server returns FHIR JSON (_format=json)"
            )));
        }
        return Ok(());
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()) else { return Ok(()) };
    let acceptable = accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(
            media.as_str(),
            "" | "*/*" | "application/*" | "application/json" | "application/fhir+json" | "text/*" | "text/html"
        )
    });
    if acceptable {
        Ok(())
    } else {
        Err(ApiError::NotAcceptable(format!(
            "cannot answer in '{accept}'; this server returns application/fhir+json"
        )))
    }
}

/// Parses a JSON body, reporting the line and column of a syntax error.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("the request body is empty; a FHIR JSON resource was expected"));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(vec![crate::error::issue(
            weave_fhir::outcome::IssueType::Structure,
            format!("the body is not valid JSON: {e} (line {}, column {})", e.line(), e.column()),
        )])
    })
}

/// A weak ETag for a version: `W/"3"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version named by an `If-Match` header (`W/"3"`, `"3"` or `3`).
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let raw = v.to_str().unwrap_or("");
    parse_etag(raw)
        .map(Some)
        .ok_or_else(|| ApiError::invalid(format!("If-Match '{raw}' is not a version ETag like W/\"3\"")))
}

/// Parses `W/"3"`, `"3"` or `3` to a version number.
pub fn parse_etag(raw: &str) -> Option<u64> {
    let t = raw.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"').parse().ok()
}

/// An HTTP date (`Last-Modified`) for microseconds since the epoch.
pub fn http_date(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp(micros.div_euclid(1_000_000))
        .ok()
        .and_then(|t| t.format(&Rfc2822).ok())
        .map(|s| s.replace("+0000", "GMT"))
        .unwrap_or_default()
}

/// What the client asked for with `Prefer: return=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnPref {
    Minimal,
    Representation,
    OperationOutcome,
}

/// Reads `Prefer: return=` (default: representation).
pub fn return_pref(headers: &HeaderMap) -> ReturnPref {
    let prefer = headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    for part in prefer.split([',', ';']) {
        match part.trim().to_ascii_lowercase().as_str() {
            "return=minimal" => return ReturnPref::Minimal,
            "return=operationoutcome" => return ReturnPref::OperationOutcome,
            "return=representation" => return ReturnPref::Representation,
            _ => {}
        }
    }
    ReturnPref::Representation
}

/// True when `Prefer: handling=strict` was sent.
pub fn handling_strict(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split([',', ';']).any(|p| p.trim().eq_ignore_ascii_case("handling=strict")))
}

/// A FHIR JSON response with the given status and body text.
pub fn fhir_response(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut resp = (status, body.into()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    resp
}

/// Serializes a JSON value, pretty when asked.
pub fn to_body(v: &Value, pretty: bool) -> Vec<u8> {
    if pretty {
        serde_json::to_vec_pretty(v).unwrap_or_default()
    } else {
        serde_json::to_vec(v).unwrap_or_default()
    }
}

/// Adds `ETag` and `Last-Modified` for a version.
pub fn set_version_headers(resp: &mut Response, version: u64, last_updated: i64) {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(last_updated)) {
        h.insert(header::LAST_MODIFIED, v);
    }
}

/// A query parameter that must be an instant (`_since`).
pub fn parse_instant_param(name: &str, value: &str) -> Result<i64, ApiError> {
    weave_store::parse_instant(value)
        .ok_or_else(|| ApiError::invalid(format!("{name} '{value}' is not an instant with a time zone")))
}

/// True for an id the FHIR `id` type allows: 1–64 of `[A-Za-z0-9\-\.]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_parse_in_all_common_forms() {
        assert_eq!(parse_etag("W/\"3\""), Some(3));
        assert_eq!(parse_etag("\"12\""), Some(12));
        assert_eq!(parse_etag("7"), Some(7));
        assert_eq!(parse_etag("W/\"x\""), None);
    }

    #[test]
    fn http_dates_are_rfc_7231_gmt() {
        assert_eq!(http_date(1_764_063_912_123_456), "Tue, 25 Nov 2025 09:45:12 GMT");
    }

    #[test]
    fn ids_follow_the_fhir_id_type() {
        assert!(is_valid_id("abc-1.2"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id("a_b"));
        assert!(!is_valid_id(&"x".repeat(65)));
    }
}
