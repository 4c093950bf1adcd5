//! Valid CLD events → FHIR transaction Bundles, one per person, in the Interweave pattern and with
//! the same code systems and extensions as the synthetic borough's FHIR rendering of the council
//! (crates/synth/src/fhir/council.rs), so both paths agree: Request → ServiceRequest, Assessment →
//! Task, Service → EpisodeOfCare (+ CarePlan for long-term support), Review → Task (focus = the
//! CarePlan of the long-term service it reviews).
//!
//! Idempotency: the Patient is `PUT Patient?identifier=https://weave.example/Id/<LA_Code>/person|<id>`
//! and each event `PUT <Type>?identifier=https://weave.example/Id/<LA_Code>/event|<key>` with the key
//! of [`Event::key`], so a later quarter's restatement updates (and closes) the same resources.

use super::{Event, EventType, RowError};
use crate::fhir::{
    cc, coding, decimal, identifier, local_system, nhs_identifier, obj, period, quality_tag, reference, uk_core, BundleBuilder, ODS,
    UCUM, WEAVE,
};
use serde_json::Value;
use std::collections::HashMap;

const ETHNIC_EXT: &str = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory";
const ETHNIC_CS: &str = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland";

macro_rules! cs {
    ($name:literal) => {
        concat!("https://weave.example/fhir/CodeSystem/", $name)
    };
}
macro_rules! ext {
    ($name:literal) => {
        concat!("https://weave.example/fhir/StructureDefinition/", $name)
    };
}

fn profile(name: &str) -> Value {
    obj! { "profile" => vec![Value::String(uk_core(name))] }
}

/// One transaction Bundle per person (order of first appearance). When an event key repeats in
/// the input the later row wins.
#[must_use]
pub fn to_bundles(events: &[Event]) -> Vec<Value> {
    let mut out = Vec::new();
    each_bundle(events, |b| out.push(b));
    out
}

/// Hands each person's Bundle to `sink` as soon as it is built (memory stays bounded by one
/// person); returns a warning for every row superseded by a later row with the same key.
pub fn each_bundle(events: &[Event], mut sink: impl FnMut(Value)) -> Vec<RowError> {
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut people: HashMap<(&str, &str), Vec<&Event>> = HashMap::new();
    for e in events {
        let k = (e.person.la_code.as_str(), e.person.id.as_str());
        people
            .entry(k)
            .or_insert_with(|| {
                order.push(k);
                Vec::new()
            })
            .push(e);
    }
    let mut warnings = Vec::new();
    for evs in order.iter().filter_map(|k| people.get(k)) {
        let mut latest: HashMap<String, usize> = HashMap::with_capacity(evs.len());
        let mut kept: Vec<Option<&Event>> = Vec::with_capacity(evs.len());
        for e in evs {
            let key = e.key();
            if let Some(prev) = latest.get(&key).copied() {
                if let Some(p) = kept[prev].take() {
                    warnings.push(RowError {
                        line: p.line,
                        column: String::new(),
                        value: key.clone(),
                        message: format!("superseded by line {} (same event)", e.line),
                    });
                }
            }
            latest.insert(key, kept.len());
            kept.push(Some(e));
        }
        let kept: Vec<&Event> = kept.into_iter().flatten().collect();
        sink(person_bundle(&kept));
    }
    warnings
}

/// Per-bundle context.
struct Ctx {
    b: BundleBuilder,
    la: String,
    la_url: String,
    patient: String,
    event_system: String,
}

