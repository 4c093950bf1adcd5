//! A person's life course through the window, month by month: deaths, GP consultations and measurements,
//! ED attendances, emergency and elective admissions (with the planted frailty-team effect on length of
//! stay), mental-health and community contacts; social care is delegated to [`crate::social_care`].
//!
//! Frailty drives events: the eFI score raises the rates of death, ED attendance (falls especially),
//! admission, length of stay and care needs. New deficits inside the window trigger their natural events
//! (a hip fracture → an orthopaedic admission, a stroke → a stroke-unit admission, a first fall → ED,
//! memory problems → memory clinic, a new care requirement → a social care request).

use crate::codes::{self, Coded, LAB_TESTS};
use crate::date::{Date, DateTime};
use crate::efi::{idx, DEFICITS};
use crate::identity;
use crate::model::{
    Admission, AdmissionKind, CommunityEpisode, CommunityKind, Discharge, EdAttendance, GpContact,
    GpMode, GpObservation, LabResult, MhContact, MhKind, Person,
};
use crate::place::{ward, Place};
use crate::rng::Rng;
use crate::social_care::{self, CareState};

/// Shared read-only context for simulating one person.
pub struct Ctx<'a> {
    pub place: &'a Place,
    pub start: Date,
    pub end: Date,
    pub frailty_los_effect: f64,
    pub reablement_effect: f64,
    pub unit_costs: &'a crate::costs::UnitCosts,
}

/// Simulation step in days.
const STEP: i32 = 30;

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Probability of at least one event in `dt_years` at `rate` per year.
fn p_event(rate: f64, dt_years: f64) -> f64 {
    1.0 - (-rate * dt_years).exp()
}

/// A random time of day between `from_h` and `to_h` hours.
fn time_in(rng: &mut Rng, date: Date, from_h: u32, to_h: u32) -> DateTime {
    #[allow(clippy::cast_possible_truncation)]
    let minute = from_h * 60 + rng.below(u64::from((to_h - from_h) * 60)) as u32;
    DateTime::new(date, minute)
}

/// A random time between `from_h` and `to_h` on a random day in `from..to`.
fn time_between(rng: &mut Rng, from: Date, to: Date, from_h: u32, to_h: u32) -> DateTime {
    let day = random_day(rng, from, to);
    time_in(rng, day, from_h, to_h)
}

fn random_day(rng: &mut Rng, from: Date, to: Date) -> Date {
    let span = to.days_since(from).max(1);
    #[allow(clippy::cast_possible_truncation)]
    let d = from.add_days(rng.below(u64::from(span.unsigned_abs())) as i32);
    d
}

/// Mutable per-person simulation state.
pub struct State {
    /// No new hospital episode may start before this time.
    pub busy_until: DateTime,
    pub care: CareState,
    last_obs_year: i32,
}

/// Runs the whole window for `p` (demographics, deficits, medications and other conditions already set).
pub fn run(p: &mut Person, rng: &mut Rng, ctx: &Ctx<'_>) {
    let first = ctx.start.max(p.birth_date);
    let mut st = State {
        busy_until: DateTime::new(first, 0),
        care: CareState::default(),
        last_obs_year: -1,
    };
    social_care::initial_caseload(p, &mut st.care, rng, ctx);
    let mut t = first;
    while t < ctx.end {
        let next = t.add_days(STEP).min(ctx.end);
        let dt = f64::from(next.days_since(t)) / 365.25;
        // A death drawn while the person is in hospital is moved to just after discharge.
        let death = death_in(p, rng, t, next, dt).map(|d| {
            #[allow(clippy::cast_possible_truncation)]
            let after = st.busy_until.date.add_days(1 + rng.below(10) as i32);
            d.max(after)
        });
        onset_events(p, rng, ctx, &mut st, t, death.unwrap_or(next).min(next));
        if let Some(death) = death.filter(|d| *d < ctx.end) {
            die(p, rng, ctx, &mut st, death);
            break;
        }
        gp_month(p, rng, ctx, &mut st, t, next, dt);
        ed_month(p, rng, ctx, &mut st, t, next, dt);
        elective_month(p, rng, &mut st, t, next, dt);
        mh_month(p, rng, t, next, dt);
        social_care::monthly(p, &mut st.care, rng, ctx, t, next);
        t = next;
    }
    finalize(p, ctx);
}

