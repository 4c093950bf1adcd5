//! The parsing of `_text` and `_content` values; the words of a resource are the store's
//! ([`weave_store::fulltext::full_text`]).

pub use weave_store::fulltext::full_text;

/// The words of a `_text` / `_content` value: split on spaces, lower-cased; a trailing `*` asks
/// for a prefix. `None` when there are none.
pub fn words(value: &str) -> Option<Vec<String>> {
    let w: Vec<String> = value.split_whitespace().map(str::to_lowercase).filter(|w| w.trim_end_matches('*').chars().any(char::is_alphanumeric)).collect();
    (!w.is_empty()).then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_a_value() {
        assert_eq!(words(" Falls  home* "), Some(vec!["falls".into(), "home*".into()]));
        assert_eq!(words(" * "), None);
    }
}
