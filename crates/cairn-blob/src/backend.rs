//! Backends: where stored atoms live, by hash.
//!
//! * [`LocalBackend`]: a folder sharded as the seed says, `ab/cd/<64 hex digits>` (the first
//!   two bytes of the hash name two directory levels); files are made durable together, by
//!   one `syncfs`, before the index names them;
//! * [`MemoryBackend`]: a map in memory, for tests.
//!
//! A backend stores whatever bytes it is given under a hash and never interprets them:
//! compression and verification happen above it.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::atom::AtomHash;
use crate::error::{Error, Result};

/// Storage of atoms by hash.
pub trait Backend: Send + Sync {
    /// Stores `bytes` under `hash`, replacing what may be there.
    fn put(&self, hash: &AtomHash, bytes: &[u8]) -> Result<()>;

    /// The bytes under `hash`, or `None`.
    fn get(&self, hash: &AtomHash) -> Result<Option<Vec<u8>>>;

    /// Deletes `hash`; deleting a missing atom is not an error.
    fn delete(&self, hash: &AtomHash) -> Result<()>;

    /// Every hash stored.
    fn list(&self) -> Result<Vec<AtomHash>>;

    /// Makes every `put` so far durable.
    fn flush(&self) -> Result<()>;

    /// Where the atoms are, for people.
    fn describe(&self) -> String;
}

/// Atoms in a local folder, `ab/cd/<hex>`.
pub struct LocalBackend {
    root: PathBuf,
    /// Shard directories known to exist.
    made_dirs: Mutex<HashSet<PathBuf>>,
    /// True when something was written or deleted since the last flush.
    dirty: std::sync::atomic::AtomicBool,
}

impl LocalBackend {
    /// The backend in `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<LocalBackend> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(LocalBackend {
            root,
            made_dirs: Mutex::new(HashSet::new()),
            dirty: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The file of `hash`.
    pub fn path_of(&self, hash: &AtomHash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }
}

impl Backend for LocalBackend {
    /// Writes the atom's file in place, without a temporary name: an atom is named by the
    /// index only after `flush` has made its file durable, so a file a crash cut short is
    /// never used — it is rewritten if the atom is added again, or swept by gc.
    fn put(&self, hash: &AtomHash, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(hash);
        let dir = path.parent().expect("sharded path");
        if !self.made_dirs.lock().contains(dir) {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            self.made_dirs.lock().insert(dir.to_path_buf());
        }
        fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn get(&self, hash: &AtomHash) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(hash);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn delete(&self, hash: &AtomHash) -> Result<()> {
        let path = self.path_of(hash);
        match fs::remove_file(&path) {
            Ok(()) => {
                self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn list(&self) -> Result<Vec<AtomHash>> {
        let mut hashes = Vec::new();
        let read = |dir: &Path| fs::read_dir(dir).map_err(|e| Error::io(dir, e));
        for first in read(&self.root)? {
            let first = first.map_err(|e| Error::io(&self.root, e))?.path();
            if !first.is_dir() {
                continue;
            }
            for second in read(&first)? {
                let second = second.map_err(|e| Error::io(&first, e))?.path();
                if !second.is_dir() {
                    continue;
                }
                for entry in read(&second)? {
                    let entry = entry.map_err(|e| Error::io(&second, e))?;
                    let name = entry.file_name();
                    if let Some(hash) = name.to_str().and_then(AtomHash::parse) {
                        hashes.push(hash);
                    }
                }
            }
        }
        Ok(hashes)
    }

    /// Makes every file and directory change durable with one `syncfs` of the filesystem
    /// the folder is on (instead of an fsync per atom and per directory).
    fn flush(&self) -> Result<()> {
        if !self.dirty.swap(false, std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let root = File::open(&self.root).map_err(|e| Error::io(&self.root, e))?;
        // SAFETY: syncfs only reads the descriptor, which `root` keeps open for the call.
        if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&root)) } != 0 {
            return Err(Error::io(&self.root, std::io::Error::last_os_error()));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// Atoms in memory.
#[derive(Default)]
pub struct MemoryBackend {
    atoms: Mutex<BTreeMap<AtomHash, Vec<u8>>>,
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    /// Replaces the stored bytes of `hash` (tests damage atoms with it).
    pub fn overwrite(&self, hash: &AtomHash, bytes: Vec<u8>) {
        self.atoms.lock().insert(*hash, bytes);
    }
}

impl Backend for MemoryBackend {
    fn put(&self, hash: &AtomHash, bytes: &[u8]) -> Result<()> {
        self.atoms.lock().insert(*hash, bytes.to_vec());
        Ok(())
    }

    fn get(&self, hash: &AtomHash) -> Result<Option<Vec<u8>>> {
        Ok(self.atoms.lock().get(hash).cloned())
    }

    fn delete(&self, hash: &AtomHash) -> Result<()> {
        self.atoms.lock().remove(hash);
        Ok(())
    }

    fn list(&self) -> Result<Vec<AtomHash>> {
        Ok(self.atoms.lock().keys().copied().collect())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_atoms_are_sharded_and_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = LocalBackend::open(dir.path().join("atoms")).expect("open");
        let hash = AtomHash::of(b"hello");
        backend.put(&hash, b"stored").expect("put");
        backend.flush().expect("flush");
        let hex = hash.to_hex();
        assert!(dir
            .path()
            .join("atoms")
            .join(&hex[..2])
            .join(&hex[2..4])
            .join(&hex)
            .exists());
        assert_eq!(
            backend.get(&hash).expect("get").as_deref(),
            Some(&b"stored"[..])
        );
        assert_eq!(backend.list().expect("list"), vec![hash]);
        backend.delete(&hash).expect("delete");
        backend.delete(&hash).expect("deleting twice is fine");
        assert_eq!(backend.get(&hash).expect("get"), None);
    }
}
