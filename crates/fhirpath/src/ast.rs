//! The compiled expression tree. The parser resolves function names to [`Func`], type names to [`TypeSpec`] and
//! literals to ready values, so evaluation never looks at strings it could have decided once.

use rust_decimal::Decimal;

use crate::datetime::Temporal;
use crate::error::Pos;
use crate::model::TypeId;

/// A node of the expression tree and where it starts in the source.
#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub(crate) kind: ExprKind,
    pub(crate) pos: Pos,
    /// Height of this subtree (a leaf is 1): bounded by the parser so evaluation and drop cannot overflow the stack.
    pub(crate) depth: u32,
}

impl Expr {
    /// A node, with its height computed from its children.
    pub(crate) fn new(kind: ExprKind, pos: Pos) -> Expr {
        let d = |e: &Expr| e.depth;
        let child = match &kind {
            ExprKind::Member(m) => m.base.as_ref().map_or(0, d),
            ExprKind::Call(c) => c
                .base
                .as_ref()
                .map_or(0, d)
                .max(c.args.iter().map(d).max().unwrap_or(0)),
            ExprKind::Indexer(a, b) | ExprKind::Binary(_, a, b) => a.depth.max(b.depth),
            ExprKind::Neg(a) | ExprKind::Is(a, _) | ExprKind::As(a, _) => a.depth,
            _ => 0,
        };
        Expr {
            kind,
            pos,
            depth: child + 1,
        }
    }
}

/// A literal value.
#[derive(Debug, Clone)]
pub(crate) enum Lit {
    Boolean(bool),
    Integer(i64),
    Decimal(Decimal),
    String(String),
    Date(Temporal),
    DateTime(Temporal),
    Time(Temporal),
    Quantity(Decimal, String),
    /// A literal that lexes but is not a valid value (a time with a zone offset): an error when evaluated.
    Invalid(String),
}

/// Binary operators, in FHIRPath's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Mul,
    Div,
    IntDiv,
    Mod,
    Add,
    Sub,
    Concat,
    Union,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Equiv,
    Ne,
    NotEquiv,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}

/// The System (FHIRPath) primitive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SysType {
    Boolean,
    Integer,
    Decimal,
    String,
    Date,
    DateTime,
    Time,
    Quantity,
}

impl SysType {
    pub(crate) fn from_name(name: &str) -> Option<SysType> {
        Some(match name {
            "Boolean" => SysType::Boolean,
            "Integer" => SysType::Integer,
            "Decimal" => SysType::Decimal,
            "String" => SysType::String,
            "Date" => SysType::Date,
            "DateTime" => SysType::DateTime,
            "Time" => SysType::Time,
            "Quantity" => SysType::Quantity,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            SysType::Boolean => "Boolean",
            SysType::Integer => "Integer",
            SysType::Decimal => "Decimal",
            SysType::String => "String",
            SysType::Date => "Date",
            SysType::DateTime => "DateTime",
            SysType::Time => "Time",
            SysType::Quantity => "Quantity",
        }
    }
}

/// A type named in `is`, `as`, `ofType`: resolved at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeSpec {
    System(SysType),
    Fhir(TypeId),
    /// An unqualified name found in both namespaces (`Quantity`): either matches.
    Both(SysType, TypeId),
    /// A name found nowhere: evaluating the test is an error.
    Unknown(String),
    /// A `System.` name that is not a System type: nothing is of that type.
    Never,
}

/// A node kind.
#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    /// `{}`
    Empty,
    Lit(Lit),
    /// `%name` (an external constant or environment variable).
    Const(String),
    This,
    Index,
    Total,
    /// `base.name`, or `name` on the focus when `base` is `None`.
    Member(Box<Member>),
    /// `base.func(args)`, or `func(args)` on the focus when `base` is `None`.
    Call(Box<Call>),
    Indexer(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Is(Box<Expr>, TypeSpec),
    As(Box<Expr>, TypeSpec),
}

/// A member access.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) base: Option<Expr>,
    pub(crate) name: String,
    /// `_name`: the JSON key of the primitive extension sibling.
    pub(crate) ext_key: String,
    /// When the name is a type name (`Patient`) it may select the focus itself at the start of a path.
    pub(crate) type_filter: Option<TypeId>,
}

/// A function call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) base: Option<Expr>,
    pub(crate) func: Func,
    pub(crate) args: Vec<Expr>,
    /// For `is`/`as`/`ofType`: the type argument resolved once.
    pub(crate) type_arg: Option<TypeSpec>,
    /// For `matches`/`matchesFull`/`replaceMatches` with a literal pattern: the regex compiled once.
    pub(crate) regex: Option<regex::Regex>,
}

macro_rules! funcs {
    ($($variant:ident = $name:literal ($min:literal, $max:literal)),* $(,)?) => {
        /// Every function the engine knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Func { $($variant),* }

        impl Func {
            /// Looks a function up by its FHIRPath name.
            pub(crate) fn from_name(name: &str) -> Option<Func> {
                match name { $($name => Some(Func::$variant),)* _ => None }
            }
            /// The FHIRPath name.
            pub(crate) fn name(self) -> &'static str {
                match self { $(Func::$variant => $name),* }
            }
            /// Minimum and maximum number of arguments.
            pub(crate) fn arity(self) -> (usize, usize) {
                match self { $(Func::$variant => ($min, $max)),* }
            }
        }
    };
}

