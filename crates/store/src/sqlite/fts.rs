//! The full-text index (`_text`, `_content`): an FTS5 table in a file of its own beside the store
//! (`<store>-fts`), written by a thread of its own behind the writer's commits.
//!
//! Tokenizing and indexing every string of every resource cost a sixth of ingest's CPU, all of it
//! on the writer thread, the one stage that cannot run in parallel. A second SQLite file has its
//! own write lock, so this thread indexes one group while the writer commits the next.
//!
//! Invariants:
//! - The index is derived: it holds only committed changes, and `fts_state.seq` tells through
//!   which change-feed sequence number it is complete.
//! - The writer hands each committed group's changes over before it acknowledges the group
//!   ([`FtsSender::submit`]); a search that reads full text first waits until every change
//!   submitted before it is indexed ([`FtsIndex::caught_up`]), so a client always finds what it
//!   wrote.
//! - At open, the changes after `fts_state.seq` (lost with a crash, or all of them for a new or
//!   deleted index file) are indexed again from the stored bodies before the store serves.
//!   An index that claims more than the store holds (the store lost commits that the index kept,
//!   with the power) is rebuilt whole.
//! - The writer's own transaction cannot read full text: its group is indexed only after it
//!   commits. Write jobs get an error for such a search (`_text`/`_content` in a conditional).

use super::{beside, configure, open_connection};
use crate::{FullText, StoreError};
use rusqlite::{Connection, OpenFlags};
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

