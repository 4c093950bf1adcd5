//! `weave import`: Bundles and NDJSON files into the store, in parallel, with a progress bar; and
//! CLD social-care extracts (`.csv`, or `--format cld`), row by row with a line-numbered report,
//! invalid rows kept as dead letters.

use crate::config::{runtime, StoreArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
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
    /// How many files or NDJSON chunks are processed at once (more in flight: larger group
    /// commits). Whatever the number, at most 256 MiB of input is in flight at a time.
    #[arg(long, env = "WEAVE_IMPORT_JOBS", default_value_t = 64)]
    pub jobs: usize,
    /// Base URL absolute references to this server start with.
    #[arg(long, env = "WEAVE_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// What the files are: by extension (`.csv` is CLD), FHIR, or CLD extracts.
    #[arg(long, env = "WEAVE_IMPORT_FORMAT", value_enum, default_value = "auto")]
    pub format: Format,
}

/// The format of imported files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `.csv` files are CLD extracts, everything else FHIR.
    Auto,
    /// FHIR Bundles (.json) and NDJSON (.ndjson).
    Fhir,
    /// CLD social-care extracts (CSV); folders are searched for `.csv` files.
    Cld,
}

/// NDJSON lines per write job.
const CHUNK: usize = 1000;

/// Every `.json` / `.ndjson` file under the given paths, sorted for a repeatable order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    collect(paths, is_data_file)
}

