//! Integration tests of FHIR search (one test binary): the differential test against a
//! brute-force matcher over the R4 examples and Synthea (`differential`), the examples of the
//! specification's search page (`spec_examples`), and query plans (`plan`).

mod ast;
mod brute;
mod data;
mod differential;
mod gen;
mod modifiers;
mod plan;
mod regressions;
mod spec_examples;
mod terminology;
mod values;
