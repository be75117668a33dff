//! cairn-page: the page store under cairn's SQL door.
//!
//! Built bottom-up, each layer on the one below:
//!
//! * **pages** (`page.rs`): 8 KiB slotted pages with the seed's header (page id, type, free
//!   space, tuple count, next page, checksum) plus the page LSN for write-ahead logging;
//! * **the disk manager** (`disk.rs`): a file of pages with a header page and a free list,
//!   every read checksum-verified.
//!
//! Still to come, in this order (issue 4): the buffer pool with its replacer and page
//! latches, the WAL with ARIES recovery, heap files with overflow pages, the B+tree and the
//! hash index, and the storage-level transactions the SQL engine calls.

mod disk;
mod error;
mod page;

pub use disk::DiskManager;
pub use error::{Error, Result};
pub use page::{Page, PageId, PageType, SlotId, TupleId, MAX_TUPLE_LEN, PAGE_SIZE};
