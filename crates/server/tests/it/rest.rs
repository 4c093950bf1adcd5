//! REST semantics of the instance, type and system interactions: read, vread, update (and
//! update-as-create), delete, history with `_since` / `_at` / paging, `If-Match`,
//! `If-None-Match`, conditional create/update/delete, PATCH with `If-Match`, `Prefer: return=`,
//! the `ETag` / `Last-Modified` / `Location` headers, `_pretty`, `_summary`, `_elements` and the
//! CapabilityStatement.

use crate::check::{etag_version, Server, BASE};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

const SYS: &str = "urn:weave-test:ids";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn patient(family: &str) -> Value {
    json!({"resourceType": "Patient", "name": [{"family": family}], "gender": "female"})
}

fn patient_with_id(id: &str, family: &str) -> Value {
    let mut p = patient(family);
    p["id"] = json!(id);
    p
}

fn with_identifier(mut r: Value, value: &str) -> Value {
    r["identifier"] = json!([{"system": SYS, "value": value}]);
    r
}

/// A FHIR instant (JSON string) as microseconds.
#[track_caller]
fn micros(v: &Value) -> i64 {
    v.as_str().and_then(weave_store::parse_instant).unwrap_or_else(|| panic!("{v} is not an instant"))
}

#[track_caller]
fn assert_http_date(v: Option<&str>) {
    let v = v.expect("a Last-Modified header");
    assert!(v.ends_with(" GMT") && v.len() == 29, "Last-Modified {v:?} is not an RFC 7231 date");
}

#[tokio::test]
async fn create_read_vread_update_and_headers() {
    let s = Server::new();
    let resp = s.post("/Patient").json(&patient("Ames")).send().await.expect(StatusCode::CREATED);
    let created = resp.json();
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(resp.header("location"), Some(format!("{BASE}/Patient/{id}/_history/1").as_str()));
    assert_eq!(resp.header("etag"), Some("W/\"1\""));
    assert_http_date(resp.header("last-modified"));
    assert_eq!(created["meta"]["versionId"], "1");
    assert!(created["meta"]["lastUpdated"].as_str().is_some_and(|t| t.ends_with('Z')));

    let read = s.get(&format!("/Patient/{id}")).send().await.expect(StatusCode::OK);
    assert!(read.header("content-type").is_some_and(|c| c.starts_with("application/fhir+json")));
    assert_eq!(read.version(), 1);
    assert_http_date(read.header("last-modified"));
    assert_eq!(read.json(), created);

    let mut changed = created.clone();
    changed["name"][0]["family"] = json!("Bell");
    let upd = s.put(&format!("/Patient/{id}")).json(&changed).send().await.expect(StatusCode::OK);
    assert_eq!(upd.version(), 2);
    assert_eq!(upd.header("location"), Some(format!("{BASE}/Patient/{id}/_history/2").as_str()));
    assert_eq!(upd.json()["meta"]["versionId"], "2");

    let v1 = s.get(&format!("/Patient/{id}/_history/1")).send().await.expect(StatusCode::OK);
    assert_eq!(v1.json()["name"][0]["family"], "Ames");
    assert_eq!(v1.version(), 1);
    let v2 = s.get(&format!("/Patient/{id}/_history/2")).send().await.expect(StatusCode::OK);
    assert_eq!(v2.json()["name"][0]["family"], "Bell");
    s.get(&format!("/Patient/{id}/_history/3")).send().await.outcome(StatusCode::NOT_FOUND);
    s.get("/Patient/no-such-patient").send().await.outcome(StatusCode::NOT_FOUND);
    assert_eq!(s.get(&format!("/Patient/{id}")).send().await.json()["name"][0]["family"], "Bell");
}

#[tokio::test]
async fn update_as_create_with_a_client_id() {
    let s = Server::new();
    let resp = s.put("/Patient/client-1").json(&patient_with_id("client-1", "Cole")).send().await;
    let resp = resp.expect(StatusCode::CREATED);
    assert_eq!(resp.version(), 1);
    assert_eq!(resp.header("location"), Some(format!("{BASE}/Patient/client-1/_history/1").as_str()));
    assert_eq!(resp.json()["id"], "client-1");
    let read = s.get("/Patient/client-1").send().await.expect(StatusCode::OK);
    assert_eq!(read.json()["name"][0]["family"], "Cole");
    let again = s.put("/Patient/client-1").json(&patient_with_id("client-1", "Cole")).send().await;
    assert_eq!(again.expect(StatusCode::OK).version(), 2);
}

