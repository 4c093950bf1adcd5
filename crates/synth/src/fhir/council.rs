//! The council's social care records as FHIR, following the Interweave pattern (DOMAIN.md): Request →
//! ServiceRequest, Assessment → Task, Service → EpisodeOfCare (type = service component and service type;
//! planned units per week, unit cost, cost frequency, weekly cost, delivery mechanism, primary support
//! reason, provider, triggering assessment and event outcome as extensions), care and support plan →
//! CarePlan (one per long-term service), Review → Task (focus = the CarePlan), safeguarding → Flag.
//!
//! Extension URLs are `https://weave.example/fhir/StructureDefinition/<name>` with names
//! `cld-event-outcome`, `planned-units-per-week`, `unit-cost`, `cost-frequency`, `weekly-cost`,
//! `delivery-mechanism`, `primary-support-reason`, `service-provider`, `triggering-assessment`,
//! `review-outcomes-achieved`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{
    cc, coding, decimal_places, identifier, if_none_exist, local_id_system, money, period,
    reference, source_patient, uk_core, weave_cs, weave_ext, BundleBuilder,
};
use crate::costs::CostUnit;
use crate::date::Date;
use crate::model::{CareEvent, CareEventKind, FlagKind, Person, ServiceDetail};
use crate::place::Place;

fn outcome_ext(outcome: &str) -> Value {
    json!({ "url": weave_ext("cld-event-outcome"), "valueCoding": coding(&weave_cs("cld-event-outcome"), outcome, outcome) })
}

fn psr_cc(psr: &str) -> Value {
    cc(&weave_cs("cld-primary-support-reason"), psr, psr)
}

fn event_id(record: &str, ev: &CareEvent) -> String {
    format!("{record}-E{:03}", ev.seq)
}

/// The end date if known by the reference date.
fn known_end(ev: &CareEvent, end: Date) -> Option<Date> {
    ev.end.filter(|e| *e < end)
}

fn service_extensions(
    s: &ServiceDetail,
    place: &Place,
    psr: &str,
    assessment: Option<&String>,
    outcome: Option<&str>,
) -> Vec<Value> {
    let (unit_text, ucum) = match s.unit {
        CostUnit::Hour => ("hours per week", Some("h/wk")),
        CostUnit::Week => ("placement weeks per week", None),
        CostUnit::Day => ("days per week", Some("d/wk")),
        CostUnit::OneOff => ("one-off", None),
    };
    let mut q = json!({ "value": decimal_places(s.units_per_week, 1), "unit": unit_text });
    if let Some(code) = ucum {
        q["system"] = Value::String(crate::codes::UCUM.into());
        q["code"] = Value::String(code.into());
    }
    let mut ext = vec![
        json!({ "url": weave_ext("planned-units-per-week"), "valueQuantity": q }),
        json!({ "url": weave_ext("unit-cost"), "valueMoney": money(s.unit_pence) }),
        json!({ "url": weave_ext("cost-frequency"), "valueString": s.unit.cld() }),
    ];
    if s.unit != CostUnit::OneOff {
        ext.push(json!({ "url": weave_ext("weekly-cost"), "valueMoney": money(s.weekly_pence()) }));
    }
    ext.push(json!({ "url": weave_ext("delivery-mechanism"), "valueCoding": coding(&weave_cs("cld-delivery-mechanism"), s.delivery, s.delivery) }));
    ext.push(json!({ "url": weave_ext("primary-support-reason"), "valueCoding": coding(&weave_cs("cld-primary-support-reason"), psr, psr) }));
    let provider = s.provider.map(|i| match s.cost_key {
        "care_home_week" | "nursing_home_week" => &place.care_homes[i].ods,
        _ => &place.home_care_providers[i].ods,
    });
    if let Some(ods) = provider {
        ext.push(json!({ "url": weave_ext("service-provider"), "valueReference": reference(&format!("Organization/{ods}")) }));
    }
    if let Some(a) = assessment {
        ext.push(
            json!({ "url": weave_ext("triggering-assessment"), "valueReference": reference(a) }),
        );
    }
    if let Some(o) = outcome {
        ext.push(outcome_ext(o));
    }
    ext
}

