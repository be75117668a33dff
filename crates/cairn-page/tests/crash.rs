//! Transactions under `kill -9`: a child process runs random transactions over a heap and
//! two indexes on it (a B+tree and a hash index, both mapping each value to its tuple id):
//! inserts, updates and deletes, most committed, some aborted, one in flight when it dies.
//! It reports each change and each outcome. The parent kills it at a random moment — one
//! round in five within 2 ms of the child starting to recover from the previous kill, before
//! it is ready — reopens the store,
//! and checks that it holds exactly the committed transactions: every committed change, no
//! aborted one, the transaction in flight whole (its commit reached the log) or not at all,
//! both indexes agreeing with the heap, and the B+tree's invariants intact.

use cairn_test_support::child::TestChild;
use cairn_test_support::Rng;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::Duration;

use cairn_page::{PageStore, StoreOptions, TupleId};

const ROUNDS: u64 = 50;
const CHILD_DIR: &str = "CAIRN_PAGE_CRASH_DIR";
const CHILD_ROUND: &str = "CAIRN_PAGE_CRASH_ROUND";
const HEAP: usize = 0;
const TREE: usize = 1;
const HASH: usize = 2;

fn options() -> StoreOptions {
    // A pool smaller than the pages touched (pages are written back mid-transaction), and
    // checkpoints often enough that kills land around them and their log truncation.
    StoreOptions {
        frames: 24,
        sync_commit: true,
        checkpoint_bytes: 512 << 10,
        ..StoreOptions::default()
    }
}

type State = BTreeMap<TupleId, String>;

fn tid_bytes(tid: TupleId) -> Vec<u8> {
    let mut b = tid.0.to_be_bytes().to_vec();
    b.extend_from_slice(&tid.1.to_be_bytes());
    b
}

/// The heap's contents, after checking that both indexes agree with them.
fn read_state(store: &PageStore) -> State {
    let heap = store.heap(store.root(HEAP).expect("root")).expect("heap");
    let mut state = State::new();
    for r in heap.scan() {
        let (tid, v) = r.expect("scan");
        state.insert(tid, String::from_utf8(v).expect("utf-8"));
    }
    let tree = store.btree(store.root(TREE).expect("root"));
    tree.check().expect("B+tree invariants");
    let entries: Vec<(Vec<u8>, Vec<u8>)> = tree
        .range(Bound::Unbounded, Bound::Unbounded)
        .collect::<Result<_, _>>()
        .expect("tree scan");
    let mut want: Vec<(Vec<u8>, Vec<u8>)> = state
        .iter()
        .map(|(tid, v)| (v.clone().into_bytes(), tid_bytes(*tid)))
        .collect();
    want.sort();
    assert_eq!(entries, want, "the B+tree disagrees with the heap");
    let hash = store.hash_index(store.root(HASH).expect("root"));
    hash.check().expect("hash index invariants");
    for (tid, v) in &state {
        assert_eq!(
            hash.get(v.as_bytes()).expect("hash get"),
            vec![tid_bytes(*tid)],
            "the hash index disagrees with the heap"
        );
    }
    state
}

#[test]
#[ignore = "the child process of kill_9_keeps_exactly_the_committed_transactions"]
fn txn_child() {
    let dir = std::env::var(CHILD_DIR).expect("run by the parent test");
    let round: u64 = std::env::var(CHILD_ROUND)
        .expect("round")
        .parse()
        .expect("round");
    println!("recovering");
    let store = PageStore::open(&dir, options()).expect("recover");
    println!("ready");
    let heap = store.heap(store.root(HEAP).expect("root")).expect("heap");
    let tree = store.btree(store.root(TREE).expect("root"));
    let hash = store.hash_index(store.root(HASH).expect("root"));
    let mut state: State = heap
        .scan()
        .map(|r| {
            let (tid, v) = r.expect("scan");
            (tid, String::from_utf8(v).expect("utf-8"))
        })
        .collect();
    let mut rng = Rng(round * 7919 + 1);
    for n in 0u64.. {
        let mut txn = store.begin().expect("begin");
        let mut next = state.clone();
        for i in 0..1 + rng.below(6) {
            let existing: Vec<TupleId> = next.keys().copied().collect();
            let value = format!("{round}.{n}.{i}.{}", "x".repeat(rng.below(300) as usize));
            match rng.below(3) {
                0 if !existing.is_empty() => {
                    let tid = existing[rng.below(existing.len() as u64) as usize];
                    let old = next[&tid].clone();
                    let new = heap
                        .update(&mut txn, tid, value.as_bytes())
                        .expect("update");
                    tree.delete(&mut txn, old.as_bytes(), &tid_bytes(tid))
                        .expect("tree delete");
                    hash.delete(&mut txn, old.as_bytes(), &tid_bytes(tid))
                        .expect("hash delete");
                    tree.insert(&mut txn, value.as_bytes(), &tid_bytes(new), true)
                        .expect("tree insert");
                    hash.insert(&mut txn, value.as_bytes(), &tid_bytes(new))
                        .expect("hash insert");
                    println!("op upd {} {} {} {} {value}", tid.0, tid.1, new.0, new.1);
                    next.remove(&tid);
                    next.insert(new, value);
                }
                1 if !existing.is_empty() => {
                    let tid = existing[rng.below(existing.len() as u64) as usize];
                    let old = next[&tid].clone();
                    heap.delete(&mut txn, tid).expect("delete");
                    tree.delete(&mut txn, old.as_bytes(), &tid_bytes(tid))
                        .expect("tree delete");
                    hash.delete(&mut txn, old.as_bytes(), &tid_bytes(tid))
                        .expect("hash delete");
                    println!("op del {} {} 0 0 -", tid.0, tid.1);
                    next.remove(&tid);
                }
                _ => {
                    let tid = heap.insert(&mut txn, value.as_bytes()).expect("insert");
                    tree.insert(&mut txn, value.as_bytes(), &tid_bytes(tid), true)
                        .expect("tree insert");
                    hash.insert(&mut txn, value.as_bytes(), &tid_bytes(tid))
                        .expect("hash insert");
                    println!("op ins {} {} 0 0 {value}", tid.0, tid.1);
                    next.insert(tid, value);
                }
            }
        }
        if rng.below(5) == 0 {
            txn.abort().expect("abort");
            println!("abort");
        } else {
            txn.commit().expect("commit");
            println!("commit");
            state = next;
        }
    }
}

