//! The hospital-discharge route into social care and the planted reablement effect.

use super::codes::{outcome, DM_COMMISSIONED, REABLEMENT, REVIEW_UNPLANNED, ROUTE_DISCHARGE};
use super::services::{community_detail, half_hours, review, start_care_home, svc};
use super::{
    alive_in_window, days, event, note_known, primary_support_reason, push, CareState, Why,
};
use crate::date::Date;
use crate::efi::idx;
use crate::lifecourse::Ctx;
use crate::model::{CareEventKind, Discharge, DischargeFollowUp, Person};
use crate::rng::Rng;

/// Social care after an emergency discharge (index `adm` into `p.admissions`).
pub fn on_discharge(p: &mut Person, st: &mut CareState, rng: &mut Rng, ctx: &Ctx<'_>, adm: usize) {
    let a = &p.admissions[adm];
    let date = a.discharge_at.date;
    if !alive_in_window(p, ctx, date) || p.age_on(date) < 18 {
        return;
    }
    let (frail, discharge) = (a.frail, a.discharge);
    let efi = crate::efi::score(usize::from(a.efi_count));
    if let Some(open) = st.open_service {
        if rng.chance(0.5) {
            let on = date.add_days(days(rng, 1, 14));
            review(p, st, rng, ctx, on, REVIEW_UNPLANNED, open);
        }
        return;
    }
    if discharge == Discharge::CareHome {
        note_known(st, rng, date);
        let psr = primary_support_reason(p, rng, date);
        let r = push(
            p,
            st,
            event(
                CareEventKind::Request,
                date.add_days(-2),
                Some(date.add_days(-2)),
                Some(outcome::PROGRESS_ASSESSMENT),
                psr,
                ROUTE_DISCHARGE,
                None,
            ),
        );
        let parent = Some(p.care[r].seq);
        let asmt = push(
            p,
            st,
            event(
                CareEventKind::Assessment,
                date.add_days(-1),
                Some(date),
                Some(outcome::PROGRESS_SUPPORT),
                psr,
                ROUTE_DISCHARGE,
                parent,
            ),
        );
        let parent = Some(p.care[asmt].seq);
        start_care_home(
            p,
            st,
            rng,
            ctx,
            date,
            Why {
                psr,
                route: ROUTE_DISCHARGE,
                parent,
            },
        );
        return;
    }
    if !frail
        || p.residence_on(date).care_home.is_some()
        || st.last_request.is_some_and(|d| date.days_since(d) < 120)
    {
        return;
    }
    if !rng.chance((0.15 + 0.8 * (efi - 0.13)).clamp(0.08, 0.6)) {
        return;
    }
    discharge_follow_up(p, st, rng, ctx, adm, date, efi);
}

