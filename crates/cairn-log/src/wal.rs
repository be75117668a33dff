//! The write-ahead log: every write is logged here before it touches a segment or the index.
//!
//! `wal/wal_active.log` takes appends; a checkpoint renames it to `wal/wal_NNNNNN.log`, starts a
//! new active file, and deletes the renamed ones once the checkpoint is durable. Recovery replays
//! the files in order (numbered ones first, then the active one), skipping frames older than the
//! checkpoint.
//!
//! ```text
//! file header (16 bytes, little-endian)
//! 0   4  magic "CLWL"
//! 4   4  format version 1
//! 8   4  CRC32C of bytes 0..8
//! 12  4  reserved
//! then frames back to back; a frame is one atomic write (a put, a delete or a batch):
//! 0   4  frame_len   u32, the whole frame with this field and the CRC
//! 4   8  lsn         u64, one more than the previous frame's
//! 12  4  op count    u32
//! 16     ops: segment u32, offset u64, then a record (record.rs). A put's record is placed at
//!        (segment, offset) of the segments; a delete's tombstone has segment 0 and is not
//!        placed anywhere; a tombstone of the empty key with segment 0xFFFFFFFF
//!        ([`CLEAR_SEGMENT`]) deletes every key (`Store::clear`).
//! ..  4  CRC32C of every byte of the frame before it
//! ```
//!
//! A frame counts only if its CRC matches: a batch is all there or not at all. At the end of the
//! active file, an incomplete or failing frame is a torn write of the crash and is cut; a
//! failing frame followed by valid ones, or any failing frame in a numbered file, is corruption
//! and is reported with file and offset.
//!
//! Group commit: writers append frames to an in-memory buffer under the store's writer lock
//! and return; the dedicated sync thread (the seed's batched writer) writes the buffer out and
//! fsyncs it, as often as `Durability` asks. Under `Always`, a writer then waits until the sync
//! thread reports its LSN durable; writers arriving during an fsync are covered by the next one,
//! so one fsync serves them all.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use cairn_fs::Fs;
use parking_lot::{Condvar, Mutex};

use crate::error::{Error, IoContext, Result};
use crate::options::Durability;
use crate::record::Record;
use crate::segment::sync_dir;

pub(crate) const ACTIVE_NAME: &str = "wal_active.log";
/// Where a rotation prepares the next active file; a leftover one is overwritten by the next.
const NEXT_ACTIVE_NAME: &str = "wal_active.next";
/// The segment of the op that clears the store: no segment has this id.
pub(crate) const CLEAR_SEGMENT: u32 = u32::MAX;
const MAGIC: [u8; 4] = *b"CLWL";
const VERSION: u32 = 1;
pub(crate) const FILE_HEADER_LEN: usize = 16;
const FRAME_HEADER_LEN: usize = 16;
const OP_HEADER_LEN: usize = 12;
/// The active file is extended this much at a time with zeros, so that appending a frame does
/// not change the file's size. Under `Durability::Always` the zeros are written, so that a
/// frame overwrites blocks that already exist and the fdatasync of each write has only data to
/// flush (no size, no block allocation to commit); under the other policies, which fsync
/// seldom, the blocks are only reserved (`fallocate`), which saves writing the WAL twice.
/// Either way the space is taken before a frame needs it ([`Wal::reserve`]), so a full disk
/// refuses a write cleanly instead of failing the WAL mid-frame. Small enough that recovery
/// reads few zeros.
const PREALLOCATE: u64 = 1 << 20;
/// A writer that finds this much buffered writes it out itself, bounding the buffer.
const BUFFER_LIMIT: usize = 8 << 20;

pub(crate) fn sealed_name(seq: u32) -> String {
    format!("wal_{seq:06}.log")
}

pub(crate) fn parse_sealed_name(name: &str) -> Option<u32> {
    name.strip_prefix("wal_")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC);
    h[4..8].copy_from_slice(&VERSION.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..8]);
    h[8..12].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A record at least this long is not copied into the frame buffer
/// ([`FrameBuilder::op_shared`]): the frame is written around it ([`Wal::append_spliced`]),
/// so that a large value is not held once more for its WAL frame.
pub(crate) const SPLICE_AT: usize = 64 << 10;

/// Records left out of a frame buffer, each with the position in the buffer it stands
/// before.
pub(crate) type Spliced<'r> = Vec<(usize, &'r [u8])>;

/// Builds frames.
pub(crate) struct FrameBuilder<'a, 'r> {
    buf: &'a mut Vec<u8>,
    start: usize,
    ops: u32,
    spliced: Spliced<'r>,
}

