//! The single writer thread: group commit of write jobs (see the job contract in `api`), with
//! the flush to disk pipelined behind the commit when a [`Syncer`] is given.

use super::schema::INDEX_TABLES;
use super::fts::{Change, FtsSender, GroupText};
use super::pending::Pending;
use super::syncer::Syncer;
use crate::api::{Job, WriteTx};
use crate::query::{SearchPage, SearchQuery};
use crate::{now_micros, InboundSource, IndexEntries, Method, NewInbound, PreparedBody, Stored, StoreError, VersionInfo, Written};
use rusqlite::{Connection, OptionalExtension};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

/// Jobs submitted and not yet answered: how many callers are waiting on the writer.
#[derive(Debug, Default)]
pub(crate) struct InFlight(AtomicUsize);

impl InFlight {
    /// Counts `job` until its reply is delivered (or it is dropped unrun).
    pub(crate) fn track(self: &Arc<Self>, job: Job) -> Job {
        self.0.fetch_add(1, Ordering::Relaxed);
        let ticket = Ticket(Arc::clone(self));
        Box::new(move |tx| {
            let mut outcome = job(tx);
            let deliver = outcome.deliver;
            outcome.deliver = Box::new(move |err| {
                deliver(err);
                drop(ticket);
            });
            outcome
        })
    }

    fn now(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// One job's place in [`InFlight`], given up when dropped.
struct Ticket(Arc<InFlight>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) fn spawn(
    conn: Connection,
    jobs: mpsc::Receiver<Job>,
    limits: Limits,
    in_flight: Arc<InFlight>,
    syncer: Option<Syncer>,
    fts: FtsSender,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let state = WriterState::load(&conn)?;
    std::thread::Builder::new()
        .name("weave-store-writer".into())
        .spawn(move || {
            run(&conn, &jobs, limits, &in_flight, state, syncer.as_ref(), &fts);
            // Dropping the syncer flushes and delivers what it still holds.
            drop(syncer);
        })
        .map_err(|e| StoreError::Invalid(format!("cannot start the writer thread: {e}")))
}

/// How large the writer's groups may grow (see [`super::SqliteOptions`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_batch: usize,
    /// At most half as many jobs as callers are waiting.
    pub split: bool,
}

/// Counters the writer carries between batches.
struct WriterState {
    next_seq: i64,
    last_ts: i64,
}

impl WriterState {
    fn load(conn: &Connection) -> Result<WriterState, StoreError> {
        let (seq, ts): (i64, i64) = conn.query_row(
            "SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(last_updated), 0) FROM version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(WriterState { next_seq: seq + 1, last_ts: ts })
    }
}

fn run(
    conn: &Connection,
    jobs: &mpsc::Receiver<Job>,
    limits: Limits,
    in_flight: &InFlight,
    mut state: WriterState,
    syncer: Option<&Syncer>,
    fts: &FtsSender,
) {
    // The index rows of the open group; kept from group to group for its space.
    let mut held = Pending::default();
    let mut text = GroupText::default();
    let (mut busy, mut n_batches, mut n_jobs, mut commit_time) = (std::time::Duration::ZERO, 0u64, 0u64, std::time::Duration::ZERO);
    // Callers waiting on the writer, a recent peak (it decays by a sixteenth a group).
    let mut callers = 0.0f64;
    while let Ok(first) = jobs.recv() {
        callers = (callers * 15.0 / 16.0).max(in_flight.now() as f64);
        // Half of them, rounded up.
        let half = ((callers / 2.0).ceil() as usize).max(1);
        let most = if limits.split { limits.max_batch.min(half) } else { limits.max_batch };
        let started = std::time::Instant::now();
        n_batches += 1;
        let mut first = Some(first);
        let mut taken = 0usize;
        // Jobs run as they arrive; the group commits once none has arrived for `GATHER`, or once
        // it holds half as many jobs as callers are waiting (or is full). Writers that submit in
        // quick succession share one commit; and callers that wait for each reply before sending
        // again (MLLP connections, interactive clients) are served in two alternating halves:
        // one half's replies go out and its next requests are prepared while the writer runs the
        // other.
        let next = || -> Option<Job> {
            if taken >= most {
                return None;
            }
            let job = first.take().or_else(|| jobs.try_recv().ok()).or_else(|| jobs.recv_timeout(GATHER).ok());
            taken += usize::from(job.is_some());
            job
        };
        let group = Group { pending: &mut held, text: &mut text, syncer, fts };
        commit_time += run_batch(conn, next, &mut state, group);
        n_jobs += taken as u64;
        busy += started.elapsed();
    }
    // On Linux, the thread's own CPU time (ns): what the writer cost, whatever else ran.
    let cpu_ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()));
    tracing::debug!(?busy, ?commit_time, n_batches, n_jobs, ?cpu_ns, "writer finished");
}

