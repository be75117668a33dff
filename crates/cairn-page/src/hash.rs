//! The hash index: equality lookups of byte keys, growing by linear hashing.
//!
//! ```text
//! meta page (type Hash, level 1; its id names the index), body:
//! 0   4   magic "CPHX"
//! 4   4   round r: buckets 0..2^r existed when the round began
//! 8   4   split pointer s: buckets below s are split this round
//! 12  4   bucket count (2^r + s)
//! 16  4   hash seed
//! 20      directory page ids, u32 each (up to 2035): directory page d maps buckets
//!         2040·d .. 2040·(d+1)
//! directory page (type Hash, level 2), body: bucket page ids, u32 each (2040)
//! bucket page (type Hash, level 0): unordered cells, `next page` = the bucket's next
//!         overflow page
//! cell: hash u32, key length u16, key, value
//! ```
//!
//! A key hashes (CRC32C seeded per index) to bucket `h mod 2^r`, or `h mod 2^(r+1)` if that is
//! below the split pointer. When an insert finds its bucket's pages all full it chains an
//! overflow page and then splits the bucket at the split pointer (not necessarily its own):
//! the bucket's entries are divided between it and the new bucket `s + 2^r`, and the pointer
//! advances. The index never shrinks (as PostgreSQL's hash indexes).
//!
//! Logging follows the B+tree (btree/): an entry inserted or removed is its transaction's
//! `Index` record, redone physically and undone logically; overflow pages and splits are
//! redo-only records holding whole pages. One lock per index orders writers (readers share
//! it); page latches are taken under it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::btree::Logging;
use crate::buffer_pool::PageWrite;
use crate::error::{Error, Result};
use crate::logrec::{Change, IndexKind};
use crate::page::{Page, PageId, PageType, SlotId, HEADER_LEN, PAGE_SIZE, SLOT_LEN};
use crate::store::PageStore;
use crate::txn::Txn;
use crate::wal::{Lsn, TxnId};

const MAGIC: [u8; 4] = *b"CPHX";
const ROUND: usize = HEADER_LEN + 4;
const SPLIT: usize = HEADER_LEN + 8;
const COUNT: usize = HEADER_LEN + 12;
const SEED: usize = HEADER_LEN + 16;
const DIRECTORY: usize = HEADER_LEN + 20;
const DIR_PAGES: usize = (PAGE_SIZE - DIRECTORY) / 4;
const PER_DIR: usize = (PAGE_SIZE - HEADER_LEN) / 4;
const META_LEVEL: u8 = 1;
const DIR_LEVEL: u8 = 2;
/// The largest entry (key and value together).
pub const MAX_HASH_ENTRY: usize = 1000;

/// The per-index locks of a store.
pub(crate) type HashLocks = Mutex<HashMap<PageId, Arc<RwLock<()>>>>;

fn hash_cell(hash: u32, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(6 + key.len() + value.len());
    c.extend_from_slice(&hash.to_le_bytes());
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.extend_from_slice(key);
    c.extend_from_slice(value);
    c
}

/// The hash, key and value of a cell.
fn parse(cell: &[u8]) -> (u32, &[u8], &[u8]) {
    if cell.len() < 6 {
        return (0, &[], &[]);
    }
    let h = u32::from_le_bytes([cell[0], cell[1], cell[2], cell[3]]);
    let n = (u16::from_le_bytes([cell[4], cell[5]]) as usize).min(cell.len() - 6);
    (h, &cell[6..6 + n], &cell[6 + n..])
}

/// A hash index of a store, named by its meta page.
#[derive(Debug, Clone)]
pub struct HashIndex<'s> {
    store: &'s PageStore,
    meta: PageId,
    lock: Arc<RwLock<()>>,
}

/// The index's shape, as [`HashIndex::check`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashShape {
    pub buckets: usize,
    pub pages: usize,
    pub entries: usize,
}

struct Geometry {
    round: u32,
    split: u32,
    count: u32,
    seed: u32,
}

