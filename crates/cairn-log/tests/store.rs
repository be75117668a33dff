//! The store's API as a user relies on it: writes are read back, survive a reopen, expire,
//! batch atomically, scan completely; limits and the lock file give clear errors.

use std::collections::HashSet;

use cairn_log::{Batch, Durability, Error, Options, Store};

#[path = "support/copy_dir.rs"]
mod copy_dir;
#[path = "support/scan.rs"]
mod scan;

use copy_dir::copy_dir;
use scan::scan_keys;

fn small() -> Options {
    Options {
        max_segment_size: 64 << 10,
        cache_bytes: 1 << 20,
        durability: Durability::No,
        checkpoint_wal_bytes: 256 << 10,
        background_maintenance: false,
        ..Options::default()
    }
}

/// `len` bytes of xorshift output, which compression cannot shrink.
fn incompressible(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

#[test]
fn put_get_overwrite_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    assert_eq!(store.get(b"k").expect("get"), None);
    store.put(b"k", b"one", None).expect("put");
    assert_eq!(store.get(b"k").expect("get").as_deref(), Some(&b"one"[..]));
    store.put(b"k", b"two", None).expect("put");
    assert_eq!(store.get(b"k").expect("get").as_deref(), Some(&b"two"[..]));
    assert!(store.contains(b"k").expect("contains"));
    assert!(store.delete(b"k").expect("delete"));
    assert!(
        !store.delete(b"k").expect("delete"),
        "a second delete finds nothing"
    );
    assert_eq!(store.get(b"k").expect("get"), None);
    assert!(!store.contains(b"k").expect("contains"));
    assert_eq!(store.stats().live_keys, 0);
}

#[test]
fn empty_keys_and_values_are_ordinary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    store.put(b"", b"empty key", None).expect("put");
    store.put(b"empty value", b"", None).expect("put");
    assert_eq!(
        store.get(b"").expect("get").as_deref(),
        Some(&b"empty key"[..])
    );
    assert_eq!(
        store.get(b"empty value").expect("get").as_deref(),
        Some(&b""[..])
    );
}

#[test]
fn everything_survives_close_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path(), small()).expect("open");
        for i in 0..5000u32 {
            store
                .put(
                    format!("key{i}").as_bytes(),
                    format!("value{i}").repeat(3).as_bytes(),
                    None,
                )
                .expect("put");
        }
        for i in (0..5000u32).step_by(3) {
            store.delete(format!("key{i}").as_bytes()).expect("delete");
        }
        assert!(store.stats().segments > 1, "small segments roll");
        store.close().expect("close");
    }
    let store = Store::open(dir.path(), small()).expect("reopen");
    for i in 0..5000u32 {
        let got = store.get(format!("key{i}").as_bytes()).expect("get");
        if i % 3 == 0 {
            assert_eq!(got, None, "key{i} was deleted");
        } else {
            assert_eq!(
                got.as_deref(),
                Some(format!("value{i}").repeat(3).as_bytes())
            );
        }
    }
    assert_eq!(store.stats().live_keys, 5000 - 1667);
}

#[test]
fn a_store_closed_within_its_replay_budget_keeps_its_wal_and_reopens_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        checkpoint_wal_bytes: 1 << 30,
        replay_budget_bytes: 2 << 20,
        ..small()
    };
    let value = |session: u32, i: u32| format!("s{session}-{i}-").repeat(4).into_bytes();
    // Five sessions of small writes: each close leaves its WAL for the next open, which
    // replays it (through segment rollovers: 64 KiB segments) and writes on after it.
    for session in 0..5u32 {
        let store = Store::open(dir.path(), options.clone()).expect("open");
        for i in 0..500u32 {
            store
                .put(
                    format!("k{session}-{i}").as_bytes(),
                    &value(session, i),
                    None,
                )
                .expect("put");
        }
        let stats = store.stats();
        assert!(stats.wal_bytes > 0 && stats.wal_bytes < options.replay_budget_bytes);
        assert_eq!(stats.checkpoints, 0, "session {session} checkpointed");
        store.close().expect("close");
    }
    let store = Store::open(dir.path(), options.clone()).expect("reopen");
    assert!(
        store.stats().segments > 2,
        "the replayed writes rolled segments"
    );
    for session in 0..5u32 {
        for i in 0..500u32 {
            let got = store
                .get(format!("k{session}-{i}").as_bytes())
                .expect("get");
            assert_eq!(got.as_deref(), Some(value(session, i).as_slice()));
        }
    }
    // Past the budget, closing checkpoints: the next open has nothing to replay.
    // Incompressible, so that the WAL holds them whole.
    let big = incompressible(4 << 10);
    for i in 0..600u32 {
        store
            .put(format!("big{i}").as_bytes(), &big, None)
            .expect("put");
    }
    assert!(store.stats().wal_bytes > options.replay_budget_bytes);
    store.close().expect("close");
    let store = Store::open(dir.path(), options).expect("reopen");
    assert_eq!(store.stats().wal_bytes, 0, "the close checkpointed");
    assert_eq!(store.stats().live_keys, 5 * 500 + 600);
    assert_eq!(
        store.get(b"big599").expect("get").as_deref(),
        Some(&big[..])
    );
}