#[tokio::test]
async fn delete_makes_reads_gone_and_keeps_history() {
    let s = Server::new();
    let (id, _) = s.create(&patient("Dunn")).await;
    let del = s.delete(&format!("/Patient/{id}")).send().await;
    assert!(matches!(del.status.as_u16(), 200 | 204), "delete answered {}", del.status);
    s.get(&format!("/Patient/{id}")).send().await.outcome(StatusCode::GONE);
    // The tombstone is version 2: its vread is gone too, version 1 is still readable.
    s.get(&format!("/Patient/{id}/_history/2")).send().await.outcome(StatusCode::GONE);
    s.get(&format!("/Patient/{id}/_history/1")).send().await.expect(StatusCode::OK);
    let h = s.get(&format!("/Patient/{id}/_history")).send().await.expect(StatusCode::OK).json();
    assert_eq!(h["total"], 2);
    assert_eq!(h["entry"][0]["request"]["method"], "DELETE");
    assert!(h["entry"][0].get("resource").is_none(), "a deletion has no resource");
    assert_eq!(h["entry"][1]["request"]["method"], "POST");
    // Deleting again changes nothing; a PUT brings it back as a new version.
    let before = s.snapshot();
    let again = s.delete(&format!("/Patient/{id}")).send().await;
    assert!(matches!(again.status.as_u16(), 200 | 204), "second delete answered {}", again.status);
    assert_eq!(s.snapshot(), before, "a second delete wrote something");
    let back = s.put(&format!("/Patient/{id}")).json(&patient_with_id(&id, "Dunn")).send().await;
    assert_eq!(back.expect(StatusCode::CREATED).version(), 3);
    s.delete("/Patient/never-existed").send().await;
    s.get("/Patient/never-existed").send().await.outcome(StatusCode::NOT_FOUND);
}

/// (type, id, version) of every entry of a history Bundle.
fn history_keys(bundle: &Value) -> Vec<(String, String, u64)> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let url = e["fullUrl"].as_str().unwrap_or_default();
            let mut parts = url.rsplit('/');
            let id = parts.next().unwrap_or_default().to_owned();
            let t = parts.next().unwrap_or_default().to_owned();
            let v = e["response"]["etag"].as_str().and_then(etag_version).unwrap_or(0);
            (t, id, v)
        })
        .collect()
}

#[tokio::test]
async fn history_at_instance_type_and_system_level_with_since_and_at() {
    let s = Server::new();
    let (p1, c1) = s.create(&patient("Eve")).await;
    let (p2, _) = s.create(&patient("Fay")).await;
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"}});
    let (o1, _) = s.create(&obs).await;
    let mut p1v2 = c1.clone();
    p1v2["gender"] = json!("male");
    let u = s.put(&format!("/Patient/{p1}")).json(&p1v2).send().await.expect(StatusCode::OK).json();
    let t2 = u["meta"]["lastUpdated"].as_str().expect("lastUpdated").to_owned();
    let mut p1v3 = u.clone();
    p1v3["gender"] = json!("other");
    s.put(&format!("/Patient/{p1}")).json(&p1v3).send().await.expect(StatusCode::OK);

    let inst = s.get(&format!("/Patient/{p1}/_history")).send().await.expect(StatusCode::OK).json();
    assert_eq!(inst["type"], "history");
    let versions: Vec<u64> = history_keys(&inst).iter().map(|k| k.2).collect();
    assert_eq!(versions, vec![3, 2, 1], "instance history, newest first");
    assert_eq!(inst["total"], 3);

    let ty = s.get("/Patient/_history").send().await.expect(StatusCode::OK).json();
    let keys = history_keys(&ty);
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| k.0 == "Patient"));
    assert!(keys.contains(&("Patient".into(), p2.clone(), 1)));

    let sys = s.get("/_history").send().await.expect(StatusCode::OK).json();
    let keys = history_keys(&sys);
    assert_eq!(keys.len(), 5);
    assert!(keys.contains(&("Observation".into(), o1, 1)));

    // _since is inclusive: versions 2 and 3 of p1.
    let since = s.get(&format!("/_history?_since={}", enc(&t2))).send().await.expect(StatusCode::OK).json();
    let keys = history_keys(&since);
    assert_eq!(keys, vec![("Patient".into(), p1.clone(), 3), ("Patient".into(), p1.clone(), 2)]);

    // _at an instant: the version current at that instant. Between versions 1 and 2 that is
    // version 1; at version 2's own lastUpdated it is version 2 alone (version 1 ended then).
    let at = |when: String| {
        let url = format!("/Patient/{p1}/_history?_at={}", enc(&when));
        let s = &s;
        async move {
            let b = s.get(&url).send().await.expect(StatusCode::OK).json();
            history_keys(&b).iter().map(|k| k.2).collect::<Vec<u64>>()
        }
    };
    let (m1, m2) = (micros(&c1["meta"]["lastUpdated"]), micros(&u["meta"]["lastUpdated"]));
    assert!(m2 - m1 >= 2, "versions 1 and 2 have distinct times");
    assert_eq!(at(weave_store::format_instant(m1 + (m2 - m1) / 2)).await, vec![1], "_at between v1 and v2");
    assert_eq!(at(t2.clone()).await, vec![2], "_at={t2}, the instant version 2 was written");
    s.get("/_history?_since=yesterday").send().await.outcome(StatusCode::BAD_REQUEST);
    s.get("/Patient/nobody/_history").send().await.outcome(StatusCode::NOT_FOUND);
}

