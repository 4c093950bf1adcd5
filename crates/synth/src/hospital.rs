//! Facts about hospital episodes shared by the HL7 v2 writer and the hospital FHIR rendering: visit
//! numbers, NHS Data Dictionary codes for admission method and source, discharge destination and method.

use crate::model::{Admission, AdmissionKind, Discharge, Person};

/// NHS Data Dictionary code-and-display pair.
pub type DdCode = (&'static str, &'static str);

/// Visit number of ED attendance `i`.
#[must_use]
pub fn ed_visit_number(p: &Person, i: usize) -> String {
    format!("E{:07}{:02}", p.idx, i % 100)
}

/// Visit (spell) number of admission `i`.
#[must_use]
pub fn ip_visit_number(p: &Person, i: usize) -> String {
    format!("I{:07}{:02}", p.idx, i % 100)
}

/// Whether admission `i` came through the emergency department.
#[must_use]
pub fn via_ed(p: &Person, i: usize) -> bool {
    p.ed.iter().any(|e| e.admission == Some(i))
}

/// Admission method (NHS DD): 21 emergency via A&E, 22 emergency via GP, 11 elective from waiting list.
#[must_use]
pub fn admission_method(p: &Person, i: usize) -> DdCode {
    match (p.admissions[i].kind, via_ed(p, i)) {
        (AdmissionKind::Elective, _) => ("11", "Elective: from waiting list"),
        (AdmissionKind::Emergency, true) => ("21", "Emergency: via Emergency Care Department"),
        (AdmissionKind::Emergency, false) => ("22", "Emergency: GP referral"),
    }
}

/// Source of admission (NHS DD): 19 usual place of residence, 85 care home (non-NHS).
#[must_use]
pub fn admission_source(p: &Person, a: &Admission) -> DdCode {
    if p.residence_on(a.admit.date).care_home.is_some() {
        ("85", "Care home (non-NHS run)")
    } else {
        ("19", "Usual place of residence")
    }
}

/// Discharge destination (NHS DD): 19 usual residence, 85 care home (non-NHS), 79 patient died.
#[must_use]
pub fn discharge_destination(a: &Admission) -> DdCode {
    match a.discharge {
        Discharge::UsualResidence => ("19", "Usual place of residence"),
        Discharge::CareHome => ("85", "Care home (non-NHS run)"),
        Discharge::Died => ("79", "Not applicable - patient died"),
    }
}

/// Discharge method (NHS DD): 1 on clinical advice, 4 patient died.
#[must_use]
pub fn discharge_method(a: &Admission) -> DdCode {
    if a.discharge == Discharge::Died {
        ("4", "Patient died")
    } else {
        (
            "1",
            "Discharged on clinical advice or with clinical consent",
        )
    }
}
