//! The write-ahead log: LSNs, records, group commit, and reading back for recovery.
//!
//! An LSN is the byte position of a record in the log (counted from the log's creation, so
//! it only grows); reading a record at an LSN is one positioned read, which is what ARIES's
//! undo needs to follow a transaction's `prev_lsn` chain backwards. LSN 0 means "none".
//!
//! ```text
//! wal.log
//! header (32 bytes, little-endian)
//! 0   4  magic "CPWL"
//! 4   4  format version 1
//! 8   8  base LSN: the LSN of the first byte after this header
//! 16  12 reserved
//! 28  4  CRC32C of bytes 0..28
//! records, back to back:
//! 0   4  record length (header, body and CRC)
//! 4   8  prev LSN: the same transaction's previous record, 0 if none
//! 12  8  transaction id (0 for records of no transaction, such as checkpoints)
//! 20  1  kind (what the body means; defined by the layers that log)
//! 21     body
//! ..  4  CRC32C of the record's LSN (8 bytes) followed by every byte of the record before it
//! ```
//!
//! Mixing the LSN into the CRC means a record is valid only at its own position: stale bytes
//! from an older log, or a record copied elsewhere, never pass.
//!
//! Group commit: `append` only copies the record into a buffer. `flush_to(lsn)` makes the log
//! durable past `lsn`; whichever caller finds no flush under way writes the buffer out,
//! durably (one direct synchronous write, log_file.rs), for everyone who appended so far,
//! while the others wait for it and return, or lead the next one. A failed write or sync
//! poisons the log: retrying an fsync after a failure can report success for data the kernel
//! already dropped, so every later append or flush fails until the store is reopened and
//! recovers from what is on disk. At open, a torn
//! tail (an incomplete or failing last record, left by a crash) is cut; a failing record
//! followed by valid ones is corruption and is reported.
//!
//! The file is zero-filled ahead of the records, up to 8 MiB at a time (as PostgreSQL fills
//! its WAL segments): a commit's fsync then overwrites blocks the file already has, so it flushes data
//! only, not the file's size and extents as well. Zeros never decode as a record, so they end
//! the log like a torn tail.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use cairn_fs::Fs;

use crate::buffer_pool::LogFlush;
use crate::error::{Error, Result};
use crate::log_file::{block_start, LogFile};

/// A log sequence number: the byte position of a record in the log.
pub type Lsn = u64;
/// A transaction id.
pub type TxnId = u64;

const MAGIC: [u8; 4] = *b"CPWL";
const VERSION: u32 = 1;
const FILE_HEADER_LEN: u64 = 32;
const RECORD_HEADER_LEN: usize = 21;
const CRC_LEN: usize = 4;
/// The largest record body: a full page image and some.
pub const MAX_BODY_LEN: usize = 1 << 20;
/// How far ahead of its records the log file is zero-filled, by default.
pub const DEFAULT_PREALLOCATE: u64 = 8 << 20;

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub lsn: Lsn,
    pub prev_lsn: Lsn,
    pub txn: TxnId,
    pub kind: u8,
    pub body: Vec<u8>,
}

impl LogRecord {
    /// The LSN just past this record.
    pub fn end(&self) -> Lsn {
        self.lsn + (RECORD_HEADER_LEN + self.body.len() + CRC_LEN) as u64
    }
}

fn encode(lsn: Lsn, prev_lsn: Lsn, txn: TxnId, kind: u8, body: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let len = (RECORD_HEADER_LEN + body.len() + CRC_LEN) as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&prev_lsn.to_le_bytes());
    out.extend_from_slice(&txn.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(body);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&lsn.to_le_bytes()), &out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Parses the record at the start of `bytes`, which sits at `lsn`.
fn decode(lsn: Lsn, bytes: &[u8]) -> Option<LogRecord> {
    let len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    if !(RECORD_HEADER_LEN + CRC_LEN..=RECORD_HEADER_LEN + MAX_BODY_LEN + CRC_LEN).contains(&len) {
        return None;
    }
    let record = bytes.get(..len)?;
    let (covered, crc) = record.split_at(len - CRC_LEN);
    let expected = crc32c::crc32c_append(crc32c::crc32c(&lsn.to_le_bytes()), covered);
    if expected != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    Some(LogRecord {
        lsn,
        prev_lsn: u64::from_le_bytes(covered.get(4..12)?.try_into().ok()?),
        txn: u64::from_le_bytes(covered.get(12..20)?.try_into().ok()?),
        kind: covered[20],
        body: covered[RECORD_HEADER_LEN..].to_vec(),
    })
}

