//! The embedded SQLite backend: one writer thread with group commit, a pool of readers, WAL.
//!
//! Durability: the database runs in WAL mode. By default ([`Durability::Full`]) a commit is on
//! disk before any job in it is acknowledged — the writer commits and moves on while the
//! `syncer` thread flushes the WAL and then acknowledges — so `kill -9` (or power loss) cannot
//! lose an acknowledged write. [`Durability::Normal`] trades power-loss safety (not crash safety)
//! for speed: no flush before the acknowledgement.

mod deadletter;
mod fts;
mod history;
mod pending;
mod schema;
mod search;
mod syncer;
mod writer;

use crate::api::{Job, Store};
use crate::query::{SearchPage, SearchQuery};
use crate::{Inbound, InboundSource, NewInbound};
use crate::{Change, HistoryPage, HistoryQuery, Method, Stored, StoreError};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the WAL on every commit: safe against process crash and power loss.
    Full,
    /// No fsync per commit: safe against process crash (`kill -9`), not against power loss.
    Normal,
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub durability: Durability,
    /// Most jobs committed together in one transaction.
    pub max_batch: usize,
    /// Groups hold at most half as many jobs as callers are waiting, so that callers who wait for
    /// each reply before sending again are served in two alternating halves (see `writer`).
    /// Off, a group takes every job that arrives while it is open (up to `max_batch`).
    pub split_groups: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { durability: Durability::Full, max_batch: 256, split_groups: true }
    }
}

/// A Weave store in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    /// Jobs submitted and not yet answered (the writer sizes its groups by it).
    in_flight: Arc<writer::InFlight>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The connection the inbound log is written on: short transactions of their own, waiting
    /// for the writer thread through the busy timeout (see `deadletter`).
    inbound: Mutex<Connection>,
    /// The WAL checkpointer: dropping the sender stops it.
    checkpointer: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    /// The full-text index, in its own file, written behind the commits (see `fts`).
    fts: fts::FtsIndex,
}

/// Planner statistics, approximate (bounded rows per index) so that it takes milliseconds. The
/// per-value samples (`sqlite_stat4`) are dropped in the same transaction: with samples, every
/// statement whose plan could depend on a bound value is re-prepared at each new binding, which
/// cost the writer 9 % of its time in conditional-update lookups, for no better plans (search
/// fixes its index choices). `BEGIN IMMEDIATE` waits for the writer's lock (up to the busy
/// timeout); a plain `BEGIN` read first and then failed at once with "database is locked" whenever
/// the writer had committed in between, which under load was nearly always.
const ANALYZE: &str = "PRAGMA analysis_limit = 1000; BEGIN IMMEDIATE; ANALYZE; DELETE FROM sqlite_stat4; COMMIT;";

/// WAL frames above which the checkpointer restarts the log (≈ 32 MB).
const RESTART_FRAMES: i64 = 8_000;

