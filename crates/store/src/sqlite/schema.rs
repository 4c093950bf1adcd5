//! The SQLite schema and its version.
//!
//! `resource` holds one row per logical resource (its current version), `version` every version
//! ever written: its `seq` primary key is the change feed. The `idx_*` tables hold the search
//! index rows of each resource's current version, keyed by the resource's internal `rid`.
//! `inbound` (in `deadletter`) logs every message or file received from a feed.

use rusqlite::Connection;

/// Bumped whenever the schema changes; a store with another version is refused.
pub(crate) const SCHEMA_VERSION: i64 = 5;

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
    body TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS version_rid ON version (rid, version);
CREATE INDEX IF NOT EXISTS version_type ON version (type, seq);
CREATE INDEX IF NOT EXISTS version_time ON version (last_updated);

CREATE TABLE IF NOT EXISTS idx_present (rid INTEGER NOT NULL, param INTEGER NOT NULL, PRIMARY KEY (rid, param)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_string (rid INTEGER NOT NULL, param INTEGER NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_string_v ON idx_string (param, norm);
CREATE INDEX IF NOT EXISTS idx_string_r ON idx_string (rid, param);
CREATE TABLE IF NOT EXISTS idx_token (rid INTEGER NOT NULL, param INTEGER NOT NULL, system TEXT, code TEXT NOT NULL, text TEXT);
CREATE INDEX IF NOT EXISTS idx_token_v ON idx_token (param, code, system);
CREATE INDEX IF NOT EXISTS idx_token_r ON idx_token (rid, param);
CREATE TABLE IF NOT EXISTS idx_reference (rid INTEGER NOT NULL, param INTEGER NOT NULL, target_type TEXT, target_id TEXT, url TEXT);
CREATE INDEX IF NOT EXISTS idx_reference_v ON idx_reference (param, target_id, target_type);
CREATE INDEX IF NOT EXISTS idx_reference_r ON idx_reference (rid, param);
CREATE TABLE IF NOT EXISTS idx_date (rid INTEGER NOT NULL, param INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, wide INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS idx_date_v ON idx_date (param, wide, lo);
CREATE INDEX IF NOT EXISTS idx_date_r ON idx_date (rid, param);
CREATE TABLE IF NOT EXISTS idx_number (rid INTEGER NOT NULL, param INTEGER NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS idx_number_v ON idx_number (param, value);
CREATE INDEX IF NOT EXISTS idx_number_r ON idx_number (rid, param);
CREATE TABLE IF NOT EXISTS idx_quantity (rid INTEGER NOT NULL, param INTEGER NOT NULL, value REAL NOT NULL, system TEXT, code TEXT);
CREATE INDEX IF NOT EXISTS idx_quantity_v ON idx_quantity (param, value);
CREATE INDEX IF NOT EXISTS idx_quantity_r ON idx_quantity (rid, param);
CREATE TABLE IF NOT EXISTS idx_uri (rid INTEGER NOT NULL, param INTEGER NOT NULL, uri TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_uri_v ON idx_uri (param, uri);
CREATE INDEX IF NOT EXISTS idx_uri_r ON idx_uri (rid, param);
";

/// Creates the schema on an empty database, or checks the version of an existing one.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<Result<(), String>> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found == 0 {
        conn.execute_batch(DDL)?;
        conn.execute_batch(super::deadletter::DDL)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        return Ok(Ok(()));
    }
    if found == 4 {
        // Version 5 only adds the inbound log.
        conn.execute_batch(super::deadletter::DDL)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        return Ok(Ok(()));
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
    use super::param_key;

    #[test]
    fn parameter_keys_are_stable_and_distinct() {
        // Stored keys must never change: existing stores hold them (FNV-1a 64 of "Patient.identifier").
        assert_eq!(param_key("Patient", "identifier"), -7_662_048_380_047_986_845);
        assert_ne!(param_key("Patient", "identifier"), param_key("Patient", "name"));
        assert_ne!(param_key("Patient", "name"), param_key("Practitioner", "name"));
    }
}
