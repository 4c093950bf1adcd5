//! `weave-synth`: a deterministic synthetic "place" for Weave — people on a UK-shaped age pyramid with
//! frailty-driven life courses, and every source writing its own native format: GP practices, mental-health
//! and community trusts as FHIR R4 transaction bundles (UK Core shape), the acute trust as HL7 v2.4 ADT/ORU
//! messages, the council as quarterly CLD CSV extracts — plus pure-FHIR renderings of the hospital and
//! council data and a `truth.json` with the linkage truth and planted effects.
//!
//! Entry points: [`generate`] writes a directory (layout in docs/synth.md), [`generate_fhir`] yields all
//! FHIR transaction bundles in memory (place first), [`simulate`] returns the ground-truth model and
//! [`bench`] times a run. Output is a pure function of [`SynthConfig`]: same config, same bytes.

pub mod cld;
pub mod codes;
pub mod config;
pub mod costs;
pub mod date;
pub mod efi;
pub mod fhir;
pub mod frailty;
pub mod hl7;
pub mod hospital;
pub mod identity;
mod lifecourse;
pub mod model;
pub mod names;
mod output;
pub mod people;
pub mod place;
pub mod rng;
pub mod social_care;
pub mod stats;
pub mod truth;
mod world;

pub use config::{Summary, SynthConfig, SynthError};
pub use date::{Date, DateTime};
pub use output::{bench, generate, generate_fhir, write_world, BenchReport, FhirBundles};
pub use world::{simulate, World};