/// Follows `next` links from `first`, returning every entry key and the number of pages.
async fn follow_pages(s: &Server, first: &str) -> (Vec<(String, String, u64)>, usize, Vec<u64>) {
    let mut url = first.to_owned();
    let (mut keys, mut pages, mut totals) = (Vec::new(), 0, Vec::new());
    for _ in 0..100 {
        let b = s.get(&url).send().await.expect(StatusCode::OK).json();
        pages += 1;
        keys.extend(history_keys(&b));
        totals.push(b["total"].as_u64().unwrap_or(0));
        if pages == 1 {
            // A write while paging must not shift the pages.
            s.create(&patient("Late")).await;
        }
        let next = b["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next");
        match next.and_then(|l| l["url"].as_str()) {
            Some(n) => url = n.strip_prefix(BASE).unwrap_or(n).to_owned(),
            None => return (keys, pages, totals),
        }
    }
    panic!("more than 100 pages");
}

#[tokio::test]
async fn history_paging_follows_next_links_without_duplicates_or_skips() {
    let s = Server::new();
    let mut written = HashSet::new();
    for i in 0..9 {
        let (id, body) = s.create(&patient(&format!("P{i}"))).await;
        written.insert(("Patient".to_owned(), id.clone(), 1));
        if i % 3 == 0 {
            let mut b = body.clone();
            b["gender"] = json!("male");
            s.put(&format!("/Patient/{id}")).json(&b).send().await.expect(StatusCode::OK);
            written.insert(("Patient".to_owned(), id, 2));
        }
    }
    assert_eq!(written.len(), 12);
    let (keys, pages, totals) = follow_pages(&s, "/Patient/_history?_count=5").await;
    assert_eq!(pages, 3, "12 versions in pages of 5");
    let unique: HashSet<_> = keys.iter().cloned().collect();
    assert_eq!(unique.len(), keys.len(), "duplicates across pages: {keys:?}");
    assert_eq!(unique, written, "the pages must list exactly the versions written before paging began");
    assert!(totals.iter().all(|t| *t == 12), "total changed while paging: {totals:?}");
    let (sys_keys, _, _) = follow_pages(&s, "/_history?_count=2").await;
    assert_eq!(sys_keys.len(), 13, "system history counts the write made while the first walk paged");
}

#[tokio::test]
async fn if_match_and_if_none_match() {
    let s = Server::new();
    let (id, body) = s.create(&patient("Gale")).await;
    let url = format!("/Patient/{id}");
    s.put(&url).header("if-match", "W/\"1\"").json(&body).send().await.expect(StatusCode::OK);
    let before = s.snapshot();
    let stale = s.put(&url).header("if-match", "W/\"1\"").json(&body).send().await;
    assert!(stale.outcome(StatusCode::PRECONDITION_FAILED).contains("version"));
    s.delete(&url).header("if-match", "W/\"7\"").send().await.outcome(StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.snapshot(), before, "a failed If-Match wrote something");
    s.get(&url).send().await.expect(StatusCode::OK);

    let not_modified = s.get(&url).header("if-none-match", "W/\"2\"").send().await;
    let not_modified = not_modified.expect(StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.version(), 2);
    s.get(&url).header("if-none-match", "W/\"1\"").send().await.expect(StatusCode::OK);
    s.delete(&url).header("if-match", "W/\"2\"").send().await;
    s.get(&url).send().await.outcome(StatusCode::GONE);
}

