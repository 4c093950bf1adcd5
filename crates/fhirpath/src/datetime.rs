//! Partial dates, date-times and times with their precision: parsing (FHIRPath literals and FHIR JSON strings),
//! precision-aware comparison (different precisions that agree so far → unknown), calendar arithmetic,
//! boundaries and formatting.

use std::cmp::Ordering;
use std::fmt::Write;

/// How much of a date/time value is known. Seconds and milliseconds compare as one precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    /// `2014`
    Year,
    /// `2014-05`
    Month,
    /// `2014-05-06`
    Day,
    /// `T10`
    Hour,
    /// `T10:30`
    Minute,
    /// `T10:30:15`
    Second,
    /// `T10:30:15.123`
    Millisecond,
}

/// A date, date-time or time (which one is told by the item that holds it). Fields past `precision` are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Temporal {
    /// Year (0001–9999); 0 for a time.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59.
    pub second: u8,
    /// 0–999.
    pub millis: u16,
    /// Time-zone offset in minutes, when given.
    pub tz: Option<i16>,
    /// The finest field that is known.
    pub precision: Precision,
}

/// A calendar unit for date/time arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CalUnit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

const MS_PER_DAY: i64 = 86_400_000;

impl Temporal {
    fn empty(precision: Precision) -> Temporal {
        Temporal {
            year: 0,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
            tz: None,
            precision,
        }
    }

    /// Parses a date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`).
    pub fn parse_date(s: &str) -> Option<Temporal> {
        let mut cur = Cursor {
            s: s.as_bytes(),
            i: 0,
        };
        let t = cur.date()?;
        (cur.i == s.len()).then_some(t)
    }

    /// Parses a date-time: a date, optionally `T` and a (partial) time, optionally a zone (`Z`, `+hh:mm`).
    /// A trailing `T` with nothing after it is accepted (the FHIRPath literal `@2015T`).
    pub fn parse_date_time(s: &str) -> Option<Temporal> {
        let mut cur = Cursor {
            s: s.as_bytes(),
            i: 0,
        };
        let mut t = cur.date()?;
        if cur.eat(b'T') && cur.i < s.len() {
            if cur.peek().is_some_and(|c| c.is_ascii_digit()) {
                cur.time_into(&mut t)?;
            }
            t.tz = cur.zone()?;
        }
        (cur.i == s.len()).then_some(t)
    }

    /// Parses a time `hh`, `hh:mm`, `hh:mm:ss`, `hh:mm:ss.fff` (no zone).
    pub fn parse_time(s: &str) -> Option<Temporal> {
        let mut cur = Cursor {
            s: s.as_bytes(),
            i: 0,
        };
        let mut t = Temporal::empty(Precision::Hour);
        t.year = 0;
        cur.time_into(&mut t)?;
        (cur.i == s.len()).then_some(t)
    }

    /// The number of digits of precision as `precision()` reports it (date-time: 4, 6, 8, 10, 12, 14, 17;
    /// time: 2, 4, 6, 9).
    pub(crate) fn precision_digits(&self, is_time: bool) -> i64 {
        let p = match self.precision {
            Precision::Year => 4,
            Precision::Month => 6,
            Precision::Day => 8,
            Precision::Hour => 10,
            Precision::Minute => 12,
            Precision::Second => 14,
            Precision::Millisecond => 17,
        };
        if is_time {
            p - 8
        } else {
            p
        }
    }

