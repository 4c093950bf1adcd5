//! Services: starting long-term support (community or care home), ending it, and reviews.

use super::codes::{
    outcome, Kind, DAY_SUPPORT, DIRECT_PAYMENT, DM_COMMISSIONED, DM_DIRECT_PAYMENT, DM_MANAGED,
    EQUIPMENT, HOME_SUPPORT, NURSING, PSR_LD, RESIDENTIAL, REVIEW_UNPLANNED, SUPPORTED_LIVING,
};
use super::{alive_before_end, alive_in_window, days, event, push, CareState, Why};
use crate::date::Date;
use crate::efi::idx;
use crate::lifecourse::Ctx;
use crate::model::{CareEventKind, Person, Residence, ServiceDetail};
use crate::rng::Rng;

pub(super) fn svc(
    kind: &Kind,
    delivery: &'static str,
    ctx: &Ctx<'_>,
    units: f64,
    provider: Option<usize>,
) -> ServiceDetail {
    let unit = ctx
        .unit_costs
        .get(kind.cost_key)
        .map_or(crate::costs::CostUnit::Week, |r| r.unit);
    ServiceDetail {
        service_type: kind.service_type,
        component: kind.component,
        delivery,
        cost_key: kind.cost_key,
        unit_pence: ctx.unit_costs.pence(kind.cost_key),
        unit,
        units_per_week: units,
        provider,
        long_term: kind.long_term,
    }
}

pub(super) fn care_home_detail(
    p: &Person,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    on: Date,
) -> ServiceDetail {
    let homes = &ctx.place.care_homes;
    let nursing = p.efi(on) >= 0.4 || rng.chance(0.3);
    let pool: Vec<usize> = (0..homes.len())
        .filter(|i| matches!(homes[*i].kind, crate::place::OrgKind::CareHome { nursing: n, .. } if n == nursing))
        .collect();
    let home = if pool.is_empty() {
        rng.index(homes.len())
    } else {
        pool[rng.index(pool.len())]
    };
    if nursing {
        svc(&NURSING, DM_COMMISSIONED, ctx, 1.0, Some(home))
    } else {
        svc(&RESIDENTIAL, DM_COMMISSIONED, ctx, 1.0, Some(home))
    }
}

pub(super) fn community_detail(
    p: &Person,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    on: Date,
    psr: &'static str,
) -> ServiceDetail {
    let providers = ctx.place.home_care_providers.len();
    if psr == PSR_LD {
        return if rng.chance(0.5) {
            svc(
                &SUPPORTED_LIVING,
                DM_COMMISSIONED,
                ctx,
                half_hours(20.0 + 30.0 * rng.f64()),
                None,
            )
        } else {
            svc(
                &DAY_SUPPORT,
                DM_COMMISSIONED,
                ctx,
                f64::from(2 + rng.index(4) as u32),
                None,
            )
        };
    }
    let hours = half_hours((3.0 + 35.0 * p.efi(on) + 3.0 * rng.normal()).clamp(2.0, 35.0));
    let x = rng.f64();
    if x < 0.08 {
        svc(&DIRECT_PAYMENT, DM_DIRECT_PAYMENT, ctx, hours, None)
    } else {
        let delivery = if x < 0.2 { DM_MANAGED } else { DM_COMMISSIONED };
        svc(
            &HOME_SUPPORT,
            delivery,
            ctx,
            hours,
            Some(rng.index(providers)),
        )
    }
}

pub(super) fn half_hours(h: f64) -> f64 {
    (h * 2.0).round() / 2.0
}

/// Starts a long-term service on `start` (care home when needs are high, else community support).
pub(super) fn long_term_service(
    p: &mut Person,
    st: &mut CareState,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    start: Date,
    why: Why,
) {
    let Why { psr, route, parent } = why;
    if !alive_before_end(p, ctx, start) {
        return;
    }
    let efi = p.efi(start);
    let memory = p.has_deficit(idx::MEMORY, start);
    let p_home = if p.age_on(start) >= 65 {
        0.05 + 0.8 * (efi - 0.25).max(0.0) + if memory { 0.12 } else { 0.0 }
    } else {
        0.0
    };
    if rng.chance(p_home) {
        start_care_home(p, st, rng, ctx, start, why);
        return;
    }
    let detail = community_detail(p, rng, ctx, start, psr);
    let mut ev = event(
        CareEventKind::Service,
        start,
        None,
        Some(outcome::PROVISION),
        psr,
        route,
        parent,
    );
    ev.service = Some(detail);
    let i = push(p, st, ev);
    st.open_service = Some(i);
    st.next_review = Some(start.add_days(days(rng, 300, 420)));
    if rng.chance(0.3) {
        let mut eq = event(
            CareEventKind::Service,
            start,
            Some(start),
            Some(outcome::ENDED_AS_PLANNED),
            psr,
            route,
            parent,
        );
        eq.service = Some(svc(&EQUIPMENT, DM_COMMISSIONED, ctx, 1.0, None));
        push(p, st, eq);
    }
}

pub(super) fn end_open_service(p: &mut Person, st: &mut CareState, on: Date, why: &'static str) {
    if let Some(i) = st.open_service.take() {
        let ev = &mut p.care[i];
        ev.end = Some(on.max(ev.start));
        ev.outcome = Some(why);
    }
}

/// Moves the person into a care home from `start`, closing any community package.
pub(super) fn start_care_home(
    p: &mut Person,
    st: &mut CareState,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    start: Date,
    why: Why,
) {
    let Why { psr, route, parent } = why;
    if !alive_before_end(p, ctx, start) || p.residence_on(start).care_home.is_some() {
        return;
    }
    end_open_service(p, st, start, outcome::PROGRESS_SUPPORT);
    let detail = care_home_detail(p, rng, ctx, start);
    let home = detail.provider.unwrap_or(0);
    let mut ev = event(
        CareEventKind::Service,
        start,
        None,
        Some(outcome::PROVISION),
        psr,
        route,
        parent,
    );
    ev.service = Some(detail);
    let i = push(p, st, ev);
    st.open_service = Some(i);
    st.next_review = Some(start.add_days(days(rng, 42, 90)));
    p.residences.retain(|r| r.from < start);
    let address = ctx.place.care_homes[home].address.clone();
    p.residences.push(Residence {
        from: start,
        address,
        care_home: Some(home),
    });
}

/// A review of the open service `open` (planned or unplanned).
pub(super) fn review(
    p: &mut Person,
    st: &mut CareState,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    date: Date,
    reason: &'static str,
    open: usize,
) {
    if !alive_in_window(p, ctx, date) {
        return;
    }
    let psr = p.care[open].psr;
    let parent = Some(p.care[open].seq);
    let in_home = p.residence_on(date).care_home.is_some();
    let escalate = !in_home
        && rng.chance(if reason == REVIEW_UNPLANNED {
            0.45
        } else {
            0.15
        });
    let out = if escalate {
        outcome::PROGRESS_SUPPORT
    } else {
        outcome::NO_CHANGE
    };
    let end = date.add_days(days(rng, 0, 10));
    push(
        p,
        st,
        event(
            CareEventKind::Review,
            date,
            Some(end),
            Some(out),
            psr,
            reason,
            parent,
        ),
    );
    st.next_review = Some(date.add_days(days(rng, 330, 400)));
    if escalate && alive_in_window(p, ctx, end) {
        end_open_service(p, st, end, outcome::PROGRESS_SUPPORT);
        let route = p.care[open].route;
        long_term_service(p, st, rng, ctx, end.add_days(1), Why { psr, route, parent });
    }
}
