//! Clinical and administrative code tables: medications, encounter reasons, laboratory tests, ethnic
//! categories and code-system URLs.
//!
//! Medication concepts are dm+d virtual medicinal products (VMPs), which are SNOMED CT concepts in the UK
//! drug extension; they are written with the SNOMED CT system URL as UK Core does. The ids were chosen for
//! plausibility and have not been checked against a dm+d release — treat them as "dm+d-like" test data.

/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// UCUM.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// NHS number identifier system.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// ODS organisation code identifier system.
pub const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// Weave's base for local identifier systems, extensions and code systems.
pub const WEAVE_BASE: &str = "https://weave.example";

/// A medication (dm+d-like VMP) with the deficit indices that prompt it.
#[derive(Debug, Clone, Copy)]
pub struct Medication {
    pub code: &'static str,
    pub display: &'static str,
    /// Deficits (indices into `efi::DEFICITS`) for which this drug is a typical repeat prescription.
    pub for_deficits: &'static [usize],
}

/// Repeat medications; the last entries (no deficits) are "filler" drugs added to reach polypharmacy.
pub const MEDICATIONS: &[Medication] = &[
    Medication {
        code: "319283006",
        display: "Amlodipine 5mg tablets",
        for_deficits: &[16],
    },
    Medication {
        code: "318900003",
        display: "Ramipril 2.5mg capsules",
        for_deficits: &[16, 13],
    },
    Medication {
        code: "320000009",
        display: "Atorvastatin 20mg tablets",
        for_deficits: &[18, 4, 6, 24],
    },
    Medication {
        code: "325278007",
        display: "Metformin 500mg tablets",
        for_deficits: &[6],
    },
    Medication {
        code: "325238008",
        display: "Gliclazide 80mg tablets",
        for_deficits: &[6],
    },
    Medication {
        code: "318590006",
        display: "Bisoprolol 2.5mg tablets",
        for_deficits: &[3, 13, 18],
    },
    Medication {
        code: "703907006",
        display: "Apixaban 5mg tablets",
        for_deficits: &[3],
    },
    Medication {
        code: "317300006",
        display: "Clopidogrel 75mg tablets",
        for_deficits: &[4, 24],
    },
    Medication {
        code: "317972000",
        display: "Furosemide 40mg tablets",
        for_deficits: &[13],
    },
    Medication {
        code: "325225003",
        display: "Levothyroxine sodium 50microgram tablets",
        for_deficits: &[31],
    },
    Medication {
        code: "320176004",
        display: "Salbutamol 100micrograms/dose inhaler",
        for_deficits: &[27, 8],
    },
    Medication {
        code: "317335002",
        display: "Omeprazole 20mg gastro-resistant capsules",
        for_deficits: &[23],
    },
    Medication {
        code: "322980003",
        display: "Donepezil 5mg tablets",
        for_deficits: &[19],
    },
    Medication {
        code: "324381008",
        display: "Co-careldopa 25mg/100mg tablets",
        for_deficits: &[22],
    },
    Medication {
        code: "3995311000001108",
        display: "Alendronic acid 70mg tablets",
        for_deficits: &[21, 11],
    },
    Medication {
        code: "325174005",
        display: "Ferrous fumarate 210mg tablets",
        for_deficits: &[1],
    },
    Medication {
        code: "317962002",
        display: "Tamsulosin 400microgram modified-release capsules",
        for_deficits: &[33],
    },
    Medication {
        code: "321229002",
        display: "Zopiclone 3.75mg tablets",
        for_deficits: &[29],
    },
    Medication {
        code: "322236009",
        display: "Paracetamol 500mg tablets",
        for_deficits: &[2],
    },
    Medication {
        code: "321946007",
        display: "Sertraline 50mg tablets",
        for_deficits: &[],
    },
    Medication {
        code: "327096008",
        display: "Colecalciferol 800unit capsules",
        for_deficits: &[],
    },
    Medication {
        code: "317949005",
        display: "Lactulose 3.1-3.7g/5ml oral solution",
        for_deficits: &[],
    },
    Medication {
        code: "330249000",
        display: "Docusate sodium 100mg capsules",
        for_deficits: &[],
    },
];

/// Index of the first filler medication (no deficit link) in [`MEDICATIONS`].
pub const FIRST_FILLER_MED: usize = 19;

/// A coded reason or procedure `(code, display)` in SNOMED CT.
pub type Coded = (&'static str, &'static str);

