//! String functions: search, slicing, case, regular expressions (Rust `regex` syntax, dot matches newline),
//! split/join, and the encode/decode/escape helpers. Positions and lengths count characters.

use regex::Regex;
use smallvec::smallvec;

use super::convert::check_string_input;
use super::ops::string_of;
use super::{err, single_value, EvalResult, Evaluator, Scope};
use crate::ast::{Call, Func};
use crate::error::{EvalError, Pos};
use crate::value::{Collection, Item, Text};

/// Compiles the pattern of `matches` (a search) or `matchesFull` (whole string) or `replaceMatches`. Dot
/// matches newlines; flags `i` (case-insensitive), `m` (multi-line anchors) and `x` (extended) may be added.
pub(crate) fn compile_regex(func: Func, pattern: &str, flags: &str) -> Result<Regex, regex::Error> {
    let mut prefix = String::from("(?s");
    for f in flags.chars() {
        match f {
            'i' | 'm' | 'x' => prefix.push(f),
            's' => {}
            other => {
                return Err(regex::Error::Syntax(format!(
                    "unknown regular expression flag '{other}'"
                )))
            }
        }
    }
    prefix.push(')');
    match func {
        Func::MatchesFull => Regex::new(&format!("{prefix}^(?:{pattern})$")),
        _ => Regex::new(&format!("{prefix}{pattern}")),
    }
}

