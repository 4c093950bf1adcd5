//! Errors of the linkage library.

use std::path::PathBuf;

/// Everything that can go wrong while linking.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("need at least two records (and at least one on each side when linking two files)")]
    TooFewRecords,
    #[error("too many records: {0}")]
    TooManyRecords(usize),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: no column named {column:?} (columns: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("unknown field {0:?} (expected given, family, dob, sex, postcode, address, locality, phone or nhs)")]
    UnknownField(String),
    #[error("invalid option: {0}")]
    Options(String),
}