const DDL: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS idx_fts USING fts5(
    narrative, content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS fts_state (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT OR IGNORE INTO fts_state (id, seq) VALUES (1, 0);";

/// Groups of changes the writer may hand over before it waits for the index to catch up.
const QUEUE: usize = 64;
/// Changes indexed in one transaction at most (more groups are taken while fewer are indexed).
const BATCH: usize = 4096;
/// How long the index thread gathers groups before it writes them.
const GATHER: Duration = Duration::from_millis(20);
/// How long a search waits for the index before it gives up.
const WAIT: Duration = Duration::from_secs(60);

/// One resource's text after a write: `None` when it has none now (deleted, or no words);
/// `fresh` when the resource is new, so that no earlier text of it can be in the index.
#[derive(Debug)]
pub(crate) struct Change {
    pub rid: i64,
    pub text: Option<FullText>,
    pub fresh: bool,
}

/// The running group's changes, in order, with the running job's savepoint.
#[derive(Default)]
pub(crate) struct GroupText {
    changes: Vec<Change>,
    mark: Option<usize>,
}

impl GroupText {
    pub(crate) fn push(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// The running job takes its savepoint.
    pub(crate) fn savepoint(&mut self) {
        self.mark = Some(self.changes.len());
    }

    /// The running job's savepoint is released: its changes stay with the group's.
    pub(crate) fn release(&mut self) {
        self.mark = None;
    }

    /// The running job is rolled back to its savepoint: its changes are forgotten.
    pub(crate) fn rollback_to_savepoint(&mut self) {
        if let Some(mark) = self.mark.take() {
            self.changes.truncate(mark);
        }
    }

    /// The group is rolled back.
    pub(crate) fn clear(&mut self) {
        self.changes.clear();
        self.mark = None;
    }

    /// The group committed: its changes, for [`FtsSender::submit`].
    pub(crate) fn take(&mut self) -> Vec<Change> {
        self.mark = None;
        std::mem::take(&mut self.changes)
    }
}

/// A committed group's changes, through the sequence number `through`.
struct Batch {
    changes: Vec<Change>,
    through: i64,
}

/// How far the index is: what was handed over, what is indexed, and a failure that stopped it.
#[derive(Default)]
struct Progress {
    submitted: AtomicI64,
    indexed: Mutex<(i64, Option<String>)>,
    moved: Condvar,
}

impl Progress {
    fn indexed(&self, seq: i64) {
        let mut s = self.indexed.lock().unwrap_or_else(PoisonError::into_inner);
        s.0 = s.0.max(seq);
        self.moved.notify_all();
    }

    fn failed(&self, why: String) {
        let mut s = self.indexed.lock().unwrap_or_else(PoisonError::into_inner);
        s.1 = Some(why);
        self.moved.notify_all();
    }
}

/// The writer's end: hands committed groups to the index thread.
pub(crate) struct FtsSender {
    send: mpsc::SyncSender<Batch>,
    progress: Arc<Progress>,
    /// The index thread, woken when the queue is full (it may be sleeping through its window).
    thread: std::thread::Thread,
}

impl FtsSender {
    /// Hands over a committed group's changes (through sequence number `through`). Called before
    /// the group is acknowledged; blocks while the index is [`QUEUE`] groups behind.
    pub(crate) fn submit(&self, changes: Vec<Change>, through: i64) {
        self.progress.submitted.fetch_max(through, Ordering::AcqRel);
        let sent = match self.send.try_send(Batch { changes, through }) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(batch)) => {
                self.thread.unpark();
                self.send.send(batch).map_err(drop)
            }
            Err(mpsc::TrySendError::Disconnected(_)) => Err(()),
        };
        if sent.is_err() {
            self.progress.failed("the full-text index thread stopped".into());
        }
    }
}

/// The store's end: the index thread, and waiting for it.
pub(crate) struct FtsIndex {
    path: PathBuf,
    /// Wakes the thread when a search waits (an empty batch).
    poke: Mutex<Option<mpsc::SyncSender<Batch>>>,
    progress: Arc<Progress>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl FtsIndex {
    /// Opens (creating or catching up as needed) the index of the store whose writer connection
    /// is `main`, and starts its thread. Returns the writer's end too.
    pub(crate) fn open(db: &Path, main: &Connection) -> Result<(FtsIndex, FtsSender), StoreError> {
        let path = beside(db, "-fts");
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        let conn = open_connection(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(open_err)?;
        // Derived data: commits need not reach the disk (a lost one is indexed again at open).
        // No checkpointer thread watches this file: the thread's own commits checkpoint it
        // every 2,000 pages, and the log is cut back to 64 MiB.
        configure(&conn, "NORMAL").map_err(open_err)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 2000; PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -65536;")
            .map_err(open_err)?;
        conn.execute_batch(DDL).map_err(open_err)?;
        let indexed = catch_up(&conn, main)?;
        let progress = Arc::new(Progress::default());
        progress.submitted.store(indexed, Ordering::Release);
        progress.indexed(indexed);
        let (send, recv) = mpsc::sync_channel(QUEUE);
        let p = Arc::clone(&progress);
        let thread = std::thread::Builder::new()
            .name("weave-store-fts".into())
            .spawn(move || run(&conn, &recv, &p))
            .map_err(|e| StoreError::Invalid(format!("cannot start the full-text index thread: {e}")))?;
        let sender = FtsSender { send: send.clone(), progress: Arc::clone(&progress), thread: thread.thread().clone() };
        Ok((FtsIndex { path, poke: Mutex::new(Some(send)), progress, thread: Mutex::new(Some(thread)) }, sender))
    }

    /// The index file (readers attach it as `fts`).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Waits until every change handed over so far is indexed.
    pub(crate) fn caught_up(&self) -> Result<(), StoreError> {
        let target = self.progress.submitted.load(Ordering::Acquire);
        let s = self.progress.indexed.lock().unwrap_or_else(PoisonError::into_inner);
        if s.0 >= target {
            return Ok(());
        }
        drop(s);
        // A full queue means the thread is busy writing, not gathering.
        if let Some(poke) = self.poke.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            let _ = poke.try_send(Batch { changes: Vec::new(), through: 0 });
        }
        // The thread may be sleeping through its gathering window.
        if let Some(t) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            t.thread().unpark();
        }
        let s = self.progress.indexed.lock().unwrap_or_else(PoisonError::into_inner);
        let (s, timeout) = self
            .progress
            .moved
            .wait_timeout_while(s, WAIT, |s| s.0 < target && s.1.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        match (&s.1, timeout.timed_out()) {
            (Some(why), _) => Err(StoreError::Invalid(format!("full-text search is unavailable: {why}"))),
            (None, true) => Err(StoreError::Invalid("full-text search is unavailable: the index is more than a minute behind".into())),
            (None, false) => Ok(()),
        }
    }

    /// Waits for the thread, which ends once the writer has dropped its end and this one is
    /// dropped.
    pub(crate) fn close(&self) {
        self.poke.lock().unwrap_or_else(PoisonError::into_inner).take();
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn run(conn: &Connection, recv: &mpsc::Receiver<Batch>, progress: &Progress) {
    while let Ok(first) = recv.recv() {
        // Groups are gathered for up to GATHER (or BATCH changes): one transaction for many
        // small groups. A search that waits sends an empty batch (`through` 0) and unparks the
        // thread to end it early. The thread sleeps through the window instead of waking for each
        // group (a feed commits a thousand small groups a second: each wake-up took a core from
        // the writer or a request for a moment); a group sent meanwhile wakes no one.
        let deadline = std::time::Instant::now() + GATHER;
        let mut poked = first.through == 0;
        let mut batches = vec![first];
        let mut n = batches[0].changes.len();
        loop {
            while let Ok(b) = recv.try_recv() {
                n += b.changes.len();
                poked |= b.through == 0;
                batches.push(b);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if n >= BATCH || poked || left.is_zero() {
                break;
            }
            std::thread::park_timeout(left);
        }
        let through = batches.iter().map(|b| b.through).max().unwrap_or(0);
        if n == 0 {
            // Groups that wrote no resource: nothing to index (a restart re-reads no text for them).
            progress.indexed(through);
            continue;
        }
        match index(conn, batches.iter().flat_map(|b| &b.changes), Some(through)) {
            Ok(()) => progress.indexed(through),
            Err(e) => {
                // What is not indexed now is indexed again from the store at the next open.
                tracing::error!(error = %e, "the full-text index could not be written; full-text search stops until restart");
                progress.failed(e.to_string());
                return;
            }
        }
    }
}

/// Indexes changes (the last one of each resource counts) and records `through` if given, in one
/// transaction.
fn index<'a>(conn: &Connection, changes: impl Iterator<Item = &'a Change>, through: Option<i64>) -> Result<(), StoreError> {
    let mut last: FxHashMap<i64, &Change> = FxHashMap::default();
    let mut stale = rustc_hash::FxHashSet::default();
    for c in changes {
        if !c.fresh {
            stale.insert(c.rid);
        }
        last.insert(c.rid, c);
    }
    let mut rids: Vec<i64> = last.keys().copied().collect();
    rids.sort_unstable();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let written = (|| {
        let mut delete = conn.prepare_cached("DELETE FROM idx_fts WHERE rowid = ?1")?;
        let mut insert = conn.prepare_cached("INSERT INTO idx_fts (rowid, narrative, content) VALUES (?1, ?2, ?3)")?;
        for rid in rids {
            if stale.contains(&rid) {
                delete.execute([rid])?;
            }
            if let Some(t) = last.get(&rid).and_then(|c| c.text.as_ref()) {
                insert.execute((rid, &t.narrative, &t.content))?;
            }
        }
        if let Some(seq) = through {
            conn.execute("UPDATE fts_state SET seq = ?1 WHERE id = 1", [seq])?;
        }
        Ok::<_, StoreError>(())
    })();
    match written {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Indexes the store's changes after the index's `fts_state.seq` from their current bodies, a
/// [`BATCH`] at a time; returns the sequence number the index is now complete through.
fn catch_up(conn: &Connection, main: &Connection) -> Result<i64, StoreError> {
    let done: i64 = conn.query_row("SELECT seq FROM fts_state WHERE id = 1", [], |r| r.get(0))?;
    let last: i64 = main.query_row("SELECT COALESCE(MAX(seq), 0) FROM version", [], |r| r.get(0))?;
    if done == last {
        return Ok(done);
    }
    let rebuild = done == 0 || done > last;
    if rebuild {
        if done > last {
            tracing::warn!(index = done, store = last, "the full-text index is ahead of the store (it kept commits the store lost); rebuilding it");
        }
        // Also what an interrupted rebuild left: every resource is then indexed afresh.
        conn.execute_batch("INSERT INTO idx_fts (idx_fts) VALUES ('delete-all'); UPDATE fts_state SET seq = 0 WHERE id = 1;")?;
    }
    let from = if rebuild { 0 } else { done };
    tracing::info!(from, to = last, "indexing the full text of the changes the index does not hold");
    let mut st = main.prepare(
        "SELECT r.rid, r.deleted, v.version, v.last_updated, v.body FROM resource r JOIN version v ON v.seq = r.seq
         WHERE r.rid IN (SELECT DISTINCT rid FROM version WHERE seq > ?1)",
    )?;
    let mut rows = st.query([from])?;
    let mut changes = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next()? {
        let rid: i64 = row.get(0)?;
        let text = if row.get::<_, i64>(1)? != 0 {
            None
        } else {
            let version = u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0);
            let body = crate::body::decode(row.get_ref(4)?, version, row.get(3)?)?;
            let value: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("resource row {rid}: {e}")))?;
            crate::fulltext::full_text(&value)
        };
        changes.push(Change { rid, text, fresh: rebuild });
        if changes.len() == BATCH {
            index(conn, changes.iter(), None)?;
            changes.clear();
        }
    }
    index(conn, changes.iter(), Some(last))?;
    Ok(last)
}
