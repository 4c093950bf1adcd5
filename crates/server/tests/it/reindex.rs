//! `$reindex`: a SearchParameter stored in Weave takes effect — for resources stored before it,
//! for those written after, and for those contained in other resources — once the job has run;
//! its progress is reported; one that cannot be indexed fails the job with a clear reason. Named
//! types (or all) are re-indexed in full on request.

use crate::check::Server;
use axum::http::StatusCode;
use serde_json::{json, Value};

const COLOUR: &str = "http://example.org/fhir/StructureDefinition/favourite-colour";

fn patient(colour: &str) -> Value {
    json!({"resourceType": "Patient", "extension": [{"url": COLOUR, "valueString": colour}]})
}

fn search_parameter(code: &str, kind: &str, expression: &str) -> Value {
    json!({"resourceType": "SearchParameter", "url": format!("http://example.org/fhir/SearchParameter/{code}"),
           "name": code, "status": "active", "description": "test", "code": code, "base": ["Patient"],
           "type": kind, "expression": expression})
}

/// Starts the job and waits for it to end; returns its final status.
async fn reindex(s: &Server) -> Value {
    let resp = s.post("/$reindex").json(&json!({"resourceType": "Parameters"})).send().await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{}", resp.text());
    assert!(resp.header("content-location").is_some_and(|l| l.ends_with("/$reindex")));
    wait(s).await
}

/// Waits for the running job to end; returns its final status.
async fn wait(s: &Server) -> Value {
    for _ in 0..400 {
        let st = s.get("/$reindex").send().await.expect(StatusCode::OK).json();
        if st["parameter"][0]["valueCode"] != "running" {
            return st;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("$reindex did not finish");
}

async fn found(s: &Server, query: &str) -> usize {
    let b = s.get(&format!("/Patient?{query}")).send().await.expect(StatusCode::OK).json();
    b["entry"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_search_parameter_takes_effect_after_reindex() {
    let s = Server::new();
    for c in ["blue", "blue", "green"] {
        s.create(&patient(c)).await;
    }
    let expr = format!("Patient.extension.where(url = '{COLOUR}').value");
    s.create(&search_parameter("favourite-colour", "string", &expr)).await;
    let before = s.get("/Patient?favourite-colour=blue").header("prefer", "handling=strict").send().await;
    assert_eq!(before.status, StatusCode::BAD_REQUEST, "unknown until $reindex has run");

    let done = reindex(&s).await;
    assert_eq!(done["parameter"][0]["valueCode"], "completed", "{done}");
    assert_eq!(done["parameter"][1]["valueInteger"], 3, "the three Patients were re-indexed: {done}");
    assert_eq!(found(&s, "favourite-colour=blue").await, 2);
    s.create(&patient("Blue-ish")).await;
    assert_eq!(found(&s, "favourite-colour=blue").await, 3, "new writes are indexed too");

    // A fresh server over the same store puts the parameter back in force.
    let fresh = weave_server::AppState::new(s.state.store.clone(), weave_server::ServerConfig::default());
    assert_eq!(weave_server::reindex::restore(&fresh).expect("restores"), 1);
    assert!(!fresh.indexer().extract("Patient", &patient("red")).strings.is_empty());
}

/// A Patient contained in another resource (here an Observation that carries its subject inline)
/// is re-indexed with its container, so `_contained=true` finds it by the new parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_reaches_resources_contained_in_others() {
    let s = Server::new();
    s.create(&patient("blue")).await;
    let mut inline = patient("blue");
    inline["id"] = json!("p1");
    let (obs, _) = s
        .create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "note"},
                        "contained": [inline], "subject": {"reference": "#p1"}}))
        .await;
    let expr = format!("Patient.extension.where(url = '{COLOUR}').value");
    s.create(&search_parameter("favourite-colour", "string", &expr)).await;

    let done = reindex(&s).await;
    assert_eq!(done["parameter"][0]["valueCode"], "completed", "{done}");
    // One standalone Patient, then one container.
    assert_eq!(done["parameter"][1]["valueInteger"], 2, "{done}");
    assert_eq!(done["parameter"][2]["valueInteger"], 2, "{done}");
    assert_eq!(found(&s, "favourite-colour=blue").await, 1, "the standalone Patient");
    let b = s.get("/Patient?_contained=true&favourite-colour=blue").send().await.expect(StatusCode::OK).json();
    let ids: Vec<&str> = b["entry"].as_array().into_iter().flatten().filter_map(|e| e["resource"]["id"].as_str()).collect();
    assert_eq!(ids, vec![obs.as_str()], "the container of the contained Patient: {b}");
    let none = s.get("/Patient?_contained=true&favourite-colour=green").send().await.expect(StatusCode::OK).json();
    assert!(none["entry"].as_array().is_none_or(Vec::is_empty), "{none}");
}

