//! `weave-ingest`: the pure half of Weave's feeds — bytes in, FHIR JSON out, no I/O.
//!
//! * [`hl7`] — HL7 v2 ER7 parser (delimiters from MSH, escapes, repetitions, components,
//!   subcomponents, any segment terminator, batch splitting), errors with positions.
//! * [`ack`] — original-mode ACKs (AA/AE/AR with MSA and ERR), also for unparseable input.
//! * [`map`] — HL7 → FHIR transaction Bundles: [`adt`] (A01–A08, A11–A13, A28, A31, A34, A40,
//!   the `ZFT` frailty review) and [`oru`] (ORU^R01 → DiagnosticReport + Observations), with a
//!   Provenance per message and a [`map::MergeInstruction`] for merges.
//! * [`cld`] — the council's Client Level Data CSV: row validation with a line-numbered report,
//!   and FHIR (Patient, ServiceRequest, Task, EpisodeOfCare, CarePlan) per person.
//! * [`pipeline`] — one HL7 message from bytes to Bundle and ACK, for the MLLP listener.
//! * [`time`] (HL7 date/times → FHIR, Europe/London offsets) and [`ucum`] (recognising UCUM units).
//!
//! Fuzz targets (`hl7`, `cld`) are in `crates/ingest/fuzz` (`cargo fuzz run hl7`).
//! Mapping tables: `docs/mappings/hl7v2.md` and `docs/mappings/cld.md`.

pub mod ack;
pub mod adt;
pub mod cld;
mod fhir;
pub mod hl7;
pub mod map;
pub mod oru;
pub mod pipeline;
pub mod time;
pub mod ucum;
