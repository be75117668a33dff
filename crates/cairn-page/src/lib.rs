//! cairn-page: the page store under cairn's SQL door.
//!
//! Built bottom-up, each layer on the one below:
//!
//! * **pages** (`page.rs`): 8 KiB slotted pages with the seed's header (page id, type, free
//!   space, tuple count, next page, checksum) plus the page LSN for write-ahead logging;
//! * **the disk manager** (`disk.rs`): a file of pages with a header page and a free list,
//!   every read checksum-verified;
//! * **the buffer pool** (`buffer_pool.rs`, `replacer.rs`): frames with pins, dirty bits and
//!   shared/exclusive latches, LRU-2 replacement, WAL-before-data on every write-back;
//! * **the log** (`wal.rs`): LSNs as byte positions, checksummed records chained per
//!   transaction, group commit, torn-tail cutting;
//! * **index keys** (`key.rs`): composite keys of typed values encoded so that byte order is
//!   SQL order, for the B+tree;
//! * **transactions and recovery** (`logrec.rs`, `store.rs`): physiological log records of
//!   page changes, commit, abort with CLRs, and ARIES recovery (analysis, redo, undo).
//!
//! Still to come (issue 4): fuzzy checkpoints that let the log be truncated, full-page images
//! to repair torn pages, logged page free, heap files with overflow pages and free-space
//! tracking, the B+tree and the hash index.

mod buffer_pool;
mod disk;
mod error;
mod key;
mod logrec;
mod page;
mod replacer;
mod store;
mod wal;

pub use buffer_pool::{
    BufferPool, LogFlush, PageRead, PageWrite, PoolStats, Unlogged, DEFAULT_FRAMES,
};
pub use disk::DiskManager;
pub use error::{Error, Result};
pub use key::{compare_values, decode_key, encode_key, KeyError, KeyValue};
pub use page::{Page, PageId, PageType, SlotId, TupleId, MAX_TUPLE_LEN, PAGE_SIZE};
pub use store::{PageStore, StoreOptions, Txn};
pub use wal::{LogRecord, Lsn, TxnId, Wal, MAX_BODY_LEN};
