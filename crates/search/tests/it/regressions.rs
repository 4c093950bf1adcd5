//! Minimal reproductions of the disagreements the differential test found, one small data set
//! each, so that each can be fixed and kept fixed on its own. The expected results follow the
//! specification's rules as `brute.rs` applies them.

use crate::data::Fixture;
use crate::spec_examples::Checks;
use serde_json::{json, Value};

fn obs(id: &str, extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "x"}});
    if let (Some(m), Value::Object(e)) = (o.as_object_mut(), extra) {
        m.extend(e);
    }
    o
}

/// `:missing` asks whether the element has a value, not whether it produced an index row: a
/// reference with only a display, only an identifier, or to a contained resource is there.
#[test]
fn missing_sees_references_without_a_target_row() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        obs("local", json!({"subject": {"reference": "Patient/1"}})),
        obs("display", json!({"subject": {"display": "Sonoma oyster farm"}})),
        obs("identifier", json!({"subject": {"identifier": {"system": "http://acme.org/mrn", "value": "7"}}})),
        obs("contained", json!({"contained": [{"resourceType": "Patient", "id": "p"}], "subject": {"reference": "#p"}})),
        obs("none", json!({})),
    ]);
    c.ids(&f, "Observation", "subject:missing=true", &["none"]);
    c.ids(&f, "Observation", "subject:missing=false", &["contained", "display", "identifier", "local"]);
    // The identifier-only reference is found by `:identifier`, so it cannot be missing.
    c.ids(&f, "Observation", "subject:identifier=http://acme.org/mrn|7&subject:missing=false", &["identifier"]);
    c.finish();
}

/// `:text` searches Coding.display too when the Coding has no code.
#[test]
fn text_sees_the_display_of_a_coding_without_code() {
    let mut c = Checks::default();
    let f = Fixture::new(&[json!({"resourceType": "HealthcareService", "id": "hs",
        "characteristic": [{"coding": [{"display": "Wheelchair access"}]}]})]);
    c.ids(&f, "HealthcareService", "characteristic:text=wheelchair", &["hs"]);
    c.ids(&f, "HealthcareService", "characteristic:missing=false", &["hs"]);
    c.finish();
}

/// `ge` is "gt or eq" and `le` is "lt or eq" (search.html): a target range that only overlaps
/// the search value's range at one side, without extending beyond it, matches neither.
#[test]
fn ge_and_le_on_ranges_that_straddle_the_bound() {
    let mut c = Checks::default();
    let enc = |id: &str, start: &str, end: &str| {
        json!({"resourceType": "Encounter", "id": id, "status": "finished", "class": {"code": "AMB"},
               "period": {"start": start, "end": end}})
    };
    let f = Fixture::new(&[
        enc("ends-in-day", "2013-03-10T09:00:00Z", "2013-03-14T12:00:00Z"),
        enc("starts-in-day", "2013-03-14T12:00:00Z", "2013-03-20T09:00:00Z"),
        enc("within-day", "2013-03-14T08:00:00Z", "2013-03-14T09:00:00Z"),
        enc("across-day", "2013-03-13T08:00:00Z", "2013-03-15T09:00:00Z"),
    ]);
    c.ids(&f, "Encounter", "date=ge2013-03-14", &["across-day", "starts-in-day", "within-day"]);
    c.ids(&f, "Encounter", "date=le2013-03-14", &["across-day", "ends-in-day", "within-day"]);
    // A day against an instant at its first moment: the day is neither below nor inside it.
    let f = Fixture::new(&[json!({"resourceType": "Patient", "id": "p", "birthDate": "2014-08-16"})]);
    c.ids(&f, "Patient", "birthdate=le2014-08-16T00:00:00.000Z", &[]);
    c.ids(&f, "Patient", "birthdate=ge2014-08-16T23:59:59.999Z", &[]);
    c.finish();
}

/// A chain inside a chain (and `_has` inside `_has`) when it is checked per candidate rather
/// than driving the query.
#[test]
fn nested_chains_as_probes() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        json!({"resourceType": "Practitioner", "id": "joe", "name": [{"family": "Joe"}]}),
        json!({"resourceType": "Practitioner", "id": "ann", "name": [{"family": "Ann"}]}),
        json!({"resourceType": "Patient", "id": "p1", "generalPractitioner": [{"reference": "Practitioner/joe"}]}),
        json!({"resourceType": "Patient", "id": "p2", "generalPractitioner": [{"reference": "Practitioner/ann"}]}),
        obs("o1", json!({"subject": {"reference": "Patient/p1"}})),
        obs("o2", json!({"subject": {"reference": "Patient/p2"}})),
        json!({"resourceType": "AuditEvent", "id": "ae", "type": {"code": "rest"}, "recorded": "2020-01-01T00:00:00Z",
               "agent": [{"who": {"reference": "Practitioner/joe"}, "requestor": true}],
               "source": {"observer": {"reference": "Device/d"}}, "entity": [{"what": {"reference": "Observation/o1"}}]}),
    ]);
    // Driving (the chain is the only clause): the nested chain is a join.
    c.ids(&f, "Observation", "subject:Patient.general-practitioner:Practitioner.name=joe", &["o1"]);
    // Probing (`_id` drives, or the inner test cannot drive): the nested chain is an EXISTS.
    c.ids(&f, "Observation", "_id=o1,o2&subject:Patient.general-practitioner:Practitioner.name=joe", &["o1"]);
    c.ids(&f, "Observation", "subject:Patient.general-practitioner.name:contains=oe", &["o1"]);
    c.ids(&f, "Patient", "_id=p1,p2&_has:Observation:patient:_has:AuditEvent:entity:agent=joe", &["p1"]);
    c.finish();
}

/// A Timing covers the outer limits of its schedule (search.html, date): `repeat.boundsPeriod`
/// counts.
#[test]
fn timing_bounds_are_dates() {
    let mut c = Checks::default();
    let f = Fixture::new(&[json!({"resourceType": "CarePlan", "id": "preg", "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/x"},
        "activity": [{"detail": {"status": "scheduled",
            "scheduledTiming": {"repeat": {"boundsPeriod": {"start": "2013-02-14", "end": "2013-02-28"}}}}}]})]);
    c.ids(&f, "CarePlan", "activity-date=ge2013-01-01", &["preg"]);
    c.ids(&f, "CarePlan", "activity-date=2013-02", &["preg"]);
    c.ids(&f, "CarePlan", "activity-date:missing=false", &["preg"]);
    c.finish();
}
