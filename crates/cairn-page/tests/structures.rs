//! Heap, B+tree and hash index against models (HashMap, BTreeSet): random operations,
//! committed and aborted transactions, reopen interleaved, and the structures' invariants
//! checked after every step.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use cairn_page::{PageId, PageStore, StoreOptions, TupleId};
use proptest::prelude::*;

fn options() -> StoreOptions {
    // A small pool and frequent checkpoints: eviction, full-page images and log truncation
    // all happen within a test case.
    StoreOptions {
        frames: 48,
        sync_commit: false,
        checkpoint_bytes: 256 << 10,
        ..StoreOptions::default()
    }
}

fn open(dir: &std::path::Path) -> PageStore {
    PageStore::open(dir, options()).expect("open")
}

/// A key of varied length (so nodes split at varied points) that sorts by `k`.
fn key(k: u16) -> Vec<u8> {
    let mut v = format!("k{k:05}").into_bytes();
    v.extend(std::iter::repeat_n(b'.', (k % 13) as usize * 25));
    v
}

fn value(v: u16) -> Vec<u8> {
    let mut b = format!("v{v:05}").into_bytes();
    b.extend(std::iter::repeat_n(b'#', 60 + (v % 7) as usize * 30));
    b
}

#[derive(Debug, Clone)]
enum TreeOp {
    Insert(u16, u16),
    Delete(usize),
    /// Several inserts and deletes in one transaction that aborts.
    Aborted(Vec<(u16, u16)>, Vec<usize>),
    Range(u16, u16, bool, bool),
    Reopen,
}

fn tree_op() -> impl Strategy<Value = TreeOp> {
    prop_oneof![
        10 => (0u16..400, 0u16..6).prop_map(|(k, v)| TreeOp::Insert(k, v)),
        5 => any::<usize>().prop_map(TreeOp::Delete),
        1 => (prop::collection::vec((0u16..400, 0u16..6), 1..8), prop::collection::vec(any::<usize>(), 0..8))
            .prop_map(|(i, d)| TreeOp::Aborted(i, d)),
        2 => (0u16..400, 0u16..400, any::<bool>(), any::<bool>()).prop_map(|(a, b, inc, rev)| TreeOp::Range(a, b, inc, rev)),
        1 => Just(TreeOp::Reopen),
    ]
}

type Model = BTreeSet<(Vec<u8>, Vec<u8>)>;

fn nth(model: &Model, i: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    if model.is_empty() {
        return None;
    }
    model.iter().nth(i % model.len()).cloned()
}

/// Point lookups of `keys` against the model.
fn check_gets(
    store: &PageStore,
    root: PageId,
    model: &Model,
    keys: &[Vec<u8>],
) -> Result<(), TestCaseError> {
    let tree = store.btree(root);
    for k in keys {
        let want: Vec<Vec<u8>> = model
            .iter()
            .filter(|(mk, _)| mk == k)
            .map(|(_, v)| v.clone())
            .collect();
        prop_assert_eq!(
            tree.get(k).expect("get"),
            want.clone(),
            "get {:?}",
            String::from_utf8_lossy(k)
        );
        prop_assert_eq!(tree.contains_key(k).expect("contains"), !want.is_empty());
    }
    Ok(())
}

