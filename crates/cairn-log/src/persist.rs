//! `index/hash_index.idx`: the checkpoint of the hash index.
//!
//! Written shard by shard while writers go on (a *fuzzy* checkpoint: each shard is copied under
//! its own read lock, so no writer waits for more than one shard's copy). Replaying the WAL from
//! the checkpoint LSN over such a snapshot still converges to the right index, because every
//! WAL op is an assignment (`key := place` or `key := absent`) applied in LSN order: a key
//! untouched since the checkpoint LSN has its checkpoint value in the snapshot, and a touched
//! one ends with the value of its last op. See `maintenance.rs` for the ordering rules that
//! make the places the snapshot mentions exist after a crash.
//!
//! ```text
//! header (32 bytes, little-endian)
//! 0   4  magic "CLIX"
//! 4   4  format version 1
//! 8   4  shard count (64)
//! 12  4  entry size (32)
//! 16  8  checkpoint LSN it was taken for
//! 24  4  reserved
//! 28  4  CRC32C of bytes 0..28
//! then one block per shard:
//! 0   8  entry count n
//! 8   4  linear-hashing level (informative: loading rebuilds the shape from the entries)
//! 12  4  reserved
//! 16  8  split pointer (informative)
//! 24  4  CRC32C of bytes 0..24 of the block and of its entries
//! 28  4  reserved
//! 32  n × 32-byte entries (index.rs: hash, segment, offset, size, timestamp), bucket by bucket
//! ```

use std::path::Path;

use cairn_fs::Fs;

use crate::error::{Error, IoContext, Result};
use crate::index::{shard_of, Entry, Index, Shard, ENTRY_LEN, SHARDS};
use crate::segment::sync_dir;

const MAGIC: [u8; 4] = *b"CLIX";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 32;
const BLOCK_HEADER_LEN: usize = 32;
/// More buckets than slot numbers can address is impossible.
const MAX_BUCKETS: usize = 1 << 32;

/// Writes a snapshot of `index` to `path` (atomically: temporary file, fsync, rename).
/// `before_install` runs between the fsync and the rename: the checkpoint makes the WAL
/// durable there, since the snapshot may hold entries of writes whose frames were still
/// buffered, and an installed snapshot must never point at records no durable frame holds.
pub(crate) fn write_snapshot(
    fs: &Fs,
    index: &Index,
    path: &Path,
    lsn: u64,
    before_install: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let tmp = cairn_fs::tmp_path(path);
    if let Err(e) = write_snapshot_file(fs, index, &tmp, lsn) {
        // Give back the space of a partial file (a full disk is the usual cause).
        let _ = fs.remove_file(&tmp);
        return Err(e);
    }
    before_install()?;
    fs.rename(&tmp, path).at(path)?;
    sync_dir(fs, &cairn_fs::parent_of(path))
}

/// Writes the snapshot of `index` to `tmp` and fsyncs it.
fn write_snapshot_file(fs: &Fs, index: &Index, tmp: &Path, lsn: u64) -> Result<()> {
    let file = fs.create(tmp).at(tmp)?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&(SHARDS as u32).to_le_bytes());
    header.extend_from_slice(&(ENTRY_LEN as u32).to_le_bytes());
    header.extend_from_slice(&lsn.to_le_bytes());
    header.extend_from_slice(&[0; 4]);
    let crc = crc32c::crc32c(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    fs.write_at(&file, &header, 0).at(tmp)?;
    let mut at = header.len() as u64;
    let mut block = Vec::new();
    for n in 0..SHARDS {
        block.clear();
        {
            let shard = index.shard(n);
            let (level, split) = shard.shape();
            block.extend_from_slice(&(shard.len() as u64).to_le_bytes());
            block.extend_from_slice(&level.to_le_bytes());
            block.extend_from_slice(&[0; 4]);
            block.extend_from_slice(&(split as u64).to_le_bytes());
            block.extend_from_slice(&[0; 8]);
            block.reserve(shard.len() * ENTRY_LEN);
            shard.for_each(|e| e.encode(&mut block));
        }
        let crc = crc32c::crc32c_append(crc32c::crc32c(&block[..24]), &block[BLOCK_HEADER_LEN..]);
        block[24..28].copy_from_slice(&crc.to_le_bytes());
        fs.write_at(&file, &block, at).at(tmp)?;
        at += block.len() as u64;
    }
    fs.sync_all(&file).at(tmp)
}

