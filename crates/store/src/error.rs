//! What can go wrong in a store.

use std::path::PathBuf;

use portwatch_sketch::SketchError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but is not a SQLite database (or is encrypted).
    #[error("{path}: not a SQLite database (is it the right file?)")]
    NotADatabase { path: PathBuf },
    /// A SQLite database of some other program: it has tables but none of
    /// portwatch's, and portwatch will not write its tables beside them.
    #[error("{path}: a SQLite database, but not a portwatch store (it has other tables)")]
    ForeignDatabase { path: PathBuf },
    /// Written by a newer portwatch whose schema this build cannot read.
    #[error(
        "{path}: store schema version {found} is newer than this build understands \
         (up to {supported}); upgrade portwatch"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// Opening or preparing the database failed.
    #[error("cannot open store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    /// A statement failed; `op` says what the store was doing.
    #[error("store error while {op}: {source}")]
    Database {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A stored summary (sketch) could not be read back.
    #[error("stored {what} is unreadable: {source}")]
    Sketch {
        what: &'static str,
        #[source]
        source: SketchError,
    },
    /// A stored value breaks the schema's rules (negative count, unknown code).
    #[error("corrupt store: {what} holds {value}")]
    Corrupt { what: &'static str, value: String },
    /// A count too large for the database's signed 64-bit integers.
    #[error("{what} = {value} does not fit a signed 64-bit integer")]
    OutOfRange { what: &'static str, value: u64 },
    /// The query asks for something the store cannot answer as asked.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The URL names a backend this build does not provide.
    #[error("{url}: {reason}")]
    Unsupported { url: String, reason: &'static str },
}

/// Wraps a driver error with what the store was doing.
pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { op, source }
}
