//! The storage trait and the write-job protocol.
//!
//! Writes are *jobs*: a closure that runs against a [`WriteTx`] inside one database transaction.
//! The backend may run several jobs in one commit (group commit). A job's result reaches the
//! caller only after the commit is durable.
//!
//! **The job contract:** a job makes all its checks (versions, conditions, validation) before its
//! first write, and fails only before writing. A job that fails before writing leaves no trace and
//! does not disturb its neighbours. A job that fails *after* writing (a storage error, or a broken
//! contract) forces its whole group to roll back: its neighbours get `CommitFailed` and may retry.
//! (This is what lets the backend commit a group without a savepoint per job, which costs a copy
//! of every page the job touches.)

use crate::query::{SearchPage, SearchQuery};
use crate::{
    Change, HistoryPage, HistoryQuery, IndexEntries, Method, Stored, StoreError, VersionInfo,
    Written,
};
use crate::PreparedBody;

/// What a write job may do inside its transaction.
pub trait WriteTx {
    /// The timestamp (microseconds) that writes in this job get; never lower than any earlier one.
    fn now(&self) -> i64;
    /// The current version of a logical resource, deleted or not.
    fn current(&mut self, resource_type: &str, id: &str) -> Result<Option<VersionInfo>, StoreError>;
    /// The current version with its body (`None` when it never existed).
    fn read_current(&mut self, resource_type: &str, id: &str) -> Result<Option<Stored>, StoreError>;
    /// Writes a new version of `resource_type/id` (its body prepared with [`crate::prepare_body`]
    /// for that id; the store fills in `meta.versionId` and `meta.lastUpdated`), and replaces the
    /// resource's search index rows with `index`. The store may take the values out of `index`
    /// (its single writer then neither copies them nor frees them): the caller frees what is left.
    fn put(
        &mut self,
        resource_type: &str,
        id: &str,
        body: &PreparedBody,
        method: Method,
        index: &mut IndexEntries,
    ) -> Result<Written, StoreError>;
    /// Writes a deletion tombstone. `None` when there is no live version to delete.
    fn delete(&mut self, resource_type: &str, id: &str) -> Result<Option<Written>, StoreError>;
    /// Protects the rest of this job with a savepoint, for a job that must check something after
    /// writing: if it then fails, only its own writes are undone and its group commits as usual.
    /// It costs a copy of every page the job touches afterwards, so ordinary jobs check first.
    fn savepoint(&mut self) -> Result<(), StoreError>;
    /// Runs a search inside the transaction (sees the job's own writes).
    fn search(&mut self, query: &SearchQuery) -> Result<SearchPage, StoreError>;
    /// Logs an inbound record in this job's transaction (see [`Store::record_inbound`]), so that a
    /// message and the resources it made commit together. This is a write: a job checks first
    /// (an accepted duplicate is a `Conflict`, which then rolls back the whole group).
    fn record_inbound(&mut self, record: &NewInbound) -> Result<i64, StoreError>;
    /// Whether a message with this control id was accepted from this source (see
    /// [`Store::inbound_accepted`]), seen from inside the transaction.
    fn inbound_accepted(&mut self, source: InboundSource, control_id: &str) -> Result<bool, StoreError>;
    /// Replaces the index rows of `resource_type/id` — when its current version is still
    /// `version` — without writing a version (`$reindex`). `false` when it changed or is gone.
    fn reindex(&mut self, resource_type: &str, id: &str, version: u64, index: &mut IndexEntries) -> Result<bool, StoreError>;
}

