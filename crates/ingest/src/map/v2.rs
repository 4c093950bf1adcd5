//! HL7 v2 data types → FHIR data types: coding systems, CE/CWE/CNE → CodeableConcept, CX →
//! Identifier, XPN → HumanName, XAD → Address, XTN → ContactPoint, XCN → Practitioner, PL → Location.

use super::Ctx;
use crate::fhir::{cc, coding, identifier, local_system, slug, uk_core, v2_table, WEAVE};
use crate::hl7::Rep;
use serde_json::{json, Map, Value};

/// The FHIR system of an HL7 coding-system name (CE-3 / CWE-3). Local and unknown names get a
/// Weave system scoped to the sending facility; an empty name gives no system.
#[must_use]
pub(crate) fn code_system(name: &str, facility: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    match upper.as_str() {
        "" => String::new(),
        "SCT" | "SNM" | "SNM3" | "SNOMED" | "SNOMEDCT" | "SNOMED-CT" | "SNOMED CT" => "http://snomed.info/sct".into(),
        "LN" | "LOINC" => "http://loinc.org".into(),
        "UCUM" | "ANS+" => crate::fhir::UCUM.into(),
        "I10" | "ICD10" | "ICD-10" => "http://hl7.org/fhir/sid/icd-10".into(),
        "I10C" | "ICD10CM" => "http://hl7.org/fhir/sid/icd-10-cm".into(),
        "I9" | "I9C" | "ICD9" => "http://hl7.org/fhir/sid/icd-9-cm".into(),
        "CVX" => "http://hl7.org/fhir/sid/cvx".into(),
        "RXNORM" | "RXN" => "http://www.nlm.nih.gov/research/umls/rxnorm".into(),
        "NDC" => "http://hl7.org/fhir/sid/ndc".into(),
        "NHSDD" => format!("{WEAVE}/fhir/CodeSystem/nhs-dd"),
        _ if upper.len() == 7 && upper.starts_with("HL7") && upper[3..].bytes().all(|b| b.is_ascii_digit()) => {
            v2_table(&upper[3..])
        }
        _ => format!("{WEAVE}/fhir/CodeSystem/hl7v2/{}/{}", slug(facility), slug(name.trim())),
    }
}

