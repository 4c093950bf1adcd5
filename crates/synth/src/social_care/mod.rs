//! Adult social care: requests, Care Act assessments, services (reablement, home support, residential
//! and nursing care, supported living, direct payments, day support, equipment) and reviews, in the shape of
//! the CLD event model, plus safeguarding flags.
//!
//! Two routes lead in. The **hospital-discharge route** follows an emergency discharge of a frail person
//! (age ≥ 65, eFI ≥ 0.13): a request is made with a probability rising with frailty; reablement follows with a
//! probability *falling* with frailty (reablement is offered to people judged to have rehabilitation
//! potential) — so a naive comparison of reablement against no reablement is confounded. The chance of a
//! care-home admission within 91 days is `p0 = f(eFI, memory problems, age ≥ 85)`, cut by the planted
//! `reablement_effect` when reablement is given. The **community route** is a monthly hazard rising with
//! frailty, plus new care-requirement / housebound / memory deficits, and learning-disability and
//! mental-health needs among working-age adults.

pub mod codes;
mod discharge;
mod services;

pub use discharge::on_discharge;

use crate::date::Date;
use crate::efi::idx;
use crate::lifecourse::Ctx;
use crate::model::{CareEvent, CareEventKind, FlagKind, FlagRec, Person};
use crate::rng::Rng;
use codes::{
    outcome, PSR_ACCESS_MOBILITY, PSR_ISOLATION, PSR_LD, PSR_MEMORY, PSR_MH, PSR_PERSONAL_CARE,
    PSR_VISUAL, REVIEW_PLANNED, REVIEW_UNPLANNED, ROUTE_COMMUNITY,
};
use services::{end_open_service, long_term_service, review, start_care_home};

/// Per-person social care state during the simulation.
#[derive(Debug, Default)]
pub struct CareState {
    known_since: Option<Date>,
    /// Events from this date on are filed under a duplicate council record.
    duplicate_from: Option<Date>,
    last_request: Option<Date>,
    /// Index into `Person::care` of the open long-term service.
    open_service: Option<usize>,
    next_review: Option<Date>,
    safeguarding_until: Option<Date>,
    /// A care-home move decided at a discharge, carried out when the simulation clock reaches it.
    pending_care_home: Option<(Date, Why)>,
}

fn days(rng: &mut Rng, lo: i32, hi: i32) -> i32 {
    #[allow(clippy::cast_possible_truncation)]
    let d = rng.range_i64(i64::from(lo), i64::from(hi)) as i32;
    d
}

fn push(p: &mut Person, st: &CareState, mut ev: CareEvent) -> usize {
    #[allow(clippy::cast_possible_truncation)]
    let seq = p.care.len() as u16 + 1;
    ev.seq = seq;
    ev.la_record = u8::from(st.duplicate_from.is_some_and(|d| ev.start >= d));
    p.care.push(ev);
    p.care.len() - 1
}

fn event(
    kind: CareEventKind,
    start: Date,
    end: Option<Date>,
    outcome: Option<&'static str>,
    psr: &'static str,
    route: &'static str,
    parent: Option<u16>,
) -> CareEvent {
    CareEvent {
        seq: 0,
        kind,
        start,
        end,
        outcome,
        psr,
        route,
        service: None,
        parent,
        la_record: 0,
    }
}

fn primary_support_reason(p: &Person, rng: &mut Rng, on: Date) -> &'static str {
    let has = |code: &str| {
        p.other_conditions
            .iter()
            .any(|c| c.onset <= on && c.code.0 == code)
    };
    if has(crate::codes::LEARNING_DISABILITY.0) {
        PSR_LD
    } else if has("58214004") || has("13746004") {
        PSR_MH
    } else if p.has_deficit(idx::MEMORY, on) && rng.chance(0.6) {
        PSR_MEMORY
    } else if p.has_deficit(34, on) && rng.chance(0.15) {
        PSR_VISUAL
    } else if p.has_deficit(idx::SOCIAL_VULNERABILITY, on) && rng.chance(0.1) {
        PSR_ISOLATION
    } else if rng.chance(0.8) {
        PSR_PERSONAL_CARE
    } else {
        PSR_ACCESS_MOBILITY
    }
}

fn note_known(st: &mut CareState, rng: &mut Rng, date: Date) {
    if st.known_since.is_none() {
        st.known_since = Some(date);
        if rng.chance(0.04) {
            st.duplicate_from = Some(date.add_days(days(rng, 180, 720)));
        }
    }
}

fn alive_in_window(p: &Person, ctx: &Ctx<'_>, date: Date) -> bool {
    date >= ctx.start && alive_before_end(p, ctx, date)
}

