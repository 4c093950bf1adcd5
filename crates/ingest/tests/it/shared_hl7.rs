//! The shared HL7 v2 samples (Microsoft FHIR-Converter and CDC trusted-intermediary sets, 189
//! files): every file parses except the CDC set's deliberately broken `Test/Message` files, which
//! fail with the expected error; every ADT and ORU maps to valid FHIR except three messages whose
//! content is wrong (asserted); field-level checks on several messages.

use crate::common::{hl7_files, invalid, one, request, resources, shared};
use serde_json::Value;
use std::path::Path;
use weave_ingest::ack::AckCode;
use weave_ingest::hl7::{decode_text, parse, split_messages, ParseError, ParseOptions};
use weave_ingest::map::{map_message, MapError, MapOptions, Mapped};

/// Files that are broken on purpose, with the parse error they must give.
fn expected_parse_error(name: &str) -> Option<ParseError> {
    match name {
        "empty.hl7" => Some(ParseError::Empty),
        "msh_present_but_missing_all_fields.hl7" => Some(ParseError::Truncated { segment: 0, field: 2 }),
        "msh_present_but_missing_msh-2.hl7" => {
            Some(ParseError::BadDelimiters { field: 2, reason: "the encoding characters are missing" })
        }
        "msh_present_but_missing_msh-9.hl7" => Some(ParseError::NoMessageType),
        "msh_present_but_missing_msh-10.hl7" => {
            Some(ParseError::MissingField { segment: 0, field: 10, name: "MSH-10 (message control id)" })
        }
        _ => None,
    }
}

