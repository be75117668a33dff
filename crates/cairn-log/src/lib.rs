//! cairn-log: a log-structured, hash-indexed key-value storage engine.
//!
//! It is the engine under cairn's Redis door and under the blob store's atom index: point
//! reads and writes of keys up to 64 KiB and values up to 512 MiB, with expiry times, atomic
//! batches, an unordered scan, and a durability policy per store (`always`, `everysec`, `no`).
//!
//! # Design
//!
//! The seed's design (segments, hash index, bloom filter, LRU cache, WAL) in one paragraph
//! each; every module's own doc gives its on-disk format.
//!
//! * **Segments** (`segment.rs`, `record.rs`) hold the records, append-only, in files of at most
//!   `max_segment_size` (256 MiB). A record is `size, key hash, data` where the data carries key,
//!   value (LZ4-compressed when that makes it smaller), flags, expiry and a CRC32C. Segments are
//!   memory-mapped: a read is a hash lookup and a copy, with no system call.
//! * **The index** (`index.rs`, `persist.rs`) maps a key's 64-bit keyed hash (SipHash-1-3 under a
//!   per-store secret, `hash.rs`) to the place of its live record: the seed's chained hash table
//!   of 32-byte entries, in 64 shards that grow one bucket at a time (linear hashing). It lives
//!   in memory (about 45 bytes per key; values stay on disk) and is checkpointed to
//!   `hash_index.idx`.
//! * **The bloom filter** (`bloom.rs`) answers "absent" for most missing keys before the index is
//!   consulted; it grows by adding layers and stays under 1 % false positives.
//! * **The cache** (`cache.rs`) keeps hot decoded values within a byte budget (64 MiB).
//! * **The WAL** (`wal.rs`) logs every write, as a frame that names where its records go, before
//!   it is applied; a dedicated thread fsyncs it (group commit). Checkpoints (`maintenance.rs`)
//!   persist index, bloom filter and metadata (`meta.rs`) and retire WAL files; recovery
//!   (`recovery.rs`) replays the WAL from the last checkpoint.
//! * **Compaction** (`maintenance.rs`) rewrites sealed segments whose dead share passes a
//!   threshold, in the background, while reads and writes go on.
//! * **Check and repair** (`check.rs`, `repair.rs`): [`check`] verifies every file of a closed
//!   store without writing; [`repair`] salvages every record that still reads into a new
//!   store and keeps the damaged one aside.
//!
//! # Guarantees
//!
//! * A write acknowledged under `Durability::Always` survives `kill -9` and power loss; under
//!   `EverySec` at most about a second of writes can be lost to a power loss; a process crash
//!   loses nothing acknowledged under any policy.
//! * A batch is atomic across crashes.
//! * Every byte read from disk is checksummed; damage is reported as [`Error::Corrupt`] with the
//!   file and offset, never returned as data. A torn WAL tail left by a crash is cut.
//! * A directory that holds a store's data is never opened as a new store: a missing
//!   `metadata.meta` or active WAL is [`Error::Missing`], and nothing is written.
//! * One process at a time: the directory's `LOCK` file is held while the store is open.
//!
//! # Example
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let store = cairn_log::Store::open(dir.path(), cairn_log::Options::default())?;
//! store.put(b"greeting", b"hello", None)?;
//! assert_eq!(store.get(b"greeting")?.as_deref(), Some(&b"hello"[..]));
//! assert!(store.delete(b"greeting")?);
//! store.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bloom;
mod cache;
mod check;
mod error;
mod hash;
mod index;
mod layout;
mod maintenance;
mod meta;
mod options;
mod persist;
mod reader;
mod record;
mod recovery;
mod repair;
mod segment;
mod store;
mod table;
mod wal;

pub use check::{check, CheckReport, Damage};
pub use error::{Error, Result};
pub use options::{Durability, Options};
pub use reader::Reader;
pub use repair::{repair, RepairReport, RepairSource};
pub use store::{Batch, PendingCommit, ScanPage, Stats, Store, Value};

/// The longest key accepted: 64 KiB.
pub const MAX_KEY_LEN: usize = 64 << 10;
/// The longest value accepted: 512 MiB, and 4 KiB more for the header a layer above keeps
/// beside a 512 MiB payload of its own (a Redis string of exactly 512 MiB).
pub const MAX_VALUE_LEN: usize = (512 << 20) + (4 << 10);

#[cfg(test)]
mod tests {
    #[test]
    fn the_store_handle_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::Store>();
    }
}
