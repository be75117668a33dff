//! The LRU cache of hot values, with a byte budget.
//!
//! Keyed by a record's place `(segment, offset)`, not by the key: a place's content never
//! changes (segments are append-only, and compaction writes to new places), so an entry can
//! never be stale and writes never have to invalidate anything. A write that overwrites a
//! cached record moves the entry to the new record's place with the new value (the store's
//! `keep_cached`), so a key rewritten again and again stays hot; the places of other
//! overwritten values simply stop being asked for and age out. An entry holds, in one buffer,
//! the key (so a lookup can still tell colliding hashes apart) and the decompressed value,
//! plus the expiry time; a hit hands out the value as a slice of that buffer, without copying.
//!
//! The cache is split into [`SHARDS`] mutex-protected shards, each a classic LRU (hash map into
//! a doubly linked list kept in a slab) with an equal share of the budget. Hits and misses are
//! counted for `Store::stats`.
//!
//! Small records stored uncompressed (values under 64 bytes, `record::is_small`) are not
//! cached at all: the store copies them out of the segment's mapping, which costs less than a
//! probe here.
//!
//! Admission: a record enters the cache on its second miss, not its first. Reads straight from
//! a segment's mapping are cheap, so caching a record read once (a scan, a uniformly random
//! workload) costs more than it can ever save and evicts records that are hot. A *doorkeeper*
//! (TinyLFU's: one bit per place hash, all cleared after as many first misses as it has bits
//! / 8) remembers which places missed once recently.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

const SHARDS: usize = 16;
const NIL: u32 = u32::MAX;
/// Bookkeeping bytes charged per entry on top of key and value.
const ENTRY_OVERHEAD: usize = 96;

/// A cached record: key and value in one buffer.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub buf: Bytes,
    pub key_len: usize,
    pub expires_at: u64,
}

impl Cached {
    pub fn key(&self) -> &[u8] {
        &self.buf[..self.key_len]
    }

    pub fn value(&self) -> Bytes {
        self.buf.slice(self.key_len..)
    }

    fn cost(&self) -> usize {
        self.buf.len() + ENTRY_OVERHEAD
    }
}

/// A record's place, as one integer.
pub(crate) fn place(segment: u32, offset: u64) -> u64 {
    (u64::from(segment) << 40) | (offset & ((1 << 40) - 1))
}

struct Node {
    place: u64,
    value: Cached,
    /// `Lru::tick` when the node was last moved to the front.
    stamp: u64,
    prev: u32,
    next: u32,
}

struct Lru {
    /// Places are not chosen by clients: rustc's fast hash suffices.
    map: HashMap<u64, u32, rustc_hash::FxBuildHasher>,
    nodes: Vec<Node>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    bytes: usize,
    budget: usize,
    /// Counts moves to the front; a hit moves its node only when at least half the list has
    /// been moved in front of it since (it may then be in the back half). Hot entries thus
    /// stay put instead of being relinked on every hit, and the order stays close to LRU.
    tick: u64,
}

impl Lru {
    fn new(budget: usize) -> Lru {
        Lru {
            map: HashMap::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            bytes: 0,
            budget,
            tick: 0,
        }
    }