impl PageStore {
    /// Creates an empty hash index (one bucket) and returns its meta page. Not undone by an
    /// abort (see [`PageStore::create_heap`]).
    pub fn create_hash_index(&self) -> Result<PageId> {
        let mut alloc = self.allocation()?;
        let meta_id = alloc.take()?;
        let dir_id = alloc.take()?;
        let bucket_id = alloc.take()?;
        let seed = crc32c::crc32c(
            &std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
                .to_le_bytes(),
        ) ^ meta_id;
        let mut meta = Page::new(meta_id, PageType::Hash);
        meta.set_level(META_LEVEL);
        meta.patch(HEADER_LEN, &MAGIC)?;
        meta.patch(COUNT, &1u32.to_le_bytes())?;
        meta.patch(SEED, &seed.to_le_bytes())?;
        meta.patch(DIRECTORY, &dir_id.to_le_bytes())?;
        let mut dir = Page::new(dir_id, PageType::Hash);
        dir.set_level(DIR_LEVEL);
        dir.patch(HEADER_LEN, &bucket_id.to_le_bytes())?;
        let bucket = Page::new(bucket_id, PageType::Hash);
        let mut changes = alloc.changes();
        let mut guards = Vec::new();
        for image in [meta, dir, bucket] {
            changes.push(Change::image_of(&image));
            guards.push(self.pool.install(Page::new(image.id(), PageType::Hash))?);
        }
        let mut pages: Vec<&mut Page> = vec![&mut alloc.meta];
        pages.extend(guards.iter_mut().map(|g| &mut **g));
        self.log_redo(changes, &mut pages)?;
        Ok(meta_id)
    }

    /// The hash index whose meta page is `meta`.
    pub fn hash_index(&self, meta: PageId) -> HashIndex<'_> {
        let lock = self
            .hash_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(meta)
            .or_default()
            .clone();
        HashIndex {
            store: self,
            meta,
            lock,
        }
    }
}

impl<'s> HashIndex<'s> {
    pub fn id(&self) -> PageId {
        self.meta
    }

    fn corrupt(&self, page: PageId, what: impl Into<String>) -> Error {
        self.store.corrupt(page, what)
    }

    /// Counts one more page walked along the bucket chain that starts at `first`; fails once
    /// the walk is longer than any chain can be (the chain loops).
    fn step_chain(&self, first: PageId, hops: &mut u64) -> Result<()> {
        *hops += 1;
        if *hops > u64::from(u32::MAX) {
            return Err(self.corrupt(first, "bucket chain loops"));
        }
        Ok(())
    }

    fn geometry(&self, meta: &Page) -> Result<Geometry> {
        if meta.page_type() != Some(PageType::Hash)
            || meta.level() != META_LEVEL
            || meta.bytes_at(HEADER_LEN, 4) != MAGIC
        {
            return Err(Error::WrongPage {
                page: self.meta,
                expected: "a hash index meta page",
            });
        }
        Ok(Geometry {
            round: meta.u32_at(ROUND),
            split: meta.u32_at(SPLIT),
            count: meta.u32_at(COUNT),
            seed: meta.u32_at(SEED),
        })
    }

    fn bucket_of(g: &Geometry, hash: u32) -> u32 {
        let low = 1u64 << g.round;
        let b = (u64::from(hash) % low) as u32;
        if b < g.split {
            (u64::from(hash) % (low * 2)) as u32
        } else {
            b
        }
    }

    /// The first page of `bucket`.
    fn bucket_page(&self, meta: &Page, bucket: u32) -> Result<PageId> {
        let d = bucket as usize / PER_DIR;
        if d >= DIR_PAGES {
            return Err(self.corrupt(self.meta, "bucket past the directory"));
        }
        let dir_id = meta.u32_at(DIRECTORY + 4 * d);
        let dir = self.store.read(dir_id)?;
        let id = dir.u32_at(HEADER_LEN + 4 * (bucket as usize % PER_DIR));
        if id == 0 {
            return Err(self.corrupt(dir_id, format!("bucket {bucket} has no page")));
        }
        Ok(id)
    }

