//! Token `:in` / `:not-in` (against the R4 value sets Weave holds), `:of-type` on identifiers,
//! and `_list`: small data sets with the results the specification's rules give.

use crate::data::Fixture;
use crate::spec_examples::Checks;
use serde_json::json;

const GENDER: &str = "http://hl7.org/fhir/ValueSet/administrative-gender";
const STATUS: &str = "http://hl7.org/fhir/ValueSet/observation-status";

#[test]
fn in_and_not_in_a_value_set() {
    let mut c = Checks::default();
    let obs = |id: &str, status: &str| json!({"resourceType": "Observation", "id": id, "status": status, "code": {"text": "x"}});
    let f = Fixture::new(&[
        obs("final", "final"),
        obs("amended", "amended"),
        json!({"resourceType": "Observation", "id": "foreign", "status": "final", "code": {"text": "x"},
               "category": [{"coding": [{"system": "http://example.org/other", "code": "final"}]}]}),
        json!({"resourceType": "Patient", "id": "f", "gender": "female"}),
        json!({"resourceType": "Patient", "id": "none"}),
    ]);
    c.ids(&f, "Observation", &format!("status:in={STATUS}"), &["amended", "final", "foreign"]);
    // The value set's codes carry their system: a code from another system is not in it.
    c.ids(&f, "Observation", &format!("category:in={STATUS}"), &[]);
    c.ids(&f, "Observation", &format!("status:not-in={STATUS}"), &[]);
    c.ids(&f, "Patient", &format!("gender:in={GENDER}"), &["f"]);
    // `:not-in` also finds resources with no value at all (as `:not` does).
    c.ids(&f, "Patient", &format!("gender:not-in={GENDER}"), &["none"]);
    c.record(f.try_ids("Patient", "gender:in=http://example.org/ValueSet/unknown").is_err(), || {
        "an unknown value set is an error naming it, not an empty result".into()
    });
    c.finish();
}

#[test]
fn of_type_matches_identifier_type_and_value() {
    let mut c = Checks::default();
    let v2 = "http://terminology.hl7.org/CodeSystem/v2-0203";
    let f = Fixture::new(&[
        json!({"resourceType": "Patient", "id": "mr", "identifier": [
            {"type": {"coding": [{"system": v2, "code": "MR"}]}, "system": "urn:mrn", "value": "446053"}]}),
        json!({"resourceType": "Patient", "id": "dl", "identifier": [
            {"type": {"coding": [{"system": v2, "code": "DL"}]}, "system": "urn:dl", "value": "446053"}]}),
        json!({"resourceType": "Patient", "id": "untyped", "identifier": [{"system": "urn:mrn", "value": "446053"}]}),
    ]);
    c.ids(&f, "Patient", &format!("identifier:of-type={v2}|MR|446053"), &["mr"]);
    c.ids(&f, "Patient", &format!("identifier:of-type={v2}|DL|446053"), &["dl"]);
    c.ids(&f, "Patient", "identifier:of-type=|MR|446053", &["mr"]);
    c.ids(&f, "Patient", &format!("identifier:of-type={v2}|MR|999"), &[]);
    c.ids(&f, "Patient", "identifier=446053", &["dl", "mr", "untyped"]);
    c.record(f.try_ids("Patient", "identifier:of-type=MR|446053").is_err(), || "two parts is an error".into());
    c.finish();
}

#[test]
fn list_finds_the_items_of_a_list() {
    let mut c = Checks::default();
    let f = Fixture::new(&[
        json!({"resourceType": "Patient", "id": "a"}),
        json!({"resourceType": "Patient", "id": "b"}),
        json!({"resourceType": "Patient", "id": "c"}),
        json!({"resourceType": "List", "id": "ward", "status": "current", "mode": "working",
               "entry": [{"item": {"reference": "Patient/a"}}, {"item": {"reference": "Patient/c"}}]}),
    ]);
    c.ids(&f, "Patient", "_list=ward", &["a", "c"]);
    c.ids(&f, "Patient", "_list=ward&_id=c", &["c"]);
    c.ids(&f, "Patient", "_list=other", &[]);
    c.record(f.try_ids("Patient", "_list=$current-problems").is_err(), || "functional lists are refused".into());
    c.finish();
}