#[test]
fn unclosed_store_recovers_from_its_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    for i in 0..2000u32 {
        store
            .put(&i.to_le_bytes(), &[i as u8; 50], None)
            .expect("put");
    }
    // Leak the handle: no checkpoint, no unlock through close. The lock dies with the file
    // descriptor, which a leaked handle keeps, so release it by forgetting only after copying
    // the directory as a crash would leave it.
    let copy = tempfile::tempdir().expect("tempdir");
    store.flush().expect("flush");
    copy_dir(dir.path(), copy.path());
    drop(store);
    let store = Store::open(copy.path(), small()).expect("recover");
    for i in 0..2000u32 {
        assert_eq!(
            store.get(&i.to_le_bytes()).expect("get").as_deref(),
            Some(&[i as u8; 50][..])
        );
    }
}

#[test]
fn expired_keys_are_never_returned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    store.put(b"past", b"x", Some(1)).expect("put");
    store
        .put(b"future", b"y", Some(now_ms() + 3_600_000))
        .expect("put");
    store.put(b"soon", b"z", Some(now_ms() + 50)).expect("put");
    assert_eq!(store.get(b"past").expect("get"), None);
    assert!(!store.contains(b"past").expect("contains"));
    assert!(
        !store.delete(b"past").expect("delete"),
        "an expired key does not exist"
    );
    let future = store.get_entry(b"future").expect("get").expect("present");
    assert!(future.expires_at.is_some_and(|t| t > now_ms()));
    assert!(store.get(b"soon").expect("get").is_some());
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(store.get(b"soon").expect("get"), None);
    let keys = scan_all(&store);
    assert_eq!(keys, HashSet::from([b"future".to_vec()]));
    store.close().expect("close");
    let store = Store::open(dir.path(), small()).expect("reopen");
    assert_eq!(store.get(b"past").expect("get"), None);
    assert!(store.get(b"future").expect("get").is_some());
}

#[test]
fn a_put_without_expiry_clears_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    store.put(b"k", b"v", Some(now_ms() + 10_000)).expect("put");
    store.put(b"k", b"w", None).expect("put");
    assert_eq!(
        store
            .get_entry(b"k")
            .expect("get")
            .expect("present")
            .expires_at,
        None
    );
}

#[test]
fn batches_apply_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    store.put(b"gone", b"1", None).expect("put");
    let mut batch = Batch::new();
    batch
        .put("a", "1")
        .put("b", "2")
        .delete("gone")
        .put("a", "3")
        .delete("never");
    store.write_batch(&batch).expect("batch");
    assert_eq!(store.get(b"a").expect("get").as_deref(), Some(&b"3"[..]));
    assert_eq!(store.get(b"b").expect("get").as_deref(), Some(&b"2"[..]));
    assert_eq!(store.get(b"gone").expect("get"), None);
}

fn scan_all(store: &Store) -> HashSet<Vec<u8>> {
    scan_keys(store, 100).into_iter().collect()
}

