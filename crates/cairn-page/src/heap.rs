//! Heap files: tuples in slotted data pages, addressed by `TupleId` = (page, slot), found by
//! a directory that also tracks each page's free space.
//!
//! ```text
//! directory page (type FreeSpace; the first one is the heap's id), body:
//! 0   2   entries in this page (n)
//! 2   5n  entries: data page u32, free-space category u8 (free bytes / 64, a hint)
//! `next page` chains directory pages; a page holds up to 1631 entries
//!
//! heap tuple, in a data page (type Data):
//! 0   1   flags: bit 0 = the value lives in overflow pages
//! 1   8   xmin: the transaction that inserted it (for MVCC, a later issue)
//! 9   8   xmax: the transaction that deleted it, 0 if none (idem)
//! 17      the value, or for an overflowed one: total length u64, first overflow page u32
//!
//! overflow page (type Overflow), body: length u16, then that many bytes of the value;
//! `next page` leads to the next piece
//! ```
//!
//! Inserts find room without scanning the file: the directory's categories are kept in
//! memory (read once, from the directory pages only) and the insert goes to the last page
//! that had room, else the first whose category says the tuple fits. Categories are hints,
//! changed without logging (store.rs, `set_hint`); the page itself decides. A new data page
//! and its directory entry are logged in one record, so a committed tuple is never in a page
//! the directory lost.
//!
//! Values longer than [`INLINE_MAX`] go to a chain of overflow pages (up to 2^32 pages),
//! written back to front so each page is logged whole, with its next pointer, in the record
//! that allocates it. The chain of a deleted or replaced value is freed after the commit; the
//! chain of an aborted insert right after the undo. A crash between the two leaks the chain
//! (space, never data).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::logrec::Change;
use crate::page::{Page, PageId, PageType, SlotId, TupleId, HEADER_LEN, PAGE_SIZE, SLOT_LEN};
use crate::store::PageStore;
use crate::txn::Txn;

const COUNT: usize = HEADER_LEN;
const ENTRIES: usize = HEADER_LEN + 2;
const ENTRY_LEN: usize = 5;
const DIR_CAPACITY: usize = (PAGE_SIZE - ENTRIES) / ENTRY_LEN;
const CATEGORY_BYTES: usize = 64;

const TUPLE_HEADER: usize = 17;
const OVERFLOWED: u8 = 1;
/// The longest value stored inside its data page; longer ones go to overflow pages. A
/// quarter page, so a data page always holds at least four tuples.
pub const INLINE_MAX: usize = 2000;
const OVERFLOW_DATA: usize = HEADER_LEN + 2;
const OVERFLOW_CAPACITY: usize = PAGE_SIZE - OVERFLOW_DATA;

/// What a heap keeps in memory: its directory, with each page's free-space category.
#[derive(Debug, Default)]
pub(crate) struct Space {
    directory: Vec<PageId>,
    pages: Vec<DataPage>,
    /// Index in `pages` of the page the last insert went to.
    hint: usize,
    /// Where each data page sits in `pages`.
    index_of: HashMap<PageId, usize>,
    /// Bytes of each page that uncommitted deletes and shrinking updates freed: kept for
    /// their undo, so no insert may use them until the transaction ends.
    reserved: HashMap<PageId, usize>,
}

#[derive(Debug, Clone, Copy)]
struct DataPage {
    id: PageId,
    category: u8,
    /// The category the directory page holds.
    stored: u8,
}

/// The per-heap memory of a store.
pub(crate) type Spaces = Mutex<HashMap<PageId, Arc<Mutex<Space>>>>;

fn category(free: usize) -> u8 {
    (free / CATEGORY_BYTES).min(u8::MAX as usize) as u8
}

fn lock(space: &Mutex<Space>) -> MutexGuard<'_, Space> {
    space.lock().unwrap_or_else(|p| p.into_inner())
}

/// A heap file of a store.
#[derive(Clone)]
pub struct Heap<'s> {
    store: &'s PageStore,
    root: PageId,
    space: Arc<Mutex<Space>>,
}

impl std::fmt::Debug for Heap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heap").field("root", &self.root).finish()
    }
}

impl PageStore {
    /// Creates an empty heap and returns its id (its first directory page). The creation is
    /// not undone by an abort: record the id somewhere transactional (a root slot, a catalog).
    pub fn create_heap(&self) -> Result<PageId> {
        let page = self.allocate(PageType::FreeSpace)?;
        Ok(page.id())
    }

