//! Unit costs: a configurable table, each figure with its year and source.
//!
//! The three headline figures are the ones in shared/DOMAIN.md; the rest are marked `illustrative` — they
//! are plausible figures for synthetic data, not published prices. Money is held in pence to keep
//! arithmetic exact and output byte-stable.

/// What a unit cost is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostUnit {
    Hour,
    Week,
    Day,
    OneOff,
}

impl CostUnit {
    /// The CLD `Cost_Frequency_(Unit_Type)` string.
    #[must_use]
    pub fn cld(self) -> &'static str {
        match self {
            Self::Hour => "Hourly",
            Self::Week => "Weekly",
            Self::Day => "Daily",
            Self::OneOff => "One-off",
        }
    }
}

/// One row of the unit-cost table.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitCost {
    /// Stable key, e.g. `"home_care_hour"`.
    pub key: &'static str,
    pub description: &'static str,
    /// Price in pence per unit.
    pub pence: i64,
    pub unit: CostUnit,
    /// Financial or calendar year the figure applies to.
    pub year: &'static str,
    pub source: &'static str,
    /// True when the figure is a plausible illustration rather than a published price.
    pub illustrative: bool,
}

/// The unit-cost table used by the generator (replace rows to re-price).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitCosts {
    pub rows: Vec<UnitCost>,
}

impl Default for UnitCosts {
    fn default() -> Self {
        Self {
            rows: vec![
                UnitCost { key: "acute_bed_day", description: "Acute hospital bed day", pence: 56_200, unit: CostUnit::Day, year: "2025", source: "NHS England (figure quoted in Weave DOMAIN.md)", illustrative: false },
                UnitCost { key: "care_home_week", description: "Care-home place (residential), per resident-week", pence: 77_100, unit: CostUnit::Week, year: "2021/22", source: "Fair cost of care exercise, 2021/22 fair price (DOMAIN.md)", illustrative: false },
                UnitCost { key: "nursing_home_week", description: "Care-home place with nursing, per resident-week (care-home price plus NHS-funded nursing care contribution)", pence: 100_688, unit: CostUnit::Week, year: "2024/25", source: "care_home_week + NHS-funded nursing care standard rate £235.88/week", illustrative: true },
                UnitCost { key: "home_care_hour", description: "Home care, per contact hour", pence: 2_320, unit: CostUnit::Hour, year: "2022/23", source: "Home care minimum price 2022/23 (DOMAIN.md)", illustrative: false },
                UnitCost { key: "reablement_hour", description: "Reablement (ST-Max) home support, per contact hour", pence: 2_320, unit: CostUnit::Hour, year: "2022/23", source: "priced at the home-care hourly rate", illustrative: true },
                UnitCost { key: "supported_living_hour", description: "Supported living support, per hour", pence: 2_320, unit: CostUnit::Hour, year: "2022/23", source: "priced at the home-care hourly rate", illustrative: true },
                UnitCost { key: "day_support_day", description: "Day support, per day attended", pence: 5_500, unit: CostUnit::Day, year: "2023/24", source: "illustrative", illustrative: true },
                UnitCost { key: "direct_payment_hour", description: "Direct payment, per hour of personal assistance", pence: 1_650, unit: CostUnit::Hour, year: "2023/24", source: "illustrative", illustrative: true },
                UnitCost { key: "equipment_one_off", description: "Equipment & adaptations, one-off", pence: 25_000, unit: CostUnit::OneOff, year: "2023/24", source: "illustrative", illustrative: true },
            ],
        }
    }
}

impl UnitCosts {
    /// The row with `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&UnitCost> {
        self.rows.iter().find(|r| r.key == key)
    }

    /// Price in pence of `key`, 0 if the row is missing (validated in `SynthConfig::validate`).
    #[must_use]
    pub fn pence(&self, key: &str) -> i64 {
        self.get(key).map_or(0, |r| r.pence)
    }

    /// Keys the generator needs.
    pub const REQUIRED: [&'static str; 9] = [
        "acute_bed_day",
        "care_home_week",
        "nursing_home_week",
        "home_care_hour",
        "reablement_hour",
        "supported_living_hour",
        "day_support_day",
        "direct_payment_hour",
        "equipment_one_off",
    ];
}

/// Formats pence as pounds with two decimals, e.g. `2320` → `"23.20"`.
#[must_use]
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.abs();
    format!("{sign}{}.{:02}", p / 100, p % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_required_keys_and_domain_figures() {
        let t = UnitCosts::default();
        for k in UnitCosts::REQUIRED {
            assert!(t.get(k).is_some(), "{k}");
        }
        assert_eq!(t.pence("acute_bed_day"), 56_200);
        assert_eq!(t.pence("care_home_week"), 77_100);
        assert_eq!(t.pence("home_care_hour"), 2_320);
        assert_eq!(t.pence("nursing_home_week"), 77_100 + 23_588);
    }

    #[test]
    fn pounds_format() {
        assert_eq!(pounds(2320), "23.20");
        assert_eq!(pounds(5), "0.05");
        assert_eq!(pounds(-150), "-1.50");
    }
}
