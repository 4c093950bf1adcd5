//! Bad input: every malformed or unacceptable request is answered with the right 4xx status and
//! an `OperationOutcome` whose diagnostic says what is wrong, and writes nothing (the change-feed
//! position and the live counts are unchanged). A sweep of odd requests checks that nothing
//! produces a 5xx or a panic.

use crate::check::{Resp, Server};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use weave_server::ServerConfig;

const SYS: &str = "urn:weave-test:bad";

fn patient() -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": SYS, "value": "p"}], "name": [{"family": "Okafor"}]})
}

/// A Patient with one element replaced.
fn patient_with(key: &str, value: Value) -> Value {
    let mut p = patient();
    p[key] = value;
    p
}

/// A server holding one Patient, for "nothing changed" checks.
async fn seeded() -> (Server, String) {
    let s = Server::new();
    let (id, _) = s.create(&patient()).await;
    (s, id)
}

/// Sends, expects `status` with an error OperationOutcome mentioning every word of `mentions`,
/// and checks that nothing was written.
async fn rejects(s: &Server, call: crate::check::Call<'_>, status: StatusCode, mentions: &[&str]) -> Resp {
    let before = s.snapshot();
    let resp = call.send().await;
    let copy = resp.clone();
    let diag = resp.outcome(status);
    for m in mentions {
        assert!(diag.contains(&m.to_lowercase()), "the diagnostic should mention {m:?}: {diag}");
    }
    assert_eq!(s.snapshot(), before, "a rejected request wrote something");
    copy
}

#[tokio::test]
async fn malformed_json_is_400_with_the_position() {
    let (s, id) = seeded().await;
    let call = s.post("/Patient").body("{\"resourceType\": \"Patient\",", "application/fhir+json");
    rejects(&s, call, StatusCode::BAD_REQUEST, &["json", "line 1"]).await;
    let call = s.put(&format!("/Patient/{id}")).body("{\"resourceType\": \"Patient\" \"id\": 1}", "application/fhir+json");
    rejects(&s, call, StatusCode::BAD_REQUEST, &["json"]).await;
    rejects(&s, s.post("/Patient").body("", "application/fhir+json"), StatusCode::BAD_REQUEST, &["empty"]).await;
    rejects(&s, s.post("/Patient").body("[1, 2]", "application/fhir+json"), StatusCode::BAD_REQUEST, &["resourcetype"]).await;
    rejects(&s, s.post("/Patient").body(vec![0xff, 0xfe, b'{'], "application/fhir+json"), StatusCode::BAD_REQUEST, &["json"]).await;
    rejects(&s, s.post("/").body("{", "application/fhir+json"), StatusCode::BAD_REQUEST, &["json"]).await;
}

#[tokio::test]
async fn xml_bodies_are_415_and_xml_only_accept_is_406() {
    let (s, id) = seeded().await;
    let xml = "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>";
    rejects(&s, s.post("/Patient").body(xml, "application/fhir+xml"), StatusCode::UNSUPPORTED_MEDIA_TYPE, &["json"]).await;
    rejects(&s, s.post("/Patient").body(xml, "text/plain"), StatusCode::UNSUPPORTED_MEDIA_TYPE, &["text/plain"]).await;
    let put = s.put(&format!("/Patient/{id}")).body(xml, "application/xml");
    rejects(&s, put, StatusCode::UNSUPPORTED_MEDIA_TYPE, &["json"]).await;
    let read = s.get(&format!("/Patient/{id}")).header("accept", "application/fhir+xml");
    rejects(&s, read, StatusCode::NOT_ACCEPTABLE, &["application/fhir+xml"]).await;
    rejects(&s, s.get(&format!("/Patient/{id}?_format=xml")), StatusCode::NOT_ACCEPTABLE, &["xml"]).await;
    let create = s.post("/Patient").header("accept", "application/xml").json(&patient());
    rejects(&s, create, StatusCode::NOT_ACCEPTABLE, &["application/xml"]).await;
    // JSON among the acceptable types is fine.
    let ok = s.get(&format!("/Patient/{id}")).header("accept", "application/fhir+xml;q=0.9, application/fhir+json").send().await;
    ok.expect(StatusCode::OK);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let s = Server::with_config(ServerConfig { max_body_bytes: 2048, ..ServerConfig::default() });
    let mut big = patient();
    big["name"][0]["given"] = json!(vec!["x".repeat(100); 40]);
    rejects(&s, s.post("/Patient").json(&big), StatusCode::PAYLOAD_TOO_LARGE, &["2048"]).await;
    let b = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": big, "request": {"method": "POST", "url": "Patient"}}]});
    rejects(&s, s.post("/").json(&b), StatusCode::PAYLOAD_TOO_LARGE, &["limit"]).await;
    s.post("/Patient").json(&patient()).send().await.expect(StatusCode::CREATED);
}

