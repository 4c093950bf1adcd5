//! The examples of the specification's search page (R4 `search.html`) that apply to R4
//! resources, each over a tiny hand-made data set with the exact expected ids. Data go through
//! the real write path (indexer, prepared body, write job); queries through `parse_query` and
//! `Store::search`.

use crate::data::Fixture;
use serde_json::{json, Value};

fn patient(id: &str, extra: Value) -> Value {
    let mut p = json!({"resourceType": "Patient", "id": id});
    if let (Some(o), Value::Object(e)) = (p.as_object_mut(), extra) {
        o.extend(e);
    }
    p
}

fn obs(id: &str, extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "x"}});
    if let (Some(m), Value::Object(e)) = (o.as_object_mut(), extra) {
        m.extend(e);
    }
    o
}

/// The checks of one test: every query runs, failures are listed, then the test asserts.
#[derive(Default)]
pub struct Checks {
    passed: usize,
    failed: Vec<String>,
}

impl Checks {
    /// Records whether `Type?query` returns exactly `want` (ids, any order).
    pub fn ids(&mut self, f: &Fixture, ty: &str, query: &str, want: &[&str]) {
        let mut want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        let got = f.try_ids(ty, query);
        self.record(got.as_ref() == Ok(&want), || format!("{ty}?{query}: expected {want:?}, got {got:?}"));
    }

    /// Records whether `Type?query` with its includes returns exactly `want` (`Type/id`).
    pub fn includes(&mut self, f: &Fixture, ty: &str, query: &str, want: &[&str]) {
        let got = f.with_includes(ty, query);
        self.record(got == want, || format!("{ty}?{query}: expected {want:?}, got {got:?}"));
    }

    /// Records a check with its failure message.
    pub fn record(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failed.push(message());
        }
    }

    /// Prints `N passed, M failed` and the failures, and fails the test if any.
    pub fn finish(self) {
        for f in &self.failed {
            println!("FAILED {f}");
        }
        println!("{} passed, {} failed", self.passed, self.failed.len());
        assert!(self.failed.is_empty(), "{:#?}", self.failed);
    }
}

#[test]
fn string_default_exact_and_contains() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        patient("eve", json!({"name": [{"family": "Doe", "given": ["Eve"]}]})),
        patient("evelyn", json!({"name": [{"family": "Doe", "given": ["Evelyn"]}]})),
        patient("evelyne", json!({"name": [{"family": "Doe", "given": ["Évelyne"]}]})),
        patient("severine", json!({"name": [{"family": "Doe", "given": ["Severine"]}]})),
        patient("lower", json!({"name": [{"family": "Doe", "given": ["eve"]}]})),
    ]);
    // "any patients with a name containing a given part with 'eve' at the start of the name"
    c.ids(&f, "Patient", "given=eve", &["eve", "evelyn", "evelyne", "lower"]);
    // ":contains … 'Eve', 'Evelyn', and also 'Severine'"
    c.ids(&f, "Patient", "given:contains=eve", &["eve", "evelyn", "evelyne", "lower", "severine"]);
    // ":exact … only 'Eve', not 'eve' or 'Evelyn'"
    c.ids(&f, "Patient", "given:exact=Eve", &["eve"]);
    c.ids(&f, "Patient", "name=doe", &["eve", "evelyn", "evelyne", "lower", "severine"]);
    c.finish();
}

#[test]
fn token_forms() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        patient("p1", json!({"identifier": [{"system": "http://acme.org/patient", "value": "2345"}], "gender": "male"})),
        patient("p2", json!({"identifier": [{"value": "12345"}], "gender": "female"})),
        patient("p3", json!({"identifier": [{"system": "http://other.org", "value": "12345"}]})),
    ]);
    c.ids(&f, "Patient", "identifier=http://acme.org/patient|2345", &["p1"]);
    // "|[code]: … the Coding/Identifier has no system property"
    c.ids(&f, "Patient", "identifier=|12345", &["p2"]);
    c.ids(&f, "Patient", "identifier=12345", &["p2", "p3"]);
    c.ids(&f, "Patient", "identifier=http://other.org|", &["p3"]);
    c.ids(&f, "Patient", "gender=male", &["p1"]);
    // ":not … includes resources that have no value for the parameter"
    c.ids(&f, "Patient", "gender:not=male", &["p2", "p3"]);
    c.finish();
}

