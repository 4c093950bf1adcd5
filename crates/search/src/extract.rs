//! From FHIRPath results to index rows, per search parameter type.

use crate::dates::date_range;
use crate::normalize;
use serde_json::Value;
use weave_fhirpath::Item;
use weave_store::IndexEntries;

/// Where a reference points, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefTarget {
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub url: Option<String>,
}

/// Splits a reference string: `Patient/1`, `Patient/1/_history/2`, `{base}/Patient/1` are local;
/// other absolute URLs and canonicals are kept as URLs; `#x` (contained) gives `None`.
pub fn parse_reference(r: &str, base_url: &str) -> Option<RefTarget> {
    if r.starts_with('#') || r.is_empty() {
        return None;
    }
    let local = r.strip_prefix(base_url).map(|s| s.trim_start_matches('/'));
    let rel = match local {
        Some(l) => l,
        None if r.contains("://") || r.starts_with("urn:") => {
            return Some(RefTarget { target_type: None, target_id: None, url: Some(r.to_owned()) })
        }
        None => r,
    };
    let mut parts = rel.split('/');
    match (parts.next(), parts.next()) {
        (Some(t), Some(id)) if !t.is_empty() && t.starts_with(|c: char| c.is_ascii_uppercase()) => Some(RefTarget {
            target_type: Some(t.to_owned()),
            target_id: Some(id.to_owned()),
            url: None,
        }),
        _ => Some(RefTarget { target_type: None, target_id: None, url: Some(r.to_owned()) }),
    }
}

fn str_field<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str)
}

