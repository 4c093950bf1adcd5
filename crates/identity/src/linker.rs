//! Batch linkage: train on the data itself, deduplicate one set of records or link two, decide each pair
//! (link / review) and cluster the links into persons.
//!
//! Clusters are built from auto-link edges only, strongest first, and a merge is refused when it would put
//! two different valid NHS numbers in one person — so a weak link cannot chain two people together.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::blocking::{Blocks, Settings};
use crate::error::Error;
use crate::model::{Model, Weights};
use crate::pairs::{self, nhs_rule, Candidates, LoopOptions};
use crate::record::{Prepared, Record};
use crate::train as training;
use rayon::prelude::*;

/// What to do with a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Link,
    Review,
}

impl Decision {
    /// `link` / `review`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Review => "review",
        }
    }
}

/// A reported pair. `a` < `b` index the input records (for two-file linkage, the first file followed by
/// the second: `a` is in the first file and `b - len(first)` indexes the second).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub id_a: String,
    pub id_b: String,
    pub match_weight: f64,
    pub probability: f64,
    pub decision: Decision,
    /// True when the deterministic NHS-number rule made this a link.
    pub nhs_rule: bool,
}

/// Counters of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkStats {
    pub records: usize,
    pub candidate_pairs: u64,
    pub pruned_pairs: u64,
    /// Candidate pairs first found by each blocking rule.
    pub per_rule: Vec<(String, u64)>,
    /// Blocks skipped for exceeding `max_block_size`, per rule.
    pub oversized_blocks: Vec<(String, usize)>,
    pub links: usize,
    pub reviews: usize,
    /// Records whose NHS number failed the modulus-11 check (treated as missing).
    pub invalid_nhs_numbers: usize,
    /// Merges refused because the two clusters held different valid NHS numbers.
    pub refused_merges: usize,
    pub train_seconds: f64,
    pub predict_seconds: f64,
}

/// The result of deduplication or linkage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Linkage {
    /// Pairs at or above the review threshold, strongest first.
    pub pairs: Vec<Pair>,
    /// Cluster number of every record (records alone have their own cluster).
    pub cluster_of: Vec<usize>,
    /// Clusters with more than one record (record indices).
    pub clusters: Vec<Vec<usize>>,
    pub stats: LinkStats,
    /// Training details (empty when an existing model was used).
    pub training: training::TrainingLog,
}

/// Prepared records of one run.
struct Dataset<'a> {
    records: Vec<&'a Record>,
    prepared: Vec<Prepared>,
    /// Side of each record for two-file linkage.
    sides: Option<Vec<u8>>,
    n_a: usize,
}

impl<'a> Dataset<'a> {
    fn new(a: &'a [Record], b: Option<&'a [Record]>) -> Result<Self, Error> {
        let records: Vec<&Record> = a.iter().chain(b.unwrap_or(&[])).collect();
        if records.len() > u32::MAX as usize - 1 {
            return Err(Error::TooManyRecords(records.len()));
        }
        let prepared = records.par_iter().map(|r| Prepared::new(r)).collect();
        let sides = b.map(|_| {
            records
                .iter()
                .enumerate()
                .map(|(i, _)| u8::from(i >= a.len()))
                .collect()
        });
        Ok(Self {
            records,
            prepared,
            sides,
            n_a: a.len(),
        })
    }

    fn total_pairs(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let (n, a) = (self.records.len() as f64, self.n_a as f64);
        if self.sides.is_some() {
            a * (n - a)
        } else {
            n * (n - 1.0) / 2.0
        }
    }

    fn attach_tf(&mut self, model: &Model) {
        for p in &mut self.prepared {
            model.attach_tf(p);
        }
    }
}

/// Prune bound used while the prior is being estimated (log2 Bayes factor).
const FIT_PRUNE: f32 = -10.0;

/// Trains a model on the dataset and returns it with the candidate pairs already compared.
fn fit(
    ds: &mut Dataset<'_>,
    settings: &Settings,
) -> Result<(Model, Candidates, Blocks, training::TrainingLog), Error> {
    if ds.records.len() < 2 || (ds.sides.is_some() && (ds.n_a == 0 || ds.n_a == ds.records.len())) {
        return Err(Error::TooFewRecords);
    }
    let tf = settings
        .term_frequency
        .then(|| training::term_frequencies(&ds.prepared));
    let u = training::estimate_u(&ds.prepared, ds.sides.as_deref(), settings);
    let (m, log) = training::estimate_m(&ds.prepared, ds.sides.as_deref(), &u, settings);
    let mut model = training::build_model(&m, &u, 0.5, tf);
    ds.attach_tf(&model);
    let sides = ds.sides.as_deref();
    let weights = model.weights();
    let blocks = Blocks::build(&ds.prepared, &settings.blocking, settings.max_block_size);
    let opts = LoopOptions {
        keep_min: 0.0,
        prune_below: FIT_PRUNE,
        histogram: true,
        deterministic_nhs: settings.deterministic_nhs,
    };
    let cands = pairs::run(&ds.prepared, sides, &blocks, &weights, &opts);
    let lambda_c = training::candidate_lambda(&cands.histogram, cands.pruned, &m, &u);
    #[allow(clippy::cast_precision_loss)]
    let expected = lambda_c * cands.candidates as f64;
    model.lambda = (expected / ds.total_pairs().max(1.0)).clamp(1e-12, 0.5);
    Ok((model, cands, blocks, log))
}

