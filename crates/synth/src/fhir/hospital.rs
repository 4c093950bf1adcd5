//! The hospital's records as FHIR (the same facts as the HL7 v2 feed): a Patient per MRN (a merged
//! duplicate MRN is inactive with `link.type = replaced-by`), Encounters for ED attendances and inpatient
//! spells (admission source, discharge destination, ward history), a frailty-team Encounter `partOf` the
//! spell, and laboratory Observations.

use serde_json::{json, Value};

use super::{
    cc, decimal_places, identifier, if_none_exist, known, local_id_system, period, quantity,
    reference, snomed, source_patient, uk_core, weave_cs, BundleBuilder,
};
use crate::codes::{LAB_TESTS, LOINC};
use crate::date::Date;
use crate::hospital;
use crate::model::{Admission, AdmissionKind, Person};
use crate::place::{Place, WARDS};

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

fn class(code: &str, display: &str) -> Value {
    json!({ "system": ACT_CODE, "code": code, "display": display })
}

fn status(end_known: Option<&String>) -> &'static str {
    if end_known.is_some() {
        "finished"
    } else {
        "in-progress"
    }
}

fn patients(b: &mut BundleBuilder, p: &Person, place: &Place, end: Date) -> Vec<String> {
    let ods = &place.acute.ods;
    let sys = local_id_system(ods, "mrn");
    let mut urls: Vec<String> = Vec::new();
    for (i, id) in p.hospital_ids.iter().enumerate() {
        let mut pat = source_patient(p, id, &sys, "01", end, ods);
        if i > 0 && id.merged_at.is_some_and(|m| m.date < end) {
            pat["active"] = Value::Bool(false);
            pat["link"] = json!([{ "other": reference(&urls[0]), "type": "replaced-by" }]);
        }
        urls.push(b.post(pat, if_none_exist(&sys, &id.record_id)));
    }
    urls
}

fn ward_ref(ods: &str, ward: usize) -> Value {
    reference(&format!("Location/{ods}-{}", WARDS[ward].code))
}

fn ed_encounters(
    b: &mut BundleBuilder,
    p: &Person,
    place: &Place,
    subjects: &[String],
    end: Date,
) -> Vec<Option<String>> {
    let ods = &place.acute.ods;
    let mut admitted_from = vec![None; p.admissions.len()];
    for (i, e) in p.ed.iter().enumerate() {
        let depart = known(e.depart, end);
        let mut enc = json!({
            "resourceType": "Encounter",
            "meta": { "profile": [uk_core("Encounter")] },
            "identifier": [identifier(&local_id_system(ods, "visit"), &hospital::ed_visit_number(p, i))],
            "status": status(depart.as_ref()),
            "class": class("EMER", "emergency"),
            "type": [snomed(("4525004", "Emergency department patient visit"))],
            "subject": reference(&subjects[usize::from(e.mrn)]),
            "period": period(&e.arrive.iso(), depart.clone()),
            "reasonCode": [snomed(e.reason)],
            "location": [{ "location": ward_ref(ods, 0), "period": period(&e.arrive.iso(), depart.clone()) }],
            "serviceProvider": reference(&format!("Organization/{ods}"))
        });
        if depart.is_some() {
            let (code, display) = if e.admission.is_some() {
                ("ADM", "Admitted to hospital")
            } else {
                ("19", "Usual place of residence")
            };
            enc["hospitalization"] = json!({ "dischargeDisposition": cc(&weave_cs("ed-discharge-destination"), code, display) });
        }
        let url = b.post(enc, None);
        if let Some(a) = e.admission {
            admitted_from[a] = Some(url);
        }
    }
    admitted_from
}

