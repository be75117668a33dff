//! A flipped byte in any file kind is reported with the file and the offset, and damaged bytes
//! are never returned as data. A torn WAL tail (a crash mid-write) is cut instead.

use std::path::{Path, PathBuf};

use cairn_log::{Error, Store};

#[path = "support/copy_dir.rs"]
mod copy_dir;

use copy_dir::copy_dir;

#[path = "support/small_segments.rs"]
mod small_segments;

use small_segments::options;

fn value(i: u32) -> Vec<u8> {
    format!("value-{i}-{}", "v".repeat((i % 7) as usize)).into_bytes()
}

/// A closed store holding keys 0..n, checkpointed: its records are read from the segments,
/// not replayed from the WAL (which would rewrite damaged segment bytes).
fn closed_store(n: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), options()).expect("open");
    for i in 0..n {
        store.put(&i.to_le_bytes(), &value(i), None).expect("put");
    }
    store.checkpoint().expect("checkpoint");
    store.close().expect("close");
    dir
}

/// The files of an open store as a crash leaves them: everything written, nothing closed.
/// Returns the directory and the bytes of frames in `wal/wal_active.log` (the file itself is
/// longer: preallocated).
fn crashed_store(n: u32) -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), options()).expect("open");
    for i in 0..n {
        store.put(&i.to_le_bytes(), &value(i), None).expect("put");
    }
    store.flush().expect("flush");
    let wal_len = WAL_HEADER_LEN + store.stats().wal_bytes;
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(dir.path(), copy.path());
    (copy, wal_len)
}

const WAL_HEADER_LEN: u64 = 16;

fn flip(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at as usize] ^= 0x40;
    std::fs::write(path, bytes).expect("write");
}

fn expect_corrupt(result: Result<Store, Error>, file: &str) -> (PathBuf, u64) {
    match result {
        Err(Error::Corrupt {
            file: f,
            offset,
            what,
        }) => {
            assert!(
                f.ends_with(file) || f.to_string_lossy().contains(file),
                "reported {f:?}, expected {file}: {what}"
            );
            (f, offset)
        }
        Err(Error::Format { file: f, .. }) => {
            assert!(f.to_string_lossy().contains(file), "reported {f:?}");
            (f, 0)
        }
        Err(other) => panic!("expected corruption in {file}, got {other}"),
        Ok(_) => panic!("damage in {file} went unnoticed"),
    }
}

#[test]
fn a_flipped_record_byte_is_reported_on_read_and_never_returned() {
    let dir = closed_store(200);
    let segment = dir.path().join("segments/segment_000001.dat");
    // Damage a byte inside the 10th record (records start after the 64-byte header).
    let len = std::fs::metadata(&segment).expect("meta").len();
    let at = 64 + (len - 64) / 20;
    flip(&segment, at);
    let store =
        Store::open(dir.path(), options()).expect("a record's damage is found when it is read");
    let mut corrupt = 0;
    for i in 0..200u32 {
        match store.get(&i.to_le_bytes()) {
            Ok(Some(v)) => assert_eq!(
                v.as_ref(),
                value(i).as_slice(),
                "key {i} returned damaged data"
            ),
            Ok(None) => panic!("key {i} vanished"),
            Err(Error::Corrupt { file, offset, .. }) => {
                assert!(file.ends_with("segment_000001.dat"));
                assert!(
                    offset <= at && at < offset + 64,
                    "reported record at {offset}, flipped {at}"
                );
                corrupt += 1;
            }
            Err(e) => panic!("key {i}: {e}"),
        }
    }
    assert_eq!(corrupt, 1, "exactly the damaged record is reported");
}

#[test]
fn a_flipped_segment_header_byte_is_reported_at_open() {
    let dir = closed_store(2000);
    let segment = dir.path().join("segments/segment_000001.dat");
    flip(&segment, 30);
    let (_, offset) = expect_corrupt(Store::open(dir.path(), options()), "segment_000001.dat");
    assert_eq!(offset, 36, "the header checksum field");
}

#[test]
fn a_flipped_index_byte_is_reported_at_open() {
    let dir = closed_store(500);
    let index = dir.path().join("index/hash_index.idx");
    let len = std::fs::metadata(&index).expect("meta").len();
    flip(&index, len - 5);
    let (_, offset) = expect_corrupt(Store::open(dir.path(), options()), "hash_index.idx");
    assert!(offset > 0 && offset < len);
}

#[test]
fn a_flipped_bloom_filter_byte_is_reported_at_open() {
    let dir = closed_store(500);
    let bloom = dir.path().join("index/bloom_filter.blm");
    flip(&bloom, 1000);
    let (_, offset) = expect_corrupt(Store::open(dir.path(), options()), "bloom_filter.blm");
    assert_eq!(offset, 16, "the first layer");
}

#[test]
fn a_flipped_metadata_byte_is_reported_at_open() {
    let dir = closed_store(50);
    let meta = dir.path().join("index/metadata.meta");
    for at in [2u64, 10, 35, 60] {
        let backup = std::fs::read(&meta).expect("read");
        flip(&meta, at);
        expect_corrupt(Store::open(dir.path(), options()), "metadata.meta");
        std::fs::write(&meta, backup).expect("restore");
    }
    Store::open(dir.path(), options()).expect("opens once repaired");
}

#[test]
fn a_flipped_wal_byte_before_other_frames_is_reported_at_open() {
    let (dir, _) = crashed_store(100);
    let wal = dir.path().join("wal/wal_active.log");
    flip(&wal, 16 + 30);
    let (_, offset) = expect_corrupt(Store::open(dir.path(), options()), "wal_active.log");
    assert_eq!(offset, 16, "the first frame");
}

#[test]
fn a_torn_wal_tail_is_cut_and_everything_before_it_recovered() {
    let (template, full) = crashed_store(100);
    // The last frame is one put of key 99; cut it at every length.
    let (_, last_frame) = crashed_store(99);
    assert!(
        last_frame + 20 < full,
        "the last frame is at least a record long"
    );
    for cut in last_frame..full {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(template.path(), dir.path());
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("wal/wal_active.log"))
            .expect("open");
        file.set_len(cut).expect("truncate");
        drop(file);
        let store =
            Store::open(dir.path(), options()).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        for i in 0..99u32 {
            assert_eq!(
                store.get(&i.to_le_bytes()).expect("get").as_deref(),
                Some(value(i).as_slice()),
                "cut at {cut}"
            );
        }
        assert_eq!(
            store.get(&99u32.to_le_bytes()).expect("get"),
            None,
            "cut at {cut}: a torn write is not replayed"
        );
        store.close().expect("close");
        let store = Store::open(dir.path(), options()).expect("reopen after the cut");
        assert_eq!(store.stats().live_keys, 99);
    }
}

#[test]
fn a_file_of_another_kind_is_refused() {
    let dir = closed_store(10);
    std::fs::write(
        dir.path().join("index/metadata.meta"),
        b"SQLite format 3\0 and more bytes than a header needs to be long enough",
    )
    .expect("write");
    let err = Store::open(dir.path(), options()).expect_err("not ours");
    assert!(matches!(err, Error::Format { .. }), "{err}");
}
