//! Storage errors, classified where they arise so the HTTP edge can map them to a status.

/// An error from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A version-aware write found another version than the one expected.
    #[error("version conflict on {resource_type}/{id}: expected version {expected}, found {found}")]
    VersionConflict { resource_type: String, id: String, expected: u64, found: u64 },
    /// A uniqueness rule was broken (for example the same resource written twice in one job).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request cannot be answered as asked (bad cursor, bad parameter).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// A stored body could not be read back (corruption).
    #[error("stored body is not valid JSON: {0}")]
    Corrupt(String),
    /// The transaction could not be committed; nothing of it was written.
    #[error("the transaction could not be committed: {0}")]
    CommitFailed(String),
    /// The writer thread is gone (the store is shutting down).
    #[error("the store is shutting down")]
    Closed,
    /// Opening or preparing the database file failed.
    #[error("cannot open the store at {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
}
