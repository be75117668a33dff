//! Large strings stored in chunks: the layout that keeps APPEND and SETRANGE of a large
//! string proportional to what they change, as Redis's are.
//!
//! A string of [`CHUNKED_AT`] bytes or more is cut into chunks of [`CHUNK`] bytes, the last
//! one shorter, each a child record of a generation of its own (never reused, as for
//! collections); the head holds the generation and the length. Invariant: chunk `i` holds
//! bytes `i * CHUNK ..` of the string, and every chunk but the last is full. So byte `b` is
//! in chunk `b / CHUNK` (a range reads only its chunks), APPEND rewrites the last chunk and
//! adds new ones, and SETRANGE rewrites the chunks it overlaps. Reading the whole string
//! (GET) joins the chunks: O(n), as copying it to the client is anyway.
//!
//! ```text
//! chunk:  child 'x' | index (u64 BE) → bytes
//! ```

use bytes::{Bytes, BytesMut};

use crate::encoding::{child_key, Chunks};
use crate::error::{KvError, Result};
use crate::txn::Txn;

/// Bytes per chunk.
pub const CHUNK: u64 = 64 << 10;
/// Strings this long or longer are stored in chunks; shorter ones in their head record.
pub const CHUNKED_AT: usize = 1 << 20;

fn chunk_key(generation: u64, index: u64) -> Vec<u8> {
    let mut part = vec![b'x'];
    part.extend_from_slice(&index.to_be_bytes());
    child_key(generation, &part)
}

/// The number of chunks of a string of `len` bytes.
fn chunk_count(len: u64) -> u64 {
    len.div_ceil(CHUNK)
}

/// Writes `value` as the chunks of a new generation; returns where they are.
pub fn write(txn: &mut Txn<'_>, value: &Bytes) -> Chunks {
    let chunks = Chunks {
        generation: txn.new_generation(),
        len: value.len() as u64,
    };
    for index in 0..chunk_count(chunks.len) {
        let start = (index * CHUNK) as usize;
        let end = (start + CHUNK as usize).min(value.len());
        txn.put(chunk_key(chunks.generation, index), value.slice(start..end));
    }
    chunks
}

/// Chunk `index` of `chunks`, as stored.
fn read_chunk(txn: &mut Txn<'_>, chunks: &Chunks, index: u64) -> Result<Bytes> {
    let want = (chunks.len - index * CHUNK).min(CHUNK) as usize;
    match txn.get(&chunk_key(chunks.generation, index))? {
        Some(bytes) if bytes.len() == want => Ok(bytes),
        _ => Err(KvError::damaged(format!(
            "chunk {index} of a large string (generation {}) is missing or damaged",
            chunks.generation
        ))),
    }
}

/// Bytes `start..end` of the string (`end` at most its length).
pub fn read_range(txn: &mut Txn<'_>, chunks: &Chunks, start: u64, end: u64) -> Result<Bytes> {
    if start >= end {
        return Ok(Bytes::new());
    }
    let (first, last) = (start / CHUNK, (end - 1) / CHUNK);
    if first == last {
        let chunk = read_chunk(txn, chunks, first)?;
        let base = first * CHUNK;
        return Ok(chunk.slice((start - base) as usize..(end - base) as usize));
    }
    let mut out = BytesMut::with_capacity((end - start) as usize);
    for index in first..=last {
        let chunk = read_chunk(txn, chunks, index)?;
        let base = index * CHUNK;
        let from = start.saturating_sub(base) as usize;
        let to = ((end - base) as usize).min(chunk.len());
        out.extend_from_slice(&chunk[from..to]);
    }
    Ok(out.freeze())
}

/// The whole string.
pub fn read(txn: &mut Txn<'_>, chunks: &Chunks) -> Result<Bytes> {
    read_range(txn, chunks, 0, chunks.len)
}

/// Writes `patch` at byte `offset`, zero-filling any gap past the end and growing the
/// string as needed; rewrites only the chunks the patch (or the gap) touches.
pub fn write_range(
    txn: &mut Txn<'_>,
    chunks: &mut Chunks,
    offset: u64,
    patch: &[u8],
) -> Result<()> {
    let end = offset + patch.len() as u64;
    let new_len = chunks.len.max(end);
    // The bytes that change: the patch, and the gap between the old end and it.
    let change_start = offset.min(chunks.len);
    if end <= change_start {
        return Ok(());
    }
    let (first, last) = (change_start / CHUNK, (end - 1) / CHUNK);
    for index in first..=last {
        let base = index * CHUNK;
        let size = (new_len - base).min(CHUNK) as usize;
        let mut chunk = BytesMut::with_capacity(size);
        if base < chunks.len {
            chunk.extend_from_slice(&read_chunk(txn, chunks, index)?);
        }
        chunk.resize(size, 0);
        let from = offset.max(base);
        let to = end.min(base + size as u64);
        if from < to {
            let src = &patch[(from - offset) as usize..(to - offset) as usize];
            chunk[(from - base) as usize..(to - base) as usize].copy_from_slice(src);
        }
        txn.put(chunk_key(chunks.generation, index), chunk.freeze());
    }
    chunks.len = new_len;
    Ok(())
}

/// Where the chunk records are.
pub fn child_range(chunks: &Chunks) -> super::ChildRange {
    super::ChildRange {
        generation: chunks.generation,
        prefix: b'x',
        from: 0,
        to: chunk_count(chunks.len),
    }
}

/// Deletes every chunk record.
pub fn drop_chunks(txn: &mut Txn<'_>, chunks: &Chunks) {
    for index in 0..chunk_count(chunks.len) {
        txn.delete(chunk_key(chunks.generation, index));
    }
}
