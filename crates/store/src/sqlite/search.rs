//! Search queries to SQL: one statement, driven by the most selective clause.
//!
//! The driver clause yields candidate row ids through its `(param, value)` index; every other
//! clause is a correlated `EXISTS` probe through the `(rid, param)` index, so a compound query
//! costs one index range scan plus a few point lookups per candidate, never a scan of the type.
//!
//! Contained resources (`_contained`, see [`contained`]) are rows of the same tables under
//! virtual row ids, with their parameters in a namespace of their own: no search that does not
//! ask for them can see them.

mod contained;
pub(crate) use contained::{contained_ns, virtual_range, virtual_rid, LOCAL_ID};
use contained::{is_contained_ns, owner_of};

use crate::query::{Clause, Contained, IndexTable, Predicate, Prefix, SearchPage, SearchQuery, SortKey, StringMatch, TotalMode, UriMatch};
use crate::StoreError;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection};

/// Text and arguments of a statement under construction (arguments in text order).
#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<SqlValue>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    fn arg(&mut self, v: impl Into<SqlValue>) -> &mut Self {
        self.text.push('?');
        self.args.push(v.into());
        self
    }
}

/// The largest code point: appended to a prefix, it bounds every string starting with it.
const MAX_CHAR: char = '\u{10FFFF}';

fn table_of(t: IndexTable) -> &'static str {
    match t {
        IndexTable::String => "idx_string",
        IndexTable::Token => "idx_token",
        IndexTable::Reference => "idx_reference",
        IndexTable::Date => "idx_date",
        IndexTable::Number => "idx_number",
        IndexTable::Quantity => "idx_quantity",
        IndexTable::Uri => "idx_uri",
    }
}

pub(crate) use super::schema::param_key as key;

/// How good a predicate is at producing candidates (lower is better); `None`: cannot drive.
fn drive_rank(p: &Predicate) -> Option<u8> {
    match p {
        Predicate::Id(_) => Some(0),
        Predicate::FullText { .. } => Some(1),
        Predicate::Reference { target_id: Some(_), .. } | Predicate::Reference { url: Some(_), .. } => Some(1),
        Predicate::Token { code: Some(_), .. } => Some(2),
        Predicate::TokenIn { .. } => Some(3),
        Predicate::Compartment { .. } => Some(2),
        Predicate::Uri { mode: UriMatch::Exact | UriMatch::Below, .. } => Some(3),
        Predicate::String { mode: StringMatch::Exact | StringMatch::StartsWith, .. } => Some(4),
        Predicate::Chain { inner, .. } | Predicate::Has { inner, .. } => drive_rank(inner).map(|r| r + 4),
        Predicate::AnyOf(ps) if !ps.is_empty() => ps.iter().map(drive_rank).try_fold(0u8, |acc, r| r.map(|r| acc.max(r))),
        Predicate::Date { prefix, .. } if *prefix != Prefix::Ne => Some(6),
        Predicate::Token { .. } | Predicate::TokenText { .. } => Some(7),
        Predicate::Number { prefix, .. } | Predicate::Quantity { prefix, .. } if *prefix != Prefix::Ne => Some(7),
        Predicate::NumberPair { .. } => Some(7),
        _ => None,
    }
}

fn clause_rank(c: &Clause) -> Option<u8> {
    c.any_of.iter().map(drive_rank).try_fold(0u8, |acc, r| r.map(|r| acc.max(r)))
}

