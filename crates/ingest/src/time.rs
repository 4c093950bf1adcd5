//! Dates and times: HL7 DTM/TS (`YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]`) checked and written as FHIR
//! `date`, `dateTime` and `instant`; the zone of local clock times (Europe/London by default, with
//! the EU daylight-saving rule, or a fixed offset); the current time for ACK headers.

use std::time::{SystemTime, UNIX_EPOCH};

/// How to read a clock time that carries no UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalZone {
    /// UK civil time: GMT, and BST (+01:00) from 01:00 UTC on the last Sunday of March to 01:00
    /// UTC on the last Sunday of October (the rule since 1996, applied to every year).
    EuropeLondon,
    /// A fixed offset from UTC in minutes (0 writes `+00:00`).
    Fixed(i16),
}

/// A checked HL7 date/time; absent parts are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtm {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
    pub hour: Option<u8>,
    pub minute: Option<u8>,
    pub second: Option<u8>,
    /// Fraction of a second, digits only.
    pub fraction: Option<String>,
    /// Offset from UTC in minutes, when the value carries one.
    pub offset: Option<i16>,
}

fn num(s: &str) -> Option<u16> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Whether `y-m-d` is a calendar date.
#[must_use]
pub fn valid_ymd(y: i64, m: u32, d: u32) -> bool {
    (1..=9999).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn last_sunday(y: i64, m: u32) -> u32 {
    let last = days_in_month(y, m);
    // 1970-01-01 was a Thursday; 0 = Sunday.
    let weekday = u32::try_from((days_from_civil(y, m, last) + 4).rem_euclid(7)).unwrap_or(0);
    last - weekday
}

/// The UK offset in minutes of a local clock time (ambiguous autumn hour read as BST, the
/// skipped spring hour as GMT).
fn london_offset(y: i64, m: u32, d: u32, h: u8) -> i16 {
    match m {
        4..=9 => 60,
        3 => {
            let s = last_sunday(y, 3);
            if d > s || (d == s && h >= 2) {
                60
            } else {
                0
            }
        }
        10 => {
            let s = last_sunday(y, 10);
            if d < s || (d == s && h < 2) {
                60
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// Parses an HL7 DTM/TS value (component 1 of a TS). Errors say what is wrong.
pub fn parse_dtm(s: &str) -> Result<Dtm, &'static str> {
    let s = s.trim();
    let (main, offset) = match s.find(['+', '-']) {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let (digits, fraction) = match main.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (main, None),
    };
    if !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14) {
        return Err("not an HL7 date/time (YYYY[MM[DD[HH[MM[SS]]]]])");
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not an HL7 date/time (digits expected)");
    }
    let part = |i: usize| digits.get(i..i + 2).and_then(num).and_then(|v| u8::try_from(v).ok());
    let year = num(&digits[..4]).ok_or("bad year")?;
    let (month, day, hour, minute, second) = (part(4), part(6), part(8), part(10), part(12));
    if year == 0 {
        return Err("year 0000 does not exist");
    }
    if let Some(m) = month {
        if !(1..=12).contains(&m) {
            return Err("month out of range");
        }
        if let Some(d) = day {
            if !valid_ymd(i64::from(year), u32::from(m), u32::from(d)) {
                return Err("day out of range for the month");
            }
        }
    }
    if hour.is_some_and(|h| h > 23) || minute.is_some_and(|m| m > 59) || second.is_some_and(|s| s > 59) {
        return Err("time out of range");
    }
    if let Some(f) = fraction {
        if digits.len() != 14 || f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err("bad fraction of a second");
        }
    }
    let offset = match offset {
        None => None,
        Some(o) => Some(parse_offset(o)?),
    };
    Ok(Dtm { year, month, day, hour, minute, second, fraction: fraction.map(str::to_owned), offset })
}

fn parse_offset(o: &str) -> Result<i16, &'static str> {
    let sign = if o.starts_with('-') { -1 } else { 1 };
    let d = &o[1..];
    if d.len() != 4 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err("bad UTC offset (+/-HHMM expected)");
    }
    let h = num(&d[..2]).ok_or("bad UTC offset")?;
    let m = num(&d[2..]).ok_or("bad UTC offset")?;
    if h > 14 || m > 59 || (h == 14 && m > 0) {
        return Err("UTC offset out of range");
    }
    Ok(sign * i16::try_from(h * 60 + m).unwrap_or(0))
}

fn fmt_offset(minutes: i16) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let a = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 60, a % 60)
}

