//! The merge write job: resolve both patients, check that they may be merged, find every resource
//! that references the source through the reference index, and then (unless it is a preview)
//! write the new versions and the Provenance, all in one job.
//!
//! The job makes every read and check before its first write (the store's job contract). A merge
//! converges: the source is inactive with a `replaced-by` link, the target has a `replaces` link,
//! and nothing references the source. When that already holds (a resent HL7 A40), nothing is
//! written; when only some references still point at the source (written after the merge), only
//! those are moved, with their own Provenance.

use super::params::{same_patient, Ident, Selector};
use super::patient;
use super::provenance::{self, Activity, Revision};
use super::write::{put_all, Change};
use crate::error::{issue, ApiError};
use serde_json::Value;
use std::sync::OnceLock;
use weave_fhir::model::SearchParamType;
use weave_fhir::outcome::IssueType;
use weave_search::Indexer;
use weave_store::query::{Clause, Predicate, SearchQuery};
use weave_store::{format_instant, WriteTx};

/// Types never rewritten by a merge: other Patients' links describe identity, and Provenance and
/// AuditEvent record history, which a merge must not change.
const NOT_MOVED: [&str; 3] = ["Patient", "Provenance", "AuditEvent"];

/// Index rows read per search page while collecting the resources to move.
const PAGE: usize = 5_000;

/// The most resources one merge moves; beyond it the merge is refused rather than run as one
/// very long write job.
pub(crate) const MAX_MOVED: usize = 100_000;

/// Everything the merge job needs, owned (it runs on the writer thread).
pub(crate) struct MergeJob {
    pub source: Selector,
    pub target: Selector,
    pub result: Option<Value>,
    pub preview: bool,
    /// `Provenance.agent.who.display`.
    pub agent: String,
    /// The id the Provenance gets if anything is written.
    pub provenance_id: String,
}

/// What a merge did or, for a preview, would do.
#[derive(Debug, Clone)]
pub(crate) struct MergeReport {
    pub source_id: String,
    pub target_id: String,
    /// Every resource written (or to be written, for a preview: `after` is the next version).
    pub revisions: Vec<Revision>,
    /// The target Patient after the merge (as stored, or as it would be stored).
    pub target: Value,
    /// The Provenance written, when anything was written.
    pub provenance_id: Option<String>,
    /// The source was already merged into the target before this request.
    pub already_merged: bool,
}

/// A patient read inside the job.
struct Current {
    id: String,
    version: u64,
    resource: Value,
}

/// Runs the merge inside a write job.
pub(crate) fn run(tx: &mut dyn WriteTx, indexer: &Indexer, job: MergeJob) -> Result<MergeReport, ApiError> {
    let source = resolve(tx, "source", &job.source)?;
    let target = resolve(tx, "target", &job.target)?;
    if source.id == target.id {
        return Err(same_patient(&source.id));
    }
    let already_merged = check_pair(&source, &target)?;
    let mut changes = patient_changes(&source, &target, job.result)?;
    changes.extend(moved_resources(tx, indexer.base_url(), &source.id, &target.id)?);
    let mut report = MergeReport {
        source_id: source.id.clone(),
        target_id: target.id.clone(),
        revisions: Vec::new(),
        target: target.resource,
        provenance_id: None,
        already_merged,
    };
    if job.preview || changes.is_empty() {
        report.revisions = changes.iter().map(|c| c.revision(c.before + 1)).collect();
        if let Some(t) = changes.into_iter().find(|c| c.is_patient(&target.id)) {
            report.target = t.resource;
        }
        return Ok(report);
    }
    // Every check is done: from here on the job only writes.
    report.revisions = put_all(tx, indexer, &mut changes)?;
    if let Some(t) = changes.into_iter().find(|c| c.is_patient(&target.id)) {
        report.target = t.resource;
    }
    let recorded = format_instant(tx.now());
    let prov = provenance::build(Activity::Merge, &job.agent, &recorded, &report.revisions, None);
    put_all(tx, indexer, &mut [Change::new("Provenance", &job.provenance_id, 0, prov)])?;
    report.provenance_id = Some(job.provenance_id);
    Ok(report)
}

/// Finds one live Patient by id and/or identifiers.
fn resolve(tx: &mut dyn WriteTx, role: &str, sel: &Selector) -> Result<Current, ApiError> {
    let id = match &sel.id {
        Some(id) => id.clone(),
        None => match tx.search(&identifier_query(&sel.identifiers))?.matches.as_slice() {
            [] => return Err(ApiError::NotFound(format!("the {role} patient {} is not known", sel.describe()))),
            [(_, id, _)] => id.clone(),
            _ => {
                return Err(ApiError::Unprocessable(vec![issue(
                    IssueType::MultipleMatches,
                    format!("the {role} patient {} matches more than one Patient", sel.describe()),
                )]))
            }
        },
    };
    let stored = tx.read_current("Patient", &id)?;
    let Some(body) = stored.as_ref().and_then(|s| s.body.as_deref()) else {
        return Err(ApiError::NotFound(format!("the {role} patient Patient/{id} is not known (or was deleted)")));
    };
    let resource: Value =
        serde_json::from_str(body).map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?;
    if let Some(missing) = sel.identifiers.iter().find(|i| !patient::has_identifier(&resource, i)) {
        return Err(business_rule(format!(
            "the {role} patient Patient/{id} does not carry the identifier {}",
            missing.describe()
        )));
    }
    let version = stored.map_or(0, |s| s.version);
    Ok(Current { id, version, resource })
}

