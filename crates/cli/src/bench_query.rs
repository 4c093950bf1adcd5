//! `weave bench query`: one search against a store, alone — its query plan and its latency over
//! repeated runs (why is this query slow, without the rest of a mix around it).

use crate::config::StoreArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::time::Instant;
use weave_store::Store;

/// `weave bench query`.
#[derive(Args, Clone, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The search, as in a URL: `Observation?subject:Patient.family=Smith`.
    pub search: String,
    /// Timed runs (after one warm-up run).
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
}

pub fn run(args: &QueryArgs) -> Result<()> {
    let (ty, query) = args.search.split_once('?').unwrap_or((args.search.as_str(), ""));
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let parsed = weave_search::parse_query(ty, &pairs, true, "http://127.0.0.1:8080", 50, 1000)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("parsing the search")?;
    let store = args.store.open()?;
    for line in store.explain(&parsed.query)? {
        println!("plan: {line}");
    }
    let mut times = Vec::with_capacity(args.runs);
    let mut found = 0;
    for i in 0..=args.runs {
        let t = Instant::now();
        let page = store.search(&parsed.query)?;
        if i > 0 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        found = page.matches.len();
    }
    store.close();
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times.get(((times.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    println!("{found} matches on the first page; {} runs: p50 {:.2} ms, max {:.2} ms", times.len(), at(0.5), at(1.0));
    Ok(())
}
