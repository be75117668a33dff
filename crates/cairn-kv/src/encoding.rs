//! How the Redis keyspace is laid out in cairn-log: log keys and head records.
//!
//! # Log keys
//!
//! ```text
//! head of a string      's' | db (1 byte) | key bytes
//! head of a collection  'k' | db (1 byte) | key bytes
//! child of a collection 'c' | generation (u64 BE) | part (type-specific)
//! door metadata         'm' | name
//! ```
//!
//! Every Redis key has exactly one head record, under one of the two head prefixes. Strings
//! and collections have their own prefix so that `SET` and `GET`, the commands that matter
//! most, never read a value only to learn its type: a `SET` asks the index whether the other
//! prefix holds the key (answered by the bloom filter in the common case). A string lives wholly in its head. A
//! collection (hash, list, set, sorted set) keeps a small descriptor in its head and its
//! elements in child records named by the collection's *generation*, a number never reused:
//! so a collection is rewritten piecewise (an `HSET` rewrites one bucket), and a deleted or
//! expired collection whose children are still being removed can never be confused with a
//! new one under the same name.
//!
//! # Head records
//!
//! ```text
//! string:     expire_at (u64 LE, unix ms; 0 = no expiry) | string bytes
//! large string: expire_at with bit 63 set | generation (u64 LE) | length (u64 LE)
//! collection: type (1 byte: 1 hash, 2 list, 3 set, 4 sorted set) | expire_at | descriptor
//! ```
//!
//! A string of [`crate::collections::chunks::CHUNKED_AT`] bytes or more is stored in chunks,
//! child records of its generation (see `collections/chunks.rs`), so that APPEND and SETRANGE
//! rewrite the chunks they change, not the whole string. No expiry time reaches bit 63.
//!
//! A descriptor starts with the collection's generation (u64 LE); the rest is the type's own.
//!
//! Expiry is kept here, not in cairn-log's own record expiry, because a collection's children
//! must go with its head: cairn-kv decides when a key is expired (lazily on access and by the
//! active expiry cycle) and deletes head and children in one batch.

use bytes::{Buf, Bytes};

use crate::error::{KvError, Result};

/// Logical databases, `SELECT 0` to `SELECT 15`.
pub const DATABASES: usize = 16;

const STRING_HEAD: u8 = b's';
const COLLECTION_HEAD: u8 = b'k';
const CHILD: u8 = b'c';
const META: u8 = b'm';
const HEAD_LEN: usize = 9;

/// The longest Redis key accepted (cairn-log's key limit less the head prefix).
pub const MAX_KEY_LEN: usize = cairn_log::MAX_KEY_LEN - 2;

/// The type of a Redis value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    String = 0,
    Hash = 1,
    List = 2,
    Set = 3,
    ZSet = 4,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::String,
            1 => Kind::Hash,
            2 => Kind::List,
            3 => Kind::Set,
            4 => Kind::ZSet,
            _ => return None,
        })
    }

    /// The name `TYPE` answers.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<Kind> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"string" => Kind::String,
            b"hash" => Kind::Hash,
            b"list" => Kind::List,
            b"set" => Kind::Set,
            b"zset" => Kind::ZSet,
            _ => return None,
        })
    }
}

/// Bit 63 of a string head's expiry field: the string is stored in chunks.
const CHUNKED_FLAG: u64 = 1 << 63;

/// Where a string stored in chunks is: its generation, which names its chunk records, and
/// its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunks {
    pub generation: u64,
    pub len: u64,
}

/// A decoded head record.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub kind: Kind,
    /// Unix milliseconds; 0 for none.
    pub expire_at: u64,
    /// The string's bytes (once read from its chunks, for a string stored in chunks), or a
    /// collection's descriptor.
    pub body: Bytes,
    /// For a string stored in chunks, where they are.
    pub chunks: Option<Chunks>,
}

