//! Range scans, forward and backward, that hold no latch between leaves.

use std::ops::Bound;

use crate::error::Result;

use super::*;

impl<'s> BTree<'s> {
    /// Entries with keys within the bounds, in key order.
    pub fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Range<'s> {
        Range {
            tree: *self,
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
            reverse: false,
            next: Some(None),
            arena: Vec::new(),
            buffer: std::collections::VecDeque::new(),
        }
    }

    /// Entries with keys within the bounds, in descending order.
    pub fn range_rev(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Range<'s> {
        Range {
            reverse: true,
            ..self.range(lower, upper)
        }
    }
}

/// A range scan; see [`BTree::range`].
pub struct Range<'s> {
    tree: BTree<'s>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    reverse: bool,
    /// The fence to search from next: `Some(None)` to start, `None` when done.
    next: Option<Option<EntryBytes>>,
    /// The keys and values of the current leaf's entries in range, one after the other.
    arena: Vec<u8>,
    /// Those entries not yet returned: where each key starts in `arena`, its length and its
    /// value's length (the value follows the key).
    buffer: std::collections::VecDeque<(usize, usize, usize)>,
}

impl Range<'_> {
    /// Reads the next leaf's entries within range into the buffer.
    pub(super) fn fill_buffer(&mut self) -> Result<()> {
        let Some(from) = self.next.take() else {
            return Ok(());
        };
        let (lower, upper) = (
            self.lower.as_ref().map(Vec::as_slice),
            self.upper.as_ref().map(Vec::as_slice),
        );
        let (arena, buffer) = (&mut self.arena, &mut self.buffer);
        arena.clear();
        let mut keep = |k: &[u8], v: &[u8]| {
            buffer.push_back((arena.len(), k.len(), v.len()));
            arena.extend_from_slice(k);
            arena.extend_from_slice(v);
            true
        };
        let next = if self.reverse {
            self.tree
                .visit_leaf_backward(from.as_ref(), lower, upper, &mut keep)?
        } else {
            self.tree
                .visit_leaf_forward(from.as_ref(), lower, upper, &mut keep)?
        };
        self.next = next.map(Some);
        Ok(())
    }
}

/// Whether key `k` lies within `upper`.
pub(super) fn below_upper(k: &[u8], upper: Bound<&[u8]>) -> bool {
    match upper {
        Bound::Included(u) => k <= u,
        Bound::Excluded(u) => k < u,
        Bound::Unbounded => true,
    }
}

/// Whether key `k` lies within `lower`.
pub(super) fn above_lower(k: &[u8], lower: Bound<&[u8]>) -> bool {
    match lower {
        Bound::Included(l) => k >= l,
        Bound::Excluded(l) => k > l,
        Bound::Unbounded => true,
    }
}

impl Range<'_> {
    /// The next entry's key and value, lent from the scan's copy of its leaf until the next
    /// call: [`Iterator::next`] without an allocation per entry.
    pub fn next_entry(&mut self) -> Option<Result<(&[u8], &[u8])>> {
        let (start, key_len, value_len) = loop {
            if let Some(entry) = self.buffer.pop_front() {
                break entry;
            }
            self.next.as_ref()?;
            if let Err(e) = self.fill_buffer() {
                self.next = None;
                return Some(Err(e));
            }
        };
        let key = &self.arena[start..start + key_len];
        let value = &self.arena[start + key_len..start + key_len + value_len];
        Some(Ok((key, value)))
    }
}

impl Iterator for Range<'_> {
    type Item = Result<EntryBytes>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }
}
