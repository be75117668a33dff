//! The record: one key's write, as it sits in a segment and in the WAL.
//!
//! ```text
//! offset  size  field
//! 0       4     record_len   u32  bytes of the whole record, this field and the CRC included
//! 4       8     key_hash     u64  keyed hash of the key (see hash.rs)
//! 12      1     flags        u8   bit 0: tombstone, bit 1: value is LZ4-compressed
//! 13      4     key_len      u32
//! 17      4     value_len    u32  stored bytes of the value (0 for a tombstone)
//! 21      8     expires_at   u64  unix time in milliseconds; 0 means never
//! 29      key_len              key
//! ..      value_len            value; when compressed, an LZ4 block preceded by its
//!                              uncompressed length (u32)
//! ..      4     crc32c       u32  CRC32C of every byte before it
//! ```
//!
//! All integers are little-endian. The first three fields are the seed's "size, hash, data";
//! the rest is the seed's serialised data made explicit. A record is valid only if its length
//! fields agree with `record_len` and the CRC matches: a reader never returns bytes that fail
//! either check.

use crate::{MAX_KEY_LEN, MAX_VALUE_LEN};

pub(crate) const HEADER_LEN: usize = 29;
pub(crate) const CRC_LEN: usize = 4;
/// Bytes a record takes besides its key and stored value.
pub(crate) const OVERHEAD: usize = HEADER_LEN + CRC_LEN;

const FLAG_TOMBSTONE: u8 = 1;
const FLAG_LZ4: u8 = 2;
const KNOWN_FLAGS: u8 = FLAG_TOMBSTONE | FLAG_LZ4;

/// Values shorter than this are stored as they are: LZ4 cannot win enough to pay for itself.
const COMPRESS_MIN_LEN: usize = 64;

/// Whether a record of `len` bytes (header, key, value and CRC) stores fewer than
/// [`COMPRESS_MIN_LEN`] value bytes, whatever its key: so few that, stored uncompressed,
/// copying them out of the segment costs less than a cache probe.
pub(crate) fn is_small(len: u64) -> bool {
    len < (OVERHEAD + COMPRESS_MIN_LEN) as u64
}

/// Appends a put record to `out`, compressing the value when that makes it smaller. The
/// value is compressed straight into `out`, so a large value costs one buffer, not two.
pub(crate) fn encode_put(hash: u64, key: &[u8], value: &[u8], expires_at: u64, out: &mut Vec<u8>) {
    if value.len() >= COMPRESS_MIN_LEN {
        let start = out.len();
        let block_at = start + HEADER_LEN + key.len() + 4;
        let bound = lz4_flex::block::get_maximum_output_size(value.len());
        out.reserve(HEADER_LEN + key.len() + 4 + bound + CRC_LEN);
        out.resize(block_at, 0);
        out[start + HEADER_LEN..start + HEADER_LEN + key.len()].copy_from_slice(key);
        out[block_at - 4..block_at].copy_from_slice(&(value.len() as u32).to_le_bytes());
        out.resize(block_at + bound, 0);
        let compressed = lz4_flex::block::compress_into(value, &mut out[block_at..]);
        match compressed {
            Ok(n) if 4 + n < value.len() => {
                out.truncate(block_at + n);
                let stored = 4 + n;
                let len = OVERHEAD + key.len() + stored;
                let header = &mut out[start..start + HEADER_LEN];
                header[0..4].copy_from_slice(&(len as u32).to_le_bytes());
                header[4..12].copy_from_slice(&hash.to_le_bytes());
                header[12] = FLAG_LZ4;
                header[13..17].copy_from_slice(&(key.len() as u32).to_le_bytes());
                header[17..21].copy_from_slice(&(stored as u32).to_le_bytes());
                header[21..29].copy_from_slice(&expires_at.to_le_bytes());
                let crc = crc32c::crc32c(&out[start..]);
                out.extend_from_slice(&crc.to_le_bytes());
                return;
            }
            _ => out.truncate(start),
        }
    }
    encode(hash, 0, key, value, expires_at, out);
}