struct Buffer {
    bytes: Vec<u8>,
    /// LSN of `bytes[0]`.
    start: Lsn,
    /// LSN the next record gets.
    next: Lsn,
    flushing: bool,
}

/// The log of one page store.
pub struct Wal {
    fs: Fs,
    path: PathBuf,
    /// The log file; replaced whole when the log is truncated.
    file: RwLock<LogFile>,
    /// The LSN of the file's first record byte; grows when the log is truncated.
    base: AtomicU64,
    buffer: Mutex<Buffer>,
    flushed: Condvar,
    /// Every record that starts below this LSN is durable.
    durable: AtomicU64,
    syncs: AtomicU64,
    poisoned: AtomicBool,
    /// Bytes in the file, zero-filled ones included (changed only by the flushing thread and
    /// by truncation, which excludes flushes).
    allocated: AtomicU64,
    /// How far ahead the file is zero-filled.
    preallocate: u64,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("path", &self.path)
            .field("durable", &self.durable_lsn())
            .finish()
    }
}

impl Wal {
    /// Opens the log at `path`, creating it if missing, and returns it with the records it
    /// holds (a torn tail cut off).
    pub fn open(path: impl AsRef<Path>) -> Result<(Wal, Vec<LogRecord>)> {
        Wal::open_with(&Fs::os(), path, DEFAULT_PREALLOCATE)
    }