impl<'a, 'r> FrameBuilder<'a, 'r> {
    pub fn new(buf: &'a mut Vec<u8>, lsn: u64) -> FrameBuilder<'a, 'r> {
        let start = buf.len();
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&lsn.to_le_bytes());
        buf.extend_from_slice(&[0; 4]);
        FrameBuilder {
            buf,
            start,
            ops: 0,
            spliced: Vec::new(),
        }
    }

    /// Adds an op; `segment` 0 means "not placed" (a tombstone).
    pub fn op(&mut self, segment: u32, offset: u64, record: &[u8]) {
        self.buf.extend_from_slice(&segment.to_le_bytes());
        self.buf.extend_from_slice(&offset.to_le_bytes());
        self.buf.extend_from_slice(record);
        self.ops += 1;
    }

    /// Adds an op whose record, when large, stays where it is (see [`SPLICE_AT`]).
    pub fn op_shared(&mut self, segment: u32, offset: u64, record: &'r [u8]) {
        if record.len() < SPLICE_AT {
            return self.op(segment, offset, record);
        }
        self.buf.extend_from_slice(&segment.to_le_bytes());
        self.buf.extend_from_slice(&offset.to_le_bytes());
        self.spliced.push((self.buf.len(), record));
        self.ops += 1;
    }

    /// Completes the frame: its length, op count and CRC (over the bytes as they will be
    /// written, spliced records in place). Returns the records left out of the buffer.
    pub fn finish(self) -> Spliced<'r> {
        let spliced_len: usize = self.spliced.iter().map(|(_, r)| r.len()).sum();
        let len = (self.buf.len() - self.start + spliced_len + 4) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_le_bytes());
        self.buf[self.start + 12..self.start + 16].copy_from_slice(&self.ops.to_le_bytes());
        let mut crc = 0;
        let mut at = self.start;
        for (pos, record) in &self.spliced {
            crc = crc32c::crc32c_append(crc, &self.buf[at..*pos]);
            crc = crc32c::crc32c_append(crc, record);
            at = *pos;
        }
        crc = crc32c::crc32c_append(crc, &self.buf[at..]);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.spliced
    }
}

/// One op of a frame read back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op<'a> {
    pub segment: u32,
    pub offset: u64,
    pub record: Record<'a>,
    pub bytes: &'a [u8],
}

/// A frame read back.
#[derive(Debug, Clone)]
pub(crate) struct Frame<'a> {
    pub lsn: u64,
    pub ops: Vec<Op<'a>>,
}

/// Parses the frame at the start of `bytes`; `None` if it is incomplete or fails a check.
fn parse_frame(bytes: &[u8]) -> Option<(Frame<'_>, usize)> {
    let len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    if len < FRAME_HEADER_LEN + 4 {
        return None;
    }
    let frame = bytes.get(..len)?;
    let (covered, crc) = frame.split_at(len - 4);
    if crc32c::crc32c(covered) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let lsn = u64::from_le_bytes(frame.get(4..12)?.try_into().ok()?);
    let count = u32::from_le_bytes(frame.get(12..16)?.try_into().ok()?);
    let mut at = FRAME_HEADER_LEN;
    let mut ops = Vec::with_capacity(count.min(1 << 16) as usize);
    for _ in 0..count {
        let segment = u32::from_le_bytes(covered.get(at..at + 4)?.try_into().ok()?);
        let offset = u64::from_le_bytes(covered.get(at + 4..at + 12)?.try_into().ok()?);
        at += OP_HEADER_LEN;
        let rest = covered.get(at..)?;
        let (record, rec_len) = Record::parse(rest).ok()?;
        ops.push(Op {
            segment,
            offset,
            record,
            bytes: &rest[..rec_len],
        });
        at += rec_len;
    }
    (at == covered.len()).then_some((Frame { lsn, ops }, len))
}

/// The frames of one WAL file, read into memory.
pub(crate) struct WalFileContents {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// Bytes that hold valid frames (header included); a torn tail lies past it.
    pub valid_len: usize,
    /// Whether what follows the valid frames is only preallocated zeros.
    has_zero_tail: bool,
}

