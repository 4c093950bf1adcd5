//! The instance and type interactions: read, vread, create, update, delete, patch (plain and
//! conditional), `$validate` and the search entry point.

use crate::error::{issue, ApiError};
use crate::http::{
    body_kind, fhir_response, handling_strict, if_match, is_valid_id, parse_etag, parse_json,
    return_pref, set_version_headers, to_body, BodyKind, ReturnPref,
};
use crate::index;
use crate::routes::Req;
use crate::shape;
use crate::state::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;
use weave_fhir::outcome::{operation_outcome, Issue, IssueType, Severity};
use weave_fhir::r4;
use weave_store::{prepare_body, stamp_meta, write, Method, Stored, Store, Written, WriteTx};

/// Runs a blocking store call off the async executor.
pub async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<T, weave_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))?
        .map_err(ApiError::from)
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "'{id}' is not a valid resource id (1 to 64 of A-Z a-z 0-9 - .)"
        )))
    }
}

/// Answers a stored version: 410 for a tombstone, 304 for a matching `If-None-Match`, else the body
/// (shaped by `_summary` / `_elements` when asked).
fn stored_response(req: &Req, s: &Stored) -> Result<Response, ApiError> {
    let Some(body) = &s.body else {
        let mut resp = ApiError::Gone(format!("{}/{} was deleted", s.resource_type, s.id)).into_response();
        set_version_headers(&mut resp, s.version, s.last_updated);
        return Ok(resp);
    };
    if let Some(v) = req.headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        if parse_etag(v) == Some(s.version) {
            let mut resp = fhir_response(StatusCode::NOT_MODIFIED, Vec::new());
            set_version_headers(&mut resp, s.version, s.last_updated);
            return Ok(resp);
        }
    }
    let shaped = shape::Shape::from_query(&req.query)?;
    let bytes = if shaped.is_none() && !req.pretty() {
        body.as_bytes().to_vec()
    } else {
        let mut v: Value = serde_json::from_str(body)
            .map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?;
        if let Some(sh) = shaped {
            sh.apply(&mut v);
        }
        to_body(&v, req.pretty())
    };
    let mut resp = fhir_response(StatusCode::OK, bytes);
    set_version_headers(&mut resp, s.version, s.last_updated);
    Ok(resp)
}

pub async fn read(state: &AppState, req: &Req, t: &str, id: &str) -> Result<Response, ApiError> {
    check_id(id)?;
    let (t2, id2) = (t.to_owned(), id.to_owned());
    let found = blocking(state, move |s| s.read(&t2, &id2)).await?;
    let s = found.ok_or_else(|| ApiError::NotFound(format!("{t}/{id} is not known")))?;
    stored_response(req, &s)
}

pub async fn vread(state: &AppState, req: &Req, t: &str, id: &str, vid: &str) -> Result<Response, ApiError> {
    check_id(id)?;
    let version: u64 =
        vid.parse().map_err(|_| ApiError::invalid(format!("'{vid}' is not a version number")))?;
    let (t2, id2) = (t.to_owned(), id.to_owned());
    let found = blocking(state, move |s| s.vread(&t2, &id2, version)).await?;
    let s = found.ok_or_else(|| ApiError::NotFound(format!("{t}/{id} has no version {vid}")))?;
    stored_response(req, &s)
}

/// Parses, checks and validates a resource body for type `t`.
pub fn checked_resource(body: &[u8], t: &str) -> Result<Value, ApiError> {
    let v = parse_json(body)?;
    check_resource(v, t)
}

/// Checks that `v` is a resource of type `t` and validates it.
pub fn check_resource(v: Value, t: &str) -> Result<Value, ApiError> {
    let Some(rt) = v.get("resourceType").and_then(Value::as_str) else {
        return Err(ApiError::invalid("the body has no resourceType; a FHIR resource was expected"));
    };
    if rt != t {
        return Err(ApiError::invalid(format!("the body is a {rt}, but the URL is for {t}")));
    }
    validate_value(&v)?;
    Ok(v)
}

/// Validates a resource; errors become a 400 (structure) or 422 (terminology) listing every issue.
pub fn validate_value(v: &Value) -> Result<(), ApiError> {
    let issues = weave_fhir::validate::validate_resource(r4(), v);
    let errors: Vec<Issue> = issues
        .into_iter()
        .filter(|i| matches!(i.severity, Severity::Error | Severity::Fatal))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    if errors.iter().all(|i| i.code == IssueType::CodeInvalid) {
        Err(ApiError::Unprocessable(errors))
    } else {
        Err(ApiError::BadRequest(errors))
    }
}

