//! The person index through the API: Persons linking each source's Patients, the NHS-number rule
//! (never on an invalid number), the review queue with remembered decisions, `Patient/$match`,
//! and the acceptance run on a generated borough (auto-link precision and recall).

use crate::check::Server;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use weave_server::identity;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

fn patient(id: &str, nhs: Option<&str>, given: &str, family: &str, dob: &str, gender: &str, postcode: &str) -> Value {
    let mut p = json!({
        "resourceType": "Patient", "id": id,
        "name": [{ "family": family, "given": [given] }],
        "birthDate": dob, "gender": gender,
        "address": [{ "postalCode": postcode }],
    });
    if let Some(n) = nhs {
        p["identifier"] = json!([{ "system": NHS, "value": n }]);
    }
    if dob.is_empty() {
        p.as_object_mut().map(|o| o.remove("birthDate"));
    }
    p
}

async fn put(s: &Server, resources: Vec<Value>) {
    let (n, rejected) = weave_server::import::put_all(&s.state, resources).await.expect("writing");
    assert!(rejected.is_empty(), "rejected: {:?}", rejected.iter().map(|r| r.error.to_string()).collect::<Vec<_>>());
    assert!(n > 0);
}

async fn sync(s: &Server) {
    identity::sync(&s.state).await.expect("the linker catches up");
}

