//! The wrapped page cache under a real SQLite workload: random-key index inserts (rebalances
//! that swap pages through the pending-byte page), commits, and a rolled-back transaction that
//! grew the file.

use rusqlite::Connection;

#[test]
fn a_workload_under_the_wrapper_stays_intact_and_skips_the_scans() {
    weave_pcache::install().expect("installed before SQLite starts in this test binary");
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("t.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA cache_size = -65536;
         CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL); CREATE INDEX t_k ON t (k);",
    )
    .unwrap();
    let before = weave_pcache::skipped_truncations();
    let key = |i: u64| format!("{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for group in 0..200u64 {
        let tx = conn.unchecked_transaction().unwrap();
        for i in 0..50 {
            tx.execute("INSERT INTO t (k) VALUES (?1)", [key(group * 50 + i)]).unwrap();
        }
        tx.commit().unwrap();
    }
    assert!(weave_pcache::skipped_truncations() > before, "commits after rebalances found nothing to drop");
    // A transaction that grows the file, rolled back: its pages past the end must go.
    let pages = |c: &Connection| c.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0)).unwrap();
    let size = pages(&conn);
    conn.execute_batch("BEGIN").unwrap();
    for i in 0..5_000u64 {
        conn.execute("INSERT INTO t (k) VALUES (?1)", [format!("rolled back {i} {}", "x".repeat(200))]).unwrap();
    }
    assert!(pages(&conn) > size);
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(pages(&conn), size);
    for i in 0..2_000u64 {
        conn.execute("INSERT INTO t (k) VALUES (?1)", [format!("kept {i}")]).unwrap();
    }
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let (n, gone): (i64, i64) = conn
        .query_row("SELECT COUNT(*), COUNT(*) FILTER (WHERE k LIKE 'rolled back%') FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((n, gone), (12_000, 0));
    let first: String = conn.query_row("SELECT k FROM t ORDER BY k LIMIT 1", [], |r| r.get(0)).unwrap();
    let smallest = (0..10_000).map(key).min().unwrap();
    assert_eq!(first, smallest);
}

/// `.cargo/config.toml` builds the bundled SQLite without `SQLITE_ENABLE_MEMORY_MANAGEMENT`
/// (whose single page-cache group put every page fetch of every connection behind one global
/// mutex) and without memory statistics (a global mutex on every allocation).
#[test]
fn sqlite_is_built_with_a_page_cache_per_connection_and_no_memory_statistics() {
    weave_pcache::install().expect("installed before SQLite starts in this test binary");
    let conn = Connection::open_in_memory().unwrap();
    let mut st = conn.prepare("PRAGMA compile_options").unwrap();
    let options: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
}
