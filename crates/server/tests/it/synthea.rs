//! The 86 Synthea transaction Bundles POSTed to `/`: every one succeeds, every entry answers
//! `201 Created` with a location, and afterwards `GET /{type}?_summary=count` equals the number
//! of resources of that type in the files. Spot check: no `urn:uuid:` reference survives.

use crate::check::{files_with_ext, read_json, shared_dir, Server};
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const WORKERS: usize = 4;

/// Posts one bundle; returns a failure message or `None`.
async fn post_bundle(server: &Server, path: &Path) -> Option<String> {
    let bundle = read_json(path);
    let n = bundle["entry"].as_array().map_or(0, Vec::len);
    let resp = server.post("/").json(&bundle).send().await;
    if resp.status != StatusCode::OK {
        return Some(format!("answered {}: {}", resp.status, resp.text().chars().take(400).collect::<String>()));
    }
    let out = resp.json();
    let entries = out["entry"].as_array().cloned().unwrap_or_default();
    if out["type"] != "transaction-response" || entries.len() != n {
        return Some(format!("response type {} with {} entries for {n}", out["type"], entries.len()));
    }
    entries.iter().enumerate().find_map(|(i, e)| {
        let r = &e["response"];
        let ok = r["status"].as_str().is_some_and(|s| s.starts_with("201"))
            && r["location"].as_str().is_some_and(|l| l.contains("/_history/1"))
            && r["etag"] == "W/\"1\"";
        (!ok).then(|| format!("entry {i} response {r}"))
    })
}

/// Resources per type in the bundles.
fn expected_counts(files: &[PathBuf]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for f in files {
        for e in read_json(f)["entry"].as_array().into_iter().flatten() {
            if let Some(t) = e["resource"]["resourceType"].as_str() {
                *counts.entry(t.to_owned()).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn synthea_bundles_load_and_counts_match() {
    let Some(shared) = shared_dir() else { return };
    let dir = shared.join("testdata/synthea/smart-generated-sample-data-R4");
    let files = Arc::new(files_with_ext(&dir, "json"));
    assert_eq!(files.len(), 86, "expected 86 Synthea bundles in {}", dir.display());
    let server = Arc::new(Server::new());
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (server, files, next) = (Arc::clone(&server), Arc::clone(&files), Arc::clone(&next));
        tasks.spawn(async move {
            let mut failures = Vec::new();
            while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                if let Some(msg) = post_bundle(&server, path).await {
                    failures.push(format!("{}: {msg}", path.display()));
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(r) = tasks.join_next().await {
        failures.extend(r.expect("a worker panicked"));
    }
    println!("{} passed, {} failed (bundles)", files.len() - failures.len(), failures.len());
    for f in &failures {
        println!("FAILED {f}");
    }
    assert!(failures.is_empty(), "{} bundles failed", failures.len());

    let expected = expected_counts(&files);
    let mut wrong = Vec::new();
    for (t, n) in &expected {
        let got = server.count(t).await;
        println!("{t}: {got} (expected {n})");
        if got != *n {
            wrong.push(format!("{t}: {got} != {n}"));
        }
    }
    assert!(wrong.is_empty(), "counts differ: {wrong:?}");
    assert_eq!(expected.values().sum::<u64>(), 9619, "the Synthea set has 9,619 resources");

    // References were rewritten: a page of Encounters points at stored Patients.
    let page = server.get("/Encounter?_count=20").send().await.expect(StatusCode::OK).json();
    let encounters: Vec<&Value> = page["entry"].as_array().into_iter().flatten().map(|e| &e["resource"]).collect();
    assert!(!encounters.is_empty());
    for enc in encounters {
        let subject = enc["subject"]["reference"].as_str().expect("Encounter.subject.reference");
        assert!(subject.starts_with("Patient/"), "unrewritten reference {subject}");
        server.get(&format!("/{subject}")).send().await.expect(StatusCode::OK);
    }
}