/// Messages whose content cannot be mapped, with why.
fn expected_map_error(name: &str) -> Option<&'static str> {
    match name {
        // PID-3 is `^^^NPI^MR`: an identifier type without a value.
        "002_CA_ORU_R01.hl7" => Some("PID-3"),
        // PID-7 holds the placeholder text "DOB".
        "002_Epic_ORU_R01.hl7" => Some("PID-7"),
        // OBR-22 is 29 February 2017, which does not exist.
        "002_NewSTEPs_ORU_R01.hl7" => Some("OBR-22"),
        _ => None,
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read(p: &Path) -> String {
    let bytes = std::fs::read(p).unwrap_or_default();
    decode_text(&bytes, &ParseOptions::default()).map(|t| t.into_owned()).unwrap_or_default()
}

fn supported(msg_type: &str, event: &str) -> bool {
    match msg_type {
        "ADT" => matches!(
            event,
            "A01" | "A02" | "A03" | "A04" | "A05" | "A06" | "A07" | "A08" | "A11" | "A12" | "A13" | "A28" | "A31" | "A34" | "A40"
        ),
        "ORU" => event == "R01",
        _ => false,
    }
}

#[test]
fn every_file_parses_or_fails_as_expected() {
    let Some(dir) = shared("testdata/hl7v2") else { return };
    let files = hl7_files(&dir);
    assert_eq!(files.len(), 189, "the shared set has 189 files");
    let (mut passed, mut failed) = (0, Vec::new());
    for f in &files {
        let name = file_name(f);
        let text = read(f);
        let parts = split_messages(&text);
        let outcome = if parts.is_empty() {
            Err(parse(&text, &ParseOptions::default()).err())
        } else {
            parts.iter().map(|m| parse(m, &ParseOptions::default()).map(|_| ()).map_err(Some)).collect::<Result<Vec<_>, _>>().map(|_| ())
        };
        let ok = match (expected_parse_error(&name), outcome) {
            (None, Ok(())) => true,
            (Some(want), Err(Some(got))) => want == got,
            _ => false,
        };
        if ok {
            passed += 1;
        } else {
            failed.push(name);
        }
    }
    println!("shared HL7 parse: {passed} passed, {} failed", failed.len());
    assert!(failed.is_empty(), "failures: {failed:?}");
}

/// Every parsed message of the shared set with its file name.
fn for_each_message(mut f: impl FnMut(&str, &weave_ingest::hl7::Message<'_>)) {
    let Some(dir) = shared("testdata/hl7v2") else { return };
    for path in hl7_files(&dir) {
        let name = file_name(&path);
        let text = read(&path);
        for part in split_messages(&text) {
            if let Ok(m) = parse(part, &ParseOptions::default()) {
                f(&name, &m);
            }
        }
    }
}

#[test]
fn every_adt_and_oru_maps_to_valid_fhir() {
    let (mut passed, mut failed, mut unsupported) = (0, Vec::new(), 0);
    for_each_message(|name, m| {
        let result = map_message(m, &MapOptions::default());
        if !supported(m.message_type(), m.trigger_event()) {
            match &result {
                Err(e @ MapError::Unsupported { .. }) if e.ack_code() == AckCode::AR => unsupported += 1,
                _ => failed.push(format!("{name}: {} should be unsupported", m.message_type())),
            }
            return;
        }
        match (expected_map_error(name), result) {
            (None, Ok(mapped)) => {
                let bad = invalid(&mapped.bundle);
                if bad.is_empty() && mapped.bundle["entry"].as_array().is_some_and(|e| e.len() >= 3) {
                    passed += 1;
                } else {
                    failed.push(format!("{name}: {bad:?}"));
                }
            }
            (Some(field), Err(e)) if e.to_string().starts_with(field) && e.ack_code() == AckCode::AE => passed += 1,
            (want, got) => failed.push(format!("{name}: expected {want:?}, got {:?}", got.map(|_| ()))),
        }
    });
    println!("shared HL7 map: {passed} passed, {} failed ({unsupported} other message types rejected as unsupported)", failed.len());
    assert!(failed.is_empty(), "{failed:#?}");
    if shared("testdata/hl7v2").is_some() {
        assert!(passed >= 75, "only {passed} messages checked");
    }
}

fn map_file(rel: &str) -> Option<Mapped> {
    let dir = shared("testdata/hl7v2")?;
    let text = read(&dir.join(rel));
    let msg = parse(&text, &ParseOptions::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Some(map_message(&msg, &MapOptions::default()).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

#[test]
fn adt_a01_fields_land_where_they_belong() {
    let Some(m) = map_file("microsoft-fhir-converter/input/ADT-A01-01.hl7") else { return };
    let b = &m.bundle;
    let p = one(b, "Patient");
    assert_eq!(p["name"][0]["family"], "EVERYMAN");
    assert_eq!(p["name"][0]["given"], serde_json::json!(["ADAM", "A"]));
    assert_eq!(p["name"][0]["prefix"], serde_json::json!(["Dr."]));
    assert_eq!(p["name"][0]["use"], "usual");
    assert_eq!(p["birthDate"], "1988-08-18");
    assert_eq!(p["gender"], "male");
    assert_eq!(p["maritalStatus"]["coding"][0]["code"], "M");
    assert_eq!(p["address"][0]["line"], serde_json::json!(["1000", "Ste. 123"]));
    assert_eq!(p["address"][0]["postalCode"], "99999");
    assert_eq!(p["deceasedDateTime"], "2008-08-25T11:16:30+01:15");
    let ids: Vec<(&str, &str)> = p["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| (i["system"].as_str().unwrap_or(""), i["value"].as_str().unwrap_or("")))
        .collect();
    assert!(ids.contains(&("https://weave.example/Id/test1/mrn", "PATID1234")), "{ids:?}");
    assert!(ids.contains(&("https://weave.example/Id/USSSA/ss", "123456789")), "{ids:?}");
    assert!(request(b, "Patient")["url"].as_str().is_some_and(|u| u.starts_with("Patient?identifier=https://weave.example/Id/test1/mrn|PATID1234")));
    let e = one(b, "Encounter");
    assert_eq!(e["status"], "in-progress");
    assert_eq!(e["class"]["code"], "PRENC");
    assert_eq!(e["identifier"][0]["value"], "40007716");
    assert_eq!(e["period"]["start"], "2015-02-08T11:34:19+01:10");
    assert_eq!(e["hospitalization"]["admitSource"]["coding"][0]["code"], "NHS Provider-General (inc.A&E-this Hosp)");
    assert_eq!(e["hospitalization"]["reAdmission"]["coding"][0]["code"], "R");
    let participants = e["participant"].as_array().map_or(0, Vec::len);
    assert_eq!(participants, 4, "attending, referring, consulting, admitting");
    assert_eq!(resources(b, "Location").len(), 1);
    assert_eq!(one(b, "Provenance")["entity"][0]["what"]["identifier"]["value"], "MSG00001");
}

#[test]
fn adt_a03_finishes_and_a11_cancels() {
    let Some(a03) = map_file("microsoft-fhir-converter/input/ADT-A03-01.hl7") else { return };
    let e = one(&a03.bundle, "Encounter");
    assert_eq!(e["status"], "finished");
    assert!(e["period"]["end"].is_string(), "{e:#}");
    let Some(a11) = map_file("microsoft-fhir-converter/input/ADT-A11-01.hl7") else { return };
    assert_eq!(one(&a11.bundle, "Encounter")["status"], "entered-in-error");
}

#[test]
fn adt_a02_keeps_the_prior_location() {
    let Some(m) = map_file("microsoft-fhir-converter/input/ADT-A02-01.hl7") else { return };
    let e = one(&m.bundle, "Encounter");
    let locs = e["location"].as_array().cloned().unwrap_or_default();
    assert_eq!(locs.len(), 2, "{e:#}");
    assert_eq!(locs[0]["status"], "completed");
    assert_eq!(locs[1]["status"], "active");
    assert_eq!(locs[0]["period"]["end"], locs[1]["period"]["start"]);
}

#[test]
fn adt_a40_gives_a_merge_instruction() {
    let Some(m) = map_file("microsoft-fhir-converter/input/ADT-A40-01.hl7") else { return };
    let merge = m.merge.expect("merge");
    assert_eq!(merge.surviving.system, "https://weave.example/Id/BCBS/mrn");
    assert_eq!(merge.surviving.value, "12345");
    assert_eq!(merge.retired.system, "https://weave.example/Id/BCBS/mrn");
    assert_eq!(merge.retired.value, "56789");
    assert_eq!(one(&m.bundle, "Patient")["name"][0]["family"], "Test");
}

fn observations(b: &Value) -> Vec<&Value> {
    resources(b, "Observation")
}

#[test]
fn oru_values_units_ranges_and_flags() {
    let Some(m) = map_file("microsoft-fhir-converter/input/ORU-R01-01.hl7") else { return };
    let b = &m.bundle;
    let dr = one(b, "DiagnosticReport");
    assert_eq!(dr["code"]["coding"][0]["code"], "625-4");
    assert_eq!(dr["identifier"][0]["value"], "986");
    assert_eq!(dr["effectiveDateTime"], "2002-02-15T07:30:00+02:15");
    let obs = observations(b);
    let coded = obs.iter().find(|o| o["valueCodeableConcept"].is_object()).expect("CWE value");
    assert_eq!(coded["valueCodeableConcept"]["coding"][0]["system"], "http://snomed.info/sct");
    assert_eq!(coded["valueCodeableConcept"]["coding"][0]["code"], "27268008");
    assert_eq!(coded["referenceRange"][0]["low"]["value"], serde_json::json!(70));
    assert_eq!(coded["interpretation"][0]["coding"][0]["code"], "A");
    assert_eq!(coded["status"], "preliminary");
    let numeric = obs.iter().find(|o| o["valueQuantity"].is_object()).expect("NM value");
    assert_eq!(numeric["valueQuantity"]["value"], serde_json::json!(27));
    assert!(m.warnings.iter().any(|w| w.contains("repeats")), "{:?}", m.warnings);
}

#[test]
fn cdc_oru_numeric_results_carry_ucum_units() {
    let Some(dir) = shared("testdata/hl7v2") else { return };
    let rel = "cdc-trusted-intermediary/CA/004_CA_ORU_R01_CDPH_produced_0_initial_message.hl7";
    let text = read(&dir.join(rel));
    let msg = parse(&text, &ParseOptions::default()).expect("parses");
    let m = map_message(&msg, &MapOptions::default()).expect("maps");
    let nm: Vec<_> = msg.segments_named("OBX").filter(|o| o.field(2).raw() == "NM").collect();
    assert!(!nm.is_empty());
    let obs = observations(&m.bundle);
    for obx in nm {
        let code = obx.field(3).comp(1);
        let o = obs.iter().find(|o| o["code"]["coding"][0]["code"] == code).unwrap_or_else(|| panic!("observation for {code} in {:#}", m.bundle));
        let want: Value = serde_json::from_str(obx.field(5).raw()).expect("number");
        assert_eq!(o["valueQuantity"]["value"], want, "{code}");
        let unit = obx.field(6).comp(1);
        assert_eq!(o["valueQuantity"]["unit"], unit, "{code}");
        let ucum = match unit {
            "grams" => Some("g"),
            "µmol/L" => Some("umol/L"),
            "µmol/L/h" => Some("umol/L/h"),
            "copies/µL" => None,
            "mIU/L" => Some("m[IU]/L"),
            "ng/mL" | "nmol/L" | "{Ratio}" => Some(unit),
            "enzyme units" | "ERU" => None,
            other => panic!("unit {other} not in the test's table"),
        };
        match ucum {
            Some(c) => {
                assert_eq!(o["valueQuantity"]["code"], c, "{code}");
                assert_eq!(o["valueQuantity"]["system"], "http://unitsofmeasure.org", "{code}");
            }
            None => assert!(o["valueQuantity"].get("code").is_none(), "{code}: not UCUM, no code"),
        }
    }
}
