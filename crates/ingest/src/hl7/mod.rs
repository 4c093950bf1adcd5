//! HL7 v2 ER7 ("pipe and hat") parsing: delimiters from MSH (MSH-1 field separator, MSH-2 encoding
//! characters), segments split on CR, LF or CRLF (mixed too), fields, repetitions, components and
//! subcomponents, Z-segments kept like any other segment.
//!
//! The parser is zero-copy: a [`Message`] borrows the input and holds one slice per field; values
//! are split further and unescaped ([`unescape`]) only when asked for. It never panics on any
//! input and reports every failure as a [`ParseError`] with the segment index and field number.
//!
//! Why not a crate from crates.io: the candidates (`hl7-parser`, `rust-hl7`, `er7`, `hl7-net`)
//! are young single-maintainer projects whose errors do not carry the positions an ACK needs and
//! which do not bound the input size; the format is small enough to own (≈ 400 lines here).

mod batch;
mod escape;
#[cfg(test)]
mod tests;

pub use batch::split_messages;
pub use escape::{escape, unescape};

use std::borrow::Cow;
use thiserror::Error;

/// Default largest message accepted by [`parse`] (4 MiB).
pub const DEFAULT_MAX_SIZE: usize = 4 * 1024 * 1024;

/// Options of [`parse`].
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Largest message, in bytes, accepted before parsing starts.
    pub max_size: usize,
    /// Reject a line that does not start a segment. When false (the default), such a line is taken
    /// as a line break inside the previous segment's last field (as senders produce when free text
    /// holds a raw CR or LF); the message records it in [`Message::continued`].
    pub strict: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { max_size: DEFAULT_MAX_SIZE, strict: false }
    }
}

/// Why a message could not be parsed. Segment indexes are 0-based (MSH is 0); field numbers
/// follow HL7 (MSH-1 is the field separator).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is {size} bytes, more than the limit of {max}")]
    Oversized { size: usize, max: usize },
    #[error("binary data (byte 0x{byte:02X}) at offset {offset}")]
    Binary { offset: usize, byte: u8 },
    #[error("the message does not start with an MSH segment (found '{found}')")]
    MissingMsh { found: String },
    #[error("bad delimiters in MSH-{field}: {reason}")]
    BadDelimiters { field: usize, reason: &'static str },
    #[error("the message is truncated: segment {segment} ends before field {field}")]
    Truncated { segment: usize, field: usize },
    #[error("MSH-9 (message type) is missing")]
    NoMessageType,
    #[error("{name} is missing (segment {segment}, field {field})")]
    MissingField { segment: usize, field: usize, name: &'static str },
    #[error("segment {segment} has an invalid name '{name}'")]
    BadSegment { segment: usize, name: String },
    #[error("segment {segment} starts a second message; split batches with split_messages first")]
    SecondMessage { segment: usize },
}

impl ParseError {
    /// `(segment index, field number)` where the error is, when it has a position.
    #[must_use]
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Self::BadDelimiters { field, .. } => Some((0, *field)),
            Self::Truncated { segment, field } | Self::MissingField { segment, field, .. } => {
                Some((*segment, *field))
            }
            Self::NoMessageType => Some((0, 9)),
            Self::BadSegment { segment, .. } | Self::SecondMessage { segment } => Some((*segment, 0)),
            Self::MissingMsh { .. } => Some((0, 0)),
            Self::Empty | Self::Oversized { .. } | Self::Binary { .. } => None,
        }
    }
}

/// The delimiters a message declares in MSH-1 and MSH-2 (all ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: u8,
    pub component: u8,
    pub repetition: u8,
    pub escape: Option<u8>,
    pub subcomponent: Option<u8>,
    /// The truncation character (v2.7+), when declared.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: Some(b'\\'),
            subcomponent: Some(b'&'),
            truncation: None,
        }
    }
}

impl Delimiters {
    /// The MSH-2 text for these delimiters.
    #[must_use]
    pub fn encoding_chars(&self) -> String {
        let mut s = String::with_capacity(5);
        s.push(char::from(self.component));
        s.push(char::from(self.repetition));
        for c in [self.escape, self.subcomponent, self.truncation].into_iter().flatten() {
            s.push(char::from(c));
        }
        s
    }
}

/// A parsed message borrowing its text.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    text: &'a str,
    delims: Delimiters,
    segments: Vec<Segment<'a>>,
    continued: Vec<usize>,
}

/// One segment: its fields as raw slices; `fields[0]` is the name and, for MSH, `fields[1]` the
/// field separator, so that `field(n)` is HL7's field n for every segment.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    index: usize,
    fields: Vec<&'a str>,
    delims: Delimiters,
}

