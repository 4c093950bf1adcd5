//! Searching inside contained resources over HTTP: `_contained=true|both`, `_containedType`,
//! the `#` fullUrl of a contained resource returned itself, exactness (every parameter on the
//! same contained resource), updates and deletes, paging and refusals.

use crate::check::{Server, BASE};
use axum::http::StatusCode;
use serde_json::{json, Value};

/// A MedicationRequest containing Medications `(local id, code, form)`.
fn request(meds: &[(&str, &str, &str)]) -> Value {
    let contained: Vec<Value> = meds
        .iter()
        .map(|(local, code, form)| {
            json!({"resourceType": "Medication", "id": local,
                   "code": {"coding": [{"system": "http://codes", "code": code}]},
                   "form": {"coding": [{"system": "http://forms", "code": form}]}})
        })
        .collect();
    let mut r = json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                       "subject": {"reference": "Patient/p1"}});
    match meds.first() {
        Some((first, ..)) => {
            r["medicationReference"] = json!({"reference": format!("#{first}")});
            r["contained"] = Value::Array(contained);
        }
        None => r["medicationCodeableConcept"] = json!({"coding": [{"system": "http://codes", "code": "A"}]}),
    }
    r
}

/// `(fullUrl, resourceType, id, search.mode)` of each entry.
fn entries(b: &Value) -> Vec<(String, String, String, String)> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&e["fullUrl"]), s(&e["resource"]["resourceType"]), s(&e["resource"]["id"]), s(&e["search"]["mode"]))
        })
        .collect()
}

fn urls(b: &Value) -> Vec<String> {
    entries(b).into_iter().map(|e| e.0).collect()
}

fn next_of(b: &Value) -> Option<String> {
    let link = b["link"].as_array()?.iter().find(|l| l["relation"] == "next")?;
    Some(link["url"].as_str()?.strip_prefix(BASE)?.to_owned())
}

async fn search(s: &Server, uri: &str) -> Value {
    s.get(uri).send().await.expect(StatusCode::OK).json()
}

/// Three requests: `a` holds m1 (A, tablet) and m2 (C, capsule); `b` holds m1 (A, capsule);
/// `c` holds nothing. Plus a standalone Medication `sa` (A, capsule).
async fn setup(s: &Server) -> (String, String, String, String) {
    let (a, _) = s.create(&request(&[("m1", "A", "tablet"), ("m2", "C", "capsule")])).await;
    let (b, _) = s.create(&request(&[("m1", "A", "capsule")])).await;
    let (c, _) = s.create(&request(&[])).await;
    let (sa, _) = s
        .create(&json!({"resourceType": "Medication", "code": {"coding": [{"system": "http://codes", "code": "A"}]},
                        "form": {"coding": [{"system": "http://forms", "code": "capsule"}]}}))
        .await;
    (a, b, c, sa)
}

#[tokio::test]
async fn containers_and_contained_resources_are_returned() {
    let s = Server::new();
    let (a, b, _, sa) = setup(&s).await;
    let mr = |id: &str| format!("{BASE}/MedicationRequest/{id}");
    // A normal search never sees contained resources.
    let got = search(&s, "/Medication?code=A").await;
    assert_eq!(urls(&got), vec![format!("{BASE}/Medication/{sa}")]);
    // The containers, once each, as matches.
    let got = search(&s, "/Medication?_contained=true&code=A").await;
    let want = vec![
        (mr(&a), "MedicationRequest".to_owned(), a.clone(), "match".to_owned()),
        (mr(&b), "MedicationRequest".to_owned(), b.clone(), "match".to_owned()),
    ];
    assert_eq!(entries(&got), want);
    assert_eq!(got["total"], 2);
    // The contained resources themselves, with `[base]/[Type]/[id]#[local id]`.
    let got = search(&s, "/Medication?_contained=true&_containedType=contained&code=A").await;
    let want = vec![
        (format!("{}#m1", mr(&a)), "Medication".to_owned(), "m1".to_owned(), "match".to_owned()),
        (format!("{}#m1", mr(&b)), "Medication".to_owned(), "m1".to_owned(), "match".to_owned()),
    ];
    assert_eq!(entries(&got), want);
    assert_eq!(got["entry"][0]["resource"]["form"]["coding"][0]["code"], "tablet");
    assert_eq!(got["entry"][1]["resource"]["form"]["coding"][0]["code"], "capsule");
    // `_elements` shapes the contained resource.
    let got = search(&s, "/Medication?_contained=true&_containedType=contained&code=C&_elements=code").await;
    assert_eq!(urls(&got), vec![format!("{}#m2", mr(&a))]);
    assert!(got["entry"][0]["resource"].get("form").is_none(), "{got}");
    assert_eq!(got["entry"][0]["resource"]["code"]["coding"][0]["code"], "C");
    // Both: standalone and contained.
    let got = search(&s, "/Medication?_contained=both&_containedType=contained&code=A").await;
    assert_eq!(urls(&got), vec![format!("{}#m1", mr(&a)), format!("{}#m1", mr(&b)), format!("{BASE}/Medication/{sa}")]);
    let got = search(&s, "/Medication?_contained=both&code=A&form=capsule").await;
    assert_eq!(urls(&got), vec![mr(&b), format!("{BASE}/Medication/{sa}")]);
    let got = s.get("/Medication?_contained=true&code=A&_summary=count").send().await.expect(StatusCode::OK).json();
    assert_eq!(got["total"], 2);
}