/// Alive on `date` and `date` before the reference date (services may have begun before the window).
fn alive_before_end(p: &Person, ctx: &Ctx<'_>, date: Date) -> bool {
    date < ctx.end && date >= p.birth_date && p.death.is_none_or(|d| date < d)
}

/// A community-route (or other) request on `date`; leads to assessment and possibly services.
pub fn request(
    p: &mut Person,
    st: &mut CareState,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    date: Date,
    route: &'static str,
    psr_hint: &'static str,
) {
    if !alive_in_window(p, ctx, date)
        || p.age_on(date) < 18
        || st.last_request.is_some_and(|d| date.days_since(d) < 120)
    {
        return;
    }
    if let Some(open) = st.open_service {
        review(p, st, rng, ctx, date, REVIEW_UNPLANNED, open);
        return;
    }
    note_known(st, rng, date);
    st.last_request = Some(date);
    let psr = if psr_hint == PSR_PERSONAL_CARE {
        primary_support_reason(p, rng, date)
    } else {
        psr_hint
    };
    let x = rng.f64();
    let req_outcome = if x < 0.5 {
        outcome::PROGRESS_ASSESSMENT
    } else if x < 0.85 {
        outcome::NFA_INFO
    } else {
        outcome::NFA_SELF_FUNDED
    };
    let r = push(
        p,
        st,
        event(
            CareEventKind::Request,
            date,
            Some(date),
            Some(req_outcome),
            psr,
            route,
            None,
        ),
    );
    if req_outcome != outcome::PROGRESS_ASSESSMENT {
        return;
    }
    let a_start = date.add_days(days(rng, 2, 21));
    let a_end = a_start.add_days(days(rng, 1, 28));
    let y = rng.f64();
    let a_outcome = if y < 0.45 {
        outcome::PROGRESS_SUPPORT
    } else if y < 0.8 {
        outcome::NFA_SELF_FUNDED
    } else if y < 0.9 {
        outcome::NFA_NHS
    } else {
        outcome::NFA_INFO
    };
    let parent = Some(p.care[r].seq);
    let a = push(
        p,
        st,
        event(
            CareEventKind::Assessment,
            a_start,
            Some(a_end),
            Some(a_outcome),
            psr,
            route,
            parent,
        ),
    );
    if a_outcome == outcome::PROGRESS_SUPPORT && alive_in_window(p, ctx, a_end) {
        let parent = Some(p.care[a].seq);
        let start = a_end.add_days(days(rng, 0, 14));
        long_term_service(p, st, rng, ctx, start, Why { psr, route, parent });
    }
}

/// Why an event happens: its primary support reason, route and the event it follows from.
#[derive(Debug, Clone, Copy)]
struct Why {
    psr: &'static str,
    route: &'static str,
    parent: Option<u16>,
}

/// People already supported when the window opens: a request, assessment and long-term service that
/// began up to three years before the start date (so the first CLD submission has a caseload).
pub fn initial_caseload(p: &mut Person, st: &mut CareState, rng: &mut Rng, ctx: &Ctx<'_>) {
    let start = ctx.start;
    if !p.alive_on(start) || p.age_on(start) < 19 {
        return;
    }
    let has = |code: &str| {
        p.other_conditions
            .iter()
            .any(|c| c.onset <= start && c.code.0 == code)
    };
    let efi = p.efi(start);
    let memory = p.has_deficit(idx::MEMORY, start);
    let (prob, psr) = if has(crate::codes::LEARNING_DISABILITY.0) {
        (0.45, PSR_LD)
    } else if has("58214004") || has("13746004") {
        (0.08, PSR_MH)
    } else if p.age_on(start) >= 65 {
        (
            0.008 + 0.45 * (efi - 0.12).max(0.0) + if memory { 0.1 } else { 0.0 },
            PSR_PERSONAL_CARE,
        )
    } else {
        (0.002, PSR_PERSONAL_CARE)
    };
    if !rng.chance(prob) {
        return;
    }
    let psr = if psr == PSR_PERSONAL_CARE {
        primary_support_reason(p, rng, start)
    } else {
        psr
    };
    let began = start.add_days(-days(rng, 30, 3 * 365));
    if p.age_on(began) < 18 {
        return;
    }
    note_known(st, rng, began);
    let r = push(
        p,
        st,
        event(
            CareEventKind::Request,
            began.add_days(-40),
            Some(began.add_days(-40)),
            Some(outcome::PROGRESS_ASSESSMENT),
            psr,
            ROUTE_COMMUNITY,
            None,
        ),
    );
    let parent = Some(p.care[r].seq);
    let a = push(
        p,
        st,
        event(
            CareEventKind::Assessment,
            began.add_days(-30),
            Some(began.add_days(-5)),
            Some(outcome::PROGRESS_SUPPORT),
            psr,
            ROUTE_COMMUNITY,
            parent,
        ),
    );
    let parent = Some(p.care[a].seq);
    long_term_service(
        p,
        st,
        rng,
        ctx,
        began,
        Why {
            psr,
            route: ROUTE_COMMUNITY,
            parent,
        },
    );
    if st.open_service.is_some() {
        st.next_review = Some(start.add_days(days(rng, 0, 364)));
    }
}

