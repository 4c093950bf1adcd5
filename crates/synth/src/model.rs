//! The simulated ground truth: one [`Person`] per individual with their whole life course in the window,
//! independent of how any source records it. Writers render this model into each source's native format
//! (with that source's messy view of identity) and into FHIR; `truth.json` is computed from it.

use crate::codes::Coded;
use crate::date::{Date, DateTime};
use crate::efi;
use crate::place::Address;

/// Administrative sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// FHIR `administrative-gender` code.
    #[must_use]
    pub fn fhir(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
    /// HL7 v2 table 0001 code.
    #[must_use]
    pub fn hl7(self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
        }
    }
    /// CLD `Gender` code (1 male, 2 female).
    #[must_use]
    pub fn cld(self) -> &'static str {
        match self {
            Self::Male => "1",
            Self::Female => "2",
        }
    }
}

/// Where someone lived from a date.
#[derive(Debug, Clone)]
pub struct Residence {
    pub from: Date,
    pub address: Address,
    /// Index into `Place::care_homes` when the residence is a care home.
    pub care_home: Option<usize>,
}

/// An eFI deficit and when it began.
#[derive(Debug, Clone, Copy)]
pub struct DeficitOnset {
    /// Index into `efi::DEFICITS`.
    pub deficit: u8,
    /// Index into that deficit's `codes` (unused for polypharmacy).
    pub code: u8,
    pub onset: Date,
}

/// A repeat medication course.
#[derive(Debug, Clone, Copy)]
pub struct MedCourse {
    /// Index into `codes::MEDICATIONS`.
    pub med: u16,
    pub start: Date,
    pub end: Option<Date>,
}

/// A diagnosis outside the eFI list (mental health, learning disability).
#[derive(Debug, Clone, Copy)]
pub struct OtherCondition {
    pub code: Coded,
    pub onset: Date,
}

/// GP consultation modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpMode {
    Surgery,
    Telephone,
    HomeVisit,
}

/// A GP consultation.
#[derive(Debug, Clone, Copy)]
pub struct GpContact {
    pub at: DateTime,
    pub mode: GpMode,
    pub reason: Coded,
    /// Staff index (into `Place::staff`).
    pub clinician: u16,
}

/// A GP measurement.
#[derive(Debug, Clone, Copy)]
pub struct GpObservation {
    pub at: DateTime,
    /// `(SNOMED code, display, UCUM unit)`.
    pub code: (&'static str, &'static str, &'static str),
    pub value: f64,
}

/// How an inpatient spell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discharge {
    /// Back to where the person usually lives (including an existing care-home placement).
    UsualResidence,
    /// Newly into a care home.
    CareHome,
    Died,
}

/// An emergency department attendance.
#[derive(Debug, Clone)]
pub struct EdAttendance {
    pub arrive: DateTime,
    pub depart: DateTime,
    pub reason: Coded,
    /// Index into `Person::admissions` when the attendance led to admission.
    pub admission: Option<usize>,
    /// Index into `Person::hospital_ids` of the MRN used.
    pub mrn: u8,
}

/// Admission method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionKind {
    Emergency,
    Elective,
}

/// A laboratory result.
#[derive(Debug, Clone, Copy)]
pub struct LabResult {
    /// Index into `codes::LAB_TESTS`.
    pub test: u8,
    pub value: f64,
}

/// An inpatient spell.
#[derive(Debug, Clone)]
pub struct Admission {
    pub kind: AdmissionKind,
    pub admit: DateTime,
    pub discharge_at: DateTime,
    pub reason: Coded,
    /// Ward stays: `(from, ward index)`, the first being the admitting ward.
    pub wards: Vec<(DateTime, usize)>,
    /// When the hospital frailty team saw the person, if it did.
    pub frailty_team: Option<DateTime>,
    /// eFI deficit count on admission.
    pub efi_count: u8,
    /// Age ≥ 65 and eFI ≥ 0.13 on admission, emergency: eligible for the planted frailty-team effect.
    pub frail: bool,
    /// Length of stay in days had the frailty team not been involved (the counterfactual for treated spells).
    pub los_untreated_days: f64,
    /// Realised length of stay in days.
    pub los_days: f64,
    pub discharge: Discharge,
    pub labs: Vec<LabResult>,
    /// Index into `Person::hospital_ids` of the MRN used.
    pub mrn: u8,
}