struct Ctx<'a> {
    place: &'a Place,
    la: &'a str,
    end: Date,
    /// seq → (kind, full URL); for services also the CarePlan URL.
    urls: BTreeMap<u16, (CareEventKind, String, Option<String>)>,
}

impl Ctx<'_> {
    fn root_request(&self, p: &Person, mut seq: Option<u16>) -> Option<String> {
        for _ in 0..16 {
            let ev = p.care.iter().find(|e| Some(e.seq) == seq)?;
            if ev.kind == CareEventKind::Request {
                return self.urls.get(&ev.seq).map(|u| u.1.clone());
            }
            seq = ev.parent;
        }
        None
    }
}

fn request(c: &Ctx<'_>, ev: &CareEvent, subject: &str, record: &str) -> Value {
    let mut sr = json!({
        "resourceType": "ServiceRequest",
        "meta": { "profile": [uk_core("ServiceRequest")] },
        "identifier": [identifier(&local_id_system(c.la, "event"), &event_id(record, ev))],
        "status": "completed",
        "intent": "order",
        "category": [cc(&weave_cs("cld-request-route"), ev.route, ev.route)],
        "code": cc(&weave_cs("cld-event-type"), "Request", "Request for support"),
        "subject": reference(subject),
        "occurrenceDateTime": ev.start.iso(),
        "authoredOn": ev.start.iso(),
        "performer": [reference(&format!("Organization/{}", c.la))],
        "reasonCode": [psr_cc(ev.psr)]
    });
    if let Some(o) = ev.outcome {
        sr["extension"] = json!([outcome_ext(o)]);
    }
    sr
}

fn task(
    c: &Ctx<'_>,
    ev: &CareEvent,
    subject: &str,
    record: &str,
    based_on: Option<String>,
    focus: Option<String>,
) -> Value {
    let end = known_end(ev, c.end);
    let (code, display) = match ev.kind {
        CareEventKind::Review => ("Review", "Review of care and support plan"),
        _ => ("Assessment", "Care Act needs assessment"),
    };
    let mut t = json!({
        "resourceType": "Task",
        "meta": { "profile": [uk_core("Task")] },
        "identifier": [identifier(&local_id_system(c.la, "event"), &event_id(record, ev))],
        "status": if end.is_some() { "completed" } else { "in-progress" },
        "intent": "order",
        "code": cc(&weave_cs("cld-event-type"), code, display),
        "for": reference(subject),
        "authoredOn": ev.start.iso(),
        "executionPeriod": period(&ev.start.iso(), end.map(Date::iso)),
        "owner": reference(&format!("Organization/{}", c.la))
    });
    if ev.kind == CareEventKind::Review {
        t["reasonCode"] = cc(&weave_cs("cld-review-reason"), ev.route, ev.route);
    } else {
        t["reasonCode"] = psr_cc(ev.psr);
    }
    if let Some(b) = based_on {
        t["basedOn"] = json!([reference(&b)]);
    }
    if let Some(f) = focus {
        t["focus"] = reference(&f);
    }
    if let (Some(_), Some(o)) = (end, ev.outcome) {
        t["output"] = json!([{ "type": cc(&weave_cs("task-output"), "event-outcome", "Event outcome"), "valueCodeableConcept": cc(&weave_cs("cld-event-outcome"), o, o) }]);
    }
    t
}

fn service(
    c: &Ctx<'_>,
    p: &Person,
    ev: &CareEvent,
    s: &ServiceDetail,
    subject: &str,
    record: &str,
) -> Value {
    let end = known_end(ev, c.end);
    let status = if ev.start >= c.end {
        "planned"
    } else if end.is_some() {
        "finished"
    } else {
        "active"
    };
    let assessment = ev
        .parent
        .and_then(|q| c.urls.get(&q))
        .filter(|u| u.0 == CareEventKind::Assessment)
        .map(|u| &u.1);
    let outcome = end.and(ev.outcome);
    let mut e = json!({
        "resourceType": "EpisodeOfCare",
        "meta": { "profile": [uk_core("EpisodeOfCare")] },
        "extension": service_extensions(s, c.place, ev.psr, assessment, outcome),
        "identifier": [identifier(&local_id_system(c.la, "event"), &event_id(record, ev))],
        "status": status,
        "type": [cc(&weave_cs("cld-service-component"), s.component, s.component), cc(&weave_cs("cld-service-type"), s.service_type, s.service_type)],
        "patient": reference(subject),
        "managingOrganization": reference(&format!("Organization/{}", c.la)),
        "period": period(&ev.start.iso(), end.map(Date::iso))
    });
    if let Some(r) = c.root_request(p, ev.parent) {
        e["referralRequest"] = json!([reference(&r)]);
    }
    e
}

