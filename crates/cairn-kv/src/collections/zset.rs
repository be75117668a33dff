//! A sorted set: members with scores, ordered by (score, member).
//!
//! A small set (at most [`SMALL_MAX`] members) lives sorted inside its descriptor, so a
//! change is one record. A larger one is two structures under the same generation:
//!
//! * member → score in a bucketed hash table ([`super::buckets`]) for `ZSCORE` and updates;
//! * (score, member) in a counted B+tree whose nodes are child records: every internal entry
//!   carries its subtree's size and greatest key, so rank queries (`ZRANK`, `ZRANGE` by
//!   index) and score or lex bounds descend one path. A change rewrites the nodes of one
//!   root-to-leaf path (a few records of at most [`NODE_MAX`] entries).
//!
//! ```text
//! descriptor (small): generation u64 | len u64 | 0u8 | (score f64, member)*
//! descriptor (large): generation u64 | len u64 | 1u8 | root u64 | next node u64 | bucket table
//! node:               child 'z' | id (u64 BE) → 0u8 (score, member)*                    leaf
//!                                             → 1u8 (child u64, size u64, max score, max member)*
//! ```

use std::cmp::Ordering;
use std::collections::HashMap;

use bytes::Bytes;

use super::buckets::BucketMap;
use crate::encoding::{child_key, Reader, Writer};
use crate::error::{KvError, Result};
use crate::txn::Txn;

/// Members kept inside the descriptor.
pub const SMALL_MAX: usize = 128;
/// Entries per tree node before it splits.
pub const NODE_MAX: usize = 64;

pub type Entry = (f64, Bytes);

/// The total order of entries: by score, then by member bytes.
pub fn cmp(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1))
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(Vec<Entry>),
    /// (child id, subtree size, subtree's greatest entry)
    Internal(Vec<(u64, u64, Entry)>),
}

impl Node {
    fn size(&self) -> u64 {
        match self {
            Node::Leaf(e) => e.len() as u64,
            Node::Internal(c) => c.iter().map(|x| x.1).sum(),
        }
    }
    fn max(&self) -> Option<Entry> {
        match self {
            Node::Leaf(e) => e.last().cloned(),
            Node::Internal(c) => c.last().map(|x| x.2.clone()),
        }
    }
    fn width(&self) -> usize {
        match self {
            Node::Leaf(e) => e.len(),
            Node::Internal(c) => c.len(),
        }
    }
}

#[derive(Debug)]
struct Tree {
    root: u64,
    next_id: u64,
    map: BucketMap,
    nodes: HashMap<u64, (Node, bool)>,
}

#[derive(Debug)]
enum Repr {
    Small(Vec<Entry>),
    Large(Box<Tree>),
}

#[derive(Debug)]
pub struct ZSet {
    pub generation: u64,
    pub len: u64,
    repr: Repr,
}

impl ZSet {
    pub fn new(txn: &mut Txn<'_>) -> ZSet {
        ZSet {
            generation: txn.new_generation(),
            len: 0,
            repr: Repr::Small(Vec::new()),
        }
    }

    pub fn decode(body: &Bytes) -> Result<ZSet> {
        let mut r = Reader::new(body);
        let generation = r.u64()?;
        let len = r.u64()?;
        let repr = match r.u8()? {
            0 => {
                let mut entries = Vec::new();
                while !r.is_empty() {
                    let score = r.f64()?;
                    entries.push((score, r.shared(body)?));
                }
                Repr::Small(entries)
            }
            _ => {
                let root = r.u64()?;
                let next_id = r.u64()?;
                let rest = body.slice(body.len() - r.remaining()..);
                let mut map = BucketMap::decode(&rest)?;
                // Cached like the nodes, and flushed with them.
                map.cache_buckets();
                Repr::Large(Box::new(Tree {
                    root,
                    next_id,
                    map,
                    nodes: HashMap::new(),
                }))
            }
        };
        Ok(ZSet {
            generation,
            len,
            repr,
        })
    }

