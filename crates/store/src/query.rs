//! The search query the store executes: a conjunction of clauses, each a disjunction of
//! predicates over the index tables, plus sorting, paging and includes.
//!
//! The `weave-search` crate turns FHIR search parameters into this form; the backend turns it
//! into one SQL statement driven by the most selective clause.

/// Comparison prefixes of ordered parameters (date, number, quantity), already reduced to a range
/// test on the indexed `[lo, hi]` interval against the query's `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

/// How a string parameter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringMatch {
    /// Case- and accent-insensitive prefix (the default).
    StartsWith,
    /// Exact, case-sensitive.
    Exact,
    /// Case- and accent-insensitive substring.
    Contains,
}

/// How a uri parameter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriMatch {
    Exact,
    /// The indexed uri is a prefix of the value (`:above`).
    Above,
    /// The value is a prefix of the indexed uri (`:below`).
    Below,
}

/// One test against one parameter's index rows. `param` is the parameter code; the store
/// qualifies it with the resource type the predicate applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `_id`.
    Id(String),
    /// `_lastUpdated` with a prefix over `[lo, hi]` microseconds.
    LastUpdated { prefix: Prefix, lo: i64, hi: i64 },
    /// `norm` is the normalized value (see the search crate's normalization); `exact` the value as
    /// given, compared case-sensitively in `Exact` mode.
    String { param: String, norm: String, exact: Option<String>, mode: StringMatch },
    /// `system` `None`: any system; `Some(None)`: no system (`|code`); `Some(Some(s))`: that system.
    /// `code` `None`: any code in the system (`system|`).
    Token { param: String, system: Option<Option<String>>, code: Option<String> },
    /// `:text` on a token: prefix match on the display / text, case-insensitive.
    TokenText { param: String, text: String },
    /// `:in` a value set: a token whose `(system, code)` is one of `codes`, or a code without a
    /// system (a `code` element: its system is the bound value set's) that is one of them.
    /// `:not-in` is `Not` of it.
    TokenIn { param: String, codes: Vec<(String, String)> },
    /// A local reference `Type/id` (type `None`: any type), or an absolute URL.
    Reference { param: String, target_type: Option<String>, target_id: Option<String>, url: Option<String> },
    Date { param: String, prefix: Prefix, lo: i64, hi: i64 },
    Number { param: String, prefix: Prefix, lo: f64, hi: f64 },
    /// A composite of a token and two numbers (the MolecularSequence coordinates,
    /// `chromosome-variant-coordinate=1$lt345$gt123`): `param` names the composite with the
    /// token folded in; `first` and `second` (prefix and precision range, as for `Number`) must
    /// hold on the same element, whose two numbers are kept together as one row.
    NumberPair { param: String, first: (Prefix, f64, f64), second: (Prefix, f64, f64) },
    Quantity { param: String, prefix: Prefix, lo: f64, hi: f64, system: Option<String>, code: Option<String> },
    Uri { param: String, value: String, mode: UriMatch },
    /// `:missing=true|false`.
    Missing { param: String, table: IndexTable, missing: bool },
    /// `:not` on a token: resources with no matching row (also those with no value at all).
    Not(Box<Predicate>),
    /// A chain: resources whose reference `param` points at a resource of `target_type` that
    /// satisfies `inner` (evaluated on the target).
    Chain { param: String, target_type: String, inner: Box<Predicate> },
    /// `_has:Type:param:...`: resources referenced (by `param` of a `source_type` resource)
    /// from a resource satisfying `inner`.
    Has { source_type: String, param: String, inner: Box<Predicate> },
    /// `_text` (`narrative: true`) or `_content`: every word of `words` (lower-cased, prefix
    /// matches allowed with a trailing `*`) occurs in the narrative / in the resource's strings.
    FullText { narrative: bool, words: Vec<String> },
    /// Any of the predicates (a parameter that is the union of others, e.g. Observation's
    /// `combo-code` = `code` ∪ `component-code`).
    AnyOf(Vec<Predicate>),
    /// All of the predicates (the negation of such a union: `NOT a AND NOT b`).
    AllOf(Vec<Predicate>),
    /// Members of a compartment: resources whose reference parameters (any of `params`) point at
    /// `target_type/target_id`.
    Compartment { params: Vec<String>, target_type: String, target_id: String },
}

