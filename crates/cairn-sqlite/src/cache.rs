//! The page cache: least-recently-used pages kept under a byte budget, over the `lru` crate.
//!
//! Pages are `Arc`s, so a page a cursor still holds stays valid after eviction: the budget
//! bounds what the cache keeps, and each cursor holds at most one page per b-tree level
//! besides.
//!
//! Invariant: `len() * page_size <= budget`, except that the cache always keeps at least
//! [`MIN_PAGES`] pages so a descent never thrashes.

use std::num::NonZeroUsize;
use std::sync::Arc;

use rustc_hash::FxBuildHasher;

use crate::page::PageData;

/// The fewest pages the cache keeps whatever its budget.
pub const MIN_PAGES: usize = 16;

/// A least-recently-used cache of pages, keyed by page number.
pub struct LruCache {
    pages: lru::LruCache<u32, Arc<PageData>, FxBuildHasher>,
}

impl LruCache {
    /// A cache of `budget` bytes of `page_size`-byte pages.
    pub fn new(budget: usize, page_size: usize) -> LruCache {
        let capacity = (budget / page_size).max(MIN_PAGES);
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        LruCache {
            pages: lru::LruCache::with_hasher(capacity, FxBuildHasher),
        }
    }

    /// The cached page, made most recently used.
    #[inline]
    pub fn get(&mut self, page: u32) -> Option<Arc<PageData>> {
        self.pages.get(&page).cloned()
    }

    /// Adds a page (not already cached), evicting the least recently used one if full.
    pub fn insert(&mut self, page: u32, data: Arc<PageData>) {
        self.pages.put(page, data);
    }

    /// Number of cached pages.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pages.len()
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
