//! Transactions: all-or-nothing, in the specification's order (DELETE, POST, PUT/PATCH, then reads).
//!
//! Outside the writer (in parallel with other requests): ids are assigned, `fullUrl` references
//! rewritten, every resource validated and its index rows extracted. Inside the single write job:
//! conditional creates/updates/deletes and conditional references are resolved against the
//! store, `If-Match` checked, and every write made. Any failure rolls the whole job back.

use super::entry::Entry;
use super::predict::Resolved;
use super::refs::{rewrite, RefScan};
use crate::crud::{check_version, validate_value};
use crate::error::{issue, ApiError};
use crate::http::{etag, return_pref, BodyKind, ReturnPref};
use crate::index;
use crate::routes::Req;
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use weave_search::Indexer;
use weave_fhir::outcome::IssueType;
use weave_store::query::SearchQuery;
use weave_store::{format_instant, prepare_body, stamp_meta, write, IndexEntries, Method as StoreMethod, PreparedBody, WriteTx, Written};

/// An entry on its way through the transaction.
struct Planned {
    entry: Entry,
    /// The id the entry writes to (tentative until conditionals are resolved).
    id: Option<String>,
    index: IndexEntries,
    /// The serialized resource, once its references and id are final.
    body: Option<PreparedBody>,
    /// Unresolved conditional references, each with the placeholder `Type/<uuid>` standing in
    /// for it in the resource (and its index rows) until it is resolved inside the job.
    conditional_refs: Vec<(String, String)>,
    /// `id` is what the entry's condition resolved to last time (see [`Resolved`]): if it now
    /// matches nothing, the entry gets a fresh id instead.
    predicted: bool,
    /// The entry's condition (`ifNoneExist`, or a conditional URL), parsed in [`prepare`] outside
    /// the writer; `None` when it has none or was left to the job (see [`index::condition_ahead`]).
    condition: Option<SearchQuery>,
}

/// The condition of an entry, as written: `ifNoneExist` on a create, the URL's query otherwise.
fn condition_of(entry: &Entry) -> Option<&str> {
    match entry.method {
        Method::POST => entry.if_none_exist.as_deref(),
        Method::PUT | Method::DELETE | Method::PATCH => entry.query.as_deref(),
        _ => None,
    }
}

/// What one entry did.
#[derive(Default)]
struct Outcome {
    status: u16,
    location: Option<String>,
    written: Option<Written>,
    resource: Option<Value>,
    /// The body, index rows and entry the write used, carried out of the write job so that
    /// they are freed on the caller's thread, not on the store's single writer (where freeing
    /// them cost several percent of its time).
    _spent: Option<(PreparedBody, IndexEntries, Entry)>,
}

/// Work a caller adds to a transaction's write job, in the same database transaction.
pub type JobStep = Box<dyn FnOnce(&mut dyn WriteTx) -> Result<(), weave_store::StoreError> + Send>;

/// What a caller adds to a transaction's write job: the MLLP listener checks there, on the
/// writer's warm cache, whether the message was applied already, and logs it after the writes.
pub struct Hooks {
    /// Runs first; it only reads (an error fails the job before anything is written).
    pub check: JobStep,
    /// Runs after the transaction's writes.
    pub epilogue: JobStep,
    /// The Bundle was validated whole already (the HL7 pipeline validates what it mapped, for its
    /// precise AE): its resources are not validated again.
    pub validated: bool,
}

