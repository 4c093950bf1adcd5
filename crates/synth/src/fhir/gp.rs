//! GP practice records in UK Core shape: Patient (NHS number with verification status, ethnic category,
//! address history, registered practice), Condition (one per eFI deficit and other diagnosis), MedicationStatement,
//! Encounter (consultations), Observation (blood pressure, weight) and Flag (DNACPR).

use serde_json::{json, Value};

use super::{
    address, cc, decimal_places, identifier, if_none_exist, local_id_system, nhs_identifier,
    period, quantity, reference, snomed, uk_core, BundleBuilder,
};
use crate::codes::{self, ETHNICITIES, ETHNIC_CATEGORY_SYSTEM, MEDICATIONS};
use crate::date::Date;
use crate::efi::{idx, DEFICITS};
use crate::model::{FlagKind, GpMode, Person, Sex};
use crate::place::Place;

fn title(p: &Person, on: Date) -> &'static str {
    match (p.sex, p.age_on(on)) {
        (_, ..=15) => "",
        (Sex::Male, _) => "Mr",
        (Sex::Female, _) => "Mrs",
    }
}

fn patient(p: &Person, place: &Place, end: Date) -> Value {
    let ods = &place.practices[usize::from(p.practice)].ods;
    let eth = &ETHNICITIES[usize::from(p.ethnicity)];
    let mut given = vec![p.given];
    given.extend(p.middle);
    let mut name = json!({ "use": "official", "family": p.family, "given": given });
    let t = title(p, end);
    if !t.is_empty() {
        name["prefix"] = json!([t]);
    }
    let n = p.residences.len();
    let addresses: Vec<Value> = p
        .residences
        .iter()
        .enumerate()
        .rev()
        .map(|(i, r)| {
            let to = p.residences.get(i + 1).map(|next| next.from);
            address(
                &r.address,
                if i + 1 == n { "home" } else { "old" },
                Some(r.from),
                to,
            )
        })
        .collect();
    let mut v = json!({
        "resourceType": "Patient",
        "meta": { "profile": [uk_core("Patient")] },
        "extension": [{
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
            "valueCodeableConcept": cc(ETHNIC_CATEGORY_SYSTEM, eth.code, eth.display)
        }],
        "identifier": [nhs_identifier(&p.nhs_number, "01"), identifier(&local_id_system(ods, "patient"), &p.gp_id.record_id)],
        "name": [name],
        "gender": p.sex.fhir(),
        "birthDate": p.birth_date.iso(),
        "address": addresses,
        "generalPractitioner": [reference(&format!("Organization/{ods}"))],
        "managingOrganization": reference(&format!("Organization/{ods}"))
    });
    if let Some(d) = p.death {
        v["deceasedDateTime"] = Value::String(d.iso());
    }
    v
}

fn condition(subject: &str, code: (&str, &str), onset: Date, recorded: Date, ods: &str) -> Value {
    json!({
        "resourceType": "Condition",
        "meta": { "profile": [uk_core("Condition")] },
        "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
        "verificationStatus": cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
        "category": [cc("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")],
        "code": snomed(code),
        "subject": reference(subject),
        "onsetDateTime": onset.iso(),
        "recordedDate": recorded.iso(),
        "asserter": reference(&format!("Organization/{ods}"))
    })
}

fn conditions(b: &mut BundleBuilder, p: &Person, subject: &str, ods: &str, end: Date) {
    for d in &p.deficits {
        let k = usize::from(d.deficit);
        if k == idx::POLYPHARMACY {
            continue;
        }
        let code = DEFICITS[k].codes[usize::from(d.code)];
        // Recorded about a week after onset (never after the reference date).
        let recorded = d.onset.add_days(7).min(end.add_days(-1)).max(d.onset);
        b.post(condition(subject, code, d.onset, recorded, ods), None);
    }
    for c in &p.other_conditions {
        b.post(
            condition(
                subject,
                c.code,
                c.onset,
                c.onset.add_days(14).min(end.add_days(-1)).max(c.onset),
                ods,
            ),
            None,
        );
    }
}

