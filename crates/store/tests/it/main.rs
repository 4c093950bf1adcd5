//! Integration tests of the SQLite store: versions, tombstones, history, change feed, job atomicity.

mod fulltext;

use serde_json::json;
use std::sync::Arc;
use weave_store::sqlite::{SqliteOptions, SqliteStore};
use weave_store::{
    prepare_body, write_blocking, HistoryQuery, HistoryScope, IndexEntries, Method, Store, StoreError, WriteTx,
};

fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    SqliteStore::open(&dir.path().join("t.db"), &SqliteOptions::default()).expect("open")
}

/// A store whose groups take every job that arrives while they are open, for the tests that
/// queue jobs into one group.
fn open_unsplit(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    let options = SqliteOptions { split_groups: false, ..SqliteOptions::default() };
    SqliteStore::open(&dir.path().join("t.db"), &options).expect("open")
}

fn put(store: &SqliteStore, ty: &'static str, id: &'static str, body: serde_json::Value) -> weave_store::Written {
    let mut body = body;
    let prepared = prepare_body(&mut body, id);
    write_blocking(store, move |tx: &mut dyn WriteTx| tx.put(ty, id, &prepared, Method::Put, &mut IndexEntries::default()))
    .expect("put")
}

fn history(store: &SqliteStore, scope: HistoryScope, count: usize, before: Option<i64>) -> weave_store::HistoryPage {
    store
        .history(&HistoryQuery { scope, since: None, at: None, count, before_seq: before, up_to_seq: None })
        .expect("history")
}

#[test]
fn versions_meta_and_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let w1 = put(&store, "Patient", "p1", json!({"resourceType": "Patient", "active": true}));
    assert!(w1.created);
    assert_eq!(w1.version, 1);
    let w2 = put(&store, "Patient", "p1", json!({"resourceType": "Patient", "active": false}));
    assert!(!w2.created);
    assert_eq!(w2.version, 2);
    assert!(w2.seq > w1.seq && w2.last_updated > w1.last_updated);

    let cur = store.read("Patient", "p1").unwrap().unwrap();
    let body: serde_json::Value = serde_json::from_str(cur.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["meta"]["versionId"], "2");
    assert_eq!(body["id"], "p1");
    assert_eq!(body["active"], false);
    let v1 = store.vread("Patient", "p1", 1).unwrap().unwrap();
    assert!(v1.body.as_deref().unwrap().contains("\"active\":true"));
    assert!(store.vread("Patient", "p1", 9).unwrap().is_none());

    let del = write_blocking(&*store, |tx: &mut dyn WriteTx| tx.delete("Patient", "p1")).unwrap().unwrap();
    assert_eq!(del.version, 3);
    let gone = store.read("Patient", "p1").unwrap().unwrap();
    assert!(gone.is_deleted());
    let again = write_blocking(&*store, |tx: &mut dyn WriteTx| tx.delete("Patient", "p1")).unwrap();
    assert!(again.is_none(), "deleting a deleted resource writes nothing");
    assert!(store.read("Patient", "nope").unwrap().is_none());
    assert_eq!(store.counts().unwrap(), vec![]);
}

#[test]
fn failed_job_leaves_no_trace_and_neighbours_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let failed: Result<(), StoreError> = write_blocking(&*store, |tx: &mut dyn WriteTx| {
        let mut a = json!({"resourceType": "Patient"});
        tx.put("Patient", "a", &prepare_body(&mut a, "a"), Method::Post, &mut IndexEntries::default())?;
        Err(StoreError::Conflict("abandon".into()))
    });
    assert!(failed.is_err());
    assert!(store.read("Patient", "a").unwrap().is_none());
    put(&store, "Patient", "b", json!({"resourceType": "Patient"}));
    assert!(store.read("Patient", "b").unwrap().is_some());
    let changes = store.changes(0, 10).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].id, "b");
}

#[test]
fn history_pages_newest_first_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        for _ in 0..5 {
            put(&store, "Observation", "o1", json!({"resourceType": "Observation", "status": "final"}));
        }
        put(&store, "Patient", "p", json!({"resourceType": "Patient"}));
        store.close();
    }
    let store = open(&dir);
    let first = history(&store, HistoryScope::Instance("Observation".into(), "o1".into()), 2, None);
    assert_eq!(first.total, 5);
    assert_eq!(first.entries.iter().map(|e| e.version).collect::<Vec<_>>(), vec![5, 4]);
    let second = history(&store, HistoryScope::Instance("Observation".into(), "o1".into()), 2, first.next_before_seq);
    assert_eq!(second.entries.iter().map(|e| e.version).collect::<Vec<_>>(), vec![3, 2]);
    assert_eq!(history(&store, HistoryScope::Type("Patient".into()), 10, None).total, 1);
    assert_eq!(history(&store, HistoryScope::System, 10, None).total, 6);
    // The writer continues the sequence after a restart.
    let w = put(&store, "Patient", "p", json!({"resourceType": "Patient"}));
    assert_eq!(w.seq, 7);
    assert_eq!(w.version, 2);
}

