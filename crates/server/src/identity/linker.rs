//! The linker: catches up with the change feed once (Persons and review decisions first, then
//! every Patient, then the model), links whatever is unlinked, and then follows the feed.

use super::person::{self, Plan};
use super::{Identity, Index, MIN_TRAIN, MODEL_ID};
use crate::error::ApiError;
use crate::state::AppState;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use weave_identity::{Model, Record};
use weave_store::{Method, Store, StoreError};

/// Changes read per step.
const PAGE: usize = 2_000;

/// Starts the linker task; it runs until the runtime stops.
pub fn spawn_linker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sync(&state).await {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the person linker failed a step; retrying"),
            }
            tokio::select! {
                () = state.identity.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    })
}

/// Processes the change feed up to its current end; returns the Patients processed. Safe to
/// call from several tasks (they take turns).
pub async fn sync(state: &AppState) -> Result<usize, ApiError> {
    let _turn = state.identity.turn.lock().await;
    if !state.identity.ready() {
        return start(state).await;
    }
    let mut done = 0;
    loop {
        let n = step(state).await?;
        if n == usize::MAX {
            return Ok(done);
        }
        done += n;
    }
}

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError::Internal(format!("a linker task failed: {e}")))?
        .map_err(ApiError::from)
}

/// Current bodies of `(type, id)`s, skipping deleted ones.
async fn current(store: &Arc<dyn Store>, keys: Vec<(String, String)>) -> Result<Vec<Value>, ApiError> {
    blocking(store, move |s| {
        let mut out = Vec::with_capacity(keys.len());
        for (t, id) in keys {
            if let Some(body) = s.read(&t, &id)?.and_then(|r| r.body) {
                if let Ok(v) = serde_json::from_str::<Value>(&body) {
                    out.push(v);
                }
            }
        }
        Ok(out)
    })
    .await
}

/// The `(type, id)`s a page of changes names that the linker reads: Patients, and Persons and
/// Tasks (links and decisions), each once (`seen` spans pages), deletions left out.
#[derive(Default)]
struct Named {
    seen: std::collections::HashSet<(String, String)>,
    patients: Vec<(String, String)>,
    others: Vec<(String, String)>,
}

impl Named {
    fn take(&mut self, changes: impl IntoIterator<Item = weave_store::Change>) {
        for c in changes.into_iter().filter(|c| c.method != Method::Delete) {
            if !matches!(c.resource_type.as_str(), "Patient" | "Person" | "Task") {
                continue;
            }
            let key = (c.resource_type, c.id);
            if self.seen.insert(key.clone()) {
                let list = if key.0 == "Patient" { &mut self.patients } else { &mut self.others };
                list.push(key);
            }
        }
    }
}

/// The first catch-up after start: rebuilds the index from the store, then links.
async fn start(state: &AppState) -> Result<usize, ApiError> {
    let store = &state.store;
    let end = blocking(store, |s| s.last_seq()).await?;
    let mut named = Named::default();
    let mut after = 0;
    while after < end {
        let page = blocking(store, move |s| s.changes(after, PAGE)).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        named.take(page.into_iter().filter(|c| c.seq <= end));
    }
    let Named { patients, others, .. } = named;
    for chunk in others.chunks(PAGE) {
        for v in current(store, chunk.to_vec()).await? {
            state.identity.with(|ix| absorb(ix, &v));
        }
    }
    let mut records = Vec::with_capacity(patients.len());
    for chunk in patients.chunks(PAGE) {
        records.extend(current(store, chunk.to_vec()).await?.iter().map(Record::from_patient));
    }
    state.identity.with(|ix| records.iter().for_each(|r| ix.remember(r.clone())));
    if let Some(model) = stored_model(state).await? {
        state.identity.with(|ix| ix.install(model));
    } else {
        train_if_ready(state).await?;
    }
    let n = records.len();
    for chunk in records.chunks(256) {
        link(state, chunk.to_vec()).await?;
    }
    state.identity.with(|ix| {
        ix.cursor = end;
        ix.ready = true;
    });
    tracing::info!(patients = n, persons = state.identity.with(|ix| ix.members.len()), "person index ready");
    Ok(n)
}

