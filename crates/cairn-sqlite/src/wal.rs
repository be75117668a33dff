//! The `-wal` file of a database in WAL mode: which committed frames hold the newest copy of
//! which page.
//!
//! On-disk format (big-endian integers):
//!
//! * a 32-byte header: magic `0x377f0682` (checksums over little-endian words) or
//!   `0x377f0683` (big-endian words), format version 3007000, page size, checkpoint sequence,
//!   salt-1, salt-2, and a checksum of the first 24 bytes;
//! * then frames, each a 24-byte header — page number, database size in pages after this
//!   frame for a commit frame (0 otherwise), salt-1, salt-2, checksum-1, checksum-2 — and one
//!   page image.
//!
//! The checksums are cumulative: each frame's covers its first 8 header bytes and its page
//! image, starting from the previous frame's (the first from the header's). A frame is valid
//! when its salts equal the header's and its checksum matches; the log ends at the first
//! invalid frame. Only frames up to the last valid commit frame are visible, which is what a
//! SQLite reader opening the database would see. Frames written before the WAL was restarted
//! carry old salts, so they end the log.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

const MAGIC_LE: u32 = 0x377f_0682;
const MAGIC_BE: u32 = 0x377f_0683;
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// The committed content of a WAL file.
#[derive(Debug)]
pub struct WalIndex {
    /// Page number → file offset of the newest committed image of that page.
    pages: HashMap<u32, u64>,
    /// Database size in pages after the last commit.
    pub page_count: u32,
    /// Number of committed frames.
    pub frames: u64,
}

impl WalIndex {
    /// Reads the WAL in `file`, for a database of `page_size`-byte pages. Returns `None` when
    /// the WAL has no valid header or no committed frame: the database file alone is current.
    pub fn read(file: &File, page_size: u32) -> std::io::Result<Option<WalIndex>> {
        let len = file.metadata()?.len();
        if len < WAL_HEADER as u64 {
            return Ok(None);
        }
        let mut header = [0u8; WAL_HEADER];
        file.read_exact_at(&mut header, 0)?;
        let word = |bytes: &[u8], at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let big_endian = match word(&header, 0) {
            MAGIC_LE => false,
            MAGIC_BE => true,
            _ => return Ok(None),
        };
        if word(&header, 8) != page_size || word(&header, 4) != 3_007_000 {
            return Ok(None);
        }
        let mut sum = checksum(big_endian, (0, 0), &header[..24]);
        if sum != (word(&header, 24), word(&header, 28)) {
            return Ok(None);
        }
        let salts = (word(&header, 16), word(&header, 20));

        let frame_size = FRAME_HEADER + page_size as usize;
        let mut frame = vec![0u8; frame_size];
        let mut pending = Vec::new();
        let mut index = WalIndex {
            pages: HashMap::new(),
            page_count: 0,
            frames: 0,
        };
        let mut offset = WAL_HEADER as u64;
        let mut seen = 0u64;
        while offset + frame_size as u64 <= len {
            file.read_exact_at(&mut frame, offset)?;
            let page = word(&frame, 0);
            let commit_size = word(&frame, 4);
            if page == 0 || (word(&frame, 8), word(&frame, 12)) != salts {
                break;
            }
            sum = checksum(big_endian, sum, &frame[..8]);
            sum = checksum(big_endian, sum, &frame[FRAME_HEADER..]);
            if sum != (word(&frame, 16), word(&frame, 20)) {
                break;
            }
            seen += 1;
            pending.push((page, offset + FRAME_HEADER as u64));
            if commit_size != 0 {
                index.pages.extend(pending.drain(..));
                index.page_count = commit_size;
                index.frames = seen;
            }
            offset += frame_size as u64;
        }
        Ok((index.frames > 0).then_some(index))
    }

    /// File offset of the newest committed image of `page`, if the WAL holds one.
    #[inline]
    pub fn page_offset(&self, page: u32) -> Option<u64> {
        self.pages.get(&page).copied()
    }
}

/// SQLite's WAL checksum: over 32-bit words two at a time, `s0 += w0 + s1; s1 += w1 + s0`.
fn checksum(big_endian: bool, (mut s0, mut s1): (u32, u32), bytes: &[u8]) -> (u32, u32) {
    for pair in bytes.chunks_exact(8) {
        let (w0, w1) = if big_endian {
            (
                u32::from_be_bytes([pair[0], pair[1], pair[2], pair[3]]),
                u32::from_be_bytes([pair[4], pair[5], pair[6], pair[7]]),
            )
        } else {
            (
                u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]),
                u32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]),
            )
        };
        s0 = s0.wrapping_add(w0).wrapping_add(s1);
        s1 = s1.wrapping_add(w1).wrapping_add(s0);
    }
    (s0, s1)
}
