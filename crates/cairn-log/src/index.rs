//! The hash index: key hash → where the key's live record is.
//!
//! It is the seed's hash table with chaining and 32-byte entries, split into [`SHARDS`]
//! independently locked shards (chosen by the low bits of the key hash) so that readers and
//! writers of different keys do not contend. Each shard grows by *linear hashing*: when the
//! load factor (entries per bucket) would pass 75 %, the next bucket in round-robin order is
//! split in two, so the table grows by one bucket at a time and never stops to rehash
//! everything (the "incremental rehash" the issue asks for).
//!
//! Chains are kept in flat arrays (`heads`, and `slots` holding each entry with the link to the
//! next one, so that walking a chain costs one cache miss per entry) rather than one allocation
//! per bucket: a slot costs 40 bytes and a bucket 4, about 45 bytes per live key in all.
//!
//! Keys whose 64-bit hashes collide share a chain; callers tell them apart by reading the full
//! key from the record an entry points to (the `same_key` closures below).
//!
//! The whole table lives in memory; values do not (they stay in the segments), so a keyspace
//! much larger than RAM needs only these ~45 bytes per key. `hash_index.idx` holds a checkpoint
//! of it, written by [`Index::write_snapshot`] (format in persist.rs).

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Number of shards; a power of two.
pub(crate) const SHARDS: usize = 64;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();
/// Buckets of a shard before its first split; a power of two.
const BASE_BUCKETS: usize = 16;
const NIL: u32 = u32::MAX;

/// Where a key's live record is: the seed's 32-byte index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub hash: u64,
    pub segment: u32,
    pub offset: u64,
    pub size: u32,
    /// Logical timestamp of the write: the LSN of the WAL frame that made it.
    pub timestamp: u64,
}

pub(crate) const ENTRY_LEN: usize = 32;

impl Entry {
    /// The seed's on-disk order: hash 8, segment 4, offset 8, size 4, timestamp 8.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.segment.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
    }

    pub fn decode(b: &[u8; ENTRY_LEN]) -> Entry {
        let u64_at = |at: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(x)
        };
        let u32_at = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        Entry {
            hash: u64_at(0),
            segment: u32_at(8),
            offset: u64_at(12),
            size: u32_at(20),
            timestamp: u64_at(24),
        }
    }

    pub fn same_place(&self, other: &Entry) -> bool {
        self.segment == other.segment && self.offset == other.offset
    }
}

/// Which shard a hash belongs to.
pub(crate) fn shard_of(hash: u64) -> usize {
    (hash as usize) & (SHARDS - 1)
}

/// One shard: a linear-hashing table with chaining.
/// An entry and the link to the next slot of its chain.
#[derive(Debug, Clone, Copy)]
struct Slot {
    entry: Entry,
    next: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Shard {
    heads: Vec<u32>,
    slots: Vec<Slot>,
    free: u32,
    len: usize,
    /// Buckets at the start of the current round are `BASE_BUCKETS << level`.
    level: u32,
    /// Next bucket of the round to split.
    split: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            heads: vec![NIL; BASE_BUCKETS],
            slots: Vec::new(),
            free: NIL,
            len: 0,
            level: 0,
            split: 0,
        }
    }
}

impl Shard {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn buckets(&self) -> usize {
        self.heads.len()
    }

    fn bucket_of(&self, hash: u64) -> usize {
        let h = (hash >> SHARD_BITS) as usize;
        let round = BASE_BUCKETS << self.level;
        let b = h & (round - 1);
        if b < self.split {
            h & (2 * round - 1)
        } else {
            b
        }
    }

