//! The fault plan and the record of what is not yet durable (see the crate doc).
//!
//! Invariants: every file an operation touched is held open by its device and inode number
//! (so the inode cannot be reused while a power cut may still need it), with the list of its
//! changes since its last fsync, each with what it overwrote; every directory entry change
//! since the last fsync of its directory is in one ordered log, a replaced or removed file kept
//! alive by a hard link in the keep directory. An fsync drops the changes it makes durable; a
//! power cut undoes, newest first, a random suffix of what remains.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A failure planned for one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The operation fails with `EIO` and changes nothing (an fsync: nothing became durable).
    Eio,
    /// The operation fails with `ENOSPC` and changes nothing.
    Enospc,
    /// A write lands half its bytes, then fails with `ENOSPC`; other operations fail with `EIO`.
    ShortWrite,
}

/// The kinds of operation a fault can be aimed at ([`Faults::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    /// [`crate::Fs::write_at`].
    Write,
    /// [`crate::Fs::sync_all`], [`crate::Fs::sync_data`] and [`crate::Fs::sync_dir`].
    Sync,
    /// [`crate::Fs::allocate`].
    Allocate,
    /// Everything else: opening, creating, length changes, renames, removals.
    Other,
}

/// What a power cut took away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutReport {
    /// Unsynced writes and length changes undone.
    pub writes_undone: usize,
    /// Unsynced writes kept.
    pub writes_kept: usize,
    /// Whether one write was torn (partly kept).
    pub torn: usize,
    /// Directory entry changes undone.
    pub entries_undone: usize,
}

/// The plan of failures, and the record of everything not yet durable.
#[derive(Debug)]
pub struct Faults {
    keep_dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Operations so far.
    ops: u64,
    /// The power goes off at this operation.
    power_off_at: Option<u64>,
    power_off: bool,
    planned: BTreeMap<u64, Fault>,
    /// Faults for the next operation of a kind, with how many of that kind to let pass first.
    aimed: BTreeMap<OpKind, (u64, Fault)>,
    disk_full: bool,
    files: HashMap<(u64, u64), Tracked>,
    entries: Vec<EntryChange>,
    kept: u64,
}

#[derive(Debug)]
struct Tracked {
    /// A descriptor of our own (never `O_DIRECT`) for reading what a change overwrites.
    file: File,
    changes: Vec<Change>,
}

/// A change to a file's bytes, with what it overwrote.
#[derive(Debug)]
enum Change {
    /// `len` bytes written at `offset`; `old` held the bytes there (as many as existed).
    Write {
        offset: u64,
        len: u64,
        old: Vec<u8>,
        old_len: u64,
    },
    /// The length changed from `old_len`; `tail` is what a shrink cut off.
    Len { old_len: u64, tail: Vec<u8> },
}

/// A change to a directory's entries, kept until the directory is synced.
#[derive(Debug)]
struct EntryChange {
    dir: PathBuf,
    kind: EntryKind,
}

#[derive(Debug)]
enum EntryKind {
    Created(PathBuf),
    CreatedDir(PathBuf),
    Renamed {
        from: PathBuf,
        to: PathBuf,
        replaced: Option<PathBuf>,
    },
    Removed {
        path: PathBuf,
        kept: PathBuf,
    },
}

