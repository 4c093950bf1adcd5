//! The council's adult social care Client Level Data (CLD) extract: a CSV (RFC 4180) with one row
//! per event (Request, Assessment, Service, Review) and the person's columns repeated.
//!
//! [`validate`] checks every row against the CLD shape (columns by name; dates `dd/mm/yyyy` or
//! `yyyy-mm-dd`; code lists as exact strings; NHS number modulus 11; numbers) and returns the valid
//! events with a line-numbered [`Report`] of the invalid ones — an invalid row is never mapped,
//! and never stops the valid rows. [`to_bundles`] turns the valid events into one FHIR transaction
//! Bundle per person (Patient, ServiceRequest, Task, EpisodeOfCare, CarePlan); [`import`] does both.
//!
//! Decisions: an NHS number that fails modulus 11 does not reject the row (the care event is real
//! and the council's person id, not the NHS number, is its key): it is kept as a local identifier,
//! the Patient is tagged, and the report carries a warning for the line. An unknown
//! `Event_Outcome` is kept with a warning (the outcome list is open); every other code list is
//! closed. Non-UTF-8 files are read as Windows-1252 (spreadsheet exports), with a warning.

mod codes;
mod fhir;
mod validate;

pub use codes::COLUMNS;
pub use fhir::{each_bundle, to_bundles};

use serde_json::Value;
use std::borrow::Cow;
use thiserror::Error;

/// One problem in one cell (or row) of the extract; `line` is the file line (the header is 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

/// What validation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Data rows read.
    pub rows: usize,
    /// Rows without errors (mapped).
    pub valid: usize,
    /// Every error; a row with any error is not mapped.
    pub errors: Vec<RowError>,
    /// Problems that do not stop a row (invalid NHS number, unknown outcome, encoding…).
    pub warnings: Vec<RowError>,
}

impl Report {
    /// The lines of the rejected rows, ascending, each once.
    #[must_use]
    pub fn invalid_lines(&self) -> Vec<u64> {
        let mut l: Vec<u64> = self.errors.iter().map(|e| e.line).collect();
        l.sort_unstable();
        l.dedup();
        l
    }
}

/// A file that cannot be read as a CLD extract at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CldError {
    #[error("the file is empty (no header)")]
    Empty,
    #[error("the header lacks the required column(s): {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("the header names column '{0}' twice")]
    DuplicateColumn(String),
    #[error("CSV error at line {line}: {message}")]
    Csv { line: u64, message: String },
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CldDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl CldDate {
    /// `dd/mm/yyyy` (CLD guidance; one-digit day and month accepted) or `yyyy-mm-dd`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (y, m, d) = if let Some((d, rest)) = s.split_once('/') {
            let (m, y) = rest.split_once('/')?;
            (y, m, d)
        } else {
            let mut it = s.splitn(3, '-');
            let y = it.next()?;
            let m = it.next()?;
            let d = it.next()?;
            if y.len() != 4 || m.len() != 2 || d.len() != 2 {
                return None;
            }
            (y, m, d)
        };
        let digits = |t: &str, min: usize, max: usize| (min..=max).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(y, 4, 4) || !digits(m, 1, 2) || !digits(d, 1, 2) {
            return None;
        }
        let (year, month, day) = (y.parse::<u16>().ok()?, m.parse::<u8>().ok()?, d.parse::<u8>().ok()?);
        crate::time::valid_ymd(i64::from(year), u32::from(month), u32::from(day)).then_some(Self { year, month, day })
    }

    /// `yyyy-mm-dd`.
    #[must_use]
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The kind of a CLD event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Request,
    Assessment,
    Service,
    Review,
}

impl EventType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "Request",
            Self::Assessment => "Assessment",
            Self::Service => "Service",
            Self::Review => "Review",
        }
    }
}