/// Writes the row-level condition of a predicate over index table alias `x` (no `rid` test).
fn cond(p: &Predicate, ty: &str, x: &str, sql: &mut Sql) {
    match p {
        Predicate::String { param, norm, exact, mode } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param));
            match mode {
                StringMatch::StartsWith => {
                    sql.push(&format!(" AND {x}.norm >= ")).arg(norm.clone());
                    sql.push(&format!(" AND {x}.norm < ")).arg(format!("{norm}{MAX_CHAR}"));
                }
                StringMatch::Exact => {
                    sql.push(&format!(" AND {x}.norm = ")).arg(norm.clone());
                }
                StringMatch::Contains => {
                    sql.push(&format!(" AND instr({x}.norm, ")).arg(norm.clone()).push(") > 0");
                }
            }
            if let Some(e) = exact {
                sql.push(&format!(" AND {x}.exact = ")).arg(e.clone());
            }
        }
        Predicate::Token { param, system, code } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param));
            if let Some(code) = code {
                sql.push(&format!(" AND {x}.code = ")).arg(code.clone());
            }
            match system {
                None => {}
                Some(None) => {
                    sql.push(&format!(" AND {x}.system IS NULL"));
                }
                Some(Some(s)) => {
                    sql.push(&format!(" AND {x}.system = ")).arg(s.clone());
                }
            }
        }
        Predicate::TokenIn { param, codes } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param));
            if codes.is_empty() {
                sql.push(" AND 0");
                return;
            }
            // The codes narrow the value index; the pairs then check each code's system. A
            // `code` element has no system of its own: the bound value set's is implied.
            sql.push(&format!(" AND {x}.code IN ("));
            for (i, (_, code)) in codes.iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).arg(code.clone());
            }
            sql.push(&format!(") AND ({x}.system IS NULL OR ({x}.system, {x}.code) IN (VALUES "));
            for (i, (system, code)) in codes.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" }).arg(system.clone()).push(", ").arg(code.clone()).push(")");
            }
            sql.push("))");
        }
        Predicate::TokenText { param, text } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param));
            sql.push(&format!(" AND {x}.text >= ")).arg(text.clone());
            sql.push(&format!(" AND {x}.text < ")).arg(format!("{text}{MAX_CHAR}"));
        }
        Predicate::Reference { param, target_type, target_id, url } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param));
            if let Some(id) = target_id {
                sql.push(&format!(" AND {x}.target_id = ")).arg(id.clone());
            }
            if let Some(t) = target_type {
                sql.push(&format!(" AND {x}.target_type = ")).arg(t.clone());
            }
            if let Some(u) = url {
                sql.push(&format!(" AND {x}.url = ")).arg(u.clone());
            }
        }
        Predicate::Date { param, prefix, lo, hi } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param)).push(" AND ");
            range_cond(sql, &format!("{x}.lo"), &format!("{x}.hi"), *prefix, *lo, *hi);
        }
        Predicate::Number { param, prefix, lo, hi } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param)).push(" AND ");
            number_cond(sql, &format!("{x}.value"), *prefix, *lo, *hi);
        }
        Predicate::NumberPair { param, first, second } => {
            // The pair is kept as a date-table row (see `weave_search::composite`): the first
            // number in `lo`, the second in `hi`.
            sql.push(&format!("{x}.param = ")).arg(key(ty, param)).push(" AND ");
            number_cond(sql, &format!("{x}.lo"), first.0, first.1, first.2);
            sql.push(" AND ");
            number_cond(sql, &format!("{x}.hi"), second.0, second.1, second.2);
        }
        Predicate::Quantity { param, prefix, lo, hi, system, code } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param)).push(" AND ");
            number_cond(sql, &format!("{x}.value"), *prefix, *lo, *hi);
            if let Some(c) = code {
                sql.push(&format!(" AND {x}.code = ")).arg(c.clone());
            }
            if let Some(s) = system {
                sql.push(&format!(" AND {x}.system = ")).arg(s.clone());
            }
        }
        Predicate::Uri { param, value, mode } => {
            sql.push(&format!("{x}.param = ")).arg(key(ty, param));
            match mode {
                UriMatch::Exact => {
                    sql.push(&format!(" AND {x}.uri = ")).arg(value.clone());
                }
                UriMatch::Below => {
                    sql.push(&format!(" AND {x}.uri >= ")).arg(value.clone());
                    sql.push(&format!(" AND {x}.uri < ")).arg(format!("{value}{MAX_CHAR}"));
                }
                UriMatch::Above => {
                    // A path prefix: the stored uri, then the end of the value or a '/'.
                    sql.push(" AND substr(").arg(value.clone()).push(&format!(", 1, length({x}.uri)) = {x}.uri"));
                    sql.push(&format!(" AND (length({x}.uri) = ")).arg(i64::try_from(value.len()).unwrap_or(0));
                    sql.push(&format!(" OR substr({x}.uri, -1) = '/' OR substr(")).arg(value.clone());
                    sql.push(&format!(", length({x}.uri) + 1, 1) = '/')"));
                }
            }
        }
        Predicate::Compartment { params, target_type, target_id } => {
            sql.push(&format!("{x}.param IN ("));
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.arg(key(ty, p));
            }
            sql.push(&format!(") AND {x}.target_id = ")).arg(target_id.clone());
            sql.push(&format!(" AND {x}.target_type = ")).arg(target_type.clone());
        }
        _ => {
            sql.push("0");
        }
    }
}