#[tokio::test]
async fn conditional_create_with_if_none_exist() {
    let s = Server::new();
    let cond = format!("identifier={}", enc(&format!("{SYS}|cc-1")));
    let r = with_identifier(patient("Hart"), "cc-1");
    let first = s.post("/Patient").header("if-none-exist", &cond).json(&r).send().await.expect(StatusCode::CREATED);
    let id = first.json()["id"].as_str().expect("id").to_owned();

    let before = s.snapshot();
    let second = s.post("/Patient").header("if-none-exist", &cond).json(&r).send().await.expect(StatusCode::OK);
    assert_eq!(second.json()["id"], id.as_str(), "the existing resource is returned");
    assert_eq!(second.version(), 1);
    assert_eq!(s.snapshot(), before, "a matching conditional create wrote something");

    s.post("/Patient").json(&r).send().await.expect(StatusCode::CREATED);
    let before = s.snapshot();
    let third = s.post("/Patient").header("if-none-exist", &cond).json(&r).send().await;
    third.outcome(StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.snapshot(), before);
    assert_eq!(s.count("Patient").await, 2);
}

#[tokio::test]
async fn conditional_update_and_conditional_delete() {
    let s = Server::new();
    let url = format!("/Patient?identifier={}", enc(&format!("{SYS}|cu-1")));
    let r = with_identifier(patient("Ives"), "cu-1");
    let created = s.put(&url).json(&r).send().await.expect(StatusCode::CREATED);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let updated = s.put(&url).json(&r).send().await.expect(StatusCode::OK);
    assert_eq!(updated.json()["id"], id.as_str());
    assert_eq!(updated.version(), 2);

    // Two matches: 412 for update and delete, nothing written.
    s.create(&r).await;
    let before = s.snapshot();
    s.put(&url).json(&r).send().await.outcome(StatusCode::PRECONDITION_FAILED);
    s.delete(&url).send().await.outcome(StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.snapshot(), before);

    let one = format!("/Patient?identifier={}", enc(&format!("{SYS}|cd-1")));
    let (victim, _) = s.create(&with_identifier(patient("Jude"), "cd-1")).await;
    let del = s.delete(&one).send().await;
    assert!(matches!(del.status.as_u16(), 200 | 204), "conditional delete answered {}", del.status);
    s.get(&format!("/Patient/{victim}")).send().await.outcome(StatusCode::GONE);
    let before = s.snapshot();
    let none = s.delete(&one).send().await;
    assert!(matches!(none.status.as_u16(), 200 | 204), "delete of no match answered {}", none.status);
    assert_eq!(s.snapshot(), before);
}