    /// Compares two values of the same kind: `None` when the answer is unknown (precisions differ and the values
    /// agree as far as both go, or only one has a zone and both have times).
    pub(crate) fn compare(&self, other: &Temporal, is_time: bool) -> Option<Ordering> {
        let (a, b) = match (self.tz, other.tz) {
            (Some(_), Some(_))
                if self.precision >= Precision::Hour && other.precision >= Precision::Hour =>
            {
                (self.to_utc(), other.to_utc())
            }
            (Some(_), None) | (None, Some(_))
                if self.precision >= Precision::Hour && other.precision >= Precision::Hour =>
            {
                return None
            }
            _ => (*self, *other),
        };
        let start = if is_time { 3 } else { 0 };
        let levels = [
            (Precision::Year, i64::from(a.year), i64::from(b.year)),
            (Precision::Month, i64::from(a.month), i64::from(b.month)),
            (Precision::Day, i64::from(a.day), i64::from(b.day)),
            (Precision::Hour, i64::from(a.hour), i64::from(b.hour)),
            (Precision::Minute, i64::from(a.minute), i64::from(b.minute)),
            (
                Precision::Second,
                i64::from(a.second) * 1000 + i64::from(a.millis),
                i64::from(b.second) * 1000 + i64::from(b.millis),
            ),
        ];
        let pa = a.precision.min(Precision::Second);
        let pb = b.precision.min(Precision::Second);
        for &(level, x, y) in &levels[start..] {
            if level > pa || level > pb {
                return None;
            }
            match x.cmp(&y) {
                Ordering::Equal => {}
                ord => return Some(ord),
            }
            if level == pa && level == pb {
                return Some(Ordering::Equal);
            }
        }
        Some(Ordering::Equal)
    }

    /// Same value at the same precision (the `~` operator: different precision is simply not equivalent).
    pub(crate) fn equivalent(&self, other: &Temporal, is_time: bool) -> bool {
        self.precision.min(Precision::Second) == other.precision.min(Precision::Second)
            && self.compare(other, is_time) == Some(Ordering::Equal)
    }

