//! The synthetic borough: every source Patient (GP, hospital, council, mental health, community) read with
//! `Record::from_patient`, trained and deduplicated without labels, judged against the generator's truth.

use std::collections::HashMap;

use weave_identity::eval::cluster_metrics;
use weave_identity::{train_and_dedupe, Decision, Record, Settings};

/// Source record id → person index, from the simulated world.
fn truth(world: &weave_synth::World) -> HashMap<String, u32> {
    let mut t = HashMap::new();
    for p in &world.people {
        let ids = std::iter::once(&p.gp_id)
            .chain(&p.hospital_ids)
            .chain(&p.council_ids)
            .chain(&p.mh_id)
            .chain(&p.community_id);
        for id in ids {
            t.insert(id.record_id.clone(), p.idx);
        }
    }
    t
}

/// Every distinct source Patient of a 4,000-person borough, with its true person and a per-source count.
fn load() -> (Vec<Record>, Vec<u32>, usize, HashMap<String, usize>) {
    let config = weave_synth::SynthConfig::new(4_000, 2_026);
    let bundles = match weave_synth::generate_fhir(&config) {
        Ok(b) => b,
        Err(e) => panic!("synth: {e}"),
    };
    let truth_map = truth(bundles.world());
    let world_people = bundles.world().people.len();
    let mut seen = std::collections::HashSet::new();
    let mut records: Vec<Record> = Vec::new();
    let mut by_source: HashMap<String, usize> = HashMap::new();
    for bundle in bundles {
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let res = &entry["resource"];
            if res["resourceType"] != "Patient" {
                continue;
            }
            let r = Record::from_patient(res);
            if r.id.is_empty() || !seen.insert(r.id.clone()) {
                continue;
            }
            let prefix: String = r.id.chars().take_while(char::is_ascii_alphabetic).collect();
            *by_source
                .entry(if prefix.is_empty() {
                    "GP".into()
                } else {
                    prefix
                })
                .or_insert(0) += 1;
            records.push(r);
        }
    }
    let labels: Vec<u32> = records
        .iter()
        .map(|r| match truth_map.get(&r.id) {
            Some(&p) => p,
            None => panic!("record {} not in truth", r.id),
        })
        .collect();
    (records, labels, world_people, by_source)
}

/// Deduplicates and prints; returns the cluster metrics.
fn run(label: &str, records: &[Record], labels: &[u32]) -> weave_identity::eval::Metrics {
    let (model, linkage) = match train_and_dedupe(records, &Settings::default()) {
        Ok(x) => x,
        Err(e) => panic!("dedupe: {e}"),
    };
    let m = cluster_metrics(&linkage.cluster_of, labels);
    let s = &linkage.stats;
    let nhs_forced = linkage.pairs.iter().filter(|p| p.nhs_rule).count();
    println!(
        "{label}: lambda {:.3e}; {} candidate pairs, {} links ({nhs_forced} by the NHS rule alone), review queue {}; train {:.2}s predict {:.2}s",
        model.lambda, s.candidate_pairs, s.links, s.reviews, s.train_seconds, s.predict_seconds
    );
    println!(
        "{label}: auto-link clusters precision {:.4} recall {:.4} F1 {:.4} (tp {} / predicted {} / true {})",
        m.precision, m.recall, m.f1, m.true_positives, m.predicted_pairs, m.true_pairs
    );
    for p in linkage
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Link && labels[p.a] != labels[p.b])
        .take(3)
    {
        println!(
            "{label}: false link {:?} / {:?} p={:.4}",
            records[p.a], records[p.b], p.probability
        );
    }
    m
}

#[test]
fn borough_patients_dedupe_with_high_precision_and_recall() {
    let (records, labels, people, by_source) = load();
    let no_nhs = records.iter().filter(|r| r.nhs.is_none()).count();
    println!("borough: {people} people, {} Patient records by source {by_source:?} ({no_nhs} without NHS number)", records.len());
    let m = run("borough", &records, &labels);
    assert!(m.precision >= 0.995, "precision {:.4}", m.precision);
    assert!(m.recall >= 0.98, "recall {:.4}", m.recall);
}

/// The same records with every NHS number removed: demographics alone (the social-care situation).
#[test]
fn borough_without_nhs_numbers() {
    let (mut records, labels, _, _) = load();
    for r in &mut records {
        r.nhs = None;
    }
    let m = run("borough without NHS numbers", &records, &labels);
    assert!(m.precision >= 0.995, "precision {:.4}", m.precision);
    assert!(m.recall >= 0.98, "recall {:.4}", m.recall);
}
