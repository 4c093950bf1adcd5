//! Comparison levels: for each field, an ordered list of agreement levels; a pair falls into the first
//! level it satisfies. Level 0 is always "null" (a value missing on either side, weight 0), the last level
//! is "different". Every function here takes two [`Prepared`] records and returns a level index without
//! allocating.

use serde::{Deserialize, Serialize};

use crate::record::{Prepared, Sex};
use crate::text::{jaro_winkler, one_edit, token_dice};

/// The fields compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Given,
    Family,
    Dob,
    Sex,
    Postcode,
    Address,
    Locality,
    Phone,
    Nhs,
}

/// Number of compared fields.
pub const N_FIELDS: usize = 9;

/// A comparison vector: one level index per field, in [`Field::ALL`] order.
pub type Pattern = [u8; N_FIELDS];

impl Field {
    /// Every field, in pattern order.
    pub const ALL: [Self; N_FIELDS] = [
        Self::Given,
        Self::Family,
        Self::Dob,
        Self::Sex,
        Self::Postcode,
        Self::Address,
        Self::Locality,
        Self::Phone,
        Self::Nhs,
    ];

    /// Index in a [`Pattern`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Family => "family",
            Self::Dob => "dob",
            Self::Sex => "sex",
            Self::Postcode => "postcode",
            Self::Address => "address",
            Self::Locality => "locality",
            Self::Phone => "phone",
            Self::Nhs => "nhs",
        }
    }

    /// Parses a field name (as used on the command line).
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Level labels, level 0 (null) first and "different" last.
    #[must_use]
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Self::Given => &GIVEN_LEVELS,
            Self::Family => &FAMILY_LEVELS,
            Self::Dob => &DOB_LEVELS,
            Self::Sex | Self::Nhs => &["null", "exact", "different"],
            Self::Postcode => &POSTCODE_LEVELS,
            Self::Address => &ADDRESS_LEVELS,
            Self::Locality => &["null", "exact", "jaro-winkler >= 0.88", "different"],
            Self::Phone => &["null", "exact", "one edit", "different"],
        }
    }

    /// True for comparisons whose cost is dominated by string similarity (computed last in the pair loop).
    #[must_use]
    pub fn is_expensive(self) -> bool {
        matches!(
            self,
            Self::Given | Self::Family | Self::Address | Self::Locality
        )
    }

    /// The level of the pair `(a, b)` for this field.
    #[must_use]
    pub fn compare(self, a: &Prepared, b: &Prepared) -> u8 {
        match self {
            Self::Given => given(a, b),
            Self::Family => family(a, b),
            Self::Dob => dob(a, b),
            Self::Sex => sex(a, b),
            Self::Postcode => postcode(a, b),
            Self::Address => address(a, b),
            Self::Locality => locality(a, b),
            Self::Phone => phone(a, b),
            Self::Nhs => nhs(a, b),
        }
    }
}

/// Given-name levels.
pub const GIVEN_LEVELS: [&str; 10] = [
    "null",
    "exact",
    "swapped with family",
    "nickname",
    "jaro-winkler >= 0.92",
    "jaro-winkler >= 0.88",
    "soundex",
    "initial",
    "jaro-winkler >= 0.7",
    "different",
];
/// Family-name levels.
pub const FAMILY_LEVELS: [&str; 8] = [
    "null",
    "exact",
    "swapped with given",
    "jaro-winkler >= 0.92",
    "jaro-winkler >= 0.88",
    "soundex",
    "jaro-winkler >= 0.7",
    "different",
];
/// Date-of-birth levels.
pub const DOB_LEVELS: [&str; 7] = [
    "null",
    "exact",
    "day/month swapped",
    "one digit off",
    "year +/-1",
    "two of three parts",
    "different",
];
/// Postcode levels.
pub const POSTCODE_LEVELS: [&str; 6] = [
    "null",
    "exact",
    "one edit",
    "sector",
    "district",
    "different",
];
/// Address levels.
pub const ADDRESS_LEVELS: [&str; 6] = [
    "null",
    "exact",
    "tokens >= 0.8 or jw >= 0.95",
    "tokens >= 0.5 or jw >= 0.88",
    "some token",
    "different",
];