    /// The descriptor; call [`ZSet::flush`] first.
    pub fn encode(&self) -> Vec<u8> {
        let entries_bytes = match &self.repr {
            Repr::Small(entries) => entries.iter().map(|(_, m)| 12 + m.len()).sum(),
            Repr::Large(_) => 64,
        };
        let mut w = Writer::with_capacity(17 + entries_bytes);
        w.u64(self.generation).u64(self.len);
        match &self.repr {
            Repr::Small(entries) => {
                w.u8(0);
                for (s, m) in entries {
                    w.f64(*s).bytes(m);
                }
            }
            Repr::Large(t) => {
                w.u8(1).u64(t.root).u64(t.next_id);
                w.0.extend_from_slice(&t.map.encode());
            }
        }
        w.0
    }

    pub fn score(&mut self, txn: &mut Txn<'_>, member: &[u8]) -> Result<Option<f64>> {
        match &mut self.repr {
            Repr::Small(entries) => Ok(entries.iter().find(|e| e.1 == member).map(|e| e.0)),
            Repr::Large(t) => Ok(match t.map.get(txn, member)? {
                Some(b) => Some(Reader::new(&b).f64()?),
                None => None,
            }),
        }
    }

    /// Sets `member`'s score; returns the previous one.
    pub fn insert(&mut self, txn: &mut Txn<'_>, member: Bytes, score: f64) -> Result<Option<f64>> {
        let old = self.score(txn, &member)?;
        self.rescore(txn, member, old, score)?;
        Ok(old)
    }

    /// Sets `member`'s score when the caller has just looked up its current one, `old`
    /// (`None`: not a member), sparing a second lookup.
    pub fn rescore(
        &mut self,
        txn: &mut Txn<'_>,
        member: Bytes,
        old: Option<f64>,
        score: f64,
    ) -> Result<()> {
        if old == Some(score) {
            return Ok(());
        }
        if let Some(old_score) = old {
            self.remove_entry(txn, old_score, &member)?;
        } else {
            self.len += 1;
        }
        match &mut self.repr {
            Repr::Small(entries) => {
                let at = entries
                    .partition_point(|e| cmp((e.0, &e.1), (score, &member)) == Ordering::Less);
                entries.insert(at, (score, member));
                if entries.len() > SMALL_MAX {
                    self.grow(txn)?;
                }
            }
            Repr::Large(t) => {
                let mut w = Writer::new();
                w.f64(score);
                t.map.insert(txn, member.clone(), Bytes::from(w.0))?;
                t.insert(txn, (score, member))?;
            }
        }
        Ok(())
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, txn: &mut Txn<'_>, member: &[u8]) -> Result<Option<f64>> {
        let Some(score) = self.score(txn, member)? else {
            return Ok(None);
        };
        self.remove_entry(txn, score, member)?;
        if let Repr::Large(t) = &mut self.repr {
            t.map.remove(txn, member)?;
        }
        self.len -= 1;
        Ok(Some(score))
    }

    fn remove_entry(&mut self, txn: &mut Txn<'_>, score: f64, member: &[u8]) -> Result<()> {
        match &mut self.repr {
            Repr::Small(entries) => {
                entries.retain(|e| !(e.0 == score && e.1 == member));
                Ok(())
            }
            Repr::Large(t) => t.remove(txn, (score, member)),
        }
    }

    /// Moves a small set into the tree form.
    fn grow(&mut self, txn: &mut Txn<'_>) -> Result<()> {
        let Repr::Small(entries) = std::mem::replace(&mut self.repr, Repr::Small(Vec::new()))
        else {
            return Ok(());
        };
        let mut map = BucketMap::with_generation(self.generation);
        map.cache_buckets();
        for (s, m) in &entries {
            let mut w = Writer::new();
            w.f64(*s);
            map.insert(txn, m.clone(), Bytes::from(w.0))?;
        }
        let mut tree = Tree {
            root: 0,
            next_id: 1,
            map,
            nodes: HashMap::new(),
        };
        let mut children = Vec::new();
        for chunk in entries.chunks(NODE_MAX / 2) {
            let id = tree.alloc();
            let node = Node::Leaf(chunk.to_vec());
            children.push((id, node.size(), node.max().unwrap_or((0.0, Bytes::new()))));
            tree.nodes.insert(id, (node, true));
        }
        let root = tree.alloc();
        tree.nodes.insert(root, (Node::Internal(children), true));
        tree.root = root;
        self.repr = Repr::Large(Box::new(tree));
        Ok(())
    }

