//! The working set of one command (or one `EXEC`): buffered writes over the store, one
//! atomic cairn-log batch at the end.
//!
//! Commands run one at a time under the keyspace lock, so a `Txn` sees a stable store plus
//! its own writes. Nothing reaches the store before [`Txn::commit`], which writes every change
//! as one batch (all or nothing across crashes) and only then updates the in-memory
//! bookkeeping (key counts, the expiry set): a command that fails half-way, or a batch the
//! engine refuses, changes nothing. Key counts come from the engine's own answer to the
//! batch (which head records it created or removed), so a write never looks a key up only
//! to count it.
//!
//! # Holding writes between pipelines
//!
//! Under `appendfsync everysec` and `no`, a client's reply does not wait for the WAL, so a
//! pipeline's writes need not reach the store at once either. [`Txn::commit_or_hold`] (what
//! a pipeline ends with) leaves them in the keyspace state ([`Held`]), with the collection
//! parked in the transaction (a hash, set or sorted set keeps the buckets and nodes it has
//! decoded), and the next transaction, whoever's, starts from them: reads see them as its
//! own writes, and a record written again is written once. A hundred thousand `ZADD`s into
//! one large sorted set then rewrite each tree node and hash bucket once per hold, not once
//! per pipeline. The held writes reach the store as one batch with the writes after them, so
//! what the store holds is always a prefix of the command history, and an `EXEC` is still
//! all or nothing across a crash.
//!
//! Writes are held for [`HOLD_FOR_MS`] after the first of them (then the next pipeline, or
//! the expiry thread's 100 ms tick when none comes, writes them), no more than
//! [`HOLD_BYTES`], and never under `appendfsync always`, nor with expiry-set changes or a
//! generation reservation (the in-memory bookkeeping those update is committed state). A
//! crash loses what was held: with the WAL's one-second fsync, `everysec` loses at most
//! about 1.3 s of acknowledged writes, inside the two seconds Redis documents for the
//! policy. [`Txn::commit`] (every other path: a command that reads the store itself, SAVE,
//! shutdown, the expiry thread) writes everything.

use std::collections::HashMap;

use bytes::Bytes;
use cairn_log::{Batch, Durability, PendingCommit, Reader, Store};

use crate::collections;
use crate::collections::chunks::{self, CHUNKED_AT};
use crate::collections::open::Parked;
use crate::encoding::{head_key, meta_key, parse_head_key, Head, Kind, DATABASES};
use crate::error::{KvError, Result};
use crate::reap::{ReapJob, LAZY_FREE_MIN};
use crate::state::State;

/// Generations are reserved in the store this many at a time.
const GENERATION_BLOCK: u64 = 1 << 16;
/// The metadata record holding the first generation not yet reserved.
pub(crate) const GENERATION_META: &str = "generation";
/// Writes are held this long after the first of them (ms).
pub const HOLD_FOR_MS: u64 = 200;
/// Held writes are written to the store once their keys and values reach this size.
pub const HOLD_BYTES: usize = 1 << 20;

/// Writes of earlier pipelines, not yet in the store (see the module doc): the next
/// transaction starts from them.
#[derive(Debug)]
pub struct Held {
    writes: HashMap<Vec<u8>, Option<Bytes>>,
    parked: Option<Box<Parked>>,
    written_bytes: usize,
    /// When the oldest held write was made (unix ms).
    since: u64,
}

impl Held {
    /// Whether the writes have been held their time, at unix ms `now`.
    pub fn due(&self, now: u64) -> bool {
        held_their_time(self.since, now)
    }
}

/// Whether writes held since unix ms `since` are due at unix ms `now`.
fn held_their_time(since: u64, now: u64) -> bool {
    now.saturating_sub(since) >= HOLD_FOR_MS
}