pub async fn run(state: &AppState, req: &Req, entries: Vec<Entry>, hooks: Option<Hooks>) -> Result<Vec<Value>, ApiError> {
    let mut plans: Vec<Planned> = entries.into_iter().map(|e| plan(e, &state.resolved)).collect();
    let map = tentative_map(&plans);
    let indexer = state.indexer();
    let pref = return_pref(&req.headers);
    let release = pref != ReturnPref::Representation && !may_retarget(&plans);
    prepare(&mut plans, &map, &indexer, hooks.as_ref().is_some_and(|h| h.validated), release)?;
    check_overlap(plans.iter().filter(|p| p.entry.query.is_none()).filter_map(identity))?;
    let n = plans.len();
    let reads: Vec<Entry> = plans
        .iter()
        .filter(|p| p.entry.method == Method::GET || p.entry.method == Method::HEAD)
        .map(|p| p.entry.clone())
        .collect();
    let resolved = std::sync::Arc::clone(&state.resolved);
    let mut outcomes = write(&*state.store, move |tx: &mut dyn WriteTx| {
        let Some(Hooks { check, epilogue, .. }) = hooks else { return execute(tx, &indexer, &resolved, plans, &map) };
        check(tx)?;
        let outcomes = execute(tx, &indexer, &resolved, plans, &map)?;
        epilogue(tx)?;
        Ok::<_, ApiError>(outcomes)
    })
    .await?;
    for e in reads {
        let resp = Box::pin(crate::routes::route_request(state, e.to_request(req))).await;
        outcomes.push((e.index, AnyOutcome::Read(super::response_entry(resp).await)));
    }
    let mut slots: Vec<Option<Value>> = vec![None; n];
    for (i, o) in outcomes {
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(o.into_entry(pref));
        }
    }
    Ok(slots.into_iter().map(Option::unwrap_or_default).collect())
}

/// The outcome of a write, or the entry a read produced. (Nearly all are writes: boxing them
/// would cost an allocation each on the writer thread.)
#[allow(clippy::large_enum_variant)]
enum AnyOutcome {
    Write(Outcome),
    Read(Value),
}

impl AnyOutcome {
    fn into_entry(self, pref: ReturnPref) -> Value {
        match self {
            AnyOutcome::Read(v) => v,
            AnyOutcome::Write(o) => o.into_entry(pref),
        }
    }
}