impl WalFileContents {
    /// Reads `path`. `active` says whether a torn tail is expected (only the active file can
    /// have one); anywhere else a failing frame is corruption.
    pub fn read(path: &Path, active: bool) -> Result<WalFileContents> {
        let bytes = std::fs::read(path).at(path)?;
        if bytes.len() < FILE_HEADER_LEN {
            if active {
                // A crash while the file was being created: nothing was ever logged in it.
                return Ok(WalFileContents {
                    path: path.into(),
                    bytes: Vec::new(),
                    valid_len: 0,
                    has_zero_tail: false,
                });
            }
            return Err(Error::corrupt(path, 0, "WAL file shorter than its header"));
        }
        if bytes[0..4] != MAGIC {
            return Err(Error::Format {
                file: path.into(),
                what: "bad WAL magic".into(),
            });
        }
        if bytes[0..FILE_HEADER_LEN] != file_header() {
            return Err(Error::corrupt(
                path,
                0,
                "WAL header damaged or of another version",
            ));
        }
        let mut at = FILE_HEADER_LEN;
        let mut last_lsn = None;
        while at < bytes.len() {
            match parse_frame(&bytes[at..]) {
                Some((frame, len)) => {
                    if let Some(prev) = last_lsn {
                        if frame.lsn != prev + 1 {
                            return Err(Error::corrupt(
                                path,
                                at as u64,
                                format!("WAL frame LSN {} follows {prev}", frame.lsn),
                            ));
                        }
                    }
                    last_lsn = Some(frame.lsn);
                    at += len;
                }
                None if active && bytes[at..].iter().all(|&b| b == 0) => {
                    // The preallocated rest of the file: the log ends here, cleanly.
                    return Ok(WalFileContents {
                        path: path.into(),
                        valid_len: at,
                        has_zero_tail: true,
                        bytes,
                    });
                }
                None => {
                    if !active || valid_frame_follows(&bytes, at, last_lsn) {
                        return Err(Error::corrupt(
                            path,
                            at as u64,
                            "WAL frame fails its checksum",
                        ));
                    }
                    break;
                }
            }
        }
        Ok(WalFileContents {
            path: path.into(),
            valid_len: at,
            has_zero_tail: false,
            bytes,
        })
    }

    /// Reads `path` as far as its frames are valid, for a check or a salvage: the frames up
    /// to the first damaged one, and the damage (`None` when the file reads whole; a torn
    /// tail of the active file is not damage). A file whose header is damaged has no frames.
    pub fn read_up_to_damage(
        path: &Path,
        active: bool,
    ) -> Result<(WalFileContents, Option<Error>)> {
        match WalFileContents::read(path, active) {
            Ok(contents) => Ok((contents, None)),
            Err(damage @ (Error::Corrupt { .. } | Error::Format { .. })) => {
                let offset = match &damage {
                    Error::Corrupt { offset, .. } => *offset as usize,
                    _ => 0,
                };
                let mut bytes = std::fs::read(path).at(path)?;
                let valid_len = if offset >= FILE_HEADER_LEN { offset } else { 0 };
                bytes.truncate(valid_len);
                let contents = WalFileContents {
                    path: path.into(),
                    bytes,
                    valid_len,
                    has_zero_tail: false,
                };
                Ok((contents, Some(damage)))
            }
            Err(other) => Err(other),
        }
    }

    /// The valid frames, in order.
    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> + '_ {
        let mut at = FILE_HEADER_LEN.min(self.valid_len);
        std::iter::from_fn(move || {
            if at >= self.valid_len {
                return None;
            }
            let (frame, len) = parse_frame(&self.bytes[at..self.valid_len])?;
            at += len;
            Some(frame)
        })
    }

    pub fn has_torn_tail(&self) -> bool {
        self.valid_len < self.bytes.len() && !self.has_zero_tail
    }
}

/// Whether a valid frame with a later LSN starts somewhere after the failing frame at `bad`:
/// then the failure is damage in the middle of the log, not a torn tail.
fn valid_frame_follows(bytes: &[u8], bad: usize, last_lsn: Option<u64>) -> bool {
    let next = last_lsn.map_or(0, |l| l + 1);
    let wanted = [next + 1, next + 2];
    (bad + 1..bytes.len().saturating_sub(FRAME_HEADER_LEN)).any(|at| {
        let lsn = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap_or_default());
        (wanted.contains(&lsn) || (last_lsn.is_none() && lsn > 0))
            && parse_frame(&bytes[at..]).is_some_and(|(f, _)| f.lsn == lsn)
    })
}

struct Pending {
    buf: Vec<u8>,
    /// The buffer written out last time, kept for reuse (one write-out at a time).
    spare: Vec<u8>,
    last_lsn: u64,
}

