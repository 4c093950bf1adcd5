//! FHIR `instant` values as microseconds since the Unix epoch, the store's clock unit.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    let now = OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// Formats microseconds since the epoch as a FHIR instant in UTC with microsecond precision,
/// e.g. `2026-11-25T09:45:12.123456Z`.
pub fn format_instant(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let Ok(t) = OffsetDateTime::from_unix_timestamp(secs) else {
        return String::from("1970-01-01T00:00:00Z");
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        frac
    )
}

/// Parses an RFC 3339 instant (with seconds and a time zone) to microseconds since the epoch.
pub fn parse_instant(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let m = 1_764_063_912_123_456;
        let s = format_instant(m);
        assert_eq!(s, "2025-11-25T09:45:12.123456Z");
        assert_eq!(parse_instant(&s), Some(m));
    }

    #[test]
    fn parses_offsets_and_rejects_partial_values() {
        assert_eq!(parse_instant("2025-11-25T10:45:12+01:00"), Some(1_764_063_912_000_000));
        assert_eq!(parse_instant("2025-11-25"), None);
        assert_eq!(parse_instant("2025-11-25T10:45"), None);
    }
}