impl Dtm {
    /// The FHIR `date` (year, year-month or full date as precise as the value).
    #[must_use]
    pub fn fhir_date(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{m:02}-{d:02}", self.year),
            (Some(m), None) => format!("{:04}-{m:02}", self.year),
            _ => format!("{:04}", self.year),
        }
    }

    /// The FHIR `dateTime`: a date when there is no time; otherwise seconds are padded and the
    /// offset is the value's own or the local zone's.
    #[must_use]
    pub fn fhir_datetime(&self, zone: LocalZone) -> String {
        let (Some(m), Some(d), Some(h)) = (self.month, self.day, self.hour) else {
            return self.fhir_date();
        };
        let offset = self.offset.unwrap_or(match zone {
            LocalZone::Fixed(o) => o,
            LocalZone::EuropeLondon => london_offset(i64::from(self.year), u32::from(m), u32::from(d), h),
        });
        let mut s = format!(
            "{:04}-{m:02}-{d:02}T{h:02}:{:02}:{:02}",
            self.year,
            self.minute.unwrap_or(0),
            self.second.unwrap_or(0)
        );
        if let Some(f) = &self.fraction {
            s.push('.');
            s.push_str(f);
        }
        s.push_str(&fmt_offset(offset));
        s
    }

    /// The FHIR `instant` (a full date is needed; a missing time is midnight).
    #[must_use]
    pub fn fhir_instant(&self, zone: LocalZone) -> Option<String> {
        self.day?;
        if self.hour.is_some() {
            return Some(self.fhir_datetime(zone));
        }
        let midnight = Dtm { hour: Some(0), minute: Some(0), second: Some(0), ..self.clone() };
        Some(midnight.fhir_datetime(zone))
    }
}

/// The current UTC time as an HL7 DTM with offset, e.g. `20250401093000+0000`.
#[must_use]
pub fn now_hl7() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let secs = i64::try_from(secs).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}+0000", t / 3600, t % 3600 / 60, t % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> String {
        parse_dtm(s).map(|d| d.fhir_datetime(LocalZone::EuropeLondon)).unwrap_or_else(|e| e.to_owned())
    }

    #[test]
    fn precisions_and_offsets() {
        assert_eq!(dt("2024"), "2024");
        assert_eq!(dt("202402"), "2024-02");
        assert_eq!(dt("20240229"), "2024-02-29");
        assert_eq!(dt("202401151620"), "2024-01-15T16:20:00+00:00");
        assert_eq!(dt("20240715162059"), "2024-07-15T16:20:59+01:00");
        assert_eq!(dt("20210622131413.8343-0400"), "2021-06-22T13:14:13.8343-04:00");
        assert_eq!(dt("202101151620+0215"), "2021-01-15T16:20:00+02:15");
        assert_eq!(dt("2024071516"), "2024-07-15T16:00:00+01:00");
        let fixed = parse_dtm("20240715162059").map(|d| d.fhir_datetime(LocalZone::Fixed(0)));
        assert_eq!(fixed.as_deref(), Ok("2024-07-15T16:20:59+00:00"));
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in ["", "20241", "2024-01-01", "20230229", "20241301", "20240101250000", "0000", "February 2 2024", "20240101+05", "20240101120000.x", "20240101+1500"] {
            assert!(parse_dtm(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn british_summer_time_edges() {
        // 2024: BST from Sunday 31 March 01:00 UTC to Sunday 27 October 01:00 UTC.
        assert_eq!(london_offset(2024, 3, 31, 1), 0);
        assert_eq!(london_offset(2024, 3, 31, 2), 60);
        assert_eq!(london_offset(2024, 3, 30, 12), 0);
        assert_eq!(london_offset(2024, 10, 27, 1), 60);
        assert_eq!(london_offset(2024, 10, 27, 2), 0);
        assert_eq!(london_offset(2024, 12, 1, 12), 0);
        assert_eq!(last_sunday(2025, 3), 30);
    }

    #[test]
    fn instants_and_civil_days() {
        let d = parse_dtm("20240102").map(|d| d.fhir_instant(LocalZone::EuropeLondon));
        assert_eq!(d, Ok(Some("2024-01-02T00:00:00+00:00".to_owned())));
        assert_eq!(parse_dtm("202401").map(|d| d.fhir_instant(LocalZone::EuropeLondon)), Ok(None));
        for days in [-1000, 0, 19_000, 20_089] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(now_hl7().len(), 19);
    }
}
