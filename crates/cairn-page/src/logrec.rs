//! The log records of cairn-page: what each kind means and how its body is laid out.
//!
//! Changes are *physiological*: they name a page and say what happens inside it. Every change
//! can be redone from its record alone (repeating history); how it is undone depends on the
//! record that carries it:
//!
//! * a heap change (`Change` record) is undone physically, by its inverse on the same page and
//!   slot: a tuple never leaves its slot;
//! * an index change (`Index` record) is undone *logically*: the entry is removed from (or put
//!   back into) the index by a new search from its root, because a split or merge by another
//!   transaction may have moved it to another page since;
//! * structure changes (page allocation and free, splits and merges, full-page images) are
//!   `Redo` records of no transaction: never undone, and atomic because one record holds every
//!   page the change touches (a split's two halves and its parent together).
//!
//! ```text
//! kind  record      txn   body (little-endian)
//! 1     Begin       yes   -
//! 2     Commit      yes   -
//! 3     Abort       yes   -
//! 4     End         yes   -
//! 10    Change      yes   change
//! 11    Clr         yes   undo-next LSN u64, change: the compensation an undo performed;
//!                         redo-only, and undo continues at undo-next
//! 12    Redo        no    changes, each as length u32 + change; redo-only
//! 13    Index       yes   index kind u8 (1 B+tree, 2 hash), root page u32, change
//! 14    Checkpoint  no    redo LSN u64, next transaction id u64
//!
//! change: tag u8, page u32, then
//!   0   Insert      slot u16, tuple
//!   1   Delete      slot u16, old tuple
//!   2   Update      slot u16, old length u32, old tuple, new tuple
//!   3   Format      page type u8: the page is now empty of that type (no undo)
//!   4   Image       8192 bytes: the whole page (no undo)
//!   5   Patch       offset u16, length u16, old bytes, new bytes
//!   6   CellInsert  position u16, cell: into an ordered page, shifting the cells after it
//!   7   CellRemove  position u16, old cell
//! ```

use crate::error::{Error, Result};
use crate::page::{Page, PageId, PageType, SlotId, PAGE_SIZE};
use crate::wal::{LogRecord, Lsn, TxnId};

pub(crate) const BEGIN: u8 = 1;
pub(crate) const COMMIT: u8 = 2;
pub(crate) const ABORT: u8 = 3;
pub(crate) const END: u8 = 4;
pub(crate) const CHANGE: u8 = 10;
pub(crate) const CLR: u8 = 11;
pub(crate) const REDO: u8 = 12;
pub(crate) const INDEX: u8 = 13;
pub(crate) const CHECKPOINT: u8 = 14;

/// The index structures whose changes are undone logically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum IndexKind {
    BTree = 1,
    Hash = 2,
}

/// A change to one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Insert {
        page: PageId,
        slot: SlotId,
        tuple: Vec<u8>,
    },
    Delete {
        page: PageId,
        slot: SlotId,
        old: Vec<u8>,
    },
    Update {
        page: PageId,
        slot: SlotId,
        old: Vec<u8>,
        new: Vec<u8>,
    },
    Format {
        page: PageId,
        page_type: PageType,
    },
    Image {
        page: PageId,
        bytes: Box<[u8]>,
    },
    Patch {
        page: PageId,
        offset: u16,
        old: Vec<u8>,
        new: Vec<u8>,
    },
    CellInsert {
        page: PageId,
        index: SlotId,
        cell: Vec<u8>,
    },
    CellRemove {
        page: PageId,
        index: SlotId,
        cell: Vec<u8>,
    },
}

impl Change {
    /// The full-page image of `page` as it stands.
    pub fn image_of(page: &Page) -> Change {
        Change::Image {
            page: page.id(),
            bytes: page.image().to_vec().into_boxed_slice(),
        }
    }

    pub fn page(&self) -> PageId {
        match self {
            Change::Insert { page, .. }
            | Change::Delete { page, .. }
            | Change::Update { page, .. }
            | Change::Format { page, .. }
            | Change::Image { page, .. }
            | Change::Patch { page, .. }
            | Change::CellInsert { page, .. }
            | Change::CellRemove { page, .. } => *page,
        }
    }

