//! The inbound log: every message or file received from a feed, raw, with its outcome. Rejected
//! records are the dead letters (the `dead_letter` view), kept until replayed; accepted HL7
//! messages are unique by `(source, control id)`, so a resent message is never applied twice.
//!
//! A message that made resources is logged inside the same write job (`WriteTx::record_inbound`),
//! so the message and its resources commit together. Dead letters and logs that belong to no job
//! are written on their own connection (a short `BEGIN IMMEDIATE` transaction that waits for the
//! writer thread through the busy timeout).

use crate::{now_micros, Inbound, InboundSource, NewInbound, StoreError};
use rusqlite::{Connection, OptionalExtension};

pub(crate) const DDL: &str = "
CREATE TABLE IF NOT EXISTS inbound (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    control_id TEXT,
    received INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    reason TEXT,
    line INTEGER,
    raw BLOB NOT NULL,
    replayed INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS inbound_accepted ON inbound (source, control_id)
    WHERE accepted = 1 AND control_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS inbound_rejected ON inbound (id) WHERE accepted = 0;
CREATE VIEW IF NOT EXISTS dead_letter AS
    SELECT id, source, control_id, received, reason, line, raw, replayed FROM inbound WHERE accepted = 0;
";

const COLUMNS: &str = "id, source, control_id, received, accepted, reason, line, raw, replayed";

/// Inserts one record; an accepted duplicate is a `Conflict`.
pub(crate) fn record(conn: &Connection, rec: &NewInbound) -> Result<i64, StoreError> {
    let line = rec.line.and_then(|l| i64::try_from(l).ok());
    let mut st = conn.prepare_cached(
        "INSERT INTO inbound (source, control_id, received, accepted, reason, line, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let inserted = st.execute((
        rec.source.as_str(),
        rec.control_id.as_deref(),
        now_micros(),
        i64::from(rec.accepted),
        rec.reason.as_deref(),
        line,
        rec.raw.as_slice(),
    ));
    match inserted {
        Ok(_) => Ok(conn.last_insert_rowid()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            Err(StoreError::Conflict(format!(
                "{} message {} was already accepted",
                rec.source.as_str(),
                rec.control_id.as_deref().unwrap_or("")
            )))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn accepted(conn: &Connection, source: InboundSource, control_id: &str) -> Result<bool, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT 1 FROM inbound WHERE source = ?1 AND control_id = ?2 AND accepted = 1",
    )?;
    Ok(st.query_row((source.as_str(), control_id), |_| Ok(())).optional()?.is_some())
}

pub(crate) fn dead_letters(conn: &Connection, after_id: i64, limit: usize) -> Result<Vec<Inbound>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM inbound WHERE accepted = 0 AND id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = st.query_map((after_id, limit), row_to_inbound)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(crate) fn get(conn: &Connection, id: i64) -> Result<Option<Inbound>, StoreError> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM inbound WHERE id = ?1"))?;
    Ok(st.query_row([id], row_to_inbound).optional()?)
}

pub(crate) fn mark_replayed(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    let mut st = conn.prepare_cached("UPDATE inbound SET replayed = 1 WHERE id = ?1 AND accepted = 0")?;
    Ok(st.execute([id])? > 0)
}

pub(crate) fn purge(conn: &Connection, before: i64) -> Result<u64, StoreError> {
    let mut st = conn.prepare_cached("DELETE FROM inbound WHERE received < ?1 AND (accepted = 1 OR replayed = 1)")?;
    Ok(u64::try_from(st.execute([before])?).unwrap_or(0))
}

fn row_to_inbound(row: &rusqlite::Row<'_>) -> rusqlite::Result<Inbound> {
    let source: String = row.get(1)?;
    let line: Option<i64> = row.get(6)?;
    Ok(Inbound {
        id: row.get(0)?,
        // Only this module writes the column, with `as_str`; an unknown name cannot occur.
        source: InboundSource::parse(&source).unwrap_or(InboundSource::Fhir),
        control_id: row.get(2)?,
        received: row.get(3)?,
        accepted: row.get::<_, i64>(4)? != 0,
        reason: row.get(5)?,
        line: line.and_then(|l| u64::try_from(l).ok()),
        raw: row.get(7)?,
        replayed: row.get::<_, i64>(8)? != 0,
    })
}

