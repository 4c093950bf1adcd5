//! History, the change feed, and index-row writes for the SQLite backend.

use crate::{Change, HistoryPage, HistoryQuery, HistoryScope, IndexEntries, Method, StoreError};
use rusqlite::types::Value as SqlValue;
use super::pending::Pending;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

/// The filter shared by a history page and its total: SQL text after `FROM version v` plus
/// its parameters.
fn history_filter(c: &Connection, q: &HistoryQuery, up_to: i64) -> Result<Option<(String, Vec<SqlValue>)>, StoreError> {
    let mut sql = String::from(" WHERE v.seq <= ?");
    let mut args = vec![SqlValue::Integer(up_to)];
    let mut scope_sql = String::new();
    let mut scope_args = Vec::new();
    match &q.scope {
        HistoryScope::System => {}
        HistoryScope::Type(t) => {
            scope_sql.push_str(" AND type = ?");
            scope_args.push(SqlValue::Text(t.clone()));
        }
        HistoryScope::Instance(t, id) => {
            let rid: Option<i64> = c
                .prepare_cached("SELECT rid FROM resource WHERE type = ?1 AND id = ?2")?
                .query_row((t, id), |r| r.get(0))
                .optional()?;
            let Some(rid) = rid else { return Ok(None) };
            scope_sql.push_str(" AND rid = ?");
            scope_args.push(SqlValue::Integer(rid));
        }
    }
    sql.push_str(&scope_sql.replace(" type", " v.type").replace(" rid", " v.rid"));
    args.extend(scope_args.iter().cloned());
    if let Some(since) = q.since {
        sql.push_str(" AND v.last_updated >= ?");
        args.push(SqlValue::Integer(since));
    }
    if let Some((lo, hi)) = q.at {
        // Versions written inside the period, or the one current at its first instant.
        sql.push_str(&format!(
            " AND ((v.last_updated >= ? AND v.last_updated <= ?) OR v.seq IN \
             (SELECT MAX(seq) FROM version WHERE last_updated <= ? AND seq <= ?{scope_sql} GROUP BY rid))"
        ));
        args.extend([SqlValue::Integer(lo), SqlValue::Integer(hi), SqlValue::Integer(lo), SqlValue::Integer(up_to)]);
        args.extend(scope_args);
    }
    Ok(Some((sql, args)))
}

pub(crate) fn history(c: &Connection, q: &HistoryQuery) -> Result<HistoryPage, StoreError> {
    let up_to = match q.up_to_seq {
        Some(s) => s,
        None => c.query_row("SELECT COALESCE(MAX(seq), 0) FROM version", [], |r| r.get(0))?,
    };
    let empty = HistoryPage { entries: Vec::new(), total: 0, up_to_seq: up_to, next_before_seq: None };
    let Some((filter, args)) = history_filter(c, q, up_to)? else { return Ok(empty) };
    let total: i64 = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM version v{filter}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let mut page_sql = format!(
        "SELECT r.type, r.id, v.version, v.seq, v.last_updated, v.method, v.body
         FROM version v JOIN resource r ON r.rid = v.rid{filter}"
    );
    let mut page_args = args;
    if let Some(before) = q.before_seq {
        page_sql.push_str(" AND v.seq < ?");
        page_args.push(SqlValue::Integer(before));
    }
    let limit = i64::try_from(q.count).unwrap_or(i64::MAX - 1);
    page_sql.push_str(" ORDER BY v.seq DESC LIMIT ?");
    page_args.push(SqlValue::Integer(limit.saturating_add(1)));
    let mut st = c.prepare_cached(&page_sql)?;
    let mut entries = st
        .query_map(params_from_iter(page_args.iter()), |row| {
            super::row_to_stored(row.get(0)?, row.get(1)?, row, 2)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let next_before_seq = if entries.len() > q.count {
        entries.truncate(q.count);
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(HistoryPage { entries, total: u64::try_from(total).unwrap_or(0), up_to_seq: up_to, next_before_seq })
}

pub(crate) fn changes(c: &Connection, after_seq: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT v.seq, r.type, r.id, v.version, v.method, v.last_updated
         FROM version v JOIN resource r ON r.rid = v.rid WHERE v.seq > ?1 ORDER BY v.seq LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = st.query_map((after_seq, limit), |r| {
        let version: i64 = r.get(3)?;
        Ok(Change {
            seq: r.get(0)?,
            resource_type: r.get(1)?,
            id: r.get(2)?,
            version: u64::try_from(version).unwrap_or(0),
            method: Method::from_code(r.get(4)?),
            last_updated: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Holds the index rows of one resource in `pending` (parameter names are qualified by resource
/// type), and those of its contained resources under their virtual row ids (see
/// `search::virtual_rid`), with their keys in the contained namespace of their type and a marker
/// row holding their local id. Contained resources past [`crate::query::MAX_CONTAINED`] are not
/// indexed. (Its full text goes to the full-text index after the commit: see `fts`.)
pub(crate) fn write_index(pending: &mut Pending, rid: i64, ty: &str, ix: &mut IndexEntries) {
    pending.add(rid, ty, ix);
    for contained in &mut ix.contained {
        let Some(vrid) = super::search::virtual_rid(rid, contained.ordinal) else { continue };
        let ns = super::search::contained_ns(&contained.resource_type);
        pending.add(vrid, &ns, &mut contained.index);
        let marker = super::schema::param_key(&ns, super::search::LOCAL_ID);
        let n = i64::try_from(contained.index.tokens.len()).unwrap_or(i64::MAX);
        pending.add_token((vrid, marker, n, None, std::mem::take(&mut contained.id), None));
    }
}