    /// The heap whose id is `root`.
    pub fn heap(&self, root: PageId) -> Result<Heap<'_>> {
        let mut spaces = self.heaps.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(space) = spaces.get(&root) {
            return Ok(Heap {
                store: self,
                root,
                space: space.clone(),
            });
        }
        let space = Arc::new(Mutex::new(self.load_space(root)?));
        spaces.insert(root, space.clone());
        Ok(Heap {
            store: self,
            root,
            space,
        })
    }

    fn load_space(&self, root: PageId) -> Result<Space> {
        let mut space = Space::default();
        let mut next = root;
        while next != 0 {
            let dir = self.read(next)?;
            if dir.page_type() != Some(PageType::FreeSpace) || space.directory.contains(&next) {
                return Err(Error::WrongPage {
                    page: next,
                    expected: "a heap directory page",
                });
            }
            let n = dir.u16_at(COUNT);
            for i in 0..(n as usize).min(DIR_CAPACITY) {
                let at = ENTRIES + i * ENTRY_LEN;
                let (id, category) = (dir.u32_at(at), dir.bytes_at(at + 4, 1)[0]);
                space.index_of.insert(id, space.pages.len());
                space.pages.push(DataPage {
                    id,
                    category,
                    stored: category,
                });
            }
            space.directory.push(next);
            next = dir.next_page();
        }
        Ok(space)
    }
}

impl<'s> Heap<'s> {
    pub fn id(&self) -> PageId {
        self.root
    }

    /// Stores `value` and returns where it lives.
    pub fn insert(&self, txn: &mut Txn<'_>, value: &[u8]) -> Result<TupleId> {
        let tuple = self.tuple_for(txn, value)?;
        self.insert_tuple(txn, &tuple)
    }

    /// The tuple bytes for `value`: inline, or pointing at a new overflow chain.
    fn tuple_for(&self, txn: &Txn<'_>, value: &[u8]) -> Result<Vec<u8>> {
        let mut tuple = Vec::with_capacity(TUPLE_HEADER + value.len().min(INLINE_MAX + 12));
        let overflowed = value.len() > INLINE_MAX;
        tuple.push(if overflowed { OVERFLOWED } else { 0 });
        tuple.extend_from_slice(&txn.id().to_le_bytes());
        tuple.extend_from_slice(&0u64.to_le_bytes());
        if overflowed {
            let first = write_chain(self.store, value)?;
            tuple.extend_from_slice(&(value.len() as u64).to_le_bytes());
            tuple.extend_from_slice(&first.to_le_bytes());
        } else {
            tuple.extend_from_slice(value);
        }
        Ok(tuple)
    }

    fn insert_tuple(&self, txn: &mut Txn<'_>, tuple: &[u8]) -> Result<TupleId> {
        let needed = category_needed(tuple.len());
        loop {
            let candidate = lock(&self.space).find(needed);
            let index = match candidate {
                Some(index) => index,
                None => self.add_page()?,
            };
            let id = lock(&self.space).pages[index].id;
            let mut page = self.data_page_mut(id)?;
            // A heap tuple always takes a new slot: a slot emptied by a delete may still be
            // wanted back by that transaction's undo (slots are reused once MVCC's vacuum
            // knows no one can, a later issue).
            let slot = page.slot_count();
            let free = self.usable(&page);
            let fits = tuple.len() + SLOT_LEN <= free && slot < SlotId::MAX;
            if fits {
                txn.log_change(
                    Change::Insert {
                        page: id,
                        slot,
                        tuple: tuple.to_vec(),
                    },
                    &mut page,
                )?;
            }
            let free = self.usable(&page);
            drop(page);
            self.note_free(index, free)?;
            if fits {
                return Ok((id, slot));
            }
        }
    }

    /// Records a page's free space in memory, and in its directory entry when the category
    /// moved by 1 KiB or more (the directory is a hint; see the module doc).
    fn note_free(&self, index: usize, free: usize) -> Result<()> {
        let new = category(free);
        let (stale, dir_page, at) = {
            let mut space = lock(&self.space);
            let p = &mut space.pages[index];
            p.category = new;
            let stale = p.stored / 16 != new / 16;
            if stale {
                p.stored = new;
            }
            (
                stale,
                space.directory[index / DIR_CAPACITY],
                ENTRIES + (index % DIR_CAPACITY) * ENTRY_LEN + 4,
            )
        };
        if stale {
            let mut dir = self.store.write(dir_page)?;
            self.store.set_hint(&mut dir, at, &[new])?;
        }
        Ok(())
    }

