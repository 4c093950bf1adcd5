//! The public API end to end on small hand-made and synthetic data.

use weave_identity::synthetic::generate;
use weave_identity::{
    dedupe, link, link_csv, score, train, train_and_dedupe, train_and_link, Decision, Dob, Field,
    LinkCsvOptions, MatchIndex, Model, Record, Settings, Sex,
};

fn records(n: usize, seed: u64) -> (Vec<Record>, Vec<u32>) {
    generate(n, seed)
        .into_iter()
        .map(|l| (l.record, l.entity))
        .unzip()
}

#[test]
fn model_round_trips_as_json_and_scores_the_same() {
    let (recs, _) = records(3_000, 5);
    let model = match train(&recs, &Settings::default()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert!(
        model.lambda > 0.0 && model.lambda < 0.01,
        "lambda {}",
        model.lambda
    );
    let json = serde_json::to_string(&model).unwrap_or_default();
    let back: Model = match serde_json::from_str(&json) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let (a, b) = (&recs[0], &recs[1]);
    assert_eq!(score(&model, a, b), score(&back, a, b));
    // A record against itself: every present field agrees, strongly positive, explained per field.
    let s = score(&model, a, a);
    assert!(s.probability > 0.99, "{s:?}");
    assert_eq!(s.contributions.len(), Field::ALL.len());
    let total: f64 = s.contributions.iter().map(|c| c.weight).sum();
    assert!((total - s.match_weight).abs() < 1e-3);
    assert!(s
        .contributions
        .iter()
        .any(|c| c.field == Field::Dob && c.level == "exact" && c.weight > 5.0));
}

#[test]
fn rare_surname_counts_for_more_than_a_common_one() {
    let (recs, _) = records(5_000, 8);
    let Ok(model) = train(&recs, &Settings::default()) else {
        panic!("train")
    };
    let weight_of = |family: &str| {
        let r = Record {
            family: family.into(),
            ..Record::default()
        };
        score(&model, &r, &r)
            .contributions
            .iter()
            .find(|c| c.field == Field::Family)
            .map_or(0.0, |c| c.weight)
    };
    let (common, rare) = (weight_of("Smith"), weight_of("Zzyzxwick"));
    println!("term frequency: exact Smith {common:.2} bits, exact rare surname {rare:.2} bits");
    assert!(rare > common + 3.0);
}

#[test]
fn invalid_nhs_number_never_links_on_its_own() {
    let (mut recs, _) = records(2_000, 9);
    let bad = "9999999991";
    assert!(!weave_fhir::nhs::is_valid_nhs_number(bad));
    recs.push(Record {
        id: "x1".into(),
        given: "Ann".into(),
        family: "Quill".into(),
        nhs: Some(bad.into()),
        ..Record::default()
    });
    recs.push(Record {
        id: "x2".into(),
        given: "Zed".into(),
        family: "Marsh".into(),
        nhs: Some(bad.into()),
        ..Record::default()
    });
    let Ok((model, linkage)) = train_and_dedupe(&recs, &Settings::default()) else {
        panic!("dedupe")
    };
    assert!(linkage
        .pairs
        .iter()
        .all(|p| !(p.id_a == "x1" && p.id_b == "x2")));
    assert_eq!(linkage.stats.invalid_nhs_numbers, 2);
    let s = score(&model, &recs[recs.len() - 2], &recs[recs.len() - 1]);
    assert!(s.invalid_nhs_number);
    let nhs = s.contributions.iter().find(|c| c.field == Field::Nhs);
    assert_eq!(
        nhs.map(|c| (c.level.as_str(), c.weight)),
        Some(("null", 0.0))
    );
}

#[test]
fn equal_valid_nhs_numbers_with_compatible_demographics_link() {
    let (mut recs, _) = records(2_000, 10);
    let base = Record {
        id: "n1".into(),
        given: "Margaret".into(),
        family: "Olawale".into(),
        dob: Dob::new(1941, 6, 3),
        sex: Sex::Female,
        nhs: Some("9434765919".into()),
        ..Record::default()
    };
    // Married name, new address, day and month swapped: weak probabilistic evidence, same valid NHS number.
    let other = Record {
        id: "n2".into(),
        family: "Brent".into(),
        given: "Peggy".into(),
        dob: Dob::new(1941, 3, 6),
        ..base.clone()
    };
    let stranger = Record {
        id: "n3".into(),
        sex: Sex::Male,
        dob: Dob::new(1990, 1, 1),
        ..other.clone()
    };
    recs.extend([base, other, stranger]);
    let Ok((_, linkage)) = train_and_dedupe(&recs, &Settings::default()) else {
        panic!("dedupe")
    };
    let find = |a: &str, b: &str| linkage.pairs.iter().find(|p| p.id_a == a && p.id_b == b);
    assert_eq!(find("n1", "n2").map(|p| p.decision), Some(Decision::Link));
    assert!(
        find("n1", "n3").is_none_or(|p| p.decision != Decision::Link),
        "sex and dob differ: no forced link"
    );
}

#[test]
fn two_file_linkage_and_reuse_of_a_model() {
    let (recs, truth) = records(4_000, 11);
    // Alternate records between the files so that duplicates fall on both sides.
    let side = |k: usize| -> (Vec<Record>, Vec<u32>) {
        recs.iter()
            .zip(&truth)
            .enumerate()
            .filter(|(i, _)| i % 2 == k)
            .map(|(_, (r, t))| (r.clone(), *t))
            .unzip()
    };
    let ((a, ta), (b, tb)) = (side(0), side(1));
    let (a, b) = (a.as_slice(), b.as_slice());
    let Ok((model, linkage)) = train_and_link(a, b, &Settings::default()) else {
        panic!("link")
    };
    assert!(linkage.pairs.iter().all(|p| p.a < 2_000 && p.b >= 2_000));
    let correct = linkage
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Link && ta[p.a] == tb[p.b - 2_000])
        .count();
    let links = linkage.stats.links;
    println!("two-file linkage: {links} links, {correct} correct");
    assert!(links > 0 && correct as f64 >= 0.99 * links as f64);
    let Ok(again) = link(a, b, &model, &Settings::default()) else {
        panic!("link with model")
    };
    assert_eq!(again.stats.links, links);
    let Ok(d) = dedupe(&recs, &model, &Settings::default()) else {
        panic!("dedupe with model")
    };
    assert!(d.stats.links >= links);
}

