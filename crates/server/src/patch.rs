//! PATCH bodies: JSON Patch (RFC 6902) and FHIRPath Patch (a `Parameters` resource).

use crate::error::{issue, ApiError};
use crate::http::BodyKind;
use serde_json::Value;
use weave_fhir::outcome::IssueType;

/// Applies a patch of the given kind to `resource` in place.
pub fn apply(kind: BodyKind, resource: &mut Value, patch: &Value) -> Result<(), ApiError> {
    match kind {
        BodyKind::JsonPatch => apply_json_patch(resource, patch),
        BodyKind::FhirJson => apply_fhirpath_patch(resource, patch),
    }
}

fn unprocessable(msg: String) -> ApiError {
    ApiError::Unprocessable(vec![issue(IssueType::Processing, msg)])
}

fn apply_json_patch(resource: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::invalid(format!("the body is not a JSON Patch document: {e}")))?;
    json_patch::patch(resource, &ops).map_err(|e| unprocessable(format!("the JSON Patch failed: {e}")))
}

fn apply_fhirpath_patch(resource: &mut Value, patch: &Value) -> Result<(), ApiError> {
    if patch.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(ApiError::invalid(
            "a FHIR JSON PATCH body must be a FHIRPath Patch Parameters resource \
             (or send application/json-patch+json)",
        ));
    }
    weave_fhirpath::patch::apply(resource, patch).map_err(|e| {
        let mut i = issue(IssueType::Processing, format!("the FHIRPath Patch failed: {e}"));
        if let Some(op) = e.operation_index() {
            i.expression = vec![format!("Parameters.parameter[{op}]")];
        }
        if e.is_malformed() {
            ApiError::BadRequest(vec![i])
        } else {
            ApiError::Unprocessable(vec![i])
        }
    })
}

/// The patch media types this build accepts, for the CapabilityStatement.
pub const FORMATS: &[&str] = &["application/json-patch+json", "application/fhir+json"];