#[test]
fn token_codes_and_text() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/x"},
               "code": {"coding": [{"system": "http://acme.org/conditions/codes", "code": "ha125", "display": "Head ache"}], "text": "headache"}}),
        json!({"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/x"},
               "code": {"coding": [{"system": "http://snomed.info/sct", "code": "25064002", "display": "Headache"}]}}),
        json!({"resourceType": "Condition", "id": "c3", "subject": {"reference": "Patient/x"}, "code": {"coding": [{"code": "ha125"}]}}),
        json!({"resourceType": "Condition", "id": "c4", "subject": {"reference": "Patient/x"}, "code": {"text": "Migraine"}}),
    ]);
    c.ids(&f, "Condition", "code=http://acme.org/conditions/codes|ha125", &["c1"]);
    c.ids(&f, "Condition", "code=ha125", &["c1", "c3"]);
    c.ids(&f, "Condition", "code=|ha125", &["c3"]);
    c.ids(&f, "Condition", "code=http://snomed.info/sct|25064002", &["c2"]);
    // ":text … CodeableConcept.text or Coding.display"
    c.ids(&f, "Condition", "code:text=headache", &["c1", "c2"]);
    c.ids(&f, "Condition", "code:text=head", &["c1", "c2"]);
    c.ids(&f, "Condition", "code:text=migraine", &["c4"]);
    c.ids(&f, "Condition", "code:not=ha125", &["c2", "c4"]);
    c.ids(&f, "Condition", "code:missing=true", &[]);
    c.finish();
}

#[test]
fn escaped_separators_stay_in_the_value() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        patient("comma", json!({"identifier": [{"system": "http://acme.org/patient", "value": "a,b"}]})),
        patient("pipe", json!({"identifier": [{"system": "http://acme.org/patient", "value": "a|b"}]})),
        patient("dollar", json!({"name": [{"family": "Cash$Money"}]})),
        patient("plain", json!({"identifier": [{"system": "http://acme.org/patient", "value": "2345"}]})),
    ]);
    c.ids(&f, "Patient", r"identifier=http://acme.org/patient|a\,b", &["comma"]);
    c.ids(&f, "Patient", r"identifier=a\,b,2345", &["comma", "plain"]);
    c.ids(&f, "Patient", r"family=cash\$", &["dollar"]);
    // `\|` escapes a pipe inside the code of a token.
    c.ids(&f, "Patient", r"identifier=http://acme.org/patient|a\|b", &["pipe"]);
    c.finish();
}

#[test]
fn reference_forms() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        obs("local", json!({"subject": {"reference": "Patient/23"}})),
        obs("base", json!({"subject": {"reference": "http://weave.test/fhir/Patient/23"}})),
        obs("elsewhere", json!({"subject": {"reference": "http://acme.org/fhir/Patient/23"}})),
        obs("group", json!({"subject": {"reference": "Group/23"}})),
        obs("version", json!({"subject": {"reference": "Patient/23/_history/4"}})),
        obs("logical", json!({"subject": {"identifier": {"system": "http://acme.org/fhir/identifier/mrn", "value": "123456"}}})),
        obs("other", json!({"subject": {"reference": "Patient/24"}})),
    ]);
    c.ids(&f, "Observation", "subject=Patient/23", &["base", "local", "version"]);
    c.ids(&f, "Observation", "subject:Patient=23", &["base", "local", "version"]);
    // subject refers to several types: a bare id matches any of them
    c.ids(&f, "Observation", "subject=23", &["base", "group", "local", "version"]);
    // patient refers to Patient only
    c.ids(&f, "Observation", "patient=23", &["base", "local", "version"]);
    c.ids(&f, "Observation", "subject=http://acme.org/fhir/Patient/23", &["elsewhere"]);
    c.ids(&f, "Observation", "subject=http://weave.test/fhir/Patient/23", &["base", "local", "version"]);
    c.ids(&f, "Observation", "subject:identifier=http://acme.org/fhir/identifier/mrn|123456", &["logical"]);
    c.finish();
}

