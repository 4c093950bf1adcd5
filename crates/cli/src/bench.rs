//! `weave bench …`: workload benchmarks that print a table (figures go to docs/benchmarks.md).

use crate::config::{runtime, DurabilityArg, StoreArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use weave_server::{import, AppState, ServerConfig};

/// `weave bench`.
#[derive(Subcommand, Clone, Debug)]
pub enum BenchCommand {
    /// Transaction ingest: the given bundles posted again and again (fresh ids each time) with
    /// validation and all search indexes, until the store holds the target number of resources.
    Ingest(IngestArgs),
    /// Search latency: a large store, then a fixed query mix from concurrent HTTP clients.
    Search(crate::bench_search::SearchArgs),
    /// HL7 v2 ADT messages over MLLP with ACKs, from several connections.
    Mllp(crate::bench_mllp::MllpArgs),
    /// One search alone: its query plan and latency over repeated runs.
    Query(crate::bench_query::QueryArgs),
}

/// `weave bench ingest`.
#[derive(Args, Clone, Debug)]
pub struct IngestArgs {
    /// Folder of transaction/batch Bundles.
    #[arg(long, default_value = "../shared/testdata/synthea/smart-generated-sample-data-R4")]
    pub bundles: PathBuf,
    /// Stop after this many resources.
    #[arg(long, default_value_t = 200_000)]
    pub resources: usize,
    /// Bundles in flight at once (as `weave import --jobs`).
    #[arg(long, default_value_t = 64)]
    pub jobs: usize,
    /// The store to load (default: a fresh file in a temporary folder, removed afterwards).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// How commits reach the disk.
    #[arg(long, value_enum, default_value = "full")]
    pub durability: DurabilityArg,
}

pub fn run(cmd: &BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(args),
        BenchCommand::Search(args) => crate::bench_search::run(args),
        BenchCommand::Mllp(args) => crate::bench_mllp::run(args),
        BenchCommand::Query(args) => crate::bench_query::run(args),
    }
}

pub fn load_bundles(dir: &PathBuf) -> Result<Vec<Arc<RawBundle>>> {
    let files = crate::import::collect_files(std::slice::from_ref(dir))?;
    let mut out = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f)?;
        let v: Value = serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", f.display()))?;
        if matches!(v.get("type").and_then(Value::as_str), Some("transaction" | "batch")) {
            let entries = v.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
            out.push(Arc::new(RawBundle { bytes, entries }));
        }
    }
    if out.is_empty() {
        bail!("no transaction or batch bundles in {}", dir.display());
    }
    Ok(out)
}

/// A Bundle file as read: every load parses it again, as the server parses a request body, so
/// JSON parsing is part of what is measured.
pub struct RawBundle {
    bytes: Vec<u8>,
    entries: usize,
}

/// The process's CPU time and bytes written to storage, read from `/proc/self` (Linux): wall-clock
/// figures move with whatever else runs on a 2-core machine, CPU per unit of work much less.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub cpu_secs: f64,
    pub write_bytes: u64,
}

impl Usage {
    pub fn now() -> Usage {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: Vec<f64> = after.split_whitespace().skip(11).take(2).filter_map(|t| t.parse().ok()).collect();
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let write_bytes = io
            .lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        Usage { cpu_secs: ticks.iter().sum::<f64>() / 100.0, write_bytes }
    }

    /// What was used since `start`.
    pub fn since(start: Usage) -> Usage {
        let now = Usage::now();
        Usage { cpu_secs: now.cpu_secs - start.cpu_secs, write_bytes: now.write_bytes.saturating_sub(start.write_bytes) }
    }
}

/// The store a benchmark writes: `db`, or a fresh file in a temporary folder (`tmp`, to remove
/// at the end).
pub struct BenchStore {
    pub db: PathBuf,
    pub tmp: Option<PathBuf>,
    pub store: Arc<weave_store::sqlite::SqliteStore>,
    pub state: AppState,
}

