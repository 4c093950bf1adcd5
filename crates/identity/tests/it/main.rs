//! Integration tests of `weave-identity`: FEBRL benchmark datasets through `link_csv` (no labels), the
//! synthetic borough's FHIR Patients, and the public API end to end.

mod api;
mod borough;
mod febrl;

/// The shared folder (test data), when present.
pub fn shared() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"));
    p.is_dir().then_some(p)
}