impl Outcome {
    fn into_entry(self, pref: ReturnPref) -> Value {
        let reason = StatusCode::from_u16(self.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
        let mut response = Map::new();
        response.insert("status".into(), json!(format!("{} {reason}", self.status)));
        if let Some(l) = self.location {
            response.insert("location".into(), json!(l));
        }
        if let Some(w) = &self.written {
            response.insert("etag".into(), json!(etag(w.version)));
            response.insert("lastModified".into(), json!(format_instant(w.last_updated)));
        }
        let mut entry = Map::new();
        if let (ReturnPref::Representation, Some(mut r)) = (pref, self.resource) {
            // Stamped here, after the commit and only when asked for, not on the writer thread.
            if let Some(w) = &self.written {
                let id = r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                stamp_meta(&mut r, &id, w);
            }
            entry.insert("resource".into(), r);
        }
        entry.insert("response".into(), Value::Object(response));
        Value::Object(entry)
    }
}

fn plan(entry: Entry, resolved: &Resolved) -> Planned {
    let own_id = entry.resource.as_ref().and_then(|r| r.get("id")).and_then(Value::as_str).map(str::to_owned);
    let condition = match entry.method {
        Method::POST => entry.if_none_exist.as_deref(),
        Method::PUT if own_id.is_none() => entry.query.as_deref(),
        _ => None,
    };
    let predicted = condition.and_then(|c| resolved.get(&entry.resource_type, c));
    let fresh = || uuid::Uuid::now_v7().to_string();
    let id = match entry.method {
        _ if predicted.is_some() => predicted.clone(),
        Method::POST => Some(fresh()),
        Method::PUT if entry.query.is_some() => Some(own_id.unwrap_or_else(fresh)),
        _ => entry.id.clone(),
    };
    let predicted = predicted.is_some();
    Planned { entry, id, index: IndexEntries::default(), body: None, conditional_refs: Vec::new(), predicted, condition: None }
}

/// fullUrl → `Type/id` for every entry that writes a resource.
fn tentative_map(plans: &[Planned]) -> HashMap<String, String> {
    plans
        .iter()
        .filter(|p| p.entry.method == Method::POST || p.entry.method == Method::PUT)
        .filter_map(|p| Some((p.entry.full_url.clone()?, format!("{}/{}", p.entry.resource_type, p.id.as_deref()?))))
        .collect()
}

/// Whether the job may rewrite references to an entry's target: a conditional create or update
/// may resolve to another id than its tentative one.
fn may_retarget(plans: &[Planned]) -> bool {
    plans.iter().any(|p| p.entry.if_none_exist.is_some() || (p.entry.method == Method::PUT && p.entry.query.is_some()))
}

/// Rewrites references, validates and indexes every resource; reports all problems at once.
///
/// With `release`, a resource the job will not touch again (serialized, no conditional reference
/// to resolve) is freed as soon as it is serialized: while its memory is still in the cache, and
/// so that it does not wait in the writer's queue (64 Bundles in flight held ~all their parsed
/// trees, and every allocation then found its free block cold).
fn prepare(plans: &mut [Planned], map: &HashMap<String, String>, indexer: &Indexer, validated: bool, release: bool) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    for p in plans.iter_mut() {
        p.condition = condition_of(&p.entry).and_then(|c| index::condition_ahead(indexer, &p.entry.resource_type, c));
        if let Err(i) = p.entry.parse_text() {
            problems.push(i);
            continue;
        }
        let Some(resource) = p.entry.resource.as_mut() else { continue };
        let mut scan = RefScan::default();
        rewrite(resource, map, &mut scan);
        for d in scan.dangling {
            let mut i = issue(IssueType::NotFound, format!("the reference '{d}' matches no fullUrl in this transaction"));
            i.expression = vec![format!("Bundle.entry[{}].resource", p.entry.index)];
            problems.push(i);
        }
        for c in scan.conditional {
            // Indexed now (outside the writer) with a placeholder of the right type; the job
            // only swaps in the target it finds.
            let t = c.split_once('?').map_or(c.as_str(), |(t, _)| t);
            let placeholder = format!("{t}/{}", uuid::Uuid::now_v7());
            replace_reference(resource, &c, &placeholder);
            p.conditional_refs.push((c, placeholder));
        }
        if p.entry.method == Method::PATCH {
            continue;
        }
        if p.entry.method == Method::POST || (p.entry.method == Method::PUT && p.entry.query.is_some()) {
            // A conditional update's resource takes its tentative id now, so that its stored
            // text is final whenever the condition resolves to that id.
            crate::crud::set_id(resource, p.id.as_deref().unwrap_or_default());
        } else {
            check_put_id(p, &mut problems);
        }
        let checked = if validated { Ok(()) } else { validate_value(p.entry.resource.as_ref().unwrap_or(&Value::Null)) };
        if let Err(e) = checked {
            problems.extend(e.issues().into_iter().map(|mut i| {
                i.expression = i.expression.iter().map(|x| entry_path(p.entry.index, x)).collect();
                i
            }));
            continue;
        }
        if p.predicted && p.entry.method == Method::POST && p.conditional_refs.is_empty() {
            // Predicted to find its match, so most likely never written: indexed and serialized
            // in the job only if it is created after all.
            continue;
        }
        finish(p, indexer);
        if release && p.body.is_some() && p.conditional_refs.is_empty() {
            p.entry.resource = None;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::BadRequest(problems))
    }
}

/// Index rows and stored text of an entry (its references may still be tentative: see
/// [`retarget`]).
fn finish(p: &mut Planned, indexer: &Indexer) {
    let (Some(resource), Some(id)) = (p.entry.resource.as_mut(), p.id.as_deref()) else { return };
    p.index = indexer.extract(&p.entry.resource_type, resource);
    p.body = Some(prepare_body(resource, id));
}

