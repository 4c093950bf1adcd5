//! Writing the versions a merge or unmerge decided on: index rows, body, `put`.

use super::provenance::Revision;
use crate::error::ApiError;
use serde_json::Value;
use weave_search::Indexer;
use weave_store::{prepare_body, stamp_meta, Method, WriteTx};

/// A new version to write: the resource's content and the version it replaces (0: none).
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub resource_type: String,
    pub id: String,
    pub before: u64,
    pub resource: Value,
}

impl Change {
    pub fn new(resource_type: &str, id: &str, before: u64, resource: Value) -> Change {
        Change { resource_type: resource_type.to_owned(), id: id.to_owned(), before, resource }
    }

    /// The revision this change makes once written as version `after`.
    pub fn revision(&self, after: u64) -> Revision {
        Revision { resource_type: self.resource_type.clone(), id: self.id.clone(), before: self.before, after }
    }

    /// True for `Patient/id`.
    pub fn is_patient(&self, id: &str) -> bool {
        self.resource_type == "Patient" && self.id == id
    }
}

/// Writes every change (indexed, as a `PUT`), stamping each resource's `meta` with what was
/// written; returns the revisions in order. Call only after every check of the job.
pub(crate) fn put_all(tx: &mut dyn WriteTx, indexer: &Indexer, changes: &mut [Change]) -> Result<Vec<Revision>, ApiError> {
    let mut out = Vec::with_capacity(changes.len());
    for c in changes.iter_mut() {
        let mut index = indexer.extract(&c.resource_type, &c.resource);
        let body = prepare_body(&mut c.resource, &c.id);
        let w = tx.put(&c.resource_type, &c.id, &body, Method::Put, &mut index)?;
        stamp_meta(&mut c.resource, &c.id, &w);
        out.push(c.revision(w.version));
    }
    Ok(out)
}
