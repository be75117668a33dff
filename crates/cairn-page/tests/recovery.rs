//! Recovery beyond the crash test: torn pages repaired from full-page images (or reported
//! when the log does not hold them), checkpoints that keep the log short, values of 64 MiB,
//! root slots, and files that are not ours.

use std::os::unix::fs::FileExt;

use cairn_page::{Error, PageStore, StoreOptions, TupleId, PAGE_SIZE};

fn options() -> StoreOptions {
    StoreOptions {
        frames: 32,
        sync_commit: true,
        checkpoint_bytes: 1 << 20,
        ..StoreOptions::default()
    }
}

/// Overwrites the second half of page `page` of the page file with garbage, as a crash in
/// the middle of writing it would.
fn tear(dir: &std::path::Path, page: u32) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("pages.db"))
        .expect("open pages.db");
    let at = u64::from(page) * PAGE_SIZE as u64 + PAGE_SIZE as u64 / 2;
    file.write_all_at(&[0xA5; PAGE_SIZE / 2], at).expect("tear");
    file.sync_all().expect("sync");
}

#[test]
fn a_torn_page_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, first, second) = {
        let store = PageStore::open(dir.path(), options()).expect("open");
        let root = store.create_heap().expect("heap");
        let heap = store.heap(root).expect("heap");
        let mut txn = store.begin().expect("begin");
        let first: Vec<TupleId> = (0..40)
            .map(|i| {
                heap.insert(&mut txn, format!("before {i}").as_bytes())
                    .expect("insert")
            })
            .collect();
        txn.commit().expect("commit");
        store.checkpoint().expect("checkpoint");
        // The first change after the checkpoint logs the page's full image; the page is then
        // written and torn by the "crash".
        let mut txn = store.begin().expect("begin");
        let second: Vec<TupleId> = (0..40)
            .map(|i| {
                heap.insert(&mut txn, format!("after {i}").as_bytes())
                    .expect("insert")
            })
            .collect();
        txn.commit().expect("commit");
        store.flush().expect("write pages");
        std::mem::forget(heap);
        std::mem::forget(store); // a crash: no clean close
        (root, first, second)
    };
    tear(dir.path(), first[0].0);
    let store = PageStore::open(dir.path(), options()).expect("recovery repairs the page");
    let heap = store.heap(root).expect("heap");
    for (i, tid) in first.iter().enumerate() {
        assert_eq!(
            heap.get(*tid).expect("get"),
            Some(format!("before {i}").into_bytes())
        );
    }
    for (i, tid) in second.iter().enumerate() {
        assert_eq!(
            heap.get(*tid).expect("get"),
            Some(format!("after {i}").into_bytes())
        );
    }
}

#[test]
fn a_torn_page_the_log_does_not_cover_is_reported_with_file_and_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, tid) = {
        let store = PageStore::open(dir.path(), options()).expect("open");
        let root = store.create_heap().expect("heap");
        let mut txn = store.begin().expect("begin");
        let tid = store
            .heap(root)
            .expect("heap")
            .insert(&mut txn, b"payload")
            .expect("insert");
        txn.commit().expect("commit");
        store.close().expect("close");
        (root, tid)
    };
    tear(dir.path(), tid.0);
    let store = PageStore::open(dir.path(), options()).expect("nothing to redo");
    match store.heap(root).expect("heap").get(tid) {
        Err(Error::Corrupt { file, page, .. }) => {
            assert_eq!(file, dir.path().join("pages.db"));
            assert_eq!(page, tid.0);
        }
        other => panic!("expected a corrupt page, got {other:?}"),
    }
}

#[test]
fn checkpoints_keep_the_log_short() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PageStore::open(dir.path(), options()).expect("open");
    let root = store.create_heap().expect("heap");
    let heap = store.heap(root).expect("heap");
    let mut tids = Vec::new();
    for batch in 0..200 {
        let mut txn = store.begin().expect("begin");
        for i in 0..20 {
            tids.push(
                heap.insert(&mut txn, &[(batch + i) as u8; 200])
                    .expect("insert"),
            );
        }
        txn.commit().expect("commit");
    }
    let stats = store.stats().expect("stats");
    // 800 KB of tuples plus page images were logged; checkpoints (in the background past
    // 1 MiB, by the committer past 2 MiB) cut the log.
    assert!(stats.log_bytes < 3 << 20, "{stats:?}");
    drop(heap);
    drop(store);
    let store = PageStore::open(dir.path(), options()).expect("reopen");
    let heap = store.heap(root).expect("heap");
    assert_eq!(heap.scan().count(), tids.len());
}