impl Head {
    pub fn new(kind: Kind, body: impl Into<Bytes>) -> Head {
        Head {
            kind,
            expire_at: 0,
            body: body.into(),
            chunks: None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        if let Some(chunks) = self.chunks {
            let mut out = Vec::with_capacity(24);
            out.extend_from_slice(&(self.expire_at | CHUNKED_FLAG).to_le_bytes());
            out.extend_from_slice(&chunks.generation.to_le_bytes());
            out.extend_from_slice(&chunks.len.to_le_bytes());
            return out;
        }
        let mut out = Vec::with_capacity(HEAD_LEN + self.body.len());
        if self.kind != Kind::String {
            out.push(self.kind as u8);
        }
        out.extend_from_slice(&self.expire_at.to_le_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes a head read under the string prefix (`string == true`) or the collection one.
    pub fn decode(mut bytes: Bytes, string: bool) -> Result<Head> {
        let (kind, at) = if string {
            (Some(Kind::String), 0)
        } else {
            (
                bytes
                    .first()
                    .copied()
                    .and_then(Kind::from_byte)
                    .filter(|k| *k != Kind::String),
                1,
            )
        };
        match (kind, bytes.get(at..at + 8)) {
            (Some(kind), Some(exp)) => {
                let mut e = [0u8; 8];
                e.copy_from_slice(exp);
                let expire_at = u64::from_le_bytes(e);
                if string && expire_at & CHUNKED_FLAG != 0 {
                    let mut r = Reader::new(&bytes[8..]);
                    let chunks = Chunks {
                        generation: r.u64()?,
                        len: r.u64()?,
                    };
                    return Ok(Head {
                        kind,
                        expire_at: expire_at & !CHUNKED_FLAG,
                        body: Bytes::new(),
                        chunks: Some(chunks),
                    });
                }
                // Advanced, not sliced: a value just copied out of a segment is a `Bytes`
                // over a vector, which a slice would first move to a shared allocation.
                bytes.advance(at + 8);
                Ok(Head {
                    kind,
                    expire_at,
                    body: bytes,
                    chunks: None,
                })
            }
            _ => Err(KvError::damaged("the key's head record does not decode")),
        }
    }

    /// The generation of a collection (the first 8 bytes of its descriptor).
    pub fn generation(&self) -> Option<u64> {
        if self.kind == Kind::String {
            return None;
        }
        Reader::new(&self.body).u64().ok()
    }

    /// A string's length, whether its bytes are in the body or in chunks.
    pub fn string_len(&self) -> u64 {
        self.chunks.map_or(self.body.len() as u64, |c| c.len)
    }

    pub fn is_expired(&self, now: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }
}

/// The log key of the head of `key` in database `db`, under the string prefix or the
/// collection one.
pub fn head_key(db: u8, key: &[u8], string: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + key.len());
    out.push(if string { STRING_HEAD } else { COLLECTION_HEAD });
    out.push(db);
    out.extend_from_slice(key);
    out
}

/// Splits a log key into (db, Redis key) if it is a head key of either prefix.
pub fn parse_head_key(log_key: &[u8]) -> Option<(u8, &[u8])> {
    match log_key {
        [STRING_HEAD | COLLECTION_HEAD, db, key @ ..] if usize::from(*db) < DATABASES => {
            Some((*db, key))
        }
        _ => None,
    }
}

/// The log key of a collection's child record.
pub fn child_key(generation: u64, part: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + part.len());
    out.push(CHILD);
    out.extend_from_slice(&generation.to_be_bytes());
    out.extend_from_slice(part);
    out
}

/// The log key of a piece of the door's own metadata.
pub fn meta_key(name: &str) -> Vec<u8> {
    let mut out = vec![META];
    out.extend_from_slice(name.as_bytes());
    out
}

/// Checks a Redis key against the engine's limit.
pub fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(KvError::other(format!(
            "key is too long ({} bytes, at most {MAX_KEY_LEN})",
            key.len()
        )));
    }
    Ok(())
}

/// A little-endian byte writer and reader for descriptors and child records.
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn new() -> Writer {
        Writer(Vec::new())
    }
    pub fn with_capacity(bytes: usize) -> Writer {
        Writer(Vec::with_capacity(bytes))
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
        self
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        // Lengths are bounded by cairn-log's 512 MiB value limit, so they fit a u32.
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        self
    }
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

/// Reads what [`Writer`] wrote; any shortfall is a damaged record.
pub struct Reader<'a> {
    rest: &'a [u8],
    len: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            rest: bytes,
            len: bytes.len(),
        }
    }

    /// How many bytes have been read.
    pub fn position(&self) -> usize {
        self.len - self.rest.len()
    }

    /// Passes over a length-prefixed byte string.
    pub fn skip(&mut self) -> Result<()> {
        let n = self.u32()? as usize;
        self.take(n).map(drop)
    }

    /// Reads a length-prefixed byte string as a slice of `src`, the buffer this reader was
    /// made over: no copy.
    pub fn shared(&mut self, src: &Bytes) -> Result<Bytes> {
        Ok(src.slice(self.span()?))
    }

    /// Reads a length-prefixed byte string as its range in the buffer this reader was made
    /// over.
    pub fn span(&mut self) -> Result<std::ops::Range<usize>> {
        let n = self.u32()? as usize;
        let at = self.position();
        self.take(n)?;
        Ok(at..at + n)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(KvError::damaged("a collection record is cut short"));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }
    pub fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
    pub fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_records_round_trip() {
        let mut head = Head::new(Kind::List, &b"descriptor"[..]);
        head.expire_at = 1_700_000_000_000;
        let back = Head::decode(Bytes::from(head.encode()), false).ok();
        assert_eq!(back, Some(head));
        let mut s = Head::new(Kind::String, &b"value"[..]);
        s.expire_at = 5;
        assert_eq!(Head::decode(Bytes::from(s.encode()), true).ok(), Some(s));
        assert!(Head::decode(Bytes::from_static(b"\x09aaaaaaaa"), false).is_err());
        assert!(Head::decode(Bytes::from_static(b"\x00aaaaaaaa"), false).is_err());
        assert!(Head::decode(Bytes::from_static(b"aaa"), true).is_err());
    }

    #[test]
    fn head_keys_are_told_apart_from_children() {
        let k = head_key(3, b"user:1", false);
        assert_eq!(parse_head_key(&k), Some((3, &b"user:1"[..])));
        assert_eq!(parse_head_key(&child_key(7, b"x")), None);
        assert_eq!(parse_head_key(&meta_key("epoch")), None);
    }
}
