//! cairn's file layer: every operation by which a storage engine changes a file or a
//! directory goes through an [`Fs`], so that a test can make the disk fail.
//!
//! An engine holds an `Fs` (the operating system's by default, [`Fs::os`]) and calls it
//! instead of `std::fs` to create, write, extend, truncate, sync, rename and remove; it reads
//! with the `std::fs::File` the `Fs` hands back (plain `pread`s, or a memory map). Writes made
//! through a shared memory map are announced first with [`Fs::before_mapped_write`].
//!
//! With [`Faults`] attached ([`Fs::with_faults`]) the same calls keep a record of what a
//! power cut would take away — every write, length change and directory entry change not yet
//! covered by an fsync of its file or its directory — and follow a plan:
//!
//! * **a failing disk**: the n-th operation returns `EIO` or `ENOSPC`, or writes half its bytes
//!   and then fails (a short write); a full disk refuses every allocation until freed;
//! * **a power cut**: from the n-th operation on the power is off (every operation fails), and
//!   [`Faults::power_cut`] then undoes on disk what was not durable — for each file a random
//!   suffix of its unsynced writes (the first of them possibly torn at a sector boundary), for
//!   each directory a random suffix of its unsynced entry changes — leaving the files exactly
//!   as a machine that lost power at that moment could find them on reboot.
//!
//! This is stricter than a journaling file system: a file created but never followed by an
//! fsync of its directory may vanish, a renamed file may come back under its old name, and
//! the data of writes not covered by an fsync may be lost in any per-file suffix, which is what
//! POSIX promises and no more. Without faults an `Fs` is the plain system calls and costs one
//! branch.

mod faults;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use faults::{CutReport, Fault, Faults, OpKind};

/// The file layer an engine writes through: the operating system's, or one with [`Faults`].
#[derive(Clone, Default)]
pub struct Fs {
    faults: Option<Arc<Faults>>,
}

impl std::fmt::Debug for Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.faults.is_some() {
            "Fs(with faults)"
        } else {
            "Fs(os)"
        })
    }
}

impl Fs {
    /// The operating system's file layer.
    pub fn os() -> Fs {
        Fs::default()
    }

    /// A file layer that follows the plan of `faults` and records what a power cut loses.
    pub fn with_faults(faults: Arc<Faults>) -> Fs {
        Fs {
            faults: Some(faults),
        }
    }

    /// Opens `path` with `options`, which must not truncate (use [`Fs::create`]).
    pub fn open(&self, path: &Path, options: &OpenOptions) -> io::Result<File> {
        match &self.faults {
            None => options.open(path),
            Some(f) => f.open(path, options),
        }
    }

    /// Creates `path` for reading and writing, truncating it if it exists.
    pub fn create(&self, path: &Path) -> io::Result<File> {
        match &self.faults {
            None => OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path),
            Some(f) => f.create(path),
        }
    }

    /// Writes all of `buf` at `offset`.
    pub fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
        match &self.faults {
            None => file.write_all_at(buf, offset),
            Some(f) => f.write_at(file, buf, offset),
        }
    }

    /// Announces that `len` bytes at `offset` of `file` are about to change through a shared
    /// memory map of it. Such a write cannot fail; with faults, it is recorded like a write.
    #[inline]
    pub fn before_mapped_write(&self, file: &File, offset: u64, len: u64) {
        if let Some(f) = &self.faults {
            f.before_mapped_write(file, offset, len);
        }
    }

    /// Sets the file's length (cutting it or extending it with a hole).
    pub fn set_len(&self, file: &File, len: u64) -> io::Result<()> {
        match &self.faults {
            None => file.set_len(len),
            Some(f) => f.set_len(file, len),
        }
    }

    /// Reserves disk blocks for `len` bytes at `offset` (`posix_fallocate`), extending the file
    /// if that lies past its end: a later write there cannot fail for want of space.
    pub fn allocate(&self, file: &File, offset: u64, len: u64) -> io::Result<()> {
        match &self.faults {
            None => fallocate(file, offset, len),
            Some(f) => f.allocate(file, offset, len),
        }
    }

    /// Makes the file's data and metadata durable (`fsync`).
    pub fn sync_all(&self, file: &File) -> io::Result<()> {
        match &self.faults {
            None => file.sync_all(),
            Some(f) => f.sync(file),
        }
    }

    /// Makes the file's data durable (`fdatasync`).
    pub fn sync_data(&self, file: &File) -> io::Result<()> {
        match &self.faults {
            None => file.sync_data(),
            Some(f) => f.sync(file),
        }
    }

    /// Makes the entries of directory `dir` (files created, renamed or removed in it) durable.
    pub fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        match &self.faults {
            None => File::open(dir).and_then(|d| d.sync_all()),
            Some(f) => f.sync_dir(dir),
        }
    }

    /// Renames `from` to `to`, replacing `to` atomically. Durable once the directory of `to`
    /// is synced.
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        match &self.faults {
            None => std::fs::rename(from, to),
            Some(f) => f.rename(from, to),
        }
    }

    /// Removes the file `path`. Durable once its directory is synced.
    pub fn remove_file(&self, path: &Path) -> io::Result<()> {
        match &self.faults {
            None => std::fs::remove_file(path),
            Some(f) => f.remove_file(path),
        }
    }

    /// Creates `dir` and its missing parents, each made durable in its own parent, so that a
    /// power cut cannot take away a directory whose files were synced.
    pub fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at {
            if d.as_os_str().is_empty() || d.is_dir() {
                break;
            }
            missing.push(d.to_path_buf());
            at = d.parent();
        }
        for d in missing.iter().rev() {
            match &self.faults {
                None => match std::fs::create_dir(d) {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    other => other?,
                },
                Some(f) => f.create_dir(d)?,
            }
            self.sync_dir(&parent_of(d))?;
        }
        Ok(())
    }

    /// Replaces `path` with `bytes` atomically and durably: written to `path` + `.tmp`, synced,
    /// renamed over `path`, and the directory synced. A failure before the rename leaves
    /// `path` as it was and removes the temporary file.
    pub fn write_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = tmp_path(path);
        let written = self.create(&tmp).and_then(|file| {
            self.write_at(&file, bytes, 0)?;
            self.sync_all(&file)
        });
        if let Err(e) = written {
            // Give back the space of a partial file (a full disk is the usual cause).
            let _ = self.remove_file(&tmp);
            return Err(e);
        }
        self.rename(&tmp, path)?;
        self.sync_dir(&parent_of(path))
    }
}

/// Whether an I/O error says the disk (or a quota) is full (`ENOSPC`, `EDQUOT`): nothing was
/// written, and the operation may succeed once space is freed.
pub fn is_storage_full(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// `path` with `.tmp` appended to its file name: where [`Fs::write_atomically`] writes first.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn fallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Err(io::Error::other("allocation out of range"));
    };
    if len == 0 {
        return Ok(());
    }
    // SAFETY: a plain system call on a descriptor the caller owns; no memory is passed.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), offset, len) };
    match rc {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}
