//! FHIR search semantics, with no I/O.
//!
//! - [`Indexer`] evaluates the R4 SearchParameter expressions (with `weave-fhirpath`) on a resource
//!   and produces the store's index rows;
//! - [`parse_query`] turns FHIR search parameters into the store's [`SearchQuery`].
//!
//! Both use the same normalisation ([`normalize`]) and date ranges ([`dates`]), so what is written
//! is what is searched.

pub mod composite;
pub mod custom;
pub mod dates;
pub mod fulltext;
mod extract;
mod indexer;
mod normalize;
mod parse;
pub mod unions;

pub use indexer::Indexer;
pub use normalize::normalize;
pub use parse::{parse_query, ParsedSearch, SearchError, Include};
pub use weave_store::query::SearchQuery;