#[test]
fn scan_returns_every_key_present_throughout_even_while_the_index_grows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    let stable: HashSet<Vec<u8>> = (0..3000u32)
        .map(|i| format!("stable{i}").into_bytes())
        .collect();
    for k in &stable {
        store.put(k, b"v", None).expect("put");
    }
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut extra = 0u32;
    loop {
        let page = store.scan(cursor, 50).expect("scan");
        seen.extend(page.keys);
        // Grow the table between pages, forcing bucket splits under the cursor.
        for _ in 0..40 {
            store
                .put(format!("new{extra}").as_bytes(), b"v", None)
                .expect("put");
            extra += 1;
        }
        cursor = page.cursor;
        if cursor == 0 {
            break;
        }
    }
    let missing: Vec<_> = stable.difference(&seen).collect();
    assert!(missing.is_empty(), "{} stable keys missed", missing.len());
}

#[test]
fn oversized_keys_and_values_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    let key = vec![b'k'; cairn_log::MAX_KEY_LEN + 1];
    assert!(matches!(
        store.put(&key, b"v", None),
        Err(Error::KeyTooLarge { .. })
    ));
    assert!(matches!(store.get(&key), Err(Error::KeyTooLarge { .. })));
    let value = vec![0u8; cairn_log::MAX_VALUE_LEN + 1];
    assert!(matches!(
        store.put(b"k", &value, None),
        Err(Error::ValueTooLarge { .. })
    ));
    let mut batch = Batch::new();
    batch.put("ok", "1").put(key.clone(), "2");
    assert!(store.write_batch(&batch).is_err());
    assert_eq!(
        store.get(b"ok").expect("get"),
        None,
        "a refused batch writes nothing"
    );
    let at_limit = vec![b'k'; cairn_log::MAX_KEY_LEN];
    store
        .put(&at_limit, b"fits", None)
        .expect("the limit itself is allowed");
    assert_eq!(
        store.get(&at_limit).expect("get").as_deref(),
        Some(&b"fits"[..])
    );
}

#[test]
fn values_larger_than_a_segment_get_their_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    let big: Vec<u8> = (0..3 << 20)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    store.put(b"small", b"s", None).expect("put");
    store.put(b"big", &big, None).expect("put");
    store.put(b"after", b"a", None).expect("put");
    assert_eq!(store.get(b"big").expect("get").as_deref(), Some(&big[..]));
    store.close().expect("close");
    let store = Store::open(dir.path(), small()).expect("reopen");
    assert_eq!(store.get(b"big").expect("get").as_deref(), Some(&big[..]));
    assert_eq!(
        store.get(b"after").expect("get").as_deref(),
        Some(&b"a"[..])
    );
}

#[test]
fn a_second_open_of_the_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    let err = Store::open(dir.path(), small()).expect_err("locked");
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("in use"), "{err}");
    store.close().expect("close");
    Store::open(dir.path(), small()).expect("free again after close");
}

#[test]
fn compaction_reclaims_disk_and_keeps_live_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    let value = vec![7u8; 200];
    for round in 0..10u32 {
        for i in 0..500u32 {
            let mut v = value.clone();
            v[0] = round as u8;
            v[1..5].copy_from_slice(&i.to_le_bytes());
            store
                .put(format!("k{i}").as_bytes(), &v, None)
                .expect("put");
        }
    }
    let before = store.stats();
    assert!(before.dead_bytes > before.segment_bytes / 2, "{before:?}");
    let compacted = store.compact().expect("compact");
    assert!(compacted > 0);
    let after = store.stats();
    assert!(
        after.segment_bytes * 3 < before.segment_bytes,
        "before {before:?}\nafter {after:?}"
    );
    assert_eq!(after.live_keys, 500);
    let on_disk: u64 = std::fs::read_dir(dir.path().join("segments"))
        .expect("segments")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum();
    assert!(
        on_disk < before.segment_bytes / 2,
        "{on_disk} bytes still on disk"
    );
    for i in 0..500u32 {
        let got = store
            .get(format!("k{i}").as_bytes())
            .expect("get")
            .expect("present");
        assert_eq!(got[0], 9);
        assert_eq!(&got[1..5], &i.to_le_bytes());
    }
    store.close().expect("close");
    let store = Store::open(dir.path(), small()).expect("reopen");
    assert_eq!(store.stats().live_keys, 500);
    assert_eq!(store.get(b"k7").expect("get").expect("present")[0], 9);
}

