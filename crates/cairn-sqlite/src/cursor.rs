//! Cursors over one b-tree: in-order iteration, seeks by rowid (table b-trees) and by key
//! (index b-trees).
//!
//! A cursor is a stack of (page, index) from the root down. On a leaf the index is the
//! current cell; on an interior page it is the child being visited — or, in an index
//! b-tree, whose interior cells are entries too, the cell the cursor stands on once that
//! child is done. So an index b-tree is visited in order: left subtree, the cell, the next
//! subtree.
//!
//! Corrupt trees cannot make a cursor loop or recurse without bound: a descent deeper than
//! SQLite's own limit of 20 levels, a child of the wrong kind, or more page visits in one
//! pass than the file has pages (a page reached twice) is a corruption error naming the page.

use std::cmp::Ordering;

use crate::error::Result;
use crate::page::{BtreePage, PayloadRef};
use crate::pager::Pager;

/// SQLite's BTCURSOR_MAX_DEPTH.
const MAX_DEPTH: usize = 20;

/// A position in one b-tree.
pub struct BtreeCursor<'p> {
    pager: &'p Pager,
    root: u32,
    table: bool,
    stack: Vec<(BtreePage, usize)>,
    /// The path of the previous seek, whose pages the next seek reuses.
    previous: Vec<(BtreePage, usize)>,
    /// Pages entered since the last seek or rewind.
    visited: u64,
    /// The current entry's payload when it spills to overflow pages.
    overflow: Vec<u8>,
    /// Which entry `overflow` holds: (page, cell).
    overflow_of: Option<(u32, usize)>,
    /// Where a scan driven by [`BtreeCursor::step`] is.
    scan: Scan,
}

/// The state of a scan: before its first entry, on an entry, or past its end (or failed).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    Unstarted,
    Running,
    Finished,
}