/// Points an entry's references from `from` to `to` (both `Type/id`) and moves its reference
/// index rows with them, without extracting the index again (that is done outside the writer).
/// Returns whether anything changed; the caller then re-serializes with [`reserialize`].
fn retarget(p: &mut Planned, from: &str, to: &str) -> bool {
    let Some(resource) = p.entry.resource.as_mut() else { return false };
    if !replace_reference(resource, from, to) {
        return false;
    }
    let (Some((from_t, from_id)), Some((to_t, to_id))) = (from.split_once('/'), to.split_once('/')) else { return true };
    for row in &mut p.index.references {
        if row.1.as_deref() == Some(from_t) && row.2.as_deref() == Some(from_id) {
            row.1 = Some(to_t.to_owned());
            row.2 = Some(to_id.to_owned());
        }
    }
    true
}

/// The stored text again after the resource changed inside the job (a cheap serialization).
fn reserialize(p: &mut Planned) {
    if p.body.is_none() {
        return;
    }
    if let (Some(resource), Some(id)) = (p.entry.resource.as_mut(), p.id.as_deref()) {
        p.body = Some(prepare_body(resource, id));
    }
}

fn check_put_id(p: &Planned, problems: &mut Vec<weave_fhir::outcome::Issue>) {
    let body_id = p.entry.resource.as_ref().and_then(|r| r.get("id")).and_then(Value::as_str);
    if body_id != p.id.as_deref() {
        let mut i = issue(
            IssueType::Invalid,
            format!("the resource's id {body_id:?} differs from the id in request.url '{}'", p.entry.url),
        );
        i.expression = vec![format!("Bundle.entry[{}].resource.id", p.entry.index)];
        problems.push(i);
    }
}

/// `Patient.name[0]` → `Bundle.entry[3].resource.name[0]`.
fn entry_path(index: usize, expr: &str) -> String {
    match expr.split_once('.') {
        Some((_, rest)) => format!("Bundle.entry[{index}].resource.{rest}"),
        None => format!("Bundle.entry[{index}].resource"),
    }
}

fn identity(p: &Planned) -> Option<(usize, String)> {
    match p.entry.method {
        Method::PUT | Method::DELETE | Method::PATCH | Method::POST => {
            Some((p.entry.index, format!("{}/{}", p.entry.resource_type, p.id.as_deref()?)))
        }
        _ => None,
    }
}

fn check_overlap(ids: impl Iterator<Item = (usize, String)>) -> Result<(), ApiError> {
    let mut seen = HashMap::new();
    for (index, key) in ids {
        if let Some(first) = seen.insert(key.clone(), index) {
            return Err(ApiError::invalid(format!(
                "entries {first} and {index} both act on {key}; a transaction may touch each resource once"
            )));
        }
    }
    Ok(())
}

/// The write job: resolve conditionals, then write in the specification's order.
fn execute(
    tx: &mut dyn WriteTx,
    indexer: &Indexer,
    resolved: &Resolved,
    mut plans: Vec<Planned>,
    tentative: &HashMap<String, String>,
) -> Result<Vec<(usize, AnyOutcome)>, ApiError> {
    let mut results: Vec<(usize, AnyOutcome)> = Vec::new();
    let existing = resolve_conditionals(tx, indexer, resolved, &mut plans, tentative)?;
    check_overlap(plans.iter().filter_map(identity))?;
    let order = |m: &Method| match *m {
        Method::DELETE => 0,
        Method::POST => 1,
        Method::PUT | Method::PATCH => 2,
        _ => 3,
    };
    plans.sort_by_key(|p| (order(&p.entry.method), p.entry.index));
    let (deferred, plans): (Vec<Planned>, Vec<Planned>) =
        plans.into_iter().partition(|p| !p.conditional_refs.is_empty() && order(&p.entry.method) < 3);
    if !deferred.is_empty() {
        // Those entries are checked after writing: protect the job so a failure undoes only it.
        tx.savepoint()?;
    }
    // The job contract: every check happens before the first write.
    let mut actions = Vec::with_capacity(plans.len());
    for p in plans {
        if order(&p.entry.method) == 3 {
            continue;
        }
        let i = p.entry.index;
        if existing.contains(&i) {
            let location = p.id.as_ref().map(|id| format!("{}/{id}", p.entry.resource_type));
            results.push((i, AnyOutcome::Write(Outcome { status: 200, location, ..Outcome::default() })));
            continue;
        }
        actions.push((i, check_one(tx, indexer, p)?));
    }
    for (i, action) in actions {
        results.push((i, AnyOutcome::Write(apply_one(tx, action)?)));
    }
    run_deferred(tx, indexer, deferred, &mut results)?;
    Ok(results)
}

