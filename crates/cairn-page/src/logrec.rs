//! The log records of cairn-page: what each kind means and how its body is laid out.
//!
//! Changes are *physiological*: they name a page and a slot, and say what happens inside the
//! page. Every change can be redone from its record alone (repeating history) and undone from
//! it (its before-image), so ARIES needs nothing else.
//!
//! ```text
//! kind  record      body (little-endian)
//! 1     Begin       -
//! 2     Commit      -
//! 3     Abort       -
//! 4     End         -
//! 10    Change      change (below)
//! 11    Clr         undo-next LSN u64, then a change: the compensation an undo performed;
//!                   redo-only, and undo skips to undo-next
//! change:
//!   0   Insert      page u32, slot u16, tuple
//!   1   Delete      page u32, slot u16, old tuple
//!   2   Update      page u32, slot u16, old length u32, old tuple, new tuple
//!   3   Format      page u32, page type u8: the page was (re)allocated empty; redo-only
//! ```

use crate::error::{Error, Result};
use crate::page::{PageId, PageType, SlotId};
use crate::wal::{LogRecord, Lsn};

pub(crate) const BEGIN: u8 = 1;
pub(crate) const COMMIT: u8 = 2;
pub(crate) const ABORT: u8 = 3;
pub(crate) const END: u8 = 4;
pub(crate) const CHANGE: u8 = 10;
pub(crate) const CLR: u8 = 11;

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
}

impl Change {
    pub fn page(&self) -> PageId {
        match self {
            Change::Insert { page, .. }
            | Change::Delete { page, .. }
            | Change::Update { page, .. }
            | Change::Format { page, .. } => *page,
        }
    }

    /// The change that undoes this one; `None` for redo-only changes.
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
            Change::Format { .. } => return None,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Change::Insert { page, slot, tuple } => {
                out.push(0);
                out.extend_from_slice(&page.to_le_bytes());
                out.extend_from_slice(&slot.to_le_bytes());
                out.extend_from_slice(tuple);
            }
            Change::Delete { page, slot, old } => {
                out.push(1);
                out.extend_from_slice(&page.to_le_bytes());
                out.extend_from_slice(&slot.to_le_bytes());
                out.extend_from_slice(old);
            }
            Change::Update {
                page,
                slot,
                old,
                new,
            } => {
                out.push(2);
                out.extend_from_slice(&page.to_le_bytes());
                out.extend_from_slice(&slot.to_le_bytes());
                out.extend_from_slice(&(old.len() as u32).to_le_bytes());
                out.extend_from_slice(old);
                out.extend_from_slice(new);
            }
            Change::Format { page, page_type } => {
                out.push(3);
                out.extend_from_slice(&page.to_le_bytes());
                out.push(*page_type as u8);
            }
        }
    }

    pub fn decode(lsn: Lsn, body: &[u8]) -> Result<Change> {
        let bad = |what: &str| Error::BadLogRecord {
            lsn,
            what: what.into(),
        };
        let (&tag, rest) = body.split_first().ok_or_else(|| bad("empty change"))?;
        let page = u32::from_le_bytes(
            rest.get(0..4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("truncated page"))?,
        );
        if tag == 3 {
            let t = *rest.get(4).ok_or_else(|| bad("truncated page type"))?;
            let page_type = PageType::from_byte(t).ok_or_else(|| bad("unknown page type"))?;
            return Ok(Change::Format { page, page_type });
        }
        let slot = u16::from_le_bytes(
            rest.get(4..6)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("truncated slot"))?,
        );
        let data = &rest[6..];
        Ok(match tag {
            0 => Change::Insert {
                page,
                slot,
                tuple: data.to_vec(),
            },
            1 => Change::Delete {
                page,
                slot,
                old: data.to_vec(),
            },
            2 => {
                let n = u32::from_le_bytes(
                    data.get(0..4)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| bad("truncated update"))?,
                ) as usize;
                let old = data
                    .get(4..4 + n)
                    .ok_or_else(|| bad("truncated old tuple"))?;
                Change::Update {
                    page,
                    slot,
                    old: old.to_vec(),
                    new: data[4 + n..].to_vec(),
                }
            }
            _ => return Err(bad("unknown change")),
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
    Clr { undo_next: Lsn, change: Change },
}

impl Entry {
    pub fn decode(r: &LogRecord) -> Result<Entry> {
        let bad = |what: &str| Error::BadLogRecord {
            lsn: r.lsn,
            what: what.into(),
        };
        Ok(match r.kind {
            BEGIN => Entry::Begin,
            COMMIT => Entry::Commit,
            ABORT => Entry::Abort,
            END => Entry::End,
            CHANGE => Entry::Change(Change::decode(r.lsn, &r.body)?),
            CLR => {
                let undo_next = u64::from_le_bytes(
                    r.body
                        .get(0..8)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| bad("truncated CLR"))?,
                );
                Entry::Clr {
                    undo_next,
                    change: Change::decode(r.lsn, &r.body[8..])?,
                }
            }
            _ => return Err(bad("unknown record kind")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_and_invert() {
        let changes = [
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
        ];
        for c in changes {
            let mut buf = Vec::new();
            c.encode(&mut buf);
            assert_eq!(Change::decode(1, &buf).expect("decodes"), c);
            if let Some(inv) = c.inverse() {
                assert_eq!(inv.inverse(), Some(c.clone()));
            }
        }
        assert!(Change::decode(1, &[9, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Change::decode(1, &[2, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0]).is_err());
    }
}