/// The follow-up of a frail person's discharge home for whom a social care request was made: the unit of
/// the planted reablement effect.
#[derive(Debug, Clone, Copy)]
pub struct DischargeFollowUp {
    /// Index into `Person::admissions`.
    pub admission: usize,
    pub discharge: Date,
    pub reablement: bool,
    /// Probability of care-home admission within 91 days without reablement.
    pub p_care_home_untreated: f64,
    pub care_home_within_91d: bool,
}

/// Mental-health contact kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MhKind {
    Crisis,
    MemoryClinic,
    CommunityTeam,
}

/// A mental-health trust contact.
#[derive(Debug, Clone, Copy)]
pub struct MhContact {
    pub at: DateTime,
    pub kind: MhKind,
    pub reason: Coded,
}

/// Community services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommunityKind {
    DistrictNursing,
    FallsService,
}

/// A community episode with its visits.
#[derive(Debug, Clone)]
pub struct CommunityEpisode {
    pub kind: CommunityKind,
    pub start: Date,
    pub end: Date,
    pub reason: Coded,
    pub visits: Vec<DateTime>,
}

/// CLD event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareEventKind {
    Request,
    Assessment,
    Service,
    Review,
}

impl CareEventKind {
    /// CLD `Event_Type` string.
    #[must_use]
    pub fn cld(self) -> &'static str {
        match self {
            Self::Request => "Request",
            Self::Assessment => "Assessment",
            Self::Service => "Service",
            Self::Review => "Review",
        }
    }
}

/// Details of a Service event.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDetail {
    /// CLD service type, e.g. `"Long Term Support: Residential Care"`.
    pub service_type: &'static str,
    /// CLD service component, e.g. `"Long term residential care"`.
    pub component: &'static str,
    pub delivery: &'static str,
    /// Key into the unit-cost table.
    pub cost_key: &'static str,
    pub unit_pence: i64,
    /// What the unit cost is per (hour, week, day, one-off).
    pub unit: crate::costs::CostUnit,
    pub units_per_week: f64,
    /// Care-home or home-care provider index (into `Place::care_homes` / `home_care_providers`).
    pub provider: Option<usize>,
    pub long_term: bool,
}

impl ServiceDetail {
    /// Planned weekly cost in pence.
    #[must_use]
    pub fn weekly_pence(&self) -> i64 {
        #[allow(clippy::cast_possible_truncation)]
        let w = (self.unit_pence as f64 * self.units_per_week).round() as i64;
        w
    }
}

/// A social care event (one CLD row per reporting period it is live in).
#[derive(Debug, Clone)]
pub struct CareEvent {
    /// Per-person sequence number (stable id within the person).
    pub seq: u16,
    pub kind: CareEventKind,
    pub start: Date,
    pub end: Option<Date>,
    pub outcome: Option<&'static str>,
    pub psr: &'static str,
    /// What prompted a request (`"Hospital discharge"`, `"Community"`…), also used for review reasons.
    pub route: &'static str,
    pub service: Option<ServiceDetail>,
    /// The event this one follows from (request → assessment → service; review → service).
    pub parent: Option<u16>,
    /// Which of the person's council records (0 or 1 for a duplicate registration) the event is filed under.
    pub la_record: u8,
}

/// Flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    Safeguarding,
    Dnacpr,
}

/// A flag with its period.
#[derive(Debug, Clone, Copy)]
pub struct FlagRec {
    pub kind: FlagKind,
    pub start: Date,
    pub end: Option<Date>,
}

