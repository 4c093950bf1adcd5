//! Operators: equality and equivalence, ordering, arithmetic (numbers, strings, quantities, date/time with
//! calendar durations), boolean logic, union and membership.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use serde_json::Value;
use smallvec::smallvec;

use super::{err, single_value, to_bool, EvalResult, Evaluator, Scope};
use crate::ast::{BinOp, Expr};
use crate::datetime::{CalUnit, TemporalKind};
use crate::error::{EvalError, Pos};
use crate::value::{Collection, Item, Quantity, Text};
use crate::{quantity, ucum};

impl<'a> Evaluator<'_, 'a> {
    pub(crate) fn binary(
        &self,
        op: BinOp,
        l: &'a Expr,
        r: &'a Expr,
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        match op {
            BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies => {
                return self.logic(op, l, r, sc)
            }
            _ => {}
        }
        let lv = self.eval(l, sc)?;
        let rv = self.eval(r, sc)?;
        let b = |v: Option<bool>| Ok(v.map(|b| smallvec![Item::Boolean(b)]).unwrap_or_default());
        match op {
            BinOp::Eq => b(equal_collections(&lv, &rv)),
            BinOp::Ne => b(equal_collections(&lv, &rv).map(|x| !x)),
            BinOp::Equiv => b(Some(equivalent_collections(&lv, &rv))),
            BinOp::NotEquiv => b(Some(!equivalent_collections(&lv, &rv))),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (Some(x), Some(y)) = (
                    single_value(&lv, pos, "comparison")?,
                    single_value(&rv, pos, "comparison")?,
                ) else {
                    return Ok(Collection::new());
                };
                let Some(ord) = compare_items(x, y, pos)? else {
                    return Ok(Collection::new());
                };
                b(Some(match op {
                    BinOp::Lt => ord == Ordering::Less,
                    BinOp::Le => ord != Ordering::Greater,
                    BinOp::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                }))
            }
            BinOp::Union => {
                let mut out = Collection::new();
                for item in lv.into_iter().chain(rv) {
                    if !out.iter().any(|o| item_key_equal(o, &item)) {
                        out.push(item);
                    }
                }
                Ok(out)
            }
            BinOp::In | BinOp::Contains => {
                let (needle, hay) = if op == BinOp::In {
                    (&lv, &rv)
                } else {
                    (&rv, &lv)
                };
                match single_value(needle, pos, "membership")? {
                    None => Ok(Collection::new()),
                    Some(x) => b(Some(hay.iter().any(|h| equal_items(x, h) == Some(true)))),
                }
            }
            BinOp::Concat => {
                let s = |v: &Collection<'a>| -> Result<String, EvalError> {
                    Ok(single_value(v, pos, "&")?
                        .map(|i| string_of(i))
                        .unwrap_or_default())
                };
                Ok(smallvec![Item::string(s(&lv)? + &s(&rv)?)])
            }
            _ => {
                let (Some(x), Some(y)) = (
                    single_value(&lv, pos, "arithmetic")?,
                    single_value(&rv, pos, "arithmetic")?,
                ) else {
                    return Ok(Collection::new());
                };
                Ok(arithmetic(op, &x.to_system(), &y.to_system(), pos)?
                    .into_iter()
                    .collect())
            }
        }
    }

    fn logic(&self, op: BinOp, l: &'a Expr, r: &'a Expr, sc: Scope<'_, 'a>) -> EvalResult<'a> {
        let a = to_bool(&self.eval(l, sc)?, l.pos)?;
        // Short-circuit where the left side decides.
        let decided = match (op, a) {
            (BinOp::And, Some(false)) => Some(false),
            (BinOp::Or, Some(true)) => Some(true),
            (BinOp::Implies, Some(false)) => Some(true),
            _ => None,
        };
        let result = if decided.is_some() {
            decided
        } else {
            let b = to_bool(&self.eval(r, sc)?, r.pos)?;
            match op {
                BinOp::And => match (a, b) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
                BinOp::Or => match (a, b) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
                BinOp::Xor => match (a, b) {
                    (Some(x), Some(y)) => Some(x != y),
                    _ => None,
                },
                _ => match (a, b) {
                    (Some(true), b) => b,
                    (None, Some(true)) => Some(true),
                    _ => None,
                },
            }
        };
        Ok(result
            .map(|b| smallvec![Item::Boolean(b)])
            .unwrap_or_default())
    }
}

