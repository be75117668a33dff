//! `check` finds damage in every file kind, naming file and offset, without changing
//! anything; `repair` recovers every record that was not damaged, keeps the damaged store
//! aside, and says what was lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_log::{check, repair, RepairSource, Store};

#[path = "support/copy_dir.rs"]
mod copy_dir;

use copy_dir::copy_dir;

#[path = "support/small_segments.rs"]
mod small_segments;

use small_segments::options;

const KEYS: u32 = 3000;

fn value(i: u32) -> Vec<u8> {
    format!("value-{i}-{}", "v".repeat((i % 13) as usize)).into_bytes()
}

/// A closed store of `KEYS` keys over several segments, some keys rewritten and some
/// deleted before its last checkpoint.
fn closed_store() -> (tempfile::TempDir, BTreeMap<u32, Vec<u8>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store_dir = dir.path().join("store");
    let store = Store::open(&store_dir, options()).expect("open");
    let mut model = BTreeMap::new();
    for i in 0..KEYS {
        store.put(&i.to_le_bytes(), &value(i), None).expect("put");
        model.insert(i, value(i));
    }
    for i in (0..KEYS).step_by(10) {
        let v = format!("rewritten-{i}").into_bytes();
        store.put(&i.to_le_bytes(), &v, None).expect("put");
        model.insert(i, v);
    }
    store.close().expect("close");
    (dir, model)
}

/// A store as a crash leaves it: the last writes only in the WAL.
fn crashed_store() -> (tempfile::TempDir, BTreeMap<u32, Vec<u8>>) {
    let live = tempfile::tempdir().expect("tempdir");
    let store = Store::open(live.path(), options()).expect("open");
    let mut model = BTreeMap::new();
    for i in 0..KEYS {
        store.put(&i.to_le_bytes(), &value(i), None).expect("put");
        model.insert(i, value(i));
    }
    store.checkpoint().expect("checkpoint");
    for i in KEYS..KEYS + 200 {
        store.put(&i.to_le_bytes(), &value(i), None).expect("put");
        model.insert(i, value(i));
    }
    for i in 0..50u32 {
        store.delete(&i.to_le_bytes()).expect("delete");
        model.remove(&i);
    }
    store.flush().expect("flush");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(live.path(), &dir.path().join("store"));
    (dir, model)
}

fn flip(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at as usize] ^= 0x40;
    std::fs::write(path, bytes).expect("write");
}

fn largest_segment(store: &Path) -> PathBuf {
    std::fs::read_dir(store.join("segments"))
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .max_by_key(|p| std::fs::metadata(p).expect("meta").len())
        .expect("a segment")
}

/// Checks that `check` reports damage in `file`; returns the offsets reported there.
fn check_finds(store: &Path, file: &str) -> Vec<u64> {
    let before = std::fs::read(store.join("index/metadata.meta")).ok();
    let report = check(store).expect("check");
    assert!(!report.is_sound(), "damage in {file} went unnoticed");
    assert_eq!(
        std::fs::read(store.join("index/metadata.meta")).ok(),
        before,
        "check changed the store"
    );
    let offsets: Vec<u64> = report
        .damage
        .iter()
        .filter(|d| d.file.to_string_lossy().contains(file))
        .map(|d| d.offset)
        .collect();
    assert!(!offsets.is_empty(), "{file} not named: {:?}", report.damage);
    offsets
}

/// Repairs `store`, then checks that it opens sound and holds `model` but for the keys in
/// `may_lose` (which must then be absent, never wrong).
fn repair_recovers(
    root: &Path,
    model: &BTreeMap<u32, Vec<u8>>,
    may_lose: impl Fn(u32) -> bool,
) -> cairn_log::RepairReport {
    let store = root.join("store");
    let aside = root.join("aside");
    let report = repair(&store, &aside).expect("repair");
    assert!(
        aside.join("segments").exists(),
        "the damaged store is kept aside"
    );
    assert!(
        check(&store).expect("check").is_sound(),
        "the repaired store is sound"
    );
    let opened = Store::open(&store, options()).expect("the repaired store opens");
    let mut lost = 0;
    for (i, v) in model {
        match opened.get(&i.to_le_bytes()).expect("get") {
            Some(got) => assert_eq!(got.as_ref(), v.as_slice(), "key {i} came back wrong"),
            None => {
                assert!(may_lose(*i), "key {i} was lost: {:?}", report.lost);
                lost += 1;
            }
        }
    }
    assert_eq!(
        opened.stats().live_keys,
        (model.len() - lost) as u64,
        "no key came back that should not have"
    );
    report
}

#[test]
fn a_sound_store_checks_sound() {
    let (dir, _) = closed_store();
    let report = check(&dir.path().join("store")).expect("check");
    assert!(report.is_sound(), "{:?}", report.damage);
    assert_eq!(report.live_entries, u64::from(KEYS));
    let (dir, _) = crashed_store();
    let report = check(&dir.path().join("store")).expect("check");
    assert!(report.is_sound(), "{:?}", report.damage);
    assert!(report.frames > 0);
}

