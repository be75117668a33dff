//! Segments: the append-only files that hold the records.
//!
//! A store's records live in `segments/segment_NNNNNN.dat`. One segment is active and takes
//! appends; when the next record would push it past `max_segment_size` it is sealed (its header
//! completed, its file cut to its length and fsynced) and a new one starts. Sealed segments are
//! immutable until compaction rewrites their live records elsewhere and deletes them.
//!
//! ```text
//! header (64 bytes, little-endian)
//! offset  size  field
//! 0       4     magic            "CLSG"
//! 4       4     format version   1
//! 8       8     segment id
//! 16      8     created at       unix milliseconds
//! 24      4     record count     0 while the segment is active, final once sealed
//! 28      8     data size        bytes of records after the header; 0 while active
//! 36      4     header checksum  CRC32C of bytes 0..36 and 40..64
//! 40      24    reserved         zero
//! then records back to back (record.rs), from offset 64
//! ```
//!
//! Each record carries its own CRC, so the header checksum covers only the header.
//!
//! Memory: each segment file is mapped (`mmap`, shared) over `capacity` bytes. Readers copy
//! records straight out of the mapping, with no system call. The writer copies appended records
//! into the mapping; the file is extended ahead of it with `posix_fallocate`, so running out of
//! disk is an `ENOSPC` error from that call rather than a `SIGBUS` on a write into a hole.
//!
//! Invariants: bytes below `len` never change while the segment exists; the writer publishes a
//! new `len` (release) only after the record's bytes are in place, and readers never touch bytes
//! at or past the `len` they loaded (acquire). A segment is unmapped only when the last `Arc`
//! to it is dropped, so a reader holding one can finish even while compaction deletes the file.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use cairn_fs::Fs;
use memmap2::{MmapOptions, MmapRaw};

use crate::error::{Error, IoContext, Result};
use crate::record::Record;

pub(crate) const HEADER_LEN: u64 = 64;
const MAGIC: [u8; 4] = *b"CLSG";
const VERSION: u32 = 1;
/// The file is extended this much at a time ahead of the writer.
const ALLOC_CHUNK: u64 = 8 << 20;

/// The file name of segment `id`.
pub(crate) fn file_name(id: u32) -> String {
    format!("segment_{id:06}.dat")
}

/// Parses a segment file name back to its id.
pub(crate) fn parse_file_name(name: &str) -> Option<u32> {
    name.strip_prefix("segment_")?
        .strip_suffix(".dat")?
        .parse()
        .ok()
}

/// The fields of a segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub id: u32,
    pub created_ms: u64,
    pub records: u32,
    pub data_size: u64,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut h = [0u8; HEADER_LEN as usize];
        h[0..4].copy_from_slice(&MAGIC);
        h[4..8].copy_from_slice(&VERSION.to_le_bytes());
        h[8..16].copy_from_slice(&u64::from(self.id).to_le_bytes());
        h[16..24].copy_from_slice(&self.created_ms.to_le_bytes());
        h[24..28].copy_from_slice(&self.records.to_le_bytes());
        h[28..36].copy_from_slice(&self.data_size.to_le_bytes());
        let crc = header_crc(&h);
        h[36..40].copy_from_slice(&crc.to_le_bytes());
        h
    }

    fn decode(h: &[u8; HEADER_LEN as usize], path: &Path) -> Result<Header> {
        if h[0..4] != MAGIC {
            return Err(Error::Format {
                file: path.into(),
                what: "bad segment magic".into(),
            });
        }
        let version = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if version != VERSION {
            return Err(Error::Format {
                file: path.into(),
                what: format!("segment format version {version}, expected {VERSION}"),
            });
        }
        let stored = u32::from_le_bytes([h[36], h[37], h[38], h[39]]);
        if stored != header_crc(h) {
            return Err(Error::corrupt(path, 36, "segment header checksum mismatch"));
        }
        let field = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let id = u32::try_from(field(8))
            .map_err(|_| Error::corrupt(path, 8, "segment id out of range"))?;
        Ok(Header {
            id,
            created_ms: field(16),
            records: u32::from_le_bytes([h[24], h[25], h[26], h[27]]),
            data_size: field(28),
        })
    }
}