/// The index table a parameter lives in (for `:missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTable {
    String,
    Token,
    Reference,
    Date,
    Number,
    Quantity,
    Uri,
}

/// A conjunction member: any of its predicates may hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub any_of: Vec<Predicate>,
}

/// A sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Id,
    LastUpdated,
    /// A parameter; the table decides which value column sorts.
    Param { param: String, table: IndexTable },
}

/// How much of a total to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalMode {
    /// No total.
    None,
    /// A total only when it costs nothing: the last page tells it.
    IfCheap,
    /// Always a total, counting when needed.
    Accurate,
}

/// How many contained resources of one resource are indexed: those with an ordinal below this.
pub const MAX_CONTAINED: usize = 1024;

/// The index rows of one contained resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainedEntries {
    /// Its position in the container's `contained` array.
    pub ordinal: usize,
    pub resource_type: String,
    /// Its local id (`contained[].id`, which `#id` references name).
    pub id: String,
    pub index: crate::IndexEntries,
}

/// Which resources of the type a search looks at (`_contained`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Contained {
    /// Standalone resources only (`_contained=false`, the default).
    #[default]
    Exclude,
    /// Resources contained in others only (`_contained=true`).
    Only,
    /// Both (`_contained=both`).
    Both,
}

/// What a match on a contained resource returns (`_containedType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainedType {
    /// The resource that contains it, once however many of its contained resources match (the
    /// default).
    #[default]
    Container,
    /// The contained resource itself.
    Contained,
}

/// A whole search over one resource type (or all types when `resource_type` is `None`).
///
/// With `contained` other than [`Contained::Exclude`], the clauses are tested on each contained
/// resource of the type on its own: every clause must hold on the same contained resource. Such
/// a search takes no `_has`, `_list`, `_text` or `_content` predicate (the search crate refuses
/// them); chains work (from the contained resource's own references).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub resource_type: Option<String>,
    pub clauses: Vec<Clause>,
    /// (key, descending)
    pub sort: Vec<(SortKey, bool)>,
    pub count: usize,
    /// Skip this many matches (offset paging).
    pub offset: usize,
    /// Keyset paging in the default order: only matches after this row id. Pages stay right
    /// under concurrent writes (new resources come after every existing one; deletions shift
    /// nothing). Ignored when `sort` is given. With contained resources, it applies to the
    /// row id of the resource returned (a container or a standalone one); it is not meant for
    /// [`ContainedType::Contained`], where several matches share a container (page by offset).
    pub after: Option<i64>,
    pub total: TotalMode,
    pub contained: Contained,
    pub contained_type: ContainedType,
}

impl SearchQuery {
    /// Whether any clause reads the full-text index (`_text`, `_content`, also inside chains,
    /// `_has`, negations and unions).
    pub fn uses_full_text(&self) -> bool {
        fn uses(p: &Predicate) -> bool {
            match p {
                Predicate::FullText { .. } => true,
                Predicate::Not(inner) | Predicate::Chain { inner, .. } | Predicate::Has { inner, .. } => uses(inner),
                Predicate::AnyOf(ps) | Predicate::AllOf(ps) => ps.iter().any(uses),
                _ => false,
            }
        }
        self.clauses.iter().flat_map(|c| &c.any_of).any(uses)
    }

    /// A query for every live resource of a type.
    pub fn all(resource_type: &str) -> SearchQuery {
        SearchQuery {
            resource_type: Some(resource_type.to_owned()),
            clauses: Vec::new(),
            sort: Vec::new(),
            count: 50,
            offset: 0,
            after: None,
            total: TotalMode::None,
            contained: Contained::Exclude,
            contained_type: ContainedType::Container,
        }
    }
}

/// One page of search results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// (type, id, internal row id) of the matches on this page, in order. A match on a
    /// contained resource names its container (see `contained`).
    pub matches: Vec<(String, String, i64)>,
    /// One per match: under [`ContainedType::Contained`], the local id (`contained[].id`) of the
    /// contained resource that matched inside the resource `matches` names; `None` for a match
    /// that is the resource itself.
    pub contained: Vec<Option<String>>,
    pub total: Option<u64>,
    /// True when more matches follow this page.
    pub more: bool,
}