#[tokio::test]
async fn invalid_ids_are_400() {
    let (s, _) = seeded().await;
    let long = "a".repeat(65);
    for id in ["a_b", "a%20b", "%C3%A9t%C3%A9", long.as_str()] {
        rejects(&s, s.get(&format!("/Patient/{id}")), StatusCode::BAD_REQUEST, &["id"]).await;
        let body = patient_with("id", json!(id));
        rejects(&s, s.put(&format!("/Patient/{id}")).json(&body), StatusCode::BAD_REQUEST, &["id"]).await;
        rejects(&s, s.delete(&format!("/Patient/{id}")), StatusCode::BAD_REQUEST, &["id"]).await;
    }
    rejects(&s, s.get("/Patient/abc/_history/one"), StatusCode::BAD_REQUEST, &["one"]).await;
}

#[tokio::test]
async fn unknown_resource_types_are_404() {
    let (s, _) = seeded().await;
    rejects(&s, s.get("/Patiant/1"), StatusCode::NOT_FOUND, &["patiant"]).await;
    let body = json!({"resourceType": "Patiant"});
    rejects(&s, s.post("/Patiant").json(&body), StatusCode::NOT_FOUND, &["patiant"]).await;
    rejects(&s, s.get("/Patiant?name=x"), StatusCode::NOT_FOUND, &["patiant"]).await;
    // A known type in the URL with another in the body is a 400.
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}});
    rejects(&s, s.post("/Patient").json(&obs), StatusCode::BAD_REQUEST, &["observation"]).await;
}

#[tokio::test]
async fn invalid_content_is_400_naming_the_element() {
    let (s, id) = seeded().await;
    let cases = [
        ("colour", json!("blue"), "colour"),
        ("active", json!("yes"), "active"),
        ("name", json!({"family": "Okafor"}), "name"),
        ("birthDate", json!("1999-13-45"), "birthdate"),
        ("birthDate", json!(19991231), "birthdate"),
        ("gender", json!("unknown-gender"), "gender"),
    ];
    for (key, value, mention) in cases {
        let body = patient_with(key, value.clone());
        let resp = s.post("/Patient").json(&body).send().await;
        let status = resp.status;
        assert!(
            matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY),
            "{key}={value}: answered {status}: {}",
            resp.text()
        );
        rejects(&s, s.post("/Patient").json(&body), status, &[mention]).await;
        let mut upd = body.clone();
        upd["id"] = json!(id);
        rejects(&s, s.put(&format!("/Patient/{id}")).json(&upd), status, &[mention]).await;
    }
}

#[tokio::test]
async fn put_with_a_different_body_id_is_400() {
    let (s, id) = seeded().await;
    let body = patient_with("id", json!("someone-else"));
    rejects(&s, s.put(&format!("/Patient/{id}")).json(&body), StatusCode::BAD_REQUEST, &["someone-else", &id]).await;
    rejects(&s, s.put(&format!("/Patient/{id}")).json(&patient()), StatusCode::BAD_REQUEST, &["id"]).await;
}

