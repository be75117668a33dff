//! The B+tree at scale: deep trees built by inserts and shrunk by deletes, bulk loading,
//! typed composite keys, unique indexes, and many threads inserting and scanning at once.

use std::ops::Bound;

use cairn_page::{encode_key, Error, KeyValue, PageStore, StoreOptions, MAX_ENTRY};

fn options(frames: usize) -> StoreOptions {
    StoreOptions {
        frames,
        sync_commit: false,
        checkpoint_bytes: 4 << 20,
        ..StoreOptions::default()
    }
}

fn int_key(i: i64) -> Vec<u8> {
    let mut k = Vec::new();
    encode_key(&[KeyValue::Int(i)], &mut k);
    k
}

/// A permutation of 0..n (multiplicative, n prime-sized steps).
fn shuffled(n: u64) -> impl Iterator<Item = u64> {
    (0..n).map(move |i| (i * 7919 + 13) % n)
}

/// A key whose separators cannot be shortened much: a long shared prefix, then `i`. Inner
/// nodes of such keys hold tens of children, not hundreds, so a test tree grows deep.
fn long_key(i: i64) -> Vec<u8> {
    let mut k = Vec::new();
    encode_key(&[KeyValue::Text("p".repeat(100)), KeyValue::Int(i)], &mut k);
    k
}

#[test]
fn inserts_grow_and_deletes_shrink_the_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PageStore::open(dir.path(), options(64)).expect("open");
    let tree = store.btree(store.create_btree().expect("create"));
    let n = 20_000u64;
    let value = vec![7u8; 150];
    let mut txn = store.begin().expect("begin");
    for i in shuffled(n) {
        tree.insert(&mut txn, &long_key(i as i64), &value, true)
            .expect("insert");
    }
    txn.commit().expect("commit");
    let grown = tree.check().expect("invariants");
    assert_eq!(grown.entries, n as usize);
    assert!(grown.height >= 3, "{grown:?}");

    // Delete 99 in 100 (in another order): nodes merge and redistribute, the root
    // collapses as levels empty.
    let mut txn = store.begin().expect("begin");
    for i in shuffled(n).filter(|i| i % 100 != 0) {
        assert!(tree
            .delete(&mut txn, &long_key(i as i64), &value)
            .expect("delete"));
    }
    txn.commit().expect("commit");
    let shrunk = tree.check().expect("invariants after deletes");
    assert_eq!(shrunk.entries, n as usize / 100);
    assert!(shrunk.leaves < grown.leaves / 5, "{grown:?} -> {shrunk:?}");
    assert!(shrunk.height < grown.height, "{grown:?} -> {shrunk:?}");

    let root = tree.root();
    drop(store);
    let store = PageStore::open(dir.path(), options(64)).expect("reopen");
    let tree = store.btree(root);
    assert_eq!(tree.check().expect("invariants after reopen").entries, 200);
    let keys: Vec<Vec<u8>> = tree
        .range(Bound::Unbounded, Bound::Unbounded)
        .map(|e| e.expect("scan").0)
        .collect();
    let want: Vec<Vec<u8>> = (0..n as i64).step_by(100).map(long_key).collect();
    assert_eq!(keys, want);
}

#[test]
fn an_aborted_transaction_leaves_the_tree_as_it_was_even_across_splits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PageStore::open(dir.path(), options(64)).expect("open");
    let tree = store.btree(store.create_btree().expect("create"));
    let mut txn = store.begin().expect("begin");
    for i in (0..3000).step_by(3) {
        tree.insert(&mut txn, &int_key(i), b"kept", true)
            .expect("insert");
    }
    txn.commit().expect("commit");
    let before: Vec<_> = tree
        .range(Bound::Unbounded, Bound::Unbounded)
        .collect::<Result<_, _>>()
        .expect("scan");
    // One transaction inserts enough to split many nodes and deletes half of the rest, then
    // aborts: its entries go, the deleted ones come back, the splits stay (and are valid).
    let mut txn = store.begin().expect("begin");
    for i in 0..3000 {
        if i % 3 != 0 {
            tree.insert(&mut txn, &int_key(i), b"rolled back", true)
                .expect("insert");
        } else if i % 2 == 0 {
            tree.delete(&mut txn, &int_key(i), b"kept").expect("delete");
        }
    }
    txn.abort().expect("abort");
    tree.check().expect("invariants");
    let after: Vec<_> = tree
        .range(Bound::Unbounded, Bound::Unbounded)
        .collect::<Result<_, _>>()
        .expect("scan");
    assert_eq!(after, before);
}

