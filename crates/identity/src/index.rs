//! Incremental matching: an in-memory blocking index of prepared records. `insert` adds a person record;
//! `candidates` scores a new record against everyone sharing a blocking key and returns those at or above
//! the review threshold, best first, each with its explanation.

use rustc_hash::FxHashMap;

use crate::blocking::{Settings, NO_KEY};
use crate::model::{explain, Model, Score, Weights};
use crate::pairs::nhs_rule;
use crate::record::{Prepared, Record};

/// An in-memory blocking index.
pub struct MatchIndex {
    model: Model,
    weights: Weights,
    settings: Settings,
    ids: Vec<String>,
    records: Vec<Prepared>,
    /// Per blocking rule: key → record indices.
    blocks: Vec<FxHashMap<u64, Vec<u32>>>,
    /// Match weight needed to be returned.
    keep: f32,
}

impl MatchIndex {
    /// An empty index scoring with `model` and blocking with `settings.blocking`.
    #[must_use]
    pub fn new(model: Model, settings: Settings) -> Self {
        let weights = model.weights();
        let keep = weights.weight_for(settings.review_threshold);
        let blocks = settings
            .blocking
            .iter()
            .map(|_| FxHashMap::default())
            .collect();
        Self {
            model,
            weights,
            settings,
            ids: Vec::new(),
            records: Vec::new(),
            blocks,
            keep,
        }
    }

    /// Number of indexed records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing is indexed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Adds a record (ids need not be unique; a re-inserted id is a second entry).
    pub fn insert(&mut self, record: &Record) {
        let Ok(idx) = u32::try_from(self.records.len()) else {
            return;
        };
        let p = self.model.prepare(record);
        for (rule, map) in self.settings.blocking.iter().zip(&mut self.blocks) {
            let k = rule.key(&p);
            if k != NO_KEY {
                map.entry(k).or_default().push(idx);
            }
        }
        self.ids.push(record.id.clone());
        self.records.push(p);
    }

    /// Indexed records that may be `record`, with scores at or above the review threshold (or meeting the
    /// NHS-number rule), strongest first. Blocks larger than `max_block_size` are not scanned.
    #[must_use]
    pub fn candidates(&self, record: &Record) -> Vec<(String, Score)> {
        let p = self.model.prepare(record);
        let mut seen: Vec<u32> = Vec::new();
        for (rule, map) in self.settings.blocking.iter().zip(&self.blocks) {
            let k = rule.key(&p);
            if k == NO_KEY {
                continue;
            }
            if let Some(members) = map
                .get(&k)
                .filter(|m| m.len() <= self.settings.max_block_size)
            {
                seen.extend_from_slice(members);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        let mut out: Vec<(f32, u32)> = seen
            .into_iter()
            .filter_map(|i| {
                let q = &self.records[i as usize];
                let pattern = crate::compare::pattern(&p, q);
                let w = self.weights.total(&pattern, &p);
                (w >= self.keep || (self.settings.deterministic_nhs && nhs_rule(&pattern)))
                    .then_some((w, i))
            })
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.into_iter()
            .map(|(_, i)| {
                let q = &self.records[i as usize];
                (
                    self.ids[i as usize].clone(),
                    explain(&self.model, &self.weights, &p, q),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Field, N_FIELDS};
    use crate::record::{Dob, Sex};

    fn model() -> Model {
        let params: [Vec<(f64, f64)>; N_FIELDS] = std::array::from_fn(|f| {
            let n = Field::ALL[f].levels().len();
            (0..n)
                .map(|l| match l {
                    0 => (0.0, 0.0),
                    1 => (0.9, 0.001),
                    l if l + 1 == n => (0.02, 0.95),
                    _ => (0.08 / (n - 3) as f64, 0.049 / (n - 3) as f64),
                })
                .collect()
        });
        Model::from_params(&params, 1e-4)
    }

    fn rec(id: &str, given: &str, family: &str, nhs: Option<&str>) -> Record {
        Record {
            id: id.into(),
            given: given.into(),
            family: family.into(),
            dob: Dob::new(1950, 3, 7),
            sex: Sex::Female,
            postcode: "XW3 4AB".into(),
            nhs: nhs.map(str::to_owned),
            ..Record::default()
        }
    }

    #[test]
    fn finds_the_same_person_and_explains() {
        let mut idx = MatchIndex::new(model(), Settings::default());
        assert!(idx.is_empty());
        idx.insert(&rec("a", "Margaret", "Thornton", Some("9434765919")));
        idx.insert(&Record {
            dob: Dob::new(1980, 1, 1),
            postcode: "ZZ1 1ZZ".into(),
            ..rec("b", "Zoe", "Quill", None)
        });
        assert_eq!(idx.len(), 2);
        let found = idx.candidates(&rec("q", "Peggy", "Thornton", None));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "a");
        assert!(found[0].1.probability > 0.9);
        assert_eq!(found[0].1.contributions.len(), N_FIELDS);
    }

    #[test]
    fn invalid_nhs_number_alone_never_links() {
        let mut idx = MatchIndex::new(model(), Settings::default());
        let bad = "9999999991";
        idx.insert(&Record {
            id: "a".into(),
            nhs: Some(bad.into()),
            ..Record::default()
        });
        let q = Record {
            id: "q".into(),
            nhs: Some(bad.into()),
            ..Record::default()
        };
        assert!(idx.candidates(&q).is_empty());
    }
}