    /// The number of entries for which `before` holds; they must form a prefix of the order.
    pub fn count_before(
        &mut self,
        txn: &mut Txn<'_>,
        before: &dyn Fn(f64, &[u8]) -> bool,
    ) -> Result<u64> {
        match &mut self.repr {
            Repr::Small(entries) => Ok(entries.partition_point(|e| before(e.0, &e.1)) as u64),
            Repr::Large(t) => t.count_before(txn, before),
        }
    }

    /// Entries with ranks `start..=end` (clamped), in order.
    pub fn range(&mut self, txn: &mut Txn<'_>, start: u64, end: u64) -> Result<Vec<Entry>> {
        if self.len == 0 || start > end || start >= self.len {
            return Ok(Vec::new());
        }
        let end = end.min(self.len - 1);
        match &mut self.repr {
            Repr::Small(entries) => Ok(entries[start as usize..=end as usize].to_vec()),
            Repr::Large(t) => {
                let mut out = Vec::with_capacity((end - start + 1) as usize);
                let root = t.root;
                t.collect(txn, root, start, end - start + 1, &mut out)?;
                Ok(out)
            }
        }
    }

    /// For ZSCAN: the (member, score) pairs of bucket `bucket` of the member table, and the
    /// number of buckets (a small set is one bucket).
    pub fn scan_bucket(&mut self, txn: &mut Txn<'_>, bucket: u64) -> Result<(Vec<Entry>, u64)> {
        match &mut self.repr {
            Repr::Small(entries) => Ok((
                if bucket == 0 {
                    entries.clone()
                } else {
                    Vec::new()
                },
                1,
            )),
            Repr::Large(t) => {
                let mut out = Vec::new();
                for (m, s) in t.map.bucket(txn, bucket)? {
                    out.push((Reader::new(&s).f64()?, m));
                }
                Ok((out, t.map.buckets()))
            }
        }
    }

    /// Writes changed tree nodes back into the transaction.
    pub fn flush(&mut self, txn: &mut Txn<'_>) {
        if let Repr::Large(t) = &mut self.repr {
            t.map.flush(txn);
            for (id, (node, dirty)) in t.nodes.iter_mut() {
                if !*dirty {
                    continue;
                }
                *dirty = false;
                let key = node_key(self.generation, *id);
                if node.width() == 0 && *id != t.root {
                    txn.delete(key);
                } else {
                    txn.put(key, encode_node(node));
                }
            }
        }
    }

    /// Where the member table's buckets and the tree's nodes are (none while small).
    pub fn child_ranges(&self) -> Vec<super::ChildRange> {
        match &self.repr {
            Repr::Small(_) => Vec::new(),
            Repr::Large(t) => {
                let nodes = super::ChildRange {
                    generation: self.generation,
                    prefix: b'z',
                    from: 1,
                    to: t.next_id,
                };
                t.map.child_range().into_iter().chain([nodes]).collect()
            }
        }
    }

    pub fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()> {
        if let Repr::Large(t) = &self.repr {
            t.map.drop_children(txn)?;
            let mut stack = vec![t.root];
            while let Some(id) = stack.pop() {
                if let Some(bytes) = txn.get(&node_key(self.generation, id))? {
                    if let Node::Internal(children) = decode_node(&bytes)? {
                        stack.extend(children.iter().map(|c| c.0));
                    }
                }
                txn.delete(node_key(self.generation, id));
            }
        }
        Ok(())
    }
}

fn node_key(generation: u64, id: u64) -> Vec<u8> {
    let mut part = vec![b'z'];
    part.extend_from_slice(&id.to_be_bytes());
    child_key(generation, &part)
}

