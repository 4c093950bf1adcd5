//! The SQLite schema and its version.
//!
//! `resource` holds one row per logical resource (its current version), `version` every version
//! ever written: its `seq` primary key is the change feed. The `idx_*` tables hold the search
//! index rows of each resource's current version, keyed by the resource's internal `rid`.
//! `inbound` (in `deadletter`) logs every message or file received from a feed.

use rusqlite::Connection;

/// Bumped whenever the schema changes; a store with another version is refused.
pub(crate) const SCHEMA_VERSION: i64 = 9;

/// The index tables and their value columns, in one place for writes and deletes.
pub(crate) const INDEX_TABLES: [&str; 8] = [
    "idx_present",
    "idx_string",
    "idx_token",
    "idx_reference",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_uri",
];

const DDL: &str = "
CREATE TABLE IF NOT EXISTS resource (
    rid INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (type, id)
);
CREATE TABLE IF NOT EXISTS version (
    seq INTEGER PRIMARY KEY,
    rid INTEGER NOT NULL,
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    method INTEGER NOT NULL,
    body BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS version_rid ON version (rid, version);
CREATE INDEX IF NOT EXISTS version_type ON version (type, seq);
CREATE INDEX IF NOT EXISTS version_time ON version (last_updated);

CREATE TABLE IF NOT EXISTS idx_present (rid INTEGER NOT NULL, param INTEGER NOT NULL, PRIMARY KEY (rid, param)) WITHOUT ROWID;
";


/// A value table of the search index: `(name, value columns, columns of its value index)`.
///
/// Each is a `WITHOUT ROWID` table keyed `(rid, param, n)` — `n` numbers a resource's rows of the
/// table — so a resource's rows sit together (written by appending, deleted and probed by that
/// key) and there is one more b-tree only, the value index, whose entries carry the key and so
/// answer `rid` without a table lookup. (Schema 5 kept a rowid table and two indexes: three
/// b-tree inserts a row, and a table lookup for every value-index match.)
const VALUE_TABLES: [(&str, &str, &str); 7] = [
    ("idx_string", "norm TEXT NOT NULL, exact TEXT NOT NULL", "param, norm"),
    ("idx_token", "system TEXT, code TEXT NOT NULL, text TEXT", "param, code, system"),
    ("idx_reference", "target_type TEXT, target_id TEXT, url TEXT", "param, target_id, target_type"),
    ("idx_date", "lo INTEGER NOT NULL, hi INTEGER NOT NULL, wide INTEGER NOT NULL", "param, wide, lo"),
    ("idx_number", "value REAL NOT NULL", "param, value"),
    ("idx_quantity", "value REAL NOT NULL, system TEXT, code TEXT", "param, value"),
    ("idx_uri", "uri TEXT NOT NULL", "param, uri"),
];

/// The DDL of one value table, created under `name`.
fn value_table_ddl(name: &str, columns: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (rid INTEGER NOT NULL, param INTEGER NOT NULL, n INTEGER NOT NULL, {columns},
             PRIMARY KEY (rid, param, n)) WITHOUT ROWID;"
    )
}

/// The DDL of a value table's value index.
fn value_index_ddl(table: &str, index: &str) -> String {
    format!("CREATE INDEX IF NOT EXISTS {table}_v ON {table} ({index});")
}

/// The value columns' names (`norm, exact` from `norm TEXT NOT NULL, exact TEXT NOT NULL`).
fn column_names(columns: &str) -> String {
    columns.split(',').filter_map(|c| c.split_whitespace().next()).collect::<Vec<_>>().join(", ")
}

/// Schema 5 → 6: every value table rebuilt keyed by `(rid, param, n)`, in one transaction
/// (a table already in the new shape is left as it is).
fn upgrade_5_to_6(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = String::from("BEGIN IMMEDIATE;");
    for (table, columns, index) in VALUE_TABLES {
        let keyed: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = 'n'"), [], |r| r.get(0))?;
        if keyed > 0 {
            continue;
        }
        let names = column_names(columns);
        let ddl = value_table_ddl(&format!("{table}_v6"), columns);
        sql.push_str(&format!(
            "{ddl}
             INSERT INTO {table}_v6 (rid, param, n, {names})
                 SELECT rid, param, row_number() OVER (PARTITION BY rid ORDER BY rowid) - 1, {names} FROM {table};
             DROP TABLE {table};
             ALTER TABLE {table}_v6 RENAME TO {table};
             {}",
            value_index_ddl(table, index)
        ));
    }
    sql.push_str("PRAGMA user_version = 6; COMMIT;");
    conn.execute_batch(&sql)
}

fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(DDL)?;
    for (table, columns, index) in VALUE_TABLES {
        conn.execute_batch(&value_table_ddl(table, columns))?;
        conn.execute_batch(&value_index_ddl(table, index))?;
    }
    conn.execute_batch(super::deadletter::DDL)
}

/// Creates the schema on an empty database, upgrades an older one, or refuses an unknown one.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<Result<(), String>> {
    let mut found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found == 0 {
        create(conn)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        return Ok(Ok(()));
    }
    if found == 4 {
        // Version 5 only adds the inbound log.
        conn.execute_batch(super::deadletter::DDL)?;
        conn.execute_batch("PRAGMA user_version = 5")?;
        found = 5;
    }
    if found == 5 {
        tracing::info!("upgrading the store's search index tables to schema 6 (once)");
        if let Err(e) = upgrade_5_to_6(conn) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        found = 6;
    }
    if found == 6 || found == 7 {
        // Schema 7 added a full-text index inside the store; schema 8 writes bodies compressed
        // (see `body`: the TEXT bodies already stored read as they are, so nothing is rewritten).
        // The numbers changed so that an older Weave refuses the store.
        conn.execute_batch("PRAGMA user_version = 8")?;
        found = 8;
    }
    if found == 8 {
        // Schema 9 keeps the full-text index in a file of its own (`fts`), which indexes every
        // resource of the store again the first time it opens.
        conn.execute_batch(&format!("DROP TABLE IF EXISTS idx_fts; PRAGMA user_version = {SCHEMA_VERSION}"))?;
        found = SCHEMA_VERSION;
    }
    if found != SCHEMA_VERSION {
        return Ok(Err(format!(
            "the database has schema version {found}; this Weave understands {SCHEMA_VERSION}"
        )));
    }
    Ok(Ok(()))
}

/// The stored key of a search parameter of a type: a 64-bit FNV-1a hash of `Type.param`.
/// Integer keys keep index entries small and their comparisons cheap; the hash is stable, so
/// stores stay readable across versions.
pub(crate) fn param_key(resource_type: &str, param: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in resource_type.bytes().chain(std::iter::once(b'.')).chain(param.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::{migrate, param_key, SCHEMA_VERSION, VALUE_TABLES};
    use rusqlite::Connection;

    #[test]
    fn a_schema_5_store_is_upgraded_with_its_rows() {
        let c = Connection::open_in_memory().unwrap();
        // Schema 5's value tables: rowid tables with a value and a (rid, param) index.
        for (table, columns, index) in VALUE_TABLES {
            c.execute_batch(&format!(
                "CREATE TABLE {table} (rid INTEGER NOT NULL, param INTEGER NOT NULL, {columns});
                 CREATE INDEX {table}_v ON {table} ({index}); CREATE INDEX {table}_r ON {table} (rid, param);"
            ))
            .unwrap();
        }
        c.execute_batch(
            "CREATE TABLE idx_present (rid INTEGER NOT NULL, param INTEGER NOT NULL, PRIMARY KEY (rid, param)) WITHOUT ROWID;
             INSERT INTO idx_token (rid, param, system, code, text) VALUES (1, 7, 's', 'a', NULL), (1, 7, 's', 'b', NULL), (2, 7, NULL, 'a', 'x');
             INSERT INTO idx_string (rid, param, norm, exact) VALUES (2, 3, 'smith', 'Smith');
             PRAGMA user_version = 5;",
        )
        .unwrap();
        assert_eq!(migrate(&c).unwrap(), Ok(()));
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let rows: Vec<(i64, i64, i64, String)> = c
            .prepare("SELECT rid, param, n, code FROM idx_token ORDER BY rid, n")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, vec![(1, 7, 0, "a".into()), (1, 7, 1, "b".into()), (2, 7, 0, "a".into())]);
        let exact: String = c.query_row("SELECT exact FROM idx_string WHERE param = 3 AND norm = 'smith'", [], |r| r.get(0)).unwrap();
        assert_eq!(exact, "Smith");
        let indexes: Vec<String> = c
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'idx_token' AND sql IS NOT NULL")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(indexes, vec!["idx_token_v".to_owned()], "the (rid, param) index is now the key");
        // Opening again changes nothing.
        assert_eq!(migrate(&c).unwrap(), Ok(()));
    }

    #[test]
    fn parameter_keys_are_stable_and_distinct() {
        // Stored keys must never change: existing stores hold them (FNV-1a 64 of "Patient.identifier").
        assert_eq!(param_key("Patient", "identifier"), -7_662_048_380_047_986_845);
        assert_ne!(param_key("Patient", "identifier"), param_key("Patient", "name"));
        assert_ne!(param_key("Patient", "name"), param_key("Practitioner", "name"));
    }
}
