//! `_contained` and `_containedType` through the real write path and store: contained resources
//! are found only when asked for, every clause holds on one contained resource, and updates and
//! deletes take their rows away.

use crate::data::{delete_all, split_query, Fixture, BASE};
use serde_json::{json, Value};
use weave_search::parse_query;
use weave_store::Store;

/// A MedicationRequest containing Medications, each `(local id, code, form)` (form optional).
fn request(id: &str, meds: &[(&str, &str, Option<&str>)]) -> Value {
    let contained: Vec<Value> = meds
        .iter()
        .map(|(local, code, form)| {
            let mut m = json!({"resourceType": "Medication", "id": local,
                               "code": {"coding": [{"system": "http://codes", "code": code}]}});
            if let Some(f) = form {
                m["form"] = json!({"coding": [{"system": "http://forms", "code": f}]});
            }
            m
        })
        .collect();
    let mut r = json!({"resourceType": "MedicationRequest", "id": id, "status": "active", "intent": "order",
                       "subject": {"reference": "Patient/p1"}});
    if !contained.is_empty() {
        r["medicationReference"] = json!({"reference": format!("#{}", meds[0].0)});
        r["contained"] = Value::Array(contained);
    }
    r
}

/// The matches of `Type?query` in order: `id`, or `id#local` for a contained resource returned.
fn found(f: &Fixture, ty: &str, query: &str) -> Result<Vec<String>, String> {
    let parsed = parse_query(ty, &split_query(query), true, BASE, 1000, 1000).map_err(|e| e.to_string())?;
    let page = f.store.search(&parsed.query).map_err(|e| e.to_string())?;
    assert_eq!(page.contained.len(), page.matches.len());
    Ok(page
        .matches
        .iter()
        .zip(&page.contained)
        .map(|((_, id, _), local)| match local {
            Some(l) => format!("{id}#{l}"),
            None => id.clone(),
        })
        .collect())
}

fn check(f: &Fixture, ty: &str, query: &str, want: &[&str]) {
    let got = found(f, ty, query);
    let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(got, Ok(want), "{ty}?{query}");
}

fn fixture() -> Fixture {
    Fixture::new(&[
        request("mr1", &[("m1", "A", Some("X")), ("m2", "C", Some("B"))]),
        request("mr2", &[("m1", "A", Some("B"))]),
        json!({"resourceType": "Medication", "id": "sa", "code": {"coding": [{"system": "http://codes", "code": "A"}]},
               "form": {"coding": [{"system": "http://forms", "code": "B"}]}}),
        request("mr3", &[]),
        request("mr4", &[("m9", "Z", None)]),
    ])
}

#[test]
fn contained_resources_are_found_only_when_asked_for() {
    let f = fixture();
    check(&f, "Medication", "code=A", &["sa"]);
    check(&f, "Medication", "code=A&_contained=false", &["sa"]);
    check(&f, "Medication", "", &["sa"]);
    check(&f, "Medication", "form:missing=true", &[]);
    check(&f, "Medication", "_id=m1", &[]);
    check(&f, "Medication", "_sort=-code", &["sa"]);
    check(&f, "MedicationRequest", "", &["mr1", "mr2", "mr3", "mr4"]);
    // The container's own rows do not hold its contained resources' values.
    check(&f, "MedicationRequest", "code=A", &[]);
    check(&f, "Medication", "_contained=true&code=A", &["mr1", "mr2"]);
    check(&f, "Medication", "_contained=true&_containedType=container&code=A", &["mr1", "mr2"]);
    check(&f, "Medication", "_contained=true&_containedType=contained&code=A", &["mr1#m1", "mr2#m1"]);
    check(&f, "Medication", "_contained=true&code=http://codes|C", &["mr1"]);
    check(&f, "Medication", "_contained=true&code=A,Z", &["mr1", "mr2", "mr4"]);
    check(&f, "Medication", "_contained=true", &["mr1", "mr2", "mr4"]);
    check(&f, "Medication", "_contained=true&_containedType=contained", &["mr1#m1", "mr1#m2", "mr2#m1", "mr4#m9"]);
    // A container is returned once, however many of its contained resources match.
    check(&f, "Medication", "_contained=true&code=A,C", &["mr1", "mr2"]);
    // Other types contained nowhere: nothing.
    check(&f, "Patient", "_contained=true", &[]);
}

