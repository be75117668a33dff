//! Deleting: the optimistic path out of one leaf, and the merges and redistributions that
//! keep nodes above minimum fill.

use crate::buffer_pool::PageWrite;
use crate::error::Result;
use crate::logrec::{Change, IndexKind};
use crate::page::{Page, PageId, PageType, SlotId, SLOT_LEN};
use crate::txn::Txn;

use super::*;

impl<'s> BTree<'s> {
    /// Removes (key, value); returns whether it was there.
    pub fn delete(&self, txn: &mut Txn<'_>, key: &[u8], value: &[u8]) -> Result<bool> {
        self.delete_logged(&mut Logging::Txn(txn), key, value)
    }

    pub(super) fn delete_logged(
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
    pub(super) fn delete_and_rebalance(
        &self,
        logging: &mut Logging<'_, '_>,
        seek: &Seek<'_>,
        target: Pair<'_>,
    ) -> Result<bool> {
        let mut path = self.latch_delete_path(seek)?;
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
        let mut structure = StructureChange::default();
        let mut d = depth;
        while d > 0 && path[d].node.used_space() < MIN_FILL {
            let (upper, lower) = path.split_at_mut(d);
            match self.merge_or_redistribute(
                &mut upper[d - 1].node,
                &mut lower[0],
                &mut structure,
            )? {
                Rebalanced::Merged => d -= 1,
                Rebalanced::Redistributed | Rebalanced::Unchanged => break,
            }
        }
        if d == 0 {
            self.collapse_root(&mut path, &mut structure)?;
        }
        self.log_structure_change(&mut path, structure)?;
        Ok(true)
    }

    /// Latches, exclusively, the path a delete of `seek` may change: from the lowest node
    /// that stays safe (losing its largest possible cell keeps it above minimum fill, and a
    /// separator change below it still fits) down to the leaf, each node with the sibling it
    /// would merge with (left before right).
    fn latch_delete_path(&self, seek: &Seek<'_>) -> Result<Vec<DeleteLevel<'s>>> {
        let mut path = vec![DeleteLevel {
            node: self.node_write(self.root)?,
            index: 0,
            sibling: None,
        }];
        loop {
            let parent = &path.last().expect("the root").node;
            if parent.level() == 0 {
                return Ok(path);
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
            let safe = child.used_space() >= MIN_FILL + MAX_CELL && child.free_space() >= MAX_CELL;
            if safe {
                path.clear();
            }
            path.push(DeleteLevel {
                node: child,
                index: i,
                sibling: if safe { None } else { sibling },
            });
        }
    }

    /// Brings `level`'s node back above minimum fill with its sibling: merges the two if they
    /// fit in one node, else moves cells across at the split point whose separator fits
    /// `parent` best.
    fn merge_or_redistribute(
        &self,
        parent: &mut PageWrite<'s>,
        level: &mut DeleteLevel<'s>,
        structure: &mut StructureChange<'s>,
    ) -> Result<Rebalanced> {
        let index = level.index;
        let Some((sibling, sibling_is_left)) = level.sibling.as_mut() else {
            return Ok(Rebalanced::Unchanged); // An only child: nothing to merge with.
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
        // Every cell of both, the separator pulled down into the right's first for inner
        // nodes.
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
            *right = structure.allocation(self.store)?.release(right_id);
            structure.touch(&[left_id, right_id, parent.id()]);
            return Ok(Rebalanced::Merged);
        }
        let Some((at, new_sep)) = redistribution(
            &cells,
            inner,
            parent.free_space() + cell(parent, sep_at).len(),
            right_id,
        ) else {
            return Ok(Rebalanced::Unchanged);
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
        structure.touch(&[left_id, right_id, parent.id()]);
        Ok(Rebalanced::Redistributed)
    }

    /// A root left with one child takes its cells (the child is latched in the path).
    fn collapse_root(
        &self,
        path: &mut [DeleteLevel<'s>],
        structure: &mut StructureChange<'s>,
    ) -> Result<()> {
        if path.len() < 2
            || path[0].node.id() != self.root
            || path[0].node.level() == 0
            || path[0].node.slot_count() != 1
        {
            return Ok(());
        }
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
        *child = structure.allocation(self.store)?.release(only);
        structure.touch(&[only, self.root]);
        Ok(())
    }

    /// Logs a rebalance as one redo-only record: the full image of every page it touched, with
    /// the allocation changes.
    fn log_structure_change(
        &self,
        path: &mut [DeleteLevel<'s>],
        mut structure: StructureChange<'s>,
    ) -> Result<()> {
        if structure.touched.is_empty() {
            return Ok(());
        }
        let mut changes = structure
            .alloc
            .as_ref()
            .map(|a| a.changes())
            .unwrap_or_default();
        let mut pages: Vec<&mut Page> = Vec::new();
        if let Some(a) = structure.alloc.as_mut() {
            pages.push(&mut a.meta);
        }
        for level in path.iter_mut() {
            let sibling = level.sibling.as_mut().map(|(s, _)| s);
            for page in std::iter::once(&mut level.node).chain(sibling) {
                if structure.touched.contains(&page.id()) {
                    changes.push(Change::image_of(page));
                    pages.push(page);
                }
            }
        }
        self.store.log_redo(changes, &mut pages)?;
        Ok(())
    }
}

/// One node of the path a delete latched.
struct DeleteLevel<'s> {
    node: PageWrite<'s>,
    /// Index of `node` in its parent (the previous level).
    index: SlotId,
    /// The sibling it would merge with, and whether it is the left one.
    sibling: Option<(PageWrite<'s>, bool)>,
}

/// What one step of a rebalance did.
enum Rebalanced {
    /// The node and its sibling became one: the parent lost a cell and may need the same.
    Merged,
    /// Cells moved between the two; the parent kept its cell count.
    Redistributed,
    /// Nothing could be done (an only child, or no separator fits the parent).
    Unchanged,
}

/// The pages a rebalance changed or freed, and the allocation it freed them through (the meta
/// page is latched only once a page is freed).
#[derive(Default)]
struct StructureChange<'s> {
    alloc: Option<crate::store::Allocation<'s>>,
    touched: Vec<PageId>,
}

impl<'s> StructureChange<'s> {
    fn touch(&mut self, ids: &[PageId]) {
        for &id in ids {
            if !self.touched.contains(&id) {
                self.touched.push(id);
            }
        }
    }

    fn allocation(&mut self, store: &'s PageStore) -> Result<&mut crate::store::Allocation<'s>> {
        if self.alloc.is_none() {
            self.alloc = Some(store.allocation()?);
        }
        Ok(self.alloc.as_mut().expect("set above"))
    }
}
