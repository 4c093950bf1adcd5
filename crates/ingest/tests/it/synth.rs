//! Weave's own feeds: a small synthetic borough (300 people, seed 1) generated once per run. Every
//! HL7 message parses, maps and validates with field-level checks; every CLD file validates with
//! no row error and maps to valid FHIR that uses the same extensions as the synthetic FHIR
//! rendering of the council; injected bad rows are reported with exactly their line numbers.

use crate::common::{invalid, one, request, resources};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use weave_ingest::cld;
use weave_ingest::hl7::{parse, split_messages, Message, ParseOptions};
use weave_ingest::map::{map_message, MapOptions, Mapped};
use weave_ingest::time::{parse_dtm, LocalZone};

fn borough() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = weave_synth::SynthConfig::new(300, 1);
        weave_synth::generate(&config, dir.path()).expect("generate");
        dir
    })
    .path()
}

fn files(sub: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(borough().join(sub))
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == ext)).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn all_messages() -> Vec<String> {
    files("hospital/hl7", "hl7")
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            split_messages(&text).into_iter().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

fn ts(raw: &str) -> String {
    parse_dtm(raw).map(|d| d.fhir_datetime(LocalZone::EuropeLondon)).unwrap_or_default()
}

fn check_adt(m: &Message<'_>, out: &Mapped) {
    let b = &out.bundle;
    let pid = m.segment("PID").expect("PID");
    let patient = one(b, "Patient");
    assert_eq!(patient["name"][0]["family"], pid.field(5).comp(1));
    assert_eq!(patient["birthDate"], ts(pid.field(7).raw()));
    let mrn = pid.field(3).reps().find(|r| r.comp(5) == "MR").map(|r| r.comp(1).to_owned()).expect("MRN");
    let url = format!("Patient?identifier=https://weave.example/Id/R9W/mrn|{mrn}");
    assert_eq!(request(b, "Patient")["url"], url.as_str());
    if let Some(nhs) = pid.field(3).reps().find(|r| r.comp(5) == "NH") {
        let id = &patient["identifier"][0];
        assert_eq!(id["system"], "https://fhir.nhs.uk/Id/nhs-number");
        assert_eq!(id["value"], nhs.comp(1));
        assert_eq!(id["extension"][0]["valueCodeableConcept"]["coding"][0]["code"], "02");
    }
    if let Some(pd1) = m.segment("PD1") {
        let gps: Vec<_> = resources(b, "Organization").into_iter().filter(|o| o["identifier"][0]["value"] == pd1.field(3).comp(3)).collect();
        assert_eq!(gps.len(), 1);
        assert_eq!(gps[0]["identifier"][0]["system"], "https://fhir.nhs.uk/Id/ods-organization-code");
        assert_eq!(patient["generalPractitioner"].as_array().map(Vec::len), Some(1));
    }
    let event = m.trigger_event();
    let pv1 = m.segment("PV1");
    let visit = pv1.map(|p| p.field(19).comp(1)).unwrap_or("");
    match event {
        "A40" => {
            let merge = out.merge.as_ref().expect("merge instruction");
            assert_eq!(merge.surviving.value, mrn);
            assert_eq!(merge.retired.value, m.segment("MRG").map_or("", |s| s.field(1).comp(1)));
            assert_eq!(merge.retired.system, "https://weave.example/Id/R9W/mrn");
        }
        _ if visit.is_empty() => assert!(resources(b, "Encounter").is_empty()),
        _ => {
            let pv1 = pv1.expect("PV1");
            let spell = resources(b, "Encounter").into_iter().find(|e| e["identifier"][0]["value"] == visit).expect("spell");
            assert_eq!(spell["identifier"][0]["system"], "https://weave.example/Id/R9W/visit");
            let class = if pv1.field(2).raw() == "E" { "EMER" } else { "IMP" };
            assert_eq!(spell["class"]["code"], class);
            assert_eq!(spell["period"]["start"], ts(pv1.field(44).raw()));
            let status = if event == "A03" { "finished" } else { "in-progress" };
            assert_eq!(spell["status"], status);
            if event == "A03" {
                assert_eq!(spell["period"]["end"], ts(pv1.field(45).raw()));
                assert_eq!(spell["hospitalization"]["dischargeDisposition"]["coding"][0]["code"], pv1.field(36).raw());
            }
            let ward = pv1.field(3).comp(1);
            let loc = resources(b, "Location").into_iter().find(|l| l["identifier"][0]["value"] == ward).expect("ward");
            assert_eq!(loc["identifier"][0]["system"], "https://weave.example/Id/R9W/location");
            if let Some(zft) = m.segment("ZFT") {
                let review = resources(b, "Encounter").into_iter().find(|e| e["type"][0]["coding"][0]["code"] == "frailty-team-review").expect("review");
                assert_eq!(review["period"]["start"], ts(zft.field(2).raw()));
                assert!(review["partOf"]["reference"].as_str().is_some_and(|r| r.starts_with("urn:uuid:")));
                let who = one(b, "Practitioner");
                assert_eq!(who["identifier"][0]["system"], "https://weave.example/Id/professional-registration");
                assert_eq!(who["identifier"][0]["value"], zft.field(4).comp(1));
            }
        }
    }
}

fn check_oru(m: &Message<'_>, out: &Mapped) {
    let obs = resources(&out.bundle, "Observation");
    let obx: Vec<_> = m.segments_named("OBX").collect();
    assert_eq!(obs.len(), obx.len());
    for (o, x) in obs.iter().zip(&obx) {
        assert_eq!(o["code"]["coding"][0]["code"], x.field(3).comp(1));
        assert_eq!(o["code"]["coding"][0]["system"], "http://loinc.org");
        let want: Value = serde_json::from_str(x.field(5).raw()).expect("number");
        assert_eq!(o["valueQuantity"]["value"], want);
        assert_eq!(o["valueQuantity"]["code"], x.field(6).raw());
        assert_eq!(o["valueQuantity"]["system"], "http://unitsofmeasure.org");
        assert_eq!(o["interpretation"][0]["coding"][0]["code"], x.field(8).raw());
        let (low, high) = x.field(7).raw().split_once('-').expect("range");
        assert_eq!(o["referenceRange"][0]["low"]["value"], serde_json::from_str::<Value>(low).expect("low"));
        assert_eq!(o["referenceRange"][0]["high"]["value"], serde_json::from_str::<Value>(high).expect("high"));
    }
    let dr = one(&out.bundle, "DiagnosticReport");
    assert_eq!(dr["status"], "final");
    assert_eq!(dr["result"].as_array().map(Vec::len), Some(obx.len()));
}

#[test]
fn every_synthetic_hl7_message_maps_to_valid_fhir() {
    let msgs = all_messages();
    assert!(msgs.len() > 500, "{} messages", msgs.len());
    let mut failed = Vec::new();
    let mut seen = BTreeSet::new();
    for text in &msgs {
        let m = match parse(text, &ParseOptions::default()) {
            Ok(m) => m,
            Err(e) => {
                failed.push(format!("parse: {e}"));
                continue;
            }
        };
        let out = match map_message(&m, &MapOptions::default()) {
            Ok(o) => o,
            Err(e) => {
                failed.push(format!("{}: {e}", m.control_id()));
                continue;
            }
        };
        let bad = invalid(&out.bundle);
        if !bad.is_empty() {
            failed.push(format!("{}: {bad:?}", m.control_id()));
        }
        seen.insert(format!("{}^{}", m.message_type(), m.trigger_event()));
        match m.message_type() {
            "ADT" => check_adt(&m, &out),
            _ => check_oru(&m, &out),
        }
    }
    println!("synthetic HL7: {} passed, {} failed ({seen:?})", msgs.len() - failed.len(), failed.len());
    assert!(failed.is_empty(), "{failed:#?}");
    for t in ["ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A08", "ORU^R01"] {
        assert!(seen.contains(t), "{t} missing from {seen:?}");
    }
}

#[test]
fn mapping_is_deterministic_so_reapplying_is_idempotent() {
    for text in all_messages().iter().take(200) {
        let m = parse(text, &ParseOptions::default()).expect("parses");
        let a = map_message(&m, &MapOptions::default()).expect("maps");
        let b = map_message(&m, &MapOptions::default()).expect("maps");
        assert_eq!(a.bundle, b.bundle);
        for e in a.bundle["entry"].as_array().into_iter().flatten() {
            let method = e["request"]["method"].as_str().unwrap_or("");
            let url = e["request"]["url"].as_str().unwrap_or("");
            let conditional = (method == "PUT" && (url.contains("?identifier=") || url.starts_with("Provenance/")))
                || (method == "POST" && e["request"]["ifNoneExist"].is_string());
            assert!(conditional, "unconditional write {method} {url}");
        }
    }
}

fn council_extensions() -> BTreeSet<String> {
    let mut urls = BTreeSet::new();
    for f in files("fhir/council", "json") {
        let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap_or_default()).unwrap_or(Value::Null);
        for e in v["entry"].as_array().into_iter().flatten() {
            for x in e["resource"]["extension"].as_array().into_iter().flatten() {
                if let Some(u) = x["url"].as_str() {
                    urls.insert(u.to_owned());
                }
            }
        }
    }
    urls
}