fn apply(state: &mut State, ops: &[String]) {
    for op in ops {
        let parts: Vec<&str> = op.splitn(7, ' ').collect();
        let num = |i: usize| parts[i].parse::<u32>().expect("number");
        let tid: TupleId = (num(2), num(3) as u16);
        match parts[1] {
            "ins" => {
                state.insert(tid, parts[6].to_string());
            }
            "upd" => {
                state.remove(&tid);
                state.insert((num(4), num(5) as u16), parts[6].to_string());
            }
            "del" => {
                state.remove(&tid);
            }
            other => panic!("unknown op {other}"),
        }
    }
}

/// When the parent kills the child.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after starting it (mostly mid-transactions).
    After(Duration),
    /// This long after it announces that it is opening (recovering) the store.
    DuringRecovery(Duration),
}

fn run_and_kill(dir: &std::path::Path, round: u64, kill: Kill) -> Vec<String> {
    let child = TestChild::spawn(
        "txn_child",
        &[
            (CHILD_DIR, dir.display().to_string()),
            (CHILD_ROUND, round.to_string()),
        ],
    );
    let mut lines = Vec::new();
    match kill {
        Kill::After(delay) => std::thread::sleep(delay),
        Kill::DuringRecovery(delay) => {
            while let Ok(line) = child.lines.recv_timeout(Duration::from_secs(30)) {
                // libtest prints the test's name and its first output on one line.
                let recovering = line.ends_with("recovering");
                lines.push(line);
                if recovering {
                    break;
                }
            }
            std::thread::sleep(delay);
        }
    }
    lines.extend(child.kill());
    lines
}

#[test]
fn kill_9_keeps_exactly_the_committed_transactions() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = PageStore::open(dir.path(), options()).expect("create");
        let heap = store.create_heap().expect("heap");
        let tree = store.create_btree().expect("tree");
        let hash = store.create_hash_index().expect("hash");
        let mut t = store.begin().expect("begin");
        t.set_root(HEAP, heap).expect("root");
        t.set_root(TREE, tree).expect("root");
        t.set_root(HASH, hash).expect("root");
        t.commit().expect("commit");
    }
    let mut model = State::new();
    let mut rng = Rng(42);
    let (mut commits, mut aborts, mut in_flight_kept, mut in_flight_lost) = (0, 0, 0, 0);
    let mut killed_recovering = 0;
    for round in 0..ROUNDS {
        let kill = if round % 5 == 4 {
            Kill::DuringRecovery(Duration::from_micros(rng.below(2000)))
        } else {
            Kill::After(Duration::from_millis(20 + rng.below(120)))
        };
        let lines = run_and_kill(dir.path(), round, kill);
        if !lines.iter().any(|l| l == "ready") {
            killed_recovering += 1;
        }
        let mut pending = Vec::new();
        for line in lines {
            if line.starts_with("op ") {
                pending.push(line);
            } else if line == "commit" {
                apply(&mut model, &pending);
                pending.clear();
                commits += 1;
            } else if line == "abort" {
                pending.clear();
                aborts += 1;
            }
        }
        let store = PageStore::open(dir.path(), options()).expect("recover");
        let found = read_state(&store);
        if found != model {
            let mut with = model.clone();
            apply(&mut with, &pending);
            assert_eq!(found, with, "round {round}: neither the committed state nor it plus the transaction in flight {pending:?}");
            model = with;
            in_flight_kept += 1;
        } else if !pending.is_empty() {
            in_flight_lost += 1;
        }
    }
    eprintln!(
        "{ROUNDS} kills ({killed_recovering} before recovery finished): {commits} commits and {aborts} aborts checked; in-flight transaction kept after {in_flight_kept}, undone after {in_flight_lost}"
    );
    assert!(commits > ROUNDS, "the child must commit between kills");
    assert!(
        killed_recovering > 0,
        "no kill landed while the child was recovering"
    );
}