fn power_is_off() -> io::Error {
    io::Error::other("injected fault: the power is off")
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

/// `path` without `.` components or a trailing slash, so two spellings of one directory
/// compare equal.
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn dir_of(path: &Path) -> PathBuf {
    normal(&crate::parent_of(path))
}

/// The next number of a xorshift64* sequence.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

impl Faults {
    /// A plan with no failure yet. `keep_dir` (created if missing, on the same file system as
    /// the files under test, outside their directories) holds the hard links that keep
    /// replaced and removed files until a power cut might bring them back.
    pub fn new(keep_dir: impl Into<PathBuf>) -> io::Result<Arc<Faults>> {
        let keep_dir = keep_dir.into();
        std::fs::create_dir_all(&keep_dir)?;
        Ok(Arc::new(Faults {
            keep_dir,
            state: Mutex::new(State::default()),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Operations so far (each call of the [`crate::Fs`] that changes or syncs something).
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// The power goes off at operation number `op` (counting from 1): it and every later one
    /// fail.
    pub fn power_off_at(&self, op: u64) {
        self.lock().power_off_at = Some(op);
    }

    /// The power goes off now.
    pub fn power_off(&self) {
        self.lock().power_off = true;
    }

    /// Whether the power is off.
    pub fn is_power_off(&self) -> bool {
        self.lock().power_off
    }

    /// Operation number `op` fails with `fault`.
    pub fn fail_at(&self, op: u64, fault: Fault) {
        self.lock().planned.insert(op, fault);
    }

    /// The operation of kind `kind` after the next `skip` ones of that kind fails with `fault`.
    pub fn fail_next(&self, kind: OpKind, skip: u64, fault: Fault) {
        self.lock().aimed.insert(kind, (skip, fault));
    }

    /// While full, the disk refuses every write or allocation that would grow a file.
    pub fn set_disk_full(&self, full: bool) {
        self.lock().disk_full = full;
    }

    /// Counts one operation and says what happens to it: `Err` if the power is off (or goes
    /// off now), else the fault planned for it, if any.
    fn step(&self, st: &mut State, kind: OpKind) -> io::Result<Option<Fault>> {
        Faults::count(st);
        if st.power_off {
            return Err(power_is_off());
        }
        if let Some(fault) = st.planned.remove(&st.ops) {
            return Ok(Some(fault));
        }
        match st.aimed.get_mut(&kind) {
            Some((0, fault)) => {
                let fault = *fault;
                st.aimed.remove(&kind);
                Ok(Some(fault))
            }
            Some((skip, _)) => {
                *skip -= 1;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Counts one operation, the power going off at it if planned so.
    fn count(st: &mut State) {
        st.ops += 1;
        if st.power_off_at == Some(st.ops) {
            st.power_off = true;
        }
    }

    /// Like [`Faults::step`] for an operation that plans no fault of its own: a planned one
    /// fails it with `EIO` (`ENOSPC` if planned so).
    fn step_simple(&self, st: &mut State, kind: OpKind) -> io::Result<()> {
        match self.step(st, kind)? {
            None => Ok(()),
            Some(Fault::Enospc) => Err(enospc()),
            Some(_) => Err(eio()),
        }
    }

    fn tracked<'s>(st: &'s mut State, file: &File) -> io::Result<&'s mut Tracked> {
        let meta = file.metadata()?;
        let key = (meta.dev(), meta.ino());
        match st.files.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let own = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
                Ok(e.insert(Tracked {
                    file: own,
                    changes: Vec::new(),
                }))
            }
        }
    }

    /// Records that `len` bytes at `offset` are about to be written.
    fn record_write(st: &mut State, file: &File, offset: u64, len: u64) -> io::Result<()> {
        let t = Faults::tracked(st, file)?;
        let old_len = t.file.metadata()?.len();
        let have = old_len.saturating_sub(offset).min(len);
        let mut old = vec![0u8; have as usize];
        t.file.read_exact_at(&mut old, offset)?;
        t.changes.push(Change::Write {
            offset,
            len,
            old,
            old_len,
        });
        Ok(())
    }

    fn record_len(st: &mut State, file: &File, new_len: u64) -> io::Result<()> {
        let t = Faults::tracked(st, file)?;
        let old_len = t.file.metadata()?.len();
        let mut tail = vec![0u8; old_len.saturating_sub(new_len) as usize];
        t.file.read_exact_at(&mut tail, new_len)?;
        t.changes.push(Change::Len { old_len, tail });
        Ok(())
    }

    /// Whether writes to `file` are durable when they return (`O_SYNC`, `O_DSYNC`).
    fn writes_through(file: &File) -> bool {
        // SAFETY: F_GETFL on a descriptor we borrow; no memory is passed.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
        flags >= 0 && flags & (libc::O_DSYNC | libc::O_SYNC) != 0
    }

    fn synced(st: &mut State, file: &File) -> io::Result<()> {
        let meta = file.metadata()?;
        if let Some(t) = st.files.get_mut(&(meta.dev(), meta.ino())) {
            t.changes.clear();
        }
        Ok(())
    }

    pub(crate) fn open(&self, path: &Path, options: &OpenOptions) -> io::Result<File> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Other)?;
        let existed = path.exists();
        let file = options.open(path)?;
        if !existed {
            st.entries.push(EntryChange {
                dir: dir_of(path),
                kind: EntryKind::Created(normal(path)),
            });
        }
        Ok(file)
    }

    pub(crate) fn create(&self, path: &Path) -> io::Result<File> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Other)?;
        let existed = path.exists();
        // Truncated below, once what the truncation cuts off is recorded.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if existed {
            Faults::record_len(&mut st, &file, 0)?;
            file.set_len(0)?;
        } else {
            st.entries.push(EntryChange {
                dir: dir_of(path),
                kind: EntryKind::Created(normal(path)),
            });
        }
        Ok(file)
    }

    pub(crate) fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut st = self.lock();
        let fault = self.step(&mut st, OpKind::Write)?;
        let end = offset + buf.len() as u64;
        if st.disk_full && end > file.metadata()?.len() {
            return Err(enospc());
        }
        let landed = match fault {
            None => buf.len(),
            Some(Fault::Eio) => return Err(eio()),
            Some(Fault::Enospc) => return Err(enospc()),
            Some(Fault::ShortWrite) => buf.len() / 2,
        };
        Faults::record_write(&mut st, file, offset, landed as u64)?;
        file.write_all_at(&buf[..landed], offset)?;
        if landed < buf.len() {
            return Err(enospc());
        }
        if Faults::writes_through(file) {
            Faults::synced(&mut st, file)?;
        }
        Ok(())
    }

    pub(crate) fn before_mapped_write(&self, file: &File, offset: u64, len: u64) {
        let mut st = self.lock();
        // A store through a mapping cannot fail: it counts as an operation, takes no planned
        // fault, and lands even with the power off (the cut undoes it).
        Faults::count(&mut st);
        if let Err(e) = Faults::record_write(&mut st, file, offset, len) {
            panic!("fault layer: cannot record a mapped write: {e}");
        }
    }

    pub(crate) fn set_len(&self, file: &File, len: u64) -> io::Result<()> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Other)?;
        Faults::record_len(&mut st, file, len)?;
        file.set_len(len)
    }

    pub(crate) fn allocate(&self, file: &File, offset: u64, len: u64) -> io::Result<()> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Allocate)?;
        let old_len = file.metadata()?.len();
        let grows = offset + len > old_len;
        if grows && st.disk_full {
            return Err(enospc());
        }
        if grows {
            Faults::record_len(&mut st, file, offset + len)?;
        }
        crate::fallocate(file, offset, len)
    }

    pub(crate) fn sync(&self, file: &File) -> io::Result<()> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Sync)?;
        // The real fsync is not needed: durability is what this record says it is.
        Faults::synced(&mut st, file)
    }

    pub(crate) fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Sync)?;
        let dir = normal(dir);
        st.entries.retain(|e| e.dir != dir);
        Ok(())
    }

    /// A hard link to `path` in the keep directory, so its inode outlives a rename over it or
    /// its removal.
    fn keep(&self, st: &mut State, path: &Path) -> io::Result<PathBuf> {
        st.kept += 1;
        let kept = self.keep_dir.join(format!("kept-{}", st.kept));
        std::fs::hard_link(path, &kept)?;
        Ok(kept)
    }

    pub(crate) fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Other)?;
        let replaced = match std::fs::symlink_metadata(to) {
            Ok(m) if m.is_file() => Some(self.keep(&mut st, to)?),
            _ => None,
        };
        std::fs::rename(from, to)?;
        st.entries.push(EntryChange {
            dir: dir_of(to),
            kind: EntryKind::Renamed {
                from: normal(from),
                to: normal(to),
                replaced,
            },
        });
        Ok(())
    }

    pub(crate) fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Other)?;
        let kept = self.keep(&mut st, path)?;
        std::fs::remove_file(path)?;
        st.entries.push(EntryChange {
            dir: dir_of(path),
            kind: EntryKind::Removed {
                path: normal(path),
                kept,
            },
        });
        Ok(())
    }

    pub(crate) fn create_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.lock();
        self.step_simple(&mut st, OpKind::Other)?;
        match std::fs::create_dir(dir) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            other => other?,
        }
        st.entries.push(EntryChange {
            dir: dir_of(dir),
            kind: EntryKind::CreatedDir(normal(dir)),
        });
        Ok(())
    }

    /// The power cut: turns the power off (if it is not already) and undoes on disk what it
    /// takes away, chosen by `seed`. Call it once whatever was writing has stopped (the store
    /// dropped); afterwards the record is empty and the power back on, with no plan.
    pub fn power_cut(&self, seed: u64) -> io::Result<CutReport> {
        let mut st = self.lock();
        st.power_off = true;
        let mut rng = seed | 1;
        let mut report = CutReport::default();
        let mut files: Vec<_> = st.files.drain().collect();
        files.sort_by_key(|(key, _)| *key);
        for (_, tracked) in &mut files {
            undo_file_suffix(tracked, &mut rng, &mut report)?;
        }
        drop(files);
        let entries = std::mem::take(&mut st.entries);
        undo_entry_suffixes(entries, &mut rng, &mut report)?;
        *st = State {
            ops: st.ops,
            kept: st.kept,
            ..State::default()
        };
        Ok(report)
    }
}