#[test]
fn concurrent_jobs_all_commit_with_distinct_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let id = format!("t{t}-{i}");
                    write_blocking(&*store, move |tx: &mut dyn WriteTx| {
                        let mut b = json!({"resourceType": "Basic", "code": {"text": "x"}});
                        tx.put("Basic", &id, &prepare_body(&mut b, &id), Method::Post, &mut IndexEntries::default())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let changes = store.changes(0, 1000).unwrap();
    assert_eq!(changes.len(), 400);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq && w[0].last_updated <= w[1].last_updated));
    assert_eq!(store.counts().unwrap(), vec![("Basic".to_string(), 400)]);
}

/// Queues `jobs` behind a job that holds the writer busy; in a store opened with `open_unsplit`
/// they then all run in one group.
fn in_one_group(store: &Arc<SqliteStore>, jobs: Vec<Box<dyn FnOnce(&mut dyn WriteTx) -> Result<(), StoreError> + Send>>) -> Vec<Result<(), StoreError>> {
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let blocker = {
        let store = Arc::clone(store);
        std::thread::spawn(move || {
            write_blocking(&*store, move |_tx: &mut dyn WriteTx| {
                let _ = release.recv();
                Ok::<(), StoreError>(())
            })
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let store = Arc::clone(store);
            let h = std::thread::spawn(move || write_blocking(&*store, job));
            std::thread::sleep(std::time::Duration::from_millis(20));
            h
        })
        .collect();
    hold.send(()).unwrap();
    // The blocker writes nothing; it shares the group, so a rollback reaches it too.
    let blocked = blocker.join().unwrap();
    assert!(matches!(blocked, Ok(()) | Err(StoreError::CommitFailed(_))), "{blocked:?}");
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn put_job(id: &'static str) -> Box<dyn FnOnce(&mut dyn WriteTx) -> Result<(), StoreError> + Send> {
    Box::new(move |tx: &mut dyn WriteTx| {
        let mut b = json!({"resourceType": "Patient"});
        tx.put("Patient", id, &prepare_body(&mut b, id), Method::Post, &mut IndexEntries::default()).map(|_| ())
    })
}

#[test]
fn a_job_failing_before_writing_leaves_its_group_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_unsplit(&dir);
    let results = in_one_group(
        &store,
        vec![
            put_job("a"),
            Box::new(|tx: &mut dyn WriteTx| {
                tx.current("Patient", "a")?;
                Err(StoreError::Conflict("checked and refused".into()))
            }),
            put_job("b"),
        ],
    );
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(results[1], Err(StoreError::Conflict(_))));
    assert!(store.read("Patient", "a").unwrap().is_some());
    assert!(store.read("Patient", "b").unwrap().is_some());
}

#[test]
fn a_job_failing_after_writing_rolls_back_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_unsplit(&dir);
    let results = in_one_group(
        &store,
        vec![
            put_job("a"),
            Box::new(|tx: &mut dyn WriteTx| {
                put_job("half")(tx)?;
                Err(StoreError::Conflict("broke the contract".into()))
            }),
        ],
    );
    assert!(matches!(results[0], Err(StoreError::CommitFailed(_))), "{:?}", results[0]);
    assert!(matches!(results[1], Err(StoreError::Conflict(_))));
    assert!(store.read("Patient", "a").unwrap().is_none());
    assert!(store.read("Patient", "half").unwrap().is_none());
    // The store goes on working, and its sequence stays dense after the rollback.
    let w = put(&store, "Patient", "c", json!({"resourceType": "Patient"}));
    assert_eq!(w.seq, 1);
}

/// A Patient whose only index row is the token `identifier` = `urn:sys|{value}`.
fn put_identified(tx: &mut dyn WriteTx, id: &str, value: &str) -> Result<(), StoreError> {
    let mut b = json!({"resourceType": "Patient"});
    let mut index = IndexEntries {
        tokens: vec![("identifier".into(), Some("urn:sys".into()), value.into(), None)],
        ..IndexEntries::default()
    };
    tx.put("Patient", id, &prepare_body(&mut b, id), Method::Post, &mut index).map(|_| ())
}

