//! Throughput of the CLD importer (parse + validate + map to FHIR) over a synthetic extract: the
//! synthetic borough's quarterly files (10,000 people) stacked and repeated under fresh person ids
//! to about 60,000 rows. Run: `cargo bench -p weave-ingest --bench cld`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn extract() -> (Vec<u8>, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    weave_synth::generate(&weave_synth::SynthConfig::new(10_000, 1), dir.path()).expect("generate");
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("council/cld"))
        .expect("cld dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut header = String::new();
    let mut rows: Vec<String> = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).expect("read");
        let mut lines = text.lines();
        header = lines.next().unwrap_or_default().to_owned();
        rows.extend(lines.map(str::to_owned));
    }
    let mut out = header;
    out.push('\n');
    let mut n = 0;
    let mut copy = 0;
    while n < 60_000 && !rows.is_empty() {
        for r in &rows {
            // Column 5 is the council's person id: a fresh id per copy keeps event keys distinct.
            let mut cols: Vec<&str> = r.split(',').collect();
            let id = format!("{}C{copy}", cols[4]);
            cols[4] = &id;
            out.push_str(&cols.join(","));
            out.push('\n');
            n += 1;
        }
        copy += 1;
    }
    (out.into_bytes(), n)
}

fn bench(c: &mut Criterion) {
    let (bytes, rows) = extract();
    let check = weave_ingest::cld::import(&bytes).expect("imports");
    assert_eq!(check.report.errors.len(), 0);
    let mut g = c.benchmark_group("cld");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows as u64));
    g.bench_function(format!("import_each_{rows}_rows"), |b| {
        b.iter(|| weave_ingest::cld::import_each(black_box(&bytes), |bundle| drop(black_box(bundle))))
    });
    g.bench_function(format!("import_{rows}_rows"), |b| b.iter(|| black_box(weave_ingest::cld::import(black_box(&bytes)))));
    g.bench_function(format!("validate_{rows}_rows"), |b| b.iter(|| black_box(weave_ingest::cld::validate(black_box(&bytes)))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
