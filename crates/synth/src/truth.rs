//! `truth.json`: what really happened, for testing linkage and analytics against.
//!
//! * `config`, `unit_costs`: the run's parameters.
//! * `statistics`: realised population statistics (see [`crate::stats`]).
//! * `planted_effects`: for each planted effect its parameter, definition and realised counts, both the
//!   naive comparison (confounded) and the realised effect against the counterfactual.
//! * `costs`: bed days and social care spend in the window at the unit costs.
//! * `people`: the linkage truth — for every person the source records that are them, by source and record
//!   id (`gp` = `<ODS>/<local id>`, `hospital` = MRN, `council` = LA person id, `mental-health`,
//!   `community`), with the identity errors each record carries.
//! * `frailty_admissions`, `discharge_follow_ups`: one row per unit of each planted effect.

use serde_json::{json, Value};

use crate::fhir::decimal_places;
use crate::model::{AdmissionKind, CareEventKind, Person};
use crate::stats::Stats;
use crate::world::World;

fn round(v: f64) -> Value {
    if v.is_finite() {
        decimal_places(v, 4)
    } else {
        Value::Null
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    #[allow(clippy::cast_precision_loss)]
    let m = if n == 0 { f64::NAN } else { s / n as f64 };
    m
}

fn records(p: &Person, world: &World) -> Vec<Value> {
    let ods = &world.place.practices[usize::from(p.practice)].ods;
    let mut out = vec![
        json!({ "source": "gp", "id": format!("{ods}/{}", p.gp_id.record_id), "errors": p.gp_id.errors }),
    ];
    let mut add = |source: &str, id: &crate::model::SourceIdentity| {
        out.push(json!({ "source": source, "id": id.record_id, "errors": id.errors }));
    };
    for id in &p.hospital_ids {
        add("hospital", id);
    }
    for id in &p.council_ids {
        add("council", id);
    }
    if let Some(id) = &p.mh_id {
        add("mental-health", id);
    }
    if let Some(id) = &p.community_id {
        add("community", id);
    }
    out
}

/// Whether a care-home service starts within 91 days after `discharge`.
fn care_home_within_91(p: &Person, discharge: crate::date::Date) -> bool {
    p.care.iter().any(|e| {
        e.kind == CareEventKind::Service
            && e.service
                .is_some_and(|s| matches!(s.cost_key, "care_home_week" | "nursing_home_week"))
            && e.start > discharge
            && e.start.days_since(discharge) <= 91
    })
}

fn frailty_effect(world: &World) -> (Value, Vec<Value>) {
    let end = world.end;
    let mut rows = Vec::new();
    let mut with = Vec::new();
    let mut without = Vec::new();
    for p in &world.people {
        for (i, a) in p.admissions.iter().enumerate() {
            if a.kind != AdmissionKind::Emergency
                || !a.frail
                || a.discharge_at.date >= end
                || a.discharge == crate::model::Discharge::Died
            {
                continue;
            }
            let row = (
                a.los_days,
                a.los_untreated_days,
                crate::efi::score(usize::from(a.efi_count)),
            );
            if a.frailty_team.is_some() {
                with.push(row)
            } else {
                without.push(row)
            }
            rows.push(json!({
                "person": p.key(), "visit": crate::hospital::ip_visit_number(p, i), "admit": a.admit.iso(),
                "efi": round(row.2), "frailty_team": a.frailty_team.is_some(),
                "los_days": round(a.los_days), "los_untreated_days": round(a.los_untreated_days)
            }));
        }
    }
    let m_with = mean(with.iter().map(|r| r.0));
    let m_without = mean(without.iter().map(|r| r.0));
    let m_cf = mean(with.iter().map(|r| r.1));
    let summary = json!({
        "effect": round(world.config.frailty_los_effect),
        "definition": "Emergency admissions of people aged 65+ with eFI >= 0.13 (mild frailty or worse) discharged alive before the reference date. A frailty-team review multiplies the length of stay by (1 - effect). Review is more likely the frailer the person (confounding: frailer people also stay longer).",
        "eligible_admissions": with.len() + without.len(),
        "with_frailty_team": with.len(),
        "without_frailty_team": without.len(),
        "mean_los_days_with": round(m_with),
        "mean_los_days_without": round(m_without),
        "naive_relative_difference": round(m_with / m_without - 1.0),
        "mean_untreated_los_days_with": round(m_cf),
        "realised_effect": round(1.0 - m_with / m_cf),
        "mean_efi_with": round(mean(with.iter().map(|r| r.2))),
        "mean_efi_without": round(mean(without.iter().map(|r| r.2)))
    });
    (summary, rows)
}

fn reablement_effect(world: &World) -> (Value, Vec<Value>) {
    let end = world.end;
    let mut rows = Vec::new();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for p in &world.people {
        for f in &p.follow_ups {
            let complete = f.discharge.add_days(91) < end;
            let outcome = care_home_within_91(p, f.discharge);
            if complete {
                let r = (f64::from(u8::from(outcome)), f.p_care_home_untreated);
                if f.reablement {
                    with.push(r)
                } else {
                    without.push(r)
                }
            }
            rows.push(json!({
                "person": p.key(), "visit": crate::hospital::ip_visit_number(p, f.admission), "discharge": f.discharge.iso(),
                "reablement": f.reablement, "p_care_home_untreated": round(f.p_care_home_untreated),
                "care_home_within_91d": outcome, "complete_follow_up": complete
            }));
        }
    }
    let rate_with = mean(with.iter().map(|r| r.0));
    let rate_without = mean(without.iter().map(|r| r.0));
    let expected_with_untreated = mean(with.iter().map(|r| r.1));
    let summary = json!({
        "effect": round(world.config.reablement_effect),
        "definition": "Emergency discharges home of people aged 65+ with eFI >= 0.13 for whom a social care request followed. Reablement (ST-Max) multiplies the probability of a care-home admission (residential or nursing service start) within 91 days by (1 - effect). Reablement is less likely the frailer the person (confounding). Rates use follow-ups complete before the reference date; a death inside 91 days counts as no care-home admission.",
        "follow_ups": rows.len(),
        "complete_follow_ups": with.len() + without.len(),
        "with_reablement": with.len(),
        "without_reablement": without.len(),
        "care_home_rate_with": round(rate_with),
        "care_home_rate_without": round(rate_without),
        "naive_relative_reduction": round(1.0 - rate_with / rate_without),
        "expected_rate_with_if_untreated": round(expected_with_untreated),
        "realised_effect": round(1.0 - rate_with / expected_with_untreated)
    });
    (summary, rows)
}

fn costs(world: &World) -> Value {
    let (start, end) = (world.start, world.end);
    let mut bed_days = 0.0;
    let mut care_pence: f64 = 0.0;
    let mut weekly_at_end = 0i64;
    let last = end.add_days(-1);
    for p in &world.people {
        for a in &p.admissions {
            let to = if a.discharge_at.date < end {
                a.discharge_at.date
            } else {
                end
            };
            bed_days += f64::from(to.days_since(a.admit.date).max(0));
        }
        for e in p.care.iter().filter(|e| e.kind == CareEventKind::Service) {
            let Some(s) = e.service else { continue };
            if s.unit == crate::costs::CostUnit::OneOff {
                #[allow(clippy::cast_precision_loss)]
                let one_off = s.unit_pence as f64;
                care_pence += one_off;
                continue;
            }
            let from = e.start.max(start);
            let to = e.end.map_or(end, |x| x.min(end));
            #[allow(clippy::cast_precision_loss)]
            let weekly = s.weekly_pence() as f64;
            care_pence += weekly * f64::from(to.days_since(from).max(0)) / 7.0;
            if e.start <= last && e.end.is_none_or(|x| x > last) {
                weekly_at_end += s.weekly_pence();
            }
        }
    }
    let bed_day = world.config.unit_costs.pence("acute_bed_day");
    #[allow(clippy::cast_precision_loss)]
    let bed_cost = bed_days * bed_day as f64 / 100.0;
    json!({
        "bed_days": round(bed_days),
        "bed_day_cost_gbp": crate::costs::pounds(bed_day),
        "hospital_bed_day_cost_gbp": round(bed_cost),
        "social_care_cost_in_window_gbp": round(care_pence / 100.0),
        "social_care_weekly_cost_at_reference_date_gbp": crate::costs::pounds(weekly_at_end)
    })
}

fn stats_json(s: &Stats) -> Value {
    json!({
        "age_band_share_start_pct": s.age_band_share_start.iter().map(|v| round(*v)).collect::<Vec<_>>(),
        "age_band_share_end_pct": s.age_band_share_end.iter().map(|v| round(*v)).collect::<Vec<_>>(),
        "age_band_lower_bounds": crate::people::AGE_BANDS.iter().map(|b| b.0).collect::<Vec<_>>(),
        "female_share_85_plus": round(s.female_share_85_plus),
        "efi_shares_65_plus_pct": { "fit": round(s.efi_shares_65_plus[0]), "mild": round(s.efi_shares_65_plus[1]), "moderate": round(s.efi_shares_65_plus[2]), "severe": round(s.efi_shares_65_plus[3]) },
        "person_years": round(s.person_years),
        "deaths_per_1000_py": round(s.deaths_per_1000_py),
        "ed_attendances_per_1000_py": round(s.ed_per_1000_py),
        "emergency_admissions_per_1000_py": round(s.emergency_admissions_per_1000_py),
        "emergency_admissions_65_plus_per_1000_py": round(s.emergency_admissions_65_plus_per_1000_py),
        "elective_admissions_per_1000_py": round(s.elective_admissions_per_1000_py),
        "social_care_requests_per_1000_adult_py": round(s.care_requests_per_1000_adult_py),
        "long_term_support_65_plus_pct": round(s.long_term_support_65_plus_pct),
        "long_term_support_65_plus_start_pct": round(s.long_term_support_65_plus_start_pct)
    })
}

/// The truth document for `world` (with the run's output counts).
#[must_use]
pub fn document(world: &World, counts: &crate::config::Summary) -> Value {
    let c = &world.config;
    let (frailty, frailty_rows) = frailty_effect(world);
    let (reablement, reablement_rows) = reablement_effect(world);
    let unit_costs: Vec<Value> = c
        .unit_costs
        .rows
        .iter()
        .map(|r| json!({ "key": r.key, "description": r.description, "amount_gbp": crate::costs::pounds(r.pence), "per": r.unit.cld(), "year": r.year, "source": r.source, "illustrative": r.illustrative }))
        .collect();
    json!({
        "generator": { "name": "weave-synth", "version": env!("CARGO_PKG_VERSION") },
        "config": {
            "people": c.people, "seed": c.seed, "years": c.years,
            "start_date": world.start.iso(), "reference_date": world.end.iso(),
            "frailty_los_effect": round(c.frailty_los_effect), "reablement_effect": round(c.reablement_effect)
        },
        "unit_costs": unit_costs,
        "statistics": stats_json(&crate::stats::compute(world)),
        "planted_effects": { "frailty_team_los": frailty, "reablement_care_home_91d": reablement },
        "costs": costs(world),
        "counts": {
            "people": counts.people, "deaths": counts.deaths, "gp_practices": counts.gp_practices,
            "fhir_bundles": counts.fhir_bundles, "fhir_resources": counts.fhir_resources, "hl7_messages": counts.hl7_messages,
            "cld_files": counts.cld_files, "cld_rows": counts.cld_rows, "ed_attendances": counts.ed_attendances,
            "emergency_admissions": counts.emergency_admissions, "elective_admissions": counts.elective_admissions,
            "social_care_clients": counts.social_care_clients
        },
        "people": world.people.iter().map(|p| json!({
            "person": p.key(), "nhs_number": p.nhs_number, "birth_date": p.birth_date.iso(),
            "death_date": p.death.map(|d| d.iso()), "records": records(p, world)
        })).collect::<Vec<_>>(),
        "frailty_admissions": frailty_rows,
        "discharge_follow_ups": reablement_rows
    })
}