/// Acute reasons for GP consultations (besides long-term-condition reviews).
pub const GP_ACUTE_REASONS: &[Coded] = &[
    ("54150009", "Upper respiratory infection"),
    ("279039007", "Low back pain"),
    ("49727002", "Cough"),
    ("271807003", "Eruption of skin"),
    ("21522001", "Abdominal pain"),
    ("25064002", "Headache"),
    ("35489007", "Depressive disorder"),
    ("197480006", "Anxiety disorder"),
];

/// Reasons for ED attendance not caused by a frailty event.
pub const ED_REASONS: &[Coded] = &[
    ("29857009", "Chest pain"),
    ("21522001", "Abdominal pain"),
    ("82271004", "Injury of head"),
    ("312608009", "Laceration"),
    ("233604007", "Pneumonia"),
    ("68566005", "Urinary tract infectious disease"),
    ("128045006", "Cellulitis"),
    ("266364000", "Asthma attack"),
    (
        "195951007",
        "Acute exacerbation of chronic obstructive airways disease",
    ),
    ("2776000", "Delirium"),
];

/// Elective procedures.
pub const ELECTIVE_PROCEDURES: &[Coded] = &[
    ("54885007", "Extraction of cataract"),
    ("52734007", "Total replacement of hip"),
    ("609588000", "Total knee replacement"),
    ("73761001", "Colonoscopy"),
    ("44558001", "Repair of inguinal hernia"),
];

/// Mental-health conditions (not eFI deficits).
pub const MH_CONDITIONS: &[Coded] = &[
    ("35489007", "Depressive disorder"),
    ("58214004", "Schizophrenia"),
    ("13746004", "Bipolar disorder"),
];

/// Learning disability.
pub const LEARNING_DISABILITY: Coded = ("110359009", "Intellectual disability");

/// A laboratory test in the hospital's results feed.
#[derive(Debug, Clone, Copy)]
pub struct LabTest {
    pub loinc: &'static str,
    pub display: &'static str,
    pub unit: &'static str,
    pub ucum: &'static str,
    pub mean: f64,
    pub sd: f64,
    pub decimals: u8,
    pub low: f64,
    pub high: f64,
}

/// Admission bloods (full blood count, urea & electrolytes, CRP).
pub const LAB_TESTS: &[LabTest] = &[
    LabTest {
        loinc: "718-7",
        display: "Hemoglobin [Mass/volume] in Blood",
        unit: "g/L",
        ucum: "g/L",
        mean: 128.0,
        sd: 16.0,
        decimals: 0,
        low: 115.0,
        high: 165.0,
    },
    LabTest {
        loinc: "6690-2",
        display: "Leukocytes [#/volume] in Blood",
        unit: "10*9/L",
        ucum: "10*9/L",
        mean: 8.5,
        sd: 3.0,
        decimals: 1,
        low: 4.0,
        high: 11.0,
    },
    LabTest {
        loinc: "2951-2",
        display: "Sodium [Moles/volume] in Serum or Plasma",
        unit: "mmol/L",
        ucum: "mmol/L",
        mean: 138.0,
        sd: 4.0,
        decimals: 0,
        low: 133.0,
        high: 146.0,
    },
    LabTest {
        loinc: "2823-3",
        display: "Potassium [Moles/volume] in Serum or Plasma",
        unit: "mmol/L",
        ucum: "mmol/L",
        mean: 4.3,
        sd: 0.5,
        decimals: 1,
        low: 3.5,
        high: 5.3,
    },
    LabTest {
        loinc: "14682-9",
        display: "Creatinine [Moles/volume] in Serum or Plasma",
        unit: "umol/L",
        ucum: "umol/L",
        mean: 95.0,
        sd: 30.0,
        decimals: 0,
        low: 45.0,
        high: 110.0,
    },
    LabTest {
        loinc: "1988-5",
        display: "C reactive protein [Mass/volume] in Serum or Plasma",
        unit: "mg/L",
        ucum: "mg/L",
        mean: 25.0,
        sd: 30.0,
        decimals: 0,
        low: 0.0,
        high: 5.0,
    },
];

/// GP observations: `(SNOMED code, display, UCUM unit)`.
pub const OBS_SYSTOLIC: (&str, &str, &str) = ("271649006", "Systolic blood pressure", "mm[Hg]");
pub const OBS_DIASTOLIC: (&str, &str, &str) = ("271650006", "Diastolic blood pressure", "mm[Hg]");
pub const OBS_WEIGHT: (&str, &str, &str) = ("27113001", "Body weight", "kg");

