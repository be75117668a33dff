//! The blob store: files added under names, kept as manifests of atoms, atoms stored once
//! and counted, read back verified, and collected when nothing names them.
//!
//! Invariants, and how each operation keeps them across a crash at any point:
//!
//! * every atom a kept manifest names is in the backend: `add` writes and flushes new atoms
//!   before it commits the manifest and reference counts in one atomic index batch;
//! * an atom's count is the number of references kept manifests make to it: `add` and
//!   `remove` change manifests and counts in the same batch;
//! * `gc` deletes only atoms whose count is zero, and deletes their index records (durably)
//!   before their bytes: a crash in between leaves bytes no record names, which the next gc
//!   sweeps. `gc` and `add` exclude each other (a lock), so an atom `add` found in the index
//!   cannot be collected before `add` commits the reference to it.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};

use crate::atom::{AtomHash, AtomType};
use crate::backend::{Backend, LocalBackend};
use crate::compress::{self, Compression};
use crate::error::{Error, Result};
use crate::ingest::{self, Context};
use crate::records::{
    atom_key, file_key, manifest_key, AtomRecord, ContentRef, FileRecord, Manifest,
};
use crate::sha256::{self, Sha256Stream};
use crate::split::cdc::{ChunkSizes, Chunker};
use crate::split::{self, FileSource, Source};

/// How a store is opened.
#[derive(Clone)]
pub struct Options {
    /// Where atom bytes go, given as a backend; takes precedence over `backend_url`.
    pub backend: Option<Arc<dyn Backend>>,
    /// Where atom bytes go, as a URL (`s3://bucket/prefix`, `gs://…`, `az://…`, a local
    /// path). The first URL a store is opened with is recorded in its directory
    /// (`backend`), later opens use it, and a different one is refused: atoms cannot be in
    /// two places. Without either, atoms go to the folder `atoms/` beside the index.
    pub backend_url: Option<String>,
    /// Codec for new atoms.
    pub compression: Compression,
    /// Pieces larger than this are cut into content-defined chunks.
    pub max_atom_size: u64,
    /// Sizes of content-defined chunks.
    pub chunk_sizes: ChunkSizes,
    /// Threads that hash, compress and store atoms.
    pub workers: usize,
    /// Durability of the index (the manifest commit).
    pub durability: cairn_log::Durability,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            backend: None,
            backend_url: None,
            compression: Compression::Zstd(crate::compress::DEFAULT_ZSTD_LEVEL),
            max_atom_size: 10 << 20,
            chunk_sizes: ChunkSizes::DEFAULT,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            durability: cairn_log::Durability::Always,
        }
    }
}

/// Which atoms of a file to read: all of them, or one kind (the seed's partial
/// reconstruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// Audio samples and streams.
    Audio,
    /// Video samples and streams.
    Video,
    /// Video samples that decode on their own.
    Keyframes,
    /// Metadata atoms (EXIF, PNG text, sample tables…).
    Metadata,
}

impl Component {
    pub fn parse(text: &str) -> Option<Component> {
        match text {
            "audio" => Some(Component::Audio),
            "video" => Some(Component::Video),
            "keyframes" => Some(Component::Keyframes),
            "metadata" => Some(Component::Metadata),
            _ => None,
        }
    }

    /// True when atoms of this type belong to the component.
    pub fn includes(self, atom_type: AtomType) -> bool {
        match self {
            Component::Audio => matches!(atom_type, AtomType::AudioChunk | AtomType::AudioStream),
            Component::Video => matches!(
                atom_type,
                AtomType::IFrame | AtomType::PFrame | AtomType::BFrame | AtomType::VideoStream
            ),
            Component::Keyframes => atom_type == AtomType::IFrame,
            Component::Metadata => atom_type == AtomType::Metadata,
        }
    }
}

/// What `add` did.
#[derive(Debug, Clone)]
pub struct AddReport {
    pub name: String,
    pub version: u32,
    pub size: u64,
    pub format: String,
    pub fallback: Option<String>,
    pub atoms: usize,
    /// Atoms this add stored for the first time, their bytes and what they take stored.
    pub new_atoms: usize,
    pub new_bytes: u64,
    pub stored_bytes: u64,
    pub seconds: f64,
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub files: usize,
    pub atoms: usize,
    pub bytes: u64,
    /// (file name and version, atom) for atoms the backend does not have.
    pub missing: Vec<(String, AtomHash)>,
    /// (file name and version, atom) for atoms whose bytes do not hash to their name.
    pub corrupt: Vec<(String, AtomHash)>,
}

