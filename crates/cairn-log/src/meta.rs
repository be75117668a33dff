//! `index/metadata.meta`: the checkpoint record that ties the other files together.
//!
//! It is replaced atomically (written to a temporary file, fsynced, renamed over the old one)
//! as the last step of every checkpoint, so at any moment it describes a complete checkpoint:
//! the hash secret, where WAL replay starts, and which segments exist with how many valid bytes.
//!
//! ```text
//! 0    4   magic "CLMT"
//! 4    4   format version 1
//! 8    16  hash seed (SipHash-1-3 key)
//! 24   8   created at (unix ms)
//! 32   8   checkpoint LSN: frames with this LSN or later are replayed
//! 40   4   next segment id
//! 44   4   active segment id
//! 48   4   segment count n
//! 52   n × 24: segment id u32, valid length u64, record count u32, dead bytes u64
//! ..   4   CRC32C of every byte before it
//! ```

use std::path::Path;

use cairn_fs::Fs;

use crate::error::{Error, IoContext, Result};
use crate::hash::HashSeed;

const MAGIC: [u8; 4] = *b"CLMT";
const VERSION: u32 = 1;
const FIXED_LEN: usize = 52;
const SEGMENT_LEN: usize = 24;

/// A segment as the checkpoint knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    pub id: u32,
    pub len: u64,
    pub records: u32,
    pub dead: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub seed: HashSeed,
    pub created_ms: u64,
    pub checkpoint_lsn: u64,
    pub next_segment_id: u32,
    pub active_segment: u32,
    pub segments: Vec<SegmentMeta>,
}

impl Meta {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN + self.segments.len() * SEGMENT_LEN + 4);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.seed.0);
        out.extend_from_slice(&self.created_ms.to_le_bytes());
        out.extend_from_slice(&self.checkpoint_lsn.to_le_bytes());
        out.extend_from_slice(&self.next_segment_id.to_le_bytes());
        out.extend_from_slice(&self.active_segment.to_le_bytes());
        out.extend_from_slice(&(self.segments.len() as u32).to_le_bytes());
        for s in &self.segments {
            out.extend_from_slice(&s.id.to_le_bytes());
            out.extend_from_slice(&s.len.to_le_bytes());
            out.extend_from_slice(&s.records.to_le_bytes());
            out.extend_from_slice(&s.dead.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8], path: &Path) -> Result<Meta> {
        let corrupt = |at: usize, what: &str| Error::corrupt(path, at as u64, what);
        if bytes.len() < FIXED_LEN + 4 {
            return Err(corrupt(bytes.len(), "metadata truncated"));
        }
        if bytes[0..4] != MAGIC {
            return Err(Error::Format {
                file: path.into(),
                what: "bad metadata magic".into(),
            });
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let u32_at =
            |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&body[at..at + 8]);
            u64::from_le_bytes(b)
        };
        if crc32c::crc32c(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(corrupt(body.len(), "metadata checksum mismatch"));
        }
        let version = u32_at(4);
        if version != VERSION {
            return Err(Error::Format {
                file: path.into(),
                what: format!("metadata format version {version}, expected {VERSION}"),
            });
        }
        let count = u32_at(48) as usize;
        if body.len() != FIXED_LEN + count * SEGMENT_LEN {
            return Err(corrupt(
                48,
                "metadata segment count disagrees with its length",
            ));
        }
        let mut seed = [0u8; 16];
        seed.copy_from_slice(&body[8..24]);
        let segments = (0..count)
            .map(|i| {
                let at = FIXED_LEN + i * SEGMENT_LEN;
                SegmentMeta {
                    id: u32_at(at),
                    len: u64_at(at + 4),
                    records: u32_at(at + 12),
                    dead: u64_at(at + 16),
                }
            })
            .collect();
        Ok(Meta {
            seed: HashSeed(seed),
            created_ms: u64_at(24),
            checkpoint_lsn: u64_at(32),
            next_segment_id: u32_at(40),
            active_segment: u32_at(44),
            segments,
        })
    }

    pub fn read(path: &Path) -> Result<Meta> {
        Meta::decode(&std::fs::read(path).at(path)?, path)
    }
}

/// Replaces `path` with `bytes` atomically and durably: temporary file, fsync, rename, fsync
/// of the directory.
pub(crate) fn write_atomically(fs: &Fs, path: &Path, bytes: &[u8]) -> Result<()> {
    fs.write_atomically(path, bytes).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Meta {
        Meta {
            seed: HashSeed([7; 16]),
            created_ms: 1,
            checkpoint_lsn: 99,
            next_segment_id: 4,
            active_segment: 3,
            segments: vec![
                SegmentMeta {
                    id: 1,
                    len: 640,
                    records: 3,
                    dead: 10,
                },
                SegmentMeta {
                    id: 3,
                    len: 64,
                    records: 0,
                    dead: 0,
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        assert_eq!(
            Meta::decode(&m.encode(), Path::new("m")).expect("decodes"),
            m
        );
    }

    #[test]
    fn any_flip_is_reported() {
        let bytes = sample().encode();
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            assert!(Meta::decode(&bad, Path::new("m")).is_err(), "flip at {at}");
        }
    }
}