    fn unlink(&mut self, n: u32) {
        let (prev, next) = (self.nodes[n as usize].prev, self.nodes[n as usize].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    fn push_front(&mut self, n: u32) {
        self.tick += 1;
        self.nodes[n as usize].stamp = self.tick;
        self.nodes[n as usize].prev = NIL;
        self.nodes[n as usize].next = self.head;
        if self.head != NIL {
            self.nodes[self.head as usize].prev = n;
        }
        self.head = n;
        if self.tail == NIL {
            self.tail = n;
        }
    }

    fn get(&mut self, place: u64) -> Option<Cached> {
        let n = *self.map.get(&place)?;
        let behind = self.tick - self.nodes[n as usize].stamp;
        if self.head != n && behind as usize >= self.map.len() / 2 {
            self.unlink(n);
            self.push_front(n);
        }
        Some(self.nodes[n as usize].value.clone())
    }

    fn remove(&mut self, place: u64) -> bool {
        let Some(n) = self.map.remove(&place) else {
            return false;
        };
        self.unlink(n);
        let node = &mut self.nodes[n as usize];
        self.bytes -= node.value.cost();
        node.value.buf = Bytes::new();
        self.free.push(n);
        true
    }

    fn insert(&mut self, place: u64, value: Cached) {
        let cost = value.cost();
        if cost > self.budget {
            return;
        }
        if let Some(&n) = self.map.get(&place) {
            self.bytes -= self.nodes[n as usize].value.cost();
            self.nodes[n as usize].value = value;
            self.bytes += cost;
            self.unlink(n);
            self.push_front(n);
        } else {
            let node = Node {
                place,
                value,
                stamp: 0,
                prev: NIL,
                next: NIL,
            };
            let n = match self.free.pop() {
                Some(n) => {
                    self.nodes[n as usize] = node;
                    n
                }
                None => {
                    self.nodes.push(node);
                    (self.nodes.len() - 1) as u32
                }
            };
            self.map.insert(place, n);
            self.push_front(n);
            self.bytes += cost;
        }
        while self.bytes > self.budget && self.tail != NIL {
            let victim = self.tail;
            self.unlink(victim);
            let node = &mut self.nodes[victim as usize];
            self.bytes -= node.value.cost();
            self.map.remove(&node.place);
            node.value.buf = Bytes::new();
            self.free.push(victim);
        }
    }
}

/// Remembers, approximately, which places missed once recently.
struct Doorkeeper {
    bits: Box<[AtomicU64]>,
    /// First misses since the last clear.
    marked: AtomicU64,
}

impl Doorkeeper {
    fn new(bits: usize) -> Doorkeeper {
        Doorkeeper {
            bits: (0..bits.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            marked: AtomicU64::new(0),
        }
    }

    /// Marks `hash`; returns whether it was marked already.
    fn check_and_mark(&self, hash: u64) -> bool {
        let n = (hash % (self.bits.len() as u64 * 64)) as usize;
        let (word, bit) = (&self.bits[n / 64], 1u64 << (n % 64));
        if word.load(Ordering::Relaxed) & bit != 0 {
            return true;
        }
        word.fetch_or(bit, Ordering::Relaxed);
        if self.marked.fetch_add(1, Ordering::Relaxed) >= self.bits.len() as u64 * 8 {
            self.marked.store(0, Ordering::Relaxed);
            for w in self.bits.iter() {
                w.store(0, Ordering::Relaxed);
            }
        }
        false
    }
}

/// The sharded LRU cache.
pub(crate) struct Cache {
    enabled: bool,
    doorkeeper: Doorkeeper,
    shards: Vec<Mutex<Lru>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Cache {
    pub fn new(budget: usize) -> Cache {
        // Enough doorkeeper bits for about four times the entries the budget can hold.
        let entries = budget / (ENTRY_OVERHEAD + 64);
        Cache {
            enabled: budget / SHARDS > ENTRY_OVERHEAD,
            doorkeeper: Doorkeeper::new((entries * 4).clamp(1 << 12, 1 << 26)),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Lru::new(budget / SHARDS)))
                .collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn place_hash(place: u64) -> u64 {
        std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, place)
    }

    fn shard(&self, place: u64) -> &Mutex<Lru> {
        &self.shards[(Cache::place_hash(place) >> 60) as usize % SHARDS]
    }

    /// Called on a miss: whether the record should now be cached (its second miss).
    pub fn admit(&self, place: u64) -> bool {
        self.doorkeeper
            .check_and_mark(Cache::place_hash(place).rotate_left(17))
    }

    /// Whether the cache holds anything at all (a zero budget turns it off).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn get(&self, place: u64) -> Option<Cached> {
        let found = self.shard(place).lock().get(place);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub fn insert(&self, place: u64, value: Cached) {
        self.shard(place).lock().insert(place, value)
    }

    /// Drops the entry at `place`; returns whether there was one.
    pub fn remove(&self, place: u64) -> bool {
        self.shard(place).lock().remove(place)
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Bytes charged to cached entries.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(n: usize) -> Cached {
        let mut buf = vec![b'k'; 4];
        buf.resize(4 + n, b'v');
        Cached {
            buf: Bytes::from(buf),
            key_len: 4,
            expires_at: 0,
        }
    }

    #[test]
    fn least_recently_used_goes_first() {
        let mut lru = Lru::new(3 * (ENTRY_OVERHEAD + 14));
        lru.insert(1, cached(10));
        lru.insert(2, cached(10));
        lru.insert(3, cached(10));
        assert!(lru.get(1).is_some());
        lru.insert(4, cached(10));
        assert!(lru.get(2).is_none(), "2 was least recently used");
        assert!(lru.get(1).is_some() && lru.get(3).is_some() && lru.get(4).is_some());
    }

    #[test]
    fn stays_within_budget() {
        let cache = Cache::new(64 * 1024);
        for i in 0..10_000u64 {
            cache.insert(place(1, i * 100), cached(200));
        }
        assert!(cache.bytes() <= 64 * 1024);
        assert!(cache.bytes() > 32 * 1024);
    }

    #[test]
    fn admits_on_the_second_miss() {
        let cache = Cache::new(1 << 20);
        assert!(!cache.admit(place(1, 64)));
        assert!(cache.admit(place(1, 64)));
        assert!(!cache.admit(place(1, 128)));
    }

    #[test]
    fn the_doorkeeper_forgets_after_many_first_misses() {
        let keeper = Doorkeeper::new(1 << 12);
        assert!(!keeper.check_and_mark(7));
        for h in 1000..1000 + (1u64 << 15) + 10 {
            keeper.check_and_mark(h.wrapping_mul(0x9e3779b97f4a7c15));
        }
        assert!(!keeper.check_and_mark(7), "cleared since");
    }

    #[test]
    fn counts_hits_and_misses() {
        let cache = Cache::new(1 << 20);
        cache.insert(place(1, 64), cached(5));
        assert!(cache.get(place(1, 64)).is_some());
        assert!(cache.get(place(1, 65)).is_none());
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
    }

    #[test]
    fn oversized_values_are_not_cached() {
        let mut lru = Lru::new(1000);
        lru.insert(1, cached(5000));
        assert!(lru.get(1).is_none());
        assert_eq!(lru.bytes, 0);
    }
}
