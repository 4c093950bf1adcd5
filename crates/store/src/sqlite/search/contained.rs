//! Searching contained resources (`_contained=true|both`, `_containedType`).
//!
//! Each contained resource (of type `T`, at ordinal `o` of its container's `contained` array) is
//! indexed like a resource of its own, under a *virtual row id* `-(rid × 1024 + o + 1)` derived
//! from its container's row id `rid`: negative, so never a real row id, and a container's
//! contained rows are one range of the `(rid, param, n)` keys (deleted together). Its parameters
//! are keyed in the namespace `T#contained` (`param_key("T#contained", code)`), so a search on
//! `T` never meets them, and a marker token row `T#contained._id` holds its local id.
//!
//! A search over contained resources tests every clause on one virtual row: all of them hold on
//! the same contained resource. Every other path (includes, `_has`, chains, compartments) joins
//! the `resource` table on the row id, which virtual rows are never in.

use super::{driven, driver_clause, from_where, key, other_clauses, sort_value, Sql};
use crate::query::{Contained, ContainedType, Predicate, SearchQuery, SortKey, MAX_CONTAINED};

/// Virtual row ids per container (see the module documentation).
const SLOTS: i64 = MAX_CONTAINED as i64;

/// What the parameter namespace of a contained type ends with.
const SUFFIX: &str = "#contained";

/// The parameter under which a contained resource's local id is kept (its marker row).
pub(crate) const LOCAL_ID: &str = "_id";

/// The row id under which the contained resource at `ordinal` of the resource `rid` is indexed;
/// `None` past [`MAX_CONTAINED`] (or for a row id too large to multiply).
pub(crate) fn virtual_rid(rid: i64, ordinal: usize) -> Option<i64> {
    let ordinal = i64::try_from(ordinal).ok().filter(|o| *o < SLOTS)?;
    rid.checked_mul(SLOTS)?.checked_add(ordinal + 1).map(|v| -v)
}

/// The range `[lo, hi]` of the virtual row ids of the resource `rid`'s contained resources.
pub(crate) fn virtual_range(rid: i64) -> Option<(i64, i64)> {
    Some((virtual_rid(rid, MAX_CONTAINED - 1)?, virtual_rid(rid, 0)?))
}

/// The namespace of the parameters of contained resources of type `ty`.
pub(crate) fn contained_ns(ty: &str) -> String {
    format!("{ty}{SUFFIX}")
}

/// True for a namespace made by [`contained_ns`].
pub(super) fn is_contained_ns(ty: &str) -> bool {
    ty.ends_with(SUFFIX)
}

/// The row id that holds the resource's own data (its version, its `lastUpdated`): the
/// container's for a contained resource.
pub(super) fn owner_of(ty: &str, rid: &str) -> String {
    if is_contained_ns(ty) {
        format!("((-{rid} - 1) / {SLOTS})")
    } else {
        rid.to_owned()
    }
}

/// `_id` on a contained resource: its local id, as its marker row holds it.
pub(super) fn local_id(id: &str) -> Predicate {
    Predicate::Token { param: LOCAL_ID.to_owned(), system: None, code: Some(id.to_owned()) }
}

/// The statement of a search over contained resources: `(type, id, rid, local id)` of each
/// match, `rid` being the resource to read (a container, or a standalone match); with `page`,
/// ordered and limited, otherwise as the body of a count.
///
/// The matches are the union of the standalone part (`_contained=both`) and the contained part,
/// each row `(rid, vrid, s0, s1, …)` with the sort values of its own resource. Under
/// `_containedType=container` they are grouped by `rid` (a container once, sorted by the best
/// value of its matching contained resources); under `contained` each is a match, ordered
/// within its container by ordinal.
pub(super) fn select(q: &SearchQuery, ty: &str, sql: &mut Sql, page: bool) {
    let ns = contained_ns(ty);
    let each = q.contained_type == ContainedType::Contained;
    sql.push("SELECT r.type, r.id, r.rid, ");
    if each {
        sql.push("(SELECT m.code FROM idx_token m WHERE m.rid = u.vrid AND m.param = ").arg(key(&ns, LOCAL_ID)).push(")");
    } else {
        sql.push("NULL");
    }
    sql.push(" FROM (");
    if !each {
        sql.push("SELECT rid, NULL AS vrid");
        for (i, (k, desc)) in q.sort.iter().enumerate() {
            if matches!(k, SortKey::Param { .. }) {
                let agg = if *desc { "MAX" } else { "MIN" };
                sql.push(&format!(", {agg}(s{i}) AS s{i}"));
            }
        }
        sql.push(" FROM (");
    }
    if q.contained == Contained::Both {
        sql.push("SELECT r.rid AS rid, NULL AS vrid");
        sort_values(q, ty, "r.rid", sql);
        from_where(q, ty, sql);
        sql.push(" UNION ALL ");
    }
    contained_part(q, &ns, sql);
    if !each {
        sql.push(") GROUP BY rid");
    }
    sql.push(") u CROSS JOIN resource r ON r.rid = u.rid WHERE r.deleted = 0");
    if let (Some(after), true) = (q.after, q.sort.is_empty()) {
        sql.push(&format!(" AND r.rid > {after}"));
    }
    if page {
        order_by(q, each, sql);
        // Literal integers, as for other searches (a bound LIMIT re-prepares at each value).
        sql.push(&format!(" LIMIT {} OFFSET {}", q.count.saturating_add(1), q.offset));
    }
}

