//! The words of a resource for `_text` (its narrative) and `_content` (all its strings but links,
//! identifiers of the resource itself and dates). The store keeps its full-text index from them,
//! and rebuilds it from stored bodies when it lags behind (see `sqlite::fts`).
//!
//! A string met again in the same resource (a coding's display repeated as its concept's text,
//! a status on every item) is kept once: a third of the words left were such repeats, and words
//! are matched, not counted. Dates and times are left out of `_content`: they were a third of the words of a typical
//! resource (`2015-01-01T10:00:00-05:00` is seven), no one looks for a year by its words, and the
//! date parameters find them by range.

use serde_json::Value;
use rustc_hash::FxHashSet;
use crate::FullText;

/// Keys whose strings are identifiers, links or binary data rather than words.
const SKIPPED: [&str; 11] =
    ["id", "reference", "system", "url", "data", "div", "fullUrl", "profile", "versionId", "lastUpdated", "resourceType"];
/// Most characters of a resource's content kept for full text.
const MAX_CONTENT: usize = 64 * 1024;

/// The full text of a resource (`None` when it has no words at all).
pub fn full_text(resource: &Value) -> Option<FullText> {
    let narrative = resource.get("text").and_then(|t| t.get("div")).and_then(Value::as_str).map(strip_markup).unwrap_or_default();
    let mut content = String::new();
    collect(resource, &mut content, &mut FxHashSet::default());
    (!content.trim().is_empty() || !narrative.trim().is_empty()).then_some(FullText { narrative, content })
}

fn collect<'a>(v: &'a Value, out: &mut String, seen: &mut FxHashSet<&'a str>) {
    if out.len() >= MAX_CONTENT {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                if !SKIPPED.contains(&k.as_str()) {
                    collect(child, out, seen);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out, seen)),
        Value::String(s) if is_date_time(s) || !seen.insert(s) => {}
        Value::String(s) => {
            if !out.is_empty() {
                out.push(' ');
            }
            let room = MAX_CONTENT.saturating_sub(out.len());
            let cut = if s.len() <= room { s.len() } else { (0..=room).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0) };
            out.push_str(&s[..cut]);
        }
        _ => {}
    }
}

/// Whether a string is a FHIR `date` with at least a month, a `dateTime` or an `instant`
/// (`2015-02`, `2015-02-07`, `2015-02-07T13:28:17-05:00`, `…T13:28:17.239Z`) — checked by shape,
/// since one walk over the JSON does not know element types. A bare year is kept: it may be a word.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7)) {
        return false;
    }
    match b.len() {
        7 => true,
        10 => b[7] == b'-' && digits(8..10),
        _ => {
            b[7] == b'-'
                && digits(8..10)
                && b[10] == b'T'
                && digits(11..13)
                && b.get(13) == Some(&b':')
                && b[10..].iter().all(|c| c.is_ascii_digit() || matches!(c, b'T' | b':' | b'.' | b'+' | b'-' | b'Z'))
        }
    }
}

/// The text of XHTML without its tags, with the common entities decoded.
fn strip_markup(div: &str) -> String {
    let mut out = String::with_capacity(div.len());
    let mut in_tag = false;
    for c in div.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&nbsp;", " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn narrative_and_content_words() {
        let r = json!({"resourceType": "Condition", "id": "c1",
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Falls &amp; frailty</p></div>"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "129839007", "display": "At risk for falls"}], "text": "Fall risk"},
            "subject": {"reference": "Patient/p1"}});
        let t = full_text(&r).expect("words");
        assert_eq!(t.narrative.split_whitespace().collect::<Vec<_>>(), vec!["Falls", "&", "frailty"]);
        assert!(t.content.contains("At risk for falls") && t.content.contains("Fall risk"));
        assert!(!t.content.contains("frailty"), "the narrative is kept once, in its own column");
        assert!(!t.content.contains("Patient/p1") && !t.content.contains("snomed"), "links and systems are not words");
    }

    #[test]
    fn dates_and_times_are_not_words() {
        let r = json!({"resourceType": "Observation", "status": "final",
            "effectiveDateTime": "2015-02-07T13:28:17-05:00", "issued": "2015-02-07T13:28:17.239+02:00",
            "note": [{"time": "2016-03", "text": "seen 2016-03-01 at home"}],
            "valueString": "2019", "component": [{"valueDateTime": "2017-01-02"}]});
        let t = full_text(&r).expect("words");
        let words: Vec<&str> = t.content.split_whitespace().collect();
        assert_eq!(words, vec!["final", "seen", "2016-03-01", "at", "home", "2019"], "a date inside text and a bare year stay");
        let r = json!({"resourceType": "Claim", "status": "active",
            "type": {"coding": [{"code": "a", "display": "Acute care"}], "text": "Acute care"},
            "item": [{"productOrService": {"text": "Visit"}}, {"productOrService": {"text": "Visit"}}, {"productOrService": {"text": "active visit"}}]});
        let t = full_text(&r).expect("words");
        assert_eq!(t.content, "active a Acute care Visit active visit", "each string once");
    }

    #[test]
    fn content_is_capped_at_a_character_boundary() {
        let long = "é".repeat(MAX_CONTENT);
        let r = json!({"resourceType": "Basic", "code": {"text": "first"}, "extension": [{"valueString": long}, {"valueString": "never"}]});
        let t = full_text(&r).expect("words");
        assert!(t.content.starts_with("first éé"));
        assert!(t.content.len() <= MAX_CONTENT && t.content.len() > MAX_CONTENT - 2, "{}", t.content.len());
        assert!(!t.content.contains("never"));
        for s in ["2015-02", "2015-02-07", "2015-02-07T13:28:17Z", "2015-02-07T13:28:17.239-05:00"] {
            assert!(is_date_time(s), "{s}");
        }
        for s in ["2015", "2015-02-07 and more", "2015-02-07Tnoon", "8302-2", "2015-0x", "2015-02-07T"] {
            assert!(!is_date_time(s), "{s}");
        }
    }
}
