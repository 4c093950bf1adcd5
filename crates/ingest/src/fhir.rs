//! FHIR JSON building blocks shared by the HL7 and CLD mappers: Weave's URL conventions (identifier
//! systems, code systems, extensions), small element builders, exact decimals, conditional search
//! tokens, and the transaction [`BundleBuilder`] whose `fullUrl`s are name-based UUIDs (v5) of the
//! resource's business key, so the same input always gives the same Bundle.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use uuid::Uuid;

/// Builds a JSON object by moving the values in (`json!` serialises, i.e. deep-copies, every
/// interpolated `Value`, which dominated the CLD importer's profile).
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {{
        let mut m = serde_json::Map::new();
        $( m.insert(String::from($k), serde_json::Value::from($v)); )*
        serde_json::Value::Object(m)
    }};
}
pub(crate) use obj;

/// Base of Weave's own URLs.
pub const WEAVE: &str = "https://weave.example";
/// NHS number identifier system.
pub const NHS_NUMBER: &str = weave_fhir::nhs::NHS_NUMBER_SYSTEM;
/// ODS organisation code system.
pub const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// UCUM.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// UK Core NHS number verification status extension.
pub const NHS_VERIFICATION_EXT: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const NHS_VERIFICATION_CS: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
/// Weave's data-quality tag system (`meta.tag`).
pub const DATA_QUALITY_CS: &str = "https://weave.example/fhir/CodeSystem/data-quality";

/// Percent-encodes everything but unreserved characters (for a path segment of a URL).
#[must_use]
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.trim().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `https://weave.example/Id/<org>/<kind>`.
#[must_use]
pub fn local_system(org: &str, kind: &str) -> String {
    format!("{WEAVE}/Id/{}/{kind}", slug(org))
}

/// `https://weave.example/fhir/StructureDefinition/<name>`.
#[must_use]
pub fn weave_ext(name: &str) -> String {
    format!("{WEAVE}/fhir/StructureDefinition/{name}")
}

/// `https://weave.example/fhir/CodeSystem/<name>`.
#[must_use]
pub fn weave_cs(name: &str) -> String {
    format!("{WEAVE}/fhir/CodeSystem/{name}")
}

/// `http://terminology.hl7.org/CodeSystem/v2-<table>`.
#[must_use]
pub fn v2_table(table: &str) -> String {
    format!("http://terminology.hl7.org/CodeSystem/v2-{table}")
}

/// UK Core profile URL.
#[must_use]
pub fn uk_core(name: &str) -> String {
    format!("https://fhir.hl7.org.uk/StructureDefinition/UKCore-{name}")
}

/// A Coding; empty parts are left out.
#[must_use]
pub fn coding(system: &str, code: &str, display: &str) -> Value {
    let mut m = Map::new();
    if !system.is_empty() {
        m.insert("system".into(), Value::String(system.to_owned()));
    }
    if !code.is_empty() {
        m.insert("code".into(), Value::String(code.to_owned()));
    }
    if !display.is_empty() {
        m.insert("display".into(), Value::String(display.to_owned()));
    }
    Value::Object(m)
}

/// A CodeableConcept with one coding.
#[must_use]
pub fn cc(system: &str, code: &str, display: &str) -> Value {
    obj! { "coding" => vec![coding(system, code, display)] }
}

/// A literal reference.
#[must_use]
pub fn reference(target: &str) -> Value {
    obj! { "reference" => target }
}

/// An Identifier.
#[must_use]
pub fn identifier(system: &str, value: &str) -> Value {
    obj! { "system" => system, "value" => value }
}

/// The NHS number Identifier with its UK Core verification status (`"01"`–`"08"`).
#[must_use]
pub fn nhs_identifier(nhs: &str, status: &str) -> Value {
    let display = match status {
        "01" => "Number present and verified",
        "02" => "Number present but not traced",
        "03" => "Trace required",
        "04" => "Trace attempted - No match or multiple match found",
        "05" => "Trace needs to be resolved - (NHS Number or patient detail conflict)",
        "06" => "Trace in progress",
        "07" => "Number not present and trace not required",
        _ => "Trace postponed (baby under six weeks old)",
    };
    let ext = obj! { "url" => NHS_VERIFICATION_EXT, "valueCodeableConcept" => cc(NHS_VERIFICATION_CS, status, display) };
    obj! { "extension" => vec![ext], "system" => NHS_NUMBER, "value" => nhs }
}

/// The data-quality `meta.tag` coding for `code`.
#[must_use]
pub fn quality_tag(code: &str, display: &str) -> Value {
    coding(DATA_QUALITY_CS, code, display)
}

/// A Period; absent ends left out.
#[must_use]
pub fn period(start: Option<&str>, end: Option<&str>) -> Value {
    let mut m = Map::new();
    if let Some(s) = start {
        m.insert("start".into(), Value::String(s.to_owned()));
    }
    if let Some(e) = end {
        m.insert("end".into(), Value::String(e.to_owned()));
    }
    Value::Object(m)
}

/// The FHIR decimal text of a number written by a person or a feed (`+5`, `007`, `.5`, `5.`,
/// `1,250.00` are not FHIR decimals; this normalises the first four and rejects the rest), or None.
#[must_use]
pub fn decimal_text(raw: &str) -> Option<String> {
    let t = raw.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let mut s = String::with_capacity(t.len() + 2);
    if neg && (int.bytes().chain(frac.bytes()).any(|b| b != b'0')) {
        s.push('-');
    }
    s.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    Some(s)
}

/// A JSON number with exactly the digits of `raw` (see [`decimal_text`]).
#[must_use]
pub fn decimal(raw: &str) -> Option<Value> {
    let t = decimal_text(raw)?;
    serde_json::from_str::<serde_json::Number>(&t).ok().map(Value::Number)
}

