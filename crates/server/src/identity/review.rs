//! The review queue: a possible match between two Patients is a `Task` (code `link-review`,
//! `focus` one Patient, input `candidate` the other, with the probability and its explanation).
//! Open items: `GET /Task?code=https://weave.dev/fhir/CodeSystem/weave-task|link-review&status=requested`.
//!
//! `POST /Task/[id]/$decide` with `Parameters { decision: link | no-link, reason }` closes it:
//! `link` joins the two Persons (the second Person is retired, pointing at the first), `no-link`
//! is remembered so the pair is never linked automatically. The Task, the Persons and a
//! `Provenance` recording the reason are written in one transaction; their history is the audit.

use super::person::{add_link, patient_links, Review};
use super::{pair, REVIEW_CODE, TASK_SYSTEM};
use crate::error::ApiError;
use crate::http::{fhir_response, parse_json, to_body};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// An open Weave task about `patient` (code from [`TASK_SYSTEM`]).
fn new_task(patient: &str, code: &str, display: &str, description: String) -> Value {
    json!({
        "resourceType": "Task",
        "id": uuid::Uuid::now_v7().to_string(),
        "status": "requested",
        "intent": "proposal",
        "priority": "routine",
        "code": { "coding": [{ "system": TASK_SYSTEM, "code": code, "display": display }] },
        "description": description,
        "focus": { "reference": format!("Patient/{patient}") },
        "authoredOn": now(),
    })
}

/// A new review task for `patient` against a candidate.
pub(crate) fn task(patient: &str, r: &Review) -> Value {
    let description = format!("Patient/{patient} and Patient/{} may be the same person (probability {:.3})", r.candidate, r.probability);
    let mut t = new_task(patient, REVIEW_CODE, "Review a possible person match", description);
    t["input"] = json!([
        { "type": { "text": "candidate" }, "valueReference": { "reference": format!("Patient/{}", r.candidate) } },
        { "type": { "text": "probability" }, "valueDecimal": round(r.probability) },
        { "type": { "text": "match-weight" }, "valueDecimal": round(r.match_weight) },
        { "type": { "text": "explanation" }, "valueString": r.explanation },
    ]);
    t
}

fn round(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 10_000.0).round() / 10_000.0)
    } else {
        json!(99.0)
    }
}

fn now() -> String {
    weave_store::format_instant(weave_store::now_micros())
}

/// A data-quality task: `patient` carries an NHS number that fails the modulus-11 check (it is
/// never used to link; the source should correct it).
pub(crate) fn invalid_nhs_task(patient: &str, number: &str) -> Value {
    let description = format!(
        "Patient/{patient} carries NHS number {number}, which fails the modulus-11 check: it is not used to link this record; ask the source to correct it"
    );
    new_task(patient, super::INVALID_NHS_CODE, "NHS number fails the check digit", description)
}

/// The Patient of a data-quality task, when `task` is one.
pub(crate) fn invalid_nhs_patient(task: &Value) -> Option<String> {
    let coded = task["code"]["coding"].as_array()?.iter().any(|c| {
        c["system"].as_str() == Some(TASK_SYSTEM) && c["code"].as_str() == Some(super::INVALID_NHS_CODE)
    });
    coded.then(|| task["focus"]["reference"].as_str()?.strip_prefix("Patient/").map(str::to_owned))?
}

/// Whether a Task is a link review.
pub(crate) fn is_review(task: &Value) -> bool {
    task["code"]["coding"].as_array().is_some_and(|c| {
        c.iter().any(|c| c["system"].as_str() == Some(TASK_SYSTEM) && c["code"].as_str() == Some(REVIEW_CODE))
    })
}

/// The two Patients of a review task.
pub(crate) fn review_pair(task: &Value) -> Option<(String, String)> {
    let focus = task["focus"]["reference"].as_str()?.strip_prefix("Patient/")?;
    let other = task["input"].as_array()?.iter().find_map(|i| {
        (i["type"]["text"].as_str() == Some("candidate")).then(|| i["valueReference"]["reference"].as_str())?
    })?;
    Some((focus.to_owned(), other.strip_prefix("Patient/")?.to_owned()))
}

/// Whether a closed review decided "not the same person".
pub(crate) fn rejected(task: &Value) -> bool {
    task["businessStatus"]["text"].as_str() == Some("not linked")
}