fn encode_node(node: &Node) -> Vec<u8> {
    let mut w = Writer::with_capacity(1 + NODE_MAX * 32);
    match node {
        Node::Leaf(entries) => {
            w.u8(0);
            for (s, m) in entries {
                w.f64(*s).bytes(m);
            }
        }
        Node::Internal(children) => {
            w.u8(1);
            for (id, size, (s, m)) in children {
                w.u64(*id).u64(*size).f64(*s).bytes(m);
            }
        }
    }
    w.0
}

fn decode_node(bytes: &Bytes) -> Result<Node> {
    let mut r = Reader::new(bytes);
    if r.u8()? == 0 {
        let mut entries = Vec::new();
        while !r.is_empty() {
            let s = r.f64()?;
            entries.push((s, r.shared(bytes)?));
        }
        Ok(Node::Leaf(entries))
    } else {
        let mut children = Vec::new();
        while !r.is_empty() {
            let id = r.u64()?;
            let size = r.u64()?;
            let s = r.f64()?;
            children.push((id, size, (s, r.shared(bytes)?)));
        }
        Ok(Node::Internal(children))
    }
}

impl Tree {
    fn alloc(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn node(&mut self, txn: &mut Txn<'_>, generation: u64, id: u64) -> Result<&mut (Node, bool)> {
        match self.nodes.entry(id) {
            std::collections::hash_map::Entry::Occupied(o) => Ok(o.into_mut()),
            std::collections::hash_map::Entry::Vacant(v) => {
                let bytes = txn
                    .get(&node_key(generation, id))?
                    .ok_or_else(|| KvError::damaged(format!("sorted set node {id} is missing")))?;
                Ok(v.insert((decode_node(&bytes)?, false)))
            }
        }
    }

    fn generation(&self) -> u64 {
        self.map.generation
    }

    /// The path from the root to the leaf where `key` belongs: (node id, child index).
    fn path(&mut self, txn: &mut Txn<'_>, key: (f64, &[u8])) -> Result<Vec<(u64, usize)>> {
        let generation = self.generation();
        let mut path = Vec::new();
        let mut id = self.root;
        loop {
            match &self.node(txn, generation, id)?.0 {
                Node::Leaf(_) => {
                    path.push((id, 0));
                    return Ok(path);
                }
                Node::Internal(children) => {
                    let i = children
                        .iter()
                        .position(|c| cmp((c.2 .0, &c.2 .1), key) != Ordering::Less)
                        .unwrap_or(children.len().saturating_sub(1));
                    path.push((id, i));
                    id = children[i].0;
                }
            }
        }
    }

    fn insert(&mut self, txn: &mut Txn<'_>, entry: Entry) -> Result<()> {
        let generation = self.generation();
        let path = self.path(txn, (entry.0, &entry.1))?;
        let (leaf_id, _) = *path.last().unwrap_or(&(self.root, 0));
        // Insert into the leaf.
        let mut split: Option<(u64, Node)> = None;
        {
            let slot = self.node(txn, generation, leaf_id)?;
            if let Node::Leaf(entries) = &mut slot.0 {
                let at = entries
                    .partition_point(|e| cmp((e.0, &e.1), (entry.0, &entry.1)) == Ordering::Less);
                entries.insert(at, entry);
                slot.1 = true;
                if entries.len() > NODE_MAX {
                    let right = entries.split_off(entries.len() / 2);
                    split = Some((0, Node::Leaf(right)));
                }
            }
        }
        self.fix_path(txn, &path, split)
    }

    fn remove(&mut self, txn: &mut Txn<'_>, key: (f64, &[u8])) -> Result<()> {
        let generation = self.generation();
        let path = self.path(txn, key)?;
        let (leaf_id, _) = *path.last().unwrap_or(&(self.root, 0));
        let slot = self.node(txn, generation, leaf_id)?;
        if let Node::Leaf(entries) = &mut slot.0 {
            if let Some(i) = entries.iter().position(|e| e.0 == key.0 && e.1 == key.1) {
                entries.remove(i);
                slot.1 = true;
            }
        }
        self.fix_path(txn, &path, None)
    }

    /// After a change at the leaf of `path`: splits upward, drops emptied nodes, refreshes
    /// sizes and greatest keys, collapses a root with one child.
    fn fix_path(
        &mut self,
        txn: &mut Txn<'_>,
        path: &[(u64, usize)],
        mut split: Option<(u64, Node)>,
    ) -> Result<()> {
        let generation = self.generation();
        for level in (0..path.len()).rev() {
            let (id, _) = path[level];
            if let Some((_, node)) = split.take() {
                let new_id = self.alloc();
                let summary = (
                    new_id,
                    node.size(),
                    node.max().unwrap_or((0.0, Bytes::new())),
                );
                self.nodes.insert(new_id, (node, true));
                split = Some((new_id, Node::Internal(vec![summary])));
            }
            let (size, max, width) = {
                let n = &self.node(txn, generation, id)?.0;
                (n.size(), n.max(), n.width())
            };
            if level == 0 {
                if let Some((new_id, Node::Internal(right))) = split.take() {
                    // The root split: a new root above both halves.
                    let left = (id, size, max.unwrap_or((0.0, Bytes::new())));
                    let _ = new_id;
                    let root = self.alloc();
                    let mut children = vec![left];
                    children.extend(right);
                    self.nodes.insert(root, (Node::Internal(children), true));
                    self.root = root;
                }
                break;
            }
            let (parent, index) = path[level - 1];
            let slot = self.node(txn, generation, parent)?;
            let Node::Internal(children) = &mut slot.0 else {
                break;
            };
            slot.1 = true;
            if width == 0 {
                children.remove(index);
            } else {
                children[index].1 = size;
                if let Some(m) = max {
                    children[index].2 = m;
                }
            }
            if let Some((_, Node::Internal(right))) = split.take() {
                children.splice(index + 1..index + 1, right);
            }
            if children.len() > NODE_MAX {
                let right = children.split_off(children.len() / 2);
                split = Some((0, Node::Internal(right)));
            }
            if width == 0 {
                // Emptied: flushed as a delete of its record.
                self.nodes.insert(id, (Node::Leaf(Vec::new()), true));
            }
        }
        // A root with a single internal child gives way to it.
        loop {
            let root = self.root;
            let only = match &self.node(txn, generation, root)?.0 {
                Node::Internal(c) if c.len() == 1 => c[0].0,
                _ => break,
            };
            let child_is_internal =
                matches!(self.node(txn, generation, only)?.0, Node::Internal(_));
            if !child_is_internal {
                break;
            }
            self.nodes.insert(root, (Node::Leaf(Vec::new()), true));
            self.root = only;
        }
        Ok(())
    }

    fn count_before(
        &mut self,
        txn: &mut Txn<'_>,
        before: &dyn Fn(f64, &[u8]) -> bool,
    ) -> Result<u64> {
        let generation = self.generation();
        let mut id = self.root;
        let mut count = 0;
        loop {
            match &self.node(txn, generation, id)?.0 {
                Node::Leaf(entries) => {
                    return Ok(count + entries.partition_point(|e| before(e.0, &e.1)) as u64);
                }
                Node::Internal(children) => {
                    let mut next = None;
                    for c in children {
                        if before(c.2 .0, &c.2 .1) {
                            count += c.1;
                        } else {
                            next = Some(c.0);
                            break;
                        }
                    }
                    match next {
                        Some(n) => id = n,
                        None => return Ok(count),
                    }
                }
            }
        }
    }

    fn collect(
        &mut self,
        txn: &mut Txn<'_>,
        id: u64,
        skip: u64,
        take: u64,
        out: &mut Vec<Entry>,
    ) -> Result<()> {
        let generation = self.generation();
        let node = self.node(txn, generation, id)?.0.clone();
        match node {
            Node::Leaf(entries) => {
                out.extend(entries.into_iter().skip(skip as usize).take(take as usize));
            }
            Node::Internal(children) => {
                let mut skip = skip;
                let mut take = take;
                for (child, size, _) in children {
                    if take == 0 {
                        break;
                    }
                    if skip >= size {
                        skip -= size;
                        continue;
                    }
                    let before = out.len() as u64;
                    self.collect(txn, child, skip, take, out)?;
                    take -= out.len() as u64 - before;
                    skip = 0;
                }
            }
        }
        Ok(())
    }
}
