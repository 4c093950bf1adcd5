//! `weave-identity`: Weave's record-linkage engine — an unsupervised Fellegi–Sunter probabilistic linker
//! for person records (health and social care sources, CSV files, FHIR Patients).
//!
//! * [`Record`] is a person as one source recorded them; [`Record::from_patient`] reads a UK Core Patient.
//! * [`compare`] holds the comparison levels (exact, Jaro-Winkler bands, Soundex, nicknames, swapped names,
//!   date transpositions, postcode sector/district, NHS number with the modulus-11 rule).
//! * Training ([`train()`], [`train_and_dedupe`]) needs no labels: `u` from random pairs, `m` by EM over
//!   blocked pairs, λ from the expected matches among candidates, term-frequency tables for names.
//! * [`dedupe`] / [`link`] score candidate pairs from the [`Settings`] blocking rules and cluster auto-links
//!   into persons; [`score`] explains one pair; [`MatchIndex`] answers "who is this?" incrementally.
//! * [`link_csv`] runs the whole thing on CSV files; [`eval`] measures results against truth;
//!   [`mod@bench`] generates realistic synthetic records and times the pipeline.

pub mod bench;
pub mod blocking;
pub mod compare;
pub mod csv_link;
mod error;
pub mod eval;
pub mod index;
pub mod linker;
pub mod model;
pub mod nicknames;
pub mod pairs;
pub mod record;
pub mod synthetic;
pub mod text;
pub mod train;

pub use blocking::{BlockingRule, KeyPart, Settings};
pub use compare::Field;
pub use csv_link::{link_csv, LinkCsvOptions, LinkReport};
pub use error::Error;
pub use index::MatchIndex;
pub use linker::{
    dedupe, link, train, train_and_dedupe, train_and_link, train_link, Decision, Linkage, Pair,
};
pub use model::{score, Contribution, Model, Score};
pub use record::{Dob, Record, Sex};