/// A reader keeps the segment table it loaded: it must still find records written since
/// into new segments (rollovers), and records compaction moved out of the segments it holds.
#[test]
fn a_reader_sees_writes_into_segments_made_after_it_and_compaction_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    store.put(b"old", b"before the reader", None).expect("put");
    let reader = store.reader();
    let segments_before = store.stats().segments;
    // Incompressible, so that 400 of them fill several 64 KiB segments.
    let value = incompressible(1000);
    for i in 0..400u32 {
        store
            .put(format!("k{i}").as_bytes(), &value, None)
            .expect("put");
    }
    store.put(b"old", b"rewritten", None).expect("put");
    assert!(store.stats().segments > segments_before + 2, "no rollover");
    for i in 0..400u32 {
        assert_eq!(
            reader
                .get(format!("k{i}").as_bytes())
                .expect("get")
                .as_deref(),
            Some(&value[..]),
            "k{i}"
        );
    }
    assert_eq!(
        reader.get(b"old").expect("get").as_deref(),
        Some(&b"rewritten"[..])
    );
    for i in 0..400u32 {
        store.delete(format!("k{i}").as_bytes()).expect("delete");
    }
    assert!(store.compact().expect("compact") > 0);
    assert_eq!(
        reader.get(b"old").expect("get").as_deref(),
        Some(&b"rewritten"[..])
    );
    assert!(!reader.contains(b"k7").expect("contains"));
    let entry = reader.get_entry(b"old").expect("get").expect("present");
    assert_eq!(entry.expires_at, None);
}

#[test]
fn background_compaction_runs_while_readers_and_writers_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        background_maintenance: true,
        maintenance_interval: std::time::Duration::from_millis(5),
        ..small()
    };
    let store = std::sync::Arc::new(Store::open(dir.path(), options).expect("open"));
    let writer = {
        let store = std::sync::Arc::clone(&store);
        std::thread::spawn(move || {
            for round in 0..30u32 {
                for i in 0..300u32 {
                    store
                        .put(
                            format!("k{i}").as_bytes(),
                            &round.to_le_bytes().repeat(30),
                            None,
                        )
                        .expect("put");
                }
            }
        })
    };
    let reader = {
        let store = std::sync::Arc::clone(&store);
        std::thread::spawn(move || {
            let mut reads = 0;
            while reads < 20_000 {
                for i in 0..300u32 {
                    if let Some(v) = store
                        .get(format!("k{i}").as_bytes())
                        .expect("get never fails")
                    {
                        assert_eq!(v.len(), 120);
                    }
                    reads += 1;
                }
            }
        })
    };
    writer.join().expect("writer");
    reader.join().expect("reader");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.stats().compactions == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let stats = store.stats();
    assert!(stats.compactions > 0, "{stats:?}");
    for i in 0..300u32 {
        assert_eq!(
            store
                .get(format!("k{i}").as_bytes())
                .expect("get")
                .expect("present")[..4],
            29u32.to_le_bytes()
        );
    }
}

/// 100 bytes LZ4 cannot shorten: a record large enough to be cached (small ones never are).
fn cacheable_value(seed: u32) -> Vec<u8> {
    (0..100u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn stats_count_cache_and_bloom_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    for i in 0..1000u32 {
        store
            .put(&i.to_le_bytes(), &cacheable_value(i), None)
            .expect("put");
    }
    // A record enters the cache on its second miss; the reads after it hit.
    for _ in 0..4 {
        store.get(&5u32.to_le_bytes()).expect("get");
    }
    for i in 10_000..20_000u32 {
        store.get(&i.to_le_bytes()).expect("get");
    }
    let stats = store.stats();
    assert_eq!(stats.live_keys, 1000);
    assert_eq!(stats.cache_hits, 2, "{stats:?}");
    assert!(stats.cache_hit_ratio > 0.0);
    assert!(stats.bloom_false_positives < 100, "{stats:?}");
    assert!(stats.segments >= 1);
}

#[test]
fn a_cached_key_rewritten_stays_cached_with_its_new_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    let value = cacheable_value;
    store.put(b"hot", &value(0), None).expect("put");
    store.put(b"cold", &value(0), None).expect("put");
    for _ in 0..2 {
        store.get(b"hot").expect("get"); // the second miss admits it
    }
    let hits = |store: &Store| store.stats().cache_hits;
    let before = hits(&store);
    for round in 1..=5u32 {
        let value = value(round);
        store.put(b"hot", &value, None).expect("put");
        assert_eq!(store.get(b"hot").expect("get").as_deref(), Some(&value[..]));
        store.put(b"cold", &value, None).expect("put");
        assert_eq!(
            store.get(b"cold").expect("get").as_deref(),
            Some(&value[..])
        );
    }
    // Every read of the hot key hit; the cold one was never cached, so it hit none.
    assert_eq!(hits(&store) - before, 5);
    // An expiry given with the rewrite is the cached one too.
    store.put(b"hot", &value(6), Some(1)).expect("put");
    assert_eq!(store.get(b"hot").expect("get"), None);
}