struct ActiveFile {
    file: File,
    /// Bytes of frames (and header); the file is longer, preallocated with zeros.
    len: u64,
    /// The file's size, preallocation included.
    allocated: u64,
    /// Whether to preallocate with written zeros (see [`PREALLOCATE`]).
    zeros: bool,
    next_seq: u32,
}

impl ActiveFile {
    /// Writes `buf` after the last frame, extending the preallocation when it runs out.
    fn write(&mut self, fs: &Fs, buf: &[u8]) -> std::io::Result<()> {
        let end = self.len + buf.len() as u64;
        self.extend(fs, end)?;
        fs.write_at(&self.file, buf, self.len)?;
        self.len = end;
        Ok(())
    }

    /// Preallocates past `end` if the file does not reach it yet.
    fn extend(&mut self, fs: &Fs, end: u64) -> std::io::Result<()> {
        if end > self.allocated {
            preallocate(
                fs,
                &self.file,
                self.allocated,
                end + PREALLOCATE,
                self.zeros,
            )?;
            self.allocated = end + PREALLOCATE;
        }
        Ok(())
    }
}

struct SyncState {
    requested: u64,
    stop: bool,
}

fn durability_code(durability: Durability) -> u8 {
    match durability {
        Durability::Always => 0,
        Durability::EverySec => 1,
        Durability::No => 2,
    }
}

/// The WAL of an open store.
pub(crate) struct Wal {
    fs: Fs,
    dir: PathBuf,
    active_path: PathBuf,
    /// The policy, as [`durability_code`]; it may change while the store is open.
    durability: AtomicU8,
    pending: Mutex<Pending>,
    file: Mutex<ActiveFile>,
    /// Where the frames appended so far end in the active file (written out or buffered).
    /// Changed only under the store's writer lock.
    logged_end: AtomicU64,
    /// The active file's preallocated size, as last extended ([`ActiveFile::allocated`]).
    allocated: AtomicU64,
    durable_lsn: AtomicU64,
    /// Bytes logged since the last rotation (a checkpoint's trigger).
    since_rotation: AtomicU64,
    poisoned: AtomicBool,
    sync: Mutex<SyncState>,
    /// Wakes the sync thread.
    sync_wanted: Condvar,
    /// Wakes writers waiting for durability.
    synced: Condvar,
}

impl Wal {
    /// Opens the WAL directory for appending: `wal_active.log` is created if missing, or
    /// truncated to `valid_len` (cutting a torn tail). `last_lsn` is the LSN already logged.
    pub fn open(
        fs: &Fs,
        dir: &Path,
        valid_len: Option<usize>,
        last_lsn: u64,
        durability: Durability,
    ) -> Result<Wal> {
        let active_path = dir.join(ACTIVE_NAME);
        let zeros = durability == Durability::Always;
        let mut next_seq = 1;
        for entry in std::fs::read_dir(dir).at(dir)? {
            let name = entry.at(dir)?.file_name();
            if let Some(seq) = name.to_str().and_then(parse_sealed_name) {
                next_seq = next_seq.max(seq + 1);
            }
        }
        let (file, len, allocated) = match valid_len {
            Some(len) if len >= FILE_HEADER_LEN => {
                let file = fs
                    .open(&active_path, OpenOptions::new().read(true).write(true))
                    .at(&active_path)?;
                // Cut whatever lies past the valid frames (a torn tail, or the zeros of a
                // store that did not close). Space is preallocated again by the first write,
                // so a store opened only to be read writes nothing here.
                if file.metadata().at(&active_path)?.len() > len as u64 {
                    fs.set_len(&file, len as u64).at(&active_path)?;
                    fs.sync_all(&file).at(&active_path)?;
                }
                (file, len as u64, len as u64)
            }
            _ => (
                create_active(fs, &active_path, dir, zeros)?,
                FILE_HEADER_LEN as u64,
                FILE_HEADER_LEN as u64 + PREALLOCATE,
            ),
        };
        Ok(Wal {
            fs: fs.clone(),
            logged_end: AtomicU64::new(len),
            allocated: AtomicU64::new(allocated),
            dir: dir.into(),
            active_path,
            durability: AtomicU8::new(durability_code(durability)),
            pending: Mutex::new(Pending {
                buf: Vec::with_capacity(1 << 20),
                spare: Vec::with_capacity(1 << 20),
                last_lsn,
            }),
            file: Mutex::new(ActiveFile {
                file,
                len,
                allocated,
                zeros,
                next_seq,
            }),
            durable_lsn: AtomicU64::new(last_lsn),
            since_rotation: AtomicU64::new(len.saturating_sub(FILE_HEADER_LEN as u64)),
            poisoned: AtomicBool::new(false),
            sync: Mutex::new(SyncState {
                requested: 0,
                stop: false,
            }),
            sync_wanted: Condvar::new(),
            synced: Condvar::new(),
        })
    }