pub struct Txn<'a> {
    store: &'a Store,
    /// The store's reads, sharing one load of its segment table for the transaction.
    reader: Reader<'a>,
    pub(crate) state: &'a mut State,
    /// The time the whole command (or `EXEC`) sees, unix ms.
    pub now: u64,
    /// Writes not yet committed: log key → new value, or `None` for a delete. Reads check
    /// here first, then the store (stable under the keyspace lock).
    writes: HashMap<Vec<u8>, Option<Bytes>>,
    /// Head records known to be their key's only head (nothing under the other prefix), with
    /// the collection generation they hold (`None` for strings): rewriting such a head needs
    /// no check of what it replaces. The few most recent only; a command touches few keys.
    sole_heads: Vec<(Vec<u8>, Option<u64>)>,
    /// Expiry-set changes to apply at commit: (db, key, expire_at or 0 to remove).
    volatile: Vec<(u8, Vec<u8>, u64)>,
    /// Databases in which this transaction gave some key an expiry.
    volatile_dbs: [bool; DATABASES],
    generation_limit: Option<u64>,
    changes: u64,
    expired: u64,
    /// The collection kept decoded between the commands of a pipeline; its records here are
    /// stale until [`Txn::write_back_parked`] (see [`crate::collections::open`]).
    /// Boxed: it is taken out and put back by every command that goes through the park.
    parked: Option<Box<Parked>>,
    /// The engine failed while changes of earlier commands were held in the parked
    /// collection: they are lost, so the commit must fail.
    poisoned: Option<KvError>,
    /// Bytes of keys and values put or deleted since the last commit (values written again
    /// count again: a bound, not a size).
    written_bytes: usize,
    /// When the oldest write held from an earlier transaction was made, if any (unix ms).
    held_since: Option<u64>,
    /// Writes made straight to the store (a clear) that the commit's durability covers.
    written: PendingCommit,
    /// Children of unlinked values to free once this transaction is committed.
    reap_jobs: Vec<ReapJob>,
}