    /// The values stored under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        let _shared = self.lock.read().unwrap_or_else(|p| p.into_inner());
        let meta = self.store.read(self.meta)?;
        let g = self.geometry(&meta)?;
        let hash = crc32c::crc32c_append(g.seed, key);
        let first = self.bucket_page(&meta, Self::bucket_of(&g, hash))?;
        drop(meta);
        let mut values = Vec::new();
        let (mut next, mut hops) = (first, 0u64);
        while next != 0 {
            let page = self.store.read(next)?;
            for i in 0..page.slot_count() {
                let (h, k, v) = parse(page.get(i).unwrap_or(&[]));
                if h == hash && k == key {
                    values.push(v.to_vec());
                }
            }
            next = page.next_page();
            self.step_chain(first, &mut hops)?;
        }
        Ok(values)
    }

    /// Adds (key, value); a pair already present is not added twice.
    pub fn insert(&self, txn: &mut Txn<'_>, key: &[u8], value: &[u8]) -> Result<()> {
        if key.len() + value.len() > MAX_HASH_ENTRY {
            return Err(Error::KeyTooLarge {
                len: key.len() + value.len(),
                max: MAX_HASH_ENTRY,
            });
        }
        self.insert_logged(&mut Logging::Txn(txn), key, value)
    }

    fn insert_logged(&self, logging: &mut Logging<'_, '_>, key: &[u8], value: &[u8]) -> Result<()> {
        let _exclusive = self.lock.write().unwrap_or_else(|p| p.into_inner());
        let meta = self.store.read(self.meta)?;
        let g = self.geometry(&meta)?;
        let hash = crc32c::crc32c_append(g.seed, key);
        let first = self.bucket_page(&meta, Self::bucket_of(&g, hash))?;
        drop(meta);
        let cell = hash_cell(hash, key, value);
        // One pass under the index lock (no other writer changes the bucket meanwhile):
        // refuse a duplicate, note the first page with room and the chain's tail.
        let (mut room, mut tail) = (None, first);
        let mut next = first;
        let mut hops = 0u64;
        while next != 0 {
            let page = self.store.read(next)?;
            for i in 0..page.slot_count() {
                let (h, k, v) = parse(page.get(i).unwrap_or(&[]));
                if h == hash && k == key && v == value {
                    return Ok(());
                }
            }
            if room.is_none() && cell.len() + SLOT_LEN <= page.free_space() {
                room = Some(next);
            }
            tail = next;
            next = page.next_page();
            self.step_chain(first, &mut hops)?;
        }
        let grew = room.is_none();
        let mut page = match room {
            Some(id) => self.store.write(id)?,
            None => {
                let mut tail = self.store.write(tail)?;
                let mut alloc = self.store.allocation()?;
                let id = alloc.take()?;
                let mut page = self.store.pool.install(Page::new(id, PageType::Hash))?;
                let mut changes = alloc.changes();
                changes.push(Change::Format {
                    page: id,
                    page_type: PageType::Hash,
                });
                changes.push(crate::store::patch_u32(tail.id(), crate::page::NEXT, 0, id));
                self.store
                    .log_redo(changes, &mut [&mut tail, &mut alloc.meta, &mut page])?;
                page
            }
        };
        let index = page.slot_count();
        let change = Change::CellInsert {
            page: page.id(),
            index,
            cell,
        };
        logging.log(self.store, IndexKind::Hash, self.meta, change, &mut page)?;
        drop(page);
        if grew {
            self.split()?;
        }
        Ok(())
    }

    /// Splits the bucket at the split pointer into itself and bucket s + 2^r.
    fn split(&self) -> Result<()> {
        let mut meta = self.store.write(self.meta)?;
        let g = self.geometry(&meta)?;
        let old_bucket = g.split;
        let new_bucket = g.count;
        let d = new_bucket as usize / PER_DIR;
        if d >= DIR_PAGES {
            return Ok(()); // At the largest size: buckets only chain from here on.
        }
        let mut alloc = self.store.allocation()?;
        // The directory page of the new bucket, new if it starts one.
        let mut dir_id = meta.u32_at(DIRECTORY + 4 * d);
        let mut new_dir: Option<PageWrite<'s>> = None;
        if dir_id == 0 {
            dir_id = alloc.take()?;
            let mut p = self.store.pool.install(Page::new(dir_id, PageType::Hash))?;
            p.set_level(DIR_LEVEL);
            meta.patch(DIRECTORY + 4 * d, &dir_id.to_le_bytes())?;
            new_dir = Some(p);
        }
        // Gather the old bucket's chain.
        let first = self.bucket_page(&meta, old_bucket)?;
        let mut chain: Vec<PageWrite<'s>> = Vec::new();
        let mut next = first;
        while next != 0 {
            if chain.len() > u32::MAX as usize || chain.iter().any(|p| p.id() == next) {
                return Err(self.corrupt(first, "bucket chain loops"));
            }
            let p = self.store.write(next)?;
            next = p.next_page();
            chain.push(p);
        }
        let mut stay: Vec<Vec<u8>> = Vec::new();
        let mut go: Vec<Vec<u8>> = Vec::new();
        let modulus = 1u64 << (g.round + 1);
        for p in &chain {
            for i in 0..p.slot_count() {
                let c = p.get(i).unwrap_or(&[]).to_vec();
                let (h, _, _) = parse(&c);
                if (u64::from(h) % modulus) as u32 == old_bucket {
                    stay.push(c);
                } else {
                    go.push(c);
                }
            }
        }
        // Refill the old chain's pages in order; free those left over.
        let mut images: Vec<Page> = Vec::new();
        let chain_ids: Vec<PageId> = chain.iter().map(|p| p.id()).collect();
        let used = pack(&stay, &chain_ids, &mut images)?;
        // The new bucket takes the old chain's leftover pages first (they are latched here),
        // then new ones; leftovers it does not need are freed.
        let mut leftover: Vec<PageId> = chain_ids[used..].to_vec();
        let needed = pages_needed(&go);
        let mut new_ids: Vec<PageId> = Vec::new();
        while new_ids.len() < needed && !leftover.is_empty() {
            new_ids.push(leftover.remove(0));
        }
        for id in leftover {
            images.push(alloc.release(id));
        }
        let mut new_pages: Vec<PageWrite<'s>> = Vec::new();
        while new_ids.len() < needed {
            let id = alloc.take()?;
            new_ids.push(id);
            new_pages.push(self.store.pool.install(Page::new(id, PageType::Hash))?);
        }
        pack(&go, &new_ids, &mut images)?;
        // Directory entry and geometry.
        let mut dir = match new_dir {
            Some(p) => p,
            None => self.store.write(dir_id)?,
        };
        dir.patch(
            HEADER_LEN + 4 * (new_bucket as usize % PER_DIR),
            &new_ids[0].to_le_bytes(),
        )?;
        let (round, split) = if g.split + 1 == 1 << g.round {
            (g.round + 1, 0)
        } else {
            (g.round, g.split + 1)
        };
        meta.patch(ROUND, &round.to_le_bytes())?;
        meta.patch(SPLIT, &split.to_le_bytes())?;
        meta.patch(COUNT, &(g.count + 1).to_le_bytes())?;
        let mut changes = alloc.changes();
        changes.push(Change::image_of(&meta));
        changes.push(Change::image_of(&dir));
        for image in &images {
            changes.push(Change::image_of(image));
        }
        let mut pages: Vec<&mut Page> = vec![&mut alloc.meta, &mut meta, &mut dir];
        for p in chain.iter_mut() {
            pages.push(p);
        }
        for p in new_pages.iter_mut() {
            pages.push(p);
        }
        self.store.log_redo(changes, &mut pages)?;
        Ok(())
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
        let _exclusive = self.lock.write().unwrap_or_else(|p| p.into_inner());
        let meta = self.store.read(self.meta)?;
        let g = self.geometry(&meta)?;
        let hash = crc32c::crc32c_append(g.seed, key);
        let first = self.bucket_page(&meta, Self::bucket_of(&g, hash))?;
        drop(meta);
        let (mut next, mut hops) = (first, 0u64);
        while next != 0 {
            let mut page = self.store.write(next)?;
            let found = (0..page.slot_count()).find(|&i| {
                let (h, k, v) = parse(page.get(i).unwrap_or(&[]));
                h == hash && k == key && v == value
            });
            if let Some(index) = found {
                let change = Change::CellRemove {
                    page: page.id(),
                    index,
                    cell: page.get(index).unwrap_or(&[]).to_vec(),
                };
                logging.log(self.store, IndexKind::Hash, self.meta, change, &mut page)?;
                return Ok(true);
            }
            next = page.next_page();
            self.step_chain(first, &mut hops)?;
        }
        Ok(false)
    }

    /// Verifies that every entry sits in the bucket its hash leads to, and counts.
    pub fn check(&self) -> std::result::Result<HashShape, String> {
        let _shared = self.lock.read().unwrap_or_else(|p| p.into_inner());
        let meta = self.store.read(self.meta).map_err(|e| e.to_string())?;
        let g = self.geometry(&meta).map_err(|e| e.to_string())?;
        if g.count != (1 << g.round) + g.split {
            return Err(format!(
                "{} buckets in round {} with split pointer {}",
                g.count, g.round, g.split
            ));
        }
        let mut shape = HashShape {
            buckets: g.count as usize,
            ..HashShape::default()
        };
        for b in 0..g.count {
            let mut next = self.bucket_page(&meta, b).map_err(|e| e.to_string())?;
            let mut seen = Vec::new();
            while next != 0 {
                if seen.contains(&next) {
                    return Err(format!("bucket {b} chain loops at {next}"));
                }
                seen.push(next);
                let page = self.store.read(next).map_err(|e| e.to_string())?;
                page.check().map_err(|e| format!("page {next}: {e}"))?;
                for i in 0..page.slot_count() {
                    let (h, k, _) = parse(page.get(i).unwrap_or(&[]));
                    if crc32c::crc32c_append(g.seed, k) != h || Self::bucket_of(&g, h) != b {
                        return Err(format!("entry {i} of page {next} is not in its bucket {b}"));
                    }
                    shape.entries += 1;
                }
                shape.pages += 1;
                next = page.next_page();
            }
        }
        Ok(shape)
    }
}