#[test]
fn every_clause_holds_on_the_same_contained_resource() {
    let f = fixture();
    // mr1 has code A (m1) and form B (m2), but on two different Medications.
    check(&f, "Medication", "_contained=true&code=A&form=B", &["mr2"]);
    check(&f, "Medication", "_contained=true&_containedType=contained&code=A&form=B", &["mr2#m1"]);
    check(&f, "Medication", "_contained=true&_containedType=contained&code=C&form=B", &["mr1#m2"]);
    check(&f, "Medication", "_contained=true&code=A&form=X", &["mr1"]);
    check(&f, "Medication", "_contained=true&_containedType=contained&code:not=A", &["mr1#m2", "mr4#m9"]);
    check(&f, "Medication", "_contained=true&_containedType=contained&form:missing=true", &["mr4#m9"]);
    check(&f, "Medication", "_contained=true&_containedType=contained&_id=m1", &["mr1#m1", "mr2#m1"]);
    check(&f, "Medication", "_contained=true&_containedType=contained&_id=m2&code=A", &[]);
    // A contained resource has its container's lastUpdated.
    check(&f, "Medication", "_contained=true&_lastUpdated=gt2000-01-01&code=Z", &["mr4"]);
    check(&f, "Medication", "_contained=true&_lastUpdated=lt2000-01-01", &[]);
}

#[test]
fn both_returns_standalone_and_contained() {
    let f = fixture();
    check(&f, "Medication", "_contained=both&code=A&form=B", &["mr2", "sa"]);
    check(&f, "Medication", "_contained=both&_containedType=contained&code=A", &["mr1#m1", "mr2#m1", "sa"]);
    check(&f, "Medication", "_contained=both&code=Z", &["mr4"]);
    check(&f, "Medication", "_contained=both&_id=sa", &["sa"]);
}

#[test]
fn sorting_paging_and_totals() {
    let f = fixture();
    check(&f, "Medication", "_contained=true&_containedType=contained&_sort=-code", &["mr4#m9", "mr1#m2", "mr1#m1", "mr2#m1"]);
    // A container sorts by the best value of its matching contained resources.
    check(&f, "Medication", "_contained=true&_sort=-code", &["mr4", "mr1", "mr2"]);
    check(&f, "Medication", "_contained=true&_sort=code&code=C,Z", &["mr1", "mr4"]);
    check(&f, "Medication", "_contained=both&_containedType=contained&_sort=code,_id&code=A", &["mr1#m1", "mr2#m1", "sa"]);
    check(&f, "Medication", "_contained=true&_sort=-_id", &["mr4", "mr2", "mr1"]);
    // Offset pages, in the default order and sorted.
    for (query, want) in [
        ("_contained=true&_containedType=contained", vec!["mr1#m1", "mr1#m2", "mr2#m1", "mr4#m9"]),
        ("_contained=true&_containedType=contained&_sort=-code", vec!["mr4#m9", "mr1#m2", "mr1#m1", "mr2#m1"]),
        ("_contained=both", vec!["mr1", "mr2", "sa", "mr4"]),
    ] {
        let mut seen = Vec::new();
        for offset in 0..5 {
            let q = format!("{query}&_count=1&_offset={offset}&_total=accurate");
            let parsed = parse_query("Medication", &split_query(&q), true, BASE, 1000, 1000).expect("parse");
            let page = f.store.search(&parsed.query).expect("search");
            assert_eq!(page.total, Some(want.len() as u64), "{q}");
            assert_eq!(page.more, offset + 1 < want.len(), "{q}");
            seen.extend(found(&f, "Medication", &q).expect("search"));
        }
        assert_eq!(seen, want, "{query}");
    }
    // Keyset pages of containers: after a row id.
    let parsed = parse_query("Medication", &split_query("_contained=true&_count=1"), true, BASE, 1000, 1000).expect("parse");
    let first = f.store.search(&parsed.query).expect("search");
    let mut q = parsed.query.clone();
    q.after = first.matches.last().map(|m| m.2);
    let second = f.store.search(&q).expect("search");
    assert_eq!(second.matches.iter().map(|m| m.1.as_str()).collect::<Vec<_>>(), vec!["mr2"]);
}

