//! The one error type of cairn-page.

use std::path::PathBuf;

use crate::page::PageId;

/// Everything that can go wrong in cairn-page.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tuple that cannot fit in a page even when the page is empty.
    #[error("tuple of {len} bytes exceeds the {max} bytes a page can hold")]
    TupleTooLarge { len: usize, max: usize },

    /// The page has no room for the tuple (another page must take it).
    #[error("page {page} has no room for {needed} more bytes")]
    PageFull { page: PageId, needed: usize },

    /// A slot that holds no tuple.
    #[error("page {page} has no tuple in slot {slot}")]
    NoSuchTuple { page: PageId, slot: u16 },

    /// An insert into a specific slot (redo, undo) found the slot taken.
    #[error("page {page} slot {slot} is not free")]
    SlotInUse { page: PageId, slot: u16 },

    /// A log record that does not decode, or a log that does not fit the pages.
    #[error("log record at LSN {lsn}: {what}")]
    BadLogRecord { lsn: u64, what: String },

    /// An earlier write or fsync of the log failed; what the OS cache held may be lost, so
    /// the store refuses to log more until it is reopened and recovered.
    #[error("the log is poisoned by an earlier I/O failure; reopen the store")]
    Poisoned,

    /// A transaction id that is not active.
    #[error("transaction {txn} is not active")]
    NoSuchTxn { txn: u64 },

    /// A page that fails its checksum or describes something impossible.
    #[error("corrupt page {page} in {file}: {what}")]
    Corrupt {
        file: PathBuf,
        page: PageId,
        what: String,
    },

    /// A file that is not a cairn-page file, or of an unknown version.
    #[error("{file} is not a cairn-page file of a known version: {what}")]
    Format { file: PathBuf, what: String },

    /// Every frame of the buffer pool is pinned: nothing can be evicted for a new page.
    #[error("all {frames} buffer pool frames are pinned")]
    PoolExhausted { frames: usize },

    /// A root slot of the meta page that does not exist.
    #[error("root slot {slot} does not exist (the meta page has 16)")]
    NoSuchRoot { slot: usize },

    /// An index key (with its value) too large for the index's nodes.
    #[error("index entry of {len} bytes exceeds the {max} bytes an index entry may take")]
    KeyTooLarge { len: usize, max: usize },

    /// A unique index already holds the key.
    #[error("duplicate key in unique index {root}")]
    DuplicateKey { root: PageId },

    /// A structure's page that is of another kind (a handle pointing at the wrong page).
    #[error("page {page} is not {expected}")]
    WrongPage {
        page: PageId,
        expected: &'static str,
    },

    /// A page number past the end of the file.
    #[error("page {page} does not exist in {file} ({pages} pages)")]
    NoSuchPage {
        file: PathBuf,
        page: PageId,
        pages: u32,
    },

    /// An I/O error, with the file it concerned.
    #[error("I/O error on {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of cairn-page.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether this is the disk running out of space (`ENOSPC`, `EDQUOT`): nothing was
    /// changed in place, and the operation can succeed once space is freed.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Error::Io { source, .. } if cairn_fs::is_storage_full(source))
    }
}
