//! Search paging: in the default order `next` links carry a row-id cursor, so pages stay right
//! while resources are written and deleted between them; under `_sort` they carry an offset.

use crate::check::{Server, BASE};
use axum::http::StatusCode;
use serde_json::{json, Value};

fn next_of(b: &Value) -> Option<String> {
    let link = b["link"].as_array()?.iter().find(|l| l["relation"] == "next")?;
    Some(link["url"].as_str()?.strip_prefix(BASE)?.to_owned())
}

fn ids(b: &Value) -> Vec<String> {
    b["entry"].as_array().into_iter().flatten().filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn cursor_pages_stay_right_under_concurrent_writes() {
    let s = Server::new();
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(s.create(&json!({"resourceType": "Patient", "gender": "female", "name": [{"family": format!("P{i}")}]})).await.0);
    }
    let first = s.get("/Patient?gender=female&_count=2").send().await.expect(StatusCode::OK).json();
    let mut seen = ids(&first);
    let mut next = next_of(&first).expect("a next link");
    assert!(next.contains("_cursor="), "{next}");
    // Between pages: one of the first page is deleted, a new one is created.
    s.delete(&format!("/Patient/{}", seen[0])).send().await.expect(StatusCode::OK);
    let (late, _) = s.create(&json!({"resourceType": "Patient", "gender": "female"})).await;
    loop {
        let page = s.get(&next).send().await.expect(StatusCode::OK).json();
        seen.extend(ids(&page));
        match next_of(&page) {
            Some(n) => next = n,
            None => break,
        }
    }
    let mut want = made.clone();
    want.push(late);
    assert_eq!(seen, want, "every resource once, in order, none skipped by the deletion");
}

#[tokio::test]
async fn sorted_pages_use_an_offset_and_bad_contained_values_are_refused() {
    let s = Server::new();
    for i in 0..3 {
        s.create(&json!({"resourceType": "Patient", "name": [{"family": format!("S{i}")}]})).await;
    }
    let b = s.get("/Patient?_sort=-family&_count=2").send().await.expect(StatusCode::OK).json();
    assert!(next_of(&b).is_some_and(|n| n.contains("_offset=2")));
    let resp = s.get("/Patient?name=x&_contained=maybe").send().await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(resp.text().contains("_contained"));
    s.get("/Patient?_contained=false").send().await.expect(StatusCode::OK);
}
