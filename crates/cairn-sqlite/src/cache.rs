//! The page cache: least-recently-used pages kept under a byte budget.
//!
//! Entries live in a slab (`Vec`) linked into a doubly linked recency list by index, with a
//! hash map from page number to slot; a hit moves the entry to the front, an insert past the
//! budget evicts from the back. Pages are `Arc`s, so a page a cursor still holds stays valid
//! after eviction: the budget bounds what the cache keeps, and each cursor holds at most one
//! page per b-tree level besides.
//!
//! Invariants: `map` and the list hold the same slots; `len() * page_size <= budget`, except
//! that the cache always keeps at least [`MIN_PAGES`] pages so a descent never thrashes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::page::PageData;

/// The fewest pages the cache keeps whatever its budget.
pub const MIN_PAGES: usize = 16;

const NONE: usize = usize::MAX;

struct Entry {
    page: u32,
    data: Arc<PageData>,
    prev: usize,
    next: usize,
}

/// A least-recently-used cache of pages.
pub struct LruCache {
    capacity: usize,
    map: HashMap<u32, usize, BuildHasherDefault<PageNumberHasher>>,
    entries: Vec<Entry>,
    head: usize,
    tail: usize,
}

impl LruCache {
    /// A cache of `budget` bytes of `page_size`-byte pages.
    pub fn new(budget: usize, page_size: usize) -> LruCache {
        let capacity = (budget / page_size).max(MIN_PAGES);
        LruCache {
            capacity,
            map: HashMap::default(),
            entries: Vec::new(),
            head: NONE,
            tail: NONE,
        }
    }

    /// The cached page, made most recently used.
    #[inline]
    pub fn get(&mut self, page: u32) -> Option<Arc<PageData>> {
        let slot = *self.map.get(&page)?;
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
        Some(Arc::clone(&self.entries[slot].data))
    }

    /// Adds a page (not already cached), evicting the least recently used one if full.
    pub fn insert(&mut self, page: u32, data: Arc<PageData>) {
        let slot = if self.entries.len() < self.capacity {
            self.entries.push(Entry {
                page,
                data,
                prev: NONE,
                next: NONE,
            });
            self.entries.len() - 1
        } else {
            let slot = self.tail;
            self.unlink(slot);
            self.map.remove(&self.entries[slot].page);
            self.entries[slot].page = page;
            self.entries[slot].data = data;
            slot
        };
        self.map.insert(page, slot);
        self.push_front(slot);
    }

    /// Number of cached pages.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn unlink(&mut self, slot: usize) {
        let (prev, next) = (self.entries[slot].prev, self.entries[slot].next);
        if prev == NONE {
            self.head = next;
        } else {
            self.entries[prev].next = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            self.entries[next].prev = prev;
        }
    }

    fn push_front(&mut self, slot: usize) {
        self.entries[slot].prev = NONE;
        self.entries[slot].next = self.head;
        if self.head != NONE {
            self.entries[self.head].prev = slot;
        }
        self.head = slot;
        if self.tail == NONE {
            self.tail = slot;
        }
    }
}

/// Page numbers are dense small integers: a multiplicative hash spreads them well enough.
#[derive(Default)]
pub struct PageNumberHasher(u64);

impl Hasher for PageNumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u32) -> Arc<PageData> {
        Arc::new(PageData::new(n, vec![n as u8; 512].into_boxed_slice()))
    }

    #[test]
    fn evicts_the_least_recently_used_page() {
        let mut cache = LruCache::new(0, 512);
        for n in 1..=MIN_PAGES as u32 {
            cache.insert(n, page(n));
        }
        assert!(cache.get(1).is_some(), "page 1 becomes most recent");
        cache.insert(100, page(100));
        assert!(cache.get(2).is_none(), "page 2 was least recent");
        assert!(cache.get(1).is_some());
        assert_eq!(cache.get(100).expect("cached").number(), 100);
        assert_eq!(cache.len(), MIN_PAGES);
    }

    #[test]
    fn the_budget_sets_the_capacity() {
        let mut cache = LruCache::new(64 * 512, 512);
        for n in 1..=1000 {
            cache.insert(n, page(n));
        }
        assert_eq!(cache.len(), 64);
        assert!((937..=1000).all(|n| cache.get(n).is_some()));
    }
}
