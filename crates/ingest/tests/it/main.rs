//! Integration tests of weave-ingest (one binary, modules inside).

mod bad_input;
mod common;
mod shared_hl7;
mod synth;
