//! Mental-health and community trust records (native FHIR sources): a Patient per trust record; for
//! mental health, the diagnoses it treats and an Encounter per contact (crisis team, memory clinic,
//! community mental-health team); for community services, an EpisodeOfCare per episode (district nursing,
//! falls service) with an Encounter per visit.

use serde_json::{json, Value};

use super::{
    cc, if_none_exist, known, local_id_system, period, reference, snomed, source_patient, uk_core,
    weave_cs, BundleBuilder,
};
use crate::date::Date;
use crate::model::{CommunityKind, MhKind, Person};
use crate::place::Place;

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

fn encounter(
    class: (&str, &str),
    kind: (&str, &str),
    subject: &str,
    start: &str,
    end: Option<String>,
    reason: (&str, &str),
    org: &str,
) -> Value {
    json!({
        "resourceType": "Encounter",
        "meta": { "profile": [uk_core("Encounter")] },
        "status": if end.is_some() { "finished" } else { "in-progress" },
        "class": { "system": ACT_CODE, "code": class.0, "display": class.1 },
        "type": [cc(&weave_cs("encounter-type"), kind.0, kind.1)],
        "subject": reference(subject),
        "period": super::period(start, end),
        "reasonCode": [snomed(reason)],
        "serviceProvider": reference(&format!("Organization/{org}"))
    })
}

/// Adds one person's mental-health trust record.
pub fn add_mental_health(b: &mut BundleBuilder, p: &Person, place: &Place, end: Date) {
    let Some(id) = &p.mh_id else { return };
    let org = place.mental_health.ods.as_str();
    let sys = local_id_system(org, "patient");
    let subject = b.post(
        source_patient(p, id, &sys, "01", end, org),
        if_none_exist(&sys, &id.record_id),
    );
    let mut diagnoses: Vec<(&str, &str)> = Vec::new();
    for c in &p.mh {
        if !diagnoses.contains(&c.reason) {
            diagnoses.push(c.reason);
        }
    }
    for d in diagnoses {
        let onset = p
            .other_conditions
            .iter()
            .find(|c| c.code == d)
            .map(|c| c.onset)
            .or_else(|| p.mh.iter().find(|c| c.reason == d).map(|c| c.at.date));
        let mut cond = json!({
            "resourceType": "Condition",
            "meta": { "profile": [uk_core("Condition")] },
            "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
            "category": [cc("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")],
            "code": snomed(d),
            "subject": reference(&subject)
        });
        if let Some(o) = onset {
            cond["onsetDateTime"] = Value::String(o.iso());
        }
        b.post(cond, None);
    }
    for c in &p.mh {
        let (class, kind, minutes) = match c.kind {
            MhKind::Crisis => (
                ("EMER", "emergency"),
                (
                    "crisis-team-contact",
                    "Crisis resolution and home treatment team contact",
                ),
                90,
            ),
            MhKind::MemoryClinic => (
                ("AMB", "ambulatory"),
                ("memory-clinic", "Memory assessment service appointment"),
                60,
            ),
            MhKind::CommunityTeam => (
                ("AMB", "ambulatory"),
                ("cmht-contact", "Community mental health team contact"),
                45,
            ),
        };
        let finish = known(c.at.add_minutes(minutes), end);
        if c.at.date < end {
            b.post(
                encounter(class, kind, &subject, &c.at.iso(), finish, c.reason, org),
                None,
            );
        }
    }
}

/// Adds one person's community trust record.
pub fn add_community(b: &mut BundleBuilder, p: &Person, place: &Place, end: Date) {
    let Some(id) = &p.community_id else { return };
    let org = place.community.ods.as_str();
    let sys = local_id_system(org, "patient");
    let subject = b.post(
        source_patient(p, id, &sys, "01", end, org),
        if_none_exist(&sys, &id.record_id),
    );
    for ep in &p.community {
        if ep.start >= end {
            continue;
        }
        let (code, display) = match ep.kind {
            CommunityKind::DistrictNursing => ("district-nursing", "District nursing"),
            CommunityKind::FallsService => ("falls-service", "Community falls prevention service"),
        };
        let last = ep.visits.iter().map(|v| v.date).max().unwrap_or(ep.start);
        let finished = ep.end < end && last < end;
        let episode = b.post(
            json!({
                "resourceType": "EpisodeOfCare",
                "meta": { "profile": [uk_core("EpisodeOfCare")] },
                "status": if finished { "finished" } else { "active" },
                "type": [cc(&weave_cs("community-service"), code, display)],
                "patient": reference(&subject),
                "managingOrganization": reference(&format!("Organization/{org}")),
                "period": period(&ep.start.iso(), finished.then(|| ep.end.iso()))
            }),
            None,
        );
        for v in ep.visits.iter().filter(|v| v.date < end) {
            let mut enc = encounter(
                ("HH", "home health"),
                (code, display),
                &subject,
                &v.iso(),
                known(v.add_minutes(30), end),
                ep.reason,
                org,
            );
            enc["episodeOfCare"] = json!([reference(&episode)]);
            b.post(enc, None);
        }
    }
}
