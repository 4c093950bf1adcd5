//! Long-term conditions and frailty: when each eFI deficit begins, other diagnoses, and the repeat
//! medications that follow from them (with the polypharmacy deficit kept consistent with the drug list).
//!
//! Deficit onsets come from a Gompertz-type hazard per deficit,
//! `h_k(age) = w_k · exp(B·(age − 75) + S·z)` from age 40, where `z` is the person's latent frailty
//! propensity and `w_k` is set so that, at age 75 and `z = 0`, the deficit's probability is
//! `M · prevalence_65`. Some conditions (asthma, type 1 diabetes, thyroid disease, hypertension) also have
//! an age-independent baseline hazard from childhood or early adulthood. B, S and M were calibrated (Monte
//! Carlo) so that eFI category shares among people aged 65+ come out near 50 / 35 / 12 / 3 %.

use crate::codes::{FIRST_FILLER_MED, LEARNING_DISABILITY, MEDICATIONS, MH_CONDITIONS};
use crate::date::Date;
use crate::efi::{self, idx, DEFICITS};
use crate::model::{DeficitOnset, MedCourse, OtherCondition};
use crate::rng::Rng;

/// Age slope of the deficit hazard (per year).
pub const B: f64 = 0.03;
/// Weight of the latent frailty propensity.
pub const S: f64 = 0.6;
/// Multiplier on the table's `prevalence_65`.
pub const M: f64 = 0.83;
/// Age from which the ageing hazard runs.
const A0: f64 = 40.0;

/// Age-independent early-onset hazards: `(deficit, code index used, hazard per year, from age)`.
const EARLY_ONSET: &[(usize, u8, f64, f64)] = &[
    (idx::RESPIRATORY, 1, 0.0025, 2.0),
    (idx::DIABETES, 1, 0.0004, 8.0),
    (31, 0, 0.0012, 20.0), // thyroid disease
    (idx::HYPERTENSION, 0, 0.0025, 25.0),
    (2, 0, 0.0010, 30.0), // arthritis
];

fn ageing_onset_age(rng: &mut Rng, prevalence: f64, z: f64) -> f64 {
    let p = (prevalence * M).min(0.95);
    let h75 = -(1.0 - p).ln();
    let base = (B * (A0 - 75.0)).exp();
    let w = h75 * B / (1.0 - base);
    let e = rng.exp1();
    75.0 + (e * B / (w * (S * z).exp()) + base).ln() / B
}

fn pick_code(rng: &mut Rng, deficit: usize) -> u8 {
    let n = DEFICITS[deficit].codes.len();
    if n <= 1 || rng.chance(0.7) {
        return 0;
    }
    #[allow(clippy::cast_possible_truncation)]
    let c = (1 + rng.index(n - 1)) as u8;
    c
}

fn date_at_age(birth: Date, age: f64) -> Date {
    #[allow(clippy::cast_possible_truncation)]
    let d = birth.add_days((age * 365.25) as i32);
    d
}

/// Deficit onsets up to (not including) `horizon` for someone born on `birth` with propensity `z`.
pub fn deficit_onsets(rng: &mut Rng, birth: Date, z: f64, horizon: Date) -> Vec<DeficitOnset> {
    let max_age = birth.years_between(horizon);
    let mut out = Vec::new();
    for (k, d) in DEFICITS.iter().enumerate() {
        let mut age = ageing_onset_age(rng, d.prevalence_65, z);
        let mut code = if k == idx::POLYPHARMACY {
            0
        } else {
            pick_code(rng, k)
        };
        if let Some((_, early_code, hazard, from)) = EARLY_ONSET.iter().find(|e| e.0 == k) {
            let early = from + rng.exp1() / hazard;
            if early < age {
                age = early;
                code = *early_code;
            }
        }
        if age < max_age {
            #[allow(clippy::cast_possible_truncation)]
            out.push(DeficitOnset {
                deficit: k as u8,
                code,
                onset: date_at_age(birth, age),
            });
        }
    }
    // Polypharmacy needs something to prescribe for: not before the second other deficit.
    let mut others: Vec<Date> = out
        .iter()
        .filter(|d| usize::from(d.deficit) != idx::POLYPHARMACY)
        .map(|d| d.onset)
        .collect();
    others.sort_unstable();
    if let Some(poly) = out
        .iter_mut()
        .find(|d| usize::from(d.deficit) == idx::POLYPHARMACY)
    {
        match others.get(1) {
            Some(second) => poly.onset = poly.onset.max(*second),
            None => poly.onset = horizon,
        }
    }
    out.retain(|d| d.onset < horizon);
    out.sort_by_key(|d| (d.onset, d.deficit));
    out
}

/// Mental-health diagnoses and learning disability (lifetime, with onset dates before `horizon`).
pub fn other_conditions(rng: &mut Rng, birth: Date, horizon: Date) -> Vec<OtherCondition> {
    let max_age = birth.years_between(horizon);
    let mut out = Vec::new();
    let mut add = |code, age: f64| {
        if age < max_age {
            out.push(OtherCondition {
                code,
                onset: date_at_age(birth, age),
            });
        }
    };
    if rng.chance(0.005) {
        add(LEARNING_DISABILITY, 2.0 + rng.f64() * 3.0);
    }
    if rng.chance(0.012) {
        let smi = if rng.chance(0.55) {
            MH_CONDITIONS[1]
        } else {
            MH_CONDITIONS[2]
        };
        add(smi, 18.0 + rng.f64() * 17.0);
    }
    if rng.chance(0.12) {
        add(MH_CONDITIONS[0], 16.0 + rng.f64() * 50.0);
    }
    out.sort_by_key(|c| c.onset);
    out
}