/// NHS Data Dictionary ethnic category (2001 census categories, letter codes) with the generator's share
/// of the population (England & Wales 2021 census, rounded; "Z" not stated).
#[derive(Debug, Clone, Copy)]
pub struct Ethnicity {
    pub code: &'static str,
    pub display: &'static str,
    pub share: f64,
    /// Name pool for given and family names.
    pub names: NamePool,
}

/// Which name lists a person's names are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePool {
    British,
    SouthAsian,
    African,
    EastEuropean,
}

/// UK Core ethnic category code system (England).
pub const ETHNIC_CATEGORY_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland";

/// The ethnic categories.
pub const ETHNICITIES: &[Ethnicity] = &[
    Ethnicity {
        code: "A",
        display: "White - British",
        share: 73.5,
        names: NamePool::British,
    },
    Ethnicity {
        code: "B",
        display: "White - Irish",
        share: 0.9,
        names: NamePool::British,
    },
    Ethnicity {
        code: "C",
        display: "White - Any other White background",
        share: 6.3,
        names: NamePool::EastEuropean,
    },
    Ethnicity {
        code: "D",
        display: "Mixed - White and Black Caribbean",
        share: 0.9,
        names: NamePool::British,
    },
    Ethnicity {
        code: "E",
        display: "Mixed - White and Black African",
        share: 0.5,
        names: NamePool::British,
    },
    Ethnicity {
        code: "F",
        display: "Mixed - White and Asian",
        share: 0.8,
        names: NamePool::British,
    },
    Ethnicity {
        code: "G",
        display: "Mixed - Any other mixed background",
        share: 0.8,
        names: NamePool::British,
    },
    Ethnicity {
        code: "H",
        display: "Asian or Asian British - Indian",
        share: 3.1,
        names: NamePool::SouthAsian,
    },
    Ethnicity {
        code: "J",
        display: "Asian or Asian British - Pakistani",
        share: 2.7,
        names: NamePool::SouthAsian,
    },
    Ethnicity {
        code: "K",
        display: "Asian or Asian British - Bangladeshi",
        share: 1.1,
        names: NamePool::SouthAsian,
    },
    Ethnicity {
        code: "L",
        display: "Asian or Asian British - Any other Asian background",
        share: 1.6,
        names: NamePool::SouthAsian,
    },
    Ethnicity {
        code: "M",
        display: "Black or Black British - Caribbean",
        share: 1.1,
        names: NamePool::British,
    },
    Ethnicity {
        code: "N",
        display: "Black or Black British - African",
        share: 2.5,
        names: NamePool::African,
    },
    Ethnicity {
        code: "P",
        display: "Black or Black British - Any other Black background",
        share: 0.5,
        names: NamePool::British,
    },
    Ethnicity {
        code: "R",
        display: "Other Ethnic Groups - Chinese",
        share: 0.7,
        names: NamePool::British,
    },
    Ethnicity {
        code: "S",
        display: "Other Ethnic Groups - Any other ethnic group",
        share: 1.6,
        names: NamePool::British,
    },
    Ethnicity {
        code: "Z",
        display: "Not stated",
        share: 1.4,
        names: NamePool::British,
    },
];

/// Hospital treatment function codes used in PV1-10 and Encounter.serviceType.
pub mod treatment_function {
    pub const GENERAL_MEDICINE: (&str, &str) = ("300", "General Internal Medicine");
    pub const GERIATRIC_MEDICINE: (&str, &str) = ("430", "Geriatric Medicine");
    pub const TRAUMA_ORTHOPAEDICS: (&str, &str) = ("110", "Trauma and Orthopaedic");
    pub const EMERGENCY_MEDICINE: (&str, &str) = ("180", "Emergency Medicine");
    pub const STROKE_MEDICINE: (&str, &str) = ("328", "Stroke Medicine");
    pub const GENERAL_SURGERY: (&str, &str) = ("100", "General Surgery");
    pub const OPHTHALMOLOGY: (&str, &str) = ("130", "Ophthalmology");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::efi;

    #[test]
    fn medication_links_point_at_real_deficits() {
        for (i, m) in MEDICATIONS.iter().enumerate() {
            for d in m.for_deficits {
                assert!(
                    *d < efi::N_DEFICITS && *d != efi::idx::POLYPHARMACY,
                    "{}",
                    m.display
                );
            }
            assert_eq!(
                i >= FIRST_FILLER_MED,
                m.for_deficits.is_empty(),
                "{}",
                m.display
            );
        }
    }

    #[test]
    fn ethnic_shares_sum_to_about_100() {
        let total: f64 = ETHNICITIES.iter().map(|e| e.share).sum();
        assert!((total - 100.0).abs() < 1.0, "{total}");
    }
}