/// The answer to a successful write, honouring `Prefer: return=`.
pub fn write_response(
    state: &AppState,
    req: &Req,
    status: StatusCode,
    t: &str,
    id: &str,
    written: &Written,
    resource: Option<&Value>,
) -> Response {
    let body = match (return_pref(&req.headers), resource) {
        (ReturnPref::Minimal, _) | (_, None) => Vec::new(),
        (ReturnPref::Representation, Some(r)) => to_body(r, req.pretty()),
        (ReturnPref::OperationOutcome, Some(_)) => to_body(
            &operation_outcome(&[Issue {
                severity: Severity::Information,
                code: IssueType::Informational,
                diagnostics: format!("{t}/{id} version {} stored", written.version),
                expression: Vec::new(),
            }]),
            req.pretty(),
        ),
    };
    let mut resp = fhir_response(status, body);
    set_version_headers(&mut resp, written.version, written.last_updated);
    if status == StatusCode::CREATED || status == StatusCode::OK {
        let loc = format!("{}/_history/{}", state.url_of(t, id), written.version);
        if let Ok(v) = HeaderValue::from_str(&loc) {
            resp.headers_mut().insert(header::LOCATION, v.clone());
            if status == StatusCode::CREATED {
                resp.headers_mut().insert(header::CONTENT_LOCATION, v);
            }
        }
    }
    resp
}

pub async fn create(state: &AppState, req: &Req, t: &str) -> Result<Response, ApiError> {
    expect_resource_body(req)?;
    let mut resource = checked_resource(&req.body, t)?;
    let condition = req.headers.get("if-none-exist").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let id = uuid::Uuid::now_v7().to_string();
    set_id(&mut resource, &id);
    let mut entries = state.indexer().extract(t, &resource);
    let body = prepare_body(&mut resource, &id);
    let (t2, id2) = (t.to_owned(), id.clone());
    let indexer = state.indexer();
    let outcome = write(&*state.store, move |tx: &mut dyn WriteTx| -> Result<_, ApiError> {
        if let Some(cond) = condition {
            match index::find(tx, &indexer, &t2, &cond)?.as_slice() {
                [] => {}
                [existing] => return Ok(CreateOutcome::Exists(existing.clone())),
                many => return Err(multiple_matches(&t2, &cond, many.len())),
            }
        }
        let w = tx.put(&t2, &id2, &body, Method::Post, &mut entries)?;
        stamp_meta(&mut resource, &id2, &w);
        Ok(CreateOutcome::Created(w, resource))
    })
    .await?;
    match outcome {
        CreateOutcome::Created(w, r) => Ok(write_response(state, req, StatusCode::CREATED, t, &id, &w, Some(&r))),
        CreateOutcome::Exists(existing) => {
            let t2 = t.to_owned();
            let s = blocking(state, move |s| s.read(&t2, &existing)).await?;
            let s = s.ok_or_else(|| ApiError::Internal("matched resource vanished".into()))?;
            stored_response(req, &s)
        }
    }
}

enum CreateOutcome {
    Created(Written, Value),
    Exists(String),
}

fn multiple_matches(t: &str, cond: &str, n: usize) -> ApiError {
    ApiError::PreconditionFailed(format!("the condition {t}?{cond} matches {n} resources; it must match at most one"))
}

fn expect_resource_body(req: &Req) -> Result<(), ApiError> {
    match body_kind(&req.headers)? {
        BodyKind::FhirJson => Ok(()),
        BodyKind::JsonPatch => Err(ApiError::UnsupportedMediaType(
            "a JSON Patch body is only accepted by PATCH".into(),
        )),
    }
}

/// Sets the resource's `id` (used by create, where a client-sent id is ignored as the spec says).
pub fn set_id(resource: &mut Value, id: &str) {
    if let Some(o) = resource.as_object_mut() {
        o.insert("id".into(), Value::String(id.to_owned()));
    }
}

pub async fn update(state: &AppState, req: &Req, t: &str, id: &str) -> Result<Response, ApiError> {
    check_id(id)?;
    expect_resource_body(req)?;
    let resource = checked_resource(&req.body, t)?;
    match resource.get("id").and_then(Value::as_str) {
        Some(body_id) if body_id == id => {}
        Some(body_id) => {
            return Err(ApiError::invalid(format!("the body's id '{body_id}' differs from the URL's id '{id}'")))
        }
        None => return Err(ApiError::invalid("an update needs the resource's id in the body")),
    }
    let expected = if_match(&req.headers)?;
    do_update(state, req, t, id, resource, expected).await
}

