//! String primitives for comparison: normalisation to upper-case ASCII letters/digits, a byte-slice
//! Jaro-Winkler without allocation, Soundex, token hashing and single-edit tests.
//!
//! Everything here works on pre-normalised byte slices so that the pair loop never allocates.

/// Upper-cases `s` and keeps only ASCII letters (accents are folded to their base letter where cheap;
/// anything else, including spaces, hyphens and apostrophes, is dropped).
#[must_use]
pub fn normalise_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if let Some(a) = fold(c) {
            if a.is_ascii_alphabetic() {
                out.push(a.to_ascii_uppercase());
            }
        }
    }
    out
}

/// Upper-cases `s`, keeps letters and digits and collapses every other run into a single space.
#[must_use]
pub fn normalise_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        match fold(c) {
            Some(a) if a.is_ascii_alphanumeric() => {
                if gap && !out.is_empty() {
                    out.push(' ');
                }
                gap = false;
                out.push(a.to_ascii_uppercase());
            }
            _ => gap = true,
        }
    }
    out
}

/// Upper-case letters and digits only (postcodes, identifiers).
#[must_use]
pub fn normalise_code(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Digits only (phone numbers, NHS numbers).
#[must_use]
pub fn digits_only(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Folds common Latin-1 accented letters to ASCII; passes ASCII through; `None` for anything else.
fn fold(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'ç' | 'Ç' | 'ć' | 'č' => 'C',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' | 'ę' => 'E',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ñ' | 'Ñ' | 'ń' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ý' | 'ÿ' | 'Ý' => 'Y',
        'ł' | 'Ł' => 'L',
        'ś' | 'š' | 'Ś' | 'Š' => 'S',
        'ż' | 'ź' | 'ž' | 'Ż' | 'Ź' | 'Ž' => 'Z',
        _ => return None,
    })
}

/// Longest prefix (in bytes) Jaro-Winkler looks at; longer strings are compared on their first bytes.
const JW_MAX: usize = 128;