/// Background maintenance: WAL checkpoints beside the writer, planner statistics, and a final
/// checkpoint at shutdown.
///
/// A PASSIVE checkpoint copies committed frames into the database without blocking anyone:
/// every 100 ms ([`QUICK`]), or every 4 s ([`SLOW`]) while bulk loading appends more than
/// [`BULK_FRAMES`] frames a round. In a large store every bulk commit dirties most pages of the
/// value indexes, so consecutive commits rewrite the same pages; copying them once per few commits
/// instead of once per commit cut the bytes written by a million-resource load by a fifth.
/// A PASSIVE checkpoint alone never lets the log start over while commits keep coming (new
/// frames arrive while it copies), so once the log holds more than [`RESTART_FRAMES`] a RESTART
/// follows: it copies the few frames left (holding off the writer only for that) and lets the
/// next commit write from the start of the file again, keeping the log short — page lookups in
/// a long log cost every reader and the writer. The RESTART gives up within milliseconds if a
/// long read holds an old snapshot, rather than stall writes behind it.
/// The writer's own autocheckpoint (at 100,000 pages) is only a backstop: at 8,000 pages a
/// large group (a million-resource store dirties ~20,000 pages a commit) made the writer copy
/// its own commit inside every COMMIT, which cost a fifth of ingest at that size.
fn checkpointer(path: &Path, stop: mpsc::Receiver<()>) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
    let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(open_err)?;
    conn.execute_batch("PRAGMA busy_timeout = 5000;").map_err(open_err)?;
    std::thread::Builder::new()
        .name("weave-store-checkpoint".into())
        .spawn(move || {
            let mut interval = QUICK;
            let mut last_frames = 0i64;
            // Planner statistics, approximate (bounded rows per index) so it takes milliseconds:
            // soon after start, then every five minutes.
            let mut next_analyze = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
                let frames = checkpoint(&conn);
                // Frames appended since the last round (the log may have started over).
                let grown = if frames >= last_frames { frames - last_frames } else { frames };
                last_frames = frames;
                interval = if grown >= BULK_FRAMES { SLOW } else { QUICK };
                if std::time::Instant::now() >= next_analyze {
                    if let Err(e) = conn.execute_batch(ANALYZE) {
                        let _ = conn.execute_batch("ROLLBACK");
                        tracing::warn!(error = %e, "ANALYZE failed");
                    }
                    next_analyze = std::time::Instant::now() + std::time::Duration::from_secs(300);
                }
            }
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        })
        .map_err(|e| StoreError::Invalid(format!("cannot start the checkpoint thread: {e}")))
}

/// The checkpointer's usual interval.
const QUICK: std::time::Duration = std::time::Duration::from_millis(100);
/// Its interval while groups of bulk size commit (see [`BULK_FRAMES`]). At 4 s rather than 2 s,
/// ingest was faster in 7 of 9 pairs (+6.5 %) and MLLP in 5 of 7 (+5 %): fewer rounds copy the same
/// hot pages again, and under a fast feed the log reaches the writer's backstop, where the writer
/// copies it between its own commits instead of a third thread competing for the two cores.
const SLOW: std::time::Duration = std::time::Duration::from_millis(4000);
/// WAL frames appended within one round that mark bulk loading (≈ 32 MB in 100 ms).
const BULK_FRAMES: i64 = 8_000;

