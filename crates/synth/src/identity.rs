//! Messy identity: how each source records a person, with that source's error rates.
//!
//! | source | no NHS number | nickname | typo | day/month swapped | stale address | duplicate record |
//! |---|---|---|---|---|---|---|
//! | GP practice | 0 % | 0 % | 0 % | 0 % | 0 % | 0 % |
//! | hospital (per MRN) | 3 % (60 % on a duplicate MRN) | 5 % | 2 % | 1 % | 30 % | 1 % of ED/admission contacts create a duplicate MRN; 2/3 are merged later (ADT A40) |
//! | council | 25 % (70 % on a duplicate record) | 10 % | 5 % | 3 % | 15 % | 4 % of clients get a second person record for later events |
//! | mental health, community | 5 % | 5 % | 2 % | 1 % | 20 % | none |
//!
//! A nickname needs a known familiar form (Robert → Bob); a day/month swap needs a day ≤ 12 that differs
//! from the month. "Stale address" means the source keeps the address it first recorded and does not follow
//! later moves. Every NHS number that is present is correct (and so passes the modulus-11 check).

use crate::date::{Date, DateTime};
use crate::model::{Person, SourceIdentity};
use crate::names;
use crate::rng::Rng;

/// Per-source error rates.
#[derive(Debug, Clone, Copy)]
pub struct ErrorRates {
    pub no_nhs_number: f64,
    pub nickname: f64,
    pub typo: f64,
    pub dob_swap: f64,
    pub stale_address: f64,
}

/// Hospital (primary MRN).
pub const HOSPITAL: ErrorRates = ErrorRates {
    no_nhs_number: 0.03,
    nickname: 0.05,
    typo: 0.02,
    dob_swap: 0.01,
    stale_address: 0.30,
};
/// Council person records.
pub const COUNCIL: ErrorRates = ErrorRates {
    no_nhs_number: 0.25,
    nickname: 0.10,
    typo: 0.05,
    dob_swap: 0.03,
    stale_address: 0.15,
};
/// Mental-health and community trusts.
pub const TRUST: ErrorRates = ErrorRates {
    no_nhs_number: 0.05,
    nickname: 0.05,
    typo: 0.02,
    dob_swap: 0.01,
    stale_address: 0.20,
};
/// Share of hospital contacts that create a duplicate MRN (when the person has none yet).
pub const HOSPITAL_DUPLICATE_RATE: f64 = 0.01;
/// Share of duplicate MRNs later merged with an ADT A40.
pub const HOSPITAL_MERGE_RATE: f64 = 2.0 / 3.0;

/// A 7-digit number unique per `(kind, n)` for `n` < 5,000,000 (an affine bijection mod 10^7).
fn scrambled(n: u64, offset: u64) -> u64 {
    ((n + offset) * 7_919 + 12_345) % 10_000_000
}

/// Which MRN a hospital contact at `at` is filed under (creating the primary or a duplicate as needed).
pub fn hospital_mrn_for_contact(p: &mut Person, rng: &mut Rng, at: DateTime) -> u8 {
    if p.hospital_ids.is_empty() {
        p.hospital_ids.push(placeholder(format!(
            "RW{:07}",
            scrambled(u64::from(p.idx), 0)
        )));
        return 0;
    }
    if p.hospital_ids.len() == 1 && rng.chance(HOSPITAL_DUPLICATE_RATE) {
        let mut dup = placeholder(format!("RW{:07}", scrambled(u64::from(p.idx), 5_000_000)));
        if rng.chance(HOSPITAL_MERGE_RATE) {
            #[allow(clippy::cast_possible_truncation)]
            let later = (1 + rng.below(60)) as u32;
            dup.merged_at = Some(at.add_minutes(later * 1440));
        }
        dup.errors.push("duplicate");
        p.hospital_ids.push(dup);
        return 1;
    }
    0
}

fn placeholder(record_id: String) -> SourceIdentity {
    SourceIdentity {
        record_id,
        nhs_number: None,
        given: String::new(),
        family: String::new(),
        birth_date: Date(0),
        address_frozen_at: None,
        errors: Vec::new(),
        merged_at: None,
    }
}

const QWERTY_ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];

fn neighbour_key(c: char) -> char {
    let lower = c.to_ascii_lowercase();
    for row in QWERTY_ROWS {
        if let Some(i) = row.find(lower) {
            let bytes = row.as_bytes();
            let j = if i + 1 < bytes.len() {
                i + 1
            } else {
                i.saturating_sub(1)
            };
            let n = bytes[j] as char;
            return if c.is_ascii_uppercase() {
                n.to_ascii_uppercase()
            } else {
                n
            };
        }
    }
    c
}

/// One keyboard-style error in `s` (substitution, transposition, deletion or doubling), never on the first
/// letter (people rarely get that wrong).
#[must_use]
pub fn typo(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_owned();
    }
    let i = 1 + rng.index(chars.len() - 1);
    let mut out = chars.clone();
    match rng.below(4) {
        0 => out[i] = neighbour_key(chars[i]),
        1 if i + 1 < chars.len() => out.swap(i, i + 1),
        1 | 2 if chars.len() > 3 => {
            out.remove(i);
        }
        _ => out.insert(i, chars[i]),
    }
    let t: String = out.into_iter().collect();
    if t == s {
        format!("{s}e")
    } else {
        t
    }
}

/// The date with day and month swapped, when that is a different valid date.
#[must_use]
pub fn swap_day_month(d: Date) -> Option<Date> {
    let (y, m, day) = d.ymd();
    if day <= 12 && day != m {
        Date::from_ymd(y, day, m)
    } else {
        None
    }
}