/// Jaro similarity of two byte strings (1.0 identical, 0.0 nothing in common; two empty strings → 1.0).
#[must_use]
pub fn jaro(a: &[u8], b: &[u8]) -> f64 {
    let a = &a[..a.len().min(JW_MAX)];
    let b = &b[..b.len().min(JW_MAX)];
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_flag = [false; JW_MAX];
    let mut b_flag = [false; JW_MAX];
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_flag[j] && b[j] == ca {
                a_flag[i] = true;
                b_flag[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if a_flag[i] {
            while !b_flag[k] {
                k += 1;
            }
            if ca != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let (m, t, la, lb) = (
        matches as f64,
        (transpositions / 2) as f64,
        a.len() as f64,
        b.len() as f64,
    );
    (m / la + m / lb + (m - t) / m) / 3.0
}

/// Jaro-Winkler similarity (prefix scale 0.1, prefix up to 4).
#[must_use]
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    let j = jaro(a, b);
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    #[allow(clippy::cast_precision_loss)]
    let p = prefix as f64;
    j + p * 0.1 * (1.0 - j)
}

/// American Soundex of a normalised (upper-case letters) name, packed as four bytes in a `u32`
/// (`0` for an empty name).
#[must_use]
pub fn soundex(name: &[u8]) -> u32 {
    fn code(c: u8) -> u8 {
        match c {
            b'B' | b'F' | b'P' | b'V' => b'1',
            b'C' | b'G' | b'J' | b'K' | b'Q' | b'S' | b'X' | b'Z' => b'2',
            b'D' | b'T' => b'3',
            b'L' => b'4',
            b'M' | b'N' => b'5',
            b'R' => b'6',
            b'H' | b'W' => b'h',
            _ => b'0',
        }
    }
    let Some(&first) = name.first() else {
        return 0;
    };
    let mut out = [first, b'0', b'0', b'0'];
    let mut n = 1;
    let mut last = code(first);
    for &c in &name[1..] {
        let k = code(c);
        if k == b'h' {
            continue;
        }
        if k != b'0' && k != last {
            out[n] = k;
            n += 1;
            if n == 4 {
                break;
            }
        }
        last = k;
    }
    u32::from_be_bytes(out)
}

/// FNV-1a hash of bytes (stable across runs and platforms, used for blocking keys and token sets).
#[must_use]
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Sorted, de-duplicated 32-bit hashes of the space-separated tokens of a normalised text.
#[must_use]
pub fn token_hashes(text: &str) -> Vec<u32> {
    let mut v: Vec<u32> = text
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| {
            #[allow(clippy::cast_possible_truncation)]
            let h = fnv64(t.as_bytes()) as u32;
            h
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Dice coefficient of two sorted token-hash sets (0.0 when either is empty).
#[must_use]
pub fn token_dice(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let d = 2.0 * common as f64 / (a.len() + b.len()) as f64;
    d
}

/// True when `a` and `b` differ by exactly one substitution or one adjacent transposition
/// (equal lengths), or by one insertion/deletion.
#[must_use]
pub fn one_edit(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return false;
    }
    if a.len() == b.len() {
        let mut first = None;
        let mut count = 0;
        for i in 0..a.len() {
            if a[i] != b[i] {
                count += 1;
                if count == 1 {
                    first = Some(i);
                } else if count > 2 {
                    return false;
                }
            }
        }
        return match (count, first) {
            (1, _) => true,
            (2, Some(i)) => i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i],
            _ => false,
        };
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() != 1 {
        return false;
    }
    let p = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    short[p..] == long[p + 1..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalise_name(" O'Brien-Smith "), "OBRIENSMITH");
        assert_eq!(normalise_name("Zoë"), "ZOE");
        assert_eq!(normalise_text("12, High  St.\tFlat 3"), "12 HIGH ST FLAT 3");
        assert_eq!(normalise_code("sw1a 1aa"), "SW1A1AA");
        assert_eq!(digits_only("+44 (0)20 7946-0000"), "4402079460000");
    }

    #[test]
    fn jaro_winkler_known_values() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-3;
        assert!(close(jaro_winkler(b"MARTHA", b"MARHTA"), 0.961));
        assert!(close(jaro_winkler(b"DWAYNE", b"DUANE"), 0.84));
        assert!(close(jaro_winkler(b"DIXON", b"DICKSONX"), 0.813));
        assert!(close(jaro_winkler(b"SMITH", b"SMITH"), 1.0));
        assert!(close(jaro_winkler(b"ABC", b"XYZ"), 0.0));
        assert!(close(jaro_winkler(b"", b"ABC"), 0.0));
        let long = [b'A'; 300];
        assert!(close(jaro_winkler(&long, &long[..200]), 1.0));
    }

    #[test]
    fn soundex_codes() {
        let s = |x: &str| {
            String::from_utf8(soundex(x.as_bytes()).to_be_bytes().to_vec()).unwrap_or_default()
        };
        assert_eq!(s("ROBERT"), "R163");
        assert_eq!(s("RUPERT"), "R163");
        assert_eq!(s("ASHCRAFT"), "A261");
        assert_eq!(s("TYMCZAK"), "T522");
        assert_eq!(s("PFISTER"), "P236");
        assert_eq!(s("LEE"), "L000");
        assert_eq!(soundex(b""), 0);
    }

    #[test]
    fn tokens_and_dice() {
        let a = token_hashes("12 HIGH STREET");
        let b = token_hashes("HIGH STREET 12");
        assert!((token_dice(&a, &b) - 1.0).abs() < 1e-9);
        let c = token_hashes("12 LOW STREET");
        assert!((token_dice(&a, &c) - 2.0 / 3.0).abs() < 1e-9);
        assert!(token_dice(&a, &[]).abs() < 1e-9);
    }

    #[test]
    fn single_edits() {
        assert!(one_edit(b"19560409", b"19560401"));
        assert!(one_edit(b"19560409", b"19560490"));
        assert!(one_edit(b"SMITH", b"SMYTH"));
        assert!(one_edit(b"SMITH", b"SMITHE"));
        assert!(one_edit(b"SMITH", b"SMTH"));
        assert!(!one_edit(b"SMITH", b"SMITH"));
        assert!(!one_edit(b"SMITH", b"SMYTHE"));
        assert!(!one_edit(b"19560409", b"19651409"));
    }
}