/// Interval tests for dates: the indexed value is `[lo_col, hi_col]`, the query `[lo, hi]`.
fn range_cond(sql: &mut Sql, lo_col: &str, hi_col: &str, prefix: Prefix, lo: i64, hi: i64) {
    match prefix {
        Prefix::Eq => sql.push(&format!("{lo_col} >= ")).arg(lo).push(&format!(" AND {hi_col} <= ")).arg(hi),
        Prefix::Ne => sql.push(&format!("NOT ({lo_col} >= ")).arg(lo).push(&format!(" AND {hi_col} <= ")).arg(hi).push(")"),
        Prefix::Gt => sql.push(&format!("{hi_col} > ")).arg(hi),
        Prefix::Lt => sql.push(&format!("{lo_col} < ")).arg(lo),
        // R4: "the range above the search value intersects the target's range, or the search
        // value's range fully contains it" (and the mirror for le).
        Prefix::Ge => sql
            .push(&format!("({hi_col} > "))
            .arg(hi)
            .push(&format!(" OR ({lo_col} >= "))
            .arg(lo)
            .push(&format!(" AND {hi_col} <= "))
            .arg(hi)
            .push("))"),
        Prefix::Le => sql
            .push(&format!("({lo_col} < "))
            .arg(lo)
            .push(&format!(" OR ({lo_col} >= "))
            .arg(lo)
            .push(&format!(" AND {hi_col} <= "))
            .arg(hi)
            .push("))"),
        Prefix::Sa => sql.push(&format!("{lo_col} > ")).arg(hi),
        Prefix::Eb => sql.push(&format!("{hi_col} < ")).arg(lo),
        Prefix::Ap => {
            let now = crate::now_micros();
            let margin = ((now - lo).abs() / 10).max(86_400_000_000);
            sql.push(&format!("{hi_col} >= ")).arg(lo - margin).push(&format!(" AND {lo_col} <= ")).arg(hi + margin)
        }
    };
}

/// Tests for point numbers: `[lo, hi)` is the query value's precision range.
fn number_cond(sql: &mut Sql, col: &str, prefix: Prefix, lo: f64, hi: f64) {
    let mid = (lo + hi) / 2.0;
    match prefix {
        Prefix::Eq => sql.push(&format!("{col} >= ")).arg(lo).push(&format!(" AND {col} < ")).arg(hi),
        Prefix::Ne => sql.push(&format!("NOT ({col} >= ")).arg(lo).push(&format!(" AND {col} < ")).arg(hi).push(")"),
        Prefix::Gt | Prefix::Sa => sql.push(&format!("{col} > ")).arg(mid),
        Prefix::Lt | Prefix::Eb => sql.push(&format!("{col} < ")).arg(mid),
        Prefix::Ge => sql.push(&format!("{col} >= ")).arg(mid),
        Prefix::Le => sql.push(&format!("{col} <= ")).arg(mid),
        Prefix::Ap => sql.push(&format!("{col} >= ")).arg(mid - (mid * 0.1).abs()).push(&format!(" AND {col} <= ")).arg(mid + (mid * 0.1).abs()),
    };
}

fn pred_table(p: &Predicate) -> Option<&'static str> {
    Some(match p {
        Predicate::String { .. } => "idx_string",
        Predicate::Token { .. } | Predicate::TokenText { .. } | Predicate::TokenIn { .. } => "idx_token",
        Predicate::Reference { .. } | Predicate::Compartment { .. } => "idx_reference",
        Predicate::Date { .. } | Predicate::NumberPair { .. } => "idx_date",
        Predicate::Number { .. } => "idx_number",
        Predicate::Quantity { .. } => "idx_quantity",
        Predicate::Uri { .. } => "idx_uri",
        _ => return None,
    })
}

