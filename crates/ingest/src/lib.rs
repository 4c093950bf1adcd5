//! `weave-ingest`: the pure half of Weave's feeds.
pub mod hl7;
