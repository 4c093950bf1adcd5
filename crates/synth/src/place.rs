//! The place: a fictional borough ("Loomford", postcode area XW) with localities (ward-sized areas with an
//! index-of-multiple-deprivation decile), GP practices, an acute trust with wards, a frailty team, a
//! mental-health trust, a community trust, the council's adult social care department with a reablement
//! service, care homes and home-care providers, and their staff.
//!
//! All codes are synthetic: trust codes `R9W/R9M/R9C`, practices `Y9nnnn`, care homes and providers
//! `V9xxx`, local-authority code `E08000999`. The sizes scale with the number of people.

use crate::names::{self, BOROUGH, POSTCODE_AREA, POSTCODE_UNIT_LETTERS};
use crate::rng::{stream, Rng};

/// A ward-sized area with a deprivation decile.
#[derive(Debug, Clone)]
pub struct Locality {
    pub name: &'static str,
    /// Synthetic LSOA-like code, e.g. `X01000007`.
    pub code: String,
    /// Index of Multiple Deprivation decile (1 = most deprived).
    pub imd_decile: u8,
    /// Postcode district number (XW<n>).
    pub district: u8,
    /// Postcode sector digit.
    pub sector: u8,
    /// The practice most people here register with.
    pub practice: usize,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub line: String,
    pub town: &'static str,
    pub postcode: String,
    pub locality: usize,
}

/// A member of staff (FHIR Practitioner + PractitionerRole).
#[derive(Debug, Clone)]
pub struct Staff {
    /// FHIR id of the Practitioner (the PractitionerRole id is this plus `-role`).
    pub id: String,
    pub given: &'static str,
    pub family: &'static str,
    /// Professional registration number (GMC-style 7 digits for doctors, NMC-style for nurses).
    pub registration: String,
    /// SDS job role code and display.
    pub role: (&'static str, &'static str),
    /// FHIR id of the employing Organization.
    pub org_id: String,
    /// FHIR id of the HealthcareService the role delivers, if any.
    pub service_id: Option<String>,
}

/// An organisation in the place.
#[derive(Debug, Clone)]
pub struct Org {
    /// ODS-style code (also the FHIR id).
    pub ods: String,
    pub name: String,
    pub kind: OrgKind,
    pub address: Address,
}

/// Kinds of organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    GpPractice,
    AcuteTrust,
    MentalHealthTrust,
    CommunityTrust,
    LocalAuthority,
    CareHome { nursing: bool, beds: u16 },
    HomeCareProvider,
}

/// A hospital ward or department.
#[derive(Debug, Clone)]
pub struct Ward {
    pub code: &'static str,
    pub name: &'static str,
    /// Treatment function most patients on the ward are under.
    pub specialty: (&'static str, &'static str),
}

/// The acute trust's wards (the first is the emergency department).
pub const WARDS: &[Ward] = &[
    Ward {
        code: "ED",
        name: "Emergency Department",
        specialty: crate::codes::treatment_function::EMERGENCY_MEDICINE,
    },
    Ward {
        code: "AMU",
        name: "Acute Medical Unit",
        specialty: crate::codes::treatment_function::GENERAL_MEDICINE,
    },
    Ward {
        code: "W10",
        name: "Ward 10 (Care of Older People)",
        specialty: crate::codes::treatment_function::GERIATRIC_MEDICINE,
    },
    Ward {
        code: "W11",
        name: "Ward 11 (Care of Older People)",
        specialty: crate::codes::treatment_function::GERIATRIC_MEDICINE,
    },
    Ward {
        code: "W20",
        name: "Ward 20 (Trauma & Orthopaedics)",
        specialty: crate::codes::treatment_function::TRAUMA_ORTHOPAEDICS,
    },
    Ward {
        code: "W24",
        name: "Ward 24 (Stroke Unit)",
        specialty: crate::codes::treatment_function::STROKE_MEDICINE,
    },
    Ward {
        code: "W30",
        name: "Ward 30 (General Medicine)",
        specialty: crate::codes::treatment_function::GENERAL_MEDICINE,
    },
    Ward {
        code: "SAU",
        name: "Surgical Admissions & Day Surgery",
        specialty: crate::codes::treatment_function::GENERAL_SURGERY,
    },
];

/// Ward indices used by the simulation.
pub mod ward {
    pub const ED: usize = 0;
    pub const AMU: usize = 1;
    pub const COOP_A: usize = 2;
    pub const COOP_B: usize = 3;
    pub const ORTHO: usize = 4;
    pub const STROKE: usize = 5;
    pub const MEDICINE: usize = 6;
    pub const SURGICAL: usize = 7;
}

