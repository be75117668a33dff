//! The B+tree: ordered (key, value) entries in pages, for the SQL engine's indexes.
//!
//! Keys are bytes whose order is the SQL order (key.rs encodes typed composite keys so);
//! values are bytes too (a heap `TupleId`, typically). Entries are ordered by (key, value),
//! so a non-unique index is a set of distinct pairs and any entry can be found exactly; a
//! unique index additionally refuses a second entry with the same key.
//!
//! ```text
//! node = a slotted page of type Index whose slots are kept in order (ordered cells, page.rs);
//! header `level` = height above the leaves; `next page` = right sibling (leaves only, 0 at
//! the end)
//! leaf cell:   key length u16, key, value
//! inner cell:  child page u32, key length u16, key, value: the separator. Child i holds the
//!              entries e with sep(i) <= e < sep(i+1); cell 0's separator is empty and means
//!              "minus infinity". A separator need not be an entry (see below)
//! ```
//!
//! The root's page never changes, so the tree is named by it: a root split moves the root's
//! cells into two new children; when the root has one child left, the child's cells move up.
//!
//! **Concurrency: latch crabbing.** Readers descend with shared latches, releasing a parent
//! once its child is latched. Writers first try optimistically — shared latches down to the
//! leaf's parent, an exclusive latch on the leaf — and change the leaf alone if that cannot
//! split or underflow it. Otherwise they descend again with exclusive latches, keeping every
//! ancestor that the change could reach (a node is released once a descendant is *safe*: has
//! room for a separator, for an insert; stays above minimum fill after losing one, for a
//! delete). A delete also latches the sibling it may merge with, always left before right.
//! Scans hold no latch between calls: after a leaf they search again from the root for the
//! entries beyond the leaf's fence (the separator that bounds it), so they never wait on a
//! sibling and never see a page a merge freed. Latches are only ever taken downwards or
//! left-to-right under a held parent, so there is no deadlock.
//!
//! **Logging.** An entry inserted or removed is its transaction's `Index` record: redone
//! physically (that cell, at that position, of that page), undone logically (the entry is
//! removed or put back by a new descent from the root, since splits and merges may have
//! moved it). Splits, merges and redistributions are structure changes: one redo-only record
//! holding the full images of every page they touched and the allocation changes, so they
//! are atomic and never undone (ARIES's nested top actions).
//!
//! Fill: a node other than the root and the rightmost leaf holds at least a quarter page of
//! cells, and an entry (key and value) is at most [`MAX_ENTRY`] bytes, so a split always
//! leaves both halves above that and a merge is possible whenever a node falls below it. A
//! full leaf first shares with its siblings (up to three leaves refilled evenly, onto a fourth
//! when they are nearly full), so random inserts leave leaves about 86% full instead of the
//! 69% of halving splits; appends past the last leaf start a new one and leave the full one
//! full, so ascending keys fill leaves to the brim.
//!
//! Separators are as short as they can be (suffix truncation): between leaf entries l < r
//! the separator is the shortest prefix of r's key above l's key, so an inner node of
//! integer keys holds hundreds of children and a million rows sit three levels deep.

use std::cmp::Ordering;
use std::ops::Bound;

use crate::buffer_pool::{PageRead, PageWrite};
use crate::error::{Error, Result};
use crate::logrec::{Change, Entry, IndexKind};
use crate::page::{Page, PageId, PageType, SlotId, HEADER_LEN, PAGE_SIZE, SLOT_LEN};
use crate::store::PageStore;
use crate::txn::Txn;
use crate::wal::{Lsn, TxnId};

/// The largest entry (key and value together), an eighth of a page.
pub const MAX_ENTRY: usize = 1000;
const INNER_OVERHEAD: usize = 6;
const LEAF_OVERHEAD: usize = 2;
/// Bytes of a node's largest possible cell with its slot.
const MAX_CELL: usize = MAX_ENTRY + INNER_OVERHEAD + SLOT_LEN;
const CAPACITY: usize = PAGE_SIZE - HEADER_LEN;
/// The least a node other than the root holds (cells and slots).
const MIN_FILL: usize = CAPACITY / 4;
/// Cells (of the size being inserted) that each leaf of a balance must keep room for when
/// the leaves are refilled without a new one: fewer fill leaves more but balance more often.
/// Random inserts of 100-byte rows leave leaves 88% full with 1, 86% with 3, 81% with 8; 3
/// inserts in about half the time of 1.
const BALANCE_ROOM: usize = 3;
/// How full bulk loading packs a node.
const BULK_FILL: usize = CAPACITY * 9 / 10;

/// A (key, value) pair, borrowed.
type Pair<'a> = (&'a [u8], &'a [u8]);
/// A (key, value) pair, owned.
pub type EntryBytes = (Vec<u8>, Vec<u8>);

fn leaf_cell(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(LEAF_OVERHEAD + key.len() + value.len());
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.extend_from_slice(key);
    c.extend_from_slice(value);
    c
}

fn inner_cell(child: PageId, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(INNER_OVERHEAD + key.len() + value.len());
    c.extend_from_slice(&child.to_le_bytes());
    c.extend_from_slice(&leaf_cell(key, value));
    c
}

/// The (key, value) of a leaf cell, or of an inner cell without its child.
#[inline]
fn pair_of(cell: &[u8]) -> Pair<'_> {
    let n = u16::from_le_bytes([cell[0], cell[1]]) as usize;
    let n = n.min(cell.len() - 2);
    (&cell[2..2 + n], &cell[2 + n..])
}

fn child_of(cell: &[u8]) -> PageId {
    u32::from_le_bytes([cell[0], cell[1], cell[2], cell[3]])
}

#[inline]
fn cell(page: &Page, i: SlotId) -> &[u8] {
    page.get(i).unwrap_or(&[])
}

/// Entry `i` of a node: its pair, and its child if the node is inner.
#[inline]
fn entry(page: &Page, i: SlotId) -> (Pair<'_>, PageId) {
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
fn cmp_pair(a: Pair<'_>, b: Pair<'_>) -> Ordering {
    cmp_bytes(a.0, b.0).then_with(|| cmp_bytes(a.1, b.1))
}

/// Byte order, deciding most comparisons on the first eight bytes of each side read as one
/// big-endian integer, zero-padded when shorter (which orders as the bytes do wherever the
/// two integers differ), before calling memcmp.
#[inline]
fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let (x, y) = (first_eight(a), first_eight(b));
    if x != y {
        return x.cmp(&y);
    }
    a.cmp(b)
}

