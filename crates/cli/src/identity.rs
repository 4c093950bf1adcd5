//! `weave identity train | link | link-csv`: the person index from the command line.
//!
//! `train` and `link` work on a store through the server's person index (the same code the
//! server's linker runs); `link-csv` links files outside any store (data-quality work before a
//! load) and writes the pairs at or above the review threshold.

use crate::config::{runtime, StoreArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;
use weave_server::{AppState, ServerConfig};

/// `weave identity`.
#[derive(Args, Clone, Debug)]
pub struct IdentityArgs {
    #[command(subcommand)]
    pub command: IdentityCommand,
}

#[derive(Subcommand, Clone, Debug)]
pub enum IdentityCommand {
    /// Train the matching model on the store's own Patients (no labels) and keep it in the store.
    Train(StoreIdentityArgs),
    /// Link every Patient in the store into Persons (what the server's linker does on arrival).
    Link(StoreIdentityArgs),
    /// Deduplicate one CSV file or link two, training on the files themselves.
    LinkCsv(LinkCsvArgs),
    /// Print the default linkage settings (blocking rules, sample sizes, thresholds) as JSON, to
    /// edit and pass back with `--settings`.
    Settings,
}

/// A store and, optionally, linkage settings.
#[derive(Args, Clone, Debug)]
pub struct StoreIdentityArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Linkage settings (JSON, as printed by `weave identity settings`; missing fields keep their defaults).
    #[arg(long)]
    pub settings: Option<PathBuf>,
}

/// Reads a settings file (missing fields keep their defaults).
pub fn read_settings(path: &std::path::Path) -> Result<weave_identity::Settings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid linkage settings", path.display()))
}

/// `weave identity link-csv`.
#[derive(Args, Clone, Debug)]
pub struct LinkCsvArgs {
    /// One file (deduplicate) or two (link the first with the second).
    #[arg(required = true, num_args = 1..=2)]
    pub inputs: Vec<PathBuf>,
    /// The column with each record's id.
    #[arg(long)]
    pub id_column: String,
    /// FIELD=COLUMN (given, family, dob, sex, postcode, address, locality, phone, nhs); a field
    /// given several times joins its columns in order.
    #[arg(long = "field", required = true)]
    pub fields: Vec<String>,
    /// Date-of-birth format (`%Y%m%d`, `%d/%m/%Y` …); default: ISO, `%Y%m%d` or `%d/%m/%Y`.
    #[arg(long)]
    pub dob_format: Option<String>,
    /// Linkage settings (JSON, as printed by `weave identity settings`).
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Where to write `id_a,id_b,match_probability,decision`.
    #[arg(long)]
    pub out: PathBuf,
    /// Probability at or above which a pair is a link (default 0.95).
    #[arg(long)]
    pub link_threshold: Option<f64>,
    /// Probability at or above which a pair is written for review (default 0.5).
    #[arg(long)]
    pub review_threshold: Option<f64>,
}

pub fn run(args: &IdentityArgs) -> Result<()> {
    match &args.command {
        IdentityCommand::Train(a) => train(a),
        IdentityCommand::Link(a) => link(a),
        IdentityCommand::LinkCsv(a) => link_csv(a),
        IdentityCommand::Settings => {
            println!("{}", serde_json::to_string_pretty(&weave_identity::Settings::default())?);
            Ok(())
        }
    }
}

/// The server state over a store, with the given settings applied.
fn state_for(a: &StoreIdentityArgs) -> Result<(std::sync::Arc<weave_store::sqlite::SqliteStore>, AppState)> {
    let store = a.store.open()?;
    let state = AppState::new(store.clone(), ServerConfig::default());
    if let Some(path) = &a.settings {
        state.identity.set_settings(read_settings(path)?).map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    }
    Ok((store, state))
}

fn train(a: &StoreIdentityArgs) -> Result<()> {
    let (store, state) = state_for(a)?;
    let report = runtime()?.block_on(weave_server::identity::retrain(&state));
    store.close();
    let report = report.map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    println!("trained on {} Patients in {:.1} s; the model is stored as Binary/weave-identity-model", report.patients, report.seconds);
    Ok(())
}

fn link(a: &StoreIdentityArgs) -> Result<()> {
    let (store, state) = state_for(a)?;
    let started = Instant::now();
    let done = runtime()?.block_on(weave_server::identity::sync(&state));
    store.close();
    let n = done.map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    let c = state.identity.counts();
    println!(
        "processed {n} Patients in {:.1} s: {} Patients in {} Persons ({} linking more than one record), {} open review tasks{}",
        started.elapsed().as_secs_f64(),
        c.patients,
        c.persons,
        c.linked_persons,
        c.open_reviews,
        if c.has_model { "" } else { "; no model yet (too few Patients), only the NHS-number rule linked" }
    );
    Ok(())
}

fn describe(e: &weave_server::ApiError) -> String {
    e.issues().into_iter().map(|i| i.diagnostics).collect::<Vec<_>>().join("; ")
}

fn link_csv(a: &LinkCsvArgs) -> Result<()> {
    let mut opts = weave_identity::LinkCsvOptions::new(a.inputs.clone(), &a.id_column);
    for f in &a.fields {
        opts = opts.field_spec(f)?;
    }
    opts.dob_format.clone_from(&a.dob_format);
    if let Some(path) = &a.settings {
        opts.settings = read_settings(path)?;
    }
    opts.out = Some(a.out.clone());
    if let Some(t) = a.link_threshold {
        opts.settings.link_threshold = t;
    }
    if let Some(t) = a.review_threshold {
        opts.settings.review_threshold = t;
    }
    if opts.settings.review_threshold > opts.settings.link_threshold {
        bail!("the review threshold must not be above the link threshold");
    }
    let started = Instant::now();
    let report = weave_identity::link_csv(&opts).context("linking")?;
    let s = &report.linkage.stats;
    println!(
        "{} records ({}); {} candidate pairs; {} links, {} for review; {} clusters; {} unparsed dates; {} invalid NHS numbers ignored; {:.1} s",
        report.records.iter().sum::<usize>(),
        report.records.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + "),
        s.candidate_pairs,
        s.links,
        s.reviews,
        report.linkage.clusters.len(),
        report.unparsed_dates,
        s.invalid_nhs_numbers,
        started.elapsed().as_secs_f64()
    );
    println!("wrote {} pairs to {}", report.pairs_written, a.out.display());
    Ok(())
}