/// A field (all its repetitions).
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    raw: &'a str,
    d: Delimiters,
}

/// One repetition of a field: its components.
#[derive(Debug, Clone, Copy)]
pub struct Rep<'a> {
    raw: &'a str,
    d: Delimiters,
}

/// The `n`-th (0-based) piece of `raw` split on `sep`, or "" when there are fewer.
fn nth_piece(raw: &str, sep: u8, n: usize) -> &str {
    raw.split(char::from(sep)).nth(n).unwrap_or("")
}

/// Checks and decodes the transport bytes: UTF-8 (a BOM is dropped), or ISO 8859-1 when the bytes
/// are not UTF-8. Control characters other than CR, LF, TAB and the MLLP frame bytes are binary junk.
pub fn decode_text<'a>(bytes: &'a [u8], opts: &ParseOptions) -> Result<Cow<'a, str>, ParseError> {
    if bytes.len() > opts.max_size {
        return Err(ParseError::Oversized { size: bytes.len(), max: opts.max_size });
    }
    if let Some((offset, &byte)) = bytes
        .iter()
        .enumerate()
        .find(|(_, &b)| (b < 0x20 && !matches!(b, b'\r' | b'\n' | b'\t' | 0x0B | 0x1C)) || b == 0x7F)
    {
        return Err(ParseError::Binary { offset, byte });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(_) => Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())),
    }
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_graphic() && !b.is_ascii_alphanumeric()
}

fn strip_framing(text: &str) -> &str {
    let t = text.trim_start_matches(['\u{feff}', '\u{0b}', ' ', '\t', '\r', '\n']);
    t.trim_end_matches(['\u{1c}', '\u{0b}', ' ', '\t', '\r', '\n'])
}

/// Reads MSH-1 and MSH-2 from the start of `text` (which starts with "MSH").
fn read_delimiters(text: &str) -> Result<Delimiters, ParseError> {
    let b = text.as_bytes();
    let Some(&field) = b.get(3) else {
        return Err(ParseError::Truncated { segment: 0, field: 1 });
    };
    if !is_delimiter(field) {
        return Err(ParseError::BadDelimiters { field: 1, reason: "the field separator must be a punctuation character" });
    }
    let enc: Vec<u8> = b[4..].iter().copied().take_while(|&c| c != field && c != b'\r' && c != b'\n').collect();
    if enc.is_empty() {
        if b.len() <= 4 {
            return Err(ParseError::Truncated { segment: 0, field: 2 });
        }
        return Err(ParseError::BadDelimiters { field: 2, reason: "the encoding characters are missing" });
    }
    if enc.len() < 2 || enc.len() > 5 {
        return Err(ParseError::BadDelimiters { field: 2, reason: "there must be 2 to 5 encoding characters" });
    }
    if !enc.iter().all(|&c| is_delimiter(c)) {
        return Err(ParseError::BadDelimiters { field: 2, reason: "encoding characters must be punctuation" });
    }
    for (i, c) in enc.iter().enumerate() {
        if *c == field || enc[i + 1..].contains(c) {
            return Err(ParseError::BadDelimiters { field: 2, reason: "delimiters must all differ" });
        }
    }
    Ok(Delimiters {
        field,
        component: enc[0],
        repetition: enc[1],
        escape: enc.get(2).copied(),
        subcomponent: enc.get(3).copied(),
        truncation: enc.get(4).copied(),
    })
}

