//! The one error type of cairn-sqlite.

use std::path::PathBuf;

/// Everything that can go wrong reading a SQLite file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused a read.
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },

    /// The file is not a SQLite 3 database, or one this reader cannot read (a newer format).
    #[error("{file} is not a readable SQLite 3 database: {what}")]
    NotSqlite { file: PathBuf, what: String },

    /// The database has a hot rollback journal: a writer was interrupted mid-transaction and
    /// the file holds pages SQLite would roll back before reading.
    #[error(
        "{file}: {journal} is a hot rollback journal (a transaction was interrupted); \
         open the database with SQLite once to roll it back"
    )]
    HotJournal { file: PathBuf, journal: PathBuf },

    /// A page that describes something impossible: out-of-range offsets or page numbers,
    /// cycles, a truncated file, a record that does not decode.
    #[error("{file}: corrupt database: page {page}: {what}")]
    Corrupt {
        file: PathBuf,
        page: u32,
        what: String,
    },

    /// The schema has no table (or view without rows) of this name.
    #[error("no such table: {0}")]
    NoSuchTable(String),

    /// The schema has no index of this name.
    #[error("no such index: {0}")]
    NoSuchIndex(String),

    /// A schema statement this reader does not understand, or a feature it does not have
    /// (a collation other than BINARY, NOCASE and RTRIM, say).
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// A request that does not fit the schema: too many key values for an index, say.
    #[error("{0}")]
    InvalidArgument(String),
}

/// Results of cairn-sqlite.
pub type Result<T, E = Error> = std::result::Result<T, E>;
