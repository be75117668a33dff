//! Node layout: leaf and inner cells, comparing entries, suffix-truncated separators, where
//! a search goes in a node, and filling, splitting and redistributing a node's cells.

use std::cmp::Ordering;

use crate::error::Result;
use crate::page::{Page, PageId, PageType, SlotId, SLOT_LEN};

use super::*;

pub(super) fn leaf_cell(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(LEAF_OVERHEAD + key.len() + value.len());
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.extend_from_slice(key);
    c.extend_from_slice(value);
    c
}

pub(super) fn inner_cell(child: PageId, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(INNER_OVERHEAD + key.len() + value.len());
    c.extend_from_slice(&child.to_le_bytes());
    c.extend_from_slice(&leaf_cell(key, value));
    c
}

/// The (key, value) of a leaf cell, or of an inner cell without its child.
#[inline]
pub(super) fn pair_of(cell: &[u8]) -> Pair<'_> {
    let n = u16::from_le_bytes([cell[0], cell[1]]) as usize;
    let n = n.min(cell.len() - 2);
    (&cell[2..2 + n], &cell[2 + n..])
}

pub(super) fn child_of(cell: &[u8]) -> PageId {
    u32::from_le_bytes([cell[0], cell[1], cell[2], cell[3]])
}

#[inline]
pub(super) fn cell(page: &Page, i: SlotId) -> &[u8] {
    page.get(i).unwrap_or(&[])
}

/// Entry `i` of a node: its pair, and its child if the node is inner.
#[inline]
pub(super) fn entry(page: &Page, i: SlotId) -> (Pair<'_>, PageId) {
    let c = cell(page, i);
    if page.level() == 0 {
        (pair_of(c), 0)
    } else if c.len() >= INNER_OVERHEAD {
        (pair_of(&c[4..]), child_of(c))
    } else {
        ((&[], &[]), 0)
    }
}

#[inline]
pub(super) fn cmp_pair(a: Pair<'_>, b: Pair<'_>) -> Ordering {
    cmp_bytes(a.0, b.0).then_with(|| cmp_bytes(a.1, b.1))
}

/// Byte order, deciding most comparisons on the first eight bytes of each side read as one
/// big-endian integer, zero-padded when shorter (which orders as the bytes do wherever the
/// two integers differ), before calling memcmp.
#[inline]
pub(super) fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let (x, y) = (first_eight(a), first_eight(b));
    if x != y {
        return x.cmp(&y);
    }
    a.cmp(b)
}

#[inline]
pub(super) fn first_eight(s: &[u8]) -> u64 {
    match s.first_chunk::<8>() {
        Some(c) => u64::from_be_bytes(*c),
        None if s.len() >= 4 => {
            // Two overlapping 4-byte reads: bytes 0..4 and n-4..n, each in its place.
            let n = s.len();
            let head = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as u64;
            let tail = u32::from_be_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]) as u64;
            head << 32 | tail << (8 * (8 - n))
        }
        None => s
            .iter()
            .enumerate()
            .fold(0, |v, (i, &b)| v | (b as u64) << (56 - 8 * i)),
    }
}

/// The shortest separator `s` with `left < s <= right`, for two adjacent leaf entries (suffix
/// truncation): the shortest prefix of right's key above left's key, with an empty value,
/// when the keys differ; else right's key with the shortest prefix of its value above left's
/// value. Any such `s` routes every search as `right` itself would, and short separators make
/// wide inner nodes — for an integer key a handful of bytes instead of the whole entry.
pub(super) fn shortest_separator<'a>(left: Pair<'_>, right: Pair<'a>) -> Pair<'a> {
    pub(super) fn above<'a>(low: &[u8], high: &'a [u8]) -> &'a [u8] {
        let common = low.iter().zip(high).take_while(|(a, b)| a == b).count();
        &high[..(common + 1).min(high.len())]
    }
    if left.0 != right.0 {
        (above(left.0, right.0), &[])
    } else {
        (right.0, above(left.1, right.1))
    }
}

/// The parent's cell for leaf `right`, whose first cell follows the left sibling's last.
pub(super) fn leaf_separator(left_last: &[u8], right_first: &[u8], right: PageId) -> Vec<u8> {
    let (k, v) = shortest_separator(pair_of(left_last), pair_of(right_first));
    inner_cell(right, k, v)
}