fn header_crc(h: &[u8; HEADER_LEN as usize]) -> u32 {
    let crc = crc32c::crc32c(&h[0..36]);
    crc32c::crc32c_append(crc, &h[40..64])
}

/// One segment file, mapped.
pub(crate) struct Segment {
    id: u32,
    path: PathBuf,
    file: File,
    fs: Fs,
    map: MmapRaw,
    created_ms: u64,
    /// Valid bytes, header included. Written only by the store's single writer.
    len: AtomicU64,
    /// Bytes of the file reserved with fallocate. Written only by the writer.
    allocated: AtomicU64,
    records: AtomicU32,
    /// Bytes of records that are no longer the live version of their key.
    dead: AtomicU64,
    /// Set by appends and sealing, cleared by `sync`.
    needs_sync: AtomicBool,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("id", &self.id)
            .field("len", &self.len())
            .finish()
    }
}

impl Segment {
    /// Creates segment `id` in `dir`, mapped over `capacity` bytes, and fsyncs its header.
    pub fn create(fs: &Fs, dir: &Path, id: u32, capacity: u64, created_ms: u64) -> Result<Segment> {
        let path = dir.join(file_name(id));
        let file = fs.create(&path).at(&path)?;
        let header = Header {
            id,
            created_ms,
            records: 0,
            data_size: 0,
        };
        fs.write_at(&file, &header.encode(), 0).at(&path)?;
        fs.sync_all(&file).at(&path)?;
        Segment::map(fs, path, file, header, HEADER_LEN, capacity.max(HEADER_LEN))
    }

    /// Opens an existing segment whose valid length is `len` (from the header when sealed, from
    /// the checkpoint when it was active), mapped over at least `capacity` bytes.
    pub fn open(fs: &Fs, dir: &Path, id: u32, len: Option<u64>, capacity: u64) -> Result<Segment> {
        let path = dir.join(file_name(id));
        let file = fs
            .open(&path, OpenOptions::new().read(true).write(true))
            .at(&path)?;
        let file_len = file.metadata().at(&path)?.len();
        let mut raw = [0u8; HEADER_LEN as usize];
        if file_len < HEADER_LEN {
            return Err(Error::corrupt(
                &path,
                file_len,
                "segment shorter than its header",
            ));
        }
        read_exact_at(&file, &mut raw, 0).at(&path)?;
        let header = Header::decode(&raw, &path)?;
        if header.id != id {
            return Err(Error::corrupt(
                &path,
                8,
                format!("segment id {} in file of segment {id}", header.id),
            ));
        }
        let len = len.unwrap_or(HEADER_LEN + header.data_size);
        if len > file_len {
            return Err(Error::corrupt(
                &path,
                file_len,
                format!("segment holds {file_len} bytes, {len} expected"),
            ));
        }
        let segment = Segment::map(fs, path, file, header, len, capacity.max(len))?;
        segment.allocated.store(file_len, Ordering::Relaxed);
        Ok(segment)
    }