/// One round of the checkpointer (see [`checkpointer`]); returns the frames the log held.
fn checkpoint(conn: &Connection) -> i64 {
    let frames = |mode: &str| conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get::<_, i64>(1));
    let found = frames("PASSIVE");
    match found {
        Ok(n) if n > RESTART_FRAMES => {
            let restarted = conn
                .execute_batch("PRAGMA busy_timeout = 20")
                .and_then(|()| frames("RESTART"))
                .and_then(|_| conn.execute_batch("PRAGMA busy_timeout = 5000"));
            if let Err(e) = restarted {
                let _ = conn.execute_batch("PRAGMA busy_timeout = 5000");
                tracing::debug!(error = %e, "WAL restart postponed");
            }
        }
        Ok(_) => {}
        Err(ref e) => tracing::debug!(error = %e, "background checkpoint skipped"),
    }
    found.unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and starts its writer thread.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<Arc<SqliteStore>, StoreError> {
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = open_connection(path, flags).map_err(open_err)?;
        // Only a new, empty file takes the page size; an existing store keeps its own.
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE};")).map_err(open_err)?;
        // The writer's commits never wait for the disk: with full durability the syncer
        // flushes the WAL behind them and acknowledges only then (see `syncer`).
        configure(&conn, "NORMAL").map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(256);
        schema::migrate(&conn)
            .map_err(open_err)?
            .map_err(|msg| StoreError::Invalid(format!("{}: {msg}", path.display())))?;
        let (send, recv) = mpsc::channel();
        // SQLite's own name for the file (symbolic links resolved), so the flush reaches the WAL
        // that SQLite writes and the full-text file lies beside it.
        let real = conn.path().map_or(path, Path::new);
        let syncer = match options.durability {
            Durability::Full => Some(syncer::Syncer::spawn(beside(real, "-wal"))?),
            Durability::Normal => None,
        };
        let (fts, fts_sender) = fts::FtsIndex::open(real, &conn)?;
        let in_flight = Arc::new(writer::InFlight::default());
        let limits = writer::Limits { max_batch: options.max_batch.max(1), split: options.split_groups };
        let writer = writer::spawn(conn, recv, limits, Arc::clone(&in_flight), syncer, fts_sender)?;
        let (stop, stopped) = mpsc::channel();
        let checkpointer = checkpointer(path, stopped)?;
        let inbound = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(open_err)?;
        // The inbound log's own short transactions flush at COMMIT when durability is full.
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        configure(&inbound, sync).map_err(open_err)?;
        inbound.execute_batch("PRAGMA busy_timeout = 30000;").map_err(open_err)?;
        Ok(Arc::new(SqliteStore {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            jobs: Mutex::new(Some(send)),
            in_flight,
            writer: Mutex::new(Some(writer)),
            inbound: Mutex::new(inbound),
            checkpointer: Mutex::new(Some((stop, checkpointer))),
            fts,
        }))
    }

    /// Stops accepting writes, lets queued jobs finish, and waits for the writer thread.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        // The writer has dropped its end: the index thread finishes what it was handed and ends.
        self.fts.close();
        let checkpointer = self.checkpointer.lock().ok().and_then(|mut c| c.take());
        if let Some((stop, handle)) = checkpointer {
            drop(stop);
            let _ = handle.join();
        }
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().ok().and_then(|mut pool| pool.pop());
        let conn = match pooled {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 32 {
                pool.push(conn);
            }
        }
        result
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let open_err = |source| StoreError::Open { path: self.path.display().to_string(), source };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = open_connection(&self.path, flags).map_err(open_err)?;
        conn.execute_batch(
            "PRAGMA busy_timeout = 5000; PRAGMA mmap_size = 268435456; PRAGMA cache_size = -32000;",
        )
        .map_err(open_err)?;
        conn.execute("ATTACH DATABASE ?1 AS fts", [self.fts.path().to_string_lossy()]).map_err(open_err)?;
        // Search SQL varies with the query's shape; keep many shapes prepared.
        conn.set_prepared_statement_cache_capacity(256);
        Ok(conn)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// Opens a connection through the VFS that writes each commit's WAL frames at once
/// (`weave-walvfs`), or through SQLite's default VFS if that one cannot be registered.
fn open_connection(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    // The allocator and the page cache can only be chosen before SQLite starts, so before the
    // first connection. Both installs keep their first result, so this is said once.
    static TOLD: std::sync::Once = std::sync::Once::new();
    if let (Err(code), _) | (_, Err(code)) = (weave_pcache::malloc::install(), weave_pcache::install()) {
        TOLD.call_once(|| tracing::debug!(code, "SQLite was started before the store: its default allocator and page cache stay"));
    }
    match weave_walvfs::register() {
        Ok(()) => Connection::open_with_flags_and_vfs(path, flags, weave_walvfs::NAME),
        Err(code) => {
            tracing::warn!(code, "the WAL-gathering VFS could not be registered; using SQLite's default");
            Connection::open_with_flags(path, flags)
        }
    }
}

