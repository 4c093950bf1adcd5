//! The 36 deficits of the electronic Frailty Index (eFI) and their SNOMED CT concepts, kept as data.
//!
//! Deficit list and categories: Clegg A. et al., "Development and validation of an electronic frailty index
//! using routine primary care electronic health record data", Age and Ageing 2016;45:353–360. The original
//! maps deficits to Read v2 / CTV3 codes; Weave maps each to SNOMED CT concepts. Where a published SNOMED CT
//! eFI code set exists the concepts are taken from it — the Greater Manchester Secure Data Environment
//! clinical code sets (`shared/clinical-code-sets/patient/efi-*` in UoM-Data-Science-Platforms/gm-sde, which
//! reproduce the original eFI code lists in SNOMED). Other deficits use the principal SNOMED CT disorder
//! concept for the condition (noted per row). The first code of a row is the one the generator writes most
//! often; analytics should treat every listed code as evidence of the deficit.
//!
//! `prevalence_65` is the generator's target share of people aged 65+ with the deficit at about age 75 (a
//! model input chosen so that the category shares come out near 50/35/12/3 %, not a published figure).

/// One eFI deficit.
#[derive(Debug, Clone, Copy)]
pub struct Deficit {
    /// Stable key, e.g. `"atrial_fibrillation"`.
    pub key: &'static str,
    /// The deficit's name as in Clegg et al. 2016.
    pub name: &'static str,
    /// SNOMED CT concepts `(code, display)` that evidence the deficit. Empty for polypharmacy (derived).
    pub codes: &'static [(&'static str, &'static str)],
    /// Target share of people aged about 75 with the deficit (model input).
    pub prevalence_65: f64,
    /// Where the codes come from.
    pub source: &'static str,
}

const GM: &str = "GM-SDE eFI code set (SNOMED CT re-expression of Clegg 2016 Read codes)";
const SCT: &str = "principal SNOMED CT concept for the condition (Weave choice)";

/// Indices into [`DEFICITS`] that the simulation treats specially.
pub mod idx {
    pub const ACTIVITY_LIMITATION: usize = 0;
    pub const ANAEMIA: usize = 1;
    pub const ATRIAL_FIBRILLATION: usize = 3;
    pub const CEREBROVASCULAR: usize = 4;
    pub const CKD: usize = 5;
    pub const DIABETES: usize = 6;
    pub const FALLS: usize = 9;
    pub const FRAGILITY_FRACTURE: usize = 11;
    pub const HEART_FAILURE: usize = 13;
    pub const HOUSEBOUND: usize = 15;
    pub const HYPERTENSION: usize = 16;
    pub const MEMORY: usize = 19;
    pub const MOBILITY: usize = 20;
    pub const POLYPHARMACY: usize = 25;
    pub const CARE_REQUIREMENT: usize = 26;
    pub const RESPIRATORY: usize = 27;
    pub const SKIN_ULCER: usize = 28;
    pub const SOCIAL_VULNERABILITY: usize = 30;
}

/// Number of deficits (36).
pub const N_DEFICITS: usize = 36;