/// Appends a tombstone (the record of a delete) to `out`.
pub(crate) fn encode_tombstone(hash: u64, key: &[u8], out: &mut Vec<u8>) {
    encode(hash, FLAG_TOMBSTONE, key, &[], 0, out);
}

fn encode(hash: u64, flags: u8, key: &[u8], stored: &[u8], expires_at: u64, out: &mut Vec<u8>) {
    debug_assert!(key.len() <= MAX_KEY_LEN);
    let start = out.len();
    let len = OVERHEAD + key.len() + stored.len();
    out.reserve(len);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&hash.to_le_bytes());
    out.push(flags);
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    out.extend_from_slice(&expires_at.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(stored);
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    Truncated,
    BadLength(u64),
    BadChecksum,
    UnknownFlags(u8),
    BadValue,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Truncated => write!(f, "record truncated"),
            Invalid::BadLength(n) => write!(f, "record length {n} is impossible"),
            Invalid::BadChecksum => write!(f, "record checksum mismatch"),
            Invalid::UnknownFlags(x) => write!(f, "record has unknown flags {x:#04x}"),
            Invalid::BadValue => write!(f, "compressed value does not decode"),
        }
    }
}

/// Reads the `record_len` field at the start of `bytes`, checking it is plausible.
pub(crate) fn peek_len(bytes: &[u8]) -> Result<usize, Invalid> {
    let len = u32_at(bytes, 0).ok_or(Invalid::Truncated)? as usize;
    if !(OVERHEAD..=OVERHEAD + MAX_KEY_LEN + MAX_VALUE_LEN + 16).contains(&len) {
        return Err(Invalid::BadLength(len as u64));
    }
    Ok(len)
}

/// The key of the record `bytes` begins with, read without checking the CRC or the other
/// length fields: only for the writer's "is this index entry my key's?" test, which goes on
/// to a checked read whenever this answer is not a match.
pub(crate) fn peek_key(bytes: &[u8]) -> Option<&[u8]> {
    let key_len = u32_at(bytes, 13)? as usize;
    bytes.get(HEADER_LEN..HEADER_LEN.checked_add(key_len)?)
}

/// Whether the encoded record `bytes` stores its value compressed (unchecked, like
/// [`peek_key`]).
pub(crate) fn peek_compressed(bytes: &[u8]) -> bool {
    bytes.get(12).is_some_and(|flags| flags & FLAG_LZ4 != 0)
}

/// A checked view of one record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub hash: u64,
    pub flags: u8,
    pub expires_at: u64,
    pub key: &'a [u8],
    stored: &'a [u8],
}

