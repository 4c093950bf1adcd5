//! What an arriving Patient means for the Persons ([`plan`]), and the `Person` resources.
//!
//! Assurance of a `Person.link`: `level4` for the record that founded the Person, `level3` for
//! a link made by the NHS-number rule or confirmed by a reviewer, `level2` for a probabilistic
//! auto-link.

use super::{pair, Index};
use serde_json::{json, Value};
use weave_identity::{Dob, Record, Score, Sex};

/// At most this many review tasks are opened for one arriving record.
const MAX_REVIEWS: usize = 3;

/// A candidate for an arriving record.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub id: String,
    pub probability: f64,
    pub match_weight: f64,
    /// Linked by the deterministic NHS-number rule.
    pub nhs_rule: bool,
    pub explanation: String,
}

/// A pair to put before a reviewer.
#[derive(Debug, Clone)]
pub(crate) struct Review {
    pub candidate: String,
    pub probability: f64,
    pub match_weight: f64,
    pub explanation: String,
}

/// What to write for one arriving record.
pub(crate) struct Plan {
    /// The record, when it was not linked yet (otherwise nothing to do).
    pub patient: Option<Record>,
    /// The Person to join with the link's assurance; `None`: found a new Person.
    pub join: Option<(String, String)>,
    pub reviews: Vec<Review>,
}

/// Decides, and remembers the record (the caller writes what the plan says).
pub(crate) fn plan(ix: &mut Index, record: Record) -> Plan {
    let already = ix.person_of.contains_key(&record.id);
    let found = if already { Vec::new() } else { candidates(ix, &record) };
    ix.remember(record.clone());
    if already {
        return Plan { patient: None, join: None, reviews: Vec::new() };
    }
    let (link_at, review_at) = (ix.settings.link_threshold, ix.settings.review_threshold);
    let nhs = valid_nhs(&record);
    let mut join: Option<(String, String)> = None;
    let mut reviews: Vec<Review> = Vec::new();
    let mut reviewed_persons: Vec<String> = Vec::new();
    for c in found {
        let Some(person) = ix.person_of.get(&c.id).cloned() else { continue };
        if join.as_ref().is_some_and(|(p, _)| *p == person) {
            continue;
        }
        let conflict = nhs.is_some_and(|n| person_has_other_nhs(ix, &person, n));
        if join.is_none() && !conflict && (c.nhs_rule || c.probability >= link_at) {
            let assurance = if c.nhs_rule { "level3" } else { "level2" };
            join = Some((person, assurance.to_owned()));
            continue;
        }
        let open = ix.open_reviews.contains(&pair(&record.id, &c.id));
        if c.probability >= review_at && !open && reviews.len() < MAX_REVIEWS && !reviewed_persons.contains(&person) {
            reviewed_persons.push(person);
            reviews.push(Review {
                candidate: c.id,
                probability: c.probability,
                match_weight: c.match_weight,
                explanation: c.explanation,
            });
        }
    }
    Plan { patient: Some(record), join, reviews }
}

/// Candidates for `record` among the indexed Patients: the matcher's, plus equal valid NHS
/// numbers; never the record itself or a pair a reviewer rejected. Strongest first.
pub(crate) fn candidates(ix: &Index, record: &Record) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    if let Some(m) = &ix.matcher {
        for (id, score) in m.candidates(record) {
            if id == record.id || out.iter().any(|c| c.id == id) {
                continue;
            }
            let nhs_rule = ix.records.get(&id).is_some_and(|other| nhs_rule(record, other));
            out.push(candidate(id, &score, nhs_rule));
        }
    }
    if let Some(n) = valid_nhs(record) {
        for id in ix.by_nhs.get(n).into_iter().flatten() {
            if *id == record.id || out.iter().any(|c| c.id == *id) {
                continue;
            }
            let Some(other) = ix.records.get(id) else { continue };
            if nhs_rule(record, other) {
                let score = ix.model.as_ref().map(|m| weave_identity::score(m, record, other));
                out.push(match score {
                    Some(s) => candidate(id.clone(), &s, true),
                    None => Candidate {
                        id: id.clone(),
                        probability: 1.0,
                        match_weight: f64::INFINITY,
                        nhs_rule: true,
                        explanation: "equal valid NHS number, compatible sex and date of birth".into(),
                    },
                });
            }
        }
    }
    out.retain(|c| !ix.rejected.contains(&pair(&record.id, &c.id)));
    out.sort_by(|a, b| b.nhs_rule.cmp(&a.nhs_rule).then(b.probability.total_cmp(&a.probability)));
    out
}

fn candidate(id: String, s: &Score, nhs_rule: bool) -> Candidate {
    Candidate { id, probability: s.probability, match_weight: s.match_weight, nhs_rule, explanation: explain(s) }
}

/// One line per field: which comparison level it reached and what that added.
pub(crate) fn explain(s: &Score) -> String {
    let mut parts: Vec<String> =
        s.contributions.iter().map(|c| format!("{}: {} ({:+.2})", c.field.name(), c.level, c.weight)).collect();
    if s.invalid_nhs_number {
        parts.push("an NHS number failed the modulus-11 check and was ignored".into());
    }
    parts.join("; ")
}

