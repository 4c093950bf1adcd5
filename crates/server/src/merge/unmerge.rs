//! `$unmerge`: undo one merge by writing, for every resource the merge wrote, a new version whose
//! content is the version it had before the merge.
//!
//! The earlier versions are read outside the write job (stored versions never change); inside
//! the job, before any write, every resource must still be at the version the merge wrote, and
//! the merge must not have been undone already. Otherwise nothing is written (409): a resource
//! changed since the merge needs a person to decide.

use super::params::UnmergeInput;
use super::plan::business_rule;
use super::provenance::{self, Activity, Revision};
use super::write::{put_all, Change};
use crate::crud::blocking;
use crate::error::ApiError;
use crate::state::AppState;
use serde_json::Value;
use weave_search::Indexer;
use weave_store::query::{Clause, Predicate, SearchQuery, SortKey};
use weave_store::{format_instant, write, Store, StoreError, Stored, WriteTx};

/// How many of a pair's most recent Provenances are looked through for its latest merge.
const PAIR_LOOKBACK: usize = 100;

/// What an unmerge wrote.
#[derive(Debug, Clone)]
pub(crate) struct UnmergeReport {
    /// The merge's Provenance that was undone.
    pub merge_provenance: String,
    /// The unmerge's own Provenance.
    pub provenance_id: String,
    pub revisions: Vec<Revision>,
}

/// Undoes the merge named by `input`, recording `agent` in the Provenance.
pub(crate) async fn run(state: &AppState, input: UnmergeInput, agent: String) -> Result<UnmergeReport, ApiError> {
    let merge_id = match input {
        UnmergeInput::Provenance(id) => id,
        UnmergeInput::Pair { source, target } => latest_merge(state, source, target).await?,
    };
    let changes = restorations(state, &merge_id).await?;
    let indexer = state.indexer();
    let provenance_id = uuid::Uuid::now_v7().to_string();
    let (merge_provenance, prov_id) = (merge_id.clone(), provenance_id.clone());
    let revisions = write(&*state.store, move |tx: &mut dyn WriteTx| {
        undo(tx, &indexer, changes, &merge_id, &prov_id, &agent)
    })
    .await?;
    Ok(UnmergeReport { merge_provenance, provenance_id, revisions })
}

/// A stored body as JSON.
fn parse_body(s: &Stored) -> Result<Option<Value>, ApiError> {
    s.body
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))
}

/// The id of the latest merge Provenance whose targets include both patients.
async fn latest_merge(state: &AppState, source: String, target: String) -> Result<String, ApiError> {
    let mut q = SearchQuery::all("Provenance");
    q.count = PAIR_LOOKBACK;
    q.sort = vec![(SortKey::LastUpdated, true)];
    q.clauses = [&source, &target]
        .iter()
        .map(|id| Clause {
            any_of: vec![Predicate::Reference {
                param: "target".into(),
                target_type: Some("Patient".into()),
                target_id: Some((*id).clone()),
                url: None,
            }],
        })
        .collect();
    let found = blocking(state, move |s| {
        let rids: Vec<i64> = s.search(&q)?.matches.iter().map(|m| m.2).collect();
        s.read_rows(&rids)
    })
    .await?;
    for s in &found {
        if parse_body(s)?.as_ref().and_then(provenance::activity_of) == Some(Activity::Merge) {
            return Ok(s.id.clone());
        }
    }
    Err(ApiError::NotFound(format!("no merge of Patient/{source} and Patient/{target} is recorded")))
}

