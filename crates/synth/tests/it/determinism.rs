//! Same seed → byte-identical output; different seeds → different output; thread count irrelevant.

use crate::common::{files, generate_into};
use weave_synth::{generate, SynthConfig};

#[test]
fn same_seed_gives_byte_identical_output() {
    let (a, sa) = generate_into(400, 42);
    let (b, sb) = generate_into(400, 42);
    assert_eq!(sa, sb);
    let fa = files(a.path());
    let fb = files(b.path());
    assert_eq!(fa, fb, "file lists differ");
    assert!(
        fa.len() > 20,
        "expected a full layout, got {} files",
        fa.len()
    );
    for rel in &fa {
        let x = std::fs::read(a.path().join(rel)).expect("read a");
        let y = std::fs::read(b.path().join(rel)).expect("read b");
        assert!(x == y, "{} differs between runs", rel.display());
    }
}

#[test]
fn different_seeds_differ() {
    let (a, _) = generate_into(300, 1);
    let (b, _) = generate_into(300, 2);
    for rel in ["truth.json", "place.json"] {
        let x = std::fs::read(a.path().join(rel)).expect("read a");
        let y = std::fs::read(b.path().join(rel)).expect("read b");
        assert_ne!(x, y, "{rel} identical for different seeds");
    }
}

#[test]
fn thread_count_does_not_change_bytes() {
    let one = tempfile::tempdir().expect("tmp");
    let two = tempfile::tempdir().expect("tmp");
    let mut c = SynthConfig::new(300, 9);
    c.threads = 1;
    generate(&c, one.path()).expect("generate 1 thread");
    c.threads = 3;
    generate(&c, two.path()).expect("generate 3 threads");
    for rel in files(one.path()) {
        let x = std::fs::read(one.path().join(&rel)).expect("read");
        let y = std::fs::read(two.path().join(&rel)).expect("read");
        assert!(x == y, "{} differs with thread count", rel.display());
    }
}

#[test]
fn in_memory_bundles_equal_written_bundles() {
    let dir = tempfile::tempdir().expect("tmp");
    let c = SynthConfig::new(300, 5);
    generate(&c, dir.path()).expect("generate");
    let written = crate::common::fhir_files(dir.path());
    let in_memory: Vec<serde_json::Value> = weave_synth::generate_fhir(&c)
        .expect("generate_fhir")
        .collect();
    assert_eq!(written.len(), in_memory.len());
    for (path, bundle) in written.iter().zip(&in_memory) {
        assert_eq!(&crate::common::json(path), bundle, "{}", path.display());
    }
}