fn valid_segment_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 3 && b[0].is_ascii_uppercase() && b[1..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn shown(s: &str) -> String {
    s.chars().take(16).collect()
}

/// Whether `line` starts a segment: a valid id alone or followed by the field separator.
fn starts_segment(line: &str, field: u8) -> bool {
    let b = line.as_bytes();
    line.get(..3).is_some_and(valid_segment_name) && (b.len() == 3 || b[3] == field)
}

/// The segments of `text` as slices (a segment spans its continuation lines) and the indexes of
/// the segments that had continuation lines.
fn segment_spans(text: &str, field: u8, strict: bool) -> Result<(Vec<&str>, Vec<usize>), ParseError> {
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(16);
    let mut continued = Vec::new();
    let mut pos = 0;
    let mut lines = text.split(['\r', '\n']).peekable();
    while let Some(line) = lines.next() {
        let start = pos;
        pos += line.len() + 1;
        if line.trim().is_empty() {
            continue;
        }
        if starts_segment(line, field) || spans.is_empty() {
            spans.push((start, start + line.len()));
            continue;
        }
        let index = spans.len();
        let last = lines.peek().is_none();
        if strict || last && line.len() < 3 && !line.contains(char::from(field)) {
            if last && line.len() < 3 {
                return Err(ParseError::Truncated { segment: index, field: 0 });
            }
            return Err(ParseError::BadSegment { segment: index, name: shown(line) });
        }
        if let Some(span) = spans.last_mut() {
            span.1 = start + line.len();
        }
        if continued.last() != Some(&(index - 1)) {
            continued.push(index - 1);
        }
    }
    let out = spans.into_iter().map(|(s, e)| &text[s..e]).collect::<Vec<_>>();
    for (i, s) in out.iter().enumerate() {
        if !s.get(..3).is_some_and(valid_segment_name) {
            return Err(ParseError::BadSegment { segment: i, name: shown(s) });
        }
    }
    Ok((out, continued))
}

/// Parses one message. `text` may carry a BOM, MLLP frame bytes and surrounding blank lines.
pub fn parse<'a>(text: &'a str, opts: &ParseOptions) -> Result<Message<'a>, ParseError> {
    if text.len() > opts.max_size {
        return Err(ParseError::Oversized { size: text.len(), max: opts.max_size });
    }
    if let Some((offset, byte)) = text.bytes().enumerate().find(|(_, b)| (*b < 0x20 && !matches!(b, b'\r' | b'\n' | b'\t' | 0x0B | 0x1C)) || *b == 0x7F) {
        return Err(ParseError::Binary { offset, byte });
    }
    let text = strip_framing(text);
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    if !text.starts_with("MSH") {
        let first = text.split(['\r', '\n', '|']).next().unwrap_or("");
        return Err(ParseError::MissingMsh { found: shown(first) });
    }
    let delims = read_delimiters(text)?;
    let (spans, continued) = segment_spans(text, delims.field, opts.strict)?;
    let sep = char::from(delims.field);
    let n_spans = spans.len();
    let mut segments: Vec<Segment<'a>> = Vec::with_capacity(n_spans);
    for (index, span) in spans.into_iter().enumerate() {
        let mut fields: Vec<&'a str> = Vec::with_capacity(24);
        let mut it = span.split(sep);
        let name = it.next().unwrap_or("");
        if name == "MSH" && index > 0 {
            return Err(ParseError::SecondMessage { segment: index });
        }
        fields.push(name);
        if index == 0 {
            fields.push(&span[3..4]);
        }
        fields.extend(it);
        segments.push(Segment { index, fields, delims });
    }
    let n_lines = n_spans;
    let msh = &segments[0];
    if msh.fields.len() <= 9 {
        if n_lines == 1 {
            return Err(ParseError::Truncated { segment: 0, field: msh.fields.len() });
        }
        return Err(ParseError::NoMessageType);
    }
    if msh.field(9).comp(1).is_empty() {
        return Err(ParseError::NoMessageType);
    }
    if msh.field(10).is_empty() {
        return Err(ParseError::MissingField { segment: 0, field: 10, name: "MSH-10 (message control id)" });
    }
    Ok(Message { text, delims, segments, continued })
}

impl<'a> Message<'a> {
    /// The message text (framing stripped).
    #[must_use]
    pub fn text(&self) -> &'a str {
        self.text
    }

    #[must_use]
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// All segments in order (MSH first).
    #[must_use]
    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segments
    }

    /// Indexes of segments that spanned several lines (a raw line break inside a field, kept as
    /// data); empty for a well-formed message.
    #[must_use]
    pub fn continued(&self) -> &[usize] {
        &self.continued
    }

    /// The MSH segment.
    #[must_use]
    pub fn msh(&self) -> &Segment<'a> {
        &self.segments[0]
    }

    /// The first segment named `name`.
    #[must_use]
    pub fn segment(&self, name: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.name() == name)
    }

    /// Every segment named `name`.
    pub fn segments_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Segment<'a>> + 's {
        self.segments.iter().filter(move |s| s.name() == name)
    }

    /// MSH-9.1, e.g. "ADT".
    #[must_use]
    pub fn message_type(&self) -> &'a str {
        self.msh().field(9).comp(1)
    }

    /// MSH-9.2, e.g. "A01" (may be empty, e.g. for ACK).
    #[must_use]
    pub fn trigger_event(&self) -> &'a str {
        self.msh().field(9).comp(2)
    }

    /// MSH-9.3, e.g. "ADT_A01" (often absent before v2.3.1).
    #[must_use]
    pub fn structure(&self) -> &'a str {
        self.msh().field(9).comp(3)
    }

    /// MSH-10, the message control id (raw).
    #[must_use]
    pub fn control_id(&self) -> &'a str {
        self.msh().field(10).raw()
    }

    /// MSH-11.1, the processing id (P, D, T).
    #[must_use]
    pub fn processing_id(&self) -> &'a str {
        self.msh().field(11).comp(1)
    }

    /// MSH-12.1, the version id (e.g. "2.4"; may be empty).
    #[must_use]
    pub fn version(&self) -> &'a str {
        self.msh().field(12).comp(1)
    }
}

