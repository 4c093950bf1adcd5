//! `POST /Patient/$match` (FHIR R4): scores a Patient against every Patient the person index
//! holds and answers a `searchset` Bundle of candidates, best first, each with `search.score`
//! (the match probability), the `match-grade` extension (`certain` / `probable` / `possible`)
//! and Weave's explanation of the score (which comparisons contributed what).

use super::person::candidates;
use crate::error::ApiError;
use crate::http::{fhir_response, parse_json, to_body};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use weave_identity::Record;

const MATCH_GRADE: &str = "http://hl7.org/fhir/StructureDefinition/match-grade";
const EXPLANATION: &str = "https://weave.dev/fhir/StructureDefinition/match-explanation";
/// Candidates returned when `count` is not given.
const DEFAULT_COUNT: usize = 10;

/// The operation's inputs.
struct Input {
    patient: Value,
    only_certain: bool,
    count: usize,
}

fn input(body: &[u8]) -> Result<Input, ApiError> {
    let params = parse_json(body)?;
    if params["resourceType"].as_str() != Some("Parameters") {
        return Err(ApiError::invalid("$match takes a Parameters resource with a 'resource' parameter"));
    }
    let list = params["parameter"].as_array().cloned().unwrap_or_default();
    let find = |name: &str| list.iter().find(|p| p["name"].as_str() == Some(name));
    let patient = find("resource")
        .map(|p| p["resource"].clone())
        .filter(|r| r["resourceType"].as_str() == Some("Patient"))
        .ok_or_else(|| ApiError::invalid("the parameter 'resource' must hold a Patient"))?;
    crate::crud::validate_value(&patient)?;
    let only_certain = match find("onlyCertainMatches") {
        None => false,
        Some(p) => p["valueBoolean"]
            .as_bool()
            .ok_or_else(|| ApiError::invalid("the parameter 'onlyCertainMatches' must be a valueBoolean"))?,
    };
    let count = match find("count") {
        None => DEFAULT_COUNT,
        Some(p) => p["valueInteger"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::invalid("the parameter 'count' must be a positive valueInteger"))?,
    };
    Ok(Input { patient, only_certain, count })
}

/// `POST /Patient/$match`.
pub async fn match_operation(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    let Input { patient, only_certain, count } = input(&req.body)?;
    if !state.identity.ready() {
        return Err(ApiError::Unavailable("the person index is still loading; retry shortly".into()));
    }
    let mut record = Record::from_patient(&patient);
    // The input is not a stored record: it must not match itself by id.
    record.id = format!("$match/{}", uuid::Uuid::now_v7());
    let (found, link_at, review_at) = state.identity.with(|ix| {
        (candidates(ix, &record), ix.settings.link_threshold, ix.settings.review_threshold)
    });
    let mut entries = Vec::new();
    for c in found {
        let grade = if c.nhs_rule || c.probability >= link_at {
            "certain"
        } else if c.probability >= review_at {
            "probable"
        } else {
            "possible"
        };
        if only_certain && grade != "certain" {
            continue;
        }
        let Some(stored) = state.store.read("Patient", &c.id)?.and_then(|s| s.body) else { continue };
        let Ok(resource) = serde_json::from_str::<Value>(&stored) else { continue };
        entries.push(json!({
            "fullUrl": state.url_of("Patient", &c.id),
            "resource": resource,
            "search": {
                "extension": [
                    { "url": MATCH_GRADE, "valueCode": grade },
                    { "url": EXPLANATION, "valueString": c.explanation },
                ],
                "mode": "match",
                "score": (c.probability.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0,
            },
        }));
        if entries.len() == count {
            break;
        }
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::now_v7().to_string(),
        "type": "searchset",
        "total": entries.len(),
        "entry": entries,
    });
    Ok(fhir_response(StatusCode::OK, to_body(&bundle, req.pretty())))
}
