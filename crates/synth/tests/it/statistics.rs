//! Statistics test: the simulated population looks like a place in England.
//!
//! Run on 20,000 people (simulation only, about a second; writing files is not needed). Tolerances:
//! * age–sex pyramid: each ONS five-year band's share within ±0.8 percentage points of ONS mid-2022 at the
//!   window start and ±1.5 points at the reference date (ageing, births and deaths shift it); female share
//!   among people aged 85+ between 0.55 and 0.72;
//! * eFI categories among people aged 65+ at the reference date: fit 50 ± 5 %, mild 35 ± 5 %,
//!   moderate 12 ± 3 %, severe 3 ± 2 % (Clegg et al. 2016);
//! * rates per 1,000 person-years: deaths 7–14, ED attendances 250–550, emergency admissions 60–160
//!   (aged 65+: 150–450), elective admissions 30–150, social care requests per 1,000 adults 15–80;
//!   share of people aged 65+ in long-term social care support at the window start and at the reference
//!   date 2–10 % each;
//! * planted effects: frailty-team effect on length of stay realised within ±0.01 of the parameter; the
//!   naive comparison understates it (confounding); reablement goes less often to the frailer (confounding).

use weave_synth::people::AGE_BANDS;
use weave_synth::{simulate, stats, SynthConfig};

fn within(name: &str, v: f64, lo: f64, hi: f64) {
    assert!(
        (lo..=hi).contains(&v),
        "{name} = {v:.3}, expected {lo}–{hi}"
    );
}

#[test]
fn population_statistics_are_england_shaped() {
    let w = simulate(&SynthConfig::new(20_000, 2024)).expect("simulate");
    let s = stats::compute(&w);
    println!("{s:#?}");
    for (i, band) in AGE_BANDS.iter().enumerate() {
        within(
            &format!("start share age {}+", band.0),
            s.age_band_share_start[i],
            band.1 - 0.8,
            band.1 + 0.8,
        );
        within(
            &format!("end share age {}+", band.0),
            s.age_band_share_end[i],
            band.1 - 1.5,
            band.1 + 1.5,
        );
    }
    within("female share 85+", s.female_share_85_plus, 0.55, 0.72);
    let [fit, mild, moderate, severe] = s.efi_shares_65_plus;
    within("eFI fit %", fit, 45.0, 55.0);
    within("eFI mild %", mild, 30.0, 40.0);
    within("eFI moderate %", moderate, 9.0, 15.0);
    within("eFI severe %", severe, 1.0, 5.0);
    within("deaths /1000py", s.deaths_per_1000_py, 7.0, 14.0);
    within("ED /1000py", s.ed_per_1000_py, 250.0, 550.0);
    within(
        "emergency admissions /1000py",
        s.emergency_admissions_per_1000_py,
        60.0,
        160.0,
    );
    within(
        "emergency admissions 65+ /1000py",
        s.emergency_admissions_65_plus_per_1000_py,
        150.0,
        450.0,
    );
    within(
        "elective admissions /1000py",
        s.elective_admissions_per_1000_py,
        30.0,
        150.0,
    );
    within(
        "care requests /1000 adult py",
        s.care_requests_per_1000_adult_py,
        15.0,
        80.0,
    );
    within(
        "long-term support 65+ %",
        s.long_term_support_65_plus_pct,
        2.0,
        10.0,
    );
    within(
        "long-term support 65+ % at start",
        s.long_term_support_65_plus_start_pct,
        2.0,
        10.0,
    );
}

#[test]
fn planted_effects_are_realised_and_confounded() {
    let w = simulate(&SynthConfig::new(20_000, 77)).expect("simulate");
    let t = weave_synth::truth::document(&w, &weave_synth::Summary::default());
    let f = &t["planted_effects"]["frailty_team_los"];
    println!("{f:#}");
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    within(
        "frailty realised effect",
        num(&f["realised_effect"]),
        0.34,
        0.36,
    );
    assert!(
        num(&f["with_frailty_team"]) > 200.0,
        "too few treated admissions: {}",
        f["with_frailty_team"]
    );
    assert!(
        num(&f["mean_efi_with"]) > num(&f["mean_efi_without"]),
        "frailer people should see the team more"
    );
    assert!(
        num(&f["naive_relative_difference"]) > -0.35,
        "the naive comparison should understate the effect"
    );
    let r = &t["planted_effects"]["reablement_care_home_91d"];
    println!("{r:#}");
    assert!(
        num(&r["with_reablement"]) > 100.0 && num(&r["without_reablement"]) > 100.0,
        "{r}"
    );
    let rows = t["discharge_follow_ups"].as_array().expect("rows");
    let mean_p = |reabled: bool| {
        let xs: Vec<f64> = rows
            .iter()
            .filter(|x| x["reablement"] == reabled)
            .map(|x| num(&x["p_care_home_untreated"]))
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let m = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        m
    };
    assert!(
        mean_p(true) < mean_p(false),
        "reablement should go to the less frail (lower baseline risk)"
    );
}

#[test]
fn gp_record_reproduces_the_efi() {
    // The eFI computed from the GP FHIR record (Conditions mapped through the public deficit table plus
    // polypharmacy from active MedicationStatements) equals the model's deficit count.
    let config = SynthConfig::new(400, 31);
    let w = simulate(&config).expect("simulate");
    let last = w.end.add_days(-1);
    let mut compared = 0;
    for bundle in weave_synth::generate_fhir(&config)
        .expect("fhir")
        .filter(|b| {
            b["entry"][0]["request"]["ifNoneExist"]
                .as_str()
                .is_some_and(|s| s.contains("/Y9"))
        })
    {
        let mut current: Option<(String, std::collections::BTreeSet<usize>, usize)> = None;
        let mut finish = |cur: Option<(String, std::collections::BTreeSet<usize>, usize)>| {
            if let Some((nhs, defs, meds)) = cur {
                let p = w
                    .people
                    .iter()
                    .find(|p| p.nhs_number == nhs)
                    .expect("person");
                if p.alive_on(last) {
                    let from_record = defs.len() + usize::from(meds >= 5);
                    assert_eq!(from_record, p.deficit_count(last), "{}", p.key());
                    compared += 1;
                }
            }
        };
        for r in crate::common::resources(&bundle) {
            match r["resourceType"].as_str() {
                Some("Patient") => {
                    finish(current.take());
                    let nhs = r["identifier"][0]["value"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned();
                    current = Some((nhs, std::collections::BTreeSet::new(), 0));
                }
                Some("Condition") => {
                    let code = r["code"]["coding"][0]["code"].as_str().unwrap_or("");
                    if let (Some(d), Some(c)) =
                        (weave_synth::efi::deficit_for_code(code), current.as_mut())
                    {
                        c.1.insert(d);
                    }
                }
                Some("MedicationStatement") if r["status"] == "active" => {
                    if let Some(c) = current.as_mut() {
                        c.2 += 1;
                    }
                }
                _ => {}
            }
        }
        finish(current.take());
    }
    assert!(compared > 300, "compared {compared}");
}
