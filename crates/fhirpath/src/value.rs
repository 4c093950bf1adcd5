//! Values an expression produces: nodes borrowed from the input JSON with their FHIR type, and computed System
//! values (Boolean, Integer, Decimal, String, Date, DateTime, Time, Quantity, type info).

use std::rc::Rc;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;
use smallvec::SmallVec;

use crate::datetime::{Temporal, TemporalKind};
use crate::model::{index, Kind, Prim, TypeId};

/// A collection: FHIRPath's only container. Up to two items live inline.
pub type Collection<'a> = SmallVec<[Item<'a>; 2]>;

/// Text that is either borrowed (from the input or the expression) or computed.
#[derive(Debug, Clone)]
pub enum Text<'a> {
    /// Borrowed from the input JSON or the compiled expression.
    Borrowed(&'a str),
    /// Computed during evaluation.
    Owned(Rc<str>),
}

impl Text<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
        }
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text::Owned(Rc::from(s))
    }
}

/// A System.Quantity: a decimal value and a unit (a UCUM code or a FHIRPath calendar keyword such as `week`).
#[derive(Debug, Clone)]
pub struct Quantity<'a> {
    /// The value.
    pub value: Decimal,
    /// The unit as written (`mg`, `[lb_av]`, `week`); `1` for unit-less.
    pub unit: Text<'a>,
}

/// A node of the input JSON: the value, the `_name` extension sibling for primitives, and the FHIR type.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub(crate) value: &'a Value,
    pub(crate) ext: Option<&'a Value>,
    pub(crate) ty: TypeId,
}

pub(crate) static NULL: Value = Value::Null;

impl<'a> Node<'a> {
    /// A node for a resource (its type from `resourceType`).
    pub fn resource(v: &'a Value) -> Node<'a> {
        Node {
            value: v,
            ext: None,
            ty: index().resource_type_of(v).unwrap_or(TypeId::UNKNOWN),
        }
    }
    /// The JSON value (`null` for a primitive that has only an extension).
    pub fn json(&self) -> &'a Value {
        self.value
    }
    /// The `_name` sibling object of a primitive (its `id` and `extension`), if any.
    pub fn primitive_extension(&self) -> Option<&'a Value> {
        self.ext
    }
    /// The FHIR type name (`HumanName`, `code`, `Patient`), or `None` when the model does not describe it.
    pub fn type_name(&self) -> Option<&'static str> {
        index().name(self.ty)
    }
}

/// Type information returned by `type()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// `System` or `FHIR`.
    pub namespace: &'static str,
    /// The type name.
    pub name: &'static str,
}

/// One item of a collection.
#[derive(Debug, Clone)]
pub enum Item<'a> {
    /// A node of the input (or resolved) JSON.
    Node(Node<'a>),
    /// System.Boolean
    Boolean(bool),
    /// System.Integer
    Integer(i64),
    /// System.Decimal
    Decimal(Decimal),
    /// System.String
    String(Text<'a>),
    /// System.Date
    Date(Temporal),
    /// System.DateTime
    DateTime(Temporal),
    /// System.Time
    Time(Temporal),
    /// System.Quantity
    Quantity(Quantity<'a>),
    /// The result of `type()`.
    TypeInfo(TypeInfo),
}

impl<'a> Item<'a> {
    /// A computed string.
    pub(crate) fn string(s: String) -> Item<'a> {
        Item::String(Text::from(s))
    }

    /// The JSON node this item borrows, if it is one.
    pub fn as_node(&self) -> Option<&Node<'a>> {
        match self {
            Item::Node(n) => Some(n),
            _ => None,
        }
    }

    /// The item as a System value: FHIR primitives become Boolean/Integer/…; FHIR Quantity (and its
    /// specialisations) becomes a System.Quantity; everything else is returned unchanged.
    pub fn to_system(&self) -> Item<'a> {
        match self {
            Item::Node(n) => node_to_system(n).unwrap_or_else(|| self.clone()),
            _ => self.clone(),
        }
    }

    /// The string value, for String items and FHIR string-like primitives.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::String(t) => Some(t.as_str()),
            Item::Node(n)
                if matches!(index().prim(n.ty), Some(Prim::String)) || n.ty == TypeId::UNKNOWN =>
            {
                n.value.as_str()
            }
            _ => None,
        }
    }

    /// The type of this item as `type()` reports it.
    pub fn type_info(&self) -> TypeInfo {
        let sys = |name| TypeInfo {
            namespace: "System",
            name,
        };
        match self {
            Item::Node(n) => match n.type_name() {
                Some(name) => TypeInfo {
                    namespace: "FHIR",
                    name,
                },
                None => match n.value {
                    Value::Bool(_) => sys("Boolean"),
                    Value::Number(x) if x.is_i64() => sys("Integer"),
                    Value::Number(_) => sys("Decimal"),
                    Value::String(_) => sys("String"),
                    _ => TypeInfo {
                        namespace: "FHIR",
                        name: "Element",
                    },
                },
            },
            Item::Boolean(_) => sys("Boolean"),
            Item::Integer(_) => sys("Integer"),
            Item::Decimal(_) => sys("Decimal"),
            Item::String(_) => sys("String"),
            Item::Date(_) => sys("Date"),
            Item::DateTime(_) => sys("DateTime"),
            Item::Time(_) => sys("Time"),
            Item::Quantity(_) => sys("Quantity"),
            Item::TypeInfo(_) => sys("TypeInfo"),
        }
    }
}

