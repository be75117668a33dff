//! The table of open segments, by id.
//!
//! Read on every lookup that misses the cache (once per batch of them through a
//! [`crate::Reader`]), changed only when a segment is created or deleted. It is an immutable map behind an `ArcSwap`: readers load it without writing any
//! shared cache line (no lock, no reference count), and a change publishes a new copy.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::segment::Segment;

pub(crate) type SegmentMap = BTreeMap<u32, Arc<Segment>>;

pub(crate) struct SegmentTable {
    map: ArcSwap<SegmentMap>,
}

impl SegmentTable {
    pub fn new(map: SegmentMap) -> SegmentTable {
        SegmentTable {
            map: ArcSwap::from_pointee(map),
        }
    }

    /// Runs `f` on segment `id`, if it exists, without taking a reference to it.
    pub fn with<R>(&self, id: u32, f: impl FnOnce(&Segment) -> R) -> Option<R> {
        self.map.load().get(&id).map(|s| f(s))
    }

    pub fn get(&self, id: u32) -> Option<Arc<Segment>> {
        self.map.load().get(&id).cloned()
    }

    /// The current map, for walks over every segment.
    pub fn all(&self) -> Arc<SegmentMap> {
        self.map.load_full()
    }

    pub fn insert(&self, segment: Arc<Segment>) {
        self.map.rcu(|m| {
            let mut m = SegmentMap::clone(m);
            m.insert(segment.id(), Arc::clone(&segment));
            m
        });
    }

    pub fn remove(&self, ids: &[u32]) {
        self.map.rcu(|m| {
            let mut m = SegmentMap::clone(m);
            for id in ids {
                m.remove(id);
            }
            m
        });
    }
}
