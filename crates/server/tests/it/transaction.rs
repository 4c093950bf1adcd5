//! Transactions and batches at `POST /`: `urn:uuid` references rewritten to the assigned ids,
//! conditional references resolved, conditional creates (`ifNoneExist`), the specification's
//! processing order, all-or-nothing (nothing written when any entry fails, even late in the
//! write), independent batch entries, and the per-entry status/location/etag of the response.

use crate::check::{Server, BASE};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

const SYS: &str = "urn:weave-test:tx";

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

fn post(full_url: &str, resource: Value) -> Value {
    let t = resource["resourceType"].as_str().unwrap_or_default().to_owned();
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": t}})
}

fn patient(ident: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": SYS, "value": ident}], "name": [{"family": ident}]})
}

fn with_id(mut r: Value, id: &str) -> Value {
    r["id"] = json!(id);
    r
}

fn observation(subject: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
           "subject": {"reference": subject}})
}

/// `Patient/abc/_history/1` → ("Patient", "abc").
fn location_id(entry: &Value) -> (String, String) {
    let loc = entry["response"]["location"].as_str().unwrap_or_else(|| panic!("no location in {entry}"));
    let loc = loc.strip_prefix(BASE).unwrap_or(loc).trim_start_matches('/');
    let mut parts = loc.split('/');
    let t = parts.next().unwrap_or_default().to_owned();
    (t, parts.next().unwrap_or_default().to_owned())
}

