//! The place as FHIR: Organizations (practices, trusts, council, care homes, home-care providers), the
//! hospital's Locations (site and wards), Practitioners and PractitionerRoles, and HealthcareServices
//! (the acute frailty team, the council's reablement service). All PUT with fixed ids.

use serde_json::{json, Value};

use super::{address, cc, identifier, reference, weave_cs, BundleBuilder};
use crate::codes::{self, ODS_SYSTEM};
use crate::place::{Org, OrgKind, Place, WARDS};
use crate::rng::IdGen;

fn org_type(kind: OrgKind) -> (&'static str, &'static str) {
    match kind {
        OrgKind::GpPractice => ("gp-practice", "GP practice"),
        OrgKind::AcuteTrust => ("acute-trust", "Acute hospital trust"),
        OrgKind::MentalHealthTrust => ("mental-health-trust", "Mental health trust"),
        OrgKind::CommunityTrust => ("community-trust", "Community health services trust"),
        OrgKind::LocalAuthority => ("local-authority", "Local authority adult social care"),
        OrgKind::CareHome { nursing: true, .. } => ("care-home-nursing", "Care home with nursing"),
        OrgKind::CareHome { nursing: false, .. } => ("care-home", "Care home"),
        OrgKind::HomeCareProvider => ("home-care-provider", "Home care provider"),
    }
}

fn organization(o: &Org, la_code: &str) -> Value {
    let (code, display) = org_type(o.kind);
    let ident = if o.kind == OrgKind::LocalAuthority {
        identifier(
            &format!("{}/Id/local-authority-code", codes::WEAVE_BASE),
            la_code,
        )
    } else {
        identifier(ODS_SYSTEM, &o.ods)
    };
    json!({
        "resourceType": "Organization",
        "id": o.ods,
        "meta": { "profile": [super::uk_core("Organization")] },
        "identifier": [ident],
        "active": true,
        "type": [cc(&weave_cs("organisation-type"), code, display)],
        "name": o.name,
        "address": [address(&o.address, "work", None, None)]
    })
}

fn locations(b: &mut BundleBuilder, place: &Place) {
    let site = format!("{}-site", place.acute.ods);
    b.put(json!({
        "resourceType": "Location",
        "id": site,
        "status": "active",
        "name": format!("{} General Hospital", place.borough),
        "mode": "instance",
        "physicalType": cc("http://terminology.hl7.org/CodeSystem/location-physical-type", "si", "Site"),
        "address": address(&place.acute.address, "work", None, None),
        "managingOrganization": reference(&format!("Organization/{}", place.acute.ods))
    }));
    for w in WARDS {
        b.put(json!({
            "resourceType": "Location",
            "id": format!("{}-{}", place.acute.ods, w.code),
            "identifier": [identifier(&super::local_id_system(&place.acute.ods, "location"), w.code)],
            "status": "active",
            "name": w.name,
            "mode": "instance",
            "physicalType": cc("http://terminology.hl7.org/CodeSystem/location-physical-type", "wa", "Ward"),
            "managingOrganization": reference(&format!("Organization/{}", place.acute.ods)),
            "partOf": reference(&format!("Location/{site}"))
        }));
    }
}

fn staff(b: &mut BundleBuilder, place: &Place) {
    for s in &place.staff {
        b.put(json!({
            "resourceType": "Practitioner",
            "id": s.id,
            "identifier": [identifier(&format!("{}/Id/professional-registration", codes::WEAVE_BASE), &s.registration)],
            "active": true,
            "name": [{ "family": s.family, "given": [s.given] }]
        }));
        let mut role = json!({
            "resourceType": "PractitionerRole",
            "id": format!("{}-role", s.id),
            "active": true,
            "practitioner": reference(&format!("Practitioner/{}", s.id)),
            "organization": reference(&format!("Organization/{}", s.org_id)),
            "code": [cc("https://fhir.nhs.uk/Id/sds-role-code", s.role.0, s.role.1)]
        });
        if let Some(svc) = &s.service_id {
            role["healthcareService"] = json!([reference(&format!("HealthcareService/{svc}"))]);
        }
        b.put(role);
    }
}

fn services(b: &mut BundleBuilder, place: &Place) {
    b.put(json!({
        "resourceType": "HealthcareService",
        "id": place.frailty_team_id,
        "active": true,
        "providedBy": reference(&format!("Organization/{}", place.acute.ods)),
        "type": [cc(&weave_cs("service-type"), "acute-frailty-team", "Acute frailty team")],
        "name": "Acute Frailty Team",
        "comment": "Comprehensive geriatric assessment for frail older people admitted as emergencies",
        "location": [reference(&format!("Location/{}-site", place.acute.ods))]
    }));
    b.put(json!({
        "resourceType": "HealthcareService",
        "id": place.reablement_id,
        "active": true,
        "providedBy": reference(&format!("Organization/{}", place.council.ods)),
        "type": [cc(&weave_cs("cld-service-component"), "Reablement", "Reablement")],
        "name": format!("{} Reablement Service", place.borough),
        "comment": "Short-term support at home (ST-Max), usually up to six weeks after hospital discharge"
    }));
}

/// The place bundle.
#[must_use]
pub fn bundle(place: &Place, seed: u64) -> BundleBuilder {
    let mut b = BundleBuilder::new(IdGen::new(seed, 90, 0));
    let orgs = place
        .practices
        .iter()
        .chain([
            &place.acute,
            &place.mental_health,
            &place.community,
            &place.council,
        ])
        .chain(&place.care_homes)
        .chain(&place.home_care_providers);
    for o in orgs {
        b.put(organization(o, place.la_code));
    }
    locations(&mut b, place);
    services(&mut b, place);
    staff(&mut b, place);
    b
}
