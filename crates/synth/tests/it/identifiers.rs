//! NHS numbers (modulus 11 everywhere they appear), linkage truth coverage and messy-identity rates.

use std::collections::BTreeSet;

use serde_json::Value;
use weave_fhir::nhs::is_valid_nhs_number;

use crate::common::{fhir_files, files, generate_into, json, resources};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

#[test]
fn every_nhs_number_passes_modulus_11() {
    let (dir, _) = generate_into(1_000, 7);
    let mut seen = 0usize;
    let mut bad = Vec::new();
    let mut check = |n: &str, origin: &str| {
        seen += 1;
        if !(n.starts_with("999") && is_valid_nhs_number(n)) {
            bad.push(format!("{origin}: {n}"));
        }
    };
    for path in fhir_files(dir.path()) {
        let bundle = json(&path);
        for r in resources(&bundle).filter(|r| r["resourceType"] == "Patient") {
            for id in r["identifier"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|i| i["system"] == NHS)
            {
                check(id["value"].as_str().unwrap_or(""), "fhir");
            }
        }
    }
    for rel in files(dir.path()) {
        let s = rel.to_string_lossy().to_string();
        let text = std::fs::read_to_string(dir.path().join(&rel)).expect("read");
        if s.ends_with(".hl7") {
            for pid in text.split('\r').filter(|seg| seg.starts_with("PID|")) {
                let pid3 = pid.split('|').nth(3).unwrap_or("");
                for rep in pid3.split('~').filter(|r| r.ends_with("^^^NHS^NH")) {
                    check(rep.split('^').next().unwrap_or(""), "hl7");
                }
            }
        } else if s.ends_with(".csv") {
            for line in text.lines().skip(1) {
                let nhs = line.split(',').nth(5).unwrap_or("");
                if !nhs.is_empty() {
                    check(nhs, "cld");
                }
            }
        }
    }
    let truth = json(&dir.path().join("truth.json"));
    for p in truth["people"].as_array().expect("people") {
        check(p["nhs_number"].as_str().unwrap_or(""), "truth");
    }
    println!("{} passed, {} failed", seen - bad.len(), bad.len());
    assert!(seen > 3_000, "only {seen} NHS numbers seen");
    assert!(
        bad.is_empty(),
        "invalid NHS numbers: {:?}",
        &bad[..bad.len().min(10)]
    );
}

fn local_ids(bundle: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in resources(bundle).filter(|r| r["resourceType"] == "Patient") {
        for id in r["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["system"] != NHS)
        {
            out.push((
                id["system"].as_str().unwrap_or("").to_owned(),
                id["value"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    out
}

#[test]
fn truth_links_every_source_record() {
    let (dir, _) = generate_into(800, 3);
    let truth = json(&dir.path().join("truth.json"));
    let people = truth["people"].as_array().expect("people");
    assert_eq!(people.len(), 800);
    let mut known = BTreeSet::new();
    for p in people {
        let recs = p["records"].as_array().expect("records");
        assert_eq!(recs[0]["source"], "gp", "every person has a GP record");
        for r in recs {
            known.insert(r["id"].as_str().unwrap_or("").to_owned());
        }
    }
    let mut checked = 0;
    for path in fhir_files(dir.path()).iter().skip(1) {
        for (system, value) in local_ids(&json(path)) {
            let id = if system.ends_with("/patient") && system.contains("/Y9") {
                let ods = system.rsplit('/').nth(1).unwrap_or("");
                format!("{ods}/{value}")
            } else {
                value
            };
            assert!(
                known.contains(&id),
                "{id} ({system}) missing from truth.json"
            );
            checked += 1;
        }
    }
    for rel in files(dir.path())
        .iter()
        .filter(|r| r.to_string_lossy().ends_with(".csv"))
    {
        let text = std::fs::read_to_string(dir.path().join(rel)).expect("read");
        for line in text.lines().skip(1) {
            let la = line.split(',').nth(4).unwrap_or("");
            assert!(
                known.contains(la),
                "CLD person {la} missing from truth.json"
            );
            checked += 1;
        }
    }
    assert!(checked > 800, "checked only {checked}");
}

#[test]
fn council_records_are_messy_at_the_documented_rates() {
    let w = weave_synth::simulate(&weave_synth::SynthConfig::new(20_000, 11)).expect("simulate");
    let primary: Vec<_> = w
        .people
        .iter()
        .filter_map(|p| p.council_ids.first())
        .collect();
    assert!(
        primary.len() > 500,
        "only {} council clients",
        primary.len()
    );
    #[allow(clippy::cast_precision_loss)]
    let share = |err: &str| {
        primary.iter().filter(|i| i.errors.contains(&err)).count() as f64 / primary.len() as f64
    };
    let no_nhs = share("no_nhs_number");
    assert!(
        (0.20..=0.30).contains(&no_nhs),
        "council records without NHS number: {no_nhs:.3} (documented 25 %)"
    );
    assert!(
        (0.10..=0.20).contains(&share("stale_address")),
        "stale addresses {:.3}",
        share("stale_address")
    );
    assert!(share("nickname") > 0.02 && share("typo") > 0.02 && share("dob_swap") > 0.003);
    let dups = w.people.iter().filter(|p| p.council_ids.len() > 1).count();
    assert!(dups > 0, "expected some duplicate council registrations");
    let merged = w
        .people
        .iter()
        .flat_map(|p| p.hospital_ids.iter().skip(1))
        .filter(|i| i.merged_at.is_some())
        .count();
    assert!(merged > 0, "expected some merged duplicate MRNs");
    for p in &w.people {
        for id in p
            .hospital_ids
            .iter()
            .chain(&p.council_ids)
            .chain(&p.mh_id)
            .chain(&p.community_id)
        {
            if let Some(n) = &id.nhs_number {
                assert_eq!(
                    n, &p.nhs_number,
                    "a present NHS number is always the person's own"
                );
            }
        }
    }
}