/// A statement selecting the candidate row ids a predicate yields (resource type `ty`).
fn driver_pred(p: &Predicate, ty: &str, sql: &mut Sql) {
    match p {
        Predicate::Id(id) if is_contained_ns(ty) => driver_pred(&contained::local_id(id), ty, sql),
        Predicate::Id(id) => {
            sql.push("SELECT rid FROM resource WHERE deleted = 0 AND type = ").arg(ty.to_owned()).push(" AND id = ").arg(id.clone());
        }
        Predicate::Chain { param, target_type, inner } => {
            sql.push("SELECT c.rid FROM (");
            driver_pred(inner, target_type, sql);
            sql.push(") tt CROSS JOIN resource t ON t.rid = tt.rid CROSS JOIN idx_reference c ON c.param = ").arg(key(ty, param));
            sql.push(" AND c.target_id = t.id AND c.target_type = t.type");
        }
        Predicate::Has { source_type, param, inner } => {
            sql.push("SELECT t.rid FROM (");
            driver_pred(inner, source_type, sql);
            sql.push(") sd CROSS JOIN idx_reference c ON c.rid = sd.rid AND c.param = ").arg(key(source_type, param));
            sql.push(" CROSS JOIN resource t ON t.type = c.target_type AND t.id = c.target_id WHERE t.type = ").arg(ty.to_owned());
        }
        Predicate::Date { param, prefix, lo, hi } => date_driver(sql, key(ty, param), *prefix, *lo, *hi, None),
        Predicate::AnyOf(ps) => {
            for (i, p) in ps.iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ");
                }
                driver_pred(p, ty, sql);
            }
        }
        Predicate::FullText { narrative, words } => {
            sql.push("SELECT rowid AS rid FROM fts.idx_fts WHERE idx_fts MATCH ").arg(fts_query(*narrative, words));
        }
        other => {
            let table = pred_table(other).unwrap_or("idx_token");
            sql.push(&format!("SELECT x.rid FROM {table} x WHERE "));
            cond(other, ty, "x", sql);
        }
    }
}

/// An FTS5 query: every word (quoted; a trailing `*` makes it a prefix) in one column.
fn fts_query(narrative: bool, words: &[String]) -> String {
    let terms: Vec<String> = words
        .iter()
        .map(|w| match w.strip_suffix('*') {
            Some(stem) => format!("\"{}\" *", stem.replace('"', "\"\"")),
            None => format!("\"{}\"", w.replace('"', "\"\"")),
        })
        .collect();
    format!("{} : ({})", if narrative { "narrative" } else { "{narrative content}" }, terms.join(" AND "))
}

/// Date rows are intervals. Narrow ones (at most [`NARROW`] wide: points, days, short stays) are
/// found by a range on their start, which a `(param, wide, lo)` index serves; wide ones (long or
/// open periods) are few and scanned. `window` adds an upper bound on the start from another
/// clause on the same parameter (`date=ge…&date=le…`).
fn date_driver(sql: &mut Sql, k: i64, prefix: Prefix, lo: i64, hi: i64, window: Option<i64>) {
    // The range of starts a narrow interval matching the prefix can have.
    let (from, to) = match prefix {
        Prefix::Eq => (lo, hi),
        Prefix::Gt => (hi.saturating_sub(NARROW), i64::MAX),
        Prefix::Ge => (lo.saturating_sub(NARROW), i64::MAX),
        Prefix::Sa => (hi.saturating_add(1), i64::MAX),
        Prefix::Lt | Prefix::Eb => (i64::MIN, lo),
        Prefix::Le => (i64::MIN, hi),
        Prefix::Ne | Prefix::Ap => (i64::MIN, i64::MAX),
    };
    let to = window.map_or(to, |w| to.min(w));
    sql.push("SELECT x.rid FROM idx_date x WHERE x.param = ").arg(k);
    sql.push(" AND x.wide = 0 AND x.lo >= ").arg(from).push(" AND x.lo <= ").arg(to).push(" AND ");
    range_cond(sql, "x.lo", "x.hi", prefix, lo, hi);
    sql.push(" UNION ALL SELECT x.rid FROM idx_date x WHERE x.param = ").arg(k);
    sql.push(" AND x.wide = 1 AND x.lo <= ").arg(to).push(" AND ");
    range_cond(sql, "x.lo", "x.hi", prefix, lo, hi);
}

/// The widest interval (microseconds) kept in the narrow part of the date index: 31 days.
pub(crate) const NARROW: i64 = 31 * 86_400_000_000;