/// The whole place.
#[derive(Debug, Clone)]
pub struct Place {
    pub borough: &'static str,
    /// Local authority (ONS-style) code and name, as in the CLD `LA_Code` / `LA_Name` columns.
    pub la_code: &'static str,
    pub la_name: String,
    pub localities: Vec<Locality>,
    pub practices: Vec<Org>,
    pub acute: Org,
    pub mental_health: Org,
    pub community: Org,
    pub council: Org,
    pub care_homes: Vec<Org>,
    pub home_care_providers: Vec<Org>,
    pub staff: Vec<Staff>,
    /// FHIR id of the acute frailty team HealthcareService.
    pub frailty_team_id: String,
    /// FHIR id of the council's reablement HealthcareService.
    pub reablement_id: String,
    /// Index into `staff` of the frailty team geriatrician.
    pub frailty_lead: usize,
    /// Indices into `staff` of the council's social workers.
    pub social_workers: Vec<usize>,
}

/// Staff role codes: `(code, display)`. R-codes from the NHS SDS job-role list as quoted in DOMAIN.md.
pub const ROLE_CLINICAL: (&str, &str) = ("R8000", "Clinical Practitioner Access Role");
pub const ROLE_NURSE: (&str, &str) = ("R8001", "Nurse Access Role");

fn postcode(rng: &mut Rng, loc: &Locality) -> String {
    let a = POSTCODE_UNIT_LETTERS[rng.index(POSTCODE_UNIT_LETTERS.len())] as char;
    let b = POSTCODE_UNIT_LETTERS[rng.index(POSTCODE_UNIT_LETTERS.len())] as char;
    format!("{POSTCODE_AREA}{} {}{a}{b}", loc.district, loc.sector)
}

/// A random residential address in locality `locality`.
pub fn random_address(rng: &mut Rng, localities: &[Locality], locality: usize) -> Address {
    let loc = &localities[locality];
    let number = 1 + rng.below(180);
    let line = format!(
        "{number} {} {}",
        rng.pick(names::STREET_STEMS),
        rng.pick(names::STREET_SUFFIXES)
    );
    Address {
        line,
        town: BOROUGH,
        postcode: postcode(rng, loc),
        locality,
    }
}

fn org(
    rng: &mut Rng,
    localities: &[Locality],
    ods: String,
    name: String,
    kind: OrgKind,
    locality: usize,
) -> Org {
    Org {
        ods,
        name,
        kind,
        address: random_address(rng, localities, locality),
    }
}

fn build_localities(rng: &mut Rng, people: usize, n_practices: usize) -> Vec<Locality> {
    let n = (people / 2_500).clamp(4, names::LOCALITY_NAMES.len());
    (0..n)
        .map(|i| {
            // Deciles spread over the borough with a deprived centre (lower deciles first).
            #[allow(clippy::cast_possible_truncation)]
            let base = 1 + (i * 10 / n) as u8;
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let jitter = rng.range_i64(-1, 1) as i8;
            #[allow(clippy::cast_sign_loss)]
            let imd_decile = (base as i8 + jitter).clamp(1, 10) as u8;
            #[allow(clippy::cast_possible_truncation)]
            Locality {
                name: names::LOCALITY_NAMES[i],
                code: format!("X01{:06}", 100 + i),
                imd_decile,
                district: 1 + (i / 3) as u8,
                sector: 1 + (i % 3) as u8 * 3,
                practice: i * n_practices / n,
            }
        })
        .collect()
}

fn staff_member(
    rng: &mut Rng,
    id: String,
    role: (&'static str, &'static str),
    org_id: &str,
    service_id: Option<String>,
) -> Staff {
    let female = rng.chance(0.55);
    let pool = crate::codes::NamePool::British;
    Staff {
        id,
        given: names::given_name(rng, pool, female, 1975),
        family: names::family_name(rng, pool),
        registration: format!("{}", 2_000_000 + rng.below(7_000_000)),
        role,
        org_id: org_id.to_owned(),
        service_id,
    }
}

