//! The person record being linked, its parsing helpers (dates, sex, FHIR Patient) and the normalised
//! form ([`Prepared`]) computed once per record so that the pair loop only compares byte slices.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::nicknames;
use crate::text::{
    digits_only, fnv64, normalise_code, normalise_name, normalise_text, soundex, token_hashes,
};

/// NHS number identifier system (UK Core).
pub const NHS_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A date of birth. Components are kept as recorded (validated only loosely: month 1–12, day 1–31) so
/// that a transposed or mistyped date can still be compared digit by digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dob {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Dob {
    /// A date when the components are plausible (year 1800–2200, month 1–12, day 1–31).
    #[must_use]
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        ((1800..=2200).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day))
            .then_some(Self { year, month, day })
    }

    /// Parses `s` with a strftime-like `format` using `%Y`, `%m`, `%d` (other characters must match
    /// literally); `None` uses ISO `%Y-%m-%d` (a FHIR `date`, `dateTime` prefix accepted).
    #[must_use]
    pub fn parse(s: &str, format: Option<&str>) -> Option<Self> {
        let s = s.trim();
        match format {
            Some(f) => parse_with(s, f),
            None => parse_with(s.get(..10)?, "%Y-%m-%d"),
        }
    }

    /// The date as eight ASCII digits `YYYYMMDD`.
    #[must_use]
    pub fn digits(self) -> [u8; 8] {
        let mut out = [b'0'; 8];
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (0..width).rev() {
                #[allow(clippy::cast_possible_truncation)]
                let d = (v % 10) as u8;
                out[at + i] = b'0' + d;
                v /= 10;
            }
        };
        put(0, 4, u32::from(self.year));
        put(4, 2, u32::from(self.month));
        put(6, 2, u32::from(self.day));
        out
    }
}

fn parse_with(s: &str, format: &str) -> Option<Dob> {
    let (mut y, mut m, mut d) = (None, None, None);
    let sb = s.as_bytes();
    let fb = format.as_bytes();
    let (mut i, mut j) = (0usize, 0usize);
    while j < fb.len() {
        if fb[j] == b'%' && j + 1 < fb.len() {
            let width = if fb[j + 1] == b'Y' { 4 } else { 2 };
            let field = sb.get(i..i + width)?;
            if !field.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v: u16 = std::str::from_utf8(field).ok()?.parse().ok()?;
            match fb[j + 1] {
                b'Y' => y = Some(v),
                b'm' => m = u8::try_from(v).ok(),
                b'd' => d = u8::try_from(v).ok(),
                _ => return None,
            }
            i += width;
            j += 2;
        } else {
            if sb.get(i) != Some(&fb[j]) {
                return None;
            }
            i += 1;
            j += 1;
        }
    }
    if i != sb.len() {
        return None;
    }
    Dob::new(y?, m?, d?)
}

/// Administrative sex as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    #[default]
    Unknown,
    Male,
    Female,
    Other,
}

impl Sex {
    /// Parses FHIR `gender`, HL7 v2 (`M`/`F`/`O`/`U`), CLD (`1`/`2`) and words.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "m" | "male" | "man" | "1" => Self::Male,
            "f" | "female" | "woman" | "2" => Self::Female,
            "o" | "other" | "9" => Self::Other,
            _ => Self::Unknown,
        }
    }
}

/// One record to link: a person as one source recorded them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The source's record id (returned in pairs and clusters).
    pub id: String,
    pub given: String,
    pub family: String,
    pub dob: Option<Dob>,
    pub sex: Sex,
    pub postcode: String,
    /// Address lines (house number, street …), free text.
    pub address: String,
    /// Town, city or suburb.
    pub locality: String,
    /// A phone number or other exact-compare identifier (e.g. a social security number).
    pub phone: String,
    /// NHS number as recorded (validated during preparation; an invalid one is treated as missing).
    pub nhs: Option<String>,
}

