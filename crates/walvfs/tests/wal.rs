//! The VFS against SQLite itself: commits of every size are seen by other connections at once,
//! and the WAL it leaves is complete for the default VFS.

use rusqlite::{Connection, OpenFlags};

fn open(path: &std::path::Path) -> Connection {
    weave_walvfs::register().expect("register");
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
    let c = Connection::open_with_flags_and_vfs(path, flags, weave_walvfs::NAME).expect("open");
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;").unwrap();
    c
}

/// The rows of `t` and the value of its last one.
fn count_and_last(c: &Connection) -> (i64, String) {
    c.query_row("SELECT COUNT(*), (SELECT v FROM t ORDER BY k DESC LIMIT 1) FROM t", [], |x| Ok((x.get(0)?, x.get(1)?))).unwrap()
}

fn assert_intact(c: &Connection) {
    let ok: String = c.query_row("PRAGMA integrity_check", [], |x| x.get(0)).unwrap();
    assert_eq!(ok, "ok");
}

/// Commits of one row, of a few pages and of more than the 1 MiB held at most, each read back
/// by a second connection (through the VFS) right after it commits.
#[test]
fn every_commit_is_seen_by_another_connection_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = open(&path);
    w.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL); CREATE INDEX t_v ON t (v);").unwrap();
    let r = open(&path);
    let mut expected = 0i64;
    for (i, rows) in [1usize, 3, 50, 1, 700, 2, 5000, 1].into_iter().enumerate() {
        w.execute_batch("BEGIN").unwrap();
        for j in 0..rows {
            let v = format!("{i}-{j}-{}", "x".repeat(300));
            w.execute("INSERT INTO t (v) VALUES (?1)", [v]).unwrap();
        }
        w.execute_batch("COMMIT").unwrap();
        expected += i64::try_from(rows).unwrap();
        let (n, last) = count_and_last(&r);
        assert_eq!(n, expected, "commit {i}");
        assert!(last.starts_with(&format!("{i}-{}-", rows - 1)), "commit {i}: {last}");
    }
    assert_intact(&r);
}

/// A rolled-back transaction that spilled frames, then more commits: the log stays consistent.
#[test]
fn spilled_and_rolled_back_frames_leave_a_consistent_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = open(&path);
    // A tiny cache makes a large transaction write frames before it commits.
    w.execute_batch("PRAGMA cache_size = 10; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);").unwrap();
    w.execute_batch("BEGIN").unwrap();
    for j in 0..3000 {
        w.execute("INSERT INTO t (v) VALUES (?1)", [format!("gone {j} {}", "y".repeat(200))]).unwrap();
    }
    w.execute_batch("ROLLBACK").unwrap();
    for j in 0..3000 {
        w.execute("INSERT INTO t (v) VALUES (?1)", [format!("kept {j}")]).unwrap();
    }
    let r = open(&path);
    let n: i64 = r.query_row("SELECT COUNT(*) FROM t WHERE v LIKE 'kept %'", [], |x| x.get(0)).unwrap();
    let gone: i64 = r.query_row("SELECT COUNT(*) FROM t WHERE v LIKE 'gone %'", [], |x| x.get(0)).unwrap();
    assert_eq!((n, gone), (3000, 0));
    assert_intact(&r);
}

/// The WAL left by a connection that is dropped without a checkpoint holds every commit for a
/// connection through SQLite's default VFS.
#[test]
fn the_log_is_complete_for_the_default_vfs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let w = open(&path);
        w.execute_batch("PRAGMA journal_size_limit = -1; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);").unwrap();
        for j in 0..500 {
            w.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {j}")]).unwrap();
        }
        // Keep the log on close: a reader holds it open.
        let plain = Connection::open(&path).unwrap();
        let n: i64 = plain.query_row("SELECT COUNT(*) FROM t", [], |x| x.get(0)).unwrap();
        assert_eq!(n, 500);
    }
    let plain = Connection::open(&path).unwrap();
    let n: i64 = plain.query_row("SELECT COUNT(*) FROM t", [], |x| x.get(0)).unwrap();
    assert_eq!(n, 500);
}

/// Without power-safe overwrite (`psow=0`) and with `synchronous=FULL`, SQLite pads each commit to
/// a sector boundary with copies of its last frame and syncs in the middle of the write that
/// crosses it: writes of other sizes than a frame header or a page. Each commit must still be in
/// the file, padding included, before another connection can see it.
#[test]
fn commits_padded_to_a_sector_are_seen_whole() {
    weave_walvfs::register().expect("register");
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file:{}?psow=0", dir.path().join("t.db").display());
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI;
    let w = Connection::open_with_flags_and_vfs(&uri, flags, weave_walvfs::NAME).expect("open");
    w.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;").unwrap();
    w.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);").unwrap();
    let r = Connection::open_with_flags_and_vfs(&uri, flags, weave_walvfs::NAME).expect("open");
    for j in 0..200 {
        w.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {j} {}", "z".repeat(j * 7))]).unwrap();
        let (n, last) = count_and_last(&r);
        assert_eq!(n, i64::try_from(j).unwrap() + 1);
        assert!(last.starts_with(&format!("row {j} ")), "{last}");
    }
    assert_intact(&r);
}

/// The syncer starts a commit's writeback through a read-only handle on the WAL file.
#[test]
fn writeback_starts_through_a_read_only_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db-wal");
    std::fs::write(&path, vec![7u8; 64 * 1024]).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    weave_walvfs::start_writeback(&f).expect("sync_file_range on a read-only descriptor");
    f.sync_data().unwrap();
    assert_eq!(std::fs::read(&path).unwrap().len(), 64 * 1024);
}
