//! Request dispatch: FHIR's URL space mapped by hand so that every miss is an `OperationOutcome`.

use crate::error::ApiError;
use crate::http::{check_accept, query_pairs};
use crate::state::AppState;
use crate::{bundle, capability, compartment, crud, deadletter, history};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use weave_fhir::r4;

/// One parsed request, as the handlers see it.
pub struct Req {
    pub method: Method,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    /// `_pretty=true` was asked for.
    pub fn pretty(&self) -> bool {
        crate::http::param(&self.query, "_pretty") == Some("true")
    }
}

/// The single entry point of the API.
pub async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    match parse(&state, request).await {
        Ok(req) => route_request(&state, req).await,
        Err(e) => e.into_response(),
    }
}

async fn parse(state: &AppState, request: Request) -> Result<Req, ApiError> {
    let (parts, body) = request.into_parts();
    let limit = state.config.max_body_bytes;
    let body = axum::body::to_bytes(Body::new(body), limit).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!("the request body is larger than the limit of {limit} bytes"))
    })?;
    let path = parts.uri.path();
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s))
        .collect::<Result<Vec<_>, _>>()?;
    let query = query_pairs(parts.uri.query());
    check_accept(&parts.headers, &query)?;
    Ok(Req { method: parts.method, segments, query, headers: parts.headers, body })
}

fn percent_decode(s: &str) -> Result<String, ApiError> {
    let decoded: Vec<u8> = form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(decoded).map_err(|_| ApiError::invalid("the URL is not valid UTF-8"))
}

fn known_type(t: &str) -> Result<(), ApiError> {
    if r4().is_resource_type(t) {
        Ok(())
    } else {
        Err(ApiError::UnknownType(t.to_owned()))
    }
}

fn not_allowed(req: &Req) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{} is not allowed on /{}",
        req.method,
        req.segments.join("/")
    ))
}

/// Routes an already-parsed request (batch entries come through here too).
pub async fn route_request(state: &AppState, req: Req) -> Response {
    route(state, req).await.unwrap_or_else(IntoResponse::into_response)
}

async fn route(state: &AppState, req: Req) -> Result<Response, ApiError> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let m = &req.method;
    let get = *m == Method::GET || *m == Method::HEAD;
    match segs.as_slice() {
        [] if *m == Method::POST => bundle::handle(state, &req).await,
        ["metadata"] if get => Ok(capability::handle(state, &req)),
        ["_history"] if get => history::handle(state, &req, None, None).await,
        [] | ["metadata"] | ["_history"] => Err(not_allowed(&req)),
        ["$deadletter", rest @ ..] => deadletter::handle(state, &req, rest).await,
        ["$import"] if *m == Method::POST => crate::bulk::import_ndjson(state, &req).await,
        ["$reindex"] => crate::reindex::handle(state, &req).await,
        ["$import-cld"] if *m == Method::POST => crate::bulk::import_cld(state, &req).await,
        [op, ..] if op.starts_with('$') => {
            Err(ApiError::NotFound(format!("the operation {op} is not supported at the system level")))
        }
        [t, rest @ ..] => {
            known_type(t)?;
            route_type(state, &req, t, rest).await
        }
    }
}

async fn route_type(state: &AppState, req: &Req, t: &str, rest: &[&str]) -> Result<Response, ApiError> {
    let m = &req.method;
    let get = *m == Method::GET || *m == Method::HEAD;
    match rest {
        [] if *m == Method::POST => crud::create(state, req, t).await,
        [] if *m == Method::PUT => crud::conditional_update(state, req, t).await,
        [] if *m == Method::DELETE => crud::conditional_delete(state, req, t).await,
        [] if *m == Method::PATCH => crud::conditional_patch(state, req, t).await,
        [] if get => crud::search(state, req, t).await,
        ["_search"] if *m == Method::POST => crud::search(state, req, t).await,
        ["_history"] if get => history::handle(state, req, Some(t), None).await,
        ["$validate"] if *m == Method::POST => crud::validate(state, req, t, None),
        [id, "$validate"] if *m == Method::POST => crud::validate(state, req, t, Some(id)),
        ["$merge"] if *m == Method::POST && t == "Patient" => crate::merge::merge(state, req).await,
        ["$unmerge"] if *m == Method::POST && t == "Patient" => crate::merge::unmerge(state, req).await,
        ["$match"] if *m == Method::POST && t == "Patient" => crate::identity::match_operation(state, req).await,
        [op] if op.starts_with('$') => Err(ApiError::NotFound(format!("the operation {op} is not supported on {t}"))),
        [id] if get => crud::read(state, req, t, id).await,
        [id] if *m == Method::PUT => crud::update(state, req, t, id).await,
        [id] if *m == Method::DELETE => crud::delete(state, req, t, id).await,
        [id] if *m == Method::PATCH => crud::patch(state, req, t, id).await,
        [id, "$everything"] if get && t == "Patient" => compartment::everything(state, req, id).await,
        [id, "$decide"] if *m == Method::POST && t == "Task" => crate::identity::decide(state, req, id).await,
        [id, "_history"] if get => history::handle(state, req, Some(t), Some(id)).await,
        [id, ct] if get && t == "Patient" && !ct.starts_with('_') => {
            compartment::search(state, req, id, ct, crate::http::handling_strict(&req.headers)).await
        }
        [id, "_history", vid] if get => crud::vread(state, req, t, id, vid).await,
        [_] | [_, "_history"] | [_, "_history", _] => Err(not_allowed(req)),
        _ => Err(ApiError::NotFound(format!("no such endpoint: /{}", req.segments.join("/")))),
    }
}

#[cfg(test)]
#[allow(dead_code)]
fn assert_dispatch_is_send(state: AppState, r: Request) {
    fn is_send<T: Send>(_: &T) {}
    is_send(&dispatch(State(state), r));
}