impl Record {
    /// Reads a FHIR R4 Patient (UK Core). The id is `Patient.id`, else the first non-NHS identifier value.
    #[must_use]
    pub fn from_patient(patient: &Value) -> Self {
        let str_at = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let identifiers = patient["identifier"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let nhs = identifiers
            .iter()
            .find(|i| i["system"].as_str() == Some(NHS_SYSTEM))
            .and_then(|i| i["value"].as_str())
            .map(str::to_owned);
        let id = patient["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                identifiers
                    .iter()
                    .find(|i| i["system"].as_str() != Some(NHS_SYSTEM))
                    .map_or_else(String::new, |i| str_at(&i["value"]))
            });
        let name = official_name(patient);
        let given = name["given"].get(0).map(str_at).unwrap_or_default();
        let address = current_address(patient);
        let line = address["line"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let phone = patient["telecom"]
            .as_array()
            .and_then(|t| t.iter().find(|c| c["system"].as_str() == Some("phone")))
            .map(|c| str_at(&c["value"]))
            .unwrap_or_default();
        Self {
            id,
            given,
            family: str_at(&name["family"]),
            dob: patient["birthDate"]
                .as_str()
                .and_then(|d| Dob::parse(d, None)),
            sex: Sex::parse(patient["gender"].as_str().unwrap_or_default()),
            postcode: str_at(&address["postalCode"]),
            address: line,
            locality: str_at(&address["city"]),
            phone,
            nhs,
        }
    }
}

/// `name` with use official/usual, else the first.
fn official_name(patient: &Value) -> &Value {
    let names = patient["name"].as_array().map_or(&[][..], Vec::as_slice);
    names
        .iter()
        .find(|n| matches!(n["use"].as_str(), Some("official" | "usual")))
        .or_else(|| names.first())
        .unwrap_or(&Value::Null)
}

/// The current home address: use `home` without a period end, else the first without `use: old`.
fn current_address(patient: &Value) -> &Value {
    let addresses = patient["address"].as_array().map_or(&[][..], Vec::as_slice);
    let current = |a: &&Value| a["use"].as_str() != Some("old") && a["period"]["end"].is_null();
    addresses
        .iter()
        .find(|a| a["use"].as_str() == Some("home") && current(a))
        .or_else(|| addresses.iter().find(current))
        .or_else(|| addresses.first())
        .unwrap_or(&Value::Null)
}

/// Splits a normalised postcode into (full, sector, district). UK postcodes (inward code digit-letter-letter)
/// give outward+first inward digit and outward code; anything else (e.g. 4-digit Australian codes) gives the
/// first three and first two characters.
#[must_use]
pub fn postcode_parts(code: &str) -> (&str, &str, &str) {
    let b = code.as_bytes();
    let n = b.len();
    let uk = (5..=7).contains(&n)
        && b[n - 3].is_ascii_digit()
        && b[n - 2].is_ascii_alphabetic()
        && b[n - 1].is_ascii_alphabetic()
        && b[0].is_ascii_alphabetic();
    if uk {
        (code, &code[..n - 2], &code[..n - 3])
    } else {
        (
            code,
            code.get(..3).unwrap_or(""),
            code.get(..2).unwrap_or(""),
        )
    }
}

/// A record's normalised, pre-hashed form. Built once per record; compared many times. The normalised
/// strings live in one allocation (`text`) so that comparing a pair touches few cache lines.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// given | family | postcode | address | locality | phone, concatenated.
    text: Box<str>,
    /// End offsets of the six strings in `text`.
    ends: [u32; 6],
    pub given_sx: u32,
    pub family_sx: u32,
    /// Blocking form of the given name: its first nickname group, else its Soundex.
    pub given_key: u32,
    pub given_nick: u128,
    pub dob: Option<Dob>,
    pub dob_digits: [u8; 8],
    pub sex: Sex,
    pub pc_sector: u64,
    pub pc_district: u64,
    pub address_tokens: Box<[u32]>,
    /// A valid NHS number as an integer (0 when absent or invalid).
    pub nhs: u64,
    /// True when an NHS number was recorded but failed the modulus-11 check (a data-quality flag).
    pub nhs_invalid: bool,
    /// -log2 of the term frequency of the given name (set from a model; 0 when not adjusted).
    pub tf_given: f32,
    /// -log2 of the term frequency of the family name.
    pub tf_family: f32,
}

impl Prepared {
    /// Normalises `r` (no term frequencies; see [`crate::model::Model::prepare`]).
    #[must_use]
    pub fn new(r: &Record) -> Self {
        let given = normalise_name(first_word(&r.given));
        let family = normalise_name(&r.family);
        let postcode = normalise_code(&r.postcode);
        let (_, sector, district) = postcode_parts(&postcode);
        let hash_nonempty = |s: &str| if s.is_empty() { 0 } else { fnv64(s.as_bytes()) };
        let (pc_sector, pc_district) = (hash_nonempty(sector), hash_nonempty(district));
        let address = normalise_text(&r.address);
        let (nhs, nhs_invalid) = match r.nhs.as_deref().map(digits_only) {
            Some(d) if d.is_empty() => (0, false),
            Some(d) if weave_fhir::nhs::is_valid_nhs_number(&d) => (d.parse().unwrap_or(0), false),
            Some(_) => (0, true),
            None => (0, false),
        };
        let given_sx = soundex(given.as_bytes());
        let given_nick = nicknames::groups_of(&given);
        let given_key = if given_nick == 0 {
            given_sx
        } else {
            given_nick.trailing_zeros() + 1
        };
        let parts = [
            given.as_str(),
            &family,
            &postcode,
            &address,
            &normalise_text(&r.locality),
            &digits_only(&r.phone),
        ];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 6];
        for (e, part) in ends.iter_mut().zip(parts) {
            text.push_str(part);
            *e = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        Self {
            given_sx,
            family_sx: soundex(family.as_bytes()),
            given_key,
            given_nick,
            dob: r.dob,
            dob_digits: r.dob.map_or([0; 8], Dob::digits),
            sex: r.sex,
            pc_sector,
            pc_district,
            address_tokens: token_hashes(&address).into(),
            text: text.into(),
            ends,
            nhs,
            nhs_invalid,
            tf_given: 0.0,
            tf_family: 0.0,
        }
    }

