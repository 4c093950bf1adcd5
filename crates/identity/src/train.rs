//! Unsupervised training, as Splink does it: `u` from random pairs, `m` by expectation–maximisation over
//! the pairs of each training blocking rule (a rule trains only the fields it does not block on; estimates
//! are averaged over rules), and the prior λ from the expected number of matches among the candidate pairs.
//! EM runs over the histogram of distinct comparison vectors, so each iteration costs microseconds.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::blocking::{BlockingRule, Blocks, Settings};
use crate::compare::{pattern, Field, Pattern, N_FIELDS};
use crate::model::{ComparisonModel, LevelParams, Model, TermFrequencies, MIN_PROB};
use crate::record::Prepared;

/// A deterministic 64-bit generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Per field, per level probabilities.
pub type Probs = Vec<Vec<f64>>;

/// Term-frequency tables of given and family names.
#[must_use]
pub fn term_frequencies(recs: &[Prepared]) -> (TermFrequencies, TermFrequencies) {
    (
        TermFrequencies::from_values(recs.iter().map(|r| r.given())),
        TermFrequencies::from_values(recs.iter().map(|r| r.family())),
    )
}

/// Per-field level counts of a set of comparison vectors.
fn level_counts<'a>(patterns: impl Iterator<Item = (&'a Pattern, f64)>) -> Probs {
    let mut counts: Probs = Field::ALL
        .iter()
        .map(|f| vec![0.0; f.levels().len()])
        .collect();
    for (p, c) in patterns {
        for (f, &l) in p.iter().enumerate() {
            if let Some(x) = counts[f].get_mut(usize::from(l)) {
                *x += c;
            }
        }
    }
    counts
}

/// Normalises non-null level counts to probabilities with a small pseudo-count so no level is zero.
fn normalise(counts: &mut [Vec<f64>], pseudo: f64) {
    for levels in counts {
        let total: f64 = levels.iter().skip(1).sum::<f64>() + pseudo * (levels.len() - 1) as f64;
        levels[0] = 0.0;
        for x in levels.iter_mut().skip(1) {
            *x = ((*x + pseudo) / total).max(MIN_PROB);
        }
    }
}

/// `u` from up to `settings.u_sample_pairs` random pairs (different sides only when `sides` is set).
#[must_use]
pub fn estimate_u(recs: &[Prepared], sides: Option<&[u8]>, settings: &Settings) -> Probs {
    let n = recs.len() as u64;
    let possible = match sides {
        Some(s) => {
            let b = s.iter().filter(|&&x| x != 0).count() as u64;
            b * (n - b)
        }
        None => n * n.saturating_sub(1) / 2,
    };
    let wanted = (settings.u_sample_pairs as u64).min(possible).max(1);
    let chunks = wanted.min(64);
    let per_chunk = wanted.div_ceil(chunks);
    let hist: FxHashMap<Pattern, u64> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut rng = SplitMix(settings.seed ^ (c + 1).wrapping_mul(0xA24B_AED4_963E_E407));
            let mut h: FxHashMap<Pattern, u64> = FxHashMap::default();
            let mut tries = 0;
            let mut got = 0;
            while got < per_chunk && tries < per_chunk * 4 && n > 1 {
                tries += 1;
                let (a, b) = (rng.below(n) as usize, rng.below(n) as usize);
                if a == b || sides.is_some_and(|s| s[a] == s[b]) {
                    continue;
                }
                got += 1;
                *h.entry(pattern(&recs[a], &recs[b])).or_insert(0) += 1;
            }
            h
        })
        .reduce(FxHashMap::default, |mut a, b| {
            for (p, c) in b {
                *a.entry(p).or_insert(0) += c;
            }
            a
        });
    #[allow(clippy::cast_precision_loss)]
    let mut u = level_counts(hist.iter().map(|(p, &c)| (p, c as f64)));
    normalise(&mut u, 0.1);
    u
}

/// Starting `m`: most mass on the first non-null level, decreasing, little on "different".
#[must_use]
pub fn initial_m() -> Probs {
    Field::ALL
        .iter()
        .map(|f| {
            let n = f.levels().len();
            let mut v: Vec<f64> = (0..n)
                .map(|l| match l {
                    0 => 0.0,
                    l if l + 1 == n => 0.05,
                    l => 0.5f64.powi(i32::try_from(l).unwrap_or(30) - 1),
                })
                .collect();
            let s: f64 = v.iter().sum();
            v.iter_mut().for_each(|x| *x /= s);
            v
        })
        .collect()
}

/// Result of one EM run.
#[derive(Debug, Clone)]
pub struct EmResult {
    pub m: Probs,
    pub lambda: f64,
    pub iterations: u32,
    pub converged: bool,
}