impl<'a> Txn<'a> {
    /// A transaction starting from the writes earlier pipelines held, if any.
    pub(crate) fn new(store: &'a Store, state: &'a mut State, now: u64) -> Txn<'a> {
        let (writes, parked, written_bytes, held_since) = match state.held.take() {
            Some(held) => (
                held.writes,
                held.parked,
                held.written_bytes,
                Some(held.since),
            ),
            None => (HashMap::new(), None, 0, None),
        };
        Txn {
            store,
            reader: store.reader(),
            state,
            now,
            writes,
            sole_heads: Vec::new(),
            volatile: Vec::new(),
            volatile_dbs: [false; DATABASES],
            generation_limit: None,
            changes: 0,
            expired: 0,
            parked,
            poisoned: None,
            written_bytes,
            held_since,
            written: PendingCommit::default(),
            reap_jobs: Vec::new(),
        }
    }

    // ----- the parked collection -----

    /// The collection parked for `key`, taken out of the park; `None` if another key's (which
    /// is written back) or an emptied one (written back too: the key is gone) was there.
    pub(crate) fn take_parked(&mut self, db: u8, key: &[u8]) -> Result<Option<Box<Parked>>> {
        match self.parked.take() {
            Some(p) if p.db == db && p.key == key && p.size() > 0 => Ok(Some(p)),
            Some(p) => match p.write_back(self) {
                Ok(()) => Ok(None),
                Err(e) => {
                    // The parked changes of earlier commands are lost with it.
                    self.poison(e.clone());
                    Err(e)
                }
            },
            None => Ok(None),
        }
    }

    pub(crate) fn park(&mut self, parked: Box<Parked>) {
        debug_assert!(self.parked.is_none());
        self.parked = Some(parked);
    }

    /// Writes the parked collection back, so that every record of its key is current.
    pub(crate) fn write_back_parked(&mut self) {
        if let Some(parked) = self.parked.take() {
            if let Err(e) = parked.write_back(self) {
                self.poison(e);
            }
        }
    }

    /// Makes the commit fail with `error`: changes this transaction reported were lost.
    pub(crate) fn poison(&mut self, error: KvError) {
        self.poisoned.get_or_insert(error);
    }

    // ----- raw log keys -----

    /// The value of a log key, as this transaction sees it.
    pub fn get(&mut self, log_key: &[u8]) -> Result<Option<Bytes>> {
        if let Some(value) = self.writes.get(log_key) {
            return Ok(value.clone());
        }
        Ok(self.reader.get(log_key)?)
    }

    /// Whether a log key exists, without reading its value unless this transaction wrote it.
    pub fn exists(&mut self, log_key: &[u8]) -> Result<bool> {
        match self.writes.get(log_key) {
            Some(value) => Ok(value.is_some()),
            None => Ok(self.reader.contains(log_key)?),
        }
    }

    pub fn put(&mut self, log_key: Vec<u8>, value: impl Into<Bytes>) {
        let value = value.into();
        self.written_bytes += log_key.len() + value.len();
        self.writes.insert(log_key, Some(value));
    }

    pub fn delete(&mut self, log_key: Vec<u8>) {
        self.written_bytes += log_key.len();
        self.writes.insert(log_key, None);
    }

    fn sole_head(&self, log_key: &[u8]) -> Option<Option<u64>> {
        self.sole_heads
            .iter()
            .rev()
            .find(|(k, _)| k == log_key)
            .map(|(_, g)| *g)
    }

    fn set_sole_head(&mut self, log_key: Vec<u8>, generation: Option<u64>) {
        if let Some(last) = self.sole_heads.last_mut().filter(|(k, _)| *k == log_key) {
            // The same key as the command before (a pipeline on one key).
            last.1 = generation;
            return;
        }
        self.forget_sole_head(&log_key);
        if self.sole_heads.len() == 16 {
            self.sole_heads.remove(0);
        }
        self.sole_heads.push((log_key, generation));
    }

    fn forget_sole_head(&mut self, log_key: &[u8]) {
        self.sole_heads.retain(|(k, _)| k != log_key);
    }

    /// A collection generation never handed out before.
    pub fn new_generation(&mut self) -> u64 {
        let generation = self.state.next_generation;
        self.state.next_generation += 1;
        let limit = self.generation_limit.unwrap_or(self.state.generation_limit);
        if generation >= limit {
            let new_limit = generation + GENERATION_BLOCK;
            self.generation_limit = Some(new_limit);
            self.put(meta_key(GENERATION_META), new_limit.to_le_bytes().to_vec());
        }
        generation
    }

    // ----- Redis keys -----

    /// The live head of `key`, looking under the string prefix first. An expired key is
    /// deleted here (lazy expiry) and reported absent. A string stored in chunks is not read:
    /// its head has `chunks` and an empty body ([`Txn::head_with_value`] reads it).
    pub fn head(&mut self, db: u8, key: &[u8]) -> Result<Option<Head>> {
        self.head_looking_first(db, key, true, false)
    }

    /// Like [`Txn::head`], with the bytes of a string stored in chunks read into its body.
    pub fn head_with_value(&mut self, db: u8, key: &[u8]) -> Result<Option<Head>> {
        self.head_looking_first(db, key, true, true)
    }

    /// Like [`Txn::head`], looking first where a head of `kind` lives; a string is read
    /// whole when `kind` is string.
    pub fn head_of_kind(&mut self, db: u8, key: &[u8], kind: Kind) -> Result<Option<Head>> {
        let string = kind == Kind::String;
        self.head_looking_first(db, key, string, string)
    }

    fn head_looking_first(
        &mut self,
        db: u8,
        key: &[u8],
        string: bool,
        read_chunks: bool,
    ) -> Result<Option<Head>> {
        for string in [string, !string] {
            let log_key = head_key(db, key, string);
            if let Some(bytes) = self.get(&log_key)? {
                let mut head = Head::decode(bytes, string).map_err(|e| e.for_key(key))?;
                if head.is_expired(self.now) {
                    self.remove_head(db, key, &head)?;
                    self.expired += 1;
                    return Ok(None);
                }
                // A key has one head: the other prefix holds nothing.
                self.set_sole_head(log_key, head.generation());
                if let (Some(c), true) = (head.chunks, read_chunks) {
                    head.body = chunks::read(self, &c)?;
                }
                return Ok(Some(head));
            }
        }
        Ok(None)
    }

    /// The live head of `key` if it is of `kind`; `WRONGTYPE` if it is of another.
    pub fn typed_head(&mut self, db: u8, key: &[u8], kind: Kind) -> Result<Option<Head>> {
        match self.head_of_kind(db, key, kind)? {
            Some(h) if h.kind != kind => Err(KvError::WrongType),
            other => Ok(other),
        }
    }

    /// Writes the head of `key`, replacing whatever value it had (dropping the children of a
    /// replaced collection of another generation).
    pub fn put_head(&mut self, db: u8, key: &[u8], head: &Head) -> Result<()> {
        if head.kind == Kind::String && head.chunks.is_none() && head.body.len() >= CHUNKED_AT {
            let chunked = Head {
                chunks: Some(chunks::write(self, &head.body)),
                ..head.clone()
            };
            return self.put_head(db, key, &chunked);
        }
        self.drop_old_chunks(db, key, head.chunks.map(|c| c.generation))?;
        let string = head.kind == Kind::String;
        let mine = head_key(db, key, string);
        let generation = head.generation();
        if self.sole_head(&mine) == Some(generation) {
            // Rewriting the head this transaction read or wrote: nothing else to replace.
            self.finish_put_head(db, key, mine, head);
            return Ok(());
        }
        let other = head_key(db, key, !string);
        self.forget_sole_head(&other);
        if !string {
            if let Some(bytes) = self.get(&mine)? {
                let old = Head::decode(bytes, false).map_err(|e| e.for_key(key))?;
                if old.generation() != head.generation() {
                    collections::drop_children(self, &old)?;
                }
            }
        }
        // The key may be held under the other prefix: a string replacing a collection (whose
        // children go too) or the reverse.
        if string {
            if let Some(bytes) = self.get(&other)? {
                let old = Head::decode(bytes, false).map_err(|e| e.for_key(key))?;
                collections::drop_children(self, &old)?;
                self.delete(other);
            }
        } else if self.exists(&other)? {
            self.delete(other);
        }
        self.set_sole_head(mine.clone(), generation);
        self.finish_put_head(db, key, mine, head);
        Ok(())
    }

    /// Wakes the clients blocked on `key` of `db`: it received elements, or a list or sorted
    /// set was put under it. A command that pushes calls this itself, since a held pipeline
    /// writes its heads later.
    pub fn elements_added_to(&mut self, db: u8, key: &[u8]) {
        self.state.blocked.wake(db, key);
    }

    /// Frees `head`'s children in the background (UNLINK): the head goes now, with a reap
    /// record naming where the children are (see [`crate::reap`]); small values go at once.
    pub fn unlink_head(&mut self, db: u8, key: &[u8], head: &Head) -> Result<()> {
        let ranges = collections::child_ranges(head)?;
        let children: u64 = ranges.iter().map(|r| r.len()).sum();
        if children <= LAZY_FREE_MIN {
            return self.remove_head(db, key, head);
        }
        let job = ReapJob::new(ranges);
        self.put(job.record_key(), job.encode());
        self.reap_jobs.push(job);
        self.forget_head(db, key, head);
        Ok(())
    }

    /// Before `key`'s head is replaced: drops the chunks of the string stored in chunks that
    /// it holds, unless they are `keep`'s (the same string, grown in place or moved).
    fn drop_old_chunks(&mut self, db: u8, key: &[u8], keep: Option<u64>) -> Result<()> {
        let chunked = &self.state.chunked_strings;
        if chunked.is_empty() || !chunked.contains(&(db, key.to_vec())) {
            return Ok(());
        }
        if let Some(bytes) = self.get(&head_key(db, key, true))? {
            if let Some(old) = Head::decode(bytes, true)
                .map_err(|e| e.for_key(key))?
                .chunks
            {
                if Some(old.generation) != keep {
                    chunks::drop_chunks(self, &old);
                }
            }
        }
        self.state.chunked_strings.remove(&(db, key.to_vec()));
        Ok(())
    }

    /// Writes a head record and does the bookkeeping every head write needs.
    fn finish_put_head(&mut self, db: u8, key: &[u8], log_key: Vec<u8>, head: &Head) {
        if head.chunks.is_some() {
            self.state.chunked_strings.insert((db, key.to_vec()));
        }
        // RENAME, COPY, MOVE and the STORE commands can give a blocked pop its key.
        if matches!(head.kind, Kind::List | Kind::ZSet) {
            self.elements_added_to(db, key);
        }
        self.put(log_key, head.encode());
        self.note_expiry(db, key, head.expire_at);
        self.state.watches.touch(db, key);
        self.changes += 1;
    }

    /// Queues the expiry-set change of a head write or delete (`expire_at` 0: none). A key
    /// without expiry in a database where no key has one needs no change.
    fn note_expiry(&mut self, db: u8, key: &[u8], expire_at: u64) {
        let d = usize::from(db);
        if expire_at != 0 {
            self.volatile_dbs[d] = true;
        } else if !self.volatile_dbs[d] && self.state.dbs[d].volatile.is_empty() {
            return;
        }
        self.volatile.push((db, key.to_vec(), expire_at));
    }

    /// Deletes `key` if it exists (and has not expired); returns whether it did.
    pub fn delete_key(&mut self, db: u8, key: &[u8]) -> Result<bool> {
        match self.head(db, key)? {
            Some(head) => {
                self.remove_head(db, key, &head)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Removes `key`'s head (found as `head`) and its children, expired or not.
    pub(crate) fn remove_head(&mut self, db: u8, key: &[u8], head: &Head) -> Result<()> {
        collections::drop_children(self, head)?;
        self.forget_head(db, key, head);
        Ok(())
    }

    /// Removes `key`'s head but not its children, which another head now owns (RENAME).
    pub(crate) fn forget_head(&mut self, db: u8, key: &[u8], head: &Head) {
        if head.chunks.is_some() {
            self.state.chunked_strings.remove(&(db, key.to_vec()));
        }
        let log_key = head_key(db, key, head.kind == Kind::String);
        self.forget_sole_head(&log_key);
        self.delete(log_key);
        self.note_expiry(db, key, 0);
        self.state.watches.touch(db, key);
        self.changes += 1;
    }

    /// Head records this transaction has written and not yet committed: a scan of the store
    /// does not see them, so whole-keyspace commands inside EXEC (KEYS, FLUSHDB) add them.
    pub fn pending_heads(&self) -> Vec<Vec<u8>> {
        self.writes
            .iter()
            .filter(|(k, value)| value.is_some() && parse_head_key(k).is_some())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// One page of the engine's unordered scan over every log key.
    pub fn scan(&self, cursor: u64, count: usize) -> Result<cairn_log::ScanPage> {
        Ok(self.store.scan(cursor, count)?)
    }

    pub fn random_cursor(&self, random: u64) -> u64 {
        self.store.random_cursor(random)
    }

    /// The expiry of `key` as the in-memory expiry set knows it (committed state).
    pub fn known_expiry(&self, db: u8, key: &[u8]) -> Option<u64> {
        self.state.dbs[usize::from(db)].volatile.get(key)
    }

    /// The number of keys of `db` as this transaction sees it: the committed count, corrected
    /// for the heads this transaction has written (looked up only here, on this rare path).
    pub fn db_size(&self, db: u8) -> u64 {
        let mut count = self.state.dbs[usize::from(db)].keys as i64;
        for (log_key, value) in &self.writes {
            if parse_head_key(log_key).is_none_or(|(d, _)| d != db) {
                continue;
            }
            let before = self.reader.contains(log_key).unwrap_or(false);
            count += i64::from(value.is_some()) - i64::from(before);
        }
        count.max(0) as u64
    }

    /// Writes every change as one atomic batch, then updates the bookkeeping. The returned
    /// commit must be waited for before the client is answered.
    ///
    /// The transaction is empty afterwards, whether the batch was written or refused, and
    /// can go on with the next commands (a pipeline runs its groups in one).
    pub fn commit(&mut self) -> Result<PendingCommit> {
        self.write_back_parked();
        self.written_bytes = 0;
        self.held_since = None;
        let writes = std::mem::take(&mut self.writes);
        let volatile = std::mem::take(&mut self.volatile);
        let generation_limit = self.generation_limit.take();
        let changes = std::mem::take(&mut self.changes);
        let expired = std::mem::take(&mut self.expired);
        // What the heads were is known again only once the batch is in the store.
        self.sole_heads.clear();
        self.volatile_dbs = [false; DATABASES];
        if let Some(error) = self.poisoned.take() {
            return Err(error);
        }
        let mut batch = Batch::new();
        // The database of each head record in the batch, in batch order (None for others).
        let mut heads = Vec::new();
        for (key, value) in writes {
            heads.push(parse_head_key(&key).map(|(db, _)| db));
            match value {
                Some(v) => batch.put_shared(key, v),
                None => batch.delete(key),
            };
        }
        if batch.is_empty() {
            return Ok(std::mem::take(&mut self.written));
        }
        let (pending, presence) = self.store.write_batch_counted(&batch)?;
        // The reap records are in the store with the heads' deletes: the children may go.
        self.state.reaping.extend(self.reap_jobs.drain(..));
        let mut count_delta = [0i64; DATABASES];
        for ((db, changed), is_put) in heads.iter().zip(&presence).zip(batch.kinds()) {
            if let (Some(db), true) = (db, changed) {
                count_delta[usize::from(*db)] += if is_put { 1 } else { -1 };
            }
        }
        let state = &mut *self.state;
        for (db, delta) in count_delta.iter().enumerate() {
            let keys = &mut state.dbs[db].keys;
            *keys = (*keys as i64 + delta).max(0) as u64;
        }
        for (db, key, expire_at) in volatile {
            let set = &mut state.dbs[usize::from(db)].volatile;
            if expire_at != 0 {
                set.set(&key, expire_at);
            } else if !set.is_empty() {
                set.remove(&key);
            }
        }
        if let Some(limit) = generation_limit {
            state.generation_limit = state.generation_limit.max(limit);
        }
        state.changes_since_save += changes;
        state.expired_keys += expired;
        Ok(pending.max(std::mem::take(&mut self.written)))
    }

    /// Deletes every key of every database with one clear of the store (FLUSHALL, or a
    /// FLUSHDB of the only database with keys), whatever their number; false, doing nothing,
    /// when this transaction has writes of its own (inside an `EXEC`), which the caller then
    /// deletes key by key so that the `EXEC` stays one atomic write.
    pub fn clear_everything(&mut self) -> Result<bool> {
        if !self.writes.is_empty()
            || self.parked.is_some()
            || !self.volatile.is_empty()
            || self.generation_limit.is_some()
        {
            return Ok(false);
        }
        // Clients watching a key that exists see it go.
        for (db, key) in self.state.watches.watched() {
            let string = head_key(db, &key, true);
            let other = head_key(db, &key, false);
            if self.store.contains(&string)? || self.store.contains(&other)? {
                self.state.watches.touch(db, &key);
            }
        }
        let cleared = self.store.clear()?;
        // What the keyspace keeps beside the keys: its bucket seed and the generations it
        // reserved (a generation is never handed out twice).
        let mut batch = Batch::new();
        batch.put(
            meta_key(crate::kv::SEED_META),
            crate::kv::encode_seed(self.state.seed),
        );
        batch.put(
            meta_key(GENERATION_META),
            self.state.generation_limit.to_le_bytes().to_vec(),
        );
        let kept = self.store.write_batch_deferred(&batch)?;
        self.written = self.written.max(cleared).max(kept);
        self.sole_heads.clear();
        for db in &mut self.state.dbs {
            self.changes += db.keys;
            db.keys = 0;
            db.volatile = Default::default();
        }
        self.state.chunked_strings.clear();
        self.state.reaping.clear();
        Ok(true)
    }

    /// Ends a pipeline: holds its writes for the next transaction when the module doc's
    /// rules allow, else commits them with everything held before.
    pub fn commit_or_hold(&mut self) -> Result<PendingCommit> {
        if self
            .parked
            .as_ref()
            .is_some_and(|p| !p.value.may_stay_decoded())
        {
            // Its records are held instead.
            self.write_back_parked();
        }
        if !self.may_hold() {
            return self.commit();
        }
        let state = &mut *self.state;
        state.changes_since_save += std::mem::take(&mut self.changes);
        state.expired_keys += std::mem::take(&mut self.expired);
        self.sole_heads.clear();
        state.held = Some(Held {
            writes: std::mem::take(&mut self.writes),
            parked: self.parked.take(),
            written_bytes: std::mem::take(&mut self.written_bytes),
            since: self.held_since.take().unwrap_or(self.now),
        });
        Ok(PendingCommit::default())
    }

    fn may_hold(&self) -> bool {
        let something = !self.writes.is_empty() || self.parked.is_some();
        let young = self
            .held_since
            .is_none_or(|since| !held_their_time(since, self.now));
        something
            && young
            && self.written_bytes < HOLD_BYTES
            && self.poisoned.is_none()
            && self.volatile.is_empty()
            && self.generation_limit.is_none()
            && self.reap_jobs.is_empty()
            && self.store.durability() != Durability::Always
    }
}
