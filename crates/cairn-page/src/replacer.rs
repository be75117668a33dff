//! The buffer pool's replacement policy: LRU-K with K = 2.
//!
//! A frame's *backward 2-distance* is the time since its second most recent access; the
//! victim is the evictable frame with the largest one. Frames accessed only once have an
//! infinite distance and go first, oldest first. Why LRU-2 rather than plain LRU: a sequential
//! scan touches each page once, so under LRU-2 its pages are the first to leave and the pages
//! used again and again (index roots and inner nodes, hot rows) stay — plain LRU would let one
//! large scan flush them all. It is also what the seed's course material names first, and
//! simpler to get right than 2Q's three queues or clock-pro's test periods.
//!
//! Kept in a `BTreeSet` ordered by (class, time): class 0 = seen once (time of that access),
//! class 1 = seen twice or more (time of the second most recent access). Access, pin and
//! unpin are O(log n), and so is finding the victim.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, Default)]
struct History {
    last: u64,
    /// The access before `last`; 0 when there was none.
    second_last: u64,
    evictable: bool,
    tracked: bool,
}

impl History {
    fn key(&self, frame: usize) -> (u8, u64, usize) {
        if self.second_last == 0 {
            (0, self.last, frame)
        } else {
            (1, self.second_last, frame)
        }
    }
}

#[derive(Debug)]
pub(crate) struct LruK {
    now: u64,
    history: Vec<History>,
    evictable: BTreeSet<(u8, u64, usize)>,
}

impl LruK {
    pub fn new(frames: usize) -> LruK {
        LruK {
            now: 0,
            history: vec![History::default(); frames],
            evictable: BTreeSet::new(),
        }
    }

    /// Records an access to `frame`.
    pub fn access(&mut self, frame: usize) {
        self.now += 1;
        let h = &mut self.history[frame];
        if h.evictable {
            self.evictable.remove(&h.key(frame));
        }
        if h.tracked {
            h.second_last = h.last;
        } else {
            h.second_last = 0;
            h.tracked = true;
        }
        h.last = self.now;
        if h.evictable {
            self.evictable.insert(h.key(frame));
        }
    }

    /// Marks whether `frame` may be evicted (it may when no one has it pinned).
    pub fn set_evictable(&mut self, frame: usize, evictable: bool) {
        let h = &mut self.history[frame];
        if h.evictable == evictable || !h.tracked {
            h.evictable = evictable && h.tracked;
            return;
        }
        h.evictable = evictable;
        let key = h.key(frame);
        if evictable {
            self.evictable.insert(key);
        } else {
            self.evictable.remove(&key);
        }
    }

    /// Picks and forgets the frame to evict, if any frame is evictable.
    pub fn victim(&mut self) -> Option<usize> {
        let (_, _, frame) = self.evictable.pop_first()?;
        self.history[frame] = History::default();
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_seen_once_go_before_frames_seen_twice() {
        let mut r = LruK::new(4);
        for f in [0, 1, 0, 2, 3] {
            r.access(f);
        }
        for f in 0..4 {
            r.set_evictable(f, true);
        }
        // 1, 2, 3 were seen once (oldest first); 0 twice.
        assert_eq!(r.victim(), Some(1));
        assert_eq!(r.victim(), Some(2));
        assert_eq!(r.victim(), Some(3));
        assert_eq!(r.victim(), Some(0));
        assert_eq!(r.victim(), None);
    }

    #[test]
    fn pinned_frames_are_never_victims() {
        let mut r = LruK::new(2);
        r.access(0);
        r.access(1);
        r.set_evictable(1, true);
        assert_eq!(r.victim(), Some(1));
        assert_eq!(r.victim(), None, "frame 0 is pinned");
    }

    #[test]
    fn among_hot_frames_the_oldest_second_access_goes_first() {
        let mut r = LruK::new(3);
        for f in [0, 1, 2, 2, 1, 0] {
            r.access(f);
        }
        for f in 0..3 {
            r.set_evictable(f, true);
        }
        // Second-most-recent accesses: 0 at t1, 1 at t2, 2 at t3.
        assert_eq!(r.victim(), Some(0));
        assert_eq!(r.victim(), Some(1));
    }
}