    fn epoch_ms(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        ) * MS_PER_DAY
            + self.time_ms()
    }

    fn time_ms(&self) -> i64 {
        ((i64::from(self.hour) * 60 + i64::from(self.minute)) * 60 + i64::from(self.second)) * 1000
            + i64::from(self.millis)
    }

    fn with_epoch_ms(&self, ms: i64) -> Option<Temporal> {
        let days = ms.div_euclid(MS_PER_DAY);
        let rest = ms.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        if !(1..=9999).contains(&y) {
            return None;
        }
        Some(Temporal {
            year: u16::try_from(y).ok()?,
            month: m as u8,
            day: d as u8,
            hour: (rest / 3_600_000) as u8,
            minute: (rest / 60_000 % 60) as u8,
            second: (rest / 1000 % 60) as u8,
            millis: (rest % 1000) as u16,
            ..*self
        })
    }

    fn to_utc(self) -> Temporal {
        let Some(tz) = self.tz else { return self };
        match self.with_epoch_ms(self.epoch_ms() - i64::from(tz) * 60_000) {
            Some(mut t) => {
                t.tz = Some(0);
                t
            }
            None => self,
        }
    }

    /// Adds `amount` calendar units (negative subtracts). Units finer than the value's precision are converted
    /// to its precision and truncated. `None` when the result leaves the year range 1–9999.
    pub(crate) fn add(&self, amount: i64, unit: CalUnit, is_time: bool) -> Option<Temporal> {
        let (amount, unit) = self.coarsen(amount, unit);
        match unit {
            CalUnit::Year | CalUnit::Month if !is_time => {
                let months = if unit == CalUnit::Year {
                    amount.checked_mul(12)?
                } else {
                    amount
                };
                let total = i64::from(self.year) * 12 + i64::from(self.month) - 1 + months;
                let year = total.div_euclid(12);
                if !(1..=9999).contains(&year) {
                    return None;
                }
                let month = (total.rem_euclid(12) + 1) as u8;
                let day = self.day.min(days_in_month(year as u16, month));
                Some(Temporal {
                    year: year as u16,
                    month,
                    day,
                    ..*self
                })
            }
            CalUnit::Year | CalUnit::Month => Some(*self),
            _ => {
                let ms = amount.checked_mul(unit_ms(unit))?;
                if is_time {
                    let t = (self.time_ms() + ms).rem_euclid(MS_PER_DAY);
                    let mut out = self.with_epoch_ms(t)?;
                    out.year = 0;
                    out.month = 1;
                    out.day = 1;
                    return Some(out);
                }
                self.with_epoch_ms(self.epoch_ms().checked_add(ms)?)
            }
        }
    }

    fn coarsen(&self, amount: i64, unit: CalUnit) -> (i64, CalUnit) {
        let finest = match self.precision {
            Precision::Year => CalUnit::Year,
            Precision::Month => CalUnit::Month,
            Precision::Day => CalUnit::Day,
            Precision::Hour => CalUnit::Hour,
            Precision::Minute => CalUnit::Minute,
            Precision::Second | Precision::Millisecond => return (amount, unit),
        };
        let rank = |u: CalUnit| match u {
            CalUnit::Year => 0,
            CalUnit::Month => 1,
            CalUnit::Week | CalUnit::Day => 2,
            CalUnit::Hour => 3,
            CalUnit::Minute => 4,
            CalUnit::Second => 5,
            CalUnit::Millisecond => 6,
        };
        if rank(unit) <= rank(finest) {
            return (amount, unit);
        }
        match finest {
            CalUnit::Year | CalUnit::Month => {
                let days = amount * unit_ms(unit) / MS_PER_DAY;
                if finest == CalUnit::Year {
                    (days / 365, CalUnit::Year)
                } else {
                    (days / 30, CalUnit::Month)
                }
            }
            _ => (amount * unit_ms(unit) / unit_ms(finest), finest),
        }
    }

    /// The earliest (`high == false`) or latest value this partial value can stand for, at `digits` precision.
    pub(crate) fn boundary(
        &self,
        digits: Option<i64>,
        high: bool,
        kind: TemporalKind,
    ) -> Option<(Temporal, TemporalKind)> {
        let is_time = kind == TemporalKind::Time;
        let digits = digits.unwrap_or(match kind {
            TemporalKind::Date => 8,
            TemporalKind::DateTime => 17,
            TemporalKind::Time => 9,
        });
        let target = match (kind, digits) {
            (TemporalKind::Time, 2) => Precision::Hour,
            (TemporalKind::Time, 4) => Precision::Minute,
            (TemporalKind::Time, 6) => Precision::Second,
            (TemporalKind::Time, 9) => Precision::Millisecond,
            (TemporalKind::Time, _) => return None,
            (_, 4) => Precision::Year,
            (_, 6) => Precision::Month,
            (_, 8) => Precision::Day,
            (TemporalKind::DateTime, 10) => Precision::Hour,
            (TemporalKind::DateTime, 12) => Precision::Minute,
            (TemporalKind::DateTime, 14) => Precision::Second,
            (TemporalKind::DateTime, 17) => Precision::Millisecond,
            _ => return None,
        };
        let mut t = *self;
        if t.precision == Precision::Hour && !is_time {
            t.precision = Precision::Minute;
        }
        if high {
            if t.precision < Precision::Month {
                t.month = 12;
            }
            if t.precision < Precision::Day {
                t.day = days_in_month(t.year, t.month);
            }
            if t.precision < Precision::Hour {
                t.hour = 23;
            }
            if t.precision < Precision::Minute {
                t.minute = 59;
            }
            if t.precision < Precision::Second {
                t.second = 59;
            }
            if t.precision < Precision::Millisecond {
                t.millis = 999;
            }
        }
        let out_kind = if kind == TemporalKind::DateTime && target <= Precision::Day {
            TemporalKind::Date
        } else {
            kind
        };
        if out_kind == TemporalKind::DateTime && t.tz.is_none() {
            t.tz = Some(if high { -12 * 60 } else { 14 * 60 });
        }
        if out_kind == TemporalKind::Date {
            t.tz = None;
        }
        t.precision = target;
        t.clear_below();
        Some((t, out_kind))
    }

    fn clear_below(&mut self) {
        let p = self.precision;
        if p < Precision::Month {
            self.month = 1;
        }
        if p < Precision::Day {
            self.day = 1;
        }
        if p < Precision::Hour {
            self.hour = 0;
        }
        if p < Precision::Minute {
            self.minute = 0;
        }
        if p < Precision::Second {
            self.second = 0;
        }
        if p < Precision::Millisecond {
            self.millis = 0;
        }
    }

    /// The value as written in FHIR JSON / `toString()` (no `@`).
    pub fn format(&self, kind: TemporalKind) -> String {
        let mut s = String::with_capacity(29);
        if kind != TemporalKind::Time {
            let _ = write!(s, "{:04}", self.year);
            if self.precision >= Precision::Month {
                let _ = write!(s, "-{:02}", self.month);
            }
            if self.precision >= Precision::Day {
                let _ = write!(s, "-{:02}", self.day);
            }
            if kind == TemporalKind::Date || self.precision < Precision::Hour {
                return s;
            }
            s.push('T');
        }
        let _ = write!(s, "{:02}", self.hour);
        if self.precision >= Precision::Minute {
            let _ = write!(s, ":{:02}", self.minute);
        }
        if self.precision >= Precision::Second {
            let _ = write!(s, ":{:02}", self.second);
        }
        if self.precision >= Precision::Millisecond {
            let _ = write!(s, ".{:03}", self.millis);
        }
        if kind == TemporalKind::DateTime {
            if let Some(tz) = self.tz {
                if tz == 0 {
                    s.push('Z');
                } else {
                    let sign = if tz < 0 { '-' } else { '+' };
                    let _ = write!(s, "{sign}{:02}:{:02}", tz.abs() / 60, tz.abs() % 60);
                }
            }
        }
        s
    }

    /// The value as a FHIRPath literal (`@2014-01-05`, `@2014-01-05T10:30:00.000+10:00`, `@T10:30`).
    pub fn literal(&self, kind: TemporalKind) -> String {
        match kind {
            TemporalKind::Time => format!("@T{}", self.format(kind)),
            TemporalKind::DateTime if self.precision < Precision::Hour => {
                format!("@{}T", self.format(kind))
            }
            _ => format!("@{}", self.format(kind)),
        }
    }

    /// A time-of-day view of a date-time's time part, for `timeOfDay()`.
    pub(crate) fn time_part(&self) -> Temporal {
        Temporal {
            year: 0,
            month: 1,
            day: 1,
            tz: None,
            precision: self.precision.max(Precision::Hour),
            ..*self
        }
    }

    /// The date part of a date-time.
    pub(crate) fn date_part(&self) -> Temporal {
        let mut t = *self;
        t.precision = t.precision.min(Precision::Day);
        t.tz = None;
        t.clear_below();
        t
    }
}

