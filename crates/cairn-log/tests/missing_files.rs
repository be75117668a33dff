//! A store whose metadata or active WAL was deleted is refused at open, with the missing file
//! named, and nothing in the directory is changed: it is never treated as a new, empty store.
//! Only a directory with nothing but the empty files of an interrupted create starts over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_log::{Error, Store};

#[path = "support/copy_dir.rs"]
mod copy_dir;

use copy_dir::copy_dir;

#[path = "support/small_segments.rs"]
mod small_segments;

use small_segments::options;

fn put_keys(store: &Store, keys: std::ops::Range<u32>) {
    for i in keys {
        store
            .put(&i.to_le_bytes(), format!("value-{i}").as_bytes(), None)
            .expect("put");
    }
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.ends_with("LOCK") {
                out.insert(path.clone(), std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

fn expect_missing(dir: &Path, file: &str) {
    let before = contents(dir);
    match Store::open(dir, options()) {
        Err(Error::Missing { file: f, why }) => {
            assert!(f.ends_with(file), "reported {f:?}, expected {file} ({why})");
        }
        Err(other) => panic!("expected {file} reported missing, got {other}"),
        Ok(_) => panic!("a store without {file} was opened"),
    }
    assert!(
        before == contents(dir),
        "refusing to open changed the directory"
    );
}

/// A closed store of 6,001 keys over several segments.
fn closed_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), options()).expect("open");
    put_keys(&store, 0..6001);
    store.close().expect("close");
    dir
}

#[test]
fn a_store_without_its_metadata_is_refused_not_recreated() {
    let dir = closed_store();
    std::fs::remove_file(dir.path().join("index/metadata.meta")).expect("rm");
    expect_missing(dir.path(), "metadata.meta");
    // Still refused when only the first segment is left.
    for entry in std::fs::read_dir(dir.path().join("segments")).expect("ls") {
        let path = entry.expect("entry").path();
        if !path.ends_with("segment_000001.dat") {
            std::fs::remove_file(path).expect("rm");
        }
    }
    expect_missing(dir.path(), "metadata.meta");
}

#[test]
fn a_crashed_store_without_its_metadata_is_refused() {
    // Keys in the WAL only: one small segment, frames in the active WAL.
    let live = tempfile::tempdir().expect("tempdir");
    let store = Store::open(live.path(), options()).expect("open");
    put_keys(&store, 0..20);
    store.flush().expect("flush");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(live.path(), dir.path());
    std::fs::remove_file(dir.path().join("index/metadata.meta")).expect("rm");
    expect_missing(dir.path(), "metadata.meta");
}

#[test]
fn a_store_without_its_active_wal_is_refused() {
    // A checkpoint (SAVE), more writes, a crash, then the active WAL deleted.
    let live = tempfile::tempdir().expect("tempdir");
    let store = Store::open(live.path(), options()).expect("open");
    put_keys(&store, 0..2000);
    store.checkpoint().expect("checkpoint");
    put_keys(&store, 2000..4000);
    store.flush().expect("flush");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(live.path(), dir.path());
    std::fs::remove_file(dir.path().join("wal/wal_active.log")).expect("rm");
    expect_missing(dir.path(), "wal_active.log");
}

#[test]
fn an_index_checkpoint_ahead_of_the_surviving_wal_is_refused() {
    // The crash state after a first checkpoint, given the index of a later one and a WAL whose
    // frames are gone: the index points at records no segment holds any more.
    let live = tempfile::tempdir().expect("tempdir");
    let store = Store::open(live.path(), options()).expect("open");
    put_keys(&store, 0..1000);
    store.checkpoint().expect("checkpoint");
    put_keys(&store, 1000..3000);
    store.flush().expect("flush");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(live.path(), dir.path());
    store.checkpoint().expect("second checkpoint");
    std::fs::copy(
        live.path().join("index/hash_index.idx"),
        dir.path().join("index/hash_index.idx"),
    )
    .expect("copy index");
    let wal = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("wal/wal_active.log"))
        .expect("open wal");
    wal.set_len(16).expect("cut the frames");
    drop(wal);
    let before = contents(dir.path());
    match Store::open(dir.path(), options()) {
        Err(Error::Corrupt { file, what, .. }) => {
            assert!(file.ends_with("hash_index.idx"), "{file:?}: {what}");
            assert!(what.contains("WAL frames are missing"), "{what}");
        }
        Err(other) => panic!("expected the index reported, got {other}"),
        Ok(_) => panic!("opened a store whose index points past its segments"),
    }
    assert!(
        before == contents(dir.path()),
        "refusing changed the directory"
    );
}

#[test]
fn an_interrupted_create_starts_over() {
    // A store that never held a record: what `create` leaves before writing the metadata.
    let dir = tempfile::tempdir().expect("tempdir");
    Store::open(dir.path(), options())
        .expect("open")
        .close()
        .expect("close");
    std::fs::remove_file(dir.path().join("index/metadata.meta")).expect("rm");
    let store = Store::open(dir.path(), options()).expect("an empty directory starts over");
    put_keys(&store, 0..10);
    store.close().expect("close");
    let store = Store::open(dir.path(), options()).expect("reopen");
    assert_eq!(store.stats().live_keys, 10);
}