fn check_tree(store: &PageStore, root: PageId, model: &Model) -> Result<(), TestCaseError> {
    let tree = store.btree(root);
    let shape = tree.check().map_err(TestCaseError::fail)?;
    prop_assert_eq!(shape.entries, model.len());
    let all: Vec<_> = tree
        .range(Bound::Unbounded, Bound::Unbounded)
        .collect::<Result<_, _>>()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(all, model.iter().cloned().collect::<Vec<_>>());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn btree_matches_a_sorted_set(ops in prop::collection::vec(tree_op(), 1..250)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(dir.path());
        let root = store.create_btree().expect("create");
        let mut model = Model::new();
        for op in ops {
            match op {
                TreeOp::Insert(k, v) => {
                    let (k, v) = (key(k), value(v));
                    let mut txn = store.begin().expect("begin");
                    store.btree(root).insert(&mut txn, &k, &v, false).expect("insert");
                    txn.commit().expect("commit");
                    model.insert((k.clone(), v));
                    check_gets(&store, root, &model, &[k])?;
                }
                TreeOp::Delete(i) => {
                    if let Some((k, v)) = nth(&model, i) {
                        let mut txn = store.begin().expect("begin");
                        prop_assert!(store.btree(root).delete(&mut txn, &k, &v).expect("delete"));
                        txn.commit().expect("commit");
                        model.remove(&(k.clone(), v));
                        check_gets(&store, root, &model, &[k])?;
                    }
                }
                TreeOp::Aborted(inserts, deletes) => {
                    let mut txn = store.begin().expect("begin");
                    let tree = store.btree(root);
                    for (k, v) in inserts {
                        tree.insert(&mut txn, &key(k), &value(v), false).expect("insert");
                    }
                    for i in deletes {
                        if let Some((k, v)) = nth(&model, i) {
                            tree.delete(&mut txn, &k, &v).expect("delete");
                        }
                    }
                    txn.abort().expect("abort");
                }
                TreeOp::Range(a, b, inclusive, reverse) => {
                    let (lo, hi) = (key(a.min(b)), key(a.max(b)));
                    let upper = if inclusive { Bound::Included(&hi[..]) } else { Bound::Excluded(&hi[..]) };
                    let lower = Bound::Excluded(&lo[..]);
                    let tree = store.btree(root);
                    let got: Vec<_> = if reverse {
                        tree.range_rev(lower, upper).collect::<Result<_, _>>().expect("range")
                    } else {
                        tree.range(lower, upper).collect::<Result<_, _>>().expect("range")
                    };
                    let mut want: Vec<_> = model
                        .iter()
                        .filter(|(k, _)| k > &lo && if inclusive { k <= &hi } else { k < &hi })
                        .cloned()
                        .collect();
                    if reverse {
                        want.reverse();
                    }
                    prop_assert_eq!(got, want);
                    let mut visited = Vec::new();
                    tree.for_each(Bound::Excluded(&lo[..]), upper, |k, v| {
                        visited.push((k.to_vec(), v.to_vec()));
                        visited.len() < 50
                    })
                    .expect("for_each");
                    let mut want_fwd: Vec<_> = model
                        .iter()
                        .filter(|(k, _)| k > &lo && if inclusive { k <= &hi } else { k < &hi })
                        .take(50)
                        .cloned()
                        .collect();
                    want_fwd.truncate(50);
                    prop_assert_eq!(visited, want_fwd);
                    check_gets(&store, root, &model, &[lo.clone(), hi.clone()])?;
                }
                TreeOp::Reopen => {
                    drop(store);
                    store = open(dir.path());
                }
            }
            check_tree(&store, root, &model)?;
        }
        drop(store);
        let store = open(dir.path());
        check_tree(&store, root, &model)?;
    }

    #[test]
    fn hash_index_matches_a_map(ops in prop::collection::vec(tree_op(), 1..250)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(dir.path());
        let meta = store.create_hash_index().expect("create");
        let mut model = Model::new();
        let check = |store: &PageStore, model: &Model| -> Result<(), TestCaseError> {
            let index = store.hash_index(meta);
            let shape = index.check().map_err(TestCaseError::fail)?;
            prop_assert_eq!(shape.entries, model.len());
            let keys: BTreeSet<&Vec<u8>> = model.iter().map(|(k, _)| k).collect();
            for k in keys {
                let mut got = index.get(k).expect("get");
                got.sort();
                let want: Vec<Vec<u8>> = model.iter().filter(|(mk, _)| mk == k).map(|(_, v)| v.clone()).collect();
                prop_assert_eq!(got, want);
            }
            prop_assert!(index.get(b"absent").expect("get").is_empty());
            Ok(())
        };
        for op in ops {
            match op {
                TreeOp::Insert(k, v) => {
                    let (k, v) = (key(k), value(v));
                    let mut txn = store.begin().expect("begin");
                    store.hash_index(meta).insert(&mut txn, &k, &v).expect("insert");
                    txn.commit().expect("commit");
                    model.insert((k, v));
                }
                TreeOp::Delete(i) => {
                    if let Some((k, v)) = nth(&model, i) {
                        let mut txn = store.begin().expect("begin");
                        prop_assert!(store.hash_index(meta).delete(&mut txn, &k, &v).expect("delete"));
                        txn.commit().expect("commit");
                        model.remove(&(k, v));
                    }
                }
                TreeOp::Aborted(inserts, deletes) => {
                    let mut txn = store.begin().expect("begin");
                    let index = store.hash_index(meta);
                    for (k, v) in inserts {
                        index.insert(&mut txn, &key(k), &value(v)).expect("insert");
                    }
                    for i in deletes {
                        if let Some((k, v)) = nth(&model, i) {
                            index.delete(&mut txn, &k, &v).expect("delete");
                        }
                    }
                    txn.abort().expect("abort");
                }
                TreeOp::Range(..) => {}
                TreeOp::Reopen => {
                    drop(store);
                    store = open(dir.path());
                }
            }
            check(&store, &model)?;
        }
    }
}