/// What a job hands back to the backend: whether it succeeded (commit its savepoint) and how to
/// deliver its result once the transaction's fate is known.
pub struct JobOutcome {
    pub(crate) succeeded: bool,
    pub(crate) deliver: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

/// A write job as the backend sees it.
pub type Job = Box<dyn FnOnce(&mut dyn WriteTx) -> JobOutcome + Send>;

/// A storage backend.
pub trait Store: Send + Sync + 'static {
    /// The current version of a resource (a tombstone when deleted), or `None` if it never existed.
    fn read(&self, resource_type: &str, id: &str) -> Result<Option<Stored>, StoreError>;
    /// One version of a resource.
    fn vread(&self, resource_type: &str, id: &str, version: u64) -> Result<Option<Stored>, StoreError>;
    /// A page of history, newest first.
    fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError>;
    /// Change-feed entries with `seq > after_seq`, oldest first.
    fn changes(&self, after_seq: i64, limit: usize) -> Result<Vec<Change>, StoreError>;
    /// The newest committed sequence number (0 for an empty store).
    fn last_seq(&self) -> Result<i64, StoreError>;
    /// The sequence number of the newest committed change to a resource of `resource_type` (0 when
    /// there is none): whether a type changed since a position, without reading the feed.
    fn last_seq_of(&self, resource_type: &str) -> Result<i64, StoreError>;
    /// Number of live (not deleted) resources per type, sorted by type.
    fn counts(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Queues a write job; its outcome is delivered through the job itself.
    fn submit(&self, job: Job) -> Result<(), StoreError>;
    /// Runs a search.
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError>;
    /// The current versions of resources by internal row id, in the order given (missing and
    /// deleted ones are left out).
    fn read_rows(&self, rids: &[i64]) -> Result<Vec<Stored>, StoreError>;
    /// Row ids of the live resources that the given resources reference through any of the
    /// reference parameters `params` of `source_type`, optionally only of `target_type`.
    fn include_rows(&self, rids: &[i64], source_type: &str, params: &[String], target_type: Option<&str>) -> Result<Vec<i64>, StoreError>;
    /// Row ids of the live `source_type` resources that reference any of the given resources
    /// through any of `params`.
    fn revinclude_rows(&self, rids: &[i64], source_type: &str, params: &[String]) -> Result<Vec<i64>, StoreError>;
    /// Row ids of the live resources that reference `target_type/target_id` through any of the
    /// qualified parameters `keys` (`Type.param`): a compartment. Ascending row id, after
    /// `after_rid`, at most `limit`; `since` keeps only versions written at or after it.
    fn compartment_rows(
        &self,
        target_type: &str,
        target_id: &str,
        keys: &[String],
        since: Option<i64>,
        after_rid: Option<i64>,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError>;
    /// Row ids of the live resources the given rows reference through any parameter.
    fn referenced_rows(&self, rids: &[i64]) -> Result<Vec<i64>, StoreError>;
    /// The internal row id of a live resource.
    fn row_of(&self, resource_type: &str, id: &str) -> Result<Option<i64>, StoreError>;
    /// How the backend will run a query, one line per step (for tests and diagnostics).
    fn explain(&self, query: &SearchQuery) -> Result<Vec<String>, StoreError>;

    /// Logs one inbound message or file, raw, accepted or rejected (a dead letter), and returns
    /// its id. An accepted record whose `(source, control id)` is already logged as accepted is a
    /// [`StoreError::Conflict`]: a repeated HL7 control id is never applied twice.
    fn record_inbound(&self, record: &NewInbound) -> Result<i64, StoreError>;
    /// Whether a message with this source and control id was already accepted.
    fn inbound_accepted(&self, source: InboundSource, control_id: &str) -> Result<bool, StoreError>;
    /// Dead letters (rejected inbound records) with an id above `after_id`, oldest first.
    fn dead_letters(&self, after_id: i64, limit: usize) -> Result<Vec<Inbound>, StoreError>;
    /// One inbound record by id, with its raw bytes.
    fn inbound(&self, id: i64) -> Result<Option<Inbound>, StoreError>;
    /// Marks a dead letter as replayed; `false` when there is no such dead letter.
    fn mark_replayed(&self, id: i64) -> Result<bool, StoreError>;
    /// Retention: removes inbound records received before `before` (microseconds) that are done
    /// with — accepted, or dead letters since replayed. Dead letters still pending are kept
    /// whatever their age. Returns how many were removed.
    fn purge_inbound(&self, before: i64) -> Result<u64, StoreError>;
}

/// The kind of feed an inbound record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboundSource {
    /// An HL7 v2 message (MLLP).
    Hl7v2,
    /// A row or file of the council's Client Level Data extract.
    Cld,
    /// A FHIR resource or Bundle (NDJSON, files).
    Fhir,
}

impl InboundSource {
    /// The stored name: `hl7v2`, `cld` or `fhir`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            InboundSource::Hl7v2 => "hl7v2",
            InboundSource::Cld => "cld",
            InboundSource::Fhir => "fhir",
        }
    }

    /// The inverse of [`InboundSource::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<InboundSource> {
        match s {
            "hl7v2" => Some(InboundSource::Hl7v2),
            "cld" => Some(InboundSource::Cld),
            "fhir" => Some(InboundSource::Fhir),
            _ => None,
        }
    }
}

/// An inbound record to log (see [`Store::record_inbound`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInbound {
    pub source: InboundSource,
    /// The sender's message control id (HL7 MSH-10), when there is one.
    pub control_id: Option<String>,
    /// `true` when the content was applied; `false` makes it a dead letter.
    pub accepted: bool,
    /// Why it was rejected (dead letters).
    pub reason: Option<String>,
    /// The line of the input file it came from (CLD rows).
    pub line: Option<u64>,
    pub raw: Vec<u8>,
}

/// A logged inbound record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub id: i64,
    pub source: InboundSource,
    pub control_id: Option<String>,
    /// When it was received, in microseconds since the Unix epoch.
    pub received: i64,
    pub accepted: bool,
    pub reason: Option<String>,
    pub line: Option<u64>,
    pub raw: Vec<u8>,
    /// A dead letter that was replayed successfully.
    pub replayed: bool,
}

fn make_job<T, E, F>(f: F, reply: impl FnOnce(Result<T, E>) + Send + 'static) -> Job
where
    F: FnOnce(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    Box::new(move |tx: &mut dyn WriteTx| {
        let result = f(tx);
        let succeeded = result.is_ok();
        JobOutcome {
            succeeded,
            deliver: Box::new(move |commit_error| match (result, commit_error) {
                (Ok(_), Some(e)) => reply(Err(E::from(e))),
                (r, _) => reply(r),
            }),
        }
    })
}

/// Runs `f` as one atomic write job and waits (asynchronously) until it is durably committed.
pub async fn write<T, E, F>(store: &dyn Store, f: F) -> Result<T, E>
where
    F: FnOnce(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (send, recv) = tokio::sync::oneshot::channel();
    let job = make_job(f, move |r| {
        // The receiver may have gone away (client disconnected); the write still stands.
        let _ = send.send(r);
    });
    store.submit(job).map_err(E::from)?;
    recv.await.map_err(|_| E::from(StoreError::Closed))?
}

/// Like [`write`], for callers outside an async runtime (the command line).
pub fn write_blocking<T, E, F>(store: &dyn Store, f: F) -> Result<T, E>
where
    F: FnOnce(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (send, recv) = std::sync::mpsc::sync_channel(1);
    let job = make_job(f, move |r| {
        let _ = send.send(r);
    });
    store.submit(job).map_err(E::from)?;
    recv.recv().map_err(|_| E::from(StoreError::Closed))?
}
