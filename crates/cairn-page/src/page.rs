//! The page: 8 KiB, the unit of I/O, caching and logging, laid out as a slotted page.
//!
//! ```text
//! offset  size  field (little-endian)
//! 0       8     page LSN: the LSN of the last WAL record applied to this page
//! 8       4     page id
//! 12      1     page type (see PageType)
//! 13      1     level: an index node's height above the leaves (0 for a leaf and other pages)
//! 14      2     free space: bytes a new tuple (with its slot) could still use, counting the
//!               holes that compaction would close
//! 16      2     tuple count: slots holding a tuple
//! 18      2     slot count: slots in the slot array, empty ones included
//! 20      2     data start: offset of the lowest tuple byte (tuples grow down from the end)
//! 22      4     next page: the following page of a chain (overflow, free list), or 0
//! 26      2     reserved, zero
//! 28      4     checksum: CRC32C of the whole page with this field zeroed
//! 32            slot array, 4 bytes a slot: tuple offset u16 (0 = empty slot), length u16
//! ...           free space
//! data start    tuples, packed towards the end of the page
//! ```
//!
//! These are the seed's header fields (page id, type, free space, tuple count, next page,
//! checksum) plus the page LSN that write-ahead logging needs, and the two offsets a slotted
//! page needs. A tuple keeps its slot for life, so a `TupleId` = (page, slot) stays valid
//! while the tuple moves inside its page (compaction, growth on update).
//!
//! Invariants, checked by [`Page::check`]: slots lie below data start; every tuple lies
//! within `[data start, PAGE_SIZE)` and no two overlap; the counts and free space agree with
//! the slot array.

use crate::error::{Error, Result};

/// Bytes in a page.
pub const PAGE_SIZE: usize = 8192;
/// Bytes of the page header.
pub const HEADER_LEN: usize = 32;
/// Bytes of a slot-array entry.
pub const SLOT_LEN: usize = 4;
/// The largest tuple a page holds (an empty page, one slot).
pub const MAX_TUPLE_LEN: usize = PAGE_SIZE - HEADER_LEN - SLOT_LEN;

/// A page number in a page file. Page 0 is the file header.
pub type PageId = u32;
/// A slot number in a page.
pub type SlotId = u16;
/// Where a tuple lives: its page and its slot there.
pub type TupleId = (PageId, SlotId);

const LSN: usize = 0;
const ID: usize = 8;
const TYPE: usize = 12;
const LEVEL: usize = 13;
const FREE: usize = 14;
const TUPLES: usize = 16;
const SLOTS: usize = 18;
const DATA_START: usize = 20;
pub(crate) const NEXT: usize = 22;
const CHECKSUM: usize = 28;

/// What a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PageType {
    /// The file header (page 0).
    Meta = 0,
    /// Heap tuples.
    Data = 1,
    /// Index nodes.
    Index = 2,
    /// A piece of a value larger than a page.
    Overflow = 3,
    /// Free-space tracking.
    FreeSpace = 4,
    /// A freed page, on the free list.
    Free = 5,
    /// A hash index's meta page or bucket page.
    Hash = 6,
}

impl PageType {
    pub(crate) fn from_byte(b: u8) -> Option<PageType> {
        Some(match b {
            0 => PageType::Meta,
            1 => PageType::Data,
            2 => PageType::Index,
            3 => PageType::Overflow,
            4 => PageType::FreeSpace,
            5 => PageType::Free,
            6 => PageType::Hash,
            _ => return None,
        })
    }
}

/// One page in memory.
#[derive(Clone)]
pub struct Page {
    bytes: Box<[u8; PAGE_SIZE]>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("id", &self.id())
            .field("type", &self.page_type())
            .field("lsn", &self.lsn())
            .field("tuples", &self.tuple_count())
            .field("free", &self.free_space())
            .finish()
    }
}

impl Page {
    /// An empty page of the given id and type.
    pub fn new(id: PageId, page_type: PageType) -> Page {
        let mut page = Page {
            bytes: Box::new([0; PAGE_SIZE]),
        };
        page.set_u32(ID, id);
        page.bytes[TYPE] = page_type as u8;
        page.set_u16(DATA_START, PAGE_SIZE as u16);
        page.set_u16(FREE, (PAGE_SIZE - HEADER_LEN) as u16);
        page
    }