/// A source's view of `p` with the given error rates; `first_contact` anchors a stale address.
fn view(
    p: &Person,
    rng: &mut Rng,
    record_id: String,
    rates: ErrorRates,
    first_contact: Date,
    no_nhs_override: Option<f64>,
) -> SourceIdentity {
    let mut errors = Vec::new();
    let nhs_number = if rng.chance(no_nhs_override.unwrap_or(rates.no_nhs_number)) {
        errors.push("no_nhs_number");
        None
    } else {
        Some(p.nhs_number.clone())
    };
    let mut given = p.given.to_owned();
    if rng.chance(rates.nickname) {
        if let Some(n) = names::nickname(rng, p.given) {
            given = n.to_owned();
            errors.push("nickname");
        }
    }
    let mut family = p.family.to_owned();
    if rng.chance(rates.typo) {
        if rng.chance(0.7) {
            family = typo(rng, &family);
        } else {
            given = typo(rng, &given);
        }
        errors.push("typo");
    }
    let mut birth_date = p.birth_date;
    if rng.chance(rates.dob_swap) {
        if let Some(s) = swap_day_month(birth_date) {
            birth_date = s;
            errors.push("dob_swap");
        }
    }
    let address_frozen_at = if rng.chance(rates.stale_address) {
        errors.push("stale_address");
        Some(first_contact)
    } else {
        None
    };
    SourceIdentity {
        record_id,
        nhs_number,
        given,
        family,
        birth_date,
        address_frozen_at,
        errors,
        merged_at: None,
    }
}

/// Fills in every source identity of `p` after the life course has been simulated.
pub fn assign(p: &mut Person, rng: &mut Rng) {
    let idx = u64::from(p.idx);
    p.gp_id = SourceIdentity {
        record_id: format!("{:07}", scrambled(idx, 2_000_000)),
        nhs_number: Some(p.nhs_number.clone()),
        given: p.given.to_owned(),
        family: p.family.to_owned(),
        birth_date: p.birth_date,
        address_frozen_at: None,
        errors: Vec::new(),
        merged_at: None,
    };
    let first_hospital =
        p.ed.iter()
            .map(|e| e.arrive.date)
            .chain(p.admissions.iter().map(|a| a.admit.date))
            .min();
    if let Some(first) = first_hospital {
        let ids = std::mem::take(&mut p.hospital_ids);
        p.hospital_ids = ids
            .into_iter()
            .enumerate()
            .map(|(i, placeholder)| {
                let no_nhs = (i > 0).then_some(0.6);
                let mut v = view(p, rng, placeholder.record_id, HOSPITAL, first, no_nhs);
                v.merged_at = placeholder.merged_at;
                v.errors.extend(placeholder.errors);
                v
            })
            .collect();
    }
    if let Some(first) = p.care.iter().map(|e| e.start).min() {
        let mut ids = vec![view(
            p,
            rng,
            format!("LA{:08}", scrambled(idx, 0)),
            COUNCIL,
            first,
            None,
        )];
        if let Some(dup_first) = p
            .care
            .iter()
            .filter(|e| e.la_record == 1)
            .map(|e| e.start)
            .min()
        {
            let mut dup = view(
                p,
                rng,
                format!("LA{:08}", 10_000_000 + scrambled(idx, 0)),
                COUNCIL,
                dup_first,
                Some(0.7),
            );
            if rng.chance(0.3) {
                dup.family = typo(rng, &dup.family);
                dup.errors.push("typo");
            }
            dup.errors.push("duplicate");
            ids.push(dup);
        }
        p.council_ids = ids;
    }
    if let Some(first) = p.mh.iter().map(|c| c.at.date).min() {
        p.mh_id = Some(view(
            p,
            rng,
            format!("MH{:07}", scrambled(idx, 3_000_000)),
            TRUST,
            first,
            None,
        ));
    }
    if let Some(first) = p.community.iter().map(|c| c.start).min() {
        p.community_id = Some(view(
            p,
            rng,
            format!("CM{:07}", scrambled(idx, 4_000_000)),
            TRUST,
            first,
            None,
        ));
    }
}

/// The address a source holds for `p` on `on`.
#[must_use]
pub fn address_seen<'a>(p: &'a Person, id: &SourceIdentity, on: Date) -> &'a crate::place::Address {
    &p.residence_on(id.address_frozen_at.map_or(on, |f| f.min(on)))
        .address
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_change_the_string_but_keep_the_first_letter() {
        let mut rng = Rng::new(8);
        for name in ["Smith", "Featherstone", "Ali", "Jones"] {
            for _ in 0..50 {
                let t = typo(&mut rng, name);
                assert_ne!(t, name);
                assert_eq!(t.chars().next(), name.chars().next());
            }
        }
    }

    #[test]
    fn day_month_swap_only_when_distinct() {
        let d = Date::from_ymd(1950, 3, 7).unwrap_or(Date(0));
        assert_eq!(
            swap_day_month(d).map(Date::iso).as_deref(),
            Some("1950-07-03")
        );
        assert_eq!(
            swap_day_month(Date::from_ymd(1950, 3, 3).unwrap_or(Date(0))),
            None
        );
        assert_eq!(
            swap_day_month(Date::from_ymd(1950, 3, 25).unwrap_or(Date(0))),
            None
        );
    }

    #[test]
    fn scrambled_ids_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..50_000 {
            assert!(seen.insert(scrambled(n, 0)));
            assert!(seen.insert(scrambled(n, 5_000_000)));
        }
    }
}