    /// Adds an empty data page to the heap; returns its index in the directory.
    fn add_page(&self) -> Result<usize> {
        let mut space = lock(&self.space);
        let index = space.pages.len();
        if space.directory.len() == index / DIR_CAPACITY {
            // The directory pages are all full: chain a new one first.
            let last = *space.directory.last().expect("a heap has a directory page");
            let mut dir = self.store.write(last)?;
            let mut alloc = self.store.allocation()?;
            let id = alloc.take()?;
            let mut new = self
                .store
                .pool
                .install(Page::new(id, PageType::FreeSpace))?;
            let mut changes = alloc.changes();
            changes.push(Change::Format {
                page: id,
                page_type: PageType::FreeSpace,
            });
            changes.push(crate::store::patch_u32(last, crate::page::NEXT, 0, id));
            self.store
                .log_redo(changes, &mut [&mut dir, &mut alloc.meta, &mut new])?;
            space.directory.push(id);
        }
        let dir_id = space.directory[index / DIR_CAPACITY];
        let n = index % DIR_CAPACITY;
        let mut dir = self.store.write(dir_id)?;
        let mut alloc = self.store.allocation()?;
        let id = alloc.take()?;
        let mut page = self.store.pool.install(Page::new(id, PageType::Data))?;
        let cat = category(page.free_space());
        let mut entry = id.to_le_bytes().to_vec();
        entry.push(cat);
        let old_entry = dir.bytes_at(ENTRIES + n * ENTRY_LEN, ENTRY_LEN).to_vec();
        let mut changes = alloc.changes();
        changes.extend([
            Change::Format {
                page: id,
                page_type: PageType::Data,
            },
            Change::Patch {
                page: dir_id,
                offset: COUNT as u16,
                old: (n as u16).to_le_bytes().to_vec(),
                new: (n as u16 + 1).to_le_bytes().to_vec(),
            },
            Change::Patch {
                page: dir_id,
                offset: (ENTRIES + n * ENTRY_LEN) as u16,
                old: old_entry,
                new: entry,
            },
        ]);
        self.store
            .log_redo(changes, &mut [&mut dir, &mut alloc.meta, &mut page])?;
        space.index_of.insert(id, index);
        space.pages.push(DataPage {
            id,
            category: cat,
            stored: cat,
        });
        space.hint = index;
        Ok(index)
    }

    /// The values at `tids`, in order (`None` where a tuple is gone): [`Heap::get`] for each,
    /// but reading a page once for a run of tuple ids on it (an index range in insertion
    /// order is such runs).
    pub fn get_many(&self, tids: &[TupleId]) -> Result<Vec<Option<Vec<u8>>>> {
        self.get_many_with(tids, |value| Ok(value.to_vec()))
    }

    /// What `read` makes of the values at `tids`, in order (`None` where a tuple is gone),
    /// each lent to it where it lies (an inline value in its page, under the page's shared
    /// latch): [`Heap::get_many`] without a copy of each value.
    pub fn get_many_with<T, E: From<Error>>(
        &self,
        tids: &[TupleId],
        mut read: impl FnMut(&[u8]) -> std::result::Result<T, E>,
    ) -> std::result::Result<Vec<Option<T>>, E> {
        let mut out = Vec::with_capacity(tids.len());
        let mut page: Option<(PageId, crate::buffer_pool::PageRead<'s>)> = None;
        for &tid in tids {
            if page.as_ref().is_none_or(|(id, _)| *id != tid.0) {
                // One page latched at a time: the last one is let go first.
                drop(page.take());
                page = Some((tid.0, self.data_page(tid.0)?));
            }
            let (_, latched) = page.as_ref().expect("read above");
            let Some(tuple) = latched.get(tid.1) else {
                out.push(None);
                continue;
            };
            if tuple.len() >= TUPLE_HEADER && tuple[0] & OVERFLOWED == 0 {
                out.push(Some(read(&tuple[TUPLE_HEADER..])?));
                continue;
            }
            let tuple = tuple.to_vec();
            page = None;
            out.push(Some(read(&value_of(self.store, tid, &tuple)?)?));
        }
        Ok(out)
    }

    /// The value at `tid`, or `None` if no tuple is there.
    pub fn get(&self, tid: TupleId) -> Result<Option<Vec<u8>>> {
        let page = self.data_page(tid.0)?;
        let Some(tuple) = page.get(tid.1) else {
            return Ok(None);
        };
        if tuple.len() >= TUPLE_HEADER && tuple[0] & OVERFLOWED == 0 {
            return Ok(Some(tuple[TUPLE_HEADER..].to_vec()));
        }
        let tuple = tuple.to_vec();
        drop(page);
        value_of(self.store, tid, &tuple).map(Some)
    }

    /// Data page `id`, shared.
    fn data_page(&self, id: PageId) -> Result<crate::buffer_pool::PageRead<'s>> {
        let page = self.store.read(id)?;
        expect_data_page(&page)?;
        Ok(page)
    }

