//! Every generated FHIR resource validates with weave-fhir's structural validator.

use std::collections::BTreeMap;

use weave_synth::{generate_fhir, SynthConfig};

#[test]
fn the_validator_is_not_a_no_op() {
    let bad = serde_json::json!({ "resourceType": "Patient", "birthDate": "not-a-date", "foo": 1 });
    assert!(!weave_fhir::validate::validate_resource(weave_fhir::r4(), &bad).is_empty());
}

#[test]
fn every_fhir_resource_validates() {
    let model = weave_fhir::r4();
    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut examples: Vec<String> = Vec::new();
    for bundle in generate_fhir(&SynthConfig::new(600, 13)).expect("generate_fhir") {
        assert_eq!(bundle["type"], "transaction");
        for entry in bundle["entry"].as_array().expect("entries") {
            let r = &entry["resource"];
            let url = entry["fullUrl"].as_str().unwrap_or("");
            assert!(
                url.starts_with("urn:uuid:") || url.starts_with("https://weave.example/fhir/"),
                "{url}"
            );
            let issues = weave_fhir::validate::validate_resource(model, r);
            let errors: Vec<_> = issues
                .iter()
                .filter(|i| {
                    matches!(
                        i.severity,
                        weave_fhir::outcome::Severity::Error | weave_fhir::outcome::Severity::Fatal
                    )
                })
                .collect();
            *by_type
                .entry(r["resourceType"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
            if errors.is_empty() {
                passed += 1;
            } else {
                failed += 1;
                if examples.len() < 10 {
                    examples.push(format!(
                        "{}: {:?}",
                        r["resourceType"],
                        errors
                            .iter()
                            .map(|e| (&e.diagnostics, &e.expression))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    println!("resources by type: {by_type:?}");
    for e in &examples {
        println!("  {e}");
    }
    for t in [
        "Patient",
        "Condition",
        "MedicationStatement",
        "Encounter",
        "Observation",
        "Flag",
        "ServiceRequest",
        "Task",
        "EpisodeOfCare",
        "CarePlan",
        "Organization",
        "Location",
        "Practitioner",
        "PractitionerRole",
        "HealthcareService",
    ] {
        assert!(by_type.contains_key(t), "no {t} generated");
    }
    assert_eq!(failed, 0, "invalid resources, e.g. {examples:#?}");
}
