//! PID (+ PD1, NK1) → Patient. The NHS number (PID-3 with type NH or assigning authority NHS) goes
//! to `https://fhir.nhs.uk/Id/nhs-number` with the UK Core verification status (from PID-32
//! `NSTSnn` when sent, else 02 "present but not traced") only when it passes modulus 11; an
//! invalid one is kept as a local identifier and the Patient is tagged (`meta.tag`
//! data-quality|invalid-nhs-number). Other identifiers get `https://weave.example/Id/<authority>/<kind>`.
//! The Patient is written under the source's own key (its MRN, else another local identifier,
//! else the NHS number scoped to the facility), never under the NHS number alone, so that one
//! source never overwrites another source's record of the same person.

use super::v2::{address, codeable, contact_point, cx, cx_system, human_name, practitioner, xcn, Cx};
use super::{looks_like_ods, org_identifier, Ctx, Identifier, MapError};
use crate::fhir::{cc, identifier, local_system, nhs_identifier, quality_tag, uk_core, v2_table, NHS_NUMBER};
use crate::hl7::Segment;
use serde_json::{json, Value};
use weave_fhir::nhs::is_valid_nhs_number;

/// How the Patient is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    /// `PUT Patient?identifier=…`: the message is the source's current view (ADT).
    Replace,
    /// `POST Patient` with `ifNoneExist`: create only when unknown (results feeds, whose PID is
    /// often partial, must not overwrite the PAS's demographics).
    CreateIfMissing,
}

/// The written Patient: its `fullUrl` and the identifier it is keyed on.
pub(crate) struct PatientRef {
    pub url: String,
    pub key: Identifier,
}

const ETHNIC_EXT: &str = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory";
const ETHNIC_CS: &str = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland";
const NHS_ETHNIC_CODES: &[&str] = &["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99"];

/// Whether a CX is an NHS number.
pub(crate) fn is_nhs(c: &Cx) -> bool {
    c.authority.eq_ignore_ascii_case("NHS") || c.type_code == "NH"
}

/// The identifier a CX maps to (NHS number system only when valid).
pub(crate) fn cx_identifier(ctx: &Ctx<'_, '_>, c: &Cx) -> Identifier {
    let digits: String = c.value.chars().filter(|ch| !ch.is_whitespace()).collect();
    if is_nhs(c) {
        if is_valid_nhs_number(&digits) {
            return Identifier { system: NHS_NUMBER.into(), value: digits };
        }
        return Identifier { system: local_system(&ctx.facility, "invalid-nhs-number"), value: c.value.clone() };
    }
    Identifier { system: cx_system(c, &ctx.facility, "patient"), value: c.value.clone() }
}

struct Ids {
    list: Vec<Value>,
    key: Option<Identifier>,
    invalid_nhs: bool,
}

fn verification_status(pid: &Segment<'_>) -> &'static str {
    const CODES: [&str; 8] = ["01", "02", "03", "04", "05", "06", "07", "08"];
    for rep in pid.field(32).reps() {
        let code = rep.comp(1).trim();
        let code = code.strip_prefix("NSTS").unwrap_or(code);
        if let Some(c) = CODES.iter().find(|c| **c == code) {
            return c;
        }
    }
    "02"
}

fn identifiers(ctx: &mut Ctx<'_, '_>, pid: &Segment<'_>) -> Ids {
    let mut ids = Ids { list: Vec::new(), key: None, invalid_nhs: false };
    let mut seen: Vec<Identifier> = Vec::new();
    let mut candidates: Vec<(u8, Identifier)> = Vec::new();
    let status = verification_status(pid);
    for (field, base_rank) in [(3, 0u8), (2, 4), (4, 4)] {
        for rep in pid.field(field).reps() {
            let Some(c) = cx(&rep) else { continue };
            let id = cx_identifier(ctx, &c);
            if seen.contains(&id) {
                continue;
            }
            if id.system == NHS_NUMBER {
                ids.list.push(nhs_identifier(&id.value, status));
            } else {
                if is_nhs(&c) {
                    ids.invalid_nhs = true;
                    ctx.warn(format!("PID-{field}: '{}' is not a valid NHS number (modulus 11); kept as a local identifier", c.value));
                }
                let mut v = identifier(&id.system, &id.value);
                if !c.type_code.is_empty() && !is_nhs(&c) {
                    v["type"] = cc(&v2_table("0203"), &c.type_code, "");
                }
                ids.list.push(v);
                let rank = match c.type_code.as_str() {
                    _ if is_nhs(&c) => 9,
                    "MR" => base_rank,
                    "PI" | "PT" | "PN" => base_rank + 1,
                    _ => base_rank + 2,
                };
                candidates.push((rank, id.clone()));
            }
            seen.push(id);
        }
    }
    candidates.sort_by_key(|c| c.0);
    ids.key = candidates.into_iter().map(|c| c.1).next();
    if ids.key.is_none() {
        if let Some(nhs) = seen.iter().find(|i| i.system == NHS_NUMBER) {
            let key = Identifier { system: local_system(&ctx.facility, "nhs-number"), value: nhs.value.clone() };
            ids.list.push(identifier(&key.system, &key.value));
            ids.key = Some(key);
        }
    }
    ids
}

fn gender(ctx: &mut Ctx<'_, '_>, code: &str) -> Option<&'static str> {
    match code.trim().to_ascii_uppercase().as_str() {
        "" => None,
        "M" => Some("male"),
        "F" => Some("female"),
        "O" | "A" | "N" => Some("other"),
        "U" => Some("unknown"),
        other => {
            ctx.warn(format!("PID-8: administrative sex '{other}' is not in HL7 table 0001; written as unknown"));
            Some("unknown")
        }
    }
}