/// Parses a JSON number's exact text as a decimal.
pub(crate) fn json_decimal(n: &serde_json::Number) -> Option<Decimal> {
    let s = n.as_str();
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

fn node_to_system<'a>(n: &Node<'a>) -> Option<Item<'a>> {
    let idx = index();
    let entry = idx.get(n.ty);
    let prim = match entry.map(|e| e.kind) {
        Some(Kind::Primitive(p)) => p,
        Some(_) => {
            let name = entry?.name;
            return matches!(
                name,
                "Quantity"
                    | "Age"
                    | "Duration"
                    | "Distance"
                    | "Count"
                    | "SimpleQuantity"
                    | "MoneyQuantity"
            )
            .then(|| fhir_quantity(n.value))
            .flatten();
        }
        None => {
            return match n.value {
                Value::Bool(b) => Some(Item::Boolean(*b)),
                Value::Number(x) => match x.as_i64() {
                    Some(i) => Some(Item::Integer(i)),
                    None => json_decimal(x).map(Item::Decimal),
                },
                Value::String(s) => Some(Item::String(Text::Borrowed(s))),
                _ => None,
            }
        }
    };
    Some(match (prim, n.value) {
        (Prim::Boolean, Value::Bool(b)) => Item::Boolean(*b),
        (Prim::Integer, Value::Number(x)) => Item::Integer(x.as_i64()?),
        (Prim::Decimal, Value::Number(x)) => Item::Decimal(json_decimal(x)?),
        (Prim::String, Value::String(s)) => Item::String(Text::Borrowed(s)),
        (Prim::Date, Value::String(s)) => Item::Date(Temporal::parse_date(s)?),
        (Prim::DateTime, Value::String(s)) => {
            let t = Temporal::parse_date_time(s)?;
            Item::DateTime(t)
        }
        (Prim::Time, Value::String(s)) => Item::Time(Temporal::parse_time(s)?),
        _ => return None,
    })
}

/// A FHIR Quantity object as a System.Quantity (UCUM `code` preferred, then `unit`).
pub(crate) fn fhir_quantity(v: &Value) -> Option<Item<'_>> {
    let value = json_decimal(v.get("value")?.as_number()?)?;
    let ucum = v.get("system").and_then(Value::as_str) == Some("http://unitsofmeasure.org");
    let unit = match (
        ucum,
        v.get("code").and_then(Value::as_str),
        v.get("unit").and_then(Value::as_str),
    ) {
        (true, Some(code), _) => code,
        (_, _, Some(unit)) => unit,
        (_, Some(code), None) => code,
        _ => "1",
    };
    Some(Item::Quantity(Quantity {
        value,
        unit: Text::Borrowed(unit),
    }))
}

/// The kind of a temporal item.
pub(crate) fn temporal_kind(item: &Item<'_>) -> Option<(Temporal, TemporalKind)> {
    match item {
        Item::Date(t) => Some((*t, TemporalKind::Date)),
        Item::DateTime(t) => Some((*t, TemporalKind::DateTime)),
        Item::Time(t) => Some((*t, TemporalKind::Time)),
        _ => None,
    }
}
