//! Integration tests of weave-server, driven through `weave_server::app` with
//! `tower::ServiceExt::oneshot` over a fresh temp-dir SQLite store per test (and, for the crash
//! test, through the real `weave serve` binary). Tests that use /work/shared print a notice and
//! pass when it is absent.

mod bad_input;
mod bulk;
mod check;
mod compartment;
mod contained;
mod crash;
mod crash_mllp;
mod deadletter;
mod examples;
mod identity;
mod merge;
mod mllp;
/// One XML test converter for the workspace: the FHIRPath crate's (it also decodes XHTML entities).
#[path = "../../../fhirpath/tests/it/fhir_xml.rs"]
mod fhir_xml;
mod paging;
mod patch;
mod reindex;
mod rest;
mod synthea;
mod terminology;
mod transaction;