/// Which of the three kinds a [`Temporal`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalKind {
    /// System.Date
    Date,
    /// System.DateTime
    DateTime,
    /// System.Time
    Time,
}

fn unit_ms(unit: CalUnit) -> i64 {
    match unit {
        CalUnit::Year => 365 * MS_PER_DAY,
        CalUnit::Month => 30 * MS_PER_DAY,
        CalUnit::Week => 7 * MS_PER_DAY,
        CalUnit::Day => MS_PER_DAY,
        CalUnit::Hour => 3_600_000,
        CalUnit::Minute => 60_000,
        CalUnit::Second => 1000,
        CalUnit::Millisecond => 1,
    }
}

pub(crate) fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The current date-time in UTC with millisecond precision (for `now()`, `today()`, `timeOfDay()`).
pub(crate) fn now_utc() -> Temporal {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let base = Temporal {
        tz: Some(0),
        ..Temporal::empty(Precision::Millisecond)
    };
    base.with_epoch_ms(ms).unwrap_or(base)
}

struct Cursor<'s> {
    s: &'s [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn num(&mut self, n: usize) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(
            digits
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    }

    fn date(&mut self) -> Option<Temporal> {
        let mut t = Temporal::empty(Precision::Year);
        t.year = u16::try_from(self.num(4)?).ok()?;
        if self.peek() == Some(b'-') {
            self.i += 1;
            t.month = u8::try_from(self.num(2)?).ok()?;
            if !(1..=12).contains(&t.month) {
                return None;
            }
            t.precision = Precision::Month;
            if self.peek() == Some(b'-') {
                self.i += 1;
                t.day = u8::try_from(self.num(2)?).ok()?;
                if t.day == 0 || t.day > days_in_month(t.year, t.month) {
                    return None;
                }
                t.precision = Precision::Day;
            }
        }
        Some(t)
    }

    fn time_into(&mut self, t: &mut Temporal) -> Option<()> {
        t.hour = u8::try_from(self.num(2)?).ok()?;
        if t.hour > 23 {
            return None;
        }
        t.precision = Precision::Hour;
        if !self.eat(b':') {
            return Some(());
        }
        t.minute = u8::try_from(self.num(2)?).ok()?;
        if t.minute > 59 {
            return None;
        }
        t.precision = Precision::Minute;
        if !self.eat(b':') {
            return Some(());
        }
        t.second = u8::try_from(self.num(2)?).ok()?;
        if t.second > 59 {
            return None;
        }
        t.precision = Precision::Second;
        if self.eat(b'.') {
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            let frac = &self.s[start..self.i];
            if frac.is_empty() {
                return None;
            }
            let mut ms = 0u16;
            for k in 0..3 {
                ms = ms * 10 + frac.get(k).map_or(0, |d| u16::from(d - b'0'));
            }
            t.millis = ms;
            t.precision = Precision::Millisecond;
        }
        Some(())
    }

    /// `Ok(None)`-like: returns `Some(None)` when there is no zone, `None` when a zone is malformed.
    fn zone(&mut self) -> Option<Option<i16>> {
        match self.peek() {
            None => Some(None),
            Some(b'Z') => {
                self.i += 1;
                Some(Some(0))
            }
            Some(sign @ (b'+' | b'-')) => {
                self.i += 1;
                let h = self.num(2)?;
                if !self.eat(b':') {
                    return None;
                }
                let m = self.num(2)?;
                if h > 14 || m > 59 || (h == 14 && m > 0) {
                    return None;
                }
                let off = i16::try_from(h * 60 + m).ok()?;
                Some(Some(if sign == b'-' { -off } else { off }))
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> Temporal {
        Temporal::parse_date_time(s).unwrap()
    }

    #[test]
    fn parse_and_format_round_trip() {
        for s in [
            "2015",
            "2015-02",
            "2015-02-04",
            "2015-02-04T14:34:28.123+10:00",
            "2017-11-05T01:30Z",
        ] {
            assert_eq!(dt(s).format(TemporalKind::DateTime), s);
        }
        assert_eq!(
            Temporal::parse_time("14:34")
                .unwrap()
                .format(TemporalKind::Time),
            "14:34"
        );
        assert!(Temporal::parse_date("2015-02-30").is_none());
        assert!(Temporal::parse_date_time("2015-02-04T25").is_none());
    }

    #[test]
    fn comparison_respects_precision_and_zones() {
        assert_eq!(dt("2018-03").compare(&dt("2018-03-01"), false), None);
        assert_eq!(
            dt("2018-03-01T10:30:00").compare(&dt("2018-03-01T10:30:00.0"), false),
            Some(Ordering::Equal)
        );
        assert_eq!(
            dt("2017-11-05T01:30:00.0-04:00").compare(&dt("2017-11-05T00:30:00.0-05:00"), false),
            Some(Ordering::Equal)
        );
        assert_eq!(
            dt("2012-04-15T15:00:00Z").compare(&dt("2012-04-15T10:00:00"), false),
            None
        );
        assert_eq!(
            dt("2026-01-01T10:00:00Z").compare(&dt("1974-12-25"), false),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn arithmetic() {
        let d = Temporal::parse_date("1973-12-25").unwrap();
        assert_eq!(
            d.add(7, CalUnit::Day, false)
                .unwrap()
                .format(TemporalKind::Date),
            "1974-01-01"
        );
        assert_eq!(
            d.add(1, CalUnit::Month, false)
                .unwrap()
                .format(TemporalKind::Date),
            "1974-01-25"
        );
        let jan31 = Temporal::parse_date("2023-01-31").unwrap();
        assert_eq!(
            jan31
                .add(1, CalUnit::Month, false)
                .unwrap()
                .format(TemporalKind::Date),
            "2023-02-28"
        );
        let t = dt("1973-12-25T00:00:00.000+10:00");
        assert_eq!(
            t.add(1, CalUnit::Hour, false)
                .unwrap()
                .format(TemporalKind::DateTime),
            "1973-12-25T01:00:00.000+10:00"
        );
    }

    #[test]
    fn boundaries() {
        let (t, k) = dt("2014-01-01T08")
            .boundary(Some(17), true, TemporalKind::DateTime)
            .unwrap();
        assert_eq!(t.literal(k), "@2014-01-01T08:00:59.999-12:00");
        let (t, k) = dt("2014-01-01T08")
            .boundary(Some(8), false, TemporalKind::DateTime)
            .unwrap();
        assert_eq!(t.literal(k), "@2014-01-01");
        let y = Temporal::parse_date("2014").unwrap();
        assert_eq!(
            y.boundary(Some(6), true, TemporalKind::Date)
                .unwrap()
                .0
                .format(TemporalKind::Date),
            "2014-12"
        );
    }
}
