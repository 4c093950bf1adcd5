//! The words of a resource for `_text` (its narrative) and `_content` (all its strings), and
//! the parsing of those parameters' values.

use serde_json::Value;
use weave_store::FullText;

/// Keys whose strings are identifiers, links or binary data rather than words.
const SKIPPED: [&str; 11] =
    ["id", "reference", "system", "url", "data", "div", "fullUrl", "profile", "versionId", "lastUpdated", "resourceType"];
/// Most characters of a resource's content kept for full text.
const MAX_CONTENT: usize = 64 * 1024;

/// The full text of a resource (`None` when it has no words at all).
pub fn full_text(resource: &Value) -> Option<FullText> {
    let narrative = resource.get("text").and_then(|t| t.get("div")).and_then(Value::as_str).map(strip_markup).unwrap_or_default();
    let mut content = String::new();
    collect(resource, &mut content);
    (!content.trim().is_empty() || !narrative.trim().is_empty()).then_some(FullText { narrative, content })
}

fn collect(v: &Value, out: &mut String) {
    if out.len() >= MAX_CONTENT {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                if !SKIPPED.contains(&k.as_str()) {
                    collect(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::String(s) => {
            if !out.is_empty() {
                out.push(' ');
            }
            let room = MAX_CONTENT.saturating_sub(out.len());
            out.push_str(s.char_indices().take_while(|(i, _)| *i < room).map(|(_, c)| c).collect::<String>().as_str());
        }
        _ => {}
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

/// The words of a `_text` / `_content` value: split on spaces, lower-cased; a trailing `*` asks
/// for a prefix. `None` when there are none.
pub fn words(value: &str) -> Option<Vec<String>> {
    let w: Vec<String> = value.split_whitespace().map(str::to_lowercase).filter(|w| w.trim_end_matches('*').chars().any(char::is_alphanumeric)).collect();
    (!w.is_empty()).then_some(w)
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
        assert_eq!(words(" Falls  home* "), Some(vec!["falls".into(), "home*".into()]));
        assert_eq!(words(" * "), None);
    }
}
