//! Conversion functions (`toX()` / `convertsToX()`), `toString()` text forms, and dispatch of the remaining
//! single-value functions to the string, math and FHIR modules.

use std::str::FromStr;

use rust_decimal::Decimal;
use smallvec::smallvec;

use super::{err, single, single_value, EvalResult, Evaluator, Scope};
use crate::ast::{Call, Func};
use crate::datetime::{Temporal, TemporalKind};
use crate::error::Pos;
use crate::quantity::unit_text;
use crate::ucum;
use crate::value::{Collection, Item, Quantity, Text};

impl<'a> Evaluator<'_, 'a> {
    pub(crate) fn value_call(
        &self,
        c: &'a Call,
        input: &[Item<'a>],
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        let conv = |target: Func| -> EvalResult<'a> {
            let Some(item) = single_value(input, pos, c.func.name())? else {
                return Ok(Collection::new());
            };
            let unit = match c.args.first() {
                Some(a) => {
                    let v = self.eval(a, sc)?;
                    single(&v, a.pos, "unit")?.and_then(|u| u.as_str().map(str::to_owned))
                }
                None => None,
            };
            let converted = convert(&item.to_system(), target, unit.as_deref());
            if matches!(
                c.func,
                Func::ConvertsToBoolean
                    | Func::ConvertsToInteger
                    | Func::ConvertsToDecimal
                    | Func::ConvertsToString
                    | Func::ConvertsToDate
                    | Func::ConvertsToDateTime
                    | Func::ConvertsToTime
                    | Func::ConvertsToQuantity
            ) {
                Ok(smallvec![Item::Boolean(converted.is_some())])
            } else {
                Ok(converted.into_iter().collect())
            }
        };
        match c.func {
            Func::ToBoolean | Func::ConvertsToBoolean => conv(Func::ToBoolean),
            Func::ToInteger | Func::ConvertsToInteger => conv(Func::ToInteger),
            Func::ToDecimal | Func::ConvertsToDecimal => conv(Func::ToDecimal),
            Func::ToStringFn | Func::ConvertsToString => conv(Func::ToStringFn),
            Func::ToDate | Func::ConvertsToDate => conv(Func::ToDate),
            Func::ToDateTime | Func::ConvertsToDateTime => conv(Func::ToDateTime),
            Func::ToTime | Func::ConvertsToTime => conv(Func::ToTime),
            Func::ToQuantity | Func::ConvertsToQuantity => conv(Func::ToQuantity),
            Func::IndexOf
            | Func::LastIndexOf
            | Func::Substring
            | Func::StartsWith
            | Func::EndsWith
            | Func::Contains
            | Func::Upper
            | Func::Lower
            | Func::Replace
            | Func::Matches
            | Func::MatchesFull
            | Func::ReplaceMatches
            | Func::Length
            | Func::ToChars
            | Func::Trim
            | Func::Split
            | Func::Join
            | Func::Encode
            | Func::Decode
            | Func::Escape
            | Func::Unescape => self.string_call(c, input, pos, sc),
            Func::Abs
            | Func::Ceiling
            | Func::Exp
            | Func::Floor
            | Func::Ln
            | Func::Log
            | Func::Power
            | Func::Round
            | Func::Sqrt
            | Func::Truncate
            | Func::LowBoundary
            | Func::HighBoundary
            | Func::Precision
            | Func::Comparable
            | Func::YearOf
            | Func::MonthOf
            | Func::DayOf
            | Func::HourOf
            | Func::MinuteOf
            | Func::SecondOf
            | Func::MillisecondOf
            | Func::TimezoneOffsetOf
            | Func::DateOf
            | Func::TimeOf => self.math_call(c, input, pos, sc),
            Func::Sum | Func::Min | Func::Max | Func::Avg => {
                super::math::aggregate(c.func, input, pos)
            }
            _ => self.fhir_call(c, input, pos, sc),
        }
    }
}

/// Converts a System value to the target type of a `toX()` function; `None` when it does not convert.
pub(crate) fn convert<'a>(item: &Item<'a>, target: Func, unit: Option<&str>) -> Option<Item<'a>> {
    match target {
        Func::ToBoolean => to_boolean(item).map(Item::Boolean),
        Func::ToInteger => match item {
            Item::Integer(i) => Some(Item::Integer(*i)),
            Item::Boolean(b) => Some(Item::Integer(i64::from(*b))),
            Item::String(s) => parse_integer(s.as_str()).map(Item::Integer),
            _ => None,
        },
        Func::ToDecimal => match item {
            Item::Integer(i) => Some(Item::Decimal(Decimal::from(*i))),
            Item::Decimal(d) => Some(Item::Decimal(*d)),
            Item::Boolean(b) => Some(Item::Decimal(if *b { Decimal::ONE } else { Decimal::ZERO })),
            Item::String(s) => parse_decimal(s.as_str()).map(Item::Decimal),
            _ => None,
        },
        Func::ToStringFn => to_string(item).map(Item::string),
        Func::ToDate => match item {
            Item::Date(t) => Some(Item::Date(*t)),
            Item::DateTime(t) => Some(Item::Date(t.date_part())),
            Item::String(s) => Temporal::parse_date(s.as_str()).map(Item::Date),
            _ => None,
        },
        Func::ToDateTime => match item {
            Item::DateTime(t) | Item::Date(t) => Some(Item::DateTime(*t)),
            Item::String(s) => Temporal::parse_date_time(s.as_str()).map(Item::DateTime),
            _ => None,
        },
        Func::ToTime => match item {
            Item::Time(t) => Some(Item::Time(*t)),
            Item::String(s) => {
                let s = s.as_str();
                Temporal::parse_time(s.strip_prefix('T').unwrap_or(s)).map(Item::Time)
            }
            _ => None,
        },
        Func::ToQuantity => to_quantity(item, unit),
        _ => None,
    }
}

