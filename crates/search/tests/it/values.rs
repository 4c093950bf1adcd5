//! Independent value arithmetic for the brute-force matcher: dates as microsecond ranges, exact
//! decimals, string normalisation and search-value escaping. Written from the specification, not
//! from `weave_search`, so that the two can disagree.

use std::cmp::Ordering;
use unicode_normalization::UnicodeNormalization;

/// Microseconds in a day.
pub const DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let next = if m == 12 { days_from_civil(y + 1, 1, 1) } else { days_from_civil(y, m + 1, 1) };
    next - days_from_civil(y, m, 1)
}

fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// The inclusive microsecond range a FHIR date / dateTime / instant (or a search value of that
/// form) covers, by its precision. No time zone means UTC (as the implementation documents).
pub fn date_range(s: &str) -> Option<(i64, i64)> {
    let (date, time) = match s.find('T') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut it = date.split('-');
    let y = digits(it.next()?, 4)?;
    let m = it.next().map(|x| digits(x, 2)).map_or(Ok(None), |v| v.map(Some).ok_or(()));
    let d = it.next().map(|x| digits(x, 2)).map_or(Ok(None), |v| v.map(Some).ok_or(()));
    let (m, d) = (m.ok()?, d.ok()?);
    if it.next().is_some() || m.is_some_and(|m| !(1..=12).contains(&m)) {
        return None;
    }
    if let (Some(m), Some(d)) = (m, d) {
        if d < 1 || d > days_in_month(y, m) {
            return None;
        }
    }
    let Some(time) = time else {
        let (lo, hi_day) = match (m, d) {
            (None, _) => (days_from_civil(y, 1, 1), days_from_civil(y + 1, 1, 1)),
            (Some(m), None) => (days_from_civil(y, m, 1), days_from_civil(y, m, 1) + days_in_month(y, m)),
            (Some(m), Some(d)) => (days_from_civil(y, m, d), days_from_civil(y, m, d) + 1),
        };
        return Some((lo * DAY, hi_day * DAY - 1));
    };
    let day = days_from_civil(y, m?, d?);
    let (clock, offset_min) = split_offset(time)?;
    let parts: Vec<&str> = clock.split(':').collect();
    let (hh, mi) = (digits(parts.first()?, 2)?, digits(parts.get(1)?, 2)?);
    if hh > 23 || mi > 59 {
        return None;
    }
    let (sec, frac, width) = match parts.get(2) {
        None => (0, 0, 60_000_000),
        Some(sf) => {
            let (s, f) = sf.split_once('.').unwrap_or((sf, ""));
            let sec = digits(s, 2).filter(|s| *s < 60)?;
            if !f.bytes().all(|b| b.is_ascii_digit()) || (sf.contains('.') && f.is_empty()) {
                return None;
            }
            let kept: String = f.chars().take(6).collect();
            let frac = if kept.is_empty() { 0 } else { kept.parse::<i64>().ok()? * 10_i64.pow(6 - kept.len() as u32) };
            let width = if f.is_empty() { 1_000_000 } else { 10_i64.pow(6 - kept.len() as u32) };
            (sec, frac, width)
        }
    };
    if parts.len() > 3 {
        return None;
    }
    let lo = day * DAY + ((hh * 60 + mi - offset_min) * 60 + sec) * 1_000_000 + frac;
    Some((lo, lo + width - 1))
}

/// `hh:mm[:ss[.f]]` and the offset in minutes east of UTC.
fn split_offset(t: &str) -> Option<(&str, i64)> {
    if let Some(c) = t.strip_suffix('Z') {
        return Some((c, 0));
    }
    let Some(i) = t.rfind(['+', '-']) else { return Some((t, 0)) };
    let (c, z) = t.split_at(i);
    let (h, m) = z[1..].split_once(':')?;
    let minutes = digits(h, 2)? * 60 + digits(m, 2)?;
    Some((c, if z.starts_with('-') { -minutes } else { minutes }))
}

/// Formats a microsecond instant at a precision: 0 year, 1 month, 2 day, 3 minute, 4 second,
/// 5 millisecond; `offset_min` shifts the written local time (precisions 3+).
pub fn format_at(us: i64, precision: u8, offset_min: i64) -> String {
    let local = us + offset_min * 60_000_000;
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    let in_day = local.rem_euclid(DAY);
    let (hh, mi, ss) = (in_day / 3_600_000_000, in_day / 60_000_000 % 60, in_day / 1_000_000 % 60);
    let ms = in_day / 1000 % 1000;
    let zone = if offset_min == 0 {
        "Z".to_owned()
    } else {
        let a = offset_min.abs();
        format!("{}{:02}:{:02}", if offset_min < 0 { '-' } else { '+' }, a / 60, a % 60)
    };
    match precision {
        0 => format!("{y:04}"),
        1 => format!("{y:04}-{m:02}"),
        2 => format!("{y:04}-{m:02}-{d:02}"),
        3 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mi:02}{zone}"),
        4 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mi:02}:{ss:02}{zone}"),
        _ => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mi:02}:{ss:02}.{ms:03}{zone}"),
    }
}