/// A boolean expression: does the resource with row id `rid` (of type `ty`) satisfy `p`?
/// `depth` makes the aliases of nested probes (chains of chains) distinct.
fn check_pred(p: &Predicate, ty: &str, rid: &str, sql: &mut Sql, depth: usize) {
    let d = depth;
    match p {
        Predicate::Id(id) if is_contained_ns(ty) => check_pred(&contained::local_id(id), ty, rid, sql, depth),
        Predicate::Id(id) => {
            sql.push(&format!("(SELECT id FROM resource WHERE rid = {rid}) = ")).arg(id.clone());
        }
        Predicate::FullText { narrative, words } => {
            sql.push(&format!("{rid} IN (SELECT rowid FROM fts.idx_fts WHERE idx_fts MATCH ")).arg(fts_query(*narrative, words)).push(")");
        }
        Predicate::AnyOf(ps) | Predicate::AllOf(ps) => {
            let (join, empty) = if matches!(p, Predicate::AnyOf(_)) { (" OR ", "0") } else { (" AND ", "1") };
            if ps.is_empty() {
                sql.push(empty);
                return;
            }
            sql.push("(");
            for (i, inner) in ps.iter().enumerate() {
                if i > 0 {
                    sql.push(join);
                }
                check_pred(inner, ty, rid, sql, depth + 1);
            }
            sql.push(")");
        }
        Predicate::LastUpdated { prefix, lo, hi } => {
            // A contained resource has the lastUpdated of its container.
            let rid = owner_of(ty, rid);
            let col = format!("(SELECT v{d}.last_updated FROM version v{d} JOIN resource rr{d} ON v{d}.seq = rr{d}.seq WHERE rr{d}.rid = {rid})");
            range_cond(sql, &col, &col, *prefix, *lo, *hi);
        }
        Predicate::Missing { param, table, missing } => {
            // Present: a value row, or the marker of a value that gave no row (see the indexer).
            let k = key(ty, param);
            sql.push(if *missing { "NOT (" } else { "(" });
            sql.push(&format!("EXISTS (SELECT 1 FROM {} mv{d} WHERE mv{d}.rid = {rid} AND mv{d}.param = ", table_of(*table)))
                .arg(k)
                .push(&format!(") OR EXISTS (SELECT 1 FROM idx_present m{d} WHERE m{d}.rid = {rid} AND m{d}.param = "))
                .arg(k)
                .push("))");
        }
        Predicate::Not(inner) => {
            sql.push("NOT (");
            check_pred(inner, ty, rid, sql, depth + 1);
            sql.push(")");
        }
        Predicate::Chain { param, target_type, inner } => {
            sql.push(&format!(
                "EXISTS (SELECT 1 FROM idx_reference c{d} \
                 JOIN resource t{d} ON t{d}.type = c{d}.target_type AND t{d}.id = c{d}.target_id \
                 WHERE c{d}.rid = {rid} AND t{d}.deleted = 0 AND +c{d}.param = "
            ))
            .arg(key(ty, param))
            .push(&format!(" AND c{d}.target_type = "))
            .arg(target_type.clone())
            .push(" AND ");
            check_pred(inner, target_type, &format!("t{d}.rid"), sql, depth + 1);
            sql.push(")");
        }
        Predicate::Has { source_type, param, inner } => {
            sql.push(&format!(
                "EXISTS (SELECT 1 FROM resource me{d} JOIN idx_reference c{d} ON c{d}.target_id = me{d}.id \
                 AND c{d}.target_type = me{d}.type JOIN resource s{d} ON s{d}.rid = c{d}.rid \
                 WHERE me{d}.rid = {rid} AND s{d}.deleted = 0 AND c{d}.param = "
            ))
            .arg(key(source_type, param))
            .push(" AND ");
            check_pred(inner, source_type, &format!("s{d}.rid"), sql, depth + 1);
            sql.push(")");
        }
        other => {
            let table = pred_table(other).unwrap_or("idx_token");
            // A point lookup on the table's (rid, param, n) key per candidate, whatever the
            // statistics say: `+` keeps the value index from being used for the other terms.
            sql.push(&format!("EXISTS (SELECT 1 FROM {table} x{d} WHERE x{d}.rid = {rid} AND "));
            cond(other, ty, &format!("+x{d}"), sql);
            sql.push(")");
        }
    }
}

fn check_clause(c: &Clause, ty: &str, rid: &str, sql: &mut Sql) {
    sql.push("(");
    for (i, p) in c.any_of.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        check_pred(p, ty, rid, sql, 0);
    }
    if c.any_of.is_empty() {
        sql.push("0");
    }
    sql.push(")");
}