    /// A page read from disk: checksum and layout verified. `file` names it in errors.
    pub fn from_bytes(
        bytes: Box<[u8; PAGE_SIZE]>,
        expected: PageId,
        file: &std::path::Path,
    ) -> Result<Page> {
        let page = Page { bytes };
        let corrupt = |what: String| Error::Corrupt {
            file: file.into(),
            page: expected,
            what,
        };
        if page.stored_checksum() != page.computed_checksum() {
            return Err(corrupt("checksum mismatch".into()));
        }
        if page.id() != expected {
            return Err(corrupt(format!("page claims to be page {}", page.id())));
        }
        page.check_bounds().map_err(corrupt)?;
        Ok(page)
    }

    /// The bytes to write to disk, with the checksum filled in.
    pub fn seal(&mut self) -> &[u8; PAGE_SIZE] {
        let crc = self.computed_checksum();
        self.set_u32(CHECKSUM, crc);
        &self.bytes
    }

    fn stored_checksum(&self) -> u32 {
        self.u32_at(CHECKSUM)
    }

    fn computed_checksum(&self) -> u32 {
        let crc = crc32c::crc32c(&self.bytes[..CHECKSUM]);
        let crc = crc32c::crc32c_append(crc, &[0; 4]);
        crc32c::crc32c_append(crc, &self.bytes[CHECKSUM + 4..])
    }

    pub fn id(&self) -> PageId {
        self.u32_at(ID)
    }

    /// The page's type; an unknown byte reads as `None` (and fails [`Page::check`]).
    pub fn page_type(&self) -> Option<PageType> {
        PageType::from_byte(self.bytes[TYPE])
    }

    pub fn set_page_type(&mut self, t: PageType) {
        self.bytes[TYPE] = t as u8;
    }

    /// An index node's height above the leaves.
    pub fn level(&self) -> u8 {
        self.bytes[LEVEL]
    }

    pub fn set_level(&mut self, level: u8) {
        self.bytes[LEVEL] = level;
    }

    pub fn lsn(&self) -> u64 {
        u64::from_le_bytes(self.bytes[LSN..LSN + 8].try_into().unwrap_or([0; 8]))
    }

    pub fn set_lsn(&mut self, lsn: u64) {
        self.bytes[LSN..LSN + 8].copy_from_slice(&lsn.to_le_bytes());
    }

    pub fn next_page(&self) -> PageId {
        self.u32_at(NEXT)
    }

    pub fn set_next_page(&mut self, next: PageId) {
        self.set_u32(NEXT, next)
    }

    /// Slots holding a tuple.
    pub fn tuple_count(&self) -> u16 {
        self.u16_at(TUPLES)
    }

    /// Slots in the slot array, empty ones included.
    pub fn slot_count(&self) -> u16 {
        self.u16_at(SLOTS)
    }

    /// Bytes still usable by tuples and their slots, holes included.
    pub fn free_space(&self) -> usize {
        self.u16_at(FREE) as usize
    }

    fn data_start(&self) -> usize {
        self.u16_at(DATA_START) as usize
    }

    fn slots_end(&self) -> usize {
        HEADER_LEN + self.slot_count() as usize * SLOT_LEN
    }

    fn slot(&self, slot: SlotId) -> (usize, usize) {
        let at = HEADER_LEN + slot as usize * SLOT_LEN;
        (self.u16_at(at) as usize, self.u16_at(at + 2) as usize)
    }

    fn set_slot(&mut self, slot: SlotId, offset: usize, len: usize) {
        let at = HEADER_LEN + slot as usize * SLOT_LEN;
        self.set_u16(at, offset as u16);
        self.set_u16(at + 2, len as u16);
    }

    /// Whether a tuple of `len` bytes fits (compacting if need be).
    pub fn fits(&self, len: usize) -> bool {
        let needs_slot = self.tuple_count() == self.slot_count();
        len + if needs_slot { SLOT_LEN } else { 0 } <= self.free_space()
    }