/// `POST /Task/[id]/$decide`.
pub async fn decide(state: &AppState, req: &Req, id: &str) -> Result<Response, ApiError> {
    let params = parse_json(&req.body)?;
    if params["resourceType"].as_str() != Some("Parameters") {
        return Err(ApiError::invalid("$decide takes a Parameters resource"));
    }
    let value = |name: &str| {
        params["parameter"].as_array().and_then(|ps| {
            ps.iter().find(|p| p["name"].as_str() == Some(name)).and_then(|p| {
                p["valueCode"].as_str().or_else(|| p["valueString"].as_str()).map(str::to_owned)
            })
        })
    };
    let link = match value("decision").as_deref() {
        Some("link") => true,
        Some("no-link") => false,
        _ => return Err(ApiError::invalid("the parameter 'decision' must be the code 'link' or 'no-link'")),
    };
    let reason = value("reason").filter(|r| !r.trim().is_empty()).ok_or_else(|| {
        ApiError::invalid("the parameter 'reason' is required: every review decision records why")
    })?;
    let task = read(state, "Task", id).await?.ok_or_else(|| ApiError::NotFound(format!("Task/{id} is not known")))?;
    if !is_review(&task) {
        return Err(ApiError::invalid(format!("Task/{id} is not a link review")));
    }
    if task["status"].as_str() != Some("requested") {
        return Err(ApiError::Conflict(format!("Task/{id} was already decided")));
    }
    let (a, b) = review_pair(&task).ok_or_else(|| ApiError::invalid(format!("Task/{id} does not name two Patients")))?;
    let mut writes = vec![closed(task, link, &reason)];
    let mut persons = Vec::new();
    if link {
        // The candidate's (older) Person stays; the arriving record's Person is retired into it.
        persons = join(state, &b, &a).await?;
    }
    writes.push(provenance(id, &persons, link, &reason));
    writes.extend(persons.iter().cloned());
    let (_, rejected) = crate::import::put_all(state, writes).await?;
    if let Some(r) = rejected.into_iter().next() {
        return Err(r.error);
    }
    state.identity.with(|ix| {
        let key = pair(&a, &b);
        ix.open_reviews.remove(&key);
        if link {
            for p in &persons {
                let links = if p["active"].as_bool() == Some(false) { Vec::new() } else { patient_links(p) };
                ix.set_members(p["id"].as_str().unwrap_or_default(), links);
            }
        } else {
            ix.rejected.insert(key);
        }
    });
    let out = read(state, "Task", id).await?.unwrap_or(Value::Null);
    Ok(fhir_response(StatusCode::OK, to_body(&out, req.pretty())))
}

/// The task, closed with the decision.
fn closed(mut task: Value, link: bool, reason: &str) -> Value {
    task["status"] = json!("completed");
    task["businessStatus"] = json!({ "text": if link { "linked" } else { "not linked" } });
    task["statusReason"] = json!({ "text": reason });
    task["lastModified"] = json!(now());
    task["output"] = json!([{ "type": { "text": "decision" }, "valueCode": if link { "link" } else { "no-link" } }]);
    task
}

/// The Persons after joining the Persons of `a` and `b` (the second retired into the first).
async fn join(state: &AppState, a: &str, b: &str) -> Result<Vec<Value>, ApiError> {
    let (pa, pb) = state.identity.with(|ix| (ix.person_of.get(a).cloned(), ix.person_of.get(b).cloned()));
    let (Some(pa), Some(pb)) = (pa, pb) else {
        return Err(ApiError::Conflict("the person index has not linked both Patients yet; retry shortly".into()));
    };
    let mut keep = read(state, "Person", &pa).await?.ok_or_else(|| ApiError::NotFound(format!("Person/{pa}")))?;
    if pa == pb {
        add_link(&mut keep, b, "level3");
        return Ok(vec![keep]);
    }
    let mut retire = read(state, "Person", &pb).await?.ok_or_else(|| ApiError::NotFound(format!("Person/{pb}")))?;
    for (patient, assurance) in patient_links(&retire) {
        let confirmed = if patient == b { "level3".to_owned() } else { assurance };
        add_link(&mut keep, &patient, &confirmed);
    }
    add_link(&mut keep, b, "level3");
    retire["active"] = json!(false);
    retire["link"] = json!([{ "target": { "reference": format!("Person/{pa}") }, "assurance": "level3" }]);
    Ok(vec![keep, retire])
}

/// The audit record of a decision.
fn provenance(task: &str, persons: &[Value], link: bool, reason: &str) -> Value {
    let mut targets = vec![json!({ "reference": format!("Task/{task}") })];
    targets.extend(persons.iter().filter_map(|p| p["id"].as_str()).map(|id| json!({ "reference": format!("Person/{id}") })));
    json!({
        "resourceType": "Provenance",
        "id": uuid::Uuid::now_v7().to_string(),
        "target": targets,
        "recorded": now(),
        "reason": [{ "text": reason }],
        "activity": { "text": if link { "link review: same person" } else { "link review: not the same person" } },
        "agent": [{ "who": { "display": "Weave API" } }],
    })
}

async fn read(state: &AppState, t: &str, id: &str) -> Result<Option<Value>, ApiError> {
    let found = state.store.read(t, id)?;
    Ok(found.and_then(|s| s.body).and_then(|b| serde_json::from_str(&b).ok()))
}
