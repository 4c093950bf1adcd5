//! FHIR R4 primitive data types: the JSON form each must take and hand-written checks equivalent to
//! the R4 regular expressions (plus the rules the regexes leave out: calendar dates, 32-bit integer
//! ranges, string control characters and length, base64 padding).
//!
//! All checks allocate nothing on success; an error message is only built on failure.

use serde_json::Value;

/// The FHIR primitive types (and the FHIRPath system types they map to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prim {
    Boolean,
    Integer,
    PositiveInt,
    UnsignedInt,
    Decimal,
    String,
    Markdown,
    Code,
    Id,
    Uri,
    Url,
    Canonical,
    Oid,
    Uuid,
    Base64Binary,
    Date,
    DateTime,
    Instant,
    Time,
    Xhtml,
}

impl Prim {
    /// The primitive for a FHIR type code ("dateTime") or a FHIRPath system type ("System.DateTime").
    pub fn from_code(code: &str) -> Option<Prim> {
        Some(match code {
            "boolean" | "System.Boolean" => Prim::Boolean,
            "integer" | "System.Integer" => Prim::Integer,
            "positiveInt" => Prim::PositiveInt,
            "unsignedInt" => Prim::UnsignedInt,
            "decimal" | "System.Decimal" => Prim::Decimal,
            "string" | "System.String" => Prim::String,
            "markdown" => Prim::Markdown,
            "code" => Prim::Code,
            "id" => Prim::Id,
            "uri" => Prim::Uri,
            "url" => Prim::Url,
            "canonical" => Prim::Canonical,
            "oid" => Prim::Oid,
            "uuid" => Prim::Uuid,
            "base64Binary" => Prim::Base64Binary,
            "date" | "System.Date" => Prim::Date,
            "dateTime" | "System.DateTime" => Prim::DateTime,
            "instant" => Prim::Instant,
            "time" | "System.Time" => Prim::Time,
            "xhtml" => Prim::Xhtml,
            _ => return None,
        })
    }

    /// The FHIR type code.
    pub fn name(self) -> &'static str {
        match self {
            Prim::Boolean => "boolean",
            Prim::Integer => "integer",
            Prim::PositiveInt => "positiveInt",
            Prim::UnsignedInt => "unsignedInt",
            Prim::Decimal => "decimal",
            Prim::String => "string",
            Prim::Markdown => "markdown",
            Prim::Code => "code",
            Prim::Id => "id",
            Prim::Uri => "uri",
            Prim::Url => "url",
            Prim::Canonical => "canonical",
            Prim::Oid => "oid",
            Prim::Uuid => "uuid",
            Prim::Base64Binary => "base64Binary",
            Prim::Date => "date",
            Prim::DateTime => "dateTime",
            Prim::Instant => "instant",
            Prim::Time => "time",
            Prim::Xhtml => "xhtml",
        }
    }

    /// The JSON type the value must have: "boolean", "number" or "string".
    pub fn json_type(self) -> &'static str {
        match self {
            Prim::Boolean => "boolean",
            Prim::Integer | Prim::PositiveInt | Prim::UnsignedInt | Prim::Decimal => "number",
            _ => "string",
        }
    }
}

/// Checks a JSON value against the primitive type `type_code` ("date", "System.String", ...).
pub fn check(type_code: &str, v: &Value) -> Result<(), String> {
    match Prim::from_code(type_code) {
        Some(p) => check_prim(p, v),
        None => Err(format!("'{type_code}' is not a primitive type")),
    }
}

/// Checks a JSON value against a primitive type.
pub fn check_prim(p: Prim, v: &Value) -> Result<(), String> {
    let ok = match (p, v) {
        (Prim::Boolean, Value::Bool(_)) => true,
        (
            Prim::Integer | Prim::PositiveInt | Prim::UnsignedInt | Prim::Decimal,
            Value::Number(n),
        ) => check_number_text(p, n.as_str()),
        (_, Value::String(s)) if p.json_type() == "string" => check_str(p, s),
        _ => return Err(wrong_json_type(p, v)),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid_message(p, v))
    }
}

/// Checks the text of a JSON number against a numeric primitive type.
pub fn check_number_text(p: Prim, text: &str) -> bool {
    match p {
        Prim::Integer => parse_integer(text).is_some(),
        Prim::PositiveInt => is_positive_int(text),
        Prim::UnsignedInt => is_unsigned_int(text),
        Prim::Decimal => is_decimal(text),
        _ => false,
    }
}