    /// The slot an insert of `len` bytes would use (the first empty one, else a new one), or
    /// why it cannot go in.
    pub fn slot_for_insert(&self, len: usize) -> Result<SlotId> {
        if len > MAX_TUPLE_LEN {
            return Err(Error::TupleTooLarge {
                len,
                max: MAX_TUPLE_LEN,
            });
        }
        if !self.fits(len) {
            return Err(Error::PageFull {
                page: self.id(),
                needed: len,
            });
        }
        Ok((0..self.slot_count())
            .find(|&s| self.slot(s).0 == 0)
            .unwrap_or(self.slot_count()))
    }

    /// Stores `tuple` and returns its slot; reuses an empty slot if there is one.
    pub fn insert(&mut self, tuple: &[u8]) -> Result<SlotId> {
        let slot = self.slot_for_insert(tuple.len())?;
        self.insert_at(slot, tuple)?;
        Ok(slot)
    }

    /// Stores `tuple` in the given `slot`, which must be empty or the next new slot: how
    /// recovery repeats an insert, or undoes a delete, in the slot the original used.
    pub fn insert_at(&mut self, slot: SlotId, tuple: &[u8]) -> Result<()> {
        let new_slot = slot == self.slot_count();
        if !new_slot && (slot > self.slot_count() || self.slot(slot).0 != 0) {
            return Err(Error::SlotInUse {
                page: self.id(),
                slot,
            });
        }
        let slot_bytes = if new_slot { SLOT_LEN } else { 0 };
        if tuple.len() > MAX_TUPLE_LEN || tuple.len() + slot_bytes > self.free_space() {
            return Err(Error::PageFull {
                page: self.id(),
                needed: tuple.len() + slot_bytes,
            });
        }
        if self.data_start() - self.slots_end() < tuple.len() + slot_bytes {
            self.compact();
        }
        if new_slot {
            self.set_u16(SLOTS, self.slot_count() + 1);
        }
        let offset = self.data_start() - tuple.len();
        self.bytes[offset..offset + tuple.len()].copy_from_slice(tuple);
        self.set_u16(DATA_START, offset as u16);
        self.set_slot(slot, offset.max(HEADER_LEN), tuple.len());
        self.set_u16(TUPLES, self.tuple_count() + 1);
        self.set_u16(FREE, (self.free_space() - tuple.len() - slot_bytes) as u16);
        Ok(())
    }

    /// The tuple in `slot`.
    #[inline]
    pub fn get(&self, slot: SlotId) -> Option<&[u8]> {
        if slot >= self.slot_count() {
            return None;
        }
        let (offset, len) = self.slot(slot);
        if offset == 0 {
            return None;
        }
        if len == 0 {
            return Some(&[]);
        }
        self.bytes.get(offset..offset + len)
    }

    /// Removes the tuple in `slot`; the slot stays, empty, for reuse.
    pub fn delete(&mut self, slot: SlotId) -> Result<()> {
        let len = self.tuple_len(slot)?;
        self.set_slot(slot, 0, 0);
        self.set_u16(TUPLES, self.tuple_count() - 1);
        self.set_u16(FREE, (self.free_space() + len) as u16);
        Ok(())
    }

    /// Replaces the tuple in `slot`, keeping the slot.
    pub fn update(&mut self, slot: SlotId, tuple: &[u8]) -> Result<()> {
        let old_len = self.tuple_len(slot)?;
        if tuple.len() > old_len && tuple.len() - old_len > self.free_space() {
            return Err(Error::PageFull {
                page: self.id(),
                needed: tuple.len() - old_len,
            });
        }
        if tuple.len() <= old_len {
            let (offset, _) = self.slot(slot);
            self.bytes[offset..offset + tuple.len()].copy_from_slice(tuple);
            self.set_slot(slot, offset, tuple.len());
            self.set_u16(FREE, (self.free_space() + old_len - tuple.len()) as u16);
            return Ok(());
        }
        // Grow: free the old bytes, then place the new ones as an insert into this slot would.
        self.set_slot(slot, 0, 0);
        self.set_u16(FREE, (self.free_space() + old_len) as u16);
        if self.data_start() - self.slots_end() < tuple.len() {
            self.compact();
        }
        let offset = self.data_start() - tuple.len();
        self.bytes[offset..offset + tuple.len()].copy_from_slice(tuple);
        self.set_u16(DATA_START, offset as u16);
        self.set_slot(slot, offset, tuple.len());
        self.set_u16(FREE, (self.free_space() - tuple.len()) as u16);
        Ok(())
    }