    /// Whether redoing the change replaces the whole page, so the old copy need not be read
    /// (nor be readable: this is how a torn page is repaired).
    pub fn overwrites(&self) -> bool {
        matches!(self, Change::Format { .. } | Change::Image { .. })
    }

    /// The change that undoes this one physically; `None` for the redo-only changes.
    pub fn inverse(&self) -> Option<Change> {
        Some(match self {
            Change::Insert { page, slot, tuple } => Change::Delete {
                page: *page,
                slot: *slot,
                old: tuple.clone(),
            },
            Change::Delete { page, slot, old } => Change::Insert {
                page: *page,
                slot: *slot,
                tuple: old.clone(),
            },
            Change::Update {
                page,
                slot,
                old,
                new,
            } => Change::Update {
                page: *page,
                slot: *slot,
                old: new.clone(),
                new: old.clone(),
            },
            Change::Patch {
                page,
                offset,
                old,
                new,
            } => Change::Patch {
                page: *page,
                offset: *offset,
                old: new.clone(),
                new: old.clone(),
            },
            Change::CellInsert { page, index, cell } => Change::CellRemove {
                page: *page,
                index: *index,
                cell: cell.clone(),
            },
            Change::CellRemove { page, index, cell } => Change::CellInsert {
                page: *page,
                index: *index,
                cell: cell.clone(),
            },
            Change::Format { .. } | Change::Image { .. } => return None,
        })
    }