/// Where a search goes, as predicates over entries that hold for a prefix of the order.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seek<'a> {
    /// The first entry >= (key, value).
    AtLeast(Pair<'a>),
    /// The first entry whose key is > key.
    AfterKey(&'a [u8]),
    /// The last entry < (key, value).
    Below(Pair<'a>),
    /// The last entry whose key is < key.
    BelowKey(&'a [u8]),
    /// The last entry whose key is <= key.
    AtMostKey(&'a [u8]),
    /// The last entry.
    End,
}

impl Seek<'_> {
    /// Whether `e` lies in the prefix: before the target for forward seeks, within it for
    /// backward ones.
    pub(super) fn prefix(&self, e: Pair<'_>) -> bool {
        match *self {
            Seek::AtLeast(t) | Seek::Below(t) => cmp_pair(e, t) == Ordering::Less,
            Seek::AfterKey(k) | Seek::AtMostKey(k) => cmp_bytes(e.0, k).is_le(),
            Seek::BelowKey(k) => cmp_bytes(e.0, k).is_lt(),
            Seek::End => true,
        }
    }

    /// Whether a separator `s` bounds a child the target may lie in (from below).
    pub(super) fn descends_past(&self, s: Pair<'_>) -> bool {
        match *self {
            Seek::AtLeast(t) => cmp_pair(s, t) != Ordering::Greater,
            _ => self.prefix(s),
        }
    }
}

/// The child index of inner node `page` that a search for `seek` follows.
pub(super) fn child_index(page: &Page, seek: &Seek<'_>) -> SlotId {
    let n = page.slot_count();
    // The last i >= 1 whose separator the seek descends past, else 0.
    let (mut lo, mut hi) = (1u16, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if seek.descends_past(entry(page, mid).0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo - 1
}

/// The number of leading entries of leaf `page` in the seek's prefix.
pub(super) fn leaf_partition(page: &Page, seek: &Seek<'_>) -> SlotId {
    let (mut lo, mut hi) = (0u16, page.slot_count());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if seek.prefix(entry(page, mid).0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Fills an empty node with `cells`, in order.
pub(super) fn fill(page: &mut Page, cells: &[Vec<u8>]) -> Result<()> {
    for (i, c) in cells.iter().enumerate() {
        page.insert_cell(i as SlotId, c)?;
    }
    Ok(())
}

/// Empties a node (keeping its id, level and link) and fills it with `cells`.
pub(super) fn rebuild(page: &mut Page, cells: &[Vec<u8>]) -> Result<()> {
    let (id, level, next) = (page.id(), page.level(), page.next_page());
    *page = Page::new(id, PageType::Index);
    page.set_level(level);
    page.set_next_page(next);
    fill(page, cells)
}

/// Splits cells in two by bytes, as evenly as possible, both halves non-empty (a node being
/// split holds at least two cells).
pub(super) fn split_cells(cells: &[Vec<u8>]) -> (&[Vec<u8>], &[Vec<u8>]) {
    let halves = split_cells_evenly(cells, 2).expect("two cells or more to split");
    (halves[0], halves[1])
}

/// Splits cells into `k` runs of about equal bytes, each cut at the cell whose middle is
/// nearest the next k-th of the bytes; `None` unless every run gets a cell.
pub(super) fn split_cells_evenly(cells: &[Vec<u8>], k: usize) -> Option<Vec<&[Vec<u8>]>> {
    if k == 0 || cells.len() < k {
        return None;
    }
    let total: usize = cells.iter().map(|c| c.len() + SLOT_LEN).sum();
    let mut runs = Vec::with_capacity(k);
    let (mut start, mut acc) = (0, 0);
    for (i, c) in cells.iter().enumerate() {
        let size = c.len() + SLOT_LEN;
        // Cell i starts the next run once its middle is past the run's share of the bytes,
        // leaving at least one cell for each run still to come.
        let boundary = total * (runs.len() + 1) / k;
        let must = cells.len() - i == k - runs.len() - 1;
        if runs.len() + 1 < k && i > start && (acc + size / 2 > boundary || must) {
            runs.push(&cells[start..i]);
            start = i;
        }
        acc += size;
    }
    runs.push(&cells[start..]);
    (runs.len() == k).then_some(runs)
}

/// Where to split `cells` between two siblings so both reach minimum fill, choosing among
/// the valid points the one whose separator is shortest; with the separator cell for the
/// parent (pointing at `right`), if it fits in `room` bytes.
pub(super) fn redistribution(
    cells: &[Vec<u8>],
    inner: bool,
    room: usize,
    right: PageId,
) -> Option<(usize, Vec<u8>)> {
    let sizes: Vec<usize> = cells.iter().map(|c| c.len() + SLOT_LEN).collect();
    let total: usize = sizes.iter().sum();
    let mut best: Option<(usize, Vec<u8>)> = None;
    let mut acc = 0;
    for at in 1..cells.len() {
        acc += sizes[at - 1];
        if acc < MIN_FILL || total - acc < MIN_FILL || acc > CAPACITY || total - acc > CAPACITY {
            continue;
        }
        let sep = if inner {
            let (k, v) = pair_of(&cells[at][4..]);
            inner_cell(right, k, v)
        } else {
            leaf_separator(&cells[at - 1], &cells[at], right)
        };
        if sep.len() + SLOT_LEN > room {
            continue;
        }
        let balance = acc.abs_diff(total - acc);
        let better = match &best {
            None => true,
            Some((b, s)) => {
                let bb = sizes[..*b]
                    .iter()
                    .sum::<usize>()
                    .abs_diff(total - sizes[..*b].iter().sum::<usize>());
                sep.len() < s.len() || (sep.len() == s.len() && balance < bb)
            }
        };
        if better {
            best = Some((at, sep));
        }
    }
    best
}
