//! ADT → FHIR: A01 A02 A03 A04 A05 A06 A07 A08 A11 A12 A13 (Patient + Encounter), A28 A31
//! (Patient only), A34 A40 (surviving Patient + [`MergeInstruction`]). Every resource is a
//! conditional write keyed on the source's identifiers, so re-applying a message is a no-op.
//!
//! The Encounter is keyed on the visit number (PV1-19), else the account number (PID-18), else
//! the patient key and admit time (PV1-44); with none of them it is not written (warning). Its
//! status follows the event (A01/A04/A06/A07/A12/A13 in-progress, A02 in-progress with location
//! history, A03 finished, A05 planned, A08 finished when PV1-45 is set else in-progress, A11
//! entered-in-error). Weave's own `ZFT` segment (acute frailty team review, see docs/synth.md)
//! becomes an Encounter of its own, `partOf` the spell, with the reviewer as participant — the
//! same shape as the synthetic borough's FHIR rendering.

use crate::fhir::{cc, coding, identifier, local_system, period, uk_core, v2_table, weave_cs, WEAVE};
use crate::hl7::{Message, Segment};
use crate::map::patient::{cx_identifier, map_patient, PatientRef, Write};
use crate::map::v2::{codeable, cx, location, practitioner, xcn};
use crate::map::{Ctx, MapError, MapOptions, Mapped, MergeInstruction};
use serde_json::{json, Value};

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// Segments this mapping reads (others are reported in a warning).
const MAPPED: &[&str] = &["MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PV2", "MRG", "ZFT"];

/// The events mapped and what they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Visit,
    PatientOnly,
    Merge,
}

fn kind(event: &str) -> Option<Kind> {
    match event {
        "A01" | "A02" | "A03" | "A04" | "A05" | "A06" | "A07" | "A08" | "A11" | "A12" | "A13" => Some(Kind::Visit),
        "A28" | "A31" => Some(Kind::PatientOnly),
        "A34" | "A40" => Some(Kind::Merge),
        _ => None,
    }
}

/// Maps an ADT message.
pub fn map(msg: &Message<'_>, opts: &MapOptions) -> Result<Mapped, MapError> {
    let event = match msg.trigger_event() {
        "" => msg.segment("EVN").map_or("", |e| e.field(1).comp(1)),
        e => e,
    };
    let Some(kind) = kind(event) else {
        return Err(MapError::Unsupported { message_type: format!("ADT^{event}"), event: true });
    };
    let pid = msg.segment("PID").ok_or(MapError::MissingSegment { segment: "PID" })?;
    let mut ctx = Ctx::new(msg, opts);
    ctx.note_unmapped(MAPPED);
    let patient = map_patient(&mut ctx, pid, Write::Replace)?;
    let merge = match kind {
        Kind::Visit => {
            let pv1 = msg.segment("PV1").ok_or(MapError::MissingSegment { segment: "PV1" })?;
            let enc = encounter(&mut ctx, event, pv1, &patient)?;
            if let Some(zft) = msg.segment("ZFT") {
                frailty_review(&mut ctx, zft, &patient, enc.as_ref())?;
            }
            None
        }
        Kind::PatientOnly => None,
        Kind::Merge => Some(merge(&ctx, &patient)?),
    };
    ctx.finish(merge)
}

fn merge(ctx: &Ctx<'_, '_>, patient: &PatientRef) -> Result<MergeInstruction, MapError> {
    let mrg = ctx.msg.segment("MRG").ok_or(MapError::MissingSegment { segment: "MRG" })?;
    let retired: Vec<_> = mrg.field(1).reps().filter_map(|r| cx(&r)).map(|c| cx_identifier(ctx, &c)).collect();
    let pick = retired
        .iter()
        .find(|i| i.system == patient.key.system)
        .or_else(|| retired.first())
        .cloned()
        .ok_or(MapError::MissingField { segment: "MRG", index: mrg.index(), field: 1, name: "prior patient identifier list" })?;
    if ctx.msg.segments_named("MRG").count() > 1 {
        return Err(MapError::BadValue {
            segment: "MRG".into(),
            index: mrg.index(),
            field: 1,
            value: String::new(),
            reason: "only one merge per message is supported; send one PID/MRG pair per message",
        });
    }
    Ok(MergeInstruction { surviving: patient.key.clone(), retired: pick })
}