impl<'a> Evaluator<'_, 'a> {
    /// The `n`th argument as a single string (`None` when empty).
    fn str_arg(
        &self,
        c: &'a Call,
        n: usize,
        sc: Scope<'_, 'a>,
    ) -> Result<Option<Text<'a>>, EvalError> {
        let Some(arg) = c.args.get(n) else {
            return Ok(None);
        };
        let v = self.eval(arg, sc)?;
        match single_value(&v, arg.pos, "argument")? {
            None => Ok(None),
            Some(item) => check_string_input(item, arg.pos, c.func).map(Some),
        }
    }

    pub(crate) fn string_call(
        &self,
        c: &'a Call,
        input: &[Item<'a>],
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        if c.func == Func::Join {
            let sep = self.str_arg(c, 0, sc)?;
            let parts: Vec<String> = input
                .iter()
                .filter(|i| !matches!(i, Item::Node(n) if n.value.is_null()))
                .map(string_of)
                .collect();
            return Ok(smallvec![Item::string(
                parts.join(sep.as_ref().map_or("", Text::as_str))
            )]);
        }
        let Some(item) = single_value(input, pos, c.func.name())? else {
            return Ok(Collection::new());
        };
        let text = check_string_input(item, pos, c.func)?;
        let s = text.as_str();
        let one = |i: Item<'a>| -> EvalResult<'a> { Ok(smallvec![i]) };
        let int = |n: usize| Item::Integer(n as i64);
        match c.func {
            Func::Length => one(int(s.chars().count())),
            Func::Upper => one(Item::string(s.to_uppercase())),
            Func::Lower => one(Item::string(s.to_lowercase())),
            Func::Trim => one(Item::string(s.trim().to_string())),
            Func::ToChars => Ok(s.chars().map(|ch| Item::string(ch.to_string())).collect()),
            Func::Substring => self.substring(c, s, sc),
            Func::Encode | Func::Decode | Func::Escape | Func::Unescape => {
                let Some(kind) = self.str_arg(c, 0, sc)? else {
                    return Ok(Collection::new());
                };
                Ok(codec(c.func, kind.as_str(), s)
                    .map(Item::string)
                    .into_iter()
                    .collect())
            }
            Func::Matches | Func::MatchesFull | Func::ReplaceMatches => {
                self.regex_call(c, s, pos, sc)
            }
            _ => {
                let Some(arg) = self.str_arg(c, 0, sc)? else {
                    return Ok(Collection::new());
                };
                let a = arg.as_str();
                match c.func {
                    Func::IndexOf => one(s
                        .find(a)
                        .map_or(Item::Integer(-1), |b| int(s[..b].chars().count()))),
                    Func::LastIndexOf => one(s
                        .rfind(a)
                        .map_or(Item::Integer(-1), |b| int(s[..b].chars().count()))),
                    Func::StartsWith => one(Item::Boolean(s.starts_with(a))),
                    Func::EndsWith => one(Item::Boolean(s.ends_with(a))),
                    Func::Contains => one(Item::Boolean(s.contains(a))),
                    Func::Split => Ok(s.split(a).map(|p| Item::string(p.to_string())).collect()),
                    Func::Replace => {
                        let Some(with) = self.str_arg(c, 1, sc)? else {
                            return Ok(Collection::new());
                        };
                        one(Item::string(s.replace(a, with.as_str())))
                    }
                    _ => err(pos, format!("'{}' is not a string function", c.func.name())),
                }
            }
        }
    }

    fn substring(&self, c: &'a Call, s: &str, sc: Scope<'_, 'a>) -> EvalResult<'a> {
        let start = self.eval(&c.args[0], sc)?;
        let Some(start) = self.integer_arg(&start, c.args[0].pos)? else {
            return Ok(Collection::new());
        };
        let len = match c.args.get(1) {
            Some(a) => self.integer_arg(&self.eval(a, sc)?, a.pos)?,
            None => None,
        };
        let n = s.chars().count() as i64;
        if start < 0 || start >= n {
            return Ok(Collection::new());
        }
        let take = len.map_or(n - start, |l| l.max(0).min(n - start));
        let out: String = s.chars().skip(start as usize).take(take as usize).collect();
        Ok(smallvec![Item::string(out)])
    }

    fn regex_call(&self, c: &'a Call, s: &str, pos: Pos, sc: Scope<'_, 'a>) -> EvalResult<'a> {
        let Some(pattern) = self.str_arg(c, 0, sc)? else {
            return Ok(Collection::new());
        };
        let flags = match c.func {
            Func::ReplaceMatches => None,
            _ => self.str_arg(c, 1, sc)?,
        };
        let owned;
        let re = match &c.regex {
            Some(r) => r,
            None => {
                owned = compile_regex(
                    c.func,
                    pattern.as_str(),
                    flags.as_ref().map_or("", Text::as_str),
                )
                .map_err(|e| {
                    EvalError::new(c.args[0].pos, format!("invalid regular expression: {e}"))
                })?;
                &owned
            }
        };
        if c.func == Func::ReplaceMatches {
            let Some(with) = self.str_arg(c, 1, sc)? else {
                return Ok(Collection::new());
            };
            if pattern.as_str().is_empty() {
                return Ok(smallvec![Item::string(s.to_string())]);
            }
            return Ok(smallvec![Item::string(
                re.replace_all(s, with.as_str()).into_owned()
            )]);
        }
        let _ = pos;
        Ok(smallvec![Item::Boolean(re.is_match(s))])
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn codec(func: Func, kind: &str, s: &str) -> Option<String> {
    match (func, kind) {
        (Func::Encode, "base64") => Some(base64_encode(s.as_bytes(), false)),
        (Func::Encode, "urlbase64") => Some(base64_encode(s.as_bytes(), true)),
        (Func::Encode, "hex") => Some(s.bytes().map(|b| format!("{b:02x}")).collect()),
        (Func::Decode, "base64" | "urlbase64") => String::from_utf8(base64_decode(s)?).ok(),
        (Func::Decode, "hex") => {
            let bytes = s.as_bytes();
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let raw: Option<Vec<u8>> = bytes
                .chunks(2)
                .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
                .collect();
            String::from_utf8(raw?).ok()
        }
        (Func::Escape, "html") => Some(
            s.chars()
                .map(|ch| match ch {
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '"' => "&quot;".to_string(),
                    '\'' => "&#39;".to_string(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        (Func::Unescape, "html") => Some(
            s.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&"),
        ),
        (Func::Escape, "json") => {
            let quoted = serde_json::to_string(s).ok()?;
            Some(quoted[1..quoted.len() - 1].to_string())
        }
        (Func::Unescape, "json") => Some(json_unescape(s)),
        _ => None,
    }
}

/// Undoes JSON string escapes (`\"`, `\\`, `\n`, `\u0041` …); anything else is kept as it is.
fn json_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(c @ ('"' | '\\' | '/')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn base64_encode(bytes: &[u8], url: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                let c = B64[((n >> (18 - 6 * k)) & 63) as usize];
                out.push(match (url, c) {
                    (true, b'+') => '-',
                    (true, b'/') => '_',
                    (_, c) => c as char,
                });
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_encode(b"subjects?_d", false), "c3ViamVjdHM/X2Q=");
        assert_eq!(base64_encode(b"subjects?_d", true), "c3ViamVjdHM_X2Q=");
        assert_eq!(base64_decode("dGVzdA==").unwrap(), b"test");
    }
}
