//! The Fellegi–Sunter model: per field and level the `m` probability (agreement at that level among true
//! matches) and `u` probability (among non-matches), the prior match probability λ, and term-frequency
//! tables for names. Serialisable as JSON. [`Model::weights`] compiles it into the flat weight table the
//! pair loop uses; [`score`] explains a single pair.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::compare::{pattern, Field, Pattern, EXACT, N_FIELDS};
use crate::record::{Prepared, Record};

/// Smallest probability kept for `m` and `u` (avoids infinite weights).
pub const MIN_PROB: f64 = 1e-9;

/// `m` and `u` of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    pub label: String,
    pub m: f64,
    pub u: f64,
}

impl LevelParams {
    /// log2(m/u); 0 for the null level.
    #[must_use]
    pub fn weight(&self) -> f64 {
        (self.m.max(MIN_PROB) / self.u.max(MIN_PROB)).log2()
    }
}

/// One field's levels (index 0 is null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonModel {
    pub field: Field,
    pub levels: Vec<LevelParams>,
}

/// Relative frequencies of normalised values, for term-frequency adjustment of exact matches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TermFrequencies {
    /// Frequency of each value seen at least twice.
    pub values: HashMap<String, f64>,
    /// Frequency assumed for any other value (one occurrence in the training data).
    pub default: f64,
}

impl TermFrequencies {
    /// Frequencies of the non-empty values in `values`.
    pub fn from_values<'a>(values: impl Iterator<Item = &'a str>) -> Self {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        let mut total = 0u64;
        for v in values.filter(|v| !v.is_empty()) {
            *counts.entry(v).or_insert(0) += 1;
            total += 1;
        }
        #[allow(clippy::cast_precision_loss)]
        let t = total.max(1) as f64;
        Self {
            values: counts
                .into_iter()
                .filter(|(_, c)| *c > 1)
                .map(|(v, c)| (v.to_owned(), f64::from(c) / t))
                .collect(),
            default: 1.0 / t,
        }
    }

    /// Frequency of `v` (the default for unseen values).
    #[must_use]
    pub fn get(&self, v: &str) -> f64 {
        self.values.get(v).copied().unwrap_or(self.default)
    }
}

/// A trained linkage model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// One entry per field, in [`Field::ALL`] order.
    pub comparisons: Vec<ComparisonModel>,
    /// Prior probability that two records drawn at random are the same person.
    pub lambda: f64,
    /// Term frequencies of normalised given names (empty: no adjustment).
    pub tf_given: TermFrequencies,
    /// Term frequencies of normalised family names.
    pub tf_family: TermFrequencies,
}

/// Largest number of levels of any field.
pub const MAX_LEVELS: usize = 10;

/// The compiled weight table of a model.
#[derive(Debug, Clone)]
pub struct Weights {
    /// log2 Bayes factor per field and level.
    pub w: [[f32; MAX_LEVELS]; N_FIELDS],
    /// log2 m of the exact level of given / family names (for term-frequency adjustment).
    pub log2_m_exact_given: f32,
    pub log2_m_exact_family: f32,
    /// Whether term frequencies adjust exact name matches.
    pub tf: bool,
    /// Largest weight any level of each field can give.
    pub max: [f32; N_FIELDS],
    /// log2(λ / (1 − λ)).
    pub prior: f32,
}

impl Model {
    /// A model with the given per-field `(m, u)` and default labels; for tests and hand-built models.
    #[must_use]
    pub fn from_params(params: &[Vec<(f64, f64)>; N_FIELDS], lambda: f64) -> Self {
        let comparisons = Field::ALL
            .iter()
            .zip(params)
            .map(|(&field, p)| ComparisonModel {
                field,
                levels: field
                    .levels()
                    .iter()
                    .zip(p.iter().chain(std::iter::repeat(&(0.0, 0.0))))
                    .map(|(l, &(m, u))| LevelParams {
                        label: (*l).to_owned(),
                        m,
                        u,
                    })
                    .collect(),
            })
            .collect();
        Self {
            comparisons,
            lambda,
            tf_given: TermFrequencies::default(),
            tf_family: TermFrequencies::default(),
        }
    }

    /// The compiled weight table.
    #[must_use]
    pub fn weights(&self) -> Weights {
        let mut w = [[0f32; MAX_LEVELS]; N_FIELDS];
        let mut max = [0f32; N_FIELDS];
        for c in &self.comparisons {
            let i = c.field.index();
            for (l, p) in c.levels.iter().enumerate().skip(1).take(MAX_LEVELS - 1) {
                #[allow(clippy::cast_possible_truncation)]
                let x = p.weight() as f32;
                w[i][l] = x;
                max[i] = max[i].max(x);
            }
        }
        let log2_m = |f: Field| {
            self.comparisons
                .iter()
                .find(|c| c.field == f)
                .and_then(|c| c.levels.get(usize::from(EXACT)))
                .map_or(0.0, |p| {
                    #[allow(clippy::cast_possible_truncation)]
                    let v = p.m.max(MIN_PROB).log2() as f32;
                    v
                })
        };
        let tf = !self.tf_family.values.is_empty() || !self.tf_given.values.is_empty();
        let (lg, lf) = (log2_m(Field::Given), log2_m(Field::Family));
        if tf {
            // A rare name can add at most what its frequency allows; bound with the default frequency.
            #[allow(clippy::cast_possible_truncation)]
            let bound = |m: f32, t: &TermFrequencies| m - t.default.max(MIN_PROB).log2() as f32;
            max[Field::Given.index()] = max[Field::Given.index()].max(bound(lg, &self.tf_given));
            max[Field::Family.index()] = max[Field::Family.index()].max(bound(lf, &self.tf_family));
        }
        let l = self.lambda.clamp(1e-12, 1.0 - 1e-12);
        #[allow(clippy::cast_possible_truncation)]
        let prior = (l / (1.0 - l)).log2() as f32;
        Weights {
            w,
            log2_m_exact_given: lg,
            log2_m_exact_family: lf,
            tf,
            max,
            prior,
        }
    }

