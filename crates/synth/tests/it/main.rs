//! Integration tests for weave-synth (one test binary; modules per area).

mod common;
mod consistency;
mod determinism;
mod formats;
mod identifiers;
mod statistics;
mod validation;
