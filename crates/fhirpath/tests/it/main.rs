//! Integration tests of `weave-fhirpath`: the official FHIRPath R4 conformance suite, API behaviour, and
//! robustness against malformed input.

mod api;
mod conformance;
mod malformed;
mod patch;

/// The shared test-data folder beside the repository.
pub(crate) fn shared_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}
