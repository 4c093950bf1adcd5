//! Patient merge and unmerge: FHIR R5's `Patient/$merge` used on R4, its inverse
//! `Patient/$unmerge`, and [`apply_hl7_merge`] for HL7 v2 ADT A40/A34 merges.
//!
//! A merge is one atomic write job: the source Patient becomes inactive with a `replaced-by`
//! link, the target gets a `replaces` link (or the `result-patient` content), every resource that
//! references the source through the reference index is pointed at the target, and a Provenance
//! (activity `iso-21089-lifecycle#merge`) lists each version written and the version it replaced.
//! `$unmerge` writes back exactly those earlier versions, refusing (and writing nothing) when any
//! of them changed since. The behaviour is described in `docs/merge.md`.
//!
//! - [`params`]: the `Parameters` bodies; [`plan`]: the merge job; [`unmerge`]: the unmerge job;
//! - [`patient`]: links and reference rewriting on JSON; [`provenance`]: the Provenance both
//!   write and `$unmerge` reads; [`write`]: writing the decided versions.

mod params;
mod patient;
mod plan;
mod provenance;
mod unmerge;
mod write;

pub use provenance::{Revision, LIFECYCLE};

use crate::error::ApiError;
use crate::http::{body_kind, fhir_response, parse_json, to_body, BodyKind};
use crate::routes::Req;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use params::Selector;
use plan::{MergeJob, MergeReport};
use serde_json::{json, Value};
use weave_fhir::outcome::{operation_outcome, Issue, IssueType, Severity};
use weave_store::WriteTx;

/// The agent named in the Provenance of merges requested through the API (no authentication yet).
const API_AGENT: &str = "Weave API";

/// The agent named in the Provenance of merges from HL7 v2 feeds (see [`apply_hl7_merge_as`]).
const HL7_AGENT: &str = "HL7 v2 feed (ADT merge)";

/// How many resources an outcome message names before summarising the rest.
const LISTED: usize = 20;

/// What [`apply_hl7_merge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOutcome {
    /// The retired (source) Patient's id.
    pub source_id: String,
    /// The surviving (target) Patient's id.
    pub target_id: String,
    /// The merge's Provenance; `None` when nothing needed writing.
    pub provenance_id: Option<String>,
    /// Every resource written, with the version it replaced.
    pub revisions: Vec<Revision>,
    /// The pair was already merged before this call (a resent A40).
    pub already_merged: bool,
}

impl From<MergeReport> for MergeOutcome {
    fn from(r: MergeReport) -> MergeOutcome {
        MergeOutcome {
            source_id: r.source_id,
            target_id: r.target_id,
            provenance_id: r.provenance_id,
            revisions: r.revisions,
            already_merged: r.already_merged,
        }
    }
}

/// `POST /Patient/$merge`.
pub async fn merge(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    let body = parameters_body(req)?;
    let input = params::merge_input(&body, state.indexer().base_url())?;
    let preview = input.preview;
    let job = MergeJob {
        source: input.source,
        target: input.target,
        result: input.result,
        preview,
        agent: API_AGENT.to_owned(),
        provenance_id: uuid::Uuid::now_v7().to_string(),
    };
    let report = run_merge(state, job).await?;
    let out = json!({"resourceType": "Parameters", "parameter": merge_parameters(body, &report, preview)});
    Ok(fhir_response(StatusCode::OK, to_body(&out, req.pretty())))
}

/// `POST /Patient/$unmerge`.
pub async fn unmerge(state: &AppState, req: &Req) -> Result<Response, ApiError> {
    let body = parameters_body(req)?;
    let input = params::unmerge_input(&body, state.indexer().base_url())?;
    let report = unmerge::run(state, input, API_AGENT.to_owned()).await?;
    let msg = format!(
        "the merge recorded in Provenance/{} was undone: {} restored to their versions from before it ({}); recorded in Provenance/{}",
        report.merge_provenance,
        report.revisions.len(),
        listing(&report.revisions),
        report.provenance_id
    );
    let mut parameter = vec![
        json!({"name": "input", "resource": body}),
        json!({"name": "outcome", "resource": information(msg)}),
        json!({"name": "provenance", "valueReference": {"reference": format!("Provenance/{}", report.provenance_id)}}),
    ];
    parameter.extend(report.revisions.iter().map(|r| {
        json!({"name": "restored", "valueReference": {"reference": format!("{}/_history/{}", r.key(), r.after)}})
    }));
    let out = json!({"resourceType": "Parameters", "parameter": parameter});
    Ok(fhir_response(StatusCode::OK, to_body(&out, req.pretty())))
}

