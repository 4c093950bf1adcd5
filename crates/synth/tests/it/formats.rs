//! Native formats: HL7 v2 message framing and segments, CLD columns and quarterly restatement, layout.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{files, generate_into, json};

#[test]
fn hl7_messages_are_framed_and_carry_identifiers() {
    let (dir, summary) = generate_into(1_500, 21);
    let mut types = BTreeSet::new();
    let mut n = 0;
    let hl7_files: Vec<_> = files(dir.path())
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".hl7"))
        .collect();
    assert!(!hl7_files.is_empty());
    for rel in hl7_files {
        let text = std::fs::read_to_string(dir.path().join(&rel)).expect("read");
        assert!(
            text.ends_with("\r\n\n"),
            "{} must end with a message terminator",
            rel.display()
        );
        let mut last_ts = String::new();
        for msg in text.split("\n\n").filter(|m| !m.is_empty()) {
            n += 1;
            let segs: Vec<&str> = msg.split('\r').filter(|s| !s.is_empty()).collect();
            assert!(segs[0].starts_with("MSH|^~\\&|PAS|R9W|"), "{msg:?}");
            let msh: Vec<&str> = segs[0].split('|').collect();
            assert_eq!(msh[11], "2.4");
            assert!(
                msh[6] >= last_ts.as_str(),
                "messages out of time order in {}",
                rel.display()
            );
            last_ts = msh[6].to_owned();
            types.insert(msh[8].split('^').take(2).collect::<Vec<_>>().join("^"));
            let pid = segs
                .iter()
                .find(|s| s.starts_with("PID|"))
                .expect("PID segment");
            let pid3 = pid.split('|').nth(3).unwrap_or("");
            assert!(
                pid3.contains("^^^R9W^MR"),
                "PID-3 must carry the MRN: {pid3}"
            );
            if msh[8].starts_with("ADT^A0") || msh[8].starts_with("ORU") {
                let pv1 = segs.iter().find(|s| s.starts_with("PV1|")).expect("PV1");
                assert!(
                    pv1.split('|')
                        .nth(2)
                        .is_some_and(|c| ["E", "I", "N"].contains(&c)),
                    "{pv1}"
                );
            }
            if msh[8].starts_with("ADT^A03") {
                let pv1: Vec<&str> = segs
                    .iter()
                    .find(|s| s.starts_with("PV1|"))
                    .expect("PV1")
                    .split('|')
                    .collect();
                assert!(
                    !pv1[36].is_empty() && !pv1[45].is_empty(),
                    "A03 needs disposition and discharge time"
                );
            }
            if msh[8].starts_with("ADT^A40") {
                assert!(segs.iter().any(|s| s.starts_with("MRG|")));
            }
        }
    }
    assert_eq!(n, summary.hl7_messages);
    for t in [
        "ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A08", "ORU^R01",
    ] {
        assert!(types.contains(t), "no {t} message among {types:?}");
    }
    assert!(
        pid_nhs_share(dir.path()) > 0.9,
        "most PID segments should carry an NHS number"
    );
}

fn pid_nhs_share(dir: &std::path::Path) -> f64 {
    let (mut with, mut all) = (0usize, 0usize);
    for rel in files(dir)
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".hl7"))
    {
        let text = std::fs::read_to_string(dir.join(rel)).expect("read");
        for pid in text.split('\r').filter(|s| s.starts_with("PID|")) {
            all += 1;
            with += usize::from(pid.contains("^^^NHS^NH"));
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let share = with as f64 / all.max(1) as f64;
    share
}

#[test]
fn a40_merges_appear_with_enough_people() {
    let w = weave_synth::simulate(&weave_synth::SynthConfig::new(6_000, 4)).expect("simulate");
    let msgs: Vec<_> = w
        .people
        .iter()
        .flat_map(|p| weave_synth::hl7::person_messages(p, &w.place, w.end))
        .collect();
    assert!(
        msgs.iter().any(|m| m.text.contains("|ADT^A40^ADT_A39|")),
        "no A40 merge among {} messages",
        msgs.len()
    );
}

#[test]
fn cld_files_have_the_domain_columns_and_restate_events() {
    let (dir, summary) = generate_into(2_000, 8);
    let mut cld: Vec<_> = files(dir.path())
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".csv"))
        .collect();
    cld.sort();
    assert_eq!(cld.len(), 20, "five years of quarterly files");
    assert_eq!(cld.len(), summary.cld_files);
    // (person, event type, start) → end dates seen per quarter in order.
    let mut history: BTreeMap<(String, String, String, String), Vec<String>> = BTreeMap::new();
    let mut rows = 0;
    for rel in &cld {
        let text = std::fs::read_to_string(dir.path().join(rel)).expect("read");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        assert_eq!(header, weave_synth::cld::COLUMNS);
        for line in lines {
            rows += 1;
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 26, "{line}");
            assert!(
                ["Request", "Assessment", "Service", "Review"].contains(&f[13]),
                "{}",
                f[13]
            );
            assert!(["1", "2"].contains(&f[7]));
            assert_eq!(f[12], "Service User");
            assert_eq!(f[14].len(), 10, "dd/mm/yyyy start date: {}", f[14]);
            if f[13] == "Service" {
                assert!(
                    f[17].contains(": ") && !f[18].is_empty() && !f[21].is_empty(),
                    "{line}"
                );
                assert!(
                    ["Hourly", "Weekly", "Daily", "One-off"].contains(&f[22]),
                    "{}",
                    f[22]
                );
            }
            history
                .entry((f[4].into(), f[13].into(), f[14].into(), f[18].into()))
                .or_default()
                .push(f[15].into());
        }
    }
    assert_eq!(rows, summary.cld_rows);
    let restated = history
        .values()
        .filter(|ends| {
            ends.len() > 1 && ends[0].is_empty() && ends.last().is_some_and(|e| !e.is_empty())
        })
        .count();
    assert!(
        restated > 10,
        "expected open events closed by later submissions, found {restated}"
    );
}

#[test]
fn layout_and_truth_are_complete() {
    let (dir, _) = generate_into(600, 12);
    let m = json(&dir.path().join("manifest.json"));
    assert_eq!(m["fhir_load_order"][0], "place.json");
    let t = json(&dir.path().join("truth.json"));
    for key in [
        "config",
        "unit_costs",
        "statistics",
        "planted_effects",
        "costs",
        "counts",
        "people",
        "frailty_admissions",
        "discharge_follow_ups",
    ] {
        assert!(t.get(key).is_some(), "truth.json lacks {key}");
    }
    assert_eq!(t["config"]["reference_date"], "2025-04-01");
    assert_eq!(
        t["planted_effects"]["frailty_team_los"]["effect"].as_f64(),
        Some(0.35)
    );
    assert_eq!(
        t["planted_effects"]["reablement_care_home_91d"]["effect"].as_f64(),
        Some(0.2)
    );
    let costs = t["unit_costs"].as_array().expect("unit costs");
    assert!(costs
        .iter()
        .any(|c| c["key"] == "home_care_hour" && c["amount_gbp"] == "23.20"));
}
