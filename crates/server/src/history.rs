//! `_history` at system, type and instance level, as history Bundles with stable paging.
//!
//! Paging is by change-feed position: a page link carries `_before` (the oldest `seq` shown) and
//! `_snapshot` (the newest `seq` the first page saw), so pages neither skip nor repeat entries
//! while writes continue.

use crate::crud::blocking;
use crate::error::ApiError;
use crate::http::{fhir_response, param, to_body};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};
use weave_store::{format_instant, parse_instant, HistoryQuery, HistoryScope, Method, Stored};

pub async fn handle(state: &AppState, req: &Req, t: Option<&str>, id: Option<&str>) -> Result<Response, ApiError> {
    let scope = match (t, id) {
        (Some(t), Some(id)) => HistoryScope::Instance(t.to_owned(), id.to_owned()),
        (Some(t), None) => HistoryScope::Type(t.to_owned()),
        _ => HistoryScope::System,
    };
    let query = history_query(state, req, scope)?;
    let q2 = query.clone();
    let page = blocking(state, move |s| s.history(&q2)).await?;
    if let (Some(t), Some(id)) = (t, id) {
        if page.total == 0 && query.since.is_none() && query.at.is_none() {
            return Err(ApiError::NotFound(format!("{t}/{id} is not known")));
        }
    }
    let mut links = vec![link("self", &self_url(state, req))];
    if let Some(before) = page.next_before_seq {
        let mut next: Vec<(String, String)> =
            req.query.iter().filter(|(k, _)| k != "_before" && k != "_snapshot").cloned().collect();
        next.push(("_before".into(), before.to_string()));
        next.push(("_snapshot".into(), page.up_to_seq.to_string()));
        links.push(link("next", &with_query(state, req, &next)));
    }
    let entries: Vec<Value> = page.entries.iter().map(|s| history_entry(state, s)).collect::<Result<_, _>>()?;
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "history",
        "total": page.total,
        "link": links,
        "entry": entries,
    });
    Ok(fhir_response(StatusCode::OK, to_body(&bundle, req.pretty())))
}

fn history_query(state: &AppState, req: &Req, scope: HistoryScope) -> Result<HistoryQuery, ApiError> {
    let count = match param(&req.query, "_count") {
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| ApiError::invalid(format!("_count '{c}' is not a whole number")))?
            .min(state.config.max_count),
        None => state.config.default_count,
    };
    let since = param(&req.query, "_since")
        .map(|s| parse_instant(s).ok_or_else(|| ApiError::invalid(format!("_since '{s}' is not an instant with time zone"))))
        .transpose()?;
    let at = param(&req.query, "_at")
        .map(|s| date_range(s).ok_or_else(|| ApiError::invalid(format!("_at '{s}' is not a date or dateTime"))))
        .transpose()?;
    let int = |name: &str| {
        param(&req.query, name)
            .map(|v| v.parse::<i64>().map_err(|_| ApiError::invalid(format!("{name} '{v}' is not a page cursor"))))
            .transpose()
    };
    Ok(HistoryQuery { scope, since, at, count, before_seq: int("_before")?, up_to_seq: int("_snapshot")? })
}

/// The inclusive range of microseconds a date or dateTime of any precision covers (UTC when no zone).
pub fn date_range(s: &str) -> Option<(i64, i64)> {
    if let Some(t) = parse_instant(s) {
        return Some((t, t));
    }
    let (date, rest) = s.split_at(s.find('T').unwrap_or(s.len()));
    let parts: Vec<&str> = date.split('-').collect();
    let year: i32 = parts.first()?.parse().ok()?;
    if !rest.is_empty() {
        // dateTime without seconds or zone: take it as UTC to the minute.
        let with_zone = if rest.len() == 6 { format!("{s}:00Z") } else { format!("{s}Z") };
        let t = parse_instant(&with_zone)?;
        return Some((t, t + if rest.len() == 6 { 59_999_999 } else { 999_999 }));
    }
    let month: u8 = parts.get(1).map_or(Some(1), |m| m.parse().ok())?;
    let day: u8 = parts.get(2).map_or(Some(1), |d| d.parse().ok())?;
    let start = format!("{year:04}-{month:02}-{day:02}T00:00:00Z");
    let lo = parse_instant(&start)?;
    let hi = match parts.len() {
        1 => parse_instant(&format!("{:04}-01-01T00:00:00Z", year + 1))? - 1,
        2 if month == 12 => parse_instant(&format!("{:04}-01-01T00:00:00Z", year + 1))? - 1,
        2 => parse_instant(&format!("{year:04}-{:02}-01T00:00:00Z", month + 1))? - 1,
        _ => lo + 86_400_000_000 - 1,
    };
    Some((lo, hi))
}

fn link(relation: &str, url: &str) -> Value {
    json!({ "relation": relation, "url": url })
}

fn with_query(state: &AppState, req: &Req, pairs: &[(String, String)]) -> String {
    let path = req.segments.join("/");
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let q = ser.finish();
    if q.is_empty() {
        format!("{}/{path}", state.config.base_url)
    } else {
        format!("{}/{path}?{q}", state.config.base_url)
    }
}

fn self_url(state: &AppState, req: &Req) -> String {
    with_query(state, req, &req.query)
}

/// One history entry: the version (absent for a deletion), its request and response.
pub fn history_entry(state: &AppState, s: &Stored) -> Result<Value, ApiError> {
    let mut e = Map::new();
    e.insert("fullUrl".into(), Value::String(state.url_of(&s.resource_type, &s.id)));
    if let Some(body) = &s.body {
        let r: Value = serde_json::from_str(body).map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?;
        e.insert("resource".into(), r);
    }
    let url = match s.method {
        Method::Post => s.resource_type.clone(),
        _ => format!("{}/{}", s.resource_type, s.id),
    };
    let status = match s.method {
        Method::Post => "201 Created",
        Method::Delete => "204 No Content",
        _ if s.version == 1 => "201 Created",
        _ => "200 OK",
    };
    e.insert("request".into(), json!({ "method": s.method.as_str(), "url": url }));
    e.insert(
        "response".into(),
        json!({
            "status": status,
            "etag": crate::http::etag(s.version),
            "lastModified": format_instant(s.last_updated),
        }),
    );
    Ok(Value::Object(e))
}

#[cfg(test)]
mod tests {
    use super::date_range;

    #[test]
    fn date_ranges_cover_the_precision_given() {
        let (lo, hi) = date_range("2024").unwrap();
        assert_eq!(hi - lo + 1, 366 * 86_400_000_000);
        let (lo, hi) = date_range("2024-02").unwrap();
        assert_eq!(hi - lo + 1, 29 * 86_400_000_000);
        let (lo, hi) = date_range("2024-12-31").unwrap();
        assert_eq!(hi - lo + 1, 86_400_000_000);
        let (lo, hi) = date_range("2024-12-31T10:00:00Z").unwrap();
        assert_eq!(lo, hi);
        assert!(date_range("yesterday").is_none());
    }
}
