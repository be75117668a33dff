//! cairn-page: the page store under cairn's SQL door.
//!
//! Built bottom-up, each layer on the one below:
//!
//! * **pages** (`page.rs`): 8 KiB slotted pages with the seed's header (page id, type, free
//!   space, tuple count, next page, checksum) plus the page LSN for write-ahead logging;
//! * **the disk manager** (`disk.rs`): a file of pages behind a header page, every read
//!   checksum-verified; which pages are in use is logged state in the store's meta page;
//! * **the buffer pool** (`buffer_pool.rs`, `replacer.rs`): frames with pins, dirty bits and
//!   shared/exclusive latches, LRU-2 replacement, WAL-before-data on every write-back;
//! * **the log** (`wal.rs`, `log_file.rs`): LSNs as byte positions, checksummed records
//!   chained per transaction, group commit, torn-tail cutting, appends made durable by one
//!   direct synchronous write;
//! * **index keys** (`key.rs`): composite keys of typed values encoded so that byte order is
//!   SQL order, for the B+tree;
//! * **the store** (`store.rs`): logging and applying changes under page latches, page
//!   allocation, full-page images, checkpoints (`control.rs`) and log truncation;
//! * **transactions and recovery** (`logrec.rs`, `txn.rs`, `recovery.rs`): physiological log
//!   records, commit, abort with CLRs, and ARIES recovery (analysis, redo, undo), heap changes
//!   undone physically and index changes logically;
//! * **heap files** (`heap.rs`): tuples by `TupleId`, a directory with free-space hints,
//!   overflow chains for values larger than a quarter page;
//! * **the B+tree** (`btree/`): latch crabbing, logical undo, splits, merges and
//!   redistribution, range scans both ways, bulk loading;
//! * **the hash index** (`hash.rs`): linear hashing, logged like the B+tree.
//!
//! ```
//! # fn main() -> cairn_page::Result<()> {
//! # let dir = tempfile::tempdir().expect("tempdir");
//! let store = cairn_page::PageStore::open(dir.path(), Default::default())?;
//! let heap = store.heap(store.create_heap()?)?;
//! let index = store.btree(store.create_btree()?);
//! let mut txn = store.begin()?;
//! let tid = heap.insert(&mut txn, b"a row")?;
//! let tid_bytes = [&tid.0.to_be_bytes()[..], &tid.1.to_be_bytes()[..]].concat();
//! index.insert(&mut txn, b"key", &tid_bytes, true)?;
//! txn.commit()?;
//! assert_eq!(index.get(b"key")?, vec![tid_bytes]);
//! assert_eq!(heap.get(tid)?.as_deref(), Some(&b"a row"[..]));
//! # Ok(())
//! # }
//! ```
//!
//! MVCC (tuple visibility through the `xmin`/`xmax` fields heap tuples already carry) and the
//! lock manager come with a later issue; until then callers must not let two transactions
//! change the same tuple or index key at once.

mod btree;
mod buffer_pool;
mod control;
mod disk;
mod error;
mod hash;
mod heap;
mod key;
mod log_file;
mod logrec;
mod page;
mod recovery;
mod replacer;
mod store;
mod txn;
mod wal;

pub use btree::{BTree, EntryBytes, Range, TreeShape, MAX_ENTRY};
pub use buffer_pool::{
    BufferPool, LogFlush, PageRead, PageWrite, PoolStats, Unlogged, DEFAULT_FRAMES,
};
pub use disk::DiskManager;
pub use error::{Error, Result};
pub use hash::{HashIndex, HashShape, MAX_HASH_ENTRY};
pub use heap::{Heap, HeapScan, INLINE_MAX};
pub use key::{compare_values, decode_key, encode_key, KeyError, KeyValue};
pub use page::{Page, PageId, PageType, SlotId, TupleId, MAX_TUPLE_LEN, PAGE_SIZE};
pub use store::{PageStore, StoreCore, StoreOptions, StoreStats, ROOT_SLOTS};
pub use txn::{SuspendedTxn, Txn};
pub use wal::{LogRecord, Lsn, TxnId, Wal, MAX_BODY_LEN};