/// EM over a comparison-vector histogram with `u` fixed; only `active` fields enter the likelihood and
/// get new `m`.
#[must_use]
pub fn em(
    hist: &[(Pattern, f64)],
    u: &Probs,
    m_init: &Probs,
    active: &[bool; N_FIELDS],
    settings: &Settings,
) -> EmResult {
    let mut m = m_init.clone();
    let mut lambda = 0.3f64;
    let total: f64 = hist.iter().map(|h| h.1).sum();
    for it in 1..=settings.em_max_iterations {
        let mut counts: Probs = m.iter().map(|l| vec![0.0; l.len()]).collect();
        let mut expected = 0.0;
        for (p, c) in hist {
            let mut log_bf = 0.0;
            for f in (0..N_FIELDS).filter(|&f| active[f]) {
                let l = usize::from(p[f]);
                if l > 0 {
                    log_bf += (m[f][l] / u[f][l]).ln();
                }
            }
            let odds = lambda / (1.0 - lambda) * log_bf.clamp(-700.0, 700.0).exp();
            let post = odds / (1.0 + odds);
            expected += post * c;
            for f in 0..N_FIELDS {
                counts[f][usize::from(p[f])] += post * c;
            }
        }
        normalise(&mut counts, 1e-3);
        let mut delta: f64 = 0.0;
        for f in (0..N_FIELDS).filter(|&f| active[f]) {
            for (old, new) in m[f].iter_mut().zip(&counts[f]).skip(1) {
                delta = delta.max((*old - new).abs());
                *old = *new;
            }
        }
        lambda = (expected / total.max(1.0)).clamp(1e-9, 1.0 - 1e-9);
        if delta < settings.em_tolerance {
            return EmResult {
                m,
                lambda,
                iterations: it,
                converged: true,
            };
        }
    }
    EmResult {
        m,
        lambda,
        iterations: settings.em_max_iterations,
        converged: false,
    }
}

/// The histogram of (a deterministic sample of) the pairs blocked by `rule`.
fn rule_histogram(
    recs: &[Prepared],
    sides: Option<&[u8]>,
    rule: &BlockingRule,
    settings: &Settings,
) -> Vec<(Pattern, f64)> {
    let blocks = Blocks::build(recs, std::slice::from_ref(rule), settings.max_block_size);
    let total = blocks.pair_count(0).max(1);
    let keep_every = total.div_ceil(settings.em_max_pairs.max(1) as u64);
    let hist = blocks.ranges[0]
        .par_iter()
        .fold(FxHashMap::<Pattern, u64>::default, |mut h, &range| {
            let members = blocks.members(0, range);
            for (i, &(_, a)) in members.iter().enumerate() {
                for &(_, b) in &members[i + 1..] {
                    if sides.is_some_and(|s| s[a as usize] == s[b as usize]) {
                        continue;
                    }
                    let mut rng = SplitMix(settings.seed ^ (u64::from(a) << 32 | u64::from(b)));
                    if keep_every > 1 && rng.below(keep_every) != 0 {
                        continue;
                    }
                    *h.entry(pattern(&recs[a as usize], &recs[b as usize]))
                        .or_insert(0) += 1;
                }
            }
            h
        })
        .reduce(FxHashMap::default, |mut a, b| {
            for (p, c) in b {
                *a.entry(p).or_insert(0) += c;
            }
            a
        });
    #[allow(clippy::cast_precision_loss)]
    let mut v: Vec<(Pattern, f64)> = hist.into_iter().map(|(p, c)| (p, c as f64)).collect();
    v.sort_unstable_by_key(|h| h.0);
    v
}

/// What training did, for reports.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TrainingLog {
    /// Per training rule: name, distinct comparison vectors, EM iterations, converged, λ within the rule.
    pub rules: Vec<(String, usize, u32, bool, f64)>,
    /// Fields no training rule could estimate (left at their starting `m`).
    pub untrained: Vec<Field>,
}

/// `m` averaged over the training rules (each estimating the fields it does not block on).
#[must_use]
pub fn estimate_m(
    recs: &[Prepared],
    sides: Option<&[u8]>,
    u: &Probs,
    settings: &Settings,
) -> (Probs, TrainingLog) {
    let init = initial_m();
    let mut sum: Probs = init.iter().map(|l| vec![0.0; l.len()]).collect();
    let mut n = [0u32; N_FIELDS];
    let mut log = TrainingLog::default();
    for rule in &settings.training_blocking {
        let hist = rule_histogram(recs, sides, rule, settings);
        let active: [bool; N_FIELDS] = std::array::from_fn(|f| !rule.uses(Field::ALL[f]));
        if hist.is_empty() {
            continue;
        }
        let r = em(&hist, u, &init, &active, settings);
        log.rules.push((
            rule.name.clone(),
            hist.len(),
            r.iterations,
            r.converged,
            r.lambda,
        ));
        for f in (0..N_FIELDS).filter(|&f| active[f]) {
            n[f] += 1;
            for (s, x) in sum[f].iter_mut().zip(&r.m[f]) {
                *s += x;
            }
        }
    }
    let m = sum
        .into_iter()
        .zip(init)
        .enumerate()
        .map(|(f, (s, i))| {
            if n[f] == 0 {
                log.untrained.push(Field::ALL[f]);
                i
            } else {
                s.into_iter().map(|x| x / f64::from(n[f])).collect()
            }
        })
        .collect();
    (m, log)
}