#[inline]
fn first_eight(s: &[u8]) -> u64 {
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
fn shortest_separator<'a>(left: Pair<'_>, right: Pair<'a>) -> Pair<'a> {
    fn above<'a>(low: &[u8], high: &'a [u8]) -> &'a [u8] {
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
fn leaf_separator(left_last: &[u8], right_first: &[u8], right: PageId) -> Vec<u8> {
    let (k, v) = shortest_separator(pair_of(left_last), pair_of(right_first));
    inner_cell(right, k, v)
}

/// Where a search goes, as predicates over entries that hold for a prefix of the order.
#[derive(Debug, Clone, Copy)]
enum Seek<'a> {
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
    fn prefix(&self, e: Pair<'_>) -> bool {
        match *self {
            Seek::AtLeast(t) | Seek::Below(t) => cmp_pair(e, t) == Ordering::Less,
            Seek::AfterKey(k) | Seek::AtMostKey(k) => cmp_bytes(e.0, k).is_le(),
            Seek::BelowKey(k) => cmp_bytes(e.0, k).is_lt(),
            Seek::End => true,
        }
    }

    /// Whether a separator `s` bounds a child the target may lie in (from below).
    fn descends_past(&self, s: Pair<'_>) -> bool {
        match *self {
            Seek::AtLeast(t) => cmp_pair(s, t) != Ordering::Greater,
            _ => self.prefix(s),
        }
    }
}

/// The child index of inner node `page` that a search for `seek` follows.
fn child_index(page: &Page, seek: &Seek<'_>) -> SlotId {
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
fn leaf_partition(page: &Page, seek: &Seek<'_>) -> SlotId {
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

/// Where a search ended: the leaf, and the fences that bound it in the tree.
struct Found<'s> {
    leaf: PageRead<'s>,
    /// The separator below which the previous leaves lie (None: the leftmost leaf).
    low: Option<EntryBytes>,
    /// The separator from which the next leaves start (None: the rightmost leaf).
    high: Option<EntryBytes>,
}

/// How an index change is logged: as the transaction's own record, or as the compensation of
/// an undo.
pub(crate) enum Logging<'l, 't> {
    Txn(&'l mut Txn<'t>),
    Undo {
        txn: TxnId,
        last: &'l mut Lsn,
        undo_next: Lsn,
    },
}

impl Logging<'_, '_> {
    pub(crate) fn log(
        &mut self,
        store: &PageStore,
        kind: IndexKind,
        root: PageId,
        change: Change,
        page: &mut Page,
    ) -> Result<()> {
        match self {
            Logging::Txn(txn) => txn.log(&Entry::Index { kind, root, change }, page),
            Logging::Undo {
                txn,
                last,
                undo_next,
            } => {
                let clr = Entry::Clr {
                    undo_next: *undo_next,
                    change,
                };
                **last = store.log_txn(*txn, **last, &clr, page)?;
                Ok(())
            }
        }
    }
}

/// A B+tree of a store, named by its root page.
#[derive(Debug, Clone, Copy)]
pub struct BTree<'s> {
    store: &'s PageStore,
    root: PageId,
}

/// What [`BTree::check`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeShape {
    pub height: usize,
    pub leaves: usize,
    pub inner: usize,
    pub entries: usize,
}

impl PageStore {
    /// Creates an empty B+tree and returns its root page. Not undone by an abort (see
    /// [`PageStore::create_heap`]).
    pub fn create_btree(&self) -> Result<PageId> {
        Ok(self.allocate(PageType::Index)?.id())
    }

    /// The B+tree whose root is `root`.
    pub fn btree(&self, root: PageId) -> BTree<'_> {
        BTree { store: self, root }
    }
}

impl<'s> BTree<'s> {
    pub fn root(&self) -> PageId {
        self.root
    }

    fn corrupt(&self, page: PageId, what: impl Into<String>) -> Error {
        self.store.corrupt(page, what)
    }

