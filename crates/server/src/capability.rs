//! `GET /metadata`: the CapabilityStatement, built from what this server implements.

use crate::http::{fhir_response, to_body};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use weave_fhir::r4;

/// Type-level interactions every resource type supports.
const TYPE_INTERACTIONS: [&str; 8] =
    ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create"];

fn resource_entry(state: &AppState, t: &str) -> Value {
    let mut interactions: Vec<Value> = TYPE_INTERACTIONS.iter().map(|c| json!({ "code": c })).collect();
    let params = crate::index::supported_params(&state.indexer, t);
    if !params.is_empty() {
        interactions.push(json!({ "code": "search-type" }));
    }
    json!({
        "type": t,
        "profile": format!("http://hl7.org/fhir/StructureDefinition/{t}"),
        "interaction": interactions,
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": !params.is_empty(),
        "conditionalRead": "not-supported",
        "conditionalUpdate": !params.is_empty(),
        "conditionalDelete": if params.is_empty() { "not-supported" } else { "single" },
        "searchParam": params,
        "operation": [{
            "name": "validate",
            "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"
        }]
    })
}

/// The CapabilityStatement as JSON.
pub fn statement(state: &AppState) -> Value {
    let resources: Vec<Value> = r4().resource_types().map(|t| resource_entry(state, t)).collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "publisher": "Weave",
        "kind": "instance",
        "software": { "name": "Weave", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Weave shared health and social care record", "url": state.config.base_url },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": crate::patch::FORMATS,
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": [
                { "code": "transaction" },
                { "code": "batch" },
                { "code": "history-system" }
            ]
        }]
    })
}

pub fn handle(state: &AppState, req: &Req) -> Response {
    fhir_response(StatusCode::OK, to_body(&statement(state), req.pretty()))
}