#[test]
fn every_synthetic_cld_file_validates_and_maps() {
    let synth_ext = council_extensions();
    let mut rows = 0;
    let mut ours = BTreeSet::new();
    for f in files("council/cld", "csv") {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let imp = cld::import(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(imp.report.errors, vec![], "{}", f.display());
        assert_eq!(imp.report.valid, imp.report.rows);
        rows += imp.report.rows;
        for b in &imp.bundles {
            let bad = invalid(b);
            assert!(bad.is_empty(), "{}: {bad:?}", f.display());
            for ep in resources(b, "EpisodeOfCare") {
                for x in ep["extension"].as_array().into_iter().flatten() {
                    ours.insert(x["url"].as_str().unwrap_or("").to_owned());
                }
            }
        }
    }
    println!("synthetic CLD: {rows} rows valid");
    assert!(rows > 100);
    assert!(ours.len() >= 6, "{ours:?}");
    let foreign: Vec<_> = ours.difference(&synth_ext).collect();
    assert!(foreign.is_empty(), "extensions the synthetic FHIR rendering does not use: {foreign:?}");
}

#[test]
fn a_service_row_maps_to_an_episode_with_costs() {
    let Some(f) = files("council/cld", "csv").into_iter().last() else { return };
    let text = std::fs::read_to_string(f).unwrap_or_default();
    let imp = cld::import(text.as_bytes()).expect("imports");
    let line = text.lines().skip(1).find(|l| l.contains(",Service,") && l.contains(",Hourly,")).expect("hourly service");
    let cols: Vec<&str> = line.split(',').collect();
    let person = cols[4];
    let bundle = imp.bundles.iter().find(|b| one(b, "Patient")["identifier"].as_array().into_iter().flatten().any(|i| i["value"] == person)).expect("bundle");
    assert_eq!(request(bundle, "Patient")["url"], format!("Patient?identifier=https://weave.example/Id/E08000999/person|{person}").as_str());
    let ep = resources(bundle, "EpisodeOfCare").into_iter().find(|e| e["period"]["start"] == iso(cols[14])).expect("episode");
    let ext = |name: &str| ep["extension"].as_array().into_iter().flatten().find(|x| x["url"] == format!("https://weave.example/fhir/StructureDefinition/{name}")).cloned().unwrap_or(Value::Null);
    assert_eq!(ext("unit-cost")["valueMoney"]["value"], serde_json::from_str::<Value>(cols[21]).expect("cost"));
    assert_eq!(ext("planned-units-per-week")["valueQuantity"]["value"], serde_json::from_str::<Value>(cols[23]).expect("units"));
    assert_eq!(ext("planned-units-per-week")["valueQuantity"]["code"], "h/wk");
    assert_eq!(ext("cost-frequency")["valueString"], "Hourly");
    assert!(ext("weekly-cost")["valueMoney"]["value"].is_number());
    assert_eq!(ep["type"][0]["coding"][0]["code"], cols[18]);
    assert_eq!(ep["status"], if cols[15].is_empty() { "active" } else { "finished" });
}

fn iso(dmy: &str) -> String {
    let p: Vec<&str> = dmy.split('/').collect();
    format!("{}-{}-{}", p[2], p[1], p[0])
}

#[test]
fn injected_bad_rows_are_reported_by_line_and_the_rest_still_maps() {
    let Some(f) = files("council/cld", "csv").into_iter().max_by_key(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)) else { return };
    let text = std::fs::read_to_string(f).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let good = cld::import(text.as_bytes()).expect("imports");
    let n_good = good.report.valid;
    let sample = lines[1];
    let bad_rows = [
        sample.replacen(",Service User,", ",Service user,", 1),
        sample.replacen("E08000999", "Loom", 1),
        sample.splitn(2, ',').map(str::to_owned).collect::<Vec<_>>().join(",,"),
    ];
    // Insert after file lines 2, 4 and at the end: they become lines 3, 6 and the last line.
    let mut out: Vec<String> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        out.push((*l).to_owned());
        if i == 1 {
            out.push(bad_rows[0].clone());
        }
        if i == 3 {
            out.push(bad_rows[1].clone());
        }
    }
    out.push(bad_rows[2].clone());
    let last = u64::try_from(out.len()).unwrap_or(0);
    let imp = cld::import(out.join("\n").as_bytes()).expect("imports");
    assert_eq!(imp.report.invalid_lines(), vec![3, 6, last], "{:#?}", imp.report.errors);
    assert_eq!(imp.report.valid, n_good);
    assert_eq!(imp.report.rows, n_good + 3);
    assert_eq!(imp.bundles.len(), good.bundles.len());
    assert!(imp.bundles.iter().all(|b| invalid(b).is_empty()));
    let cols: Vec<&str> = imp.report.errors.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(cols, vec!["Client_Type", "LA_Code", ""]);
}