fn person_bundle(events: &[&Event]) -> Value {
    let Some(last) = events.last() else {
        return BundleBuilder::new().finish();
    };
    let p = &last.person;
    let mut b = BundleBuilder::new();
    let la_system = format!("{WEAVE}/Id/local-authority-code");
    let mut la_org = obj! {
        "resourceType" => "Organization",
        "meta" => profile("Organization"),
        "identifier" => vec![identifier(&la_system, &p.la_code)],
        "active" => true,
    };
    if !p.la_name.is_empty() {
        la_org["name"] = Value::String(p.la_name.clone());
    }
    let la_url = b.create_conditional("Organization", &la_system, &p.la_code, la_org);
    let patient = patient(&mut b, last, &la_url);
    let mut c = Ctx { b, la: p.la_code.clone(), la_url, patient, event_system: local_system(&p.la_code, "event") };
    // Services first, so that reviews can point at their care plans.
    let mut plans: Vec<(&Event, String)> = Vec::new();
    for e in events.iter().filter(|e| e.kind == EventType::Service) {
        let episode = service(&mut c, e);
        if e.service_type.is_some_and(|t| t.starts_with("Long Term Support")) {
            plans.push((e, care_plan(&mut c, e, &episode)));
        }
    }
    for e in events {
        match e.kind {
            EventType::Request => request(&mut c, e),
            EventType::Assessment => task(&mut c, e, None),
            EventType::Review => {
                let focus = plans
                    .iter()
                    .filter(|(s, _)| s.start <= e.start && s.end.is_none_or(|end| end >= e.start))
                    .max_by_key(|(s, _)| s.start)
                    .map(|(_, url)| url.clone());
                task(&mut c, e, focus);
            }
            EventType::Service => {}
        }
    }
    c.b.finish()
}

fn patient(b: &mut BundleBuilder, e: &Event, la_url: &str) -> String {
    let p = &e.person;
    let system = local_system(&p.la_code, "person");
    let mut ids = Vec::new();
    let mut invalid_nhs = false;
    if let Some((nhs, valid)) = &p.nhs_number {
        if *valid {
            ids.push(nhs_identifier(nhs, "02"));
        } else {
            invalid_nhs = true;
            ids.push(identifier(&local_system(&p.la_code, "invalid-nhs-number"), nhs));
        }
    }
    ids.push(identifier(&system, &p.id));
    let mut pat = obj! {
        "resourceType" => "Patient",
        "meta" => profile("Patient"),
        "identifier" => ids,
    };
    if invalid_nhs {
        pat["meta"]["tag"] = Value::from(vec![quality_tag("invalid-nhs-number", "NHS number fails the modulus 11 check")]);
    }
    if let Some((code, display)) = p.ethnicity {
        pat["extension"] = Value::from(vec![obj! { "url" => ETHNIC_EXT, "valueCodeableConcept" => cc(ETHNIC_CS, code, display) }]);
    }
    if let Some(g) = p.gender {
        pat["gender"] = Value::from(g);
    }
    if let Some(d) = p.birth_date {
        pat["birthDate"] = Value::String(d.iso());
    }
    if let Some(d) = p.death_date {
        pat["deceasedDateTime"] = Value::String(d.iso());
    }
    if let Some(pc) = &p.postcode {
        pat["address"] = Value::from(vec![obj! { "use" => "home", "postalCode" => pc.as_str(), "country" => "GB" }]);
    }
    if let Some(gp) = &p.gp_practice {
        let org = obj! {
            "resourceType" => "Organization",
            "meta" => profile("Organization"),
            "identifier" => vec![identifier(ODS, gp)],
            "active" => true
        };
        let url = b.create_conditional("Organization", ODS, gp, org);
        pat["generalPractitioner"] = Value::from(vec![reference(&url)]);
    }
    pat["managingOrganization"] = reference(la_url);
    b.put_conditional("Patient", &system, &p.id, pat)
}

fn outcome_ext(outcome: &str) -> Value {
    obj! { "url" => ext!("cld-event-outcome"), "valueCoding" => coding(cs!("cld-event-outcome"), outcome, outcome) }
}

fn psr_cc(psr: &str) -> Value {
    cc(cs!("cld-primary-support-reason"), psr, psr)
}

fn end_iso(e: &Event) -> Option<String> {
    e.end.map(|d| d.iso())
}

fn request(c: &mut Ctx, e: &Event) {
    let key = e.key();
    let mut sr = obj! {
        "resourceType" => "ServiceRequest",
        "meta" => profile("ServiceRequest"),
        "identifier" => vec![identifier(&c.event_system, &key)],
        "status" => if e.end.is_some() { "completed" } else { "active" },
        "intent" => "order",
        "code" => cc(cs!("cld-event-type"), "Request", "Request for support"),
        "subject" => reference(&c.patient),
        "occurrenceDateTime" => e.start.iso(),
        "authoredOn" => e.start.iso(),
        "performer" => vec![reference(&c.la_url)],
    };
    if let Some(psr) = e.support_reason {
        sr["reasonCode"] = Value::from(vec![psr_cc(psr)]);
    }
    if let Some(o) = &e.outcome {
        sr["extension"] = Value::from(vec![outcome_ext(o)]);
    }
    let system = c.event_system.clone();
    c.b.put_conditional("ServiceRequest", &system, &key, sr);
}

