//! Backends: where stored atoms live, by hash.
//!
//! * [`LocalBackend`]: a folder sharded as the seed says, `ab/cd/<64 hex digits>` (the first
//!   two bytes of the hash name two directory levels), each atom written to a temporary file,
//!   fsynced and renamed into place, so a crash leaves either the whole atom or none of it;
//! * [`MemoryBackend`]: a map in memory, for tests.
//!
//! A backend stores whatever bytes it is given under a hash and never interprets them:
//! compression and verification happen above it.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::Write;
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
    /// Directories that received new entries since the last flush.
    dirty_dirs: Mutex<HashSet<PathBuf>>,
}

impl LocalBackend {
    /// The backend in `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<LocalBackend> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(LocalBackend {
            root,
            dirty_dirs: Mutex::new(HashSet::new()),
        })
    }

    /// The file of `hash`.
    pub fn path_of(&self, hash: &AtomHash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

impl Backend for LocalBackend {
    fn put(&self, hash: &AtomHash, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(hash);
        let dir = path.parent().expect("sharded path").to_path_buf();
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let mut dirty = self.dirty_dirs.lock();
            dirty.insert(dir.parent().expect("two levels").to_path_buf());
            dirty.insert(self.root.clone());
        }
        let temp = dir.join(format!(".{}.{}.tmp", hash.to_hex(), std::process::id()));
        let mut file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(&temp, e))?;
        fs::rename(&temp, &path).map_err(|e| Error::io(&path, e))?;
        self.dirty_dirs.lock().insert(dir);
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
                self.dirty_dirs
                    .lock()
                    .insert(path.parent().expect("sharded").to_path_buf());
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
                    } else if name.to_string_lossy().ends_with(".tmp") {
                        // A write a crash interrupted: never renamed into place, never used.
                        let _ = fs::remove_file(entry.path());
                    }
                }
            }
        }
        Ok(hashes)
    }

    fn flush(&self) -> Result<()> {
        let dirs: Vec<PathBuf> = self.dirty_dirs.lock().drain().collect();
        for dir in dirs {
            sync_dir(&dir)?;
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