    /// Normalises `r` and attaches its name term frequencies.
    #[must_use]
    pub fn prepare(&self, r: &Record) -> Prepared {
        let mut p = Prepared::new(r);
        self.attach_tf(&mut p);
        p
    }

    /// Sets `tf_given` / `tf_family` of a prepared record from this model's tables.
    pub fn attach_tf(&self, p: &mut Prepared) {
        #[allow(clippy::cast_possible_truncation)]
        let neg_log2 = |f: f64| -(f.max(MIN_PROB).log2()) as f32;
        p.tf_given = neg_log2(self.tf_given.get(p.given()));
        p.tf_family = neg_log2(self.tf_family.get(p.family()));
    }
}

impl Weights {
    /// The weight of `field` at `level` for the pair (term-frequency adjusted for exact names).
    #[must_use]
    #[inline]
    pub fn level_weight(&self, field: usize, level: u8, a: &Prepared) -> f32 {
        if self.tf && level == EXACT {
            if field == Field::Given.index() {
                return self.log2_m_exact_given + a.tf_given;
            }
            if field == Field::Family.index() {
                return self.log2_m_exact_family + a.tf_family;
            }
        }
        self.w[field][usize::from(level)]
    }

    /// Total match weight (log2 Bayes factor) of a comparison vector.
    #[must_use]
    #[inline]
    pub fn total(&self, p: &Pattern, a: &Prepared) -> f32 {
        (0..N_FIELDS).map(|f| self.level_weight(f, p[f], a)).sum()
    }

    /// Total weight without term-frequency adjustment.
    #[must_use]
    pub fn total_plain(&self, p: &Pattern) -> f32 {
        (0..N_FIELDS).map(|f| self.w[f][usize::from(p[f])]).sum()
    }

    /// Posterior match probability for a match weight.
    #[must_use]
    pub fn probability(&self, weight: f32) -> f64 {
        let x = f64::from(weight + self.prior);
        1.0 / (1.0 + (-x).exp2())
    }

    /// The match weight a probability threshold corresponds to.
    #[must_use]
    pub fn weight_for(&self, probability: f64) -> f32 {
        let p = probability.clamp(1e-12, 1.0 - 1e-12);
        #[allow(clippy::cast_possible_truncation)]
        let w = (p / (1.0 - p)).log2() as f32;
        w - self.prior
    }
}

/// One field's part of a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub field: Field,
    pub level: String,
    /// log2 Bayes factor this field adds (negative: evidence against).
    pub weight: f64,
}

/// A scored pair with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Sum of the contributions (log2 Bayes factor), without the prior.
    pub match_weight: f64,
    /// Posterior probability that the two records are the same person.
    pub probability: f64,
    pub contributions: Vec<Contribution>,
    /// True when either record carried an NHS number that failed the modulus-11 check (ignored).
    pub invalid_nhs_number: bool,
}

/// Scores a pair of prepared records with a compiled model, explaining each field.
#[must_use]
pub fn explain(model: &Model, w: &Weights, a: &Prepared, b: &Prepared) -> Score {
    let p = pattern(a, b);
    let contributions: Vec<Contribution> = Field::ALL
        .iter()
        .map(|&f| {
            let level = p[f.index()];
            let label = model
                .comparisons
                .get(f.index())
                .and_then(|c| c.levels.get(usize::from(level)));
            Contribution {
                field: f,
                level: label.map_or_else(
                    || f.levels()[usize::from(level)].to_owned(),
                    |l| l.label.clone(),
                ),
                weight: f64::from(w.level_weight(f.index(), level, a)),
            }
        })
        .collect();
    let total = w.total(&p, a);
    Score {
        match_weight: f64::from(total),
        probability: w.probability(total),
        contributions,
        invalid_nhs_number: a.nhs_invalid || b.nhs_invalid,
    }
}

/// Scores two records with `model` (normalising both; for one-off use — batch paths prepare once).
#[must_use]
pub fn score(model: &Model, a: &Record, b: &Record) -> Score {
    let w = model.weights();
    explain(model, &w, &model.prepare(a), &model.prepare(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_frequencies() {
        let tf =
            TermFrequencies::from_values(["SMITH", "SMITH", "SMITH", "ZYGMUNT", ""].into_iter());
        assert!((tf.get("SMITH") - 0.75).abs() < 1e-9);
        assert!((tf.get("ZYGMUNT") - 0.25).abs() < 1e-9);
        assert!((tf.get("OTHER") - 0.25).abs() < 1e-9);
        assert!(!tf.values.contains_key("ZYGMUNT"));
    }

    #[test]
    fn weights_and_probability() {
        let w = LevelParams {
            label: "exact".into(),
            m: 0.9,
            u: 0.01,
        };
        assert!((w.weight() - (90f64).log2()).abs() < 1e-9);
        let m = Model::from_params(
            &std::array::from_fn(|_| vec![(0.0, 0.0), (0.9, 0.1), (0.1, 0.9)]),
            0.5,
        );
        let ws = m.weights();
        assert!(ws.prior.abs() < 1e-6);
        assert!((ws.probability(0.0) - 0.5).abs() < 1e-9);
        assert!((ws.probability(ws.weight_for(0.99)) - 0.99).abs() < 1e-4);
        let back: Model = serde_json::from_str(&serde_json::to_string(&m).unwrap_or_default())
            .unwrap_or_else(|_| m.clone());
        assert_eq!(back, m);
    }
}