impl<'a> Record<'a> {
    /// Parses the record at the start of `bytes` (which may go on past it), verifying lengths
    /// and the checksum. Returns the record and its length.
    pub fn parse(bytes: &'a [u8]) -> Result<(Record<'a>, usize), Invalid> {
        let len = peek_len(bytes)?;
        let body = bytes.get(..len).ok_or(Invalid::Truncated)?;
        let (covered, crc) = body.split_at(len - CRC_LEN);
        let crc = u32::from_le_bytes(crc.try_into().map_err(|_| Invalid::Truncated)?);
        if crc32c::crc32c(covered) != crc {
            return Err(Invalid::BadChecksum);
        }
        let hash = u64_at(body, 4).ok_or(Invalid::Truncated)?;
        let flags = *body.get(12).ok_or(Invalid::Truncated)?;
        let key_len = u32_at(body, 13).ok_or(Invalid::Truncated)? as usize;
        let value_len = u32_at(body, 17).ok_or(Invalid::Truncated)? as usize;
        let expires_at = u64_at(body, 21).ok_or(Invalid::Truncated)?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(Invalid::UnknownFlags(flags));
        }
        if OVERHEAD + key_len + value_len != len || key_len > MAX_KEY_LEN {
            return Err(Invalid::BadLength(len as u64));
        }
        let key = &body[HEADER_LEN..HEADER_LEN + key_len];
        let stored = &body[HEADER_LEN + key_len..HEADER_LEN + key_len + value_len];
        Ok((
            Record {
                hash,
                flags,
                expires_at,
                key,
                stored,
            },
            len,
        ))
    }

    /// Bytes of the value as stored (compressed or not).
    pub fn stored_len(&self) -> usize {
        self.stored.len()
    }

    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_LZ4 != 0
    }

    /// The value as stored: compressed if [`Record::is_compressed`].
    pub fn stored(&self) -> &'a [u8] {
        self.stored
    }

    pub fn is_tombstone(&self) -> bool {
        self.flags & FLAG_TOMBSTONE != 0
    }

    /// Whether the record's expiry time has passed at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at != 0 && self.expires_at <= now_ms
    }

    /// Appends the value, decompressed if it was stored compressed, to `out`.
    pub fn value_into(&self, out: &mut Vec<u8>) -> Result<(), Invalid> {
        if self.flags & FLAG_LZ4 == 0 {
            out.extend_from_slice(self.stored);
            return Ok(());
        }
        let raw_len = u32_at(self.stored, 0).ok_or(Invalid::BadValue)? as usize;
        if raw_len > MAX_VALUE_LEN {
            return Err(Invalid::BadValue);
        }
        let start = out.len();
        out.resize(start + raw_len, 0);
        match lz4_flex::decompress_into(&self.stored[4..], &mut out[start..]) {
            Ok(n) if n == raw_len => Ok(()),
            _ => {
                out.truncate(start);
                Err(Invalid::BadValue)
            }
        }
    }

    /// The value, decompressed if it was stored compressed.
    #[cfg(test)]
    pub fn value(&self) -> Result<Vec<u8>, Invalid> {
        if self.flags & FLAG_LZ4 == 0 {
            return Ok(self.stored.to_vec());
        }
        let raw_len = u32_at(self.stored, 0).ok_or(Invalid::BadValue)? as usize;
        if raw_len > MAX_VALUE_LEN {
            return Err(Invalid::BadValue);
        }
        lz4_flex::decompress_size_prepended(self.stored).map_err(|_| Invalid::BadValue)
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_round_trips_with_and_without_compression() {
        for value in [b"short".to_vec(), vec![b'a'; 1000], (0..=255u8).collect()] {
            let mut buf = Vec::new();
            encode_put(42, b"key", &value, 7, &mut buf);
            let (rec, len) = Record::parse(&buf).expect("valid");
            assert_eq!(len, buf.len());
            assert_eq!(rec.key, b"key");
            assert_eq!(rec.hash, 42);
            assert_eq!(rec.expires_at, 7);
            assert!(!rec.is_tombstone());
            assert_eq!(rec.value().expect("decodes"), value);
            let mut out = b"prefix".to_vec();
            rec.value_into(&mut out).expect("decodes");
            assert_eq!(&out[6..], &value[..]);
        }
    }

    #[test]
    fn compressible_values_are_stored_smaller() {
        let mut buf = Vec::new();
        encode_put(1, b"k", &[0u8; 4096], 0, &mut buf);
        assert!(buf.len() < 200, "{} bytes", buf.len());
    }

    #[test]
    fn tombstone_is_flagged() {
        let mut buf = Vec::new();
        encode_tombstone(9, b"gone", &mut buf);
        let (rec, _) = Record::parse(&buf).expect("valid");
        assert!(rec.is_tombstone());
        assert_eq!(rec.key, b"gone");
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        encode_put(3, b"key", b"value", 0, &mut buf);
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut bad = buf.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    Record::parse(&bad).is_err(),
                    "flip at {byte}:{bit} accepted"
                );
            }
        }
    }

    #[test]
    fn truncation_is_detected() {
        let mut buf = Vec::new();
        encode_put(3, b"key", b"value", 0, &mut buf);
        for cut in 0..buf.len() {
            assert!(Record::parse(&buf[..cut]).is_err());
        }
    }

    #[test]
    fn expiry_is_inclusive_and_zero_means_never() {
        let mut buf = Vec::new();
        encode_put(3, b"k", b"v", 100, &mut buf);
        let (rec, _) = Record::parse(&buf).expect("valid");
        assert!(!rec.is_expired(99));
        assert!(rec.is_expired(100));
        buf.clear();
        encode_put(3, b"k", b"v", 0, &mut buf);
        let (rec, _) = Record::parse(&buf).expect("valid");
        assert!(!rec.is_expired(u64::MAX));
    }
}