fn status_of(entry: &Value) -> u16 {
    entry["response"]["status"].as_str().and_then(|s| s.get(..3)).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// POSTs a transaction/batch and expects 200; returns the response entries.
async fn run(s: &Server, b: &Value) -> Vec<Value> {
    let out = s.post("/").json(b).send().await.expect(StatusCode::OK).json();
    assert_eq!(out["type"], format!("{}-response", b["type"].as_str().unwrap_or_default()));
    out["entry"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn urn_uuid_references_are_rewritten_and_entries_report_status_location_etag() {
    let s = Server::new();
    let p = "urn:uuid:6f1c3ba0-44d7-4a53-9d6b-0e3f0e0c1a01";
    let abs = "http://other.example/fhir/Practitioner/dr-1";
    let mut obs = observation(p);
    obs["performer"] = json!([{"reference": abs}, {"reference": p}]);
    obs["extension"] = json!([{"url": "http://example.org/x", "valueReference": {"reference": p}}]);
    let prac = json!({"resourceType": "Practitioner", "name": [{"family": "Who"}]});
    let b = bundle("transaction", vec![post("urn:uuid:0b6c7e36-9f57-4f31-a4d6-1f5b9c1d2e03", obs), post(p, patient("tx-a")), post(abs, prac)]);
    let entries = run(&s, &b).await;
    assert_eq!(entries.len(), 3);
    for e in &entries {
        assert_eq!(status_of(e), 201, "{e}");
        assert_eq!(e["response"]["etag"], "W/\"1\"");
        assert!(e["response"]["lastModified"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(e["response"]["location"].as_str().is_some_and(|l| l.ends_with("/_history/1")));
    }
    let (ot, oid) = location_id(&entries[0]);
    let (pt, pid) = location_id(&entries[1]);
    let (dt, did) = location_id(&entries[2]);
    assert_eq!((ot.as_str(), pt.as_str(), dt.as_str()), ("Observation", "Patient", "Practitioner"));
    assert_ne!(did, "dr-1", "a POST gets a server-assigned id even with an absolute fullUrl");
    let stored = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    let want = format!("Patient/{pid}");
    assert_eq!(stored["subject"]["reference"], want.as_str());
    assert_eq!(stored["performer"][1]["reference"], want.as_str());
    assert_eq!(stored["extension"][0]["valueReference"]["reference"], want.as_str());
    assert_eq!(stored["performer"][0]["reference"], format!("Practitioner/{did}").as_str());
    assert!(!stored.to_string().contains("urn:uuid"), "{stored}");
    // The response entries carry the stored resources (Prefer defaults to representation).
    assert_eq!(entries[0]["resource"]["subject"]["reference"], want.as_str());
}

#[tokio::test]
async fn updates_deletes_and_reads_in_one_transaction() {
    let s = Server::new();
    let (keep, mut body) = s.create(&patient("tx-u")).await;
    let (gone, _) = s.create(&patient("tx-d")).await;
    body["gender"] = json!("female");
    let b = bundle("transaction", vec![
        json!({"resource": body, "request": {"method": "PUT", "url": format!("Patient/{keep}"), "ifMatch": "W/\"1\""}}),
        json!({"request": {"method": "DELETE", "url": format!("Patient/{gone}")}}),
        json!({"request": {"method": "GET", "url": format!("Patient/{keep}")}}),
        json!({"resource": with_id(patient("tx-new"), "tx-new"), "request": {"method": "PUT", "url": "Patient/tx-new"}}),
    ]);
    let entries = run(&s, &b).await;
    assert_eq!(status_of(&entries[0]), 200);
    assert_eq!(entries[0]["response"]["etag"], "W/\"2\"");
    assert!(matches!(status_of(&entries[1]), 200 | 204), "{}", entries[1]);
    assert_eq!(status_of(&entries[2]), 200);
    assert_eq!(entries[2]["resource"]["gender"], "female", "reads see the transaction's writes");
    assert_eq!(status_of(&entries[3]), 201);
    s.get(&format!("/Patient/{gone}")).send().await.outcome(StatusCode::GONE);
    s.get("/Patient/tx-new").send().await.expect(StatusCode::OK);

    // A conditional update in a bundle: no match creates, one match updates that resource.
    let cu = || {
        let url = format!("Patient?identifier={SYS}|tx-cu");
        bundle("transaction", vec![json!({"resource": patient("tx-cu"), "request": {"method": "PUT", "url": url}})])
    };
    let first = run(&s, &cu()).await;
    assert_eq!(status_of(&first[0]), 201, "{}", first[0]);
    let second = run(&s, &cu()).await;
    assert_eq!(status_of(&second[0]), 200, "{}", second[0]);
    assert_eq!(location_id(&second[0]).1, location_id(&first[0]).1);
    assert_eq!(second[0]["response"]["etag"], "W/\"2\"");

    let minimal = s.post("/").header("prefer", "return=minimal").json(&bundle("transaction", vec![post("urn:uuid:m", patient("tx-m"))])).send().await;
    let e = &minimal.expect(StatusCode::OK).json()["entry"][0];
    assert!(e.get("resource").is_none() && status_of(e) == 201, "return=minimal: {e}");
}

#[tokio::test]
async fn conditional_references_are_resolved() {
    let s = Server::new();
    let (pid, _) = s.create(&patient("tx-c")).await;
    let cond = format!("Patient?identifier={SYS}|tx-c");
    let entries = run(&s, &bundle("transaction", vec![post("urn:uuid:c1", observation(&cond))])).await;
    let (_, oid) = location_id(&entries[0]);
    let stored = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(stored["subject"]["reference"], format!("Patient/{pid}").as_str());
    assert_eq!(found_by_patient(&s, &pid).await, vec![oid.clone()], "indexed under the resolved target");

    // No match: the transaction fails and writes nothing.
    let before = s.snapshot();
    let none = bundle("transaction", vec![post("urn:uuid:c2", observation(&format!("Patient?identifier={SYS}|nobody")))]);
    let resp = s.post("/").json(&none).send().await;
    assert!(matches!(resp.status.as_u16(), 400 | 404 | 412) && resp.is_error_outcome(), "{} {}", resp.status, resp.text());
    assert_eq!(s.snapshot(), before);
}

#[tokio::test]
async fn conditional_create_inside_a_bundle() {
    let s = Server::new();
    let p = "urn:uuid:9d1c5c52-6a43-4c9e-8f5e-3b9e2f4d5a11";
    let make = || {
        let mut e = post(p, patient("tx-ine"));
        e["request"]["ifNoneExist"] = json!(format!("identifier={SYS}|tx-ine"));
        bundle("transaction", vec![e, post("urn:uuid:o", observation(p))])
    };
    let first = run(&s, &make()).await;
    assert_eq!(status_of(&first[0]), 201);
    let (_, pid) = location_id(&first[0]);

    let second = run(&s, &make()).await;
    assert_eq!(status_of(&second[0]), 200, "the existing resource matched: {}", second[0]);
    assert_eq!(location_id(&second[0]).1, pid);
    assert_eq!(s.count("Patient").await, 1, "no second Patient");
    let (_, oid) = location_id(&second[1]);
    let obs = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{pid}").as_str(), "points at the existing Patient");
    let h = s.get(&format!("/Patient/{pid}/_history")).send().await.expect(StatusCode::OK).json();
    assert_eq!(h["total"], 1, "no new version of the matched Patient");
}

#[tokio::test]
async fn references_to_a_conditional_update_entry_follow_its_match() {
    let s = Server::new();
    let (pid, _) = s.create(&patient("tx-cu-ref")).await;
    let p = "urn:uuid:3c0f6a9e-2b7d-4e59-a1c4-7f8e9d0b1c22";
    let mut upd = patient("tx-cu-ref");
    upd["gender"] = json!("male");
    let b = bundle("transaction", vec![
        json!({"fullUrl": p, "resource": upd, "request": {"method": "PUT", "url": format!("Patient?identifier={SYS}|tx-cu-ref")}}),
        post("urn:uuid:o", observation(p)),
    ]);
    let entries = run(&s, &b).await;
    assert_eq!(location_id(&entries[0]).1, pid, "the conditional update matched the existing Patient");
    let (_, oid) = location_id(&entries[1]);
    let obs = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{pid}").as_str(), "the reference follows the match");
    assert_eq!(found_by_patient(&s, &pid).await, vec![oid], "indexed under the matched Patient");
}

#[tokio::test]
async fn with_return_minimal_references_still_follow_conditional_matches() {
    // With return=minimal the parsed resources are freed before the write job where they can
    // be; a job that must rewrite them (a conditional create or update matched) keeps them.
    let s = Server::new();
    let (pid, _) = s.create(&patient("tx-min-ref")).await;
    let p = "urn:uuid:9d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6";
    let cond = format!("identifier={SYS}|tx-min-ref");
    let b = bundle("transaction", vec![
        json!({"fullUrl": p, "resource": patient("tx-min-ref"), "request": {"method": "POST", "url": "Patient", "ifNoneExist": cond}}),
        post("urn:uuid:o1", observation(p)),
        post("urn:uuid:q", patient("tx-min-other")),
        post("urn:uuid:o2", observation("urn:uuid:q")),
    ]);
    let resp = s.post("/").header("prefer", "return=minimal").json(&b).send().await;
    let entries = resp.expect(StatusCode::OK).json()["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(status_of(&entries[0]), 200, "the conditional create matched");
    let (_, o1) = location_id(&entries[1]);
    let obs = s.get(&format!("/Observation/{o1}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{pid}").as_str(), "the reference follows the match");
    assert_eq!(found_by_patient(&s, &pid).await, vec![o1]);
    let (_, qid) = location_id(&entries[2]);
    let (_, o2) = location_id(&entries[3]);
    let obs = s.get(&format!("/Observation/{o2}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{qid}").as_str());
    assert_eq!(obs["code"]["text"], "pulse", "stored whole");
}

/// Ids of the Observations whose `patient` search parameter finds Patient `pid`.
async fn found_by_patient(s: &Server, pid: &str) -> Vec<String> {
    let b = s.get(&format!("/Observation?patient={pid}")).send().await.expect(StatusCode::OK).json();
    let entries = b["entry"].as_array().cloned().unwrap_or_default();
    entries.iter().filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn conditional_references_see_resources_created_in_the_same_transaction() {
    // The specification resolves conditional references last, after the POSTs.
    let s = Server::new();
    let cond = format!("Patient?identifier={SYS}|tx-same");
    let b = bundle("transaction", vec![post("urn:uuid:p", patient("tx-same")), post("urn:uuid:o", observation(&cond))]);
    let resp = s.post("/").json(&b).send().await;
    let entries = resp.expect(StatusCode::OK).json()["entry"].as_array().cloned().unwrap_or_default();
    let (_, pid) = location_id(&entries[0]);
    let (_, oid) = location_id(&entries[1]);
    let obs = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{pid}").as_str());
    assert_eq!(found_by_patient(&s, &pid).await, vec![oid]);
}

#[tokio::test]
async fn json_patch_entries_travel_as_binary() {
    use base64::Engine as _;
    let s = Server::new();
    let (id, _) = s.create(&patient("tx-patch")).await;
    let ops = br#"[{"op": "add", "path": "/gender", "value": "female"}]"#;
    let binary = json!({"resourceType": "Binary", "contentType": "application/json-patch+json",
                        "data": base64::engine::general_purpose::STANDARD.encode(ops)});
    let entry = json!({"resource": binary, "request": {"method": "PATCH", "url": format!("Patient/{id}")}});
    let entries = run(&s, &bundle("transaction", vec![entry.clone()])).await;
    assert_eq!(status_of(&entries[0]), 200);
    assert_eq!(entries[0]["response"]["etag"], "W/\"2\"");
    let entries = run(&s, &bundle("batch", vec![entry])).await;
    assert_eq!(status_of(&entries[0]), 200, "{}", entries[0]);
    let read = s.get(&format!("/Patient/{id}")).send().await.expect(StatusCode::OK);
    assert_eq!((read.version(), read.json()["gender"].clone()), (3, json!("female")));
}

#[tokio::test]
async fn deletes_are_processed_before_creates() {
    let s = Server::new();
    let (old, _) = s.create(&patient("tx-order")).await;
    // In bundle order the POST comes first; the DELETE must still run first, so its condition
    // matches only the old Patient (not the one the POST adds).
    let b = bundle("transaction", vec![
        post("urn:uuid:new", patient("tx-order")),
        json!({"request": {"method": "DELETE", "url": format!("Patient?identifier={SYS}|tx-order")}}),
    ]);
    let entries = run(&s, &b).await;
    assert_eq!(status_of(&entries[0]), 201);
    let (_, new) = location_id(&entries[0]);
    s.get(&format!("/Patient/{old}")).send().await.outcome(StatusCode::GONE);
    s.get(&format!("/Patient/{new}")).send().await.expect(StatusCode::OK);
    // History (newest first): the creation is newer than the deletion.
    let h = s.get("/Patient/_history?_count=2").send().await.expect(StatusCode::OK).json();
    let methods: Vec<&str> = h["entry"].as_array().into_iter().flatten().filter_map(|e| e["request"]["method"].as_str()).collect();
    assert_eq!(methods, vec!["POST", "DELETE"]);
}

#[tokio::test]
async fn a_transaction_is_all_or_nothing() {
    let s = Server::new();
    let (existing, body) = s.create(&patient("tx-all")).await;
    let before = s.snapshot();
    // Invalid resource (found before writing).
    let mut bad = patient("tx-bad");
    bad["colour"] = json!("blue");
    let b = bundle("transaction", vec![post("urn:uuid:a", patient("tx-1")), post("urn:uuid:b", observation("urn:uuid:a")), post("urn:uuid:c", bad)]);
    let diag = s.post("/").json(&b).send().await.outcome(StatusCode::BAD_REQUEST);
    assert!(diag.contains("colour"), "the diagnostic names the bad element: {diag}");
    assert_eq!(s.snapshot(), before, "an invalid entry let other entries be written");

    // A failure inside the write (a stale ifMatch, processed after the POSTs) rolls back the POSTs.
    let b = bundle("transaction", vec![
        post("urn:uuid:a", patient("tx-2")),
        post("urn:uuid:b", observation("urn:uuid:a")),
        json!({"resource": body, "request": {"method": "PUT", "url": format!("Patient/{existing}"), "ifMatch": "W/\"9\""}}),
    ]);
    s.post("/").json(&b).send().await.outcome(StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.snapshot(), before, "a failed transaction left writes behind");
    assert_eq!(s.count("Observation").await, 0);
}

#[tokio::test]
async fn batch_entries_succeed_or_fail_on_their_own() {
    let s = Server::new();
    let (existing, _) = s.create(&patient("b-0")).await;
    let (other, _) = s.create(&patient("b-x")).await;
    let mut bad = patient("b-bad");
    bad["birthDate"] = json!("31/12/1999");
    let b = bundle("batch", vec![
        post("urn:uuid:b1", patient("b-1")),
        post("urn:uuid:b2", bad),
        json!({"request": {"method": "GET", "url": "Patient/missing"}}),
        json!({"resource": with_id(patient("b-3"), "b-3"), "request": {"method": "PUT", "url": "Patient/b-3"}}),
        json!({"request": {"method": "GET", "url": format!("Patient/{existing}")}}),
        json!({"request": {"method": "DELETE", "url": format!("Patient/{other}")}}),
    ]);
    let entries = run(&s, &b).await;
    let statuses: Vec<u16> = entries.iter().map(status_of).collect();
    assert_eq!(&statuses[..5], &[201, 400, 404, 201, 200], "{entries:?}");
    assert!(matches!(statuses[5], 200 | 204));
    for i in [1, 2] {
        let oo = &entries[i]["response"]["outcome"];
        assert_eq!(oo["resourceType"], "OperationOutcome", "entry {i}: {}", entries[i]);
        assert!(oo["issue"][0]["diagnostics"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert!(entries[0]["response"]["location"].is_string() && entries[0]["response"]["etag"] == "W/\"1\"");
    assert_eq!(entries[4]["resource"]["id"], existing.as_str());
    assert_eq!(s.count("Patient").await, 3, "b-0 kept, b-1 and b-3 written, b-x deleted, the bad one not");
    s.get("/Patient/b-3").send().await.expect(StatusCode::OK);
}

/// Transactions that fail inside the write job (after the POSTs were planned), one per kind.
fn failing_transactions(existing: &str, body: &Value) -> Vec<Value> {
    use base64::Engine as _;
    let failing_test = base64::engine::general_purpose::STANDARD.encode(br#"[{"op": "test", "path": "/gender", "value": "other"}]"#);
    let two = format!("{SYS}|tx-two");
    let head = || vec![post("urn:uuid:a", patient("tx-f")), post("urn:uuid:b", observation("urn:uuid:a"))];
    let with = |extra: Value| {
        let mut e = head();
        e.push(extra);
        bundle("transaction", e)
    };
    vec![
        with(json!({"resource": body, "request": {"method": "PUT", "url": format!("Patient/{existing}"), "ifMatch": "W/\"9\""}})),
        with(json!({"request": {"method": "DELETE", "url": format!("Patient/{existing}"), "ifMatch": "W/\"9\""}})),
        with(json!({"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": failing_test},
                    "request": {"method": "PATCH", "url": format!("Patient/{existing}")}})),
        with(post("urn:uuid:c", observation(&format!("Patient?identifier={two}")))),
        with(json!({"resource": patient("tx-two"), "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier={two}")}})),
    ]
}

/// Failing transactions running alongside good writes (possibly in the same commit group) must
/// not disturb them: every good write succeeds, every failing one is a 4xx, none is a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_transactions_do_not_disturb_concurrent_writes() {
    let s = Arc::new(Server::new());
    let (existing, body) = s.create(&patient("tx-base")).await;
    s.create(&patient("tx-two")).await;
    s.create(&patient("tx-two")).await;
    let bad = Arc::new(failing_transactions(&existing, &body));
    let before = s.count("Observation").await;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (s, bad) = (Arc::clone(&s), Arc::clone(&bad));
        tasks.spawn(async move {
            let mut problems = Vec::new();
            for i in 0..15 {
                let (what, resp) = if (w + i) % 2 == 0 {
                    let b = &bad[(w + i) % bad.len()];
                    ("failing transaction", s.post("/").json(b).send().await)
                } else {
                    ("good create", s.post("/Observation").json(&observation(&format!("Patient/{w}-{i}"))).send().await)
                };
                let ok = match what {
                    "good create" => resp.status == StatusCode::CREATED,
                    _ => resp.status.is_client_error() && resp.is_error_outcome(),
                };
                if !ok {
                    problems.push(format!("{what}: {} {}", resp.status, resp.text()));
                }
            }
            problems
        });
    }
    let mut problems = Vec::new();
    while let Some(r) = tasks.join_next().await {
        problems.extend(r.expect("task"));
    }
    assert!(problems.is_empty(), "{} problems: {problems:#?}", problems.len());
    assert_eq!(s.count("Observation").await, before + 60, "exactly the good creates were written");
    assert_eq!(s.get(&format!("/Patient/{existing}")).send().await.version(), 1);
}

/// A conditional create is resolved before its job, against what is committed, and again inside
/// it. Here the Patient it matched is deleted between the two: the job must create a new Patient
/// and point the Observation at it, not at the deleted one.
#[tokio::test]
async fn a_conditional_create_whose_match_goes_away_before_its_job_creates() {
    let s = Server::new();
    let (old, _) = s.create(&patient("tx-race")).await;
    let p = "urn:uuid:1c7e2b4a-5d3f-4e6a-9b8c-7d6e5f4a3b2c";
    let mut e = post(p, patient("tx-race"));
    e["request"]["ifNoneExist"] = json!(format!("identifier={SYS}|tx-race"));
    let tx = bundle("transaction", vec![e, post("urn:uuid:o-race", observation(p))]);

    // Hold the writer, queue the delete, then the transaction (its prediction sees the Patient).
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let store = Arc::clone(&s.state.store);
    let blocker = std::thread::spawn(move || {
        weave_store::write_blocking(&*store, move |_tx: &mut dyn weave_store::WriteTx| {
            let _ = release.recv();
            Ok::<(), weave_store::StoreError>(())
        })
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let ms = std::time::Duration::from_millis;
    let deleting = async { s.delete(&format!("/Patient/{old}")).send().await.expect(StatusCode::OK) };
    let running = async {
        tokio::time::sleep(ms(50)).await;
        run(&s, &tx).await
    };
    let releasing = async {
        tokio::time::sleep(ms(150)).await;
        hold.send(()).unwrap();
    };
    let (_, entries, ()) = tokio::join!(deleting, running, releasing);
    blocker.join().unwrap().unwrap();

    assert_eq!(status_of(&entries[0]), 201, "created anew: {}", entries[0]);
    let (_, new) = location_id(&entries[0]);
    assert_ne!(new, old);
    let (_, oid) = location_id(&entries[1]);
    let obs = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{new}").as_str());
    let created = s.get(&format!("/Patient/{new}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(created["id"], new.as_str());
}

/// A transaction is prepared with the id its conditional create or update resolved to last time.
/// When that resource no longer matches (its identifier changed, or it was deleted), the entry
/// must create a new resource — not write over, or bring back, the one predicted.
#[tokio::test]
async fn a_stale_prediction_of_a_conditional_entry_never_reuses_its_id() {
    let s = Server::new();
    let p = "urn:uuid:5e2d7c1b-8a9f-4b3e-b6d5-0c1a2b3c4d5e";
    let create = || {
        let mut e = post(p, patient("tx-stale"));
        e["request"]["ifNoneExist"] = json!(format!("identifier={SYS}|tx-stale"));
        bundle("transaction", vec![e, post("urn:uuid:o1", observation(p))])
    };
    let first = run(&s, &create()).await;
    let (_, p1) = location_id(&first[0]);
    // The predicted Patient stops matching.
    s.put(&format!("/Patient/{p1}")).json(&with_id(patient("tx-moved"), &p1)).send().await.expect(StatusCode::OK);
    let second = run(&s, &create()).await;
    assert_eq!(status_of(&second[0]), 201, "created anew: {}", second[0]);
    let (_, p2) = location_id(&second[0]);
    assert_ne!(p2, p1, "the predicted id was reused");
    // Prepared in the job (it was predicted to match): stored and indexed like any other.
    let made = s.get(&format!("/Patient/{p2}")).send().await.expect(StatusCode::OK).json();
    assert_eq!((made["id"].as_str(), made["identifier"][0]["value"].as_str()), (Some(p2.as_str()), Some("tx-stale")));
    let found = s.get(&format!("/Patient?identifier={SYS}|tx-stale")).send().await.expect(StatusCode::OK).json();
    let ids: Vec<&str> = found["entry"].as_array().into_iter().flatten().filter_map(|e| e["resource"]["id"].as_str()).collect();
    assert_eq!(ids, [p2.as_str()]);
    let kept = s.get(&format!("/Patient/{p1}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(kept["identifier"][0]["value"], "tx-moved", "the predicted Patient was overwritten");
    assert_eq!(kept["meta"]["versionId"], "2");
    let (_, oid) = location_id(&second[1]);
    let obs = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{p2}").as_str());

    // A conditional update whose predicted resource was deleted.
    let update = || {
        let e = json!({"fullUrl": p, "resource": patient("tx-cu-gone"),
                       "request": {"method": "PUT", "url": format!("Patient?identifier={SYS}|tx-cu-gone")}});
        bundle("transaction", vec![e, post("urn:uuid:o2", observation(p))])
    };
    let (_, u1) = location_id(&run(&s, &update()).await[0]);
    s.delete(&format!("/Patient/{u1}")).send().await.expect(StatusCode::OK);
    let again = run(&s, &update()).await;
    let (_, u2) = location_id(&again[0]);
    assert_ne!(u2, u1, "the deleted Patient was brought back");
    s.get(&format!("/Patient/{u1}")).send().await.expect(StatusCode::GONE);
    let (_, oid) = location_id(&again[1]);
    let obs = s.get(&format!("/Observation/{oid}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(obs["subject"]["reference"], format!("Patient/{u2}").as_str());
}

/// Conditions are parsed before the write job; one that does not parse still fails the whole
/// transaction with the parser's message, wherever it stands, and writes nothing.
#[tokio::test]
async fn a_condition_that_does_not_parse_fails_the_transaction_and_writes_nothing() {
    let s = Server::new();
    let before = s.count("Patient").await;
    let conditions = [
        json!({"resource": patient("tx-bad-cond"), "request": {"method": "POST", "url": "Patient", "ifNoneExist": "no-such-param=1"}}),
        json!({"resource": patient("tx-bad-cond"), "request": {"method": "PUT", "url": "Patient?birthdate=not-a-date"}}),
        json!({"request": {"method": "DELETE", "url": "Patient?no-such-param=1"}}),
    ];
    for bad in conditions {
        let b = bundle("transaction", vec![post("urn:uuid:ok", patient("tx-bad-cond-ok")), bad.clone()]);
        let out = s.post("/").json(&b).send().await.expect(StatusCode::BAD_REQUEST).json();
        assert_eq!(out["resourceType"], "OperationOutcome", "{bad}");
        let text = out.to_string();
        assert!(text.contains("no-such-param") || text.contains("not-a-date"), "{bad}: {text}");
    }
    assert_eq!(s.count("Patient").await, before);
}

/// A parsed condition finds what the job sees: a resource written earlier in the same group.
#[tokio::test]
async fn conditional_update_and_delete_in_a_transaction_find_their_targets() {
    let s = Server::new();
    let (id, _) = s.create(&patient("tx-cond-upd")).await;
    let mut changed = patient("tx-cond-upd");
    changed["gender"] = json!("female");
    let b = bundle(
        "transaction",
        vec![json!({"resource": changed, "request": {"method": "PUT", "url": format!("Patient?identifier={SYS}|tx-cond-upd")}})],
    );
    let entries = run(&s, &b).await;
    assert_eq!(location_id(&entries[0]), ("Patient".to_owned(), id.clone()));
    assert_eq!(status_of(&entries[0]), 200);
    let b = bundle("transaction", vec![json!({"request": {"method": "DELETE", "url": format!("Patient?identifier={SYS}|tx-cond-upd")}})]);
    run(&s, &b).await;
    s.get(&format!("/Patient/{id}")).send().await.expect(StatusCode::GONE);
}

/// A condition whose parsing may read value sets (`:in`) is parsed inside the job, and finds its
/// target all the same.
#[tokio::test]
async fn a_condition_with_a_value_set_is_resolved_in_the_job() {
    let s = Server::new();
    let mut p = patient("tx-cond-in");
    p["gender"] = json!("female");
    let (id, _) = s.create(&p).await;
    let mut changed = p.clone();
    changed["active"] = json!(true);
    let url = format!("Patient?identifier={SYS}|tx-cond-in&gender:in=http://hl7.org/fhir/ValueSet/administrative-gender");
    let b = bundle("transaction", vec![json!({"resource": changed, "request": {"method": "PUT", "url": url}})]);
    let entries = run(&s, &b).await;
    assert_eq!(location_id(&entries[0]), ("Patient".to_owned(), id));
    assert_eq!(status_of(&entries[0]), 200);
}
