//! The pair loop: enumerate candidate pairs from the blocks (each pair once), compare, weigh and keep the
//! ones worth reporting. Cheap comparisons run first; when even the best possible outcome of the expensive
//! string comparisons cannot lift a pair above the pruning bound it is dropped without computing them.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::blocking::Blocks;
use crate::compare::{Field, Pattern, EXACT, N_FIELDS};
use crate::model::Weights;
use crate::record::Prepared;

/// A compared candidate pair.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub a: u32,
    pub b: u32,
    pub weight: f32,
    pub pattern: Pattern,
}

/// Output of the pair loop.
#[derive(Debug, Default)]
pub struct Candidates {
    /// Pairs at or above the keep bound (or forced by the NHS rule), in no particular order.
    pub kept: Vec<Scored>,
    /// Comparison-vector histogram of every fully compared pair (when requested).
    pub histogram: FxHashMap<Pattern, u64>,
    /// Candidate pairs (after de-duplication across rules).
    pub candidates: u64,
    /// Candidate pairs dropped before the expensive comparisons.
    pub pruned: u64,
    /// Candidate pairs first found by each rule.
    pub per_rule: Vec<u64>,
}

impl Candidates {
    fn merge(mut self, other: Self) -> Self {
        if self.kept.len() < other.kept.len() {
            return other.merge(self);
        }
        self.kept.extend(other.kept);
        for (p, c) in other.histogram {
            *self.histogram.entry(p).or_insert(0) += c;
        }
        self.candidates += other.candidates;
        self.pruned += other.pruned;
        if self.per_rule.len() < other.per_rule.len() {
            self.per_rule.resize(other.per_rule.len(), 0);
        }
        for (i, c) in other.per_rule.into_iter().enumerate() {
            self.per_rule[i] += c;
        }
        self
    }
}

/// What the pair loop keeps.
#[derive(Debug, Clone, Copy)]
pub struct LoopOptions {
    /// Keep pairs whose match weight is at least this.
    pub keep_min: f32,
    /// Skip the expensive comparisons when the best reachable weight is below this.
    pub prune_below: f32,
    /// Build the comparison-vector histogram.
    pub histogram: bool,
    /// Keep pairs with equal valid NHS numbers and compatible sex and date of birth regardless of weight.
    pub deterministic_nhs: bool,
}

const CHEAP: [Field; 5] = [
    Field::Nhs,
    Field::Dob,
    Field::Sex,
    Field::Postcode,
    Field::Phone,
];
const NAMES: [Field; 2] = [Field::Given, Field::Family];
const REST: [Field; 2] = [Field::Address, Field::Locality];

/// True when the pattern satisfies the deterministic NHS-number rule.
#[must_use]
pub fn nhs_rule(p: &Pattern) -> bool {
    let dob_different = usize::from(p[Field::Dob.index()]) + 1 == Field::Dob.levels().len();
    p[Field::Nhs.index()] == EXACT && p[Field::Sex.index()] != 2 && !dob_different
}

/// Compares one pair; `None` when pruned.
#[inline]
fn compare(a: &Prepared, b: &Prepared, w: &Weights, opts: &LoopOptions) -> Option<(Pattern, f32)> {
    let mut p = [0u8; N_FIELDS];
    let mut partial = 0f32;
    for f in CHEAP {
        let l = f.compare(a, b);
        p[f.index()] = l;
        partial += w.w[f.index()][usize::from(l)];
    }
    let forced = opts.deterministic_nhs && nhs_rule(&p);
    let rest_max: f32 = REST.iter().map(|f| w.max[f.index()]).sum();
    let names_max: f32 = NAMES.iter().map(|f| w.max[f.index()]).sum();
    if partial + names_max + rest_max < opts.prune_below && !forced {
        return None;
    }
    for f in NAMES {
        let l = f.compare(a, b);
        p[f.index()] = l;
        partial += w.level_weight(f.index(), l, a);
    }
    if partial + rest_max < opts.prune_below && !forced {
        return None;
    }
    for f in REST {
        p[f.index()] = f.compare(a, b);
    }
    Some((p, w.total(&p, a)))
}

