//! The one error type of cairn-log.
//!
//! Variants are the situations a caller can act on: bad input it can correct (`KeyTooLarge`,
//! `ValueTooLarge`), a directory already in use (`Locked`), damaged or missing files that need
//! an operator (`Corrupt`, `Format`, `Missing`), a store that refuses writes after a failed
//! sync (`Poisoned`), and plain I/O.

use std::path::PathBuf;

/// Everything that can go wrong in cairn-log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key longer than [`crate::MAX_KEY_LEN`].
    #[error("key of {len} bytes exceeds the limit of {max} bytes")]
    KeyTooLarge { len: usize, max: usize },

    /// A value longer than [`crate::MAX_VALUE_LEN`].
    #[error("value of {len} bytes exceeds the limit of {max} bytes")]
    ValueTooLarge { len: usize, max: usize },

    /// Another process (or another handle in this one) holds the directory's lock file.
    #[error("{dir} is in use by another process (lock file {lock} is held)")]
    Locked { dir: PathBuf, lock: PathBuf },

    /// Bytes on disk fail their checksum or describe something impossible. Never returned as data.
    #[error("corrupt data in {file} at offset {offset}: {what}")]
    Corrupt {
        file: PathBuf,
        offset: u64,
        what: String,
    },

    /// A file every store has is gone from a directory that holds a store's data. The store is
    /// not opened (opening it as new, or without that file, would lose data); nothing was
    /// written. A repair rebuilds what it can from the segments.
    #[error("{file} is missing, but {why}: refusing to open the store, nothing was changed")]
    Missing { file: PathBuf, why: String },

    /// A file that is not a cairn-log file, or of a format version this build does not read.
    #[error("{file} is not a cairn-log file of a known version: {what}")]
    Format { file: PathBuf, what: String },

    /// An earlier sync failed; data in the OS cache may be lost, so the store refuses writes
    /// until it is reopened and recovers from what is durable.
    #[error("the store is poisoned by an earlier I/O failure and must be reopened")]
    Poisoned,

    /// The store was closed.
    #[error("the store is closed")]
    Closed,

    /// An I/O error, with the file it concerned.
    #[error("I/O error on {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of cairn-log.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            file: file.into(),
            source,
        }
    }

    /// Whether this is the disk running out of space (`ENOSPC`, `EDQUOT`): nothing was
    /// changed, and the operation can succeed once space is freed.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Error::Io { source, .. } if cairn_fs::is_storage_full(source))
    }

    pub(crate) fn corrupt(file: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Error {
        Error::Corrupt {
            file: file.into(),
            offset,
            what: what.into(),
        }
    }
}

/// Attaches a file name to `std::io::Result`s.
pub(crate) trait IoContext<T> {
    fn at(self, file: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, file: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(file, e))
    }
}