#[tokio::test]
async fn every_parameter_holds_on_the_same_contained_resource() {
    let s = Server::new();
    let (a, b, ..) = setup(&s).await;
    // `a` has code A (m1) and form capsule (m2), on two Medications: not a match.
    let got = search(&s, "/Medication?_contained=true&code=A&form=capsule").await;
    assert_eq!(urls(&got), vec![format!("{BASE}/MedicationRequest/{b}")]);
    let got = search(&s, "/Medication?_contained=true&code=A&form=tablet").await;
    assert_eq!(urls(&got), vec![format!("{BASE}/MedicationRequest/{a}")]);
    let got = search(&s, "/Medication?_contained=true&code=C&form=tablet").await;
    assert_eq!(urls(&got), Vec::<String>::new());
}

#[tokio::test]
async fn updates_and_deletes_make_contained_resources_unfindable() {
    let s = Server::new();
    let (a, b, ..) = setup(&s).await;
    // `a` now holds m2 only.
    let mut changed = request(&[("m2", "C", "capsule")]);
    changed["id"] = json!(a);
    s.put(&format!("/MedicationRequest/{a}")).json(&changed).send().await.expect(StatusCode::OK);
    let got = search(&s, "/Medication?_contained=true&code=A").await;
    assert_eq!(urls(&got), vec![format!("{BASE}/MedicationRequest/{b}")]);
    let got = search(&s, "/Medication?_contained=true&code=C").await;
    assert_eq!(urls(&got), vec![format!("{BASE}/MedicationRequest/{a}")]);
    // Without contained resources at all.
    let mut bare = request(&[]);
    bare["id"] = json!(a);
    s.put(&format!("/MedicationRequest/{a}")).json(&bare).send().await.expect(StatusCode::OK);
    let got = search(&s, "/Medication?_contained=true&code=C").await;
    assert_eq!(urls(&got), Vec::<String>::new());
    s.delete(&format!("/MedicationRequest/{b}")).send().await.expect(StatusCode::OK);
    let got = search(&s, "/Medication?_contained=true").await;
    assert_eq!(urls(&got), Vec::<String>::new());
    assert_eq!(got["total"], 0);
}

/// Follows `next` links from `first`, returning every fullUrl in order.
async fn all_pages(s: &Server, first: &str) -> (Vec<String>, Vec<String>) {
    let mut seen = Vec::new();
    let mut nexts = Vec::new();
    let mut page = search(s, first).await;
    loop {
        seen.extend(urls(&page));
        let Some(next) = next_of(&page) else { break };
        nexts.push(next.clone());
        page = search(s, &next).await;
    }
    (seen, nexts)
}

#[tokio::test]
async fn count_pages_over_contained_results() {
    let s = Server::new();
    let mut made = Vec::new();
    for i in 0..5 {
        let (id, _) = s.create(&request(&[("x", "A", "tablet"), ("y", if i % 2 == 0 { "A" } else { "B" }, "tablet")])).await;
        made.push(id);
    }
    let mr = |id: &String| format!("{BASE}/MedicationRequest/{id}");
    // Containers: a row-id cursor.
    let (seen, nexts) = all_pages(&s, "/Medication?_contained=true&code=A&_count=2").await;
    assert_eq!(seen, made.iter().map(mr).collect::<Vec<_>>());
    assert!(nexts.iter().all(|n| n.contains("_cursor=")), "{nexts:?}");
    // Contained resources: several share a container, so pages are by offset.
    let (seen, nexts) = all_pages(&s, "/Medication?_contained=true&_containedType=contained&code=A&_count=2").await;
    let mut want = Vec::new();
    for (i, id) in made.iter().enumerate() {
        want.push(format!("{}#x", mr(id)));
        if i % 2 == 0 {
            want.push(format!("{}#y", mr(id)));
        }
    }
    assert_eq!(seen, want);
    assert!(nexts.iter().all(|n| n.contains("_offset=")), "{nexts:?}");
    let got = search(&s, "/Medication?_contained=true&_containedType=contained&code=A&_count=2&_total=accurate").await;
    assert_eq!(got["total"], want.len());
    // Sorted: by the contained resources' values.
    let got = search(&s, "/Medication?_contained=true&_containedType=contained&_sort=-code&_count=3").await;
    let codes: Vec<&str> = got["entry"].as_array().into_iter().flatten().filter_map(|e| e["resource"]["code"]["coding"][0]["code"].as_str()).collect();
    assert_eq!(codes, vec!["B", "B", "A"]);
}

#[tokio::test]
async fn bad_or_unsupported_combinations_are_refused() {
    let s = Server::new();
    setup(&s).await;
    for (uri, word) in [
        ("/Medication?_contained=maybe", "_contained"),
        ("/Medication?_contained=true&_containedType=nested", "_containedtype"),
        ("/Medication?_contained=true&_include=Medication:manufacturer", "_include"),
        ("/Medication?_contained=both&_has:MedicationRequest:medication:status=active", "_has"),
        ("/Medication?_contained=true&_content=tablet", "_content"),
        ("/Patient/p1/Observation?_contained=true", "compartment"),
    ] {
        let diag = s.get(uri).send().await.outcome(StatusCode::BAD_REQUEST);
        assert!(diag.contains(word), "{uri}: {diag}");
    }
    search(&s, "/Medication?_contained=false&_containedType=container").await;
}