/// `Patient?identifier=…&identifier=…` (every identifier must match), at most 2 matches.
fn identifier_query(idents: &[Ident]) -> SearchQuery {
    let mut q = SearchQuery::all("Patient");
    q.count = 2;
    q.clauses = idents
        .iter()
        .map(|i| Clause {
            any_of: vec![Predicate::Token {
                param: "identifier".into(),
                system: i.system.clone().map(Some),
                code: Some(i.value.clone()),
            }],
        })
        .collect();
    q
}

/// A 422 `business-rule` refusal.
pub(crate) fn business_rule(msg: String) -> ApiError {
    ApiError::Unprocessable(vec![issue(IssueType::BusinessRule, msg)])
}

/// Refuses pairs that may not be merged; `Ok(true)` when the source is already merged into the
/// target.
fn check_pair(source: &Current, target: &Current) -> Result<bool, ApiError> {
    if let Some(other) = patient::link_of(&target.resource, "replaced-by") {
        return Err(business_rule(format!(
            "the target Patient/{} was itself merged into Patient/{other}; merge into that patient instead",
            target.id
        )));
    }
    if patient::is_inactive(&target.resource) {
        return Err(business_rule(format!("the target Patient/{} is inactive", target.id)));
    }
    match patient::link_of(&source.resource, "replaced-by") {
        Some(other) if other == target.id => Ok(true),
        Some(other) => Err(ApiError::Conflict(format!(
            "the source Patient/{} was already merged into Patient/{other}",
            source.id
        ))),
        None if patient::is_inactive(&source.resource) => Err(business_rule(format!(
            "the source Patient/{} is inactive; only an active patient can be merged",
            source.id
        ))),
        None => Ok(false),
    }
}

/// The new versions of the two patients (only those that change).
fn patient_changes(source: &Current, target: &Current, result: Option<Value>) -> Result<Vec<Change>, ApiError> {
    let mut out = Vec::new();
    let mut s = source.resource.clone();
    patient::retire(&mut s, &target.id);
    if s != source.resource {
        out.push(Change::new("Patient", &source.id, source.version, s));
    }
    let t = match result {
        Some(mut r) => {
            check_result(&mut r, &source.id, &target.id)?;
            r
        }
        None => {
            let mut t = target.resource.clone();
            patient::add_link(&mut t, "replaces", &source.id);
            t
        }
    };
    if patient::without_meta(&t) != patient::without_meta(&target.resource) {
        out.push(Change::new("Patient", &target.id, target.version, t));
    }
    Ok(out)
}

/// A `result-patient` must be the target (same id, or none) and keep the `replaces` link.
fn check_result(r: &mut Value, source_id: &str, target_id: &str) -> Result<(), ApiError> {
    match r.get("id").and_then(Value::as_str) {
        None => crate::crud::set_id(r, target_id),
        Some(id) if id == target_id => {}
        Some(id) => {
            return Err(ApiError::invalid(format!(
                "the result-patient has id '{id}', but the target is Patient/{target_id}"
            )))
        }
    }
    if !patient::has_link(r, "replaces", source_id) {
        return Err(business_rule(format!(
            "the result-patient must keep the link {{type: replaces, other: Patient/{source_id}}}"
        )));
    }
    Ok(())
}

/// Per resource type (except [`NOT_MOVED`]), its reference search parameters.
fn reference_params() -> &'static [(String, Vec<String>)] {
    static PARAMS: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let model = weave_fhir::r4();
        model
            .resource_types()
            .filter(|t| !NOT_MOVED.contains(t))
            .filter_map(|t| {
                let params: Vec<String> = model
                    .search_params(t)
                    .iter()
                    .filter(|p| p.kind == SearchParamType::Reference)
                    .map(|p| p.code.clone())
                    .collect();
                (!params.is_empty()).then(|| (t.to_owned(), params))
            })
            .collect()
    })
}

/// Every live resource that references `Patient/source_id` through an indexed reference, with
/// its new content pointing at the target.
fn moved_resources(tx: &mut dyn WriteTx, base_url: &str, source_id: &str, target_id: &str) -> Result<Vec<Change>, ApiError> {
    let mut found: Vec<(String, String)> = Vec::new();
    for (t, params) in reference_params() {
        let mut q = SearchQuery::all(t);
        q.count = PAGE;
        q.clauses = vec![Clause {
            any_of: vec![Predicate::Compartment {
                params: params.clone(),
                target_type: "Patient".into(),
                target_id: source_id.to_owned(),
            }],
        }];
        loop {
            let page = tx.search(&q)?;
            found.extend(page.matches.into_iter().map(|(t, id, _)| (t, id)));
            if found.len() > MAX_MOVED {
                return Err(ApiError::Unprocessable(vec![issue(
                    IssueType::TooCostly,
                    format!("more than {MAX_MOVED} resources reference Patient/{source_id}; too many to move in one merge"),
                )]));
            }
            if !page.more {
                break;
            }
            q.offset += PAGE;
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for (t, id) in found {
        let Some(stored) = tx.read_current(&t, &id)? else { continue };
        let Some(body) = stored.body.as_deref() else { continue };
        let mut resource: Value =
            serde_json::from_str(body).map_err(|e| ApiError::Internal(format!("stored body unreadable: {e}")))?;
        if patient::retarget(&mut resource, base_url, source_id, target_id) > 0 {
            out.push(Change::new(&t, &id, stored.version, resource));
        }
    }
    Ok(out)
}