/// Composite parameters hold on the same element: a component's code with that component's value.
#[test]
fn composites_pair_components_on_the_same_element() {
    let mut c = Checks::default();
    let loinc = "http://loinc.org";
    let q = |v: u32| json!({"value": v, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"});
    let code = |c: &str| json!({"coding": [{"system": loinc, "code": c}]});
    let f = Fixture::new(&[
        json!({"resourceType": "Observation", "id": "sys150", "status": "final", "code": code("8480-6"), "valueQuantity": q(150)}),
        json!({"resourceType": "Observation", "id": "sys120", "status": "final", "code": code("8480-6"), "valueQuantity": q(120)}),
        json!({"resourceType": "Observation", "id": "dia150", "status": "final", "code": code("8462-4"), "valueQuantity": q(150)}),
        json!({"resourceType": "Observation", "id": "bp", "status": "final", "code": code("85354-9"), "component": [
            {"code": code("8480-6"), "valueQuantity": q(150)},
            {"code": code("8462-4"), "valueQuantity": q(90)}]}),
        json!({"resourceType": "Observation", "id": "smoker", "status": "final", "code": code("72166-2"),
               "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "77176002"}]}}),
    ]);
    c.ids(&f, "Observation", &format!("code-value-quantity={loinc}|8480-6$gt140"), &["sys150"]);
    c.ids(&f, "Observation", "code-value-quantity=8480-6$gt140", &["sys150"]);
    c.ids(&f, "Observation", "code-value-quantity=8480-6$le140", &["sys120"]);
    c.ids(&f, "Observation", &format!("code-value-quantity={loinc}|8462-4$gt140"), &["dia150"]);
    // On the components: 150 belongs to systolic, not to diastolic.
    c.ids(&f, "Observation", "component-code-value-quantity=8480-6$gt140", &["bp"]);
    c.ids(&f, "Observation", "component-code-value-quantity=8462-4$gt140", &[]);
    c.ids(&f, "Observation", "combo-code-value-quantity=8480-6$gt140", &["bp", "sys150"]);
    c.ids(&f, "Observation", "code-value-concept=72166-2$http://snomed.info/sct|77176002", &["smoker"]);
    c.ids(&f, "Observation", "code-value-concept=72166-2$http://snomed.info/sct|8517006", &[]);
    c.record(f.try_ids("Observation", "code-value-quantity=8480-6").is_err(), || "a composite needs both components".into());
    c.finish();
}

/// Composites with a token second component, with a reference second component (DocumentReference
/// `relationship`, whose R4 definitions are swapped), each held on one repetition.
#[test]
fn composites_of_other_shapes() {
    let mut c = Checks::default();
    let cc = |code: &str| json!({"coding": [{"system": "http://example.org/c", "code": code}]});
    let f = Fixture::new(&[
        json!({"resourceType": "Group", "id": "women", "type": "person", "actual": true, "characteristic": [
            {"code": cc("gender"), "valueCodeableConcept": cc("female"), "exclude": false},
            {"code": cc("status"), "valueCodeableConcept": cc("active"), "exclude": false}]}),
        json!({"resourceType": "Group", "id": "active", "type": "person", "actual": true, "characteristic": [
            {"code": cc("status"), "valueCodeableConcept": cc("active"), "exclude": false}]}),
        json!({"resourceType": "DocumentReference", "id": "d", "status": "current", "content": [{"attachment": {"url": "http://x/d"}}],
               "relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/a"}},
                             {"code": "appends", "target": {"reference": "DocumentReference/b"}}]}),
        json!({"resourceType": "DocumentReference", "id": "e", "status": "current", "content": [{"attachment": {"url": "http://x/e"}}],
               "relatesTo": [{"code": "transforms", "target": {"reference": "DocumentReference/a"}}]}),
    ]);
    c.ids(&f, "Group", "characteristic-value=gender$female", &["women"]);
    c.ids(&f, "Group", "characteristic-value=http://example.org/c|status$http://example.org/c|active", &["active", "women"]);
    // Both tokens on the same characteristic: gender is not "active".
    c.ids(&f, "Group", "characteristic-value=gender$active", &[]);
    c.ids(&f, "Group", "characteristic-value=status$female", &[]);
    c.ids(&f, "DocumentReference", "relationship=replaces$DocumentReference/a", &["d"]);
    c.ids(&f, "DocumentReference", "relationship=appends$DocumentReference/b", &["d"]);
    c.ids(&f, "DocumentReference", "relationship=replaces$DocumentReference/b", &[]);
    c.ids(&f, "DocumentReference", "relationship=transforms$DocumentReference/a,appends$DocumentReference/b", &["d", "e"]);
    c.finish();
}

/// The MolecularSequence coordinates: a chromosome (token) and two numbers that must hold on the
/// same variant (or the same reference window) — the specification's example
/// `chromosome-variant-coordinate=1$lt345$gt123` is "a variant on chromosome 1 that starts
/// before 345 and ends after 123".
#[test]
fn composites_of_a_token_and_two_numbers() {
    let mut c = Checks::default();
    let chromosome = |n: &str| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/chromosome-human", "code": n}]});
    let seq = |id: &str, chr: &str, window: (i64, i64), variants: &[(i64, i64)]| {
        json!({"resourceType": "MolecularSequence", "id": id, "type": "dna", "coordinateSystem": 0,
               "referenceSeq": {"chromosome": chromosome(chr), "referenceSeqId": {"coding": [{"system": "http://www.ncbi.nlm.nih.gov/nuccore", "code": "NC_000001.11"}]},
                                "windowStart": window.0, "windowEnd": window.1},
               "variant": variants.iter().map(|(s, e)| json!({"start": s, "end": e})).collect::<Vec<_>>()})
    };
    let f = Fixture::new(&[
        // Overlaps 123–345 with one variant.
        seq("inside", "1", (100, 1000), &[(200, 300)]),
        // One variant starts before 345 (but ends at 100), the other ends after 123 (but starts
        // at 400): no single variant does both.
        seq("split", "1", (0, 2000), &[(50, 100), (400, 500)]),
        // The right coordinates on another chromosome.
        seq("other", "2", (100, 1000), &[(200, 300)]),
    ]);
    c.ids(&f, "MolecularSequence", "chromosome-variant-coordinate=1$lt345$gt123", &["inside"]);
    c.ids(&f, "MolecularSequence", "chromosome-variant-coordinate=http://terminology.hl7.org/CodeSystem/chromosome-human|1$lt345$gt123", &["inside"]);
    c.ids(&f, "MolecularSequence", "chromosome-variant-coordinate=1$ge400$le500", &["split"]);
    c.ids(&f, "MolecularSequence", "chromosome-variant-coordinate=1$lt345$gt50", &["inside", "split"]);
    c.ids(&f, "MolecularSequence", "chromosome-variant-coordinate=2$lt345$gt123", &["other"]);
    c.ids(&f, "MolecularSequence", "chromosome-variant-coordinate=1$eq200$eq300,2$eq200$eq300", &["inside", "other"]);
    c.ids(&f, "MolecularSequence", "chromosome-window-coordinate=1$le100$ge1000", &["inside", "split"]);
    c.ids(&f, "MolecularSequence", "chromosome-window-coordinate=1$gt0$ge1000", &["inside"]);
    c.ids(&f, "MolecularSequence", "referenceseqid-variant-coordinate=NC_000001.11$lt345$gt123", &["inside", "other"]);
    c.ids(&f, "MolecularSequence", "referenceseqid-window-coordinate=NC_000001.11$eq0$eq2000", &["split"]);
    for bad in ["chromosome-variant-coordinate=1$lt345", "chromosome-variant-coordinate=1$lt345$gtx", "chromosome-variant-coordinate=$1$2"] {
        let r = f.try_ids("MolecularSequence", bad);
        c.record(r.is_err(), || format!("{bad} must be refused, got {r:?}"));
    }
    c.finish();
}

/// `_text` searches the narrative, `_content` every string of the resource; all words must occur.
#[test]
fn text_and_content_search_words() {
    let mut c = Checks::default();
    let div = |t: &str| json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{t}</p></div>")});
    let f = Fixture::new(&[
        json!({"resourceType": "Condition", "id": "falls", "subject": {"reference": "Patient/p"}, "text": div("History of falls at home"),
               "code": {"text": "Frailty"}}),
        json!({"resourceType": "Condition", "id": "coded", "subject": {"reference": "Patient/p"},
               "code": {"coding": [{"system": "http://snomed.info/sct", "code": "129839007", "display": "At risk for falls"}]}}),
        json!({"resourceType": "Condition", "id": "other", "subject": {"reference": "Patient/p"}, "text": div("Asthma review")}),
    ]);
    c.ids(&f, "Condition", "_text=falls", &["falls"]);
    c.ids(&f, "Condition", "_content=falls", &["coded", "falls"]);
    c.ids(&f, "Condition", "_content=falls home", &["falls"]);
    c.ids(&f, "Condition", "_content=FRAIL*", &["falls"]);
    c.ids(&f, "Condition", "_text=asthma,frailty", &["other"]);
    c.ids(&f, "Condition", "_content=snomed", &[]);
    c.record(f.try_ids("Condition", "_content=*").is_err(), || "no words is an error".into());
    c.finish();
}
