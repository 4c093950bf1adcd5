//! Rendering results in the official test suite's text form: `{"type": "date", "value": "@1974-12-25"}`,
//! `{"type": "Quantity", "value": "4 'cm'"}`; complex values are given as their JSON.

use serde_json::{json, Value};

use crate::datetime::TemporalKind;
use crate::model::{index, Prim};
use crate::quantity::unit_text;
use crate::value::Item;

/// A JSON array of `{"type": T, "value": V}`, one per item, in order.
pub fn result_to_json(collection: &[Item<'_>]) -> Value {
    Value::Array(collection.iter().map(item_to_json).collect())
}

/// One item as `{"type": T, "value": V}`.
pub fn item_to_json(item: &Item<'_>) -> Value {
    let (ty, value) = match item {
        Item::Node(n) => {
            let name = n.type_name();
            let prim = index().prim(n.ty);
            let value = match (prim, n.value) {
                (Some(Prim::Date | Prim::DateTime), Value::String(s)) => {
                    Value::String(format!("@{s}"))
                }
                (Some(Prim::Time), Value::String(s)) => Value::String(format!("@T{s}")),
                (_, Value::String(s)) => Value::String(s.clone()),
                (_, Value::Number(x)) => Value::String(x.to_string()),
                (_, Value::Bool(b)) => Value::String(b.to_string()),
                (_, other) => other.clone(),
            };
            let ty = name.map(str::to_string).unwrap_or_else(|| match n.value {
                Value::Bool(_) => "boolean".into(),
                Value::Number(x) if x.is_i64() => "integer".into(),
                Value::Number(_) => "decimal".into(),
                Value::String(_) => "string".into(),
                _ => "Element".into(),
            });
            (ty, value)
        }
        Item::Boolean(b) => ("boolean".into(), Value::String(b.to_string())),
        Item::Integer(i) => ("integer".into(), Value::String(i.to_string())),
        Item::Decimal(d) => ("decimal".into(), Value::String(d.to_string())),
        Item::String(s) => ("string".into(), Value::String(s.as_str().to_string())),
        Item::Date(t) => ("date".into(), Value::String(t.literal(TemporalKind::Date))),
        Item::DateTime(t) => (
            "dateTime".into(),
            Value::String(t.literal(TemporalKind::DateTime)),
        ),
        Item::Time(t) => ("time".into(), Value::String(t.literal(TemporalKind::Time))),
        Item::Quantity(q) => (
            "Quantity".into(),
            Value::String(format!("{} {}", q.value, unit_text(q.unit.as_str()))),
        ),
        Item::TypeInfo(t) => (
            "TypeInfo".into(),
            json!({"namespace": t.namespace, "name": t.name}),
        ),
    };
    json!({"type": ty, "value": value})
}
