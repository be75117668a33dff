//! Strings of 1 MiB and more are stored in chunks: every string command reads and writes
//! them as it does a short string (checked against a byte vector), APPEND and SETRANGE write
//! only the chunks they change, and a deleted or replaced large string leaves no chunk behind.

use bytes::Bytes;
use cairn_kv::{Clock, Kv, KvOptions, Reply, Session};
use cairn_test_support::noise;

fn run(kv: &std::sync::Arc<Kv>, s: &mut Session, args: &[&[u8]]) -> Reply {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    kv.execute(s, &argv).reply
}

fn bulk(reply: Reply) -> Vec<u8> {
    match reply {
        Reply::Bulk(b) => b.to_vec(),
        other => panic!("{other:?}"),
    }
}

/// Log records in the engine once every write has reached it.
fn records(kv: &std::sync::Arc<Kv>, s: &mut Session) -> u64 {
    assert_eq!(run(kv, s, &[b"SAVE"]), Reply::OK);
    kv.engine_stats().live_keys
}

#[test]
fn large_strings_read_and_write_like_short_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut s = kv.connect("t".into(), "t".into());
    // The keyspace's own records (its seed, and the generations it has reserved once a first
    // large string has taken one).
    run(&kv, &mut s, &[b"SET", b"first", &noise(2 << 20, 3)]);
    run(&kv, &mut s, &[b"DEL", b"first"]);
    let empty = records(&kv, &mut s);

    let mut model = noise(3 << 20, 1);
    assert_eq!(run(&kv, &mut s, &[b"SET", b"big", &model]), Reply::OK);
    assert!(records(&kv, &mut s) > empty + 40, "stored in 64 KiB chunks");
    assert_eq!(bulk(run(&kv, &mut s, &[b"GET", b"big"])), model);
    assert_eq!(
        run(&kv, &mut s, &[b"STRLEN", b"big"]),
        Reply::Integer(model.len() as i64)
    );
    assert_eq!(
        run(&kv, &mut s, &[b"TYPE", b"big"]),
        Reply::Status("string")
    );

    // Ranges across chunk boundaries, and Redis's clamping.
    for (start, end) in [
        (0i64, 10i64),
        (65530, 65545),
        (100_000, 300_000),
        (-20, -1),
        (-5, 1 << 40),
    ] {
        let len = model.len() as i64;
        let s0 = if start < 0 {
            (len + start).max(0)
        } else {
            start
        } as usize;
        let e0 = if end < 0 { len + end } else { end.min(len - 1) } as usize;
        let got = bulk(run(
            &kv,
            &mut s,
            &[
                b"GETRANGE",
                b"big",
                start.to_string().as_bytes(),
                end.to_string().as_bytes(),
            ],
        ));
        assert_eq!(got, model[s0..=e0], "GETRANGE {start} {end}");
    }

    // APPEND many small pieces, SETRANGE in the middle, across a boundary, past the end.
    for i in 0..50u64 {
        let piece = noise(1000 + i as usize * 37, 100 + i);
        model.extend_from_slice(&piece);
        assert_eq!(
            run(&kv, &mut s, &[b"APPEND", b"big", &piece]),
            Reply::Integer(model.len() as i64)
        );
    }
    for (offset, len) in [(5usize, 10usize), (65530, 20), (1 << 20, 200_000)] {
        let patch = noise(len, offset as u64);
        model[offset..offset + len].copy_from_slice(&patch);
        let reply = run(
            &kv,
            &mut s,
            &[b"SETRANGE", b"big", offset.to_string().as_bytes(), &patch],
        );
        assert_eq!(reply, Reply::Integer(model.len() as i64));
    }
    let far = model.len() + 100_000;
    model.resize(far, 0);
    model.extend_from_slice(b"tail");
    run(
        &kv,
        &mut s,
        &[b"SETRANGE", b"big", far.to_string().as_bytes(), b"tail"],
    );
    assert_eq!(bulk(run(&kv, &mut s, &[b"GET", b"big"])), model);

    // Expiry, RENAME and COPY keep the value; a change to the copy leaves the original.
    assert_eq!(
        run(&kv, &mut s, &[b"EXPIRE", b"big", b"1000"]),
        Reply::Integer(1)
    );
    assert_eq!(run(&kv, &mut s, &[b"RENAME", b"big", b"moved"]), Reply::OK);
    assert_eq!(run(&kv, &mut s, &[b"TTL", b"moved"]), Reply::Integer(1000));
    assert_eq!(
        run(&kv, &mut s, &[b"COPY", b"moved", b"copy"]),
        Reply::Integer(1)
    );
    run(&kv, &mut s, &[b"APPEND", b"copy", b"more"]);
    assert_eq!(bulk(run(&kv, &mut s, &[b"GET", b"moved"])), model);
    let mut copied = model.clone();
    copied.extend_from_slice(b"more");
    assert_eq!(bulk(run(&kv, &mut s, &[b"GET", b"copy"])), copied);
    assert_eq!(
        run(&kv, &mut s, &[b"HSET", b"moved", b"f", b"v"]),
        Reply::Error(cairn_kv::KvError::WrongType)
    );

    kv.disconnect(&mut s);
    kv.close().expect("close");
    drop(kv);
    let clock = Clock::manual(cairn_kv::now_ms());
    let options = KvOptions {
        clock: clock.clone(),
        ..KvOptions::default()
    };
    let kv = Kv::open(dir.path(), options).expect("reopen");
    let mut s = kv.connect("t".into(), "t".into());
    assert_eq!(bulk(run(&kv, &mut s, &[b"GET", b"moved"])), model);
    assert_eq!(bulk(run(&kv, &mut s, &[b"GET", b"copy"])), copied);

    // Replaced by a short string, by a collection, deleted: no chunk is left behind.
    run(&kv, &mut s, &[b"SET", b"moved", b"short"]);
    run(&kv, &mut s, &[b"DEL", b"copy"]);
    run(&kv, &mut s, &[b"SET", b"other", &noise(2 << 20, 5)]);
    run(&kv, &mut s, &[b"DEL", b"other"]);
    run(&kv, &mut s, &[b"RPUSH", b"other", b"x"]);
    run(&kv, &mut s, &[b"DEL", b"other"]);
    assert_eq!(
        records(&kv, &mut s),
        empty + 1,
        "only the short string's head is left"
    );
    // An expired large string goes with its chunks.
    run(
        &kv,
        &mut s,
        &[b"SET", b"brief", &noise(2 << 20, 6), b"PX", b"30"],
    );
    clock.advance(31);
    assert_eq!(run(&kv, &mut s, &[b"GET", b"brief"]), Reply::Nil);
    assert_eq!(records(&kv, &mut s), empty + 1, "its chunks are gone");
}

#[test]
fn a_short_string_grows_into_chunks_and_append_writes_only_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut s = kv.connect("t".into(), "t".into());
    let mut model = Vec::new();
    let piece = noise(300_000, 9);
    for _ in 0..8 {
        model.extend_from_slice(&piece);
        run(&kv, &mut s, &[b"APPEND", b"k", &piece]);
    }
    assert_eq!(bulk(run(&kv, &mut s, &[b"GET", b"k"])), model);
    // An APPEND of one byte to 2.4 MB logs about one chunk, not the whole string.
    records(&kv, &mut s);
    let before = kv.engine_stats().wal_bytes;
    run(&kv, &mut s, &[b"APPEND", b"k", b"!"]);
    records(&kv, &mut s);
    let logged = kv.engine_stats().wal_bytes.saturating_sub(before);
    assert!(
        logged < 200_000,
        "{logged} bytes logged for a 1-byte APPEND"
    );
}
