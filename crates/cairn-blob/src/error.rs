//! The one error type of cairn-blob.

use std::path::PathBuf;

use crate::atom::AtomHash;

/// Everything that can go wrong in the blob store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused a read or write.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The atom index (a cairn-log store) failed.
    #[error("atom index: {0}")]
    Index(#[from] cairn_log::Error),

    /// A name the store refuses: empty, over 1 KiB, or holding `/`, `..` or a control character.
    #[error("invalid name {name:?}: {why}")]
    InvalidName { name: String, why: &'static str },

    /// No file of this name (or version) is stored.
    #[error("no such file: {0}")]
    NotFound(String),

    /// An atom a manifest needs is not in the backend.
    #[error("atom {0} is missing from the backend")]
    MissingAtom(AtomHash),

    /// An atom read back does not hash to its name: it is damaged and is not served.
    #[error("atom {hash} is corrupt: {why}")]
    CorruptAtom { hash: AtomHash, why: String },

    /// A record of the index or a manifest that does not decode.
    #[error("damaged index record {key}: {why}")]
    CorruptRecord { key: String, why: String },

    /// The reconstructed file does not hash to the manifest's whole-file hash.
    #[error("{name}: the reconstructed file's SHA-256 does not match the manifest")]
    FileHashMismatch { name: String },

    /// The backend failed.
    #[error("backend: {0}")]
    Backend(String),

    /// A setting that cannot be used.
    #[error("{0}")]
    InvalidArgument(String),
}

impl Error {
    /// Whether the disk (or a quota) is full: the request may succeed once space is freed.
    pub fn is_storage_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => is_storage_full(source),
            Error::Index(e) => e.is_storage_full(),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Results of cairn-blob.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub use cairn_fs::is_storage_full;
