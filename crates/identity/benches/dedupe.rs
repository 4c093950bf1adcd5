//! `cargo bench -p weave-identity --bench dedupe` — trains and deduplicates synthetic records and times a
//! `MatchIndex`. Sizes from `WEAVE_BENCH_N` (default 1,000,000) and `WEAVE_BENCH_QUERIES` (default 10,000);
//! `WEAVE_BENCH_ONLY=dedupe|incremental` runs one part.

use weave_identity::bench::{bench_dedupe, bench_incremental};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env_usize("WEAVE_BENCH_N", 1_000_000);
    let queries = env_usize("WEAVE_BENCH_QUERIES", 10_000);
    let only = std::env::var("WEAVE_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "dedupe" {
        match bench_dedupe(n, 20_251_125) {
            Ok(r) => {
                println!(
                "dedupe {} records on {} threads: train {:.2}s + predict {:.2}s = {:.2}s (generate {:.2}s); {} candidate pairs, {} links, {} reviews; peak memory {:.0} MiB; precision {:.4} recall {:.4} F1 {:.4}",
                r.records, r.threads, r.train_seconds, r.predict_seconds, r.total_seconds, r.generate_seconds,
                r.candidate_pairs, r.links, r.reviews, r.peak_memory_mib.unwrap_or(f64::NAN),
                r.metrics.precision, r.metrics.recall, r.metrics.f1
            );
                println!("pairs per blocking rule: {:?}", r.per_rule);
            }
            Err(e) => eprintln!("dedupe failed: {e}"),
        }
    }
    if only.is_empty() || only == "incremental" {
        match bench_incremental(n, queries, 7) {
            Ok(r) => println!(
                "incremental: {} indexed (train {:.2}s, build {:.2}s), {} queries: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs, top-1 hit rate {:.4}; peak memory {:.0} MiB",
                r.indexed, r.train_seconds, r.build_seconds, r.queries, r.p50_micros, r.p99_micros, r.max_micros,
                r.top1_hit_rate, r.peak_memory_mib.unwrap_or(f64::NAN)
            ),
            Err(e) => eprintln!("incremental failed: {e}"),
        }
    }
}