    #[inline]
    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..self.ends[i] as usize).unwrap_or("")
    }

    /// Normalised given name (first word, letters only, upper case).
    #[must_use]
    #[inline]
    pub fn given(&self) -> &str {
        self.part(0)
    }
    /// Normalised family name.
    #[must_use]
    #[inline]
    pub fn family(&self) -> &str {
        self.part(1)
    }
    /// Normalised postcode (letters and digits).
    #[must_use]
    #[inline]
    pub fn postcode(&self) -> &str {
        self.part(2)
    }
    /// Normalised address text.
    #[must_use]
    #[inline]
    pub fn address(&self) -> &str {
        self.part(3)
    }
    /// Normalised locality.
    #[must_use]
    #[inline]
    pub fn locality(&self) -> &str {
        self.part(4)
    }
    /// Phone digits.
    #[must_use]
    #[inline]
    pub fn phone(&self) -> &str {
        self.part(5)
    }
}

/// The first whitespace-separated word (given names often carry middle names).
fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_parse_in_several_formats() {
        let d = Dob::new(1908, 12, 9);
        assert_eq!(Dob::parse("19081209", Some("%Y%m%d")), d);
        assert_eq!(Dob::parse("1908-12-09", None), d);
        assert_eq!(Dob::parse("1908-12-09T00:00:00Z", None), d);
        assert_eq!(Dob::parse("09/12/1908", Some("%d/%m/%Y")), d);
        assert_eq!(Dob::parse("1908139", Some("%Y%m%d")), None);
        assert_eq!(Dob::parse("19081309", Some("%Y%m%d")), None);
        assert_eq!(Dob::parse("", None), None);
        assert_eq!(d.map(Dob::digits), Some(*b"19081209"));
    }

    #[test]
    fn sex_codes() {
        assert_eq!(Sex::parse("male"), Sex::Male);
        assert_eq!(Sex::parse("F"), Sex::Female);
        assert_eq!(Sex::parse("2"), Sex::Female);
        assert_eq!(Sex::parse(""), Sex::Unknown);
    }

    #[test]
    fn postcode_sectors_and_districts() {
        assert_eq!(postcode_parts("SW1A1AA"), ("SW1A1AA", "SW1A1", "SW1A"));
        assert_eq!(postcode_parts("XW34AB"), ("XW34AB", "XW34", "XW3"));
        assert_eq!(postcode_parts("2119"), ("2119", "211", "21"));
        assert_eq!(postcode_parts("4"), ("4", "", ""));
    }

    #[test]
    fn patient_is_read() {
        let p = json!({
            "resourceType": "Patient",
            "identifier": [
                { "system": NHS_SYSTEM, "value": "9434765919" },
                { "system": "https://weave.example/Id/RW1/mrn", "value": "RW0000001" }
            ],
            "name": [{ "use": "official", "family": "O'Brien", "given": ["Mary", "Ann"] }],
            "gender": "female",
            "birthDate": "1950-03-07",
            "address": [
                { "use": "old", "line": ["1 Old Road"], "postalCode": "XW1 1AA" },
                { "use": "home", "line": ["12 High Street", "Flat 2"], "city": "Loomford", "postalCode": "XW3 4AB" }
            ],
            "telecom": [{ "system": "phone", "value": "01234 567890" }]
        });
        let r = Record::from_patient(&p);
        assert_eq!(r.id, "RW0000001");
        assert_eq!(r.nhs.as_deref(), Some("9434765919"));
        assert_eq!((r.given.as_str(), r.family.as_str()), ("Mary", "O'Brien"));
        assert_eq!(r.dob, Dob::new(1950, 3, 7));
        assert_eq!(r.sex, Sex::Female);
        assert_eq!(r.postcode, "XW3 4AB");
        assert_eq!(r.address, "12 High Street Flat 2");
        assert_eq!(r.locality, "Loomford");
        assert_eq!(r.phone, "01234 567890");
        let p = Prepared::new(&r);
        assert_eq!(p.family(), "OBRIEN");
        assert_eq!(
            (
                p.given(),
                p.postcode(),
                p.address(),
                p.locality(),
                p.phone()
            ),
            (
                "MARY",
                "XW34AB",
                "12 HIGH STREET FLAT 2",
                "LOOMFORD",
                "01234567890"
            )
        );
        assert_eq!(p.nhs, 9_434_765_919);
        assert!(!p.nhs_invalid);
    }

    #[test]
    fn invalid_nhs_number_is_missing_and_flagged() {
        let r = Record {
            nhs: Some("9999999991".into()),
            ..Record::default()
        };
        let p = Prepared::new(&r);
        assert_eq!(p.nhs, 0);
        assert!(p.nhs_invalid);
        let empty = Prepared::new(&Record {
            nhs: Some(String::new()),
            ..Record::default()
        });
        assert!(!empty.nhs_invalid);
        assert!(Record::from_patient(&json!({})).id.is_empty());
    }
}
