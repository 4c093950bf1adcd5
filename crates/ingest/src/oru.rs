//! ORU^R01 → FHIR: each OBR → DiagnosticReport (code OBR-4, status OBR-25, category OBR-24,
//! effective OBR-7/OBR-8, issued OBR-22, performer the sending facility, interpreter OBR-32), each
//! OBX under it → Observation (value by OBX-2: NM → valueQuantity with the OBX-6 unit (UCUM when it
//! is one), ST/TX/FT → valueString, CE/CWE/CNE/IS/ID → valueCodeableConcept, DT/DTM/TS →
//! valueDateTime, TM → valueTime, SN → Quantity with comparator, Ratio or Range; reference range
//! OBX-7, interpretation OBX-8, status OBX-11, effective OBX-14), NTE → notes.
//!
//! Idempotency: the report is keyed on the filler order number (OBR-3, else ORC-3, else the placer
//! number OBR-2 / ORC-2), each Observation on that key plus its OBX set id (OBX-1, with OBX-4 when
//! sent). The Patient is created only when unknown (results must not overwrite the PAS's
//! demographics); the Encounter (PV1-19) likewise.

use crate::fhir::{cc, decimal, identifier, local_system, period, uk_core, v2_table, weave_ext, UCUM};
use crate::hl7::{Message, Rep, Segment};
use crate::map::patient::{map_patient, PatientRef, Write};
use crate::map::v2::{code_system, codeable, cx, practitioner, xcn};
use crate::map::{Ctx, MapError, MapOptions, Mapped};
use crate::time::parse_dtm;
use crate::ucum::ucum_code;
use serde_json::{json, Value};

const MAPPED: &[&str] = &["MSH", "PID", "PD1", "NK1", "PV1", "ORC", "OBR", "OBX", "NTE"];
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";

/// One OBR with the segments that belong to it.
struct Order<'s, 'a> {
    orc: Option<&'s Segment<'a>>,
    obr: &'s Segment<'a>,
    report_notes: Vec<&'s Segment<'a>>,
    results: Vec<(&'s Segment<'a>, Vec<&'s Segment<'a>>)>,
}