    /// Data page `id`, exclusive.
    fn data_page_mut(&self, id: PageId) -> Result<crate::buffer_pool::PageWrite<'s>> {
        let page = self.store.write(id)?;
        expect_data_page(&page)?;
        Ok(page)
    }

    /// Replaces the value at `tid`. Returns where the value lives now: the same place if the
    /// new tuple fits in its page, else a new one (the old tuple is deleted), and indexes
    /// pointing at the old place must follow.
    pub fn update(&self, txn: &mut Txn<'_>, tid: TupleId, value: &[u8]) -> Result<TupleId> {
        let tuple = self.tuple_for(txn, value)?;
        let mut page = self.data_page_mut(tid.0)?;
        let old = replaced_tuple(txn, &page, tid)?;
        let grows = tuple.len().saturating_sub(old.len());
        if grows <= self.usable(&page) {
            let shrinks = old.len().saturating_sub(tuple.len());
            if shrinks > 0 {
                self.reserve(txn, tid.0, shrinks);
            }
            txn.log_change(
                Change::Update {
                    page: tid.0,
                    slot: tid.1,
                    old,
                    new: tuple,
                },
                &mut page,
            )?;
            return Ok(tid);
        }
        self.remove_tuple(txn, &mut page, tid, old)?;
        drop(page);
        self.insert_tuple(txn, &tuple)
    }

    /// Removes the tuple at `tid`.
    pub fn delete(&self, txn: &mut Txn<'_>, tid: TupleId) -> Result<()> {
        let mut page = self.data_page_mut(tid.0)?;
        let old = replaced_tuple(txn, &page, tid)?;
        self.remove_tuple(txn, &mut page, tid, old)
    }

    /// Logs the removal of tuple `old` at `tid` from `page` (latched by the caller), its
    /// space kept for the transaction's undo until it ends.
    fn remove_tuple(
        &self,
        txn: &mut Txn<'_>,
        page: &mut Page,
        tid: TupleId,
        old: Vec<u8>,
    ) -> Result<()> {
        self.reserve(txn, tid.0, old.len());
        txn.log_change(
            Change::Delete {
                page: tid.0,
                slot: tid.1,
                old,
            },
            page,
        )
    }

    /// Free bytes of `page` (latched by the caller) that an insert may use.
    fn usable(&self, page: &Page) -> usize {
        let reserved = lock(&self.space)
            .reserved
            .get(&page.id())
            .copied()
            .unwrap_or(0);
        page.free_space().saturating_sub(reserved)
    }

    /// Keeps `bytes` of `page` (latched by the caller) for `txn`'s undo until it ends.
    fn reserve(&self, txn: &mut Txn<'_>, page: PageId, bytes: usize) {
        *lock(&self.space).reserved.entry(page).or_default() += bytes;
        txn.reserved.push((self.root, page, bytes));
    }

    /// Every tuple, page by page in directory order.
    pub fn scan(&self) -> HeapScan<'s> {
        HeapScan {
            heap: self.clone(),
            page: 0,
            current: None,
            slot: 0,
        }
    }

    /// Data pages of the heap.
    pub fn page_count(&self) -> usize {
        lock(&self.space).pages.len()
    }
}

impl Space {
    /// The index of a page whose category says a tuple needing `needed` fits: the hint first,
    /// then the first such page.
    fn find(&mut self, needed: u8) -> Option<usize> {
        if self
            .pages
            .get(self.hint)
            .is_some_and(|p| p.category >= needed)
        {
            return Some(self.hint);
        }
        let index = self.pages.iter().position(|p| p.category >= needed)?;
        self.hint = index;
        Some(index)
    }
}

