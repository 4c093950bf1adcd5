//! Patient merge and unmerge: `Patient/$merge` (links, moved references, Provenance, preview,
//! `result-patient`, identifiers), `Patient/$unmerge` (exact restoration, refusal when something
//! changed since, no double undo), the HL7 A40 entry point (idempotent), and every refusal
//! writing nothing.

use crate::check::{first_difference, strip_server_fields, Server};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use weave_ingest::map::{Identifier, MergeInstruction};
use weave_server::merge::{apply_hl7_merge, LIFECYCLE};
use weave_server::ApiError;

const SYS: &str = "urn:weave-test:mrn";

/// A source and a target patient, the source's clinical record, and records that must not move.
struct Fixture {
    source: String,
    target: String,
    /// `Type/id` of every resource that references the source.
    moved: Vec<String>,
    /// `Type/id` of resources that must stay as they are (the target's own, an old Provenance).
    kept: Vec<String>,
}

fn patient(mrn: &str, family: &str) -> Value {
    json!({"resourceType": "Patient", "active": true, "identifier": [{"system": SYS, "value": mrn}],
           "name": [{"family": family}], "birthDate": "1950-02-03"})
}

fn subject(id: &str) -> Value {
    json!({"reference": format!("Patient/{id}")})
}

async fn fixture(s: &Server) -> Fixture {
    let (source, _) = s.create(&patient("src-1", "Smyth")).await;
    let (target, _) = s.create(&patient("tgt-1", "Smith")).await;
    let mut moved = Vec::new();
    for i in 0..2 {
        let (e, _) = s
            .create(&json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "IMP"},
                            "subject": subject(&source), "period": {"start": format!("2025-0{}-01", i + 1)}}))
            .await;
        moved.push(format!("Encounter/{e}"));
    }
    let (o, _) = s
        .create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
                        "subject": subject(&source), "performer": [subject(&source)],
                        "extension": [{"url": "http://example.org/x", "valueReference": subject(&source)}]}))
        .await;
    moved.push(format!("Observation/{o}"));
    let (eoc, _) = s
        .create(&json!({"resourceType": "EpisodeOfCare", "status": "active", "patient": subject(&source)}))
        .await;
    moved.push(format!("EpisodeOfCare/{eoc}"));
    let (own, _) = s
        .create(&json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "subject": subject(&target)}))
        .await;
    let (prov, _) = s
        .create(&json!({"resourceType": "Provenance", "recorded": "2025-01-01T00:00:00Z",
                        "target": [subject(&source)], "agent": [{"who": {"display": "old feed"}}]}))
        .await;
    Fixture { source, target, moved, kept: vec![format!("Encounter/{own}"), format!("Provenance/{prov}")] }
}

fn params(list: Vec<Value>) -> Value {
    json!({"resourceType": "Parameters", "parameter": list})
}

/// `parameters` with one more parameter.
fn with(mut parameters: Value, p: Value) -> Value {
    if let Some(list) = parameters["parameter"].as_array_mut() {
        list.push(p);
    }
    parameters
}

fn reference(name: &str, r: &str) -> Value {
    json!({"name": name, "valueReference": {"reference": r}})
}

fn pair(source: &str, target: &str) -> Value {
    params(vec![reference("source-patient", &format!("Patient/{source}")), reference("target-patient", &format!("Patient/{target}"))])
}

/// The first output parameter called `name`.
fn out<'a>(parameters: &'a Value, name: &str) -> &'a Value {
    parameters["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no output parameter '{name}' in {parameters}"))
}

async fn read(s: &Server, r: &str) -> Value {
    s.get(&format!("/{r}")).send().await.expect(StatusCode::OK).json()
}

async fn merge(s: &Server, body: &Value) -> Value {
    s.post("/Patient/$merge").json(body).send().await.expect(StatusCode::OK).json()
}

/// The id of the Provenance a `$merge`/`$unmerge` answer names.
fn provenance_id(answer: &Value) -> String {
    let r = out(answer, "provenance")["valueReference"]["reference"].as_str().unwrap_or_default();
    r.strip_prefix("Provenance/").unwrap_or_else(|| panic!("not a Provenance reference: {r}")).to_owned()
}

