//! Blocking: which pairs are compared at all. A rule is a conjunction of key parts (e.g. family-name
//! Soundex + given initial); records with the same key on any rule become a candidate pair. A pair found by
//! several rules is emitted once only, by the first rule that finds it (checked from the per-record keys,
//! so no global pair set is needed).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::compare::Field;
use crate::record::Prepared;
use crate::text::fnv64;

/// One component of a blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyPart {
    Nhs,
    Dob,
    DobYear,
    DobMonthDay,
    Sex,
    Given,
    GivenInitial,
    GivenSoundex,
    /// First nickname group of the given name, else its Soundex (Bob and Robert share it).
    GivenVariant,
    Family,
    FamilyInitial,
    FamilySoundex,
    /// Soundex codes of given and family name as an unordered pair (robust to swapped names).
    NamesUnordered,
    Postcode,
    PostcodeSector,
    PostcodeDistrict,
    Phone,
    Address,
    Locality,
}

impl KeyPart {
    /// The compared field this part constrains (excluded from EM training under the rule).
    #[must_use]
    pub fn field(self) -> Field {
        match self {
            Self::Nhs => Field::Nhs,
            Self::Dob | Self::DobYear | Self::DobMonthDay => Field::Dob,
            Self::Sex => Field::Sex,
            Self::Given | Self::GivenInitial | Self::GivenSoundex | Self::GivenVariant => {
                Field::Given
            }
            Self::Family | Self::FamilyInitial | Self::FamilySoundex | Self::NamesUnordered => {
                Field::Family
            }
            Self::Postcode | Self::PostcodeSector | Self::PostcodeDistrict => Field::Postcode,
            Self::Phone => Field::Phone,
            Self::Address => Field::Address,
            Self::Locality => Field::Locality,
        }
    }

    /// Feeds this part of `p` into `h`; false when the value is missing.
    fn feed(self, p: &Prepared, h: &mut u64) -> bool {
        let mut mix = |v: u64| *h = (*h ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
        let bytes = |s: &str| (!s.is_empty()).then(|| fnv64(s.as_bytes()));
        let v = match self {
            Self::Nhs => (p.nhs != 0).then_some(p.nhs),
            Self::Dob => p.dob.map(|d| u64::from_le_bytes(d.digits())),
            Self::DobYear => p.dob.map(|d| u64::from(d.year)),
            Self::DobMonthDay => p.dob.map(|d| u64::from(d.month) << 8 | u64::from(d.day)),
            Self::Sex => (p.sex != crate::record::Sex::Unknown).then_some(p.sex as u64),
            Self::Given => bytes(p.given()),
            Self::GivenInitial => p.given().bytes().next().map(u64::from),
            Self::GivenSoundex => (p.given_sx != 0).then_some(u64::from(p.given_sx)),
            Self::GivenVariant => (p.given_key != 0).then_some(u64::from(p.given_key)),
            Self::Family => bytes(p.family()),
            Self::FamilyInitial => p.family().bytes().next().map(u64::from),
            Self::FamilySoundex => (p.family_sx != 0).then_some(u64::from(p.family_sx)),
            Self::NamesUnordered => (p.family_sx != 0 && p.given_sx != 0).then(|| {
                let (lo, hi) = (p.given_sx.min(p.family_sx), p.given_sx.max(p.family_sx));
                u64::from(lo) << 32 | u64::from(hi)
            }),
            Self::Postcode => bytes(p.postcode()),
            Self::PostcodeSector => (p.pc_sector != 0).then_some(p.pc_sector),
            Self::PostcodeDistrict => (p.pc_district != 0).then_some(p.pc_district),
            Self::Phone => bytes(p.phone()),
            Self::Address => bytes(p.address()),
            Self::Locality => bytes(p.locality()),
        };
        match v {
            Some(v) => {
                mix(v.wrapping_add(self as u64));
                true
            }
            None => false,
        }
    }
}

/// A blocking rule: records agreeing on every part are compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockingRule {
    pub name: String,
    pub parts: Vec<KeyPart>,
}

/// Key value meaning "not blocked by this rule" (a part is missing).
pub const NO_KEY: u64 = 0;