fn task(c: &mut Ctx, e: &Event, focus: Option<String>) {
    let key = e.key();
    let (code, display) = match e.kind {
        EventType::Review => ("Review", "Review of care and support plan"),
        _ => ("Assessment", "Care Act needs assessment"),
    };
    let end = end_iso(e);
    let mut t = obj! {
        "resourceType" => "Task",
        "meta" => profile("Task"),
        "identifier" => vec![identifier(&c.event_system, &key)],
        "status" => if end.is_some() { "completed" } else { "in-progress" },
        "intent" => "order",
        "code" => cc(cs!("cld-event-type"), code, display),
        "for" => reference(&c.patient),
        "authoredOn" => e.start.iso(),
        "executionPeriod" => period(Some(&e.start.iso()), end.as_deref()),
        "owner" => reference(&c.la_url),
    };
    match (e.kind, e.review_reason, e.support_reason) {
        (EventType::Review, Some(r), _) => t["reasonCode"] = cc(cs!("cld-review-reason"), r, r),
        (EventType::Assessment, _, Some(psr)) => t["reasonCode"] = psr_cc(psr),
        _ => {}
    }
    if let Some(f) = focus {
        t["focus"] = reference(&f);
    }
    if let Some(o) = &e.outcome {
        t["output"] = Value::from(vec![obj! {
            "type" => cc(cs!("task-output"), "event-outcome", "Event outcome"),
            "valueCodeableConcept" => cc(cs!("cld-event-outcome"), o, o)
        }]);
    }
    if let Some(r) = e.review_outcome {
        let x = obj! { "url" => ext!("review-outcomes-achieved"), "valueCoding" => coding(cs!("cld-review-outcomes-achieved"), r, r) };
        t["extension"] = Value::from(vec![x]);
    }
    let system = c.event_system.clone();
    c.b.put_conditional("Task", &system, &key, t);
}

/// Pounds (decimal text) × units (decimal text), rounded half up to pence, as decimal text.
fn weekly_cost(unit_cost: &str, units: &str) -> Option<String> {
    let scaled = |t: &str| -> Option<(i128, u32)> {
        let (i, f) = t.split_once('.').unwrap_or((t, ""));
        let scale = u32::try_from(f.len()).ok().filter(|s| *s <= 9)?;
        Some((format!("{i}{f}").parse::<i128>().ok()?, scale))
    };
    let (a, sa) = scaled(unit_cost)?;
    let (b, sb) = scaled(units)?;
    let product = a.checked_mul(b)?;
    let scale = sa + sb;
    let pence = if scale >= 2 {
        let div = 10i128.pow(scale - 2);
        (product + div / 2) / div
    } else {
        product * 10i128.pow(2 - scale)
    };
    Some(format!("{}.{:02}", pence / 100, pence % 100))
}

fn money(text: &str) -> Option<Value> {
    decimal(text).map(|v| obj! { "value" => v, "currency" => "GBP" })
}