/// An exact decimal: `mant × 10^-scale`.
#[derive(Debug, Clone, Copy)]
pub struct Dec {
    pub mant: i128,
    pub scale: u32,
}

impl Dec {
    /// Parses a decimal as written in JSON or a search value (`-1.50`, `3`, `2.5e-3`).
    pub fn parse(s: &str) -> Option<Dec> {
        let (num, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        let (neg, body) = match num.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, num.strip_prefix('+').unwrap_or(num)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let all = format!("{int}{frac}");
        if all.len() > 30 {
            return None;
        }
        let mut mant: i128 = all.trim_start_matches('0').parse().unwrap_or(0);
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exp);
        while scale < 0 {
            mant = mant.checked_mul(10)?;
            scale += 1;
        }
        Some(Dec { mant: if neg { -mant } else { mant }, scale: u32::try_from(scale).ok()? })
    }

    /// The number of decimal places written (the precision of a search value).
    pub fn places(&self) -> u32 {
        self.scale
    }

    /// `self` with `extra` more decimal places (same value).
    fn rescale(self, scale: u32) -> Option<i128> {
        self.mant.checked_mul(10_i128.checked_pow(scale.checked_sub(self.scale)?)?)
    }

    /// Half a unit in the last written place: the implicit precision of a search value.
    pub fn half_unit(&self) -> Dec {
        Dec { mant: 5, scale: self.scale + 1 }
    }

    pub fn add(self, o: Dec) -> Option<Dec> {
        let s = self.scale.max(o.scale);
        Some(Dec { mant: self.rescale(s)?.checked_add(o.rescale(s)?)?, scale: s })
    }

    pub fn sub(self, o: Dec) -> Option<Dec> {
        self.add(Dec { mant: -o.mant, scale: o.scale })
    }

    /// Writes the value with exactly `places` decimals, rounding half away from zero, or
    /// truncating when `truncate`.
    pub fn to_places(self, places: u32, truncate: bool) -> String {
        let v = if places >= self.scale {
            self.rescale(places).unwrap_or(self.mant)
        } else {
            let div = 10_i128.pow(self.scale - places);
            let (q, r) = (self.mant / div, self.mant % div);
            if !truncate && r.abs() * 2 >= div {
                q + self.mant.signum()
            } else {
                q
            }
        };
        let neg = v < 0;
        let digits = v.unsigned_abs().to_string();
        let p = places as usize;
        let padded = format!("{digits:0>width$}", width = p + 1);
        let (i, f) = padded.split_at(padded.len() - p);
        let sign = if neg { "-" } else { "" };
        if p == 0 {
            format!("{sign}{i}")
        } else {
            format!("{sign}{i}.{f}")
        }
    }
}

impl PartialEq for Dec {
    fn eq(&self, o: &Dec) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Dec {}

impl PartialOrd for Dec {
    fn partial_cmp(&self, o: &Dec) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Dec {
    fn cmp(&self, o: &Dec) -> Ordering {
        let s = self.scale.max(o.scale);
        match (self.rescale(s), o.rescale(s)) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Out of i128 range: compare as floating point (never reached by the test data).
            _ => {
                let f = |d: &Dec| d.mant as f64 / 10f64.powi(d.scale as i32);
                f(self).total_cmp(&f(o))
            }
        }
    }
}

/// Case- and accent-insensitive form of a string: decomposed, combining marks dropped, lower
/// case, runs of white space folded to one space (the last as the implementation documents).
pub fn fold(s: &str) -> String {
    let stripped: String = s.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).collect();
    stripped.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes the characters that are special in a search value (`\` `,` `|` `$`).
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '\\' | ',' | '|' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cover_their_precision() {
        let (lo, hi) = date_range("2024").unwrap();
        assert_eq!(hi - lo + 1, 366 * DAY);
        let (lo, hi) = date_range("2023-02").unwrap();
        assert_eq!(hi - lo + 1, 28 * DAY);
        let (a, _) = date_range("2024-01-01T10:00:00Z").unwrap();
        let (b, _) = date_range("2024-01-01T11:30:00+01:30").unwrap();
        assert_eq!(a, b);
        assert_eq!(format_at(a, 4, 90), "2024-01-01T11:30:00+01:30");
        assert_eq!(date_range("2024-02-30"), None);
        assert_eq!(civil_from_days(days_from_civil(1969, 12, 31)), (1969, 12, 31));
    }

    #[test]
    fn decimals_are_exact() {
        let a = Dec::parse("5.4").unwrap();
        let lo = a.sub(a.half_unit()).unwrap();
        assert_eq!(lo, Dec::parse("5.35").unwrap());
        assert!(Dec::parse("5.45").unwrap() == a.add(a.half_unit()).unwrap());
        assert_eq!(Dec::parse("2.5e-3").unwrap(), Dec::parse("0.0025").unwrap());
        assert_eq!(Dec::parse("1.25").unwrap().to_places(1, false), "1.3");
        assert_eq!(Dec::parse("-0.04").unwrap().to_places(1, true), "0.0");
        assert_eq!(Dec::parse("7").unwrap().to_places(2, false), "7.00");
    }
}