impl<'a> Segment<'a> {
    /// The segment id ("PID", "ZFT", ...).
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.fields[0]
    }

    /// Index of the segment in its message (MSH is 0).
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The highest field number present.
    #[must_use]
    pub fn field_count(&self) -> usize {
        self.fields.len() - 1
    }

    /// Field `n` (1-based as in HL7); empty when absent.
    #[must_use]
    pub fn field(&self, n: usize) -> Field<'a> {
        Field { raw: self.fields.get(n).copied().filter(|_| n > 0).unwrap_or(""), d: self.delims }
    }
}

impl<'a> Field<'a> {
    /// A field over `raw` with delimiters `d` (for values that are not in a message).
    #[must_use]
    pub fn new(raw: &'a str, d: Delimiters) -> Self {
        Self { raw, d }
    }

    /// The raw (escaped) text.
    #[must_use]
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the field is empty (or holds only the HL7 null `""`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty() || self.raw == "\"\""
    }

    /// The repetitions (one, possibly empty, when there is no repetition separator).
    pub fn reps(&self) -> impl Iterator<Item = Rep<'a>> + 'a {
        let d = self.d;
        let raw = if self.is_empty() { "" } else { self.raw };
        raw.split(char::from(d.repetition)).filter(|r| !r.is_empty()).map(move |r| Rep { raw: r, d })
    }

    /// The first repetition.
    #[must_use]
    pub fn first(&self) -> Rep<'a> {
        let raw = if self.is_empty() { "" } else { nth_piece(self.raw, self.d.repetition, 0) };
        Rep { raw, d: self.d }
    }

    /// Component `c` (1-based) of the first repetition, raw.
    #[must_use]
    pub fn comp(&self, c: usize) -> &'a str {
        self.first().comp(c)
    }

    /// Component `c` of the first repetition, unescaped (subcomponent 1 when it has several).
    #[must_use]
    pub fn text(&self, c: usize) -> Cow<'a, str> {
        self.first().text(c)
    }

    /// The whole first repetition unescaped (components kept with their separators).
    #[must_use]
    pub fn value(&self) -> Cow<'a, str> {
        unescape(self.first().raw, &self.d)
    }
}

impl<'a> Rep<'a> {
    /// The raw text of the repetition.
    #[must_use]
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The whole repetition unescaped (component separators kept as they are).
    #[must_use]
    pub fn value(&self) -> Cow<'a, str> {
        unescape(self.raw, &self.d)
    }

    /// True when every component is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.raw.bytes().all(|b| b == self.d.component || Some(b) == self.d.subcomponent)
    }

    /// Component `c` (1-based), raw (subcomponents included).
    #[must_use]
    pub fn comp(&self, c: usize) -> &'a str {
        if c == 0 {
            return "";
        }
        let v = nth_piece(self.raw, self.d.component, c - 1);
        if v == "\"\"" {
            ""
        } else {
            v
        }
    }

    /// Subcomponent `s` (1-based) of component `c`, raw.
    #[must_use]
    pub fn sub(&self, c: usize, s: usize) -> &'a str {
        let comp = self.comp(c);
        match (self.d.subcomponent, s) {
            (_, 0) => "",
            (Some(sep), _) => nth_piece(comp, sep, s - 1),
            (None, 1) => comp,
            (None, _) => "",
        }
    }

    /// Component `c`, subcomponent 1, unescaped.
    #[must_use]
    pub fn text(&self, c: usize) -> Cow<'a, str> {
        unescape(self.sub(c, 1), &self.d)
    }

    /// Subcomponent `s` of component `c`, unescaped.
    #[must_use]
    pub fn sub_text(&self, c: usize, s: usize) -> Cow<'a, str> {
        unescape(self.sub(c, s), &self.d)
    }

    /// The component `c` as a nested value whose "components" are its subcomponents.
    #[must_use]
    pub fn comp_as_rep(&self, c: usize) -> Rep<'a> {
        let raw = self.comp(c);
        match self.d.subcomponent {
            Some(sub) => Rep { raw, d: Delimiters { component: sub, subcomponent: None, ..self.d } },
            None => Rep { raw, d: self.d },
        }
    }
}
