//! Failing disks and power cuts, through the fault-injecting file layer (cairn-fs).
//!
//! `kill -9` (crash.rs) loses only what the process had not handed to the kernel; a power cut
//! also loses what the kernel had not written, and may keep any part of it. Here a seeded
//! workload (puts of small and spliced values, deletes, checkpoints, compactions, segment
//! rolls) runs until the power goes off at a random file operation; the cut then undoes a
//! random choice of what no fsync covered, and the store reopens on the real file system. It
//! must open without error and hold exactly the state after some prefix of the workload that
//! includes every acknowledged write (`Durability::Always`).

use cairn_test_support::{power_cut_campaign, Rng};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cairn_fs::{Fault, Faults, Fs, OpKind};
use cairn_log::{Durability, Error, Options, Store};

#[derive(Debug, Clone)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
}

fn options(fs: Fs) -> Options {
    Options {
        max_segment_size: 24 << 10,
        checkpoint_wal_bytes: 1 << 40,
        background_maintenance: false,
        bloom_initial_capacity: 1024,
        cache_bytes: 1 << 20,
        durability: Durability::Always,
        fs,
        ..Options::default()
    }
}

fn key(k: u8) -> Vec<u8> {
    format!("key-{k:02}").into_bytes()
}

/// The workload of `seed`: writes, with a checkpoint or a compaction now and then.
fn workload(seed: u64) -> Vec<(Op, Option<&'static str>)> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..40u32)
        .map(|i| {
            let k = rng.below(12) as u8;
            let op = if rng.below(5) == 0 {
                Op::Delete(k)
            } else {
                // Mostly small values; some past the 64 KiB at which the WAL splices records.
                let len = match rng.below(10) {
                    0 => 70_000 + rng.below(2_000) as usize,
                    1..=3 => 2_000 + rng.below(6_000) as usize,
                    _ => 1 + rng.below(300) as usize,
                };
                // Incompressible, so that sizes on disk are what they say.
                let mut noise = Rng(u64::from(i) << 8 | u64::from(k) | 1 << 40);
                Op::Put(k, (0..len).map(|_| noise.next() as u8).collect())
            };
            let maintenance = match rng.below(12) {
                0 => Some("checkpoint"),
                1 => Some("compact"),
                _ => None,
            };
            (op, maintenance)
        })
        .collect()
}

fn apply(state: &mut BTreeMap<u8, Vec<u8>>, op: &Op) {
    match op {
        Op::Put(k, v) => {
            state.insert(*k, v.clone());
        }
        Op::Delete(k) => {
            state.remove(k);
        }
    }
}

/// Runs the workload until it ends or an operation fails; returns the ops acknowledged and
/// whether one more was attempted (and failed, so it may or may not have happened).
fn run(dir: &Path, fs: Fs, ops: &[(Op, Option<&'static str>)]) -> (usize, bool) {
    let Ok(store) = Store::open(dir, options(fs)) else {
        return (0, false);
    };
    for (i, (op, maintenance)) in ops.iter().enumerate() {
        let done = match op {
            Op::Put(k, v) => store.put(&key(*k), v, None),
            Op::Delete(k) => store.delete(&key(*k)).map(drop),
        };
        if done.is_err() {
            return (i, true);
        }
        let upkeep = match maintenance {
            Some("checkpoint") => store.checkpoint(),
            Some(_) => store.compact().map(drop),
            None => Ok(()),
        };
        if upkeep.is_err() {
            return (i + 1, false);
        }
    }
    (ops.len(), false)
}

fn read_state(store: &Store) -> BTreeMap<u8, Vec<u8>> {
    (0..12u8)
        .filter_map(|k| {
            store
                .get(&key(k))
                .expect("read after the cut")
                .map(|v| (k, v.to_vec()))
        })
        .collect()
}

/// File operations the whole workload of `seed` makes when nothing fails.
fn operations_of(seed: u64) -> u64 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let ops = workload(seed);
    let (acked, _) = run(
        &tmp.path().join("store"),
        Fs::with_faults(faults.clone()),
        &ops,
    );
    assert_eq!(acked, ops.len());
    faults.ops()
}

fn power_cut_case(seed: u64, total_ops: u64) -> cairn_fs::CutReport {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let ops = workload(seed);
    let mut rng = Rng(seed | 1);
    faults.power_off_at(1 + rng.below(total_ops + total_ops / 10));
    let (acked, attempted) = run(&dir, Fs::with_faults(faults.clone()), &ops);
    let report = faults.power_cut(seed).expect("power cut");

    let store = Store::open(&dir, options(Fs::os())).unwrap_or_else(|e| {
        panic!("seed {seed}: reopening after the cut failed: {e} ({report:?})")
    });
    let found = read_state(&store);
    let mut state = BTreeMap::new();
    for op in ops.iter().take(acked) {
        apply(&mut state, &op.0);
    }
    let mut candidates = vec![state.clone()];
    if attempted {
        apply(&mut state, &ops[acked].0);
        candidates.push(state);
    }
    assert!(
        candidates.contains(&found),
        "seed {seed}: after {acked} acknowledged writes (one more attempted: {attempted}) the \
         store holds keys {:?}, not a prefix of the history ({report:?})",
        found.keys().collect::<Vec<_>>()
    );
    // The recovered store takes writes and survives its own reopen.
    store.put(b"after", b"the cut", None).expect("write after");
    drop(store);
    let store = Store::open(&dir, options(Fs::os())).expect("second reopen");
    assert_eq!(
        store.get(b"after").expect("get").as_deref(),
        Some(&b"the cut"[..])
    );
    report
}

#[test]
fn a_power_cut_at_any_point_keeps_a_prefix_with_every_acknowledged_write() {
    let total_ops = operations_of(1);
    let campaign = power_cut_campaign(|seed| power_cut_case(seed, total_ops));
    eprintln!("{campaign}, over {total_ops} file operations");
    // The cuts must reach what they are for, or the test proves nothing.
    if campaign.cases >= 100 {
        assert!(
            campaign.undid_writes > campaign.cases / 4
                && campaign.torn > 0
                && campaign.undid_entries > 0,
            "{campaign}"
        );
    }
}

/// Opens a store on a fresh fault plan, with `before` writes done.
fn store_with_faults(before: u8) -> (tempfile::TempDir, Arc<Faults>, Store) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let store = Store::open(
        tmp.path().join("store"),
        options(Fs::with_faults(faults.clone())),
    )
    .expect("open");
    for k in 0..before {
        store.put(&key(k), b"before", None).expect("put");
    }
    (tmp, faults, store)
}