/// The eFI deficit → SNOMED CT table.
pub const DEFICITS: [Deficit; N_DEFICITS] = [
    Deficit { key: "activity_limitation", name: "Activity limitation", codes: &[("21134002", "Disability"), ("160983005", "Attendance allowance")], prevalence_65: 0.05, source: GM },
    Deficit { key: "anaemia", name: "Anaemia & haematinic deficiency", codes: &[("271737000", "Anemia"), ("87522002", "Iron deficiency anemia"), ("84027009", "Pernicious anemia")], prevalence_65: 0.15, source: GM },
    Deficit { key: "arthritis", name: "Arthritis", codes: &[("396275006", "Osteoarthritis"), ("69896004", "Rheumatoid arthritis")], prevalence_65: 0.45, source: SCT },
    Deficit { key: "atrial_fibrillation", name: "Atrial fibrillation", codes: &[("49436004", "Atrial fibrillation")], prevalence_65: 0.10, source: SCT },
    Deficit { key: "cerebrovascular", name: "Cerebrovascular disease", codes: &[("230690007", "Cerebrovascular accident"), ("266257000", "Transient ischemic attack")], prevalence_65: 0.08, source: SCT },
    Deficit { key: "chronic_kidney_disease", name: "Chronic kidney disease", codes: &[("433144002", "Chronic kidney disease stage 3"), ("431855005", "Chronic kidney disease stage 1")], prevalence_65: 0.20, source: SCT },
    Deficit { key: "diabetes", name: "Diabetes", codes: &[("44054006", "Diabetes mellitus type 2"), ("46635009", "Diabetes mellitus type 1")], prevalence_65: 0.18, source: SCT },
    Deficit { key: "dizziness", name: "Dizziness", codes: &[("404640003", "Dizziness"), ("399153001", "Vertigo")], prevalence_65: 0.20, source: GM },
    Deficit { key: "dyspnoea", name: "Dyspnoea", codes: &[("267036007", "Dyspnea"), ("60845006", "Dyspnea on exertion")], prevalence_65: 0.15, source: GM },
    Deficit { key: "falls", name: "Falls", codes: &[("161898004", "Falls"), ("1912002", "Fall"), ("279992002", "Recurrent falls")], prevalence_65: 0.14, source: GM },
    Deficit { key: "foot_problems", name: "Foot problems", codes: &[("202855006", "Hallux valgus"), ("400200009", "Ingrowing nail")], prevalence_65: 0.15, source: SCT },
    Deficit { key: "fragility_fracture", name: "Fragility fracture", codes: &[("5913000", "Fracture of neck of femur"), ("263225007", "Fracture of distal end of radius")], prevalence_65: 0.05, source: SCT },
    Deficit { key: "hearing_impairment", name: "Hearing impairment", codes: &[("15188001", "Hearing loss")], prevalence_65: 0.20, source: SCT },
    Deficit { key: "heart_failure", name: "Heart failure", codes: &[("84114007", "Heart failure")], prevalence_65: 0.05, source: SCT },
    Deficit { key: "heart_valve_disease", name: "Heart valve disease", codes: &[("368009", "Heart valve disorder"), ("60573004", "Aortic valve stenosis")], prevalence_65: 0.04, source: SCT },
    Deficit { key: "housebound", name: "Housebound", codes: &[("160689007", "Housebound")], prevalence_65: 0.05, source: GM },
    Deficit { key: "hypertension", name: "Hypertension", codes: &[("38341003", "Hypertensive disorder")], prevalence_65: 0.60, source: SCT },
    Deficit { key: "hypotension_syncope", name: "Hypotension / syncope", codes: &[("271594007", "Syncope"), ("45007003", "Low blood pressure")], prevalence_65: 0.08, source: SCT },
    Deficit { key: "ischaemic_heart_disease", name: "Ischaemic heart disease", codes: &[("414545008", "Ischemic heart disease"), ("194828000", "Angina")], prevalence_65: 0.15, source: SCT },
    Deficit { key: "memory_cognitive", name: "Memory & cognitive problems", codes: &[("386806002", "Impaired cognition"), ("52448006", "Dementia"), ("26929004", "Alzheimer's disease")], prevalence_65: 0.08, source: GM },
    Deficit { key: "mobility_transfer", name: "Mobility and transfer problems", codes: &[("302046008", "Difficulty mobilizing"), ("8510008", "Reduced mobility"), ("160693001", "Mobility poor")], prevalence_65: 0.06, source: GM },
    Deficit { key: "osteoporosis", name: "Osteoporosis", codes: &[("64859006", "Osteoporosis")], prevalence_65: 0.10, source: SCT },
    Deficit { key: "parkinsonism_tremor", name: "Parkinsonism & tremor", codes: &[("49049000", "Parkinson's disease"), ("26079004", "Tremor")], prevalence_65: 0.02, source: SCT },
    Deficit { key: "peptic_ulcer", name: "Peptic ulcer", codes: &[("13200003", "Peptic ulcer")], prevalence_65: 0.08, source: SCT },
    Deficit { key: "peripheral_vascular_disease", name: "Peripheral vascular disease", codes: &[("400047006", "Peripheral vascular disease")], prevalence_65: 0.04, source: SCT },
    Deficit { key: "polypharmacy", name: "Polypharmacy", codes: &[], prevalence_65: 0.45, source: "derived: five or more concurrent repeat medications (active MedicationStatement resources)" },
    Deficit { key: "requirement_for_care", name: "Requirement for care", codes: &[("184156005", "Has a caregiver"), ("160774006", "Home help attends"), ("248171000000108", "Lives in care home")], prevalence_65: 0.05, source: GM },
    Deficit { key: "respiratory_disease", name: "Respiratory disease", codes: &[("13645005", "Chronic obstructive lung disease"), ("195967001", "Asthma")], prevalence_65: 0.25, source: SCT },
    Deficit { key: "skin_ulcer", name: "Skin ulcer", codes: &[("399912005", "Pressure ulcer"), ("402863005", "Venous leg ulcer")], prevalence_65: 0.06, source: SCT },
    Deficit { key: "sleep_disturbance", name: "Sleep disturbance", codes: &[("193462001", "Insomnia"), ("314938000", "Poor sleep pattern")], prevalence_65: 0.15, source: GM },
    Deficit { key: "social_vulnerability", name: "Social vulnerability", codes: &[("105529008", "Lives alone"), ("33553000", "Widowed"), ("267076002", "Feeling lonely")], prevalence_65: 0.15, source: GM },
    Deficit { key: "thyroid_disease", name: "Thyroid disease", codes: &[("40930008", "Hypothyroidism"), ("34486009", "Hyperthyroidism")], prevalence_65: 0.12, source: SCT },
    Deficit { key: "urinary_incontinence", name: "Urinary incontinence", codes: &[("165232002", "Urinary incontinence"), ("87557004", "Urge incontinence of urine")], prevalence_65: 0.10, source: GM },
    Deficit { key: "urinary_system_disease", name: "Urinary system disease", codes: &[("68566005", "Urinary tract infectious disease"), ("266569009", "Benign prostatic hyperplasia")], prevalence_65: 0.20, source: SCT },
    Deficit { key: "visual_impairment", name: "Visual impairment", codes: &[("397540003", "Visual impairment"), ("193570009", "Cataract")], prevalence_65: 0.20, source: SCT },
    Deficit { key: "weight_loss_anorexia", name: "Weight loss & anorexia", codes: &[("89362005", "Weight loss"), ("79890006", "Loss of appetite")], prevalence_65: 0.05, source: GM },
];