#[test]
fn date_prefixes_on_instants_and_days() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        obs("midnight", json!({"effectiveDateTime": "2013-01-14T00:00:00Z"})),
        obs("ten", json!({"effectiveDateTime": "2013-01-14T10:00:00Z"})),
        obs("next", json!({"effectiveDateTime": "2013-01-15T00:00:00Z"})),
        obs("day", json!({"effectiveDateTime": "2013-01-14"})),
    ]);
    c.ids(&f, "Observation", "date=eq2013-01-14", &["day", "midnight", "ten"]);
    c.ids(&f, "Observation", "date=2013-01-14", &["day", "midnight", "ten"]);
    c.ids(&f, "Observation", "date=ne2013-01-14", &["next"]);
    // "2013-01-14 matches, because it includes the part of 14-Jan 2013 before 10am"
    c.ids(&f, "Observation", "date=lt2013-01-14T10:00", &["day", "midnight"]);
    // "2013-01-14 matches, because it includes the part of 14-Jan 2013 after 10am"
    c.ids(&f, "Observation", "date=gt2013-01-14T10:00", &["day", "next"]);
    c.finish();
}

#[test]
fn date_prefixes_on_periods() {
    let mut c = Checks::default();
    let enc = |id: &str, period: Value| json!({"resourceType": "Encounter", "id": id, "status": "finished", "class": {"code": "AMB"}, "period": period});
    let f = Fixture::new(&[
        enc("from-jan21", json!({"start": "2013-01-21"})),
        enc("from-mar15", json!({"start": "2013-03-15"})),
        enc("until-jan21", json!({"end": "2013-01-21"})),
    ]);
    // "'from 21-Jan 2013 onwards' is included because that period may include times after 14-Mar 2013"
    c.ids(&f, "Encounter", "date=ge2013-03-14", &["from-jan21", "from-mar15"]);
    c.ids(&f, "Encounter", "date=le2013-03-14", &["from-jan21", "until-jan21"]);
    c.ids(&f, "Encounter", "date=sa2013-03-14", &["from-mar15"]);
    c.ids(&f, "Encounter", "date=eb2013-03-14", &["until-jan21"]);
    c.finish();
}

#[test]
fn date_range_with_two_bounds() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        patient("before", json!({"birthDate": "2009-12-31"})),
        patient("first", json!({"birthDate": "2010-01-01"})),
        patient("mid", json!({"birthDate": "2011-06-15"})),
        patient("last", json!({"birthDate": "2011-12-31"})),
        patient("after", json!({"birthDate": "2012-01-01"})),
        patient("year", json!({"birthDate": "2010"})),
    ]);
    c.ids(&f, "Patient", "birthdate=ge2010-01-01&birthdate=le2011-12-31", &["first", "last", "mid", "year"]);
    c.finish();
}

#[test]
fn number_precision_and_prefixes() {
    let mut c = Checks::default();
    let risk = |id: &str, p: &str| {
        let v: Value = serde_json::from_str(p).expect("number");
        json!({"resourceType": "RiskAssessment", "id": id, "status": "final", "subject": {"reference": "Patient/x"},
               "prediction": [{"probabilityDecimal": v}]})
    };
    let f = Fixture::new(&[
        risk("a", "99.4"),
        risk("b", "99.5"),
        risk("c", "100"),
        risk("d", "100.4"),
        risk("e", "100.5"),
        risk("f", "101"),
        risk("g", "100.004"),
        risk("h", "94.9"),
        risk("i", "105"),
    ]);
    // "[parameter]=100 … values in the range [99.5 … 100.5)"
    c.ids(&f, "RiskAssessment", "probability=100", &["b", "c", "d", "g"]);
    // "[parameter]=100.00 … [99.995 … 100.005)"
    c.ids(&f, "RiskAssessment", "probability=100.00", &["c", "g"]);
    c.ids(&f, "RiskAssessment", "probability=lt100", &["a", "b", "h"]);
    c.ids(&f, "RiskAssessment", "probability=le100", &["a", "b", "c", "h"]);
    c.ids(&f, "RiskAssessment", "probability=gt100", &["d", "e", "f", "g", "i"]);
    c.ids(&f, "RiskAssessment", "probability=ge100", &["c", "d", "e", "f", "g", "i"]);
    c.ids(&f, "RiskAssessment", "probability=ne100", &["a", "e", "f", "h", "i"]);
    // "[parameter]=1e2 … to 1 significant figure precision, so this is actually searching for
    // values in the range 95 to 105" (R4 search.html).
    c.ids(&f, "RiskAssessment", "probability=1e2", &["a", "b", "c", "d", "e", "f", "g"]);
    c.finish();
}