/// `Type/id` of the matches of a search.
async fn search(s: &Server, query: &str) -> BTreeSet<String> {
    let b = s.get(query).send().await.expect(StatusCode::OK).json();
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{}/{}", e["resource"]["resourceType"].as_str().unwrap_or(""), e["resource"]["id"].as_str().unwrap_or("")))
        .collect()
}

fn references(list: &Value, key: Option<&str>) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|x| key.map_or(x, |k| &x[k]))
        .filter_map(|r| r["reference"].as_str().map(str::to_owned))
        .collect()
}

/// Every resource of the fixture, read now.
async fn read_all(s: &Server, f: &Fixture) -> Vec<(String, Value)> {
    let mut all = vec![format!("Patient/{}", f.source), format!("Patient/{}", f.target)];
    all.extend(f.moved.iter().chain(&f.kept).cloned());
    let mut out = Vec::new();
    for r in all {
        let v = read(s, &r).await;
        out.push((r, v));
    }
    out
}

#[tokio::test]
async fn merge_retires_the_source_moves_its_records_and_records_every_version() {
    let s = Server::new();
    let f = fixture(&s).await;
    let body = pair(&f.source, &f.target);
    let answer = merge(&s, &body).await;
    assert_eq!(out(&answer, "input")["resource"], body);
    let outcome = &out(&answer, "outcome")["resource"];
    assert_eq!(outcome["issue"][0]["severity"], "information", "{outcome}");
    let result = &out(&answer, "result")["resource"];
    assert_eq!(result["id"], f.target.as_str());
    assert_eq!(result["link"], json!([{"other": subject(&f.source), "type": "replaces"}]));

    let source = read(&s, &format!("Patient/{}", f.source)).await;
    assert_eq!(source["active"], false);
    assert_eq!(source["link"], json!([{"other": subject(&f.target), "type": "replaced-by"}]));
    let target = read(&s, &format!("Patient/{}", f.target)).await;
    assert_eq!(target["link"], json!([{"other": subject(&f.source), "type": "replaces"}]));
    assert_eq!(strip_server_fields(&target), strip_server_fields(result));

    let encounters: BTreeSet<String> = f.moved.iter().filter(|r| r.starts_with("Encounter/")).cloned().chain([f.kept[0].clone()]).collect();
    assert_eq!(search(&s, &format!("/Encounter?patient={}", f.target)).await, encounters);
    assert!(search(&s, &format!("/Encounter?patient={}", f.source)).await.is_empty());
    let obs = read(&s, &f.moved[2]).await;
    for r in [&obs["subject"], &obs["performer"][0], &obs["extension"][0]["valueReference"]] {
        assert_eq!(r["reference"], format!("Patient/{}", f.target), "{obs}");
    }
    assert_eq!(read(&s, &f.moved[3]).await["patient"]["reference"], format!("Patient/{}", f.target));
    for kept in &f.kept {
        assert_eq!(read(&s, kept).await["meta"]["versionId"], "1", "{kept} must not be rewritten");
    }

    let prov = read(&s, &format!("Provenance/{}", provenance_id(&answer))).await;
    assert_eq!(prov["activity"]["coding"][0]["system"], LIFECYCLE);
    assert_eq!(prov["activity"]["coding"][0]["code"], "merge");
    assert_eq!(prov["agent"][0]["who"]["display"], "Weave API");
    let mut written: Vec<String> = vec![format!("Patient/{}", f.source), format!("Patient/{}", f.target)];
    written.extend(f.moved.iter().cloned());
    let versions = |n: u32| written.iter().map(|r| format!("{r}/_history/{n}")).collect::<BTreeSet<_>>();
    assert_eq!(references(&prov["target"], None), versions(2));
    assert_eq!(references(&prov["entity"], Some("what")), versions(1));
    assert!(prov["entity"].as_array().is_some_and(|e| e.iter().all(|x| x["role"] == "revision")));
}