/// A file beside the database, named after it: `<db>-wal` (SQLite's log), `<db>-fts`.
fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The page size of a new store: 4 KiB (SQLite's default), chosen by measurement.
///
/// The page size trades the two write workloads against each other. A feed's commit is small —
/// a few messages — yet each index row lands at its own place in its value index, so a commit
/// rewrites one whole leaf page per row: with 2 KiB pages an ADT message wrote 118 KB of WAL
/// instead of 174 KB and MLLP ran 8 % faster (4 of 4 pairs). But bulk ingest, whose large commits
/// share pages, ran 13 % faster with 4 KiB pages (3 of 3 pairs; the writer 8 % cheaper: fewer
/// levels and rebalances), and it is the further from its target. 8 KiB pages were 25 % slower
/// for MLLP. An existing store keeps the page size it was created with.
const PAGE_SIZE: u32 = 4096;

/// Connection settings (`sync`: the `synchronous` level). The WAL file is kept at up to 1 GiB between restarts
/// (`journal_size_limit`): a commit to a large store writes tens of megabytes of frames, and
/// when the file was cut back to 64 MiB after every restart, each commit grew it again — new
/// file pages, which the kernel must allocate and zero around SQLite's unaligned frames
/// (4,096 + 24 bytes); reusing the file's pages made million-resource ingest ~9 % faster.
fn configure(conn: &Connection, sync: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF;
         PRAGMA wal_autocheckpoint = 100000; PRAGMA journal_size_limit = 1073741824;"
    ))
}

pub(crate) fn row_to_stored(
    resource_type: String,
    id: String,
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Stored> {
    let version = u64::try_from(row.get::<_, i64>(first)?).unwrap_or(0);
    let last_updated: i64 = row.get(first + 2)?;
    let body = match row.get_ref(first + 4)? {
        rusqlite::types::ValueRef::Null => None,
        stored => Some(crate::body::decode(stored, version, last_updated).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(first + 4, rusqlite::types::Type::Blob, Box::new(e))
        })?),
    };
    Ok(Stored {
        resource_type,
        id,
        version,
        seq: row.get(first + 1)?,
        last_updated,
        method: Method::from_code(row.get(first + 3)?),
        body: body.map(Arc::from),
    })
}