/// Resolves conditional creates, updates, deletes and references. Returns the entries whose
/// conditional create matched an existing resource (nothing to write).
fn resolve_conditionals(
    tx: &mut dyn WriteTx,
    indexer: &Indexer,
    resolved: &Resolved,
    plans: &mut [Planned],
    tentative: &HashMap<String, String>,
) -> Result<HashSet<usize>, ApiError> {
    let mut existing = HashSet::new();
    let mut map = tentative.clone();
    for p in plans.iter_mut() {
        let t = p.entry.resource_type.clone();
        let Some(cond) = condition_of(&p.entry).map(str::to_owned) else { continue };
        let found = match &p.condition {
            Some(query) => index::find_parsed(tx, query)?,
            None => index::find(tx, indexer, &t, &cond)?,
        };
        let at = p.entry.index;
        let m = &p.entry.method;
        match found.as_slice() {
            // A predicted id may belong to a resource that no longer matches: never reuse it.
            [] if (*m == Method::POST || *m == Method::PUT) && p.predicted => p.id = Some(uuid::Uuid::now_v7().to_string()),
            [] if *m == Method::POST || *m == Method::PUT => {}
            [] if *m == Method::DELETE => p.id = None,
            [] => return Err(ApiError::NotFound(format!("entry {at}: {t}?{cond} matches nothing to patch"))),
            [one] => {
                if *m == Method::POST {
                    existing.insert(at);
                }
                p.id = Some(one.clone());
            }
            many => {
                return Err(ApiError::PreconditionFailed(format!(
                    "entry {at}: the condition {t}?{cond} matches {} resources",
                    many.len()
                )))
            }
        }
        if let (Some(id), true) = (&p.id, *m == Method::POST || *m == Method::PUT) {
            resolved.record(&t, &cond, id);
        }
        if let (Some(f), Some(id)) = (&p.entry.full_url, &p.id) {
            map.insert(f.clone(), format!("{t}/{id}"));
        }
    }
    // References were rewritten to the tentative `Type/id`s before the job; where a condition
    // chose another target, rewrite them again from the tentative to the final target.
    let moved: HashMap<String, String> = tentative
        .iter()
        .filter_map(|(full_url, old)| map.get(full_url).filter(|new| *new != old).map(|new| (old.clone(), new.clone())))
        .collect();
    for p in plans.iter_mut() {
        if p.entry.method == Method::DELETE || p.entry.resource.is_none() {
            continue;
        }
        let mut changed = false;
        for (old, new) in &moved {
            changed |= retarget(p, old, new);
        }
        for (c, placeholder) in std::mem::take(&mut p.conditional_refs) {
            match resolve_reference(tx, indexer, &c, p.entry.index)? {
                Some(target) => changed |= retarget(p, &placeholder, &target),
                // It may match a resource this transaction creates: resolved after the writes.
                None => p.conditional_refs.push((c, placeholder)),
            }
        }
        if let (Some(resource), Some(id)) = (p.entry.resource.as_mut(), &p.id) {
            if resource.get("id").and_then(Value::as_str) != Some(id.as_str()) && p.entry.method != Method::PATCH {
                crate::crud::set_id(resource, id);
                changed = true;
            }
        }
        if changed {
            reserialize(p);
        }
        if p.body.is_none() && p.entry.method == Method::POST && !existing.contains(&p.entry.index) {
            // A predicted conditional create that creates after all (see `prepare`).
            finish(p, indexer);
        }
    }
    Ok(existing)
}