#[tokio::test]
async fn preview_reports_the_merge_and_writes_nothing() {
    let s = Server::new();
    let f = fixture(&s).await;
    let before = s.snapshot();
    let body = with(pair(&f.source, &f.target), json!({"name": "preview", "valueBoolean": true}));
    let answer = merge(&s, &body).await;
    assert_eq!(s.snapshot(), before, "a preview writes nothing");
    let diag = out(&answer, "outcome")["resource"]["issue"][0]["diagnostics"].as_str().unwrap_or_default().to_owned();
    assert!(diag.contains("6 resources would be updated") && diag.contains(&f.moved[0]), "{diag}");
    assert!(answer["parameter"].as_array().is_some_and(|ps| ps.iter().all(|p| p["name"] != "provenance")));
    assert_eq!(out(&answer, "result")["resource"]["link"][0]["type"], "replaces");
    assert_eq!(read(&s, &format!("Patient/{}", f.source)).await["active"], true);
}

#[tokio::test]
async fn unmerge_restores_exactly_the_state_before_the_merge() {
    let s = Server::new();
    let f = fixture(&s).await;
    let before = read_all(&s, &f).await;
    let merged = merge(&s, &pair(&f.source, &f.target)).await;
    let merge_prov = provenance_id(&merged);
    let body = params(vec![reference("provenance", &format!("Provenance/{merge_prov}"))]);
    let answer = s.post("/Patient/$unmerge").json(&body).send().await.expect(StatusCode::OK).json();
    let after = read_all(&s, &f).await;
    for ((r, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(first_difference(&strip_server_fields(a), &strip_server_fields(b)), None, "{r} differs after unmerge");
    }
    assert_eq!(after[0].1["meta"]["versionId"], "3", "the restoration is a new version");
    assert_eq!(search(&s, &format!("/Encounter?patient={}", f.source)).await.len(), 2);

    let prov = read(&s, &format!("Provenance/{}", provenance_id(&answer))).await;
    assert_eq!(prov["activity"]["coding"][0]["code"], "unmerge");
    assert_eq!(prov["target"].as_array().map(Vec::len), Some(6));
    assert!(references(&prov["target"], None).iter().all(|r| r.ends_with("/_history/3")), "{prov}");
    assert!(references(&prov["entity"], Some("what")).contains(&format!("Provenance/{merge_prov}")));

    let again = s.snapshot();
    let msg = s.post("/Patient/$unmerge").json(&body).send().await.outcome(StatusCode::CONFLICT);
    assert!(msg.contains("already undone"), "{msg}");
    assert_eq!(s.snapshot(), again);
}

#[tokio::test]
async fn unmerge_by_pair_undoes_the_latest_merge_and_a_merge_can_be_redone() {
    let s = Server::new();
    let f = fixture(&s).await;
    merge(&s, &pair(&f.source, &f.target)).await;
    s.post("/Patient/$unmerge").json(&pair(&f.source, &f.target)).send().await.expect(StatusCode::OK);
    assert_eq!(read(&s, &format!("Patient/{}", f.source)).await["active"], true);
    let second = merge(&s, &pair(&f.source, &f.target)).await;
    s.post("/Patient/$unmerge").json(&pair(&f.source, &f.target)).send().await.expect(StatusCode::OK);
    let msg = s.post("/Patient/$unmerge").json(&pair(&f.source, &f.target)).send().await.outcome(StatusCode::CONFLICT);
    assert!(msg.contains(&provenance_id(&second)), "the latest merge is named: {msg}");
}

#[tokio::test]
async fn unmerge_is_refused_when_a_moved_resource_changed_since() {
    let s = Server::new();
    let f = fixture(&s).await;
    let merged = merge(&s, &pair(&f.source, &f.target)).await;
    let mut enc = read(&s, &f.moved[0]).await;
    enc["status"] = json!("cancelled");
    s.put(&format!("/{}", f.moved[0])).json(&enc).send().await.expect(StatusCode::OK);
    let before = s.snapshot();
    let body = params(vec![reference("provenance", &format!("Provenance/{}", provenance_id(&merged)))]);
    let msg = s.post("/Patient/$unmerge").json(&body).send().await.outcome(StatusCode::CONFLICT);
    assert!(msg.contains(&f.moved[0].to_lowercase()) && msg.contains("version 3"), "{msg}");
    assert_eq!(s.snapshot(), before, "a refused unmerge writes nothing");
    assert_eq!(read(&s, &format!("Patient/{}", f.source)).await["active"], false);
}

#[tokio::test]
async fn merge_by_identifiers_with_a_result_patient_and_its_unmerge() {
    let s = Server::new();
    let f = fixture(&s).await;
    let original_target = read(&s, &format!("Patient/{}", f.target)).await;
    let mut result = patient("tgt-1", "Smith-Smyth");
    result["link"] = json!([{"other": subject(&f.source), "type": "replaces"}]);
    let ident = |name: &str, v: &str| json!({"name": name, "valueIdentifier": {"system": SYS, "value": v}});
    let body = params(vec![
        ident("source-patient-identifier", "src-1"),
        ident("target-patient-identifier", "tgt-1"),
        json!({"name": "result-patient", "resource": result}),
    ]);
    let answer = merge(&s, &body).await;
    let target = read(&s, &format!("Patient/{}", f.target)).await;
    assert_eq!(target["name"][0]["family"], "Smith-Smyth");
    assert_eq!(read(&s, &f.moved[0]).await["subject"]["reference"], format!("Patient/{}", f.target));
    let body = params(vec![reference("provenance", &format!("Provenance/{}", provenance_id(&answer)))]);
    s.post("/Patient/$unmerge").json(&body).send().await.expect(StatusCode::OK);
    let restored = read(&s, &format!("Patient/{}", f.target)).await;
    assert_eq!(first_difference(&strip_server_fields(&original_target), &strip_server_fields(&restored)), None);
}

#[tokio::test]
async fn references_written_after_a_merge_are_moved_by_merging_again() {
    let s = Server::new();
    let f = fixture(&s).await;
    merge(&s, &pair(&f.source, &f.target)).await;
    let (late, _) = s.create(&json!({"resourceType": "Encounter", "status": "planned", "class": {"code": "AMB"}, "subject": subject(&f.source)})).await;
    let answer = merge(&s, &pair(&f.source, &f.target)).await;
    let prov = read(&s, &format!("Provenance/{}", provenance_id(&answer))).await;
    assert_eq!(references(&prov["target"], None), BTreeSet::from([format!("Encounter/{late}/_history/2")]));
    assert_eq!(read(&s, &format!("Patient/{}", f.source)).await["meta"]["versionId"], "2", "the patients are not rewritten");
}

fn instruction(retired: &str, surviving: &str) -> MergeInstruction {
    let id = |v: &str| Identifier { system: SYS.into(), value: v.into() };
    MergeInstruction { surviving: id(surviving), retired: id(retired) }
}

#[tokio::test]
async fn hl7_merges_are_idempotent() {
    let s = Server::new();
    let f = fixture(&s).await;
    let first = apply_hl7_merge(&s.state, &instruction("src-1", "tgt-1")).await.expect("the first A40 merges");
    assert_eq!((first.source_id.as_str(), first.target_id.as_str()), (f.source.as_str(), f.target.as_str()));
    assert!(!first.already_merged);
    assert_eq!(first.revisions.len(), 6);
    let prov = read(&s, &format!("Provenance/{}", first.provenance_id.clone().unwrap_or_default())).await;
    assert!(prov["agent"][0]["who"]["display"].as_str().is_some_and(|d| d.contains("HL7")));
    let before = s.snapshot();
    let again = apply_hl7_merge(&s.state, &instruction("src-1", "tgt-1")).await.expect("a resent A40 succeeds");
    assert!(again.already_merged && again.provenance_id.is_none() && again.revisions.is_empty(), "{again:?}");
    assert_eq!(s.snapshot(), before, "a resent A40 writes nothing");
    let missing = apply_hl7_merge(&s.state, &instruction("nobody", "tgt-1")).await;
    assert!(matches!(missing, Err(ApiError::NotFound(_))), "{missing:?}");
    assert_eq!(s.snapshot(), before);
}

/// Sends a `$merge` or `$unmerge` expected to be refused; checks nothing was written.
async fn refused(s: &Server, op: &str, body: &Value, status: StatusCode, want: &str) {
    let before = s.snapshot();
    let msg = s.post(&format!("/Patient/{op}")).json(body).send().await.outcome(status);
    assert!(msg.contains(want), "{op} {body}: '{msg}' should mention '{want}'");
    assert_eq!(s.snapshot(), before, "a refused {op} writes nothing");
}

#[tokio::test]
async fn merges_that_cannot_be_done_are_refused_and_write_nothing() {
    let s = Server::new();
    let f = fixture(&s).await;
    let (other, _) = s.create(&patient("oth-1", "Other")).await;
    let (retired, _) = s.create(&json!({"resourceType": "Patient", "active": false})).await;
    let (src, tgt) = (f.source.as_str(), f.target.as_str());
    let ident = |name: &str, v: &str| json!({"name": name, "valueIdentifier": {"system": SYS, "value": v}});
    let cases = [
        (json!({"resourceType": "Patient"}), StatusCode::BAD_REQUEST, "parameters"),
        (pair(src, src), StatusCode::BAD_REQUEST, "same patient"),
        (params(vec![ident("source-patient-identifier", "src-1"), ident("target-patient-identifier", "src-1")]), StatusCode::BAD_REQUEST, "same patient"),
        (pair("nobody", tgt), StatusCode::NOT_FOUND, "patient/nobody"),
        (pair(src, "nobody"), StatusCode::NOT_FOUND, "patient/nobody"),
        (params(vec![ident("source-patient-identifier", "none"), reference("target-patient", &format!("Patient/{tgt}"))]), StatusCode::NOT_FOUND, "identifier"),
        (pair(&retired, tgt), StatusCode::UNPROCESSABLE_ENTITY, "inactive"),
        (pair(src, &retired), StatusCode::UNPROCESSABLE_ENTITY, "inactive"),
        (params(vec![reference("source-patient", &format!("Patient/{src}")), reference("target-patient", &format!("Patient/{tgt}")), ident("target-patient-identifier", "oth-1")]), StatusCode::UNPROCESSABLE_ENTITY, "does not carry"),
    ];
    for (body, status, want) in &cases {
        refused(&s, "$merge", body, *status, want).await;
    }
    let with_result = with(pair(src, tgt), json!({"name": "result-patient", "resource": patient("tgt-1", "Smith")}));
    refused(&s, "$merge", &with_result, StatusCode::UNPROCESSABLE_ENTITY, "replaces").await;
    s.post("/Patient/$merge").body("{not json", "application/fhir+json").send().await.outcome(StatusCode::BAD_REQUEST);

    merge(&s, &pair(src, tgt)).await;
    refused(&s, "$merge", &pair(src, &other), StatusCode::CONFLICT, "already merged").await;
    refused(&s, "$merge", &pair(&other, src), StatusCode::UNPROCESSABLE_ENTITY, "was itself merged").await;
}

#[tokio::test]
async fn unmerges_that_cannot_be_done_are_refused_and_write_nothing() {
    let s = Server::new();
    let f = fixture(&s).await;
    let prov = |id: &str| params(vec![reference("provenance", &format!("Provenance/{id}"))]);
    let (_, old) = f.kept[1].split_once('/').unwrap_or_default();
    refused(&s, "$unmerge", &prov(old), StatusCode::UNPROCESSABLE_ENTITY, "does not record a merge").await;
    refused(&s, "$unmerge", &prov("nothing"), StatusCode::NOT_FOUND, "provenance/nothing").await;
    refused(&s, "$unmerge", &pair(&f.source, &f.target), StatusCode::NOT_FOUND, "no merge").await;
    refused(&s, "$unmerge", &json!({"resourceType": "Parameters"}), StatusCode::BAD_REQUEST, "provenance").await;
    refused(&s, "$unmerge", &json!({"resourceType": "Provenance"}), StatusCode::BAD_REQUEST, "parameters").await;
}