/// Checks a string against a string-valued primitive type.
pub fn check_str(p: Prim, s: &str) -> bool {
    match p {
        Prim::String => is_string(s),
        Prim::Markdown => is_markdown(s),
        Prim::Code => is_code(s),
        Prim::Id => is_id(s),
        Prim::Uri | Prim::Url | Prim::Canonical => is_uri(s),
        Prim::Oid => is_oid(s),
        Prim::Uuid => is_uuid(s),
        Prim::Base64Binary => is_base64(s),
        Prim::Date => is_date(s),
        Prim::DateTime => is_date_time(s),
        Prim::Instant => is_instant(s),
        Prim::Time => is_time(s),
        Prim::Xhtml => is_xhtml(s),
        Prim::Boolean | Prim::Integer | Prim::PositiveInt | Prim::UnsignedInt | Prim::Decimal => {
            false
        }
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn wrong_json_type(p: Prim, v: &Value) -> String {
    format!(
        "{} must be a JSON {}, found {}",
        p.name(),
        p.json_type(),
        json_type_name(v)
    )
}

fn invalid_message(p: Prim, v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.as_str(),
        Value::Number(n) => n.as_str(),
        _ => "",
    };
    let shown: String = text.chars().take(80).collect();
    let more = if shown.len() < text.len() { "..." } else { "" };
    match p {
        Prim::String | Prim::Markdown if text.chars().any(is_forbidden_control) => {
            format!(
                "{} contains a control character (only tab, CR and LF are allowed)",
                p.name()
            )
        }
        Prim::String if text.len() > MAX_STRING_BYTES => "string is longer than 1 MB".to_string(),
        Prim::Integer | Prim::PositiveInt | Prim::UnsignedInt if is_integer_syntax(text) => {
            format!("{shown} is out of range for {}", p.name())
        }
        _ => format!("'{shown}{more}' is not a valid {}", p.name()),
    }
}

// ----- strings -----

/// R4 `string.value` maxLength (1,048,576 characters); checked in characters.
const MAX_STRING_CHARS: usize = 1_048_576;
/// Byte length above which the character count must be checked.
const MAX_STRING_BYTES: usize = MAX_STRING_CHARS;

fn is_forbidden_control(c: char) -> bool {
    (c as u32) < 32 && !matches!(c, '\t' | '\r' | '\n')
}

/// `string`: non-empty, no control characters other than tab/CR/LF, at most 1,048,576 characters.
pub fn is_string(s: &str) -> bool {
    is_markdown(s) && (s.len() <= MAX_STRING_BYTES || s.chars().count() <= MAX_STRING_CHARS)
}

/// `markdown`: like string, without the length limit.
pub fn is_markdown(s: &str) -> bool {
    !s.is_empty()
        && !s
            .bytes()
            .any(|b| b < 32 && !matches!(b, b'\t' | b'\r' | b'\n'))
}

/// ASCII whitespace as in the FHIR regexes' `\s`.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

/// `code`: `[^\s]+(\s[^\s]+)*` — no leading/trailing whitespace, no two whitespace characters in a row.
pub fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || is_ws(b[0]) || is_ws(b[b.len() - 1]) {
        return false;
    }
    !b.windows(2).any(|w| is_ws(w[0]) && is_ws(w[1]))
}

/// `id`: `[A-Za-z0-9\-\.]{1,64}`.
pub fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `uri` / `url` / `canonical`: `\S*`, and non-empty (JSON strings may not be empty).
pub fn is_uri(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(is_ws)
}

/// `oid`: `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`.
pub fn is_oid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:oid:") else {
        return false;
    };
    let mut parts = rest.split('.');
    let first_ok = matches!(parts.next(), Some("0" | "1" | "2"));
    let mut n_more = 0;
    for p in parts {
        n_more += 1;
        if !is_unsigned_digits(p) {
            return false;
        }
    }
    first_ok && n_more > 0
}

/// `0|[1-9][0-9]*`.
fn is_unsigned_digits(p: &str) -> bool {
    let b = p.as_bytes();
    !b.is_empty() && b.iter().all(u8::is_ascii_digit) && (b.len() == 1 || b[0] != b'0')
}

/// `uuid`: `urn:uuid:` followed by a lower-case 8-4-4-4-12 hex UUID.
pub fn is_uuid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
            }
        })
}