/// Writes the entries whose conditional references matched nothing before the transaction's
/// other writes: now they may match a resource the transaction created.
fn run_deferred(tx: &mut dyn WriteTx, indexer: &Indexer, deferred: Vec<Planned>, results: &mut Vec<(usize, AnyOutcome)>) -> Result<(), ApiError> {
    for mut p in deferred {
        let at = p.entry.index;
        for (c, placeholder) in std::mem::take(&mut p.conditional_refs) {
            let target = resolve_reference(tx, indexer, &c, at)?.ok_or_else(|| {
                ApiError::invalid(format!("entry {at}: the conditional reference '{c}' matches no resource"))
            })?;
            retarget(&mut p, &placeholder, &target);
        }
        reserialize(&mut p);
        let action = check_one(tx, indexer, p)?;
        results.push((at, AnyOutcome::Write(apply_one(tx, action)?)));
    }
    Ok(())
}

/// The target of a conditional reference: `None` when nothing matches (yet).
fn resolve_reference(tx: &mut dyn WriteTx, indexer: &Indexer, reference: &str, at: usize) -> Result<Option<String>, ApiError> {
    let (t, q) = reference.split_once('?').unwrap_or((reference, ""));
    if !weave_fhir::r4().is_resource_type(t) {
        return Err(ApiError::invalid(format!("entry {at}: the reference '{reference}' names an unknown type")));
    }
    match index::find(tx, indexer, t, q)?.as_slice() {
        [one] => Ok(Some(format!("{t}/{one}"))),
        [] => Ok(None),
        many => Err(ApiError::PreconditionFailed(format!(
            "entry {at}: the conditional reference '{reference}' matches {} resources; it must match one",
            many.len()
        ))),
    }
}

/// Replaces every `reference` equal to `from` with `to`; returns whether there was one.
fn replace_reference(v: &mut Value, from: &str, to: &str) -> bool {
    match v {
        Value::Object(o) => {
            let mut found = false;
            for (k, child) in o.iter_mut() {
                match child {
                    Value::String(s) if k == "reference" && s == from => {
                        *s = to.to_owned();
                        found = true;
                    }
                    _ => found |= replace_reference(child, from, to),
                }
            }
            found
        }
        Value::Array(items) => items.iter_mut().fold(false, |found, i| replace_reference(i, from, to) | found),
        _ => false,
    }
}

/// A checked write, ready to apply. (Nearly all are `Put`s: boxing them would cost an
/// allocation each on the writer thread.)
#[allow(clippy::large_enum_variant)]
enum Action {
    Delete { t: String, id: String },
    Put { t: String, id: String, resource: Value, body: PreparedBody, method: StoreMethod, index: IndexEntries, status: u16, entry: Entry },
    Nothing,
}

/// Checks one entry (versions, patches, validation) without writing.
fn check_one(tx: &mut dyn WriteTx, indexer: &Indexer, mut p: Planned) -> Result<Action, ApiError> {
    let t = p.entry.resource_type.clone();
    let at = p.entry.index;
    let Some(id) = p.id.clone() else { return Ok(Action::Nothing) };
    match p.entry.method {
        Method::DELETE => {
            if p.entry.if_match.is_some() {
                let current = tx.current(&t, &id)?.filter(|c| !c.deleted).map(|c| c.version);
                check_version(&t, &id, current, p.entry.if_match).map_err(|e| at_entry(at, e))?;
            }
            Ok(Action::Delete { t, id })
        }
        Method::POST => Ok(Action::Put {
            body: body_of(&mut p, &id),
            resource: p.entry.resource.take().unwrap_or_default(),
            method: StoreMethod::Post,
            index: p.index,
            status: 201,
            t,
            id,
            entry: p.entry,
        }),
        Method::PUT => {
            let current = tx.current(&t, &id)?;
            check_version(&t, &id, current.map(|c| c.version), p.entry.if_match).map_err(|e| at_entry(at, e))?;
            let created = current.is_none_or(|c| c.deleted);
            Ok(Action::Put {
                body: body_of(&mut p, &id),
                resource: p.entry.resource.take().unwrap_or_default(),
                method: StoreMethod::Put,
                index: p.index,
                status: if created { 201 } else { 200 },
                t,
                id,
                entry: p.entry,
            })
        }
        _ => check_patch(tx, indexer, p, &id),
    }
}