#[test]
fn a_damaged_record_is_found_and_only_it_is_lost() {
    let (dir, model) = closed_store();
    // A byte of the value of key 1501, whose record is live (it was never rewritten).
    let needle = value(1501);
    let (segment, at) = std::fs::read_dir(dir.path().join("store/segments"))
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .find_map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            let at = bytes.windows(needle.len()).position(|w| w == needle)?;
            Some((p, (at + 3) as u64))
        })
        .expect("the record of key 1501");
    flip(&segment, at);
    let offsets = check_finds(&dir.path().join("store"), "segment_");
    assert!(
        offsets.iter().any(|&o| o <= at && at < o + 64),
        "reported {offsets:?}, flipped {at}"
    );
    let report = repair_recovers(dir.path(), &model, |i| i == 1501);
    assert_eq!(report.source, RepairSource::IndexCheckpoint);
    assert_eq!(report.lost.len(), 1, "{:?}", report.lost);
    assert_eq!(
        report.keys,
        u64::from(KEYS) - 1,
        "exactly the damaged key is lost"
    );
}

#[test]
fn a_damaged_segment_header_is_found() {
    let (dir, model) = closed_store();
    let segment = largest_segment(&dir.path().join("store"));
    flip(&segment, 20);
    check_finds(&dir.path().join("store"), "segment_");
    let report = repair_recovers(dir.path(), &model, |_| true);
    assert!(!report.lost.is_empty());
    assert!(
        report.keys > u64::from(KEYS) / 2,
        "only that segment's keys are lost"
    );
}

#[test]
fn a_damaged_index_is_found_and_the_segments_rebuild_it() {
    let (dir, model) = closed_store();
    let index = dir.path().join("store/index/hash_index.idx");
    let len = std::fs::metadata(&index).expect("meta").len();
    flip(&index, len - 5);
    check_finds(&dir.path().join("store"), "hash_index.idx");
    let report = repair_recovers(dir.path(), &model, |_| false);
    assert_eq!(report.source, RepairSource::SegmentScan);
    assert!(!report.caveats.is_empty(), "the scan's limits are said");
}

#[test]
fn a_damaged_bloom_filter_or_metadata_loses_nothing() {
    for file in ["index/bloom_filter.blm", "index/metadata.meta"] {
        let (dir, model) = closed_store();
        flip(&dir.path().join("store").join(file), 30);
        check_finds(
            &dir.path().join("store"),
            file.rsplit('/').next().expect("name"),
        );
        repair_recovers(dir.path(), &model, |_| false);
    }
    let (dir, model) = crashed_store();
    std::fs::remove_file(dir.path().join("store/index/metadata.meta")).expect("rm");
    check_finds(&dir.path().join("store"), "metadata.meta");
    repair_recovers(dir.path(), &model, |_| false);
}

#[test]
fn a_damaged_wal_frame_keeps_the_frames_before_it() {
    let (dir, model) = crashed_store();
    let wal = dir.path().join("store/wal/wal_active.log");
    // A byte in the middle of the frames (valid frames follow it: damage, not a torn tail).
    let frames_len = std::fs::read(&wal)
        .expect("read")
        .iter()
        .rposition(|&b| b != 0)
        .expect("frames") as u64;
    flip(&wal, frames_len / 2);
    check_finds(&dir.path().join("store"), "wal_active.log");
    // Writes logged after the damage may be lost: the keys past KEYS, and the deletes of
    // keys below 50, which then keep their checkpointed value. Nothing else changes.
    let store = dir.path().join("store");
    let report = repair(&store, &dir.path().join("aside")).expect("repair");
    assert!(
        report.frames > 0,
        "the frames before the damage are replayed"
    );
    assert!(report
        .lost
        .iter()
        .any(|d| d.file.ends_with("wal_active.log")));
    let opened = Store::open(&store, options()).expect("the repaired store opens");
    for i in 0..KEYS + 200 {
        let got = opened.get(&i.to_le_bytes()).expect("get");
        match (got.as_deref(), model.get(&i)) {
            (Some(got), Some(want)) => assert_eq!(got, want.as_slice(), "key {i}"),
            (None, None) => {}
            (None, Some(_)) => assert!(i >= KEYS, "key {i}, checkpointed, was lost"),
            (Some(got), None) => {
                assert!(i < 50, "key {i} came back");
                assert_eq!(got, value(i).as_slice(), "key {i} came back wrong");
            }
        }
    }
}

#[test]
fn a_missing_active_wal_is_reported() {
    let (dir, _) = crashed_store();
    std::fs::remove_file(dir.path().join("store/wal/wal_active.log")).expect("rm");
    check_finds(&dir.path().join("store"), "wal_active.log");
}