/// The Encounter's key: visit number, account number, or patient key + admit time.
fn encounter_key(ctx: &Ctx<'_, '_>, pv1: &Segment<'_>, patient: &PatientRef) -> Option<(String, String)> {
    if let Some(c) = cx(&pv1.field(19).first()) {
        let org = if c.authority.is_empty() { ctx.facility.clone() } else { c.authority };
        return Some((local_system(&org, "visit"), c.value));
    }
    if let Some(c) = ctx.msg.segment("PID").and_then(|p| cx(&p.field(18).first())) {
        let org = if c.authority.is_empty() { ctx.facility.clone() } else { c.authority };
        return Some((local_system(&org, "account"), c.value));
    }
    let admit = pv1.field(44).comp(1).trim();
    (!admit.is_empty()).then(|| (local_system(&ctx.facility, "admission"), format!("{}-{admit}", patient.key.value)))
}

fn class(code: &str) -> Value {
    let (c, d) = match code.trim() {
        "E" => ("EMER", "emergency"),
        "I" | "B" => ("IMP", "inpatient encounter"),
        "O" | "R" | "C" => ("AMB", "ambulatory"),
        "P" => ("PRENC", "pre-admission"),
        _ => return coding("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK", "unknown"),
    };
    coding(ACT_CODE, c, d)
}

fn is_nhs_dd(code: &str, len: usize) -> bool {
    code.len() == len && code.bytes().all(|b| b.is_ascii_digit())
}

