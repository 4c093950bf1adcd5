//! Criterion benchmark: simulate and write a small place (2,000 people), reporting people/s and FHIR
//! resources/s. The 50,000-person acceptance timing is `cargo run --release -p weave-synth --example
//! synth -- 50000 1 <dir>` (see docs/synth.md), or `weave_synth::bench` from the CLI.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weave_synth::{simulate, write_world, SynthConfig};

fn bench_generate(c: &mut Criterion) {
    let config = SynthConfig::new(2_000, 1);
    let world = simulate(&config).expect("simulate");
    let dir = std::env::temp_dir().join("weave-synth-bench");
    let resources = write_world(&world, &dir).expect("write").fhir_resources as u64;
    let mut g = c.benchmark_group("synth");
    g.sample_size(10);
    g.throughput(Throughput::Elements(config.people as u64));
    g.bench_function("simulate_2000_people", |b| {
        b.iter(|| simulate(&config).expect("simulate"))
    });
    g.throughput(Throughput::Elements(resources));
    g.bench_function("write_2000_people_fhir_resources", |b| {
        b.iter(|| write_world(&world, &dir).expect("write"))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_generate);
criterion_main!(benches);