/// The contained resources (of namespace `ns`) on which every clause holds: `(rid, vrid, s…)`.
/// Without a clause that drives, every contained resource of the type (its marker rows).
fn contained_part(q: &SearchQuery, ns: &str, sql: &mut Sql) {
    sql.push(&format!("SELECT {} AS rid, d.rid AS vrid", owner_of(ns, "d.rid")));
    sort_values(q, ns, "d.rid", sql);
    sql.push(" FROM ");
    let driver = driver_clause(q);
    match driver {
        Some(i) => driven(q, ns, i, sql),
        None => {
            sql.push("(SELECT x.rid FROM idx_token x WHERE x.param = ").arg(key(ns, LOCAL_ID)).push(")");
        }
    }
    // Only virtual rows: the namespace keeps real ones out already, this keeps out any chance.
    sql.push(" d WHERE d.rid < 0");
    other_clauses(q, ns, "d.rid", driver, sql);
}

/// `, (value) AS s{i}` for each sort key on a parameter.
fn sort_values(q: &SearchQuery, ty: &str, rid: &str, sql: &mut Sql) {
    for (i, (k, desc)) in q.sort.iter().enumerate() {
        if let SortKey::Param { param, table } = k {
            sql.push(", ");
            sort_value(sql, param, *table, *desc, ty, rid).push(&format!(" AS s{i}"));
        }
    }
}

/// The order of the matches: the sort keys (`_id` and `_lastUpdated` are those of the resource
/// read: the container of a contained match), then row id, and ordinal within a container.
fn order_by(q: &SearchQuery, each: bool, sql: &mut Sql) {
    sql.push(" ORDER BY ");
    for (i, (k, desc)) in q.sort.iter().enumerate() {
        match k {
            SortKey::Id => sql.push("r.id"),
            SortKey::LastUpdated => sql.push("(SELECT last_updated FROM version WHERE seq = r.seq)"),
            SortKey::Param { .. } => sql.push(&format!("u.s{i}")),
        };
        sql.push(if *desc { " DESC, " } else { " ASC, " });
    }
    // A standalone match sorts before the contained resources of the same row (if it has any).
    if each {
        sql.push(&format!("COALESCE(-u.vrid, u.rid * {SLOTS}) ASC"));
    } else {
        sql.push("r.rid ASC");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_rows_are_negative_and_ranged_by_container() {
        assert_eq!(virtual_rid(1, 0), Some(-1025));
        assert_eq!(virtual_rid(1, 1023), Some(-2048));
        assert_eq!(virtual_rid(1, 1024), None);
        assert_eq!(virtual_range(1), Some((-2048, -1025)));
        // Neighbouring containers' ranges do not meet.
        assert_eq!(virtual_range(2), Some((-3072, -2049)));
        assert_eq!(virtual_rid(i64::MAX / 2, 0), None);
        for (rid, ord) in [(1i64, 0usize), (7, 5), (123_456, 1023)] {
            let v = virtual_rid(rid, ord).unwrap();
            assert_eq!((-v - 1) / SLOTS, rid);
        }
        assert!(is_contained_ns(&contained_ns("Medication")));
        assert!(!is_contained_ns("Medication"));
    }
}