fn orders<'s, 'a>(msg: &'s Message<'a>) -> Vec<Order<'s, 'a>> {
    let mut out: Vec<Order<'s, 'a>> = Vec::new();
    let mut orc = None;
    for s in msg.segments() {
        match s.name() {
            "ORC" => orc = Some(s),
            "OBR" => out.push(Order { orc: orc.take(), obr: s, report_notes: Vec::new(), results: Vec::new() }),
            "OBX" => {
                if let Some(o) = out.last_mut() {
                    o.results.push((s, Vec::new()));
                }
            }
            "NTE" => {
                if let Some(o) = out.last_mut() {
                    match o.results.last_mut() {
                        Some(r) => r.1.push(s),
                        None => o.report_notes.push(s),
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Maps an ORU^R01 message.
pub fn map(msg: &Message<'_>, opts: &MapOptions) -> Result<Mapped, MapError> {
    let pid = msg.segment("PID").ok_or(MapError::MissingSegment { segment: "PID" })?;
    let orders = orders(msg);
    if orders.is_empty() {
        return Err(MapError::MissingSegment { segment: "OBR" });
    }
    let mut ctx = Ctx::new(msg, opts);
    ctx.note_unmapped(MAPPED);
    let patient = map_patient(&mut ctx, pid, Write::CreateIfMissing)?;
    let encounter = visit(&mut ctx, &patient);
    let orphans = msg.segments().iter().take_while(|s| s.name() != "OBR").filter(|s| s.name() == "OBX").count();
    if orphans > 0 {
        ctx.warn(format!("{orphans} OBX segment(s) before the first OBR not mapped"));
    }
    let keys = report_keys(&mut ctx, &orders);
    for (order, key) in orders.iter().zip(keys) {
        report(&mut ctx, order, key, &patient, encounter.as_deref())?;
    }
    ctx.finish(None)
}

/// The visit's Encounter (created only when unknown), when PV1-19 is sent.
fn visit(ctx: &mut Ctx<'_, '_>, patient: &PatientRef) -> Option<String> {
    let pv1 = ctx.msg.segment("PV1")?;
    let c = cx(&pv1.field(19).first())?;
    let system = local_system(if c.authority.is_empty() { &ctx.facility } else { &c.authority }, "visit");
    let class = match pv1.field(2).comp(1).trim() {
        "E" => json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER" }),
        "I" => json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP" }),
        "O" => json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB" }),
        _ => json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK" }),
    };
    let enc = json!({
        "resourceType": "Encounter",
        "meta": { "profile": [uk_core("Encounter")] },
        "identifier": [identifier(&system, &c.value)],
        "status": "unknown",
        "class": class,
        "subject": { "reference": patient.url },
        "serviceProvider": { "reference": ctx.org_url }
    });
    Some(ctx.b.create_conditional("Encounter", &system, &c.value, enc))
}

fn report_status(code: &str) -> &'static str {
    match code.trim() {
        "O" | "I" | "S" => "registered",
        "A" => "partial",
        "P" | "R" => "preliminary",
        "C" => "corrected",
        "F" => "final",
        "X" => "cancelled",
        "D" => "entered-in-error",
        _ => "unknown",
    }
}

fn observation_status(code: &str) -> &'static str {
    match code.trim() {
        "C" => "corrected",
        "D" | "W" => "entered-in-error",
        "F" | "U" => "final",
        "I" | "O" => "registered",
        "P" | "R" | "S" => "preliminary",
        "N" | "X" => "cancelled",
        "A" => "amended",
        _ => "unknown",
    }
}

fn category(code: &str) -> Option<Value> {
    let code = code.trim();
    let (c, d) = match code {
        "" => return None,
        "RAD" | "RX" | "CT" | "NMR" | "NMS" | "US" | "VUS" | "XRC" => ("imaging", "Imaging"),
        "LAB" | "HM" | "CH" | "MB" | "MCB" | "BLB" | "SR" | "IMM" | "CP" | "SP" | "TX" | "VR" | "CG" | "MYC" | "PAR" | "URN" | "SPG" => {
            ("laboratory", "Laboratory")
        }
        _ => return Some(cc(&v2_table("0074"), code, "")),
    };
    Some(cc("http://terminology.hl7.org/CodeSystem/observation-category", c, d))
}

/// The report key: filler order number (OBR-3 / ORC-3), else placer (OBR-2 / ORC-2).
fn order_key(ctx: &Ctx<'_, '_>, order: &Order<'_, '_>) -> Option<(String, String)> {
    let candidates = [
        (order.obr.field(3), "filler-order"),
        (order.orc.map_or(order.obr.field(0), |o| o.field(3)), "filler-order"),
        (order.obr.field(2), "placer-order"),
        (order.orc.map_or(order.obr.field(0), |o| o.field(2)), "placer-order"),
    ];
    candidates.iter().find_map(|(f, kind)| {
        let rep = f.first();
        let value = rep.text(1).trim().to_owned();
        if value.is_empty() {
            return None;
        }
        let ns = [rep.text(2), rep.text(3)].into_iter().find(|s| !s.trim().is_empty());
        let org = ns.map_or_else(|| ctx.facility.clone(), |s| s.trim().to_owned());
        Some((local_system(&org, kind), value))
    })
}

fn notes(segs: &[&Segment<'_>]) -> Option<Value> {
    let texts: Vec<Value> = segs
        .iter()
        .map(|n| n.field(3).reps().map(|r| r.value().into_owned()).collect::<Vec<_>>().join("\n"))
        .filter(|t| !t.trim().is_empty())
        .map(|t| json!({ "text": t }))
        .collect();
    (!texts.is_empty()).then_some(Value::Array(texts))
}

/// The key of every report, unique in the message: the order number, with the OBR set id (or
/// position) appended when several OBRs share one order number.
fn report_keys(ctx: &mut Ctx<'_, '_>, orders: &[Order<'_, '_>]) -> Vec<(String, String)> {
    let base: Vec<(String, String)> = orders
        .iter()
        .enumerate()
        .map(|(n, order)| {
            order_key(ctx, order).unwrap_or_else(|| {
                ctx.warn(format!("OBR {}: no filler or placer order number; the report is keyed on the message control id", n + 1));
                let ctrl = ctx.msg.msh().field(10).value().into_owned();
                (local_system(&ctx.facility, "message-order"), format!("{ctrl}-{}", n + 1))
            })
        })
        .collect();
    let mut out: Vec<(String, String)> = Vec::with_capacity(base.len());
    for (n, (system, value)) in base.iter().enumerate() {
        let shared = base.iter().filter(|k| k.1 == *value && k.0 == *system).count() > 1;
        let mut v = value.clone();
        if shared {
            let set_id = orders[n].obr.field(1).text(1).trim().to_owned();
            v = format!("{value}-{}", if set_id.is_empty() { (n + 1).to_string() } else { set_id });
        }
        if out.iter().any(|k| k.1 == v && k.0 == *system) {
            v = format!("{value}-n{}", n + 1);
        }
        out.push((system.clone(), v));
    }
    out
}

fn report(ctx: &mut Ctx<'_, '_>, order: &Order<'_, '_>, key: (String, String), patient: &PatientRef, encounter: Option<&str>) -> Result<(), MapError> {
    let obr = order.obr;
    let code = codeable(&obr.field(4).first(), &ctx.facility).ok_or(MapError::MissingField {
        segment: "OBR",
        index: obr.index(),
        field: 4,
        name: "universal service identifier",
    })?;
    let (system, value) = key;
    let effective = ctx.datetime(obr, 7)?;
    let effective_end = ctx.datetime(obr, 8)?;
    let issued = ctx.instant(obr, 22)?;
    let status = report_status(&obr.field(25).text(1));
    let cat = category(&obr.field(24).text(1));
    let mut results = Vec::new();
    let mut used_keys: Vec<String> = Vec::new();
    let mut forms: Vec<Value> = Vec::new();
    for (i, (obx, obx_notes)) in order.results.iter().enumerate() {
        let set_id = obx.field(1).text(1).trim().to_owned();
        let sub = obx.field(4).text(1).trim().to_owned();
        let mut key = format!("{value}-{}", if set_id.is_empty() { (i + 1).to_string() } else { set_id });
        if !sub.is_empty() {
            key = format!("{key}-{sub}");
        }
        if used_keys.contains(&key) {
            key = format!("{value}-n{}", i + 1);
        }
        used_keys.push(key.clone());
        if obx.field(2).text(1).trim().eq_ignore_ascii_case("ED") {
            forms.push(attachment(ctx, obx));
            continue;
        }
        let shared = Shared { patient, encounter, effective: effective.as_deref(), issued: issued.as_deref(), category: cat.as_ref() };
        if let Some(url) = observation(ctx, obx, obx_notes, &key, &shared)? {
            results.push(json!({ "reference": url }));
        }
    }
    let mut dr = json!({
        "resourceType": "DiagnosticReport",
        "meta": { "profile": [uk_core("DiagnosticReport")] },
        "identifier": [identifier(&system, &value)],
        "status": status,
        "code": code,
        "subject": { "reference": patient.url },
        "performer": [{ "reference": ctx.org_url }],
    });
    if let Some(c) = cat {
        dr["category"] = json!([c]);
    }
    if let Some(e) = encounter {
        dr["encounter"] = json!({ "reference": e });
    }
    match (effective, effective_end) {
        (Some(s), Some(e)) => dr["effectivePeriod"] = period(Some(&s), Some(&e)),
        (Some(s), None) => dr["effectiveDateTime"] = Value::String(s),
        _ => {}
    }
    if let Some(i) = issued {
        dr["issued"] = Value::String(i);
    }
    let interpreters: Vec<Value> = obr.field(32).reps().filter_map(|r| xcn(&r.comp_as_rep(1))).collect::<Vec<_>>().iter().map(|x| practitioner(ctx, x, None)).collect();
    if !interpreters.is_empty() {
        dr["resultsInterpreter"] = Value::Array(interpreters);
    }
    if !results.is_empty() {
        dr["result"] = Value::Array(results);
    }
    if !forms.is_empty() {
        dr["presentedForm"] = Value::Array(forms);
    }
    if let Some(n) = notes(&order.report_notes) {
        let ext: Vec<Value> = n.as_array().into_iter().flatten().map(|a| json!({ "url": weave_ext("report-note"), "valueAnnotation": a })).collect();
        dr["extension"] = Value::Array(ext);
    }
    ctx.b.put_conditional("DiagnosticReport", &system, &value, dr);
    Ok(())
}

/// What an Observation takes from its report.
struct Shared<'r> {
    patient: &'r PatientRef,
    encounter: Option<&'r str>,
    effective: Option<&'r str>,
    issued: Option<&'r str>,
    category: Option<&'r Value>,
}

fn observation(ctx: &mut Ctx<'_, '_>, obx: &Segment<'_>, obx_notes: &[&Segment<'_>], key: &str, r: &Shared<'_>) -> Result<Option<String>, MapError> {
    let Some(code) = codeable(&obx.field(3).first(), &ctx.facility) else {
        return Err(MapError::MissingField { segment: "OBX", index: obx.index(), field: 3, name: "observation identifier" });
    };
    let system = local_system(&ctx.facility, "observation");
    let mut o = json!({
        "resourceType": "Observation",
        "meta": { "profile": [uk_core("Observation")] },
        "identifier": [identifier(&system, key)],
        "status": observation_status(&obx.field(11).text(1)),
        "code": code,
        "subject": { "reference": r.patient.url },
    });
    if let Some(c) = r.category {
        o["category"] = json!([c]);
    }
    if let Some(e) = r.encounter {
        o["encounter"] = json!({ "reference": e });
    }
    match ctx.datetime(obx, 14)? {
        Some(t) => o["effectiveDateTime"] = Value::String(t),
        None => {
            if let Some(t) = r.effective {
                o["effectiveDateTime"] = Value::String(t.to_owned());
            }
        }
    }
    if let Some(i) = r.issued {
        o["issued"] = Value::String(i.to_owned());
    }
    o["performer"] = json!([{ "reference": ctx.org_url }]);
    value(ctx, obx, &mut o)?;
    let unit = obx.field(6).first();
    if let Some(range) = reference_range(&obx.field(7).text(1), &unit, &ctx.facility) {
        o["referenceRange"] = json!([range]);
    }
    let interp: Vec<Value> = obx
        .field(8)
        .reps()
        .map(|r| r.text(1).trim().to_owned())
        .filter(|c| !c.is_empty())
        .map(|c| cc(INTERPRETATION, &c, ""))
        .collect();
    if !interp.is_empty() {
        o["interpretation"] = Value::Array(interp);
    }
    if let Some(m) = codeable(&obx.field(17).first(), &ctx.facility) {
        o["method"] = m;
    }
    if let Some(n) = notes(obx_notes) {
        o["note"] = n;
    }
    Ok(Some(ctx.b.put_conditional("Observation", &system, key, o)))
}

/// A Quantity for a number and the OBX-6 unit (UCUM system and code when the unit is UCUM).
fn quantity(number: Value, unit: &Rep<'_>, facility: &str) -> Value {
    let mut q = json!({ "value": number });
    let code = unit.text(1).trim().to_owned();
    let text = unit.text(2).trim().to_owned();
    if code.is_empty() && text.is_empty() {
        return q;
    }
    q["unit"] = Value::String(if text.is_empty() { code.clone() } else { text });
    let sys_name = unit.text(3);
    let system = if sys_name.trim().is_empty() { UCUM.to_owned() } else { code_system(&sys_name, facility) };
    let code = if system == UCUM { ucum_code(&code) } else { Some(code).filter(|c| !c.is_empty()) };
    if let Some(c) = code {
        q["system"] = Value::String(system);
        q["code"] = Value::String(c);
    }
    q
}

fn bad(obx: &Segment<'_>, field: usize, v: &str, reason: &'static str) -> MapError {
    MapError::BadValue { segment: "OBX".into(), index: obx.index(), field, value: v.chars().take(40).collect(), reason }
}

fn value(ctx: &mut Ctx<'_, '_>, obx: &Segment<'_>, o: &mut Value) -> Result<(), MapError> {
    let kind = obx.field(2).text(1).trim().to_ascii_uppercase();
    let f5 = obx.field(5);
    if f5.is_empty() {
        return Ok(());
    }
    let unit = obx.field(6).first();
    let first = f5.first();
    let single = matches!(kind.as_str(), "NM" | "CE" | "CWE" | "CNE" | "CF" | "CD" | "IS" | "ID" | "DT" | "DTM" | "TS" | "TM" | "SN");
    if single && f5.reps().nth(1).is_some() {
        ctx.warn(format!("OBX-5 (segment {}) repeats; only the first value is mapped", obx.index()));
    }
    match kind.as_str() {
        "NM" => {
            let raw = first.text(1).trim().to_owned();
            let (comparator, digits) = split_comparator(&raw);
            match decimal(digits) {
                Some(n) => {
                    let mut q = quantity(n, &unit, &ctx.facility);
                    if let Some(c) = comparator {
                        q["comparator"] = json!(c);
                    }
                    o["valueQuantity"] = q;
                }
                None => {
                    ctx.warn(format!("OBX-5 (segment {}): '{raw}' is not a number (type NM); kept as text", obx.index()));
                    o["valueString"] = Value::String(raw);
                }
            }
        }
        "ST" | "TX" | "FT" | "" => {
            let text: Vec<String> = f5.reps().map(|r| r.value().into_owned()).collect();
            o["valueString"] = Value::String(text.join("\n"));
        }
        "CE" | "CWE" | "CNE" | "CF" | "CD" => {
            if let Some(c) = codeable(&first, &ctx.facility) {
                o["valueCodeableConcept"] = c;
            }
        }
        "IS" | "ID" => o["valueCodeableConcept"] = json!({ "coding": [{ "code": first.text(1).trim() }], "text": first.text(1).trim() }),
        "DT" | "DTM" | "TS" => {
            let raw = first.comp(1).trim();
            let d = parse_dtm(raw).map_err(|reason| bad(obx, 5, raw, reason))?;
            o["valueDateTime"] = Value::String(d.fhir_datetime(ctx.opts.zone));
        }
        "TM" => {
            let raw = first.comp(1).trim();
            o["valueTime"] = Value::String(hl7_time(raw).ok_or_else(|| bad(obx, 5, raw, "not an HL7 time (HH[MM[SS]])"))?);
        }
        "SN" => structured_numeric(ctx, obx, &first, &unit, o)?,
        other => {
            ctx.warn(format!("OBX-2 value type '{other}' (segment {}) has no FHIR Observation value; kept as text", obx.index()));
            let text: Vec<String> = f5.reps().map(|r| r.value().into_owned()).collect();
            o["valueString"] = Value::String(text.join("\n"));
        }
    }
    Ok(())
}

fn split_comparator(raw: &str) -> (Option<&'static str>, &str) {
    for c in ["<=", ">=", "<", ">"] {
        if let Some(rest) = raw.strip_prefix(c) {
            let cmp = match c {
                "<=" => "<=",
                ">=" => ">=",
                "<" => "<",
                _ => ">",
            };
            return (Some(cmp), rest.trim());
        }
    }
    (None, raw)
}

fn hl7_time(raw: &str) -> Option<String> {
    let digits = raw.split(['+', '-', '.']).next().unwrap_or("");
    if !matches!(digits.len(), 2 | 4 | 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let p = |i: usize| digits.get(i..i + 2).and_then(|s| s.parse::<u8>().ok()).unwrap_or(0);
    let (h, m, s) = (p(0), p(2), p(4));
    (h < 24 && m < 60 && s < 60).then(|| format!("{h:02}:{m:02}:{s:02}"))
}

/// SN: comparator^num1^separator/suffix^num2 → Quantity (with comparator), Ratio (`:` `/`) or
/// Range (`-`); anything else is kept as text.
fn structured_numeric(ctx: &mut Ctx<'_, '_>, obx: &Segment<'_>, rep: &Rep<'_>, unit: &Rep<'_>, o: &mut Value) -> Result<(), MapError> {
    let cmp = rep.text(1).trim().to_owned();
    let n1 = rep.text(2).trim().to_owned();
    let sep = rep.text(3).trim().to_owned();
    let n2 = rep.text(4).trim().to_owned();
    let num = |s: &str| decimal(s);
    match (sep.as_str(), num(&n1), num(&n2)) {
        ("", Some(a), _) => {
            let mut q = quantity(a, unit, &ctx.facility);
            if let (Some(c), _) = split_comparator(&cmp) {
                q["comparator"] = json!(c);
            } else if !cmp.is_empty() && cmp != "=" {
                return Err(bad(obx, 5, &cmp, "unknown SN comparator"));
            }
            o["valueQuantity"] = q;
        }
        (":" | "/", Some(a), Some(b)) => {
            o["valueRatio"] = json!({ "numerator": quantity(a, unit, &ctx.facility), "denominator": { "value": b } });
        }
        ("-", Some(a), Some(b)) => {
            o["valueRange"] = json!({ "low": quantity(a, unit, &ctx.facility), "high": quantity(b, unit, &ctx.facility) });
        }
        _ => {
            let text = format!("{cmp}{n1}{sep}{n2}");
            ctx.warn(format!("OBX-5 (segment {}): structured numeric '{text}' kept as text", obx.index()));
            o["valueString"] = Value::String(text);
        }
    }
    Ok(())
}

/// OBX-7 `low-high`, `<high`, `>low` (or text) → referenceRange.
fn reference_range(raw: &str, unit: &Rep<'_>, facility: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let q = |s: &str| decimal(s).map(|n| quantity(n, unit, facility));
    let (cmp, rest) = split_comparator(raw);
    let range = match cmp {
        Some("<" | "<=") => q(rest).map(|h| json!({ "high": h })),
        Some(_) => q(rest).map(|l| json!({ "low": l })),
        None => {
            let sep = raw.char_indices().skip(1).find(|(_, c)| *c == '-').map(|(i, _)| i);
            sep.and_then(|i| match (q(&raw[..i]), q(&raw[i + 1..])) {
                (Some(l), Some(h)) => Some(json!({ "low": l, "high": h })),
                _ => None,
            })
        }
    };
    Some(range.unwrap_or_else(|| json!({ "text": raw })))
}

fn is_base64(s: &str) -> bool {
    !s.is_empty() && s.len() & 3 == 0 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

/// Standard base64 of `bytes`.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// OBX with value type ED (encapsulated data: source^type^subtype^encoding^data) → an Attachment
/// for DiagnosticReport.presentedForm (R4 Observations cannot hold attachments).
fn attachment(ctx: &mut Ctx<'_, '_>, obx: &Segment<'_>) -> Value {
    let ed = obx.field(5).first();
    let major = match ed.text(2).trim().to_ascii_uppercase().as_str() {
        "TEXT" | "TX" => "text".to_owned(),
        "AP" | "APPLICATION" => "application".to_owned(),
        "IM" | "IMAGE" => "image".to_owned(),
        "AU" | "AUDIO" => "audio".to_owned(),
        "" => "application".to_owned(),
        other => other.to_ascii_lowercase(),
    };
    let minor = ed.text(3).trim().to_ascii_lowercase();
    let content_type = format!("{major}/{}", if minor.is_empty() { "octet-stream" } else { &minor });
    let raw = ed.text(5);
    if raw.trim().is_empty() {
        return json!({ "contentType": content_type });
    }
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let data = if ed.text(4).trim().eq_ignore_ascii_case("Base64") && is_base64(&compact) {
        compact
    } else {
        if ed.text(4).trim().eq_ignore_ascii_case("Base64") {
            ctx.warn(format!("OBX-5 (segment {}): malformed Base64 kept by re-encoding the text as sent", obx.index()));
        }
        base64(raw.as_bytes())
    };
    let mut a = json!({ "contentType": content_type, "data": data });
    let title = obx.field(3).text(2);
    if !title.trim().is_empty() {
        a["title"] = Value::String(title.trim().to_owned());
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_helpers() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert!(is_base64("Zm9vYmFy") && !is_base64("Zm9vYmF") && !is_base64("Zm9v YmFy"));
        assert_eq!(hl7_time("1230"), Some("12:30:00".into()));
        assert_eq!(hl7_time("2530"), None);
        assert_eq!(split_comparator("<=5"), (Some("<="), "5"));
        assert_eq!(report_status("F"), "final");
        assert_eq!(observation_status("C"), "corrected");
    }
}
