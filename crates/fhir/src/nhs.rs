//! NHS number helpers: modulus-11 check digit validation and display formatting.
//!
//! Digits 1–9 are multiplied by weights 10 … 2 and summed; the check digit is 11 − (sum mod 11),
//! where 11 means 0 and 10 means the number is invalid (never issued).

/// FHIR identifier system of the NHS number.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// The ten digits of `s` when it holds exactly ten ASCII digits once spaces are ignored.
fn digits(s: &str) -> Option<[u8; 10]> {
    let mut out = [0u8; 10];
    let mut n = 0;
    for b in s.bytes() {
        match b {
            b' ' => {}
            b'0'..=b'9' if n < 10 => {
                out[n] = b - b'0';
                n += 1;
            }
            _ => return None,
        }
    }
    (n == 10).then_some(out)
}

/// The check digit for the first nine digits, or None when they are not nine digits or the
/// check digit would be 10 (no valid number starts with them).
pub fn check_digit(first9: &str) -> Option<u8> {
    let b = first9.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    check_digit_of(b.iter().map(|d| d - b'0'))
}

fn check_digit_of(first9: impl Iterator<Item = u8>) -> Option<u8> {
    let sum: u32 = first9
        .zip((2..=10u32).rev())
        .map(|(d, w)| u32::from(d) * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        d => u8::try_from(d).ok(),
    }
}

/// True when `s` (spaces allowed, e.g. "943 476 5919") is a valid NHS number.
pub fn is_valid_nhs_number(s: &str) -> bool {
    digits(s).is_some_and(|d| check_digit_of(d[..9].iter().copied()) == Some(d[9]))
}

/// Formats as "943 476 5919" (3-3-4) when `s` holds ten digits; otherwise returns `s` trimmed.
pub fn format_nhs_number(s: &str) -> String {
    match digits(s) {
        Some(d) => {
            let c: Vec<char> = d.iter().map(|x| char::from(b'0' + x)).collect();
            format!(
                "{} {} {}",
                c[..3].iter().collect::<String>(),
                c[3..6].iter().collect::<String>(),
                c[6..].iter().collect::<String>()
            )
        }
        None => s.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_valid_and_invalid_numbers() {
        for ok in [
            "9000000009",
            "9434765919",
            "9693632109",
            "943 476 5919",
            " 9434765919 ",
        ] {
            assert!(is_valid_nhs_number(ok), "{ok}");
        }
        for bad in [
            "9999999991",
            "9434765918",
            "943476591",
            "94347659190",
            "943-476-5919",
            "",
            "abcdefghij",
        ] {
            assert!(!is_valid_nhs_number(bad), "{bad}");
        }
    }

    #[test]
    fn check_digits() {
        assert_eq!(check_digit("943476591"), Some(9));
        assert_eq!(check_digit("900000000"), Some(9));
        // All zeros: sum 0 → 11 − 0 = 11 → 0.
        assert_eq!(check_digit("000000000"), Some(0));
        // 9 * (10 + 9 + … + 2) = 486; 486 mod 11 = 2; 11 − 2 = 9.
        assert_eq!(check_digit("999999999"), Some(9));
        // 1*10 = 10 → 10 mod 11 = 10 → 11 − 10 = 1.
        assert_eq!(check_digit("100000000"), Some(1));
        assert_eq!(check_digit("12345678"), None);
        assert_eq!(check_digit("12345678a"), None);
    }

    #[test]
    fn digit_ten_means_invalid() {
        // 1*10 + 1*2 = 12 → 12 mod 11 = 1 → 11 − 1 = 10 → no valid number has this prefix.
        assert_eq!(check_digit("100000001"), None);
        assert!((0..=9).all(|d| !is_valid_nhs_number(&format!("100000001{d}"))));
    }

    #[test]
    fn formatting() {
        assert_eq!(format_nhs_number("9434765919"), "943 476 5919");
        assert_eq!(format_nhs_number("943 476 5919"), "943 476 5919");
        assert_eq!(format_nhs_number(" abc "), "abc");
    }
}