#[test]
fn small_uncompressed_records_are_read_from_their_segment_and_never_cached() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), small()).expect("open");
    store
        .put(b"small", b"tiny value", Some(u64::MAX))
        .expect("put");
    for _ in 0..4 {
        assert_eq!(
            store.get(b"small").expect("get").as_deref(),
            Some(&b"tiny value"[..])
        );
    }
    let stats = store.stats();
    assert_eq!((stats.cache_hits, stats.cache_bytes), (0, 0), "{stats:?}");
    // 1000 zero bytes compress to a record as short as a small one: it is cached (on its
    // second miss), since a hit saves decompressing it.
    store.put(b"zeros", &[0u8; 1000], None).expect("put");
    for _ in 0..4 {
        assert_eq!(
            store.get(b"zeros").expect("get").as_deref(),
            Some(&[0u8; 1000][..])
        );
    }
    assert_eq!(store.stats().cache_hits, 2);
}

#[test]
fn every_durability_policy_reads_back_after_reopen() {
    for durability in [Durability::Always, Durability::EverySec, Durability::No] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = Options {
            durability,
            ..small()
        };
        let store = Store::open(dir.path(), options.clone()).expect("open");
        for i in 0..200u32 {
            store.put(&i.to_le_bytes(), b"v", None).expect("put");
        }
        drop(store);
        let store = Store::open(dir.path(), options).expect("reopen");
        assert_eq!(store.stats().live_keys, 200, "{durability:?}");
    }
}

#[test]
fn concurrent_writers_under_always_share_fsyncs_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        durability: Durability::Always,
        ..small()
    };
    let store = std::sync::Arc::new(Store::open(dir.path(), options.clone()).expect("open"));
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..100u32 {
                    store
                        .put(format!("{t}:{i}").as_bytes(), b"v", None)
                        .expect("put");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    drop(store);
    let store = Store::open(dir.path(), options).expect("reopen");
    assert_eq!(store.stats().live_keys, 800);
}

#[test]
fn the_durability_policy_changes_while_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        durability: Durability::No,
        ..small()
    };
    let store = Store::open(dir.path(), options.clone()).expect("open");
    assert_eq!(store.durability(), Durability::No);
    store.put(b"before", b"1", None).expect("put");
    store.set_durability(Durability::Always);
    assert_eq!(store.durability(), Durability::Always);
    store.put(b"after", b"2", None).expect("put");
    let pending = store
        .write_batch_deferred(Batch::new().put("batched", "3"))
        .expect("batch");
    store.wait_durable(pending).expect("durable");
    store.set_durability(Durability::EverySec);
    store.put(b"later", b"4", None).expect("put");
    store.close().expect("close");
    let store = Store::open(dir.path(), options).expect("reopen");
    for key in [&b"before"[..], b"after", b"batched", b"later"] {
        assert!(store.get(key).expect("get").is_some(), "{key:?}");
    }
}