fn spell(
    p: &Person,
    place: &Place,
    i: usize,
    a: &Admission,
    subject: &str,
    ed_url: Option<&String>,
    end: Date,
) -> Value {
    let ods = &place.acute.ods;
    let discharge = known(a.discharge_at, end);
    let method = hospital::admission_method(p, i);
    let source = hospital::admission_source(p, a);
    let locations: Vec<Value> = a
        .wards
        .iter()
        .enumerate()
        .filter(|(_, w)| w.0.date < end)
        .map(|(k, (from, ward))| {
            let to = a.wards.get(k + 1).map_or_else(|| discharge.clone(), |n| known(n.0, end));
            json!({ "location": ward_ref(ods, *ward), "status": if to.is_some() { "completed" } else { "active" }, "period": period(&from.iso(), to) })
        })
        .collect();
    let mut hospitalization =
        json!({ "admitSource": cc(&weave_cs("nhs-dd-admission-source"), source.0, source.1) });
    if discharge.is_some() {
        let dest = hospital::discharge_destination(a);
        hospitalization["dischargeDisposition"] =
            cc(&weave_cs("nhs-dd-discharge-destination"), dest.0, dest.1);
    }
    let specialty = WARDS[a.wards[0].1].specialty;
    let mut enc = json!({
        "resourceType": "Encounter",
        "meta": { "profile": [uk_core("Encounter")] },
        "identifier": [identifier(&local_id_system(ods, "visit"), &hospital::ip_visit_number(p, i))],
        "status": status(discharge.as_ref()),
        "class": class("IMP", "inpatient encounter"),
        "type": [cc(&weave_cs("nhs-dd-admission-method"), method.0, method.1)],
        "serviceType": cc(&weave_cs("nhs-dd-treatment-function"), specialty.0, specialty.1),
        "priority": if a.kind == AdmissionKind::Emergency { cc(ACT_CODE, "EM", "emergency") } else { cc(ACT_CODE, "EL", "elective") },
        "subject": reference(subject),
        "period": period(&a.admit.iso(), discharge),
        "reasonCode": [snomed(a.reason)],
        "hospitalization": hospitalization,
        "location": locations,
        "serviceProvider": reference(&format!("Organization/{ods}"))
    });
    if let Some(u) = ed_url {
        enc["partOf"] = reference(u);
    }
    enc
}

fn admissions(
    b: &mut BundleBuilder,
    p: &Person,
    place: &Place,
    subjects: &[String],
    from_ed: &[Option<String>],
    end: Date,
) {
    let ods = &place.acute.ods;
    for (i, a) in p.admissions.iter().enumerate() {
        let subject = &subjects[usize::from(a.mrn)];
        let url = b.post(
            spell(p, place, i, a, subject, from_ed[i].as_ref(), end),
            None,
        );
        if let Some(ft) = a.frailty_team.filter(|t| t.date < end) {
            let lead = &place.staff[place.frailty_lead];
            b.post(
                json!({
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": class("IMP", "inpatient encounter"),
                    "type": [cc(&weave_cs("encounter-type"), "frailty-team-review", "Acute frailty team review (comprehensive geriatric assessment)")],
                    "serviceType": cc(&weave_cs("nhs-dd-treatment-function"), "430", "Geriatric Medicine"),
                    "subject": reference(subject),
                    "participant": [{ "individual": reference(&format!("PractitionerRole/{}-role", lead.id)) }],
                    "period": period(&ft.iso(), Some(ft.add_minutes(45).iso())),
                    "partOf": reference(&url),
                    "serviceProvider": reference(&format!("Organization/{ods}"))
                }),
                None,
            );
        }
        let taken = a.admit.add_minutes(60);
        if taken.date >= end {
            continue;
        }
        for r in &a.labs {
            let t = &LAB_TESTS[usize::from(r.test)];
            let places = usize::from(t.decimals);
            b.post(
                json!({
                    "resourceType": "Observation",
                    "meta": { "profile": [uk_core("Observation")] },
                    "status": "final",
                    "category": [cc("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")],
                    "code": cc(LOINC, t.loinc, t.display),
                    "subject": reference(subject),
                    "encounter": reference(&url),
                    "effectiveDateTime": taken.iso(),
                    "issued": taken.add_minutes(45).iso(),
                    "performer": [reference(&format!("Organization/{ods}"))],
                    "valueQuantity": quantity(decimal_places(r.value, places), t.unit, t.ucum),
                    "referenceRange": [{
                        "low": quantity(decimal_places(t.low, places), t.unit, t.ucum),
                        "high": quantity(decimal_places(t.high, places), t.unit, t.ucum)
                    }]
                }),
                None,
            );
        }
    }
}

/// Adds one person's hospital records to `b` (nothing when the hospital never saw them).
pub fn add_person(b: &mut BundleBuilder, p: &Person, place: &Place, end: Date) {
    if p.hospital_ids.is_empty() {
        return;
    }
    let subjects = patients(b, p, place, end);
    let from_ed = ed_encounters(b, p, place, &subjects, end);
    admissions(b, p, place, &subjects, &from_ed, end);
}
