//! The structural check: order, fences, fill, levels and sibling links of every node.

use std::cmp::Ordering;

use crate::page::PageId;

use super::*;

impl<'s> BTree<'s> {
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

    pub(super) fn check_node(
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
