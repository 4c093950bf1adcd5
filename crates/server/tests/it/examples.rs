//! Every official R4 example (both folders of testdata/fhir-r4-examples, recursively) POSTed to
//! `/{resourceType}` must come back unchanged apart from `id` and the server-managed `meta`
//! fields — in the create response and again on `GET /{type}/{id}` — or be rejected with 400/422
//! and an `OperationOutcome`. The rejected set must be exactly `expected_rejections.txt`.
//! (Transaction/batch Bundles POSTed to /Bundle are stored as documents, not processed.)

use crate::check::{files_with_ext, first_difference, read_json, shared_dir, strip_server_fields, Server};
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const EXPECTED_REJECTIONS: &str = include_str!("expected_rejections.txt");

/// Concurrent clients.
const WORKERS: usize = 8;

/// What happened to one example.
#[derive(Debug)]
enum Verdict {
    RoundTripped,
    Rejected(String),
    Failed(String),
}

/// `relative path → reason` from the expected-rejections list.
fn expected_rejections() -> BTreeMap<String, String> {
    EXPECTED_REJECTIONS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(f, r)| (f.to_owned(), r.to_owned()))
        .collect()
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

/// POSTs one example and checks the create response and a read-back.
async fn round_trip(server: &Server, doc: &Value) -> Verdict {
    let Some(t) = doc["resourceType"].as_str() else {
        return Verdict::Failed("the example has no resourceType".into());
    };
    let resp = server.post(&format!("/{t}")).json(doc).send().await;
    match resp.status {
        StatusCode::CREATED => {}
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY if resp.is_error_outcome() => {
            return Verdict::Rejected(clip(&resp.text()));
        }
        s => return Verdict::Failed(format!("POST /{t} answered {s}: {}", clip(&resp.text()))),
    }
    let created = resp.json();
    if resp.header("location").is_none() || resp.header("etag") != Some("W/\"1\"") {
        return Verdict::Failed(format!("create response headers: {:?}", resp.headers));
    }
    if created["meta"]["versionId"] != "1" {
        return Verdict::Failed(format!("created meta.versionId is {}", created["meta"]["versionId"]));
    }
    let want = strip_server_fields(doc);
    if let Some(d) = first_difference(&want, &strip_server_fields(&created)) {
        return Verdict::Failed(format!("the create response differs (original vs returned) at {d}"));
    }
    let Some(id) = created["id"].as_str() else { return Verdict::Failed("no id assigned".into()) };
    let read = server.get(&format!("/{t}/{id}")).send().await;
    if read.status != StatusCode::OK {
        return Verdict::Failed(format!("GET /{t}/{id} answered {}: {}", read.status, clip(&read.text())));
    }
    match first_difference(&want, &strip_server_fields(&read.json())) {
        Some(d) => Verdict::Failed(format!("the read-back differs (original vs read) at {d}")),
        None => Verdict::RoundTripped,
    }
}

/// Runs every example through `round_trip` with [`WORKERS`] concurrent clients.
async fn run_all(server: Arc<Server>, files: Arc<Vec<(String, PathBuf)>>) -> Vec<(String, Verdict)> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (server, files, next) = (Arc::clone(&server), Arc::clone(&files), Arc::clone(&next));
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((rel, path)) = files.get(i) else { break };
                out.push((rel.clone(), round_trip(&server, &read_json(path)).await));
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.expect("a worker panicked"));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r4_examples_round_trip_or_are_rejected_as_expected() {
    let Some(shared) = shared_dir() else { return };
    let root = shared.join("testdata/fhir-r4-examples");
    let files: Vec<(String, PathBuf)> = files_with_ext(&root, "json")
        .into_iter()
        .map(|p| (p.strip_prefix(&root).unwrap_or(&p).to_string_lossy().replace('\\', "/"), p))
        .collect();
    assert!(files.len() > 2500, "expected the R4 examples under {}", root.display());
    let results = run_all(Arc::new(Server::new()), Arc::new(files)).await;

    let expected = expected_rejections();
    let (mut round_tripped, mut rejected) = (0, 0);
    let mut failures: Vec<String> = Vec::new();
    for (rel, verdict) in &results {
        match (verdict, expected.get(rel)) {
            (Verdict::RoundTripped, None) => round_tripped += 1,
            (Verdict::Rejected(_), Some(_)) => rejected += 1,
            (Verdict::RoundTripped, Some(why)) => {
                failures.push(format!("{rel}: accepted, but expected a rejection ({why})"));
            }
            (Verdict::Rejected(oo), None) => failures.push(format!("{rel}: UNEXPECTED rejection: {oo}")),
            (Verdict::Failed(msg), _) => failures.push(format!("{rel}: {msg}")),
        }
    }
    let missing: Vec<&String> = expected.keys().filter(|f| !results.iter().any(|(r, _)| r == *f)).collect();
    println!("{} passed, {} failed", results.len() - failures.len(), failures.len());
    println!("round-tripped: {round_tripped}, rejected as expected: {rejected}");
    for f in &failures {
        println!("FAILED {f}");
    }
    assert!(missing.is_empty(), "listed in expected_rejections.txt but not found: {missing:?}");
    assert!(failures.is_empty(), "{} examples failed (listed above)", failures.len());
}