/// Merges the HL7 v2 merge instruction's retired patient into the surviving one, both found by
/// identifier. A pair already merged is a success that writes nothing (a resent A40); a retired
/// or surviving patient that is not known is [`ApiError::NotFound`].
pub async fn apply_hl7_merge(state: &AppState, m: &weave_ingest::map::MergeInstruction) -> Result<MergeOutcome, ApiError> {
    apply_hl7_merge_as(state, m, HL7_AGENT).await
}

/// Like [`apply_hl7_merge`], naming `agent` (e.g. the sending facility) in the Provenance.
pub async fn apply_hl7_merge_as(
    state: &AppState,
    m: &weave_ingest::map::MergeInstruction,
    agent: &str,
) -> Result<MergeOutcome, ApiError> {
    let job = MergeJob {
        source: Selector::by_identifier(&m.retired.system, &m.retired.value),
        target: Selector::by_identifier(&m.surviving.system, &m.surviving.value),
        result: None,
        preview: false,
        agent: agent.to_owned(),
        provenance_id: uuid::Uuid::now_v7().to_string(),
    };
    run_merge(state, job).await.map(MergeOutcome::from)
}

/// Runs the merge job on the store's writer.
async fn run_merge(state: &AppState, job: MergeJob) -> Result<MergeReport, ApiError> {
    let indexer = state.indexer();
    weave_store::write(&*state.store, move |tx: &mut dyn WriteTx| plan::run(tx, &indexer, job)).await
}

/// The request body as JSON (FHIR JSON only).
fn parameters_body(req: &Req) -> Result<Value, ApiError> {
    match body_kind(&req.headers)? {
        BodyKind::FhirJson => parse_json(&req.body),
        BodyKind::JsonPatch => Err(ApiError::UnsupportedMediaType("send the Parameters as application/fhir+json".into())),
    }
}

/// `$merge`'s output parameters (R5): `input`, `outcome`, `result`, and the Provenance written.
fn merge_parameters(input: Value, report: &MergeReport, preview: bool) -> Vec<Value> {
    let (s, t) = (&report.source_id, &report.target_id);
    let n = report.revisions.len();
    let msg = if preview {
        format!("preview of merging Patient/{s} into Patient/{t}: {n} resources would be updated ({}); nothing was written", listing(&report.revisions))
    } else if n == 0 {
        format!("Patient/{s} was already merged into Patient/{t}; nothing needed changing and nothing was written")
    } else {
        format!(
            "Patient/{s} merged into Patient/{t}: {n} resources updated ({}); recorded in Provenance/{}",
            listing(&report.revisions),
            report.provenance_id.as_deref().unwrap_or_default()
        )
    };
    let mut out = vec![
        json!({"name": "input", "resource": input}),
        json!({"name": "outcome", "resource": information(msg)}),
        json!({"name": "result", "resource": report.target}),
    ];
    if let Some(p) = &report.provenance_id {
        out.push(json!({"name": "provenance", "valueReference": {"reference": format!("Provenance/{p}")}}));
    }
    out
}

/// An OperationOutcome with one information issue.
fn information(msg: String) -> Value {
    operation_outcome(&[Issue { severity: Severity::Information, code: IssueType::Informational, diagnostics: msg, expression: Vec::new() }])
}

/// `Patient/a, Encounter/b, … and 12 more`.
fn listing(revisions: &[Revision]) -> String {
    let mut names: Vec<String> = revisions.iter().take(LISTED).map(Revision::key).collect();
    if revisions.len() > LISTED {
        names.push(format!("and {} more", revisions.len() - LISTED));
    }
    names.join(", ")
}
