//! Tuning knobs of a store, with the defaults the issue and the seed ask for.

use std::time::Duration;

/// When an acknowledged write reaches stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Durability {
    /// A write returns only after the WAL holding it is fsynced (Redis `appendfsync always`).
    /// Concurrent writers share fsyncs: group commit. As in Redis, other readers may see a
    /// write a moment before it is durable; its writer is answered only once it is.
    Always,
    /// The WAL is fsynced once per second: a crash loses at most about a second of writes
    /// (Redis `appendfsync everysec`).
    EverySec,
    /// The WAL is handed to the OS but never fsynced except at checkpoints and [`crate::Store::flush`]
    /// (Redis `appendfsync no`). Survives a process crash, not a power loss.
    No,
}

/// Options of [`crate::Store::open`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Size at which the active segment is sealed and a new one started. A single record larger
    /// than this gets a segment of its own.
    pub max_segment_size: u64,
    /// Byte budget of the LRU cache of decoded values.
    pub cache_bytes: usize,
    /// Durability policy of writes.
    pub durability: Durability,
    /// Once this many bytes sit in the WAL since the last checkpoint, a checkpoint runs.
    pub checkpoint_wal_bytes: u64,
    /// The most WAL bytes a store leaves for its next open to replay. A store that closes,
    /// or finishes recovery, with fewer in its WAL since the last checkpoint only makes them
    /// durable: replaying them costs the next open less than a checkpoint costs now (the
    /// index and bloom filter rewritten whole, and about ten fsyncs), which matters to a
    /// store opened for one command, as the blob CLI's is.
    pub replay_budget_bytes: u64,
    /// Share of dead bytes from which a sealed segment is compacted.
    pub compaction_threshold: f64,
    /// Run checkpoints and compaction on a background thread. When false they run only when
    /// called ([`crate::Store::checkpoint`], [`crate::Store::compact`]) and at close.
    pub background_maintenance: bool,
    /// How often the background thread looks for work.
    pub maintenance_interval: Duration,
    /// Keys the first layer of the bloom filter holds at its target false-positive rate.
    pub bloom_initial_capacity: u64,
    /// The file layer every change to the store's files goes through: the operating system's,
    /// or one a test injects faults into.
    pub fs: cairn_fs::Fs,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_segment_size: 256 << 20,
            cache_bytes: 64 << 20,
            durability: Durability::Always,
            checkpoint_wal_bytes: 64 << 20,
            replay_budget_bytes: 256 << 10,
            compaction_threshold: 0.5,
            background_maintenance: true,
            maintenance_interval: Duration::from_millis(200),
            bloom_initial_capacity: 1 << 20,
            fs: cairn_fs::Fs::os(),
        }
    }
}