fn to_boolean(item: &Item<'_>) -> Option<bool> {
    match item {
        Item::Boolean(b) => Some(*b),
        Item::Integer(1) => Some(true),
        Item::Integer(0) => Some(false),
        Item::Decimal(d) if *d == Decimal::ONE => Some(true),
        Item::Decimal(d) if d.is_zero() => Some(false),
        Item::String(s) => match s.as_str().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn parse_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `(+|-)?digits(.digits)?` as a decimal.
pub(crate) fn parse_decimal(s: &str) -> Option<Decimal> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (!body.contains('.') || (!frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())));
    if !ok {
        return None;
    }
    Decimal::from_str(s.strip_prefix('+').unwrap_or(s)).ok()
}

fn to_quantity<'a>(item: &Item<'a>, unit: Option<&str>) -> Option<Item<'a>> {
    let q = match item {
        Item::Quantity(q) => q.clone(),
        Item::Integer(i) => Quantity {
            value: Decimal::from(*i),
            unit: Text::Borrowed("1"),
        },
        Item::Decimal(d) => Quantity {
            value: *d,
            unit: Text::Borrowed("1"),
        },
        Item::Boolean(b) => Quantity {
            value: if *b {
                Decimal::new(10, 1)
            } else {
                Decimal::new(0, 1)
            },
            unit: Text::Borrowed("1"),
        },
        Item::String(s) => parse_quantity(s.as_str())?,
        _ => return None,
    };
    match unit {
        None => Some(Item::Quantity(q)),
        Some(u) if u == q.unit.as_str() => Some(Item::Quantity(q)),
        Some(u) => {
            let (from, to) = (ucum::canonical(q.unit.as_str())?, ucum::canonical(u)?);
            if from.dims != to.dims {
                return None;
            }
            let value = q.value.checked_mul(from.factor)?.checked_div(to.factor)?;
            Some(Item::Quantity(Quantity {
                value,
                unit: Text::from(u.to_string()),
            }))
        }
    }
}

/// `'4.5 \'mg\''`, `'1 day'`, `'3'` → a quantity. An unquoted unit must be a calendar keyword.
fn parse_quantity<'a>(s: &str) -> Option<Quantity<'a>> {
    let s = s.trim();
    let (num, rest) = match s.find(' ') {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    };
    let value = parse_decimal(num)?;
    let unit = if rest.is_empty() {
        "1".to_string()
    } else if let Some(q) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        q.to_string()
    } else if ucum::calendar_keyword(rest).is_some() {
        rest.to_string()
    } else {
        return None;
    };
    Some(Quantity {
        value,
        unit: Text::from(unit),
    })
}

/// The `toString()` form of a System value (`None` for nodes of complex type).
pub(crate) fn to_string(item: &Item<'_>) -> Option<String> {
    Some(match item.to_system() {
        Item::String(s) => s.as_str().to_string(),
        Item::Boolean(b) => b.to_string(),
        Item::Integer(i) => i.to_string(),
        Item::Decimal(d) => d.to_string(),
        Item::Date(t) => t.format(TemporalKind::Date),
        Item::DateTime(t) => t.format(TemporalKind::DateTime),
        Item::Time(t) => t.format(TemporalKind::Time),
        Item::Quantity(q) => format!("{} {}", q.value, unit_text(q.unit.as_str())),
        Item::Node(_) | Item::TypeInfo(_) => return None,
    })
}

pub(crate) fn check_string_input<'a>(
    item: &Item<'a>,
    pos: Pos,
    func: Func,
) -> Result<Text<'a>, crate::error::EvalError> {
    match item {
        Item::String(t) => Ok(t.clone()),
        Item::Node(n) => match n.value {
            serde_json::Value::String(s) => Ok(Text::Borrowed(s)),
            _ => err(
                pos,
                format!(
                    "{}() needs a String, got {}",
                    func.name(),
                    item.type_info().name
                ),
            ),
        },
        other => err(
            pos,
            format!(
                "{}() needs a String, got {}",
                func.name(),
                other.type_info().name
            ),
        ),
    }
}