#[tokio::test]
async fn json_patch_with_if_match() {
    let s = Server::new();
    let (id, _) = s.create(&patient("Kemp")).await;
    let url = format!("/Patient/{id}");
    let ops = json!([{"op": "replace", "path": "/gender", "value": "male"}]);
    let body = serde_json::to_vec(&ops).expect("json");
    let ok = s.patch(&url).header("if-match", "W/\"1\"").body(body.clone(), "application/json-patch+json").send().await;
    let ok = ok.expect(StatusCode::OK);
    assert_eq!(ok.version(), 2);
    assert_eq!(ok.json()["gender"], "male");
    assert_eq!(ok.json()["name"][0]["family"], "Kemp");

    let before = s.snapshot();
    let stale = s.patch(&url).header("if-match", "W/\"1\"").body(body.clone(), "application/json-patch+json").send().await;
    stale.outcome(StatusCode::PRECONDITION_FAILED);
    let bad_id = serde_json::to_vec(&json!([{"op": "replace", "path": "/id", "value": "other"}])).expect("json");
    s.patch(&url).body(bad_id, "application/json-patch+json").send().await.outcome(StatusCode::UNPROCESSABLE_ENTITY);
    let invalid = serde_json::to_vec(&json!([{"op": "add", "path": "/colour", "value": "red"}])).expect("json");
    s.patch(&url).body(invalid, "application/json-patch+json").send().await.outcome(StatusCode::UNPROCESSABLE_ENTITY);
    let failing_test = serde_json::to_vec(&json!([{"op": "test", "path": "/gender", "value": "female"}])).expect("json");
    s.patch(&url).body(failing_test, "application/json-patch+json").send().await.outcome(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.snapshot(), before, "a failed PATCH wrote something");
    s.patch("/Patient/nobody").body(body, "application/json-patch+json").send().await.outcome(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn prefer_return_minimal_representation_and_outcome() {
    let s = Server::new();
    let minimal = s.post("/Patient").header("prefer", "return=minimal").json(&patient("Lee")).send().await;
    let minimal = minimal.expect(StatusCode::CREATED);
    assert!(minimal.body.is_empty(), "return=minimal sent a body: {}", minimal.text());
    let loc = minimal.header("location").expect("Location").to_owned();
    assert_eq!(minimal.version(), 1);
    let id = loc.trim_start_matches(&format!("{BASE}/Patient/")).split('/').next().expect("id").to_owned();

    let repr = s.post("/Patient").header("prefer", "return=representation").json(&patient("Lee")).send().await;
    assert_eq!(repr.expect(StatusCode::CREATED).json()["resourceType"], "Patient");

    let oo = s.post("/Patient").header("prefer", "return=OperationOutcome").json(&patient("Lee")).send().await;
    let oo = oo.expect(StatusCode::CREATED).json();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["severity"], "information");

    let put = s.put(&format!("/Patient/{id}")).header("prefer", "return=minimal").json(&patient_with_id(&id, "Lee")).send().await;
    let put = put.expect(StatusCode::OK);
    assert!(put.body.is_empty());
    assert_eq!(put.version(), 2);
    let put = s.put(&format!("/Patient/{id}")).header("prefer", "return=OperationOutcome").json(&patient_with_id(&id, "Lee")).send().await;
    assert_eq!(put.expect(StatusCode::OK).json()["resourceType"], "OperationOutcome");
}

#[tokio::test]
async fn pretty_printing() {
    let s = Server::new();
    let (id, _) = s.create(&patient("Moss")).await;
    let plain = s.get(&format!("/Patient/{id}")).send().await.expect(StatusCode::OK);
    let pretty = s.get(&format!("/Patient/{id}?_pretty=true")).send().await.expect(StatusCode::OK);
    assert!(!plain.text().contains('\n'));
    assert!(pretty.text().contains("\n  \""), "not pretty: {}", pretty.text());
    assert_eq!(plain.json(), pretty.json());
    let bundle = s.get("/Patient?_pretty=true").send().await.expect(StatusCode::OK);
    assert!(bundle.text().contains('\n'));
}

fn is_subsetted(r: &Value) -> bool {
    r["meta"]["tag"].as_array().is_some_and(|t| t.iter().any(|t| t["code"] == "SUBSETTED"))
}

#[tokio::test]
async fn summary_and_elements() {
    let s = Server::new();
    let full = json!({
        "resourceType": "Patient",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Nia Ode</div>"},
        "identifier": [{"system": SYS, "value": "se-1"}],
        "name": [{"family": "Ode", "given": ["Nia"]}],
        "gender": "female",
        "birthDate": "1980-02-03",
        "maritalStatus": {"text": "married"},
        "contact": [{"name": {"family": "Ode"}}]
    });
    let (id, _) = s.create(&full).await;
    let get = |q: &'static str| {
        let url = format!("/Patient/{id}?{q}");
        let s = &s;
        async move { s.get(&url).send().await.expect(StatusCode::OK).json() }
    };
    let summary = get("_summary=true").await;
    assert!(is_subsetted(&summary));
    for k in ["identifier", "name", "gender", "birthDate"] {
        assert!(summary.get(k).is_some(), "_summary=true dropped {k}: {summary}");
    }
    for k in ["text", "maritalStatus", "contact"] {
        assert!(summary.get(k).is_none(), "_summary=true kept {k}: {summary}");
    }
    let text = get("_summary=text").await;
    assert!(text.get("text").is_some() && text.get("name").is_none() && text.get("gender").is_none(), "{text}");
    let data = get("_summary=data").await;
    assert!(data.get("text").is_none() && data.get("contact").is_some() && data.get("maritalStatus").is_some());
    assert!(is_subsetted(&data));
    let elements = get("_elements=name,gender").await;
    assert!(elements.get("name").is_some() && elements.get("gender").is_some());
    assert!(elements.get("birthDate").is_none() && elements.get("identifier").is_none() && elements.get("text").is_none());
    assert_eq!(elements["id"], id.as_str());
    assert!(is_subsetted(&elements));
    let unshaped = get("_summary=false").await;
    assert!(!is_subsetted(&unshaped) && unshaped.get("contact").is_some());
    s.get(&format!("/Patient/{id}?_summary=maybe")).send().await.outcome(StatusCode::BAD_REQUEST);
    // In a search, the matches are shaped too.
    let found = s.get("/Patient?_elements=gender").send().await.expect(StatusCode::OK).json();
    let r = &found["entry"][0]["resource"];
    assert!(r.get("gender").is_some() && r.get("name").is_none(), "{r}");
}