/// Level of the "exact" agreement in every field.
pub const EXACT: u8 = 1;

fn swapped(a: &Prepared, b: &Prepared) -> bool {
    !a.family().is_empty()
        && a.given() == b.family()
        && a.family() == b.given()
        && a.given() != a.family()
}

/// Given name.
#[must_use]
pub fn given(a: &Prepared, b: &Prepared) -> u8 {
    let (x, y) = (a.given().as_bytes(), b.given().as_bytes());
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        return 1;
    }
    if swapped(a, b) {
        return 2;
    }
    if a.given_nick & b.given_nick != 0 {
        return 3;
    }
    if x.len() == 1 || y.len() == 1 {
        return if x[0] == y[0] { 7 } else { 9 };
    }
    [4, 5, 6, 8, 9][similarity_rank(x, y, a.given_sx == b.given_sx)]
}

/// The ladder both name comparisons share: 0 Jaro-Winkler ≥ 0.92, 1 ≥ 0.88, 2 same Soundex,
/// 3 Jaro-Winkler ≥ 0.7, 4 different.
fn similarity_rank(x: &[u8], y: &[u8], same_soundex: bool) -> usize {
    let jw = jaro_winkler(x, y);
    if jw >= 0.92 {
        0
    } else if jw >= 0.88 {
        1
    } else if same_soundex {
        2
    } else if jw >= 0.7 {
        3
    } else {
        4
    }
}

/// Family name.
#[must_use]
pub fn family(a: &Prepared, b: &Prepared) -> u8 {
    let (x, y) = (a.family().as_bytes(), b.family().as_bytes());
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        return 1;
    }
    if swapped(a, b) {
        return 2;
    }
    [3, 4, 5, 6, 7][similarity_rank(x, y, a.family_sx == b.family_sx)]
}

/// Date of birth.
#[must_use]
pub fn dob(a: &Prepared, b: &Prepared) -> u8 {
    let (Some(x), Some(y)) = (a.dob, b.dob) else {
        return 0;
    };
    if x == y {
        return 1;
    }
    if x.year == y.year && x.month == y.day && x.day == y.month {
        return 2;
    }
    if one_edit(&a.dob_digits, &b.dob_digits) {
        return 3;
    }
    if x.month == y.month && x.day == y.day && x.year.abs_diff(y.year) == 1 {
        return 4;
    }
    let parts =
        u8::from(x.year == y.year) + u8::from(x.month == y.month) + u8::from(x.day == y.day);
    if parts >= 2 {
        5
    } else {
        6
    }
}

/// Administrative sex (unknown counts as missing).
#[must_use]
pub fn sex(a: &Prepared, b: &Prepared) -> u8 {
    match (a.sex, b.sex) {
        (Sex::Unknown, _) | (_, Sex::Unknown) => 0,
        (x, y) if x == y => 1,
        _ => 2,
    }
}

/// Postcode: full, one edit, sector, district.
#[must_use]
pub fn postcode(a: &Prepared, b: &Prepared) -> u8 {
    let (x, y) = (a.postcode().as_bytes(), b.postcode().as_bytes());
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        1
    } else if one_edit(x, y) {
        2
    } else if a.pc_sector != 0 && a.pc_sector == b.pc_sector {
        3
    } else if a.pc_district != 0 && a.pc_district == b.pc_district {
        4
    } else {
        5
    }
}

/// Address lines: token overlap (order-insensitive) or Jaro-Winkler on the whole text.
#[must_use]
pub fn address(a: &Prepared, b: &Prepared) -> u8 {
    let (x, y) = (a.address().as_bytes(), b.address().as_bytes());
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        return 1;
    }
    let dice = token_dice(&a.address_tokens, &b.address_tokens);
    if dice >= 0.8 {
        return 2;
    }
    let jw = jaro_winkler(x, y);
    if jw >= 0.95 {
        2
    } else if dice >= 0.5 || jw >= 0.88 {
        3
    } else if dice > 0.0 {
        4
    } else {
        5
    }
}