/// Undoes a random suffix of the file's unsynced changes, newest first; the oldest undone
/// write may be torn (a sector-aligned prefix of it kept).
fn undo_file_suffix(t: &mut Tracked, rng: &mut u64, report: &mut CutReport) -> io::Result<()> {
    let n = t.changes.len();
    let keep = (next_random(rng) % (n as u64 + 1)) as usize;
    report.writes_kept += keep;
    report.writes_undone += n - keep;
    let tear = next_random(rng).is_multiple_of(2);
    for (i, change) in t.changes.iter().enumerate().skip(keep).rev() {
        match change {
            Change::Write {
                offset,
                len,
                old,
                old_len,
            } => {
                // Bytes of the new write kept: a torn write keeps whole sectors of it.
                let kept = if i == keep && tear && *len > 512 {
                    report.torn += 1;
                    (next_random(rng) % (len / 512)) * 512
                } else {
                    0
                };
                let restore_from = kept.min(old.len() as u64);
                t.file
                    .write_all_at(&old[restore_from as usize..], offset + restore_from)?;
                let end = offset + len;
                if end > *old_len {
                    t.file.set_len((*old_len).max(offset + kept))?;
                }
            }
            Change::Len { old_len, tail } => {
                t.file.set_len(*old_len)?;
                if !tail.is_empty() {
                    t.file.write_all_at(tail, old_len - tail.len() as u64)?;
                }
            }
        }
    }
    t.changes.clear();
    Ok(())
}