/// Drops contacts planned for after death or the reference date and stops medication at death.
fn finalize(p: &mut Person, ctx: &Ctx<'_>) {
    let stop = p.death.map_or(ctx.end, |d| d.min(ctx.end));
    p.mh.retain(|c| c.at.date < stop);
    for ep in &mut p.community {
        ep.visits.retain(|v| v.date < stop);
        if p.death.is_some_and(|d| ep.end > d) {
            ep.end = stop;
        }
    }
    p.community.retain(|ep| !ep.visits.is_empty());
    // Steps planned after the reference date (an assessment following a late request) are not yet known.
    p.care.retain(|e| e.start < stop);
    if let Some(d) = p.death {
        for m in &mut p.meds {
            if m.start < d {
                m.end = Some(d);
            }
        }
        p.meds.retain(|m| m.start < d);
    }
}

fn death_in(p: &Person, rng: &mut Rng, t: Date, next: Date, dt: f64) -> Option<Date> {
    let age = p.birth_date.years_between(t);
    let efi = p.efi(t);
    let hazard = (-10.75 + 0.095 * age).exp() * (3.0 * (efi - 0.1)).exp();
    rng.chance(p_event(hazard, dt))
        .then(|| random_day(rng, t, next))
}

fn die(p: &mut Person, rng: &mut Rng, ctx: &Ctx<'_>, st: &mut State, death: Date) {
    let age = p.age_on(death);
    let at = time_in(rng, death, 0, 24);
    // About 45 % of deaths happen in hospital: an emergency admission that ends in death.
    if age >= 40 && rng.chance(0.45) {
        let los = rng.lognormal(4.0, 0.8).clamp(0.3, 40.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let admit = DateTime::new(at.date.add_days(-(los.ceil() as i32)), u32::from(at.minute));
        if admit > st.busy_until && admit.date >= ctx.start {
            let reason = *rng.pick(&codes::ED_REASONS[4..]);
            emergency_admission(
                p,
                rng,
                ctx,
                st,
                Emergency {
                    admit,
                    reason,
                    first_ward: ward::AMU,
                    death_at: Some(at),
                },
            );
        }
    }
    p.death = Some(death);
    social_care::on_death(p, &mut st.care, death);
    if (p.efi(death) > 0.24 || age >= 80) && rng.chance(0.6) {
        #[allow(clippy::cast_possible_truncation)]
        let start = death.add_days(-(30 + rng.below(330) as i32)).max(ctx.start);
        p.flags.push(crate::model::FlagRec {
            kind: crate::model::FlagKind::Dnacpr,
            start,
            end: None,
        });
    }
}

fn onset_events(p: &mut Person, rng: &mut Rng, ctx: &Ctx<'_>, st: &mut State, t: Date, next: Date) {
    let onsets: Vec<(usize, u8, Date)> = p
        .deficits
        .iter()
        .filter(|d| d.onset >= t && d.onset < next && d.onset >= ctx.start)
        .map(|d| (usize::from(d.deficit), d.code, d.onset))
        .collect();
    for (k, code, date) in onsets {
        let coded = DEFICITS[k].codes.get(usize::from(code)).copied();
        let at = time_in(rng, date, 7, 23);
        match (k, coded) {
            (idx::FALLS, Some(_)) if rng.chance(0.6) => {
                ed_attendance(p, rng, ctx, st, at, ("1912002", "Fall"), 0.15)
            }
            (idx::FRAGILITY_FRACTURE, Some(c)) => {
                let p_admit = if code == 0 { 1.0 } else { 0.1 };
                ed_attendance(p, rng, ctx, st, at, c, p_admit);
            }
            (idx::CEREBROVASCULAR, Some(c)) => {
                let p_admit = if code == 0 { 1.0 } else { 0.3 };
                ed_attendance(p, rng, ctx, st, at, c, p_admit);
            }
            (idx::HEART_FAILURE, Some(c)) if rng.chance(0.4) => {
                ed_attendance(p, rng, ctx, st, at, c, 0.8)
            }
            (idx::MEMORY, Some(c)) if p.age_on(date) >= 55 => {
                #[allow(clippy::cast_possible_truncation)]
                let delay = 30 + rng.below(60) as i32;
                let first = time_in(rng, date.add_days(delay), 9, 17);
                p.mh.push(MhContact {
                    at: first,
                    kind: MhKind::MemoryClinic,
                    reason: c,
                });
                p.mh.push(MhContact {
                    at: first.add_minutes(180 * 1440),
                    kind: MhKind::MemoryClinic,
                    reason: c,
                });
                if rng.chance(0.3) {
                    social_care::request(
                        p,
                        &mut st.care,
                        rng,
                        ctx,
                        date.add_days(45),
                        "Community",
                        social_care::codes::PSR_MEMORY,
                    );
                }
            }
            (idx::CARE_REQUIREMENT | idx::HOUSEBOUND, _)
                if p.age_on(date) >= 18 && rng.chance(0.5) =>
            {
                social_care::request(
                    p,
                    &mut st.care,
                    rng,
                    ctx,
                    date,
                    "Community",
                    social_care::codes::PSR_PERSONAL_CARE,
                );
            }
            (idx::SKIN_ULCER, Some(c)) => {
                let length = 42 + rng.below(42);
                community_episode(p, rng, CommunityKind::DistrictNursing, date, c, length, 4);
            }
            _ => {}
        }
    }
}

fn community_episode(
    p: &mut Person,
    rng: &mut Rng,
    kind: CommunityKind,
    start: Date,
    reason: Coded,
    days: u64,
    every: u64,
) {
    #[allow(clippy::cast_possible_truncation)]
    let end = start.add_days(days as i32);
    let mut visits = Vec::new();
    let mut d = start.add_days(1 + rng.below(4) as i32);
    while d < end && p.death.is_none_or(|x| d < x) {
        visits.push(time_in(rng, d, 8, 18));
        #[allow(clippy::cast_possible_truncation)]
        let step = (every + rng.below(every.max(1))) as i32;
        d = d.add_days(step.max(1));
    }
    if !visits.is_empty() {
        p.community.push(CommunityEpisode {
            kind,
            start,
            end,
            reason,
            visits,
        });
    }
}

fn gp_month(
    p: &mut Person,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    st: &mut State,
    t: Date,
    next: Date,
    dt: f64,
) {
    let age = p.age_on(t);
    let count = p.deficit_count(t);
    #[allow(clippy::cast_precision_loss)]
    let mut rate = 1.8 + 0.45 * count as f64;
    if age < 5 {
        rate += 2.5;
    }
    if p.sex == crate::model::Sex::Female && (16..=45).contains(&age) {
        rate += 1.0;
    }
    let n = rng.poisson(rate.min(24.0) * dt);
    let housebound = p.has_deficit(idx::HOUSEBOUND, t) || p.residence_on(t).care_home.is_some();
    let practice = usize::from(p.practice);
    for _ in 0..n {
        let date = random_day(rng, t, next);
        let mode = if housebound && rng.chance(0.7) {
            GpMode::HomeVisit
        } else if rng.chance(0.35) {
            GpMode::Telephone
        } else {
            GpMode::Surgery
        };
        let active: Vec<(usize, u8)> = p
            .deficits
            .iter()
            .filter(|d| d.onset <= date && usize::from(d.deficit) != idx::POLYPHARMACY)
            .map(|d| (usize::from(d.deficit), d.code))
            .collect();
        let reason = if !active.is_empty() && rng.chance(0.55) {
            let (k, c) = active[rng.index(active.len())];
            DEFICITS[k].codes[usize::from(c)]
        } else {
            *rng.pick(codes::GP_ACUTE_REASONS)
        };
        #[allow(clippy::cast_possible_truncation)]
        let clinician = (practice * 3 + rng.index(3)) as u16;
        p.gp_contacts.push(GpContact {
            at: time_in(rng, date, 8, 18),
            mode,
            reason,
            clinician,
        });
        gp_observations(p, rng, ctx, st, date, age);
    }
}

fn gp_observations(
    p: &mut Person,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    st: &mut State,
    date: Date,
    age: i32,
) {
    let year = date.days_since(ctx.start) / 365;
    if year == st.last_obs_year || age < 40 {
        return;
    }
    st.last_obs_year = year;
    let at = time_in(rng, date, 9, 17);
    let hypertensive = p.has_deficit(idx::HYPERTENSION, date);
    if hypertensive || rng.chance(0.5) {
        let sys = (if hypertensive { 142.0 } else { 126.0 } + 12.0 * rng.normal())
            .round()
            .clamp(85.0, 210.0);
        let dia = (0.55 * sys + 8.0 * rng.normal()).round().clamp(45.0, 120.0);
        p.gp_observations.push(GpObservation {
            at,
            code: codes::OBS_SYSTOLIC,
            value: sys,
        });
        p.gp_observations.push(GpObservation {
            at,
            code: codes::OBS_DIASTOLIC,
            value: dia,
        });
    }
    if age >= 65 {
        let base = if p.sex == crate::model::Sex::Female {
            68.0
        } else {
            80.0
        };
        let loss = if p.has_deficit(35, date) { 9.0 } else { 0.0 };
        let w = (base - loss + 11.0 * rng.normal()).clamp(35.0, 160.0);
        p.gp_observations.push(GpObservation {
            at,
            code: codes::OBS_WEIGHT,
            value: (w * 10.0).round() / 10.0,
        });
    }
}

fn ed_month(
    p: &mut Person,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    st: &mut State,
    t: Date,
    next: Date,
    dt: f64,
) {
    let age = p.age_on(t);
    let efi = p.efi(t);
    let base = match age {
        0..=4 => 0.45,
        5..=15 => 0.25,
        16..=64 => 0.28,
        65..=79 => 0.35,
        _ => 0.6,
    };
    let n = rng.poisson((base + 1.2 * efi) * dt);
    for _ in 0..n {
        let at = time_between(rng, t, next, 0, 24);
        let reason = *rng.pick(codes::ED_REASONS);
        ed_attendance(p, rng, ctx, st, at, reason, 0.0);
    }
    // Frailty drives falls: people with a falls history fall again at a rate rising with the eFI.
    if age >= 65 && p.has_deficit(idx::FALLS, t) && rng.chance(p_event(0.15 + 1.2 * efi, dt)) {
        let at = time_between(rng, t, next, 0, 24);
        ed_attendance(p, rng, ctx, st, at, ("1912002", "Fall"), 0.1);
    }
    // Direct GP-referred emergency admissions (admission method 22).
    if age >= 50 && rng.chance(p_event(0.01 + 0.2 * efi, dt)) {
        let at = time_between(rng, t, next, 10, 20);
        if at > st.busy_until {
            let reason = *rng.pick(&codes::ED_REASONS[4..]);
            emergency_admission(
                p,
                rng,
                ctx,
                st,
                Emergency {
                    admit: at,
                    reason,
                    first_ward: ward::AMU,
                    death_at: None,
                },
            );
        }
    }
}

/// An ED attendance at `arrive`; admitted with the usual age/frailty probability plus `extra_admit`.
fn ed_attendance(
    p: &mut Person,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    st: &mut State,
    arrive: DateTime,
    reason: Coded,
    extra_admit: f64,
) {
    if arrive <= st.busy_until
        || arrive.date >= ctx.end
        || p.death.is_some_and(|d| arrive.date >= d)
    {
        return;
    }
    let age = p.age_on(arrive.date);
    let efi = p.efi(arrive.date);
    let p_admit = if age < 65 {
        0.12
    } else {
        (0.25 + 0.7 * efi).min(0.7)
    } + extra_admit;
    #[allow(clippy::cast_possible_truncation)]
    let depart = arrive.add_minutes(90 + rng.below(360) as u32);
    let mrn = identity::hospital_mrn_for_contact(p, rng, arrive);
    let admitted = rng.chance(p_admit);
    p.ed.push(EdAttendance {
        arrive,
        depart,
        reason,
        admission: None,
        mrn,
    });
    st.busy_until = depart;
    if admitted && depart.date < ctx.end {
        let w = match reason.0 {
            "5913000" => ward::ORTHO,
            "230690007" => ward::STROKE,
            _ => ward::AMU,
        };
        let adm = emergency_admission(
            p,
            rng,
            ctx,
            st,
            Emergency {
                admit: depart,
                reason,
                first_ward: w,
                death_at: None,
            },
        );
        if let (Some(a), Some(last)) = (adm, p.ed.last_mut()) {
            last.admission = Some(a);
        }
    }
}

fn labs(p: &Person, rng: &mut Rng, date: Date) -> Vec<LabResult> {
    let anaemic = p.has_deficit(idx::ANAEMIA, date);
    let ckd = p.has_deficit(idx::CKD, date);
    LAB_TESTS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mean = match t.loinc {
                "718-7" if anaemic => t.mean - 22.0,
                "14682-9" if ckd => t.mean + 55.0,
                _ => t.mean,
            };
            let raw = if t.loinc == "1988-5" {
                rng.lognormal(12.0, 1.1)
            } else {
                mean + t.sd * rng.normal()
            };
            let scale = 10f64.powi(i32::from(t.decimals));
            #[allow(clippy::cast_possible_truncation)]
            LabResult {
                test: i as u8,
                value: (raw.max(t.sd * 0.2) * scale).round() / scale,
            }
        })
        .collect()
}