/// The text of an item for `&` and `join()`.
pub(crate) fn string_of(item: &Item<'_>) -> String {
    super::convert::to_string(item).unwrap_or_default()
}

/// `=` on collections: empty if either is empty or any pair is incomparable.
pub(crate) fn equal_collections(a: &[Item<'_>], b: &[Item<'_>]) -> Option<bool> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a.len() != b.len() {
        return Some(false);
    }
    let mut result = Some(true);
    for (x, y) in a.iter().zip(b) {
        match equal_items(x, y) {
            Some(true) => {}
            Some(false) => return Some(false),
            None => result = None,
        }
    }
    result
}

/// `~` on collections: order-independent, every item has an equivalent partner.
pub(crate) fn equivalent_collections(a: &[Item<'_>], b: &[Item<'_>]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| {
        let found = b
            .iter()
            .enumerate()
            .position(|(i, y)| !used[i] && equivalent_items(x, y));
        found.map(|i| used[i] = true).is_some()
    })
}

/// Item equality (`=`): `None` when the two cannot be compared (different date precisions, units that do not
/// convert).
pub(crate) fn equal_items(a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    if let (Item::Node(x), Item::Node(y)) = (a, b) {
        if std::ptr::eq(x.value, y.value)
            && x.ext.map(std::ptr::from_ref) == y.ext.map(std::ptr::from_ref)
        {
            return Some(true);
        }
    }
    if matches!(a, Item::Node(n) if n.value.is_null())
        || matches!(b, Item::Node(n) if n.value.is_null())
    {
        // A primitive with only an extension has no value to compare.
        return Some(false);
    }
    let (a, b) = dimensionless(a.to_system(), b.to_system());
    match (&a, &b) {
        (Item::Node(x), Item::Node(y)) => Some(json_equal(x.value, y.value)),
        (Item::Boolean(x), Item::Boolean(y)) => Some(x == y),
        (Item::String(x), Item::String(y)) => Some(x.as_str() == y.as_str()),
        (Item::Quantity(x), Item::Quantity(y)) => {
            quantity::compare(x, y).map(|o| o == Ordering::Equal)
        }
        (Item::TypeInfo(x), Item::TypeInfo(y)) => Some(x == y),
        _ => {
            if let (Some(x), Some(y)) = (number(&a), number(&b)) {
                return Some(x == y);
            }
            match temporal_pair(&a, &b) {
                Some((x, y, is_time)) => x.compare(&y, is_time).map(|o| o == Ordering::Equal),
                None => Some(false),
            }
        }
    }
}

