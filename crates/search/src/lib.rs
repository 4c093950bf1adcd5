//! FHIR search semantics, with no I/O.
//!
//! - [`Indexer`] evaluates the R4 SearchParameter expressions (with `weave-fhirpath`) on a resource
//!   and produces the store's index rows;
//! - [`parse_query`] turns FHIR search parameters into the store's [`SearchQuery`], consulting a
//!   [`terminology::Terminology`] for token `:in`, `:not-in`, `:above` and `:below`
//!   ([`parse_query_with`]).
//!
//! Resources contained in others are indexed on their own too ([`contained`]), for
//! `_contained=true|both`.
//!
//! Both use the same normalisation ([`normalize`]) and date ranges ([`dates`]), so what is written
//! is what is searched.

pub mod aliases;
pub mod composite;
pub mod contained;
pub mod custom;
pub mod dates;
pub mod fulltext;
mod extract;
mod indexer;
mod normalize;
mod parse;
pub mod terminology;
pub mod unions;

pub use indexer::Indexer;
pub use normalize::normalize;
pub use parse::{needs_terminology, parse_query, parse_query_with, ParsedSearch, SearchError, Include};
pub use weave_store::query::SearchQuery;
