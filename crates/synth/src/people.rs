//! People: age–sex structure, NHS numbers, names, ethnicity, addresses over time and registered practice.
//!
//! Ages follow the ONS mid-2022 population estimate for England in five-year bands (rounded shares, see
//! [`AGE_BANDS`]); sex ratios by band follow the same estimates. People alive at the window start get an
//! age from the pyramid; a further share (≈ 1.05 % a year, the crude birth rate) are born during the
//! window, which keeps the pyramid close to the ONS shape at the reference date too.

use crate::codes::{NamePool, ETHNICITIES};
use crate::date::Date;
use crate::model::{Residence, Sex};
use crate::names;
use crate::place::{self, Place};
use crate::rng::Rng;

/// ONS mid-2022 England: `(lower age, share %, female share)` per five-year band; the last band is 90+.
pub const AGE_BANDS: [(i32, f64, f64); 19] = [
    (0, 5.4, 0.488),
    (5, 5.9, 0.488),
    (10, 6.1, 0.488),
    (15, 5.8, 0.490),
    (20, 6.1, 0.497),
    (25, 6.6, 0.503),
    (30, 6.9, 0.506),
    (35, 6.7, 0.507),
    (40, 6.4, 0.505),
    (45, 6.1, 0.506),
    (50, 6.8, 0.508),
    (55, 6.8, 0.507),
    (60, 5.9, 0.510),
    (65, 5.0, 0.515),
    (70, 4.8, 0.525),
    (75, 3.9, 0.545),
    (80, 2.5, 0.565),
    (85, 1.5, 0.610),
    (90, 0.9, 0.690),
];

/// Crude birth rate per person-year used for people born inside the window.
pub const BIRTH_RATE: f64 = 0.0105;

/// Largest population the 999 NHS-number block supports (two candidates per person).
pub const MAX_PEOPLE: usize = 400_000;

/// The synthetic NHS number for person `idx`: `999` followed by six digits and the modulus-11 check digit
/// (from `weave_fhir::nhs`). Each person owns two consecutive candidates; at most one of two consecutive
/// candidates can be invalid.
#[must_use]
pub fn nhs_number_for(idx: u32) -> String {
    let base = 999_000_000u64 + 2 * u64::from(idx);
    for candidate in [base, base + 1] {
        let first9 = candidate.to_string();
        if let Some(c) = weave_fhir::nhs::check_digit(&first9) {
            return format!("{first9}{c}");
        }
    }
    // Unreachable (two consecutive candidates cannot both be invalid); a documented valid test number.
    "9000000009".to_owned()
}

/// Demographic core of a new person (health and care are filled in later).
pub struct Demographics {
    pub sex: Sex,
    pub birth_date: Date,
    pub given: &'static str,
    pub middle: Option<&'static str>,
    pub family: &'static str,
    pub ethnicity: u8,
    pub residences: Vec<Residence>,
    pub practice: u16,
}

fn sample_birth(rng: &mut Rng, start: Date, end: Date, years: u32) -> (Date, f64) {
    let share_born = f64::from(years) * BIRTH_RATE / (1.0 + f64::from(years) * BIRTH_RATE);
    if rng.chance(share_born) {
        let span = end.days_since(start).max(1);
        #[allow(clippy::cast_possible_truncation)]
        let d = start.add_days(rng.below(span.unsigned_abs().into()) as i32);
        return (d, 0.49);
    }
    let weights: Vec<f64> = AGE_BANDS.iter().map(|b| b.1).collect();
    let band = AGE_BANDS[rng.weighted(&weights)];
    let age_years = if band.0 == 90 {
        90.0 + (rng.exp1() * 3.5).min(15.0)
    } else {
        f64::from(band.0) + rng.f64() * 5.0
    };
    #[allow(clippy::cast_possible_truncation)]
    let birth = start.add_days(-((age_years * 365.25) as i32) - 1);
    (birth, band.2)
}

