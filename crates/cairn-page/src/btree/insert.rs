//! Inserting: the optimistic path into one leaf, and the splits (balancing full leaves with
//! their siblings, appends past the last leaf, root splits) that make room.

use crate::buffer_pool::PageWrite;
use crate::error::{Error, Result};
use crate::logrec::{Change, IndexKind};
use crate::page::{Page, PageId, PageType, SlotId, SLOT_LEN};
use crate::txn::Txn;

use super::*;

impl<'s> BTree<'s> {
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

    pub(super) fn insert_logged(
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
    pub(super) fn split_for(&self, seek: &Seek<'_>, need: usize) -> Result<()> {
        let (mut path, indexes) = self.latch_split_path(seek)?;
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
        let (changed, mut new_pages) = self.split_upwards(&mut path, &indexes, &mut alloc)?;
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

    /// Latches, exclusively, the path to the leaf `seek` leads to, from the lowest node that
    /// can take a separator without splitting (exclusive crabbing); returns it with the index
    /// of each node below the first in its parent.
    fn latch_split_path(&self, seek: &Seek<'_>) -> Result<(Vec<PageWrite<'s>>, Vec<SlotId>)> {
        // Exclusive crabbing: keep the ancestors a split could reach.
        let mut path: Vec<PageWrite<'s>> = vec![self.node_write(self.root)?];
        let mut indexes: Vec<SlotId> = Vec::new();
        loop {
            let node = path.last().expect("the path holds the root");
            if node.level() == 0 {
                return Ok((path, indexes));
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
    }

    /// Splits the nodes of `path` from the leaf up while the node above cannot take the
    /// separator (the root keeps its page: its cells move to two new children). Returns the
    /// depths of the path's nodes changed and the new pages.
    fn split_upwards(
        &self,
        path: &mut [PageWrite<'s>],
        indexes: &[SlotId],
        alloc: &mut crate::store::Allocation<'s>,
    ) -> Result<(Vec<usize>, Vec<PageWrite<'s>>)> {
        let mut new_pages: Vec<PageWrite<'s>> = Vec::new();
        let mut changed: Vec<usize> = Vec::new();
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
        Ok((changed, new_pages))
    }

    /// Appending past the end of the rightmost leaf (ascending keys, the usual serial
    /// primary key): its last cell moves to a new rightmost leaf where the appends go on, so
    /// the full leaf stays full — SQLite's quick balance, PostgreSQL's rightmost split. The
    /// rightmost leaf is thereby the one node allowed under minimum fill; a delete there
    /// rebalances it as any other. Done only when the parent takes the separator without
    /// splitting; returns whether it was done.
    pub(super) fn split_for_append(
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
    pub(super) fn balance_leaves(
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
}
