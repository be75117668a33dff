//! The blob store as its users rely on it: files come back bit-perfect, shared content is
//! stored once, versions are kept, damage is reported and never served, gc frees exactly
//! what nothing names.

use cairn_test_support::{noise, png, png_chunk as chunk};
use std::sync::Arc;

use cairn_blob::split::cdc::ChunkSizes;
use cairn_blob::{
    AtomHash, AtomType, Backend, BlobStore, Component, Compression, Error, LocalBackend,
    MemoryBackend, Options,
};
use proptest::prelude::*;

/// Small chunks and atoms, so that small test files exercise cutting and parents.
fn small_options() -> Options {
    Options {
        chunk_sizes: ChunkSizes {
            min: 512,
            avg: 2048,
            max: 8192,
        },
        max_atom_size: 16 << 10,
        durability: cairn_log::Durability::No,
        ..Options::default()
    }
}

/// A store in `dir` whose atoms are in memory, where a test can damage them.
fn open_in_memory(dir: &std::path::Path, options: Options) -> (BlobStore, Arc<MemoryBackend>) {
    let backend = Arc::new(MemoryBackend::new());
    let options = Options {
        backend: Some(backend.clone()),
        ..options
    };
    (BlobStore::open(dir, options).expect("open"), backend)
}

fn read(store: &BlobStore, name: &str, version: Option<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    store.get(name, version, None, &mut out).expect("get");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_round_trip_bit_perfect(len in 0usize..200_000, seed in any::<u64>(), repeat in 1usize..4) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path(), small_options()).expect("open");
        // Some repetition, so that some atoms recur within the file.
        let unit = noise(len / repeat + 1, seed);
        let data: Vec<u8> = unit.iter().cycle().take(len).copied().collect();
        let report = store.add("file", &data, None).expect("add");
        prop_assert_eq!(report.size, len as u64);
        prop_assert_eq!(read(&store, "file", None), data);
        let verified = store.verify(None).expect("verify");
        prop_assert!(verified.missing.is_empty() && verified.corrupt.is_empty());
    }
}

#[test]
fn ten_versions_with_small_edits_share_most_of_their_atoms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlobStore::open(dir.path(), small_options()).expect("open");
    let mut data = noise(400_000, 7);
    let mut versions = Vec::new();
    for v in 0..10 {
        // Each version inserts a few bytes and changes a few others somewhere.
        let at = 30_000 * v + 1234;
        data.splice(at..at, format!("edit {v}").bytes());
        data[at + 20_000] ^= 0xff;
        let report = store.add("doc.bin", &data, None).expect("add");
        assert_eq!(report.version, v as u32 + 1);
        versions.push(data.clone());
    }
    for (v, expected) in versions.iter().enumerate() {
        assert_eq!(
            &read(&store, "doc.bin", Some(v as u32 + 1)),
            expected,
            "version {}",
            v + 1
        );
    }
    assert_eq!(
        store.versions("doc.bin").expect("versions"),
        (1..=10).collect::<Vec<_>>()
    );
    let stats = store.stats().expect("stats");
    assert_eq!(stats.versions, 10);
    assert!(stats.dedup_ratio() > 75.0, "{stats:?}");
    assert!(stats.atom_bytes < 2 * 400_000, "{stats:?}");
}

#[test]
fn pngs_sharing_pixels_store_them_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlobStore::open(dir.path(), small_options()).expect("open");
    let pixels = noise(10_000, 3);
    let (a, b) = (
        png(&pixels, "first"),
        png(&pixels, "second, with another comment"),
    );
    store.add("a.png", &a, None).expect("add");
    let second = store.add("b.png", &b, None).expect("add");
    assert_eq!(second.format, "png");
    assert_eq!(second.new_atoms, 1, "only the text chunk is new");
    let atoms = store.atoms_of("b.png", None).expect("atoms");
    let types: Vec<AtomType> = atoms.iter().map(|(r, _)| r.atom_type).collect();
    assert_eq!(
        types,
        [
            AtomType::Container,
            AtomType::Metadata,
            AtomType::Metadata,
            AtomType::ImageData,
            AtomType::Container
        ]
    );
    let idat = atoms[3].1.as_ref().expect("record");
    assert_eq!(idat.refs, 2);
    assert_eq!(read(&store, "b.png", None), b);
    let manifest = store.manifest("b.png", None).expect("manifest");
    assert!(manifest.facts.contains(&("width".into(), "64".into())));
    // The metadata component is the IHDR and text chunks.
    let mut metadata = Vec::new();
    store
        .get("b.png", None, Some(Component::Metadata), &mut metadata)
        .expect("component");
    assert_eq!(
        metadata.len(),
        25 + 12 + "Comment\0second, with another comment".len()
    );
}