/// One page of the feed after the cursor; `usize::MAX` when there was nothing to do.
async fn step(state: &AppState) -> Result<usize, ApiError> {
    let cursor = state.identity.position();
    let page = blocking(&state.store, move |s| s.changes(cursor, PAGE)).await?;
    let Some(last) = page.last().map(|c| c.seq) else { return Ok(usize::MAX) };
    let mut named = Named::default();
    named.take(page);
    for v in current(&state.store, named.others).await? {
        state.identity.with(|ix| absorb(ix, &v));
    }
    let records: Vec<Record> = current(&state.store, named.patients).await?.iter().map(Record::from_patient).collect();
    let n = records.len();
    if state.identity.with(|ix| ix.model.is_none()) {
        // Without a model yet, these records count towards training one before they are linked.
        state.identity.with(|ix| records.iter().for_each(|r| ix.remember(r.clone())));
        train_if_ready(state).await?;
    }
    link(state, records).await?;
    state.identity.with(|ix| ix.cursor = last);
    Ok(n)
}

/// Takes in a Person (its links) or a decided review Task (a rejected pair) read from the store.
fn absorb(ix: &mut Index, v: &Value) {
    match v["resourceType"].as_str() {
        Some("Person") => {
            let Some(id) = v["id"].as_str() else { return };
            let links = if v["active"].as_bool() == Some(false) { Vec::new() } else { person::patient_links(v) };
            ix.set_members(id, links);
        }
        Some("Task") if super::review::invalid_nhs_patient(v).is_some() => {
            if let Some(p) = super::review::invalid_nhs_patient(v) {
                ix.flagged.insert(p);
            }
        }
        Some("Task") if super::review::is_review(v) => {
            if let Some((a, b)) = super::review::review_pair(v) {
                let key = super::pair(&a, &b);
                match v["status"].as_str() {
                    Some("requested") => {
                        ix.open_reviews.insert(key);
                    }
                    _ => {
                        ix.open_reviews.remove(&key);
                        if super::review::rejected(v) {
                            ix.rejected.insert(key);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The stored model, when there is one.
async fn stored_model(state: &AppState) -> Result<Option<Model>, ApiError> {
    let found = current(&state.store, vec![("Binary".to_owned(), MODEL_ID.to_owned())]).await?;
    Ok(found.first().and_then(model_from_binary))
}

/// Reads a model from its `Binary` resource.
pub(crate) fn model_from_binary(v: &Value) -> Option<Model> {
    use base64::Engine as _;
    let data = v["data"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(data).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `Binary` resource that stores a model.
pub(crate) fn model_to_binary(model: &Model) -> Value {
    use base64::Engine as _;
    let json = serde_json::to_vec(model).unwrap_or_default();
    serde_json::json!({
        "resourceType": "Binary",
        "id": MODEL_ID,
        "contentType": "application/json",
        "data": base64::engine::general_purpose::STANDARD.encode(json),
    })
}

/// Trains a model on the known records once there are enough, stores it and installs it.
async fn train_if_ready(state: &AppState) -> Result<(), ApiError> {
    let (records, settings) = state.identity.with(|ix| {
        let enough = ix.model.is_none() && ix.records.len() >= MIN_TRAIN;
        (enough.then(|| ix.records.values().cloned().collect::<Vec<_>>()), ix.settings.clone())
    });
    let Some(records) = records else { return Ok(()) };
    let model = tokio::task::spawn_blocking(move || weave_identity::train(&records, &settings))
        .await
        .map_err(|e| ApiError::Internal(format!("training failed: {e}")))?
        .map_err(|e| ApiError::Internal(format!("training failed: {e}")))?;
    crate::import::put_all(state, vec![model_to_binary(&model)]).await?;
    state.identity.with(|ix| ix.install(model));
    tracing::info!("person-matching model trained on the store's Patients");
    Ok(())
}

/// Links a group of arriving records and writes what that changes.
async fn link(state: &AppState, records: Vec<Record>) -> Result<(), ApiError> {
    let mut writes: Vec<Value> = Vec::new();
    let mut persons: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    for record in records {
        if let Some(number) = record.nhs.as_deref().filter(|n| !weave_fhir::nhs::is_valid_nhs_number(n)) {
            if state.identity.with(|ix| ix.flagged.insert(record.id.clone())) {
                writes.push(super::review::invalid_nhs_task(&record.id, number));
            }
        }
        let plan = state.identity.with(|ix| person::plan(ix, record));
        apply(state, plan, &mut persons, &mut writes).await?;
    }
    writes.extend(persons.into_values());
    if writes.is_empty() {
        return Ok(());
    }
    let (_, rejected) = crate::import::put_all(state, writes).await?;
    for r in rejected {
        tracing::warn!(error = %r.error, "the linker could not write a Person or review Task");
    }
    Ok(())
}

/// Turns one plan into resources to write (Persons gathered so one write per Person).
async fn apply(
    state: &AppState,
    plan: Plan,
    persons: &mut std::collections::HashMap<String, Value>,
    writes: &mut Vec<Value>,
) -> Result<(), ApiError> {
    let Plan { patient, join, reviews } = plan;
    let Some(patient) = patient else { return Ok(()) };
    let person_id = match join {
        Some((person_id, assurance)) => {
            if !persons.contains_key(&person_id) {
                let found = current(&state.store, vec![("Person".to_owned(), person_id.clone())]).await?;
                match found.into_iter().next() {
                    Some(p) => {
                        persons.insert(person_id.clone(), p);
                    }
                    None => return Err(ApiError::Internal(format!("Person/{person_id} is indexed but not stored"))),
                }
            }
            if let Some(p) = persons.get_mut(&person_id) {
                person::add_link(p, &patient.id, &assurance);
            }
            person_id
        }
        None => {
            let p = person::found(&patient);
            let id = p["id"].as_str().unwrap_or_default().to_owned();
            persons.insert(id.clone(), p);
            id
        }
    };
    let links = persons.get(&person_id).map(person::patient_links).unwrap_or_default();
    state.identity.with(|ix| {
        ix.set_members(&person_id, links);
        for r in &reviews {
            ix.open_reviews.insert(super::pair(&patient.id, &r.candidate));
        }
    });
    writes.extend(reviews.iter().map(|r| super::review::task(&patient.id, r)));
    Ok(())
}

impl Identity {
    /// Indexes a stored model now (after `weave identity train` replaced it).
    pub fn install_model(&self, model: Model) {
        self.with(|ix| ix.install(model));
    }

    /// Sets the probabilities at or above which a pair is linked automatically and put up for
    /// review (defaults 0.95 and 0.5); applies to records arriving from now on.
    pub fn set_thresholds(&self, link: f64, review: f64) -> Result<(), ApiError> {
        let mut settings = self.with(|ix| ix.settings.clone());
        settings.link_threshold = link;
        settings.review_threshold = review;
        self.set_settings(settings)
    }

    /// Replaces the linkage settings (blocking rules, training sizes, thresholds); applies to
    /// records arriving, and to training, from now on.
    pub fn set_settings(&self, settings: weave_identity::Settings) -> Result<(), ApiError> {
        let (link, review) = (settings.link_threshold, settings.review_threshold);
        if !(0.0..=1.0).contains(&review) || !(review..=1.0).contains(&link) {
            return Err(ApiError::invalid("thresholds must satisfy 0 <= review <= link <= 1"));
        }
        if settings.blocking.is_empty() {
            return Err(ApiError::invalid("at least one blocking rule is needed"));
        }
        self.with(|ix| {
            ix.settings = settings;
            if let Some(model) = ix.model.clone() {
                ix.install(model);
            }
        });
        Ok(())
    }
}

/// What [`retrain`] did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub patients: usize,
    pub seconds: f64,
}

/// Trains the model on every Patient in the store (after catching up), stores it as
/// `Binary/weave-identity-model` and indexes everyone with it.
pub async fn retrain(state: &AppState) -> Result<TrainReport, ApiError> {
    sync(state).await?;
    let _turn = state.identity.turn.lock().await;
    let started = std::time::Instant::now();
    let (records, settings) = state.identity.with(|ix| (ix.records.values().cloned().collect::<Vec<_>>(), ix.settings.clone()));
    if records.len() < 2 {
        return Err(ApiError::invalid("the store holds fewer than two Patients: nothing to train on"));
    }
    let patients = records.len();
    let model = tokio::task::spawn_blocking(move || weave_identity::train(&records, &settings))
        .await
        .map_err(|e| ApiError::Internal(format!("training failed: {e}")))?
        .map_err(|e| ApiError::invalid(format!("training failed: {e}")))?;
    crate::import::put_all(state, vec![model_to_binary(&model)]).await?;
    state.identity.install_model(model);
    Ok(TrainReport { patients, seconds: started.elapsed().as_secs_f64() })
}

/// Counts of the person index.
#[derive(Debug, Clone, Default)]
pub struct IndexCounts {
    pub patients: usize,
    pub persons: usize,
    /// Persons linking more than one Patient.
    pub linked_persons: usize,
    pub open_reviews: usize,
    pub has_model: bool,
}

impl Identity {
    /// Counts of what the index holds now.
    pub fn counts(&self) -> IndexCounts {
        self.with(|ix| IndexCounts {
            patients: ix.records.len(),
            persons: ix.members.len(),
            linked_persons: ix.members.values().filter(|m| m.len() > 1).count(),
            open_reviews: ix.open_reviews.len(),
            has_model: ix.model.is_some(),
        })
    }
}