#[test]
fn quantity_forms() {
    let mut c = Checks::default();
    let q = |id: &str, v: &str, unit: Value| {
        let value: Value = serde_json::from_str(v).expect("number");
        let mut quantity = json!({"value": value});
        if let (Some(o), Value::Object(u)) = (quantity.as_object_mut(), unit) {
            o.extend(u);
        }
        obs(id, json!({"valueQuantity": quantity}))
    };
    let ucum = |c: &str| json!({"unit": c, "system": "http://unitsofmeasure.org", "code": c});
    let f = Fixture::new(&[
        q("mg", "5.4", ucum("mg")),
        q("unit-only", "5.4", json!({"unit": "mg"})),
        q("mmol", "5.4", ucum("mmol/L")),
        q("grams", "0.0054", ucum("g")),
        q("low-edge", "5.35", ucum("mg")),
        q("high-edge", "5.45", ucum("mg")),
        q("more", "5.5", ucum("mg")),
        q("spelled", "5.4", json!({"unit": "milligram", "system": "http://unitsofmeasure.org", "code": "mg"})),
    ]);
    c.ids(&f, "Observation", "value-quantity=5.4|http://unitsofmeasure.org|mg", &["low-edge", "mg", "spelled"]);
    // "where the unit - either the code (code) or the stated human unit (unit) are 'mg'"
    c.ids(&f, "Observation", "value-quantity=5.4||mg", &["low-edge", "mg", "spelled", "unit-only"]);
    c.ids(&f, "Observation", "value-quantity=5.4||milligram", &["spelled"]);
    c.ids(&f, "Observation", "value-quantity=5.4", &["low-edge", "mg", "mmol", "spelled", "unit-only"]);
    c.ids(&f, "Observation", "value-quantity=le5.4|http://unitsofmeasure.org|mg", &["low-edge", "mg", "spelled"]);
    // "5.40e-3|http://unitsofmeasure.org|g: a value of 0.0054(+/-0.00005) g"
    c.ids(&f, "Observation", "value-quantity=5.40e-3|http://unitsofmeasure.org|g", &["grams"]);
    c.finish();
}

#[test]
fn uri_exact_below_above() {
    let mut c = Checks::default();
    let vs = |id: &str, url: &str| json!({"resourceType": "ValueSet", "id": id, "status": "active", "url": url});
    let f = Fixture::new(&[
        vs("v123", "http://acme.org/fhir/ValueSet/123"),
        vs("v124", "http://acme.org/fhir/ValueSet/124"),
        vs("v12", "http://acme.org/fhir/ValueSet/12"),
        vs("root", "http://acme.org/fhir"),
        vs("other", "http://other.org/fhir/ValueSet/123"),
    ]);
    c.ids(&f, "ValueSet", "url=http://acme.org/fhir/ValueSet/123", &["v123"]);
    c.ids(&f, "ValueSet", "url:below=http://acme.org/fhir/", &["v12", "v123", "v124"]);
    // ":above … all resources with a url that is a parent of the given one" — by path: `…/12` is
    // not a parent of `…/123/_history/5`.
    c.ids(&f, "ValueSet", "url:above=http://acme.org/fhir/ValueSet/123/_history/5", &["root", "v123"]);
    c.finish();
}

