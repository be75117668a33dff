//! The store handle and its read and write paths.
//!
//! Write path (`put`, `delete`, `write_batch`, all through [`Inner::commit`]):
//! 1. outside any lock: hash the keys, encode (and maybe compress) the records;
//! 2. under the writer lock: choose the records' place at the end of the active segment
//!    (rolling to a new segment first if the batch does not fit), append one WAL frame naming
//!    those places, copy the records into the segment, update index, bloom filter and dead-byte
//!    counts;
//! 3. under `Durability::Always`, wait for the sync thread to report the frame durable.
//!
//! Everything that can fail (segment roll, space reservation, the WAL append) happens before
//! the frame is logged; after it, applying the frame cannot fail, so what the WAL holds is
//! always exactly what the store shows.
//!
//! Read path (`get`, `contains`): bloom filter (absent → done), then the index shard under a
//! read lock, then the record — from the LRU cache, or straight from the segment's mapping with
//! its CRC checked (always so for small records). Readers never take the writer lock.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use crate::bloom::Bloom;
use crate::cache::{self, Cache, Cached};
use crate::error::{Error, Result};
use crate::hash::KeyHasher;
use crate::index::{Entry, Index, SHARDS};
use crate::layout::Layout;
use crate::options::{Durability, Options};
use crate::reader::Reader;
use crate::record;
use crate::segment::{self, Segment, HEADER_LEN};
use crate::table::{SegmentMap, SegmentTable};
use crate::wal::{FrameBuilder, Wal, CLEAR_SEGMENT};
use crate::{MAX_KEY_LEN, MAX_VALUE_LEN};

/// The writer keeps its frame buffer for the next write up to this size; one a large value
/// grew past it is given back.
const FRAME_BUFFER_KEPT: usize = 4 << 20;

/// A value read back, with its expiry time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub bytes: Bytes,
    /// Unix time in milliseconds after which the key no longer exists; `None` for never.
    pub expires_at: Option<u64>,
}

/// A group of writes applied atomically: after a crash, all of them or none.
///
/// The atomicity is against crashes, not against concurrent readers, who may see a batch
/// partly applied; a caller that needs isolation (Redis `MULTI`/`EXEC`) serialises above.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

#[derive(Debug, Clone)]
enum BatchOp {
    Put {
        key: Vec<u8>,
        value: Bytes,
        expires_at: Option<u64>,
    },
    Delete {
        key: Vec<u8>,
    },
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Batch {
        self.put_with_expiry(key, value, None)
    }

    /// A put whose key expires at `expires_at` (unix milliseconds).
    pub fn put_with_expiry(
        &mut self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        expires_at: Option<u64>,
    ) -> &mut Batch {
        self.ops.push(BatchOp::Put {
            key: key.into(),
            value: Bytes::from(value.into()),
            expires_at,
        });
        self
    }

    /// A put of a value the caller already holds as [`Bytes`]: not copied.
    pub fn put_shared(&mut self, key: impl Into<Vec<u8>>, value: Bytes) -> &mut Batch {
        self.ops.push(BatchOp::Put {
            key: key.into(),
            value,
            expires_at: None,
        });
        self
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Batch {
        self.ops.push(BatchOp::Delete { key: key.into() });
        self
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// For each write in order: true for a put, false for a delete.
    pub fn kinds(&self) -> impl Iterator<Item = bool> + '_ {
        self.ops.iter().map(|op| matches!(op, BatchOp::Put { .. }))
    }
}

/// A batch applied by [`Store::write_batch_deferred`] whose durability has not been waited for.
#[must_use = "pass it to Store::wait_durable before acknowledging the write"]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PendingCommit {
    lsn: Option<u64>,
}

impl PendingCommit {
    /// The later of two pending commits: waiting for it waits for both, as frames become
    /// durable in LSN order.
    pub fn max(self, other: PendingCommit) -> PendingCommit {
        std::cmp::max(self, other)
    }
}

/// One page of [`Store::scan`].
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    pub keys: Vec<Vec<u8>>,
    /// The cursor to pass next; 0 when the scan is complete.
    pub cursor: u64,
}

