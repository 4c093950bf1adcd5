//! FHIR R4 rendering: transaction bundles for the place (organisations, locations, staff, services), the
//! GP practices (UK Core shape), the mental-health and community trusts, and pure-FHIR renderings of the
//! hospital (HL7 v2 source) and the council (CLD source).
//!
//! Conventions: every resource inside a person bundle is POSTed with a `urn:uuid:` full URL (deterministic
//! UUIDs) and references its siblings by that URL; Patients carry `ifNoneExist` on the source's local
//! identifier so that loading the same bundle twice does not duplicate them. Shared resources of the place
//! are PUT with fixed ids (`Organization/Y90001`, `Location/R9W-AMU`, ...) so person bundles can reference
//! them literally — load `place.json` first. Facts that happen on or after the reference date are not yet
//! known to any source: such encounters and services are rendered as in progress.

pub mod council;
pub mod gp;
pub mod hospital;
pub mod place;
pub mod trusts;

use serde_json::{json, Map, Value};

use crate::codes::{self, WEAVE_BASE};
use crate::date::{Date, DateTime};
use crate::model::{Person, SourceIdentity};
use crate::place::Address;
use crate::rng::IdGen;

/// UK Core profile URL for `name` (e.g. `"Patient"`).
#[must_use]
pub fn uk_core(name: &str) -> String {
    format!("https://fhir.hl7.org.uk/StructureDefinition/UKCore-{name}")
}

/// Weave extension URL for `name`.
#[must_use]
pub fn weave_ext(name: &str) -> String {
    format!("{WEAVE_BASE}/fhir/StructureDefinition/{name}")
}

/// Weave code-system URL for `name`.
#[must_use]
pub fn weave_cs(name: &str) -> String {
    format!("{WEAVE_BASE}/fhir/CodeSystem/{name}")
}

/// Weave local identifier system for `org` and `kind`, e.g. `https://weave.example/Id/R9W/mrn`.
#[must_use]
pub fn local_id_system(org: &str, kind: &str) -> String {
    format!("{WEAVE_BASE}/Id/{org}/{kind}")
}

/// A Coding.
#[must_use]
pub fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

/// A CodeableConcept with one coding.
#[must_use]
pub fn cc(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [coding(system, code, display)] })
}

/// A SNOMED CT CodeableConcept.
#[must_use]
pub fn snomed(c: (&str, &str)) -> Value {
    cc(codes::SNOMED, c.0, c.1)
}

/// A literal reference.
#[must_use]
pub fn reference(target: &str) -> Value {
    json!({ "reference": target })
}

/// A JSON decimal with exactly the digits of `text` (serde_json keeps them with arbitrary precision).
#[must_use]
pub fn decimal(text: &str) -> Value {
    serde_json::from_str::<serde_json::Number>(text).map_or(Value::Null, Value::Number)
}

/// A decimal rounded to `places`.
#[must_use]
pub fn decimal_places(v: f64, places: usize) -> Value {
    decimal(&format!("{v:.places$}"))
}

/// A Money value in GBP from pence.
#[must_use]
pub fn money(pence: i64) -> Value {
    json!({ "value": decimal(&crate::costs::pounds(pence)), "currency": "GBP" })
}

/// A UCUM Quantity.
#[must_use]
pub fn quantity(value: Value, unit: &str, ucum: &str) -> Value {
    json!({ "value": value, "unit": unit, "system": codes::UCUM, "code": ucum })
}

/// A Period; `end` omitted when `None`.
#[must_use]
pub fn period(start: &str, end: Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("start".into(), Value::String(start.to_owned()));
    if let Some(e) = end {
        m.insert("end".into(), Value::String(e));
    }
    Value::Object(m)
}

/// The FHIR address for `a`, with `use` and an optional period.
#[must_use]
pub fn address(a: &Address, use_: &str, from: Option<Date>, to: Option<Date>) -> Value {
    let mut v = json!({ "use": use_, "line": [a.line], "city": a.town, "postalCode": a.postcode, "country": "GB" });
    if let Some(f) = from {
        v["period"] = period(&f.iso(), to.map(Date::iso));
    }
    v
}

/// An identifier.
#[must_use]
pub fn identifier(system: &str, value: &str) -> Value {
    json!({ "system": system, "value": value })
}

/// The NHS-number identifier with a UK Core verification-status extension (`"01"` verified, `"02"` not traced).
#[must_use]
pub fn nhs_identifier(nhs: &str, status: &str) -> Value {
    let display = match status {
        "01" => "Number present and verified",
        _ => "Number present but not traced",
    };
    json!({
        "extension": [{
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
            "valueCodeableConcept": cc("https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland", status, display)
        }],
        "system": codes::NHS_NUMBER_SYSTEM,
        "value": nhs
    })
}

