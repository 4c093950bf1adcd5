//! Civil dates and minute-resolution date-times without a time zone database.
//!
//! The simulation runs on whole days counted from 1970-01-01 (proleptic Gregorian). Times are UK local
//! clock times rendered with a `+00:00` offset (the synthetic data ignores British Summer Time — it is
//! documented in docs/synth.md). No wall-clock time ever enters the output.

use std::fmt;
use std::str::FromStr;

/// A calendar date as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// Days from civil (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    #[allow(clippy::cast_possible_wrap)]
    let mp = ((m + 9) % 12) as i32;
    #[allow(clippy::cast_possible_wrap)]
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether `y` is a leap year.
#[must_use]
pub fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` of year `y`.
#[must_use]
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// The date for a valid year, month (1–12) and day; `None` when the combination does not exist.
    #[must_use]
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Self> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Self(days_from_civil(y, m, d)))
    }

    /// Year, month and day.
    #[must_use]
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        #[allow(clippy::cast_sign_loss)]
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        #[allow(clippy::cast_sign_loss)]
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    /// The date `n` days later (earlier when negative).
    #[must_use]
    pub fn add_days(self, n: i32) -> Self {
        Self(self.0 + n)
    }

    /// Days from `other` to `self`.
    #[must_use]
    pub fn days_since(self, other: Self) -> i32 {
        self.0 - other.0
    }

    /// Whole years of age on `on` for someone born on `self`.
    #[must_use]
    pub fn age_on(self, on: Self) -> i32 {
        let (by, bm, bd) = self.ymd();
        let (y, m, d) = on.ymd();
        let mut age = y - by;
        if (m, d) < (bm, bd) {
            age -= 1;
        }
        age
    }

    /// Age in fractional years (365.25-day years), for hazards.
    #[must_use]
    pub fn years_between(self, on: Self) -> f64 {
        f64::from(on.0 - self.0) / 365.25
    }

    /// `YYYY-MM-DD`.
    #[must_use]
    pub fn iso(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `dd/mm/yyyy` (the CLD date format).
    #[must_use]
    pub fn dmy(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{d:02}/{m:02}/{y:04}")
    }

    /// `YYYYMMDD` (HL7 v2 DT).
    #[must_use]
    pub fn hl7(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y:04}{m:02}{d:02}")
    }

    /// The first day of the quarter containing this date (quarters start in Jan, Apr, Jul, Oct).
    #[must_use]
    pub fn quarter_start(self) -> Self {
        let (y, m, _) = self.ymd();
        let qm = (m - 1) / 3 * 3 + 1;
        Self(days_from_civil(y, qm, 1))
    }

    /// The first day of the next quarter.
    #[must_use]
    pub fn next_quarter(self) -> Self {
        let (y, m, _) = self.quarter_start().ymd();
        if m == 10 {
            Self(days_from_civil(y + 1, 1, 1))
        } else {
            Self(days_from_civil(y, m + 3, 1))
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

/// Error parsing a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {0:?}: expected YYYY-MM-DD")]
pub struct DateParseError(pub String);

impl FromStr for Date {
    type Err = DateParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DateParseError(s.to_owned());
        let mut parts = s.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(err());
        }
        let y: i32 = y.parse().map_err(|_| err())?;
        let m: u32 = m.parse().map_err(|_| err())?;
        let d: u32 = d.parse().map_err(|_| err())?;
        Self::from_ymd(y, m, d).ok_or_else(err)
    }
}

/// A date and a minute of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    pub date: Date,
    /// Minutes since midnight, 0..1440.
    pub minute: u16,
}

impl DateTime {
    /// A date-time; minutes past 1439 roll into the following days.
    #[must_use]
    pub fn new(date: Date, minute: u32) -> Self {
        #[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
        let date = date.add_days((minute / 1440) as i32);
        #[allow(clippy::cast_possible_truncation)]
        let minute = (minute % 1440) as u16;
        Self { date, minute }
    }

    /// This date-time plus `minutes`.
    #[must_use]
    pub fn add_minutes(self, minutes: u32) -> Self {
        Self::new(self.date, u32::from(self.minute) + minutes)
    }

    /// `YYYY-MM-DDTHH:MM:00+00:00` (FHIR dateTime).
    #[must_use]
    pub fn iso(self) -> String {
        format!(
            "{}T{:02}:{:02}:00+00:00",
            self.date.iso(),
            self.minute / 60,
            self.minute % 60
        )
    }

    /// `YYYYMMDDHHMM` (HL7 v2 TS to the minute).
    #[must_use]
    pub fn hl7(self) -> String {
        format!(
            "{}{:02}{:02}",
            self.date.hl7(),
            self.minute / 60,
            self.minute % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_epoch() {
        assert_eq!(Date::from_ymd(1970, 1, 1), Some(Date(0)));
        for days in [-800_000, -1, 0, 59, 60, 365, 11_016, 20_000, 60_000] {
            let d = Date(days);
            let (y, m, dd) = d.ymd();
            assert_eq!(Date::from_ymd(y, m, dd), Some(d));
        }
        assert_eq!(
            Date::from_ymd(2024, 2, 29).map(Date::iso).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(Date::from_ymd(2023, 2, 29), None);
    }

    #[test]
    fn formats_and_parse() {
        let d: Date = "2021-03-07".parse().unwrap_or(Date(0));
        assert_eq!(d.dmy(), "07/03/2021");
        assert_eq!(d.hl7(), "20210307");
        assert!("2021-3-7".parse::<Date>().is_err());
        assert!("2021-02-30".parse::<Date>().is_err());
        let t = DateTime::new(d, 23 * 60 + 50).add_minutes(20);
        assert_eq!(t.iso(), "2021-03-08T00:10:00+00:00");
        assert_eq!(t.hl7(), "202103080010");
    }

    #[test]
    fn ages_and_quarters() {
        let born = Date::from_ymd(1950, 6, 15).unwrap_or(Date(0));
        assert_eq!(
            born.age_on(Date::from_ymd(2020, 6, 14).unwrap_or(Date(0))),
            69
        );
        assert_eq!(
            born.age_on(Date::from_ymd(2020, 6, 15).unwrap_or(Date(0))),
            70
        );
        let d = Date::from_ymd(2023, 11, 20).unwrap_or(Date(0));
        assert_eq!(d.quarter_start().iso(), "2023-10-01");
        assert_eq!(d.next_quarter().iso(), "2024-01-01");
    }
}