fn strings_of(v: &Value, keys: &[&str], out: &mut Vec<String>) {
    for k in keys {
        match v.get(*k) {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Array(a)) => out.extend(a.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
    }
}

/// Adds string rows for one item (HumanName and Address are split into their parts).
pub fn add_string(param: &str, item: &Item<'_>, ix: &mut IndexEntries) {
    let mut values = Vec::new();
    match item {
        Item::Node(n) => match (n.type_name(), n.json()) {
            (Some("HumanName"), v) => strings_of(v, &["text", "family", "given", "prefix", "suffix"], &mut values),
            (Some("Address"), v) => {
                strings_of(v, &["text", "line", "city", "district", "state", "postalCode", "country"], &mut values);
            }
            (_, Value::String(s)) => values.push(s.clone()),
            _ => {}
        },
        Item::String(t) => values.push(t.as_str().to_owned()),
        _ => {}
    }
    for v in values {
        let norm = normalize(&v);
        if !norm.is_empty() {
            ix.strings.push((param.to_owned(), norm, v));
        }
    }
}

/// Adds token rows: codes, Codings, CodeableConcepts, Identifiers, ContactPoints, booleans.
pub fn add_token(param: &str, item: &Item<'_>, ix: &mut IndexEntries) {
    // `text` arrives normalized (see `normalize`).
    let mut push = |system: Option<&str>, code: &str, text: Option<String>| {
        ix.tokens.push((param.to_owned(), system.map(str::to_owned), code.to_owned(), text));
    };
    let Item::Node(n) = item else {
        match item {
            Item::Boolean(b) => push(None, if *b { "true" } else { "false" }, None),
            Item::String(s) => push(None, s.as_str(), None),
            _ => {}
        }
        return;
    };
    let v = n.json();
    match n.type_name() {
        Some("Coding") => match str_field(v, "code") {
            Some(code) => push(str_field(v, "system"), code, str_field(v, "display").map(normalize)),
            // A display alone is still searchable with `:text`.
            None => push(None, "", str_field(v, "display").map(normalize)),
        },
        Some("CodeableConcept") => {
            let text = str_field(v, "text");
            let norm_text = text.map(normalize);
            // A coding's display, normalized (the concept's text, when it is the same words).
            let words = |display: &str| if Some(display) == text { norm_text.clone() } else { Some(normalize(display)) };
            // Whether a coding row already carries the concept's text.
            let mut carried = false;
            for c in v.get("coding").and_then(Value::as_array).into_iter().flatten() {
                let code = str_field(c, "code");
                let row_text = match (code, str_field(c, "display")) {
                    (_, Some(d)) => words(d),
                    (Some(_), None) => norm_text.clone(),
                    (None, None) => continue,
                };
                carried |= row_text.is_some() && row_text == norm_text;
                // A display without a code: a row with neither (searchable with `:text` only).
                push(code.and(str_field(c, "system")), code.unwrap_or(""), row_text);
            }
            // The concept's own text, searchable with `:text` even when it has no coding (a
            // coding row with the same words already answers it).
            if let Some(t) = norm_text.filter(|_| !carried) {
                push(None, "", Some(t));
            }
        }
        Some("Identifier") => {
            if let Some(value) = str_field(v, "value") {
                let type_text = v.get("type").and_then(|t| str_field(t, "text"));
                push(str_field(v, "system"), value, type_text.map(normalize));
                // `:of-type`: one row per type coding, under `param:of-type`, code `type|value`.
                for c in v.get("type").and_then(|t| t.get("coding")).and_then(Value::as_array).into_iter().flatten() {
                    if let Some(code) = str_field(c, "code") {
                        ix.tokens.push((format!("{param}:of-type"), str_field(c, "system").map(str::to_owned), format!("{code}|{value}"), None));
                    }
                }
            }
        }
        Some("ContactPoint") => {
            if let Some(value) = str_field(v, "value") {
                push(None, value, None);
            }
        }
        _ => match v {
            Value::String(s) => push(None, s, None),
            Value::Bool(b) => push(None, if *b { "true" } else { "false" }, None),
            _ => {}
        },
    }
}

/// Adds reference rows (Reference, canonical and uri values).
pub fn add_reference(param: &str, item: &Item<'_>, base_url: &str, ix: &mut IndexEntries) {
    let Item::Node(n) = item else { return };
    let v = n.json();
    let reference = match v {
        Value::String(s) => Some(s.as_str()),
        Value::Object(_) => str_field(v, "reference"),
        _ => None,
    };
    if let Some(t) = reference.and_then(|r| parse_reference(r, base_url)) {
        ix.references.push((param.to_owned(), t.target_type, t.target_id, t.url));
    }
    // A logical reference (Reference.identifier) is searchable with `:identifier`.
    if let Some(idf) = v.get("identifier") {
        if let Some(value) = str_field(idf, "value") {
            ix.tokens.push((format!("{param}:identifier"), str_field(idf, "system").map(str::to_owned), value.to_owned(), None));
        }
    }
}

/// Adds date rows: date, dateTime, instant, Period, Timing events.
pub fn add_date(param: &str, item: &Item<'_>, ix: &mut IndexEntries) {
    let Item::Node(n) = item else { return };
    let v = n.json();
    match (n.type_name(), v) {
        (_, Value::String(s)) => {
            if let Some((lo, hi)) = date_range(s) {
                ix.dates.push((param.to_owned(), lo, hi));
            }
        }
        (Some("Period"), _) => {
            let lo = str_field(v, "start").and_then(date_range).map_or(i64::MIN, |r| r.0);
            let hi = str_field(v, "end").and_then(date_range).map_or(i64::MAX, |r| r.1);
            if v.get("start").is_some() || v.get("end").is_some() {
                ix.dates.push((param.to_owned(), lo, hi));
            }
        }
        (Some("Timing"), _) => {
            for e in v.get("event").and_then(Value::as_array).into_iter().flatten() {
                if let Some((lo, hi)) = e.as_str().and_then(date_range) {
                    ix.dates.push((param.to_owned(), lo, hi));
                }
            }
            // A repeating schedule covers its bounds.
            if let Some(bounds) = v.get("repeat").and_then(|r| r.get("boundsPeriod")) {
                let lo = str_field(bounds, "start").and_then(date_range).map_or(i64::MIN, |r| r.0);
                let hi = str_field(bounds, "end").and_then(date_range).map_or(i64::MAX, |r| r.1);
                ix.dates.push((param.to_owned(), lo, hi));
            }
        }
        _ => {}
    }
}

/// Adds number rows.
pub fn add_number(param: &str, item: &Item<'_>, ix: &mut IndexEntries) {
    let value = match item {
        Item::Node(n) => n.json().as_number().and_then(serde_json::Number::as_f64),
        Item::Integer(i) => Some(*i as f64),
        Item::Decimal(d) => d.to_string().parse().ok(),
        _ => None,
    };
    if let Some(v) = value {
        ix.numbers.push((param.to_owned(), v));
    }
}

/// Adds quantity rows (Quantity and its profiles, Money).
pub fn add_quantity(param: &str, item: &Item<'_>, ix: &mut IndexEntries) {
    let Item::Node(n) = item else { return };
    let v = n.json();
    let Some(value) = v.get("value").and_then(Value::as_number).and_then(serde_json::Number::as_f64) else {
        return;
    };
    let (system, code) = match n.type_name() {
        Some("Money") => (Some("urn:iso:std:iso:4217"), str_field(v, "currency")),
        _ => (str_field(v, "system"), str_field(v, "code").or_else(|| str_field(v, "unit"))),
    };
    ix.quantities.push((param.to_owned(), value, system.map(str::to_owned), code.map(str::to_owned)));
    // `value||unit` matches the human unit as well as the code.
    if let Some(unit) = str_field(v, "unit").filter(|u| Some(*u) != code) {
        ix.quantities.push((param.to_owned(), value, None, Some(unit.to_owned())));
    }
}

/// Adds uri rows.
pub fn add_uri(param: &str, item: &Item<'_>, ix: &mut IndexEntries) {
    if let Some(s) = item.as_node().and_then(|n| n.json().as_str()) {
        ix.uris.push((param.to_owned(), s.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_rows(code: serde_json::Value) -> Vec<(Option<String>, String, Option<String>)> {
        let obs = serde_json::json!({"resourceType": "Observation", "status": "final", "code": code});
        let ix = crate::Indexer::new("http://localhost").extract("Observation", &obs);
        ix.tokens.into_iter().filter(|t| t.0 == "code").map(|t| (t.1, t.2, t.3)).collect()
    }

    #[test]
    fn a_concept_text_gets_its_own_row_only_when_no_coding_carries_the_same_words() {
        let loinc = || Some("http://loinc.org".to_owned());
        // The text repeats the display: the coding's row answers `:text`.
        let same = code_rows(serde_json::json!({
            "coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body Weight"}],
            "text": "Body weight"
        }));
        assert_eq!(same, vec![(loinc(), "29463-7".to_owned(), Some("body weight".to_owned()))]);
        // A coding without a display carries the text.
        let bare = code_rows(serde_json::json!({"coding": [{"system": "http://loinc.org", "code": "29463-7"}], "text": "Weight"}));
        assert_eq!(bare, vec![(loinc(), "29463-7".to_owned(), Some("weight".to_owned()))]);
        // Other words: both are searchable.
        let other = code_rows(serde_json::json!({
            "coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}],
            "text": "Weight on the ward scales"
        }));
        assert_eq!(
            other,
            vec![
                (loinc(), "29463-7".to_owned(), Some("body weight".to_owned())),
                (None, String::new(), Some("weight on the ward scales".to_owned())),
            ]
        );
        // Text alone.
        assert_eq!(code_rows(serde_json::json!({"text": "Falls"})), vec![(None, String::new(), Some("falls".to_owned()))]);
    }

    #[test]
    fn references_are_split_into_type_and_id() {
        let base = "http://localhost:8080";
        let t = parse_reference("Patient/123/_history/2", base).unwrap();
        assert_eq!((t.target_type.as_deref(), t.target_id.as_deref()), (Some("Patient"), Some("123")));
        let t = parse_reference("http://localhost:8080/Patient/9", base).unwrap();
        assert_eq!(t.target_id.as_deref(), Some("9"));
        let t = parse_reference("http://other.org/fhir/Patient/9", base).unwrap();
        assert_eq!(t.url.as_deref(), Some("http://other.org/fhir/Patient/9"));
        assert!(parse_reference("#contained", base).is_none());
    }
}