    fn map(
        fs: &Fs,
        path: PathBuf,
        file: File,
        header: Header,
        len: u64,
        capacity: u64,
    ) -> Result<Segment> {
        let map_len = usize::try_from(capacity)
            .map_err(|_| Error::io(&path, std::io::Error::other("segment too large to map")))?;
        // The mapping may extend past the end of the file; those pages are never touched
        // before fallocate has made the file cover them (see `append`).
        let map = MmapOptions::new().len(map_len).map_raw(&file).at(&path)?;
        Ok(Segment {
            id: header.id,
            path,
            file,
            fs: fs.clone(),
            map,
            created_ms: header.created_ms,
            len: AtomicU64::new(len),
            allocated: AtomicU64::new(HEADER_LEN),
            records: AtomicU32::new(header.records),
            dead: AtomicU64::new(0),
            needs_sync: AtomicBool::new(false),
        })
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Valid bytes, header included.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// Bytes the mapping covers: the most this segment can hold.
    pub fn capacity(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn records(&self) -> u32 {
        self.records.load(Ordering::Relaxed)
    }

    pub fn set_records(&self, n: u32) {
        self.records.store(n, Ordering::Relaxed)
    }

    pub fn dead_bytes(&self) -> u64 {
        self.dead.load(Ordering::Relaxed)
    }

    pub fn add_dead_bytes(&self, n: u64) {
        self.dead.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_dead_bytes(&self, n: u64) {
        self.dead.store(n, Ordering::Relaxed);
    }

    /// Makes sure the file covers the first `end` bytes, so that appends up to there cannot
    /// fail. Only the store's writer calls this.
    pub fn reserve(&self, end: u64) -> Result<()> {
        if end > self.capacity() {
            return Err(Error::io(
                &self.path,
                std::io::Error::other("append past the segment's mapped capacity"),
            ));
        }
        let allocated = self.allocated.load(Ordering::Relaxed);
        if end > allocated {
            let target = (end + ALLOC_CHUNK).min(self.capacity()).max(end);
            self.fs
                .allocate(&self.file, allocated, target - allocated)
                .at(&self.path)?;
            self.allocated.store(target, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Appends `bytes` (whole records) at the end and returns the offset they start at.
    /// Only the store's writer calls this, never two threads at once.
    pub fn append(&self, bytes: &[u8], records: u32) -> Result<u64> {
        self.reserve(self.len.load(Ordering::Relaxed) + bytes.len() as u64)?;
        Ok(self.append_reserved(bytes, records))
    }

    /// [`Segment::append`] into space already [`reserve`](Segment::reserve)d.
    ///
    /// # Panics
    /// If the space was not reserved: a bug in the caller, never a matter of input.
    pub fn append_reserved(&self, bytes: &[u8], records: u32) -> u64 {
        let offset = self.len.load(Ordering::Relaxed);
        let end = offset + bytes.len() as u64;
        assert!(
            end <= self.allocated.load(Ordering::Relaxed) && end <= self.capacity(),
            "append to {} past its reserved space",
            self.path.display()
        );
        self.fs
            .before_mapped_write(&self.file, offset, bytes.len() as u64);
        // SAFETY: [offset, end) lies inside the mapping and inside the file (reserved, checked
        // above), so the pages are backed. No reader looks at bytes at or past `len`, which is
        // still `offset`, and only this writer thread writes, so nothing else accesses this
        // range while it is copied.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(offset as usize),
                bytes.len(),
            );
        }
        self.records.fetch_add(records, Ordering::Relaxed);
        if !self.needs_sync.load(Ordering::Relaxed) {
            self.needs_sync.store(true, Ordering::Release);
        }
        self.len.store(end, Ordering::Release);
        offset
    }

    /// The `size` bytes at `offset`, if they lie below the valid length.
    pub fn bytes(&self, offset: u64, size: u64) -> Option<&[u8]> {
        let end = offset.checked_add(size)?;
        if offset < HEADER_LEN || end > self.len() {
            return None;
        }
        // SAFETY: the range is inside the mapping and below `len`, so it is backed by the
        // file and immutable for the life of `self` (see the module invariants).
        Some(unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(offset as usize), size as usize)
        })
    }

    /// The record at `offset` of exactly `size` bytes, verified.
    pub fn record(&self, offset: u64, size: u64) -> Result<Record<'_>> {
        let bytes = self.bytes(offset, size).ok_or_else(|| {
            Error::corrupt(&self.path, offset, "record lies past the segment's end")
        })?;
        match Record::parse(bytes) {
            Ok((rec, len)) if len as u64 == size => Ok(rec),
            Ok(_) => Err(Error::corrupt(
                &self.path,
                offset,
                "record length disagrees with the index",
            )),
            Err(why) => Err(Error::corrupt(&self.path, offset, why.to_string())),
        }
    }

    /// Walks every record from the header to `len`, in order.
    pub fn iter(&self) -> SegmentIter<'_> {
        SegmentIter {
            segment: self,
            offset: HEADER_LEN,
            end: self.len(),
        }
    }

    /// Makes everything appended (and the header written) so far durable.
    pub fn sync(&self) -> Result<()> {
        self.needs_sync.store(false, Ordering::Release);
        let synced = self
            .map
            .flush_range(0, self.len() as usize)
            .and_then(|()| self.fs.sync_all(&self.file));
        if synced.is_err() {
            self.needs_sync.store(true, Ordering::Release);
        }
        synced.at(&self.path)
    }