#[cfg(test)]
mod tests {
    use crate::sqlite::{SqliteOptions, SqliteStore};
    use crate::{InboundSource, NewInbound, Store, StoreError};

    fn rec(control_id: Option<&str>, accepted: bool, raw: &[u8]) -> NewInbound {
        NewInbound {
            source: InboundSource::Hl7v2,
            control_id: control_id.map(str::to_owned),
            accepted,
            reason: (!accepted).then(|| "bad".to_owned()),
            line: None,
            raw: raw.to_vec(),
        }
    }

    #[test]
    fn accepted_control_ids_are_unique_and_dead_letters_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), &SqliteOptions::default()).unwrap();
        assert!(!store.inbound_accepted(InboundSource::Hl7v2, "C1").unwrap());
        let a = store.record_inbound(&rec(Some("C1"), true, b"MSH|ok")).unwrap();
        assert!(store.inbound_accepted(InboundSource::Hl7v2, "C1").unwrap());
        assert!(!store.inbound_accepted(InboundSource::Cld, "C1").unwrap());
        assert!(matches!(store.record_inbound(&rec(Some("C1"), true, b"MSH|ok")), Err(StoreError::Conflict(_))));
        // Rejected messages with the same control id are all kept.
        let d1 = store.record_inbound(&rec(Some("C1"), false, b"\x00\x01")).unwrap();
        let d2 = store.record_inbound(&rec(None, false, b"junk")).unwrap();
        let dead = store.dead_letters(0, 10).unwrap();
        assert_eq!(dead.iter().map(|d| d.id).collect::<Vec<_>>(), vec![d1, d2]);
        assert_eq!(dead[0].raw, b"\x00\x01");
        assert_eq!(dead[0].reason.as_deref(), Some("bad"));
        assert_eq!(store.dead_letters(d1, 10).unwrap().len(), 1);
        assert!(store.inbound(a).unwrap().is_some_and(|r| r.accepted && r.raw == b"MSH|ok"));
        assert!(store.mark_replayed(d1).unwrap());
        assert!(store.inbound(d1).unwrap().is_some_and(|r| r.replayed));
        assert!(!store.mark_replayed(a).unwrap(), "accepted records are not dead letters");
        assert!(!store.mark_replayed(9999).unwrap());
    }

    #[test]
    fn retention_removes_what_is_done_with_and_keeps_pending_dead_letters() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), &SqliteOptions::default()).unwrap();
        let accepted = store.record_inbound(&rec(Some("C1"), true, b"MSH|ok")).unwrap();
        let pending = store.record_inbound(&rec(None, false, b"junk")).unwrap();
        let replayed = store.record_inbound(&rec(None, false, b"fixed")).unwrap();
        assert!(store.mark_replayed(replayed).unwrap());
        assert_eq!(store.purge_inbound(0).unwrap(), 0, "nothing is older than the epoch");
        let later = crate::now_micros() + 1_000_000;
        assert_eq!(store.purge_inbound(later).unwrap(), 2);
        assert!(store.inbound(accepted).unwrap().is_none());
        assert!(store.inbound(replayed).unwrap().is_none());
        assert!(store.inbound(pending).unwrap().is_some(), "a pending dead letter is never purged");
    }

    #[test]
    fn the_log_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let id = {
            let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
            store.record_inbound(&rec(None, false, b"x")).unwrap()
        };
        let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
        assert_eq!(store.inbound(id).unwrap().map(|r| r.raw), Some(b"x".to_vec()));
    }

    #[test]
    fn a_version_4_store_gains_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(SqliteStore::open(&path, &SqliteOptions::default()).unwrap());
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch("DROP VIEW dead_letter; DROP TABLE inbound; PRAGMA user_version = 4;").unwrap();
        }
        let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
        assert!(store.dead_letters(0, 10).unwrap().is_empty());
        assert!(store.record_inbound(&rec(None, false, b"x")).is_ok());
    }
}
