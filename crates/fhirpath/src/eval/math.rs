//! Math functions (exact where the operation allows, `f64` for exp/ln/log/power/sqrt), boundaries of uncertain
//! values (`lowBoundary`, `highBoundary`), `precision()`, `comparable()` and date/time component functions.

use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

use super::{err, single_value, EvalResult, Evaluator, Scope};
use crate::ast::{Call, Func};
use crate::datetime::{Precision, TemporalKind};
use crate::error::Pos;
use crate::quantity;
use crate::value::{temporal_kind, Collection, Item, Quantity};

/// Largest decimal precision the engine represents.
const MAX_DECIMAL_DIGITS: i64 = 28;

impl<'a> Evaluator<'_, 'a> {
    pub(crate) fn math_call(
        &self,
        c: &'a Call,
        input: &[Item<'a>],
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        let Some(item) = single_value(input, pos, c.func.name())? else {
            return Ok(Collection::new());
        };
        let item = item.to_system();
        let arg = match c.args.first() {
            Some(a) => {
                let v = self.eval(a, sc)?;
                match single_value(&v, a.pos, "argument")? {
                    Some(x) => Some(x.to_system()),
                    // round() without a precision rounds to an integer.
                    None if c.func == Func::Round => None,
                    None => return Ok(Collection::new()),
                }
            }
            None => None,
        };
        let out = match c.func {
            Func::LowBoundary | Func::HighBoundary => {
                let digits = match &arg {
                    Some(Item::Integer(i)) => Some(*i),
                    Some(_) => return err(pos, "boundary precision must be an integer"),
                    None => None,
                };
                boundary(&item, digits, c.func == Func::HighBoundary)
            }
            Func::Precision => match &item {
                Item::Decimal(d) => Some(Item::Integer(i64::from(d.scale()))),
                other => temporal_kind(other)
                    .map(|(t, k)| Item::Integer(t.precision_digits(k == TemporalKind::Time))),
            },
            Func::Comparable => match (&item, &arg) {
                (Item::Quantity(a), Some(Item::Quantity(b))) => Some(Item::Boolean(
                    quantity::comparable(a.unit.as_str(), b.unit.as_str()),
                )),
                _ => return err(pos, "comparable() needs two quantities"),
            },
            Func::YearOf
            | Func::MonthOf
            | Func::DayOf
            | Func::HourOf
            | Func::MinuteOf
            | Func::SecondOf
            | Func::MillisecondOf
            | Func::TimezoneOffsetOf
            | Func::DateOf
            | Func::TimeOf => component(c.func, &item),
            _ => numeric(c.func, &item, arg.as_ref(), pos)?,
        };
        Ok(out.into_iter().collect())
    }
}

fn component<'a>(func: Func, item: &Item<'a>) -> Option<Item<'a>> {
    let (t, kind) = temporal_kind(item)?;
    match (func, kind) {
        (Func::TimezoneOffsetOf, TemporalKind::DateTime) => {
            return t
                .tz
                .map(|m| Item::Decimal(Decimal::from(m) / Decimal::from(60)));
        }
        (Func::DateOf, TemporalKind::Date) => return Some(item.clone()),
        (Func::DateOf, TemporalKind::DateTime) => return Some(Item::Date(t.date_part())),
        (Func::TimeOf, TemporalKind::DateTime) if t.precision >= Precision::Hour => {
            return Some(Item::Time(t.time_part()));
        }
        (Func::TimezoneOffsetOf | Func::DateOf | Func::TimeOf, _) => return None,
        _ => {}
    }
    let (needed, value) = match func {
        Func::YearOf => (Precision::Year, i64::from(t.year)),
        Func::MonthOf => (Precision::Month, i64::from(t.month)),
        Func::DayOf => (Precision::Day, i64::from(t.day)),
        Func::HourOf => (Precision::Hour, i64::from(t.hour)),
        Func::MinuteOf => (Precision::Minute, i64::from(t.minute)),
        Func::SecondOf => (Precision::Second, i64::from(t.second)),
        _ => (Precision::Millisecond, i64::from(t.millis)),
    };
    let applies = match kind {
        TemporalKind::Time => needed >= Precision::Hour,
        TemporalKind::Date => needed <= Precision::Day,
        TemporalKind::DateTime => true,
    };
    (applies && t.precision >= needed).then_some(Item::Integer(value))
}