    /// Inserts `cell` at position `index` of the slot array, shifting the slots after it up
    /// by one: the ordered use of a page by index nodes and hash buckets, whose slot numbers
    /// are positions, not stable ids. Every slot of such a page holds a cell.
    pub fn insert_cell(&mut self, index: SlotId, cell: &[u8]) -> Result<()> {
        let count = self.slot_count();
        if index > count {
            return Err(Error::NoSuchTuple {
                page: self.id(),
                slot: index,
            });
        }
        if cell.len() > MAX_TUPLE_LEN || cell.len() + SLOT_LEN > self.free_space() {
            return Err(Error::PageFull {
                page: self.id(),
                needed: cell.len() + SLOT_LEN,
            });
        }
        if self.data_start() - self.slots_end() < cell.len() + SLOT_LEN {
            self.compact();
        }
        let at = HEADER_LEN + index as usize * SLOT_LEN;
        let end = self.slots_end();
        self.bytes.copy_within(at..end, at + SLOT_LEN);
        self.set_u16(SLOTS, count + 1);
        let offset = self.data_start() - cell.len();
        self.bytes[offset..offset + cell.len()].copy_from_slice(cell);
        self.set_u16(DATA_START, offset as u16);
        self.set_slot(index, offset.max(HEADER_LEN), cell.len());
        self.set_u16(TUPLES, self.tuple_count() + 1);
        self.set_u16(FREE, (self.free_space() - cell.len() - SLOT_LEN) as u16);
        Ok(())
    }

    /// Removes the cell at position `index`, shifting the slots after it down by one.
    pub fn remove_cell(&mut self, index: SlotId) -> Result<()> {
        let len = self.tuple_len(index)?;
        let at = HEADER_LEN + index as usize * SLOT_LEN;
        let end = self.slots_end();
        self.bytes.copy_within(at + SLOT_LEN..end, at);
        self.set_u16(SLOTS, self.slot_count() - 1);
        self.set_u16(TUPLES, self.tuple_count() - 1);
        self.set_u16(FREE, (self.free_space() + len + SLOT_LEN) as u16);
        Ok(())
    }

    /// Bytes held by tuples and their slots.
    pub fn used_space(&self) -> usize {
        PAGE_SIZE - HEADER_LEN - self.free_space()
    }

    /// Overwrites `bytes.len()` bytes at `offset` (of the whole page): the field-level change
    /// of a logged byte patch. Only the `next page` field and the body may be patched.
    pub fn patch(&mut self, offset: usize, bytes: &[u8]) -> Result<()> {
        let end = offset + bytes.len();
        let allowed =
            (offset >= NEXT && end <= NEXT + 4) || (offset >= HEADER_LEN && end <= PAGE_SIZE);
        if !allowed {
            return Err(Error::Corrupt {
                file: std::path::PathBuf::new(),
                page: self.id(),
                what: format!("patch of bytes {offset}..{end} outside the patchable fields"),
            });
        }
        self.bytes[offset..end].copy_from_slice(bytes);
        Ok(())
    }

    /// The bytes at `offset` (of the whole page).
    pub fn bytes_at(&self, offset: usize, len: usize) -> &[u8] {
        &self.bytes[offset..offset + len]
    }

    /// The whole page as it stands (checksum not refreshed): what a full-page image logs.
    pub fn image(&self) -> &[u8; PAGE_SIZE] {
        &self.bytes
    }

    /// A page rebuilt from a logged full-page image.
    pub fn from_image(image: &[u8]) -> Option<Page> {
        let bytes: Box<[u8; PAGE_SIZE]> = image.to_vec().into_boxed_slice().try_into().ok()?;
        Some(Page { bytes })
    }