fn status(event: &str, pv1: &Segment<'_>) -> &'static str {
    match event {
        "A03" => "finished",
        "A05" => "planned",
        "A11" => "entered-in-error",
        "A08" if !pv1.field(45).is_empty() => "finished",
        _ => "in-progress",
    }
}

/// Encounter.type and priority from PV1-4 (NHS DD admission method when two digits, else HL7
/// table 0007 admission type).
fn admission_type(enc: &mut Value, code: &str) {
    let code = code.trim();
    if code.is_empty() {
        return;
    }
    let priority = if is_nhs_dd(code, 2) {
        enc["type"] = json!([cc(&weave_cs("nhs-dd-admission-method"), code, "")]);
        match code.as_bytes()[0] {
            b'1' => Some(("EL", "elective")),
            b'2' => Some(("EM", "emergency")),
            _ => None,
        }
    } else {
        enc["type"] = json!([cc(&v2_table("0007"), code, "")]);
        match code {
            "E" | "A" => Some(("EM", "emergency")),
            "U" => Some(("UR", "urgent")),
            "C" | "R" => Some(("EL", "elective")),
            _ => None,
        }
    };
    if let Some((c, d)) = priority {
        enc["priority"] = cc(ACT_CODE, c, d);
    }
}

fn hospitalization(ctx: &Ctx<'_, '_>, pv1: &Segment<'_>, emergency: bool, finished: bool) -> Option<Value> {
    let mut h = serde_json::Map::new();
    if let Some(c) = cx(&pv1.field(5).first()) {
        h.insert("preAdmissionIdentifier".into(), identifier(&local_system(&ctx.facility, "preadmission"), &c.value));
    }
    let source = pv1.field(14).text(1);
    let source = source.trim();
    if !source.is_empty() {
        let sys = if is_nhs_dd(source, 2) { weave_cs("nhs-dd-admission-source") } else { v2_table("0023") };
        h.insert("admitSource".into(), cc(&sys, source, ""));
    }
    let readmit = pv1.field(13).text(1);
    if !readmit.trim().is_empty() {
        h.insert("reAdmission".into(), cc(&v2_table("0092"), readmit.trim(), ""));
    }
    let disp = pv1.field(36).text(1);
    let disp = disp.trim();
    if finished && !disp.is_empty() {
        let sys = if emergency {
            weave_cs("ed-discharge-destination")
        } else if is_nhs_dd(disp, 2) {
            weave_cs("nhs-dd-discharge-destination")
        } else {
            v2_table("0112")
        };
        h.insert("dischargeDisposition".into(), cc(&sys, disp, ""));
    }
    let dest = pv1.field(37).text(1);
    if finished && !dest.trim().is_empty() {
        let (system, value) = crate::map::org_identifier(dest.trim());
        h.insert("destination".into(), json!({ "identifier": identifier(&system, &value), "display": dest.trim() }));
    }
    (!h.is_empty()).then_some(Value::Object(h))
}

fn participants(ctx: &mut Ctx<'_, '_>, pv1: &Segment<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    for (field, code, display) in [(7, "ATND", "attender"), (8, "REF", "referrer"), (9, "CON", "consultant"), (17, "ADM", "admitter")] {
        for rep in pv1.field(field).reps() {
            if let Some(x) = xcn(&rep) {
                let who = practitioner(ctx, &x, None);
                out.push(json!({ "type": [cc(PARTICIPATION, code, display)], "individual": who }));
            }
        }
    }
    out
}

/// Encounter.location: the current PV1-3 (and for A02 the prior PV1-6, completed at the event).
fn locations(ctx: &mut Ctx<'_, '_>, event: &str, pv1: &Segment<'_>, status: &str) -> Result<Vec<Value>, MapError> {
    let mut out = Vec::new();
    let current = location(ctx, &pv1.field(3).first());
    if event == "A02" {
        let at = ctx.event_time()?;
        if let Some(prior) = location(ctx, &pv1.field(6).first()) {
            out.push(json!({ "location": { "reference": prior }, "status": "completed", "period": period(None, at.as_deref()) }));
        }
        if let Some(cur) = current {
            out.push(json!({ "location": { "reference": cur }, "status": "active", "period": period(at.as_deref(), None) }));
        }
        return Ok(out);
    }
    if let Some(cur) = current {
        let st = match status {
            "finished" => Some("completed"),
            "planned" => Some("planned"),
            "in-progress" => Some("active"),
            _ => None,
        };
        let mut l = json!({ "location": { "reference": cur } });
        if let Some(s) = st {
            l["status"] = json!(s);
        }
        out.push(l);
    }
    Ok(out)
}

fn encounter(ctx: &mut Ctx<'_, '_>, event: &str, pv1: &Segment<'_>, patient: &PatientRef) -> Result<Option<String>, MapError> {
    let Some((system, value)) = encounter_key(ctx, pv1, patient) else {
        ctx.warn(format!("ADT^{event}: no visit number (PV1-19), account number (PID-18) or admit time (PV1-44); Encounter not written"));
        return Ok(None);
    };
    let status = status(event, pv1);
    let class_code = pv1.field(2).text(1);
    let emergency = class_code.trim() == "E";
    let mut start = ctx.datetime(pv1, 44)?;
    let mut end = ctx.datetime(pv1, 45)?;
    if start.is_none() && matches!(event, "A01" | "A04") {
        start = ctx.event_time()?;
    }
    if event == "A03" && end.is_none() {
        end = ctx.event_time()?;
    }
    if status != "finished" {
        end = None;
    }
    let mut enc = json!({
        "resourceType": "Encounter",
        "meta": { "profile": [uk_core("Encounter")] },
        "identifier": [identifier(&system, &value)],
        "status": status,
        "class": class(&class_code),
        "subject": { "reference": patient.url },
    });
    admission_type(&mut enc, &pv1.field(4).text(1));
    let service = pv1.field(10).text(1);
    let service = service.trim();
    if !service.is_empty() {
        let sys = if is_nhs_dd(service, 3) { weave_cs("nhs-dd-treatment-function") } else { v2_table("0069") };
        enc["serviceType"] = cc(&sys, service, "");
    }
    let people = participants(ctx, pv1);
    if !people.is_empty() {
        enc["participant"] = Value::Array(people);
    }
    if start.is_some() || end.is_some() {
        enc["period"] = period(start.as_deref(), end.as_deref());
    }
    if let Some(pv2) = ctx.msg.segment("PV2") {
        if let Some(reason) = codeable(&pv2.field(3).first(), &ctx.facility) {
            enc["reasonCode"] = json!([reason]);
        }
    }
    if let Some(h) = hospitalization(ctx, pv1, emergency, status == "finished") {
        enc["hospitalization"] = h;
    }
    let locs = locations(ctx, event, pv1, status)?;
    if !locs.is_empty() {
        enc["location"] = Value::Array(locs);
    }
    enc["serviceProvider"] = json!({ "reference": ctx.org_url });
    Ok(Some(ctx.b.put_conditional("Encounter", &system, &value, enc)))
}

/// `ZFT|set id|review time|text|reviewer (registration number^FAMILY^Given)` → a finished
/// frailty-team-review Encounter `partOf` the spell, keyed on the spell's key and the review time.
fn frailty_review(ctx: &mut Ctx<'_, '_>, zft: &Segment<'_>, patient: &PatientRef, spell: Option<&String>) -> Result<(), MapError> {
    let at = ctx.datetime(zft, 2)?;
    let stamp = zft.field(2).comp(1).trim();
    let stamp = if stamp.is_empty() { zft.field(1).comp(1).trim() } else { stamp };
    let visit = ctx
        .msg
        .segment("PV1")
        .and_then(|pv1| encounter_key(ctx, pv1, patient))
        .map_or_else(|| patient.key.value.clone(), |k| k.1);
    let system = local_system(&ctx.facility, "frailty-review");
    let value = format!("{visit}-{stamp}");
    let text = zft.field(3).text(1).trim().to_owned();
    let mut enc = json!({
        "resourceType": "Encounter",
        "identifier": [identifier(&system, &value)],
        "status": "finished",
        "class": coding(ACT_CODE, "IMP", "inpatient encounter"),
        "type": [{
            "coding": [coding(&weave_cs("encounter-type"), "frailty-team-review", "Acute frailty team review (comprehensive geriatric assessment)")],
            "text": if text.is_empty() { "FRAILTY TEAM REVIEW".to_owned() } else { text }
        }],
        "serviceType": cc(&weave_cs("nhs-dd-treatment-function"), "430", "Geriatric Medicine"),
        "subject": { "reference": patient.url },
        "serviceProvider": { "reference": ctx.org_url }
    });
    if let Some(x) = zft.field(4).reps().find_map(|r| xcn(&r)) {
        let registration = format!("{WEAVE}/Id/professional-registration");
        let sys = if x.authority.is_empty() { Some(registration.as_str()) } else { None };
        let who = practitioner(ctx, &x, sys);
        enc["participant"] = json!([{ "type": [cc(PARTICIPATION, "PPRF", "primary performer")], "individual": who }]);
    }
    if let Some(t) = at {
        enc["period"] = period(Some(&t), None);
    }
    if let Some(s) = spell {
        enc["partOf"] = json!({ "reference": s });
    }
    ctx.b.put_conditional("Encounter", &system, &value, enc);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::{parse, ParseOptions};

    #[test]
    fn classes_and_priorities() {
        assert_eq!(class("E")["code"], "EMER");
        assert_eq!(class("I")["code"], "IMP");
        assert_eq!(class("O")["code"], "AMB");
        assert_eq!(class("N")["code"], "UNK");
        let mut e = json!({});
        admission_type(&mut e, "21");
        assert_eq!(e["priority"]["coding"][0]["code"], "EM");
        assert_eq!(e["type"][0]["coding"][0]["system"], "https://weave.example/fhir/CodeSystem/nhs-dd-admission-method");
        let mut e = json!({});
        admission_type(&mut e, "C");
        assert_eq!(e["priority"]["coding"][0]["code"], "EL");
    }

    #[test]
    fn status_follows_the_event() {
        let text = format!("MSH|^~\\&|A|B|C|D|2024||ADT^A08|C|P|2.4\rPV1|1|I\rPV1{}2024\r", "|".repeat(45));
        let m = parse(&text, &ParseOptions::default()).expect("parses");
        let (open, closed) = (&m.segments()[1], &m.segments()[2]);
        assert_eq!(status("A08", open), "in-progress");
        assert_eq!(status("A08", closed), "finished");
        assert_eq!(status("A03", open), "finished");
        assert_eq!(status("A05", open), "planned");
        assert_eq!(status("A11", open), "entered-in-error");
        assert_eq!(status("A13", closed), "in-progress");
        assert_eq!(kind("A40"), Some(Kind::Merge));
        assert_eq!(kind("A29"), None);
    }
}