/// Repeat medications implied by the deficits (and depression), consistent with the polypharmacy deficit:
/// fewer than five concurrent drugs before its onset, at least five from it.
pub fn medications(
    rng: &mut Rng,
    deficits: &[DeficitOnset],
    others: &[OtherCondition],
    horizon: Date,
) -> Vec<MedCourse> {
    let poly_onset = deficits
        .iter()
        .find(|d| usize::from(d.deficit) == idx::POLYPHARMACY)
        .map(|d| d.onset);
    let mut candidates: Vec<(Date, u16)> = Vec::new();
    for d in deficits {
        let k = usize::from(d.deficit);
        if k == idx::POLYPHARMACY {
            continue;
        }
        let options: Vec<usize> = (0..FIRST_FILLER_MED)
            .filter(|m| MEDICATIONS[*m].for_deficits.contains(&k))
            .collect();
        if options.is_empty() || !rng.chance(0.8) {
            continue;
        }
        #[allow(clippy::cast_possible_truncation)]
        let med = options[rng.index(options.len())] as u16;
        #[allow(clippy::cast_possible_truncation)]
        let start = d.onset.add_days(rng.below(60) as i32);
        candidates.push((start.min(horizon.add_days(-1)), med));
    }
    if others.iter().any(|c| c.code == MH_CONDITIONS[0]) && rng.chance(0.6) {
        let onset = others
            .iter()
            .find(|c| c.code == MH_CONDITIONS[0])
            .map_or(horizon, |c| c.onset);
        #[allow(clippy::cast_possible_truncation)]
        candidates.push((
            onset.add_days(14).min(horizon.add_days(-1)),
            FIRST_FILLER_MED as u16,
        ));
    }
    candidates.sort_unstable();
    let mut seen = [false; MEDICATIONS.len()];
    candidates.retain(|c| !std::mem::replace(&mut seen[usize::from(c.1)], true));
    let mut out: Vec<MedCourse> = Vec::new();
    let mut postponed = Vec::new();
    for (start, med) in candidates {
        let before_poly = poly_onset.is_none_or(|p| start < p);
        if before_poly && out.len() >= 4 {
            postponed.push(med);
        } else {
            out.push(MedCourse {
                med,
                start,
                end: None,
            });
        }
    }
    if let Some(p) = poly_onset {
        // Medications that would have been started before the onset wait until it.
        for med in postponed {
            out.push(MedCourse {
                med,
                start: p,
                end: None,
            });
        }
        // Top up with filler drugs first, then any other drug not yet prescribed.
        let order = (FIRST_FILLER_MED..MEDICATIONS.len()).chain(0..FIRST_FILLER_MED);
        for m in order {
            if out.iter().filter(|c| c.start <= p).count() >= 5 {
                break;
            }
            #[allow(clippy::cast_possible_truncation)]
            let med = m as u16;
            if !out.iter().any(|c| c.med == med) {
                out.push(MedCourse {
                    med,
                    start: p,
                    end: None,
                });
            }
        }
    }
    out.sort_by_key(|m| (m.start, m.med));
    out
}

/// Concurrent medication count on `on`.
#[must_use]
pub fn active_meds(meds: &[MedCourse], on: Date) -> usize {
    meds.iter()
        .filter(|m| m.start <= on && m.end.is_none_or(|e| e > on))
        .count()
}

/// Deficit count a reader of the GP record would compute on `on` (conditions plus polypharmacy from the
/// medication list) — equal to the model's count when [`medications`] kept them consistent.
#[must_use]
pub fn recorded_deficit_count(deficits: &[DeficitOnset], meds: &[MedCourse], on: Date) -> usize {
    let conditions = deficits
        .iter()
        .filter(|d| usize::from(d.deficit) != idx::POLYPHARMACY && d.onset <= on)
        .count();
    conditions + usize::from(active_meds(meds, on) >= 5)
}

/// The eFI category on `on`.
#[must_use]
pub fn category(deficits: &[DeficitOnset], on: Date) -> efi::EfiCategory {
    efi::EfiCategory::from_count(deficits.iter().filter(|d| d.onset <= on).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polypharmacy_is_consistent_with_medications() {
        let horizon = Date::from_ymd(2025, 4, 1).unwrap_or(Date(20_000));
        let mut inconsistent = 0;
        for i in 0..3_000 {
            let mut rng = Rng::new(i);
            let birth = Date::from_ymd(1935 + (i % 60) as i32, 3, 1).unwrap_or(Date(0));
            let z = rng.normal();
            let defs = deficit_onsets(&mut rng, birth, z, horizon);
            let others = other_conditions(&mut rng, birth, horizon);
            let meds = medications(&mut rng, &defs, &others, horizon);
            for probe in [
                horizon.add_days(-1),
                horizon.add_days(-900),
                horizon.add_days(-1700),
            ] {
                let model = defs.iter().filter(|d| d.onset <= probe).count();
                if recorded_deficit_count(&defs, &meds, probe) != model {
                    inconsistent += 1;
                }
            }
        }
        assert_eq!(inconsistent, 0);
    }

    #[test]
    fn onsets_are_sorted_and_before_horizon() {
        let horizon = Date::from_ymd(2025, 4, 1).unwrap_or(Date(20_000));
        let mut rng = Rng::new(3);
        let defs = deficit_onsets(
            &mut rng,
            Date::from_ymd(1930, 1, 1).unwrap_or(Date(0)),
            1.5,
            horizon,
        );
        assert!(defs.windows(2).all(|w| w[0].onset <= w[1].onset));
        assert!(defs.iter().all(|d| d.onset < horizon));
        assert!(
            defs.len() >= 3,
            "a frail 95-year-old should have several deficits"
        );
    }
}
