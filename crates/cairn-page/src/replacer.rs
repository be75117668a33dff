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
//! An access is two atomic stores in the frame's own [`History`] (on the frame's cache line),
//! taken without any lock: a page hit must stay cheap. The victim is found as Redis
//! approximates LRU: a clock hand walks the frames and, of the first [`SAMPLE`] evictable
//! ones, the one with the largest backward 2-distance goes. A pool of at most [`SAMPLE`]
//! frames is searched whole, so there the choice is exact LRU-2; in larger pools a scan's
//! pages are most of what the hand meets.

use std::sync::atomic::{AtomicU64, Ordering};

/// Evictable frames compared per victim.
pub(crate) const SAMPLE: usize = 64;

/// One frame's last two access times (0 = none).
#[derive(Debug, Default)]
pub(crate) struct History {
    last: AtomicU64,
    second_last: AtomicU64,
}

impl History {
    /// Forgets the history: the frame now holds another page.
    pub fn reset(&self) {
        self.last.store(0, Ordering::Relaxed);
        self.second_last.store(0, Ordering::Relaxed);
    }

    /// Orders victims: seen once before seen twice, then the older access first.
    fn key(&self) -> (u8, u64) {
        match self.second_last.load(Ordering::Relaxed) {
            0 => (0, self.last.load(Ordering::Relaxed)),
            t => (1, t),
        }
    }
}

/// The logical clock accesses are stamped with.
#[derive(Debug, Default)]
pub(crate) struct LruK {
    clock: AtomicU64,
}

impl LruK {
    /// Records an access to the frame whose history is `h`.
    pub fn access(&self, h: &History) {
        let now = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        let before = h.last.swap(now, Ordering::Relaxed);
        h.second_last.store(before, Ordering::Relaxed);
    }

    /// The frame to evict among `n`, walking from `hand` (which moves past the frames
    /// examined); `history` gives an evictable frame's history, `None` for the others.
    /// `None` if every frame is pinned.
    pub fn victim<'h>(
        &self,
        hand: &mut usize,
        n: usize,
        history: impl Fn(usize) -> Option<&'h History>,
    ) -> Option<usize> {
        let mut best: Option<(usize, (u8, u64))> = None;
        let mut seen = 0;
        for step in 0..n {
            let frame = (*hand + step) % n;
            let Some(h) = history(frame) else {
                continue;
            };
            let key = h.key();
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

    fn frames(n: usize) -> Vec<History> {
        (0..n).map(|_| History::default()).collect()
    }

    #[test]
    fn frames_seen_once_go_before_frames_seen_twice() {
        let (r, h) = (LruK::default(), frames(4));
        for f in [0, 1, 0, 2, 1] {
            r.access(&h[f]);
        }
        // A frame never accessed goes first, then 2, seen once, although accessed last.
        assert_eq!(r.victim(&mut 0, 4, |f| Some(&h[f])), Some(3));
        assert_eq!(r.victim(&mut 0, 4, |f| (f != 3).then(|| &h[f])), Some(2));
        assert_eq!(r.victim(&mut 0, 4, |f| (f < 2).then(|| &h[f])), Some(0));
    }

    #[test]
    fn pinned_frames_are_never_victims() {
        let (r, h) = (LruK::default(), frames(3));
        for frame in &h {
            r.access(frame);
        }
        assert_eq!(r.victim(&mut 0, 3, |f| (f == 1).then(|| &h[f])), Some(1));
        assert_eq!(r.victim(&mut 0, 3, |_| None), None);
    }

    #[test]
    fn among_hot_frames_the_oldest_second_access_goes_first() {
        let (r, h) = (LruK::default(), frames(3));
        for f in [0, 1, 2, 2, 1, 0, 2] {
            r.access(&h[f]);
        }
        // Second-last accesses: frame 0 at 1, frame 1 at 2, frame 2 at 4.
        assert_eq!(r.victim(&mut 0, 3, |f| Some(&h[f])), Some(0));
        h[0].reset();
        r.access(&h[0]);
        assert_eq!(
            r.victim(&mut 0, 3, |f| Some(&h[f])),
            Some(0),
            "seen once since reset"
        );
        assert_eq!(r.victim(&mut 0, 3, |f| (f != 0).then(|| &h[f])), Some(1));
    }
}