funcs! {
    Empty = "empty"(0, 0), Exists = "exists"(0, 1), All = "all"(1, 1), AllTrue = "allTrue"(0, 0),
    AnyTrue = "anyTrue"(0, 0), AllFalse = "allFalse"(0, 0), AnyFalse = "anyFalse"(0, 0),
    SubsetOf = "subsetOf"(1, 1), SupersetOf = "supersetOf"(1, 1), Count = "count"(0, 0),
    Distinct = "distinct"(0, 0), IsDistinct = "isDistinct"(0, 0),
    Where = "where"(1, 1), Select = "select"(1, 1), Repeat = "repeat"(1, 1), OfType = "ofType"(1, 1),
    Single = "single"(0, 0), First = "first"(0, 0), Last = "last"(0, 0), Tail = "tail"(0, 0),
    Skip = "skip"(1, 1), Take = "take"(1, 1), Intersect = "intersect"(1, 1), Exclude = "exclude"(1, 1),
    Union = "union"(1, 1), Combine = "combine"(1, 1),
    Iif = "iif"(2, 3), ToBoolean = "toBoolean"(0, 0), ConvertsToBoolean = "convertsToBoolean"(0, 0),
    ToInteger = "toInteger"(0, 0), ConvertsToInteger = "convertsToInteger"(0, 0),
    ToDecimal = "toDecimal"(0, 0), ConvertsToDecimal = "convertsToDecimal"(0, 0),
    ToStringFn = "toString"(0, 0), ConvertsToString = "convertsToString"(0, 0),
    ToDate = "toDate"(0, 0), ConvertsToDate = "convertsToDate"(0, 0),
    ToDateTime = "toDateTime"(0, 0), ConvertsToDateTime = "convertsToDateTime"(0, 0),
    ToTime = "toTime"(0, 0), ConvertsToTime = "convertsToTime"(0, 0),
    ToQuantity = "toQuantity"(0, 1), ConvertsToQuantity = "convertsToQuantity"(0, 1),
    IndexOf = "indexOf"(1, 1), LastIndexOf = "lastIndexOf"(1, 1), Substring = "substring"(1, 2),
    StartsWith = "startsWith"(1, 1), EndsWith = "endsWith"(1, 1), Contains = "contains"(1, 1),
    Upper = "upper"(0, 0), Lower = "lower"(0, 0), Replace = "replace"(2, 2), Matches = "matches"(1, 2),
    MatchesFull = "matchesFull"(1, 2), ReplaceMatches = "replaceMatches"(2, 2), Length = "length"(0, 0),
    ToChars = "toChars"(0, 0), Trim = "trim"(0, 0), Split = "split"(1, 1), Join = "join"(0, 1),
    Encode = "encode"(1, 1), Decode = "decode"(1, 1), Escape = "escape"(1, 1), Unescape = "unescape"(1, 1),
    Abs = "abs"(0, 0), Ceiling = "ceiling"(0, 0), Exp = "exp"(0, 0), Floor = "floor"(0, 0), Ln = "ln"(0, 0),
    Log = "log"(1, 1), Power = "power"(1, 1), Round = "round"(0, 1), Sqrt = "sqrt"(0, 0),
    Truncate = "truncate"(0, 0),
    Children = "children"(0, 0), Descendants = "descendants"(0, 0),
    Trace = "trace"(1, 2), Now = "now"(0, 0), TimeOfDay = "timeOfDay"(0, 0), Today = "today"(0, 0),
    Is = "is"(1, 1), As = "as"(1, 1), Type = "type"(0, 0), Not = "not"(0, 0),
    Aggregate = "aggregate"(1, 2), Sort = "sort"(0, 16),
    LowBoundary = "lowBoundary"(0, 1), HighBoundary = "highBoundary"(0, 1), Precision = "precision"(0, 0),
    Comparable = "comparable"(1, 1),
    YearOf = "yearOf"(0, 0), MonthOf = "monthOf"(0, 0), DayOf = "dayOf"(0, 0), HourOf = "hourOf"(0, 0),
    MinuteOf = "minuteOf"(0, 0), SecondOf = "secondOf"(0, 0), MillisecondOf = "millisecondOf"(0, 0),
    TimezoneOffsetOf = "timezoneOffsetOf"(0, 0), DateOf = "dateOf"(0, 0), TimeOf = "timeOf"(0, 0),
    Sum = "sum"(0, 0), Min = "min"(0, 0), Max = "max"(0, 0), Avg = "avg"(0, 0),
    Extension = "extension"(1, 1), HasValue = "hasValue"(0, 0), GetValue = "getValue"(0, 0),
    Resolve = "resolve"(0, 0), MemberOf = "memberOf"(1, 1), ConformsTo = "conformsTo"(1, 1),
    HtmlChecks = "htmlChecks"(0, 0), Subsumes = "subsumes"(1, 1), SubsumedBy = "subsumedBy"(1, 1),
}

impl Func {
    /// Functions whose arguments are expressions evaluated per input item (with `$this`), not values.
    pub(crate) fn takes_lambda(self) -> bool {
        matches!(
            self,
            Func::Exists
                | Func::All
                | Func::Where
                | Func::Select
                | Func::Repeat
                | Func::Aggregate
                | Func::Sort
                | Func::Iif
                | Func::Trace
        )
    }

    /// Functions that take a type name as their argument.
    pub(crate) fn takes_type(self) -> bool {
        matches!(self, Func::Is | Func::As | Func::OfType)
    }
}