#[derive(Debug, Clone)]
enum HeapOp {
    Insert(usize),
    Update(usize, usize),
    Delete(usize),
    Aborted(Vec<usize>, Vec<(usize, usize)>, Vec<usize>),
    Reopen,
}

/// Value lengths: mostly small, some past a page (overflow chains).
fn heap_len() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..400, 2 => 400usize..3000, 1 => 3000usize..40_000]
}

fn heap_op() -> impl Strategy<Value = HeapOp> {
    prop_oneof![
        8 => heap_len().prop_map(HeapOp::Insert),
        3 => (any::<usize>(), heap_len()).prop_map(|(i, n)| HeapOp::Update(i, n)),
        3 => any::<usize>().prop_map(HeapOp::Delete),
        1 => (prop::collection::vec(heap_len(), 0..4), prop::collection::vec((any::<usize>(), heap_len()), 0..3), prop::collection::vec(any::<usize>(), 0..3))
            .prop_map(|(i, u, d)| HeapOp::Aborted(i, u, d)),
        1 => Just(HeapOp::Reopen),
    ]
}

fn heap_value(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31) ^ seed) as u8).collect()
}

fn pick(model: &HashMap<TupleId, Vec<u8>>, i: usize) -> Option<TupleId> {
    let mut tids: Vec<TupleId> = model.keys().copied().collect();
    tids.sort_unstable();
    tids.get(i % tids.len().max(1)).copied()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn heap_matches_a_map(ops in prop::collection::vec(heap_op(), 1..150)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(dir.path());
        let root = store.create_heap().expect("create");
        let mut model: HashMap<TupleId, Vec<u8>> = HashMap::new();
        let mut seed = 0usize;
        for op in ops {
            seed += 1;
            let heap = store.heap(root).expect("heap");
            match op {
                HeapOp::Insert(n) => {
                    let v = heap_value(n, seed);
                    let mut txn = store.begin().expect("begin");
                    let tid = heap.insert(&mut txn, &v).expect("insert");
                    txn.commit().expect("commit");
                    prop_assert!(model.insert(tid, v).is_none(), "tuple id {:?} reused", tid);
                }
                HeapOp::Update(i, n) => {
                    if let Some(tid) = pick(&model, i) {
                        let v = heap_value(n, seed);
                        let mut txn = store.begin().expect("begin");
                        let new = heap.update(&mut txn, tid, &v).expect("update");
                        txn.commit().expect("commit");
                        model.remove(&tid);
                        model.insert(new, v);
                    }
                }
                HeapOp::Delete(i) => {
                    if let Some(tid) = pick(&model, i) {
                        let mut txn = store.begin().expect("begin");
                        heap.delete(&mut txn, tid).expect("delete");
                        txn.commit().expect("commit");
                        model.remove(&tid);
                    }
                }
                HeapOp::Aborted(inserts, updates, deletes) => {
                    let mut txn = store.begin().expect("begin");
                    let mut gone = Vec::new();
                    for n in inserts {
                        heap.insert(&mut txn, &heap_value(n, seed)).expect("insert");
                    }
                    for (i, n) in updates {
                        if let Some(tid) = pick(&model, i) {
                            if !gone.contains(&tid) {
                                let new = heap.update(&mut txn, tid, &heap_value(n, seed)).expect("update");
                                if new != tid {
                                    gone.push(tid);
                                }
                            }
                        }
                    }
                    for i in deletes {
                        if let Some(tid) = pick(&model, i) {
                            if !gone.contains(&tid) {
                                heap.delete(&mut txn, tid).expect("delete");
                                gone.push(tid);
                            }
                        }
                    }
                    txn.abort().expect("abort");
                }
                HeapOp::Reopen => {
                    drop(heap);
                    drop(store);
                    store = open(dir.path());
                }
            }
            let heap = store.heap(root).expect("heap");
            let mut scanned: HashMap<TupleId, Vec<u8>> = HashMap::new();
            for r in heap.scan() {
                let (tid, v) = r.expect("scan");
                scanned.insert(tid, v);
            }
            prop_assert_eq!(scanned.len(), model.len());
            for (tid, v) in &model {
                prop_assert_eq!(scanned.get(tid), Some(v), "tuple {:?}", tid);
                let got = heap.get(*tid).expect("get");
                prop_assert_eq!(got.as_ref(), Some(v));
            }
        }
    }
}