impl Store for SqliteStore {
    fn read(&self, resource_type: &str, id: &str) -> Result<Option<Stored>, StoreError> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT v.version, v.seq, v.last_updated, v.method, v.body FROM resource r
                 JOIN version v ON v.seq = r.seq WHERE r.type = ?1 AND r.id = ?2",
            )?;
            let found = st
                .query_row((resource_type, id), |row| {
                    row_to_stored(resource_type.to_owned(), id.to_owned(), row, 0)
                })
                .optional()?;
            Ok(found)
        })
    }

    fn vread(&self, resource_type: &str, id: &str, version: u64) -> Result<Option<Stored>, StoreError> {
        let Ok(version) = i64::try_from(version) else { return Ok(None) };
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT v.version, v.seq, v.last_updated, v.method, v.body FROM resource r
                 JOIN version v ON v.rid = r.rid AND v.version = ?3 WHERE r.type = ?1 AND r.id = ?2",
            )?;
            let found = st
                .query_row((resource_type, id, version), |row| {
                    row_to_stored(resource_type.to_owned(), id.to_owned(), row, 0)
                })
                .optional()?;
            Ok(found)
        })
    }

    fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        self.with_reader(|c| history::history(c, query))
    }

    fn changes(&self, after_seq: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.with_reader(|c| history::changes(c, after_seq, limit))
    }

    fn last_seq(&self) -> Result<i64, StoreError> {
        self.with_reader(|c| {
            Ok(c.query_row("SELECT COALESCE(MAX(seq), 0) FROM version", [], |r| r.get(0))?)
        })
    }

    fn last_seq_of(&self, resource_type: &str) -> Result<i64, StoreError> {
        self.with_reader(|c| {
            // One probe of `version_type (type, seq)`.
            let mut st = c.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM version WHERE type = ?1")?;
            Ok(st.query_row([resource_type], |r| r.get(0))?)
        })
    }

    fn counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT type, COUNT(*) FROM resource WHERE deleted = 0 GROUP BY type ORDER BY type",
            )?;
            let rows = st.query_map([], |r| {
                let n: i64 = r.get(1)?;
                Ok((r.get::<_, String>(0)?, u64::try_from(n).unwrap_or(0)))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        if query.uses_full_text() {
            self.fts.caught_up()?;
        }
        self.with_reader(|c| search::search(c, query))
    }

    fn read_rows(&self, rids: &[i64]) -> Result<Vec<Stored>, StoreError> {
        self.with_reader(|c| read_rows(c, rids))
    }

    fn include_rows(&self, rids: &[i64], source_type: &str, params: &[String], target_type: Option<&str>) -> Result<Vec<i64>, StoreError> {
        self.with_reader(|c| search::include_rows(c, rids, source_type, params, target_type))
    }

    fn revinclude_rows(&self, rids: &[i64], source_type: &str, params: &[String]) -> Result<Vec<i64>, StoreError> {
        self.with_reader(|c| search::revinclude_rows(c, rids, source_type, params))
    }

    fn compartment_rows(
        &self,
        target_type: &str,
        target_id: &str,
        keys: &[String],
        since: Option<i64>,
        after_rid: Option<i64>,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError> {
        self.with_reader(|c| search::compartment_rows(c, target_type, target_id, keys, since, after_rid, limit))
    }

    fn referenced_rows(&self, rids: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.with_reader(|c| search::referenced_rows(c, rids))
    }

    fn row_of(&self, resource_type: &str, id: &str) -> Result<Option<i64>, StoreError> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached("SELECT rid FROM resource WHERE type = ?1 AND id = ?2 AND deleted = 0")?;
            Ok(st.query_row((resource_type, id), |r| r.get(0)).optional()?)
        })
    }

    fn record_inbound(&self, record: &NewInbound) -> Result<i64, StoreError> {
        let conn = self.inbound.lock().map_err(|_| StoreError::Closed)?;
        deadletter::record(&conn, record)
    }

    fn inbound_accepted(&self, source: InboundSource, control_id: &str) -> Result<bool, StoreError> {
        self.with_reader(|c| deadletter::accepted(c, source, control_id))
    }

    fn dead_letters(&self, after_id: i64, limit: usize) -> Result<Vec<Inbound>, StoreError> {
        self.with_reader(|c| deadletter::dead_letters(c, after_id, limit))
    }

    fn inbound(&self, id: i64) -> Result<Option<Inbound>, StoreError> {
        self.with_reader(|c| deadletter::get(c, id))
    }

    fn mark_replayed(&self, id: i64) -> Result<bool, StoreError> {
        let conn = self.inbound.lock().map_err(|_| StoreError::Closed)?;
        deadletter::mark_replayed(&conn, id)
    }

    fn purge_inbound(&self, before: i64) -> Result<u64, StoreError> {
        let conn = self.inbound.lock().map_err(|_| StoreError::Closed)?;
        deadletter::purge(&conn, before)
    }

    fn explain(&self, query: &SearchQuery) -> Result<Vec<String>, StoreError> {
        if query.uses_full_text() {
            self.fts.caught_up()?;
        }
        self.with_reader(|c| search::explain(c, query))
    }

    fn submit(&self, job: Job) -> Result<(), StoreError> {
        let jobs = self.jobs.lock().map_err(|_| StoreError::Closed)?;
        let sender = jobs.as_ref().ok_or(StoreError::Closed)?;
        sender.send(self.in_flight.track(job)).map_err(|_| StoreError::Closed)
    }
}

/// Current versions by row id, in the order asked; deleted or missing rows are left out.
pub(crate) fn read_rows(c: &Connection, rids: &[i64]) -> Result<Vec<Stored>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT r.type, r.id, v.version, v.seq, v.last_updated, v.method, v.body FROM resource r
         JOIN version v ON v.seq = r.seq WHERE r.rid = ?1 AND r.deleted = 0",
    )?;
    let mut out = Vec::with_capacity(rids.len());
    for rid in rids {
        if let Some(s) = st.query_row([rid], |row| row_to_stored(row.get(0)?, row.get(1)?, row, 2)).optional()? {
            out.push(s);
        }
    }
    Ok(out)
}