/// The FROM/WHERE part shared by the page and the count: `FROM (driver) d JOIN resource r … WHERE …`.
fn from_where(q: &SearchQuery, ty: &str, sql: &mut Sql) {
    let driver = driver_clause(q);
    match driver {
        Some(i) => {
            sql.push(" FROM ");
            driven(q, ty, i, sql);
            sql.push(" d CROSS JOIN resource r ON r.rid = d.rid WHERE r.type = ").arg(ty.to_owned());
        }
        None => {
            sql.push(" FROM resource r WHERE r.type = ").arg(ty.to_owned());
        }
    }
    sql.push(" AND r.deleted = 0");
    other_clauses(q, ty, "r.rid", driver, sql);
}

/// The clause that drives: the one whose predicates all drive, the most selective.
fn driver_clause(q: &SearchQuery) -> Option<usize> {
    q.clauses.iter().enumerate().filter_map(|(i, c)| clause_rank(c).map(|r| (r, i))).min().map(|(_, i)| i)
}

/// `(SELECT DISTINCT rid FROM (…))`: the candidates of driver clause `i`.
fn driven(q: &SearchQuery, ty: &str, i: usize, sql: &mut Sql) {
    sql.push("(SELECT DISTINCT rid FROM (");
    if let Some((k, prefix, lo, hi, upper)) = date_window(q, i) {
        date_driver(sql, key(ty, k), prefix, lo, hi, Some(upper));
    } else {
        for (k, p) in q.clauses[i].any_of.iter().enumerate() {
            if k > 0 {
                sql.push(" UNION ");
            }
            driver_pred(p, ty, sql);
        }
    }
    sql.push("))");
}

/// ` AND (clause)` for every clause but the driver, on row id `rid`.
fn other_clauses(q: &SearchQuery, ty: &str, rid: &str, driver: Option<usize>, sql: &mut Sql) {
    for (k, c) in q.clauses.iter().enumerate() {
        if driver == Some(k) {
            // The driver's candidates (the union of its predicates' matches) satisfy this clause.
            continue;
        }
        sql.push(" AND ");
        check_clause(c, ty, rid, sql);
    }
}

/// When the driver clause is a lone lower bound on a date (`ge`/`gt`/`sa`) and another clause is
/// a lone upper bound on the same parameter, the upper bound limits the driver's range of starts.
fn date_window(q: &SearchQuery, driver: usize) -> Option<(&str, Prefix, i64, i64, i64)> {
    let [Predicate::Date { param, prefix, lo, hi }] = q.clauses[driver].any_of.as_slice() else { return None };
    if !matches!(prefix, Prefix::Ge | Prefix::Gt | Prefix::Sa) {
        return None;
    }
    let upper = q.clauses.iter().enumerate().filter(|(i, _)| *i != driver).find_map(|(_, c)| match c.any_of.as_slice() {
        [Predicate::Date { param: p2, prefix: Prefix::Le | Prefix::Eb, hi: h2, .. }] if p2 == param => Some(*h2),
        [Predicate::Date { param: p2, prefix: Prefix::Lt, lo: l2, .. }] if p2 == param => Some(*l2),
        _ => None,
    })?;
    Some((param.as_str(), *prefix, *lo, *hi, upper))
}

fn order_by(q: &SearchQuery, ty: &str, sql: &mut Sql) {
    sql.push(" ORDER BY ");
    for (key_, desc) in &q.sort {
        match key_ {
            SortKey::Id => sql.push("r.id"),
            SortKey::LastUpdated => sql.push("(SELECT last_updated FROM version WHERE seq = r.seq)"),
            SortKey::Param { param, table } => sort_value(sql, param, *table, *desc, ty, "r.rid"),
        };
        sql.push(if *desc { " DESC, " } else { " ASC, " });
    }
    sql.push("r.rid ASC");
}

/// The value a resource (row id `rid`) sorts by on a parameter: its least value ascending, its
/// greatest descending.
fn sort_value<'s>(sql: &'s mut Sql, param: &str, table: IndexTable, desc: bool, ty: &str, rid: &str) -> &'s mut Sql {
    let agg = if desc { "MAX" } else { "MIN" };
    let col = match table {
        IndexTable::String => "norm",
        IndexTable::Token => "code",
        IndexTable::Reference => "target_id",
        IndexTable::Date => if desc { "hi" } else { "lo" },
        IndexTable::Number | IndexTable::Quantity => "value",
        IndexTable::Uri => "uri",
    };
    sql.push(&format!("(SELECT {agg}({col}) FROM {} s WHERE s.rid = {rid} AND s.param = ", table_of(table)))
        .arg(key(ty, param))
        .push(")")
}