/// Escapes a token part for a FHIR search (`\ | , $`) and percent-encodes it for a URL query.
fn token_part(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'\\' | b'|' | b',' | b'$' => {
                out.push_str("%5C");
                let _ = write!(out, "%{b:02X}");
            }
            _ if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'/') => {
                out.push(char::from(b));
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

/// `identifier=<system>|<value>` ready to follow `Type?`.
#[must_use]
pub fn identifier_query(system: &str, value: &str) -> String {
    let mut q = String::from("identifier=");
    token_part(system, &mut q);
    q.push('|');
    token_part(value, &mut q);
    q
}

/// A transaction Bundle under construction. Entries with the same business key are written once
/// (the first wins) and share one `fullUrl`.
#[derive(Debug, Default)]
pub struct BundleBuilder {
    entries: Vec<Value>,
    keys: HashMap<String, String>,
    written: Vec<String>,
}

fn namespace() -> &'static Uuid {
    static NS: std::sync::OnceLock<Uuid> = std::sync::OnceLock::new();
    NS.get_or_init(|| Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://weave.example/ingest"))
}

/// The `urn:uuid:` of a business key.
#[must_use]
pub fn urn_for(key: &str) -> String {
    format!("urn:uuid:{}", Uuid::new_v5(namespace(), key.as_bytes()))
}

/// The id (a UUID) of a business key.
#[must_use]
pub fn id_for(key: &str) -> String {
    Uuid::new_v5(namespace(), key.as_bytes()).to_string()
}

impl BundleBuilder {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&mut self, key: String, resource: Value, request: Value) -> String {
        if let Some(url) = self.keys.get(&key) {
            return url.clone();
        }
        let url = urn_for(&key);
        self.entries.push(obj! { "fullUrl" => url.clone(), "resource" => resource, "request" => request });
        self.written.push(url.clone());
        self.keys.insert(key, url.clone());
        url
    }

    /// `PUT <Type>?identifier=<system>|<value>` (create or replace); returns the `fullUrl`.
    pub fn put_conditional(&mut self, rt: &str, system: &str, value: &str, resource: Value) -> String {
        let q = identifier_query(system, value);
        let request = obj! { "method" => "PUT", "url" => format!("{rt}?{q}") };
        self.add(format!("{rt}|{system}|{value}"), resource, request)
    }

    /// `POST <Type>` with `ifNoneExist: identifier=<system>|<value>` (create only when missing,
    /// never overwrite what another source wrote); returns the `fullUrl`.
    pub fn create_conditional(&mut self, rt: &str, system: &str, value: &str, resource: Value) -> String {
        let request = obj! { "method" => "POST", "url" => rt, "ifNoneExist" => identifier_query(system, value) };
        self.add(format!("{rt}|{system}|{value}"), resource, request)
    }

    /// `PUT <Type>/<id>` with `id` derived from `key`; returns the `fullUrl`.
    pub fn put_with_id(&mut self, rt: &str, key: &str, mut resource: Value) -> String {
        let id = id_for(&format!("{rt}|{key}"));
        resource["id"] = Value::String(id.clone());
        let request = obj! { "method" => "PUT", "url" => format!("{rt}/{id}") };
        self.add(format!("{rt}|{key}"), resource, request)
    }

    /// The `fullUrl`s of every entry so far, in order.
    #[must_use]
    pub fn written(&self) -> &[String] {
        &self.written
    }

    /// The transaction Bundle.
    #[must_use]
    pub fn finish(self) -> Value {
        obj! { "resourceType" => "Bundle", "type" => "transaction", "entry" => self.entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_keep_their_digits() {
        let t = |s: &str| decimal_text(s);
        assert_eq!(t("23.20").as_deref(), Some("23.20"));
        assert_eq!(t("+007.50").as_deref(), Some("7.50"));
        assert_eq!(t(".5").as_deref(), Some("0.5"));
        assert_eq!(t("5.").as_deref(), Some("5"));
        assert_eq!(t("-0").as_deref(), Some("0"));
        assert_eq!(t("-1.5").as_deref(), Some("-1.5"));
        for bad in ["", ".", "1,250", "1e5", "abc", "--1", "NOVALUE"] {
            assert_eq!(t(bad), None, "{bad}");
        }
        assert_eq!(serde_json::to_string(&decimal("10.50")).ok().as_deref(), Some("10.50"));
    }

    #[test]
    fn queries_escape_search_and_url_characters() {
        assert_eq!(
            identifier_query("https://weave.example/Id/Any%20lab/mrn", "A|B C+D,E"),
            "identifier=https://weave.example/Id/Any%2520lab/mrn|A%5C%7CB%20C%2BD%5C%2CE"
        );
        assert_eq!(slug("Any lab/USA"), "Any%20lab%2FUSA");
    }

    #[test]
    fn builder_dedupes_keys_and_is_deterministic() {
        let mut b = BundleBuilder::new();
        let a = b.create_conditional("Organization", ODS, "R9W", json!({"resourceType": "Organization"}));
        let again = b.create_conditional("Organization", ODS, "R9W", json!({"resourceType": "Organization"}));
        assert_eq!(a, again);
        assert_eq!(b.written().len(), 1);
        let p = b.put_with_id("Provenance", "m1", json!({"resourceType": "Provenance"}));
        assert_eq!(p, urn_for("Provenance|m1"));
        let v = b.finish();
        assert_eq!(v["entry"][0]["request"]["ifNoneExist"], "identifier=https://fhir.nhs.uk/Id/ods-organization-code|R9W");
        assert_eq!(v["entry"][1]["request"]["url"], format!("Provenance/{}", id_for("Provenance|m1")));
    }
}