    /// The entries with this hash (usually none or one).
    pub fn with_hash(&self, hash: u64) -> impl Iterator<Item = &Entry> + '_ {
        let mut slot = self.heads[self.bucket_of(hash)];
        std::iter::from_fn(move || {
            while slot != NIL {
                let s = &self.slots[slot as usize];
                slot = s.next;
                if s.entry.hash == hash {
                    return Some(&s.entry);
                }
            }
            None
        })
    }

    /// Finds the entry of this key (`same_key` confirms a hash match is the same key).
    #[cfg(test)]
    pub fn find<E>(
        &self,
        hash: u64,
        mut same_key: impl FnMut(&Entry) -> Result<bool, E>,
    ) -> Result<Option<Entry>, E> {
        for e in self.with_hash(hash) {
            if same_key(e)? {
                return Ok(Some(*e));
            }
        }
        Ok(None)
    }

    fn slot_of<E>(
        &self,
        hash: u64,
        mut matches: impl FnMut(&Entry) -> Result<bool, E>,
    ) -> Result<Option<(usize, u32, u32)>, E> {
        let bucket = self.bucket_of(hash);
        let mut prev = NIL;
        let mut slot = self.heads[bucket];
        while slot != NIL {
            let s = &self.slots[slot as usize];
            if s.entry.hash == hash && matches(&s.entry)? {
                return Ok(Some((bucket, prev, slot)));
            }
            prev = slot;
            slot = s.next;
        }
        Ok(None)
    }

    /// Sets the key's entry to `entry`, returning the entry it replaced.
    pub fn upsert<E>(
        &mut self,
        entry: Entry,
        same_key: impl FnMut(&Entry) -> Result<bool, E>,
    ) -> Result<Option<Entry>, E> {
        if let Some((_, _, slot)) = self.slot_of(entry.hash, same_key)? {
            let old = std::mem::replace(&mut self.slots[slot as usize].entry, entry);
            return Ok(Some(old));
        }
        self.insert_new(entry);
        Ok(None)
    }

    /// Adds an entry known not to be present.
    fn insert_new(&mut self, entry: Entry) {
        let bucket = self.bucket_of(entry.hash);
        let head = self.heads[bucket];
        let slot = if self.free != NIL {
            let slot = self.free;
            self.free = self.slots[slot as usize].next;
            self.slots[slot as usize] = Slot { entry, next: head };
            slot
        } else {
            self.slots.push(Slot { entry, next: head });
            (self.slots.len() - 1) as u32
        };
        self.heads[bucket] = slot;
        self.len += 1;
        while self.len * 4 > self.heads.len() * 3 {
            self.split_one();
        }
    }

    /// Removes the entry that `matches` accepts, returning it.
    pub fn remove<E>(
        &mut self,
        hash: u64,
        matches: impl FnMut(&Entry) -> Result<bool, E>,
    ) -> Result<Option<Entry>, E> {
        let Some((bucket, prev, slot)) = self.slot_of(hash, matches)? else {
            return Ok(None);
        };
        let after = self.slots[slot as usize].next;
        if prev == NIL {
            self.heads[bucket] = after;
        } else {
            self.slots[prev as usize].next = after;
        }
        self.slots[slot as usize].next = self.free;
        self.free = slot;
        self.len -= 1;
        Ok(Some(self.slots[slot as usize].entry))
    }

    /// Points the entry at `from` to `to` if it still points at `from` (compaction's move).
    pub fn relocate(&mut self, from: &Entry, to: Entry) -> bool {
        let found = self.slot_of::<()>(from.hash, |e| Ok(e.same_place(from)));
        if let Ok(Some((_, _, slot))) = found {
            self.slots[slot as usize].entry = to;
            true
        } else {
            false
        }
    }

    /// Splits the next bucket of the round: its chain is divided between itself and a new
    /// bucket at the end, by the next bit of the hash.
    fn split_one(&mut self) {
        let round = BASE_BUCKETS << self.level;
        let old = self.split;
        let new = old + round;
        debug_assert_eq!(new, self.heads.len());
        self.heads.push(NIL);
        let mut slot = std::mem::replace(&mut self.heads[old], NIL);
        while slot != NIL {
            let s = &mut self.slots[slot as usize];
            let next = s.next;
            let h = (s.entry.hash >> SHARD_BITS) as usize;
            let to = if h & round != 0 { new } else { old };
            s.next = self.heads[to];
            self.heads[to] = slot;
            slot = next;
        }
        self.split += 1;
        if self.split == round {
            self.level += 1;
            self.split = 0;
        }
    }

    /// The entries of bucket `bucket`, appended to `out`.
    pub fn bucket_entries(&self, bucket: usize, out: &mut Vec<Entry>) {
        let Some(&head) = self.heads.get(bucket) else {
            return;
        };
        let mut slot = head;
        while slot != NIL {
            out.push(self.slots[slot as usize].entry);
            slot = self.slots[slot as usize].next;
        }
    }

    /// Every entry, bucket by bucket.
    pub fn for_each(&self, mut f: impl FnMut(&Entry)) {
        for &head in &self.heads {
            let mut slot = head;
            while slot != NIL {
                f(&self.slots[slot as usize].entry);
                slot = self.slots[slot as usize].next;
            }
        }
    }

    /// Linear-hashing parameters, for the snapshot.
    pub fn shape(&self) -> (u32, usize) {
        (self.level, self.split)
    }

    /// An empty shard ready to take `entries` entries through [`Shard::load_entry`].
    ///
    /// The shape is rebuilt by the inserts rather than taken from the snapshot, so that loading
    /// never allocates more than the entries present justify (a shard that shrank by deletes
    /// comes back smaller; a damaged shape cannot ask for terabytes).
    pub fn for_loading(entries: usize) -> Shard {
        let mut shard = Shard::default();
        shard.slots.reserve_exact(entries);
        shard.heads.reserve(entries * 4 / 3 + 1);
        shard
    }

    /// Adds an entry read from a snapshot.
    pub fn load_entry(&mut self, entry: Entry) {
        self.insert_new(entry)
    }

    /// Checks the structure: every entry in the bucket its hash addresses, counts consistent,
    /// load factor kept. For tests.
    #[cfg(test)]
    pub fn check_invariants(&self) {
        let mut seen = 0;
        for (b, &head) in self.heads.iter().enumerate() {
            let mut slot = head;
            while slot != NIL {
                assert_eq!(self.bucket_of(self.slots[slot as usize].entry.hash), b);
                seen += 1;
                slot = self.slots[slot as usize].next;
            }
        }
        assert_eq!(seen, self.len);
        assert!(self.len * 4 <= self.heads.len() * 3 || self.heads.len() == BASE_BUCKETS);
        assert_eq!(self.heads.len(), (BASE_BUCKETS << self.level) + self.split);
    }
}