/// Builds the page statement of a query (for `EXPLAIN QUERY PLAN` tests too).
pub(crate) fn page_sql(q: &SearchQuery) -> Result<Sql, StoreError> {
    let ty = q.resource_type.as_deref().ok_or_else(|| StoreError::Invalid("a search needs a resource type".into()))?;
    let mut sql = Sql::default();
    if q.contained != Contained::Exclude {
        contained::select(q, ty, &mut sql, true);
        return Ok(sql);
    }
    if exact_token(q, ty, &mut sql) {
        return Ok(sql);
    }
    sql.push("SELECT r.type, r.id, r.rid");
    from_where(q, ty, &mut sql);
    if let (Some(after), true) = (q.after, q.sort.is_empty()) {
        sql.push(&format!(" AND r.rid > {after}"));
    }
    order_by(q, ty, &mut sql);
    // Literal integers: a bound LIMIT makes SQLite re-prepare the statement at every new value.
    sql.push(&format!(" LIMIT {} OFFSET {}", q.count.saturating_add(1), q.offset));
    Ok(sql)
}

/// Writes the page statement of a lone exact token with its system (`identifier=system|value`,
/// what a feed's conditional creates and updates ask), when `q` is one (the caller has handled
/// contained searches): its value index yields the row ids in order, so neither `DISTINCT` nor
/// `ORDER BY` needs a temporary b-tree.
fn exact_token(q: &SearchQuery, ty: &str, sql: &mut Sql) -> bool {
    let [Clause { any_of }] = q.clauses.as_slice() else { return false };
    let [p @ Predicate::Token { code: Some(_), system: Some(Some(_)), .. }] = any_of.as_slice() else { return false };
    if !q.sort.is_empty() || is_contained_ns(ty) {
        return false;
    }
    sql.push("SELECT r.type, r.id, r.rid FROM idx_token t CROSS JOIN resource r ON r.rid = t.rid WHERE ");
    cond(p, ty, "t", sql);
    sql.push(" AND r.type = ").arg(ty.to_owned()).push(" AND r.deleted = 0");
    if let Some(after) = q.after {
        sql.push(&format!(" AND t.rid > {after}"));
    }
    sql.push(&format!(" GROUP BY t.rid ORDER BY t.rid LIMIT {} OFFSET {}", q.count.saturating_add(1), q.offset));
    true
}

/// Runs a search.
pub(crate) fn search(c: &Connection, q: &SearchQuery) -> Result<SearchPage, StoreError> {
    let sql = page_sql(q)?;
    let mut st = c.prepare_cached(&sql.text)?;
    let with_local = q.contained != Contained::Exclude;
    let rows = st
        .query_map(params_from_iter(sql.args.iter()), |r| {
            let local: Option<String> = if with_local { r.get(3)? } else { None };
            Ok(((r.get(0)?, r.get(1)?, r.get(2)?), local))
        })?
        .collect::<Result<Vec<((String, String, i64), Option<String>)>, _>>()?;
    let more = rows.len() > q.count;
    let (matches, contained): (Vec<_>, Vec<_>) = rows.into_iter().take(q.count).unzip();
    let total = match q.total {
        TotalMode::None => None,
        // The last page tells the total without counting.
        TotalMode::Accurate | TotalMode::IfCheap if !more && q.after.is_none() && (q.offset == 0 || !matches.is_empty()) => {
            Some(u64::try_from(q.offset + matches.len()).unwrap_or(u64::MAX))
        }
        TotalMode::IfCheap => None,
        TotalMode::Accurate => {
            let ty = q.resource_type.as_deref().unwrap_or_default();
            let mut count = Sql::default();
            if q.contained == Contained::Exclude {
                count.push("SELECT COUNT(*)");
                from_where(q, ty, &mut count);
            } else {
                count.push("SELECT COUNT(*) FROM (");
                contained::select(q, ty, &mut count, false);
                count.push(")");
            }
            let n: i64 = c.prepare_cached(&count.text)?.query_row(params_from_iter(count.args.iter()), |r| r.get(0))?;
            Some(u64::try_from(n).unwrap_or(0))
        }
    };
    Ok(SearchPage { matches, contained, total, more })
}