/// `sum()`, `min()`, `max()`, `avg()` over numbers or quantities (nodes without a value are skipped).
pub(crate) fn aggregate<'a>(
    func: Func,
    input: &[Item<'a>],
    pos: Pos,
) -> crate::eval::EvalResult<'a> {
    use crate::ast::BinOp;
    let values: Vec<Item<'a>> = input
        .iter()
        .filter(|i| !matches!(i, Item::Node(n) if n.value.is_null()))
        .map(Item::to_system)
        .collect();
    let Some(first) = values.first().cloned() else {
        return Ok(crate::value::Collection::new());
    };
    let mut acc = first;
    for v in &values[1..] {
        acc = match func {
            Func::Min | Func::Max => {
                let ord = crate::eval::ops::compare_items(v, &acc, pos)?;
                let better = if func == Func::Min {
                    ord == Some(std::cmp::Ordering::Less)
                } else {
                    ord == Some(std::cmp::Ordering::Greater)
                };
                if ord.is_none() {
                    return Ok(crate::value::Collection::new());
                }
                if better {
                    v.clone()
                } else {
                    acc
                }
            }
            _ => match crate::eval::ops::arithmetic(BinOp::Add, &acc, v, pos)? {
                Some(x) => x,
                None => return Ok(crate::value::Collection::new()),
            },
        };
    }
    if func == Func::Avg {
        let n = Item::Integer(values.len() as i64);
        acc = match crate::eval::ops::arithmetic(BinOp::Div, &acc, &n, pos)? {
            Some(x) => x,
            None => return Ok(crate::value::Collection::new()),
        };
    }
    if !matches!(acc, Item::Integer(_) | Item::Decimal(_) | Item::Quantity(_))
        && func != Func::Min
        && func != Func::Max
    {
        return err(
            pos,
            format!("{}() needs numbers or quantities", func.name()),
        );
    }
    Ok(std::iter::once(acc).collect())
}

fn as_decimal(item: &Item<'_>) -> Option<Decimal> {
    match item {
        Item::Integer(i) => Some(Decimal::from(*i)),
        Item::Decimal(d) => Some(*d),
        _ => None,
    }
}

fn from_f64<'a>(x: f64) -> Option<Item<'a>> {
    if !x.is_finite() {
        return None;
    }
    format!("{x}")
        .parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_f64_retain(x))
        .map(Item::Decimal)
}

fn numeric<'a>(
    func: Func,
    item: &Item<'a>,
    arg: Option<&Item<'a>>,
    pos: Pos,
) -> Result<Option<Item<'a>>, crate::error::EvalError> {
    if let Item::Quantity(q) = item {
        // abs, ceiling, floor, round and truncate keep the unit.
        if matches!(
            func,
            Func::Abs | Func::Ceiling | Func::Floor | Func::Round | Func::Truncate
        ) {
            let value =
                numeric(func, &Item::Decimal(q.value), arg, pos)?.and_then(|v| as_decimal(&v));
            return Ok(value.map(|value| {
                Item::Quantity(Quantity {
                    value,
                    unit: q.unit.clone(),
                })
            }));
        }
    }
    let Some(d) = as_decimal(item) else {
        return err(
            pos,
            format!(
                "{}() needs a number, got {}",
                func.name(),
                item.type_info().name
            ),
        );
    };
    let int = |d: Decimal| i64::try_from(d).ok().map(Item::Integer);
    let f = || f64::try_from(d).unwrap_or(f64::NAN);
    let arg_f = || arg.and_then(as_decimal).and_then(|a| f64::try_from(a).ok());
    Ok(match func {
        Func::Abs => match item {
            Item::Integer(i) => i.checked_abs().map(Item::Integer),
            _ => Some(Item::Decimal(d.abs())),
        },
        Func::Ceiling => int(d.ceil()),
        Func::Floor => int(d.floor()),
        Func::Truncate => int(d.trunc()),
        Func::Round => {
            let places = match arg {
                Some(Item::Integer(p)) if *p >= 0 => u32::try_from(*p).unwrap_or(28).min(28),
                Some(_) => return err(pos, "round() precision must be a non-negative integer"),
                None => 0,
            };
            Some(Item::Decimal(d.round_dp_with_strategy(
                places,
                RoundingStrategy::MidpointAwayFromZero,
            )))
        }
        Func::Sqrt => {
            if d.is_sign_negative() && !d.is_zero() {
                None
            } else {
                d.sqrt().map(Item::Decimal)
            }
        }
        Func::Exp => from_f64(f().exp()),
        Func::Ln => {
            if d <= Decimal::ZERO {
                None
            } else {
                from_f64(f().ln())
            }
        }
        Func::Log => match arg_f() {
            Some(base) if d > Decimal::ZERO && base > 0.0 && base != 1.0 => {
                from_f64(f().ln() / base.ln())
            }
            _ => None,
        },
        Func::Power => match (item, arg) {
            (Item::Integer(b), Some(Item::Integer(e))) if *e >= 0 => u32::try_from(*e)
                .ok()
                .and_then(|e| b.checked_pow(e))
                .map(Item::Integer),
            (_, Some(Item::Integer(e))) => d.checked_powi(*e).map(Item::Decimal),
            (_, Some(Item::Decimal(e))) if *e == Decimal::new(5, 1) && !d.is_sign_negative() => {
                d.sqrt().map(Item::Decimal)
            }
            _ => arg_f().and_then(|e| from_f64(f().powf(e))),
        },
        _ => return err(pos, format!("'{}' is not a math function", func.name())),
    })
}

