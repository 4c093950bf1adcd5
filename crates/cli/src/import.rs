//! `weave import`: Bundles and NDJSON files into the store, in parallel, with a progress bar.

use crate::config::{runtime, StoreArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use weave_server::{import, AppState, ServerConfig};

/// `weave import`.
#[derive(Args, Clone, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Files (.json Bundles, .ndjson) or folders to load.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How many files or NDJSON chunks are processed at once.
    #[arg(long, env = "WEAVE_IMPORT_JOBS", default_value_t = 4)]
    pub jobs: usize,
    /// Base URL absolute references to this server start with.
    #[arg(long, env = "WEAVE_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
}

/// NDJSON lines per write job.
const CHUNK: usize = 1000;

/// Every `.json` / `.ndjson` file under the given paths, sorted for a repeatable order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let nested = collect_files(&entries.iter().filter(|e| e.is_dir()).cloned().collect::<Vec<_>>())?;
            out.extend(entries.into_iter().filter(|e| e.is_file() && is_data_file(e)));
            out.extend(nested);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("{} does not exist", p.display());
        }
    }
    Ok(out)
}

fn is_data_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "ndjson"))
}

/// Counters shared by the import tasks.
#[derive(Default)]
struct Tally {
    resources: AtomicU64,
    rejected: AtomicU64,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let files = collect_files(&args.paths)?;
    let total_bytes: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let store = args.store.open()?;
    let state = AppState::new(store.clone(), ServerConfig { base_url: args.base_url.clone(), ..ServerConfig::default() });
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} [{elapsed_precise}, eta {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let rt = runtime()?;
    rt.block_on(import_files(&state, &files, args.jobs.max(1), &bar, &tally))?;
    bar.finish_and_clear();
    store.close();
    let secs = started.elapsed().as_secs_f64();
    let n = tally.resources.load(Ordering::Relaxed);
    let rejected = tally.rejected.load(Ordering::Relaxed);
    println!(
        "imported {n} resources from {} files in {secs:.1} s ({:.0} resources/s); {rejected} rejected",
        files.len(),
        n as f64 / secs.max(1e-9)
    );
    if rejected > 0 {
        bail!("{rejected} resources or bundles were rejected (see above)");
    }
    Ok(())
}

async fn import_files(state: &AppState, files: &[PathBuf], jobs: usize, bar: &ProgressBar, tally: &Arc<Tally>) -> Result<()> {
    let permits = Arc::new(Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let len = bytes.len() as u64;
        let is_ndjson = file.extension().and_then(|e| e.to_str()) == Some("ndjson");
        let chunks = if is_ndjson { ndjson_chunks(file, &bytes) } else { vec![Work::Json(bytes)] };
        let n_chunks = chunks.len().max(1) as u64;
        for work in chunks {
            let permit = Arc::clone(&permits).acquire_owned().await.context("import queue closed")?;
            let (state, bar, tally, file) = (state.clone(), bar.clone(), Arc::clone(tally), file.clone());
            tasks.spawn(async move {
                let _permit = permit;
                process(&state, &file, work, &tally).await;
                bar.inc(len / n_chunks);
            });
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.context("an import task failed")?;
    }
    Ok(())
}

enum Work {
    Json(Vec<u8>),
    /// (first line number, lines) of an NDJSON file.
    Lines(usize, Vec<String>),
}

fn ndjson_chunks(file: &Path, bytes: &[u8]) -> Vec<Work> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        eprintln!("{}: no resources", file.display());
    }
    lines
        .chunks(CHUNK)
        .map(|c| Work::Lines(c[0].0 + 1, c.iter().map(|(_, l)| (*l).to_owned()).collect()))
        .collect()
}

async fn process(state: &AppState, file: &Path, work: Work, tally: &Tally) {
    match work {
        Work::Json(bytes) => process_json(state, file, &bytes, tally).await,
        Work::Lines(first, lines) => process_lines(state, file, first, lines, tally).await,
    }
}

async fn process_json(state: &AppState, file: &Path, bytes: &[u8], tally: &Tally) {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{}: not valid JSON: {e}", file.display());
            tally.rejected.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let is_bundle = value.get("resourceType").and_then(Value::as_str) == Some("Bundle")
        && matches!(value.get("type").and_then(Value::as_str), Some("transaction" | "batch"));
    if is_bundle {
        match import::bundle(state, &value).await {
            Ok(resp) => {
                let n = resp.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
                tally.resources.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) => report(file, None, &e, tally),
        }
    } else {
        write_resources(state, file, 1, vec![value], tally).await;
    }
}

async fn process_lines(state: &AppState, file: &Path, first: usize, lines: Vec<String>, tally: &Tally) {
    let mut resources = Vec::with_capacity(lines.len());
    let mut line_of = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(v) => {
                resources.push(v);
                line_of.push(first + i);
            }
            Err(e) => {
                eprintln!("{}:{}: not valid JSON: {e}", file.display(), first + i);
                tally.rejected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    match import::put_all(state, resources).await {
        Ok((n, rejected)) => {
            tally.resources.fetch_add(n as u64, Ordering::Relaxed);
            for r in rejected {
                report(file, line_of.get(r.index).copied(), &r.error, tally);
            }
        }
        Err(e) => report(file, Some(first), &e, tally),
    }
}

async fn write_resources(state: &AppState, file: &Path, line: usize, resources: Vec<Value>, tally: &Tally) {
    match import::put_all(state, resources).await {
        Ok((n, rejected)) => {
            tally.resources.fetch_add(n as u64, Ordering::Relaxed);
            for r in rejected {
                report(file, Some(line + r.index), &r.error, tally);
            }
        }
        Err(e) => report(file, None, &e, tally),
    }
}

fn report(file: &Path, line: Option<usize>, e: &weave_server::ApiError, tally: &Tally) {
    tally.rejected.fetch_add(1, Ordering::Relaxed);
    let place = line.map_or_else(|| file.display().to_string(), |l| format!("{}:{l}", file.display()));
    for issue in e.issues() {
        let at = issue.expression.first().map(|x| format!(" at {x}")).unwrap_or_default();
        eprintln!("{place}: {}{at}", issue.diagnostics);
    }
}
