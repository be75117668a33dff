//! Bulk loading: sorted entries packed into leaves and the levels above them, bottom up.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::logrec::Change;
use crate::page::{Page, PageId, PageType, SlotId, SLOT_LEN};
use crate::store::PageStore;

use super::*;

impl<'s> BTree<'s> {
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
}

/// Builds one level of a bulk-loaded tree, left to right. A finished node is held back until
/// the next one is finished, so that it is written knowing its right sibling, and so that
/// the last two can be evened out.
pub(super) struct LevelBuilder {
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
    pub(super) fn new(level: u8) -> LevelBuilder {
        LevelBuilder {
            level,
            done: Vec::new(),
            current: Vec::new(),
            current_first: None,
            current_bytes: 0,
            held: None,
        }
    }

    pub(super) fn push(
        &mut self,
        store: &PageStore,
        cell: Vec<u8>,
        first: EntryBytes,
    ) -> Result<()> {
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
    pub(super) fn close(&mut self, store: &PageStore) -> Result<()> {
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
    pub(super) fn write(
        &self,
        store: &PageStore,
        id: PageId,
        cells: &[Vec<u8>],
        next: PageId,
    ) -> Result<()> {
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
    pub(super) fn finish(
        mut self,
        store: &PageStore,
        root: PageId,
    ) -> Result<Vec<(PageId, EntryBytes)>> {
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
pub(super) fn take_page(store: &PageStore) -> Result<PageId> {
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
