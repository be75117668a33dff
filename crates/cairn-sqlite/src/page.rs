//! B-tree pages: the page header, the cell pointer array and the four kinds of cell.
//!
//! On-disk format of a b-tree page (big-endian; the header starts at byte 100 on page 1,
//! after the database header, and at byte 0 elsewhere):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 1 | type: 2 index interior, 5 table interior, 10 index leaf, 13 table leaf |
//! | 1 | 2 | first freeblock |
//! | 3 | 2 | number of cells |
//! | 5 | 2 | start of the cell content area (0 means 65536) |
//! | 7 | 1 | fragmented free bytes |
//! | 8 | 4 | right-most child (interior pages only) |
//!
//! The header (8 bytes on leaves, 12 on interior pages) is followed by one 2-byte offset per
//! cell, in key order. Cells:
//!
//! * table leaf: payload size (varint), rowid (varint), local payload, overflow page (4 bytes,
//!   only when the payload spills);
//! * table interior: left child (4 bytes), integer key (varint): the largest rowid in the
//!   left subtree;
//! * index leaf: payload size, local payload, overflow page if any;
//! * index interior: left child, payload size, local payload, overflow page if any. Index
//!   interior cells are entries of the index in their own right, between their left subtree
//!   and the next cell's.
//!
//! How much of a payload of P bytes stays on the page, with U usable bytes per page:
//! X = U−35 for table leaves and ((U−12)·64/255)−23 for index pages, M = ((U−12)·32/255)−23.
//! If P ≤ X all of it; otherwise K = M + (P−M) mod (U−4), and K bytes stay if K ≤ X, else M.
//! The rest goes to a chain of overflow pages, each a 4-byte next-page number and U−4 bytes.
//!
//! Every offset read from a page is checked against the page's usable size before use, so
//! a corrupt page yields an error naming it, never a panic or an out-of-bounds read.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::header::HEADER_SIZE;
use crate::record::read_varint;

/// One page as read from the file or the WAL.
#[derive(Debug)]
pub struct PageData {
    number: u32,
    file: Arc<Path>,
    bytes: Box<[u8]>,
}

impl PageData {
    /// Page `number` of `file` with these bytes.
    pub fn with_file(number: u32, file: Arc<Path>, bytes: Box<[u8]>) -> PageData {
        PageData {
            number,
            file,
            bytes,
        }
    }

    #[cfg(test)]
    pub fn new(number: u32, bytes: Box<[u8]>) -> PageData {
        PageData::with_file(number, Arc::from(Path::new("test.db")), bytes)
    }

    /// The page number, from 1.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The page's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The error for something impossible found on this page.
    pub fn corrupt(&self, what: impl Into<String>) -> Error {
        Error::Corrupt {
            file: self.file.to_path_buf(),
            page: self.number,
            what: what.into(),
        }
    }
}

/// The four kinds of b-tree page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    IndexInterior,
    TableInterior,
    IndexLeaf,
    TableLeaf,
}

impl PageKind {
    pub fn is_leaf(self) -> bool {
        matches!(self, PageKind::IndexLeaf | PageKind::TableLeaf)
    }

    pub fn is_table(self) -> bool {
        matches!(self, PageKind::TableInterior | PageKind::TableLeaf)
    }
}

/// Where a cell's payload is: the part on the page and the first overflow page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadRef {
    /// Size of the whole payload.
    pub total: u64,
    /// The bytes on this page.
    pub local: Range<usize>,
    /// First overflow page, 0 when the payload is all local.
    pub overflow: u32,
}

/// A b-tree page with its header parsed and checked.
#[derive(Debug, Clone)]
pub struct BtreePage {
    data: Arc<PageData>,
    kind: PageKind,
    cell_count: usize,
    /// Offset of the cell pointer array.
    pointers: usize,
    right_child: u32,
    usable: usize,
}

