//! Generator configuration, the run summary and the crate's error type.

use std::path::PathBuf;

use crate::costs::UnitCosts;
use crate::date::Date;

/// What to generate. Every field influences the output; the same config always gives the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of people (everyone registered with a practice in the place at some time in the window).
    pub people: usize,
    /// PRNG seed.
    pub seed: u64,
    /// Length of the simulated window in years (at least 1; 5 or more gives the full life-course picture).
    pub years: u32,
    /// First day of the simulated window. The reference ("as at") date is `start_date + years`.
    pub start_date: Date,
    /// Planted effect: fractional cut in length of stay when the frailty team sees a frail person during
    /// an emergency admission (0.35 = 35 % shorter).
    pub frailty_los_effect: f64,
    /// Planted effect: fractional cut in the chance of a care-home admission within 91 days of discharge
    /// when reablement follows the discharge (0.20 = 20 % fewer).
    pub reablement_effect: f64,
    /// Unit costs used for social care services and bed days.
    pub unit_costs: UnitCosts,
    /// Worker threads (0 = use available parallelism). Does not change the output.
    pub threads: usize,
    /// People per GP / community / mental-health FHIR transaction bundle.
    pub bundle_people: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            people: 10_000,
            seed: 1,
            years: 5,
            start_date: Date::from_ymd(2020, 4, 1).unwrap_or(Date(18_353)),
            frailty_los_effect: 0.35,
            reablement_effect: 0.20,
            unit_costs: UnitCosts::default(),
            threads: 0,
            bundle_people: 100,
        }
    }
}

impl SynthConfig {
    /// A default config with `people` and `seed` set.
    #[must_use]
    pub fn new(people: usize, seed: u64) -> Self {
        Self {
            people,
            seed,
            ..Self::default()
        }
    }

    /// The reference date: the last day of the window plus one (events are strictly before it).
    #[must_use]
    pub fn end_date(&self) -> Date {
        let (y, m, d) = self.start_date.ymd();
        #[allow(clippy::cast_possible_wrap)]
        let y2 = y + self.years as i32;
        // 29 February + n years may not exist: fall back to 1 March.
        Date::from_ymd(y2, m, d)
            .or_else(|| Date::from_ymd(y2, 3, 1))
            .unwrap_or(self.start_date)
    }

    /// Checks the config before a run.
    ///
    /// # Errors
    /// [`SynthError::Config`] naming the offending field.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |msg: String| Err(SynthError::Config(msg));
        if self.people == 0 || self.people > crate::people::MAX_PEOPLE {
            return bad(format!(
                "people must be between 1 and {} (the synthetic 999 NHS-number block), got {}",
                crate::people::MAX_PEOPLE,
                self.people
            ));
        }
        if self.years == 0 || self.years > 30 {
            return bad(format!(
                "years must be between 1 and 30, got {}",
                self.years
            ));
        }
        for (name, v) in [
            ("frailty_los_effect", self.frailty_los_effect),
            ("reablement_effect", self.reablement_effect),
        ] {
            if !(0.0..1.0).contains(&v) {
                return bad(format!("{name} must be in [0, 1), got {v}"));
            }
        }
        if self.bundle_people == 0 {
            return bad("bundle_people must be at least 1".to_owned());
        }
        for key in UnitCosts::REQUIRED {
            match self.unit_costs.get(key) {
                Some(row) if row.pence > 0 => {}
                _ => return bad(format!("unit cost {key} is missing or not positive")),
            }
        }
        let (y, _, _) = self.start_date.ymd();
        if !(1950..=2100).contains(&y) {
            return bad(format!(
                "start_date year must be between 1950 and 2100, got {y}"
            ));
        }
        Ok(())
    }

    /// Effective thread count.
    #[must_use]
    pub fn worker_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        }
    }
}

/// Counts from a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub people: usize,
    pub deaths: usize,
    pub gp_practices: usize,
    pub fhir_bundles: usize,
    pub fhir_resources: usize,
    pub hl7_messages: usize,
    pub cld_rows: usize,
    pub cld_files: usize,
    pub ed_attendances: usize,
    pub emergency_admissions: usize,
    pub elective_admissions: usize,
    pub social_care_clients: usize,
    pub bytes_written: u64,
    pub files_written: usize,
}

/// Errors from the generator.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The configuration is invalid.
    #[error("invalid synth config: {0}")]
    Config(String),
    /// Writing output failed.
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Serialising JSON failed.
    #[error("serialising {what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

impl SynthError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_end_date() {
        let c = SynthConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.end_date().iso(), "2025-04-01");
        assert!((c.frailty_los_effect - 0.35).abs() < 1e-12);
        assert!((c.reablement_effect - 0.20).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(SynthConfig {
            people: 0,
            ..SynthConfig::default()
        }
        .validate()
        .is_err());
        assert!(SynthConfig {
            years: 0,
            ..SynthConfig::default()
        }
        .validate()
        .is_err());
        assert!(SynthConfig {
            frailty_los_effect: 1.5,
            ..SynthConfig::default()
        }
        .validate()
        .is_err());
        let mut c = SynthConfig::default();
        c.unit_costs.rows.retain(|r| r.key != "home_care_hour");
        assert!(matches!(c.validate(), Err(SynthError::Config(m)) if m.contains("home_care_hour")));
    }
}