/// Equality used for de-duplication (`|`, `distinct()`, `union()`): incomparable counts as different.
pub(crate) fn item_key_equal(a: &Item<'_>, b: &Item<'_>) -> bool {
    equal_items(a, b) == Some(true)
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (crate::value::json_decimal(x), crate::value::json_decimal(y)) {
                (Some(p), Some(q)) => p == q,
                _ => x == y,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Item equivalence (`~`).
pub(crate) fn equivalent_items(a: &Item<'_>, b: &Item<'_>) -> bool {
    let (a, b) = (a.to_system(), b.to_system());
    match (&a, &b) {
        (Item::String(x), Item::String(y)) => normalize_ws(x.as_str()) == normalize_ws(y.as_str()),
        (Item::Quantity(x), Item::Quantity(y)) => quantity::equivalent(x, y),
        (Item::Decimal(_), _) | (_, Item::Decimal(_)) => match (number(&a), number(&b)) {
            (Some(x), Some(y)) => {
                let scale = x.scale().min(y.scale());
                x.round_dp(scale) == y.round_dp(scale)
            }
            _ => false,
        },
        _ => match temporal_pair(&a, &b) {
            Some((x, y, is_time)) => x.equivalent(&y, is_time),
            None => equal_items(&a, &b) == Some(true),
        },
    }
}

/// Case-insensitive, with every whitespace character treated as a space (not collapsed or trimmed).
fn normalize_ws(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect::<String>()
        .to_lowercase()
}

/// A number met by a quantity becomes a quantity of unit '1' (FHIRPath's implicit conversion).
fn dimensionless<'a>(a: Item<'a>, b: Item<'a>) -> (Item<'a>, Item<'a>) {
    let q = |n: rust_decimal::Decimal| {
        Item::Quantity(Quantity {
            value: n,
            unit: Text::Borrowed("1"),
        })
    };
    match (&a, &b) {
        (Item::Quantity(_), x) if number(x).is_some() => {
            let n = number(x).unwrap_or_default();
            (a, q(n))
        }
        (x, Item::Quantity(_)) if number(x).is_some() => {
            let n = number(x).unwrap_or_default();
            (q(n), b)
        }
        _ => (a, b),
    }
}

/// Integer or Decimal as a decimal.
pub(crate) fn number(i: &Item<'_>) -> Option<Decimal> {
    match i {
        Item::Integer(n) => Some(Decimal::from(*n)),
        Item::Decimal(d) => Some(*d),
        _ => None,
    }
}

/// Two temporal values made comparable: a Date meets a DateTime as a DateTime.
fn temporal_pair(
    a: &Item<'_>,
    b: &Item<'_>,
) -> Option<(crate::datetime::Temporal, crate::datetime::Temporal, bool)> {
    match (a, b) {
        (Item::Date(x) | Item::DateTime(x), Item::Date(y) | Item::DateTime(y)) => {
            Some((*x, *y, false))
        }
        (Item::Time(x), Item::Time(y)) => Some((*x, *y, true)),
        _ => None,
    }
}

/// Ordering of two single items: error when the types cannot be ordered against each other.
pub(crate) fn compare_items(
    a: &Item<'_>,
    b: &Item<'_>,
    pos: Pos,
) -> Result<Option<Ordering>, EvalError> {
    let (a, b) = dimensionless(a.to_system(), b.to_system());
    if let (Some(x), Some(y)) = (number(&a), number(&b)) {
        return Ok(Some(x.cmp(&y)));
    }
    match (&a, &b) {
        (Item::String(x), Item::String(y)) => Ok(Some(x.as_str().cmp(y.as_str()))),
        (Item::Quantity(x), Item::Quantity(y)) => Ok(quantity::compare(x, y)),
        _ => match temporal_pair(&a, &b) {
            Some((x, y, is_time)) => Ok(x.compare(&y, is_time)),
            None => err(
                pos,
                format!(
                    "cannot compare {} with {}",
                    a.type_info().name,
                    b.type_info().name
                ),
            ),
        },
    }
}

/// Unary minus.
pub(crate) fn negate<'a>(v: &[Item<'a>], pos: Pos) -> EvalResult<'a> {
    let Some(item) = single_value(v, pos, "unary minus")? else {
        return Ok(Collection::new());
    };
    Ok(smallvec![match item.to_system() {
        Item::Integer(i) => Item::Integer(
            i.checked_neg()
                .ok_or_else(|| EvalError::new(pos, "integer overflow"))?
        ),
        Item::Decimal(d) => Item::Decimal(if d.is_zero() { d } else { -d }),
        Item::Quantity(q) => Item::Quantity(Quantity {
            value: -q.value,
            unit: q.unit
        }),
        other => return err(pos, format!("cannot negate {}", other.type_info().name)),
    }])
}