/// Counters and sizes, for INFO-style reporting.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub live_keys: u64,
    pub segments: usize,
    /// Bytes of all segments (headers included).
    pub segment_bytes: u64,
    /// Bytes of records that are no longer any key's live version.
    pub dead_bytes: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// `hits / (hits + misses)`, 0 before any lookup.
    pub cache_hit_ratio: f64,
    pub cache_bytes: usize,
    /// Lookups the bloom filter let through for keys that were absent.
    pub bloom_false_positives: u64,
    pub bloom_layers: usize,
    pub bloom_bytes: u64,
    /// Bytes logged in the WAL since the last checkpoint.
    pub wal_bytes: u64,
    pub last_lsn: u64,
    pub checkpoints: u64,
    pub compactions: u64,
}

/// An open store: a `Send + Sync` handle; share it with `Arc` or by reference.
pub struct Store {
    pub(crate) inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// State shared by the handle and the background threads.
pub(crate) struct Inner {
    pub layout: Layout,
    pub options: Options,
    pub hasher: KeyHasher,
    pub meta_seed: crate::hash::HashSeed,
    pub created_ms: u64,
    pub index: Index,
    pub bloom: Bloom,
    pub cache: Cache,
    pub segments: SegmentTable,
    pub writer: Mutex<Writer>,
    pub wal: Wal,
    /// Held by checkpoints and compactions, which never run at the same time.
    pub maintenance: Mutex<Maintenance>,
    pub bloom_false_positives: AtomicU64,
    pub checkpoints: AtomicU64,
    pub compactions: AtomicU64,
    pub closed: AtomicBool,
    pub stop: Mutex<bool>,
    pub stop_signal: Condvar,
    pub _lock: File,
}

/// The writer's state: one writer at a time.
pub(crate) struct Writer {
    pub active: Arc<Segment>,
    pub next_lsn: u64,
    pub next_segment_id: u32,
    pub frame: Vec<u8>,
    pub tombstone: Vec<u8>,
}

/// Bookkeeping of the maintenance work.
#[derive(Default)]
pub(crate) struct Maintenance {
    /// Segments whose live records compaction moved; deleted after the next checkpoint.
    pub obsolete: Vec<u32>,
}

/// A key's record found by a lookup.
struct Found {
    value: Bytes,
    expires_at: u64,
}

/// A write prepared outside the writer lock: sizes checked, key hashed, record encoded.
struct Prepared<'a> {
    hash: u64,
    key: &'a [u8],
    /// The encoded record of a put; `None` for a delete.
    record: Option<Vec<u8>>,
    /// A put's value (as given, uncompressed) and expiry, for the cache.
    value: &'a [u8],
    expires_at: u64,
}

impl<'a> Prepared<'a> {
    fn put(
        hasher: &KeyHasher,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: Option<u64>,
    ) -> Result<Self> {
        check_key(key)?;
        check_value(value)?;
        let hash = hasher.hash(key);
        // Sized by `encode_put`, which knows whether it compresses.
        let mut record = Vec::new();
        record::encode_put(hash, key, value, expires_at.unwrap_or(0), &mut record);
        Ok(Prepared {
            hash,
            key,
            record: Some(record),
            value,
            expires_at: expires_at.unwrap_or(0),
        })
    }

    fn delete(hasher: &KeyHasher, key: &'a [u8]) -> Result<Self> {
        check_key(key)?;
        Ok(Prepared {
            hash: hasher.hash(key),
            key,
            record: None,
            value: &[],
            expires_at: 0,
        })
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::KeyTooLarge {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    Ok(())
}

fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::ValueTooLarge {
            len: value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    Ok(())
}

impl Store {
    /// Opens the store in `dir`, creating it if it does not exist, and recovers from a crash
    /// if the last process did not close it.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Store> {
        let inner = Arc::new(crate::recovery::open(dir.as_ref(), options)?);
        let mut threads = Vec::new();
        let sync = Arc::clone(&inner);
        threads.push(spawn("cairn-log-wal-sync", move || {
            sync.wal.run_sync_thread()
        })?);
        if inner.options.background_maintenance {
            let m = Arc::clone(&inner);
            threads.push(spawn("cairn-log-maintenance", move || {
                crate::maintenance::run_background(&m)
            })?);
        }
        Ok(Store {
            inner,
            threads: Mutex::new(threads),
        })
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.layout.root
    }

    /// Sets `key` to `value`, expiring at `expires_at` (unix milliseconds) if given.
    pub fn put(&self, key: &[u8], value: &[u8], expires_at: Option<u64>) -> Result<()> {
        let put = Prepared::put(&self.inner.hasher, key, value, expires_at)?;
        self.inner.commit(&[put])?;
        Ok(())
    }

    /// Removes `key`; returns whether it existed (an expired key does not).
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        let delete = Prepared::delete(&self.inner.hasher, key)?;
        self.inner.commit(&[delete])
    }