async fn person_of(s: &Server, patient: &str) -> Value {
    let b = s.get(&format!("/Person?link=Patient/{patient}")).send().await.expect(StatusCode::OK).json();
    let entries = b["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "one Person links Patient/{patient}: {b}");
    entries[0]["resource"].clone()
}

fn links(person: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = person["link"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| (l["target"]["reference"].as_str().unwrap_or("").to_owned(), l["assurance"].as_str().unwrap_or("").to_owned()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn equal_valid_nhs_numbers_link_sources_into_one_person() {
    let s = Server::new();
    put(&s, vec![patient("gp-1", Some("9434765919"), "Margaret", "Thornton", "1950-03-07", "female", "XW3 4AB")]).await;
    sync(&s).await;
    // The hospital spells her differently and has an old address; the NHS number is the same.
    put(&s, vec![patient("mrn-1", Some("9434765919"), "Peggy", "Thornton", "1950-03-07", "female", "XW9 1ZZ")]).await;
    sync(&s).await;
    let p = person_of(&s, "gp-1").await;
    assert_eq!(links(&p), vec![("Patient/gp-1".into(), "level4".into()), ("Patient/mrn-1".into(), "level3".into())]);
    assert_eq!(p["identifier"][0]["value"], "9434765919");
    assert_eq!(person_of(&s, "mrn-1").await["id"], p["id"]);
    // Each source's Patient stays as sent.
    let mrn = s.get("/Patient/mrn-1").send().await.expect(StatusCode::OK).json();
    assert_eq!(mrn["name"][0]["given"][0], "Peggy");
}

#[tokio::test]
async fn an_invalid_nhs_number_never_links_on_its_own() {
    let s = Server::new();
    // 9434765918 fails modulus 11; the two records share nothing else.
    put(&s, vec![
        patient("a", Some("9434765918"), "Alice", "Moss", "1971-01-02", "female", "AB1 2CD"),
        patient("b", Some("9434765918"), "Brian", "Okafor", "1944-09-30", "male", "ZZ9 8YY"),
    ])
    .await;
    sync(&s).await;
    let (pa, pb) = (person_of(&s, "a").await, person_of(&s, "b").await);
    assert_ne!(pa["id"], pb["id"], "no link on an invalid NHS number");
    assert!(pa.get("identifier").is_none(), "an invalid number is not the Person's identifier");
    // Each record is reported once for data quality, also after it arrives again.
    put(&s, vec![patient("a", Some("9434765918"), "Alice", "Moss", "1971-01-02", "female", "AB2 2CD")]).await;
    sync(&s).await;
    let url = "/Task?code=https://weave.dev/fhir/CodeSystem/weave-task|nhs-number-invalid&_count=10";
    let tasks = s.get(url).send().await.expect(StatusCode::OK).json();
    let mut focus: Vec<&str> = tasks["entry"].as_array().into_iter().flatten().filter_map(|e| e["resource"]["focus"]["reference"].as_str()).collect();
    focus.sort_unstable();
    assert_eq!(focus, vec!["Patient/a", "Patient/b"]);
}

#[tokio::test]
async fn a_conflicting_valid_nhs_number_is_never_joined() {
    let s = Server::new();
    put(&s, vec![patient("x", Some("9434765919"), "Sam", "Lee", "1980-05-05", "male", "AB1 2CD")]).await;
    sync(&s).await;
    put(&s, vec![patient("y", Some("4010232137"), "Sam", "Lee", "1980-05-05", "male", "AB1 2CD")]).await;
    sync(&s).await;
    assert_ne!(person_of(&s, "x").await["id"], person_of(&s, "y").await["id"]);
}

/// Source record id → true person, and the borough's Patients (each source's view).
fn borough(people: usize, seed: u64) -> (Vec<Value>, HashMap<String, u32>) {
    let bundles = weave_synth::generate_fhir(&weave_synth::SynthConfig::new(people, seed)).expect("generating");
    let mut truth = HashMap::new();
    for p in &bundles.world().people {
        let ids = std::iter::once(&p.gp_id).chain(&p.hospital_ids).chain(&p.council_ids).chain(&p.mh_id).chain(&p.community_id);
        for id in ids {
            truth.insert(id.record_id.clone(), p.idx);
        }
    }
    // Each source sends its Patients by conditional create on its own identifier; here they are
    // stored under an id made from that identifier, and the truth is re-keyed by that id.
    let mut by_id = HashMap::new();
    let mut patients = Vec::new();
    for bundle in bundles {
        for e in bundle["entry"].as_array().into_iter().flatten() {
            let mut r = e["resource"].clone();
            if r["resourceType"] != "Patient" {
                continue;
            }
            let record = weave_identity::Record::from_patient(&r);
            let id: String = record.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect();
            let Some(&person) = truth.get(&record.id) else { panic!("{} is not in the truth", record.id) };
            if by_id.insert(id.clone(), person).is_none() {
                r["id"] = json!(id);
                patients.push(r);
            }
        }
    }
    (patients, by_id)
}

#[tokio::test]
async fn a_generated_borough_links_with_high_precision_and_recall() {
    let s = Server::new();
    let (patients, truth) = borough(2_500, 7);
    let ids: Vec<String> = patients.iter().filter_map(|p| p["id"].as_str().map(str::to_owned)).collect();
    // Arrival in waves, as feeds deliver: the first wave trains the model, later ones link on arrival.
    for wave in patients.chunks(1_000) {
        put(&s, wave.to_vec()).await;
        sync(&s).await;
    }
    let counts = s.state.identity.counts();
    assert!(counts.has_model, "a model was trained on the store's own Patients");
    let predicted: Vec<String> = ids.iter().map(|id| s.state.identity.person_of(id).unwrap_or_default()).collect();
    assert!(predicted.iter().all(|p| !p.is_empty()), "every Patient belongs to a Person");
    let labels: Vec<u32> = ids.iter().map(|id| *truth.get(id).unwrap_or_else(|| panic!("{id} not in truth"))).collect();
    let m = weave_identity::eval::cluster_metrics(&predicted, &labels);
    println!(
        "borough: {} Patients, {} Persons, {} open reviews; auto-links precision {:.4} recall {:.4} F1 {:.4}",
        ids.len(), counts.persons, counts.open_reviews, m.precision, m.recall, m.f1
    );
    assert!(m.precision >= 0.995, "precision {:.4}", m.precision);
    assert!(m.recall >= 0.98, "recall {:.4}", m.recall);
}

/// The best `$match` probability of a probe against what is indexed.
async fn best_score(s: &Server, probe: Value) -> f64 {
    let q = json!({ "resourceType": "Parameters", "parameter": [{ "name": "resource", "resource": probe }] });
    let b = s.post("/Patient/$match").json(&q).send().await.expect(StatusCode::OK).json();
    b["entry"][0]["search"]["score"].as_f64().unwrap_or_else(|| panic!("no candidate: {b}"))
}

/// Loads a small borough (so there is a model), then `first`; returns a second record that
/// scores against `first` inside the review band, which is set around its score.
async fn review_band(s: &Server, seed: u64, first: Value, second: Value) -> Value {
    let (patients, _) = borough(400, seed);
    put(s, patients).await;
    put(s, vec![first]).await;
    sync(s).await;
    assert!(s.state.identity.counts().has_model);
    let p = best_score(s, second.clone()).await;
    assert!(p > 0.0 && p < 1.0, "a probability: {p}");
    s.state.identity.set_thresholds((p + 1.0) / 2.0, p / 2.0).expect("valid thresholds");
    second
}

fn decide(decision: &str, reason: &str) -> Value {
    json!({ "resourceType": "Parameters", "parameter": [
        { "name": "decision", "valueCode": decision }, { "name": "reason", "valueString": reason } ] })
}

/// Tasks of the open review queue.
async fn open_reviews(s: &Server) -> Vec<Value> {
    let url = "/Task?code=https://weave.dev/fhir/CodeSystem/weave-task|link-review&status=requested";
    let b = s.get(url).send().await.expect(StatusCode::OK).json();
    b["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect()
}

#[tokio::test]
async fn review_decisions_join_persons_or_are_remembered() {
    let s = Server::new();
    let first = patient("r1", None, "Ottoline", "Quarrie", "1961-06-15", "female", "AB1 2CD");
    let second = review_band(&s, 11, first, patient("r2", None, "Ottoline", "Quarrie", "1961-06-16", "unknown", "AB1 2CD")).await;
    put(&s, vec![second]).await;
    sync(&s).await;
    let tasks = open_reviews(&s).await;
    let task = tasks
        .iter()
        .find(|t| t["focus"]["reference"] == "Patient/r2")
        .unwrap_or_else(|| panic!("a review task for r2 among {} open ones", tasks.len()))
        .clone();
    assert!(task["input"].as_array().is_some_and(|i| i.iter().any(|x| x["valueReference"]["reference"] == "Patient/r1")));
    assert!(task["input"].as_array().is_some_and(|i| i.iter().any(|x| x["type"]["text"] == "explanation")));
    let tid = task["id"].as_str().unwrap_or_default().to_owned();
    assert_ne!(person_of(&s, "r1").await["id"], person_of(&s, "r2").await["id"], "not linked before review");

    // A decision needs a reason.
    let resp = s.post(&format!("/Task/{tid}/$decide")).json(&json!({"resourceType": "Parameters", "parameter": [{"name": "decision", "valueCode": "link"}]})).send().await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    let done = s.post(&format!("/Task/{tid}/$decide")).json(&decide("link", "same GP confirmed by phone")).send().await.expect(StatusCode::OK).json();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["businessStatus"]["text"], "linked");
    let p = person_of(&s, "r2").await;
    assert_eq!(person_of(&s, "r1").await["id"], p["id"], "joined");
    assert!(links(&p).contains(&("Patient/r2".into(), "level3".into())));
    let again = s.post(&format!("/Task/{tid}/$decide")).json(&decide("no-link", "changed my mind")).send().await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a decided task stays decided");
    let prov = s.get(&format!("/Provenance?target=Task/{tid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(prov["entry"][0]["resource"]["reason"][0]["text"], "same GP confirmed by phone");
}

#[tokio::test]
async fn a_rejected_pair_is_never_linked_automatically() {
    let s = Server::new();
    let first = patient("t1", None, "Perpetua", "Vane", "1958-02-11", "female", "AB1 2CD");
    let second = review_band(&s, 12, first, patient("t2", None, "Perpetua", "Vane", "1958-02-12", "unknown", "AB1 2CD")).await;
    put(&s, vec![second]).await;
    sync(&s).await;
    let task = open_reviews(&s).await.into_iter().find(|t| t["focus"]["reference"] == "Patient/t2").expect("a review task");
    let tid = task["id"].as_str().unwrap_or_default().to_owned();
    s.post(&format!("/Task/{tid}/$decide")).json(&decide("no-link", "twins")).send().await.expect(StatusCode::OK);
    // t2 arrives again (an update): no new review, no link.
    put(&s, vec![patient("t2", None, "Perpetua", "Vane", "1958-02-11", "female", "AB1 2CD")]).await;
    sync(&s).await;
    assert_ne!(person_of(&s, "t1").await["id"], person_of(&s, "t2").await["id"]);
    assert!(open_reviews(&s).await.iter().all(|t| t["focus"]["reference"] != "Patient/t2"));
    // A fresh linker over the same store remembers the decision.
    let fresh = weave_server::AppState::new(s.state.store.clone(), weave_server::ServerConfig::default());
    identity::sync(&fresh).await.expect("rebuilds");
    let c = fresh.identity.counts();
    assert_eq!(c.patients, s.state.identity.counts().patients);
    assert_ne!(fresh.identity.person_of("t1"), fresh.identity.person_of("t2"));
}

#[tokio::test]
async fn match_returns_graded_explained_candidates() {
    let s = Server::new();
    let (patients, _) = borough(400, 13);
    put(&s, patients).await;
    put(&s, vec![patient("m1", Some("9434765919"), "Margaret", "Thornton", "1950-03-07", "female", "XW3 4AB")]).await;
    sync(&s).await;
    let q = |p: Value, only: bool| json!({ "resourceType": "Parameters", "parameter": [
        { "name": "resource", "resource": p }, { "name": "onlyCertainMatches", "valueBoolean": only }, { "name": "count", "valueInteger": 5 } ] });
    let probe = patient("ignored", None, "Margaret", "Thornton", "1950-03-07", "female", "XW3 4AB");
    let b = s.post("/Patient/$match").json(&q(probe, false)).send().await.expect(StatusCode::OK).json();
    assert_eq!(b["type"], "searchset");
    let first = &b["entry"][0];
    assert_eq!(first["resource"]["id"], "m1");
    assert_eq!(first["search"]["mode"], "match");
    assert!(first["search"]["score"].as_f64().is_some_and(|x| x > 0.5));
    let ext = first["search"]["extension"].as_array().cloned().unwrap_or_default();
    assert!(ext.iter().any(|e| e["url"] == "http://hl7.org/fhir/StructureDefinition/match-grade"));
    assert!(ext.iter().any(|e| e["valueString"].as_str().is_some_and(|x| x.contains("family"))));
    // By NHS number alone: certain.
    let by_nhs = json!({ "resourceType": "Patient", "identifier": [{ "system": NHS, "value": "9434765919" }], "gender": "female" });
    let b = s.post("/Patient/$match").json(&q(by_nhs, true)).send().await.expect(StatusCode::OK).json();
    assert_eq!(b["entry"][0]["resource"]["id"], "m1");
    assert_eq!(b["entry"][0]["search"]["extension"][0]["valueCode"], "certain");
    // Bad input.
    let resp = s.post("/Patient/$match").json(&json!({"resourceType": "Parameters"})).send().await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
}