fn pick_ethnicity(rng: &mut Rng, age_at_start: i32) -> u8 {
    // Older cohorts are more often White British: tilt the weights with age.
    let weights: Vec<f64> = ETHNICITIES
        .iter()
        .map(|e| {
            if e.code == "A" && age_at_start >= 60 {
                e.share * 1.6
            } else {
                e.share
            }
        })
        .collect();
    #[allow(clippy::cast_possible_truncation)]
    let i = rng.weighted(&weights) as u8;
    i
}

fn residences(
    rng: &mut Rng,
    place: &Place,
    birth: Date,
    start: Date,
    end: Date,
    home_locality: usize,
) -> Vec<Residence> {
    let first_from = if birth >= start {
        birth
    } else {
        #[allow(clippy::cast_possible_truncation)]
        let back = rng.below(20 * 365) as i32;
        start.add_days(-back).max(birth)
    };
    let mut out = vec![Residence {
        from: first_from,
        address: place::random_address(rng, &place.localities, home_locality),
        care_home: None,
    }];
    let mut year_start = start;
    while year_start < end {
        let age = birth.age_on(year_start);
        let p_move = match age {
            ..=17 => 0.06,
            18..=34 => 0.10,
            35..=64 => 0.05,
            _ => 0.03,
        };
        if rng.chance(p_move) {
            #[allow(clippy::cast_possible_truncation)]
            let when = year_start.add_days(rng.below(365) as i32);
            if when < end && when > out[out.len() - 1].from {
                let loc = if rng.chance(0.5) {
                    out[out.len() - 1].address.locality
                } else {
                    rng.index(place.localities.len())
                };
                out.push(Residence {
                    from: when,
                    address: place::random_address(rng, &place.localities, loc),
                    care_home: None,
                });
            }
        }
        year_start = year_start.add_days(365);
    }
    out
}

/// Draws a person's demographics.
pub fn demographics(
    rng: &mut Rng,
    place: &Place,
    start: Date,
    end: Date,
    years: u32,
) -> Demographics {
    let (birth_date, female_share) = sample_birth(rng, start, end, years);
    let sex = if rng.chance(female_share) {
        Sex::Female
    } else {
        Sex::Male
    };
    let ethnicity = pick_ethnicity(rng, birth_date.age_on(start));
    let pool: NamePool = ETHNICITIES[usize::from(ethnicity)].names;
    let (birth_year, _, _) = birth_date.ymd();
    let female = sex == Sex::Female;
    let given = names::given_name(rng, pool, female, birth_year);
    let middle = if rng.chance(0.6) {
        let m = names::given_name(rng, pool, female, birth_year);
        (m != given).then_some(m)
    } else {
        None
    };
    let family = names::family_name(rng, pool);
    let home = rng.index(place.localities.len());
    let residences = residences(rng, place, birth_date, start, end, home);
    let practice = if rng.chance(0.85) {
        place.localities[home].practice
    } else {
        rng.index(place.practices.len())
    };
    #[allow(clippy::cast_possible_truncation)]
    let practice = practice as u16;
    Demographics {
        sex,
        birth_date,
        given,
        middle,
        family,
        ethnicity,
        residences,
        practice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_numbers_are_valid_unique_and_in_999_range() {
        let mut seen = std::collections::BTreeSet::new();
        for idx in (0..400_000u32).step_by(397).chain([0, 1, 2, 399_999]) {
            let n = nhs_number_for(idx);
            assert!(
                n.starts_with("999") && n.len() == 10 && weave_fhir::nhs::is_valid_nhs_number(&n),
                "{n}"
            );
            seen.insert((idx, n));
        }
        let a: Vec<String> = (0..2000).map(nhs_number_for).collect();
        let set: std::collections::BTreeSet<&String> = a.iter().collect();
        assert_eq!(set.len(), a.len());
    }

    #[test]
    fn pyramid_shares_sum_to_100() {
        let total: f64 = AGE_BANDS.iter().map(|b| b.1).sum();
        assert!((total - 100.0).abs() < 0.5, "{total}");
    }
}