/// Pages `cells` need, at least one.
fn pages_needed(cells: &[Vec<u8>]) -> usize {
    let mut pages = 1;
    let mut room = PAGE_SIZE - HEADER_LEN;
    for c in cells {
        if c.len() + SLOT_LEN > room {
            pages += 1;
            room = PAGE_SIZE - HEADER_LEN;
        }
        room -= c.len() + SLOT_LEN;
    }
    pages
}

/// Lays `cells` out over pages `ids` (chained in that order) as images; returns how many
/// pages it used (at least one).
fn pack(cells: &[Vec<u8>], ids: &[PageId], images: &mut Vec<Page>) -> Result<usize> {
    let needed = pages_needed(cells);
    if needed > ids.len() {
        return Err(Error::PageFull {
            page: ids.first().copied().unwrap_or(0),
            needed: cells.iter().map(|c| c.len() + SLOT_LEN).sum(),
        });
    }
    let mut pages: Vec<Page> = ids[..needed]
        .iter()
        .map(|&id| Page::new(id, PageType::Hash))
        .collect();
    let mut at = 0;
    for c in cells {
        if c.len() + SLOT_LEN > pages[at].free_space() {
            at += 1;
        }
        let n = pages[at].slot_count();
        pages[at].insert_cell(n as SlotId, c)?;
    }
    for i in 0..pages.len() - 1 {
        let next = pages[i + 1].id();
        pages[i].set_next_page(next);
    }
    images.extend(pages);
    Ok(needed)
}

/// Undoes a hash index change of transaction `txn` logically, logging the compensation.
pub(crate) fn undo(
    store: &PageStore,
    txn: TxnId,
    mut last: Lsn,
    meta: PageId,
    change: &Change,
    undo_next: Lsn,
) -> Result<Lsn> {
    let index = store.hash_index(meta);
    let mut logging = Logging::Undo {
        txn,
        last: &mut last,
        undo_next,
    };
    match change {
        Change::CellInsert { cell, .. } => {
            let (_, k, v) = parse(cell);
            index.delete_logged(&mut logging, k, v)?;
        }
        Change::CellRemove { cell, .. } => {
            let (_, k, v) = parse(cell);
            index.insert_logged(&mut logging, k, v)?;
        }
        _ => {
            return Err(Error::BadLogRecord {
                lsn: undo_next,
                what: "a hash index record whose change is not a cell insert or remove".into(),
            })
        }
    }
    Ok(last)
}