#[tokio::test]
async fn bad_bundles_are_rejected_whole() {
    let (s, _) = seeded().await;
    let post = |full_url: &str, r: Value| {
        let t = r["resourceType"].as_str().unwrap_or_default().to_owned();
        json!({"fullUrl": full_url, "resource": r, "request": {"method": "POST", "url": t}})
    };
    let obs = |subject: &str| json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": subject}});
    let tx = |entries: Vec<Value>| json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});

    let dangling = tx(vec![post("urn:uuid:1", patient()), post("urn:uuid:2", obs("urn:uuid:3"))]);
    let resp = s.post("/").json(&dangling).send().await;
    let status = resp.status;
    assert!(matches!(status.as_u16(), 400 | 404), "dangling urn:uuid answered {status}: {}", resp.text());
    rejects(&s, s.post("/").json(&dangling), status, &["urn:uuid:3"]).await;

    let dup = tx(vec![post("urn:uuid:1", patient()), post("urn:uuid:1", patient())]);
    rejects(&s, s.post("/").json(&dup), StatusCode::BAD_REQUEST, &["fullurl", "urn:uuid:1"]).await;

    // A conditional reference matching two Patients.
    s.create(&patient()).await;
    let cond = format!("Patient?identifier={SYS}|p");
    rejects(&s, s.post("/").json(&tx(vec![post("urn:uuid:9", obs(&cond))])), StatusCode::PRECONDITION_FAILED, &["patient?identifier"]).await;

    // Two entries acting on one resource.
    let both = tx(vec![
        json!({"resource": patient_with("id", json!("twice")), "request": {"method": "PUT", "url": "Patient/twice"}}),
        json!({"request": {"method": "DELETE", "url": "Patient/twice"}}),
    ]);
    rejects(&s, s.post("/").json(&both), StatusCode::BAD_REQUEST, &["patient/twice"]).await;

    let not_a_bundle = patient();
    rejects(&s, s.post("/").json(&not_a_bundle), StatusCode::BAD_REQUEST, &["bundle"]).await;
    let document = json!({"resourceType": "Bundle", "type": "document", "entry": []});
    rejects(&s, s.post("/").json(&document), StatusCode::BAD_REQUEST, &["document"]).await;
    let no_request = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient()}]});
    rejects(&s, s.post("/").json(&no_request), StatusCode::BAD_REQUEST, &["request"]).await;
    let bad_url = tx(vec![json!({"resource": patient(), "request": {"method": "POST", "url": "Patiant"}})]);
    rejects(&s, s.post("/").json(&bad_url), StatusCode::BAD_REQUEST, &["patiant"]).await;
    let bad_method = tx(vec![json!({"resource": patient(), "request": {"method": "FETCH", "url": "Patient"}})]);
    rejects(&s, s.post("/").json(&bad_method), StatusCode::BAD_REQUEST, &["fetch"]).await;
    // A POST entry's resource is read when the transaction reaches it; a PUT's at once.
    let posted_as_other = tx(vec![post("urn:uuid:1", patient()), json!({"resource": patient(), "request": {"method": "POST", "url": "Observation"}})]);
    rejects(&s, s.post("/").json(&posted_as_other), StatusCode::BAD_REQUEST, &["'patient'", "'observation'"]).await;
    let put_as_other = tx(vec![json!({"resource": patient_with("id", json!("x1")), "request": {"method": "PUT", "url": "Observation/x1"}})]);
    rejects(&s, s.post("/").json(&put_as_other), StatusCode::BAD_REQUEST, &["'patient'", "'observation'"]).await;
    let not_an_entry = tx(vec![post("urn:uuid:1", patient()), json!("an entry")]);
    rejects(&s, s.post("/").json(&not_an_entry), StatusCode::BAD_REQUEST, &["request"]).await;
    let null_entries = json!({"resourceType": "Bundle", "type": "transaction", "entry": null});
    rejects(&s, s.post("/").json(&null_entries), StatusCode::BAD_REQUEST, &["entry"]).await;
    let repeated = r#"{"resourceType": "Bundle", "type": "transaction", "type": "transaction", "entry": []}"#;
    let resp = s.post("/").body(repeated, "application/fhir+json").send().await;
    assert_eq!(resp.status, StatusCode::OK, "a repeated key reads as JSON does (the last wins): {}", resp.text());
}

