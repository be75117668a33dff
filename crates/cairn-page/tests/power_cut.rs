//! Failing disks and power cuts, through the fault-injecting file layer (cairn-fs).
//!
//! A seeded workload of transactions over a B+tree (inserts and deletes, some aborted), with a
//! buffer pool small enough that pages are written back mid-transaction and checkpoints that
//! rewrite the log, runs until the power goes off at a random file operation. The cut undoes
//! a random choice of what no fsync covered (torn page writes included); the store reopens on
//! the real file system and must recover without error to exactly the committed transactions:
//! every acknowledged commit, no aborted change, and the commit in flight whole or not at all.

use cairn_test_support::{power_cut_campaign, Rng};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use cairn_fs::{Fault, Faults, Fs, OpKind};
use cairn_page::{Error, PageStore, StoreOptions};

const TREE: usize = 0;

type State = BTreeMap<Vec<u8>, Vec<u8>>;

fn options(fs: Fs) -> StoreOptions {
    StoreOptions {
        frames: 8,
        sync_commit: true,
        checkpoint_bytes: 48 << 10,
        fs,
    }
}

/// One transaction of the workload: its changes, and whether it commits.
struct Txn {
    puts: Vec<(Vec<u8>, Vec<u8>)>,
    deletes: Vec<Vec<u8>>,
    commit: bool,
}

/// The transactions of `seed`, planned against the state they will find.
fn workload(seed: u64) -> Vec<Txn> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut state = State::new();
    (0..60)
        .map(|n| {
            let mut next = state.clone();
            let mut txn = Txn {
                puts: Vec::new(),
                deletes: Vec::new(),
                commit: rng.below(5) != 0,
            };
            for i in 0..1 + rng.below(8) {
                let existing: Vec<Vec<u8>> = next.keys().cloned().collect();
                if !existing.is_empty() && rng.below(3) == 0 {
                    let key = existing[rng.below(existing.len() as u64) as usize].clone();
                    next.remove(&key);
                    txn.deletes.push(key);
                } else {
                    // Wide keys, so that the tree splits and merges within a few transactions.
                    let key = format!("{:04}-{}", rng.below(10_000), "k".repeat(400));
                    if next.contains_key(key.as_bytes()) {
                        continue;
                    }
                    let value = format!("{seed}.{n}.{i}").into_bytes();
                    next.insert(key.clone().into_bytes(), value.clone());
                    txn.puts.push((key.into_bytes(), value));
                }
            }
            if txn.commit {
                state = next;
            }
            txn
        })
        .collect()
}

/// Runs the workload until it ends or an operation fails; returns how many transactions were
/// acknowledged (committed or aborted) and whether the next one failed at its commit (so it
/// may or may not have happened).
fn run(dir: &Path, fs: Fs, txns: &[Txn]) -> (usize, bool) {
    let Ok(store) = PageStore::open(dir, options(fs)) else {
        return (0, false);
    };
    let setup = || -> Result<(), Error> {
        if store.root(TREE)? == 0 {
            let root = store.create_btree()?;
            let mut t = store.begin()?;
            t.set_root(TREE, root)?;
            t.commit()?;
        }
        Ok(())
    };
    if setup().is_err() {
        return (0, false);
    }
    let Ok(root) = store.root(TREE) else {
        return (0, false);
    };
    let tree = store.btree(root);
    for (n, planned) in txns.iter().enumerate() {
        let changes = || -> Result<cairn_page::Txn<'_>, Error> {
            let mut txn = store.begin()?;
            for (key, value) in &planned.puts {
                tree.insert(&mut txn, key, value, true)?;
            }
            for key in &planned.deletes {
                let value = tree.get(key)?.pop().unwrap_or_default();
                tree.delete(&mut txn, key, &value)?;
            }
            Ok(txn)
        };
        let Ok(txn) = changes() else {
            return (n, false);
        };
        let ended = if planned.commit {
            txn.commit()
        } else {
            txn.abort()
        };
        if ended.is_err() {
            return (n, planned.commit);
        }
        if n % 7 == 6 && store.checkpoint().is_err() {
            return (n + 1, false);
        }
    }
    (txns.len(), false)
}

fn read_state(store: &PageStore) -> State {
    let root = store.root(TREE).expect("root");
    if root == 0 {
        return State::new();
    }
    let tree = store.btree(root);
    tree.check().expect("B+tree invariants after the cut");
    tree.range(Bound::Unbounded, Bound::Unbounded)
        .collect::<Result<_, _>>()
        .expect("scan after the cut")
}

fn committed(txns: &[Txn], n: usize) -> State {
    let mut state = State::new();
    for txn in txns.iter().take(n).filter(|t| t.commit) {
        for (k, v) in &txn.puts {
            state.insert(k.clone(), v.clone());
        }
        for k in &txn.deletes {
            state.remove(k);
        }
    }
    state
}

