//! Bulk loading over HTTP: `POST /$import` (NDJSON body) and `POST /$import-cld` (a CLD extract):
//! valid lines and rows written, refused ones reported by line and kept as dead letters.

use crate::check::Server;
use axum::http::StatusCode;
use serde_json::Value;

use crate::deadletter::{GOOD, HEAD};

fn issues(outcome: &Value) -> Vec<(String, String)> {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| (i["severity"].as_str().unwrap_or("").to_owned(), i["diagnostics"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[tokio::test]
async fn ndjson_import_writes_good_lines_and_keeps_bad_ones_by_line() {
    let s = Server::new();
    let body = [
        r#"{"resourceType":"Patient","id":"nd1","gender":"female"}"#,
        r#"{"resourceType":"Patient","id":"nd2"}"#,
        r#"{"resourceType":"Patient","id":"nd3","#,
        "",
        r#"{"resourceType":"Patient","id":"nd4","colour":"blue"}"#,
        r#"{"resourceType":"Observation","id":"nd5","status":"final","code":{"text":"x"}}"#,
    ]
    .join("\n");
    let out = s.post("/$import").body(body.into_bytes(), "application/fhir+ndjson").send().await.expect(StatusCode::OK).json();
    let found = issues(&out);
    assert!(found[0].1.starts_with("3 resources written from 5 lines; 2 lines refused"), "{found:?}");
    assert!(found.iter().any(|(sev, d)| sev == "error" && d.starts_with("line 3: not valid JSON")), "{found:?}");
    assert!(found.iter().any(|(sev, d)| sev == "error" && d.starts_with("line 5:") && d.contains("colour")), "{found:?}");
    assert_eq!(s.count("Patient").await, 2);
    s.get("/Observation/nd5").send().await.expect(StatusCode::OK);
    let dead = s.state.store.dead_letters(0, 10).expect("dead letters");
    let lines: Vec<Option<u64>> = dead.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![Some(3), Some(5)]);
    assert_eq!(dead[1].raw, br#"{"resourceType":"Patient","id":"nd4","colour":"blue"}"#);
}

#[tokio::test]
async fn ndjson_import_refuses_what_it_cannot_take() {
    let s = Server::new();
    let before = s.snapshot();
    let params = serde_json::json!({"resourceType": "Parameters", "parameter": [{"name": "input", "part": []}]});
    let resp = s.post("/$import").json(&params).send().await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(resp.text().contains("NDJSON itself"));
    let resp = s.post("/$import").body(b"a,b\n1,2".to_vec(), "text/csv").send().await;
    assert_eq!(resp.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let resp = s.post("/$import").body(b"\n\n".to_vec(), "application/fhir+ndjson").send().await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.snapshot().counts, before.counts);
}

#[tokio::test]
async fn cld_import_over_http_reports_rows_by_line() {
    let s = Server::new();
    let bad = GOOD.replace("14/10/1935", "31/02/1935");
    let csv = format!("{HEAD}\n{GOOD}\n{bad}\n");
    let out = s.post("/$import-cld").body(csv.into_bytes(), "text/csv").send().await.expect(StatusCode::OK).json();
    let found = issues(&out);
    assert!(found[0].1.starts_with("2 rows read, 1 valid; 1 person Bundles applied"), "{found:?}");
    assert!(found.iter().any(|(sev, d)| sev == "error" && d.starts_with("line 3: Date_of_Birth")), "{found:?}");
    assert!(s.count("Patient").await >= 1);
    let resp = s.post("/$import-cld").body(b"not,a\ncld,file".to_vec(), "text/csv").send().await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
}