fn care_plan(
    c: &Ctx<'_>,
    ev: &CareEvent,
    s: &ServiceDetail,
    subject: &str,
    episode: &str,
) -> Value {
    let end = known_end(ev, c.end);
    json!({
        "resourceType": "CarePlan",
        "meta": { "profile": [uk_core("CarePlan")] },
        "status": if end.is_some() { "completed" } else { "active" },
        "intent": "plan",
        "category": [cc(&weave_cs("care-plan-category"), "care-and-support-plan", "Care and support plan")],
        "description": format!("{}: {} ({})", s.service_type, s.component, s.delivery),
        "subject": reference(subject),
        "period": period(&ev.start.iso(), end.map(Date::iso)),
        "author": reference(&format!("Organization/{}", c.la)),
        "supportingInfo": [reference(episode)]
    })
}

fn events(b: &mut BundleBuilder, c: &mut Ctx<'_>, p: &Person, subjects: &[String]) {
    for ev in &p.care {
        let rec = usize::from(ev.la_record).min(subjects.len() - 1);
        let subject = &subjects[rec];
        let record = &p.council_ids[rec].record_id;
        let parent_url = ev.parent.and_then(|q| c.urls.get(&q)).map(|u| u.1.clone());
        let (url, plan) = match (ev.kind, &ev.service) {
            (CareEventKind::Request, _) => (b.post(request(c, ev, subject, record), None), None),
            (CareEventKind::Assessment, _) => (
                b.post(task(c, ev, subject, record, parent_url, None), None),
                None,
            ),
            (CareEventKind::Review, _) => {
                let focus = ev
                    .parent
                    .and_then(|q| c.urls.get(&q))
                    .map(|u| u.2.clone().unwrap_or_else(|| u.1.clone()));
                (
                    b.post(task(c, ev, subject, record, None, focus), None),
                    None,
                )
            }
            (CareEventKind::Service, Some(s)) => {
                let url = b.post(service(c, p, ev, s, subject, record), None);
                let plan = s
                    .long_term
                    .then(|| b.post(care_plan(c, ev, s, subject, &url), None));
                (url, plan)
            }
            (CareEventKind::Service, None) => continue,
        };
        c.urls.insert(ev.seq, (ev.kind, url, plan));
    }
}

fn flags(b: &mut BundleBuilder, p: &Person, la: &str, subject: &str) {
    for f in p.flags.iter().filter(|f| f.kind == FlagKind::Safeguarding) {
        b.post(
            json!({
                "resourceType": "Flag",
                "meta": { "profile": [uk_core("Flag")] },
                "status": if f.end.is_some() { "inactive" } else { "active" },
                "category": [cc("http://terminology.hl7.org/CodeSystem/flag-category", "safety", "Safety")],
                "code": cc(&weave_cs("flag"), "adult-safeguarding-concern", "Adult safeguarding concern"),
                "subject": reference(subject),
                "period": period(&f.start.iso(), f.end.map(Date::iso)),
                "author": reference(&format!("Organization/{la}"))
            }),
            None,
        );
    }
}

/// Adds one person's council records to `b` (nothing when the council never knew them).
pub fn add_person(b: &mut BundleBuilder, p: &Person, place: &Place, end: Date) {
    if p.council_ids.is_empty() {
        return;
    }
    let la = place.council.ods.as_str();
    let sys = local_id_system(la, "person");
    let subjects: Vec<String> = p
        .council_ids
        .iter()
        .map(|id| {
            b.post(
                source_patient(p, id, &sys, "02", end, la),
                if_none_exist(&sys, &id.record_id),
            )
        })
        .collect();
    let mut c = Ctx {
        place,
        la,
        end,
        urls: BTreeMap::new(),
    };
    events(b, &mut c, p, &subjects);
    flags(b, p, la, &subjects[0]);
}
