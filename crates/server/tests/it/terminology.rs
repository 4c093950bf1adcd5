//! Token search against the terminology Weave holds: a CodeSystem with a hierarchy and a ValueSet
//! using `is-a`, stored through the API, then `:below`, `:above`, `:in` and `:not-in` on
//! Observations; a value set that cannot be expanded is a 400 saying why; changing or deleting
//! the ValueSet (through REST or a transaction) changes the answer at once.

use crate::check::Server;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;

const SYS: &str = "http://example.org/fhir/CodeSystem/findings";
const VS: &str = "http://example.org/fhir/ValueSet/cardio";

/// finding ⊃ {cardio ⊃ {hypertension ⊃ malignant-htn, arrhythmia}, resp (by `parent`) ⊃ asthma}.
fn code_system() -> Value {
    json!({"resourceType": "CodeSystem", "url": SYS, "status": "active", "content": "complete",
        "property": [{"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code"}],
        "concept": [
            {"code": "finding", "concept": [
                {"code": "cardio", "concept": [
                    {"code": "hypertension", "concept": [{"code": "malignant-htn"}]},
                    {"code": "arrhythmia"}]}]},
            {"code": "resp", "property": [{"code": "parent", "valueCode": "finding"}]},
            {"code": "asthma", "property": [{"code": "parent", "valueCode": "resp"}]}]})
}

/// The ValueSet `VS`: `is-a` `under` in the findings, less arrhythmia.
fn value_set(under: &str) -> Value {
    json!({"resourceType": "ValueSet", "url": VS, "status": "active", "compose": {
        "include": [{"system": SYS, "filter": [{"property": "concept", "op": "is-a", "value": under}]}],
        "exclude": [{"system": SYS, "concept": [{"code": "arrhythmia"}]}]}})
}

fn observation(system: Option<&str>, code: &str) -> Value {
    let concept = match system {
        Some(s) => json!({"coding": [{"system": s, "code": code}]}),
        None => json!({"text": code}),
    };
    json!({"resourceType": "Observation", "status": "final", "code": concept})
}

/// The Observations, by label → server id.
async fn observations(s: &Server) -> HashMap<String, String> {
    let mut ids = HashMap::new();
    for (label, system, code) in [
        ("cardio", Some(SYS), "cardio"),
        ("htn", Some(SYS), "hypertension"),
        ("malignant", Some(SYS), "malignant-htn"),
        ("arrhythmia", Some(SYS), "arrhythmia"),
        ("asthma", Some(SYS), "asthma"),
        ("foreign", Some("http://example.org/other"), "hypertension"),
        ("text-only", None, "hypertension"),
    ] {
        let (id, _) = s.create(&observation(system, code)).await;
        ids.insert(label.to_owned(), id);
    }
    ids
}

/// The labels of the Observations `query` finds, sorted.
async fn found(s: &Server, ids: &HashMap<String, String>, query: &str) -> Vec<String> {
    let b = s.get(&format!("/Observation?{query}&_count=100")).send().await.expect(StatusCode::OK).json();
    let mut labels: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| {
            let id = e["resource"]["id"].as_str().unwrap_or_default();
            ids.iter().find(|(_, v)| v.as_str() == id).map_or_else(|| format!("unknown {id}"), |(k, _)| k.clone())
        })
        .collect();
    labels.sort();
    labels
}