/// `lowBoundary`/`highBoundary` of a decimal, quantity or date/time.
fn boundary<'a>(item: &Item<'a>, digits: Option<i64>, high: bool) -> Option<Item<'a>> {
    match item {
        Item::Integer(_) | Item::Decimal(_) => {
            decimal_boundary(as_decimal(item)?, digits, high).map(Item::Decimal)
        }
        Item::Quantity(q) => decimal_boundary(q.value, digits, high).map(|value| {
            Item::Quantity(Quantity {
                value,
                unit: q.unit.clone(),
            })
        }),
        other => {
            let (t, kind) = temporal_kind(other)?;
            let (b, k) = t.boundary(digits, high, kind)?;
            Some(match k {
                TemporalKind::Date => Item::Date(b),
                TemporalKind::DateTime => Item::DateTime(b),
                TemporalKind::Time => Item::Time(b),
            })
        }
    }
}

/// The interval a decimal stands for is ±half a unit in its last digit: 1.587 → [1.5865, 1.5875]. The low
/// boundary of a positive value is truncated to `digits`, the high one rounded half-up; negative values mirror
/// (low(−x) = −high(x)).
fn decimal_boundary(d: Decimal, digits: Option<i64>, high: bool) -> Option<Decimal> {
    let digits = digits.unwrap_or(8);
    if !(0..=MAX_DECIMAL_DIGITS).contains(&digits) {
        return None;
    }
    let digits = u32::try_from(digits).ok()?;
    let negative = d.is_sign_negative() && !d.is_zero();
    let abs = d.abs();
    let half = Decimal::new(5, abs.scale().checked_add(1)?.min(28));
    let want_high = high != negative;
    let mut b = if want_high {
        abs.checked_add(half)?
            .round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero)
    } else {
        abs.checked_sub(half)?
            .round_dp_with_strategy(digits, RoundingStrategy::ToZero)
    };
    b.rescale(digits);
    Some(if negative { -b } else { b })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn b(v: &str, digits: Option<i64>, high: bool) -> String {
        decimal_boundary(Decimal::from_str(v).unwrap(), digits, high)
            .map_or("{}".into(), |d| d.to_string())
    }

    #[test]
    fn decimal_boundaries_match_the_suite() {
        assert_eq!(b("1.587", None, false), "1.58650000");
        assert_eq!(b("1.587", Some(2), false), "1.58");
        assert_eq!(b("-1.587", Some(2), false), "-1.59");
        assert_eq!(b("-1.587", Some(0), false), "-2");
        assert_eq!(b("120", Some(2), false), "119.50");
        assert_eq!(b("-0.0034", Some(1), false), "-0.0");
        assert_eq!(b("1.587", Some(2), true), "1.59");
        assert_eq!(b("0.0034", Some(1), true), "0.0");
        assert_eq!(b("1", Some(0), true), "2");
        assert_eq!(b("12.500", Some(4), true), "12.5005");
        assert_eq!(b("1.587", Some(39), true), "{}");
    }
}