    fn tuple_len(&self, slot: SlotId) -> Result<usize> {
        match self.get(slot) {
            Some(t) => Ok(t.len()),
            None => Err(Error::NoSuchTuple {
                page: self.id(),
                slot,
            }),
        }
    }

    /// Moves every tuple to the end of the page, closing the holes deletes and shrinking
    /// updates left. Slots keep their numbers.
    pub fn compact(&mut self) {
        let mut live: Vec<(SlotId, usize, usize)> = (0..self.slot_count())
            .map(|s| (s, self.slot(s)))
            .filter(|(_, (offset, _))| *offset != 0)
            .map(|(s, (offset, len))| (s, offset, len))
            .collect();
        // Highest first, so each copy moves a tuple up into space already vacated.
        live.sort_by_key(|&(_, offset, _)| std::cmp::Reverse(offset));
        let mut end = PAGE_SIZE;
        for (slot, offset, len) in live {
            if len == 0 {
                self.set_slot(slot, HEADER_LEN, 0);
                continue;
            }
            end -= len;
            self.bytes.copy_within(offset..offset + len, end);
            self.set_slot(slot, end, len);
        }
        self.set_u16(DATA_START, end as u16);
    }

    /// What every page read from disk must satisfy before it is used, checked in one pass:
    /// a known type, the slot array below the data, every tuple inside the data area, counts
    /// and free space that agree. (A page passing its checksum was written by us; this keeps a
    /// damaged one that passes from ever indexing out of bounds.) [`Page::check`] adds that
    /// no two tuples overlap.
    pub fn check_bounds(&self) -> std::result::Result<(), String> {
        if self.page_type().is_none() {
            return Err(format!("unknown page type {}", self.bytes[TYPE]));
        }
        let data_start = self.data_start();
        if self.slots_end() > data_start || data_start > PAGE_SIZE {
            return Err(format!(
                "slot array ({} slots) runs into data at {data_start}",
                self.slot_count()
            ));
        }
        let (mut tuples, mut used) = (0usize, 0usize);
        for s in 0..self.slot_count() {
            let (offset, len) = self.slot(s);
            if offset == 0 {
                continue;
            }
            tuples += 1;
            used += len;
            if len > 0 && (offset < data_start || offset + len > PAGE_SIZE) {
                return Err(format!("slot {s} points outside the data area"));
            }
        }
        if tuples != self.tuple_count() as usize {
            return Err(format!(
                "tuple count {} but {tuples} slots in use",
                self.tuple_count()
            ));
        }
        if used > PAGE_SIZE - self.slots_end()
            || PAGE_SIZE - self.slots_end() - used != self.free_space()
        {
            return Err(format!("free space {} does not add up", self.free_space()));
        }
        Ok(())
    }

    /// Verifies the invariants of the module doc; the reason when one fails.
    pub fn check(&self) -> std::result::Result<(), String> {
        self.check_bounds()?;
        let mut spans: Vec<(usize, usize)> = (0..self.slot_count())
            .map(|s| self.slot(s))
            .filter(|&(offset, len)| offset != 0 && len != 0)
            .map(|(offset, len)| (offset, offset + len))
            .collect();
        spans.sort_unstable();
        if spans.windows(2).any(|w| w[0].1 > w[1].0) {
            return Err("two tuples overlap".into());
        }
        Ok(())
    }

