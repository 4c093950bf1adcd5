//! The values that cross the storage boundary.

use std::sync::Arc;

/// How a version came to be; kept with each version for history's `request.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The HTTP verb as written in a history Bundle.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub(crate) fn from_code(code: i64) -> Method {
        match code {
            0 => Method::Post,
            2 => Method::Patch,
            3 => Method::Delete,
            _ => Method::Put,
        }
    }

    pub(crate) fn code(self) -> i64 {
        match self {
            Method::Post => 0,
            Method::Put => 1,
            Method::Patch => 2,
            Method::Delete => 3,
        }
    }
}

/// One stored version of a resource, as read back.
#[derive(Debug, Clone)]
pub struct Stored {
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    /// Microseconds since the epoch.
    pub last_updated: i64,
    /// Position in the change feed.
    pub seq: i64,
    pub method: Method,
    /// `None` for a deletion tombstone; otherwise the JSON text, `meta.versionId` and
    /// `meta.lastUpdated` included.
    pub body: Option<Arc<str>>,
}

impl Stored {
    /// True when this version is a deletion tombstone.
    pub fn is_deleted(&self) -> bool {
        self.body.is_none()
    }
}

/// The current state of a logical resource, as seen inside a write job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: u64,
    pub deleted: bool,
    pub last_updated: i64,
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub version: u64,
    pub last_updated: i64,
    pub seq: i64,
    /// True when the write created the logical resource (no earlier version existed).
    pub created: bool,
}

/// Which history to list.
#[derive(Debug, Clone)]
pub enum HistoryScope {
    System,
    Type(String),
    Instance(String, String),
}

/// A history request. Results are newest first.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub scope: HistoryScope,
    /// Only versions with `lastUpdated >= since` (microseconds).
    pub since: Option<i64>,
    /// Only versions current at some moment of the inclusive period `(low, high)` (microseconds):
    /// those written within it, and for each resource the version current when it began.
    pub at: Option<(i64, i64)>,
    /// Page size.
    pub count: usize,
    /// Paging cursor: only changes with `seq < before_seq`.
    pub before_seq: Option<i64>,
    /// Freeze the view: ignore changes with `seq > up_to_seq` (keeps totals stable across pages).
    pub up_to_seq: Option<i64>,
}

/// One page of history, newest first.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub entries: Vec<Stored>,
    /// Total number of matching versions in the frozen view.
    pub total: u64,
    /// The highest sequence number the page was computed against.
    pub up_to_seq: i64,
    /// Cursor for the next (older) page, when there is one.
    pub next_before_seq: Option<i64>,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    pub method: Method,
    pub last_updated: i64,
}

/// Search index rows for one resource version, computed outside the store from the search
/// parameter definitions. Each row names its parameter by code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexEntries {
    /// (param, normalized value for prefix/contains matching, exact value)
    pub strings: Vec<(String, String, String)>,
    /// (param, system, code, display/text)
    pub tokens: Vec<(String, Option<String>, String, Option<String>)>,
    /// (param, target type, target id, absolute URL when the reference was not local)
    pub references: Vec<(String, Option<String>, Option<String>, Option<String>)>,
    /// (param, low bound, high bound) in microseconds since the epoch, inclusive.
    pub dates: Vec<(String, i64, i64)>,
    /// (param, value)
    pub numbers: Vec<(String, f64)>,
    /// (param, value, system, code), canonical units where known
    pub quantities: Vec<(String, f64, Option<String>, Option<String>)>,
    /// (param, uri)
    pub uris: Vec<(String, String)>,
    /// Parameters whose expression yields at least one item (for `:missing`), each once.
    pub present: Vec<String>,
    /// Full text: the narrative's words (`_text`) and every string of the resource (`_content`).
    pub text: Option<FullText>,
    /// The rows of each resource contained in this one (`contained[]`), searched with
    /// `_contained=true|both` and never otherwise. The store keeps at most
    /// [`crate::query::MAX_CONTAINED`] of them (by ordinal); their own `contained` and `text`
    /// are not used.
    pub contained: Vec<crate::query::ContainedEntries>,
}

/// The words of a resource for full-text search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullText {
    /// The narrative (`Resource.text.div`) without its markup.
    pub narrative: String,
    /// Every other string value of the resource (`_content` searches both).
    pub content: String,
}

impl IndexEntries {
    /// True when there are no rows at all.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
            && self.tokens.is_empty()
            && self.references.is_empty()
            && self.dates.is_empty()
            && self.numbers.is_empty()
            && self.quantities.is_empty()
            && self.uris.is_empty()
            && self.present.is_empty()
            && self.text.is_none()
            && self.contained.is_empty()
    }
}