/// Monthly community-route requests, planned reviews, care-home escalation and safeguarding.
pub fn monthly(
    p: &mut Person,
    st: &mut CareState,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    t: Date,
    next: Date,
) {
    if let Some((date, why)) = st.pending_care_home.filter(|(d, _)| *d < next) {
        st.pending_care_home = None;
        start_care_home(p, st, rng, ctx, date, why);
    }
    let age = p.age_on(t);
    if age < 18 {
        return;
    }
    let dt = f64::from(next.days_since(t)) / 365.25;
    let efi = p.efi(t);
    if let Some(open) = st.open_service {
        if let Some(r) = st.next_review.filter(|r| *r >= t && *r < next) {
            review(p, st, rng, ctx, r, REVIEW_PLANNED, open);
        }
        let at_home = p.residence_on(t).care_home.is_none();
        if at_home && rng.chance(dt * 0.45) {
            let on = t.add_days(days(rng, 0, 29));
            if alive_in_window(p, ctx, on) {
                end_open_service(p, st, on, outcome::ENDED_AS_PLANNED);
                return;
            }
        }
        let memory = p.has_deficit(idx::MEMORY, t);
        if at_home
            && age >= 65
            && efi >= 0.3
            && rng.chance(dt * 0.06 * if memory { 2.0 } else { 1.0 })
        {
            let psr = p.care[open].psr;
            let parent = Some(p.care[open].seq);
            let on = t
                .add_days(days(rng, 0, 29))
                .max(p.care[open].start.add_days(1));
            start_care_home(
                p,
                st,
                rng,
                ctx,
                on,
                Why {
                    psr,
                    route: ROUTE_COMMUNITY,
                    parent,
                },
            );
        }
    } else {
        let has = |code: &str| {
            p.other_conditions
                .iter()
                .any(|c| c.onset <= t && c.code.0 == code)
        };
        let rate = if age >= 65 {
            0.025 + 0.35 * (efi - 0.1).max(0.0)
        } else {
            0.008
                + if has(crate::codes::LEARNING_DISABILITY.0) {
                    0.08
                } else {
                    0.0
                }
                + if has("58214004") || has("13746004") {
                    0.04
                } else {
                    0.0
                }
        };
        if rng.chance(1.0 - (-rate * dt).exp()) {
            let date = t.add_days(days(rng, 0, 29));
            let hint = if has(crate::codes::LEARNING_DISABILITY.0) {
                PSR_LD
            } else if has("58214004") || has("13746004") {
                PSR_MH
            } else {
                PSR_PERSONAL_CARE
            };
            request(p, st, rng, ctx, date, ROUTE_COMMUNITY, hint);
        }
    }
    if st.known_since.is_some()
        && st.safeguarding_until.is_none_or(|u| u < t)
        && rng.chance(dt * 0.03)
    {
        let start = t.add_days(days(rng, 0, 29));
        let end = start.add_days(days(rng, 60, 180));
        st.safeguarding_until = Some(end);
        p.flags.push(FlagRec {
            kind: FlagKind::Safeguarding,
            start,
            end: Some(end).filter(|e| *e < ctx.end),
        });
    }
}

/// Closes open services at death and drops anything planned after it.
pub fn on_death(p: &mut Person, st: &mut CareState, death: Date) {
    st.pending_care_home = None;
    p.care.retain(|e| e.start < death);
    if st.open_service.is_some_and(|i| i >= p.care.len()) {
        st.open_service = None;
    }
    for ev in &mut p.care {
        if ev.end.is_none_or(|e| e >= death) && ev.kind == CareEventKind::Service {
            ev.end = Some(death);
            ev.outcome = Some(outcome::NFA_DECEASED);
        } else if ev.end.is_some_and(|e| e > death) {
            ev.end = Some(death);
        }
    }
    st.open_service = None;
    let first = p.residences.first().map(|r| r.from);
    p.residences
        .retain(|r| r.from < death || Some(r.from) == first);
    for f in &mut p.flags {
        if f.end.is_none_or(|e| e > death) {
            f.end = Some(death);
        }
    }
    p.flags.retain(|f| f.start < death);
}
