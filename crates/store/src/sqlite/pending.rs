//! Index rows held back until the end of the writer's group, then written one table at a time in
//! the order of its value index.
//!
//! Written resource by resource, each row lands at a random place in its table's value index: a
//! walk from the root through pages that are cold in the CPU's caches. Held until the group ends
//! and sorted, the rows of a group walk each value index once, left to right, so every insert
//! finds its path already cached. The rows of a resource stay in their `(rid, param, n)` order in
//! the table itself, which new row ids only ever extend.
//!
//! A job must see every earlier write of its group, so what reads or deletes index rows inside
//! the transaction first writes what is held — unless the held rows cannot change its answer:
//! - a search writes them first unless it only asks for exact token codes (and `_id`,
//!   `_lastUpdated`) and no held token row has one of those codes under that parameter
//!   ([`Pending::may_match`]): the conditional creates and updates of feeds, whose identifiers
//!   are new or already written;
//! - an update's or delete's removal of a resource's rows writes them first only when some are
//!   that resource's ([`Pending::holds`]);
//! - a job's savepoint marks how much is held ([`Pending::savepoint`]); rolling back to it
//!   forgets what the job added and keeps the rest ([`Pending::rollback_to_savepoint`]), even
//!   when a search inside the job wrote the rows held before it.

use super::schema::param_key;
use crate::query::{Contained, Predicate, SearchQuery, SortKey};
use crate::{IndexEntries, StoreError};
use rusqlite::Connection;
use rustc_hash::{FxHashSet, FxHasher};
use std::hash::Hasher;

type Token = (i64, i64, i64, Option<String>, String, Option<String>);
type Reference = (i64, i64, i64, Option<String>, Option<String>, Option<String>);
type Quantity = (i64, i64, i64, f64, Option<String>, Option<String>);

/// Rows of the search index: `(rid, param key, n, value columns…)` per table.
#[derive(Default, Clone)]
struct Rows {
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

/// How many rows each table of [`Rows`] holds, in field order.
type Lens = [usize; 8];

impl Rows {
    fn lens(&self) -> Lens {
        [
            self.present.len(),
            self.strings.len(),
            self.tokens.len(),
            self.references.len(),
            self.dates.len(),
            self.numbers.len(),
            self.quantities.len(),
            self.uris.len(),
        ]
    }

    fn truncate(&mut self, l: Lens) {
        self.present.truncate(l[0]);
        self.strings.truncate(l[1]);
        self.tokens.truncate(l[2]);
        self.references.truncate(l[3]);
        self.dates.truncate(l[4]);
        self.numbers.truncate(l[5]);
        self.quantities.truncate(l[6]);
        self.uris.truncate(l[7]);
    }

    /// Appends copies of the first `l` rows of each of `other`'s tables.
    fn extend_from_prefix(&mut self, other: &Rows, l: Lens) {
        self.present.extend_from_slice(&other.present[..l[0]]);
        self.strings.extend_from_slice(&other.strings[..l[1]]);
        self.tokens.extend_from_slice(&other.tokens[..l[2]]);
        self.references.extend_from_slice(&other.references[..l[3]]);
        self.dates.extend_from_slice(&other.dates[..l[4]]);
        self.numbers.extend_from_slice(&other.numbers[..l[5]]);
        self.quantities.extend_from_slice(&other.quantities[..l[6]]);
        self.uris.extend_from_slice(&other.uris[..l[7]]);
    }

    fn clear(&mut self) {
        self.truncate([0; 8]);
    }

    fn is_empty(&self) -> bool {
        self.lens() == [0; 8]
    }
}

/// Rows of the search index not yet inserted, with what tells whether a read must see them.
#[derive(Default)]
pub(crate) struct Pending {
    rows: Rows,
    /// The row ids that have rows held (a superset: kept until the next flush or clear).
    rids: FxHashSet<i64>,
    /// `(param key, hash of the code)` of every token row held (a superset, likewise).
    codes: FxHashSet<(i64, u64)>,
    /// How many rows were held when the running job took its savepoint.
    mark: Option<Lens>,
    /// The rows held before the savepoint that a flush inside the job wrote: its rollback
    /// undoes that write, so they are held again.
    stash: Option<Rows>,
}

fn code_hash(code: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(code.as_bytes());
    h.finish()
}

impl Pending {
    /// Holds the value rows of `ix` under row id `rid`, their parameters qualified by `ty`
    /// (not its full text or contained resources). The values are taken out of `ix`, not copied.
    pub(crate) fn add(&mut self, rid: i64, ty: &str, ix: &mut IndexEntries) {
        let key = |p: &str| param_key(ty, p);
        let n = |i: usize| i64::try_from(i).unwrap_or(i64::MAX);
        let r = &mut self.rows;
        self.rids.insert(rid);
        r.present.extend(ix.present.iter().map(|p| (rid, key(p))));
        let take = std::mem::take::<String>;
        let take_opt = Option::<String>::take;
        r.strings.extend(ix.strings.iter_mut().enumerate().map(|(i, s)| (rid, key(&s.0), n(i), take(&mut s.1), take(&mut s.2))));
        r.references.extend(
            ix.references.iter_mut().enumerate().map(|(i, x)| (rid, key(&x.0), n(i), take_opt(&mut x.1), take_opt(&mut x.2), take_opt(&mut x.3))),
        );
        r.dates.extend(ix.dates.iter().enumerate().map(|(i, d)| {
            let wide = i64::from(d.2.saturating_sub(d.1) > super::search::NARROW);
            (rid, key(&d.0), n(i), d.1, d.2, wide)
        }));
        r.numbers.extend(ix.numbers.iter().enumerate().map(|(i, x)| (rid, key(&x.0), n(i), x.1)));
        r.quantities
            .extend(ix.quantities.iter_mut().enumerate().map(|(i, q)| (rid, key(&q.0), n(i), q.1, take_opt(&mut q.2), take_opt(&mut q.3))));
        r.uris.extend(ix.uris.iter_mut().enumerate().map(|(i, u)| (rid, key(&u.0), n(i), take(&mut u.1))));
        for (i, t) in ix.tokens.iter_mut().enumerate() {
            self.add_token((rid, key(&t.0), n(i), take_opt(&mut t.1), take(&mut t.2), take_opt(&mut t.3)));
        }
    }