/// How one source records a person. Fields differ from the truth by the source's error rates.
#[derive(Debug, Clone)]
pub struct SourceIdentity {
    /// The source's own record id (MRN, council person id, GP local id...).
    pub record_id: String,
    pub nhs_number: Option<String>,
    pub given: String,
    pub family: String,
    pub birth_date: Date,
    /// When set, the source keeps the address of this date instead of following moves.
    pub address_frozen_at: Option<Date>,
    /// Errors applied, for truth.json (`"nickname"`, `"typo"`, `"dob_swap"`, `"no_nhs_number"`, `"stale_address"`, `"duplicate"`).
    pub errors: Vec<&'static str>,
    /// For a duplicate hospital record: when (if ever) it was merged into the primary (ADT A40).
    pub merged_at: Option<DateTime>,
}

/// One person.
#[derive(Debug, Clone)]
pub struct Person {
    pub idx: u32,
    pub nhs_number: String,
    pub sex: Sex,
    pub given: &'static str,
    pub middle: Option<&'static str>,
    pub family: &'static str,
    pub birth_date: Date,
    /// Index into `codes::ETHNICITIES`.
    pub ethnicity: u8,
    pub residences: Vec<Residence>,
    /// Index into `Place::practices`.
    pub practice: u16,
    pub death: Option<Date>,
    /// Latent frailty propensity (standard normal).
    pub frailty_z: f64,
    pub deficits: Vec<DeficitOnset>,
    pub other_conditions: Vec<OtherCondition>,
    pub meds: Vec<MedCourse>,
    pub gp_contacts: Vec<GpContact>,
    pub gp_observations: Vec<GpObservation>,
    pub ed: Vec<EdAttendance>,
    pub admissions: Vec<Admission>,
    pub follow_ups: Vec<DischargeFollowUp>,
    pub mh: Vec<MhContact>,
    pub community: Vec<CommunityEpisode>,
    pub care: Vec<CareEvent>,
    pub flags: Vec<FlagRec>,
    /// Identities: GP (always), hospital (one per MRN; empty if never seen), council (one per person record;
    /// empty if never known), mental health, community.
    pub gp_id: SourceIdentity,
    pub hospital_ids: Vec<SourceIdentity>,
    pub council_ids: Vec<SourceIdentity>,
    pub mh_id: Option<SourceIdentity>,
    pub community_id: Option<SourceIdentity>,
}

impl Person {
    /// Number of deficits present on `on`.
    #[must_use]
    pub fn deficit_count(&self, on: Date) -> usize {
        self.deficits.iter().filter(|d| d.onset <= on).count()
    }

    /// eFI score on `on`.
    #[must_use]
    pub fn efi(&self, on: Date) -> f64 {
        efi::score(self.deficit_count(on))
    }

    /// Whether deficit `deficit` is present on `on`.
    #[must_use]
    pub fn has_deficit(&self, deficit: usize, on: Date) -> bool {
        self.deficits
            .iter()
            .any(|d| usize::from(d.deficit) == deficit && d.onset <= on)
    }

    /// The residence on `on` (the first one if `on` precedes all).
    #[must_use]
    pub fn residence_on(&self, on: Date) -> &Residence {
        self.residences
            .iter()
            .rev()
            .find(|r| r.from <= on)
            .unwrap_or(&self.residences[0])
    }

    /// Whether alive on `on` (born on or before and not yet dead).
    #[must_use]
    pub fn alive_on(&self, on: Date) -> bool {
        self.birth_date <= on && self.death.is_none_or(|d| d > on)
    }

    /// Age in whole years on `on`.
    #[must_use]
    pub fn age_on(&self, on: Date) -> i32 {
        self.birth_date.age_on(on)
    }

    /// Stable person key used in truth.json, e.g. `P000042`.
    #[must_use]
    pub fn key(&self) -> String {
        format!("P{:06}", self.idx)
    }
}