/// `dateTime` text for a date-time, or `None` when it is on/after the reference date (not yet known).
#[must_use]
pub fn known(at: DateTime, end: Date) -> Option<String> {
    (at.date < end).then(|| at.iso())
}

/// A transaction bundle under construction. Entries are serialised as they are added (no large JSON trees
/// are kept alive), which keeps the allocator out of the profile.
pub struct BundleBuilder {
    buf: Vec<u8>,
    n: usize,
    pub ids: IdGen,
}

const BUNDLE_HEAD: &[u8] = br#"{"resourceType":"Bundle","type":"transaction","entry":["#;

impl BundleBuilder {
    /// A builder whose UUIDs come from `ids`.
    #[must_use]
    pub fn new(ids: IdGen) -> Self {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(BUNDLE_HEAD);
        Self { buf, n: 0, ids }
    }

    fn push_entry(&mut self, entry: &Value) {
        if self.n > 0 {
            self.buf.push(b',');
        }
        // Serialising a `Value` into a Vec cannot fail (string keys only).
        let _ = serde_json::to_writer(&mut self.buf, entry);
        self.n += 1;
    }

    /// Adds a POST entry and returns its `urn:uuid:` full URL.
    pub fn post(&mut self, resource: Value, if_none_exist: Option<String>) -> String {
        let full_url = self.ids.urn();
        let resource_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("Basic")
            .to_owned();
        let mut request = json!({ "method": "POST", "url": resource_type });
        if let Some(q) = if_none_exist {
            request["ifNoneExist"] = Value::String(q);
        }
        self.push_entry(&json!({ "fullUrl": full_url, "resource": resource, "request": request }));
        full_url
    }

    /// Adds a PUT entry for `resource_type/id`.
    pub fn put(&mut self, resource: Value) {
        let rt = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("Basic")
            .to_owned();
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let url = format!("{rt}/{id}");
        self.push_entry(&json!({ "fullUrl": format!("{WEAVE_BASE}/fhir/{url}"), "resource": resource, "request": { "method": "PUT", "url": url } }));
    }

    /// Number of entries so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the bundle has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The finished transaction Bundle as JSON bytes.
    #[must_use]
    pub fn finish_bytes(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(b"]}");
        self.buf
    }

    /// The finished transaction Bundle as a JSON value.
    #[must_use]
    pub fn finish(self) -> Value {
        serde_json::from_slice(&self.finish_bytes()).unwrap_or(Value::Null)
    }
}

/// A Patient for a non-GP source record (hospital, council, trusts).
#[must_use]
pub fn source_patient(
    p: &Person,
    id: &SourceIdentity,
    id_system: &str,
    nhs_status: &str,
    on: Date,
    managing_org: &str,
) -> Value {
    let mut identifiers = Vec::new();
    if let Some(n) = &id.nhs_number {
        identifiers.push(nhs_identifier(n, nhs_status));
    }
    identifiers.push(identifier(id_system, &id.record_id));
    let a = crate::identity::address_seen(p, id, on);
    let mut patient = json!({
        "resourceType": "Patient",
        "meta": { "profile": [uk_core("Patient")] },
        "identifier": identifiers,
        "name": [{ "use": "official", "family": id.family, "given": [id.given] }],
        "gender": p.sex.fhir(),
        "birthDate": id.birth_date.iso(),
        "address": [address(a, "home", None, None)],
        "managingOrganization": reference(&format!("Organization/{managing_org}"))
    });
    if let Some(d) = p.death.filter(|d| *d < on) {
        patient["deceasedDateTime"] = Value::String(d.iso());
    }
    patient
}

/// `ifNoneExist` query for a local identifier.
#[must_use]
pub fn if_none_exist(system: &str, value: &str) -> Option<String> {
    Some(format!("identifier={system}|{value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_digits() {
        assert_eq!(
            serde_json::to_string(&money(2320)).unwrap_or_default(),
            r#"{"value":23.20,"currency":"GBP"}"#
        );
        assert_eq!(
            serde_json::to_string(&decimal_places(4.0, 1)).unwrap_or_default(),
            "4.0"
        );
        assert_eq!(decimal("x"), Value::Null);
    }

    #[test]
    fn bundle_entries_have_requests() {
        let mut b = BundleBuilder::new(IdGen::new(1, 2, 3));
        let u = b.post(json!({"resourceType": "Patient"}), if_none_exist("s", "v"));
        assert!(u.starts_with("urn:uuid:"));
        b.put(json!({"resourceType": "Organization", "id": "Y90001"}));
        let v = b.finish();
        assert_eq!(v["entry"][0]["request"]["ifNoneExist"], "identifier=s|v");
        assert_eq!(v["entry"][1]["request"]["url"], "Organization/Y90001");
    }
}