pub(crate) fn arithmetic<'a>(
    op: BinOp,
    a: &Item<'a>,
    b: &Item<'a>,
    pos: Pos,
) -> Result<Option<Item<'a>>, EvalError> {
    let type_err = || {
        err(
            pos,
            format!(
                "operator cannot take {} and {}",
                a.type_info().name,
                b.type_info().name
            ),
        )
    };
    match (a, b) {
        (Item::Integer(x), Item::Integer(y)) => Ok(int_op(op, *x, *y)),
        (Item::String(x), Item::String(y)) if op == BinOp::Add => {
            Ok(Some(Item::string(format!("{}{}", x.as_str(), y.as_str()))))
        }
        (Item::Quantity(x), Item::Quantity(y)) => {
            quantity::arith(op, x, y).map_or_else(type_err, |q| Ok(q.map(Item::Quantity)))
        }
        (Item::Quantity(x), y) if number(y).is_some() && matches!(op, BinOp::Mul | BinOp::Div) => {
            let n = number(y).unwrap_or_default();
            let one = Quantity {
                value: n,
                unit: Text::Borrowed("1"),
            };
            Ok(quantity::arith(op, x, &one).flatten().map(Item::Quantity))
        }
        (x, Item::Quantity(y)) if number(x).is_some() && op == BinOp::Mul => {
            let one = Quantity {
                value: number(x).unwrap_or_default(),
                unit: Text::Borrowed("1"),
            };
            Ok(quantity::arith(op, &one, y).flatten().map(Item::Quantity))
        }
        (Item::Date(_) | Item::DateTime(_) | Item::Time(_), Item::Quantity(q))
            if matches!(op, BinOp::Add | BinOp::Sub) =>
        {
            temporal_add(a, q, op == BinOp::Sub, pos).map(Some)
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => Ok(dec_op(op, x, y).map(Item::Decimal)),
            _ => type_err(),
        },
    }
}

fn int_op<'a>(op: BinOp, x: i64, y: i64) -> Option<Item<'a>> {
    Some(match op {
        BinOp::Add => Item::Integer(x.checked_add(y)?),
        BinOp::Sub => Item::Integer(x.checked_sub(y)?),
        BinOp::Mul => Item::Integer(x.checked_mul(y)?),
        BinOp::Div => Item::Decimal(Decimal::from(x).checked_div(Decimal::from(y))?),
        BinOp::IntDiv => Item::Integer(x.checked_div(y)?),
        BinOp::Mod => Item::Integer(x.checked_rem(y)?),
        _ => return None,
    })
}

fn dec_op(op: BinOp, x: Decimal, y: Decimal) -> Option<Decimal> {
    match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Div => x.checked_div(y),
        BinOp::IntDiv => x.checked_div(y).map(|d| d.trunc()),
        BinOp::Mod => x.checked_rem(y),
        _ => None,
    }
}

/// Date/time ± a calendar duration (`7 days`, `1 'wk'`). UCUM `a` and `mo` are not calendar units: error.
fn temporal_add<'a>(
    t: &Item<'a>,
    q: &Quantity<'_>,
    subtract: bool,
    pos: Pos,
) -> Result<Item<'a>, EvalError> {
    let unit = match ucum::calendar_keyword(q.unit.as_str()).unwrap_or(q.unit.as_str()) {
        "year" => CalUnit::Year,
        "month" => CalUnit::Month,
        "wk" => CalUnit::Week,
        "d" => CalUnit::Day,
        "h" => CalUnit::Hour,
        "min" => CalUnit::Minute,
        "s" => CalUnit::Second,
        "ms" => CalUnit::Millisecond,
        other => return err(pos, format!("'{other}' is not a calendar duration")),
    };
    let (amount, unit) = if unit == CalUnit::Week {
        (q.value.trunc() * Decimal::from(7), CalUnit::Day)
    } else {
        (q.value.trunc(), unit)
    };
    let amount: i64 = amount
        .try_into()
        .map_err(|_| EvalError::new(pos, "duration out of range"))?;
    let amount = if subtract { -amount } else { amount };
    let (v, kind) =
        crate::value::temporal_kind(t).ok_or_else(|| EvalError::new(pos, "not a date/time"))?;
    let r = v
        .add(amount, unit, kind == TemporalKind::Time)
        .ok_or_else(|| EvalError::new(pos, "date/time out of range"))?;
    Ok(match kind {
        TemporalKind::Date => Item::Date(r),
        TemporalKind::DateTime => Item::DateTime(r),
        TemporalKind::Time => Item::Time(r),
    })
}
