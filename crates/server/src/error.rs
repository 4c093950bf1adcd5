//! `ApiError`: every failure the API reports, mapped to an HTTP status and an `OperationOutcome`.
//!
//! | variant | status | issue code |
//! |---|---|---|
//! | `BadRequest` | 400 | `invalid` / `structure` / as given |
//! | `NotFound` | 404 | `not-found` |
//! | `UnknownType` | 404 | `not-supported` |
//! | `MethodNotAllowed` | 405 | `not-supported` |
//! | `NotAcceptable` | 406 | `not-supported` |
//! | `Conflict` | 409 | `conflict` |
//! | `Gone` | 410 | `deleted` |
//! | `PreconditionFailed` | 412 | `conflict` |
//! | `PayloadTooLarge` | 413 | `too-costly` |
//! | `UnsupportedMediaType` | 415 | `not-supported` |
//! | `Unprocessable` | 422 | `processing` / as given |
//! | `Unavailable` | 503 | `transient` (retry) |
//! | `Internal` | 500 | `exception` (detail only in the log) |

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use weave_fhir::outcome::{operation_outcome, Issue, IssueType, Severity};
use weave_store::StoreError;

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request")]
    BadRequest(Vec<Issue>),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("unknown resource type: {0}")]
    UnknownType(String),
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("gone: {0}")]
    Gone(String),
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("unprocessable")]
    Unprocessable(Vec<Issue>),
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// One error issue with a diagnostic and no location.
pub fn issue(code: IssueType, diagnostics: impl Into<String>) -> Issue {
    Issue { severity: Severity::Error, code, diagnostics: diagnostics.into(), expression: Vec::new() }
}

impl ApiError {
    /// A 400 with one `invalid` issue.
    pub fn invalid(msg: impl Into<String>) -> ApiError {
        ApiError::BadRequest(vec![issue(IssueType::Invalid, msg)])
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) | ApiError::UnknownType(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The issues reported to the client.
    pub fn issues(&self) -> Vec<Issue> {
        let one = |code, msg: &String| vec![issue(code, msg.clone())];
        match self {
            ApiError::BadRequest(i) | ApiError::Unprocessable(i) => i.clone(),
            ApiError::NotFound(m) => one(IssueType::NotFound, m),
            ApiError::UnknownType(t) => {
                one(IssueType::NotSupported, &format!("unknown resource type '{t}'"))
            }
            ApiError::MethodNotAllowed(m) | ApiError::NotAcceptable(m) | ApiError::UnsupportedMediaType(m) => {
                one(IssueType::NotSupported, m)
            }
            ApiError::Conflict(m) | ApiError::PreconditionFailed(m) => one(IssueType::Conflict, m),
            ApiError::Gone(m) => one(IssueType::Deleted, m),
            ApiError::PayloadTooLarge(m) => one(IssueType::TooCostly, m),
            ApiError::Unavailable(m) => one(IssueType::Transient, m),
            ApiError::Internal(_) => one(
                IssueType::Exception,
                &"internal server error; the details are in the server log".to_string(),
            ),
        }
    }

    /// The `OperationOutcome` body of this error.
    pub fn outcome(&self) -> serde_json::Value {
        operation_outcome(&self.issues())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::VersionConflict { .. } => ApiError::PreconditionFailed(e.to_string()),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::invalid(m),
            StoreError::CommitFailed(m) => ApiError::Unavailable(format!("{m}; nothing was written, retry")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = serde_json::to_vec(&self.outcome()).unwrap_or_default();
        let mut resp = (self.status(), body).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json; charset=utf-8"),
        );
        resp
    }
}