#[test]
fn large_typed_pieces_become_parents_of_their_chunks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlobStore::open(dir.path(), small_options()).expect("open");
    let file = png(&noise(100_000, 9), "big");
    store.add("big.png", &file, None).expect("add");
    let atoms = store.atoms_of("big.png", None).expect("atoms");
    let children: Vec<_> = atoms
        .iter()
        .filter(|(r, _)| r.atom_type == AtomType::ImageData)
        .collect();
    assert!(
        children.len() > 5,
        "the 100 kB IDAT is cut under the 16 KiB maximum"
    );
    let parent = children[0]
        .1
        .as_ref()
        .and_then(|r| r.parent)
        .expect("a parent");
    let record = store.atom(&parent).expect("read").expect("parent record");
    assert_eq!(record.size, 100_012);
    assert_eq!(record.children.len(), children.len());
    assert_eq!(read(&store, "big.png", None), file);
}

/// The parent of the cut IDAT of `name` (the only cut piece of the test PNGs).
fn idat_parent(store: &BlobStore, name: &str) -> AtomHash {
    let atoms = store.atoms_of(name, None).expect("atoms");
    let parents: std::collections::HashSet<AtomHash> = atoms
        .iter()
        .filter_map(|(_, record)| record.as_ref().and_then(|r| r.parent))
        .collect();
    assert_eq!(parents.len(), 1, "one cut piece in {name}");
    parents.into_iter().next().expect("a parent")
}

#[test]
fn files_larger_than_the_read_blocks_round_trip_with_pieces_across_block_ends() {
    // Ingestion reads through 4 MiB blocks. Small IDATs (one atom each) straddle the block
    // ends; a 100 kB IDAT, cut into chunks under the 16 KiB maximum, lies across the first
    // one, so its hash is computed from two blocks; a Raw tail is cut by the chunker.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlobStore::open(dir.path(), small_options()).expect("open");
    let big = noise(100_000, 21);
    let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
    file.extend(chunk(b"IHDR", &[0, 0, 0, 64, 0, 0, 0, 64, 8, 2, 0, 0, 0]));
    for i in 0..414 {
        file.extend(chunk(b"IDAT", &noise(10_000, 100 + i)));
    }
    let big_at = file.len();
    file.extend(chunk(b"IDAT", &big));
    assert!(big_at < 4 << 20 && file.len() > 4 << 20);
    for i in 0..420 {
        file.extend(chunk(b"IDAT", &noise(10_000, 1000 + i)));
    }
    file.extend(chunk(b"IEND", b""));
    file.extend(noise(300_000, 22));
    assert!(file.len() > 8 << 20);

    let report = store.add("large.png", &file, None).expect("add");
    assert_eq!(report.size, file.len() as u64);
    assert_eq!(read(&store, "large.png", None), file);
    let atoms = store.atoms_of("large.png", None).expect("atoms");
    let mut offset = 0;
    for (reference, _) in &atoms {
        assert_eq!(reference.offset, offset, "atoms cover the file in order");
        offset += reference.size;
    }
    assert_eq!(offset, file.len() as u64);

    // The same IDAT inside one block, in a small file, has the same hash.
    store
        .add("small.png", &png(&big, "small"), None)
        .expect("add");
    assert_eq!(
        idat_parent(&store, "large.png"),
        idat_parent(&store, "small.png")
    );
    let verified = store.verify(None).expect("verify");
    assert!(verified.missing.is_empty() && verified.corrupt.is_empty());
}

#[test]
fn a_corrupt_or_missing_atom_is_reported_and_never_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, backend) = open_in_memory(dir.path(), small_options());
    let data = noise(50_000, 5);
    store.add("f", &data, None).expect("add");
    let atoms = store.atoms_of("f", None).expect("atoms");
    let (victim, flipped, lost) = (atoms[1].0.hash, atoms[2].0.hash, atoms[3].0.hash);
    backend.overwrite(&victim, vec![0, 1, 2, 3]);
    // Bytes that decode well but are not the atom's: one bit flipped.
    let r = &atoms[2].0;
    let mut wrong = data[r.offset as usize..(r.offset + r.size) as usize].to_vec();
    wrong[7] ^= 1;
    backend.overwrite(
        &flipped,
        cairn_blob::compress::encode(&wrong, r.atom_type, Compression::Lz4),
    );
    backend.delete(&lost).expect("delete");
    let mut out = Vec::new();
    let error = store.get("f", None, None, &mut out).expect_err("damaged");
    assert!(
        matches!(error, Error::CorruptAtom { hash, .. } if hash == victim),
        "{error}"
    );
    let report = store.verify(Some("f")).expect("verify");
    let label = "f (version 1)".to_string();
    assert_eq!(
        report.corrupt,
        vec![(label.clone(), victim), (label.clone(), flipped)]
    );
    assert_eq!(report.missing, vec![(label, lost)]);
    assert_eq!(report.atoms, atoms.len());
}