#[test]
fn a_heap_created_before_a_clean_close_takes_inserts_after_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let root = store.create_heap().expect("create");
    drop(store);
    let store = open(dir.path());
    let heap = store.heap(root).expect("heap");
    let mut txn = store.begin().expect("begin");
    let tid = heap.insert(&mut txn, b"hello").expect("insert");
    txn.commit().expect("commit");
    assert_eq!(heap.get(tid).expect("get"), Some(b"hello".to_vec()));
}

#[test]
fn a_hash_index_splits_buckets_as_it_grows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let meta = store.create_hash_index().expect("create");
    let index = store.hash_index(meta);
    for i in 0..300u16 {
        let mut txn = store.begin().expect("begin");
        index.insert(&mut txn, &key(i), &value(i)).expect("insert");
        txn.commit().expect("commit");
    }
    let shape = index.check().expect("check");
    assert_eq!(shape.entries, 300);
    assert!(shape.buckets > 4, "{shape:?}");
}

#[test]
fn threads_share_a_heap_and_a_hash_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let (root, meta) = (
        store.create_heap().expect("heap"),
        store.create_hash_index().expect("hash"),
    );
    let per_thread = 600u16;
    let inserted: Vec<Vec<(TupleId, Vec<u8>)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u16)
            .map(|t| {
                let store = &store;
                s.spawn(move || {
                    let heap = store.heap(root).expect("heap");
                    let index = store.hash_index(meta);
                    let mut mine = Vec::new();
                    for i in 0..per_thread {
                        let v = heap_value(50 + (i as usize % 300), (t * 1000 + i) as usize);
                        let mut txn = store.begin().expect("begin");
                        let tid = heap.insert(&mut txn, &v).expect("insert");
                        let key = format!("{t}/{i}").into_bytes();
                        index
                            .insert(
                                &mut txn,
                                &key,
                                &[tid.0.to_be_bytes().as_slice(), &tid.1.to_be_bytes()].concat(),
                            )
                            .expect("index");
                        if i % 7 == 0 {
                            txn.abort().expect("abort");
                        } else {
                            txn.commit().expect("commit");
                            mine.push((tid, v));
                        }
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let heap = store.heap(root).expect("heap");
    let index = store.hash_index(meta);
    let all: HashMap<TupleId, Vec<u8>> = inserted.iter().flatten().cloned().collect();
    assert_eq!(
        all.len(),
        inserted.iter().map(Vec::len).sum::<usize>(),
        "two inserts got one tuple id"
    );
    let scanned: HashMap<TupleId, Vec<u8>> = heap.scan().map(|r| r.expect("scan")).collect();
    assert_eq!(scanned, all);
    let shape = index.check().expect("hash invariants");
    assert_eq!(shape.entries, all.len());
    for (t, mine) in inserted.iter().enumerate() {
        let committed: Vec<u16> = (0..per_thread).filter(|i| i % 7 != 0).collect();
        for (&i, (tid, _)) in committed.iter().zip(mine) {
            let want = [tid.0.to_be_bytes().as_slice(), &tid.1.to_be_bytes()].concat();
            assert_eq!(
                index.get(format!("{t}/{i}").as_bytes()).expect("get"),
                vec![want]
            );
        }
    }
}