/// How long an open group waits for another job before it commits.
const GATHER: std::time::Duration = std::time::Duration::from_micros(200);

/// What a group keeps besides its transaction, and where its outcomes go.
struct Group<'a> {
    pending: &'a mut Pending,
    text: &'a mut GroupText,
    syncer: Option<&'a Syncer>,
    fts: &'a FtsSender,
}

/// Runs one group, taking jobs from `next` until it yields none; returns the time its COMMIT took.
/// With a syncer, the committed group's outcomes are delivered by it, after the flush.
fn run_batch(conn: &Connection, mut next: impl FnMut() -> Option<Job>, state: &mut WriterState, group: Group<'_>) -> std::time::Duration {
    let Group { pending, text, syncer, fts } = group;
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
        // Dropping the jobs drops their reply channels; callers then see `StoreError::Closed`.
        while next().is_some() {}
        return std::time::Duration::ZERO;
    }
    let mut outcomes = Vec::new();
    let mut poisoned = false;
    while !poisoned {
        // Once the group is poisoned, later jobs wait for the next group.
        let Some(job) = next() else { break };
        let now = now_micros().max(state.last_ts + 1);
        state.last_ts = now;
        let mut tx = SqliteTx { conn, now, next_seq: &mut state.next_seq, pending, text, wrote: false, protected: false };
        let outcome = catch_unwind(AssertUnwindSafe(|| job(&mut tx)));
        let (wrote, protected) = (tx.wrote, tx.protected);
        if protected {
            let keep = matches!(&outcome, Ok(o) if o.succeeded);
            if keep {
                pending.release();
                text.release();
            } else {
                pending.rollback_to_savepoint();
                text.rollback_to_savepoint();
            }
            let end = if keep { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "a job's savepoint could not be closed; its group is rolled back");
                poisoned = true;
            }
        }
        let wrote = wrote && !protected;
        match outcome {
            Ok(o) if o.succeeded || !wrote => outcomes.push(o),
            Ok(o) => {
                tracing::warn!("a write job failed after writing; its whole group is rolled back");
                outcomes.push(o);
                poisoned = true;
            }
            Err(_) => {
                tracing::error!("a write job panicked; its group is rolled back");
                poisoned |= wrote;
            }
        }
    }
    if !poisoned {
        if let Err(e) = pending.flush(conn) {
            tracing::error!(error = %e, "a group's index rows could not be written; it is rolled back");
            poisoned = true;
        }
    }
    if poisoned {
        let _ = conn.execute_batch("ROLLBACK");
        pending.clear();
        text.clear();
        reload(conn, state);
        for o in outcomes {
            let err = o.succeeded.then(|| StoreError::CommitFailed("rolled back with a failing job of the same group; retry".into()));
            (o.deliver)(err);
        }
        return std::time::Duration::ZERO;
    }
    let commit_started = std::time::Instant::now();
    let committed = conn.execute_batch("COMMIT");
    let commit_time = commit_started.elapsed();
    match committed {
        Ok(()) => {
            // The index thread has the group's text before anyone hears that it committed.
            fts.submit(text.take(), state.next_seq - 1);
            match syncer {
                Some(s) => s.committed(outcomes.into_iter().map(|o| o.deliver).collect()),
                None => outcomes.into_iter().for_each(|o| (o.deliver)(None)),
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "commit failed; the batch is rolled back");
            let _ = conn.execute_batch("ROLLBACK");
            text.clear();
            reload(conn, state);
            let msg = e.to_string();
            for o in outcomes {
                (o.deliver)(Some(StoreError::CommitFailed(msg.clone())));
            }
        }
    }
    commit_time
}