#[tokio::test]
async fn unknown_methods_are_405() {
    let (s, id) = seeded().await;
    rejects(&s, s.delete("/metadata"), StatusCode::METHOD_NOT_ALLOWED, &["delete"]).await;
    rejects(&s, s.post(&format!("/Patient/{id}")).json(&patient()), StatusCode::METHOD_NOT_ALLOWED, &["post"]).await;
    rejects(&s, s.put(&format!("/Patient/{id}/_history")), StatusCode::METHOD_NOT_ALLOWED, &["put"]).await;
    rejects(&s, s.delete(&format!("/Patient/{id}/_history/1")), StatusCode::METHOD_NOT_ALLOWED, &["delete"]).await;
    rejects(&s, s.get("/"), StatusCode::METHOD_NOT_ALLOWED, &["get"]).await;
    rejects(&s, s.delete("/Patient"), StatusCode::METHOD_NOT_ALLOWED, &["search parameters"]).await;
    rejects(&s, s.call(Method::OPTIONS, &format!("/Patient/{id}")), StatusCode::METHOD_NOT_ALLOWED, &["options"]).await;
}

#[tokio::test]
async fn bad_search_and_history_parameters_are_400() {
    let (s, _) = seeded().await;
    rejects(&s, s.get("/Patient?birthdate=not-a-date"), StatusCode::BAD_REQUEST, &["not-a-date"]).await;
    let strict = s.get("/Patient?colour=blue").header("prefer", "handling=strict");
    rejects(&s, strict, StatusCode::BAD_REQUEST, &["colour"]).await;
    rejects(&s, s.get("/_history?_count=lots"), StatusCode::BAD_REQUEST, &["lots"]).await;
    rejects(&s, s.get("/_history?_at=someday"), StatusCode::BAD_REQUEST, &["someday"]).await;
    rejects(&s, s.get("/Patient?_count=-1"), StatusCode::BAD_REQUEST, &["_count"]).await;
}

/// Odd requests: none may produce a 5xx; every 4xx carries an error OperationOutcome.
#[tokio::test]
async fn no_request_produces_a_server_error() {
    let (s, id) = seeded().await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"{}".to_vec(),
        b"[]".to_vec(),
        br#"{"resourceType": 123}"#.to_vec(),
        br#"{"resourceType": "Patient", "birthDate": 1e99999}"#.to_vec(),
        br#"{"resourceType": "Patient", "name": [{"family": "a\u0000b"}]}"#.to_vec(),
        br#"{"resourceType": "Bundle", "type": "transaction", "entry": {"x": 1}}"#.to_vec(),
        br#"{"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "PATCH", "url": "Patient/x"}, "resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": "!!"}}]}"#.to_vec(),
        br#"[{"op": "move", "from": "/a", "path": "/a/b"}]"#.to_vec(),
        deep.into_bytes(),
    ];
    let paths = [
        "/".to_owned(),
        "//".to_owned(),
        "/Patient/".to_owned(),
        format!("/Patient/{id}"),
        format!("/Patient/{id}/_history/99999999999999999999999"),
        format!("/Patient/{id}/_history/-1"),
        "/Patient/%ZZ".to_owned(),
        "/Patient/%C3%28".to_owned(),
        "/$everything".to_owned(),
        format!("/Patient/{id}/$validate"),
        "/Patient?_count=99999999999999999999".to_owned(),
        "/Patient?_sort=nonsense&_include=*:*".to_owned(),
        "/_history?_before=x&_snapshot=y".to_owned(),
        "/Patient?identifier=%7C%7C%7C".to_owned(),
    ];
    let types = ["application/fhir+json", "application/json-patch+json", "application/x-www-form-urlencoded"];
    let methods = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD];
    let mut n = 0;
    for path in &paths {
        for method in &methods {
            for (i, body) in bodies.iter().enumerate() {
                let ct = types[i % types.len()];
                let resp = s.call(method.clone(), path).body(body.clone(), ct).send().await;
                n += 1;
                assert!(!resp.status.is_server_error(), "{method} {path} body#{i} answered {}: {}", resp.status, resp.text());
                let needs_outcome = resp.status.is_client_error() && *method != Method::HEAD;
                assert!(!needs_outcome || resp.is_error_outcome(), "{method} {path} body#{i}: {} {}", resp.status, resp.text());
            }
        }
    }
    println!("{n} odd requests, no server error");
}