/// Town / city / suburb.
#[must_use]
pub fn locality(a: &Prepared, b: &Prepared) -> u8 {
    let (x, y) = (a.locality().as_bytes(), b.locality().as_bytes());
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        1
    } else if jaro_winkler(x, y) >= 0.88 {
        2
    } else {
        3
    }
}

/// Phone number (or another exact identifier): exact, one edit.
#[must_use]
pub fn phone(a: &Prepared, b: &Prepared) -> u8 {
    let (x, y) = (a.phone().as_bytes(), b.phone().as_bytes());
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        1
    } else if one_edit(x, y) {
        2
    } else {
        3
    }
}

/// NHS number: only valid (modulus-11) numbers are compared; an invalid one counts as missing.
#[must_use]
pub fn nhs(a: &Prepared, b: &Prepared) -> u8 {
    match (a.nhs, b.nhs) {
        (0, _) | (_, 0) => 0,
        (x, y) if x == y => 1,
        _ => 2,
    }
}

/// The full comparison vector of a pair.
#[must_use]
pub fn pattern(a: &Prepared, b: &Prepared) -> Pattern {
    let mut p = [0u8; N_FIELDS];
    for f in Field::ALL {
        p[f.index()] = f.compare(a, b);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Dob, Record};

    fn prep(given: &str, family: &str) -> Prepared {
        Prepared::new(&Record {
            given: given.into(),
            family: family.into(),
            ..Record::default()
        })
    }

    fn with(f: impl FnOnce(&mut Record)) -> Prepared {
        let mut r = Record::default();
        f(&mut r);
        Prepared::new(&r)
    }

    #[test]
    fn given_levels() {
        let g = |a: &str, b: &str| GIVEN_LEVELS[usize::from(given(&prep(a, "X"), &prep(b, "X")))];
        assert_eq!(g("Robert", "robert"), "exact");
        assert_eq!(g("Bob", "Robert"), "nickname");
        assert_eq!(g("Jonathon", "Jonathan"), "jaro-winkler >= 0.92");
        assert_eq!(g("R", "Robert"), "initial");
        assert_eq!(g("Q", "Robert"), "different");
        assert_eq!(g("", "Robert"), "null");
        assert_eq!(g("Zebedee", "Mary"), "different");
        assert_eq!(g("Catherine", "Kathryn"), "nickname");
        assert_eq!(g("Smyth", "Smith"), "jaro-winkler >= 0.88");
        assert_eq!(g("Rupert", "Robert"), "soundex");
        let swap = given(&prep("Smith", "John"), &prep("John", "Smith"));
        assert_eq!(GIVEN_LEVELS[usize::from(swap)], "swapped with family");
        let swap = family(&prep("Smith", "John"), &prep("John", "Smith"));
        assert_eq!(FAMILY_LEVELS[usize::from(swap)], "swapped with given");
    }

    #[test]
    fn family_levels() {
        let f = |a: &str, b: &str| FAMILY_LEVELS[usize::from(family(&prep("X", a), &prep("X", b)))];
        assert_eq!(f("Smith", "SMITH"), "exact");
        assert_eq!(f("Harrington", "Harringtn"), "jaro-winkler >= 0.92");
        assert_eq!(f("Ng", ""), "null");
        assert_eq!(f("Smith", "Jones"), "different");
        assert_eq!(f("Tymczak", "Tymshack"), "soundex");
        assert_eq!(f("Smith", "Okafor"), "different");
    }

    #[test]
    fn dob_levels() {
        let d = |a: Option<Dob>, b: Option<Dob>| {
            DOB_LEVELS[usize::from(dob(&with(|r| r.dob = a), &with(|r| r.dob = b)))]
        };
        let x = Dob::new(1956, 4, 9);
        assert_eq!(d(x, x), "exact");
        assert_eq!(d(x, Dob::new(1956, 9, 4)), "day/month swapped");
        assert_eq!(d(x, Dob::new(1956, 4, 8)), "one digit off");
        assert_eq!(d(x, Dob::new(1965, 4, 9)), "one digit off");
        assert_eq!(d(x, Dob::new(1957, 4, 9)), "one digit off");
        assert_eq!(d(x, Dob::new(1960, 4, 9)), "two of three parts");
        assert_eq!(
            Dob::new(1959, 12, 31)
                .zip(Dob::new(1960, 12, 31))
                .map(|(a, b)| {
                    DOB_LEVELS
                        [usize::from(dob(&with(|r| r.dob = Some(a)), &with(|r| r.dob = Some(b))))]
                }),
            Some("year +/-1")
        );
        assert_eq!(d(x, Dob::new(1980, 7, 21)), "different");
        assert_eq!(d(x, None), "null");
    }

    #[test]
    fn sex_postcode_phone_locality_address() {
        let s = |a, b| sex(&with(|r| r.sex = a), &with(|r| r.sex = b));
        assert_eq!(
            (
                s(Sex::Male, Sex::Male),
                s(Sex::Male, Sex::Female),
                s(Sex::Unknown, Sex::Male)
            ),
            (1, 2, 0)
        );
        let pc = |a: &str, b: &str| {
            POSTCODE_LEVELS[usize::from(postcode(
                &with(|r| r.postcode = a.into()),
                &with(|r| r.postcode = b.into()),
            ))]
        };
        assert_eq!(pc("XW3 4AB", "xw34ab"), "exact");
        assert_eq!(pc("XW3 4AB", "XW3 4AD"), "one edit");
        assert_eq!(pc("XW3 4AB", "XW3 4ZZ"), "sector");
        assert_eq!(pc("XW3 4AB", "XW3 9ZZ"), "district");
        assert_eq!(pc("XW3 4AB", "YY1 9ZZ"), "different");
        assert_eq!(pc("3165", "3167"), "one edit");
        assert_eq!(pc("3165", "3198"), "district");
        let ph =
            |a: &str, b: &str| phone(&with(|r| r.phone = a.into()), &with(|r| r.phone = b.into()));
        assert_eq!(
            (
                ph("6089216", "6089216"),
                ph("6089216", "6089218"),
                ph("1", "777"),
                ph("", "1")
            ),
            (1, 2, 3, 0)
        );
        let lo = |a: &str, b: &str| {
            locality(
                &with(|r| r.locality = a.into()),
                &with(|r| r.locality = b.into()),
            )
        };
        assert_eq!(
            (
                lo("Marsden", "marsden"),
                lo("Marsden", "Marsdon"),
                lo("Marsden", "Bittern")
            ),
            (1, 2, 3)
        );
        let ad = |a: &str, b: &str| {
            ADDRESS_LEVELS[usize::from(address(
                &with(|r| r.address = a.into()),
                &with(|r| r.address = b.into()),
            ))]
        };
        assert_eq!(ad("177 Pridham Street", "177 pridham street"), "exact");
        assert_eq!(
            ad("177 Pridham Street Milton", "177 Pridhamp Street Milton"),
            "tokens >= 0.8 or jw >= 0.95"
        );
        assert_eq!(
            ad("177 Pridham Street", "177 Pridham Road"),
            "tokens >= 0.5 or jw >= 0.88"
        );
        assert_eq!(ad("177 Pridham Street", "9 Acacia Street"), "some token");
        assert_eq!(ad("177 Pridham Street", "12 Acacia Avenue"), "different");
        assert_eq!(ad("", "12 Acacia Avenue"), "null");
    }

    #[test]
    fn nhs_levels_ignore_invalid_numbers() {
        let n = |a: &str, b: &str| {
            nhs(
                &with(|r| r.nhs = Some(a.into())),
                &with(|r| r.nhs = Some(b.into())),
            )
        };
        assert_eq!(n("9434765919", "943 476 5919"), 1);
        assert_eq!(n("9434765919", "9000000009"), 2);
        assert_eq!(
            n("9999999991", "9999999991"),
            0,
            "an invalid number never agrees"
        );
        assert_eq!(n("9434765919", "9434765918"), 0);
    }

    #[test]
    fn labels_cover_every_level() {
        for f in Field::ALL {
            assert_eq!(f.levels()[0], "null");
            assert_eq!(f.levels().last().copied(), Some("different"));
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
    }
}
