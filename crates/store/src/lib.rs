//! Weave's storage layer.
//!
//! The [`Store`] trait is what the rest of Weave sees: reads, history, the change feed and
//! atomic write jobs ([`WriteTx`]). [`sqlite::SqliteStore`] is the embedded default backend.
//! Only this crate knows SQL.
//!
//! Invariants every backend keeps:
//! - every version of every resource is kept; a delete is a versioned tombstone;
//! - every committed change appends one row to the change feed, in the same transaction, with a
//!   strictly increasing sequence number (`seq`); `lastUpdated` never decreases along `seq`;
//! - a write job's result is delivered only after its transaction is durably committed.

mod api;
mod body;
mod error;
pub mod fulltext;
mod instant;
pub mod query;
pub mod sqlite;
mod types;

pub use api::{write, write_blocking, Inbound, InboundSource, Job, JobOutcome, NewInbound, Store, WriteTx};
pub use body::{prepare_body, stamp_meta, PreparedBody};
pub use error::StoreError;
pub use instant::{format_instant, now_micros, parse_instant};
pub use types::{
    Change, FullText, HistoryPage, HistoryQuery, HistoryScope, IndexEntries, Method, Stored, VersionInfo,
    Written,
};