/// What `gc` did (or, dry, would do).
#[derive(Debug, Clone, Default)]
pub struct GcReport {
    pub dry_run: bool,
    /// Atoms no manifest names any more.
    pub atoms: usize,
    /// Their stored bytes.
    pub stored_bytes: u64,
    /// Atom files no index record names (left by an add a crash interrupted).
    pub strays: usize,
    /// Whether the strays were deleted: only in the store's own folder of atoms, since a
    /// folder or bucket given by URL may be shared with another store whose atoms this one's
    /// index does not name.
    pub strays_deleted: bool,
}

/// The seed's StorageStats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageStats {
    /// Names with at least one version.
    pub files: u64,
    pub versions: u64,
    /// Atoms with bytes (parents not counted).
    pub total_atoms: u64,
    /// Atoms referenced once.
    pub unique_atoms: u64,
    /// Atoms referenced more than once.
    pub dedup_atoms: u64,
    /// Bytes of all kept versions, as added.
    pub logical_bytes: u64,
    /// Bytes of the distinct atoms.
    pub atom_bytes: u64,
    /// What the atoms take in the backend, after compression.
    pub stored_bytes: u64,
    /// Bytes not stored twice thanks to deduplication: logical minus atom bytes.
    pub dedup_savings: u64,
}

impl StorageStats {
    /// Share of the logical bytes deduplication saved, in percent.
    pub fn dedup_ratio(&self) -> f64 {
        if self.logical_bytes == 0 {
            0.0
        } else {
            self.dedup_savings as f64 * 100.0 / self.logical_bytes as f64
        }
    }
}

/// Checks a file name: not empty, at most 1 KiB, no control character; a path of components
/// separated by single `/` (`photos/2026/a.jpg`), none empty, `.` or `..`, so that a
/// directory restored from names never reaches outside itself.
pub fn check_name(name: &str) -> Result<()> {
    /// C0 and C1 controls (CR, LF, NUL…) and the bidirectional formatting characters that
    /// make a name display as another (U+202E turns `gpj.exe` into `exe.jpg`).
    fn is_control(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    let why = if name.is_empty() {
        "it is empty"
    } else if name.len() > 1024 {
        "it is longer than 1 KiB"
    } else if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        "a path's components are separated by single '/', with none at either end"
    } else if name.split('/').any(|c| c == "." || c == "..") {
        "it has a '.' or '..' component"
    } else if name.chars().any(is_control) {
        "it contains a control character (line breaks, NUL, or bidirectional text controls)"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName {
        name: name.chars().take(80).collect(),
        why,
    })
}

/// The backend recorded in `dir` (or `wanted`, recorded now if none is), and whether it is
/// the store's own folder.
fn open_backend(dir: &Path, wanted: Option<&str>) -> Result<(Arc<dyn Backend>, bool)> {
    let record = dir.join("backend");
    let recorded = match std::fs::read_to_string(&record) {
        Ok(text) => Some(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&record, e)),
    };
    let url = match (wanted, recorded) {
        (Some(wanted), Some(recorded)) if wanted != recorded => {
            return Err(Error::InvalidArgument(format!(
                "this store keeps its atoms in {recorded}; it cannot use {wanted} as well"
            )))
        }
        (Some(wanted), None) => {
            std::fs::write(&record, format!("{wanted}\n")).map_err(|e| Error::io(&record, e))?;
            Some(wanted.to_string())
        }
        (_, recorded) => recorded,
    };
    match url {
        None => Ok((Arc::new(LocalBackend::open(dir.join("atoms"))?), true)),
        Some(url) if url.contains("://") && !url.starts_with("file://") => Ok((
            Arc::new(crate::object::ObjectBackend::from_url(&url)?),
            false,
        )),
        Some(url) => {
            let path = url.strip_prefix("file://").unwrap_or(&url);
            Ok((Arc::new(LocalBackend::open(path)?), false))
        }
    }
}

/// The blob store.
pub struct BlobStore {
    index: cairn_log::Store,
    backend: Arc<dyn Backend>,
    options: Options,
    chunker: Chunker,
    /// `add` and `remove` hold it shared, `gc` exclusively.
    gc_lock: RwLock<()>,
    /// Held while reference counts are read and written back, so that concurrent adds and
    /// removes (the HTTP door runs them in parallel) do not lose each other's counts.
    commit_lock: Mutex<()>,
    /// True when atoms are in the store's own folder, `atoms/` beside the index.
    own_backend: bool,
}