/// Runs the pair loop over every block of every rule. With `sides`, only pairs from different sides
/// (two-file linkage) are compared.
#[must_use]
pub fn run(
    recs: &[Prepared],
    sides: Option<&[u8]>,
    blocks: &Blocks,
    w: &Weights,
    opts: &LoopOptions,
) -> Candidates {
    let n_rules = blocks.ranges.len();
    let work: Vec<(usize, (u32, u32))> = (0..n_rules)
        .flat_map(|r| blocks.ranges[r].iter().map(move |&range| (r, range)))
        .collect();
    work.par_iter()
        .fold(
            || Candidates {
                per_rule: vec![0; n_rules],
                ..Candidates::default()
            },
            |mut acc, &(rule, range)| {
                let members = blocks.members(rule, range);
                for (i, &(_, a)) in members.iter().enumerate() {
                    for &(_, b) in &members[i + 1..] {
                        let (a, b) = if a < b { (a, b) } else { (b, a) };
                        if sides.is_some_and(|s| s[a as usize] == s[b as usize])
                            || blocks.seen_earlier(rule, a, b)
                        {
                            continue;
                        }
                        acc.candidates += 1;
                        acc.per_rule[rule] += 1;
                        let (ra, rb) = (&recs[a as usize], &recs[b as usize]);
                        let Some((pattern, weight)) = compare(ra, rb, w, opts) else {
                            acc.pruned += 1;
                            continue;
                        };
                        if opts.histogram {
                            *acc.histogram.entry(pattern).or_insert(0) += 1;
                        }
                        if weight >= opts.keep_min || (opts.deterministic_nhs && nhs_rule(&pattern))
                        {
                            acc.kept.push(Scored {
                                a,
                                b,
                                weight,
                                pattern,
                            });
                        }
                    }
                }
                acc
            },
        )
        .reduce(Candidates::default, Candidates::merge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocking::{BlockingRule, KeyPart};
    use crate::model::Model;
    use crate::record::{Dob, Record, Sex};

    #[test]
    fn loop_keeps_matches_and_counts_each_pair_once() {
        let mk = |id: &str, g: &str, f: &str, y: u16| {
            Prepared::new(&Record {
                id: id.into(),
                given: g.into(),
                family: f.into(),
                dob: Dob::new(y, 1, 2),
                sex: Sex::Male,
                ..Record::default()
            })
        };
        let recs = vec![
            mk("1", "Ann", "Smith", 1950),
            mk("2", "Ann", "Smith", 1950),
            mk("3", "Zed", "Jones", 1950),
        ];
        let rules = vec![
            BlockingRule::new(&[KeyPart::Dob]),
            BlockingRule::new(&[KeyPart::Family]),
        ];
        let blocks = Blocks::build(&recs, &rules, 100);
        let params: [Vec<(f64, f64)>; N_FIELDS] = std::array::from_fn(|f| {
            let n = Field::ALL[f].levels().len();
            (0..n)
                .map(|l| {
                    if l == 0 {
                        (0.0, 0.0)
                    } else if l == 1 {
                        (0.9, 0.01)
                    } else {
                        (0.1 / (n - 2) as f64, 0.99 / (n - 2) as f64)
                    }
                })
                .collect()
        });
        let w = Model::from_params(&params, 0.01).weights();
        let opts = LoopOptions {
            keep_min: 15.0,
            prune_below: -100.0,
            histogram: true,
            deterministic_nhs: true,
        };
        let c = run(&recs, None, &blocks, &w, &opts);
        assert_eq!(c.candidates, 3);
        assert_eq!(c.per_rule, vec![3, 0]);
        assert_eq!(c.pruned, 0);
        assert_eq!(c.kept.len(), 1);
        assert_eq!((c.kept[0].a, c.kept[0].b), (0, 1));
        assert_eq!(c.histogram.values().sum::<u64>(), 3);
        let sides = [0u8, 0, 1];
        let c = run(&recs, Some(&sides), &blocks, &w, &opts);
        assert_eq!(c.candidates, 2);
    }
}