impl BlockingRule {
    /// A rule from its parts, named after them.
    #[must_use]
    pub fn new(parts: &[KeyPart]) -> Self {
        let name = parts
            .iter()
            .map(|p| {
                serde_json::to_value(p)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("+");
        Self {
            name,
            parts: parts.to_vec(),
        }
    }

    /// The key of `p`, or [`NO_KEY`] when a part is missing.
    #[must_use]
    pub fn key(&self, p: &Prepared) -> u64 {
        let mut h = 0x5151_5151_u64;
        for part in &self.parts {
            if !part.feed(p, &mut h) {
                return NO_KEY;
            }
        }
        if h == NO_KEY {
            1
        } else {
            h
        }
    }

    /// True when the rule constrains `field`.
    #[must_use]
    pub fn uses(&self, field: Field) -> bool {
        self.parts.iter().any(|p| p.field() == field)
    }
}

/// Per-rule keys of every record, and the blocks (runs of equal keys) they form.
pub struct Blocks {
    /// Keys record-major: `keys[record * n_rules + rule]` (one cache line per record).
    keys: Vec<u64>,
    n_rules: usize,
    /// Per rule, records sorted by key (records with no key left out).
    sorted: Vec<Vec<(u64, u32)>>,
    /// Per rule, `(start, end)` ranges into `sorted` of blocks with at least two records and at most the
    /// size cap.
    pub ranges: Vec<Vec<(u32, u32)>>,
    /// Per rule, keys of blocks skipped for exceeding the size cap (sorted).
    pub oversized: Vec<Vec<u64>>,
}

impl Blocks {
    /// Computes keys and blocks for `records` under `rules`, skipping blocks larger than `max_block`.
    #[must_use]
    pub fn build(records: &[Prepared], rules: &[BlockingRule], max_block: usize) -> Self {
        let n_rules = rules.len();
        let keys: Vec<u64> = records
            .par_iter()
            .flat_map_iter(|p| rules.iter().map(move |r| r.key(p)))
            .collect();
        let mut sorted = Vec::with_capacity(rules.len());
        let mut ranges = Vec::with_capacity(rules.len());
        let mut oversized = Vec::with_capacity(rules.len());
        for rule in 0..n_rules {
            let mut s: Vec<(u64, u32)> = keys
                .iter()
                .skip(rule)
                .step_by(n_rules.max(1))
                .enumerate()
                .filter(|(_, &key)| key != NO_KEY)
                .filter_map(|(i, &key)| u32::try_from(i).ok().map(|i| (key, i)))
                .collect();
            s.par_sort_unstable();
            let (mut r, mut big) = (Vec::new(), Vec::new());
            let mut start = 0usize;
            while start < s.len() {
                let key = s[start].0;
                let end = start + s[start..].iter().take_while(|e| e.0 == key).count();
                let len = end - start;
                if len > max_block {
                    big.push(key);
                } else if len > 1 {
                    if let (Ok(a), Ok(b)) = (u32::try_from(start), u32::try_from(end)) {
                        r.push((a, b));
                    }
                }
                start = end;
            }
            big.sort_unstable();
            sorted.push(s);
            ranges.push(r);
            oversized.push(big);
        }
        Self {
            keys,
            n_rules,
            sorted,
            ranges,
            oversized,
        }
    }

    /// `(key, record)` entries of block `range` of `rule`.
    #[must_use]
    pub fn members(&self, rule: usize, range: (u32, u32)) -> &[(u64, u32)] {
        &self.sorted[rule][range.0 as usize..range.1 as usize]
    }

    /// True when an earlier rule than `rule` already yields the pair `(a, b)`.
    #[must_use]
    #[inline]
    pub fn seen_earlier(&self, rule: usize, a: u32, b: u32) -> bool {
        let ka = &self.keys[a as usize * self.n_rules..][..rule];
        let kb = &self.keys[b as usize * self.n_rules..][..rule];
        ka.iter().zip(kb).enumerate().any(|(q, (&x, &y))| {
            x != NO_KEY
                && x == y
                && (self.oversized[q].is_empty() || self.oversized[q].binary_search(&x).is_err())
        })
    }

    /// Number of pairs the blocks of `rule` hold (before de-duplication across rules).
    #[must_use]
    pub fn pair_count(&self, rule: usize) -> u64 {
        self.ranges[rule]
            .iter()
            .map(|&(s, e)| {
                let n = u64::from(e - s);
                n * (n - 1) / 2
            })
            .sum()
    }
}

/// Linkage settings: blocking rules, training sample sizes and decision thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Rules generating candidate pairs for prediction (pairs de-duplicated across rules).
    pub blocking: Vec<BlockingRule>,
    /// Rules whose blocked pairs train `m` by EM (each trains the fields it does not use).
    pub training_blocking: Vec<BlockingRule>,
    /// Random pairs sampled to estimate `u`.
    pub u_sample_pairs: usize,
    /// Most blocked pairs sampled per training rule.
    pub em_max_pairs: usize,
    pub em_max_iterations: u32,
    /// Convergence: largest change of any `m` between iterations.
    pub em_tolerance: f64,
    /// Seed of every random choice (training is deterministic).
    pub seed: u64,
    /// Probability at or above which a pair is linked automatically.
    pub link_threshold: f64,
    /// Probability at or above which a pair is queued for review (below the link threshold).
    pub review_threshold: f64,
    /// Blocks larger than this are skipped (logged in the statistics).
    pub max_block_size: usize,
    /// Adjust exact name matches by how common the name is.
    pub term_frequency: bool,
    /// Equal valid NHS numbers with compatible sex and date of birth link regardless of score.
    pub deterministic_nhs: bool,
}

impl Default for Settings {
    fn default() -> Self {
        use KeyPart as K;
        Self {
            blocking: vec![
                BlockingRule::new(&[K::Nhs]),
                BlockingRule::new(&[K::Dob, K::FamilyInitial]),
                BlockingRule::new(&[K::Dob, K::GivenInitial]),
                BlockingRule::new(&[K::FamilySoundex, K::GivenVariant, K::DobYear]),
                BlockingRule::new(&[K::FamilySoundex, K::GivenVariant, K::DobMonthDay]),
                BlockingRule::new(&[K::Postcode, K::FamilyInitial]),
                BlockingRule::new(&[K::Postcode, K::GivenInitial]),
                BlockingRule::new(&[K::Phone]),
                BlockingRule::new(&[K::Dob, K::PostcodeDistrict]),
                BlockingRule::new(&[K::NamesUnordered, K::DobYear]),
            ],
            training_blocking: vec![
                BlockingRule::new(&[K::Dob]),
                BlockingRule::new(&[K::Family, K::Given]),
                BlockingRule::new(&[K::Postcode]),
            ],
            u_sample_pairs: 1_000_000,
            em_max_pairs: 500_000,
            em_max_iterations: 100,
            em_tolerance: 1e-5,
            seed: 42,
            link_threshold: 0.95,
            review_threshold: 0.5,
            max_block_size: 2_000,
            term_frequency: true,
            deterministic_nhs: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    fn rec(given: &str, family: &str, pc: &str) -> Prepared {
        Prepared::new(&Record {
            given: given.into(),
            family: family.into(),
            postcode: pc.into(),
            ..Record::default()
        })
    }

    #[test]
    fn keys_need_every_part() {
        let r = BlockingRule::new(&[KeyPart::FamilySoundex, KeyPart::GivenInitial]);
        assert_eq!(r.name, "family-soundex+given-initial");
        assert_eq!(
            r.key(&rec("Ann", "Smith", "")),
            r.key(&rec("Alice", "Smyth", ""))
        );
        assert_ne!(
            r.key(&rec("Ann", "Smith", "")),
            r.key(&rec("Bea", "Smith", ""))
        );
        assert_eq!(r.key(&rec("", "Smith", "")), NO_KEY);
        assert!(r.uses(Field::Family) && !r.uses(Field::Dob));
    }

    #[test]
    fn pairs_are_deduplicated_across_rules() {
        let recs = vec![
            rec("Ann", "Smith", "A1"),
            rec("Ann", "Smith", "A1"),
            rec("Bob", "Smith", "A1"),
        ];
        let rules = vec![
            BlockingRule::new(&[KeyPart::Family, KeyPart::Given]),
            BlockingRule::new(&[KeyPart::Postcode]),
        ];
        let b = Blocks::build(&recs, &rules, 10);
        assert_eq!(b.pair_count(0), 1);
        assert_eq!(b.pair_count(1), 3);
        assert!(b.seen_earlier(1, 0, 1));
        assert!(!b.seen_earlier(1, 0, 2));
        let capped = Blocks::build(&recs, &rules, 2);
        assert_eq!(capped.pair_count(1), 0);
        assert_eq!(capped.oversized[1].len(), 1);
    }
}