fn medications(b: &mut BundleBuilder, p: &Person, subject: &str) {
    for m in &p.meds {
        let med = &MEDICATIONS[usize::from(m.med)];
        b.post(
            json!({
                "resourceType": "MedicationStatement",
                "meta": { "profile": [uk_core("MedicationStatement")] },
                "status": if m.end.is_some() { "stopped" } else { "active" },
                "medicationCodeableConcept": cc(codes::SNOMED, med.code, med.display),
                "subject": reference(subject),
                "effectivePeriod": period(&m.start.iso(), m.end.map(Date::iso)),
                "dateAsserted": m.start.iso()
            }),
            None,
        );
    }
}

fn encounters(b: &mut BundleBuilder, p: &Person, subject: &str, ods: &str) {
    for c in &p.gp_contacts {
        let (class, class_display, type_code) = match c.mode {
            GpMode::Surgery => ("AMB", "ambulatory", ("11429006", "Consultation")),
            GpMode::Telephone => ("VR", "virtual", ("185317003", "Telephone encounter")),
            GpMode::HomeVisit => ("HH", "home health", ("439708006", "Home visit")),
        };
        b.post(
            json!({
                "resourceType": "Encounter",
                "meta": { "profile": [uk_core("Encounter")] },
                "status": "finished",
                "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class, "display": class_display },
                "type": [snomed(type_code)],
                "subject": reference(subject),
                "participant": [{ "individual": reference(&format!("PractitionerRole/{ods}-staff-{}-role", 1 + usize::from(c.clinician) % 3)) }],
                "period": period(&c.at.iso(), Some(c.at.add_minutes(12).iso())),
                "reasonCode": [snomed(c.reason)],
                "serviceProvider": reference(&format!("Organization/{ods}"))
            }),
            None,
        );
    }
}

fn observations(b: &mut BundleBuilder, p: &Person, subject: &str, ods: &str) {
    for o in &p.gp_observations {
        let places = usize::from(o.code.2 == "kg");
        b.post(
            json!({
                "resourceType": "Observation",
                "meta": { "profile": [uk_core("Observation")] },
                "status": "final",
                "category": [cc("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")],
                "code": snomed((o.code.0, o.code.1)),
                "subject": reference(subject),
                "effectiveDateTime": o.at.iso(),
                "performer": [reference(&format!("Organization/{ods}"))],
                "valueQuantity": quantity(decimal_places(o.value, places), o.code.2, o.code.2)
            }),
            None,
        );
    }
}

fn flags(b: &mut BundleBuilder, p: &Person, subject: &str, ods: &str) {
    for f in p.flags.iter().filter(|f| f.kind == FlagKind::Dnacpr) {
        b.post(
            json!({
                "resourceType": "Flag",
                "meta": { "profile": [uk_core("Flag")] },
                "status": if f.end.is_some() { "inactive" } else { "active" },
                "category": [cc("http://terminology.hl7.org/CodeSystem/flag-category", "clinical", "Clinical")],
                "code": snomed(("304253006", "Not for resuscitation")),
                "subject": reference(subject),
                "period": period(&f.start.iso(), f.end.map(Date::iso)),
                "author": reference(&format!("Organization/{ods}"))
            }),
            None,
        );
    }
}

/// Adds one person's GP record to `b`.
pub fn add_person(b: &mut BundleBuilder, p: &Person, place: &Place, end: Date) {
    let ods = place.practices[usize::from(p.practice)].ods.clone();
    let sys = local_id_system(&ods, "patient");
    let subject = b.post(
        patient(p, place, end),
        if_none_exist(&sys, &p.gp_id.record_id),
    );
    conditions(b, p, &subject, &ods, end);
    medications(b, p, &subject);
    encounters(b, p, &subject, &ods);
    observations(b, p, &subject, &ods);
    flags(b, p, &subject, &ods);
}
