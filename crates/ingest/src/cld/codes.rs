//! The CLD columns and code lists (exact strings; shared/DOMAIN.md, CLD v5 as published in the
//! Interweave FHIR guide, and docs/synth.md). A value outside a closed list is a row error;
//! `Event_Outcome` is an open list (unknown outcomes are kept, with a warning).

/// The CLD columns in the order Weave's synthetic extract writes them (the importer reads them by
/// name, in any order).
pub const COLUMNS: [&str; 26] = [
    "LA_Code",
    "LA_Name",
    "Reporting_Period_Start_Date",
    "Reporting_Period_End_Date",
    "LA_Person_Unique_Identifier",
    "NHS_Number",
    "GP_Practice_Code",
    "Gender",
    "Ethnicity",
    "Date_of_Birth",
    "Date_of_Death",
    "Postcode",
    "Client_Type",
    "Event_Type",
    "Event_Start_Date",
    "Event_End_Date",
    "Event_Outcome",
    "Service_Type",
    "Service_Component",
    "Delivery_Mechanism",
    "Primary_Support_Reason",
    "Unit_Cost",
    "Cost_Frequency_(Unit_Type)",
    "Planned_units_per_week",
    "Review_Reason",
    "Review_Outcomes_Achieved",
];

/// Columns the header must have.
pub const REQUIRED_COLUMNS: [&str; 4] = ["LA_Code", "LA_Person_Unique_Identifier", "Event_Type", "Event_Start_Date"];

/// Optional event identifier columns (used as the event key when present).
pub const EVENT_ID_COLUMNS: [&str; 3] = ["Event_ID", "Event_Reference", "LA_Event_Unique_Identifier"];

pub const EVENT_TYPES: &[&str] = &["Request", "Assessment", "Service", "Review"];

pub const SERVICE_TYPES: &[&str] = &[
    "Short Term Support: ST-Max",
    "Short Term Support: Ongoing Low Level",
    "Short Term Support: Other Short Term",
    "Long Term Support: Nursing Care",
    "Long Term Support: Residential Care",
    "Long Term Support: Community",
    "Long Term Support: Prison",
    "Carer Support: Direct to Carer",
    "Carer Support: Support involving the person cared-for",
];

pub const SERVICE_COMPONENTS: &[&str] = &[
    "Reablement",
    "Short term nursing care",
    "Long term nursing care",
    "Short term residential care",
    "Long term residential care",
    "Home Support",
    "Day Support",
    "Meals",
    "Transport",
    "Equipment & Adaptations",
    "Direct Payment",
    "Shared Lives",
    "Supported Living",
    "Professional Support",
    "End of Life Care",
    "Emergency Support",
    "Carer respite",
    "Carer sitting",
];

pub const DELIVERY_MECHANISMS: &[&str] = &["Direct Payment", "CASSR Managed Personal Budget", "CASSR Commissioned Support"];

pub const PRIMARY_SUPPORT_REASONS: &[&str] = &[
    "Physical Support: Access & mobility only",
    "Physical Support: Personal care support",
    "Sensory Support: Support for visual impairment",
    "Sensory Support: Support for hearing impairment",
    "Sensory Support: Support for dual impairment",
    "Support with Memory & Cognition",
    "Learning Disability Support",
    "Mental Health Support",
    "Social Support: Substance misuse support",
    "Social Support: Asylum seeker support",
    "Social Support: Support for Social Isolation/Other",
    "Social Support: Support to Carer",
    "Unknown",
];

/// Known event outcomes (DOMAIN.md verbatim with its en dash, plus the CLD v5 outcomes the
/// synthetic borough uses, and the hyphen spelling of the published v5 list).
pub const EVENT_OUTCOMES: &[&str] = &[
    "Progress to Reablement/ST-Max",
    "Admitted to hospital",
    "Progress to support planning/services",
    "No change in package",
    "NFA – 100% NHS funded care",
    "NFA – self-funded",
    "NFA – deceased",
    "Provision of service",
    "Progress to Assessment",
    "NFA – Information & advice / signposting only",
    "Service ended as planned",
    "NFA - 100% NHS funded care",
    "NFA - self-funded",
    "NFA - deceased",
    "NFA - Information & advice / signposting only",
];

/// NHS Data Dictionary person stated gender code: code → FHIR gender.
pub const GENDERS: &[(&str, &str)] = &[("1", "male"), ("2", "female"), ("9", "other"), ("X", "unknown")];

/// NHS Data Dictionary ethnic category letters (and 99 not known).
pub const ETHNICITIES: &[(&str, &str)] = &[
    ("A", "White - British"),
    ("B", "White - Irish"),
    ("C", "White - Any other White background"),
    ("D", "Mixed - White and Black Caribbean"),
    ("E", "Mixed - White and Black African"),
    ("F", "Mixed - White and Asian"),
    ("G", "Mixed - Any other mixed background"),
    ("H", "Asian or Asian British - Indian"),
    ("J", "Asian or Asian British - Pakistani"),
    ("K", "Asian or Asian British - Bangladeshi"),
    ("L", "Asian or Asian British - Any other Asian background"),
    ("M", "Black or Black British - Caribbean"),
    ("N", "Black or Black British - African"),
    ("P", "Black or Black British - Any other Black background"),
    ("R", "Other Ethnic Groups - Chinese"),
    ("S", "Other Ethnic Groups - Any other ethnic group"),
    ("Z", "Not stated"),
    ("99", "Not known"),
];

pub const CLIENT_TYPES: &[&str] = &["Service User", "Carer"];

pub const COST_FREQUENCIES: &[&str] = &["Hourly", "Daily", "Weekly", "Fortnightly", "Four-weekly", "Monthly", "Annually", "One-off"];

pub const REVIEW_REASONS: &[&str] = &["Planned", "Unplanned"];

pub const REVIEW_OUTCOMES: &[&str] = &["Fully achieved", "Partially achieved", "Not achieved"];