fn q(param: &str, value: &str) -> String {
    format!("{param}={}", form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_above_in_and_not_in_use_the_stored_terminology() {
    let s = Server::new();
    s.create(&code_system()).await;
    s.create(&value_set("cardio")).await;
    let ids = observations(&s).await;

    assert_eq!(found(&s, &ids, &q("code:below", &format!("{SYS}|cardio"))).await, ["arrhythmia", "cardio", "htn", "malignant"]);
    assert_eq!(found(&s, &ids, &q("code:below", &format!("{SYS}|finding"))).await, ["arrhythmia", "asthma", "cardio", "htn", "malignant"]);
    assert_eq!(found(&s, &ids, &q("code:below", &format!("{SYS}|resp"))).await, ["asthma"], "a hierarchy by `parent` property");
    assert_eq!(found(&s, &ids, &q("code:above", &format!("{SYS}|malignant-htn"))).await, ["cardio", "htn", "malignant"]);
    assert_eq!(found(&s, &ids, &q("code:in", VS)).await, ["cardio", "htn", "malignant"]);
    // `:not-in` also finds what has no coding at all, and codings of other systems.
    assert_eq!(found(&s, &ids, &q("code:not-in", VS)).await, ["arrhythmia", "asthma", "foreign", "text-only"]);
    // Comma-separated values are OR-ed; repeated parameters AND-ed.
    assert_eq!(found(&s, &ids, &q("code:below", &format!("{SYS}|resp,{SYS}|hypertension"))).await, ["asthma", "htn", "malignant"]);
    assert_eq!(found(&s, &ids, &format!("{}&{}", q("code:in", VS), q("code:not-in", &format!("{VS}|")))).await, Vec::<String>::new());
    // Union parameters reach the terminology too.
    assert_eq!(found(&s, &ids, &q("combo-code:below", &format!("{SYS}|hypertension"))).await, ["htn", "malignant"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_answered_in_full_is_a_400_saying_why() {
    let s = Server::new();
    s.create(&code_system()).await;
    s.create(&json!({"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/unknown", "status": "active",
        "compose": {"include": [{"system": "http://example.org/unknown-system"}]}}))
        .await;
    let cases = [
        (q("code:in", "http://example.org/fhir/ValueSet/unknown"), "http://example.org/unknown-system"),
        (q("code:in", "http://example.org/fhir/ValueSet/never-stored"), "never-stored"),
        (q("code:below", "cardio"), "system|code"),
        (q("code:below", "http://example.org/unknown-system|x"), "unknown-system"),
        (q("code:above", &format!("{SYS}|no-such-code")), "no-such-code"),
    ];
    for (query, why) in cases {
        let diag = s.get(&format!("/Observation?{query}")).send().await.outcome(StatusCode::BAD_REQUEST);
        assert!(diag.contains("'code'") && diag.contains(why), "{query}: {diag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_value_set_changes_the_answer() {
    let s = Server::new();
    s.create(&code_system()).await;
    let (vs_id, _) = s.create(&value_set("cardio")).await;
    let ids = observations(&s).await;
    assert_eq!(found(&s, &ids, &q("code:in", VS)).await, ["cardio", "htn", "malignant"]);

    // Through REST.
    let mut resp = value_set("resp");
    resp["id"] = json!(vs_id);
    s.put(&format!("/ValueSet/{vs_id}")).json(&resp).send().await.expect(StatusCode::OK);
    assert_eq!(found(&s, &ids, &q("code:in", VS)).await, ["asthma"]);

    // Through a transaction.
    let mut hypertension = value_set("hypertension");
    hypertension["id"] = json!(vs_id);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": hypertension, "request": {"method": "PUT", "url": format!("ValueSet/{vs_id}")}}]});
    s.post("/").json(&bundle).send().await.expect(StatusCode::OK);
    assert_eq!(found(&s, &ids, &q("code:in", VS)).await, ["htn", "malignant"]);

    // The CodeSystem changes too: malignant-htn moves under arrhythmia (which the set excludes).
    let mut cs = code_system();
    if let Some(hypertension) = cs["concept"][0]["concept"][0]["concept"][0].as_object_mut() {
        hypertension.remove("concept");
    }
    cs["concept"][0]["concept"][0]["concept"][1]["concept"] = json!([{"code": "malignant-htn"}]);
    let cs_id = s.get(&format!("/CodeSystem?url={SYS}")).send().await.expect(StatusCode::OK).json()["entry"][0]["resource"]["id"].clone();
    cs["id"] = cs_id.clone();
    s.put(&format!("/CodeSystem/{}", cs_id.as_str().unwrap_or_default())).json(&cs).send().await.expect(StatusCode::OK);
    assert_eq!(found(&s, &ids, &q("code:in", VS)).await, ["htn"]);
    assert_eq!(found(&s, &ids, &q("code:below", &format!("{SYS}|arrhythmia"))).await, ["arrhythmia", "malignant"]);

    // Deleted: no longer held.
    s.delete(&format!("/ValueSet/{vs_id}")).send().await;
    let diag = s.get(&format!("/Observation?{}", q("code:in", VS))).send().await.outcome(StatusCode::BAD_REQUEST);
    assert!(diag.contains("not one this server holds"), "{diag}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_interactions_use_the_stored_terminology_too() {
    let s = Server::new();
    s.create(&code_system()).await;
    s.create(&value_set("hypertension")).await;
    let (htn, _) = s.create(&observation(Some(SYS), "malignant-htn")).await;
    let cond = q("code:in", VS);
    // `If-None-Exist` finds the Observation through the stored ValueSet: nothing is created.
    let again = s.post("/Observation").header("if-none-exist", &cond).json(&observation(Some(SYS), "hypertension")).send().await;
    assert_eq!(again.expect(StatusCode::OK).json()["id"], json!(htn));
    // A conditional reference inside a transaction resolves through a stored hierarchy.
    let report = json!({"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "r"},
        "result": [{"reference": format!("Observation?{}", q("code:below", &format!("{SYS}|cardio")))}]});
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": report, "request": {"method": "POST", "url": "DiagnosticReport"}}]});
    let b = s.post("/").json(&bundle).send().await.expect(StatusCode::OK).json();
    let location = b["entry"][0]["response"]["location"].as_str().unwrap_or_default().to_owned();
    let stored = s.get(&format!("/{}", location.split("/_history").next().unwrap_or_default())).send().await.expect(StatusCode::OK).json();
    assert_eq!(stored["result"][0]["reference"], json!(format!("Observation/{htn}")));
    // What the terminology cannot answer is still a 400 naming why.
    let bad = s.post("/Observation").header("if-none-exist", &q("code:in", "http://example.org/none")).json(&observation(None, "x")).send().await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