fn ethnic_category(pid: &Segment<'_>) -> Option<Value> {
    let rep = pid.field(22).first();
    let code = rep.text(1).trim().to_owned();
    let system = rep.text(3).to_ascii_uppercase();
    let nhs = system.contains("NHS") || (system.trim().is_empty() && NHS_ETHNIC_CODES.contains(&code.as_str()));
    (nhs && NHS_ETHNIC_CODES.contains(&code.as_str())).then(|| {
        json!({ "url": ETHNIC_EXT, "valueCodeableConcept": cc(ETHNIC_CS, &code, rep.text(2).trim()) })
    })
}

fn general_practitioners(ctx: &mut Ctx<'_, '_>) -> Vec<Value> {
    let mut out = Vec::new();
    let Some(pd1) = ctx.msg.segment("PD1") else { return out };
    for rep in pd1.field(3).reps() {
        let code = [rep.text(10), rep.text(3)].into_iter().map(|s| s.trim().to_owned()).find(|s| !s.is_empty());
        let name = rep.text(1).trim().to_owned();
        let Some(code) = code else {
            if !name.is_empty() {
                out.push(json!({ "display": name }));
            }
            continue;
        };
        let (system, value) = if looks_like_ods(&code) { org_identifier(&code) } else { (local_system(&ctx.facility, "organization"), code) };
        let mut org = json!({
            "resourceType": "Organization",
            "meta": { "profile": [uk_core("Organization")] },
            "identifier": [identifier(&system, &value)],
            "active": true
        });
        if !name.is_empty() {
            org["name"] = Value::String(name);
        }
        let url = ctx.b.create_conditional("Organization", &system, &value, org);
        out.push(json!({ "reference": url }));
    }
    for rep in pd1.field(4).reps() {
        if let Some(x) = xcn(&rep) {
            let gmp = x.id.len() == 8 && x.id.starts_with('G') && x.id[1..].bytes().all(|b| b.is_ascii_digit());
            let system = gmp.then_some("https://fhir.hl7.org.uk/Id/gmp-number");
            out.push(practitioner(ctx, &x, system));
        }
    }
    out
}

fn contacts(ctx: &Ctx<'_, '_>) -> Vec<Value> {
    let mut out = Vec::new();
    for nk1 in ctx.msg.segments_named("NK1") {
        let mut c = serde_json::Map::new();
        let mut rel = Vec::new();
        if let Some(r) = codeable(&nk1.field(3).first(), &ctx.facility) {
            rel.push(r);
        }
        if let Some(r) = codeable(&nk1.field(7).first(), &ctx.facility) {
            rel.push(r);
        }
        if !rel.is_empty() {
            c.insert("relationship".into(), Value::Array(rel));
        }
        if let Some(n) = nk1.field(2).reps().find_map(|r| human_name(&r)) {
            c.insert("name".into(), n);
        }
        let telecom: Vec<Value> = nk1.field(5).reps().filter_map(|r| contact_point(&r, "home"))
            .chain(nk1.field(6).reps().filter_map(|r| contact_point(&r, "work")))
            .collect();
        if !telecom.is_empty() {
            c.insert("telecom".into(), Value::Array(telecom));
        }
        if let Some(a) = nk1.field(4).reps().find_map(|r| address(&r)) {
            c.insert("address".into(), a);
        }
        if !c.is_empty() {
            out.push(Value::Object(c));
        }
    }
    out
}

fn marital_status(code: &str) -> Option<Value> {
    const V3: &[(&str, &str)] = &[
        ("A", "Annulled"), ("D", "Divorced"), ("I", "Interlocutory"), ("L", "Legally Separated"), ("M", "Married"),
        ("P", "Polygamous"), ("S", "Never Married"), ("T", "Domestic partner"), ("U", "unmarried"), ("W", "Widowed"),
    ];
    let code = code.trim();
    V3.iter().find(|(c, _)| *c == code).map(|(c, d)| cc("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", c, d))
}