/// Every file under the given paths (folders: those `wanted`), sorted for a repeatable order.
fn collect(paths: &[PathBuf], wanted: fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let nested = collect(&entries.iter().filter(|e| e.is_dir()).cloned().collect::<Vec<_>>(), wanted)?;
            out.extend(entries.into_iter().filter(|e| e.is_file() && wanted(e)));
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

fn is_csv(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Counters shared by the import tasks.
#[derive(Default)]
struct Tally {
    resources: AtomicU64,
    rejected: AtomicU64,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let (cld_files, files): (Vec<PathBuf>, Vec<PathBuf>) = match args.format {
        Format::Cld => (collect(&args.paths, is_csv)?, Vec::new()),
        Format::Fhir => (Vec::new(), collect_files(&args.paths)?),
        Format::Auto => collect(&args.paths, |p| is_data_file(p) || is_csv(p))?.into_iter().partition(|p| is_csv(p)),
    };
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
    for file in &cld_files {
        rt.block_on(import_cld_file(&state, file, &tally))?;
    }
    store.close();
    let secs = started.elapsed().as_secs_f64();
    let n = tally.resources.load(Ordering::Relaxed);
    let rejected = tally.rejected.load(Ordering::Relaxed);
    println!(
        "imported {n} resources from {} files in {secs:.1} s ({:.0} resources/s); {rejected} rejected",
        files.len() + cld_files.len(),
        n as f64 / secs.max(1e-9)
    );
    if rejected > 0 {
        bail!("{rejected} resources or bundles were rejected (see above)");
    }
    Ok(())
}

/// Input in flight at most, in MiB: parsed, a Bundle takes several times its size in memory.
const BUDGET_MIB: u32 = 256;

async fn import_files(state: &AppState, files: &[PathBuf], jobs: usize, bar: &ProgressBar, tally: &Arc<Tally>) -> Result<()> {
    let permits = Arc::new(Semaphore::new(jobs));
    let budget = Arc::new(Semaphore::new(BUDGET_MIB as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let len = bytes.len() as u64;
        let is_ndjson = file.extension().and_then(|e| e.to_str()) == Some("ndjson");
        let chunks = if is_ndjson { ndjson_chunks(file, &bytes) } else { vec![Work::Json(bytes)] };
        let n_chunks = chunks.len().max(1) as u64;
        // Each piece holds its share of the budget (at least 1 MiB, at most all of it).
        let mib = u32::try_from((len / n_chunks) >> 20).unwrap_or(u32::MAX).clamp(1, BUDGET_MIB);
        for work in chunks {
            let memory = Arc::clone(&budget).acquire_many_owned(mib).await.context("import queue closed")?;
            let permit = Arc::clone(&permits).acquire_owned().await.context("import queue closed")?;
            let (state, bar, tally, file) = (state.clone(), bar.clone(), Arc::clone(tally), file.clone());
            tasks.spawn(async move {
                let _permit = (permit, memory);
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
    let lines: Vec<&str> = text.lines().collect();
    if lines.iter().all(|l| l.trim().is_empty()) {
        eprintln!("{}: no resources", file.display());
        return Vec::new();
    }
    // Blank lines stay in their chunk (skipped when written) so line numbers stay right.
    lines.chunks(CHUNK).enumerate().map(|(k, c)| Work::Lines(k * CHUNK + 1, c.iter().map(|l| (*l).to_owned()).collect())).collect()
}

async fn process(state: &AppState, file: &Path, work: Work, tally: &Tally) {
    match work {
        Work::Json(bytes) => process_json(state, file, &bytes, tally).await,
        Work::Lines(first, lines) => process_lines(state, file, first, lines, tally).await,
    }
}

async fn process_json(state: &AppState, file: &Path, bytes: &[u8], tally: &Tally) {
    if let Some(done) = import::transaction_bytes(state, bytes).await {
        return bundle_done(file, done, tally);
    }
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
        bundle_done(file, import::bundle(state, value).await, tally);
    } else {
        write_resources(state, file, 1, vec![value], tally).await;
    }
}

fn bundle_done(file: &Path, done: Result<Value, weave_server::ApiError>, tally: &Tally) {
    match done {
        Ok(resp) => {
            let n = resp.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
            tally.resources.fetch_add(n as u64, Ordering::Relaxed);
        }
        Err(e) => report(file, None, &e, tally),
    }
}

/// NDJSON lines through the server's bulk path: refused lines are reported and kept as dead letters.
async fn process_lines(state: &AppState, file: &Path, first: usize, lines: Vec<String>, tally: &Tally) {
    let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
    match weave_server::bulk::ndjson_lines(state, first, &texts).await {
        Ok(done) => {
            tally.resources.fetch_add(done.written as u64, Ordering::Relaxed);
            tally.rejected.fetch_add(done.rejected.len() as u64, Ordering::Relaxed);
            for ((line, why), dead) in done.rejected.iter().zip(done.dead_letters.iter().map(Some).chain(std::iter::repeat(None))) {
                let kept = dead.map(|d| format!(" (dead letter {d})")).unwrap_or_default();
                eprintln!("{}:{line}: {why}{kept}", file.display());
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

/// One CLD extract: the line-numbered report on stderr, a summary on stdout. Valid rows are
/// applied; each invalid row is counted as rejected and kept as a dead letter.
async fn import_cld_file(state: &AppState, file: &Path, tally: &Tally) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let done = weave_server::deadletter::import_cld(state, &bytes)
        .await
        .with_context(|| format!("{} is not a CLD extract", file.display()))?;
    let report = &done.report;
    for (kind, list) in [("error", &report.errors), ("warning", &report.warnings)] {
        for e in list {
            let column = if e.column.is_empty() { String::new() } else { format!(" {} '{}':", e.column, e.value) };
            eprintln!("{}:{}: {kind}:{column} {}", file.display(), e.line, e.message);
        }
    }
    for reason in &done.failed {
        eprintln!("{}: a person's Bundle was not applied: {reason}", file.display());
    }
    let invalid = report.invalid_lines().len();
    println!(
        "{}: {} rows, {} valid; {} of {} people applied; {invalid} invalid rows and {} failed Bundles kept as dead letters",
        file.display(),
        report.rows,
        report.valid,
        done.applied,
        done.bundles,
        done.failed.len()
    );
    tally.resources.fetch_add(done.resources as u64, Ordering::Relaxed);
    tally.rejected.fetch_add((invalid + done.failed.len()) as u64, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{run, Format, ImportArgs};
    use crate::config::{DurabilityArg, StoreArgs};
    use weave_store::Store;

    const HEAD: &str = "LA_Code,LA_Person_Unique_Identifier,Gender,Event_Type,Event_Start_Date,Event_End_Date";

    #[test]
    fn a_cld_extract_is_imported_with_invalid_rows_kept_and_no_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("cld.csv");
        let text = format!("{HEAD}\nE08000999,P1,1,Request,01/02/2024,\nE08000999,P2,7,Request,01/02/2024,\nE08000999,P3,2,Request,2024-02-30,\nE08000999,P4,2,Assessment,03/02/2024,04/02/2024\n");
        std::fs::write(&csv, text).unwrap();
        let db = dir.path().join("w.db");
        let args = ImportArgs {
            store: StoreArgs { db: db.clone(), durability: DurabilityArg::Normal },
            paths: vec![csv],
            jobs: 2,
            base_url: "http://127.0.0.1:8080".into(),
            format: Format::Auto,
        };
        let counts = |db: &std::path::Path| {
            let store = StoreArgs { db: db.to_path_buf(), durability: DurabilityArg::Normal }.open().unwrap();
            let dead: Vec<Option<u64>> = store.dead_letters(0, 100).unwrap().iter().map(|d| d.line).collect();
            let patients = store.counts().unwrap().iter().find(|(t, _)| t == "Patient").map_or(0, |c| c.1);
            store.close();
            (patients, dead)
        };
        // Two invalid rows: the import reports them (and fails), the valid rows are in.
        assert!(run(&args).is_err());
        assert_eq!(counts(&db), (2, vec![Some(3), Some(4)]));
        assert!(run(&args).is_err());
        let (patients, dead) = counts(&db);
        assert_eq!(patients, 2, "re-importing writes no duplicates");
        assert_eq!(dead.len(), 4);
    }
}
