//! The differential test: thousands of seeded generated queries over the Synthea bundles and the
//! R4 examples, each answered by the store (SQL over the index the indexer wrote) and by the brute
//! force (FHIRPath over every resource, matching rules from the specification). The id sets must
//! be equal, so must the `_include`/`_revinclude` sets; for a share of the queries, paging with
//! `_count`/`_offset` must cover the full result exactly once and `_total` must be exact.
//!
//! The data goes in through the real write path; some resources first get a decoy version (the
//! body of another resource of the same type) that is then replaced, and some are deleted, so
//! stale index rows would show.

use crate::ast::Query;
use crate::brute::Db;
use crate::data::{delete_all, examples, include_params, open_store, shared_dir, synthea, write_all, Res, BASE};
use crate::gen::Gen;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};
use weave_search::{parse_query, Indexer, ParsedSearch};
use weave_store::sqlite::SqliteStore;
use weave_store::query::SearchPage;
use weave_store::Store;

const SEED: u64 = 0x5EA6C4;
const QUERIES: usize = 6000;
/// Every query with at least two matches whose index is a multiple of this is also paged.
const PAGING_EVERY: usize = 3;
const MAX_COUNT: usize = 1_000_000;

/// Loads the data (decoys, then the real versions, then deletions) and returns the brute force's
/// view of what is live.
fn load(store: &SqliteStore, indexer: &Indexer, shared: &std::path::Path) -> Db {
    let t0 = Instant::now();
    let mut res: Vec<Res> = synthea(shared, usize::MAX);
    let n_synthea = res.len();
    let (ex, invalid, dup) = examples(shared);
    res.extend(ex);
    println!(
        "data: {n_synthea} Synthea resources, {} R4 examples ({invalid} failed validation, {dup} duplicate type/id skipped)",
        res.len() - n_synthea
    );
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 1);
    let mut by_type: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in res.iter().enumerate() {
        by_type.entry(r.ty.as_str()).or_default().push(i);
    }
    let mut decoys = Vec::new();
    for (i, r) in res.iter().enumerate() {
        let same = &by_type[r.ty.as_str()];
        if same.len() > 1 && rng.random_bool(0.03) {
            let other = same[rng.random_range(0..same.len())];
            if other != i {
                decoys.push((r.ty.clone(), r.id.clone(), &res[other].json));
            }
        }
    }
    write_all(store, indexer, &decoys);
    let real: Vec<(String, String, &serde_json::Value)> = res.iter().map(|r| (r.ty.clone(), r.id.clone(), &r.json)).collect();
    write_all(store, indexer, &real);
    let live: Vec<bool> = (0..res.len()).map(|_| !rng.random_bool(0.015)).collect();
    let deleted: Vec<(String, String)> =
        res.iter().zip(&live).filter(|(_, l)| !**l).map(|(r, _)| (r.ty.clone(), r.id.clone())).collect();
    delete_all(store, &deleted);
    println!(
        "loaded {} resources ({} decoy versions replaced, {} deleted) in {:.1?}",
        res.len(),
        decoys.len(),
        deleted.len(),
        t0.elapsed()
    );
    let t1 = Instant::now();
    let db = Db::new(res, live, BASE);
    println!("brute force: expressions evaluated on every live resource in {:.1?}", t1.elapsed());
    db
}

fn ids_of(db: &Db, idx: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
    idx.into_iter().map(|i| format!("{}/{}", db.res[i].ty, db.res[i].id)).collect()
}

/// "want N, got M; missing […]; extra […]" or `None` when equal.
fn diff(what: &str, want: &BTreeSet<String>, got: &BTreeSet<String>) -> Option<String> {
    if want == got {
        return None;
    }
    let show = |s: Vec<&String>| {
        let n = s.len();
        let mut v: Vec<String> = s.into_iter().take(6).cloned().collect();
        if n > 6 {
            v.push(format!("… {} more", n - 6));
        }
        v.join(", ")
    };
    Some(format!(
        "{what}: brute force {} vs store {}; missing from store [{}]; extra in store [{}]",
        want.len(),
        got.len(),
        show(want.difference(got).collect()),
        show(got.difference(want).collect())
    ))
}

/// Runs `q` with extra control parameters through `parse_query` and the store.
fn run(store: &SqliteStore, q: &Query, extra: &[(&str, String)]) -> Result<(SearchPage, ParsedSearch), String> {
    let mut pairs = q.pairs(BASE);
    pairs.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
    let parsed = parse_query(&q.ty, &pairs, true, BASE, 100, MAX_COUNT).map_err(|e| format!("parse_query failed: {e}"))?;
    let page = store.search(&parsed.query).map_err(|e| format!("search failed: {e}"))?;
    Ok((page, parsed))
}

