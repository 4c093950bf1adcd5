//! Benchmarks: structural validation of the Synthea sample resources (one resource at a time) and
//! loading the embedded model. Run with `cargo bench -p weave-fhir --bench validate`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use weave_fhir::model::Model;
use weave_fhir::{r4, validate::validate_resource};

/// Every entry resource of every Synthea bundle, or None when the shared data is absent.
fn synthea_resources() -> Option<Vec<Value>> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/synthea"
    ));
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(Value::Object(mut bundle)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(Value::Array(entries)) = bundle.remove("entry") {
            out.extend(
                entries
                    .into_iter()
                    .filter_map(|mut e| e.get_mut("resource").map(Value::take)),
            );
        }
    }
    (!out.is_empty()).then_some(out)
}

fn bench(c: &mut Criterion) {
    let model = r4();
    let mut group = c.benchmark_group("fhir");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    match synthea_resources() {
        Some(resources) => {
            group.throughput(Throughput::Elements(resources.len() as u64));
            group.bench_function("validate_synthea_resources", |b| {
                b.iter(|| {
                    resources
                        .iter()
                        .map(|r| validate_resource(model, r).len())
                        .sum::<usize>()
                });
            });
        }
        None => {
            println!("NOTICE: shared Synthea data not found; skipping the validation benchmark")
        }
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("load_model", |b| {
        b.iter(|| Model::load_embedded().map(|m| m.all_search_params().len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