impl BlobStore {
    /// Opens the store whose index is in `dir/index` (and, with the default local backend,
    /// whose atoms are in `dir/atoms`).
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<BlobStore> {
        let dir = dir.as_ref();
        let index = cairn_log::Store::open(
            dir.join("index"),
            cairn_log::Options {
                durability: options.durability,
                // The filter grows by layers; start it small, as most stores hold thousands
                // of atoms, not millions.
                bloom_initial_capacity: 1 << 16,
                ..cairn_log::Options::default()
            },
        )?;
        let (backend, own_backend): (Arc<dyn Backend>, bool) = match &options.backend {
            Some(backend) => (Arc::clone(backend), false),
            None => open_backend(dir, options.backend_url.as_deref())?,
        };
        if options.max_atom_size == 0 || options.max_atom_size > cairn_log::MAX_VALUE_LEN as u64 {
            return Err(Error::InvalidArgument(
                "max_atom_size must be from 1 byte to 512 MiB".into(),
            ));
        }
        Ok(BlobStore {
            index,
            backend,
            chunker: Chunker::new(options.chunk_sizes),
            options,
            gc_lock: RwLock::new(()),
            commit_lock: Mutex::new(()),
            own_backend,
        })
    }

    /// The backend's description.
    pub fn backend(&self) -> String {
        self.backend.describe()
    }

    /// Closes the index cleanly.
    pub fn close(self) -> Result<()> {
        self.index.close()?;
        Ok(())
    }

