//! A reader for a batch of lookups, such as the commands of one pipeline.
//!
//! A lookup finds the segment holding a record in the table of open segments, an immutable
//! map behind an `ArcSwap` (table.rs). Loading that map is the dearest step of reading a
//! small value from a hot key: two atomic read-modify-writes, one to borrow it and one to
//! give it back. A `Reader` loads it once and keeps it for all its lookups.
//!
//! Invariant: a `Reader` sees every record the store holds, whenever it was created. The
//! map it holds may be older than a segment created since (a rollover, a compaction's
//! output); a segment it does not find there is looked up in the live table. The segments it
//! holds stay mapped while it lives, even if compaction deletes their files, so keep a
//! `Reader` for a batch, not for good.

use std::sync::Arc;

use crate::error::Result;
use crate::store::{Store, Value};
use crate::table::SegmentMap;

/// Lookups that share one load of the segment table; made by [`Store::reader`].
pub struct Reader<'s> {
    store: &'s Store,
    segments: Arc<SegmentMap>,
}

impl<'s> Reader<'s> {
    pub(crate) fn new(store: &'s Store) -> Reader<'s> {
        Reader {
            store,
            segments: store.inner.segments.all(),
        }
    }

    /// The value of `key`, if it exists and has not expired (as [`Store::get`]).
    pub fn get(&self, key: &[u8]) -> Result<Option<bytes::Bytes>> {
        Ok(self.get_entry(key)?.map(|v| v.bytes))
    }

    /// The value of `key` with its expiry time (as [`Store::get_entry`]).
    pub fn get_entry(&self, key: &[u8]) -> Result<Option<Value>> {
        self.store.inner.get_entry(key, Some(&self.segments))
    }

    /// Whether `key` exists and has not expired (as [`Store::contains`]).
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        self.store.inner.contains(key, Some(&self.segments))
    }
}

impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("segments", &self.segments.len())
            .finish()
    }
}