fn power_cut_case(seed: u64, total_ops: u64) -> cairn_fs::CutReport {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let txns = workload(seed);
    let mut rng = Rng(seed | 1);
    faults.power_off_at(1 + rng.below(total_ops + total_ops / 10));
    let (acked, in_doubt) = run(&dir, Fs::with_faults(faults.clone()), &txns);
    let report = faults.power_cut(seed).expect("power cut");

    let store = PageStore::open(&dir, options(Fs::os()))
        .unwrap_or_else(|e| panic!("seed {seed}: recovery after the cut failed: {e} ({report:?})"));
    let found = read_state(&store);
    let mut candidates = vec![committed(&txns, acked)];
    if in_doubt {
        candidates.push(committed(&txns, acked + 1));
    }
    assert!(
        candidates.contains(&found),
        "seed {seed}: after {acked} acknowledged transactions (one in doubt: {in_doubt}) the \
         tree holds {} keys, not the committed ones ({:?} keys) ({report:?})",
        found.len(),
        candidates.iter().map(|c| c.len()).collect::<Vec<_>>()
    );
    report
}

/// File operations the whole workload of `seed` makes when nothing fails.
fn operations_of(seed: u64) -> u64 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let txns = workload(seed);
    let (acked, _) = run(
        &tmp.path().join("store"),
        Fs::with_faults(faults.clone()),
        &txns,
    );
    assert_eq!(acked, txns.len());
    faults.ops()
}

#[test]
fn a_power_cut_at_any_point_recovers_exactly_the_committed_transactions() {
    let total_ops = operations_of(1);
    let campaign = power_cut_campaign(|seed| power_cut_case(seed, total_ops));
    eprintln!("{campaign}, over {total_ops} file operations");
    // The cuts must reach what they are for, or the test proves nothing.
    if campaign.cases >= 100 {
        assert!(
            campaign.undid_writes > campaign.cases / 20
                && campaign.torn > 0
                && campaign.undid_entries > 0,
            "{campaign}"
        );
    }
}

/// A store on a fresh fault plan, with a tree holding `before` committed keys.
fn store_with_faults(before: u32) -> (tempfile::TempDir, Arc<Faults>, PageStore) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let store = PageStore::open(
        tmp.path().join("store"),
        options(Fs::with_faults(faults.clone())),
    )
    .expect("open");
    let root = store.create_btree().expect("tree");
    let mut t = store.begin().expect("begin");
    t.set_root(TREE, root).expect("root");
    for k in 0..before {
        store
            .btree(root)
            .insert(&mut t, format!("before-{k}").as_bytes(), b"v", true)
            .expect("insert");
    }
    t.commit().expect("commit");
    (tmp, faults, store)
}

fn insert_one(store: &PageStore, key: &str) -> Result<(), Error> {
    let tree = store.btree(store.root(TREE)?);
    let mut t = store.begin()?;
    tree.insert(&mut t, key.as_bytes(), b"v", true)?;
    t.commit()
}

#[test]
fn a_failed_log_fsync_poisons_the_store_until_it_is_reopened() {
    let (tmp, faults, store) = store_with_faults(5);
    // The log's appends are written durable (O_DSYNC), or written then fsynced: fail both.
    faults.fail_next(OpKind::Write, 0, Fault::Eio);
    faults.fail_next(OpKind::Sync, 0, Fault::Eio);
    assert!(insert_one(&store, "lost?").is_err());
    for _ in 0..3 {
        let err = insert_one(&store, "refused").expect_err("poisoned");
        assert!(matches!(err, Error::Poisoned), "{err}");
    }
    drop(store);
    let store = PageStore::open(tmp.path().join("store"), options(Fs::os())).expect("reopen");
    let state = read_state(&store);
    assert_eq!(state.len(), 5, "{:?}", state.keys());
    insert_one(&store, "after reopen").expect("writes again");
}

#[test]
fn a_failed_page_file_fsync_at_a_checkpoint_poisons_the_store() {
    let (_tmp, faults, store) = store_with_faults(40);
    faults.fail_next(OpKind::Sync, 0, Fault::Eio);
    assert!(store.checkpoint().is_err());
    let err = insert_one(&store, "refused").expect_err("poisoned");
    assert!(matches!(err, Error::Poisoned), "{err}");
}

#[test]
fn a_full_disk_fails_the_commit_and_after_space_is_freed_the_store_works_on() {
    let (tmp, faults, store) = store_with_faults(3);
    faults.set_disk_full(true);
    // Commits go on while the log's preallocated space lasts; the first that needs more fails.
    let mut refused = None;
    for i in 0..2_000 {
        if let Err(e) = insert_one(&store, &format!("full-{i:05}-{}", "x".repeat(300))) {
            refused = Some((i, e));
            break;
        }
    }
    let (i, err) = refused.expect("the disk never filled");
    assert!(
        matches!(err, Error::Io { .. } if err.is_storage_full()),
        "{err}"
    );
    faults.set_disk_full(false);
    // The log stopped mid-flush: like PostgreSQL after a failed WAL write, the store is
    // recovered by reopening, which loses nothing acknowledged.
    drop(store);
    let store = PageStore::open(tmp.path().join("store"), options(Fs::os())).expect("reopen");
    let state = read_state(&store);
    assert!(
        state.len() == 3 + i || state.len() == 4 + i,
        "{} keys",
        state.len()
    );
    insert_one(&store, "after").expect("works on");
}