/// The query plan SQLite chooses for a query's page statement, one line per step.
pub(crate) fn explain(c: &Connection, q: &SearchQuery) -> Result<Vec<String>, StoreError> {
    let sql = page_sql(q)?;
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text))?;
    let rows = st.query_map(params_from_iter(sql.args.iter()), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// `col IN (…)`: the given parameters of a type.
fn params_in(sql: &mut Sql, col: &str, source_type: &str, params: &[String]) {
    sql.push(&format!("{col} IN ("));
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(key(source_type, p));
    }
    if params.is_empty() {
        sql.push("NULL");
    }
    sql.push(")");
}

/// Targets referenced from the given rows (for `_include`), de-duplicated, in first-seen order.
pub(crate) fn include_rows(
    c: &Connection,
    rids: &[i64],
    source_type: &str,
    params: &[String],
    target_type: Option<&str>,
) -> Result<Vec<i64>, StoreError> {
    let mut sql = Sql::default();
    sql.push("SELECT t.rid FROM idx_reference c JOIN resource t ON t.type = c.target_type AND t.id = c.target_id \
              WHERE t.deleted = 0 AND c.rid = ?1 AND ");
    sql.args.push(SqlValue::Null);
    params_in(&mut sql, "c.param", source_type, params);
    if let Some(tt) = target_type {
        sql.push(" AND t.type = ").arg(tt.to_owned());
    }
    collect_rows(c, &sql, rids)
}

/// Everything the given rows reference, through any parameter (for `$everything`).
pub(crate) fn referenced_rows(c: &Connection, rids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut sql = Sql::default();
    sql.push("SELECT t.rid FROM idx_reference c JOIN resource t ON t.type = c.target_type AND t.id = c.target_id \
              WHERE t.deleted = 0 AND c.rid = ?1");
    sql.args.push(SqlValue::Null);
    collect_rows(c, &sql, rids)
}

/// Sources that reference the given rows (for `_revinclude`), de-duplicated, in first-seen order.
pub(crate) fn revinclude_rows(c: &Connection, rids: &[i64], source_type: &str, params: &[String]) -> Result<Vec<i64>, StoreError> {
    let mut sql = Sql::default();
    sql.push("SELECT s.rid FROM resource t JOIN idx_reference c ON c.target_id = t.id AND c.target_type = t.type \
              JOIN resource s ON s.rid = c.rid WHERE s.deleted = 0 AND t.rid = ?1 AND ");
    sql.args.push(SqlValue::Null);
    params_in(&mut sql, "c.param", source_type, params);
    collect_rows(c, &sql, rids)
}

/// Runs `sql` once per row id (bound as the first argument) and gathers distinct results.
fn collect_rows(c: &Connection, sql: &Sql, rids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut st = c.prepare_cached(&sql.text)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut args = sql.args.clone();
    for rid in rids {
        args[0] = SqlValue::Integer(*rid);
        let rows = st.query_map(params_from_iter(args.iter()), |r| r.get::<_, i64>(0))?;
        for r in rows {
            let r = r?;
            if seen.insert(r) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Members of a compartment: one index probe per parameter key, de-duplicated, by row id.
pub(crate) fn compartment_rows(
    c: &Connection,
    target_type: &str,
    target_id: &str,
    keys: &[String],
    since: Option<i64>,
    after_rid: Option<i64>,
    limit: usize,
) -> Result<Vec<i64>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    sql.push("SELECT DISTINCT x.rid FROM idx_reference x JOIN resource r ON r.rid = x.rid WHERE x.param IN (");
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let (ty, p) = k.split_once('.').unwrap_or(("", k));
        sql.arg(key(ty, p));
    }
    sql.push(") AND x.target_id = ").arg(target_id.to_owned());
    sql.push(" AND x.target_type = ").arg(target_type.to_owned());
    sql.push(" AND r.deleted = 0");
    if let Some(s) = since {
        sql.push(" AND (SELECT last_updated FROM version WHERE seq = r.seq) >= ").arg(s);
    }
    if let Some(a) = after_rid {
        sql.push(" AND x.rid > ").arg(a);
    }
    sql.push(" ORDER BY x.rid LIMIT ").arg(i64::try_from(limit).unwrap_or(i64::MAX));
    let mut st = c.prepare_cached(&sql.text)?;
    let rows = st.query_map(params_from_iter(sql.args.iter()), |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
