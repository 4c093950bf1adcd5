//! Recognising UCUM units in free-text unit fields (OBX-6 without a coding system): a table of
//! common spellings that are not UCUM (`grams`, `mg/dl`, `µmol/L`, `x10^9/L`, `mmHg`…) and a
//! check of the unit against a subset of the UCUM grammar (prefixed atoms joined by `.` and `/`,
//! integer exponents, `10*n` factors and `{annotations}`). A unit that passes is written with
//! `system = http://unitsofmeasure.org`; any other unit is kept as text only, never claimed as UCUM.

/// Spellings seen in feeds → UCUM.
const SYNONYMS: &[(&str, &str)] = &[
    ("grams", "g"),
    ("gram", "g"),
    ("gm", "g"),
    ("gms", "g"),
    ("kgs", "kg"),
    ("lb", "[lb_av]"),
    ("lbs", "[lb_av]"),
    ("in", "[in_i]"),
    ("inch", "[in_i]"),
    ("inches", "[in_i]"),
    ("mmhg", "mm[Hg]"),
    ("mm hg", "mm[Hg]"),
    ("bpm", "/min"),
    ("beats/min", "/min"),
    ("breaths/min", "/min"),
    ("sec", "s"),
    ("secs", "s"),
    ("hr", "h"),
    ("hrs", "h"),
    ("hours", "h"),
    ("days", "d"),
    ("weeks", "wk"),
    ("wks", "wk"),
    ("months", "mo"),
    ("years", "a"),
    ("yrs", "a"),
    ("deg c", "Cel"),
    ("°c", "Cel"),
    ("degc", "Cel"),
    ("deg f", "[degF]"),
    ("°f", "[degF]"),
    ("x10^9/l", "10*9/L"),
    ("10^9/l", "10*9/L"),
    ("x10e9/l", "10*9/L"),
    ("x10^12/l", "10*12/L"),
    ("10^12/l", "10*12/L"),
    ("iu/l", "[IU]/L"),
    ("iu/ml", "[IU]/mL"),
    ("miu/l", "m[IU]/L"),
    ("ratio", "{ratio}"),
];

const ATOMS: &[&str] = &[
    "g", "L", "l", "mol", "eq", "U", "[IU]", "h", "min", "s", "d", "wk", "mo", "a", "m", "%", "Cel", "[degF]", "m[Hg]", "[ppm]",
    "[ppb]", "kat", "Pa", "K", "cal", "[lb_av]", "[oz_av]", "[in_i]", "[ft_i]", "[arb'U]", "osm", "[pH]", "bar", "J", "W", "V",
    "A", "Hz", "[drp]", "[HPF]", "[LPF]", "[CFU]",
];

const PREFIXES: &[&str] = &["k", "m", "u", "n", "p", "f", "c", "d", "M", "G", "T", "h", "da"];

fn is_atom(t: &str) -> bool {
    ATOMS.contains(&t) || PREFIXES.iter().any(|p| t.strip_prefix(p).is_some_and(|rest| ATOMS.contains(&rest)))
}

/// One term: `{annotation}`, a number, `10*n` / `10^n`, or an atom with an optional exponent and
/// an optional trailing annotation.
fn is_term(t: &str) -> bool {
    if t.is_empty() {
        return false;
    }
    if t.starts_with('{') && t.ends_with('}') && !t[1..t.len() - 1].contains(['{', '}']) {
        return true;
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if let Some(exp) = t.strip_prefix("10*").or_else(|| t.strip_prefix("10^")) {
        return !exp.is_empty() && exp.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit());
    }
    let t = match t.find('{') {
        Some(i) if t.ends_with('}') => &t[..i],
        _ => t,
    };
    let body = t.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
    !body.is_empty() && is_atom(body)
}

/// The UCUM code of a unit written in a feed, or None when it is not recognisably UCUM.
#[must_use]
pub fn ucum_code(unit: &str) -> Option<String> {
    let u = unit.trim().replace(['µ', 'μ'], "u");
    if u.is_empty() || u.contains(' ') && !SYNONYMS.iter().any(|(s, _)| s.eq_ignore_ascii_case(&u)) {
        return None;
    }
    if let Some((_, code)) = SYNONYMS.iter().find(|(s, _)| s.eq_ignore_ascii_case(&u)) {
        return Some((*code).to_owned());
    }
    // Lower-case litre is common and valid; "dl" and "ml" read as dL and mL.
    let fixed = u.replace("dl", "dL").replace("ml", "mL");
    let body = fixed.strip_prefix('/').unwrap_or(&fixed);
    split_terms(body).into_iter().all(is_term).then_some(fixed)
}

/// Splits on `/` and `.` outside `{annotations}`.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' | '.' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::ucum_code;

    #[test]
    fn recognises_units() {
        let t = |u: &str| ucum_code(u);
        assert_eq!(t("g/L").as_deref(), Some("g/L"));
        assert_eq!(t("10*9/L").as_deref(), Some("10*9/L"));
        assert_eq!(t("µmol/L").as_deref(), Some("umol/L"));
        assert_eq!(t("mg/dl").as_deref(), Some("mg/dL"));
        assert_eq!(t("grams").as_deref(), Some("g"));
        assert_eq!(t("mm[Hg]").as_deref(), Some("mm[Hg]"));
        assert_eq!(t("mmHg").as_deref(), Some("mm[Hg]"));
        assert_eq!(t("{Ratio}").as_deref(), Some("{Ratio}"));
        assert_eq!(t("/min").as_deref(), Some("/min"));
        assert_eq!(t("kg/m2").as_deref(), Some("kg/m2"));
        assert_eq!(t("%").as_deref(), Some("%"));
        assert_eq!(t("mL/min/{1.73_m2}").as_deref(), Some("mL/min/{1.73_m2}"));
        for not in ["", "per cent", "beats", "widgets/L", "ng/mL/hr x"] {
            assert_eq!(t(not), None, "{not}");
        }
    }
}
