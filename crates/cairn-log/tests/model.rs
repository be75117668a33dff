//! Property test: random sequences of puts, deletes, batches, expiring puts, reopens,
//! checkpoints and compactions give the same answers as a `HashMap`.

use std::collections::{HashMap, HashSet};

use cairn_log::{Batch, Durability, Options, Store};

#[path = "support/scan.rs"]
mod scan;

use proptest::prelude::*;
use scan::scan_keys;

#[derive(Debug, Clone)]
enum Op {
    Put(u8, Vec<u8>),
    PutExpired(u8),
    Delete(u8),
    Batch(Vec<(u8, Option<Vec<u8>>)>),
    Reopen,
    Checkpoint,
    Compact,
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        // Compressible and larger than a small segment's share.
        (any::<u8>(), 100..3000usize).prop_map(|(b, n)| vec![b; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0..24u8, value()).prop_map(|(k, v)| Op::Put(k, v)),
        1 => (0..24u8).prop_map(Op::PutExpired),
        4 => (0..24u8).prop_map(Op::Delete),
        2 => prop::collection::vec((0..24u8, prop::option::of(value())), 1..6).prop_map(Op::Batch),
        1 => Just(Op::Reopen),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Compact),
    ]
}

fn options() -> Options {
    Options {
        max_segment_size: 8 << 10,
        cache_bytes: 16 << 10,
        durability: Durability::No,
        checkpoint_wal_bytes: 1 << 30,
        compaction_threshold: 0.3,
        background_maintenance: false,
        bloom_initial_capacity: 16,
        ..Options::default()
    }
}

fn key(k: u8) -> Vec<u8> {
    format!("key-{k}").into_bytes()
}

fn check_all(store: &Store, model: &HashMap<u8, Vec<u8>>) -> Result<(), TestCaseError> {
    for k in 0..24u8 {
        let got = store.get(&key(k)).expect("get");
        prop_assert_eq!(
            got.as_deref(),
            model.get(&k).map(Vec::as_slice),
            "key {}",
            k
        );
        prop_assert_eq!(
            store.contains(&key(k)).expect("contains"),
            model.contains_key(&k)
        );
    }
    let scanned: HashSet<Vec<u8>> = scan_keys(store, 5).into_iter().collect();
    let expected: HashSet<Vec<u8>> = model.keys().map(|&k| key(k)).collect();
    prop_assert_eq!(scanned, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn store_behaves_like_a_hashmap(ops in prop::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path(), options()).expect("open");
        let mut model: HashMap<u8, Vec<u8>> = HashMap::new();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    store.put(&key(k), &v, None).expect("put");
                    model.insert(k, v);
                }
                Op::PutExpired(k) => {
                    store.put(&key(k), b"stale", Some(1)).expect("put");
                    model.remove(&k);
                }
                Op::Delete(k) => {
                    let existed = store.delete(&key(k)).expect("delete");
                    prop_assert_eq!(existed, model.remove(&k).is_some());
                }
                Op::Batch(writes) => {
                    let mut batch = Batch::new();
                    for (k, v) in &writes {
                        match v {
                            Some(v) => {
                                batch.put(key(*k), v.clone());
                                model.insert(*k, v.clone());
                            }
                            None => {
                                batch.delete(key(*k));
                                model.remove(k);
                            }
                        }
                    }
                    store.write_batch(&batch).expect("batch");
                }
                Op::Reopen => {
                    store.close().expect("close");
                    store = Store::open(dir.path(), options()).expect("reopen");
                    check_all(&store, &model)?;
                }
                Op::Checkpoint => store.checkpoint().expect("checkpoint"),
                Op::Compact => {
                    store.compact().expect("compact");
                    check_all(&store, &model)?;
                }
            }
        }
        check_all(&store, &model)?;
        store.close().expect("close");
        let store = Store::open(dir.path(), options()).expect("final reopen");
        check_all(&store, &model)?;
    }
}