/// The merge's revisions as changes back to the earlier content (`before` = the version the
/// merge wrote, which must still be current).
async fn restorations(state: &AppState, merge_id: &str) -> Result<Vec<Change>, ApiError> {
    let id = merge_id.to_owned();
    let stored = blocking(state, move |s| s.read("Provenance", &id)).await?;
    let prov = match stored.as_ref().map(parse_body).transpose()?.flatten() {
        Some(p) => p,
        None => return Err(ApiError::NotFound(format!("Provenance/{merge_id} is not known"))),
    };
    if provenance::activity_of(&prov) != Some(Activity::Merge) {
        return Err(business_rule(format!("Provenance/{merge_id} does not record a merge; only a merge can be undone")));
    }
    let revisions = provenance::revisions_of(&prov)
        .map_err(|m| business_rule(format!("Provenance/{merge_id} cannot be undone: {m}")))?;
    let earlier = blocking(state, move |s| earlier_versions(s, &revisions)).await?;
    earlier
        .into_iter()
        .map(|(r, body)| match body {
            Some(resource) => Ok(Change::new(&r.resource_type, &r.id, r.after, resource)),
            None => Err(business_rule(format!(
                "{}/_history/{} (from before the merge) is not stored as content; the merge cannot be undone",
                r.key(),
                r.before
            ))),
        })
        .collect()
}

/// Each revision with the content it had before (`None` when that version is missing or deleted).
fn earlier_versions(s: &dyn Store, revisions: &[Revision]) -> Result<Vec<(Revision, Option<Value>)>, StoreError> {
    let mut out = Vec::with_capacity(revisions.len());
    for r in revisions {
        let body = s.vread(&r.resource_type, &r.id, r.before)?.and_then(|v| v.body);
        let value = body.and_then(|b| serde_json::from_str::<Value>(&b).ok());
        out.push((r.clone(), value));
    }
    Ok(out)
}

/// The write job: checks that the merge is not undone yet and that nothing changed since, then
/// writes the earlier contents and the unmerge Provenance.
fn undo(
    tx: &mut dyn WriteTx,
    indexer: &Indexer,
    mut changes: Vec<Change>,
    merge_id: &str,
    provenance_id: &str,
    agent: &str,
) -> Result<Vec<Revision>, ApiError> {
    if let Some(by) = undone_by(tx, merge_id)? {
        return Err(ApiError::Conflict(format!("the merge recorded in Provenance/{merge_id} was already undone (Provenance/{by})")));
    }
    let mut changed = Vec::new();
    for c in &changes {
        match tx.current(&c.resource_type, &c.id)? {
            Some(v) if !v.deleted && v.version == c.before => {}
            Some(v) if v.deleted => changed.push(format!("{}/{} was deleted", c.resource_type, c.id)),
            Some(v) => changed.push(format!("{}/{} is at version {}, the merge wrote version {}", c.resource_type, c.id, v.version, c.before)),
            None => changed.push(format!("{}/{} no longer exists", c.resource_type, c.id)),
        }
    }
    if !changed.is_empty() {
        return Err(ApiError::Conflict(format!(
            "the merge recorded in Provenance/{merge_id} cannot be undone automatically because {} changed since: {}; nothing was written",
            if changed.len() == 1 { "a resource it wrote has" } else { "resources it wrote have" },
            changed.join("; ")
        )));
    }
    // Every check is done: from here on the job only writes.
    let revisions = put_all(tx, indexer, &mut changes)?;
    let recorded = format_instant(tx.now());
    let prov = provenance::build(Activity::Unmerge, agent, &recorded, &revisions, Some(merge_id));
    put_all(tx, indexer, &mut [Change::new("Provenance", provenance_id, 0, prov)])?;
    Ok(revisions)
}

/// The unmerge Provenance that already undid `merge_id`, if any.
fn undone_by(tx: &mut dyn WriteTx, merge_id: &str) -> Result<Option<String>, ApiError> {
    let mut q = SearchQuery::all("Provenance");
    q.clauses = vec![Clause {
        any_of: vec![Predicate::Reference {
            param: "entity".into(),
            target_type: Some("Provenance".into()),
            target_id: Some(merge_id.to_owned()),
            url: None,
        }],
    }];
    for (_, id, _) in tx.search(&q)?.matches {
        let Some(stored) = tx.read_current("Provenance", &id)? else { continue };
        if parse_body(&stored)?.as_ref().and_then(provenance::activity_of) == Some(Activity::Unmerge) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}