    /// Marks the store poisoned: every later write fails with [`Error::Poisoned`].
    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
        let _guard = self.sync.lock();
        self.synced.notify_all();
    }

    pub fn check_poisoned(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Makes sure the active file has room for a frame of `bytes` after every frame appended
    /// so far, preallocating more now if not. Called under the store's writer lock before a
    /// frame is built: a full disk then refuses the write before anything is logged or
    /// applied (the store works on once space is freed), instead of failing the WAL mid-frame,
    /// which poisons it.
    pub fn reserve(&self, bytes: u64) -> Result<()> {
        let end = self.logged_end.load(Ordering::Relaxed) + bytes;
        if end <= self.allocated.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut file = self.file.lock();
        file.extend(&self.fs, end).at(&self.active_path)?;
        self.allocated.store(file.allocated, Ordering::Relaxed);
        Ok(())
    }

    /// Appends a finished frame with LSN `lsn`. Called under the store's writer lock, so
    /// frames arrive in LSN order.
    pub fn append(&self, frame: &[u8], lsn: u64) -> Result<()> {
        if frame.len() >= BUFFER_LIMIT {
            // A large frame (a large value) goes to the file after what is buffered, straight
            // from the caller's slice rather than through a copy into the buffer.
            self.since_rotation
                .fetch_add(frame.len() as u64, Ordering::Relaxed);
            self.logged_end
                .fetch_add(frame.len() as u64, Ordering::Relaxed);
            let mut file = self.file.lock();
            self.write_out(&mut file)?;
            if let Err(e) = file.write(&self.fs, frame) {
                self.poisoned.store(true, Ordering::Release);
                return Err(Error::io(&self.active_path, e));
            }
            // Under the file lock: a sync that sees this LSN finds its frame in the file.
            self.pending.lock().last_lsn = lsn;
            return Ok(());
        }
        let full = {
            let mut p = self.pending.lock();
            p.buf.extend_from_slice(frame);
            p.last_lsn = lsn;
            p.buf.len() >= BUFFER_LIMIT
        };
        self.since_rotation
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        self.logged_end
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        if full {
            self.write_out(&mut self.file.lock())?;
        }
        Ok(())
    }

    /// Appends a frame built with spliced records ([`FrameBuilder::op_shared`]): what is
    /// buffered is written out first, then the frame straight to the file, its buffer's
    /// pieces and the records in order.
    pub fn append_spliced(&self, frame: &[u8], spliced: &[(usize, &[u8])], lsn: u64) -> Result<()> {
        if spliced.is_empty() {
            return self.append(frame, lsn);
        }
        let total = frame.len() + spliced.iter().map(|(_, r)| r.len()).sum::<usize>();
        self.since_rotation
            .fetch_add(total as u64, Ordering::Relaxed);
        self.logged_end.fetch_add(total as u64, Ordering::Relaxed);
        let mut file = self.file.lock();
        self.write_out(&mut file)?;
        let mut at = 0;
        let mut written = Ok(());
        for (pos, record) in spliced {
            written = written
                .and_then(|()| file.write(&self.fs, &frame[at..*pos]))
                .and_then(|()| file.write(&self.fs, record));
            at = *pos;
        }
        if let Err(e) = written.and_then(|()| file.write(&self.fs, &frame[at..])) {
            self.poisoned.store(true, Ordering::Release);
            return Err(Error::io(&self.active_path, e));
        }
        // Under the file lock: a sync that sees this LSN finds its frame in the file.
        self.pending.lock().last_lsn = lsn;
        Ok(())
    }

    pub fn bytes_since_rotation(&self) -> u64 {
        self.since_rotation.load(Ordering::Relaxed)
    }

    /// Writes the buffered frames to the active file; returns the last LSN written.
    fn write_out(&self, file: &mut ActiveFile) -> Result<u64> {
        let (mut buf, lsn) = {
            let mut p = self.pending.lock();
            let spare = std::mem::take(&mut p.spare);
            (std::mem::replace(&mut p.buf, spare), p.last_lsn)
        };
        if !buf.is_empty() {
            let written = file.write(&self.fs, &buf);
            if let Err(e) = written {
                self.poisoned.store(true, Ordering::Release);
                return Err(Error::io(&self.active_path, e));
            }
        }
        buf.clear();
        buf.shrink_to(2 * BUFFER_LIMIT);
        self.pending.lock().spare = buf;
        Ok(lsn)
    }

    /// Writes out and fsyncs everything logged so far; returns the durable LSN.
    pub fn sync_now(&self) -> Result<u64> {
        let mut file = self.file.lock();
        let lsn = self.write_out(&mut file)?;
        if lsn > self.durable_lsn.load(Ordering::Acquire) {
            if let Err(e) = self.fs.sync_data(&file.file) {
                self.poisoned.store(true, Ordering::Release);
                self.synced.notify_all();
                return Err(Error::io(&self.active_path, e));
            }
            self.durable_lsn.fetch_max(lsn, Ordering::AcqRel);
        }
        drop(file);
        let _guard = self.sync.lock();
        self.synced.notify_all();
        Ok(lsn)
    }

    pub fn durability(&self) -> Durability {
        match self.durability.load(Ordering::Acquire) {
            0 => Durability::Always,
            1 => Durability::EverySec,
            _ => Durability::No,
        }
    }

    /// Changes the policy of an open WAL; the sync thread follows at once. (Preallocation
    /// with written zeros follows from the next file on.)
    pub fn set_durability(&self, durability: Durability) {
        self.durability
            .store(durability_code(durability), Ordering::Release);
        let _guard = self.sync.lock();
        self.sync_wanted.notify_all();
    }

    /// Waits until `lsn` is durable (the `Always` policy).
    pub fn wait_durable(&self, lsn: u64) -> Result<()> {
        if self.durable_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        let mut state = self.sync.lock();
        state.requested = state.requested.max(lsn);
        self.sync_wanted.notify_one();
        while self.durable_lsn.load(Ordering::Acquire) < lsn {
            self.check_poisoned()?;
            if state.stop {
                drop(state);
                self.sync_now()?;
                return Ok(());
            }
            self.synced.wait(&mut state);
        }
        Ok(())
    }

    /// The body of the sync thread: fsyncs on demand (`Always`), every second (`EverySec`), or
    /// writes out every second without fsync (`No`). Returns when [`Wal::stop_sync`] is called.
    pub fn run_sync_thread(&self) {
        let period = Duration::from_secs(1);
        let mut last = Instant::now();
        loop {
            let mut state = self.sync.lock();
            if state.stop {
                return;
            }
            let wanted = state.requested > self.durable_lsn.load(Ordering::Acquire);
            if !wanted {
                let timeout = period.saturating_sub(last.elapsed());
                if !timeout.is_zero() {
                    self.sync_wanted.wait_for(&mut state, timeout);
                }
                if state.stop {
                    return;
                }
            }
            let wanted = state.requested > self.durable_lsn.load(Ordering::Acquire);
            drop(state);
            let due = last.elapsed() >= period;
            let result = match self.durability() {
                _ if wanted => self.sync_now().map(drop),
                Durability::EverySec if due => self.sync_now().map(drop),
                Durability::No if due => self.write_out(&mut self.file.lock()).map(drop),
                _ => Ok(()),
            };
            if due {
                last = Instant::now();
            }
            if let Err(e) = result {
                tracing::error!("WAL sync failed, store poisoned: {e}");
                let _guard = self.sync.lock();
                self.synced.notify_all();
                return;
            }
        }
    }

    pub fn stop_sync(&self) {
        let mut state = self.sync.lock();
        state.stop = true;
        self.sync_wanted.notify_all();
        self.synced.notify_all();
    }

    /// Gives back the space preallocated past the last frame, for a store that is closing
    /// (opening preallocates again).
    pub fn release_reserve(&self) -> Result<()> {
        let mut file = self.file.lock();
        self.write_out(&mut file)?;
        if file.allocated > file.len {
            self.fs
                .set_len(&file.file, file.len)
                .at(&self.active_path)?;
            file.allocated = file.len;
            self.allocated.store(file.len, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Seals the active file as `wal_NNNNNN.log` (fsynced) and starts a new active file.
    /// Called under the store's writer lock, so no frame is appended meanwhile.
    pub fn rotate(&self) -> Result<PathBuf> {
        let mut file = self.file.lock();
        // The next active file is made first, under a name of its own: a full disk stops the
        // rotation here, before it changes anything, and the store works on.
        let next_path = self.dir.join(NEXT_ACTIVE_NAME);
        let next = match create_active(&self.fs, &next_path, &self.dir, file.zeros) {
            Ok(next) => next,
            Err(e) => {
                let _ = self.fs.remove_file(&next_path);
                if !e.is_storage_full() {
                    self.poison();
                }
                return Err(e);
            }
        };
        let sealed = self.dir.join(sealed_name(file.next_seq));
        // Half done, a rotation leaves the WAL's files in no state appends may follow.
        if let Err(e) = self.seal_and_switch(&mut file, next, &next_path, &sealed) {
            drop(file);
            self.poison();
            return Err(e);
        }
        drop(file);
        let _guard = self.sync.lock();
        self.synced.notify_all();
        Ok(sealed)
    }

    /// Writes out and fsyncs the active file, renames it `sealed`, and puts `next` in its place.
    fn seal_and_switch(
        &self,
        file: &mut ActiveFile,
        next: File,
        next_path: &Path,
        sealed: &Path,
    ) -> Result<()> {
        let lsn = self.write_out(file)?;
        // A sealed file ends with its last frame: give back the preallocated space.
        self.fs
            .set_len(&file.file, file.len)
            .at(&self.active_path)?;
        self.fs.sync_all(&file.file).at(&self.active_path)?;
        self.durable_lsn.fetch_max(lsn, Ordering::AcqRel);
        self.fs.rename(&self.active_path, sealed).at(sealed)?;
        self.fs
            .rename(next_path, &self.active_path)
            .at(&self.active_path)?;
        sync_dir(&self.fs, &self.dir)?;
        file.file = next;
        file.len = FILE_HEADER_LEN as u64;
        file.allocated = file.len + PREALLOCATE;
        self.logged_end.store(file.len, Ordering::Relaxed);
        self.allocated.store(file.allocated, Ordering::Relaxed);
        file.next_seq += 1;
        self.since_rotation.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Every WAL file present in replay order, each with whether it is the active one:
    /// numbered ones first, then the active one.
    pub fn files_in_order(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
        let mut files: Vec<(PathBuf, bool)> = Wal::sealed_files(dir)?
            .into_iter()
            .map(|p| (p, false))
            .collect();
        let active = dir.join(ACTIVE_NAME);
        if active.exists() {
            files.push((active, true));
        }
        Ok(files)
    }

    /// The numbered WAL files present, in order.
    pub fn sealed_files(dir: &Path) -> Result<Vec<PathBuf>> {
        let mut seqs = Vec::new();
        for entry in std::fs::read_dir(dir).at(dir)? {
            let name = entry.at(dir)?.file_name();
            if let Some(seq) = name.to_str().and_then(parse_sealed_name) {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        Ok(seqs.into_iter().map(|s| dir.join(sealed_name(s))).collect())
    }
}

/// Extends `file` from `from` to `to` with zeros: written (so that their blocks exist) when
/// `written`, else reserved (`fallocate`, read back as zeros).
fn preallocate(fs: &Fs, file: &File, from: u64, to: u64, written: bool) -> std::io::Result<()> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    if !written {
        return fs.allocate(file, from, to - from);
    }
    let mut at = from;
    while at < to {
        let n = (to - at).min(ZEROS.len() as u64) as usize;
        fs.write_at(file, &ZEROS[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

fn create_active(fs: &Fs, path: &Path, dir: &Path, zeros: bool) -> Result<File> {
    let file = fs.create(path).at(path)?;
    fs.write_at(&file, &file_header(), 0).at(path)?;
    preallocate(
        fs,
        &file,
        FILE_HEADER_LEN as u64,
        FILE_HEADER_LEN as u64 + PREALLOCATE,
        zeros,
    )
    .at(path)?;
    fs.sync_all(&file).at(path)?;
    sync_dir(fs, dir)?;
    Ok(file)
}

/// Encodes a single-record frame; for tests.
#[cfg(test)]
pub(crate) fn one_op_frame(
    lsn: u64,
    segment: u32,
    offset: u64,
    key: &[u8],
    value: &[u8],
) -> Vec<u8> {
    let mut rec = Vec::new();
    crate::record::encode_put(1, key, value, 0, &mut rec);
    let mut buf = Vec::new();
    let mut f = FrameBuilder::new(&mut buf, lsn);
    f.op(segment, offset, &rec);
    let _ = f.finish();
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_written_around_a_large_record_is_the_frame_with_it_copied() {
        let mut small = Vec::new();
        crate::record::encode_put(7, b"small", b"value", 0, &mut small);
        // Incompressible, so that its record stays past SPLICE_AT.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let large_value: Vec<u8> = (0..SPLICE_AT + 10)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut large = Vec::new();
        crate::record::encode_put(9, b"large", &large_value, 0, &mut large);
        assert!(large.len() >= SPLICE_AT);

        let mut copied = Vec::new();
        let mut builder = FrameBuilder::new(&mut copied, 42);
        builder.op(3, 64, &small);
        builder.op(3, 64 + small.len() as u64, &large);
        builder.op(0, 0, &small);
        assert!(builder.finish().is_empty());

        let mut buf = Vec::new();
        let mut builder = FrameBuilder::new(&mut buf, 42);
        builder.op_shared(3, 64, &small);
        builder.op_shared(3, 64 + small.len() as u64, &large);
        builder.op(0, 0, &small);
        let spliced = builder.finish();
        assert_eq!(spliced.len(), 1, "only the large record is left out");
        let mut written = Vec::new();
        let mut at = 0;
        for (pos, record) in &spliced {
            written.extend_from_slice(&buf[at..*pos]);
            written.extend_from_slice(record);
            at = *pos;
        }
        written.extend_from_slice(&buf[at..]);
        assert_eq!(written, copied);
        let (frame, len) = parse_frame(&written).expect("a valid frame");
        assert_eq!((frame.lsn, frame.ops.len(), len), (42, 3, written.len()));
    }

    fn wal_file(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = file_header().to_vec();
        for f in frames {
            bytes.extend_from_slice(f);
        }
        bytes
    }

    fn read(bytes: &[u8], active: bool) -> Result<WalFileContents> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.log");
        std::fs::write(&path, bytes).expect("write");
        WalFileContents::read(&path, active)
    }

    #[test]
    fn frames_round_trip() {
        let frames: Vec<_> = (1..=3)
            .map(|l| one_op_frame(l, 1, 64 * l, b"k", b"v"))
            .collect();
        let contents = read(&wal_file(&frames), false).expect("reads");
        let read: Vec<_> = contents
            .frames()
            .map(|f| (f.lsn, f.ops[0].offset))
            .collect();
        assert_eq!(read, vec![(1, 64), (2, 128), (3, 192)]);
    }

    #[test]
    fn a_torn_tail_is_cut_at_every_length() {
        let frames: Vec<_> = (1..=3)
            .map(|l| one_op_frame(l, 1, 64 * l, b"key", b"value"))
            .collect();
        let full = wal_file(&frames);
        let two = wal_file(&frames[..2]).len();
        for cut in two..full.len() {
            let contents = read(&full[..cut], true).expect("a torn tail is not an error");
            assert_eq!(contents.frames().count(), 2, "cut at {cut}");
            assert_eq!(contents.valid_len, two);
        }
    }

    #[test]
    fn damage_before_valid_frames_is_corruption() {
        let frames: Vec<_> = (1..=3)
            .map(|l| one_op_frame(l, 1, 64 * l, b"key", b"value"))
            .collect();
        let mut bytes = wal_file(&frames);
        let second = FILE_HEADER_LEN + frames[0].len() + 20;
        bytes[second] ^= 1;
        let err = read(&bytes, true).err().expect("corrupt");
        assert!(
            matches!(err, Error::Corrupt { offset, .. } if offset == (FILE_HEADER_LEN + frames[0].len()) as u64),
            "{err}"
        );
    }

    #[test]
    fn preallocated_zeros_end_the_log_cleanly() {
        let frames: Vec<_> = (1..=2)
            .map(|l| one_op_frame(l, 1, 64 * l, b"key", b"value"))
            .collect();
        let mut bytes = wal_file(&frames);
        let end = bytes.len();
        bytes.resize(end + 4096, 0);
        let contents = read(&bytes, true).expect("reads");
        assert_eq!(contents.frames().count(), 2);
        assert_eq!(contents.valid_len, end);
        assert!(!contents.has_torn_tail());
    }

    #[test]
    fn a_zeroed_frame_before_valid_ones_is_corruption() {
        let frames: Vec<_> = (1..=3)
            .map(|l| one_op_frame(l, 1, 64 * l, b"key", b"value"))
            .collect();
        let mut bytes = wal_file(&frames);
        bytes[FILE_HEADER_LEN..FILE_HEADER_LEN + 4].fill(0);
        assert!(matches!(read(&bytes, true), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn a_sealed_file_reports_any_damage() {
        let frames: Vec<_> = (1..=2)
            .map(|l| one_op_frame(l, 1, 64 * l, b"key", b"value"))
            .collect();
        let mut bytes = wal_file(&frames);
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        assert!(matches!(read(&bytes, false), Err(Error::Corrupt { .. })));
    }
}