    /// Applies the change to `page` (normal operation, redo and undo alike).
    pub fn apply(&self, page: &mut Page) -> Result<()> {
        match self {
            Change::Insert { slot, tuple, .. } => page.insert_at(*slot, tuple),
            Change::Delete { slot, .. } => page.delete(*slot),
            Change::Update { slot, new, .. } => page.update(*slot, new),
            Change::Format {
                page: id,
                page_type,
            } => {
                *page = Page::new(*id, *page_type);
                Ok(())
            }
            Change::Image { page: id, bytes } => {
                *page = Page::from_image(bytes).ok_or(Error::BadLogRecord {
                    lsn: 0,
                    what: format!("image of page {id} is not a page"),
                })?;
                Ok(())
            }
            Change::Patch {
                offset, old, new, ..
            } => {
                if page.bytes_at(*offset as usize, old.len()) != &old[..] {
                    // Redo reaches a patch only when the page predates it, so the old bytes
                    // must be there: anything else means the log and the page disagree.
                    return Err(Error::BadLogRecord {
                        lsn: page.lsn(),
                        what: format!("patch of page {} at {offset} finds other bytes", page.id()),
                    });
                }
                page.patch(*offset as usize, new)
            }
            Change::CellInsert { index, cell, .. } => page.insert_cell(*index, cell),
            Change::CellRemove { index, .. } => page.remove_cell(*index),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let (tag, page) = match self {
            Change::Insert { page, .. } => (0, page),
            Change::Delete { page, .. } => (1, page),
            Change::Update { page, .. } => (2, page),
            Change::Format { page, .. } => (3, page),
            Change::Image { page, .. } => (4, page),
            Change::Patch { page, .. } => (5, page),
            Change::CellInsert { page, .. } => (6, page),
            Change::CellRemove { page, .. } => (7, page),
        };
        out.push(tag);
        out.extend_from_slice(&page.to_le_bytes());
        match self {
            Change::Insert { slot, tuple: b, .. }
            | Change::Delete { slot, old: b, .. }
            | Change::CellInsert {
                index: slot,
                cell: b,
                ..
            }
            | Change::CellRemove {
                index: slot,
                cell: b,
                ..
            } => {
                out.extend_from_slice(&slot.to_le_bytes());
                out.extend_from_slice(b);
            }
            Change::Update { slot, old, new, .. } => {
                out.extend_from_slice(&slot.to_le_bytes());
                out.extend_from_slice(&(old.len() as u32).to_le_bytes());
                out.extend_from_slice(old);
                out.extend_from_slice(new);
            }
            Change::Format { page_type, .. } => out.push(*page_type as u8),
            Change::Image { bytes, .. } => out.extend_from_slice(bytes),
            Change::Patch {
                offset, old, new, ..
            } => {
                out.extend_from_slice(&offset.to_le_bytes());
                out.extend_from_slice(&(old.len() as u16).to_le_bytes());
                out.extend_from_slice(old);
                out.extend_from_slice(new);
            }
        }
    }

    pub fn decode(lsn: Lsn, body: &[u8]) -> Result<Change> {
        let mut r = Reader { lsn, rest: body };
        let tag = r.u8()?;
        let page = r.u32()?;
        Ok(match tag {
            0..=2 | 6 | 7 => {
                let slot = r.u16()?;
                match tag {
                    0 => Change::Insert {
                        page,
                        slot,
                        tuple: r.rest(),
                    },
                    1 => Change::Delete {
                        page,
                        slot,
                        old: r.rest(),
                    },
                    2 => {
                        let n = r.u32()? as usize;
                        let old = r.take(n)?.to_vec();
                        Change::Update {
                            page,
                            slot,
                            old,
                            new: r.rest(),
                        }
                    }
                    6 => Change::CellInsert {
                        page,
                        index: slot,
                        cell: r.rest(),
                    },
                    _ => Change::CellRemove {
                        page,
                        index: slot,
                        cell: r.rest(),
                    },
                }
            }
            3 => {
                let t = r.u8()?;
                let page_type = PageType::from_byte(t).ok_or_else(|| r.bad("unknown page type"))?;
                Change::Format { page, page_type }
            }
            4 => {
                let bytes = r.rest();
                if bytes.len() != PAGE_SIZE {
                    return Err(r.bad("page image of the wrong size"));
                }
                Change::Image {
                    page,
                    bytes: bytes.into_boxed_slice(),
                }
            }
            5 => {
                let offset = r.u16()?;
                let n = r.u16()? as usize;
                let old = r.take(n)?.to_vec();
                let new = r.rest();
                if new.len() != n {
                    return Err(r.bad("patch whose old and new lengths differ"));
                }
                Change::Patch {
                    page,
                    offset,
                    old,
                    new,
                }
            }
            _ => return Err(r.bad("unknown change")),
        })
    }
}

/// A decoded log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    Begin,
    Commit,
    Abort,
    End,
    Change(Change),
    Clr {
        undo_next: Lsn,
        change: Change,
    },
    Redo(Vec<Change>),
    Index {
        kind: IndexKind,
        root: PageId,
        change: Change,
    },
    Checkpoint {
        redo: Lsn,
        next_txn: TxnId,
    },
}

impl Entry {
    /// The record kind and body of the entry.
    pub fn encode(&self) -> (u8, Vec<u8>) {
        let mut body = Vec::new();
        let kind = match self {
            Entry::Begin => BEGIN,
            Entry::Commit => COMMIT,
            Entry::Abort => ABORT,
            Entry::End => END,
            Entry::Change(c) => {
                c.encode(&mut body);
                CHANGE
            }
            Entry::Clr { undo_next, change } => {
                body.extend_from_slice(&undo_next.to_le_bytes());
                change.encode(&mut body);
                CLR
            }
            Entry::Redo(changes) => {
                for c in changes {
                    let at = body.len();
                    body.extend_from_slice(&[0; 4]);
                    c.encode(&mut body);
                    let len = (body.len() - at - 4) as u32;
                    body[at..at + 4].copy_from_slice(&len.to_le_bytes());
                }
                REDO
            }
            Entry::Index { kind, root, change } => {
                body.push(*kind as u8);
                body.extend_from_slice(&root.to_le_bytes());
                change.encode(&mut body);
                INDEX
            }
            Entry::Checkpoint { redo, next_txn } => {
                body.extend_from_slice(&redo.to_le_bytes());
                body.extend_from_slice(&next_txn.to_le_bytes());
                CHECKPOINT
            }
        };
        (kind, body)
    }

