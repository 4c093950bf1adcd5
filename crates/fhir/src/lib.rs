//! `weave-fhir`: the FHIR R4 (4.0.1) model embedded as compact generated data ([`model`], [`r4`]),
//! primitive type checks ([`primitives`]), fast structural validation of JSON resources
//! ([`validate`]), OperationOutcome building ([`outcome`]) and NHS number helpers ([`nhs`]).
//!
//! This crate does no I/O: the definitions are compiled in (`data/`, regenerated with
//! `cargo run -p weave-fhir-gen -- <fhir-r4-definitions> crates/fhir/data`).

mod fxhash;
pub mod model;
pub mod nhs;
pub mod outcome;
pub mod primitives;
pub mod validate;

pub use model::r4;