impl BtreePage {
    /// Parses the header of a b-tree page of a database with `usable` bytes per page.
    pub fn parse(data: Arc<PageData>, usable: usize) -> Result<BtreePage> {
        let at = if data.number() == 1 { HEADER_SIZE } else { 0 };
        let bytes = data.bytes();
        let kind = match bytes[at] {
            2 => PageKind::IndexInterior,
            5 => PageKind::TableInterior,
            10 => PageKind::IndexLeaf,
            13 => PageKind::TableLeaf,
            other => return Err(data.corrupt(format!("{other} is not a b-tree page type"))),
        };
        let header_len = if kind.is_leaf() { 8 } else { 12 };
        let cell_count = usize::from(u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]));
        let pointers = at + header_len;
        if pointers + 2 * cell_count > usable {
            return Err(data.corrupt(format!(
                "{cell_count} cells do not fit a page of {usable} usable bytes"
            )));
        }
        let right_child = if kind.is_leaf() {
            0
        } else {
            u32::from_be_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]])
        };
        Ok(BtreePage {
            data,
            kind,
            cell_count,
            pointers,
            right_child,
            usable,
        })
    }

    pub fn kind(&self) -> PageKind {
        self.kind
    }

    pub fn number(&self) -> u32 {
        self.data.number()
    }

    pub fn cell_count(&self) -> usize {
        self.cell_count
    }

    pub fn data(&self) -> &Arc<PageData> {
        &self.data
    }

    /// The error for something impossible on this page.
    pub fn corrupt(&self, what: impl Into<String>) -> Error {
        self.data.corrupt(what)
    }

    /// Child `i` of an interior page: the left child of cell `i`, or the right-most child
    /// for `i == cell_count`.
    pub fn child(&self, i: usize) -> Result<u32> {
        let child = if i == self.cell_count {
            self.right_child
        } else {
            let start = self.cell_start(i, 4)?;
            u32::from_be_bytes(self.data.bytes()[start..start + 4].try_into().expect("4"))
        };
        if child == 0 {
            return Err(self.corrupt(format!("child {i} is page 0")));
        }
        Ok(child)
    }

    /// The integer key of cell `i` of a table interior page.
    pub fn table_interior_key(&self, i: usize) -> Result<i64> {
        let start = self.cell_start(i, 5)? + 4;
        let (key, _) = self.varint(start)?;
        Ok(key as i64)
    }

    /// The rowid and payload of cell `i` of a table leaf.
    pub fn table_leaf_cell(&self, i: usize) -> Result<(i64, PayloadRef)> {
        let start = self.cell_start(i, 2)?;
        let (total, len) = self.varint(start)?;
        let (rowid, rowid_len) = self.varint(start + len)?;
        let payload = self.payload(start + len + rowid_len, total)?;
        Ok((rowid as i64, payload))
    }

    /// The rowid of cell `i` of a table leaf, without looking at its payload.
    pub fn table_leaf_rowid(&self, i: usize) -> Result<i64> {
        let start = self.cell_start(i, 2)?;
        let (_, len) = self.varint(start)?;
        Ok(self.varint(start + len)?.0 as i64)
    }

    /// The payload of cell `i` of an index page, leaf or interior.
    pub fn index_cell(&self, i: usize) -> Result<PayloadRef> {
        let skip = if self.kind.is_leaf() { 0 } else { 4 };
        let start = self.cell_start(i, skip + 1)? + skip;
        let (total, len) = self.varint(start)?;
        self.payload(start + len, total)
    }

    /// Offset of cell `i`, checked to leave at least `min_len` bytes before the end of the
    /// usable area.
    #[inline]
    fn cell_start(&self, i: usize, min_len: usize) -> Result<usize> {
        debug_assert!(i < self.cell_count);
        let at = self.pointers + 2 * i;
        let bytes = self.data.bytes();
        let start = usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
        if start < self.pointers + 2 * self.cell_count || start + min_len > self.usable {
            return Err(self.corrupt(format!("cell {i} at offset {start} is out of range")));
        }
        Ok(start)
    }

    #[inline]
    fn varint(&self, at: usize) -> Result<(u64, usize)> {
        read_varint(&self.data.bytes()[at.min(self.usable)..self.usable])
            .ok_or_else(|| self.corrupt(format!("varint at offset {at} runs past the page")))
    }

    /// Where the payload of `total` bytes starting at `at` lives.
    fn payload(&self, at: usize, total: u64) -> Result<PayloadRef> {
        let usable = self.usable as u64;
        let max_local = if self.kind == PageKind::TableLeaf {
            usable - 35
        } else {
            (usable - 12) * 64 / 255 - 23
        };
        let local_len = if total <= max_local {
            total
        } else {
            let min_local = (usable - 12) * 32 / 255 - 23;
            let k = min_local + (total - min_local) % (usable - 4);
            if k <= max_local {
                k
            } else {
                min_local
            }
        } as usize;
        let spills = total > local_len as u64;
        let end = at + local_len + if spills { 4 } else { 0 };
        if end > self.usable {
            return Err(self.corrupt(format!(
                "a {total}-byte payload at offset {at} runs past the page"
            )));
        }
        let overflow = if spills {
            let bytes = &self.data.bytes()[at + local_len..end];
            u32::from_be_bytes(bytes.try_into().expect("4"))
        } else {
            0
        };
        Ok(PayloadRef {
            total,
            local: at..at + local_len,
            overflow,
        })
    }
}
