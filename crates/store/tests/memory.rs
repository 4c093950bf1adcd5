//! SQLite allocates through Rust's global allocator once a store has opened (its own test binary,
//! so that nothing starts SQLite before the store does).

use weave_store::sqlite::{SqliteOptions, SqliteStore};

#[test]
fn the_store_routes_sqlite_allocations_before_sqlite_starts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("m.db"), &SqliteOptions::default()).expect("open");
    // The first call (the store's) succeeded: SQLite had not started.
    assert_eq!(weave_pcache::malloc::install(), Ok(()));
    assert_eq!(weave_pcache::install(), Ok(()));
    store.close();
}