fn demographics(ctx: &mut Ctx<'_, '_>, pid: &Segment<'_>, p: &mut Value) -> Result<(), MapError> {
    let names: Vec<Value> = pid.field(5).reps().filter_map(|r| human_name(&r)).collect();
    if !names.is_empty() {
        p["name"] = Value::Array(names);
    }
    if let Some(g) = gender(ctx, &pid.field(8).text(1)) {
        p["gender"] = json!(g);
    }
    if let Some(d) = ctx.dtm(pid, 7)? {
        p["birthDate"] = Value::String(d.fhir_date());
    }
    if let Some(t) = ctx.datetime(pid, 29)? {
        p["deceasedDateTime"] = Value::String(t);
    } else {
        match pid.field(30).text(1).trim() {
            "Y" => p["deceasedBoolean"] = json!(true),
            "N" => p["deceasedBoolean"] = json!(false),
            _ => {}
        }
    }
    let addresses: Vec<Value> = pid.field(11).reps().filter_map(|r| address(&r)).collect();
    if !addresses.is_empty() {
        p["address"] = Value::Array(addresses);
    }
    let mut telecom: Vec<Value> = pid.field(13).reps().filter_map(|r| contact_point(&r, "home")).collect();
    telecom.extend(pid.field(14).reps().filter_map(|r| contact_point(&r, "work")));
    if !telecom.is_empty() {
        p["telecom"] = Value::Array(telecom);
    }
    if let Some(m) = marital_status(&pid.field(16).text(1)) {
        p["maritalStatus"] = m;
    }
    if let Ok(order) = pid.field(25).text(1).trim().parse::<u32>() {
        p["multipleBirthInteger"] = json!(order);
    } else {
        match pid.field(24).text(1).trim() {
            "Y" => p["multipleBirthBoolean"] = json!(true),
            "N" => p["multipleBirthBoolean"] = json!(false),
            _ => {}
        }
    }
    Ok(())
}

/// Maps `pid` (with the message's PD1 and NK1) to a Patient written per `write`.
pub(crate) fn map_patient(ctx: &mut Ctx<'_, '_>, pid: &Segment<'_>, write: Write) -> Result<PatientRef, MapError> {
    let ids = identifiers(ctx, pid);
    let Some(key) = ids.key.clone() else {
        return Err(MapError::MissingField { segment: "PID", index: pid.index(), field: 3, name: "patient identifier list" });
    };
    let mut p = json!({
        "resourceType": "Patient",
        "meta": { "profile": [uk_core("Patient")] },
        "identifier": ids.list,
    });
    if ids.invalid_nhs {
        p["meta"]["tag"] = json!([quality_tag("invalid-nhs-number", "NHS number fails the modulus 11 check")]);
    }
    if let Some(e) = ethnic_category(pid) {
        p["extension"] = json!([e]);
    }
    demographics(ctx, pid, &mut p)?;
    let gps = general_practitioners(ctx);
    if !gps.is_empty() {
        p["generalPractitioner"] = Value::Array(gps);
    }
    let contacts = contacts(ctx);
    if !contacts.is_empty() {
        p["contact"] = Value::Array(contacts);
    }
    p["managingOrganization"] = json!({ "reference": ctx.org_url });
    let url = match write {
        Write::Replace => ctx.b.put_conditional("Patient", &key.system, &key.value, p),
        Write::CreateIfMissing => ctx.b.create_conditional("Patient", &key.system, &key.value, p),
    };
    Ok(PatientRef { url, key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::{parse, ParseOptions};

    #[test]
    fn verification_status_comes_from_pid_32() {
        let with = "MSH|^~\\&|A|B|C|D|2024||ADT^A28|C|P|2.4\rPID|1||9434765919^^^NHS^NH|||||||||||||||||||||||||||||NSTS01\r";
        let m = parse(with, &ParseOptions::default()).expect("parses");
        assert_eq!(verification_status(&m.segments()[1]), "01");
        let without = "MSH|^~\\&|A|B|C|D|2024||ADT^A28|C|P|2.4\rPID|1||9434765919^^^NHS^NH\r";
        let m = parse(without, &ParseOptions::default()).expect("parses");
        assert_eq!(verification_status(&m.segments()[1]), "02");
    }

    #[test]
    fn the_key_is_the_source_identifier_never_the_bare_nhs_number() {
        let text = "MSH|^~\\&|A|R9W|C|D|20240101||ADT^A28|C|P|2.4\rPID|1||9434765919^^^NHS^NH\r";
        let m = parse(text, &ParseOptions::default()).expect("parses");
        let opts = crate::map::MapOptions::default();
        let mut ctx = Ctx::new(&m, &opts);
        let p = map_patient(&mut ctx, &m.segments()[1], Write::Replace).expect("maps");
        assert_eq!(p.key, Identifier { system: "https://weave.example/Id/R9W/nhs-number".into(), value: "9434765919".into() });
    }
}