/// The prepared body of a POST/PUT entry (prepared outside the writer unless it changed inside).
fn body_of(p: &mut Planned, id: &str) -> PreparedBody {
    match p.body.take() {
        Some(b) => b,
        None => prepare_body(p.entry.resource.as_mut().unwrap_or(&mut Value::Null), id),
    }
}

/// Applies a checked action.
fn apply_one(tx: &mut dyn WriteTx, action: Action) -> Result<Outcome, ApiError> {
    match action {
        Action::Nothing => Ok(Outcome { status: 204, ..Outcome::default() }),
        Action::Delete { t, id } => {
            let w = tx.delete(&t, &id)?;
            Ok(Outcome { status: if w.is_some() { 200 } else { 204 }, written: w, ..Outcome::default() })
        }
        Action::Put { t, id, resource, body, method, mut index, status, entry } => {
            let w = tx.put(&t, &id, &body, method, &mut index)?;
            let location = Some(format!("{t}/{id}/_history/{}", w.version));
            Ok(Outcome { status, location, written: Some(w), resource: Some(resource), _spent: Some((body, index, entry)) })
        }
    }
}

fn check_patch(tx: &mut dyn WriteTx, indexer: &Indexer, mut p: Planned, id: &str) -> Result<Action, ApiError> {
    let t = p.entry.resource_type.as_str();
    let at = p.entry.index;
    let current = tx.read_current(t, id)?.ok_or_else(|| ApiError::NotFound(format!("entry {at}: {t}/{id} is not known")))?;
    let body = current.body.as_deref().ok_or_else(|| ApiError::Gone(format!("entry {at}: {t}/{id} was deleted")))?;
    check_version(t, id, Some(current.version), p.entry.if_match).map_err(|e| at_entry(at, e))?;
    let mut r: Value = serde_json::from_str(body).map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?;
    let patch = p.entry.resource.take().unwrap_or_default();
    let (kind, patch) = if patch.get("resourceType").and_then(Value::as_str) == Some("Binary") {
        (BodyKind::JsonPatch, decode_binary_json(&patch)?)
    } else {
        (BodyKind::FhirJson, patch)
    };
    crate::patch::apply(kind, &mut r, &patch).map_err(|e| at_entry(at, e))?;
    validate_value(&r).map_err(|e| at_entry(at, e))?;
    let index = indexer.extract(t, &r);
    let body = prepare_body(&mut r, id);
    let t = t.to_owned();
    Ok(Action::Put { t, id: id.to_owned(), resource: r, body, method: StoreMethod::Patch, index, status: 200, entry: p.entry })
}

fn decode_binary_json(binary: &Value) -> Result<Value, ApiError> {
    use base64::Engine as _;
    let data = binary.get("data").and_then(Value::as_str).unwrap_or("");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| ApiError::invalid(format!("the Binary patch is not base64: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid(format!("the Binary patch is not JSON: {e}")))
}

/// Prefixes an error's message with the entry it came from.
fn at_entry(at: usize, e: ApiError) -> ApiError {
    match e {
        ApiError::PreconditionFailed(m) => ApiError::PreconditionFailed(format!("entry {at}: {m}")),
        ApiError::NotFound(m) => ApiError::NotFound(format!("entry {at}: {m}")),
        ApiError::Gone(m) => ApiError::Gone(format!("entry {at}: {m}")),
        ApiError::Conflict(m) => ApiError::Conflict(format!("entry {at}: {m}")),
        other => other,
    }
}