/// The category a page needs for a tuple of `len` bytes (with its slot) to surely fit.
fn category_needed(len: usize) -> u8 {
    category(len + SLOT_LEN + CATEGORY_BYTES - 1).max(1)
}

/// A sequential scan of a heap: each tuple's id and value, in page and slot order.
///
/// The scan reads a page at a time into a copy of its own (the page's latch is held only
/// while copying), so [`HeapScan::next_tuple`] lends an inline value straight from that
/// copy: one copy of a page instead of an allocation per tuple.
pub struct HeapScan<'s> {
    heap: Heap<'s>,
    /// The index, in the heap's page list, of the next page to read.
    page: usize,
    /// The page being read, copied.
    current: Option<(PageId, Page)>,
    /// The next slot of `current` to look at.
    slot: SlotId,
}

impl HeapScan<'_> {
    /// The next tuple's id and value, the value borrowed from the scan's copy of its page
    /// when it is inline (valid until the next call) and read from its overflow chain
    /// otherwise.
    pub fn next_tuple(&mut self) -> Option<Result<(TupleId, Cow<'_, [u8]>)>> {
        let slot = loop {
            if let Some(slot) = self.next_live_slot() {
                break slot;
            }
            let id = lock(&self.heap.space).pages.get(self.page)?.id;
            self.page += 1;
            match self.heap.data_page(id) {
                Ok(page) => self.current = Some((id, page.clone())),
                Err(e) => return Some(Err(e)),
            }
            self.slot = 0;
        };
        let (id, page) = self.current.as_ref().expect("a live slot is on a page");
        let tid = (*id, slot);
        let tuple = page.get(slot).expect("a live slot has a tuple");
        if tuple.len() >= TUPLE_HEADER && tuple[0] & OVERFLOWED == 0 {
            return Some(Ok((tid, Cow::Borrowed(&tuple[TUPLE_HEADER..]))));
        }
        Some(value_of(self.heap.store, tid, tuple).map(|v| (tid, Cow::Owned(v))))
    }

    /// The next slot of the current page that holds a tuple, if any.
    fn next_live_slot(&mut self) -> Option<SlotId> {
        let (_, page) = self.current.as_ref()?;
        while self.slot < page.slot_count() {
            let slot = self.slot;
            self.slot += 1;
            if page.get(slot).is_some() {
                return Some(slot);
            }
        }
        None
    }
}

impl Iterator for HeapScan<'_> {
    type Item = Result<(TupleId, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_tuple()
            .map(|r| r.map(|(tid, value)| (tid, value.into_owned())))
    }
}

/// Fails unless `page` is a heap data page.
fn expect_data_page(page: &Page) -> Result<()> {
    if page.page_type() != Some(PageType::Data) {
        return Err(Error::WrongPage {
            page: page.id(),
            expected: "a heap data page",
        });
    }
    Ok(())
}

/// The value a tuple holds, reading its overflow chain if it has one.
fn value_of(store: &PageStore, tid: TupleId, tuple: &[u8]) -> Result<Vec<u8>> {
    if tuple.len() < TUPLE_HEADER {
        return Err(store.corrupt(tid.0, format!("tuple in slot {} too short", tid.1)));
    }
    let body = &tuple[TUPLE_HEADER..];
    if tuple[0] & OVERFLOWED == 0 {
        return Ok(body.to_vec());
    }
    let (len, first) =
        overflow_pointer(body).ok_or_else(|| store.corrupt(tid.0, "bad overflow pointer"))?;
    read_chain(store, first, len)
}

fn overflow_pointer(body: &[u8]) -> Option<(u64, PageId)> {
    let len = u64::from_le_bytes(body.get(0..8)?.try_into().ok()?);
    let first = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?);
    Some((len, first))
}

/// The tuple at `tid` (in `page`, latched by the caller) that an update or delete replaces;
/// its overflow chain, if any, is freed once `txn` commits.
fn replaced_tuple(txn: &mut Txn<'_>, page: &Page, tid: TupleId) -> Result<Vec<u8>> {
    let old = page
        .get(tid.1)
        .map(<[u8]>::to_vec)
        .ok_or(Error::NoSuchTuple {
            page: tid.0,
            slot: tid.1,
        })?;
    if let Some(first) = overflow_head(&old) {
        txn.free_at_commit.push(first);
    }
    Ok(old)
}

