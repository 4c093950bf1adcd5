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
    let params = crate::index::supported_params(&state.indexer(), t);
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
        "operation": operations(t)
    })
}

/// The operations a type supports (`$validate` everywhere; the person index's on Patient and Task).
fn operations(t: &str) -> Vec<Value> {
    let op = |name: &str, definition: &str| json!({ "name": name, "definition": definition });
    let mut ops = vec![op("validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate")];
    match t {
        "Patient" => ops.extend([
            op("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
            op("match", "http://hl7.org/fhir/OperationDefinition/Patient-match"),
            op("merge", "http://hl7.org/fhir/OperationDefinition/Patient-merge"),
            op("unmerge", "https://weave.dev/fhir/OperationDefinition/Patient-unmerge"),
        ]),
        "Task" => ops.push(op("decide", "https://weave.dev/fhir/OperationDefinition/Task-decide")),
        _ => {}
    }
    ops
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
            ],
            "operation": [
                { "name": "import", "definition": "https://weave.dev/fhir/OperationDefinition/import-ndjson" },
                { "name": "import-cld", "definition": "https://weave.dev/fhir/OperationDefinition/import-cld" }
            ]
        }]
    })
}

pub fn handle(state: &AppState, req: &Req) -> Response {
    fhir_response(StatusCode::OK, to_body(&statement(state), req.pretty()))
}