async fn do_update(
    state: &AppState,
    req: &Req,
    t: &str,
    id: &str,
    mut resource: Value,
    expected: Option<u64>,
) -> Result<Response, ApiError> {
    let mut entries = state.indexer().extract(t, &resource);
    let body = prepare_body(&mut resource, id);
    let (t2, id2) = (t.to_owned(), id.to_owned());
    let (w, created) = write(&*state.store, move |tx: &mut dyn WriteTx| -> Result<_, ApiError> {
        let current = tx.current(&t2, &id2)?;
        check_version(&t2, &id2, current.map(|c| c.version), expected)?;
        let created = current.is_none_or(|c| c.deleted);
        let w = tx.put(&t2, &id2, &body, Method::Put, &mut entries)?;
        Ok((w, created))
    })
    .await?;
    stamp_meta(&mut resource, id, &w);
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(write_response(state, req, status, t, id, &w, Some(&resource)))
}

/// `If-Match` semantics: the current version must be the expected one.
pub fn check_version(t: &str, id: &str, current: Option<u64>, expected: Option<u64>) -> Result<(), ApiError> {
    match (expected, current) {
        (None, _) => Ok(()),
        (Some(e), Some(c)) if e == c => Ok(()),
        (Some(e), Some(c)) => Err(ApiError::PreconditionFailed(format!(
            "{t}/{id} is at version {c}, not {e} (If-Match)"
        ))),
        (Some(e), None) => Err(ApiError::PreconditionFailed(format!(
            "{t}/{id} does not exist, so it is not at version {e} (If-Match)"
        ))),
    }
}

pub async fn conditional_update(state: &AppState, req: &Req, t: &str) -> Result<Response, ApiError> {
    expect_resource_body(req)?;
    let cond = conditional_query(req, t)?;
    let resource = checked_resource(&req.body, t)?;
    let matches = index::find_now(state, t, &cond).await?;
    let body_id = resource.get("id").and_then(Value::as_str).map(str::to_owned);
    let id = match (matches.as_slice(), body_id) {
        ([], Some(b)) => b,
        ([], None) => uuid::Uuid::now_v7().to_string(),
        ([one], Some(b)) if *one != b => {
            return Err(ApiError::invalid(format!(
                "the condition matches {t}/{one}, but the body's id is '{b}'"
            )))
        }
        ([one], _) => one.clone(),
        (many, _) => return Err(multiple_matches(t, &cond, many.len())),
    };
    check_id(&id)?;
    let mut resource = resource;
    set_id(&mut resource, &id);
    let expected = if_match(&req.headers)?;
    do_update(state, req, t, &id, resource, expected).await
}

fn conditional_query(req: &Req, t: &str) -> Result<String, ApiError> {
    let pairs: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "_format" | "_pretty"))
        .map(|(k, v)| form_urlencoded::Serializer::new(String::new()).append_pair(k, v).finish())
        .collect();
    if pairs.is_empty() {
        return Err(ApiError::MethodNotAllowed(format!(
            "a conditional interaction on {t} needs search parameters in the URL"
        )));
    }
    Ok(pairs.join("&"))
}

pub async fn delete(state: &AppState, req: &Req, t: &str, id: &str) -> Result<Response, ApiError> {
    check_id(id)?;
    let expected = if_match(&req.headers)?;
    let (t2, id2) = (t.to_owned(), id.to_owned());
    let written = write(&*state.store, move |tx: &mut dyn WriteTx| -> Result<_, ApiError> {
        if expected.is_some() {
            let current = tx.current(&t2, &id2)?.filter(|c| !c.deleted).map(|c| c.version);
            check_version(&t2, &id2, current, expected)?;
        }
        Ok(tx.delete(&t2, &id2)?)
    })
    .await?;
    Ok(delete_response(req, t, id, written.as_ref()))
}

fn delete_response(req: &Req, t: &str, id: &str, written: Option<&Written>) -> Response {
    let msg = match written {
        Some(w) => format!("{t}/{id} deleted (version {})", w.version),
        None => format!("{t}/{id} did not exist or was already deleted; nothing changed"),
    };
    let oo = operation_outcome(&[Issue {
        severity: Severity::Information,
        code: IssueType::Informational,
        diagnostics: msg,
        expression: Vec::new(),
    }]);
    let mut resp = fhir_response(StatusCode::OK, to_body(&oo, req.pretty()));
    if let Some(w) = written {
        set_version_headers(&mut resp, w.version, w.last_updated);
    }
    resp
}

pub async fn conditional_delete(state: &AppState, req: &Req, t: &str) -> Result<Response, ApiError> {
    let cond = conditional_query(req, t)?;
    let (t2, cond2) = (t.to_owned(), cond.clone());
    let indexer = state.indexer();
    let result = write(&*state.store, move |tx: &mut dyn WriteTx| -> Result<_, ApiError> {
        match index::find(tx, &indexer, &t2, &cond2)?.as_slice() {
            [] => Ok(None),
            [one] => Ok(tx.delete(&t2, one)?.map(|w| (one.clone(), w))),
            many => Err(multiple_matches(&t2, &cond2, many.len())),
        }
    })
    .await?;
    Ok(match result {
        Some((id, w)) => delete_response(req, t, &id, Some(&w)),
        None => delete_response(req, t, &format!("?{cond}"), None),
    })
}

