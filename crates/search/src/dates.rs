//! Dates, dateTimes and instants of any precision as inclusive microsecond ranges.

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// The inclusive range `[lo, hi]` of microseconds since the epoch that a FHIR date, dateTime or
/// instant covers: `2024` is the whole year, `2024-03-05T10:00` the whole minute. Values without a
/// time zone are taken as UTC. `None` when `s` is not such a value.
pub fn date_range(s: &str) -> Option<(i64, i64)> {
    let (date, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let year: i32 = parse_n(parts.next()?, 4)?;
    let month = match parts.next() {
        Some(m) => Some(parse_n::<u8>(m, 2)?),
        None => None,
    };
    let day = match parts.next() {
        Some(d) => Some(parse_n::<u8>(d, 2)?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    let Some(t) = time_part else {
        return Some(match (month, day) {
            (None, _) => span(ymd(year, 1, 1)?, ymd(year + 1, 1, 1)?),
            (Some(m), None) => {
                let next = if m == 12 { ymd(year + 1, 1, 1)? } else { ymd(year, m + 1, 1)? };
                span(ymd(year, m, 1)?, next)
            }
            (Some(m), Some(d)) => {
                let lo = ymd(year, m, d)?;
                (lo, lo + DAY - 1)
            }
        });
    };
    let (m, d) = (month?, day?);
    let (clock, offset) = split_zone(t)?;
    let mut hms = clock.split(':');
    let h: u8 = parse_n(hms.next()?, 2)?;
    let mi: u8 = parse_n(hms.next()?, 2)?;
    let (sec, frac_digits, frac) = match hms.next() {
        None => (None, 0, 0),
        Some(sf) => {
            let (s, f) = sf.split_once('.').unwrap_or((sf, ""));
            let f6: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
            (Some(parse_n::<u8>(s, 2)?), f.len(), f6.parse::<i64>().ok()?)
        }
    };
    let dt = PrimitiveDateTime::new(
        Date::from_calendar_date(year, Month::try_from(m).ok()?, d).ok()?,
        Time::from_hms(h, mi, sec.unwrap_or(0)).ok()?,
    )
    .assume_offset(offset);
    let lo = i64::try_from(dt.unix_timestamp_nanos() / 1000).ok()? + frac;
    let width = match (sec, frac_digits) {
        (None, _) => 60_000_000,
        (Some(_), 0) => 1_000_000,
        (Some(_), n) => 10_i64.pow(6u32.saturating_sub(u32::try_from(n.min(6)).ok()?)),
    };
    Some((lo, lo + width - 1))
}

const DAY: i64 = 86_400_000_000;

fn span(lo: i64, next: i64) -> (i64, i64) {
    (lo, next - 1)
}

fn ymd(y: i32, m: u8, d: u8) -> Option<i64> {
    let date = Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?;
    let t = date.midnight().assume_utc();
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

fn parse_n<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn split_zone(t: &str) -> Option<(&str, UtcOffset)> {
    if let Some(c) = t.strip_suffix('Z') {
        return Some((c, UtcOffset::UTC));
    }
    match t.rfind(['+', '-']) {
        Some(i) if i >= 5 => {
            let (c, z) = t.split_at(i);
            let sign: i8 = if z.starts_with('-') { -1 } else { 1 };
            let (hh, mm) = z[1..].split_once(':')?;
            let off = UtcOffset::from_hms(sign * parse_n::<i8>(hh, 2)?, sign * parse_n::<i8>(mm, 2)?, 0).ok()?;
            Some((c, off))
        }
        _ => Some((t, UtcOffset::UTC)),
    }
}

#[cfg(test)]
mod tests {
    use super::date_range;

    fn width(s: &str) -> i64 {
        let (lo, hi) = date_range(s).unwrap();
        hi - lo + 1
    }

    #[test]
    fn ranges_follow_precision() {
        assert_eq!(width("2024"), 366 * 86_400_000_000);
        assert_eq!(width("2023-02"), 28 * 86_400_000_000);
        assert_eq!(width("2024-12"), 31 * 86_400_000_000);
        assert_eq!(width("2024-12-31"), 86_400_000_000);
        assert_eq!(width("2024-12-31T10:00Z"), 60_000_000);
        assert_eq!(width("2024-12-31T10:00:05Z"), 1_000_000);
        assert_eq!(width("2024-12-31T10:00:05.25Z"), 10_000);
        assert_eq!(width("2024-12-31T10:00:05.123456+01:00"), 1);
    }

    #[test]
    fn zones_shift_the_instant() {
        let (utc, _) = date_range("2024-01-01T10:00:00Z").unwrap();
        let (plus1, _) = date_range("2024-01-01T11:00:00+01:00").unwrap();
        let (minus5, _) = date_range("2024-01-01T05:00:00-05:00").unwrap();
        assert_eq!(utc, plus1);
        assert_eq!(utc, minus5);
    }

    #[test]
    fn rejects_non_dates() {
        for bad in ["", "20240", "2024-13", "2024-02-30", "2024-01-01T25:00Z", "yesterday", "2024-1-1"] {
            assert!(date_range(bad).is_none(), "{bad}");
        }
    }
}