/// Compares one query (matches, includes, and paging when `page_size` is given); returns the
/// failure messages.
fn check(store: &SqliteStore, db: &Db, q: &Query, page_size: Option<usize>) -> Vec<String> {
    let (page, parsed) = match run(store, q, &[("_count", MAX_COUNT.to_string())]) {
        Ok(x) => x,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    let got: BTreeSet<String> = page.matches.iter().map(|(t, id, _)| format!("{t}/{id}")).collect();
    if got.len() != page.matches.len() {
        errors.push(format!("{} duplicate matches", page.matches.len() - got.len()));
    }
    let want_idx = db.search(q);
    if let Some(d) = diff("matches", &ids_of(db, want_idx.iter().copied()), &got) {
        errors.push(d);
        return errors;
    }
    let rids: Vec<i64> = page.matches.iter().map(|m| m.2).collect();
    errors.extend(check_includes(store, db, q, &parsed, &rids, &want_idx));
    if let Some(k) = page_size {
        let full: Vec<String> = page.matches.iter().map(|(_, id, _)| id.clone()).collect();
        errors.extend(paging(store, q, &full, k));
    }
    errors
}

/// Compares every `_include` and `_revinclude` of `q`: the store's rows for the matches (`rids`)
/// against the brute force's for the same matches (`want_idx`).
fn check_includes(store: &SqliteStore, db: &Db, q: &Query, parsed: &ParsedSearch, rids: &[i64], want_idx: &[usize]) -> Vec<String> {
    let forward = q.includes.iter().zip(&parsed.includes).map(|(i, p)| (true, i, p));
    let reverse = q.revincludes.iter().zip(&parsed.revincludes).map(|(i, p)| (false, i, p));
    let mut errors = Vec::new();
    for (is_include, inc, p) in forward.chain(reverse) {
        let params = include_params(&p.source_type, &p.param);
        let (name, rows, want) = if is_include {
            ("_include", store.include_rows(rids, &p.source_type, &params, p.target_type.as_deref()), db.include(want_idx, inc))
        } else {
            ("_revinclude", store.revinclude_rows(rids, &p.source_type, &params), db.revinclude(want_idx, inc))
        };
        let got = rows
            .and_then(|r| store.read_rows(&r))
            .map(|rows| rows.iter().map(|s| format!("{}/{}", s.resource_type, s.id)).collect::<BTreeSet<_>>());
        match got {
            Ok(got) => errors.extend(diff(&format!("{name}={}", inc.render()), &ids_of(db, want), &got)),
            Err(e) => errors.push(format!("{name}={} failed: {e}", inc.render())),
        }
    }
    errors
}

/// Pages through `q` with `_count=k` and `_offset`, with `_total=accurate`.
fn paging(store: &SqliteStore, q: &Query, full: &[String], k: usize) -> Option<String> {
    let n = full.len();
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let extra = [("_count", k.to_string()), ("_offset", offset.to_string()), ("_total", "accurate".to_owned())];
        let (page, _) = match run(store, q, &extra) {
            Ok(x) => x,
            Err(e) => return Some(format!("paging: {e}")),
        };
        if page.total != Some(n as u64) {
            return Some(format!("paging: _total {:?} at offset {offset}, expected {n}", page.total));
        }
        let expect_more = offset + page.matches.len() < n;
        if page.more != expect_more {
            return Some(format!("paging: more={} at offset {offset} (page of {}), expected {expect_more}", page.more, page.matches.len()));
        }
        seen.extend(page.matches.into_iter().map(|(_, id, _)| id));
        if !page.more {
            break;
        }
        offset += k;
        if offset > n + k {
            return Some("paging: runaway".into());
        }
    }
    if seen != full {
        let unique: HashSet<&String> = seen.iter().collect();
        return Some(format!("paging with _count={k}: {} ids over the pages ({} distinct), the full result has {n}", seen.len(), unique.len()));
    }
    // Past the end: no matches, and the total is still exact (the counting path).
    match run(store, q, &[("_count", k.to_string()), ("_offset", (n + 1).to_string()), ("_total", "accurate".to_owned())]) {
        Ok((p, _)) if p.matches.is_empty() && p.total == Some(n as u64) && !p.more => None,
        Ok((p, _)) => Some(format!("paging past the end: {} matches, total {:?}, more {} (expected 0, {n}, false)", p.matches.len(), p.total, p.more)),
        Err(e) => Some(format!("paging past the end: {e}")),
    }
}