pub async fn patch(state: &AppState, req: &Req, t: &str, id: &str) -> Result<Response, ApiError> {
    check_id(id)?;
    let kind = body_kind(&req.headers)?;
    let patch = parse_json(&req.body)?;
    let expected = if_match(&req.headers)?;
    let (t2, id2) = (t.to_owned(), id.to_owned());
    let indexer = state.indexer();
    let (w, resource) = write(&*state.store, move |tx: &mut dyn WriteTx| -> Result<_, ApiError> {
        let current = tx.read_current(&t2, &id2)?;
        let Some(current) = current else {
            return Err(ApiError::NotFound(format!("{t2}/{id2} is not known")));
        };
        let Some(body) = current.body.as_deref() else {
            return Err(ApiError::Gone(format!("{t2}/{id2} was deleted")));
        };
        check_version(&t2, &id2, Some(current.version), expected)?;
        let mut resource: Value =
            serde_json::from_str(body).map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?;
        crate::patch::apply(kind, &mut resource, &patch)?;
        check_patched(&resource, &t2, &id2)?;
        let mut entries = indexer.extract(&t2, &resource);
        let body = prepare_body(&mut resource, &id2);
        let w = tx.put(&t2, &id2, &body, Method::Patch, &mut entries)?;
        stamp_meta(&mut resource, &id2, &w);
        Ok((w, resource))
    })
    .await?;
    Ok(write_response(state, req, StatusCode::OK, t, id, &w, Some(&resource)))
}

/// A patch may not change what the resource is; the result must be valid.
fn check_patched(resource: &Value, t: &str, id: &str) -> Result<(), ApiError> {
    if resource.get("resourceType").and_then(Value::as_str) != Some(t)
        || resource.get("id").and_then(Value::as_str) != Some(id)
    {
        return Err(ApiError::Unprocessable(vec![issue(
            IssueType::Processing,
            "the patch may not change resourceType or id",
        )]));
    }
    validate_value(resource).map_err(|e| match e {
        ApiError::BadRequest(i) => ApiError::Unprocessable(i),
        other => other,
    })
}

pub async fn conditional_patch(state: &AppState, req: &Req, t: &str) -> Result<Response, ApiError> {
    let cond = conditional_query(req, t)?;
    let matches = index::find_now(state, t, &cond).await?;
    match matches.as_slice() {
        [one] => patch(state, req, t, one).await,
        [] => Err(ApiError::NotFound(format!("the condition {t}?{cond} matches no resource"))),
        many => Err(multiple_matches(t, &cond, many.len())),
    }
}

/// `POST [type]/$validate` (and `[type]/[id]/$validate`): the validation outcome, nothing written.
pub fn validate(_state: &AppState, req: &Req, t: &str, id: Option<&str>) -> Result<Response, ApiError> {
    let body = parse_json(&req.body)?;
    // The body is the resource itself, or a Parameters resource carrying it in `resource`.
    let resource = if body.get("resourceType").and_then(Value::as_str) == Some("Parameters") && t != "Parameters" {
        body.get("parameter")
            .and_then(Value::as_array)
            .and_then(|ps| ps.iter().find(|p| p.get("name").and_then(Value::as_str) == Some("resource")))
            .and_then(|p| p.get("resource"))
            .cloned()
            .ok_or_else(|| ApiError::invalid("the Parameters body has no 'resource' parameter"))?
    } else {
        body
    };
    if let Some(id) = id {
        check_id(id)?;
    }
    let issues = match check_resource(resource, t) {
        Ok(_) => vec![Issue {
            severity: Severity::Information,
            code: IssueType::Informational,
            diagnostics: "no issues detected".into(),
            expression: Vec::new(),
        }],
        Err(e @ ApiError::BadRequest(_)) | Err(e @ ApiError::Unprocessable(_)) => e.issues(),
        Err(e) => return Err(e),
    };
    // The operation succeeded (it validated); the outcome carries any errors found.
    Ok(fhir_response(StatusCode::OK, to_body(&operation_outcome(&issues), req.pretty())))
}

/// `GET [type]?…` and `POST [type]/_search`.
pub async fn search(state: &AppState, req: &Req, t: &str) -> Result<Response, ApiError> {
    index::search_response(state, req, t, handling_strict(&req.headers)).await
}