/// Decides, sorts and clusters the kept pairs.
fn finish(
    ds: &Dataset<'_>,
    w: &Weights,
    cands: Candidates,
    blocks: &Blocks,
    settings: &Settings,
) -> Linkage {
    let mut pairs: Vec<Pair> = cands
        .kept
        .iter()
        .filter_map(|s| {
            let probability = w.probability(s.weight);
            let forced = settings.deterministic_nhs && nhs_rule(&s.pattern);
            let decision = if forced || probability >= settings.link_threshold {
                Decision::Link
            } else if probability >= settings.review_threshold {
                Decision::Review
            } else {
                return None;
            };
            let (a, b) = (s.a as usize, s.b as usize);
            Some(Pair {
                a,
                b,
                id_a: ds.records[a].id.clone(),
                id_b: ds.records[b].id.clone(),
                match_weight: f64::from(s.weight),
                probability,
                decision,
                nhs_rule: forced && probability < settings.link_threshold,
            })
        })
        .collect();
    pairs.sort_by(|x, y| {
        (y.decision == Decision::Link)
            .cmp(&(x.decision == Decision::Link))
            .then(y.match_weight.total_cmp(&x.match_weight))
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    let (cluster_of, clusters, refused) = cluster(&ds.prepared, &pairs);
    let names = settings.blocking.iter().map(|r| r.name.clone());
    let stats = LinkStats {
        records: ds.records.len(),
        candidate_pairs: cands.candidates,
        pruned_pairs: cands.pruned,
        per_rule: names.clone().zip(cands.per_rule.iter().copied()).collect(),
        oversized_blocks: names.zip(blocks.oversized.iter().map(Vec::len)).collect(),
        links: pairs
            .iter()
            .filter(|p| p.decision == Decision::Link)
            .count(),
        reviews: pairs
            .iter()
            .filter(|p| p.decision == Decision::Review)
            .count(),
        invalid_nhs_numbers: ds.prepared.iter().filter(|p| p.nhs_invalid).count(),
        refused_merges: refused,
        ..LinkStats::default()
    };
    Linkage {
        pairs,
        cluster_of,
        clusters,
        stats,
        training: training::TrainingLog::default(),
    }
}

/// Union-find over link pairs (already strongest first) refusing NHS-number conflicts.
fn cluster(recs: &[Prepared], pairs: &[Pair]) -> (Vec<usize>, Vec<Vec<usize>>, usize) {
    let n = recs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut nhs: Vec<u64> = recs.iter().map(|r| r.nhs).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut refused = 0;
    for p in pairs.iter().filter(|p| p.decision == Decision::Link) {
        let (ra, rb) = (find(&mut parent, p.a), find(&mut parent, p.b));
        if ra == rb {
            continue;
        }
        if nhs[ra] != 0 && nhs[rb] != 0 && nhs[ra] != nhs[rb] {
            refused += 1;
            continue;
        }
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[child] = root;
        if nhs[root] == 0 {
            nhs[root] = nhs[child];
        }
    }
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &r) in roots.iter().enumerate() {
        members[r].push(i);
    }
    let clusters = members.into_iter().filter(|m| m.len() > 1).collect();
    (roots, clusters, refused)
}

fn run_trained(
    a: &[Record],
    b: Option<&[Record]>,
    settings: &Settings,
) -> Result<(Model, Linkage), Error> {
    let t0 = Instant::now();
    let mut ds = Dataset::new(a, b)?;
    let (model, cands, blocks, log) = fit(&mut ds, settings)?;
    let t1 = Instant::now();
    let mut out = finish(&ds, &model.weights(), cands, &blocks, settings);
    out.training = log;
    out.stats.train_seconds = (t1 - t0).as_secs_f64();
    out.stats.predict_seconds = t1.elapsed().as_secs_f64();
    Ok((model, out))
}

fn run_with(
    a: &[Record],
    b: Option<&[Record]>,
    model: &Model,
    settings: &Settings,
) -> Result<Linkage, Error> {
    let t0 = Instant::now();
    let mut ds = Dataset::new(a, b)?;
    ds.attach_tf(model);
    let w = model.weights();
    let keep = w.weight_for(settings.review_threshold);
    let blocks = Blocks::build(&ds.prepared, &settings.blocking, settings.max_block_size);
    let opts = LoopOptions {
        keep_min: keep,
        prune_below: keep,
        histogram: false,
        deterministic_nhs: settings.deterministic_nhs,
    };
    let cands = pairs::run(&ds.prepared, ds.sides.as_deref(), &blocks, &w, &opts);
    let mut out = finish(&ds, &w, cands, &blocks, settings);
    out.stats.predict_seconds = t0.elapsed().as_secs_f64();
    Ok(out)
}

/// Trains a model on `records` (no labels).
///
/// # Errors
/// [`Error::TooFewRecords`] with fewer than two records.
pub fn train(records: &[Record], settings: &Settings) -> Result<Model, Error> {
    let mut ds = Dataset::new(records, None)?;
    Ok(fit(&mut ds, settings)?.0)
}

/// Trains a model for linking `a` with `b` (no labels).
///
/// # Errors
/// [`Error::TooFewRecords`] when either side is empty.
pub fn train_link(a: &[Record], b: &[Record], settings: &Settings) -> Result<Model, Error> {
    let mut ds = Dataset::new(a, Some(b))?;
    Ok(fit(&mut ds, settings)?.0)
}

/// Finds duplicates within `records` with an existing model.
///
/// # Errors
/// [`Error::TooManyRecords`] beyond 4 billion records.
pub fn dedupe(records: &[Record], model: &Model, settings: &Settings) -> Result<Linkage, Error> {
    run_with(records, None, model, settings)
}

/// Links records of `a` with records of `b` with an existing model.
///
/// # Errors
/// [`Error::TooManyRecords`] beyond 4 billion records.
pub fn link(
    a: &[Record],
    b: &[Record],
    model: &Model,
    settings: &Settings,
) -> Result<Linkage, Error> {
    run_with(a, Some(b), model, settings)
}

/// Trains on `records` and deduplicates them, sharing the candidate pass.
///
/// # Errors
/// [`Error::TooFewRecords`] with fewer than two records.
pub fn train_and_dedupe(
    records: &[Record],
    settings: &Settings,
) -> Result<(Model, Linkage), Error> {
    run_trained(records, None, settings)
}

/// Trains on both files and links them, sharing the candidate pass.
///
/// # Errors
/// [`Error::TooFewRecords`] when either side is empty.
pub fn train_and_link(
    a: &[Record],
    b: &[Record],
    settings: &Settings,
) -> Result<(Model, Linkage), Error> {
    run_trained(a, Some(b), settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Dob, Sex};

    fn person(
        id: &str,
        given: &str,
        family: &str,
        y: u16,
        m: u8,
        d: u8,
        nhs: Option<&str>,
    ) -> Record {
        Record {
            id: id.into(),
            given: given.into(),
            family: family.into(),
            dob: Dob::new(y, m, d),
            sex: Sex::Female,
            nhs: nhs.map(str::to_owned),
            ..Record::default()
        }
    }

    #[test]
    fn clustering_refuses_two_nhs_numbers() {
        let recs = [
            person("a", "Ann", "Smith", 1950, 1, 2, Some("9434765919")),
            person("b", "Ann", "Smith", 1950, 1, 2, None),
            person("c", "Ann", "Smith", 1950, 1, 2, Some("9000000009")),
        ];
        let preps: Vec<Prepared> = recs.iter().map(Prepared::new).collect();
        let mk = |a, b, w| Pair {
            a,
            b,
            id_a: String::new(),
            id_b: String::new(),
            match_weight: w,
            probability: 1.0,
            decision: Decision::Link,
            nhs_rule: false,
        };
        let (of, clusters, refused) = cluster(&preps, &[mk(0, 1, 30.0), mk(1, 2, 29.0)]);
        assert_eq!(refused, 1);
        assert_eq!(clusters, vec![vec![0, 1]]);
        assert_ne!(of[2], of[0]);
    }

    #[test]
    fn too_few_records_is_an_error() {
        let one = [person("a", "Ann", "Smith", 1950, 1, 2, None)];
        assert!(matches!(
            train(&one, &Settings::default()),
            Err(Error::TooFewRecords)
        ));
        assert!(matches!(
            train_link(&one, &[], &Settings::default()),
            Err(Error::TooFewRecords)
        ));
    }
}