    /// Applies every write of `batch` atomically.
    pub fn write_batch(&self, batch: &Batch) -> Result<()> {
        let pending = self.write_batch_deferred(batch)?;
        self.wait_durable(pending)
    }

    /// Applies every write of `batch` atomically, visible to readers at once, without waiting
    /// for it to become durable: pass the result to [`Store::wait_durable`] before telling
    /// anyone the write is done. This lets a caller that serialises writers under its own
    /// lock (the Redis door) release that lock before the fsync, so that writers still share
    /// fsyncs (group commit).
    pub fn write_batch_deferred(&self, batch: &Batch) -> Result<PendingCommit> {
        let prepared = self.prepare(batch)?;
        let (_, lsn) = self.inner.log_and_apply(&prepared, None)?;
        Ok(PendingCommit { lsn })
    }

    /// Like [`Store::write_batch_deferred`], and also tells, for each write of the batch in
    /// order, whether it changed the key's presence: a put of a key that did not exist, or a
    /// delete of one that did (an expired key does not exist).
    pub fn write_batch_counted(&self, batch: &Batch) -> Result<(PendingCommit, Vec<bool>)> {
        let prepared = self.prepare(batch)?;
        let mut presence = Vec::with_capacity(prepared.len());
        let (_, lsn) = self.inner.log_and_apply(&prepared, Some(&mut presence))?;
        Ok((PendingCommit { lsn }, presence))
    }

    /// Deletes every key at once: one WAL frame, whatever the number of keys, instead of a
    /// tombstone each. Every segment's bytes become dead, for compaction to reclaim. Pass
    /// the result to [`Store::wait_durable`] as for a batch.
    pub fn clear(&self) -> Result<PendingCommit> {
        self.inner.check_open()?;
        self.inner.wal.check_poisoned()?;
        let mut w = self.inner.writer.lock();
        let lsn = w.next_lsn;
        let mut frame = std::mem::take(&mut w.frame);
        frame.clear();
        let mut tombstone = Vec::new();
        record::encode_tombstone(0, b"", &mut tombstone);
        let mut builder = FrameBuilder::new(&mut frame, lsn);
        builder.op(CLEAR_SEGMENT, 0, &tombstone);
        let _ = builder.finish();
        let logged = self.inner.wal.append(&frame, lsn);
        w.frame = frame;
        logged?;
        w.next_lsn += 1;
        self.inner.apply_clear();
        Ok(PendingCommit { lsn: Some(lsn) })
    }