/// The plan SQLite chooses for a query's page statement.
fn plan(store: &SqliteStore, q: &Query) -> Vec<String> {
    match parse_query(&q.ty, &q.pairs(BASE), true, BASE, 100, MAX_COUNT) {
        Ok(p) => store.explain(&p.query).unwrap_or_else(|e| vec![format!("explain failed: {e}")]),
        Err(e) => vec![format!("parse_query failed: {e}")],
    }
}

/// Groups failures by the query's parameter names (values removed) for the summary.
fn signature(q: &Query) -> String {
    let names: Vec<String> = q.pairs(BASE).into_iter().map(|(n, v)| if n.starts_with('_') && n != "_id" { format!("{n}={v}") } else { n }).collect();
    format!("{}?{}", q.ty, names.join("&"))
}

/// What running the generated queries produced.
#[derive(Default)]
struct Outcome {
    passed: usize,
    failed: Vec<(Query, Vec<String>)>,
    tags: BTreeMap<String, usize>,
    types: BTreeSet<String>,
    paged: usize,
    empty: usize,
    slow: Vec<(Duration, String, Vec<String>)>,
}

/// Generates and checks `QUERIES` queries.
fn run_all(store: &SqliteStore, db: &Db, gen: &mut Gen<'_>) -> Outcome {
    let mut out = Outcome::default();
    for n in 0..QUERIES {
        let (q, tags) = gen.query();
        let matches = db.search(&q).len();
        // Pages of 1 to n/2 matches, but at most 25 pages (each page re-runs the query).
        let page_size =
            (n % PAGING_EVERY == 0 && matches >= 2).then(|| (1 + gen.below(matches.div_ceil(2))).max(matches.div_ceil(25)));
        out.paged += usize::from(page_size.is_some());
        out.empty += usize::from(matches == 0);
        out.types.insert(q.ty.clone());
        for t in tags {
            *out.tags.entry(t).or_default() += 1;
        }
        let t0 = Instant::now();
        let errors = check(store, db, &q, page_size);
        if t0.elapsed() > Duration::from_secs(1) {
            out.slow.push((t0.elapsed(), q.display(BASE), plan(store, &q)));
        }
        if errors.is_empty() {
            out.passed += 1;
        } else {
            out.failed.push((q, errors));
        }
    }
    out
}

/// Prints the counts, the slow queries with their plans, and every failure.
fn report(out: &mut Outcome, elapsed: Duration) {
    println!("queries per feature (a query counts once under each parameter type, modifier, prefix and feature it uses):");
    for (t, c) in &out.tags {
        println!("  {c:6}  {t}");
    }
    println!(
        "{QUERIES} queries over {} resource types ({} with no match, {} also paged) in {elapsed:.1?}",
        out.types.len(),
        out.empty,
        out.paged
    );
    out.slow.sort();
    for (d, q, plan) in out.slow.iter().rev() {
        println!("SLOW ({d:.1?} with paging and includes) {q}");
        for step in plan {
            println!("    plan: {step}");
        }
    }
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for (q, errors) in &out.failed {
        *groups.entry(signature(q)).or_default() += 1;
        println!("FAILED {}", q.display(BASE));
        for e in errors {
            println!("    {e}");
        }
    }
    if !groups.is_empty() {
        println!("failures by query shape:");
        for (g, c) in &groups {
            println!("  {c:5}  {g}");
        }
    }
}

#[test]
fn generated_queries_match_brute_force() {
    let Some(shared) = shared_dir() else { return };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_store(&dir);
    let indexer = Indexer::new(BASE);
    let db = load(&store, &indexer, &shared);
    let skip: HashSet<(String, String)> = indexer.skipped().iter().map(|(t, c, _)| (t.clone(), c.clone())).collect();
    for (t, c, why) in indexer.skipped() {
        println!("not generated (the indexer could not compile it): {t}.{c}: {why}");
    }
    for ((t, c), e) in &db.eval_errors {
        println!("note: FHIRPath error evaluating {t}.{c} (brute force; the resource counts as having no value): {e}");
    }
    let mut gen = Gen::new(&db, SEED, skip);
    println!("no :missing on {} parameters with values the brute force does not model: {:?}", gen.no_missing().len(), gen.no_missing());
    let t0 = Instant::now();
    let mut out = run_all(&store, &db, &mut gen);
    report(&mut out, t0.elapsed());
    println!("total test time {:.1?}", started.elapsed());
    println!("{} passed, {} failed", out.passed, out.failed.len());
    assert!(out.failed.is_empty(), "{} of {QUERIES} generated queries disagree with the brute force (listed above)", out.failed.len());
}
