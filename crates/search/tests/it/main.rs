//! Integration tests of FHIR search (one test binary): the differential test against a
//! brute-force matcher over the R4 examples and Synthea (`differential`), the examples of the
//! specification's search page (`spec_examples`), query plans (`plan`), and searches of contained
//! resources (`contained`).

mod ast;
mod brute;
mod contained;
mod data;
mod differential;
mod gen;
mod modifiers;
mod plan;
mod regressions;
mod spec_examples;
mod terminology;
mod values;