#[test]
fn chains() {
    let mut c = Checks::default();
    let prac = |id: &str, name: &str, state: &str| {
        json!({"resourceType": "Practitioner", "id": id, "name": [{"family": name}], "address": [{"state": state}]})
    };
    let gp = |id: &str, refs: &[&str]| {
        let g: Vec<Value> = refs.iter().map(|r| json!({"reference": format!("Practitioner/{r}")})).collect();
        patient(id, json!({"generalPractitioner": g}))
    };
    let f = Fixture::new(&[
        patient("peter", json!({"name": [{"given": ["Peter"], "family": "Pan"}]})),
        patient("paul", json!({"name": [{"given": ["Paul"], "family": "Pan"}]})),
        json!({"resourceType": "Location", "id": "ward", "name": "Peterborough ward"}),
        obs("o-peter", json!({"subject": {"reference": "Patient/peter"}})),
        obs("o-paul", json!({"subject": {"reference": "Patient/paul"}})),
        obs("o-ward", json!({"subject": {"reference": "Location/ward"}})),
        prac("joe-mn", "Joe", "MN"),
        prac("joe-ca", "Joe", "CA"),
        prac("ann-mn", "Ann", "MN"),
        gp("one-gp", &["joe-mn"]),
        gp("joe-ca-only", &["joe-ca"]),
        gp("two-gps", &["joe-ca", "ann-mn"]),
        gp("ann-only", &["ann-mn"]),
    ]);
    c.ids(&f, "Observation", "subject.name=peter", &["o-peter", "o-ward"]);
    c.ids(&f, "Observation", "subject:Patient.name=peter", &["o-peter"]);
    // Each chain is evaluated on its own: two different GPs may satisfy the two conditions.
    c.ids(&f, "Patient", "general-practitioner.name=Joe&general-practitioner.address-state=MN", &["one-gp", "two-gps"]);
    c.finish();
}

#[test]
fn reverse_chains() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        patient("p1", json!({})),
        patient("p2", json!({})),
        obs("o1", json!({"subject": {"reference": "Patient/p1"}, "code": {"coding": [{"system": "http://loinc.org", "code": "1234-5"}]}})),
        obs("o2", json!({"subject": {"reference": "Patient/p2"}, "code": {"coding": [{"system": "http://loinc.org", "code": "9999-9"}]}})),
        json!({"resourceType": "AuditEvent", "id": "ae1", "type": {"code": "rest"}, "recorded": "2020-01-01T00:00:00Z",
               "agent": [{"who": {"reference": "Practitioner/MyUserId"}, "requestor": true}],
               "source": {"observer": {"reference": "Device/d"}}, "entity": [{"what": {"reference": "Observation/o1"}}]}),
    ]);
    c.ids(&f, "Patient", "_has:Observation:patient:code=1234-5", &["p1"]);
    c.ids(&f, "Patient", "_has:Observation:patient:_has:AuditEvent:entity:agent=MyUserId", &["p1"]);
    c.finish();
}

#[test]
fn ids_missing_and_last_updated() {
    let mut c = Checks::default();
    let f = Fixture::new(&[patient("23", json!({"gender": "male"})), patient("24", json!({"birthDate": "1970"}))]);
    c.ids(&f, "Patient", "_id=23", &["23"]);
    c.ids(&f, "Patient", "gender:missing=true", &["24"]);
    c.ids(&f, "Patient", "gender:missing=false", &["23"]);
    c.ids(&f, "Patient", "birthdate:missing=true", &["23"]);
    c.ids(&f, "Patient", "_lastUpdated=gt2010-10-01", &["23", "24"]);
    c.ids(&f, "Patient", "_lastUpdated=lt2010-10-01", &[]);
    c.finish();
}

#[test]
fn include_and_revinclude() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        patient("p1", json!({})),
        json!({"resourceType": "Practitioner", "id": "dr1"}),
        json!({"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
               "medicationCodeableConcept": {"text": "aspirin"}, "subject": {"reference": "Patient/p1"},
               "requester": {"reference": "Practitioner/dr1"}}),
        json!({"resourceType": "Provenance", "id": "prov1", "target": [{"reference": "MedicationRequest/mr1"}],
               "recorded": "2020-01-01T00:00:00Z", "agent": [{"who": {"reference": "Practitioner/dr1"}}]}),
        obs("o1", json!({"subject": {"reference": "Patient/p1"}, "code": {"coding": [{"system": "http://loinc.org", "code": "1234-5"}]}})),
    ]);
    c.includes(&f, "MedicationRequest", "_id=mr1&_include=MedicationRequest:patient&_include=MedicationRequest:requester", &["MedicationRequest/mr1", "Patient/p1", "Practitioner/dr1"]);
    c.includes(&f, "MedicationRequest", "_id=mr1&_revinclude=Provenance:target", &["MedicationRequest/mr1", "Provenance/prov1"]);
    c.includes(&f, "Observation", "code=1234-5&_include=Observation:patient", &["Observation/o1", "Patient/p1"]);
    c.includes(&f, "MedicationRequest", "_id=mr1&_include=MedicationRequest:*", &["MedicationRequest/mr1", "Patient/p1", "Practitioner/dr1"]);
    c.finish();
}
