//! Quantity comparison and arithmetic through UCUM canonical units, in exact decimal arithmetic.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use crate::ast::BinOp;
use crate::ucum::{self, Canonical};
use crate::value::{Quantity, Text};

fn same_unit(a: &Quantity<'_>, b: &Quantity<'_>) -> bool {
    let norm = |u: &str| ucum::calendar_keyword(u).unwrap_or(u).to_string();
    norm(a.unit.as_str()) == norm(b.unit.as_str())
}

/// Both values in the canonical units of their common dimension, or `None` when the units do not convert.
fn canonical_pair(a: &Quantity<'_>, b: &Quantity<'_>) -> Option<(Decimal, Decimal)> {
    if same_unit(a, b) {
        return Some((a.value, b.value));
    }
    let (ca, cb): (Canonical, Canonical) = (
        ucum::canonical(a.unit.as_str())?,
        ucum::canonical(b.unit.as_str())?,
    );
    if ca.dims != cb.dims {
        return None;
    }
    Some((
        a.value.checked_mul(ca.factor)?,
        b.value.checked_mul(cb.factor)?,
    ))
}

/// Orders two quantities; `None` when their units are not comparable.
pub(crate) fn compare(a: &Quantity<'_>, b: &Quantity<'_>) -> Option<Ordering> {
    canonical_pair(a, b).map(|(x, y)| x.cmp(&y))
}

/// `~`: equal after rounding both to the precision of the less precise one.
pub(crate) fn equivalent(a: &Quantity<'_>, b: &Quantity<'_>) -> bool {
    match canonical_pair(a, b) {
        Some((x, y)) => {
            let scale = x.scale().min(y.scale());
            x.round_dp(scale) == y.round_dp(scale)
        }
        None => false,
    }
}

/// Whether two units can be converted into each other (`comparable()`).
pub(crate) fn comparable(a: &str, b: &str) -> bool {
    match (ucum::canonical(a), ucum::canonical(b)) {
        (Some(x), Some(y)) => x.dims == y.dims,
        _ => a == b,
    }
}

/// `+ - * /` on quantities. `Some(None)` is an empty result (division by zero); `None` means the units do not
/// allow the operation (an error).
pub(crate) fn arith<'a>(
    op: BinOp,
    a: &Quantity<'a>,
    b: &Quantity<'_>,
) -> Option<Option<Quantity<'a>>> {
    match op {
        BinOp::Add | BinOp::Sub => {
            let value = if same_unit(a, b) {
                b.value
            } else {
                let (ca, cb) = (
                    ucum::canonical(a.unit.as_str())?,
                    ucum::canonical(b.unit.as_str())?,
                );
                if ca.dims != cb.dims {
                    return None;
                }
                b.value.checked_mul(cb.factor)?.checked_div(ca.factor)?
            };
            let v = if op == BinOp::Add {
                a.value.checked_add(value)
            } else {
                a.value.checked_sub(value)
            };
            Some(v.map(|value| Quantity {
                value,
                unit: a.unit.clone(),
            }))
        }
        BinOp::Mul => {
            let unit = combine_units(a.unit.as_str(), b.unit.as_str(), '.');
            Some(
                a.value
                    .checked_mul(b.value)
                    .map(|value| Quantity { value, unit }),
            )
        }
        BinOp::Div => {
            if b.value.is_zero() {
                return Some(None);
            }
            let unit = combine_units(a.unit.as_str(), b.unit.as_str(), '/');
            Some(
                a.value
                    .checked_div(b.value)
                    .map(|value| Quantity { value, unit }),
            )
        }
        _ => None,
    }
}

fn combine_units<'a>(a: &str, b: &str, op: char) -> Text<'a> {
    let wrap = |u: &str| {
        let u = ucum::calendar_keyword(u).unwrap_or(u);
        if u.contains(['.', '/']) {
            format!("({u})")
        } else {
            u.to_string()
        }
    };
    let text = match (a, b, op) {
        (a, "1", _) => ucum::calendar_keyword(a).unwrap_or(a).to_string(),
        ("1", b, '.') => ucum::calendar_keyword(b).unwrap_or(b).to_string(),
        _ => format!("{}{op}{}", wrap(a), wrap(b)),
    };
    Text::from(text)
}

/// The unit as it appears in a quantity's text form: calendar keywords bare, UCUM codes quoted.
pub(crate) fn unit_text(unit: &str) -> String {
    if ucum::calendar_keyword(unit).is_some() {
        unit.to_string()
    } else {
        format!("'{unit}'")
    }
}
