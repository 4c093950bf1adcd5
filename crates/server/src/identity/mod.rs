//! The master person index inside the server: one `Person` per real person, linking that
//! person's source `Patient`s (each source's Patient stays as sent).
//!
//! A background task ([`spawn_linker`]) follows the store's change feed. Every Patient that
//! arrives is matched against everyone indexed so far ([`weave_identity::MatchIndex`]): an
//! auto-link joins the best candidate's Person, a score in the review band opens a review `Task`
//! and founds a Person of its own, anything lower founds a Person of its own. Equal, valid NHS
//! numbers with compatible demographics link at once; a number failing modulus 11 never links.
//!
//! The model (`weave identity train`, or trained here once the store holds enough Patients) is
//! kept in the store as `Binary/weave-identity-model`, so its history says when it changed.
//! Review decisions (`POST /Task/[id]/$decide`) are remembered: a rejected pair is never linked
//! automatically again. `POST /Patient/$match` scores a Patient against the index.
//!
//! Everything the linker writes goes through the ordinary validated, indexed write path.

mod linker;
mod matching;
mod person;
mod review;

pub use linker::{retrain, spawn_linker, sync, IndexCounts, TrainReport};
pub use matching::match_operation;
pub use review::decide;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use weave_identity::{MatchIndex, Model, Record, Settings};

/// The id of the stored model (a `Binary` resource).
pub const MODEL_ID: &str = "weave-identity-model";
/// The code system of Weave's own task codes.
pub const TASK_SYSTEM: &str = "https://weave.dev/fhir/CodeSystem/weave-task";
/// The task code of a link review.
pub const REVIEW_CODE: &str = "link-review";
/// The task code of a data-quality report: an NHS number that fails the modulus-11 check.
pub const INVALID_NHS_CODE: &str = "nhs-number-invalid";
/// Fewer Patients than this: no probabilistic model is trained yet (only the NHS-number rule links).
pub const MIN_TRAIN: usize = 200;

/// The in-memory state of the person index, shared by the linker task and the operations.
pub struct Identity {
    inner: Mutex<Index>,
    /// Wakes the linker when a write has just been acknowledged.
    pub(crate) wake: tokio::sync::Notify,
    /// Held while a catch-up runs (the background task and callers of `sync` take turns).
    pub(crate) turn: tokio::sync::Mutex<()>,
}

impl Default for Identity {
    fn default() -> Self {
        Identity { inner: Mutex::new(Index::default()), wake: tokio::sync::Notify::new(), turn: tokio::sync::Mutex::new(()) }
    }
}

impl Identity {
    /// Runs `f` on the index (a short critical section: no I/O inside).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Index) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Whether the linker has caught up with the change feed at least once.
    pub fn ready(&self) -> bool {
        self.with(|i| i.ready)
    }

    /// The change-feed position the linker has processed.
    pub fn position(&self) -> i64 {
        self.with(|i| i.cursor)
    }

    /// The Person a Patient belongs to, when linked.
    pub fn person_of(&self, patient_id: &str) -> Option<String> {
        self.with(|i| i.person_of.get(patient_id).cloned())
    }
}

/// What the person index knows.
#[derive(Default)]
pub(crate) struct Index {
    pub settings: Settings,
    pub model: Option<Model>,
    /// Candidate search over every indexed Patient (`None` until there is a model).
    pub matcher: Option<MatchIndex>,
    /// The latest record of every Patient, by id.
    pub records: HashMap<String, Record>,
    /// Patients in arrival order (the index is rebuilt in this order after training).
    pub order: Vec<String>,
    /// Patient id → Person id.
    pub person_of: HashMap<String, String>,
    /// Person id → its Patients with the assurance of each link.
    pub members: HashMap<String, Vec<(String, String)>>,
    /// Pairs a reviewer decided are not the same person (smaller id first).
    pub rejected: HashSet<(String, String)>,
    /// Pairs with an open review task (smaller id first).
    pub open_reviews: HashSet<(String, String)>,
    /// Valid NHS number → Patients carrying it.
    pub by_nhs: HashMap<String, Vec<String>>,
    /// Patients already reported for an invalid NHS number.
    pub flagged: HashSet<String>,
    pub cursor: i64,
    pub ready: bool,
}

/// A pair key, smaller id first.
pub(crate) fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl Index {
    /// Remembers a Patient's latest record (and indexes it when there is a matcher).
    pub fn remember(&mut self, record: Record) {
        if self.records.get(&record.id) == Some(&record) {
            return;
        }
        if let Some(nhs) = record.nhs.as_deref().filter(|n| weave_fhir::nhs::is_valid_nhs_number(n)) {
            let ids = self.by_nhs.entry(nhs.to_owned()).or_default();
            if !ids.contains(&record.id) {
                ids.push(record.id.clone());
            }
        }
        if let Some(m) = self.matcher.as_mut() {
            m.insert(&record);
        }
        if !self.records.contains_key(&record.id) {
            self.order.push(record.id.clone());
        }
        self.records.insert(record.id.clone(), record);
    }

    /// Sets the model and indexes every known record with it.
    pub fn install(&mut self, model: Model) {
        let mut matcher = MatchIndex::new(model.clone(), self.settings.clone());
        for id in &self.order {
            if let Some(r) = self.records.get(id) {
                matcher.insert(r);
            }
        }
        self.model = Some(model);
        self.matcher = Some(matcher);
    }

    /// Records a Person's membership (replacing what was known of that Person).
    pub fn set_members(&mut self, person: &str, links: Vec<(String, String)>) {
        if let Some(old) = self.members.remove(person) {
            for (p, _) in old {
                if self.person_of.get(&p).is_some_and(|x| x == person) {
                    self.person_of.remove(&p);
                }
            }
        }
        for (p, _) in &links {
            self.person_of.insert(p.clone(), person.to_owned());
        }
        if !links.is_empty() {
            self.members.insert(person.to_owned(), links);
        }
    }
}