/// Length of stay (days) before any frailty-team effect.
fn untreated_los(rng: &mut Rng, age: i32, efi: f64, ward_idx: usize) -> f64 {
    let median = if age >= 65 {
        3.5 * (3.0 * efi).exp()
    } else {
        1.5 + 0.04 * f64::from(age.max(0))
    };
    let specialty = match ward_idx {
        ward::ORTHO | ward::STROKE => 1.8,
        _ => 1.0,
    };
    rng.lognormal(median * specialty, 0.6).clamp(0.15, 150.0)
}

/// What brings a person in as an emergency.
struct Emergency {
    admit: DateTime,
    reason: Coded,
    first_ward: usize,
    /// Forces an in-hospital death at this time.
    death_at: Option<DateTime>,
}

/// Adds an emergency admission. Returns the admission index, or `None` when it would overlap an earlier
/// episode.
fn emergency_admission(
    p: &mut Person,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    st: &mut State,
    e: Emergency,
) -> Option<usize> {
    let Emergency {
        admit,
        reason,
        first_ward,
        death_at,
    } = e;
    if admit < st.busy_until {
        return None;
    }
    let age = p.age_on(admit.date);
    let count = p.deficit_count(admit.date);
    let efi = crate::efi::score(count);
    let frail = age >= 65 && count >= 5;
    let los_untreated = untreated_los(rng, age, efi, first_ward);
    let coop_ward = age >= 75 && first_ward == ward::AMU;
    let frailty_team = frail
        && rng.chance(logistic(
            -1.9 + 8.0 * (efi - 0.13) + if coop_ward { 0.5 } else { 0.0 },
        ));
    let mut los = if frailty_team {
        los_untreated * (1.0 - ctx.frailty_los_effect)
    } else {
        los_untreated
    };
    let mut discharge_at = admit.add_minutes(minutes(los));
    if let Some(d) = death_at {
        discharge_at = d.max(admit.add_minutes(60));
        los = f64::from(discharge_at.date.days_since(admit.date))
            + f64::from(i32::from(discharge_at.minute) - i32::from(admit.minute)) / 1440.0;
    }
    let ward_after = if coop_ward {
        if rng.chance(0.5) {
            ward::COOP_A
        } else {
            ward::COOP_B
        }
    } else {
        ward::MEDICINE
    };
    let mut wards = vec![(admit, first_ward)];
    if first_ward == ward::AMU && los > 1.0 {
        wards.push((admit.add_minutes(minutes(los.min(2.0) * 0.5)), ward_after));
    }
    let ft_at =
        frailty_team.then(|| admit.add_minutes(120 + minutes(rng.f64() * (los * 0.4).min(2.0))));
    let discharge = if death_at.is_some() {
        Discharge::Died
    } else if p.residence_on(admit.date).care_home.is_none()
        && frail
        && rng.chance(0.01 + 0.25 * (efi - 0.25).max(0.0))
    {
        Discharge::CareHome
    } else {
        Discharge::UsualResidence
    };
    let from_ed = p.ed.last().filter(|e| e.depart == admit).map(|e| e.mrn);
    let mrn = match from_ed {
        Some(m) => m,
        None => identity::hospital_mrn_for_contact(p, rng, admit),
    };
    let labs = labs(p, rng, admit.date);
    p.admissions.push(Admission {
        kind: AdmissionKind::Emergency,
        admit,
        discharge_at,
        reason,
        wards,
        frailty_team: ft_at,
        #[allow(clippy::cast_possible_truncation)]
        efi_count: count as u8,
        frail,
        los_untreated_days: if death_at.is_some() {
            los
        } else {
            los_untreated
        },
        los_days: los,
        discharge,
        labs,
        mrn,
    });
    st.busy_until = discharge_at;
    let adm = p.admissions.len() - 1;
    if death_at.is_none() {
        social_care::on_discharge(p, &mut st.care, rng, ctx, adm);
        if frail && rng.chance(0.15) {
            let reason = p.admissions[adm].reason;
            let length = 14 + rng.below(21);
            community_episode(
                p,
                rng,
                CommunityKind::DistrictNursing,
                discharge_at.date,
                reason,
                length,
                3,
            );
        }
        if reason.0 == "1912002" && age >= 65 && rng.chance(0.5) {
            community_episode(
                p,
                rng,
                CommunityKind::FallsService,
                discharge_at.date.add_days(7),
                reason,
                42,
                14,
            );
        }
    }
    Some(adm)
}

