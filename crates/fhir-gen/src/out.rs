//! Helpers shared by the generators: JSON access shortcuts and the line-format writer rules
//! (fields separated by tabs, no tabs or line breaks inside a field, URL prefixes shortened).

use serde_json::Value;
use std::borrow::Cow;

/// Prefix removed from StructureDefinition canonicals (target profiles); the reader puts it back
/// when the stored text contains no `:`.
pub const SD_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/";
/// Prefix removed from ValueSet canonicals in bindings.
pub const VS_PREFIX: &str = "http://hl7.org/fhir/ValueSet/";
/// Prefix removed from SearchParameter canonicals.
pub const SP_PREFIX: &str = "http://hl7.org/fhir/SearchParameter/";

/// Makes a field safe for the tab-separated format: tabs and line breaks become spaces.
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.contains(['\t', '\n', '\r']) {
        Cow::Owned(s.replace(['\t', '\n', '\r'], " "))
    } else {
        Cow::Borrowed(s)
    }
}

/// `url` without `prefix` when it starts with it and the rest has no `:` (so the reader can tell).
pub fn shorten<'a>(url: &'a str, prefix: &str) -> &'a str {
    match url.strip_prefix(prefix) {
        Some(rest) if !rest.contains(':') && !rest.is_empty() => rest,
        _ => url,
    }
}

/// A string property, if present.
pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An array property as a slice (empty when absent).
pub fn arr_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The resources of a Bundle's entries.
pub fn bundle_resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    arr_of(bundle, "entry")
        .iter()
        .filter_map(|e| e.get("resource"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_foreign_urls() {
        assert_eq!(
            shorten("http://hl7.org/fhir/ValueSet/gender", VS_PREFIX),
            "gender"
        );
        assert_eq!(
            shorten("http://loinc.org/vs/LL1", VS_PREFIX),
            "http://loinc.org/vs/LL1"
        );
        assert_eq!(clean("a\tb\nc"), "a b c");
    }
}
