//! String normalisation for search: case- and accent-insensitive matching.

use unicode_normalization::UnicodeNormalization;

/// Lower-cases, strips combining accents and folds runs of white space: `"Zoë  O'Brien"` →
/// `"zoe o'brien"`.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn folds_case_accents_and_spaces() {
        assert_eq!(normalize("Zoë  O'Brien "), "zoe o'brien");
        assert_eq!(normalize("ÉLODIE"), "elodie");
        assert_eq!(normalize("  Smith"), "smith");
        assert_eq!(normalize(""), "");
    }
}