#[test]
fn remove_and_gc_free_exactly_what_nothing_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlobStore::open(dir.path(), small_options()).expect("open");
    let shared = noise(60_000, 1);
    let a = [shared.clone(), noise(30_000, 10)].concat();
    let b = [shared, noise(30_000, 20)].concat();
    store.add("a", &a, None).expect("add");
    store.add("b", &b, None).expect("add");
    let before = store.stats().expect("stats");
    assert!(before.dedup_atoms > 0);

    store.remove("a").expect("remove");
    let dry = store.gc(true).expect("dry run");
    assert!(dry.atoms > 0 && dry.stored_bytes > 0);
    assert_eq!(
        store.gc(true).expect("dry run").atoms,
        dry.atoms,
        "a dry run deletes nothing"
    );
    let done = store.gc(false).expect("gc");
    assert_eq!(done.atoms, dry.atoms);
    assert_eq!(read(&store, "b", None), b, "shared atoms survive");
    assert_eq!(store.gc(false).expect("gc").atoms, 0);

    store.remove("b").expect("remove");
    store.gc(false).expect("gc");
    let after = store.stats().expect("stats");
    assert_eq!(
        (after.total_atoms, after.stored_bytes, after.files),
        (0, 0, 0)
    );
    assert!(matches!(store.remove("b"), Err(Error::NotFound(_))));
    assert!(LocalBackend::open(dir.path().join("atoms"))
        .expect("open")
        .list()
        .expect("list")
        .is_empty());
}

#[test]
fn the_store_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = noise(70_000, 4);
    {
        let store = BlobStore::open(
            dir.path(),
            Options {
                compression: Compression::Lz4,
                ..small_options()
            },
        )
        .expect("open");
        store.add("kept", &data, None).expect("add");
        store.close().expect("close");
    }
    let store = BlobStore::open(dir.path(), small_options()).expect("reopen");
    assert_eq!(read(&store, "kept", None), data);
    assert_eq!(store.list().expect("list").len(), 1);
}

#[test]
fn bad_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlobStore::open(dir.path(), small_options()).expect("open");
    for name in [
        "",
        "/abs",
        "dir/",
        "a//b",
        "..",
        "a/../b",
        "./a",
        "nul\0",
        &"n".repeat(1025),
    ] {
        assert!(
            matches!(
                store.add(name, &b"x".to_vec(), None),
                Err(Error::InvalidName { .. })
            ),
            "{name:?}"
        );
    }
    assert!(store.add(&"n".repeat(1024), &b"x".to_vec(), None).is_ok());
    assert!(store
        .add("photos/2026/a..b.jpg", &b"x".to_vec(), None)
        .is_ok());
    assert!(matches!(
        store.manifest("nothing", None),
        Err(Error::NotFound(_))
    ));
    let _ = AtomHash::of(b"");
}

#[test]
fn object_storage_through_object_store_and_the_recorded_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        backend_url: Some("memory://".into()),
        ..small_options()
    };
    let store = BlobStore::open(dir.path(), options).expect("open");
    assert_eq!(store.backend(), "memory://");
    let data = noise(120_000, 8);
    store.add("obj", &data, None).expect("add");
    assert_eq!(read(&store, "obj", None), data);
    let report = store.verify(None).expect("verify");
    assert!(report.missing.is_empty() && report.corrupt.is_empty() && report.atoms > 10);
    store.remove("obj").expect("remove");
    assert!(store.gc(false).expect("gc").atoms > 10);
    assert_eq!(store.stats().expect("stats").total_atoms, 0);
    store.close().expect("close");

    // The store remembers where its atoms are, and refuses to be pointed elsewhere.
    let again = BlobStore::open(dir.path(), small_options()).expect("reopen");
    assert_eq!(again.backend(), "memory://");
    drop(again);
    let elsewhere = Options {
        backend_url: Some("s3://another-bucket/atoms".into()),
        ..small_options()
    };
    let error = BlobStore::open(dir.path(), elsewhere)
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("keeps its atoms in memory://"),
        "{error}"
    );
}

