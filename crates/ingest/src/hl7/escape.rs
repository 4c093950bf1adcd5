//! HL7 escape sequences: `\F\ \S\ \T\ \R\ \E\` (the delimiters), `\Xhh..\` (hex bytes, decoded as
//! UTF-8 when they form it, else as ISO 8859-1), `\.br\` and `\.sp n\` (line breaks), and the
//! formatting / character-set sequences (`\H\ \N\ \.in\ \.ti\ \.ce\ \.fi\ \.nf\ \.sk\ \Cxxyy\
//! \Mxxyyzz\ \Zxxx\`), which carry no text and are dropped. An unterminated or unknown escape is
//! kept literally, so nothing is lost.

use super::Delimiters;
use std::borrow::Cow;

/// Unescapes `raw` (one component or subcomponent) declared with delimiters `d`. Borrows when
/// there is nothing to unescape.
#[must_use]
pub fn unescape<'a>(raw: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let Some(esc) = d.escape else {
        return Cow::Borrowed(raw);
    };
    if !raw.as_bytes().contains(&esc) {
        return Cow::Borrowed(raw);
    }
    let esc_ch = char::from(esc);
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(esc_ch) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(esc_ch) {
            Some(end) => {
                let seq = &after[..end];
                if decode_sequence(seq, d, &mut out) {
                    rest = &after[end + 1..];
                } else {
                    // Unknown: keep the escape character and go on after it.
                    out.push(esc_ch);
                    rest = after;
                }
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Appends the text of one escape sequence (without its escape characters); false when unknown.
fn decode_sequence(seq: &str, d: &Delimiters, out: &mut String) -> bool {
    let push = |out: &mut String, b: Option<u8>| b.map(|b| out.push(char::from(b))).is_some();
    match seq {
        "F" => push(out, Some(d.field)),
        "S" => push(out, Some(d.component)),
        "T" => push(out, d.subcomponent),
        "R" => push(out, Some(d.repetition)),
        "E" => push(out, d.escape),
        "P" => push(out, d.truncation),
        ".br" => {
            out.push('\n');
            true
        }
        "H" | "N" | ".fi" | ".nf" => true,
        _ if seq.starts_with(".sp") => {
            let n: usize = seq[3..].trim().trim_start_matches('+').parse().unwrap_or(1);
            for _ in 0..n.clamp(1, 100) {
                out.push('\n');
            }
            true
        }
        _ if [".in", ".ti", ".ce", ".sk"].iter().any(|p| seq.starts_with(p)) => true,
        _ if seq.starts_with('X') => hex(&seq[1..], out),
        _ if seq.starts_with('C') || seq.starts_with('M') => {
            seq.len() > 1 && seq[1..].bytes().all(|b| b.is_ascii_hexdigit())
        }
        _ if seq.starts_with('Z') => true,
        _ => false,
    }
}

fn hex(digits: &str, out: &mut String) -> bool {
    if digits.is_empty() || digits.len() & 1 == 1 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let bytes: Vec<u8> = (0..digits.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect();
    match std::str::from_utf8(&bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(bytes.iter().map(|&b| char::from(b))),
    }
    true
}

/// Escapes the delimiters of `d` in `text` (CR and LF become `\.br\`).
#[must_use]
pub fn escape<'a>(text: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let esc = d.escape.unwrap_or(b'\\');
    let special = |b: u8| {
        b == d.field
            || b == d.component
            || b == d.repetition
            || b == esc
            || Some(b) == d.subcomponent
            || Some(b) == d.truncation
            || b == b'\r'
            || b == b'\n'
    };
    if !text.bytes().any(special) {
        return Cow::Borrowed(text);
    }
    let e = char::from(esc);
    let mut out = String::with_capacity(text.len() + 8);
    let mut last_cr = false;
    for c in text.chars() {
        let b = u8::try_from(c).unwrap_or(0);
        let code = if c == '\n' && last_cr {
            last_cr = false;
            continue;
        } else if !c.is_ascii() {
            None
        } else if b == d.field {
            Some("F")
        } else if b == d.component {
            Some("S")
        } else if Some(b) == d.subcomponent {
            Some("T")
        } else if b == d.repetition {
            Some("R")
        } else if b == esc {
            Some("E")
        } else if Some(b) == d.truncation {
            Some("P")
        } else if c == '\r' || c == '\n' {
            Some(".br")
        } else {
            None
        };
        last_cr = c == '\r';
        match code {
            Some(code) => {
                out.push(e);
                out.push_str(code);
                out.push(e);
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}
