//! `weave generate` and `weave demo`: the synthetic borough, written to files or loaded and served.

use crate::config::{runtime, DurabilityArg, StoreArgs};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use weave_server::{import, AppState, ServerConfig};
use weave_synth::SynthConfig;

/// `weave generate`.
#[derive(Args, Clone, Debug)]
pub struct GenerateArgs {
    /// How many people live in the place.
    #[arg(long, default_value_t = 5_000)]
    pub people: usize,
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder (created).
    #[arg(long)]
    pub out: PathBuf,
}

/// `weave demo`.
#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// How many people live in the demo borough.
    #[arg(long, default_value_t = 5_000)]
    pub people: usize,
    /// Seed of the generated borough.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address to serve on (loopback by default).
    #[arg(long, env = "WEAVE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The demo store (default: a file in the system's temporary folder, reused when complete).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

fn synth_config(people: usize, seed: u64) -> SynthConfig {
    SynthConfig { people, seed, ..SynthConfig::default() }
}

pub fn generate(args: &GenerateArgs) -> Result<()> {
    let started = Instant::now();
    let summary = weave_synth::generate(&synth_config(args.people, args.seed), &args.out)
        .with_context(|| format!("generating into {}", args.out.display()))?;
    println!(
        "generated {} people: {} FHIR bundles ({} resources), {} HL7 v2 messages, {} CLD rows in {} files, in {:.1} s → {}",
        summary.people,
        summary.fhir_bundles,
        summary.fhir_resources,
        summary.hl7_messages,
        summary.cld_rows,
        summary.cld_files,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

pub fn demo(args: &DemoArgs) -> Result<()> {
    let db = args.db.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("weave-demo-{}-people-seed-{}.db", args.people, args.seed))
    });
    let marker = db.with_extension("db.complete");
    let fresh = !(db.exists() && marker.exists());
    if fresh {
        for suffix in ["", "-wal", "-shm", "-fts", "-fts-wal", "-fts-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let _ = std::fs::remove_file(&marker);
    }
    let store = StoreArgs { db: db.clone(), durability: DurabilityArg::Normal }.open()?;
    let base_url = format!("http://{}", args.addr);
    let state = AppState::new(store.clone(), ServerConfig { base_url: base_url.clone(), ..ServerConfig::default() });
    let rt = runtime()?;
    if fresh {
        rt.block_on(load(&state, args))?;
        std::fs::write(&marker, b"loaded\n").context("marking the demo store complete")?;
    } else {
        eprintln!("weave demo: reusing the loaded demo store {}", db.display());
    }
    let example = rt.block_on(example_patient(&state));
    println!();
    println!("Weave demo: a synthetic borough of {} people is being served at {base_url}", args.people);
    println!("  capability statement  {base_url}/metadata");
    println!("  people                {base_url}/Patient?_count=10");
    if let Some(id) = example {
        println!("  one person            {base_url}/Patient/{id}");
        println!("  their encounters      {base_url}/Encounter?patient={id}&_sort=-date");
        println!("  their care package    {base_url}/EpisodeOfCare?patient={id}");
        println!("  the person across sources  {base_url}/Person?link=Patient/{id}");
    }
    println!("  possible matches to review  {base_url}/Task?code=https://weave.dev/fhir/CodeSystem/weave-task|link-review&status=requested");
    println!("Logins: none yet — access control (roles, legitimate relationships, consent) is the next");
    println!("capability; until then every request is answered. The server listens on {} only.", args.addr);
    println!("Stop with Ctrl-C. Store: {}", db.display());
    rt.block_on(async {
        // Links the borough's Patients into Persons in the background, then follows new arrivals.
        weave_server::identity::spawn_linker(state.clone());
        weave_server::serve(state, args.addr).await
    })
    .with_context(|| format!("serving on {}", args.addr))?;
    store.close();
    Ok(())
}

async fn load(state: &AppState, args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    eprintln!("weave demo: generating a borough of {} people (seed {})…", args.people, args.seed);
    let bundles: Vec<Value> = weave_synth::generate_fhir(&synth_config(args.people, args.seed))
        .context("generating the demo borough")?
        .collect();
    let bar = ProgressBar::new(bundles.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("loading {bar:40} {pos}/{len} bundles [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut bundles = bundles.into_iter();
    // The place (organisations, practitioners) first: everything else refers to it.
    if let Some(place) = bundles.next() {
        import::bundle(state, place).await.map_err(|e| anyhow::anyhow!("loading the place: {:?}", e.issues()))?;
        bar.inc(1);
    }
    let permits = Arc::new(Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for b in bundles {
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let (state, bar) = (state.clone(), bar.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let r = import::bundle(&state, b).await;
            bar.inc(1);
            r.map(|resp| resp.get("entry").and_then(Value::as_array).map_or(0, Vec::len))
        });
    }
    let mut n = 0;
    while let Some(r) = tasks.join_next().await {
        n += r?.map_err(|e| anyhow::anyhow!("a demo bundle was rejected: {:?}", e.issues()))?;
    }
    bar.finish_and_clear();
    eprintln!("weave demo: loaded {n} resources in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A person with a care package, if there is one, to show in the printed links.
async fn example_patient(state: &AppState) -> Option<String> {
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || {
        let mut q = weave_store::query::SearchQuery::all("EpisodeOfCare");
        q.count = 1;
        let page = store.search(&q).ok()?;
        let rows = store.read_rows(&page.matches.iter().map(|m| m.2).collect::<Vec<_>>()).ok()?;
        let body: Value = serde_json::from_str(rows.first()?.body.as_deref()?).ok()?;
        let reference = body.get("patient")?.get("reference")?.as_str()?;
        reference.strip_prefix("Patient/").map(str::to_owned)
    })
    .await
    .ok()
    .flatten()
}