/// The first overflow page of a tuple, if it has any.
fn overflow_head(tuple: &[u8]) -> Option<PageId> {
    if tuple.first()? & OVERFLOWED == 0 {
        return None;
    }
    overflow_pointer(tuple.get(TUPLE_HEADER..)?).map(|(_, first)| first)
}

/// Writes `value` into a new chain of overflow pages, last piece first; returns its head.
fn write_chain(store: &PageStore, value: &[u8]) -> Result<PageId> {
    let mut next = 0;
    let pieces: Vec<&[u8]> = value.chunks(OVERFLOW_CAPACITY).collect();
    for piece in pieces.into_iter().rev() {
        let mut alloc = store.allocation()?;
        let id = alloc.take()?;
        let mut image = Page::new(id, PageType::Overflow);
        image.patch(HEADER_LEN, &(piece.len() as u16).to_le_bytes())?;
        image.patch(OVERFLOW_DATA, piece)?;
        image.set_next_page(next);
        let mut page = store.pool.install(Page::new(id, PageType::Overflow))?;
        let mut changes = alloc.changes();
        changes.push(Change::image_of(&image));
        store.log_redo(changes, &mut [&mut alloc.meta, &mut page])?;
        next = id;
    }
    Ok(next)
}

/// Reads a value of `len` bytes from the chain starting at `first`.
fn read_chain(store: &PageStore, first: PageId, len: u64) -> Result<Vec<u8>> {
    let pages = len.div_ceil(OVERFLOW_CAPACITY as u64);
    let mut value = Vec::with_capacity(len.min(1 << 30) as usize);
    let mut next = first;
    for _ in 0..pages {
        let page = store.read(next)?;
        if page.page_type() != Some(PageType::Overflow) {
            return Err(store.corrupt(next, "overflow chain leads to another kind of page"));
        }
        let n = page.u16_at(HEADER_LEN) as usize;
        if n > OVERFLOW_CAPACITY || value.len() + n > len as usize {
            return Err(store.corrupt(next, "overflow piece longer than the value"));
        }
        value.extend_from_slice(page.bytes_at(OVERFLOW_DATA, n));
        next = page.next_page();
    }
    if value.len() as u64 != len {
        return Err(store.corrupt(first, "overflow chain shorter than the value"));
    }
    Ok(value)
}

/// Frees the overflow chain starting at `first`.
pub(crate) fn free_chain(store: &PageStore, first: PageId) -> Result<()> {
    let mut next = first;
    let mut seen = 0u64;
    while next != 0 {
        let page = store.write(next)?;
        if page.page_type() != Some(PageType::Overflow) {
            return Err(store.corrupt(next, "freeing an overflow chain that leads elsewhere"));
        }
        seen += 1;
        if seen > u64::from(u32::MAX) {
            return Err(store.corrupt(first, "overflow chain loops"));
        }
        let after = page.next_page();
        store.free(page)?;
        next = after;
    }
    Ok(())
}

/// Gives back the space a transaction's deletes kept for its undo (at its end).
pub(crate) fn release(store: &PageStore, reserved: Vec<(PageId, PageId, usize)>) -> Result<()> {
    for (root, page, bytes) in reserved {
        let heap = store.heap(root)?;
        let free = {
            let mut space = lock(&heap.space);
            if let Some(r) = space.reserved.get_mut(&page) {
                *r = r.saturating_sub(bytes);
                if *r == 0 {
                    space.reserved.remove(&page);
                }
            }
            space.index_of.get(&page).copied()
        };
        if let Some(index) = free {
            let page = store.read(page)?;
            let free = heap.usable(&page);
            drop(page);
            heap.note_free(index, free)?;
        }
    }
    Ok(())
}

/// After undo removed a tuple (an aborted insert, or the new side of an aborted update),
/// frees the overflow chain only that tuple pointed to.
pub(crate) fn after_undo(store: &PageStore, undone: &Change) -> Result<()> {
    let removed = match undone {
        Change::Insert { tuple, .. } => tuple,
        Change::Update { old, new, .. } => {
            if overflow_head(old) == overflow_head(new) {
                return Ok(());
            }
            new
        }
        _ => return Ok(()),
    };
    match overflow_head(removed) {
        Some(first) => free_chain(store, first),
        None => Ok(()),
    }
}
