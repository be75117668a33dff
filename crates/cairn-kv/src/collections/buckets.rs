//! A hash table stored as child records: the layout of hashes and sets.
//!
//! The table grows by linear hashing: with `level` i and `split` s there are 2^i + s buckets;
//! a field whose hash h has `h mod 2^i < s` lives in bucket `h mod 2^(i+1)`, any other in
//! `h mod 2^i`. When the average bucket passes [`SPLIT_AT`] entries, bucket s is split in
//! two (s rises; at 2^i the level rises). So a change rewrites one bucket of a few dozen
//! entries, whatever the size of the collection, and no change ever rewrites the table.
//! The hash is SipHash-1-3 under a per-store secret, so clients cannot pile fields into one
//! bucket.
//!
//! A table of a single bucket keeps it inside the descriptor (no child record): most hashes
//! and sets are small, and then a change is one record.
//!
//! A table that stays decoded across many changes (a parked hash or set, a sorted set's
//! member table) caches the buckets it decodes ([`BucketMap::cache_buckets`]): a change then
//! edits the decoded bucket in place, and [`BucketMap::flush`] encodes each changed bucket
//! once. Invariant: while a bucket is cached, its record is stale; `flush` must run before
//! the descriptor is written.
//!
//! ```text
//! descriptor: generation u64 | len u64 | level u32 | split u64 | [inline bucket]
//! bucket:     child 'b' | bucket number (u64 BE) → entries
//! entries:    (field: u32 len + bytes, value: u32 len + bytes)*
//! ```

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::Hasher;

use bytes::Bytes;
use siphasher::sip::SipHasher13;

use crate::encoding::{child_key, Reader, Writer};
use crate::error::Result;
use crate::txn::Txn;

/// Average entries per bucket above which a bucket is split.
pub const SPLIT_AT: u64 = 24;

pub type Entries = Vec<(Bytes, Bytes)>;

#[derive(Debug, Clone)]
pub struct BucketMap {
    pub generation: u64,
    pub len: u64,
    level: u32,
    split: u64,
    /// The only bucket, while there is one.
    inline: Option<Entries>,
    /// Decoded buckets with whether they changed since their record was written; `None`
    /// when changes are written through (see the module doc).
    cached: Option<HashMap<u64, (Entries, bool)>>,
}

impl BucketMap {
    pub fn new(txn: &mut Txn<'_>) -> BucketMap {
        BucketMap {
            generation: txn.new_generation(),
            len: 0,
            level: 0,
            split: 0,
            inline: Some(Vec::new()),
            cached: None,
        }
    }

    /// An empty table whose buckets live under an existing generation (a sorted set's).
    pub fn with_generation(generation: u64) -> BucketMap {
        BucketMap {
            generation,
            len: 0,
            level: 0,
            split: 0,
            inline: Some(Vec::new()),
            cached: None,
        }
    }

    pub fn decode(body: &Bytes) -> Result<BucketMap> {
        let mut r = Reader::new(body);
        let generation = r.u64()?;
        let len = r.u64()?;
        let level = r.u32()?;
        let split = r.u64()?;
        let inline = if level == 0 && split == 0 {
            Some(decode_entries(&mut r, body)?)
        } else {
            None
        };
        Ok(BucketMap {
            generation,
            len,
            level,
            split,
            inline,
            cached: None,
        })
    }

    /// From now on, keeps the buckets it decodes and changes them in memory until
    /// [`BucketMap::flush`].
    pub fn cache_buckets(&mut self) {
        self.cached.get_or_insert_with(HashMap::new);
    }

    /// Writes every cached bucket that changed into the transaction and empties the cache.
    pub fn flush(&mut self, txn: &mut Txn<'_>) {
        let Some(cached) = &mut self.cached else {
            return;
        };
        for (bucket, (entries, changed)) in cached.drain() {
            if changed {
                write_bucket(txn, bucket_key(self.generation, bucket), &entries);
            }
        }
    }

    /// The descriptor; call [`BucketMap::flush`] first.
    pub fn encode(&self) -> Vec<u8> {
        debug_assert!(
            self.cached
                .as_ref()
                .is_none_or(|c| c.values().all(|(_, changed)| !changed)),
            "a changed bucket was not flushed"
        );
        let inline_bytes = self.inline.as_ref().map_or(0, entries_len);
        let mut w = Writer::with_capacity(28 + inline_bytes);
        w.u64(self.generation)
            .u64(self.len)
            .u32(self.level)
            .u64(self.split);
        if let Some(entries) = &self.inline {
            encode_entries(&mut w, entries);
        }
        w.0
    }

