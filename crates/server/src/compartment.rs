//! The Patient compartment: compartment search (`Patient/123/Observation?…`) and
//! `Patient/123/$everything`, both walking the reference index rather than searching each type.

use crate::bundle_text::BundleText;
use crate::crud::blocking;
use crate::error::ApiError;
use crate::http::{fhir_response, is_valid_id, param, parse_instant_param};
use crate::index::{push_entry, search_with};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use weave_fhir::r4;
use weave_store::query::{Clause, Predicate};

/// Largest `$everything` page.
const MAX_EVERYTHING_PAGE: usize = 10_000;

fn check_patient_id(id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("'{id}' is not a valid resource id")))
    }
}

/// The compartment clause for resources of type `t` in `Patient/id`'s compartment.
fn membership(t: &str, id: &str) -> Option<Clause> {
    let params = r4().patient_compartment(t)?.to_vec();
    let mut any_of = vec![Predicate::Compartment { params, target_type: "Patient".into(), target_id: id.to_owned() }];
    if t == "Patient" {
        any_of.push(Predicate::Id(id.to_owned()));
    }
    Some(Clause { any_of })
}

/// `GET Patient/[id]/[type]?…`.
pub async fn search(state: &AppState, req: &Req, id: &str, t: &str, strict: bool) -> Result<Response, ApiError> {
    check_patient_id(id)?;
    if !r4().is_resource_type(t) {
        return Err(ApiError::UnknownType(t.to_owned()));
    }
    let clause = membership(t, id)
        .ok_or_else(|| ApiError::NotFound(format!("{t} resources are not in the Patient compartment")))?;
    search_with(state, req, t, strict, Some(clause)).await
}

/// `GET Patient/[id]/$everything` with `_since`, `_type`, `_count` and paging by `_after`.
pub async fn everything(state: &AppState, req: &Req, id: &str) -> Result<Response, ApiError> {
    check_patient_id(id)?;
    let since = param(&req.query, "_since").map(|s| parse_instant_param("_since", s)).transpose()?;
    let types: Option<Vec<String>> = param(&req.query, "_type").map(|t| t.split(',').map(|s| s.trim().to_owned()).collect());
    if let Some(bad) = types.iter().flatten().find(|t| !r4().is_resource_type(t)) {
        return Err(ApiError::invalid(format!("_type '{bad}' is not a resource type")));
    }
    let count = match param(&req.query, "_count") {
        Some(c) => c.parse::<usize>().map_err(|_| ApiError::invalid(format!("_count '{c}' is not a whole number")))?,
        None => state.config.max_count,
    }
    .clamp(1, MAX_EVERYTHING_PAGE);
    let after = param(&req.query, "_after")
        .map(|a| a.parse::<i64>().map_err(|_| ApiError::invalid(format!("_after '{a}' is not a page cursor"))))
        .transpose()?;
    let wanted = |t: &str| types.as_ref().is_none_or(|ts| ts.iter().any(|x| x == t));
    let keys: Vec<String> = r4()
        .resource_types()
        .filter(|t| wanted(t))
        .flat_map(|t| r4().patient_compartment(t).unwrap_or_default().iter().map(move |p| format!("{t}.{p}")))
        .collect();
    let include_patient = after.is_none() && wanted("Patient");
    let pid = id.to_owned();
    let _broad = state.lanes.broad().await;
    let page = blocking(state, move |s| {
        let Some(patient_rid) = s.row_of("Patient", &pid)? else { return Ok(None) };
        let mut rows = s.compartment_rows("Patient", &pid, &keys, since, after, count + 1)?;
        let more = rows.len() > count;
        rows.truncate(count);
        let cursor = rows.last().copied();
        rows.retain(|r| *r != patient_rid);
        let members = s.read_rows(&rows)?;
        let mut referenced = s.referenced_rows(&rows)?;
        referenced.retain(|r| *r != patient_rid && !rows.contains(r));
        let referenced = s.read_rows(&referenced)?;
        let patient = if include_patient { s.read_rows(&[patient_rid])? } else { Vec::new() };
        Ok(Some(EverythingPage { patient, members, referenced, next: if more { cursor } else { None } }))
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("Patient/{id} is not known")))?;
    let mut links = vec![json!({"relation": "self", "url": page_url(state, req, after)})];
    if let Some(cursor) = page.next {
        links.push(json!({"relation": "next", "url": page_url(state, req, Some(cursor))}));
    }
    let all = page.patient.iter().chain(&page.members).map(|s| (s, "match")).chain(page.referenced.iter().map(|s| (s, "include")));
    let size: usize = all.clone().map(|(s, _)| s.body.as_deref().map_or(0, str::len) + 128).sum();
    let mut bundle = BundleText::new("searchset", None, &links, size);
    for (s, mode) in all {
        push_entry(state, &mut bundle, s, mode, None)?;
    }
    Ok(fhir_response(StatusCode::OK, bundle.finish(req.pretty())))
}

/// One page of `$everything`.
struct EverythingPage {
    patient: Vec<weave_store::Stored>,
    members: Vec<weave_store::Stored>,
    referenced: Vec<weave_store::Stored>,
    /// The cursor of the next page, when there is one.
    next: Option<i64>,
}

/// This request's URL with the `_after` cursor replaced.
fn page_url(state: &AppState, req: &Req, after: Option<i64>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in req.query.iter().filter(|(k, _)| k != "_after") {
        ser.append_pair(k, v);
    }
    if let Some(a) = after {
        ser.append_pair("_after", &a.to_string());
    }
    let q = ser.finish();
    let path = req.segments.join("/");
    if q.is_empty() {
        format!("{}/{path}", state.config.base_url)
    } else {
        format!("{}/{path}?{q}", state.config.base_url)
    }
}