#[test]
fn match_index_finds_people_incrementally() {
    let (recs, truth) = records(5_000, 12);
    let Ok(model) = train(&recs, &Settings::default()) else {
        panic!("train")
    };
    let mut idx = MatchIndex::new(model, Settings::default());
    let indexed = |i: usize| !i.is_multiple_of(5);
    for (_, r) in recs.iter().enumerate().filter(|(i, _)| indexed(*i)) {
        idx.insert(r);
    }
    let (mut found, mut asked) = (0, 0);
    for (i, r) in recs.iter().enumerate().filter(|(i, _)| !indexed(*i)) {
        let same: Vec<usize> = (0..recs.len())
            .filter(|&j| indexed(j) && truth[j] == truth[i])
            .collect();
        if same.is_empty() {
            continue;
        }
        asked += 1;
        let c = idx.candidates(r);
        if c.first()
            .is_some_and(|(id, _)| same.iter().any(|&j| recs[j].id == *id))
        {
            found += 1;
        }
    }
    println!("match index: {found}/{asked} duplicates found as top candidate");
    assert!(asked > 50 && found as f64 >= 0.95 * asked as f64);
}

#[test]
fn link_csv_links_two_files() {
    let dir = std::env::temp_dir().join(format!("weave-identity-it-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let (recs, _) = records(3_000, 13);
    let write = |name: &str, rows: &[Record]| {
        let mut s = String::from("id,first,last,born,sex,pc,nhs\n");
        for r in rows {
            let dob = r
                .dob
                .map(|d| format!("{:02}/{:02}/{}", d.day, d.month, d.year))
                .unwrap_or_default();
            let sex = match r.sex {
                Sex::Male => "M",
                Sex::Female => "F",
                _ => "",
            };
            s.push_str(&format!(
                "{},{},{},{dob},{sex},{},{}\n",
                r.id,
                r.given,
                r.family,
                r.postcode,
                r.nhs.clone().unwrap_or_default()
            ));
        }
        let p = dir.join(name);
        let _ = std::fs::write(&p, s);
        p
    };
    let side = |k: usize| {
        recs.iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == k)
            .map(|(_, r)| r.clone())
            .collect::<Vec<_>>()
    };
    let (pa, pb) = (write("a.csv", &side(0)), write("b.csv", &side(1)));
    let mut opts = LinkCsvOptions::new(vec![pa, pb], "id");
    for spec in [
        "given=first",
        "family=last",
        "dob=born",
        "sex=sex",
        "postcode=pc",
        "nhs=nhs",
    ] {
        let Ok(o) = opts.field_spec(spec) else {
            panic!("spec")
        };
        opts = o;
    }
    opts.dob_format = Some("%d/%m/%Y".into());
    let out = dir.join("pairs.csv");
    opts.out = Some(out.clone());
    let Ok(report) = link_csv(&opts) else {
        panic!("link_csv")
    };
    assert_eq!(report.records, vec![1_500, 1_500]);
    assert_eq!(report.unparsed_dates, 0);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(text.starts_with("id_a,id_b,match_probability,decision\n"));
    assert_eq!(text.lines().count(), report.pairs_written + 1);
    assert!(report.pairs_written > 0);
    let _ = std::fs::remove_dir_all(&dir);
}
