//! Search-indexing workload: every R4 SearchParameter expression (compiled once) evaluated over every resource
//! of the Synthea sample bundles whose type is one of the parameter's bases. Prints evaluations per second
//! (best of three passes, like `bench/fhirpath-js/bench.js`) and runs a criterion measurement of one pass.
//!
//! Run: `cargo bench -p weave-fhirpath --bench search_params`

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Value;
use weave_fhirpath::{EvalContext, Expression};

fn shared_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

fn load_resources() -> Option<Vec<Value>> {
    let dir = shared_dir().join("testdata/synthea/smart-generated-sample-data-R4");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).ok()?;
        let mut bundle: Value = serde_json::from_str(&text).ok()?;
        if let Some(Value::Array(entries)) = bundle.get_mut("entry") {
            out.extend(
                entries
                    .iter_mut()
                    .filter_map(|e| e.get_mut("resource").map(Value::take)),
            );
        }
    }
    Some(out)
}

fn compile_params() -> (HashMap<String, Vec<Expression>>, usize) {
    let mut by_type: HashMap<String, Vec<Expression>> = HashMap::new();
    let mut compiled = 0;
    for sp in weave_fhir::r4().all_search_params() {
        let Some(src) = &sp.expression else { continue };
        let Ok(expr) = Expression::compile(src) else {
            continue;
        };
        compiled += 1;
        for base in &sp.base {
            by_type.entry(base.clone()).or_default().push(expr.clone());
        }
    }
    (by_type, compiled)
}

#[derive(Default, Debug)]
struct Pass {
    evaluations: usize,
    errors: usize,
    items: usize,
}

fn pass(
    resources: &[Value],
    by_type: &HashMap<String, Vec<Expression>>,
    ctx: &EvalContext<'_>,
) -> Pass {
    let mut p = Pass::default();
    for res in resources {
        let Some(exprs) = res
            .get("resourceType")
            .and_then(Value::as_str)
            .and_then(|t| by_type.get(t))
        else {
            continue;
        };
        for expr in exprs {
            p.evaluations += 1;
            match expr.evaluate(res, ctx) {
                Ok(items) => p.items += items.len(),
                Err(_) => p.errors += 1,
            }
        }
    }
    p
}

fn bench(c: &mut Criterion) {
    let Some(resources) = load_resources() else {
        println!(
            "notice: Synthea sample data not found under {}, benchmark skipped",
            shared_dir().display()
        );
        return;
    };
    let t0 = Instant::now();
    let (by_type, compiled) = compile_params();
    println!(
        "compiled {compiled} expressions in {:?}; {} resources",
        t0.elapsed(),
        resources.len()
    );
    let ctx = EvalContext::default();
    let _ = pass(&resources, &by_type, &ctx);
    let mut best = Duration::MAX;
    let mut last = Pass::default();
    for _ in 0..3 {
        let t = Instant::now();
        last = pass(&resources, &by_type, &ctx);
        best = best.min(t.elapsed());
    }
    println!(
        "{} (expression, resource) evaluations per pass, {} errors, {} result items",
        last.evaluations, last.errors, last.items
    );
    println!(
        "best of 3: {:.3} s per pass = {:.0} evaluations/s",
        best.as_secs_f64(),
        last.evaluations as f64 / best.as_secs_f64()
    );
    let mut group = c.benchmark_group("search_params");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(last.evaluations as u64));
    group.bench_function("all_params_over_synthea", |b| {
        b.iter(|| pass(&resources, &by_type, &ctx))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