#[test]
fn a_value_larger_than_the_wal_buffer_is_logged_in_order_and_replayed() {
    // Incompressible, so that its frame passes the WAL's 8 MiB buffer and is written straight
    // to the file between the small frames before and after it.
    let mut big = vec![0u8; 9 << 20];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for b in big.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let live = tempfile::tempdir().expect("tempdir");
    let options = Options {
        durability: Durability::No,
        background_maintenance: false,
        ..Options::default()
    };
    let store = Store::open(live.path(), options.clone()).expect("open");
    let put_keys = |keys: std::ops::Range<u32>| {
        for i in keys {
            let value = format!("value-{i}");
            store
                .put(&i.to_le_bytes(), value.as_bytes(), None)
                .expect("put");
        }
    };
    put_keys(0..10);
    store.put(b"big", &big, None).expect("put big");
    put_keys(10..20);
    store.flush().expect("flush");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(live.path(), dir.path());
    let store = Store::open(dir.path(), options).expect("recover");
    assert_eq!(store.get(b"big").expect("get").as_deref(), Some(&big[..]));
    for i in 0..20u32 {
        assert_eq!(
            store.get(&i.to_le_bytes()).expect("get").as_deref(),
            Some(format!("value-{i}").as_bytes())
        );
    }
}

#[test]
fn a_crashed_store_reopens_with_a_smaller_segment_size() {
    // The active segment already holds more than the new max_segment_size, and replay
    // appends more to it: it used to fail with "append past the segment's mapped capacity".
    let live = tempfile::tempdir().expect("tempdir");
    let big = Options {
        durability: Durability::No,
        background_maintenance: false,
        ..Options::default()
    };
    let store = Store::open(live.path(), big.clone()).expect("open");
    for i in 0..2000u32 {
        store
            .put(&i.to_le_bytes(), &[i as u8; 100], None)
            .expect("put");
    }
    store.checkpoint().expect("checkpoint");
    for i in 2000..2500u32 {
        store
            .put(&i.to_le_bytes(), &[i as u8; 100], None)
            .expect("put");
    }
    store.flush().expect("flush");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(live.path(), dir.path());
    let small = Options {
        max_segment_size: 32 << 10,
        ..big
    };
    let store = Store::open(dir.path(), small).expect("reopen with smaller segments");
    for i in 0..2500u32 {
        assert_eq!(
            store.get(&i.to_le_bytes()).expect("get").as_deref(),
            Some(&[i as u8; 100][..])
        );
    }
    store.put(b"after", b"x", None).expect("writes go on");
}

#[test]
fn clear_deletes_every_key_in_one_frame_and_survives_a_crash() {
    let live = tempfile::tempdir().expect("tempdir");
    let options = Options {
        durability: Durability::No,
        background_maintenance: false,
        max_segment_size: 64 << 10,
        ..Options::default()
    };
    let store = Store::open(live.path(), options.clone()).expect("open");
    for i in 0..3000u32 {
        store.put(&i.to_le_bytes(), b"before", None).expect("put");
    }
    store.checkpoint().expect("checkpoint");
    for i in 3000..4000u32 {
        store.put(&i.to_le_bytes(), b"before", None).expect("put");
    }
    let wal_before = store.stats().wal_bytes;
    let _ = store.clear().expect("clear");
    assert!(
        store.stats().wal_bytes - wal_before < 100,
        "one small frame, not a tombstone per key"
    );
    assert_eq!(store.stats().live_keys, 0);
    assert_eq!(store.get(&5u32.to_le_bytes()).expect("get"), None);
    for i in 0..10u32 {
        store.put(&i.to_le_bytes(), b"after", None).expect("put");
    }
    store.flush().expect("flush");
    // A crash: the clear is replayed between the puts around it.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(live.path(), dir.path());
    let crashed = Store::open(dir.path(), options.clone()).expect("recover");
    assert_eq!(crashed.stats().live_keys, 10);
    for i in 0..4000u32 {
        let want = (i < 10).then_some(&b"after"[..]);
        assert_eq!(
            crashed.get(&i.to_le_bytes()).expect("get").as_deref(),
            want,
            "key {i}"
        );
    }
    // Compaction gives back the space of what was cleared.
    let before = crashed.stats().segment_bytes;
    crashed.checkpoint().expect("checkpoint");
    crashed.compact().expect("compact");
    crashed.checkpoint().expect("checkpoint");
    assert!(
        crashed.stats().segment_bytes < before / 2,
        "{} bytes of segments left of {before}",
        crashed.stats().segment_bytes
    );
    crashed.close().expect("close");
    let reopened = Store::open(dir.path(), options).expect("reopen");
    assert_eq!(reopened.stats().live_keys, 10);
}