fn service_extensions(e: &Event) -> Vec<Value> {
    let mut ext = Vec::new();
    let freq = e.cost_frequency;
    if let Some(units) = e.planned_units.as_deref().and_then(|u| decimal(u).map(|v| (u, v))) {
        let (unit_text, ucum) = match freq {
            Some("Hourly") => ("hours per week", Some("h/wk")),
            Some("Daily") => ("days per week", Some("d/wk")),
            Some("Weekly") => ("placement weeks per week", None),
            Some("One-off") => ("one-off", None),
            _ => ("units per week", None),
        };
        let mut q = obj! { "value" => units.1, "unit" => unit_text };
        if let Some(code) = ucum {
            q["system"] = Value::from(UCUM);
            q["code"] = Value::from(code);
        }
        ext.push(obj! { "url" => ext!("planned-units-per-week"), "valueQuantity" => q });
    }
    if let Some(m) = e.unit_cost.as_deref().and_then(money) {
        ext.push(obj! { "url" => ext!("unit-cost"), "valueMoney" => m });
    }
    if let Some(f) = freq {
        ext.push(obj! { "url" => ext!("cost-frequency"), "valueString" => f });
    }
    if let (Some(cost), Some(units), Some("Hourly" | "Daily" | "Weekly")) = (&e.unit_cost, &e.planned_units, freq) {
        if let Some(m) = weekly_cost(cost, units).as_deref().and_then(money) {
            ext.push(obj! { "url" => ext!("weekly-cost"), "valueMoney" => m });
        }
    }
    if let Some(d) = e.delivery {
        ext.push(obj! { "url" => ext!("delivery-mechanism"), "valueCoding" => coding(cs!("cld-delivery-mechanism"), d, d) });
    }
    if let Some(psr) = e.support_reason {
        ext.push(obj! { "url" => ext!("primary-support-reason"), "valueCoding" => coding(cs!("cld-primary-support-reason"), psr, psr) });
    }
    if let (Some(o), Some(_)) = (&e.outcome, e.end) {
        ext.push(outcome_ext(o));
    }
    ext
}

fn service(c: &mut Ctx, e: &Event) -> String {
    let key = e.key();
    let status = if e.end.is_some() {
        "finished"
    } else if e.period_end.is_some_and(|p| e.start > p) {
        "planned"
    } else {
        "active"
    };
    let mut types = Vec::new();
    if let Some(comp) = e.component {
        types.push(cc(cs!("cld-service-component"), comp, comp));
    }
    if let Some(t) = e.service_type {
        types.push(cc(cs!("cld-service-type"), t, t));
    }
    let mut ep = obj! { "resourceType" => "EpisodeOfCare", "meta" => profile("EpisodeOfCare") };
    let extensions = service_extensions(e);
    if !extensions.is_empty() {
        ep["extension"] = Value::from(extensions);
    }
    if let Some(o) = ep.as_object_mut() {
        o.insert("identifier".into(), Value::from(vec![identifier(&c.event_system, &key)]));
        o.insert("status".into(), Value::from(status));
        o.insert("type".into(), Value::from(types));
        o.insert("patient".into(), reference(&c.patient));
        o.insert("managingOrganization".into(), reference(&c.la_url));
        o.insert("period".into(), period(Some(&e.start.iso()), end_iso(e).as_deref()));
    }
    let system = c.event_system.clone();
    c.b.put_conditional("EpisodeOfCare", &system, &key, ep)
}

fn care_plan(c: &mut Ctx, e: &Event, episode: &str) -> String {
    let key = format!("{}/care-plan", e.key());
    let system = local_system(&c.la, "care-plan");
    let description = format!(
        "{}: {} ({})",
        e.service_type.unwrap_or("Service"),
        e.component.unwrap_or("unspecified"),
        e.delivery.unwrap_or("unspecified")
    );
    let plan = obj! {
        "resourceType" => "CarePlan",
        "meta" => profile("CarePlan"),
        "identifier" => vec![identifier(&system, &key)],
        "status" => if e.end.is_some() { "completed" } else { "active" },
        "intent" => "plan",
        "category" => vec![cc(cs!("care-plan-category"), "care-and-support-plan", "Care and support plan")],
        "description" => description,
        "subject" => reference(&c.patient),
        "period" => period(Some(&e.start.iso()), end_iso(e).as_deref()),
        "author" => reference(&c.la_url),
        "supportingInfo" => vec![reference(episode)]
    };
    c.b.put_conditional("CarePlan", &system, &key, plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_cost_is_exact() {
        assert_eq!(weekly_cost("23.20", "10.5").as_deref(), Some("243.60"));
        assert_eq!(weekly_cost("16.50", "13").as_deref(), Some("214.50"));
        assert_eq!(weekly_cost("1006.88", "1").as_deref(), Some("1006.88"));
        assert_eq!(weekly_cost("0.333", "1").as_deref(), Some("0.33"));
        assert_eq!(weekly_cost("0.335", "1").as_deref(), Some("0.34"));
        assert_eq!(weekly_cost("55", "2").as_deref(), Some("110.00"));
    }
}
