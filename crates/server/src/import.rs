//! Loading data without HTTP, through the same code paths as the API (used by `weave import`
//! and the demo): transaction/batch Bundles and resources as with `PUT` (NDJSON lines).

use crate::bundle;
use crate::crud::check_resource;
use crate::error::ApiError;
use crate::routes::Req;
use crate::state::AppState;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use weave_store::{prepare_body, write, IndexEntries, Method as StoreMethod, PreparedBody, WriteTx};

/// Processes a transaction or batch Bundle as `POST /` would, answering with minimal entries.
pub async fn bundle(state: &AppState, bundle: Value) -> Result<Value, ApiError> {
    bundle_then(state, bundle, None).await
}

/// Like [`bundle`], from the Bundle's bytes (a transaction's resources are then parsed one at a
/// time as they are processed; see [`bundle::process_bytes`]).
pub async fn bundle_bytes(state: &AppState, bytes: &[u8]) -> Result<Value, ApiError> {
    bundle::process_bytes(state, &minimal_request(), bytes).await
}

/// Processes `bytes` as [`bundle_bytes`] does if they are a transaction Bundle; `None` (nothing
/// done) if they are anything else.
pub async fn transaction_bytes(state: &AppState, bytes: &[u8]) -> Option<Result<Value, ApiError>> {
    bundle::transaction_bytes(state, &minimal_request(), bytes).await
}

fn minimal_request() -> Req {
    let mut headers = HeaderMap::new();
    headers.insert("prefer", HeaderValue::from_static("return=minimal"));
    Req { method: Method::POST, segments: Vec::new(), query: Vec::new(), headers, body: Bytes::new() }
}

/// Like [`bundle`]; a transaction also runs `hooks` in its write job.
pub async fn bundle_then(state: &AppState, bundle: Value, hooks: Option<bundle::Hooks>) -> Result<Value, ApiError> {
    bundle::process_with(state, &minimal_request(), bundle, hooks).await
}

/// One problem with one resource of a group written by [`put_all`].
#[derive(Debug)]
pub struct Rejected {
    /// Position in the input group.
    pub index: usize,
    pub error: ApiError,
}

/// Writes resources that carry their own ids (update-as-create), validated and indexed, all valid
/// ones in one atomic job. Invalid ones are returned, not written.
pub async fn put_all(state: &AppState, resources: Vec<Value>) -> Result<(usize, Vec<Rejected>), ApiError> {
    let mut rejected = Vec::new();
    let mut ready: Vec<(String, String, PreparedBody, IndexEntries)> = Vec::with_capacity(resources.len());
    for (index, r) in resources.into_iter().enumerate() {
        match prepare(state, r) {
            Ok(x) => ready.push(x),
            Err(error) => rejected.push(Rejected { index, error }),
        }
    }
    let n = ready.len();
    // The spent bodies and rows come back to be freed here, not on the store's single writer.
    let _spent = write(&*state.store, move |tx: &mut dyn WriteTx| -> Result<_, ApiError> {
        for (t, id, body, ix) in &mut ready {
            tx.put(t, id, body, StoreMethod::Put, ix)?;
        }
        Ok(ready)
    })
    .await?;
    Ok((n, rejected))
}

fn prepare(state: &AppState, r: Value) -> Result<(String, String, PreparedBody, IndexEntries), ApiError> {
    let t = r
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("the line has no resourceType"))?
        .to_owned();
    if !weave_fhir::r4().is_resource_type(&t) {
        return Err(ApiError::UnknownType(t));
    }
    let id = r
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| crate::http::is_valid_id(id))
        .ok_or_else(|| ApiError::invalid("the resource has no valid id"))?
        .to_owned();
    let mut r = check_resource(r, &t)?;
    let ix = state.indexer().extract(&t, &r);
    let body = prepare_body(&mut r, &id);
    Ok((t, id, body, ix))
}