fn minutes(days: f64) -> u32 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = (days * 1440.0).round().max(1.0) as u32;
    m
}

fn elective_month(p: &mut Person, rng: &mut Rng, st: &mut State, t: Date, next: Date, dt: f64) {
    let age = p.age_on(t);
    let rate = match age {
        0..=39 => 0.03,
        40..=64 => 0.07,
        _ => 0.12,
    };
    if !rng.chance(p_event(rate, dt)) {
        return;
    }
    let admit = time_between(rng, t, next, 7, 10);
    if admit <= st.busy_until {
        return;
    }
    let procedure = match age {
        65.. => *rng.pick(codes::ELECTIVE_PROCEDURES),
        55.. => *rng.pick(&codes::ELECTIVE_PROCEDURES[1..]),
        _ => *rng.pick(&codes::ELECTIVE_PROCEDURES[3..]),
    };
    let w = if matches!(procedure.0, "52734007" | "609588000") {
        ward::ORTHO
    } else {
        ward::SURGICAL
    };
    let los = if w == ward::ORTHO {
        rng.lognormal(3.0, 0.4)
    } else {
        rng.lognormal(0.35, 0.8).min(6.0)
    };
    let discharge_at = admit.add_minutes(minutes(los));
    let mrn = identity::hospital_mrn_for_contact(p, rng, admit);
    let count = p.deficit_count(admit.date);
    p.admissions.push(Admission {
        kind: AdmissionKind::Elective,
        admit,
        discharge_at,
        reason: procedure,
        wards: vec![(admit, w)],
        frailty_team: None,
        #[allow(clippy::cast_possible_truncation)]
        efi_count: count as u8,
        frail: false,
        los_untreated_days: los,
        los_days: los,
        discharge: Discharge::UsualResidence,
        labs: Vec::new(),
        mrn,
    });
    st.busy_until = discharge_at;
}

fn mh_month(p: &mut Person, rng: &mut Rng, t: Date, next: Date, dt: f64) {
    let smi = p
        .other_conditions
        .iter()
        .find(|c| c.onset <= t && codes::MH_CONDITIONS[1..].contains(&c.code))
        .map(|c| c.code);
    let depressed = p
        .other_conditions
        .iter()
        .find(|c| c.onset <= t && c.code == codes::MH_CONDITIONS[0])
        .map(|c| c.code);
    let (crisis_rate, team_rate, reason) = match (smi, depressed) {
        (Some(c), _) => (0.4, 6.0, c),
        (None, Some(c)) => (0.03, 0.4, c),
        _ => return,
    };
    for _ in 0..rng.poisson(team_rate * dt) {
        p.mh.push(MhContact {
            at: time_between(rng, t, next, 9, 17),
            kind: MhKind::CommunityTeam,
            reason,
        });
    }
    if rng.chance(p_event(crisis_rate, dt)) {
        p.mh.push(MhContact {
            at: time_between(rng, t, next, 0, 24),
            kind: MhKind::Crisis,
            reason,
        });
    }
}