/// The record's NHS number when it passes modulus 11.
fn valid_nhs(r: &Record) -> Option<&str> {
    r.nhs.as_deref().filter(|n| weave_fhir::nhs::is_valid_nhs_number(n))
}

/// The deterministic rule: equal valid NHS numbers with compatible sex and date of birth.
pub(crate) fn nhs_rule(a: &Record, b: &Record) -> bool {
    let (Some(x), Some(y)) = (valid_nhs(a), valid_nhs(b)) else { return false };
    let sex_ok = a.sex == b.sex || a.sex == Sex::Unknown || b.sex == Sex::Unknown;
    x == y && sex_ok && dob_compatible(a.dob, b.dob)
}

/// Equal, missing, day and month swapped, or differing in only one of year, month and day.
fn dob_compatible(a: Option<Dob>, b: Option<Dob>) -> bool {
    let (Some(a), Some(b)) = (a, b) else { return true };
    let differing = usize::from(a.year != b.year) + usize::from(a.month != b.month) + usize::from(a.day != b.day);
    differing <= 1 || (a.year == b.year && a.month == b.day && a.day == b.month)
}

/// Whether a Person already holds a Patient with a different valid NHS number.
fn person_has_other_nhs(ix: &Index, person: &str, nhs: &str) -> bool {
    ix.members.get(person).into_iter().flatten().any(|(p, _)| {
        ix.records.get(p).and_then(valid_nhs).is_some_and(|other| other != nhs)
    })
}

/// A new Person founded by a record.
pub(crate) fn found(r: &Record) -> Value {
    let mut p = json!({
        "resourceType": "Person",
        "id": uuid::Uuid::now_v7().to_string(),
        "active": true,
        "link": [{ "target": { "reference": format!("Patient/{}", r.id) }, "assurance": "level4" }],
    });
    if !r.family.is_empty() || !r.given.is_empty() {
        let mut name = json!({});
        if !r.family.is_empty() {
            name["family"] = json!(r.family);
        }
        if !r.given.is_empty() {
            name["given"] = json!([r.given]);
        }
        p["name"] = json!([name]);
    }
    let gender = match r.sex {
        Sex::Male => Some("male"),
        Sex::Female => Some("female"),
        Sex::Other => Some("other"),
        Sex::Unknown => None,
    };
    if let Some(g) = gender {
        p["gender"] = json!(g);
    }
    if let Some(d) = r.dob {
        p["birthDate"] = json!(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day));
    }
    if let Some(n) = valid_nhs(r) {
        p["identifier"] = json!([{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": n }]);
    }
    p
}

/// Adds (or strengthens) the link from a Person to a Patient.
pub(crate) fn add_link(person: &mut Value, patient_id: &str, assurance: &str) {
    let target = format!("Patient/{patient_id}");
    if !person["link"].is_array() {
        person["link"] = json!([]);
    }
    let Some(links) = person["link"].as_array_mut() else { return };
    match links.iter_mut().find(|l| l["target"]["reference"].as_str() == Some(target.as_str())) {
        Some(l) => {
            if l["assurance"].as_str().unwrap_or("level1") < assurance {
                l["assurance"] = json!(assurance);
            }
        }
        None => links.push(json!({ "target": { "reference": target }, "assurance": assurance })),
    }
}

/// A Person's links to Patients: `(patient id, assurance)`.
pub(crate) fn patient_links(person: &Value) -> Vec<(String, String)> {
    person["link"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .filter_map(|l| {
                    let id = l["target"]["reference"].as_str()?.strip_prefix("Patient/")?;
                    Some((id.to_owned(), l["assurance"].as_str().unwrap_or("level1").to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, nhs: Option<&str>, sex: Sex, dob: Option<Dob>) -> Record {
        Record { id: id.into(), nhs: nhs.map(str::to_owned), sex, dob, ..Record::default() }
    }

    #[test]
    fn the_nhs_rule_needs_a_valid_number_and_compatible_demographics() {
        let dob = Dob::new(1950, 3, 7);
        let a = rec("a", Some("9434765919"), Sex::Female, dob);
        assert!(nhs_rule(&a, &rec("b", Some("9434765919"), Sex::Unknown, Dob::new(1950, 7, 3))));
        assert!(!nhs_rule(&a, &rec("b", Some("9434765919"), Sex::Male, dob)), "sex conflicts");
        assert!(!nhs_rule(&a, &rec("b", Some("9434765919"), Sex::Female, Dob::new(1961, 4, 7))), "dob conflicts");
        let bad = rec("x", Some("9434765918"), Sex::Female, dob);
        assert!(!nhs_rule(&bad, &rec("y", Some("9434765918"), Sex::Female, dob)), "fails modulus 11");
    }

    #[test]
    fn links_are_added_once_and_only_strengthened() {
        let mut p = found(&rec("a", None, Sex::Female, None));
        add_link(&mut p, "b", "level2");
        add_link(&mut p, "b", "level3");
        add_link(&mut p, "b", "level2");
        assert_eq!(patient_links(&p), vec![("a".into(), "level4".into()), ("b".into(), "level3".into())]);
    }
}
