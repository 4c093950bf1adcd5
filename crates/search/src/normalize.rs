//! String normalisation for search: case- and accent-insensitive matching.

use unicode_normalization::UnicodeNormalization;

/// Lower-cases, strips combining accents and folds runs of white space: `"Zoë  O'Brien"` →
/// `"zoe o'brien"`.
pub fn normalize(s: &str) -> String {
    if s.is_ascii() {
        // No decomposition and no accents: one lower case per byte.
        fold(s.len(), s.chars(), |c, out| out.push(c.to_ascii_lowercase()))
    } else {
        fold(s.len(), s.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)), |c, out| out.extend(c.to_lowercase()))
    }
}

/// Folds runs of white space to one space (none at either end), `push`ing every other character.
fn fold(capacity: usize, chars: impl Iterator<Item = char>, push: impl Fn(char, &mut String)) -> String {
    let mut out = String::with_capacity(capacity);
    let mut space = false;
    for c in chars {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        push(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn ascii_text_is_normalized_as_any_other() {
        for s in ["Body Weight", "  Mixed\tCASE\x0b text\r\n", "O'Brien-Smith 42", "", "   "] {
            let general: String = {
                // The general path, forced by a non-ASCII character that normalizes to nothing
                // of its own (a lone combining accent) at the end.
                let n = normalize(&format!("{s}\u{301}"));
                n
            };
            assert_eq!(normalize(s), general, "{s:?}");
        }
    }

    #[test]
    fn folds_case_accents_and_spaces() {
        assert_eq!(normalize("Zoë  O'Brien "), "zoe o'brien");
        assert_eq!(normalize("ÉLODIE"), "elodie");
        assert_eq!(normalize("  Smith"), "smith");
        assert_eq!(normalize(""), "");
    }
}