    /// Adds the file at `path` under `name`.
    pub fn add_file(
        &self,
        name: &str,
        path: &Path,
        progress: Option<&AtomicU64>,
    ) -> Result<AddReport> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let source = FileSource::new(file).map_err(|e| Error::io(path, e))?;
        self.add(name, &source, progress)
    }

    /// Adds `source` under `name`, as a new version if the name exists.
    pub fn add(
        &self,
        name: &str,
        source: &dyn Source,
        progress: Option<&AtomicU64>,
    ) -> Result<AddReport> {
        check_name(name)?;
        let started = Instant::now();
        let _shared = self.gc_lock.read();
        let plan = split::plan(source);
        let context = Context {
            backend: self.backend.as_ref(),
            index: &self.index,
            compression: self.options.compression,
            max_atom_size: self.options.max_atom_size,
            chunker: self.chunker,
            workers: self.options.workers,
            progress,
        };
        let ingested = ingest::ingest(source, &plan, &context)?;
        self.backend.flush()?;

        // One batch: reference counts, new atom records, parents, the manifest, the name.
        let _commit = self.commit_lock.lock();
        let mut counts: HashMap<AtomHash, u64> = HashMap::new();
        for r in &ingested.refs {
            *counts.entry(r.hash).or_default() += 1;
        }
        for p in &ingested.parents {
            *counts.entry(p.hash).or_default() += 1;
        }
        let new: HashMap<AtomHash, &ingest::NewAtom> =
            ingested.new_atoms.iter().map(|a| (a.hash, a)).collect();
        let parents: HashMap<AtomHash, &ingest::Parent> =
            ingested.parents.iter().map(|p| (p.hash, p)).collect();
        let mut batch = cairn_log::Batch::new();
        for (hash, count) in &counts {
            let record = match self.atom(hash)? {
                Some(mut record) => {
                    record.refs += count;
                    record
                }
                None => match (new.get(hash), parents.get(hash)) {
                    (Some(atom), _) => AtomRecord {
                        atom_type: atom.atom_type,
                        size: atom.size,
                        stored_size: atom.stored_size,
                        refs: *count,
                        parent: atom.parent,
                        children: Vec::new(),
                        metadata: vec![("label".into(), atom.label.clone())],
                    },
                    (None, Some(parent)) => AtomRecord {
                        atom_type: parent.atom_type,
                        size: parent.size,
                        stored_size: 0,
                        refs: *count,
                        parent: None,
                        children: parent.children.clone(),
                        metadata: vec![("label".into(), parent.label.clone())],
                    },
                    // Another worker of this add stored it under the same hash: it is in
                    // `new` then; an atom in neither map was in the index when looked up.
                    (None, None) => return Err(Error::MissingAtom(*hash)),
                },
            };
            batch.put(atom_key(hash), record.encode());
        }
        let mut file = self.file_record(name)?.unwrap_or_default();
        let version = file.next_version.max(1);
        file.versions.push(version);
        file.next_version = version + 1;
        let manifest = Manifest {
            name: name.to_string(),
            version,
            size: source.len(),
            sha256: ingested.sha256,
            format: plan.format.name().to_string(),
            fallback: plan.fallback.clone(),
            facts: plan.facts.clone(),
            added_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            refs: ingested.refs,
            parents: ingested.parents.iter().map(|p| p.hash).collect(),
        };
        batch.put(manifest_key(name, version), manifest.encode());
        batch.put(file_key(name), file.encode());
        self.index.write_batch(&batch)?;

        Ok(AddReport {
            name: name.to_string(),
            version,
            size: manifest.size,
            format: manifest.format,
            fallback: manifest.fallback,
            atoms: manifest.refs.len(),
            new_atoms: ingested.new_atoms.len(),
            new_bytes: ingested.new_atoms.iter().map(|a| a.size).sum(),
            stored_bytes: ingested.new_atoms.iter().map(|a| a.stored_size).sum(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The record of an atom.
    pub fn atom(&self, hash: &AtomHash) -> Result<Option<AtomRecord>> {
        let key = atom_key(hash);
        self.index
            .get(&key)?
            .map(|bytes| {
                AtomRecord::decode(&bytes).map_err(|why| Error::CorruptRecord {
                    key: hash.uri(),
                    why,
                })
            })
            .transpose()
    }

    fn file_record(&self, name: &str) -> Result<Option<FileRecord>> {
        self.index
            .get(&file_key(name))?
            .map(|bytes| {
                FileRecord::decode(&bytes).map_err(|why| Error::CorruptRecord {
                    key: format!("file {name}"),
                    why,
                })
            })
            .transpose()
    }

    /// The versions kept under `name`, oldest first (empty if none).
    pub fn versions(&self, name: &str) -> Result<Vec<u32>> {
        Ok(self
            .file_record(name)?
            .map(|f| f.versions)
            .unwrap_or_default())
    }

    /// The manifest of a version of `name`, the latest when `version` is `None`.
    pub fn manifest(&self, name: &str, version: Option<u32>) -> Result<Manifest> {
        check_name(name)?;
        let versions = self.versions(name)?;
        let version = match version {
            Some(v) if versions.contains(&v) => v,
            Some(v) => return Err(Error::NotFound(format!("{name} version {v}"))),
            None => *versions
                .last()
                .ok_or_else(|| Error::NotFound(name.to_string()))?,
        };
        self.stored_manifest(name, version)
    }

    /// The manifest of a version known to be kept.
    fn stored_manifest(&self, name: &str, version: u32) -> Result<Manifest> {
        let key = manifest_key(name, version);
        let bytes = self
            .index
            .get(&key)?
            .ok_or_else(|| Error::NotFound(format!("{name} version {version}")))?;
        Manifest::decode(&bytes).map_err(|why| Error::CorruptRecord {
            key: format!("manifest of {name} version {version}"),
            why,
        })
    }

    /// The manifests of every kept version of `name`, oldest first; `NotFound` if none.
    fn all_manifests(&self, name: &str) -> Result<Vec<Manifest>> {
        check_name(name)?;
        let versions = self.versions(name)?;
        if versions.is_empty() {
            return Err(Error::NotFound(name.to_string()));
        }
        versions
            .iter()
            .map(|&v| self.stored_manifest(name, v))
            .collect()
    }

    /// Every kept name, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        self.for_each_key(|key| {
            if let Some(name) = key.strip_prefix(b"f") {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        })?;
        names.sort();
        Ok(names)
    }

    /// Every kept name with its latest manifest, sorted by name.
    pub fn list(&self) -> Result<Vec<Manifest>> {
        self.names()?
            .iter()
            .map(|name| self.manifest(name, None))
            .collect()
    }

    fn for_each_key(&self, mut visit: impl FnMut(&[u8])) -> Result<()> {
        let mut cursor = 0;
        loop {
            let page = self.index.scan(cursor, 1000)?;
            for key in &page.keys {
                visit(key);
            }
            cursor = page.cursor;
            if cursor == 0 {
                return Ok(());
            }
        }
    }

    /// An atom's bytes, checked against its hash.
    pub fn read_atom(&self, hash: &AtomHash, size: u64) -> Result<Vec<u8>> {
        let data = self.load_atom(hash, size)?;
        check_atom(hash, AtomHash::of(&data))?;
        Ok(data)
    }

    /// An atom's bytes, decompressed but not yet checked against its hash.
    fn load_atom(&self, hash: &AtomHash, size: u64) -> Result<Vec<u8>> {
        let stored = self.backend.get(hash)?.ok_or(Error::MissingAtom(*hash))?;
        compress::decode(&stored, size).map_err(|why| Error::CorruptAtom { hash: *hash, why })
    }

    /// Writes a version of `name` (or one component of it) to `out`, every atom verified,
    /// and for the whole file the whole-file hash too. Returns the bytes written.
    pub fn get(
        &self,
        name: &str,
        version: Option<u32>,
        component: Option<Component>,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let manifest = self.manifest(name, version)?;
        let mut written = 0;
        let mut write = |data: &[u8]| {
            written += data.len() as u64;
            out.write_all(data).map_err(|e| Error::io("output", e))
        };
        if let Some(component) = component {
            let refs: Vec<ContentRef> = (manifest.refs.iter())
                .filter(|r| component.includes(r.atom_type))
                .copied()
                .collect();
            let load = |r: &ContentRef| self.read_atom(&r.hash, r.size);
            self.for_each_atom(&refs, load, |_, data| write(&data))?;
            return Ok(written);
        }
        // Each atom's hash and the whole file's, side by side.
        let mut whole = Sha256Stream::default();
        let load = |r: &ContentRef| self.load_atom(&r.hash, r.size);
        self.for_each_atom(&manifest.refs, load, |r, data| {
            check_atom(&r.hash, whole.update_with(&data, [&data[..]])[0])?;
            write(&data)
        })?;
        if whole.finish() != manifest.sha256 {
            return Err(Error::FileHashMismatch {
                name: name.to_string(),
            });
        }
        Ok(written)
    }

    /// Calls `consume` on each atom of `refs` in order, with its bytes as `load` gives them
    /// ([`BlobStore::read_atom`], or [`BlobStore::load_atom`] when the caller checks the
    /// hashes): loaded on every core a batch of about [`READ_AHEAD`] bytes ahead of `consume`.
    fn for_each_atom(
        &self,
        refs: &[ContentRef],
        load: impl Fn(&ContentRef) -> Result<Vec<u8>> + Sync,
        mut consume: impl FnMut(&ContentRef, Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let mut batches = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, r) in refs.iter().enumerate() {
            bytes += r.size;
            if bytes >= READ_AHEAD || i + 1 == refs.len() {
                batches.push(&refs[start..=i]);
                (start, bytes) = (i + 1, 0);
            }
        }
        let load = |batch: &[ContentRef]| {
            on_every_core(self.options.workers, batch.len(), |i| load(&batch[i]))
        };
        let load = &load;
        let mut batches = batches.into_iter();
        let Some(first) = batches.next() else {
            return Ok(());
        };
        let mut current = (first, load(first)?);
        std::thread::scope(|scope| loop {
            let (batch, loaded) = current;
            let ahead = batches.next().map(|b| (b, scope.spawn(move || load(b))));
            for (r, data) in batch.iter().zip(loaded) {
                consume(r, data?)?;
            }
            let Some((batch, loading)) = ahead else {
                return Ok(());
            };
            current = (batch, loading.join().map_err(|_| thread_failed())??);
        })
    }

    /// Writes bytes `start..end` of a version of `name` to `out`, reading only the atoms the
    /// range touches (each verified). Returns the bytes written.
    pub fn get_range(
        &self,
        name: &str,
        version: Option<u32>,
        start: u64,
        end: u64,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let manifest = self.manifest(name, version)?;
        let end = end.min(manifest.size);
        let first = manifest
            .refs
            .partition_point(|r| r.offset + r.size <= start);
        let last = manifest.refs.partition_point(|r| r.offset < end);
        let mut written = 0;
        let load = |r: &ContentRef| self.read_atom(&r.hash, r.size);
        self.for_each_atom(&manifest.refs[first..last.max(first)], load, |r, data| {
            let from = start.saturating_sub(r.offset) as usize;
            let to = (end - r.offset).min(r.size) as usize;
            written += (to - from) as u64;
            out.write_all(&data[from..to])
                .map_err(|e| Error::io("output", e))
        })?;
        Ok(written)
    }

    /// Removes every version of `name`; its atoms lose these references (gc frees them).
    pub fn remove(&self, name: &str) -> Result<usize> {
        check_name(name)?;
        let _shared = self.gc_lock.read();
        let _commit = self.commit_lock.lock();
        let manifests = self.all_manifests(name)?;
        let mut drops: HashMap<AtomHash, u64> = HashMap::new();
        let mut batch = cairn_log::Batch::new();
        for manifest in &manifests {
            for hash in manifest
                .refs
                .iter()
                .map(|r| r.hash)
                .chain(manifest.parents.iter().copied())
            {
                *drops.entry(hash).or_default() += 1;
            }
            batch.delete(manifest_key(name, manifest.version));
        }
        for (hash, count) in drops {
            if let Some(mut record) = self.atom(&hash)? {
                record.refs = record.refs.saturating_sub(count);
                batch.put(atom_key(&hash), record.encode());
            }
        }
        batch.delete(file_key(name));
        self.index.write_batch(&batch)?;
        Ok(manifests.len())
    }

    /// Every atom record: (hash, record).
    fn atoms(&self) -> Result<Vec<(AtomHash, AtomRecord)>> {
        let mut hashes = Vec::new();
        self.for_each_key(|key| {
            if key.len() == 33 && key[0] == b'a' {
                hashes.push(AtomHash(key[1..].try_into().expect("32 bytes")));
            }
        })?;
        let mut atoms = Vec::with_capacity(hashes.len());
        for hash in hashes {
            if let Some(record) = self.atom(&hash)? {
                atoms.push((hash, record));
            }
        }
        Ok(atoms)
    }

    /// Deletes the atoms no manifest names; with `dry_run`, only reports them.
    pub fn gc(&self, dry_run: bool) -> Result<GcReport> {
        let _exclusive = self.gc_lock.write();
        let atoms = self.atoms()?;
        let dead: Vec<(AtomHash, AtomRecord)> =
            atoms.iter().filter(|(_, r)| r.refs == 0).cloned().collect();
        let mut report = GcReport {
            dry_run,
            atoms: dead.iter().filter(|(_, r)| r.stored_size > 0).count(),
            stored_bytes: dead.iter().map(|(_, r)| r.stored_size).sum(),
            strays: 0,
            strays_deleted: false,
        };
        let known: std::collections::HashSet<AtomHash> = atoms.iter().map(|(h, _)| *h).collect();
        let strays: Vec<AtomHash> = self
            .backend
            .list()?
            .into_iter()
            .filter(|h| !known.contains(h))
            .collect();
        report.strays = strays.len();
        if dry_run {
            return Ok(report);
        }
        // Records first, durably; then bytes. A crash between leaves strays, never a
        // record without bytes.
        for chunk in dead.chunks(10_000) {
            let mut batch = cairn_log::Batch::new();
            for (hash, _) in chunk {
                batch.delete(atom_key(hash));
            }
            self.index.write_batch(&batch)?;
        }
        for (hash, record) in &dead {
            if record.stored_size > 0 {
                self.backend.delete(hash)?;
            }
        }
        if self.own_backend {
            for hash in &strays {
                self.backend.delete(hash)?;
            }
            report.strays_deleted = true;
        }
        self.backend.flush()?;
        Ok(report)
    }

    /// Re-reads and re-hashes every atom of `name` (every file when `None`), reporting by file
    /// the atoms that are missing or corrupt. Each distinct atom is read once.
    pub fn verify(&self, name: Option<&str>) -> Result<VerifyReport> {
        let manifests = match name {
            Some(name) => self.all_manifests(name)?,
            None => {
                let mut all = Vec::new();
                for name in self.names()? {
                    all.extend(self.all_manifests(&name)?);
                }
                all
            }
        };
        // Each distinct atom once, checked on every core.
        let mut unique: Vec<(AtomHash, u64)> = Vec::new();
        let mut position: HashMap<AtomHash, usize> = HashMap::new();
        for r in manifests.iter().flat_map(|m| &m.refs) {
            position.entry(r.hash).or_insert_with(|| {
                unique.push((r.hash, r.size));
                unique.len() - 1
            });
        }
        let states = self.check_atoms(&unique)?;
        let mut report = VerifyReport {
            files: manifests.len(),
            atoms: unique.len(),
            bytes: unique.iter().map(|(_, size)| size).sum(),
            ..VerifyReport::default()
        };
        for manifest in &manifests {
            let label = format!("{} (version {})", manifest.name, manifest.version);
            for r in &manifest.refs {
                match states[position[&r.hash]] {
                    AtomState::Sound => {}
                    AtomState::Corrupt => report.corrupt.push((label.clone(), r.hash)),
                    AtomState::Missing => report.missing.push((label.clone(), r.hash)),
                }
            }
        }
        Ok(report)
    }

    /// Reads and re-hashes `atoms` (hash and size) on every core, two atoms side by side on
    /// each.
    fn check_atoms(&self, atoms: &[(AtomHash, u64)]) -> Result<Vec<AtomState>> {
        let pairs = on_every_core(self.options.workers, atoms.len().div_ceil(2), |pair| {
            let pair = &atoms[2 * pair..(2 * pair + 2).min(atoms.len())];
            let mut states = vec![AtomState::Missing; pair.len()];
            let mut loaded = Vec::with_capacity(2);
            for (i, (hash, size)) in pair.iter().enumerate() {
                match self.load_atom(hash, *size) {
                    Ok(data) => loaded.push((i, data)),
                    Err(Error::MissingAtom(_)) => {}
                    Err(Error::CorruptAtom { .. }) => states[i] = AtomState::Corrupt,
                    Err(other) => return Err(other),
                }
            }
            let found = sha256::hash_each(loaded.iter().map(|(_, data)| &data[..]));
            for ((i, _), found) in loaded.iter().zip(found) {
                states[*i] = match found == pair[*i].0 {
                    true => AtomState::Sound,
                    false => AtomState::Corrupt,
                };
            }
            Ok(states)
        })?;
        let mut states = Vec::with_capacity(atoms.len());
        for pair in pairs {
            states.extend(pair?);
        }
        Ok(states)
    }

    /// The seed's StorageStats.
    pub fn stats(&self) -> Result<StorageStats> {
        let mut stats = StorageStats::default();
        for (_, record) in self.atoms()? {
            if !record.children.is_empty() {
                continue;
            }
            stats.total_atoms += 1;
            stats.atom_bytes += record.size;
            stats.stored_bytes += record.stored_size;
            match record.refs {
                0 => {}
                1 => stats.unique_atoms += 1,
                _ => stats.dedup_atoms += 1,
            }
        }
        for name in self.names()? {
            stats.files += 1;
            for manifest in self.all_manifests(&name)? {
                stats.versions += 1;
                stats.logical_bytes += manifest.size;
            }
        }
        stats.dedup_savings = stats.logical_bytes.saturating_sub(stats.atom_bytes);
        Ok(stats)
    }

    /// The atoms of a version of `name`, in file order, with their records.
    pub fn atoms_of(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Vec<(ContentRef, Option<AtomRecord>)>> {
        let manifest = self.manifest(name, version)?;
        manifest
            .refs
            .iter()
            .map(|r| Ok((*r, self.atom(&r.hash)?)))
            .collect()
    }
}

/// Bytes of atoms a read loads ahead of the one it is writing out.
const READ_AHEAD: u64 = 8 << 20;

/// `task(i)` for every `i` in `0..count`, on `workers` threads each taking the next `i`;
/// the results in order.
fn on_every_core<T: Send>(
    workers: usize,
    count: usize,
    task: impl Fn(usize) -> T + Sync,
) -> Result<Vec<T>> {
    if count <= 1 || workers <= 1 {
        return Ok((0..count).map(task).collect());
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return done;
            }
            done.push((i, task(i)));
        }
    };
    let parts: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers.min(count)).map(|_| scope.spawn(work)).collect();
        threads.into_iter().map(|t| t.join()).collect()
    });
    let mut results: Vec<Option<T>> = std::iter::repeat_with(|| None).take(count).collect();
    for part in parts {
        for (i, result) in part.map_err(|_| thread_failed())? {
            results[i] = Some(result);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

fn thread_failed() -> Error {
    Error::Backend("a worker thread failed".into())
}

/// What verification found of one atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AtomState {
    Sound,
    Corrupt,
    Missing,
}

/// An error unless `found`, the hash of an atom's bytes, is its name.
fn check_atom(hash: &AtomHash, found: AtomHash) -> Result<()> {
    if found != *hash {
        return Err(Error::CorruptAtom {
            hash: *hash,
            why: "its bytes do not hash to its name".into(),
        });
    }
    Ok(())
}
