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

mod bulk;
mod check;
mod cursor;
mod delete;
mod insert;
mod node;

use std::ops::Bound;

use crate::buffer_pool::{PageRead, PageWrite};
use crate::error::{Error, Result};
use crate::logrec::{Change, Entry, IndexKind};
use crate::page::{Page, PageId, PageType, HEADER_LEN, PAGE_SIZE, SLOT_LEN};
use crate::store::PageStore;
use crate::txn::Txn;
use crate::wal::{Lsn, TxnId};

pub use cursor::Range;
use cursor::{above_lower, below_upper};
use node::*;

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Ordering;

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