    /// Completes the header with the final record count and size and gives back the space
    /// reserved past the end. Not durable until the next [`Segment::sync`] (the checkpoint's):
    /// until then the WAL holds every record, so sealing never stalls the writer on an fsync.
    pub fn seal(&self) -> Result<()> {
        let len = self.len();
        let header = Header {
            id: self.id,
            created_ms: self.created_ms,
            records: self.records(),
            data_size: len - HEADER_LEN,
        };
        self.needs_sync.store(true, Ordering::Release);
        self.fs
            .write_at(&self.file, &header.encode(), 0)
            .at(&self.path)?;
        self.fs.set_len(&self.file, len).at(&self.path)?;
        self.allocated.store(len, Ordering::Relaxed);
        Ok(())
    }

    /// Gives back the space reserved past the end (the file shrinks to its valid length).
    /// Appends reserve again as they need.
    pub fn release_reserve(&self) -> Result<()> {
        let len = self.len();
        if self.allocated.load(Ordering::Relaxed) > len {
            self.fs.set_len(&self.file, len).at(&self.path)?;
            self.allocated.store(len, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Whether anything was appended or sealed since the last [`Segment::sync`].
    pub fn needs_sync(&self) -> bool {
        self.needs_sync.load(Ordering::Acquire)
    }
}

/// Iterator over a segment's records: `(offset, record)`; stops after the first invalid one.
pub(crate) struct SegmentIter<'a> {
    segment: &'a Segment,
    offset: u64,
    end: u64,
}

impl<'a> Iterator for SegmentIter<'a> {
    type Item = Result<(u64, Record<'a>, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.offset >= self.end {
            return None;
        }
        let at = self.offset;
        let rest = self.segment.bytes(at, self.end - at)?;
        match Record::parse(rest) {
            Ok((rec, len)) => {
                self.offset += len as u64;
                Some(Ok((at, rec, len as u64)))
            }
            Err(why) => {
                self.offset = self.end;
                Some(Err(Error::corrupt(&self.segment.path, at, why.to_string())))
            }
        }
    }
}

/// Makes the entries of `dir` (files created, renamed or deleted in it) durable.
pub(crate) fn sync_dir(fs: &Fs, dir: &Path) -> Result<()> {
    fs.sync_dir(dir).at(dir)
}

pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(file_name(7), "segment_000007.dat");
        assert_eq!(parse_file_name("segment_000007.dat"), Some(7));
        assert_eq!(parse_file_name("segment_x.dat"), None);
    }

    #[test]
    fn append_read_seal_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = Segment::create(&Fs::os(), dir.path(), 1, 1 << 20, 5).expect("create");
        let mut buf = Vec::new();
        record::encode_put(1, b"a", b"alpha", 0, &mut buf);
        let off = seg.append(&buf, 1).expect("append");
        assert_eq!(off, HEADER_LEN);
        assert_eq!(seg.record(off, buf.len() as u64).expect("read").key, b"a");
        seg.seal().expect("seal");
        drop(seg);
        let seg = Segment::open(&Fs::os(), dir.path(), 1, None, 0).expect("open");
        assert_eq!(seg.len(), HEADER_LEN + buf.len() as u64);
        assert_eq!(seg.records(), 1);
        assert_eq!(seg.iter().count(), 1);
    }

    #[test]
    fn reads_past_the_end_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = Segment::create(&Fs::os(), dir.path(), 1, 1 << 20, 5).expect("create");
        assert!(seg.bytes(HEADER_LEN, 1).is_none());
        assert!(seg.record(HEADER_LEN, 40).is_err());
        assert!(seg.bytes(u64::MAX, 2).is_none());
    }

    #[test]
    fn a_flipped_header_byte_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = Segment::create(&Fs::os(), dir.path(), 3, 4096, 5).expect("create");
        seg.seal().expect("seal");
        drop(seg);
        let path = dir.path().join(file_name(3));
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[20] ^= 0x10;
        std::fs::write(&path, bytes).expect("write");
        let err = Segment::open(&Fs::os(), dir.path(), 3, None, 0).expect_err("corrupt");
        assert!(matches!(err, Error::Corrupt { offset: 36, .. }), "{err}");
    }
}
