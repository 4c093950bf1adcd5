//! Population statistics of a simulated world: used by the statistics test, the planted-effect summary in
//! truth.json and anyone checking that the data look like a place in England.

use crate::date::Date;
use crate::efi::EfiCategory;
use crate::model::{AdmissionKind, CareEventKind, Person, Sex};
use crate::people::AGE_BANDS;
use crate::world::World;

/// Realised population statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Share (%) of people alive on the start date in each ONS five-year band (same order as `AGE_BANDS`).
    pub age_band_share_start: Vec<f64>,
    /// Share (%) of people alive on the last day of the window in each band.
    pub age_band_share_end: Vec<f64>,
    /// Female share among people aged 85+ alive on the last day.
    pub female_share_85_plus: f64,
    /// eFI category shares (fit, mild, moderate, severe) among people aged 65+ alive on the last day.
    pub efi_shares_65_plus: [f64; 4],
    pub person_years: f64,
    pub person_years_65_plus: f64,
    pub person_years_adult: f64,
    pub deaths_per_1000_py: f64,
    pub ed_per_1000_py: f64,
    pub emergency_admissions_per_1000_py: f64,
    pub emergency_admissions_65_plus_per_1000_py: f64,
    pub elective_admissions_per_1000_py: f64,
    /// Social care requests per 1,000 adult (18+) person-years.
    pub care_requests_per_1000_adult_py: f64,
    /// Share (%) of people aged 65+ alive on the last day with an open long-term service.
    pub long_term_support_65_plus_pct: f64,
    /// The same on the first day of the window (the inherited caseload).
    pub long_term_support_65_plus_start_pct: f64,
}

fn pct(n: usize, d: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let v = if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    };
    v
}

fn band_shares(people: &[Person], on: Date) -> Vec<f64> {
    let mut counts = vec![0usize; AGE_BANDS.len()];
    let mut total = 0;
    for p in people.iter().filter(|p| p.alive_on(on)) {
        let age = p.age_on(on);
        let band = AGE_BANDS.iter().rposition(|b| age >= b.0).unwrap_or(0);
        counts[band] += 1;
        total += 1;
    }
    counts.into_iter().map(|c| pct(c, total)).collect()
}

/// Person-years lived in `[from, to)` at ages in `[min_age, ∞)`.
fn person_years(p: &Person, from: Date, to: Date, min_age: i32) -> f64 {
    let (y, m, d) = p.birth_date.ymd();
    let min_age_date = Date::from_ymd(y + min_age, m, d)
        .or_else(|| Date::from_ymd(y + min_age, 3, 1))
        .unwrap_or(p.birth_date);
    let lo = from.max(p.birth_date).max(min_age_date);
    let hi = p.death.map_or(to, |x| x.min(to));
    f64::from(hi.days_since(lo).max(0)) / 365.25
}

fn per_1000(n: usize, py: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let v = if py > 0.0 {
        1000.0 * n as f64 / py
    } else {
        0.0
    };
    v
}

/// Share (%) of people aged 65+ alive on `on` with an open long-term service.
fn lts_share(people: &[Person], on: Date) -> f64 {
    let old: Vec<&Person> = people
        .iter()
        .filter(|p| p.alive_on(on) && p.age_on(on) >= 65)
        .collect();
    let open = |p: &&&Person| {
        p.care.iter().any(|e| {
            e.kind == CareEventKind::Service
                && e.service.is_some_and(|s| s.long_term)
                && e.start <= on
                && e.end.is_none_or(|x| x > on)
        })
    };
    pct(old.iter().filter(open).count(), old.len())
}

/// Computes the statistics of `world`.
#[must_use]
pub fn compute(world: &World) -> Stats {
    let (start, end) = (world.start, world.end);
    let last = end.add_days(-1);
    let people = &world.people;
    let alive_end: Vec<&Person> = people.iter().filter(|p| p.alive_on(last)).collect();
    let old: Vec<&&Person> = alive_end.iter().filter(|p| p.age_on(last) >= 65).collect();
    let mut cats = [0usize; 4];
    for p in &old {
        let c = EfiCategory::from_count(p.deficit_count(last));
        cats[c as usize] += 1;
    }
    let very_old: Vec<&&Person> = alive_end.iter().filter(|p| p.age_on(last) >= 85).collect();
    let py: f64 = people.iter().map(|p| person_years(p, start, end, 0)).sum();
    let py65: f64 = people.iter().map(|p| person_years(p, start, end, 65)).sum();
    let py18: f64 = people.iter().map(|p| person_years(p, start, end, 18)).sum();
    let deaths = people.iter().filter(|p| p.death.is_some()).count();
    let ed: usize = people.iter().map(|p| p.ed.len()).sum();
    let emergency = |p: &Person, min_age: i32| {
        p.admissions
            .iter()
            .filter(|a| a.kind == AdmissionKind::Emergency && p.age_on(a.admit.date) >= min_age)
            .count()
    };
    let em: usize = people.iter().map(|p| emergency(p, 0)).sum();
    let em65: usize = people.iter().map(|p| emergency(p, 65)).sum();
    let el: usize = people
        .iter()
        .map(|p| {
            p.admissions
                .iter()
                .filter(|a| a.kind == AdmissionKind::Elective)
                .count()
        })
        .sum();
    let requests: usize = people
        .iter()
        .map(|p| {
            p.care
                .iter()
                .filter(|e| e.kind == CareEventKind::Request)
                .count()
        })
        .sum();
    let lts = lts_share(people, last);
    Stats {
        age_band_share_start: band_shares(people, start),
        age_band_share_end: band_shares(people, last),
        female_share_85_plus: pct(
            very_old.iter().filter(|p| p.sex == Sex::Female).count(),
            very_old.len(),
        ) / 100.0,
        efi_shares_65_plus: cats.map(|c| pct(c, old.len())),
        person_years: py,
        person_years_65_plus: py65,
        person_years_adult: py18,
        deaths_per_1000_py: per_1000(deaths, py),
        ed_per_1000_py: per_1000(ed, py),
        emergency_admissions_per_1000_py: per_1000(em, py),
        emergency_admissions_65_plus_per_1000_py: per_1000(em65, py65),
        elective_admissions_per_1000_py: per_1000(el, py),
        care_requests_per_1000_adult_py: per_1000(requests, py18),
        long_term_support_65_plus_pct: lts,
        long_term_support_65_plus_start_pct: lts_share(people, start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SynthConfig;

    #[test]
    fn prints_and_sanity_checks_a_small_world() {
        let w = crate::world::simulate(&SynthConfig::new(3000, 5));
        let Ok(w) = w else { panic!("simulate failed") };
        let s = compute(&w);
        let total: f64 = s.age_band_share_start.iter().sum();
        assert!((total - 100.0).abs() < 1e-6);
        assert!(s.person_years > 2_500.0 * 4.0);
    }
}