/// The person columns of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub la_code: String,
    pub la_name: String,
    pub id: String,
    /// The NHS number as written (spaces removed) and whether it passes modulus 11.
    pub nhs_number: Option<(String, bool)>,
    pub gp_practice: Option<String>,
    /// FHIR gender.
    pub gender: Option<&'static str>,
    /// Ethnic category code and display.
    pub ethnicity: Option<(&'static str, &'static str)>,
    pub birth_date: Option<CldDate>,
    pub death_date: Option<CldDate>,
    pub postcode: Option<String>,
    pub client_type: Option<String>,
}

/// One valid event row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub line: u64,
    pub person: Person,
    pub period_end: Option<CldDate>,
    pub event_id: Option<String>,
    pub kind: EventType,
    pub start: CldDate,
    pub end: Option<CldDate>,
    pub outcome: Option<String>,
    pub service_type: Option<&'static str>,
    pub component: Option<&'static str>,
    pub delivery: Option<&'static str>,
    pub support_reason: Option<&'static str>,
    /// Unit cost in pounds, as FHIR decimal text.
    pub unit_cost: Option<String>,
    pub cost_frequency: Option<&'static str>,
    /// Planned units per week, as FHIR decimal text.
    pub planned_units: Option<String>,
    pub review_reason: Option<&'static str>,
    pub review_outcome: Option<&'static str>,
}

impl Event {
    /// The event's stable key: the extract's event id when it has one, else person, event type,
    /// start date and (for services) service component — what identifies an event across
    /// quarterly restatements.
    #[must_use]
    pub fn key(&self) -> String {
        if let Some(id) = &self.event_id {
            return id.clone();
        }
        let mut k = format!("{}/{}/{}", self.person.id, self.kind.as_str(), self.start.iso());
        if let Some(c) = self.component {
            k.push('/');
            k.push_str(c);
        }
        k
    }
}

/// Valid events and the report.
#[derive(Debug, Clone)]
pub struct Validated {
    pub events: Vec<Event>,
    pub report: Report,
}

/// Bundles and the report.
#[derive(Debug, Clone)]
pub struct Import {
    /// One transaction Bundle per person, in the order people first appear.
    pub bundles: Vec<Value>,
    pub report: Report,
}

/// Decodes the file: UTF-8 (BOM dropped), else Windows-1252.
fn decode(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), false),
        Err(_) => (Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect()), true),
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘', '’', '“', '”',
        '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Reads and checks an extract.
pub fn validate(bytes: &[u8]) -> Result<Validated, CldError> {
    let (text, transcoded) = decode(bytes);
    let mut v = validate::validate_text(&text)?;
    if transcoded {
        v.report.warnings.insert(0, RowError {
            line: 1,
            column: String::new(),
            value: String::new(),
            message: "the file is not UTF-8; read as Windows-1252".into(),
        });
    }
    Ok(v)
}

/// Validates an extract and maps its valid rows.
pub fn import(bytes: &[u8]) -> Result<Import, CldError> {
    let mut bundles = Vec::new();
    let report = import_each(bytes, |b| bundles.push(b))?;
    Ok(Import { bundles, report })
}

/// Validates an extract and hands each person's Bundle to `sink` as it is built (for large
/// extracts: one person's Bundle in memory at a time).
pub fn import_each(bytes: &[u8], sink: impl FnMut(Value)) -> Result<Report, CldError> {
    let Validated { events, mut report } = validate(bytes)?;
    let superseded = fhir::each_bundle(&events, sink);
    report.warnings.extend(superseded);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_both_formats() {
        let d = CldDate { year: 2024, month: 2, day: 29 };
        assert_eq!(CldDate::parse("29/02/2024"), Some(d));
        assert_eq!(CldDate::parse("2024-02-29"), Some(d));
        assert_eq!(CldDate::parse("1/3/2024").map(|d| d.iso()).as_deref(), Some("2024-03-01"));
        for bad in ["29/02/2023", "2024-2-29", "31/04/2024", "2024/02/01", "", "01/01/24", "aa/bb/cccc", "2024-02-29x"] {
            assert_eq!(CldDate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows_1252_en_dash() {
        let (t, transcoded) = decode(b"NFA \x96 deceased");
        assert!(transcoded);
        assert_eq!(t, "NFA – deceased");
    }
}