    /// Number of buckets.
    pub fn buckets(&self) -> u64 {
        (1u64 << self.level) + self.split
    }

    fn bucket_of(&self, txn: &Txn<'_>, field: &[u8]) -> u64 {
        let (k0, k1) = txn.state.seed;
        let mut h = SipHasher13::new_with_keys(k0, k1);
        h.write(field);
        let h = h.finish();
        let low = h & ((1u64 << self.level) - 1);
        if low < self.split {
            h & ((1u64 << (self.level + 1)) - 1)
        } else {
            low
        }
    }

    /// The entries of bucket number `bucket`.
    pub fn bucket(&self, txn: &mut Txn<'_>, bucket: u64) -> Result<Entries> {
        if let Some(entries) = &self.inline {
            return Ok(if bucket == 0 {
                entries.clone()
            } else {
                Vec::new()
            });
        }
        if let Some(entries) = self.cached(bucket) {
            return Ok(entries.clone());
        }
        read_bucket(txn, &bucket_key(self.generation, bucket))
    }

    /// Bucket `bucket` as the cache holds it, if it does.
    fn cached(&self, bucket: u64) -> Option<&Entries> {
        self.cached
            .as_ref()?
            .get(&bucket)
            .map(|(entries, _)| entries)
    }

    fn store_bucket(&mut self, txn: &mut Txn<'_>, bucket: u64, entries: Entries) {
        if let Some(inline) = &mut self.inline {
            *inline = entries;
        } else if let Some(cached) = &mut self.cached {
            cached.insert(bucket, (entries, true));
        } else {
            write_bucket(txn, bucket_key(self.generation, bucket), &entries);
        }
    }

    /// Runs `change` on bucket `bucket` (not the inline one), which it reports whether it
    /// changed, and has a change written or cached.
    fn change_bucket<R>(
        &mut self,
        txn: &mut Txn<'_>,
        bucket: u64,
        change: impl FnOnce(&mut Entries) -> (R, bool),
    ) -> Result<R> {
        let generation = self.generation;
        match &mut self.cached {
            Some(cached) => {
                let slot = match cached.entry(bucket) {
                    Entry::Occupied(slot) => slot.into_mut(),
                    Entry::Vacant(slot) => {
                        let entries = read_bucket(txn, &bucket_key(generation, bucket))?;
                        slot.insert((entries, false))
                    }
                };
                let (result, changed) = change(&mut slot.0);
                slot.1 |= changed;
                Ok(result)
            }
            None => {
                let key = bucket_key(generation, bucket);
                let mut entries = read_bucket(txn, &key)?;
                let (result, changed) = change(&mut entries);
                if changed {
                    write_bucket(txn, key, &entries);
                }
                Ok(result)
            }
        }
    }

    pub fn get(&self, txn: &mut Txn<'_>, field: &[u8]) -> Result<Option<Bytes>> {
        let value_in = |entries: &Entries| find(entries, field).map(|i| entries[i].1.clone());
        if let Some(entries) = &self.inline {
            return Ok(value_in(entries));
        }
        let b = self.bucket_of(txn, field);
        if let Some(entries) = self.cached(b) {
            return Ok(value_in(entries));
        }
        Ok(value_in(&read_bucket(
            txn,
            &bucket_key(self.generation, b),
        )?))
    }

    /// Sets `field` to `value`; returns whether the field is new.
    pub fn insert(&mut self, txn: &mut Txn<'_>, field: Bytes, value: Bytes) -> Result<bool> {
        let new = match &mut self.inline {
            // The only bucket: changed in place, no hashing.
            Some(entries) => upsert(entries, field, value) == Upsert::Added,
            None => {
                let b = self.bucket_of(txn, &field);
                self.change_bucket(txn, b, |entries| {
                    let outcome = upsert(entries, field, value);
                    (outcome == Upsert::Added, outcome != Upsert::Unchanged)
                })?
            }
        };
        if new {
            self.len += 1;
            if self.len > self.buckets() * SPLIT_AT {
                self.split_one(txn)?;
            }
        }
        Ok(new)
    }

    /// Removes `field`; returns whether it was there.
    pub fn remove(&mut self, txn: &mut Txn<'_>, field: &[u8]) -> Result<bool> {
        let removed = match &mut self.inline {
            Some(entries) => take_out(entries, field),
            None => {
                let b = self.bucket_of(txn, field);
                self.change_bucket(txn, b, |entries| {
                    let removed = take_out(entries, field);
                    (removed, removed)
                })?
            }
        };
        if removed {
            self.len -= 1;
        }
        Ok(removed)
    }

