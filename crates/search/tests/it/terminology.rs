//! Token `:below`, `:above`, `:in` and `:not-in` against a terminology holding a CodeSystem with
//! a hierarchy and ValueSets over it, through the real store; also inside `_has`, chains and
//! union parameters; and the FHIR-defined code system hierarchies of the model, with nothing stored.

use crate::data::Fixture;
use crate::spec_examples::Checks;
use serde_json::{json, Value};
use std::sync::Arc;
use weave_search::terminology::{Resolver, Source, TerminologyError, MAX_CODES};

const SYS: &str = "http://example.org/cs/findings";

/// ValueSets and CodeSystems in memory.
struct Defs(Vec<Value>);

impl Defs {
    fn find(&self, t: &str, url: &str) -> Option<Arc<Value>> {
        self.0.iter().find(|r| r["resourceType"] == t && r["url"] == url).map(|r| Arc::new(r.clone()))
    }
}

impl Source for Defs {
    fn value_set(&self, url: &str, _: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
        Ok(self.find("ValueSet", url))
    }
    fn code_system(&self, url: &str, _: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
        Ok(self.find("CodeSystem", url))
    }
}

fn terminology() -> Resolver<Defs> {
    Resolver::new(Defs(vec![
        json!({"resourceType": "CodeSystem", "url": SYS, "content": "complete", "concept": [
            {"code": "finding", "concept": [
                {"code": "cardio", "concept": [{"code": "hypertension", "concept": [{"code": "malignant-htn"}]}, {"code": "arrhythmia"}]},
                {"code": "resp", "concept": [{"code": "asthma"}]}]}]}),
        json!({"resourceType": "ValueSet", "url": "http://x/vs/cardio", "compose": {
            "include": [{"system": SYS, "filter": [{"property": "concept", "op": "is-a", "value": "cardio"}]}],
            "exclude": [{"system": SYS, "concept": [{"code": "arrhythmia"}]}]}}),
        json!({"resourceType": "ValueSet", "url": "http://x/vs/gender-and-asthma", "compose": {
            "include": [{"valueSet": ["http://hl7.org/fhir/ValueSet/administrative-gender"]}, {"system": SYS, "concept": [{"code": "asthma"}]}]}}),
        json!({"resourceType": "ValueSet", "url": "http://x/vs/broken", "compose": {"include": [{"system": "http://x/unknown"}]}}),
    ]))
}

fn observation(id: &str, patient: &str, code: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final", "subject": {"reference": format!("Patient/{patient}")},
           "code": {"coding": [{"system": SYS, "code": code}]}})
}

#[test]
fn token_modifiers_use_the_terminology() {
    let mut c = Checks::default();
    let t = terminology();
    let f = Fixture::new(&[
        json!({"resourceType": "Patient", "id": "p1", "gender": "female"}),
        json!({"resourceType": "Patient", "id": "p2"}),
        observation("htn", "p1", "hypertension"),
        observation("mal", "p1", "malignant-htn"),
        observation("arr", "p2", "arrhythmia"),
        observation("asthma", "p2", "asthma"),
        json!({"resourceType": "Observation", "id": "none", "status": "final", "code": {"text": "hypertension"}}),
    ]);
    let mut ids = |query: &str, want: &[&str]| {
        let mut want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        let (ty, q) = query.split_once('?').unwrap_or(("Observation", query));
        let got = f.try_ids_with(ty, q, &t);
        c.record(got.as_ref() == Ok(&want), || format!("{query}: expected {want:?}, got {got:?}"));
    };
    ids(&format!("code:below={SYS}|cardio"), &["arr", "htn", "mal"]);
    ids(&format!("code:below={SYS}|hypertension"), &["htn", "mal"]);
    ids(&format!("code:above={SYS}|malignant-htn"), &["htn", "mal"]);
    ids(&format!("code:above={SYS}|cardio"), &[]);
    ids("code:in=http://x/vs/cardio", &["htn", "mal"]);
    ids("code:not-in=http://x/vs/cardio", &["arr", "asthma", "none"]);
    ids("code:in=http://x/vs/gender-and-asthma", &["asthma"]);
    ids("Patient?gender:in=http://x/vs/gender-and-asthma", &["p1"]);
    ids(&format!("combo-code:below={SYS}|resp"), &["asthma"]);
    ids(&format!("Patient?_has:Observation:subject:code:below={SYS}|hypertension"), &["p1"]);
    ids(&format!("subject:Patient.gender:in=http://hl7.org/fhir/ValueSet/administrative-gender&code:below={SYS}|finding"), &["htn", "mal"]);
    for (query, why) in [
        ("code:in=http://x/vs/broken", "http://x/unknown"),
        ("code:below=cardio", "system|code"),
        (format!("code:below={SYS}|").as_str(), "system|code"),
        (format!("code:above={SYS}|nope").as_str(), "nope"),
    ] {
        let got = f.try_ids_with("Observation", query, &t);
        c.record(got.as_ref().is_err_and(|e| e.contains("'code'") && e.contains(why)), || format!("{query}: expected an error about {why}, got {got:?}"));
    }
    c.finish();
}