#[test]
fn bulk_load_builds_a_valid_packed_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PageStore::open(dir.path(), options(256)).expect("open");
    let tree = store.btree(store.create_btree().expect("create"));
    let n = 100_000i64;
    let shape = tree
        .bulk_load((0..n).map(|i| (int_key(i * 2), (i as u32).to_be_bytes().to_vec())))
        .expect("bulk load");
    assert_eq!(shape.entries, n as usize);
    let checked = tree.check().expect("invariants");
    assert_eq!(checked.entries, n as usize);
    assert_eq!(checked.leaves, shape.leaves);
    // Both directions, inclusive and exclusive bounds.
    let (lo, hi) = (int_key(1000), int_key(3000));
    let fwd: Vec<_> = tree
        .range(Bound::Included(&lo), Bound::Excluded(&hi))
        .map(|e| e.expect("scan").0)
        .collect();
    assert_eq!(fwd, (500..1500).map(|i| int_key(i * 2)).collect::<Vec<_>>());
    let back: Vec<_> = tree
        .range_rev(Bound::Excluded(&lo), Bound::Included(&hi))
        .map(|e| e.expect("scan").0)
        .collect();
    assert_eq!(
        back,
        (501..=1500)
            .rev()
            .map(|i| int_key(i * 2))
            .collect::<Vec<_>>()
    );
    let all_back = tree.range_rev(Bound::Unbounded, Bound::Unbounded).count();
    assert_eq!(all_back, n as usize);
    // The loaded tree takes ordinary changes.
    let mut txn = store.begin().expect("begin");
    for i in 0..2000 {
        tree.insert(&mut txn, &int_key(i * 2 + 1), b"odd", false)
            .expect("insert");
    }
    txn.commit().expect("commit");
    assert_eq!(tree.check().expect("invariants").entries, n as usize + 2000);
    // Out of order input is refused.
    let other = store.btree(store.create_btree().expect("create"));
    assert!(other
        .bulk_load([(int_key(2), vec![]), (int_key(1), vec![])])
        .is_err());
}

#[test]
fn composite_typed_keys_scan_in_sql_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PageStore::open(dir.path(), options(64)).expect("open");
    let tree = store.btree(store.create_btree().expect("create"));
    let rows = [
        (KeyValue::Text("b".into()), KeyValue::Float(-1.5)),
        (KeyValue::Text("a".into()), KeyValue::Null),
        (KeyValue::Text("a".into()), KeyValue::Float(2.0)),
        (KeyValue::Null, KeyValue::Float(0.0)),
        (KeyValue::Text("a".into()), KeyValue::Float(-3.0)),
    ];
    let mut txn = store.begin().expect("begin");
    for (i, (a, b)) in rows.iter().enumerate() {
        let mut k = Vec::new();
        encode_key(&[a.clone(), b.clone()], &mut k);
        tree.insert(&mut txn, &k, &[i as u8], false)
            .expect("insert");
    }
    txn.commit().expect("commit");
    let order: Vec<u8> = tree
        .range(Bound::Unbounded, Bound::Unbounded)
        .map(|e| e.expect("scan").1[0])
        .collect();
    // ("a",-3) ("a",2) ("a",NULL) ("b",-1.5) (NULL,0): NULLs last in each column.
    assert_eq!(order, [4, 2, 1, 0, 3]);
}

#[test]
fn unique_indexes_refuse_duplicates_and_oversized_entries_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PageStore::open(dir.path(), options(64)).expect("open");
    let tree = store.btree(store.create_btree().expect("create"));
    let mut txn = store.begin().expect("begin");
    for i in 0..2000 {
        tree.insert(&mut txn, &int_key(i), &[1], true)
            .expect("insert");
    }
    for i in [0, 777, 1999] {
        assert!(matches!(
            tree.insert(&mut txn, &int_key(i), &[2], true),
            Err(Error::DuplicateKey { .. })
        ));
    }
    // A non-unique insert of the same key with another value is a second entry.
    tree.insert(&mut txn, &int_key(777), &[2], false)
        .expect("insert");
    assert_eq!(
        tree.get(&int_key(777)).expect("get"),
        vec![vec![1], vec![2]]
    );
    assert!(matches!(
        tree.insert(&mut txn, &vec![0; MAX_ENTRY], &[1], false),
        Err(Error::KeyTooLarge { .. })
    ));
    txn.commit().expect("commit");
    tree.check().expect("invariants");
}

#[test]
fn many_threads_insert_and_scan_one_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A pool smaller than the tree: eviction under concurrency too.
    let store = PageStore::open(dir.path(), options(40)).expect("open");
    let tree = store.btree(store.create_btree().expect("create"));
    let writers = 4i64;
    let per = 4000i64;
    std::thread::scope(|s| {
        for w in 0..writers {
            let store = &store;
            s.spawn(move || {
                let tree = store.btree(tree.root());
                for batch in 0..per / 100 {
                    let mut txn = store.begin().expect("begin");
                    for j in 0..100 {
                        let i = (batch * 100 + j) * writers + w;
                        tree.insert(&mut txn, &int_key(i), &[0u8; 60], true)
                            .expect("insert");
                    }
                    txn.commit().expect("commit");
                }
            });
        }
        for r in 0..2 {
            let store = &store;
            s.spawn(move || {
                let tree = store.btree(tree.root());
                for _ in 0..30 {
                    // Every scan sees keys in strictly increasing (or decreasing) order.
                    let keys: Vec<Vec<u8>> = if r == 0 {
                        tree.range(Bound::Unbounded, Bound::Unbounded)
                            .map(|e| e.expect("scan").0)
                            .collect()
                    } else {
                        let mut k: Vec<Vec<u8>> = tree
                            .range_rev(Bound::Unbounded, Bound::Unbounded)
                            .map(|e| e.expect("scan").0)
                            .collect();
                        k.reverse();
                        k
                    };
                    assert!(keys.windows(2).all(|w| w[0] < w[1]), "scan out of order");
                }
            });
        }
    });
    let shape = tree.check().expect("invariants");
    assert_eq!(shape.entries, (writers * per) as usize);
    for i in (0..writers * per).step_by(97) {
        assert!(tree.contains_key(&int_key(i)).expect("lookup"), "key {i}");
    }
}