#[test]
fn a_failed_fsync_poisons_the_store_until_it_is_reopened() {
    let (tmp, faults, store) = store_with_faults(3);
    faults.fail_next(OpKind::Sync, 0, Fault::Eio);
    let err = store.put(&key(3), b"lost?", None).expect_err("fsync fails");
    assert!(matches!(err, Error::Io { .. } | Error::Poisoned), "{err}");
    for _ in 0..3 {
        let err = store.put(&key(4), b"refused", None).expect_err("poisoned");
        assert!(matches!(err, Error::Poisoned), "{err}");
    }
    assert_eq!(
        store.get(&key(0)).expect("reads go on").as_deref(),
        Some(&b"before"[..])
    );
    drop(store);
    let store = Store::open(tmp.path().join("store"), options(Fs::os())).expect("reopen");
    for k in 0..3 {
        assert_eq!(
            store.get(&key(k)).expect("get").as_deref(),
            Some(&b"before"[..])
        );
    }
    assert_eq!(store.get(&key(4)).expect("get"), None);
    store
        .put(&key(4), b"after reopen", None)
        .expect("writes again");
}

#[test]
fn a_failed_checkpoint_fsync_poisons_the_store() {
    // Fail each of the checkpoint's first operations in turn (WAL rotation, segment fsync,
    // snapshot writes): every failure that is not a full disk leaves the store poisoned.
    let mut failed = 0;
    for n in 1..16 {
        let (_tmp, faults, store) = store_with_faults(3);
        faults.fail_at(faults.ops() + n, Fault::Eio);
        if store.checkpoint().is_err() {
            let err = store.put(&key(5), b"x", None).expect_err("poisoned");
            assert!(matches!(err, Error::Poisoned), "operation {n}: {err}");
            failed += 1;
        }
    }
    assert!(failed > 5, "only {failed} checkpoint operations failed");
}

#[test]
fn a_full_disk_refuses_writes_cleanly_and_the_store_works_on_once_space_is_freed() {
    let (tmp, faults, store) = store_with_faults(2);
    faults.set_disk_full(true);
    // Writes go on while preallocated space lasts, then fail with ENOSPC, never poisoning.
    let mut refused = 0;
    for i in 0..200u32 {
        let mut noise = Rng(u64::from(i) + 1);
        let value: Vec<u8> = (0..8000).map(|_| noise.next() as u8).collect();
        match store.put(format!("full-{i}").as_bytes(), &value, None) {
            Ok(()) => {}
            Err(e) => {
                assert!(e.is_storage_full(), "write {i}: {e}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the disk never filled");
    assert!(store.checkpoint().is_err_and(|e| e.is_storage_full()) || store.checkpoint().is_ok());
    faults.set_disk_full(false);
    store.put(b"after", b"space freed", None).expect("works on");
    store.checkpoint().expect("checkpoint after space freed");
    let kept: Vec<bool> = (0..200u32)
        .map(|i| {
            store
                .get(format!("full-{i}").as_bytes())
                .expect("get")
                .is_some()
        })
        .collect();
    drop(store);
    let store = Store::open(tmp.path().join("store"), options(Fs::os())).expect("reopen");
    assert_eq!(
        store.get(b"after").expect("get").as_deref(),
        Some(&b"space freed"[..])
    );
    for (i, was) in kept.iter().enumerate() {
        let now = store
            .get(format!("full-{i}").as_bytes())
            .expect("get")
            .is_some();
        assert_eq!(now, *was, "key full-{i}");
    }
}

#[test]
fn a_short_write_of_the_wal_fails_the_write_and_loses_nothing_acknowledged() {
    let (tmp, faults, store) = store_with_faults(4);
    faults.fail_next(OpKind::Write, 0, Fault::ShortWrite);
    assert!(store.put(&key(9), &[1u8; 5000], None).is_err());
    drop(store);
    let store = Store::open(tmp.path().join("store"), options(Fs::os())).expect("reopen");
    for k in 0..4 {
        assert_eq!(
            store.get(&key(k)).expect("get").as_deref(),
            Some(&b"before"[..])
        );
    }
}