    /// Encodes every write of `batch` as the records it will log.
    fn prepare<'b>(&self, batch: &'b Batch) -> Result<Vec<Prepared<'b>>> {
        let hasher = &self.inner.hasher;
        batch
            .ops
            .iter()
            .map(|op| match op {
                BatchOp::Put {
                    key,
                    value,
                    expires_at,
                } => Prepared::put(hasher, key, value, *expires_at),
                BatchOp::Delete { key } => Prepared::delete(hasher, key),
            })
            .collect()
    }

    /// Returns once the writes of `pending` are durable under the store's policy: at once
    /// under `EverySec` and `No`, after the WAL fsync that covers them under `Always`.
    pub fn wait_durable(&self, pending: PendingCommit) -> Result<()> {
        match pending.lsn {
            Some(lsn) => self.inner.wait_durable(lsn),
            None => Ok(()),
        }
    }

    /// The value of `key`, if it exists and has not expired.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.get_entry(key)?.map(|v| v.bytes))
    }

    /// The value of `key` with its expiry time.
    pub fn get_entry(&self, key: &[u8]) -> Result<Option<Value>> {
        self.inner.get_entry(key, None)
    }

    /// Whether `key` exists (and has not expired).
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        self.inner.contains(key, None)
    }

    /// A reader for a batch of lookups: see [`Reader`].
    pub fn reader(&self) -> Reader<'_> {
        Reader::new(self)
    }

    /// One page of an unordered scan over the live keys, Redis `SCAN` style: start with cursor
    /// 0, pass back the returned cursor, stop when it is 0. A key present for the whole scan is
    /// returned at least once; keys written or deleted during it may or may not be.
    pub fn scan(&self, cursor: u64, count: usize) -> Result<ScanPage> {
        self.inner.scan(cursor, count.max(1))
    }

    /// A scan cursor at the start of a shard of the index chosen by `random`: scanning a page
    /// from it samples keys at random (Redis `RANDOMKEY`).
    pub fn random_cursor(&self, random: u64) -> u64 {
        (random % SHARDS as u64) << 48
    }

    /// The durability policy in force.
    pub fn durability(&self) -> Durability {
        self.inner.wal.durability()
    }

    /// Changes the durability policy of the open store (Redis `CONFIG SET appendfsync`).
    /// Writes already acknowledged keep the guarantee they were given; a switch to `Always`
    /// applies to writes from now on.
    pub fn set_durability(&self, durability: Durability) {
        self.inner.wal.set_durability(durability);
    }

    /// Makes every write so far durable, whatever the durability policy.
    pub fn flush(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.wal.sync_now()?;
        Ok(())
    }

    /// Runs a checkpoint now: persists index, bloom filter and metadata, retires WAL files.
    pub fn checkpoint(&self) -> Result<()> {
        self.inner.check_open()?;
        crate::maintenance::checkpoint(&self.inner)
    }

    /// Compacts every sealed segment whose dead share passes the threshold, then checkpoints
    /// so that their space is given back. Returns the number of segments compacted.
    pub fn compact(&self) -> Result<usize> {
        self.inner.check_open()?;
        crate::maintenance::compact(&self.inner)
    }

    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Stops the background threads, makes every write durable (checkpointing when the WAL
    /// holds more than [`Options::replay_budget_bytes`]) and releases the directory.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    /// Stops the background threads and makes every write durable, as [`Store::close`], for
    /// an owner that shares the handle and cannot give it up by value; later calls fail with
    /// [`crate::Error::Closed`], and the directory is released when the handle is dropped.
    pub fn shut_down(&self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        *self.inner.stop.lock() = true;
        self.inner.stop_signal.notify_all();
        self.inner.wal.stop_sync();
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        self.inner.wal.check_poisoned()?;
        crate::maintenance::come_to_rest(&self.inner)?;
        // The space preallocated past the active segment's valid length (which a checkpoint
        // or the WAL records) and past the WAL's last frame is given back, so a closed store
        // takes only what it holds.
        self.inner.writer.lock().active.release_reserve()?;
        self.inner.wal.release_reserve()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!("closing {}: {e}", self.inner.layout.root.display());
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.layout.root)
            .finish()
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| Error::io(PathBuf::from(name), e))
}

impl Inner {
    pub fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    pub fn segment(&self, id: u32) -> Option<Arc<Segment>> {
        self.segments.get(id)
    }

    fn missing_segment(&self, e: &Entry) -> Error {
        Error::corrupt(
            self.layout.segments.join(segment::file_name(e.segment)),
            e.offset,
            "index points into a segment that does not exist",
        )
    }

