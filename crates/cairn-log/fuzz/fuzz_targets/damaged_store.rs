//! Opens a store one of whose files the fuzzer has damaged, and reads everything in it.
//!
//! Input: byte 0 picks the file (WAL, index, bloom filter, metadata, segment), byte 1 the kind
//! of damage (XOR the rest of the input in at an offset, or cut the file there), bytes 2..6 the
//! offset. Whatever the damage, opening and reading must return data or an error: never panic,
//! hang or allocate without bound.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cairn_log::{Durability, Options, Store};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 5] = [
    "wal/wal_active.log",
    "index/hash_index.idx",
    "index/bloom_filter.blm",
    "index/metadata.meta",
    "segments/segment_000001.dat",
];

fn options() -> Options {
    Options {
        durability: Durability::No,
        background_maintenance: false,
        max_segment_size: 1 << 20,
        cache_bytes: 1 << 20,
        bloom_initial_capacity: 1024,
        ..Options::default()
    }
}

/// A store with checkpointed data and WAL frames after the checkpoint, built once.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let store = Store::open(&dir, options()).expect("open");
        for i in 0..64u32 {
            store.put(&i.to_le_bytes(), &vec![i as u8; (i * 7) as usize], None).expect("put");
        }
        store.checkpoint().expect("checkpoint");
        for i in 32..80u32 {
            store.put(&i.to_le_bytes(), format!("v{i}").as_bytes(), Some(u64::MAX)).expect("put");
        }
        store.delete(&3u32.to_le_bytes()).expect("delete");
        store.flush().expect("flush");
        // Copy the files as a crash would leave them, while the handle is still open.
        let copy = tempfile::tempdir().expect("tempdir").keep();
        for file in FILES.iter().chain(["LOCK"].iter()) {
            let to = copy.join(file);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(dir.join(file), &to).expect("copy");
        }
        drop(store);
        copy
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let template = template();
    let dir = tempfile::tempdir().expect("tempdir");
    for file in FILES {
        let to = dir.path().join(file);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(template.join(file), &to).expect("copy");
    }
    let target = dir.path().join(FILES[data[0] as usize % FILES.len()]);
    let mut bytes = std::fs::read(&target).expect("read");
    let offset = u32::from_le_bytes([data[2], data[3], data[4], data[5]]) as usize % (bytes.len() + 1);
    if data[1] % 4 == 0 {
        bytes.truncate(offset);
    } else {
        for (i, b) in data[6..].iter().enumerate() {
            if let Some(x) = bytes.get_mut(offset + i) {
                *x ^= b;
            }
        }
    }
    std::fs::write(&target, bytes).expect("write");
    let Ok(store) = Store::open(dir.path(), options()) else {
        return;
    };
    let mut cursor = 0;
    loop {
        let Ok(page) = store.scan(cursor, 16) else { break };
        for key in page.keys {
            let _ = store.get(&key);
        }
        cursor = page.cursor;
        if cursor == 0 {
            break;
        }
    }
    for i in 0..80u32 {
        let _ = store.get(&i.to_le_bytes());
    }
    let _ = store.put(b"after", b"damage", None);
    let _ = store.close();
});