#[tokio::test]
async fn metadata_is_a_capability_statement() {
    let s = Server::new();
    let cs = s.get("/metadata").send().await.expect(StatusCode::OK).json();
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["kind"], "instance");
    let rest = &cs["rest"][0];
    assert_eq!(rest["mode"], "server");
    let system: Vec<&str> = rest["interaction"].as_array().into_iter().flatten().filter_map(|i| i["code"].as_str()).collect();
    for c in ["transaction", "batch", "history-system"] {
        assert!(system.contains(&c), "system interaction {c} missing");
    }
    let resources = rest["resource"].as_array().expect("rest.resource");
    let types: HashSet<&str> = resources.iter().filter_map(|r| r["type"].as_str()).collect();
    let model = weave_fhir::r4();
    let r4_types = model.value_set("http://hl7.org/fhir/ValueSet/resource-types").expect("resource-types");
    for c in &r4_types.codes {
        if model.is_resource_type(&c.code) {
            assert!(types.contains(c.code.as_str()), "resource type {} is not listed", c.code);
        }
    }
    assert!(types.iter().all(|t| model.is_resource_type(t)), "a listed type is not a resource type");
    let patient = resources.iter().find(|r| r["type"] == "Patient").expect("Patient");
    let codes: Vec<&str> = patient["interaction"].as_array().into_iter().flatten().filter_map(|i| i["code"].as_str()).collect();
    for c in ["read", "vread", "update", "patch", "delete", "create", "history-instance", "history-type", "search-type"] {
        assert!(codes.contains(&c), "Patient interaction {c} missing: {codes:?}");
    }
    let params: Vec<&str> = patient["searchParam"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
    for p in ["_id", "_lastUpdated", "identifier", "name", "birthdate"] {
        assert!(params.contains(&p), "Patient search param {p} missing");
    }
    // The statement is itself valid FHIR.
    let issues = weave_fhir::validate::validate_resource(weave_fhir::r4(), &cs);
    assert!(issues.iter().all(|i| !i.is_error()), "invalid CapabilityStatement: {issues:?}");
}

/// Runs `n` copies of a request concurrently; returns the statuses.
async fn concurrently<F, Fut>(s: &Arc<Server>, n: usize, f: F) -> Vec<u16>
where
    F: Fn(Arc<Server>) -> Fut,
    Fut: std::future::Future<Output = u16> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        tasks.spawn(f(Arc::clone(s)));
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.expect("task"));
    }
    out.sort_unstable();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_respect_if_match_and_if_none_exist() {
    let s = Arc::new(Server::new());
    let (id, body) = s.create(&patient("Race")).await;
    let statuses = concurrently(&s, 12, |s| {
        let (url, body) = (format!("/Patient/{id}"), body.clone());
        async move { s.put(&url).header("if-match", "W/\"1\"").json(&body).send().await.status.as_u16() }
    })
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "exactly one If-Match winner: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 200 | 412)), "{statuses:?}");
    assert_eq!(s.get(&format!("/Patient/{id}")).send().await.version(), 2);

    let cond = format!("identifier={}", enc(&format!("{SYS}|race")));
    let statuses = concurrently(&s, 12, |s| {
        let (cond, r) = (cond.clone(), with_identifier(patient("Race"), "race"));
        async move { s.post("/Patient").header("if-none-exist", &cond).json(&r).send().await.status.as_u16() }
    })
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "exactly one conditional create: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 200 | 201)), "{statuses:?}");
    assert_eq!(s.count("Patient").await, 2);
}