/// CE / CWE / CNE → CodeableConcept (primary and alternate triplets, text from CWE-9 or the
/// primary display). None when empty.
#[must_use]
pub(crate) fn codeable(rep: &Rep<'_>, facility: &str) -> Option<Value> {
    let mut codings = Vec::new();
    for base in [1, 4] {
        let code = rep.text(base);
        let display = rep.text(base + 1);
        if code.trim().is_empty() {
            continue;
        }
        codings.push(coding(&code_system(&rep.text(base + 2), facility), code.trim(), display.trim()));
    }
    let text = [rep.text(9), rep.text(2)].into_iter().find(|t| !t.trim().is_empty());
    let mut m = Map::new();
    if !codings.is_empty() {
        m.insert("coding".into(), Value::Array(codings));
    }
    if let Some(t) = text {
        m.insert("text".into(), Value::String(t.trim().to_owned()));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// An identifier as sent (CX): value, assigning authority (HD-1, else HD-2) and type code.
#[derive(Debug, Clone)]
pub(crate) struct Cx {
    pub value: String,
    pub authority: String,
    pub type_code: String,
}

/// CX (or EI when `type_at` is 0) → [`Cx`]; None when the value is empty.
#[must_use]
pub(crate) fn cx(rep: &Rep<'_>) -> Option<Cx> {
    let value = rep.text(1).trim().to_owned();
    if value.is_empty() {
        return None;
    }
    let auth = rep.comp_as_rep(4);
    let authority = [auth.text(1), auth.text(2)].into_iter().find(|s| !s.trim().is_empty()).map(|s| s.trim().to_owned());
    Some(Cx { value, authority: authority.unwrap_or_default(), type_code: rep.text(5).trim().to_ascii_uppercase() })
}

/// The system of a local identifier: `https://weave.example/Id/<authority or facility>/<kind>`,
/// kind `mrn` for MR, the lower-cased type code otherwise, `default_kind` without one.
#[must_use]
pub(crate) fn cx_system(c: &Cx, facility: &str, default_kind: &str) -> String {
    let org = if c.authority.is_empty() { facility } else { &c.authority };
    let kind = match c.type_code.as_str() {
        "MR" => "mrn".to_owned(),
        "" => default_kind.to_owned(),
        t => slug(&t.to_ascii_lowercase()),
    };
    local_system(org, &kind)
}

fn name_use(code: &str) -> Option<&'static str> {
    match code {
        "L" | "B" | "C" => Some("official"),
        "D" | "A" => Some("usual"),
        "M" => Some("maiden"),
        "N" => Some("nickname"),
        "S" => Some("anonymous"),
        "T" => Some("temp"),
        "O" => Some("old"),
        _ => None,
    }
}

fn push_str(m: &mut Map<String, Value>, key: &str, v: &str) {
    let v = v.trim();
    if !v.is_empty() {
        m.insert(key.into(), Value::String(v.to_owned()));
    }
}

fn push_list(m: &mut Map<String, Value>, key: &str, vs: &[String]) {
    let vs: Vec<Value> = vs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect();
    if !vs.is_empty() {
        m.insert(key.into(), Value::Array(vs));
    }
}

/// Family, given names, prefix and suffixes from the components at `at` (family, given, middle,
/// suffix, prefix, degree) → HumanName with `use`.
fn name_from(rep: &Rep<'_>, at: [usize; 6], use_code: &str) -> Option<Value> {
    let mut m = Map::new();
    if let Some(u) = name_use(use_code) {
        m.insert("use".into(), Value::String(u.into()));
    }
    push_str(&mut m, "family", &rep.text(at[0]));
    push_list(&mut m, "given", &[rep.text(at[1]).into_owned(), rep.text(at[2]).into_owned()]);
    push_list(&mut m, "prefix", &[rep.text(at[4]).into_owned()]);
    push_list(&mut m, "suffix", &[rep.text(at[3]).into_owned(), rep.text(at[5]).into_owned()]);
    (m.contains_key("family") || m.contains_key("given")).then_some(Value::Object(m))
}

/// XPN → HumanName.
#[must_use]
pub(crate) fn human_name(rep: &Rep<'_>) -> Option<Value> {
    name_from(rep, [1, 2, 3, 4, 5, 6], rep.text(7).trim())
}

/// XAD → Address.
#[must_use]
pub(crate) fn address(rep: &Rep<'_>) -> Option<Value> {
    let mut m = Map::new();
    let kind = rep.text(7);
    match kind.trim() {
        "H" | "L" | "P" => {
            m.insert("use".into(), json!("home"));
        }
        "B" | "O" => {
            m.insert("use".into(), json!("work"));
        }
        "C" => {
            m.insert("use".into(), json!("temp"));
        }
        "BA" | "BDL" => {
            m.insert("use".into(), json!("old"));
        }
        "M" => {
            m.insert("type".into(), json!("postal"));
        }
        _ => {}
    }
    push_list(&mut m, "line", &[rep.text(1).into_owned(), rep.text(2).into_owned()]);
    push_str(&mut m, "city", &rep.text(3));
    push_str(&mut m, "district", &rep.text(9));
    push_str(&mut m, "state", &rep.text(4));
    push_str(&mut m, "postalCode", &rep.text(5));
    push_str(&mut m, "country", &rep.text(6));
    let has_content = ["line", "city", "district", "state", "postalCode", "country"].iter().any(|k| m.contains_key(*k));
    has_content.then_some(Value::Object(m))
}

/// XTN → ContactPoint; `default_use` is `home` for PID-13 and `work` for PID-14.
#[must_use]
pub(crate) fn contact_point(rep: &Rep<'_>, default_use: &str) -> Option<Value> {
    let equipment = rep.text(3).trim().to_ascii_uppercase();
    let use_code = rep.text(2).trim().to_ascii_uppercase();
    let email = rep.text(4).trim().to_owned();
    let mut value = rep.text(1).trim().to_owned();
    if value.is_empty() {
        value = if email.is_empty() {
            let parts: Vec<String> = [5, 6, 7].iter().map(|&c| rep.text(c).trim().to_owned()).filter(|s| !s.is_empty()).collect();
            let ext = rep.text(8);
            let mut v = parts.join(" ");
            if !ext.trim().is_empty() && !v.is_empty() {
                v.push_str(" ext ");
                v.push_str(ext.trim());
            }
            v
        } else {
            email
        };
    }
    if value.is_empty() {
        return None;
    }
    let system = match equipment.as_str() {
        "FX" => "fax",
        "BP" => "pager",
        "INTERNET" | "X.400" => "email",
        "MD" | "TDD" | "TTY" => "other",
        _ if use_code == "NET" || value.contains('@') => "email",
        _ => "phone",
    };
    let use_ = match (equipment.as_str(), use_code.as_str()) {
        ("CP", _) => "mobile",
        (_, "WPN") => "work",
        (_, "PRN" | "ORN" | "VHN") => "home",
        _ => default_use,
    };
    Some(json!({ "system": system, "value": value, "use": use_ }))
}

/// XCN (a person with an id) pieces.
pub(crate) struct Xcn {
    pub id: String,
    pub authority: String,
    pub name: Option<Value>,
    pub display: String,
}

/// XCN → [`Xcn`]; None when it has neither an id nor a name.
#[must_use]
pub(crate) fn xcn(rep: &Rep<'_>) -> Option<Xcn> {
    let id = rep.text(1).trim().to_owned();
    let name = name_from(rep, [2, 3, 4, 5, 6, 7], "");
    if id.is_empty() && name.is_none() {
        return None;
    }
    let auth = rep.comp_as_rep(9);
    let authority = [auth.text(1), auth.text(2)].into_iter().find(|s| !s.trim().is_empty()).map(|s| s.trim().to_owned());
    let display = [rep.text(6), rep.text(3), rep.text(2)]
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some(Xcn { id, authority: authority.unwrap_or_default(), name, display })
}

/// A Practitioner for `x` (create only when missing) and a Reference to it; a person without an id
/// is referenced by name only. `system` overrides the identifier system.
pub(crate) fn practitioner(ctx: &mut Ctx<'_, '_>, x: &Xcn, system: Option<&str>) -> Value {
    if x.id.is_empty() {
        return json!({ "display": x.display });
    }
    let system = system.map_or_else(
        || local_system(if x.authority.is_empty() { &ctx.facility } else { &x.authority }, "practitioner"),
        str::to_owned,
    );
    let mut p = json!({
        "resourceType": "Practitioner",
        "meta": { "profile": [uk_core("Practitioner")] },
        "identifier": [identifier(&system, &x.id)],
    });
    if let Some(n) = &x.name {
        p["name"] = json!([n]);
    }
    let url = ctx.b.create_conditional("Practitioner", &system, &x.id, p);
    let mut r = json!({ "reference": url });
    if !x.display.is_empty() {
        r["display"] = Value::String(x.display.clone());
    }
    r
}

/// PL (point of care^room^bed^facility…) → a Location (create only when missing), keyed by the
/// point of care, with room and bed when sent. Returns the `fullUrl`.
pub(crate) fn location(ctx: &mut Ctx<'_, '_>, rep: &Rep<'_>) -> Option<String> {
    let parts: Vec<String> = (1..=3).map(|c| rep.text(c).trim().to_owned()).collect();
    let last = parts.iter().rposition(|p| !p.is_empty())?;
    let key = parts[..=last].join("-");
    let fac = rep.comp_as_rep(4);
    let fac = [fac.text(1), fac.text(2)].into_iter().find(|s| !s.trim().is_empty()).map(|s| s.trim().to_owned());
    let system = local_system(fac.as_deref().unwrap_or(&ctx.facility), "location");
    let (pt, pt_display) = match last {
        2 => ("bd", "Bed"),
        1 => ("ro", "Room"),
        _ => ("wa", "Ward"),
    };
    let loc = json!({
        "resourceType": "Location",
        "identifier": [identifier(&system, &key)],
        "status": "active",
        "name": parts[..=last].iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join(" "),
        "mode": "instance",
        "physicalType": cc("http://terminology.hl7.org/CodeSystem/location-physical-type", pt, pt_display),
        "managingOrganization": { "reference": ctx.org_url }
    });
    Some(ctx.b.create_conditional("Location", &system, &key, loc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::{Delimiters, Field};

    fn rep(raw: &str) -> Rep<'_> {
        Field::new(raw, Delimiters::default()).first()
    }

    #[test]
    fn coding_systems() {
        assert_eq!(code_system("SCT", "R9W"), "http://snomed.info/sct");
        assert_eq!(code_system("LN", "R9W"), "http://loinc.org");
        assert_eq!(code_system("HL70078", "R9W"), "http://terminology.hl7.org/CodeSystem/v2-0078");
        assert_eq!(code_system("L", "R9W"), "https://weave.example/fhir/CodeSystem/hl7v2/R9W/L");
        assert_eq!(code_system("", "R9W"), "");
        let c = codeable(&rep("27268008^Salmonella^SCT^S1^Salm^L^^^Salmonella species"), "F").unwrap_or_default();
        assert_eq!(c["coding"].as_array().map(Vec::len), Some(2));
        assert_eq!(c["text"], "Salmonella species");
        assert_eq!(codeable(&rep("^^"), "F"), None);
    }

    #[test]
    fn identifiers_names_addresses_telecoms() {
        let c = cx(&rep("RW1^^^R9W^MR")).unwrap_or_else(|| panic!("cx"));
        assert_eq!(cx_system(&c, "X", "patient"), "https://weave.example/Id/R9W/mrn");
        let c = cx(&rep("7^^^Any lab&1.2&ISO")).unwrap_or_else(|| panic!("cx"));
        assert_eq!(cx_system(&c, "X", "patient"), "https://weave.example/Id/Any%20lab/patient");
        let n = human_name(&rep("O'BRIEN^Mary^Ann^Jr^Dr^^L")).unwrap_or_default();
        assert_eq!(n["use"], "official");
        assert_eq!(n["given"], serde_json::json!(["Mary", "Ann"]));
        assert_eq!(n["suffix"], serde_json::json!(["Jr"]));
        let a = address(&rep("1 High St^Flat 2^Loomford^^XW1 1AA^GB^H")).unwrap_or_default();
        assert_eq!(a["line"], serde_json::json!(["1 High St", "Flat 2"]));
        assert_eq!(a["use"], "home");
        let t = contact_point(&rep("^PRN^CP^^44^7700^900123"), "home").unwrap_or_default();
        assert_eq!((t["system"].as_str(), t["use"].as_str(), t["value"].as_str()), (Some("phone"), Some("mobile"), Some("44 7700 900123")));
        let e = contact_point(&rep("^NET^Internet^a@b.example"), "home").unwrap_or_default();
        assert_eq!(e["system"], "email");
        assert!(contact_point(&rep("^^"), "home").is_none());
    }
}