impl<'p> BtreeCursor<'p> {
    /// A cursor on the b-tree rooted at `root`, a table b-tree if `table`, not yet positioned.
    pub fn new(pager: &'p Pager, root: u32, table: bool) -> BtreeCursor<'p> {
        BtreeCursor {
            pager,
            root,
            table,
            stack: Vec::with_capacity(8),
            previous: Vec::with_capacity(8),
            visited: 0,
            overflow: Vec::new(),
            overflow_of: None,
            scan: Scan::Unstarted,
        }
    }

    /// Steps a scan: the first call positions the cursor with `start` (`first`, or a seek),
    /// later calls move to the next entry. False at the end, and from then on; an error
    /// also ends the scan.
    pub fn step(&mut self, start: impl FnOnce(&mut Self) -> Result<bool>) -> Result<bool> {
        let moved = match self.scan {
            Scan::Finished => return Ok(false),
            Scan::Unstarted => start(self),
            Scan::Running => self.next(),
        };
        self.scan = match moved {
            Ok(true) => Scan::Running,
            _ => Scan::Finished,
        };
        moved
    }

    /// Makes the next [`BtreeCursor::step`] start a new scan.
    pub fn restart(&mut self) {
        self.scan = Scan::Unstarted;
    }

    /// Ends a scan driven by [`BtreeCursor::step`] early.
    pub fn finish(&mut self) {
        self.scan = Scan::Finished;
    }

    /// Moves to the first entry; false if the tree is empty.
    pub fn first(&mut self) -> Result<bool> {
        self.reset();
        self.descend_leftmost(self.root)?;
        self.settle()
    }

    /// Moves to the next entry; false past the last.
    pub fn next(&mut self) -> Result<bool> {
        let Some((page, index)) = self.stack.last_mut() else {
            return Ok(false);
        };
        *index += 1;
        if !page.kind().is_leaf() {
            let child = page.child(*index)?;
            self.descend_leftmost(child)?;
        }
        self.settle()
    }

    /// In a table b-tree, moves to the first row whose rowid is at least `rowid`; false if
    /// there is none.
    pub fn seek_rowid(&mut self, rowid: i64) -> Result<bool> {
        debug_assert!(self.table);
        self.seek(|page, i| {
            Ok(if page.kind().is_leaf() {
                page.table_leaf_rowid(i)? >= rowid
            } else {
                page.table_interior_key(i)? >= rowid
            })
        })
    }

    /// In an index b-tree, moves to the first entry for which `at_or_after(page, payload)`
    /// holds; it must be false for a prefix of the entries in order and true for the rest.
    /// False if no entry qualifies.
    pub fn seek_key(
        &mut self,
        mut at_or_after: impl FnMut(&BtreePage, &[u8]) -> Result<bool>,
    ) -> Result<bool> {
        debug_assert!(!self.table);
        let pager = self.pager;
        let mut scratch = Vec::new();
        self.seek(|page, i| {
            let payload = page.index_cell(i)?;
            if payload.overflow == 0 {
                at_or_after(page, &page.data().bytes()[payload.local])
            } else {
                pager.read_overflow(page, &payload, &mut scratch)?;
                at_or_after(page, &scratch)
            }
        })
    }

    /// Counts the entries from the first on, without reading their payloads.
    pub fn count(&mut self) -> Result<u64> {
        let mut count = 0;
        let mut positioned = self.first()?;
        while positioned {
            let (page, index) = self.stack.last_mut().expect("positioned");
            if page.kind().is_leaf() {
                count += (page.cell_count() - *index) as u64;
                *index = page.cell_count() - 1;
            } else {
                count += 1;
            }
            positioned = self.next()?;
        }
        Ok(count)
    }

    /// The error for something impossible about the current entry.
    pub fn corrupt(&self, what: impl Into<String>) -> crate::Error {
        self.current().0.corrupt(what)
    }

    /// Descends from the root taking, on every page, the first cell for which `at_or_after`
    /// holds (binary search), then settles on the first entry at or after that point.
    fn seek(
        &mut self,
        mut at_or_after: impl FnMut(&BtreePage, usize) -> Result<bool>,
    ) -> Result<bool> {
        // Random seeks share their upper levels: take a page the previous path already
        // holds instead of asking the cache for it again.
        std::mem::swap(&mut self.stack, &mut self.previous);
        self.stack.clear();
        self.visited = 0;
        let mut number = self.root;
        loop {
            let depth = self.stack.len();
            let page = if self
                .previous
                .get(depth)
                .is_some_and(|(held, _)| held.number() == number)
            {
                self.visited += 1;
                self.previous[depth].0.clone()
            } else {
                self.previous.truncate(depth);
                self.enter(number)?
            };
            let (mut low, mut high) = (0, page.cell_count());
            while low < high {
                let middle = (low + high) / 2;
                if at_or_after(&page, middle)? {
                    high = middle;
                } else {
                    low = middle + 1;
                }
            }
            let leaf = page.kind().is_leaf();
            let child = if leaf { 0 } else { page.child(low)? };
            self.stack.push((page, low));
            if leaf {
                return self.settle();
            }
            number = child;
        }
    }

    /// The rowid of the current row of a table b-tree.
    pub fn rowid(&self) -> Result<i64> {
        let (page, index) = self.current();
        page.table_leaf_rowid(*index)
    }

    /// The payload of the current entry: the row's record, or the index key.
    pub fn payload(&mut self) -> Result<&[u8]> {
        let (page, index) = self
            .stack
            .last()
            .expect("the cursor is positioned on an entry");
        let payload: PayloadRef = if self.table {
            page.table_leaf_cell(*index)?.1
        } else {
            page.index_cell(*index)?
        };
        if payload.overflow == 0 {
            return Ok(&page.data().bytes()[payload.local]);
        }
        let key = (page.number(), *index);
        if self.overflow_of != Some(key) {
            self.overflow_of = None;
            self.pager
                .read_overflow(page, &payload, &mut self.overflow)?;
            self.overflow_of = Some(key);
        }
        Ok(&self.overflow)
    }

    fn current(&self) -> &(BtreePage, usize) {
        self.stack
            .last()
            .expect("the cursor is positioned on an entry")
    }

    fn reset(&mut self) {
        self.stack.clear();
        self.visited = 0;
    }

    /// Reads page `number` as a node of this tree, checking depth, kind and visit count.
    fn enter(&mut self, number: u32) -> Result<BtreePage> {
        let page = self.pager.btree_page(number)?;
        if page.kind().is_table() != self.table {
            let tree = if self.table { "a table" } else { "an index" };
            return Err(page.corrupt(format!("page of the wrong kind in {tree} b-tree")));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(page.corrupt(format!("b-tree deeper than {MAX_DEPTH} levels (a cycle?)")));
        }
        self.visited += 1;
        if self.visited > u64::from(self.pager.page_count()) {
            return Err(page.corrupt("b-tree reaches a page twice (a cycle?)"));
        }
        Ok(page)
    }

    fn descend_leftmost(&mut self, mut number: u32) -> Result<()> {
        loop {
            let page = self.enter(number)?;
            let leaf = page.kind().is_leaf();
            let child = if leaf { 0 } else { page.child(0)? };
            self.stack.push((page, 0));
            if leaf {
                return Ok(());
            }
            number = child;
        }
    }

    /// After a move, climbs out of exhausted leaves to the next entry: the next cell of an
    /// ancestor in an index b-tree, else the leftmost leaf of the next subtree.
    fn settle(&mut self) -> Result<bool> {
        loop {
            let Some((page, index)) = self.stack.last() else {
                return Ok(false);
            };
            if !page.kind().is_leaf() || *index < page.cell_count() {
                return Ok(true);
            }
            self.stack.pop();
            loop {
                let Some((parent, child)) = self.stack.last_mut() else {
                    return Ok(false);
                };
                if *child < parent.cell_count() {
                    if !self.table {
                        // The interior cell after the finished subtree is the next entry.
                        return Ok(true);
                    }
                    *child += 1;
                    let next = parent.child(*child)?;
                    self.descend_leftmost(next)?;
                    break;
                }
                self.stack.pop();
            }
        }
    }
}

/// Orders a probe against index entries for [`BtreeCursor::seek_key`].
pub fn at_or_after(ordering: Ordering, inclusive: bool) -> bool {
    match ordering {
        Ordering::Greater => true,
        Ordering::Equal => inclusive,
        Ordering::Less => false,
    }
}
