//! The Patient compartment: `Patient/[id]/[type]` searches and `Patient/[id]/$everything` with
//! `_type`, `_since`, `_count` paging and the resources the compartment refers to.

use crate::check::Server;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;

fn ids(bundle: &Value, mode: &str) -> HashSet<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| format!("{}/{}", e["resource"]["resourceType"].as_str().unwrap_or(""), e["resource"]["id"].as_str().unwrap_or("")))
        .collect()
}

/// Two patients, each with encounters and observations, and a practitioner they both see.
async fn two_patients(s: &Server) -> (String, String, Vec<String>, String) {
    let (doc, _) = s.create(&json!({"resourceType": "Practitioner", "name": [{"family": "Shared"}]})).await;
    let (p1, _) = s.create(&json!({"resourceType": "Patient", "name": [{"family": "One"}]})).await;
    let (p2, _) = s.create(&json!({"resourceType": "Patient", "name": [{"family": "Two"}]})).await;
    let mut mine = Vec::new();
    for (p, n) in [(&p1, 3), (&p2, 2)] {
        for i in 0..n {
            let (e, _) = s
                .create(&json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                                "subject": {"reference": format!("Patient/{p}")},
                                "participant": [{"individual": {"reference": format!("Practitioner/{doc}")}}]}))
                .await;
            let (o, _) = s
                .create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": format!("obs {i}")},
                                "subject": {"reference": format!("Patient/{p}")}}))
                .await;
            if *p == p1 {
                mine.push(format!("Encounter/{e}"));
                mine.push(format!("Observation/{o}"));
            }
        }
    }
    (p1, p2, mine, doc)
}

#[tokio::test]
async fn compartment_search_sees_only_that_patients_resources() {
    let s = Server::new();
    let (p1, p2, mine, _) = two_patients(&s).await;
    let b = s.get(&format!("/Patient/{p1}/Observation")).send().await.expect(StatusCode::OK).json();
    assert_eq!(b["total"], 3);
    let found = ids(&b, "match");
    assert!(found.iter().all(|id| mine.contains(id)), "{found:?}");
    let b = s.get(&format!("/Patient/{p2}/Encounter?_summary=count")).send().await.expect(StatusCode::OK).json();
    assert_eq!(b["total"], 2);
    let b = s.get(&format!("/Patient/{p1}/Observation?code:text=obs%201")).send().await.expect(StatusCode::OK).json();
    assert_eq!(b["total"], 1);
    s.get(&format!("/Patient/{p1}/Organization")).send().await.outcome(StatusCode::NOT_FOUND);
    s.get(&format!("/Patient/{p1}/Nonsense")).send().await.outcome(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn everything_returns_the_compartment_and_what_it_refers_to() {
    let s = Server::new();
    let (p1, _, mine, doc) = two_patients(&s).await;
    let b = s.get(&format!("/Patient/{p1}/$everything")).send().await.expect(StatusCode::OK).json();
    let mut expected: HashSet<String> = mine.iter().cloned().collect();
    expected.insert(format!("Patient/{p1}"));
    assert_eq!(ids(&b, "match"), expected);
    assert_eq!(ids(&b, "include"), HashSet::from([format!("Practitioner/{doc}")]));

    let b = s.get(&format!("/Patient/{p1}/$everything?_type=Observation")).send().await.expect(StatusCode::OK).json();
    assert_eq!(ids(&b, "match").len(), 3);
    s.get("/Patient/nobody/$everything").send().await.outcome(StatusCode::NOT_FOUND);
    s.get(&format!("/Patient/{p1}/$everything?_type=Nonsense")).send().await.outcome(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn everything_pages_cover_the_compartment_exactly_once() {
    let s = Server::new();
    let (p1, _, mine, _) = two_patients(&s).await;
    let mut seen = Vec::new();
    let mut url = format!("/Patient/{p1}/$everything?_count=2");
    for _ in 0..10 {
        let b = s.get(&url).send().await.expect(StatusCode::OK).json();
        seen.extend(ids(&b, "match"));
        match b["link"].as_array().and_then(|l| l.iter().find(|l| l["relation"] == "next")) {
            Some(next) => url = next["url"].as_str().unwrap().trim_start_matches(crate::check::BASE).to_owned(),
            None => break,
        }
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an entry came twice: {seen:?}");
    assert_eq!(unique.len(), mine.len() + 1);
}