#[test]
fn updates_and_deletes_take_contained_rows_away() {
    let f = fixture();
    // mr1 loses m1 and keeps m2; mr4 loses all it contained.
    f.add(&[request("mr1", &[("m2", "C", Some("B"))]), request("mr4", &[])]);
    check(&f, "Medication", "_contained=true&_containedType=contained", &["mr1#m2", "mr2#m1"]);
    check(&f, "Medication", "_contained=true&code=A", &["mr2"]);
    check(&f, "Medication", "_contained=true&code=Z", &[]);
    delete_all(&f.store, &[("MedicationRequest".into(), "mr2".into())]);
    check(&f, "Medication", "_contained=true&code=A", &[]);
    check(&f, "Medication", "_contained=both&code=A", &["sa"]);
    check(&f, "Medication", "_contained=true", &["mr1"]);
    // Written again, it is found again.
    f.add(&[request("mr2", &[("m1", "A", Some("B"))])]);
    check(&f, "Medication", "_contained=true&code=A", &["mr2"]);
}

#[test]
fn chains_from_contained_resources_work() {
    let f = Fixture::new(&[
        json!({"resourceType": "Organization", "id": "o1", "name": "Acme Pharma"}),
        json!({"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": "order",
               "subject": {"reference": "Patient/p1"}, "medicationReference": {"reference": "#m"},
               "contained": [{"resourceType": "Medication", "id": "m", "manufacturer": {"reference": "Organization/o1"}}]}),
    ]);
    check(&f, "Medication", "_contained=true&manufacturer=Organization/o1", &["mr"]);
    check(&f, "Medication", "_contained=true&manufacturer.name=acme", &["mr"]);
    check(&f, "Medication", "_contained=true&manufacturer.name=other", &[]);
    check(&f, "Medication", "manufacturer.name=acme", &[]);
}

#[test]
fn what_cannot_be_answered_is_refused() {
    let f = fixture();
    for (query, param) in [
        ("_contained=maybe", "_contained"),
        ("_contained=true&_containedType=both", "_containedType"),
        ("_contained=true&_has:MedicationRequest:medication:status=active", "_has"),
        ("_contained=both&_text=x", "_text"),
        ("_contained=true&_content=x", "_content"),
        ("_contained=true&_list=l1", "_list"),
        ("_contained=true&_include=Medication:manufacturer", "_include"),
        ("_contained=true&_revinclude=MedicationRequest:medication", "_revinclude"),
        ("_contained=true&_containedType=contained&_cursor=5", "_cursor"),
    ] {
        let e = found(&f, "Medication", query).expect_err(query);
        assert!(e.contains(param), "{query}: {e}");
    }
    // `_cursor` pages containers.
    assert!(found(&f, "Medication", "_contained=true&_cursor=1").is_ok());
}

#[test]
fn a_contained_search_is_driven_by_an_index() {
    let f = fixture();
    let plan = f.explain("Medication", "_contained=true&code=A&form=B").join("\n");
    assert!(plan.contains("idx_token_v"), "{plan}");
    assert!(!plan.contains("SCAN r"), "{plan}");
    // Every contained Medication: the marker rows by their key, not a scan of the table.
    let plan = f.explain("Medication", "_contained=true").join("\n");
    assert!(plan.contains("SEARCH x USING COVERING INDEX idx_token_v"), "{plan}");
}