    /// Reads the record an entry points to and, if it is `key`'s, returns its value (decoded
    /// only when `with_value`) and expiry. Served from the cache when it holds the record;
    /// otherwise read from the segment and, with its value, cached.
    ///
    /// A small record ([`record::is_small`]) stored uncompressed never goes through the
    /// cache: copying it out of the mapping costs less than probing the cache, and the page
    /// cache holds it anyway.
    fn read_if_key(
        &self,
        e: &Entry,
        key: &[u8],
        with_value: bool,
        view: Option<&SegmentMap>,
    ) -> Result<Option<Found>> {
        let place = cache::place(e.segment, e.offset);
        let small = record::is_small(u64::from(e.size));
        if !small {
            if let Some(found) = self.cached(place, key) {
                return Ok(found);
            }
        }
        let read = self.with_segment(view, e.segment, |seg| -> Result<Option<Found>> {
            // A run of repeats compressed this short is cached like a large record: look
            // there before checking the record's CRC.
            if small
                && seg
                    .bytes(e.offset, u64::from(e.size))
                    .is_some_and(record::peek_compressed)
            {
                if let Some(found) = self.cached(place, key) {
                    return Ok(found);
                }
            }
            let rec = seg.record(e.offset, u64::from(e.size))?;
            if rec.key != key {
                return Ok(None);
            }
            if !with_value {
                return Ok(Some(Found {
                    value: Bytes::new(),
                    expires_at: rec.expires_at,
                }));
            }
            if small && !rec.is_compressed() {
                return Ok(Some(Found {
                    value: Bytes::copy_from_slice(rec.stored()),
                    expires_at: rec.expires_at,
                }));
            }
            let mut buf = Vec::with_capacity(rec.key.len() + rec.stored_len());
            buf.extend_from_slice(rec.key);
            rec.value_into(&mut buf)
                .map_err(|why| Error::corrupt(seg.path(), e.offset, why.to_string()))?;
            let buf = Bytes::from(buf);
            let found = Found {
                value: buf.slice(key.len()..),
                expires_at: rec.expires_at,
            };
            if self.cache.enabled() && self.cache.admit(place) {
                self.cache.insert(
                    place,
                    Cached {
                        buf,
                        key_len: key.len(),
                        expires_at: rec.expires_at,
                    },
                );
            }
            Ok(Some(found))
        });
        read.ok_or_else(|| self.missing_segment(e))?
    }

    /// The record at `place` if the cache holds it: `Some(None)` if it is another key's.
    fn cached(&self, place: u64, key: &[u8]) -> Option<Option<Found>> {
        if !self.cache.enabled() {
            return None;
        }
        let hit = self.cache.get(place)?;
        Some((hit.key() == key).then(|| Found {
            value: hit.value(),
            expires_at: hit.expires_at,
        }))
    }

    /// Runs `f` on segment `id`, found in `view` (a table loaded earlier, see [`Reader`]) or
    /// else in the live table: a segment created since the view was loaded is only there.
    fn with_segment<R>(
        &self,
        view: Option<&SegmentMap>,
        id: u32,
        f: impl FnOnce(&Segment) -> R,
    ) -> Option<R> {
        match view.and_then(|segments| segments.get(&id)) {
            Some(segment) => Some(f(segment)),
            None => self.segments.with(id, f),
        }
    }

    /// The value of `key` with its expiry time, reading segments through `view` if given.
    pub(crate) fn get_entry(&self, key: &[u8], view: Option<&SegmentMap>) -> Result<Option<Value>> {
        check_key(key)?;
        let Some(found) = self.lookup(key, true, view)? else {
            return Ok(None);
        };
        Ok(Some(Value {
            bytes: found.value,
            expires_at: (found.expires_at != 0).then_some(found.expires_at),
        }))
    }

    /// Whether `key` exists, reading segments through `view` if given.
    pub(crate) fn contains(&self, key: &[u8], view: Option<&SegmentMap>) -> Result<bool> {
        check_key(key)?;
        Ok(self.lookup(key, false, view)?.is_some())
    }