/// Builds the place for a population of `people` (deterministic for the seed).
#[must_use]
pub fn build(seed: u64, people: usize) -> Place {
    let mut rng = Rng::derive(seed, stream::PLACE, 0);
    let n_practices = (people / 7_000).clamp(2, 30);
    let localities = build_localities(&mut rng, people, n_practices);
    let practice_locality = |p: usize| localities.iter().position(|l| l.practice == p).unwrap_or(0);
    let practices: Vec<Org> = (0..n_practices)
        .map(|p| {
            let loc = practice_locality(p);
            let name = format!("{} Medical Practice", localities[loc].name);
            org(
                &mut rng,
                &localities,
                format!("Y9{:04}", 1 + p),
                name,
                OrgKind::GpPractice,
                loc,
            )
        })
        .collect();
    let acute = org(
        &mut rng,
        &localities,
        "R9W".into(),
        format!("{BOROUGH} Hospitals NHS Foundation Trust"),
        OrgKind::AcuteTrust,
        0,
    );
    let mental_health = org(
        &mut rng,
        &localities,
        "R9M".into(),
        format!("{BOROUGH} and District Mental Health NHS Trust"),
        OrgKind::MentalHealthTrust,
        1,
    );
    let community = org(
        &mut rng,
        &localities,
        "R9C".into(),
        format!("{BOROUGH} Community Health Services NHS Trust"),
        OrgKind::CommunityTrust,
        0,
    );
    let council = org(
        &mut rng,
        &localities,
        "LA999".into(),
        format!("{BOROUGH} Metropolitan Borough Council Adult Social Care"),
        OrgKind::LocalAuthority,
        0,
    );
    let n_homes = (people / 2_000).clamp(2, 40);
    let care_homes: Vec<Org> = (0..n_homes)
        .map(|i| {
            let loc = i % localities.len();
            let nursing = i % 3 == 0;
            #[allow(clippy::cast_possible_truncation)]
            let beds = (25 + rng.below(50)) as u16;
            let kind = if nursing { "Nursing Home" } else { "Care Home" };
            let name = format!(
                "{} House {kind}",
                names::STREET_STEMS[(i * 7 + 3) % names::STREET_STEMS.len()]
            );
            org(
                &mut rng,
                &localities,
                format!("V9C{i:02}"),
                name,
                OrgKind::CareHome { nursing, beds },
                loc,
            )
        })
        .collect();
    let n_providers = (people / 8_000).clamp(2, 10);
    let home_care_providers: Vec<Org> = (0..n_providers)
        .map(|i| {
            let name = format!(
                "{} Home Care Ltd",
                names::STREET_STEMS[(i * 11 + 5) % names::STREET_STEMS.len()]
            );
            org(
                &mut rng,
                &localities,
                format!("V9H{i:02}"),
                name,
                OrgKind::HomeCareProvider,
                i % localities.len(),
            )
        })
        .collect();
    let frailty_team_id = "R9W-frailty-team".to_owned();
    let reablement_id = "LA999-reablement".to_owned();
    let mut staff = Vec::new();
    for p in &practices {
        for k in 0..3 {
            let role = if k == 2 { ROLE_NURSE } else { ROLE_CLINICAL };
            staff.push(staff_member(
                &mut rng,
                format!("{}-staff-{}", p.ods, k + 1),
                role,
                &p.ods,
                None,
            ));
        }
    }
    let frailty_lead = staff.len();
    staff.push(staff_member(
        &mut rng,
        "R9W-geriatrician-1".into(),
        ROLE_CLINICAL,
        "R9W",
        Some(frailty_team_id.clone()),
    ));
    staff.push(staff_member(
        &mut rng,
        "R9W-frailty-nurse-1".into(),
        ROLE_NURSE,
        "R9W",
        Some(frailty_team_id.clone()),
    ));
    staff.push(staff_member(
        &mut rng,
        "R9M-crisis-1".into(),
        ROLE_NURSE,
        "R9M",
        None,
    ));
    staff.push(staff_member(
        &mut rng,
        "R9C-district-nurse-1".into(),
        ROLE_NURSE,
        "R9C",
        None,
    ));
    let social_workers = (0..4)
        .map(|k| {
            staff.push(staff_member(
                &mut rng,
                format!("LA999-social-worker-{}", k + 1),
                ROLE_CLINICAL,
                "LA999",
                None,
            ));
            staff.len() - 1
        })
        .collect();
    Place {
        borough: BOROUGH,
        la_code: "E08000999",
        la_name: BOROUGH.to_owned(),
        localities,
        practices,
        acute,
        mental_health,
        community,
        council,
        care_homes,
        home_care_providers,
        staff,
        frailty_team_id,
        reablement_id,
        frailty_lead,
        social_workers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_is_deterministic() {
        let small = build(1, 300);
        assert_eq!(small.practices.len(), 2);
        assert_eq!(small.localities.len(), 4);
        let big = build(1, 50_000);
        assert_eq!(big.practices.len(), 7);
        assert_eq!(big.localities.len(), 20);
        assert!(big
            .localities
            .iter()
            .all(|l| (1..=10).contains(&l.imd_decile)));
        assert!(big
            .localities
            .iter()
            .all(|l| l.practice < big.practices.len()));
        let again = build(1, 50_000);
        assert_eq!(big.practices[3].address, again.practices[3].address);
    }

    #[test]
    fn postcodes_have_uk_shape() {
        let p = build(9, 5_000);
        let mut rng = Rng::new(5);
        for i in 0..p.localities.len() {
            let a = random_address(&mut rng, &p.localities, i);
            let (out, inward) = a.postcode.split_once(' ').unwrap_or(("", ""));
            assert!(out.starts_with("XW") && out.len() <= 4, "{}", a.postcode);
            assert_eq!(inward.len(), 3, "{}", a.postcode);
            assert!(inward.as_bytes()[0].is_ascii_digit());
        }
    }
}
