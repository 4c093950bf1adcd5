//! The full-text index in its own file: found as soon as acknowledged, caught up and rebuilt at
//! open, refused inside writes, and rolled back with its jobs.

use super::{in_one_group, open, open_unsplit};
use serde_json::json;
use weave_store::query::{Clause, Predicate, SearchQuery};
use weave_store::{prepare_body, write_blocking, IndexEntries, Method, Store, StoreError, WriteTx};

/// A Basic with `words` as its code's text, indexed as the server indexes it.
fn put_text(tx: &mut dyn WriteTx, id: &str, words: &str) -> Result<(), StoreError> {
    let mut b = json!({"resourceType": "Basic", "code": {"text": words}});
    let mut index = IndexEntries { text: weave_store::fulltext::full_text(&b), ..IndexEntries::default() };
    tx.put("Basic", id, &prepare_body(&mut b, id), Method::Put, &mut index).map(|_| ())
}

fn write_text(store: &weave_store::sqlite::SqliteStore, id: &str, words: &str) {
    let (id, words) = (id.to_owned(), words.to_owned());
    write_blocking(store, move |tx: &mut dyn WriteTx| put_text(tx, &id, &words)).expect("write");
}

fn content(word: &str) -> SearchQuery {
    let mut q = SearchQuery::all("Basic");
    q.clauses.push(Clause { any_of: vec![Predicate::FullText { narrative: false, words: vec![word.to_owned()] }] });
    q
}

fn found(store: &weave_store::sqlite::SqliteStore, word: &str) -> Vec<String> {
    super::ids(&store.search(&content(word)).expect("search"))
}

/// The index file of the store at `t.db`, opened as it is.
fn index_file(dir: &tempfile::TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.path().join("t.db-fts")).expect("index file")
}

fn remove_index_file(dir: &tempfile::TempDir) {
    for f in ["t.db-fts", "t.db-fts-wal", "t.db-fts-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
}

/// A store at `t.db` with these `(id, words)` written, closed.
fn written_and_closed(dir: &tempfile::TempDir, texts: &[(&str, &str)]) {
    let store = open(dir);
    for (id, words) in texts {
        write_text(&store, id, words);
    }
    store.close();
}

fn rid(dir: &tempfile::TempDir, id: &str) -> i64 {
    let c = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    c.query_row("SELECT rid FROM resource WHERE type = 'Basic' AND id = ?1", [id], |r| r.get(0)).unwrap()
}

#[test]
fn a_write_is_found_by_its_words_as_soon_as_it_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    for i in 0..200 {
        let (id, word) = (format!("b{i}"), format!("word{i}"));
        write_text(&store, &id, &word);
        assert_eq!(found(&store, &word), vec![id], "write {i}");
    }
    write_text(&store, "b7", "other");
    assert!(found(&store, "word7").is_empty(), "an update replaces the words");
    write_blocking(&*store, |tx: &mut dyn WriteTx| tx.delete("Basic", "b8").map(|_| ())).unwrap();
    assert!(found(&store, "word8").is_empty(), "a deleted resource has no words");
}

#[test]
fn a_lagging_index_catches_up_at_open() {
    let dir = tempfile::tempdir().unwrap();
    written_and_closed(&dir, &[("a", "alpha"), ("b", "bravo"), ("a", "charlie")]);
    // As if the index had kept only the first change: `a` with its first words, `b` absent.
    let (a, b) = (rid(&dir, "a"), rid(&dir, "b"));
    let idx = index_file(&dir);
    idx.execute_batch(&format!(
        "DELETE FROM idx_fts WHERE rowid IN ({a}, {b}); INSERT INTO idx_fts (rowid, narrative, content) VALUES ({a}, '', 'alpha');
         UPDATE fts_state SET seq = 1;"
    ))
    .unwrap();
    drop(idx);
    let store = open(&dir);
    assert!(found(&store, "alpha").is_empty(), "the stale words are gone");
    assert_eq!(found(&store, "charlie"), vec!["a"]);
    assert_eq!(found(&store, "bravo"), vec!["b"]);
}

#[test]
fn a_missing_index_is_rebuilt_and_one_ahead_of_the_store_too() {
    let dir = tempfile::tempdir().unwrap();
    written_and_closed(&dir, &[("a", "alpha"), ("b", "bravo")]);
    remove_index_file(&dir);
    let store = open(&dir);
    assert_eq!(found(&store, "bravo"), vec!["b"], "rebuilt from the stored bodies' words");
    store.close();
    drop(store);
    // An index that holds a change the store does not (the store lost it with the power).
    let idx = index_file(&dir);
    let b = rid(&dir, "b");
    idx.execute_batch(&format!("INSERT INTO idx_fts (rowid, narrative, content) VALUES ({b}, '', 'ghost'); UPDATE fts_state SET seq = 1000;")).unwrap();
    drop(idx);
    let store = open(&dir);
    write_text(&store, "c", "ghost");
    assert_eq!(found(&store, "ghost"), vec!["c"], "only what the store holds");
    assert_eq!(found(&store, "alpha"), vec!["a"]);
}

#[test]
fn full_text_cannot_be_searched_inside_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let r = write_blocking(&*store, |tx: &mut dyn WriteTx| tx.search(&content("alpha")).map(|_| ()));
    assert!(matches!(r, Err(StoreError::Invalid(ref m)) if m.contains("_content")), "{r:?}");
}

#[test]
fn a_rolled_back_job_leaves_no_words() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_unsplit(&dir);
    let results = in_one_group(
        &store,
        vec![
            Box::new(|tx: &mut dyn WriteTx| put_text(tx, "kept", "echo")),
            Box::new(|tx: &mut dyn WriteTx| {
                tx.savepoint()?;
                put_text(tx, "undone", "delta")?;
                Err(StoreError::Invalid("fails after writing".into()))
            }),
        ],
    );
    assert!(results[0].is_ok() && results[1].is_err(), "{results:?}");
    assert_eq!(found(&store, "echo"), vec!["kept"]);
    // The next resource takes the row id the rolled-back one had: it must not inherit its words.
    write_text(&store, "later", "golf");
    assert!(found(&store, "delta").is_empty());
    assert_eq!(found(&store, "golf"), vec!["later"]);
}

#[test]
fn a_schema_8_store_moves_its_full_text_out() {
    let dir = tempfile::tempdir().unwrap();
    written_and_closed(&dir, &[("a", "alpha")]);
    let main = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    main.execute_batch(
        "CREATE VIRTUAL TABLE idx_fts USING fts5(narrative, content, content = '', contentless_delete = 1); PRAGMA user_version = 8;",
    )
    .unwrap();
    drop(main);
    remove_index_file(&dir);
    let store = open(&dir);
    assert_eq!(found(&store, "alpha"), vec!["a"]);
    let main = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    let left: i64 = main.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'idx_fts'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "the old index is dropped");
}