    /// The raw bytes, for the page types that lay out their own body (index nodes, the file
    /// header): everything after the header.
    pub fn body(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..]
    }

    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[HEADER_LEN..]
    }

    /// The little-endian u16 at `at` (of the whole page).
    pub(crate) fn u16_at(&self, at: usize) -> u16 {
        u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]])
    }

    /// The little-endian u32 at `at` (of the whole page).
    pub(crate) fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes([
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ])
    }

    fn set_u16(&mut self, at: usize, v: u16) {
        self.bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn set_u32(&mut self, at: usize, v: u32) {
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn insert_get_delete_update() {
        let mut p = Page::new(3, PageType::Data);
        let a = p.insert(b"alpha").expect("insert");
        let b = p.insert(b"beta").expect("insert");
        assert_eq!(p.get(a), Some(&b"alpha"[..]));
        p.delete(a).expect("delete");
        assert_eq!(p.get(a), None);
        let c = p.insert(b"gamma").expect("insert");
        assert_eq!(c, a, "the empty slot is reused");
        p.update(b, b"a much longer beta").expect("grow");
        assert_eq!(p.get(b), Some(&b"a much longer beta"[..]));
        p.update(b, b"b").expect("shrink");
        assert_eq!(p.get(b), Some(&b"b"[..]));
        p.check().expect("invariants");
    }

    #[test]
    fn fills_to_the_last_byte_and_refuses_more() {
        let mut p = Page::new(1, PageType::Data);
        let big = vec![7u8; MAX_TUPLE_LEN];
        let s = p
            .insert(&big)
            .expect("the largest tuple fits an empty page");
        assert_eq!(p.free_space(), 0);
        assert!(matches!(p.insert(b""), Err(Error::PageFull { .. })));
        p.delete(s).expect("delete");
        assert!(matches!(
            p.insert(&vec![0; MAX_TUPLE_LEN + 1]),
            Err(Error::TupleTooLarge { .. })
        ));
    }

    #[test]
    fn checksum_catches_any_flipped_byte() {
        let mut p = Page::new(9, PageType::Data);
        p.insert(b"payload").expect("insert");
        let bytes = *p.seal();
        for at in [0, 9, 13, 20, 29, 40, PAGE_SIZE - 1] {
            let mut bad = Box::new(bytes);
            bad[at] ^= 0x10;
            assert!(
                Page::from_bytes(bad, 9, std::path::Path::new("f")).is_err(),
                "flip at {at}"
            );
        }
        Page::from_bytes(Box::new(bytes), 9, std::path::Path::new("f")).expect("intact page reads");
        assert!(
            Page::from_bytes(Box::new(bytes), 8, std::path::Path::new("f")).is_err(),
            "wrong id"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Vec<u8>),
        Delete(usize),
        Update(usize, Vec<u8>),
        Compact,
    }

    fn op() -> impl Strategy<Value = Op> {
        let tuple = prop::collection::vec(any::<u8>(), 0..600);
        prop_oneof![
            4 => tuple.clone().prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Delete),
            2 => (any::<usize>(), tuple).prop_map(|(i, t)| Op::Update(i, t)),
            1 => Just(Op::Compact),
        ]
    }

    proptest! {
        #[test]
        fn page_behaves_like_a_map_of_slots(ops in prop::collection::vec(op(), 1..200)) {
            let mut page = Page::new(1, PageType::Data);
            let mut model: BTreeMap<SlotId, Vec<u8>> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(t) => match page.insert(&t) {
                        Ok(slot) => {
                            prop_assert!(model.insert(slot, t).is_none(), "slot {} was in use", slot);
                        }
                        Err(Error::PageFull { .. }) => prop_assert!(!page.fits(t.len())),
                        Err(e) => return Err(TestCaseError::fail(e.to_string())),
                    },
                    Op::Delete(i) if !model.is_empty() => {
                        let slot = *model.keys().nth(i % model.len()).expect("non-empty");
                        page.delete(slot).expect("delete");
                        model.remove(&slot);
                    }
                    Op::Update(i, t) if !model.is_empty() => {
                        let slot = *model.keys().nth(i % model.len()).expect("non-empty");
                        match page.update(slot, &t) {
                            Ok(()) => { model.insert(slot, t); }
                            Err(Error::PageFull { .. }) => {}
                            Err(e) => return Err(TestCaseError::fail(e.to_string())),
                        }
                    }
                    Op::Compact => page.compact(),
                    _ => {}
                }
                prop_assert_eq!(page.check(), Ok(()));
                prop_assert_eq!(page.tuple_count() as usize, model.len());
                for (&slot, t) in &model {
                    prop_assert_eq!(page.get(slot), Some(&t[..]));
                }
            }
            let bytes = *page.seal();
            let back = Page::from_bytes(Box::new(bytes), 1, std::path::Path::new("f")).expect("reads back");
            for (&slot, t) in &model {
                prop_assert_eq!(back.get(slot), Some(&t[..]));
            }
        }
    }
}