#[test]
fn a_64_mib_value_round_trips_and_its_pages_are_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let value: Vec<u8> = (0..64u32 << 20).map(|i| (i ^ (i >> 11)) as u8).collect();
    let (root, tid, pages) = {
        let store = PageStore::open(dir.path(), options()).expect("open");
        let root = store.create_heap().expect("heap");
        let heap = store.heap(root).expect("heap");
        let mut txn = store.begin().expect("begin");
        let tid = heap.insert(&mut txn, &value).expect("insert 64 MiB");
        txn.commit().expect("commit");
        assert!(heap.get(tid).expect("get") == Some(value.clone()));
        let pages = store.stats().expect("stats").pages;
        (root, tid, pages)
    };
    let store = PageStore::open(dir.path(), options()).expect("reopen");
    let heap = store.heap(root).expect("heap");
    assert!(heap.get(tid).expect("get") == Some(value.clone()));
    let mut txn = store.begin().expect("begin");
    heap.delete(&mut txn, tid).expect("delete");
    txn.commit().expect("commit");
    // The freed overflow pages take the next large value.
    let mut txn = store.begin().expect("begin");
    let again = heap.insert(&mut txn, &value[..32 << 20]).expect("insert");
    txn.commit().expect("commit");
    assert_eq!(store.stats().expect("stats").pages, pages);
    assert!(heap.get(again).expect("get").as_deref() == Some(&value[..32 << 20]));
    // An aborted insert gives its overflow pages back too.
    let mut txn = store.begin().expect("begin");
    heap.insert(&mut txn, &value[..16 << 20]).expect("insert");
    txn.abort().expect("abort");
    let mut txn = store.begin().expect("begin");
    heap.insert(&mut txn, &value[..16 << 20]).expect("insert");
    txn.commit().expect("commit");
    assert_eq!(store.stats().expect("stats").pages, pages);
}

#[test]
fn root_slots_are_transactional() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = PageStore::open(dir.path(), options()).expect("open");
        let heap = store.create_heap().expect("heap");
        let mut txn = store.begin().expect("begin");
        txn.set_root(3, heap).expect("set");
        txn.commit().expect("commit");
        let mut txn = store.begin().expect("begin");
        txn.set_root(3, 999).expect("set");
        txn.set_root(4, 999).expect("set");
        txn.abort().expect("abort");
        assert_eq!(store.root(4).expect("root"), 0);
    }
    let store = PageStore::open(dir.path(), options()).expect("reopen");
    let heap = store.root(3).expect("root");
    assert_ne!(heap, 0);
    store.heap(heap).expect("the root names a heap");
    assert!(matches!(
        store.root(16),
        Err(Error::NoSuchRoot { slot: 16 })
    ));
}

#[test]
fn files_of_another_kind_are_refused() {
    for (name, bytes) in [
        ("pages.db", vec![b'x'; PAGE_SIZE]),
        (
            "wal.log",
            b"SQLite format 3\0 and more bytes than a header".to_vec(),
        ),
        ("control", vec![0; 32]),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        PageStore::open(dir.path(), options())
            .expect("create")
            .close()
            .expect("close");
        std::fs::write(dir.path().join(name), bytes).expect("overwrite");
        match PageStore::open(dir.path(), options()) {
            Err(Error::Format { file, .. }) => assert_eq!(file, dir.path().join(name)),
            other => panic!("{name}: expected a format error, got {other:?}"),
        }
    }
}

#[test]
fn a_suspended_transaction_resumes_and_ends_as_one_and_a_lost_one_is_undone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, kept, undone, lost) = {
        let store = PageStore::open(dir.path(), options()).expect("open");
        let root = store.create_heap().expect("heap");
        let heap = store.heap(root).expect("heap");
        // Committed across a suspension: both rows stay.
        let mut txn = store.begin().expect("begin");
        let a = heap.insert(&mut txn, b"first half").expect("insert");
        let mut txn = store.resume(txn.suspend());
        let b = heap.insert(&mut txn, b"second half").expect("insert");
        txn.commit().expect("commit");
        // Aborted after a suspension: the change before it is undone too.
        let mut txn = store.begin().expect("begin");
        let c = heap.insert(&mut txn, b"undone").expect("insert");
        store.resume(txn.suspend()).abort().expect("abort");
        assert_eq!(heap.get(c).expect("get"), None);
        // Suspended and never ended: recovery undoes it at the next open.
        let mut txn = store.begin().expect("begin");
        let d = heap.insert(&mut txn, b"lost").expect("insert");
        let _never_resumed = txn.suspend();
        store.flush().expect("flush");
        (root, [a, b], c, d)
    };
    let store = PageStore::open(dir.path(), options()).expect("reopen");
    let heap = store.heap(root).expect("heap");
    assert_eq!(
        heap.get(kept[0]).expect("get").as_deref(),
        Some(&b"first half"[..])
    );
    assert_eq!(
        heap.get(kept[1]).expect("get").as_deref(),
        Some(&b"second half"[..])
    );
    assert_eq!(heap.get(undone).expect("get"), None);
    assert_eq!(heap.get(lost).expect("get"), None);
}

#[test]
fn get_many_reads_what_get_reads_in_the_order_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PageStore::open(dir.path(), options()).expect("open");
    let root = store.create_heap().expect("heap");
    let heap = store.heap(root).expect("heap");
    let mut txn = store.begin().expect("begin");
    // Enough rows for several pages, one of them large enough to overflow.
    let mut tids: Vec<TupleId> = (0..300)
        .map(|i| {
            let value = if i == 150 {
                vec![7u8; 3 * PAGE_SIZE]
            } else {
                format!("row {i}").into_bytes()
            };
            heap.insert(&mut txn, &value).expect("insert")
        })
        .collect();
    heap.delete(&mut txn, tids[10]).expect("delete");
    txn.commit().expect("commit");
    tids.reverse();
    tids.swap(0, 200);
    let many = heap.get_many(&tids).expect("get_many");
    let one_by_one: Vec<Option<Vec<u8>>> =
        tids.iter().map(|&t| heap.get(t).expect("get")).collect();
    assert_eq!(many, one_by_one);
    assert_eq!(many.iter().filter(|v| v.is_none()).count(), 1);
}
