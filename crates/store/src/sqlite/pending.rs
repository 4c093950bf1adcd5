//! Index rows held back until the end of the writer's group, then written one table at a time in
//! the order of its value index.
//!
//! Written resource by resource, each row lands at a random place in its table's value index: a
//! walk from the root through pages that are cold in the CPU's caches. Held until the group ends
//! and sorted, the rows of a group walk each value index once, left to right, so every insert
//! finds its path already cached. The rows of a resource stay in their `(rid, param, n)` order in
//! the table itself, which new row ids only ever extend.
//!
//! Whatever reads or deletes index rows inside the transaction (a search, an update's or a
//! delete's removal of the old rows, a savepoint) first writes what is held, so a job always sees
//! every earlier write of its group.

use super::schema::param_key;
use crate::{IndexEntries, StoreError};
use rusqlite::Connection;

type Token = (i64, i64, i64, Option<String>, String, Option<String>);
type Reference = (i64, i64, i64, Option<String>, Option<String>, Option<String>);
type Quantity = (i64, i64, i64, f64, Option<String>, Option<String>);

/// Rows of the search index not yet inserted: `(rid, param key, n, value columns…)` per table.
#[derive(Default)]
pub(crate) struct Pending {
    present: Vec<(i64, i64)>,
    strings: Vec<(i64, i64, i64, String, String)>,
    tokens: Vec<Token>,
    references: Vec<Reference>,
    /// `(rid, param, n, lo, hi, wide)`
    dates: Vec<(i64, i64, i64, i64, i64, i64)>,
    numbers: Vec<(i64, i64, i64, f64)>,
    quantities: Vec<Quantity>,
    uris: Vec<(i64, i64, i64, String)>,
}

impl Pending {
    /// Holds the value rows of `ix` under row id `rid`, their parameters qualified by `ty`
    /// (not its full text or contained resources).
    pub(crate) fn add(&mut self, rid: i64, ty: &str, ix: &IndexEntries) {
        let key = |p: &str| param_key(ty, p);
        let n = |i: usize| i64::try_from(i).unwrap_or(i64::MAX);
        self.present.extend(ix.present.iter().map(|p| (rid, key(p))));
        self.strings.extend(ix.strings.iter().enumerate().map(|(i, r)| (rid, key(&r.0), n(i), r.1.clone(), r.2.clone())));
        self.tokens
            .extend(ix.tokens.iter().enumerate().map(|(i, r)| (rid, key(&r.0), n(i), r.1.clone(), r.2.clone(), r.3.clone())));
        self.references
            .extend(ix.references.iter().enumerate().map(|(i, r)| (rid, key(&r.0), n(i), r.1.clone(), r.2.clone(), r.3.clone())));
        self.dates.extend(ix.dates.iter().enumerate().map(|(i, r)| {
            let wide = i64::from(r.2.saturating_sub(r.1) > super::search::NARROW);
            (rid, key(&r.0), n(i), r.1, r.2, wide)
        }));
        self.numbers.extend(ix.numbers.iter().enumerate().map(|(i, r)| (rid, key(&r.0), n(i), r.1)));
        self.quantities
            .extend(ix.quantities.iter().enumerate().map(|(i, r)| (rid, key(&r.0), n(i), r.1, r.2.clone(), r.3.clone())));
        self.uris.extend(ix.uris.iter().enumerate().map(|(i, r)| (rid, key(&r.0), n(i), r.1.clone())));
    }

    /// Holds one token row as it is (the marker row of a contained resource).
    pub(crate) fn add_token(&mut self, row: Token) {
        self.tokens.push(row);
    }

    /// Forgets what is held (its transaction, or the savepoint it was written after, is being
    /// rolled back), keeping the space for the next group.
    pub(crate) fn clear(&mut self) {
        self.present.clear();
        self.strings.clear();
        self.tokens.clear();
        self.references.clear();
        self.dates.clear();
        self.numbers.clear();
        self.quantities.clear();
        self.uris.clear();
    }

    /// Inserts everything held, each table's rows in the order of its value index.
    pub(crate) fn flush(&mut self, c: &Connection) -> Result<(), StoreError> {
        let written = self.insert_sorted(c);
        self.clear();
        written
    }

    fn insert_sorted(&mut self, c: &Connection) -> Result<(), StoreError> {
        insert_rows(c, "INSERT INTO idx_present (rid, param) VALUES (?1, ?2)", self.present.iter().copied())?;
        self.strings.sort_unstable_by(|a, b| (a.1, &a.3, a.0, a.2).cmp(&(b.1, &b.3, b.0, b.2)));
        insert_rows(
            c,
            "INSERT INTO idx_string (rid, param, n, norm, exact) VALUES (?1, ?2, ?3, ?4, ?5)",
            self.strings.iter().map(|r| (r.0, r.1, r.2, &r.3, &r.4)),
        )?;
        self.tokens.sort_unstable_by(|a, b| (a.1, &a.4, &a.3, a.0, a.2).cmp(&(b.1, &b.4, &b.3, b.0, b.2)));
        insert_rows(
            c,
            "INSERT INTO idx_token (rid, param, n, system, code, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            self.tokens.iter().map(|r| (r.0, r.1, r.2, &r.3, &r.4, &r.5)),
        )?;
        self.references.sort_unstable_by(|a, b| (a.1, &a.4, &a.3, a.0, a.2).cmp(&(b.1, &b.4, &b.3, b.0, b.2)));
        insert_rows(
            c,
            "INSERT INTO idx_reference (rid, param, n, target_type, target_id, url) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            self.references.iter().map(|r| (r.0, r.1, r.2, &r.3, &r.4, &r.5)),
        )?;
        self.dates.sort_unstable_by_key(|r| (r.1, r.5, r.3, r.0, r.2));
        insert_rows(
            c,
            "INSERT INTO idx_date (rid, param, n, lo, hi, wide) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            self.dates.iter().copied(),
        )?;
        self.numbers.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(a.3.total_cmp(&b.3)).then((a.0, a.2).cmp(&(b.0, b.2))));
        insert_rows(c, "INSERT INTO idx_number (rid, param, n, value) VALUES (?1, ?2, ?3, ?4)", self.numbers.iter().copied())?;
        self.quantities.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(a.3.total_cmp(&b.3)).then((a.0, a.2).cmp(&(b.0, b.2))));
        insert_rows(
            c,
            "INSERT INTO idx_quantity (rid, param, n, value, system, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            self.quantities.iter().map(|r| (r.0, r.1, r.2, r.3, &r.4, &r.5)),
        )?;
        self.uris.sort_unstable_by(|a, b| (a.1, &a.3, a.0, a.2).cmp(&(b.1, &b.3, b.0, b.2)));
        insert_rows(c, "INSERT INTO idx_uri (rid, param, n, uri) VALUES (?1, ?2, ?3, ?4)", self.uris.iter().map(|r| (r.0, r.1, r.2, &r.3)))
    }
}

/// Inserts rows one statement each: a multi-row INSERT would make SQLite keep a statement journal
/// (a copy of every page it touches), which costs more than the extra statement executions.
/// The statement text is a constant, so the statement cache finds it without building a string.
fn insert_rows<P: rusqlite::Params>(c: &Connection, sql: &'static str, rows: impl ExactSizeIterator<Item = P>) -> Result<(), StoreError> {
    if rows.len() == 0 {
        return Ok(());
    }
    let mut st = c.prepare_cached(sql)?;
    for row in rows {
        st.execute(row)?;
    }
    Ok(())
}