/// Reads a snapshot written by [`write_snapshot`]; returns the index and its LSN.
pub(crate) fn read_snapshot(path: &Path) -> Result<(Index, u64)> {
    let bytes = std::fs::read(path).at(path)?;
    let corrupt = |at: usize, what: &str| Error::corrupt(path, at as u64, what);
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or_else(|| corrupt(0, "index shorter than its header"))?;
    if header[0..4] != MAGIC {
        return Err(Error::Format {
            file: path.into(),
            what: "bad index magic".into(),
        });
    }
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let u64_at = |b: &[u8], at: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(x)
    };
    if crc32c::crc32c(&header[..28]) != u32_at(header, 28) {
        return Err(corrupt(28, "index header checksum mismatch"));
    }
    if u32_at(header, 4) != VERSION
        || u32_at(header, 8) as usize != SHARDS
        || u32_at(header, 12) as usize != ENTRY_LEN
    {
        return Err(Error::Format {
            file: path.into(),
            what: "index of another version or shape".into(),
        });
    }
    let lsn = u64_at(header, 16);
    let mut at = HEADER_LEN;
    let mut shards = Vec::with_capacity(SHARDS);
    for n in 0..SHARDS {
        let block = bytes
            .get(at..at + BLOCK_HEADER_LEN)
            .ok_or_else(|| corrupt(at, "index truncated"))?;
        let count =
            usize::try_from(u64_at(block, 0)).map_err(|_| corrupt(at, "impossible entry count"))?;
        let level = u32_at(block, 8);
        let split =
            usize::try_from(u64_at(block, 16)).map_err(|_| corrupt(at, "impossible split"))?;
        let stored_crc = u32_at(block, 24);
        let entries_len = count
            .checked_mul(ENTRY_LEN)
            .ok_or_else(|| corrupt(at, "impossible entry count"))?;
        let entries = bytes
            .get(at + BLOCK_HEADER_LEN..at + BLOCK_HEADER_LEN + entries_len)
            .ok_or_else(|| corrupt(at, "index truncated"))?;
        if crc32c::crc32c_append(crc32c::crc32c(&block[..24]), entries) != stored_crc {
            return Err(corrupt(at, &format!("index shard {n} checksum mismatch")));
        }
        // The stored shape is informative: loading rebuilds it (see Shard::for_loading).
        if level > 40 || split >= MAX_BUCKETS {
            return Err(corrupt(at + 8, "impossible shard shape"));
        }
        let mut shard = Shard::for_loading(count);
        for chunk in entries.chunks_exact(ENTRY_LEN) {
            let entry = Entry::decode(chunk.try_into().map_err(|_| corrupt(at, "entry"))?);
            if shard_of(entry.hash) != n {
                return Err(corrupt(at, &format!("entry of another shard in shard {n}")));
            }
            shard.load_entry(entry);
        }
        shards.push(shard);
        at += BLOCK_HEADER_LEN + entries_len;
    }
    if at != bytes.len() {
        return Err(corrupt(at, "trailing bytes after the last shard"));
    }
    Ok((Index::from_shards(shards), lsn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Index {
        let index = Index::default();
        for i in 0..5000u64 {
            let hash = i.wrapping_mul(0x9e3779b97f4a7c15);
            index
                .write(hash)
                .upsert::<()>(
                    Entry {
                        hash,
                        segment: 1,
                        offset: i,
                        size: 40,
                        timestamp: i,
                    },
                    |_| Ok(false),
                )
                .expect("infallible");
        }
        index
    }

    #[test]
    fn snapshot_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hash_index.idx");
        let index = sample();
        write_snapshot(&Fs::os(), &index, &path, 77, || Ok(())).expect("write");
        let (back, lsn) = read_snapshot(&path).expect("read");
        assert_eq!(lsn, 77);
        assert_eq!(back.len(), 5000);
        for i in (0..5000u64).step_by(7) {
            let hash = i.wrapping_mul(0x9e3779b97f4a7c15);
            let e = back.read(hash).find::<()>(hash, |_| Ok(true)).expect("ok");
            assert_eq!(e.map(|e| e.offset), Some(i));
        }
    }

    #[test]
    fn flipped_bytes_are_reported_with_the_shard_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hash_index.idx");
        write_snapshot(&Fs::os(), &sample(), &path, 1, || Ok(())).expect("write");
        let good = std::fs::read(&path).expect("read");
        for at in [3, 20, 40, 100, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            std::fs::write(&path, &bad).expect("write");
            match read_snapshot(&path) {
                Err(Error::Corrupt { offset, .. }) if at < HEADER_LEN => assert!(
                    offset < HEADER_LEN as u64,
                    "flip at {at}, reported {offset}"
                ),
                Err(Error::Corrupt { offset, .. }) => assert!(
                    offset <= at as u64 && offset >= HEADER_LEN as u64,
                    "flip at {at}, reported {offset}"
                ),
                Err(Error::Format { .. }) => assert!(at < 4),
                other => panic!("flip at {at} gave {other:?}"),
            }
        }
    }
}