    /// Holds one token row as it is (also the marker row of a contained resource).
    pub(crate) fn add_token(&mut self, row: Token) {
        self.rids.insert(row.0);
        self.codes.insert((row.1, code_hash(&row.4)));
        self.rows.tokens.push(row);
    }

    /// Whether rows of `rid` may be held.
    pub(crate) fn holds(&self, rid: i64) -> bool {
        self.rids.contains(&rid)
    }

    /// Whether a search's answer may depend on rows held: false only for a search that reads no
    /// index row but exact token codes, none of which a held row of its parameter has.
    pub(crate) fn may_match(&self, q: &SearchQuery) -> bool {
        if self.rows.is_empty() {
            return false;
        }
        let Some(ty) = q.resource_type.as_deref() else { return true };
        if q.contained != Contained::Exclude || q.sort.iter().any(|(k, _)| matches!(k, SortKey::Param { .. })) {
            return true;
        }
        !q.clauses.iter().flat_map(|c| &c.any_of).all(|p| match p {
            Predicate::Id(_) | Predicate::LastUpdated { .. } => true,
            Predicate::Token { param, code: Some(code), .. } => !self.codes.contains(&(param_key(ty, param), code_hash(code))),
            _ => false,
        })
    }

    /// The running job takes its savepoint: what it adds from now on can be forgotten alone.
    pub(crate) fn savepoint(&mut self) {
        self.mark = Some(self.rows.lens());
        self.stash = None;
    }

    /// The running job's savepoint is released: its rows stay held with the others.
    pub(crate) fn release(&mut self) {
        self.mark = None;
        self.stash = None;
    }

    /// The running job is rolled back to its savepoint: its rows are forgotten, and rows held
    /// before it that a flush inside it wrote are held again.
    pub(crate) fn rollback_to_savepoint(&mut self) {
        if let Some(mark) = self.mark.take() {
            self.rows.truncate(mark);
        }
        if let Some(stash) = self.stash.take() {
            self.note(&stash);
            self.rows.extend_from_prefix(&stash, stash.lens());
        }
    }

    /// Records the row ids and token codes of `rows`, held again.
    fn note(&mut self, rows: &Rows) {
        let r = rows;
        self.rids.extend(
            (r.present.iter().map(|x| x.0))
                .chain(r.strings.iter().map(|x| x.0))
                .chain(r.tokens.iter().map(|x| x.0))
                .chain(r.references.iter().map(|x| x.0))
                .chain(r.dates.iter().map(|x| x.0))
                .chain(r.numbers.iter().map(|x| x.0))
                .chain(r.quantities.iter().map(|x| x.0))
                .chain(r.uris.iter().map(|x| x.0)),
        );
        self.codes.extend(r.tokens.iter().map(|t| (t.1, code_hash(&t.4))));
    }

    /// Forgets what is held (its transaction is being rolled back), keeping the space for the
    /// next group.
    pub(crate) fn clear(&mut self) {
        self.forget_rows();
        self.mark = None;
        self.stash = None;
    }

    fn forget_rows(&mut self) {
        self.rows.clear();
        self.rids.clear();
        self.codes.clear();
    }

    /// Inserts everything held, each table's rows in the order of its value index.
    pub(crate) fn flush(&mut self, c: &Connection) -> Result<(), StoreError> {
        if let Some(mark) = self.mark {
            // Inside a savepoint: the rows from before it are about to be written under it.
            self.stash.get_or_insert_with(Rows::default).extend_from_prefix(&self.rows, mark);
            self.mark = Some([0; 8]);
        }
        let written = self.rows.insert_sorted(c);
        self.forget_rows();
        written
    }
}

impl Rows {
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

#[cfg(test)]
mod tests {
    use super::Pending;
    use crate::IndexEntries;
    use rusqlite::Connection;

    #[test]
    fn held_rows_take_their_values_and_are_written_whole() {
        let c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&c).unwrap().unwrap();
        let mut ix = IndexEntries::default();
        ix.tokens.push(("identifier".into(), Some("sys".into()), "123".into(), Some("text".into())));
        ix.strings.push(("name".into(), "smith".into(), "Smith".into()));
        ix.references.push(("subject".into(), Some("Patient".into()), Some("p1".into()), None));
        let mut held = Pending::default();
        held.add(7, "Observation", &mut ix);
        assert!(ix.tokens[0].1.is_none() && ix.tokens[0].2.is_empty() && ix.strings[0].2.is_empty(), "taken, not copied");
        assert_eq!(ix.tokens[0].0, "identifier", "the parameter stays with the caller");
        held.flush(&c).unwrap();
        let token: (i64, String, String, String) =
            c.query_row("SELECT rid, system, code, text FROM idx_token", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
        assert_eq!(token, (7, "sys".into(), "123".into(), "text".into()));
        let string: (String, String) = c.query_row("SELECT norm, exact FROM idx_string", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(string, ("smith".into(), "Smith".into()));
        let reference: (String, String) =
            c.query_row("SELECT target_type, target_id FROM idx_reference", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(reference, ("Patient".into(), "p1".into()));
    }
}