fn by_identifier(value: &str) -> weave_store::query::SearchQuery {
    let mut q = weave_store::query::SearchQuery::all("Patient");
    q.clauses.push(weave_store::query::Clause {
        any_of: vec![weave_store::query::Predicate::Token {
            param: "identifier".into(),
            system: Some(Some("urn:sys".into())),
            code: Some(value.into()),
        }],
    });
    q
}

/// The ids of the Patients the store's readers find by `identifier` = `urn:sys|{value}`.
fn found(store: &SqliteStore, value: &str) -> Vec<String> {
    ids(&store.search(&by_identifier(value)).unwrap())
}

fn ids(page: &weave_store::query::SearchPage) -> Vec<String> {
    page.matches.iter().map(|m| m.1.clone()).collect()
}

/// The writer holds a group's index rows until the group ends; every job must still see the
/// rows of the jobs before it, an update must replace rows still held, and a job rolled back to
/// its savepoint must leave none of its rows behind.
#[test]
fn index_rows_held_for_a_group_are_seen_replaced_and_rolled_back_with_their_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_unsplit(&dir);
    let results = in_one_group(
        &store,
        vec![
            Box::new(|tx: &mut dyn WriteTx| put_identified(tx, "a", "1")),
            Box::new(|tx: &mut dyn WriteTx| {
                let found = ids(&tx.search(&by_identifier("1"))?);
                if found != ["a"] {
                    return Err(StoreError::Invalid(format!("an earlier job's row is not seen: {found:?}")));
                }
                put_identified(tx, "b", "2")
            }),
            // An update of a resource whose rows are still held replaces them.
            Box::new(|tx: &mut dyn WriteTx| put_identified(tx, "b", "4")),
            Box::new(|tx: &mut dyn WriteTx| {
                tx.savepoint()?;
                put_identified(tx, "c", "3")?;
                Err(StoreError::Conflict("checked after writing".into()))
            }),
        ],
    );
    assert!(results[0].is_ok() && results[1].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(matches!(results[3], Err(StoreError::Conflict(_))));
    let search = |v: &str| found(&store, v);
    assert_eq!(search("1"), ["a"]);
    assert!(search("2").is_empty(), "the replaced row is gone");
    assert!(search("3").is_empty(), "the rolled-back job's row is gone");
    assert!(store.read("Patient", "c").unwrap().is_none());
    assert_eq!(search("4"), ["b"]);
    // The next resource takes the row id the rolled-back one had: no stray row may follow it.
    write_blocking(&*store, |tx: &mut dyn WriteTx| put_identified(tx, "e", "5")).unwrap();
    assert!(search("3").is_empty(), "a row of the rolled-back job was written after all");
    assert_eq!(search("5"), ["e"]);
}

/// By default a group holds at most half as many jobs as callers are waiting: four jobs queued
/// behind a busy writer run in two groups, so a job that breaks the contract rolls back only
/// its own half (with one group, every neighbour would get `CommitFailed`, as above).
#[test]
fn waiting_callers_are_served_in_two_halves() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let results = in_one_group(
        &store,
        vec![
            put_job("a"),
            put_job("b"),
            put_job("c"),
            Box::new(|tx: &mut dyn WriteTx| {
                put_job("half")(tx)?;
                Err(StoreError::Conflict("broke the contract".into()))
            }),
        ],
    );
    assert!(results[0].is_ok(), "the first half committed on its own: {:?}", results[0]);
    assert!(store.read("Patient", "a").unwrap().is_some());
    assert!(matches!(results[3], Err(StoreError::Conflict(_))));
    assert!(store.read("Patient", "half").unwrap().is_none());
}

/// A group rolled back by a job that broke the contract takes its held index rows with it: the
/// next resources reuse its row ids, and no row of the rolled-back writes may follow them.
#[test]
fn a_rolled_back_group_leaves_no_held_index_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_unsplit(&dir);
    let results = in_one_group(
        &store,
        vec![
            Box::new(|tx: &mut dyn WriteTx| put_identified(tx, "a", "1")),
            Box::new(|tx: &mut dyn WriteTx| {
                put_identified(tx, "x", "9")?;
                Err(StoreError::Conflict("broke the contract".into()))
            }),
        ],
    );
    assert!(matches!(results[0], Err(StoreError::CommitFailed(_))), "{:?}", results[0]);
    write_blocking(&*store, |tx: &mut dyn WriteTx| put_identified(tx, "e", "5")).unwrap();
    write_blocking(&*store, |tx: &mut dyn WriteTx| put_identified(tx, "f", "6")).unwrap();
    let search = |v: &str| found(&store, v);
    assert!(search("1").is_empty() && search("9").is_empty(), "rows of the rolled-back group were written");
    assert_eq!(search("5"), ["e"]);
    assert_eq!(search("6"), ["f"]);
}