fn reload(conn: &Connection, state: &mut WriterState) {
    if let Ok(s) = WriterState::load(conn) {
        state.next_seq = s.next_seq;
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
    now: i64,
    next_seq: &'c mut i64,
    /// The group's index rows not yet written.
    pending: &'c mut Pending,
    /// The group's full-text changes, indexed after it commits.
    text: &'c mut GroupText,
    /// Set by the first write: a job that fails after it forces its group to roll back.
    wrote: bool,
    /// The job asked for a savepoint (see [`WriteTx::savepoint`]).
    protected: bool,
}

impl SqliteTx<'_> {
    fn current_row(&self, ty: &str, id: &str) -> Result<Option<(i64, i64, bool)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT rid, version, deleted FROM resource WHERE type = ?1 AND id = ?2")?;
        Ok(st.query_row((ty, id), |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0))).optional()?)
    }

    fn take_seq(&mut self) -> i64 {
        self.wrote = true;
        let seq = *self.next_seq;
        *self.next_seq += 1;
        seq
    }

    fn insert_version(
        &mut self,
        rid: i64,
        ty: &str,
        version: i64,
        method: Method,
        body: Option<&[u8]>,
    ) -> Result<i64, StoreError> {
        let seq = self.take_seq();
        let mut st = self.conn.prepare_cached(
            "INSERT INTO version (seq, rid, type, version, last_updated, method, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        st.execute((seq, rid, ty, version, self.now, method.code(), body))?;
        Ok(seq)
    }

    fn clear_index(&mut self, rid: i64) -> Result<(), StoreError> {
        if self.pending.holds(rid) {
            self.pending.flush(self.conn)?;
        }
        for table in INDEX_TABLES {
            let mut st = self.conn.prepare_cached(&format!("DELETE FROM {table} WHERE rid = ?1"))?;
            st.execute([rid])?;
        }
        self.text.push(Change { rid, text: None, fresh: false });
        // Its contained resources' rows, under its range of virtual row ids. Each of them has a
        // marker token row, so one probe tells whether there is anything to delete.
        let Some((lo, hi)) = super::search::virtual_range(rid) else { return Ok(()) };
        let mut probe = self.conn.prepare_cached("SELECT 1 FROM idx_token WHERE rid BETWEEN ?1 AND ?2 LIMIT 1")?;
        if probe.exists([lo, hi])? {
            for table in INDEX_TABLES {
                let mut st = self.conn.prepare_cached(&format!("DELETE FROM {table} WHERE rid BETWEEN ?1 AND ?2"))?;
                st.execute([lo, hi])?;
            }
        }
        Ok(())
    }

    /// Holds the resource's index rows and records its text (`fresh`: a new resource).
    fn write_index(&mut self, rid: i64, ty: &str, index: &mut IndexEntries, fresh: bool) {
        super::history::write_index(self.pending, rid, ty, index);
        if index.text.is_some() || !fresh {
            self.text.push(Change { rid, text: index.text.take(), fresh });
        }
    }
}