    /// Finds the live (unexpired) record of `key`. With `with_value` false the value is not
    /// decoded (the returned value is empty).
    fn lookup(
        &self,
        key: &[u8],
        with_value: bool,
        view: Option<&SegmentMap>,
    ) -> Result<Option<Found>> {
        let hash = self.hasher.hash(key);
        if !self.bloom.may_contain(hash) {
            return Ok(None);
        }
        let found = {
            let shard = self.index.read(hash);
            let mut found = None;
            for e in shard.with_hash(hash) {
                found = self.read_if_key(e, key, with_value, view)?;
                if found.is_some() {
                    break;
                }
            }
            found
        };
        match found {
            None => {
                self.bloom_false_positives.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Some(f) if f.expires_at != 0 && f.expires_at <= now_ms() => Ok(None),
            Some(f) => Ok(Some(f)),
        }
    }

    /// Whether the record an entry points to is `key`'s; the writers' check, read straight
    /// from the segment so that it neither fills the cache nor counts as a lookup.
    fn is_key_at(&self, e: &Entry, key: &[u8]) -> Result<Option<u64>> {
        self.segments
            .with(e.segment, |seg| {
                let rec = seg.record(e.offset, u64::from(e.size))?;
                Ok((rec.key == key).then_some(rec.expires_at))
            })
            .ok_or_else(|| self.missing_segment(e))?
    }

    /// `same_key` for writers: a record that cannot be read is taken to be the key's, so the
    /// new write replaces it (and it becomes dead bytes) rather than leaving two entries.
    fn same_key_for_write(&self, e: &Entry, key: &[u8]) -> bool {
        // The usual answer, a match, without checking the whole record's CRC: a record
        // holding this key is replaced whatever the state of its other bytes.
        let peeked = self.segments.with(e.segment, |seg| {
            seg.bytes(e.offset, u64::from(e.size))
                .and_then(record::peek_key)
                .is_some_and(|k| k == key)
        });
        if peeked == Some(true) {
            return true;
        }
        match self.is_key_at(e, key) {
            Ok(found) => found.is_some(),
            Err(err) => {
                tracing::warn!("replacing unreadable record: {err}");
                true
            }
        }
    }

    /// Logs and applies a write; returns, for a single delete, whether the key existed.
    /// Logs and applies `ops`, then waits for durability if the policy asks for it.
    fn commit(&self, ops: &[Prepared<'_>]) -> Result<bool> {
        let (existed, lsn) = self.log_and_apply(ops, None)?;
        if let Some(lsn) = lsn {
            self.wait_durable(lsn)?;
        }
        Ok(existed)
    }

    /// Waits until the frame `lsn` is durable, if the policy is `Always`.
    pub fn wait_durable(&self, lsn: u64) -> Result<()> {
        if self.wal.durability() == Durability::Always {
            self.wal.wait_durable(lsn)?;
        }
        Ok(())
    }

    /// Logs `ops` as one WAL frame and applies them, without waiting for durability. Returns
    /// whether any key a delete named existed, and the frame's LSN (`None` when nothing
    /// needed logging).
    ///
    /// When `presence` is given, it receives one flag per op: for a put, whether the key did
    /// not exist before; for a delete, whether it did (so a caller can keep counts of keys
    /// without looking them up).
    fn log_and_apply(
        &self,
        ops: &[Prepared<'_>],
        mut presence: Option<&mut Vec<bool>>,
    ) -> Result<(bool, Option<u64>)> {
        self.check_open()?;
        self.wal.check_poisoned()?;
        let put_bytes: u64 = ops
            .iter()
            .filter_map(|op| op.record.as_ref())
            .map(|r| r.len() as u64)
            .sum();
        let lsn;
        let mut existed = false;
        {
            let mut w = self.writer.lock();
            let now = now_ms();
            // Deletes of keys that do not exist (or have expired) log nothing. Within a batch,
            // a key's earlier ops decide whether it exists when a later delete comes.
            let mut logged_deletes = Vec::with_capacity(ops.len());
            let mut batch_state: HashMap<&[u8], bool> = HashMap::new();
            for op in ops {
                let live = match (&op.record, batch_state.get(op.key)) {
                    (Some(_), _) => false,
                    (None, Some(&exists)) => exists,
                    (None, None) => self.is_live(op.hash, op.key, now)?,
                };
                if ops.len() > 1 {
                    batch_state.insert(op.key, op.record.is_some());
                }
                logged_deletes.push(live);
                existed |= live;
            }
            if put_bytes == 0 && !existed {
                if let Some(p) = presence.as_deref_mut() {
                    p.extend(std::iter::repeat_n(false, ops.len()));
                }
                return Ok((false, None));
            }
            if put_bytes > 0 {
                let active_len = w.active.len();
                let fits =
                    active_len + put_bytes <= self.options.max_segment_size.max(HEADER_LEN + 1);
                if (!fits && active_len > HEADER_LEN)
                    || active_len + put_bytes > w.active.capacity()
                {
                    self.roll(&mut w, put_bytes)?;
                }
                w.active.reserve(w.active.len() + put_bytes)?;
            }
            lsn = w.next_lsn;
            let segment_id = w.active.id();
            let mut frame = std::mem::take(&mut w.frame);
            let mut tombstone = std::mem::take(&mut w.tombstone);
            frame.clear();
            let mut builder = FrameBuilder::new(&mut frame, lsn);
            let mut offset = w.active.len();
            for (op, &delete) in ops.iter().zip(&logged_deletes) {
                if let Some(rec) = &op.record {
                    builder.op_shared(segment_id, offset, rec);
                    offset += rec.len() as u64;
                } else if delete {
                    tombstone.clear();
                    record::encode_tombstone(op.hash, op.key, &mut tombstone);
                    builder.op(0, 0, &tombstone);
                }
            }
            let spliced = builder.finish();
            let frame_len = frame.len() + spliced.iter().map(|(_, r)| r.len()).sum::<usize>();
            let logged = self
                .wal
                .reserve(frame_len as u64)
                .and_then(|()| self.wal.append_spliced(&frame, &spliced, lsn));
            // The buffer is reused for the next frame, unless a large value grew it.
            if frame.capacity() <= FRAME_BUFFER_KEPT {
                w.frame = frame;
            }
            w.tombstone = tombstone;
            logged?;
            w.next_lsn += 1;
            // From here on nothing can fail: the frame is logged and must be applied whole.
            for (op, &delete) in ops.iter().zip(&logged_deletes) {
                if let Some(rec) = &op.record {
                    let offset = w.active.append_reserved(rec, 1);
                    let entry = Entry {
                        hash: op.hash,
                        segment: segment_id,
                        offset,
                        size: rec.len() as u32,
                        timestamp: lsn,
                    };
                    let old = self.apply_put(entry, op.key);
                    if let Some(old) = old {
                        self.keep_cached(&old, &entry, op);
                    }
                    let new = old.is_none();
                    if let Some(p) = presence.as_deref_mut() {
                        p.push(new);
                    }
                } else {
                    if delete {
                        self.apply_delete(op.hash, op.key);
                    }
                    if let Some(p) = presence.as_deref_mut() {
                        p.push(delete);
                    }
                }
            }
        }
        Ok((existed, Some(lsn)))
    }

    /// Whether `key` exists and has not expired at `now`.
    fn is_live(&self, hash: u64, key: &[u8], now: u64) -> Result<bool> {
        let shard = self.index.read(hash);
        for e in shard.with_hash(hash) {
            if let Some(expires_at) = self.is_key_at(e, key)? {
                return Ok(expires_at == 0 || expires_at > now);
            }
        }
        Ok(false)
    }

    /// Forgets every key (a logged clear): the index empties and every byte of every segment
    /// is dead. Records placed later in the active segment are live again when indexed; the
    /// dead count of that segment then overstates, which only makes compaction look at it
    /// sooner.
    pub fn apply_clear(&self) {
        self.index.clear();
        for segment in self.segments.all().values() {
            segment.set_dead_bytes(segment.len().saturating_sub(HEADER_LEN));
        }
    }

    /// Points `key` at `entry`, accounting the replaced record as dead. Returns the entry it
    /// replaced; `None` when the key was new (and so was added to the bloom filter).
    pub fn apply_put(&self, entry: Entry, key: &[u8]) -> Option<Entry> {
        let old = self
            .index
            .write(entry.hash)
            .upsert::<Infallible>(entry, |e| Ok(self.same_key_for_write(e, key)));
        match old {
            Ok(Some(old)) => {
                if !old.same_place(&entry) {
                    self.mark_dead(&old);
                }
                Some(old)
            }
            Ok(None) => {
                self.bloom.insert(entry.hash);
                None
            }
            Err(never) => match never {},
        }
    }

    /// A cached record overwritten by `put` stays cached, at its new place: a key rewritten
    /// again and again (a collection's descriptor or chunk, a counter) is hot, and would
    /// otherwise miss on every read after every write, since the cache is keyed by place.
    fn keep_cached(&self, old: &Entry, new: &Entry, put: &Prepared<'_>) {
        if !self.cache.enabled() || old.same_place(new) {
            return;
        }
        if !self.cache.remove(cache::place(old.segment, old.offset)) {
            return;
        }
        let compressed = put.record.as_deref().is_some_and(record::peek_compressed);
        if record::is_small(u64::from(new.size)) && !compressed {
            // Read from the mapping from now on, never through the cache.
            return;
        }
        let mut buf = Vec::with_capacity(put.key.len() + put.value.len());
        buf.extend_from_slice(put.key);
        buf.extend_from_slice(put.value);
        self.cache.insert(
            cache::place(new.segment, new.offset),
            Cached {
                buf: Bytes::from(buf),
                key_len: put.key.len(),
                expires_at: put.expires_at,
            },
        );
    }

    /// Removes `key`, accounting its record as dead.
    pub fn apply_delete(&self, hash: u64, key: &[u8]) {
        let old = self
            .index
            .write(hash)
            .remove::<Infallible>(hash, |e| Ok(self.same_key_for_write(e, key)));
        if let Ok(Some(old)) = old {
            self.mark_dead(&old);
        }
    }

    pub fn mark_dead(&self, e: &Entry) {
        if let Some(seg) = self.segment(e.segment) {
            seg.add_dead_bytes(u64::from(e.size));
        }
    }

    /// Seals the active segment and starts a new one big enough for `need` bytes.
    fn roll(&self, w: &mut Writer, need: u64) -> Result<()> {
        w.active.seal()?;
        let id = w.next_segment_id;
        let capacity = self.options.max_segment_size.max(HEADER_LEN + need);
        let seg = Arc::new(Segment::create(
            &self.layout.fs,
            &self.layout.segments,
            id,
            capacity,
            now_ms(),
        )?);
        segment::sync_dir(&self.layout.fs, &self.layout.segments)?;
        w.next_segment_id += 1;
        self.segments.insert(Arc::clone(&seg));
        w.active = seg;
        Ok(())
    }

    fn scan(&self, cursor: u64, count: usize) -> Result<ScanPage> {
        let mut shard_no = (cursor >> 48) as usize;
        let mut bucket = (cursor & ((1 << 48) - 1)) as usize;
        let mut entries = Vec::new();
        while entries.len() < count && shard_no < SHARDS {
            let shard = self.index.shard(shard_no);
            while entries.len() < count && bucket < shard.buckets() {
                shard.bucket_entries(bucket, &mut entries);
                bucket += 1;
            }
            if bucket >= shard.buckets() {
                shard_no += 1;
                bucket = 0;
            }
        }
        let now = now_ms();
        let mut keys = Vec::with_capacity(entries.len());
        for e in &entries {
            let seg = match self.segment(e.segment) {
                Some(seg) => Some((seg, *e)),
                // Compacted away since the entries were collected: the write (same timestamp)
                // now lives elsewhere, unless it has been overwritten or removed.
                None => self
                    .index
                    .read(e.hash)
                    .with_hash(e.hash)
                    .find(|x| x.timestamp == e.timestamp)
                    .and_then(|x| Some((self.segment(x.segment)?, *x))),
            };
            let Some((seg, e)) = seg else {
                continue;
            };
            let rec = seg.record(e.offset, u64::from(e.size))?;
            if !rec.is_expired(now) {
                keys.push(rec.key.to_vec());
            }
        }
        let cursor = if shard_no >= SHARDS {
            0
        } else {
            ((shard_no as u64) << 48) | bucket as u64
        };
        Ok(ScanPage { keys, cursor })
    }

    fn stats(&self) -> Stats {
        let (segments, segment_bytes, dead_bytes) = {
            let segs = self.segments.all();
            (
                segs.len(),
                segs.values().map(|s| s.len()).sum(),
                segs.values().map(|s| s.dead_bytes()).sum(),
            )
        };
        let (hits, misses) = (self.cache.hits(), self.cache.misses());
        Stats {
            live_keys: self.index.len() as u64,
            segments,
            segment_bytes,
            dead_bytes,
            cache_hits: hits,
            cache_misses: misses,
            cache_hit_ratio: if hits + misses == 0 {
                0.0
            } else {
                hits as f64 / (hits + misses) as f64
            },
            cache_bytes: self.cache.bytes(),
            bloom_false_positives: self.bloom_false_positives.load(Ordering::Relaxed),
            bloom_layers: self.bloom.layers(),
            bloom_bytes: self.bloom.bytes(),
            wal_bytes: self.wal.bytes_since_rotation(),
            last_lsn: self.writer.lock().next_lsn - 1,
            checkpoints: self.checkpoints.load(Ordering::Relaxed),
            compactions: self.compactions.load(Ordering::Relaxed),
        }
    }
}