    /// Splits bucket `split` into itself and its image at `split + 2^level`.
    fn split_one(&mut self, txn: &mut Txn<'_>) -> Result<()> {
        let old = self.split;
        let moving = self.bucket(txn, old)?;
        if let Some(inline) = self.inline.take() {
            // Leaving the descriptor: the single bucket becomes child records.
            debug_assert_eq!(moving.len(), inline.len());
        }
        self.split += 1;
        let image = old + (1u64 << self.level);
        let (mut stay, mut go) = (Vec::new(), Vec::new());
        for (f, v) in moving {
            if self.bucket_of(txn, &f) == image {
                go.push((f, v));
            } else {
                stay.push((f, v));
            }
        }
        self.store_bucket(txn, old, std::mem::take(&mut stay));
        self.store_bucket(txn, image, std::mem::take(&mut go));
        if self.split == 1u64 << self.level {
            self.level += 1;
            self.split = 0;
        }
        Ok(())
    }

    /// Every entry, bucket by bucket.
    pub fn entries(&self, txn: &mut Txn<'_>) -> Result<Entries> {
        if let Some(entries) = &self.inline {
            return Ok(entries.clone());
        }
        let mut all = Vec::with_capacity(self.len as usize);
        for b in 0..self.buckets() {
            all.extend(self.bucket(txn, b)?);
        }
        Ok(all)
    }

    /// Where the bucket records are (none while the only bucket is inline).
    pub fn child_range(&self) -> Option<super::ChildRange> {
        self.inline.is_none().then(|| super::ChildRange {
            generation: self.generation,
            prefix: b'b',
            from: 0,
            to: self.buckets(),
        })
    }

    /// Deletes every bucket record (of the buckets as they are now: flush first).
    pub fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()> {
        if self.inline.is_none() {
            for b in 0..self.buckets() {
                txn.delete(bucket_key(self.generation, b));
            }
        }
        Ok(())
    }
}

fn bucket_key(generation: u64, bucket: u64) -> Vec<u8> {
    let mut part = vec![b'b'];
    part.extend_from_slice(&bucket.to_be_bytes());
    child_key(generation, &part)
}

fn read_bucket(txn: &mut Txn<'_>, key: &[u8]) -> Result<Entries> {
    match txn.get(key)? {
        Some(bytes) => decode_entries(&mut Reader::new(&bytes), &bytes),
        None => Ok(Vec::new()),
    }
}

/// Writes a bucket's record; an empty bucket has none.
fn write_bucket(txn: &mut Txn<'_>, key: Vec<u8>, entries: &Entries) {
    if entries.is_empty() {
        txn.delete(key);
    } else {
        let mut w = Writer::with_capacity(entries_len(entries));
        encode_entries(&mut w, entries);
        txn.put(key, w.0);
    }
}

fn find(entries: &Entries, field: &[u8]) -> Option<usize> {
    entries.iter().position(|(f, _)| f.as_ref() == field)
}

/// Sets `field` in a bucket; returns whether it is new.
/// What an upsert did to a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upsert {
    Added,
    Replaced,
    /// The field was there with that very value: the bucket need not be written.
    Unchanged,
}

fn upsert(entries: &mut Entries, field: Bytes, value: Bytes) -> Upsert {
    match find(entries, &field) {
        Some(i) if entries[i].1 == value => Upsert::Unchanged,
        Some(i) => {
            entries[i].1 = value;
            Upsert::Replaced
        }
        None => {
            entries.push((field, value));
            Upsert::Added
        }
    }
}

/// Removes `field` from a bucket, keeping the others in order (a small hash answers
/// HGETALL in insertion order, as Redis's listpack encoding does).
fn take_out(entries: &mut Entries, field: &[u8]) -> bool {
    match find(entries, field) {
        Some(i) => {
            entries.remove(i);
            true
        }
        None => false,
    }
}

/// Decodes entries as slices of `src` (the buffer `r` reads), without copying them.
fn decode_entries(r: &mut Reader<'_>, src: &Bytes) -> Result<Entries> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let f = r.shared(src)?;
        let v = r.shared(src)?;
        out.push((f, v));
    }
    Ok(out)
}

/// The encoded size of `entries`.
fn entries_len(entries: &Entries) -> usize {
    entries.iter().map(|(f, v)| 8 + f.len() + v.len()).sum()
}

fn encode_entries(w: &mut Writer, entries: &Entries) {
    for (f, v) in entries {
        w.bytes(f).bytes(v);
    }
}
