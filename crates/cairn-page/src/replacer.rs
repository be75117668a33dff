//! The buffer pool's replacement policy: LRU-K with K = 2, victims chosen by sampling.
//!
//! A frame's *backward 2-distance* is the time since its second most recent access; the
//! victim is the evictable frame with the largest one. Frames accessed only once have an
//! infinite distance and go first, oldest first. Why LRU-2 rather than plain LRU: a sequential
//! scan touches each page once, so under LRU-2 its pages are the first to leave and the pages
//! used again and again (index roots and inner nodes, hot rows) stay — plain LRU would let one
//! large scan flush them all. It is also what the seed's course material names first, and
//! simpler to get right than 2Q's three queues or clock-pro's test periods.
//!
//! An access is two atomic stores in the frame's history, taken without any lock: a page hit
//! must stay cheap. The victim is found as Redis approximates LRU: a clock hand walks the
//! frames and, of the first [`SAMPLE`] evictable ones, the one with the largest backward
//! 2-distance goes. A pool of at most [`SAMPLE`] frames is searched whole, so there the
//! choice is exact LRU-2; in larger pools a scan's pages are most of what the hand meets.

use std::sync::atomic::{AtomicU64, Ordering};

/// Evictable frames compared per victim.
pub(crate) const SAMPLE: usize = 64;

#[derive(Debug)]
pub(crate) struct LruK {
    clock: AtomicU64,
    /// Per frame: the time of its last access (0 = never).
    last: Box<[AtomicU64]>,
    /// Per frame: the time of the access before the last (0 = none).
    second_last: Box<[AtomicU64]>,
}

impl LruK {
    pub fn new(frames: usize) -> LruK {
        LruK {
            clock: AtomicU64::new(0),
            last: (0..frames).map(|_| AtomicU64::new(0)).collect(),
            second_last: (0..frames).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Records an access to `frame`.
    pub fn access(&self, frame: usize) {
        let now = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        let before = self.last[frame].swap(now, Ordering::Relaxed);
        self.second_last[frame].store(before, Ordering::Relaxed);
    }

    /// Forgets `frame`'s history: it now holds another page.
    pub fn reset(&self, frame: usize) {
        self.last[frame].store(0, Ordering::Relaxed);
        self.second_last[frame].store(0, Ordering::Relaxed);
    }

    /// Orders victims: seen once before seen twice, then the older access first.
    fn key(&self, frame: usize) -> (u8, u64) {
        match self.second_last[frame].load(Ordering::Relaxed) {
            0 => (0, self.last[frame].load(Ordering::Relaxed)),
            t => (1, t),
        }
    }

    /// The frame to evict among those `evictable` accepts, walking from `hand` (which moves
    /// past the frames examined); `None` if every frame is pinned.
    pub fn victim(&self, hand: &mut usize, evictable: impl Fn(usize) -> bool) -> Option<usize> {
        let n = self.last.len();
        let mut best: Option<(usize, (u8, u64))> = None;
        let mut seen = 0;
        for step in 0..n {
            let frame = (*hand + step) % n;
            if !evictable(frame) {
                continue;
            }
            let key = self.key(frame);
            if best.is_none_or(|(_, b)| key < b) {
                best = Some((frame, key));
            }
            seen += 1;
            if seen == SAMPLE {
                *hand = (frame + 1) % n;
                return best.map(|(f, _)| f);
            }
        }
        *hand = (*hand + 1) % n.max(1);
        best.map(|(f, _)| f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_seen_once_go_before_frames_seen_twice() {
        let r = LruK::new(4);
        for f in [0, 1, 0, 2, 1] {
            r.access(f);
        }
        // A frame never accessed goes first, then 2, seen once, although accessed last.
        assert_eq!(r.victim(&mut 0, |_| true), Some(3));
        assert_eq!(r.victim(&mut 0, |f| f != 3), Some(2));
        assert_eq!(r.victim(&mut 0, |f| f < 2), Some(0));
    }

    #[test]
    fn pinned_frames_are_never_victims() {
        let r = LruK::new(3);
        for f in 0..3 {
            r.access(f);
        }
        assert_eq!(r.victim(&mut 0, |f| f == 1), Some(1));
        assert_eq!(r.victim(&mut 0, |_| false), None);
    }

    #[test]
    fn among_hot_frames_the_oldest_second_access_goes_first() {
        let r = LruK::new(3);
        for f in [0, 1, 2, 2, 1, 0, 2] {
            r.access(f);
        }
        // Second-last accesses: frame 0 at 1, frame 1 at 2, frame 2 at 4.
        assert_eq!(r.victim(&mut 0, |_| true), Some(0));
        r.reset(0);
        r.access(0);
        assert_eq!(r.victim(&mut 0, |_| true), Some(0), "seen once since reset");
        assert_eq!(r.victim(&mut 0, |f| f != 0), Some(1));
    }
}