/// The sharded index.
#[derive(Debug)]
pub(crate) struct Index {
    shards: Vec<RwLock<Shard>>,
}

impl Default for Index {
    fn default() -> Self {
        Index::from_shards((0..SHARDS).map(|_| Shard::default()).collect())
    }
}

impl Index {
    pub fn from_shards(shards: Vec<Shard>) -> Index {
        debug_assert_eq!(shards.len(), SHARDS);
        Index {
            shards: shards.into_iter().map(RwLock::new).collect(),
        }
    }

    pub fn read(&self, hash: u64) -> RwLockReadGuard<'_, Shard> {
        self.shards[shard_of(hash)].read()
    }

    pub fn write(&self, hash: u64) -> RwLockWriteGuard<'_, Shard> {
        self.shards[shard_of(hash)].write()
    }

    pub fn shard(&self, n: usize) -> RwLockReadGuard<'_, Shard> {
        self.shards[n].read()
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        for shard in &self.shards {
            *shard.write() = Shard::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn entry(hash: u64, offset: u64) -> Entry {
        Entry {
            hash,
            segment: 1,
            offset,
            size: 10,
            timestamp: offset,
        }
    }

    #[test]
    fn entry_encoding_is_32_bytes_in_seed_order() {
        let e = Entry {
            hash: 0x0102030405060708,
            segment: 9,
            offset: 10,
            size: 11,
            timestamp: 12,
        };
        let mut buf = Vec::new();
        e.encode(&mut buf);
        assert_eq!(buf.len(), ENTRY_LEN);
        assert_eq!(buf[8], 9);
        assert_eq!(buf[12], 10);
        assert_eq!(buf[20], 11);
        assert_eq!(buf[24], 12);
        assert_eq!(Entry::decode(&buf.try_into().expect("32 bytes")), e);
    }

    #[test]
    fn shard_matches_a_hashmap_through_growth_and_removal() {
        let mut shard = Shard::default();
        let mut model = HashMap::new();
        let mut x = 0x9e3779b97f4a7c15u64;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let hash = (x % 5000) << SHARD_BITS;
            if i % 3 == 2 {
                let removed = shard.remove::<()>(hash, |_| Ok(true)).expect("infallible");
                assert_eq!(removed.map(|e| e.offset), model.remove(&hash));
            } else {
                let old = shard
                    .upsert::<()>(entry(hash, i), |_| Ok(true))
                    .expect("infallible");
                assert_eq!(old.map(|e| e.offset), model.insert(hash, i));
            }
            if i % 997 == 0 {
                shard.check_invariants();
            }
        }
        shard.check_invariants();
        assert_eq!(shard.len(), model.len());
        for (&hash, &offset) in &model {
            let found = shard.find::<()>(hash, |_| Ok(true)).expect("infallible");
            assert_eq!(found.map(|e| e.offset), Some(offset));
        }
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_the_caller() {
        let mut shard = Shard::default();
        shard.upsert::<()>(entry(64, 1), |_| Ok(false)).expect("ok");
        shard.upsert::<()>(entry(64, 2), |_| Ok(false)).expect("ok");
        assert_eq!(shard.len(), 2);
        assert_eq!(shard.with_hash(64).count(), 2);
        let second = shard
            .find::<()>(64, |e| Ok(e.offset == 2))
            .expect("ok")
            .expect("found");
        assert_eq!(second.offset, 2);
    }

    #[test]
    fn growth_is_one_bucket_at_a_time() {
        let mut shard = Shard::default();
        let mut last = shard.buckets();
        for i in 0..10_000u64 {
            shard
                .upsert::<()>(entry(i << SHARD_BITS, i), |_| Ok(false))
                .expect("ok");
            assert!(
                shard.buckets() - last <= 2,
                "grew by {}",
                shard.buckets() - last
            );
            last = shard.buckets();
        }
        shard.check_invariants();
    }

    #[test]
    fn relocate_moves_only_the_entry_still_in_place() {
        let mut shard = Shard::default();
        let old = entry(128, 100);
        shard.upsert::<()>(old, |_| Ok(true)).expect("ok");
        let moved = Entry { segment: 2, ..old };
        assert!(shard.relocate(&old, moved));
        assert!(
            !shard.relocate(&old, moved),
            "second move must see the new place"
        );
    }
}