impl BenchStore {
    pub fn open(name: &str, db: Option<&PathBuf>, durability: DurabilityArg) -> Result<BenchStore> {
        let tmp = std::env::temp_dir().join(format!("weave-bench-{name}-{}", std::process::id()));
        let db = db.cloned().unwrap_or_else(|| tmp.join("bench.db"));
        if let Some(parent) = db.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let store = StoreArgs { db: db.clone(), durability }.open()?;
        let state = AppState::new(store.clone(), ServerConfig::default());
        let tmp = db.starts_with(&tmp).then_some(tmp);
        Ok(BenchStore { db, tmp, store, state })
    }

    /// Closes the store and removes a temporary one.
    pub fn finish(&self) {
        self.store.close();
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_dir_all(tmp);
        }
    }
}

fn ingest(args: &IngestArgs) -> Result<()> {
    let bundles = load_bundles(&args.bundles)?;
    let bench = BenchStore::open("ingest", args.db.as_ref(), args.durability)?;
    let (db, state) = (&bench.db, &bench.state);
    let rt = runtime()?;
    let started = Instant::now();
    let usage = Usage::now();
    let (n, latencies) = rt.block_on(drive(state, &bundles, args.resources, args.jobs.max(1)))?;
    bench.store.close();
    let (elapsed, usage) = (started.elapsed(), Usage::since(usage));
    let size = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    print_table(n, latencies, elapsed, usage, size, args);
    bench.finish();
    Ok(())
}

pub async fn drive(state: &AppState, bundles: &[Arc<RawBundle>], target: usize, jobs: usize) -> Result<(usize, Vec<Duration>)> {
    let permits = Arc::new(Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    let mut queued = 0usize;
    'outer: loop {
        for b in bundles {
            if queued >= target {
                break 'outer;
            }
            queued += b.entries;
            let permit = Arc::clone(&permits).acquire_owned().await?;
            let (state, b) = (state.clone(), Arc::clone(b));
            tasks.spawn(async move {
                let _permit = permit;
                let t = Instant::now();
                let resp = import::bundle_bytes(&state, &b.bytes).await;
                (resp, t.elapsed())
            });
        }
    }
    let mut n = 0;
    let mut latencies = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (resp, took) = r?;
        let resp = resp.map_err(|e| anyhow::anyhow!("a bundle failed: {:?}", e.issues()))?;
        n += resp.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
        latencies.push(took);
    }
    Ok((n, latencies))
}

fn print_table(n: usize, mut latencies: Vec<Duration>, elapsed: Duration, usage: Usage, size: u64, args: &IngestArgs) {
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let secs = elapsed.as_secs_f64();
    println!("| workload | resources | bundles | seconds | resources/s | bundle p50 ms | bundle p99 ms | CPU µs/resource | written MB | store MB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| transaction ingest, {} in flight, durability {:?} | {n} | {} | {secs:.1} | {:.0} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} |",
        args.jobs,
        args.durability,
        latencies.len(),
        n as f64 / secs,
        pct(0.5),
        pct(0.99),
        usage.cpu_secs * 1e6 / n.max(1) as f64,
        usage.write_bytes as f64 / 1_048_576.0,
        size as f64 / 1_048_576.0
    );
}

/// Prints p50/p99 and throughput per query kind.
pub fn print_percentiles(names: &[&str], samples: Vec<(usize, Duration)>, seconds: f64) {
    println!("| query | requests | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for (k, name) in names.iter().enumerate() {
        let mut lat: Vec<Duration> = samples.iter().filter(|(i, _)| *i == k).map(|(_, d)| *d).collect();
        lat.sort();
        let pct = |p: f64| {
            let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
            lat.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!("| {name} | {} | {:.0} | {:.1} | {:.1} |", lat.len(), lat.len() as f64 / seconds, pct(0.5), pct(0.99));
    }
}