/// `base64Binary`: base64 characters in groups of four (whitespace allowed between), `=` padding
/// (at most two) only at the end.
#[allow(clippy::manual_is_multiple_of)]
pub fn is_base64(s: &str) -> bool {
    let mut n = 0usize;
    let mut padding = 0usize;
    for b in s.bytes() {
        if is_ws(b) {
            continue;
        }
        if b == b'=' {
            padding += 1;
        } else if padding > 0 || !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
            return false;
        }
        n += 1;
    }
    n > 0 && n % 4 == 0 && padding <= 2
}

/// `xhtml`: a non-empty XHTML fragment whose root is a `div` element.
pub fn is_xhtml(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("<div") && (t.ends_with("</div>") || t.ends_with("/>"))
}

// ----- numbers -----

/// `-?(0|[1-9][0-9]*)`.
fn is_integer_syntax(text: &str) -> bool {
    is_unsigned_digits(text.strip_prefix('-').unwrap_or(text))
}

/// `integer`: the R4 syntax and a 32-bit signed range; returns the value.
pub fn parse_integer(text: &str) -> Option<i32> {
    if !is_integer_syntax(text) {
        return None;
    }
    text.parse::<i32>().ok()
}

/// `positiveInt`: 1 ..= 2,147,483,647.
pub fn is_positive_int(text: &str) -> bool {
    is_unsigned_digits(text) && text.parse::<i32>().is_ok_and(|v| v >= 1)
}

/// `unsignedInt`: 0 ..= 2,147,483,647.
pub fn is_unsigned_int(text: &str) -> bool {
    is_unsigned_digits(text) && text.parse::<i32>().is_ok()
}

/// `decimal`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub fn is_decimal(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

// ----- dates and times -----

/// Two ASCII digits at `b[i..i+2]` as a number.
fn two(b: &[u8], i: usize) -> Option<u32> {
    let (x, y) = (*b.get(i)?, *b.get(i + 1)?);
    (x.is_ascii_digit() && y.is_ascii_digit())
        .then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
}

#[allow(clippy::manual_is_multiple_of)]
fn is_leap(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD` at the start of `b` (year 0001–9999, real calendar
/// days). Returns the number of bytes used and how many parts (1–3) were present.
fn parse_date_prefix(b: &[u8]) -> Option<(usize, u8)> {
    let year = two(b, 0)? * 100 + two(b, 2)?;
    if year == 0 {
        return None;
    }
    if b.get(4) != Some(&b'-') {
        return Some((4, 1));
    }
    let month = two(b, 5)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if b.get(7) != Some(&b'-') {
        return Some((7, 2));
    }
    let day = two(b, 8)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((10, 3))
}

/// Parses `hh:mm:ss(.f+)?` at the start of `b`; returns bytes used.
fn parse_time_prefix(b: &[u8]) -> Option<usize> {
    let (h, m, s) = (two(b, 0)?, two(b, 3)?, two(b, 6)?);
    if b[2] != b':' || b[5] != b':' || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut i = 8;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    Some(i)
}

/// `Z` or `(+|-)hh:mm` with offsets up to 14:00, filling `b` exactly.
fn is_timezone(b: &[u8]) -> bool {
    match b {
        [b'Z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => match (two(b, 1), two(b, 4)) {
            (Some(h), Some(m)) => (h <= 13 && m <= 59) || (h == 14 && m == 0),
            _ => false,
        },
        _ => false,
    }
}

/// `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a real calendar date.
pub fn is_date(s: &str) -> bool {
    parse_date_prefix(s.as_bytes()).is_some_and(|(n, _)| n == s.len())
}

/// `dateTime`: a date, or a full date with `Thh:mm:ss(.f)` and a timezone.
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    match parse_date_prefix(b) {
        Some((n, _)) if n == b.len() => true,
        Some((10, 3)) => is_full_time_with_zone(&b[10..]),
        _ => false,
    }
}

/// `instant`: a full date, time with seconds and a timezone.
pub fn is_instant(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(parse_date_prefix(b), Some((10, 3))) && is_full_time_with_zone(&b[10..])
}

/// `Thh:mm:ss(.f+)?` followed by a timezone.
fn is_full_time_with_zone(b: &[u8]) -> bool {
    if b.first() != Some(&b'T') {
        return false;
    }
    match parse_time_prefix(&b[1..]) {
        Some(n) => is_timezone(&b[1 + n..]),
        None => false,
    }
}

/// `time`: `hh:mm:ss(.f+)?` (no timezone).
pub fn is_time(s: &str) -> bool {
    parse_time_prefix(s.as_bytes()).is_some_and(|n| n == s.len())
}

#[cfg(test)]
mod tests;
