//! CLD code strings used by the social care simulation: event outcomes, primary support reasons, delivery
//! mechanisms, routes and review reasons, and the kinds of service with their unit-cost rows.

/// CLD event outcome strings. Those in shared/DOMAIN.md are used verbatim (including its en dash after
/// "NFA"); the rest follow the same style from the CLD v5 outcome list.
pub mod outcome {
    pub const PROGRESS_ASSESSMENT: &str = "Progress to Assessment";
    pub const PROGRESS_REABLEMENT: &str = "Progress to Reablement/ST-Max";
    pub const PROGRESS_SUPPORT: &str = "Progress to support planning/services";
    pub const ADMITTED: &str = "Admitted to hospital";
    pub const NO_CHANGE: &str = "No change in package";
    pub const NFA_NHS: &str = "NFA – 100% NHS funded care";
    pub const NFA_SELF_FUNDED: &str = "NFA – self-funded";
    pub const NFA_DECEASED: &str = "NFA – deceased";
    pub const NFA_INFO: &str = "NFA – Information & advice / signposting only";
    pub const PROVISION: &str = "Provision of service";
    pub const ENDED_AS_PLANNED: &str = "Service ended as planned";
}

/// CLD primary support reasons (exact strings from DOMAIN.md).
pub const PSR_ACCESS_MOBILITY: &str = "Physical Support: Access & mobility only";
pub const PSR_PERSONAL_CARE: &str = "Physical Support: Personal care support";
pub const PSR_VISUAL: &str = "Sensory Support: Support for visual impairment";
pub const PSR_MEMORY: &str = "Support with Memory & Cognition";
pub const PSR_LD: &str = "Learning Disability Support";
pub const PSR_MH: &str = "Mental Health Support";
pub const PSR_ISOLATION: &str = "Social Support: Support for Social Isolation/Other";

/// CLD delivery mechanisms.
pub const DM_DIRECT_PAYMENT: &str = "Direct Payment";
pub const DM_MANAGED: &str = "CASSR Managed Personal Budget";
pub const DM_COMMISSIONED: &str = "CASSR Commissioned Support";

/// Route strings (ServiceRequest category / review reason).
pub const ROUTE_DISCHARGE: &str = "Hospital discharge";
pub const ROUTE_COMMUNITY: &str = "Community";
pub const REVIEW_PLANNED: &str = "Planned";
pub const REVIEW_UNPLANNED: &str = "Unplanned";

/// A kind of service: CLD service type and component, and the unit-cost row that prices it.
pub(super) struct Kind {
    pub(super) service_type: &'static str,
    pub(super) component: &'static str,
    pub(super) cost_key: &'static str,
    pub(super) long_term: bool,
}

pub(super) const NURSING: Kind = Kind {
    service_type: "Long Term Support: Nursing Care",
    component: "Long term nursing care",
    cost_key: "nursing_home_week",
    long_term: true,
};
pub(super) const RESIDENTIAL: Kind = Kind {
    service_type: "Long Term Support: Residential Care",
    component: "Long term residential care",
    cost_key: "care_home_week",
    long_term: true,
};
pub(super) const SUPPORTED_LIVING: Kind = Kind {
    service_type: "Long Term Support: Community",
    component: "Supported Living",
    cost_key: "supported_living_hour",
    long_term: true,
};
pub(super) const DAY_SUPPORT: Kind = Kind {
    service_type: "Long Term Support: Community",
    component: "Day Support",
    cost_key: "day_support_day",
    long_term: true,
};
pub(super) const DIRECT_PAYMENT: Kind = Kind {
    service_type: "Long Term Support: Community",
    component: "Direct Payment",
    cost_key: "direct_payment_hour",
    long_term: true,
};
pub(super) const HOME_SUPPORT: Kind = Kind {
    service_type: "Long Term Support: Community",
    component: "Home Support",
    cost_key: "home_care_hour",
    long_term: true,
};
pub(super) const EQUIPMENT: Kind = Kind {
    service_type: "Short Term Support: Other Short Term",
    component: "Equipment & Adaptations",
    cost_key: "equipment_one_off",
    long_term: false,
};
pub(super) const REABLEMENT: Kind = Kind {
    service_type: "Short Term Support: ST-Max",
    component: "Reablement",
    cost_key: "reablement_hour",
    long_term: false,
};