impl WriteTx for SqliteTx<'_> {
    fn now(&self) -> i64 {
        self.now
    }

    fn current(&mut self, ty: &str, id: &str) -> Result<Option<VersionInfo>, StoreError> {
        let Some((rid, version, deleted)) = self.current_row(ty, id)? else { return Ok(None) };
        let mut st = self
            .conn
            .prepare_cached("SELECT last_updated FROM version WHERE rid = ?1 AND version = ?2")?;
        let last_updated: i64 = st.query_row((rid, version), |r| r.get(0))?;
        Ok(Some(VersionInfo { version: u64::try_from(version).unwrap_or(0), deleted, last_updated }))
    }

    fn read_current(&mut self, ty: &str, id: &str) -> Result<Option<Stored>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT v.version, v.seq, v.last_updated, v.method, v.body FROM resource r
             JOIN version v ON v.seq = r.seq WHERE r.type = ?1 AND r.id = ?2",
        )?;
        Ok(st
            .query_row((ty, id), |row| super::row_to_stored(ty.to_owned(), id.to_owned(), row, 0))
            .optional()?)
    }

    fn put(
        &mut self,
        ty: &str,
        id: &str,
        prepared: &PreparedBody,
        method: Method,
        index: &mut IndexEntries,
    ) -> Result<Written, StoreError> {
        let existing = self.current_row(ty, id)?;
        let body = prepared.stored();
        self.wrote = true;
        let version = existing.map_or(1, |(_, v, _)| v + 1);
        let (rid, seq) = match existing {
            Some((rid, _, _)) => {
                let seq = self.insert_version(rid, ty, version, method, Some(body))?;
                let mut st = self.conn.prepare_cached(
                    "UPDATE resource SET version = ?2, seq = ?3, deleted = 0 WHERE rid = ?1",
                )?;
                st.execute((rid, version, seq))?;
                self.clear_index(rid)?;
                (rid, seq)
            }
            None => {
                let seq = *self.next_seq;
                let mut st = self.conn.prepare_cached(
                    "INSERT INTO resource (type, id, version, seq, deleted) VALUES (?1, ?2, ?3, ?4, 0)",
                )?;
                st.execute((ty, id, version, seq))?;
                let rid = self.conn.last_insert_rowid();
                let seq = self.insert_version(rid, ty, version, method, Some(body))?;
                (rid, seq)
            }
        };
        self.write_index(rid, ty, index, existing.is_none());
        Ok(Written {
            version: u64::try_from(version).unwrap_or(0),
            last_updated: self.now,
            seq,
            created: existing.is_none(),
        })
    }

    fn search(&mut self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        if query.uses_full_text() {
            return Err(StoreError::Invalid(
                "_text and _content cannot be used inside a write (conditional interactions, transactions): the full-text index is written after each commit".into(),
            ));
        }
        if self.pending.may_match(query) {
            self.pending.flush(self.conn)?;
        }
        super::search::search(self.conn, query)
    }

    fn reindex(&mut self, ty: &str, id: &str, version: u64, index: &mut IndexEntries) -> Result<bool, StoreError> {
        let Some((rid, current, deleted)) = self.current_row(ty, id)? else { return Ok(false) };
        if deleted || u64::try_from(current).ok() != Some(version) {
            return Ok(false);
        }
        self.wrote = true;
        self.clear_index(rid)?;
        self.write_index(rid, ty, index, false);
        Ok(true)
    }

    fn record_inbound(&mut self, record: &NewInbound) -> Result<i64, StoreError> {
        self.wrote = true;
        super::deadletter::record(self.conn, record)
    }

    fn inbound_accepted(&mut self, source: InboundSource, control_id: &str) -> Result<bool, StoreError> {
        super::deadletter::accepted(self.conn, source, control_id)
    }

    fn savepoint(&mut self) -> Result<(), StoreError> {
        if !self.protected {
            if self.wrote {
                return Err(StoreError::Invalid("a savepoint must be taken before the job's first write".into()));
            }
            // A rollback to the savepoint forgets only the rows this job adds.
            self.conn.execute_batch("SAVEPOINT job")?;
            self.pending.savepoint();
            self.text.savepoint();
            self.protected = true;
        }
        Ok(())
    }

    fn delete(&mut self, ty: &str, id: &str) -> Result<Option<Written>, StoreError> {
        let Some((rid, version, deleted)) = self.current_row(ty, id)? else { return Ok(None) };
        if deleted {
            return Ok(None);
        }
        let version = version + 1;
        let seq = self.insert_version(rid, ty, version, Method::Delete, None)?;
        let mut st = self
            .conn
            .prepare_cached("UPDATE resource SET version = ?2, seq = ?3, deleted = 1 WHERE rid = ?1")?;
        st.execute((rid, version, seq))?;
        self.clear_index(rid)?;
        Ok(Some(Written {
            version: u64::try_from(version).unwrap_or(0),
            last_updated: self.now,
            seq,
            created: false,
        }))
    }
}
