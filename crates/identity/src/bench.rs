//! Benchmarks (not timed tests): train + deduplicate `n` synthetic records, and query a [`MatchIndex`] of
//! `n` people. Run with `cargo bench -p weave-identity --bench dedupe`.

use std::time::Instant;

use serde::Serialize;

use crate::blocking::Settings;
use crate::error::Error;
use crate::eval::{cluster_metrics, Metrics};
use crate::index::MatchIndex;
use crate::linker::train_and_dedupe;
use crate::record::Record;
use crate::synthetic::{corrupted_copy, generate};
use crate::train::SplitMix;

/// Peak resident memory of this process in MiB (VmHWM), when the platform reports it.
#[must_use]
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Result of [`bench_dedupe`].
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub records: usize,
    pub threads: usize,
    pub generate_seconds: f64,
    pub train_seconds: f64,
    pub predict_seconds: f64,
    /// Train + deduplicate.
    pub total_seconds: f64,
    pub candidate_pairs: u64,
    /// Candidate pairs first found by each blocking rule.
    pub per_rule: Vec<(String, u64)>,
    pub links: usize,
    pub reviews: usize,
    pub peak_memory_mib: Option<f64>,
    pub metrics: Metrics,
}

/// Generates `n` records (deterministic in `seed`), trains and deduplicates them, and measures.
///
/// # Errors
/// [`Error::TooFewRecords`] for `n` < 2.
pub fn bench_dedupe(n: usize, seed: u64) -> Result<BenchReport, Error> {
    let t0 = Instant::now();
    let labelled = generate(n, seed);
    let (records, truth): (Vec<Record>, Vec<u32>) =
        labelled.into_iter().map(|l| (l.record, l.entity)).unzip();
    let generate_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (_, linkage) = train_and_dedupe(&records, &Settings::default())?;
    let total_seconds = t1.elapsed().as_secs_f64();
    Ok(BenchReport {
        records: n,
        threads: rayon::current_num_threads(),
        generate_seconds,
        train_seconds: linkage.stats.train_seconds,
        predict_seconds: linkage.stats.predict_seconds,
        total_seconds,
        candidate_pairs: linkage.stats.candidate_pairs,
        per_rule: linkage.stats.per_rule.clone(),
        links: linkage.stats.links,
        reviews: linkage.stats.reviews,
        peak_memory_mib: peak_memory_mib(),
        metrics: cluster_metrics(&linkage.cluster_of, &truth),
    })
}

/// Result of [`bench_incremental`].
#[derive(Debug, Clone, Serialize)]
pub struct IncrementalReport {
    pub indexed: usize,
    pub queries: usize,
    pub train_seconds: f64,
    pub build_seconds: f64,
    pub p50_micros: f64,
    pub p99_micros: f64,
    pub max_micros: f64,
    /// Share of queries (corrupted copies of indexed people) whose best candidate is that person.
    pub top1_hit_rate: f64,
    pub peak_memory_mib: Option<f64>,
}

/// Indexes `n` synthetic records (model trained on the first 100,000) and times `queries` look-ups of
/// corrupted copies of indexed people.
///
/// # Errors
/// [`Error::TooFewRecords`] for `n` < 2.
pub fn bench_incremental(n: usize, queries: usize, seed: u64) -> Result<IncrementalReport, Error> {
    let labelled = generate(n, seed);
    let t0 = Instant::now();
    let sample: Vec<Record> = labelled
        .iter()
        .take(100_000)
        .map(|l| l.record.clone())
        .collect();
    let settings = Settings::default();
    let model = crate::linker::train(&sample, &settings)?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut index = MatchIndex::new(model, settings);
    for l in &labelled {
        index.insert(&l.record);
    }
    let build_seconds = t1.elapsed().as_secs_f64();
    let mut rng = SplitMix(seed ^ 0x5eed);
    let mut times = Vec::with_capacity(queries);
    let mut hits = 0usize;
    for q in 0..queries {
        let target = &labelled[rng.below(labelled.len() as u64) as usize];
        let query = corrupted_copy(&mut rng, &target.record, n + q);
        let t = Instant::now();
        let found = index.candidates(&query);
        times.push(t.elapsed().as_secs_f64() * 1e6);
        let best = found
            .first()
            .and_then(|(id, _)| id.strip_prefix('r')?.parse::<usize>().ok());
        hits += usize::from(best.is_some_and(|i| labelled[i].entity == target.entity));
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((times.len() as f64 - 1.0) * p).round() as usize;
        times.get(i).copied().unwrap_or(0.0)
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = hits as f64 / queries.max(1) as f64;
    Ok(IncrementalReport {
        indexed: n,
        queries,
        train_seconds,
        build_seconds,
        p50_micros: pct(0.5),
        p99_micros: pct(0.99),
        max_micros: times.last().copied().unwrap_or(0.0),
        top1_hit_rate: rate,
        peak_memory_mib: peak_memory_mib(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bench_runs_and_is_accurate() {
        let r = bench_dedupe(3_000, 1);
        let Ok(r) = r else {
            panic!("bench failed: {r:?}")
        };
        println!("bench 3k: {r:?}");
        assert!(r.metrics.f1 > 0.9, "{:?}", r.metrics);
        let i = bench_incremental(3_000, 200, 1);
        let Ok(i) = i else {
            panic!("incremental failed: {i:?}")
        };
        println!("incremental 3k: {i:?}");
        assert!(i.top1_hit_rate > 0.9, "{i:?}");
    }
}