    pub fn decode(rec: &LogRecord) -> Result<Entry> {
        let mut r = Reader {
            lsn: rec.lsn,
            rest: &rec.body,
        };
        Ok(match rec.kind {
            BEGIN => Entry::Begin,
            COMMIT => Entry::Commit,
            ABORT => Entry::Abort,
            END => Entry::End,
            CHANGE => Entry::Change(Change::decode(rec.lsn, &rec.body)?),
            CLR => {
                let undo_next = r.u64()?;
                Entry::Clr {
                    undo_next,
                    change: Change::decode(rec.lsn, r.rest)?,
                }
            }
            REDO => {
                let mut changes = Vec::new();
                while !r.rest.is_empty() {
                    let n = r.u32()? as usize;
                    changes.push(Change::decode(rec.lsn, r.take(n)?)?);
                }
                Entry::Redo(changes)
            }
            INDEX => {
                let kind = match r.u8()? {
                    1 => IndexKind::BTree,
                    2 => IndexKind::Hash,
                    _ => return Err(r.bad("unknown index kind")),
                };
                let root = r.u32()?;
                Entry::Index {
                    kind,
                    root,
                    change: Change::decode(rec.lsn, r.rest)?,
                }
            }
            CHECKPOINT => Entry::Checkpoint {
                redo: r.u64()?,
                next_txn: r.u64()?,
            },
            _ => return Err(r.bad("unknown record kind")),
        })
    }

    /// The changes redo repeats, whatever the record's transaction.
    pub fn redo_changes(&self) -> &[Change] {
        match self {
            Entry::Change(c) | Entry::Clr { change: c, .. } | Entry::Index { change: c, .. } => {
                std::slice::from_ref(c)
            }
            Entry::Redo(changes) => changes,
            _ => &[],
        }
    }
}

/// Reads the fields of a record body, naming the record in errors.
struct Reader<'a> {
    lsn: Lsn,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bad(&self, what: &str) -> Error {
        Error::BadLogRecord {
            lsn: self.lsn,
            what: what.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(self.bad("truncated body"));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.rest).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes() -> Vec<Change> {
        vec![
            Change::Insert {
                page: 3,
                slot: 1,
                tuple: b"abc".to_vec(),
            },
            Change::Delete {
                page: 4,
                slot: 0,
                old: b"".to_vec(),
            },
            Change::Update {
                page: 5,
                slot: 9,
                old: b"old".to_vec(),
                new: b"newer".to_vec(),
            },
            Change::Format {
                page: 6,
                page_type: PageType::Data,
            },
            Change::image_of(&Page::new(7, PageType::Index)),
            Change::Patch {
                page: 8,
                offset: 40,
                old: vec![1, 2],
                new: vec![3, 4],
            },
            Change::CellInsert {
                page: 9,
                index: 2,
                cell: b"cell".to_vec(),
            },
            Change::CellRemove {
                page: 9,
                index: 0,
                cell: b"gone".to_vec(),
            },
        ]
    }

    #[test]
    fn changes_round_trip_and_invert() {
        for c in changes() {
            let mut buf = Vec::new();
            c.encode(&mut buf);
            assert_eq!(Change::decode(1, &buf).expect("decodes"), c);
            if let Some(inv) = c.inverse() {
                assert_eq!(inv.inverse(), Some(c.clone()));
            }
        }
        assert!(Change::decode(1, &[9, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Change::decode(1, &[2, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0]).is_err());
        assert!(Change::decode(1, &[4, 0, 0, 0, 0, 1, 2]).is_err());
    }

    #[test]
    fn entries_round_trip() {
        let entries = [
            Entry::Begin,
            Entry::Redo(changes()),
            Entry::Index {
                kind: IndexKind::Hash,
                root: 12,
                change: changes().remove(6),
            },
            Entry::Clr {
                undo_next: 77,
                change: changes().remove(0),
            },
            Entry::Checkpoint {
                redo: 1234,
                next_txn: 99,
            },
        ];
        for e in entries {
            let (kind, body) = e.encode();
            let rec = LogRecord {
                lsn: 5,
                prev_lsn: 0,
                txn: 1,
                kind,
                body,
            };
            assert_eq!(Entry::decode(&rec).expect("decodes"), e);
        }
    }
}