/// The largest set allowed ([`MAX_CODES`]) runs through the store; a search whose terminology
/// modifiers select more in all (a union parameter doubles its codes) is refused with a 400-style
/// error, not a failed statement.
#[test]
fn the_code_budget_holds_across_a_search() {
    let mut c = Checks::default();
    let big = "http://example.org/cs/big";
    let children: Vec<Value> = (1..MAX_CODES).map(|i| json!({"code": format!("c{i}")})).collect();
    let t = Resolver::new(Defs(vec![json!({"resourceType": "CodeSystem", "url": big, "content": "complete",
        "concept": [{"code": "top", "concept": children}]})]));
    let obs = |id: &str, code: &str| json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"coding": [{"system": big, "code": code}]}});
    let f = Fixture::new(&[obs("first", "c1"), obs("last", &format!("c{}", MAX_CODES - 1)), obs("top", "top")]);
    let got = f.try_ids_with("Observation", &format!("code:below={big}|top"), &t);
    c.record(got == Ok(vec!["first".into(), "last".into(), "top".into()]), || format!("{MAX_CODES} codes: {got:?}"));
    let got = f.try_ids_with("Observation", &format!("code:below={big}|c1&code:below={big}|c2"), &t);
    c.record(got == Ok(vec![]), || format!("two small sets: {got:?}"));
    for query in [format!("combo-code:below={big}|top"), format!("code:below={big}|top&code:below={big}|c1")] {
        let got = f.try_ids_with("Observation", &query, &t);
        c.record(got.as_ref().is_err_and(|e| e.contains("more than the")), || format!("{query}: {got:?}"));
    }
    c.finish();
}

/// `:below` / `:above` and `is-a` filters on FHIR-defined code systems (condition-clinical:
/// active ⊃ {recurrence, relapse}, inactive ⊃ {remission, resolved}; condition-ver-status:
/// unconfirmed ⊃ {provisional, differential}) answer from the model, with nothing stored.
#[test]
fn fhir_defined_hierarchies_need_no_stored_code_system() {
    const CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    const VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
    let mut c = Checks::default();
    let condition = |id: &str, clinical: &str, verification: &str| {
        json!({"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p"},
               "clinicalStatus": {"coding": [{"system": CLINICAL, "code": clinical}]},
               "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]}})
    };
    let f = Fixture::new(&[
        condition("act", "active", "confirmed"),
        condition("rec", "recurrence", "provisional"),
        condition("rem", "remission", "differential"),
        condition("res", "resolved", "unconfirmed"),
        condition("ina", "inactive", "refuted"),
    ]);
    let with_vs = Resolver::new(Defs(vec![json!({"resourceType": "ValueSet", "url": "http://x/vs/inactive", "compose": {"include": [
        {"system": CLINICAL, "filter": [{"property": "concept", "op": "is-a", "value": "inactive"}]}]}}),
        json!({"resourceType": "ValueSet", "url": "http://x/vs/active-above", "compose": {"include": [
        {"system": CLINICAL, "filter": [{"property": "concept", "op": "generalizes", "value": "relapse"}]}]}}),
        json!({"resourceType": "ValueSet", "url": "http://x/vs/by-property", "compose": {"include": [
        {"system": CLINICAL, "filter": [{"property": "status", "op": "=", "value": "x"}]}]}})]));
    let builtin = weave_search::terminology::builtin();
    for (query, want, term) in [
        (format!("clinical-status:below={CLINICAL}|inactive"), vec!["ina", "rem", "res"], builtin as &dyn weave_search::terminology::Terminology),
        (format!("clinical-status:below={CLINICAL}|active"), vec!["act", "rec"], builtin),
        (format!("clinical-status:above={CLINICAL}|relapse"), vec!["act"], builtin),
        (format!("clinical-status:above={CLINICAL}|remission"), vec!["ina", "rem"], builtin),
        (format!("verification-status:below={VERIFICATION}|unconfirmed"), vec!["rec", "rem", "res"], builtin),
        (format!("verification-status:below={VERIFICATION}|unconfirmed&clinical-status:below={CLINICAL}|active"), vec!["rec"], builtin),
        ("clinical-status:in=http://x/vs/inactive".to_owned(), vec!["ina", "rem", "res"], &with_vs),
        ("clinical-status:not-in=http://x/vs/inactive".to_owned(), vec!["act", "rec"], &with_vs),
        ("clinical-status:in=http://x/vs/active-above".to_owned(), vec!["act"], &with_vs),
        (format!("clinical-status:below={CLINICAL}|remission"), vec!["rem"], &with_vs),
    ] {
        let got = f.try_ids_with("Condition", &query, term);
        let want: Vec<String> = want.into_iter().map(str::to_owned).collect();
        c.record(got.as_ref() == Ok(&want), || format!("{query}: expected {want:?}, got {got:?}"));
    }
    for (query, why) in [
        (format!("clinical-status:below={CLINICAL}|nope"), "nope"),
        ("clinical-status:below=http://hl7.org/fhir/administrative-gender|male".to_owned(), "administrative-gender"),
        ("clinical-status:in=http://x/vs/by-property".to_owned(), "status"),
    ] {
        let got = f.try_ids_with("Condition", &query, &with_vs);
        c.record(got.as_ref().is_err_and(|e| e.contains(why)), || format!("{query}: expected an error about {why}, got {got:?}"));
    }
    c.finish();
}