fn discharge_follow_up(
    p: &mut Person,
    st: &mut CareState,
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    adm: usize,
    date: Date,
    efi: f64,
) {
    note_known(st, rng, date);
    st.last_request = Some(date);
    let memory = p.has_deficit(idx::MEMORY, date);
    let reablement = rng.chance((0.6 - 1.2 * (efi - 0.13)).clamp(0.15, 0.6));
    let p0 = (0.03
        + 0.9 * (efi - 0.13)
        + if memory { 0.12 } else { 0.0 }
        + if p.age_on(date) >= 85 { 0.04 } else { 0.0 })
    .clamp(0.01, 0.6);
    let p_ch = if reablement {
        p0 * (1.0 - ctx.reablement_effect)
    } else {
        p0
    };
    let care_home = rng.chance(p_ch);
    let ch_date = care_home.then(|| date.add_days(days(rng, 10, 91)));
    let psr = primary_support_reason(p, rng, date);
    let req_out = if reablement {
        outcome::PROGRESS_REABLEMENT
    } else {
        outcome::PROGRESS_ASSESSMENT
    };
    let r = push(
        p,
        st,
        event(
            CareEventKind::Request,
            date,
            Some(date),
            Some(req_out),
            psr,
            ROUTE_DISCHARGE,
            None,
        ),
    );
    let parent = Some(p.care[r].seq);
    if reablement {
        let start = date.add_days(days(rng, 0, 2));
        let planned_end = start.add_days(days(rng, 14, 42));
        let end = ch_date.map_or(planned_end, |c| c.min(planned_end));
        let out = if ch_date.is_some_and(|c| c <= planned_end) {
            outcome::PROGRESS_SUPPORT
        } else {
            outcome::ENDED_AS_PLANNED
        };
        let mut ev = event(
            CareEventKind::Service,
            start,
            Some(end),
            Some(out),
            psr,
            ROUTE_DISCHARGE,
            parent,
        );
        ev.service = Some(svc(
            &REABLEMENT,
            DM_COMMISSIONED,
            ctx,
            half_hours(7.0 + 7.0 * rng.f64()),
            None,
        ));
        push(p, st, ev);
        if let Some(c) = ch_date {
            let a = push(
                p,
                st,
                event(
                    CareEventKind::Assessment,
                    c.add_days(-3),
                    Some(c.add_days(-1)),
                    Some(outcome::PROGRESS_SUPPORT),
                    psr,
                    ROUTE_DISCHARGE,
                    parent,
                ),
            );
            let parent = Some(p.care[a].seq);
            st.pending_care_home = Some((
                c,
                Why {
                    psr,
                    route: ROUTE_DISCHARGE,
                    parent,
                },
            ));
        } else if rng.chance(0.25) {
            let a = push(
                p,
                st,
                event(
                    CareEventKind::Assessment,
                    end.add_days(-5),
                    Some(end),
                    Some(outcome::PROGRESS_SUPPORT),
                    psr,
                    ROUTE_DISCHARGE,
                    parent,
                ),
            );
            let parent = Some(p.care[a].seq);
            let detail = community_detail(p, rng, ctx, end, psr);
            let mut ev = event(
                CareEventKind::Service,
                end.add_days(1),
                None,
                Some(outcome::PROVISION),
                psr,
                ROUTE_DISCHARGE,
                parent,
            );
            ev.service = Some(detail);
            if alive_in_window(p, ctx, end.add_days(1)) {
                let i = push(p, st, ev);
                st.open_service = Some(i);
                st.next_review = Some(end.add_days(days(rng, 42, 90)));
            }
        }
    } else {
        let a_start = date.add_days(days(rng, 1, 10));
        let a_end = a_start.add_days(days(rng, 1, 14));
        let a_end = ch_date.map_or(a_end, |c| a_end.min(c.add_days(-1)).max(a_start));
        let a = push(
            p,
            st,
            event(
                CareEventKind::Assessment,
                a_start,
                Some(a_end),
                Some(outcome::PROGRESS_SUPPORT),
                psr,
                ROUTE_DISCHARGE,
                parent,
            ),
        );
        let parent = Some(p.care[a].seq);
        if rng.chance(0.35)
            && ch_date.is_none_or(|c| c > a_end.add_days(1))
            && alive_in_window(p, ctx, a_end.add_days(1))
        {
            let detail = community_detail(p, rng, ctx, a_end, psr);
            let mut ev = event(
                CareEventKind::Service,
                a_end.add_days(1),
                None,
                Some(outcome::PROVISION),
                psr,
                ROUTE_DISCHARGE,
                parent,
            );
            ev.service = Some(detail);
            let i = push(p, st, ev);
            st.open_service = Some(i);
            st.next_review = Some(a_end.add_days(days(rng, 42, 90)));
        }
        if let Some(c) = ch_date {
            st.pending_care_home = Some((
                c,
                Why {
                    psr,
                    route: ROUTE_DISCHARGE,
                    parent,
                },
            ));
        }
    }
    p.follow_ups.push(DischargeFollowUp {
        admission: adm,
        discharge: date,
        reablement,
        p_care_home_untreated: p0,
        care_home_within_91d: care_home,
    });
}