/// eFI categories (Clegg 2016): fit 0–0.12, mild 0.13–0.24, moderate 0.25–0.36, severe > 0.36.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EfiCategory {
    Fit,
    Mild,
    Moderate,
    Severe,
}

impl EfiCategory {
    /// The category of a deficit count (0–36). With 36 deficits the cut-offs fall at 4/5, 8/9 and 12/13.
    #[must_use]
    pub fn from_count(count: usize) -> Self {
        match count {
            0..=4 => Self::Fit,
            5..=8 => Self::Mild,
            9..=12 => Self::Moderate,
            _ => Self::Severe,
        }
    }

    /// Lower-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fit => "fit",
            Self::Mild => "mild",
            Self::Moderate => "moderate",
            Self::Severe => "severe",
        }
    }
}

/// eFI score for a deficit count.
#[must_use]
pub fn score(count: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let s = count.min(N_DEFICITS) as f64 / N_DEFICITS as f64;
    s
}

/// The deficit a SNOMED CT code evidences, if any (linear scan over ~80 codes).
#[must_use]
pub fn deficit_for_code(code: &str) -> Option<usize> {
    DEFICITS
        .iter()
        .position(|d| d.codes.iter().any(|(c, _)| *c == code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unambiguous() {
        assert_eq!(DEFICITS.len(), 36);
        assert_eq!(DEFICITS[idx::POLYPHARMACY].key, "polypharmacy");
        assert_eq!(DEFICITS[idx::FALLS].key, "falls");
        assert_eq!(DEFICITS[idx::MEMORY].key, "memory_cognitive");
        assert_eq!(DEFICITS[idx::CARE_REQUIREMENT].key, "requirement_for_care");
        assert_eq!(
            DEFICITS[idx::SOCIAL_VULNERABILITY].key,
            "social_vulnerability"
        );
        assert_eq!(DEFICITS[idx::HYPERTENSION].key, "hypertension");
        for (i, d) in DEFICITS.iter().enumerate() {
            assert!(
                i == idx::POLYPHARMACY || !d.codes.is_empty(),
                "{} has no codes",
                d.key
            );
            for (code, _) in d.codes {
                assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
                assert_eq!(
                    deficit_for_code(code),
                    Some(i),
                    "{code} maps to two deficits"
                );
            }
        }
    }

    #[test]
    fn categories_follow_clegg_cut_offs() {
        assert_eq!(EfiCategory::from_count(4), EfiCategory::Fit);
        assert!(score(4) <= 0.12);
        assert_eq!(EfiCategory::from_count(5), EfiCategory::Mild);
        assert!(score(8) <= 0.24 && score(9) > 0.24);
        assert_eq!(EfiCategory::from_count(12), EfiCategory::Moderate);
        assert!(score(12) <= 0.36 && score(13) > 0.36);
        assert_eq!(EfiCategory::from_count(13), EfiCategory::Severe);
    }
}