    /// [`Wal::open`], zero-filling the file `preallocate` bytes at a time.
    pub fn open_with(
        fs: &Fs,
        path: impl AsRef<Path>,
        preallocate: u64,
    ) -> Result<(Wal, Vec<LogRecord>)> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io {
            file: path.clone(),
            source,
        };
        let file = fs
            .open(
                &path,
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false),
            )
            .map_err(io)?;
        let bytes = std::fs::read(&path).map_err(io)?;
        let (base, records, valid_end) = if bytes.is_empty() {
            let base = FILE_HEADER_LEN;
            fs.write_at(&file, &header(base), 0).map_err(io)?;
            fs.sync_all(&file).map_err(io)?;
            (base, Vec::new(), FILE_HEADER_LEN as usize)
        } else {
            read_log(&path, &bytes)?
        };
        if valid_end < bytes.len() {
            fs.set_len(&file, valid_end as u64).map_err(io)?;
            fs.sync_all(&file).map_err(io)?;
        }
        let next = base + (valid_end as u64 - FILE_HEADER_LEN);
        let file = if bytes.is_empty() {
            LogFile::new(fs, &path, file, FILE_HEADER_LEN, &header(base))
        } else {
            LogFile::new(
                fs,
                &path,
                file,
                valid_end as u64,
                &bytes[block_start(valid_end)..valid_end],
            )
        };
        Ok((
            Wal {
                fs: fs.clone(),
                path,
                file: RwLock::new(file),
                base: AtomicU64::new(base),
                buffer: Mutex::new(Buffer {
                    bytes: Vec::with_capacity(1 << 16),
                    start: next,
                    next,
                    flushing: false,
                }),
                flushed: Condvar::new(),
                durable: AtomicU64::new(next),
                syncs: AtomicU64::new(0),
                poisoned: AtomicBool::new(false),
                allocated: AtomicU64::new(valid_end as u64),
                preallocate: preallocate.max(4096),
            },
            records,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn file(&self) -> RwLockReadGuard<'_, LogFile> {
        self.file.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The oldest LSN the log still holds.
    pub fn base_lsn(&self) -> Lsn {
        self.base.load(Ordering::Acquire)
    }

    /// Drops every record before `cut` (which must be a record boundary: a checkpoint's redo
    /// point or a transaction's first record), rewriting the log from there. Appends wait
    /// meanwhile; the new file replaces the old one by an atomic rename, so a crash leaves
    /// one or the other whole.
    pub fn truncate_before(&self, cut: Lsn) -> Result<()> {
        let mut b = self.lock();
        while b.flushing {
            b = self.flushed.wait(b).unwrap_or_else(|p| p.into_inner());
        }
        let base = self.base_lsn();
        let written_end = b.start;
        let cut = cut.min(written_end);
        if cut <= base {
            return Ok(());
        }
        let io = |source| Error::Io {
            file: self.path.clone(),
            source,
        };
        let mut file = self.file.write().unwrap_or_else(|p| p.into_inner());
        let mut bytes = header(cut).to_vec();
        let tail_at = bytes.len();
        let tail_end = tail_at + (written_end - cut) as usize;
        bytes.resize(tail_end, 0);
        file.file()
            .read_exact_at(&mut bytes[tail_at..], FILE_HEADER_LEN + (cut - base))
            .map_err(io)?;
        // The new file comes zero-filled ahead, like the one it replaces.
        bytes.resize(self.preallocated_length(tail_end as u64) as usize, 0);
        self.fs.write_atomically(&self.path, &bytes).map_err(io)?;
        let reopened = self
            .fs
            .open(&self.path, OpenOptions::new().read(true).write(true))
            .map_err(io)?;
        let tail = &bytes[block_start(tail_end)..tail_end];
        *file = LogFile::new(&self.fs, &self.path, reopened, tail_end as u64, tail);
        self.allocated.store(bytes.len() as u64, Ordering::Release);
        self.base.store(cut, Ordering::Release);
        Ok(())
    }

    /// Appends a record (buffered: durable only after [`Wal::flush_to`] covers it).
    pub fn append(&self, txn: TxnId, prev_lsn: Lsn, kind: u8, body: &[u8]) -> Result<Lsn> {
        if body.len() > MAX_BODY_LEN {
            return Err(Error::TupleTooLarge {
                len: body.len(),
                max: MAX_BODY_LEN,
            });
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let mut b = self.lock();
        let lsn = b.next;
        encode(lsn, prev_lsn, txn, kind, body, &mut b.bytes);
        b.next = lsn + (RECORD_HEADER_LEN + body.len() + CRC_LEN) as u64;
        Ok(lsn)
    }

    /// Refuses every later append and flush with [`Error::Poisoned`]: what the OS cache held
    /// may be lost, so the store must be reopened and recover from what is durable.
    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
        let _b = self.lock();
        self.flushed.notify_all();
    }

    /// Every record starting below this LSN is durable.
    pub fn durable_lsn(&self) -> Lsn {
        self.durable.load(Ordering::Acquire)
    }

    /// The LSN the next record will get.
    pub fn next_lsn(&self) -> Lsn {
        self.lock().next
    }

    /// fsyncs done so far (group commit makes this smaller than the commits).
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Makes the record at `lsn` (and everything before it) durable.
    pub fn flush(&self, lsn: Lsn) -> Result<()> {
        loop {
            if lsn < self.durable_lsn() {
                return Ok(());
            }
            let mut b = self.lock();
            if lsn >= b.next {
                // Nothing at or after `lsn` was appended: flush what there is.
                if b.start == b.next {
                    return Ok(());
                }
            }
            if self.poisoned.load(Ordering::Acquire) {
                return Err(Error::Poisoned);
            }
            if b.flushing {
                drop(self.flushed.wait(b).unwrap_or_else(|p| p.into_inner()));
                continue;
            }
            b.flushing = true;
            let bytes = std::mem::take(&mut b.bytes);
            let (start, end) = (b.start, b.next);
            drop(b);
            let written = {
                let file = self.file();
                let at = FILE_HEADER_LEN + (start - self.base_lsn());
                self.preallocate(file.file(), at + bytes.len() as u64)
                    .and_then(|()| file.append_durable(&bytes, at))
            };
            let mut b = self.lock();
            b.flushing = false;
            match written {
                Ok(()) => {
                    b.start = end;
                    let mut bytes = bytes;
                    bytes.clear();
                    if b.bytes.is_empty() {
                        b.bytes = bytes;
                    }
                    self.durable.store(end, Ordering::Release);
                    self.syncs.fetch_add(1, Ordering::Relaxed);
                    self.flushed.notify_all();
                }
                Err(source) => {
                    self.poisoned.store(true, Ordering::Release);
                    self.flushed.notify_all();
                    return Err(Error::Io {
                        file: self.path.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// The file length that zero-fills past `needed` bytes.
    fn preallocated_length(&self, needed: u64) -> u64 {
        (needed + self.preallocate).div_ceil(self.preallocate) * self.preallocate
    }

    /// Zero-fills the file past `needed` bytes if it is shorter, and makes the new length
    /// durable.
    fn preallocate(&self, file: &File, needed: u64) -> std::io::Result<()> {
        let have = self.allocated.load(Ordering::Acquire);
        if needed <= have {
            return Ok(());
        }
        let target = self.preallocated_length(needed);
        let zeros = vec![0u8; 1 << 20];
        let mut at = have;
        while at < target {
            let n = (target - at).min(zeros.len() as u64) as usize;
            self.fs.write_at(file, &zeros[..n], at)?;
            at += n as u64;
        }
        self.fs.sync_all(file)?;
        self.allocated.store(target, Ordering::Release);
        Ok(())
    }

    /// Reads the durable record at `lsn` (undo follows `prev_lsn` chains with this).
    pub fn read_at(&self, lsn: Lsn) -> Result<LogRecord> {
        let corrupt = |what: &str| Error::Corrupt {
            file: self.path.clone(),
            page: 0,
            what: format!("log record at LSN {lsn}: {what}"),
        };
        let file = self.file();
        let base = self.base_lsn();
        if lsn < base || lsn >= self.durable_lsn() {
            return Err(corrupt("not in the durable log"));
        }
        let at = FILE_HEADER_LEN + (lsn - base);
        let mut len = [0u8; 4];
        file.file()
            .read_exact_at(&mut len, at)
            .map_err(|source| Error::Io {
                file: self.path.clone(),
                source,
            })?;
        let len =
            (u32::from_le_bytes(len) as usize).min(RECORD_HEADER_LEN + MAX_BODY_LEN + CRC_LEN);
        let mut bytes = vec![0u8; len];
        file.file()
            .read_exact_at(&mut bytes, at)
            .map_err(|source| Error::Io {
                file: self.path.clone(),
                source,
            })?;
        decode(lsn, &bytes).ok_or_else(|| corrupt("fails its checksum"))
    }
}

impl LogFlush for Wal {
    fn flush_to(&self, lsn: u64) -> Result<()> {
        if lsn == 0 {
            return Ok(());
        }
        self.flush(lsn)
    }
}

fn header(base: Lsn) -> [u8; FILE_HEADER_LEN as usize] {
    let mut h = [0u8; FILE_HEADER_LEN as usize];
    h[0..4].copy_from_slice(&MAGIC);
    h[4..8].copy_from_slice(&VERSION.to_le_bytes());
    h[8..16].copy_from_slice(&base.to_le_bytes());
    let crc = crc32c::crc32c(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Parses a whole log file: its base LSN, its valid records, and where they end.
fn read_log(path: &Path, bytes: &[u8]) -> Result<(Lsn, Vec<LogRecord>, usize)> {
    let h = bytes
        .get(..FILE_HEADER_LEN as usize)
        .ok_or_else(|| Error::Format {
            file: path.into(),
            what: "shorter than the log header".into(),
        })?;
    if h[0..4] != MAGIC {
        return Err(Error::Format {
            file: path.into(),
            what: "bad log magic".into(),
        });
    }
    let base = u64::from_le_bytes(h[8..16].try_into().unwrap_or_default());
    if h != header(base) {
        return Err(Error::Format {
            file: path.into(),
            what: "log header damaged or of another version".into(),
        });
    }
    let mut records = Vec::new();
    let mut at = FILE_HEADER_LEN as usize;
    while at < bytes.len() {
        let lsn = base + (at as u64 - FILE_HEADER_LEN);
        match decode(lsn, &bytes[at..]) {
            Some(r) => {
                at += (r.end() - r.lsn) as usize;
                records.push(r);
            }
            None => {
                // A torn tail is the last thing in the file; a valid record after the failing
                // one means the middle of the log is damaged. The next record would start within
                // one record's length, so only that window is searched.
                let window = (at + 1..bytes.len()).take(2 * MAX_BODY_LEN);
                let later_valid = window
                    .into_iter()
                    .any(|p| decode(base + (p as u64 - FILE_HEADER_LEN), &bytes[p..]).is_some());
                if later_valid {
                    return Err(Error::Corrupt {
                        file: path.into(),
                        page: 0,
                        what: format!(
                            "log record at LSN {lsn} fails its checksum before valid ones"
                        ),
                    });
                }
                break;
            }
        }
    }
    Ok((base, records, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wal.log");
        let (lsns, last) = {
            let (wal, records) = Wal::open(&path).expect("create");
            assert!(records.is_empty());
            let a = wal.append(1, 0, 7, b"first").expect("append");
            let b = wal.append(1, a, 8, b"second").expect("append");
            wal.flush(b).expect("flush");
            assert!(wal.durable_lsn() > b);
            assert_eq!(wal.read_at(a).expect("read").body, b"first");
            (vec![a, b], b)
        };
        let (wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records.iter().map(|r| r.lsn).collect::<Vec<_>>(), lsns);
        assert_eq!(records[1].prev_lsn, lsns[0]);
        assert_eq!(records[1].kind, 8);
        let next = wal.append(2, 0, 1, b"").expect("append");
        assert!(next > last, "LSNs keep growing across reopen");
    }

    #[test]
    fn a_torn_tail_is_cut_at_every_length() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wal.log");
        let end = {
            let (wal, _) = Wal::open(&path).expect("create");
            for i in 0..3u8 {
                let lsn = wal.append(1, 0, i, &[i; 40]).expect("append");
                wal.flush(lsn).expect("flush");
            }
            (FILE_HEADER_LEN + wal.next_lsn() - wal.base_lsn()) as usize
        };
        let full = std::fs::read(&path).expect("read");
        assert!(full.len() > end, "the file is zero-filled ahead");
        let two = end - (RECORD_HEADER_LEN + 40 + CRC_LEN);
        for cut in two..end {
            // Cut short, and cut short with the zero-filled space after it.
            for tail in [0, 4096] {
                let mut bytes = full[..cut].to_vec();
                bytes.resize(cut + tail, 0);
                std::fs::write(&path, &bytes).expect("write");
                let (wal, records) =
                    Wal::open(&path).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
                assert_eq!(records.len(), 2, "cut at {cut}");
                assert_eq!(wal.next_lsn(), records[1].end());
            }
        }
    }

    #[test]
    fn damage_before_valid_records_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wal.log");
        {
            let (wal, _) = Wal::open(&path).expect("create");
            for i in 0..3u8 {
                wal.append(1, 0, i, &[i; 40]).expect("append");
            }
            wal.flush(wal.next_lsn() - 1).expect("flush");
        }
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[FILE_HEADER_LEN as usize + 30] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        assert!(matches!(Wal::open(&path), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn truncation_keeps_lsns_and_later_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wal.log");
        let (wal, _) = Wal::open(&path).expect("create");
        let lsns: Vec<Lsn> = (0..10u8)
            .map(|i| wal.append(1, 0, i, &[i; 100]).expect("append"))
            .collect();
        wal.flush(lsns[9]).expect("flush");
        let unflushed = wal.append(1, 0, 42, b"buffered").expect("append");
        wal.truncate_before(lsns[6]).expect("truncate");
        assert_eq!(wal.base_lsn(), lsns[6]);
        assert_eq!(wal.read_at(lsns[7]).expect("kept").kind, 7);
        assert!(wal.read_at(lsns[2]).is_err(), "truncated away");
        wal.flush(unflushed).expect("flush after truncation");
        drop(wal);
        let (wal, records) = Wal::open(&path).expect("reopen");
        let kinds: Vec<u8> = records.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [6, 7, 8, 9, 42]);
        assert_eq!(records[0].lsn, lsns[6]);
        assert_eq!(wal.base_lsn(), lsns[6]);
    }

    #[test]
    fn concurrent_committers_share_fsyncs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path().join("wal.log")).expect("create");
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let wal = &wal;
                s.spawn(move || {
                    for i in 0..50u64 {
                        let lsn = wal.append(t, 0, 1, &i.to_le_bytes()).expect("append");
                        wal.flush(lsn).expect("flush");
                        assert!(wal.durable_lsn() > lsn);
                    }
                });
            }
        });
        assert!(wal.syncs() < 400, "{} fsyncs for 400 commits", wal.syncs());
        drop(wal);
        let (_, records) = Wal::open(dir.path().join("wal.log")).expect("reopen");
        assert_eq!(records.len(), 400);
    }
}