/// Undoes, for each directory, a random suffix of its unsynced entry changes, newest first
/// across all directories.
fn undo_entry_suffixes(
    entries: Vec<EntryChange>,
    rng: &mut u64,
    report: &mut CutReport,
) -> io::Result<()> {
    let mut per_dir: BTreeMap<&Path, usize> = BTreeMap::new();
    for e in &entries {
        *per_dir.entry(&e.dir).or_default() += 1;
    }
    let keep: BTreeMap<&Path, usize> = per_dir
        .iter()
        .map(|(dir, n)| (*dir, (next_random(rng) % (*n as u64 + 1)) as usize))
        .collect();
    let mut seen: BTreeMap<&Path, usize> = BTreeMap::new();
    let undone: Vec<bool> = entries
        .iter()
        .map(|e| {
            let i = seen.entry(&e.dir).or_default();
            *i += 1;
            *i > keep[e.dir.as_path()]
        })
        .collect();
    for (e, undo) in entries.iter().zip(undone).rev() {
        if !undo {
            continue;
        }
        report.entries_undone += 1;
        let ignore_missing = |r: io::Result<()>| match r {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        match &e.kind {
            EntryKind::Created(path) => ignore_missing(std::fs::remove_file(path))?,
            EntryKind::CreatedDir(path) => ignore_missing(std::fs::remove_dir_all(path))?,
            EntryKind::Renamed { from, to, replaced } => {
                ignore_missing(std::fs::rename(to, from))?;
                if let Some(kept) = replaced {
                    std::fs::rename(kept, to)?;
                }
            }
            EntryKind::Removed { path, kept } => std::fs::rename(kept, path)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fs;

    fn setup() -> (tempfile::TempDir, PathBuf, Arc<Faults>, Fs) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("store");
        std::fs::create_dir(&dir).expect("mkdir");
        let faults = Faults::new(tmp.path().join("keep")).expect("faults");
        let fs = Fs::with_faults(faults.clone());
        (tmp, dir, faults, fs)
    }

    #[test]
    fn synced_bytes_survive_and_unsynced_ones_are_a_prefix_of_the_writes() {
        for seed in 0..200u64 {
            let (_tmp, dir, faults, fs) = setup();
            let path = dir.join("f");
            let file = fs.create(&path).expect("create");
            fs.sync_dir(&dir).expect("sync dir");
            fs.write_at(&file, &[1u8; 4096], 0).expect("write");
            fs.sync_data(&file).expect("sync");
            for i in 0..4u8 {
                fs.write_at(&file, &[i + 2; 1024], 4096 + 1024 * i as u64)
                    .expect("write");
            }
            drop(file);
            faults.power_cut(seed).expect("cut");
            let bytes = std::fs::read(&path).expect("read");
            assert!(bytes.len() >= 4096 && bytes[..4096].iter().all(|&b| b == 1));
            // What follows is whole writes in order, then at most part of one.
            for (i, chunk) in bytes[4096..].chunks(1024).enumerate() {
                let whole = chunk.len() == 1024 && chunk.iter().all(|&b| b == i as u8 + 2);
                let torn = chunk.len() % 512 == 0 && chunk.iter().all(|&b| b == i as u8 + 2);
                assert!(whole || torn, "seed {seed}: chunk {i} is {chunk:?}");
            }
        }
    }

    #[test]
    fn entries_need_a_directory_sync_and_renames_come_back() {
        let mut lost_creation = false;
        let mut rename_undone = false;
        for seed in 0..64u64 {
            let (_tmp, dir, faults, fs) = setup();
            let a = dir.join("a");
            fs.write_atomically(&a, b"one").expect("write");
            let b = dir.join("b");
            let file = fs.create(&b).expect("create");
            fs.sync_all(&file).expect("sync");
            let tmp = crate::tmp_path(&a);
            let f = fs.create(&tmp).expect("create");
            fs.write_at(&f, b"two", 0).expect("write");
            fs.sync_all(&f).expect("sync");
            fs.rename(&tmp, &a).expect("rename");
            faults.power_cut(seed).expect("cut");
            let a_now = std::fs::read(&a).expect("a survives");
            assert!(a_now == b"one" || a_now == b"two", "{a_now:?}");
            rename_undone |= a_now == b"one";
            lost_creation |= !b.exists();
        }
        assert!(lost_creation && rename_undone);
    }

    #[test]
    fn planned_faults_fail_their_operation_and_the_power_stays_off() {
        let (_tmp, dir, faults, fs) = setup();
        let file = fs.create(&dir.join("f")).expect("create");
        faults.fail_at(faults.ops() + 1, Fault::ShortWrite);
        let err = fs.write_at(&file, &[7u8; 100], 0).expect_err("short");
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(file.metadata().expect("meta").len(), 50);
        faults.fail_at(faults.ops() + 1, Fault::Eio);
        assert_eq!(
            fs.sync_data(&file).expect_err("eio").raw_os_error(),
            Some(libc::EIO)
        );
        faults.set_disk_full(true);
        assert!(fs.write_at(&file, &[1; 10], 45).is_err());
        fs.write_at(&file, &[1; 10], 0).expect("within the file");
        faults.set_disk_full(false);
        fs.write_at(&file, &[1; 10], 45).expect("space freed");
        faults.power_off_at(faults.ops() + 2);
        fs.sync_data(&file).expect("before the cut");
        assert!(fs.sync_data(&file).is_err());
        assert!(fs.write_at(&file, b"x", 0).is_err());
    }
}