    fn node_read(&self, id: PageId) -> Result<PageRead<'s>> {
        let page = self.store.read(id)?;
        if page.page_type() != Some(PageType::Index) {
            return Err(Error::WrongPage {
                page: id,
                expected: "a B+tree node",
            });
        }
        Ok(page)
    }

    fn node_write(&self, id: PageId) -> Result<PageWrite<'s>> {
        let page = self.store.write(id)?;
        if page.page_type() != Some(PageType::Index) {
            return Err(Error::WrongPage {
                page: id,
                expected: "a B+tree node",
            });
        }
        Ok(page)
    }

    /// Descends with shared latches to the leaf `seek` leads to.
    fn find(&self, seek: &Seek<'_>) -> Result<Found<'s>> {
        let mut node = self.node_read(self.root)?;
        let (mut low, mut high) = (None, None);
        while node.level() > 0 {
            let i = child_index(&node, seek);
            if i > 0 {
                let (k, v) = entry(&node, i).0;
                low = Some((k.to_vec(), v.to_vec()));
            }
            if i + 1 < node.slot_count() {
                let (k, v) = entry(&node, i + 1).0;
                high = Some((k.to_vec(), v.to_vec()));
            }
            let child = entry(&node, i).1;
            let level = node.level();
            let next = self.node_read(child)?;
            if next.level() + 1 != level {
                return Err(self.corrupt(
                    child,
                    format!("child of a level-{level} node has level {}", next.level()),
                ));
            }
            node = next;
        }
        Ok(Found {
            leaf: node,
            low,
            high,
        })
    }

    /// Descends optimistically: shared latches, the leaf exclusive.
    fn find_leaf_for_write(&self, seek: &Seek<'_>) -> Result<PageWrite<'s>> {
        let root = self.node_read(self.root)?;
        if root.level() == 0 {
            drop(root);
            let leaf = self.node_write(self.root)?;
            if leaf.level() == 0 {
                return Ok(leaf);
            }
            // The root split meanwhile: go down from it.
            drop(leaf);
            return self.find_leaf_for_write(seek);
        }
        let mut node = root;
        loop {
            let child = entry(&node, child_index(&node, seek)).1;
            if node.level() == 1 {
                let leaf = self.node_write(child)?;
                drop(node);
                if leaf.level() != 0 {
                    return Err(self.corrupt(child, "a level-1 node's child is not a leaf"));
                }
                return Ok(leaf);
            }
            let next = self.node_read(child)?;
            node = next;
        }
    }

    /// Whether the tree holds an entry with `key`.
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        Ok(self
            .range(Bound::Included(key), Bound::Included(key))
            .next()
            .transpose()?
            .is_some())
    }

    /// The values of the entries with `key`, in order.
    pub fn get(&self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        let seek = Seek::AtLeast((key, &[]));
        let mut node = self.node_read(self.root)?;
        while node.level() > 0 {
            let child = entry(&node, child_index(&node, &seek)).1;
            node = self.node_read(child)?;
        }
        let mut values = Vec::new();
        let n = node.slot_count();
        for i in leaf_partition(&node, &seek)..n {
            let ((k, v), _) = entry(&node, i);
            if k != key {
                return Ok(values);
            }
            values.push(v.to_vec());
        }
        // The leaf ended without passing the key: its entries (or more of them) may be in the
        // next leaf, so search across leaves.
        drop(node);
        self.range(Bound::Included(key), Bound::Included(key))
            .map(|r| r.map(|(_, v)| v))
            .collect()
    }

    /// Calls `visit` with each entry whose key is within the bounds, in key order, until it
    /// returns false. The entries are borrowed from the leaf, which is latched shared while
    /// `visit` runs: it must not change this tree. No latch is held between leaves.
    pub fn for_each(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        mut visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let mut from = self.visit_leaf_forward(None, lower, upper, &mut visit)?;
        while let Some(fence) = from {
            from = self.visit_leaf_forward(Some(&fence), lower, upper, &mut visit)?;
        }
        Ok(())
    }

    /// One leaf of a forward scan: the entries of the leaf that `from` (the fence the
    /// previous leaf returned) or, at the start, `lower` leads to, in order, through `visit`
    /// until it returns false or an entry passes `upper`. Returns the fence the next leaf
    /// starts at; `None` when the scan is over.
    fn visit_leaf_forward(
        &self,
        from: Option<&EntryBytes>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        visit: &mut impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<Option<EntryBytes>> {
        let seek = match (from, lower) {
            (Some(f), _) => Seek::AtLeast((&f.0, &f.1)),
            (None, Bound::Included(l)) => Seek::AtLeast((l, &[])),
            (None, Bound::Excluded(l)) => Seek::AfterKey(l),
            (None, Bound::Unbounded) => Seek::AtLeast((&[], &[])),
        };
        let found = self.find(&seek)?;
        for i in leaf_partition(&found.leaf, &seek)..found.leaf.slot_count() {
            let ((k, v), _) = entry(&found.leaf, i);
            if !below_upper(k, upper) || !visit(k, v) {
                return Ok(None);
            }
        }
        Ok(found.high.filter(|high| below_upper(&high.0, upper)))
    }

    /// One leaf of a backward scan, the mirror of [`BTree::visit_leaf_forward`]: entries in
    /// descending order from the leaf `from` or, at the start, `upper` leads to, until `visit`
    /// returns false or an entry passes `lower`. Returns the fence below which the previous
    /// leaf lies; `None` when the scan is over.
    fn visit_leaf_backward(
        &self,
        from: Option<&EntryBytes>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        visit: &mut impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<Option<EntryBytes>> {
        let seek = match (from, upper) {
            (Some(f), _) => Seek::Below((&f.0, &f.1)),
            (None, Bound::Included(u)) => Seek::AtMostKey(u),
            (None, Bound::Excluded(u)) => Seek::BelowKey(u),
            (None, Bound::Unbounded) => Seek::End,
        };
        let found = self.find(&seek)?;
        for i in (0..leaf_partition(&found.leaf, &seek)).rev() {
            let ((k, v), _) = entry(&found.leaf, i);
            if !above_lower(k, lower) || !visit(k, v) {
                return Ok(None);
            }
        }
        Ok(found.low)
    }

    /// Inserts (key, value). With `unique`, fails with [`Error::DuplicateKey`] if an entry
    /// with `key` exists. Inserting a pair already present changes nothing.
    pub fn insert(&self, txn: &mut Txn<'_>, key: &[u8], value: &[u8], unique: bool) -> Result<()> {
        if key.len() + value.len() > MAX_ENTRY {
            return Err(Error::KeyTooLarge {
                len: key.len() + value.len(),
                max: MAX_ENTRY,
            });
        }
        self.insert_logged(&mut Logging::Txn(txn), key, value, unique)
    }

    fn insert_logged(
        &self,
        logging: &mut Logging<'_, '_>,
        key: &[u8],
        value: &[u8],
        unique: bool,
    ) -> Result<()> {
        let cell = leaf_cell(key, value);
        let seek = Seek::AtLeast((key, value));
        loop {
            let mut leaf = self.find_leaf_for_write(&seek)?;
            let pos = leaf_partition(&leaf, &seek);
            if pos < leaf.slot_count() && cmp_pair(entry(&leaf, pos).0, (key, value)).is_eq() {
                return Ok(());
            }
            if unique {
                let before = pos > 0 && entry(&leaf, pos - 1).0 .0 == key;
                let after = pos < leaf.slot_count() && entry(&leaf, pos).0 .0 == key;
                // At the leaf's end the next entry is in the next leaf, if there is one.
                let at_edge = pos == 0 || (pos == leaf.slot_count() && leaf.next_page() != 0);
                if before || after {
                    return Err(Error::DuplicateKey { root: self.root });
                }
                if at_edge {
                    // The neighbouring entry is in another leaf: look without our latch.
                    drop(leaf);
                    if self.contains_key(key)? {
                        return Err(Error::DuplicateKey { root: self.root });
                    }
                    leaf = self.find_leaf_for_write(&seek)?;
                    let pos2 = leaf_partition(&leaf, &seek);
                    if pos2 != pos {
                        continue;
                    }
                }
            }
            if cell.len() + SLOT_LEN <= leaf.free_space() {
                let change = Change::CellInsert {
                    page: leaf.id(),
                    index: pos,
                    cell,
                };
                return logging.log(self.store, IndexKind::BTree, self.root, change, &mut leaf);
            }
            drop(leaf);
            self.split_for(&seek, cell.len() + SLOT_LEN)?;
        }
    }

    /// Makes room for `need` bytes (a cell and its slot) in the leaf `seek` leads to, by
    /// balancing it with its siblings or else splitting the nodes on the path to it; the
    /// caller then inserts again.
    fn split_for(&self, seek: &Seek<'_>, need: usize) -> Result<()> {
        // Exclusive crabbing: keep the ancestors a split could reach.
        let mut path: Vec<PageWrite<'s>> = vec![self.node_write(self.root)?];
        let mut indexes: Vec<SlotId> = Vec::new();
        loop {
            let node = path.last().expect("the path holds the root");
            if node.level() == 0 {
                break;
            }
            let i = child_index(node, seek);
            let child = self.node_write(entry(node, i).1)?;
            let safe = child.free_space() >= MAX_CELL;
            if safe {
                path.clear();
                indexes.clear();
            } else {
                indexes.push(i);
            }
            path.push(child);
        }
        let leaf = path.last().expect("a leaf");
        if leaf.free_space() >= need {
            return Ok(()); // Another writer made room already.
        }
        if path.len() >= 2
            && (self.split_for_append(&mut path, &indexes, seek)?
                || self.balance_leaves(&mut path, &indexes, need)?)
        {
            return Ok(());
        }
        let mut alloc = self.store.allocation()?;
        let mut new_pages: Vec<PageWrite<'s>> = Vec::new();
        let mut changed: Vec<usize> = Vec::new();
        // Split from the leaf up while the node above cannot take the separator.
        let mut depth = path.len() - 1;
        let mut pending: Option<(SlotId, Vec<u8>)> = None;
        loop {
            let mut cells: Vec<Vec<u8>> = (0..path[depth].slot_count())
                .map(|i| cell(&path[depth], i).to_vec())
                .collect();
            if let Some((at, c)) = pending.take() {
                let fits = c.len() + SLOT_LEN <= path[depth].free_space();
                if fits {
                    path[depth].insert_cell(at, &c)?;
                    changed.push(depth);
                    break;
                }
                cells.insert(at as usize, c);
            }
            let level = path[depth].level();
            let is_root = path[depth].id() == self.root;
            let (left, right) = split_cells(&cells);
            let sep_source = right[0].clone();
            let right_id = alloc.take()?;
            let mut right_page = Page::new(right_id, PageType::Index);
            right_page.set_level(level);
            let separator = if level == 0 {
                leaf_separator(&left[left.len() - 1], &sep_source, right_id)
            } else {
                let (k, v) = pair_of(&sep_source[4..]);
                inner_cell(right_id, k, v)
            };
            let mut right_cells = right.to_vec();
            if level > 0 {
                right_cells[0] = inner_cell(child_of(&sep_source), &[], &[]);
            }
            fill(&mut right_page, &right_cells)?;
            if is_root {
                // The root keeps its page: its cells move to a new left child.
                let left_id = alloc.take()?;
                let mut left_page = Page::new(left_id, PageType::Index);
                left_page.set_level(level);
                fill(&mut left_page, left)?;
                if level == 0 {
                    left_page.set_next_page(right_id);
                }
                let root = &mut path[depth];
                **root = Page::new(self.root, PageType::Index);
                root.set_level(level + 1);
                fill(root, &[inner_cell(left_id, &[], &[]), separator])?;
                changed.push(depth);
                new_pages.push(self.store.pool.install(left_page)?);
                new_pages.push(self.store.pool.install(right_page)?);
                break;
            }
            let node = &mut path[depth];
            if level == 0 {
                right_page.set_next_page(node.next_page());
            }
            let next = if level == 0 {
                right_id
            } else {
                node.next_page()
            };
            let id = node.id();
            **node = Page::new(id, PageType::Index);
            node.set_level(level);
            node.set_next_page(next);
            fill(node, left)?;
            changed.push(depth);
            new_pages.push(self.store.pool.install(right_page)?);
            if depth == 0 {
                return Err(
                    self.corrupt(id, "a split reached a full node whose parent was released")
                );
            }
            pending = Some((indexes[depth - 1] + 1, separator));
            depth -= 1;
        }
        let mut changes = alloc.changes();
        for &d in &changed {
            changes.push(Change::image_of(&path[d]));
        }
        for p in &new_pages {
            changes.push(Change::image_of(p));
        }
        let mut pages: Vec<&mut Page> = Vec::new();
        pages.push(&mut alloc.meta);
        for (d, p) in path.iter_mut().enumerate() {
            if changed.contains(&d) {
                pages.push(p);
            }
        }
        for p in new_pages.iter_mut() {
            pages.push(p);
        }
        self.store.log_redo(changes, &mut pages)?;
        Ok(())
    }

    /// Appending past the end of the rightmost leaf (ascending keys, the usual serial
    /// primary key): its last cell moves to a new rightmost leaf where the appends go on, so
    /// the full leaf stays full — SQLite's quick balance, PostgreSQL's rightmost split. The
    /// rightmost leaf is thereby the one node allowed under minimum fill; a delete there
    /// rebalances it as any other. Done only when the parent takes the separator without
    /// splitting; returns whether it was done.
    fn split_for_append(
        &self,
        path: &mut [PageWrite<'s>],
        indexes: &[SlotId],
        seek: &Seek<'_>,
    ) -> Result<bool> {
        let depth = path.len() - 1;
        let (upper, lower) = path.split_at_mut(depth);
        let parent = &mut upper[depth - 1];
        let leaf = &mut lower[0];
        let n = leaf.slot_count();
        if leaf.next_page() != 0 || n < 2 || leaf_partition(leaf, seek) != n {
            return Ok(false);
        }
        let last = cell(leaf, n - 1).to_vec();
        let (key, value) = shortest_separator(pair_of(cell(leaf, n - 2)), pair_of(&last));
        if INNER_OVERHEAD + key.len() + value.len() + SLOT_LEN > parent.free_space() {
            return Ok(false);
        }
        let mut alloc = self.store.allocation()?;
        let id = alloc.take()?;
        let separator = inner_cell(id, key, value);
        let mut new = Page::new(id, PageType::Index);
        fill(&mut new, &[last])?;
        let mut new = self.store.pool.install(new)?;
        leaf.remove_cell(n - 1)?;
        leaf.set_next_page(id);
        parent.insert_cell(indexes[depth - 1] + 1, &separator)?;
        let mut changes = alloc.changes();
        for page in [&**leaf, &*new, &**parent] {
            changes.push(Change::image_of(page));
        }
        self.store.log_redo(
            changes,
            &mut [&mut alloc.meta, &mut **leaf, &mut new, &mut **parent],
        )?;
        Ok(true)
    }

    /// Makes room in a full leaf by spreading cells over its neighbours, as SQLite's balance
    /// does: the leaf and up to two siblings under the same parent are refilled evenly — onto
    /// one page more unless each would then keep room for [`BALANCE_ROOM`] cells like the
    /// one to insert, so that a balance is not redone at the next insert. A plain split
    /// leaves two half-full leaves; balancing fills leaves to about 86% under random inserts
    /// (SQLite reaches the same). The parent is latched exclusively and every way to its
    /// children passes through it, so siblings are latched in any order. Done only when the
    /// parent takes the changed separators without splitting; returns whether it was done.
    fn balance_leaves(
        &self,
        path: &mut [PageWrite<'s>],
        indexes: &[SlotId],
        need: usize,
    ) -> Result<bool> {
        let depth = path.len() - 1;
        let i = indexes[depth - 1];
        let (upper, lower) = path.split_at_mut(depth);
        let parent = &mut upper[depth - 1];
        let children = parent.slot_count();
        if children < 2 {
            return Ok(false);
        }
        // The window: the leaf's children-index neighbourhood, three wide where possible.
        let first = i.saturating_sub(1).min(children.saturating_sub(3));
        let last = (first + 2).min(children - 1);
        let mut siblings: Vec<PageWrite<'s>> = Vec::new();
        for j in (first..=last).filter(|&j| j != i) {
            let sibling = self.node_write(entry(parent, j).1)?;
            if sibling.level() != 0 {
                return Err(self.corrupt(sibling.id(), "a level-1 node's child is not a leaf"));
            }
            siblings.push(sibling);
        }
        let mut leaf = Some(&mut *lower[0]);
        let mut others = siblings.iter_mut();
        let mut window: Vec<&mut Page> = (first..=last)
            .map(|j| match j == i {
                true => leaf.take(),
                false => others.next().map(|s| &mut **s),
            })
            .collect::<Option<_>>()
            .expect("one page per child of the window");
        let cells: Vec<Vec<u8>> = window
            .iter()
            .flat_map(|p| (0..p.slot_count()).map(|c| cell(p, c).to_vec()))
            .collect();
        let n = window.len();
        let fits = |k: usize, room: usize| {
            let groups = split_cells_evenly(&cells, k)?;
            let ok = groups.iter().all(|g| {
                let bytes: usize = g.iter().map(|c| c.len() + SLOT_LEN).sum();
                bytes >= MIN_FILL && bytes + room <= CAPACITY
            });
            ok.then_some(groups)
        };
        let Some(groups) = fits(n, BALANCE_ROOM * need).or_else(|| fits(n + 1, need)) else {
            return Ok(false);
        };
        let k = groups.len();
        // The parent's separators for groups 1.. replace those of window pages 1..
        let separators: Vec<Pair<'_>> = groups
            .windows(2)
            .map(|w| shortest_separator(pair_of(&w[0][w[0].len() - 1]), pair_of(&w[1][0])))
            .collect();
        let old: usize = (first + 1..=last)
            .map(|j| cell(parent, j).len() + SLOT_LEN)
            .sum();
        let new: usize = separators
            .iter()
            .map(|(k, v)| INNER_OVERHEAD + k.len() + v.len() + SLOT_LEN)
            .sum();
        if new > parent.free_space() + old {
            return Ok(false);
        }
        let mut alloc = None;
        let mut added = None;
        if k > n {
            let a = alloc.insert(self.store.allocation()?);
            let id = a.take()?;
            let mut page = Page::new(id, PageType::Index);
            page.set_next_page(window[n - 1].next_page());
            window[n - 1].set_next_page(id);
            added = Some(self.store.pool.install(page)?);
        }
        if let Some(page) = &mut added {
            window.push(page);
        }
        let ids: Vec<PageId> = window.iter().map(|p| p.id()).collect();
        for (page, group) in window.iter_mut().zip(&groups) {
            rebuild(page, group)?;
        }
        for _ in first + 1..=last {
            parent.remove_cell(first + 1)?;
        }
        for (g, (k, v)) in separators.iter().enumerate() {
            let at = first + 1 + g as SlotId;
            parent.insert_cell(at, &inner_cell(ids[g + 1], k, v))?;
        }
        let mut changes = alloc.as_ref().map(|a| a.changes()).unwrap_or_default();
        changes.extend(window.iter().map(|p| Change::image_of(p)));
        changes.push(Change::image_of(parent));
        let mut pages: Vec<&mut Page> = Vec::new();
        if let Some(a) = alloc.as_mut() {
            pages.push(&mut a.meta);
        }
        pages.extend(window);
        pages.push(parent);
        self.store.log_redo(changes, &mut pages)?;
        Ok(true)
    }

    /// Removes (key, value); returns whether it was there.
    pub fn delete(&self, txn: &mut Txn<'_>, key: &[u8], value: &[u8]) -> Result<bool> {
        self.delete_logged(&mut Logging::Txn(txn), key, value)
    }

    fn delete_logged(
        &self,
        logging: &mut Logging<'_, '_>,
        key: &[u8],
        value: &[u8],
    ) -> Result<bool> {
        let seek = Seek::AtLeast((key, value));
        {
            let mut leaf = self.find_leaf_for_write(&seek)?;
            let pos = leaf_partition(&leaf, &seek);
            if pos >= leaf.slot_count() || !cmp_pair(entry(&leaf, pos).0, (key, value)).is_eq() {
                return Ok(false);
            }
            let len = cell(&leaf, pos).len() + SLOT_LEN;
            if leaf.id() == self.root || leaf.used_space() - len >= MIN_FILL {
                let change = Change::CellRemove {
                    page: leaf.id(),
                    index: pos,
                    cell: cell(&leaf, pos).to_vec(),
                };
                logging.log(self.store, IndexKind::BTree, self.root, change, &mut leaf)?;
                return Ok(true);
            }
        }
        self.delete_and_rebalance(logging, &seek, (key, value))
    }

    /// The pessimistic delete: exclusive crabbing with siblings, then merges or
    /// redistributions up the path as nodes fall below minimum fill.
    fn delete_and_rebalance(
        &self,
        logging: &mut Logging<'_, '_>,
        seek: &Seek<'_>,
        target: Pair<'_>,
    ) -> Result<bool> {
        struct Level<'s> {
            node: PageWrite<'s>,
            /// Index of `node` in its parent (the previous level).
            index: SlotId,
            /// The sibling it would merge with, and whether it is the left one.
            sibling: Option<(PageWrite<'s>, bool)>,
        }
        let mut path: Vec<Level<'s>> = vec![Level {
            node: self.node_write(self.root)?,
            index: 0,
            sibling: None,
        }];
        loop {
            let parent = &path.last().expect("the root").node;
            if parent.level() == 0 {
                break;
            }
            let i = child_index(parent, seek);
            let n = parent.slot_count();
            let (child, sibling) = if i > 0 {
                let left = self.node_write(entry(parent, i - 1).1)?;
                let child = self.node_write(entry(parent, i).1)?;
                (child, Some((left, true)))
            } else {
                let child = self.node_write(entry(parent, 0).1)?;
                let right = if n > 1 {
                    Some((self.node_write(entry(parent, 1).1)?, false))
                } else {
                    None
                };
                (child, right)
            };
            // Safe: losing its largest possible cell keeps it above minimum fill, and a
            // separator change below it still fits.
            let safe = child.used_space() >= MIN_FILL + MAX_CELL && child.free_space() >= MAX_CELL;
            if safe {
                path.clear();
                path.push(Level {
                    node: child,
                    index: i,
                    sibling: None,
                });
            } else {
                path.push(Level {
                    node: child,
                    index: i,
                    sibling,
                });
            }
        }
        let depth = path.len() - 1;
        let pos = leaf_partition(&path[depth].node, seek);
        let leaf = &mut path[depth].node;
        if pos >= leaf.slot_count() || !cmp_pair(entry(leaf, pos).0, target).is_eq() {
            return Ok(false);
        }
        let change = Change::CellRemove {
            page: leaf.id(),
            index: pos,
            cell: cell(leaf, pos).to_vec(),
        };
        logging.log(self.store, IndexKind::BTree, self.root, change, leaf)?;

        // Rebalance upwards. Every page changed or freed is logged whole, in one record with
        // the allocation changes; the meta page is latched only once a page is freed.
        let mut alloc: Option<crate::store::Allocation<'s>> = None;
        let mut touched: Vec<PageId> = Vec::new();
        let touch = |touched: &mut Vec<PageId>, id: PageId| {
            if !touched.contains(&id) {
                touched.push(id);
            }
        };
        let mut d = depth;
        while d > 0 && path[d].node.used_space() < MIN_FILL {
            let index = path[d].index;
            let (upper, lower) = path.split_at_mut(d);
            let parent = &mut upper[d - 1].node;
            let level = &mut lower[0];
            let Some((sibling, sibling_is_left)) = level.sibling.as_mut() else {
                break; // An only child: nothing to merge with.
            };
            let (left, right, sep_at): (&mut Page, &mut Page, SlotId) = if *sibling_is_left {
                (sibling, &mut level.node, index)
            } else {
                (&mut level.node, sibling, index + 1)
            };
            let inner = left.level() > 0;
            let (sep_k, sep_v) = {
                let (p, _) = entry(parent, sep_at);
                (p.0.to_vec(), p.1.to_vec())
            };
            // Every cell of both, the separator pulled down into the right's first for
            // inner nodes.
            let mut cells: Vec<Vec<u8>> = (0..left.slot_count())
                .map(|i| cell(left, i).to_vec())
                .collect();
            for i in 0..right.slot_count() {
                let c = cell(right, i);
                if inner && i == 0 {
                    cells.push(inner_cell(child_of(c), &sep_k, &sep_v));
                } else {
                    cells.push(c.to_vec());
                }
            }
            let total: usize = cells.iter().map(|c| c.len() + SLOT_LEN).sum();
            let (left_id, right_id) = (left.id(), right.id());
            if total <= CAPACITY {
                // Merge the right node into the left one.
                let next = right.next_page();
                rebuild(left, &cells)?;
                if !inner {
                    left.set_next_page(next);
                }
                parent.remove_cell(sep_at)?;
                let alloc = match &mut alloc {
                    Some(a) => a,
                    None => alloc.insert(self.store.allocation()?),
                };
                *right = alloc.release(right_id);
                for id in [left_id, right_id, parent.id()] {
                    touch(&mut touched, id);
                }
            } else {
                // Redistribute: the split point whose separator fits the parent best.
                let Some((at, new_sep)) = redistribution(
                    &cells,
                    inner,
                    parent.free_space() + cell(parent, sep_at).len(),
                    right_id,
                ) else {
                    break;
                };
                let (l, r) = cells.split_at(at);
                let mut r = r.to_vec();
                if inner {
                    r[0] = inner_cell(child_of(&r[0]), &[], &[]);
                }
                rebuild(left, l)?;
                rebuild(right, &r)?;
                parent.remove_cell(sep_at)?;
                parent.insert_cell(sep_at, &new_sep)?;
                for id in [left_id, right_id, parent.id()] {
                    touch(&mut touched, id);
                }
                break;
            }
            d -= 1;
        }
        // A root left with one child takes its cells (the child is latched in the path).
        if d == 0
            && path[0].node.id() == self.root
            && path[0].node.level() > 0
            && path[0].node.slot_count() == 1
            && path.len() > 1
        {
            let only = entry(&path[0].node, 0).1;
            let (upper, lower) = path.split_at_mut(1);
            let level = &mut lower[0];
            let child: &mut Page = if level.node.id() == only {
                &mut level.node
            } else {
                match level.sibling.as_mut() {
                    Some((s, _)) if s.id() == only => s,
                    _ => return Err(self.corrupt(only, "the root's last child is not on the path")),
                }
            };
            let cells: Vec<Vec<u8>> = (0..child.slot_count())
                .map(|i| cell(child, i).to_vec())
                .collect();
            let child_level = child.level();
            let root = &mut upper[0].node;
            **root = Page::new(self.root, PageType::Index);
            root.set_level(child_level);
            fill(root, &cells)?;
            let alloc = match &mut alloc {
                Some(a) => a,
                None => alloc.insert(self.store.allocation()?),
            };
            *child = alloc.release(only);
            for id in [only, self.root] {
                touch(&mut touched, id);
            }
        }
        if touched.is_empty() {
            return Ok(true);
        }
        let mut changes = alloc.as_ref().map(|a| a.changes()).unwrap_or_default();
        let mut pages: Vec<&mut Page> = Vec::new();
        if let Some(a) = alloc.as_mut() {
            pages.push(&mut a.meta);
        }
        for level in path.iter_mut() {
            let sibling = level.sibling.as_mut().map(|(s, _)| s);
            for page in std::iter::once(&mut level.node).chain(sibling) {
                if touched.contains(&page.id()) {
                    changes.push(Change::image_of(page));
                    pages.push(page);
                }
            }
        }
        self.store.log_redo(changes, &mut pages)?;
        Ok(true)
    }

    /// Entries with keys within the bounds, in key order.
    pub fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Range<'s> {
        Range {
            tree: *self,
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
            reverse: false,
            next: Some(None),
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

    /// Builds the tree from entries sorted by (key, value), strictly increasing, packing nodes
    /// to nine tenths. The tree must be empty. Logged as full pages, redo-only (as PostgreSQL
    /// logs CREATE INDEX): make the tree reachable transactionally afterwards.
    pub fn bulk_load(&self, entries: impl IntoIterator<Item = EntryBytes>) -> Result<TreeShape> {
        {
            let root = self.node_read(self.root)?;
            if root.level() != 0 || root.slot_count() != 0 {
                return Err(Error::WrongPage {
                    page: self.root,
                    expected: "an empty B+tree to bulk load",
                });
            }
        }
        let mut shape = TreeShape::default();
        let mut builder = LevelBuilder::new(0);
        let mut last: Option<EntryBytes> = None;
        for (k, v) in entries {
            if k.len() + v.len() > MAX_ENTRY {
                return Err(Error::KeyTooLarge {
                    len: k.len() + v.len(),
                    max: MAX_ENTRY,
                });
            }
            if let Some(prev) = &last {
                if cmp_pair((&prev.0, &prev.1), (&k, &v)) != Ordering::Less {
                    return Err(Error::WrongPage {
                        page: self.root,
                        expected: "entries in strictly increasing order for a bulk load",
                    });
                }
            }
            // Should this entry start a leaf, its separator: the shortest above the last.
            let first = match &last {
                Some(prev) => {
                    let (sk, sv) = shortest_separator((&prev.0, &prev.1), (&k, &v));
                    (sk.to_vec(), sv.to_vec())
                }
                None => (k.clone(), v.clone()),
            };
            builder.push(self.store, leaf_cell(&k, &v), first)?;
            shape.entries += 1;
            last = Some((k, v));
        }
        let mut level_nodes = builder.finish(self.store, self.root)?;
        shape.leaves = level_nodes.len().max(1);
        shape.height = 1;
        let mut level = 0u8;
        while level_nodes.len() > 1 {
            level += 1;
            let mut builder = LevelBuilder::new(level);
            for (i, (id, first)) in level_nodes.into_iter().enumerate() {
                let c = if i == 0 {
                    inner_cell(id, &[], &[])
                } else {
                    inner_cell(id, &first.0, &first.1)
                };
                builder.push(self.store, c, first)?;
            }
            level_nodes = builder.finish(self.store, self.root)?;
            shape.inner += level_nodes.len();
            shape.height += 1;
        }
        Ok(shape)
    }

    /// Verifies the tree's invariants: entries strictly ordered within every node and within
    /// its parent's separators, levels decreasing by one, every node but the root at least
    /// a quarter full, and the leaves chained left to right in order.
    pub fn check(&self) -> std::result::Result<TreeShape, String> {
        let mut shape = TreeShape::default();
        let mut leaves = Vec::new();
        let height = self.check_node(self.root, None, None, None, &mut shape, &mut leaves)?;
        shape.height = height;
        for w in leaves.windows(2) {
            let page = self.node_read(w[0]).map_err(|e| e.to_string())?;
            if page.next_page() != w[1] {
                return Err(format!(
                    "leaf {} links to {}, not {}",
                    w[0],
                    page.next_page(),
                    w[1]
                ));
            }
        }
        if let Some(&last) = leaves.last() {
            let page = self.node_read(last).map_err(|e| e.to_string())?;
            if page.next_page() != 0 {
                return Err(format!("last leaf {last} links to {}", page.next_page()));
            }
        }
        Ok(shape)
    }

    fn check_node(
        &self,
        id: PageId,
        low: Option<EntryBytes>,
        high: Option<EntryBytes>,
        level: Option<u8>,
        shape: &mut TreeShape,
        leaves: &mut Vec<PageId>,
    ) -> std::result::Result<usize, String> {
        let page = self.node_read(id).map_err(|e| e.to_string())?;
        page.check().map_err(|e| format!("node {id}: {e}"))?;
        if let Some(l) = level {
            if page.level() != l {
                return Err(format!(
                    "node {id} has level {}, expected {l}",
                    page.level()
                ));
            }
        }
        let rightmost_leaf = page.level() == 0 && page.next_page() == 0;
        if id != self.root && !rightmost_leaf && page.used_space() < MIN_FILL {
            return Err(format!(
                "node {id} holds {} bytes, under the minimum {MIN_FILL}",
                page.used_space()
            ));
        }
        let n = page.slot_count();
        let first = if page.level() > 0 { 1 } else { 0 };
        let mut prev: Option<EntryBytes> = low.clone();
        for i in first..n {
            let (k, v) = entry(&page, i).0;
            if let Some(p) = &prev {
                let ord = cmp_pair((&p.0, &p.1), (k, v));
                let ok = ord == Ordering::Less || (i == first && ord == Ordering::Equal);
                if !ok {
                    return Err(format!("node {id} entry {i} out of order"));
                }
            }
            if let Some(h) = &high {
                if cmp_pair((k, v), (&h.0, &h.1)) != Ordering::Less {
                    return Err(format!(
                        "node {id} entry {i} at or past its parent's next separator"
                    ));
                }
            }
            prev = Some((k.to_vec(), v.to_vec()));
        }
        if page.level() == 0 {
            shape.leaves += 1;
            shape.entries += n as usize;
            leaves.push(id);
            return Ok(1);
        }
        if n < 2 {
            return Err(format!("inner node {id} has {n} children"));
        }
        shape.inner += 1;
        let mut height = 0;
        for i in 0..n {
            let lo = if i == 0 {
                low.clone()
            } else {
                let (k, v) = entry(&page, i).0;
                Some((k.to_vec(), v.to_vec()))
            };
            let hi = if i + 1 < n {
                let (k, v) = entry(&page, i + 1).0;
                Some((k.to_vec(), v.to_vec()))
            } else {
                high.clone()
            };
            let child = entry(&page, i).1;
            height = self.check_node(child, lo, hi, Some(page.level() - 1), shape, leaves)? + 1;
        }
        Ok(height)
    }
}

/// Fills an empty node with `cells`, in order.
fn fill(page: &mut Page, cells: &[Vec<u8>]) -> Result<()> {
    for (i, c) in cells.iter().enumerate() {
        page.insert_cell(i as SlotId, c)?;
    }
    Ok(())
}

/// Empties a node (keeping its id, level and link) and fills it with `cells`.
fn rebuild(page: &mut Page, cells: &[Vec<u8>]) -> Result<()> {
    let (id, level, next) = (page.id(), page.level(), page.next_page());
    *page = Page::new(id, PageType::Index);
    page.set_level(level);
    page.set_next_page(next);
    fill(page, cells)
}

/// Splits cells in two by bytes, as evenly as possible, both halves non-empty (a node being
/// split holds at least two cells).
fn split_cells(cells: &[Vec<u8>]) -> (&[Vec<u8>], &[Vec<u8>]) {
    let halves = split_cells_evenly(cells, 2).expect("two cells or more to split");
    (halves[0], halves[1])
}

/// Splits cells into `k` runs of about equal bytes, each cut at the cell whose middle is
/// nearest the next k-th of the bytes; `None` unless every run gets a cell.
fn split_cells_evenly(cells: &[Vec<u8>], k: usize) -> Option<Vec<&[Vec<u8>]>> {
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
fn redistribution(
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

/// Builds one level of a bulk-loaded tree, left to right. A finished node is held back until
/// the next one is finished, so that it is written knowing its right sibling, and so that
/// the last two can be evened out.
struct LevelBuilder {
    level: u8,
    /// Written nodes: their id and first entry.
    done: Vec<(PageId, EntryBytes)>,
    current: Vec<Vec<u8>>,
    current_first: Option<EntryBytes>,
    current_bytes: usize,
    /// The previous node: its cells, first entry, and id once it has one.
    held: Option<(Vec<Vec<u8>>, EntryBytes, Option<PageId>)>,
}

impl LevelBuilder {
    fn new(level: u8) -> LevelBuilder {
        LevelBuilder {
            level,
            done: Vec::new(),
            current: Vec::new(),
            current_first: None,
            current_bytes: 0,
            held: None,
        }
    }

    fn push(&mut self, store: &PageStore, cell: Vec<u8>, first: EntryBytes) -> Result<()> {
        if self.current_bytes + cell.len() + SLOT_LEN > BULK_FILL && !self.current.is_empty() {
            self.close(store)?;
        }
        if self.current.is_empty() {
            self.current_first = Some(first);
        }
        self.current_bytes += cell.len() + SLOT_LEN;
        self.current.push(cell);
        Ok(())
    }

    /// The current node becomes the held one; the node held before it is written.
    fn close(&mut self, store: &PageStore) -> Result<()> {
        let cells = std::mem::take(&mut self.current);
        let first = self.current_first.take().unwrap_or_default();
        self.current_bytes = 0;
        let id = match self.held.take() {
            Some((held_cells, held_first, held_id)) => {
                let held_id = match held_id {
                    Some(id) => id,
                    None => take_page(store)?,
                };
                let id = take_page(store)?;
                self.write(store, held_id, &held_cells, id)?;
                self.done.push((held_id, held_first));
                Some(id)
            }
            None => None,
        };
        self.held = Some((cells, first, id));
        Ok(())
    }

    /// Writes a node at `id`, its leaf link to `next`.
    fn write(&self, store: &PageStore, id: PageId, cells: &[Vec<u8>], next: PageId) -> Result<()> {
        let mut page = Page::new(id, PageType::Index);
        page.set_level(self.level);
        for (i, c) in cells.iter().enumerate() {
            if i == 0 && self.level > 0 {
                // An inner node's first separator is minus infinity.
                page.insert_cell(0, &inner_cell(child_of(c), &[], &[]))?;
            } else {
                page.insert_cell(i as SlotId, c)?;
            }
        }
        if self.level == 0 {
            page.set_next_page(next);
        }
        let mut target = store.pool.install(Page::new(id, PageType::Index))?;
        store.log_redo(vec![Change::image_of(&page)], &mut [&mut target])?;
        Ok(())
    }

    /// Ends the level and returns its nodes. The single node of a level is the top, written
    /// to the root page itself; otherwise the last node, if under minimum fill, shares the
    /// cells of the one before it.
    fn finish(mut self, store: &PageStore, root: PageId) -> Result<Vec<(PageId, EntryBytes)>> {
        if !self.current.is_empty() {
            self.close(store)?;
        }
        let Some((cells, first, id)) = self.held.take() else {
            return Ok(Vec::new()); // No entries: the root stays an empty leaf.
        };
        let Some(id) = id else {
            self.write(store, root, &cells, 0)?;
            return Ok(vec![(root, first)]);
        };
        let bytes: usize = cells.iter().map(|c| c.len() + SLOT_LEN).sum();
        if bytes >= MIN_FILL {
            self.write(store, id, &cells, 0)?;
            self.done.push((id, first));
            return Ok(self.done);
        }
        // Rewrite the previous node and this one with their cells evenly shared. Inner cells
        // keep their separators here; `write` blanks each node's first.
        let (prev_id, prev_first) = self.done.pop().expect("a node before the held one");
        let prev = store.read(prev_id)?;
        let mut all: Vec<Vec<u8>> = Vec::new();
        for i in 0..prev.slot_count() {
            let c = cell(&prev, i);
            if i == 0 && self.level > 0 {
                all.push(inner_cell(child_of(c), &prev_first.0, &prev_first.1));
            } else {
                all.push(c.to_vec());
            }
        }
        drop(prev);
        all.extend(cells);
        let at = split_cells(&all).0.len();
        let right = all.split_off(at);
        let right_first = {
            let (k, v) = if self.level > 0 {
                pair_of(&right[0][4..])
            } else {
                shortest_separator(pair_of(&all[all.len() - 1]), pair_of(&right[0]))
            };
            (k.to_vec(), v.to_vec())
        };
        self.write(store, prev_id, &all, id)?;
        self.write(store, id, &right, 0)?;
        self.done.push((prev_id, prev_first));
        self.done.push((id, right_first));
        Ok(self.done)
    }
}

/// Takes a page for a bulk-loaded node (its content is logged by `LevelBuilder::write`).
fn take_page(store: &PageStore) -> Result<PageId> {
    let mut alloc = store.allocation()?;
    let id = alloc.take()?;
    let mut page = store.pool.install(Page::new(id, PageType::Index))?;
    let mut changes = alloc.changes();
    changes.push(Change::Format {
        page: id,
        page_type: PageType::Index,
    });
    store.log_redo(changes, &mut [&mut alloc.meta, &mut page])?;
    Ok(id)
}

/// Undoes an index change of transaction `txn` logically, logging the compensation; returns
/// the transaction's new last LSN.
pub(crate) fn undo(
    store: &PageStore,
    txn: TxnId,
    mut last: Lsn,
    root: PageId,
    change: &Change,
    undo_next: Lsn,
) -> Result<Lsn> {
    let tree = store.btree(root);
    let mut logging = Logging::Undo {
        txn,
        last: &mut last,
        undo_next,
    };
    match change {
        Change::CellInsert { cell, .. } => {
            let (k, v) = pair_of(cell);
            tree.delete_logged(&mut logging, k, v)?;
        }
        Change::CellRemove { cell, .. } => {
            let (k, v) = pair_of(cell);
            tree.insert_logged(&mut logging, k, v, false)?;
        }
        _ => {
            return Err(Error::BadLogRecord {
                lsn: undo_next,
                what: "a B+tree record whose change is not a cell insert or remove".into(),
            })
        }
    }
    Ok(last)
}

/// A range scan; see [`BTree::range`].
pub struct Range<'s> {
    tree: BTree<'s>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    reverse: bool,
    /// The fence to search from next: `Some(None)` to start, `None` when done.
    next: Option<Option<EntryBytes>>,
    buffer: std::collections::VecDeque<EntryBytes>,
}

impl Range<'_> {
    /// Reads the next leaf's entries within range into the buffer.
    fn fill_buffer(&mut self) -> Result<()> {
        let Some(from) = self.next.take() else {
            return Ok(());
        };
        let (lower, upper) = (
            self.lower.as_ref().map(Vec::as_slice),
            self.upper.as_ref().map(Vec::as_slice),
        );
        let buffer = &mut self.buffer;
        let mut keep = |k: &[u8], v: &[u8]| {
            buffer.push_back((k.to_vec(), v.to_vec()));
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
fn below_upper(k: &[u8], upper: Bound<&[u8]>) -> bool {
    match upper {
        Bound::Included(u) => k <= u,
        Bound::Excluded(u) => k < u,
        Bound::Unbounded => true,
    }
}

/// Whether key `k` lies within `lower`.
fn above_lower(k: &[u8], lower: Bound<&[u8]>) -> bool {
    match lower {
        Bound::Included(l) => k >= l,
        Bound::Excluded(l) => k > l,
        Bound::Unbounded => true,
    }
}

impl Iterator for Range<'_> {
    type Item = Result<EntryBytes>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.buffer.pop_front() {
                return Some(Ok(e));
            }
            self.next.as_ref()?;
            if let Err(e) = self.fill_buffer() {
                self.next = None;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        // Few distinct bytes, so that prefixes and ties are common.
        prop::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(0x80), Just(0xFF)],
            0..12,
        )
    }

    proptest! {
        #[test]
        fn comparing_by_eight_byte_words_is_byte_order(a in bytes(), b in bytes()) {
            prop_assert_eq!(cmp_bytes(&a, &b), a.cmp(&b));
        }

        #[test]
        fn the_shortest_separator_lies_between_its_entries(
            mut pairs in prop::collection::vec((bytes(), bytes()), 2..3),
        ) {
            pairs.sort();
            pairs.dedup();
            prop_assume!(pairs.len() == 2);
            let (l, r) = ((&pairs[0].0[..], &pairs[0].1[..]), (&pairs[1].0[..], &pairs[1].1[..]));
            let s = shortest_separator(l, r);
            prop_assert_eq!(cmp_pair(l, s), Ordering::Less);
            prop_assert_ne!(cmp_pair(s, r), Ordering::Greater);
            prop_assert!(s.0.len() + s.1.len() <= r.0.len() + r.1.len());
        }

        #[test]
        fn even_splits_cover_every_cell_in_nonempty_runs(
            sizes in prop::collection::vec(1usize..300, 0..40),
            k in 1usize..5,
        ) {
            let cells: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![0; n]).collect();
            match split_cells_evenly(&cells, k) {
                None => prop_assert!(cells.len() < k),
                Some(runs) => {
                    prop_assert_eq!(runs.len(), k);
                    prop_assert!(runs.iter().all(|r| !r.is_empty()));
                    prop_assert_eq!(runs.concat(), cells.clone());
                    // Each run is within one largest cell of an even share.
                    let bytes = |r: &[Vec<u8>]| r.iter().map(|c| c.len() + SLOT_LEN).sum::<usize>();
                    let share = bytes(&cells) / k;
                    let widest = cells.iter().map(|c| c.len() + SLOT_LEN).max().unwrap_or(0);
                    if cells.len() >= 4 * k {
                        for r in &runs {
                            prop_assert!(bytes(r).abs_diff(share) <= widest, "{} vs {share}", bytes(r));
                        }
                    }
                }
            }
        }
    }
}