/// Resources stored without index rows (as by a version of Weave that did not yet index what
/// this one does) are found once their type is re-indexed in full; `*` re-indexes every type;
/// a type that is not one is refused before anything starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_types_are_reindexed_in_full_on_request() {
    let s = Server::new();
    for (t, body) in [
        ("Patient", json!({"resourceType": "Patient", "id": "old", "name": [{"family": "Okafor"}]})),
        ("Observation", json!({"resourceType": "Observation", "id": "old-obs", "status": "final", "code": {"text": "falls"}})),
    ] {
        let mut body = body;
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        let prepared = weave_store::prepare_body(&mut body, &id);
        weave_store::write_blocking(&*s.state.store, move |tx: &mut dyn weave_store::WriteTx| {
            tx.put(t, &id, &prepared, weave_store::Method::Put, &mut weave_store::IndexEntries::default())
        })
        .expect("stored without index rows");
    }
    assert_eq!(found(&s, "family=okafor").await, 0, "no index rows yet");

    let ask = |types: &[&str]| {
        json!({"resourceType": "Parameters", "parameter": types.iter().map(|t| json!({"name": "type", "valueCode": t})).collect::<Vec<_>>()})
    };
    let bad = s.post("/$reindex").json(&ask(&["Patients"])).send().await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());

    let resp = s.post("/$reindex").json(&ask(&["Patient"])).send().await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{}", resp.text());
    let done = wait(&s).await;
    assert_eq!(done["parameter"][0]["valueCode"], "completed", "{done}");
    assert_eq!(done["parameter"][1]["valueInteger"], 1, "only the Patient: {done}");
    assert_eq!(found(&s, "family=okafor").await, 1);
    let obs = s.get("/Observation?code:text=falls").send().await.expect(StatusCode::OK).json();
    assert!(obs["entry"].as_array().is_none_or(Vec::is_empty), "Observation was not asked for: {obs}");

    let resp = s.post("/$reindex").json(&ask(&["*"])).send().await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{}", resp.text());
    let done = wait(&s).await;
    assert_eq!(done["parameter"][0]["valueCode"], "completed", "{done}");
    let obs = s.get("/Observation?code:text=falls").send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["entry"].as_array().map_or(0, Vec::len), 1, "every type: {obs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_parameter_that_cannot_be_indexed_fails_the_job() {
    let s = Server::new();
    s.create(&search_parameter("odd", "composite", "Patient.name")).await;
    let done = reindex(&s).await;
    assert_eq!(done["parameter"][0]["valueCode"], "failed", "{done}");
    let error = done["parameter"].as_array().and_then(|p| p.iter().find(|x| x["name"] == "error")).cloned().unwrap_or_default();
    assert!(error["valueString"].as_str().is_some_and(|e| e.contains("composite")), "{error}");
    // The job is not running any more: another may start.
    let again = s.post("/$reindex").json(&json!({"resourceType": "Parameters"})).send().await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
}