/// λ among candidate pairs by EM with `m` and `u` fixed, from their comparison-vector histogram; pairs
/// pruned before full comparison count as non-matches.
#[must_use]
pub fn candidate_lambda(hist: &FxHashMap<Pattern, u64>, pruned: u64, m: &Probs, u: &Probs) -> f64 {
    let bfs: Vec<(f64, f64)> = hist
        .iter()
        .map(|(p, &c)| {
            let log_bf: f64 = (0..N_FIELDS)
                .filter(|&f| p[f] > 0)
                .map(|f| (m[f][usize::from(p[f])] / u[f][usize::from(p[f])]).ln())
                .sum();
            #[allow(clippy::cast_precision_loss)]
            let c = c as f64;
            (log_bf.clamp(-700.0, 700.0).exp(), c)
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let total = bfs.iter().map(|x| x.1).sum::<f64>() + pruned as f64;
    let mut lambda = 0.1f64;
    for _ in 0..200 {
        let odds = lambda / (1.0 - lambda);
        let expected: f64 = bfs
            .iter()
            .map(|&(bf, c)| c * odds * bf / (1.0 + odds * bf))
            .sum();
        let next = (expected / total.max(1.0)).clamp(1e-12, 1.0 - 1e-9);
        if (next - lambda).abs() < 1e-12 {
            return next;
        }
        lambda = next;
    }
    lambda
}

/// Assembles a model from `m`, `u`, λ and term frequencies.
#[must_use]
pub fn build_model(
    m: &Probs,
    u: &Probs,
    lambda: f64,
    tf: Option<(TermFrequencies, TermFrequencies)>,
) -> Model {
    let comparisons = Field::ALL
        .iter()
        .map(|&field| {
            let f = field.index();
            ComparisonModel {
                field,
                levels: field
                    .levels()
                    .iter()
                    .enumerate()
                    .map(|(l, label)| LevelParams {
                        label: (*label).to_owned(),
                        m: m[f][l],
                        u: u[f][l],
                    })
                    .collect(),
            }
        })
        .collect();
    let (tf_given, tf_family) = tf.unwrap_or_default();
    Model {
        comparisons,
        lambda,
        tf_given,
        tf_family,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny synthetic population: 200 matches agreeing on most fields, 2,000 non-matches agreeing rarely.
    #[test]
    fn em_recovers_m_and_lambda_on_a_synthetic_set() {
        let settings = Settings::default();
        let mut rng = SplitMix(7);
        let mut hist: FxHashMap<Pattern, u64> = FxHashMap::default();
        let draw = |rng: &mut SplitMix, p_agree: f64| -> u8 {
            if (rng.next_u64() as f64 / u64::MAX as f64) < p_agree {
                1
            } else {
                2
            }
        };
        for i in 0..2200 {
            let matched = i < 200;
            let mut p = [0u8; N_FIELDS];
            for f in [Field::Sex, Field::Nhs] {
                p[f.index()] = draw(&mut rng, if matched { 0.95 } else { 0.05 });
            }
            *hist.entry(p).or_insert(0) += 1;
        }
        let h: Vec<(Pattern, f64)> = hist.iter().map(|(p, &c)| (*p, c as f64)).collect();
        let mut u = initial_m();
        for f in [Field::Sex, Field::Nhs] {
            u[f.index()] = vec![0.0, 0.05, 0.95];
        }
        let active: [bool; N_FIELDS] =
            std::array::from_fn(|f| f == Field::Sex.index() || f == Field::Nhs.index());
        let r = em(&h, &u, &initial_m(), &active, &settings);
        assert!(
            r.converged,
            "EM did not converge in {} iterations",
            r.iterations
        );
        assert!(
            (r.lambda - 200.0 / 2200.0).abs() < 0.02,
            "lambda {}",
            r.lambda
        );
        let m_sex = r.m[Field::Sex.index()][1];
        assert!((m_sex - 0.95).abs() < 0.05, "m {m_sex}");
        let lam = candidate_lambda(&hist, 0, &r.m, &u);
        assert!(
            (lam - 200.0 / 2200.0).abs() < 0.02,
            "candidate lambda {lam}"
        );
    }

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let (mut a, mut b) = (SplitMix(1), SplitMix(1));
        for _ in 0..100 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
    }
}