/// A search inside a job's savepoint that must see the rows held for earlier jobs writes them
/// under the savepoint; when the job is rolled back to it, those rows are held again and
/// committed with their group, and only the job's own rows are gone.
#[test]
fn rows_written_by_a_search_inside_a_savepoint_survive_its_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_unsplit(&dir);
    let results = in_one_group(
        &store,
        vec![
            Box::new(|tx: &mut dyn WriteTx| put_identified(tx, "a", "1")),
            Box::new(|tx: &mut dyn WriteTx| {
                tx.savepoint()?;
                put_identified(tx, "c", "3")?;
                let found = ids(&tx.search(&by_identifier("1"))?);
                if found != ["a"] {
                    return Err(StoreError::Invalid(format!("an earlier job's row is not seen: {found:?}")));
                }
                Err(StoreError::Conflict("checked after writing".into()))
            }),
            Box::new(|tx: &mut dyn WriteTx| put_identified(tx, "d", "4")),
        ],
    );
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(matches!(results[1], Err(StoreError::Conflict(_))), "{:?}", results[1]);
    let search = |v: &str| found(&store, v);
    assert_eq!(search("1"), ["a"], "the earlier job's row was lost with the rollback");
    assert!(search("3").is_empty(), "the rolled-back job's row is still there");
    assert_eq!(search("4"), ["d"]);
}

/// Searches inside a group see the rows held for earlier jobs whatever they ask: an exact code
/// that no held row has (answered without writing them), a string, a code-less token and the
/// held code itself — each asked while rows it should find are held.
#[test]
fn every_kind_of_search_in_a_group_sees_the_rows_held_for_it() {
    use weave_store::query::{Predicate, StringMatch};
    let dir = tempfile::tempdir().unwrap();
    let store = open_unsplit(&dir);
    let family = Predicate::String { param: "family".into(), norm: "smith".into(), exact: None, mode: StringMatch::Exact };
    let any_code = Predicate::Token { param: "identifier".into(), system: Some(Some("urn:sys".into())), code: None };
    let results = in_one_group(
        &store,
        vec![
            Box::new(|tx: &mut dyn WriteTx| {
                let mut b = json!({"resourceType": "Patient"});
                let mut index = IndexEntries {
                    tokens: vec![("identifier".into(), Some("urn:sys".into()), "1".into(), None)],
                    strings: vec![("family".into(), "smith".into(), "Smith".into())],
                    ..IndexEntries::default()
                };
                tx.put("Patient", "a", &prepare_body(&mut b, "a"), Method::Post, &mut index).map(|_| ())
            }),
            Box::new(move |tx: &mut dyn WriteTx| {
                expect_found(tx, by_identifier("2"), &[])?;
                expect_found(tx, one_clause(family), &["a"])
            }),
            Box::new(|tx: &mut dyn WriteTx| put_identified(tx, "b", "7")),
            Box::new(move |tx: &mut dyn WriteTx| expect_found(tx, one_clause(any_code), &["a", "b"])),
            Box::new(|tx: &mut dyn WriteTx| put_identified(tx, "c", "9")),
            Box::new(|tx: &mut dyn WriteTx| expect_found(tx, by_identifier("9"), &["c"])),
        ],
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

fn one_clause(p: weave_store::query::Predicate) -> weave_store::query::SearchQuery {
    let mut q = weave_store::query::SearchQuery::all("Patient");
    q.clauses.push(weave_store::query::Clause { any_of: vec![p] });
    q
}

fn expect_found(tx: &mut dyn WriteTx, q: weave_store::query::SearchQuery, want: &[&str]) -> Result<(), StoreError> {
    let found = ids(&tx.search(&q)?);
    if found != want {
        return Err(StoreError::Invalid(format!("{q:?}: found {found:?}, not {want:?}")));
    }
    Ok(())
}

fn page_size(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_new_store_takes_4_kib_pages_and_an_existing_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    let store = SqliteStore::open(&fresh, &SqliteOptions::default()).expect("open");
    store.close();
    assert_eq!(page_size(&fresh), 4096);

    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA page_size = 2048; CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    let store = SqliteStore::open(&old, &SqliteOptions::default()).expect("open");
    put(&store, "Patient", "p1", json!({"resourceType": "Patient"}));
    store.close();
    assert_eq!(page_size(&old), 2048);
    let store = SqliteStore::open(&old, &SqliteOptions::default()).expect("reopen");
    assert!(store.read("Patient", "p1").unwrap().is_some());
}