#[test]
fn concurrent_adds_and_removes_keep_reference_counts_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlobStore::open(dir.path(), small_options()).expect("open");
    let shared = noise(40_000, 77);
    let files: Vec<Vec<u8>> = (0..6)
        .map(|i| [shared.clone(), noise(10_000, 100 + i)].concat())
        .collect();
    std::thread::scope(|scope| {
        for (i, data) in files.iter().enumerate() {
            let store = &store;
            scope.spawn(move || store.add(&format!("f{i}"), data, None).expect("add"));
        }
    });
    let shared_atom = store.atoms_of("f0", None).expect("atoms")[0].0.hash;
    assert_eq!(
        store
            .atom(&shared_atom)
            .expect("read")
            .expect("record")
            .refs,
        6
    );
    std::thread::scope(|scope| {
        for i in 1..6 {
            let store = &store;
            scope.spawn(move || store.remove(&format!("f{i}")).expect("remove"));
        }
    });
    assert_eq!(
        store
            .atom(&shared_atom)
            .expect("read")
            .expect("record")
            .refs,
        1
    );
    store.gc(false).expect("gc");
    assert_eq!(read(&store, "f0", None), files[0]);
    assert!(store.verify(None).expect("verify").corrupt.is_empty());
}

/// Reads load atoms several mebibytes ahead, in batches, on every core: a file of several
/// batches comes back whole and in order, a range across batches too, and a damaged atom in
/// a later batch fails the read.
#[test]
fn reads_of_many_batches_come_back_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        compression: Compression::Lz4,
        ..Options::default()
    };
    let (store, backend) = open_in_memory(dir.path(), options);
    let data = noise(20 << 20, 7);
    store.add("big", &data, None).expect("add");
    assert_eq!(read(&store, "big", None), data);
    let (start, end) = ((8 << 20) - 1000, (17 << 20) + 12345);
    let mut range = Vec::new();
    let written = store
        .get_range("big", None, start, end, &mut range)
        .expect("range");
    assert_eq!(written, end - start);
    assert_eq!(range, data[start as usize..end as usize]);

    let atoms = store.atoms_of("big", None).expect("atoms");
    let victim = atoms[atoms.len() - 2].0.hash;
    backend.overwrite(&victim, vec![0, 1, 2, 3]);
    let error = store
        .get("big", None, None, &mut Vec::new())
        .expect_err("damaged");
    assert!(
        matches!(error, Error::CorruptAtom { hash, .. } if hash == victim),
        "{error}"
    );
}

/// A backend whose puts fail once `room` atoms are stored, as a full disk's do.
struct FullDisk {
    atoms: MemoryBackend,
    room: std::sync::atomic::AtomicUsize,
}

impl Backend for FullDisk {
    fn put(&self, hash: &AtomHash, bytes: &[u8]) -> cairn_blob::Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        if (self
            .room
            .fetch_update(SeqCst, SeqCst, |left| left.checked_sub(1)))
        .is_err()
        {
            return Err(Error::Backend("no space left on device".into()));
        }
        self.atoms.put(hash, bytes)
    }
    fn get(&self, hash: &AtomHash) -> cairn_blob::Result<Option<Vec<u8>>> {
        self.atoms.get(hash)
    }
    fn delete(&self, hash: &AtomHash) -> cairn_blob::Result<()> {
        self.atoms.delete(hash)
    }
    fn list(&self) -> cairn_blob::Result<Vec<AtomHash>> {
        self.atoms.list()
    }
    fn flush(&self) -> cairn_blob::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "a full disk".into()
    }
}

/// A backend that fails fails the add with its own error, soon: the rest of a large file is
/// neither read nor hashed nor offered to the backend, and no manifest names the file.
#[test]
fn a_failing_backend_fails_the_add_early_with_its_own_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Arc::new(FullDisk {
        atoms: MemoryBackend::new(),
        room: 8.into(),
    });
    let options = Options {
        backend: Some(backend.clone()),
        ..Options::default()
    };
    let store = BlobStore::open(dir.path(), options).expect("open");
    let data = noise(64 << 20, 3);
    let read = std::sync::atomic::AtomicU64::new(0);
    let error = store.add("big", &data, Some(&read)).expect_err("disk full");
    assert!(error.to_string().contains("no space left"), "{error}");
    let read = read.load(std::sync::atomic::Ordering::SeqCst);
    assert!(read < 32 << 20, "read {read} bytes of {}", data.len());
    assert!(store.get("big", None, None, &mut Vec::new()).is_err());
}
