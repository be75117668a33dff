//! UNLINK frees a large value's children in the background: the key is gone at once, its
//! child records follow within a few ticks of the expiry thread, across a restart too, and
//! no other value loses a record.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_kv::{Kv, KvOptions, Reply, Session};

fn run(kv: &std::sync::Arc<Kv>, s: &mut Session, args: &[String]) -> Reply {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.clone())).collect();
    kv.execute(s, &argv).reply
}

fn cmd(kv: &std::sync::Arc<Kv>, s: &mut Session, args: &[&str]) -> Reply {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    run(kv, s, &args)
}

/// Fills `prefix`-named values of every type with `n` elements each (and a 2 MiB string).
fn fill(kv: &std::sync::Arc<Kv>, s: &mut Session, prefix: &str, n: usize) {
    for (command, key) in [("HSET", "h"), ("SADD", "s"), ("ZADD", "z"), ("RPUSH", "l")] {
        let key = format!("{prefix}{key}");
        for start in (0..n).step_by(500) {
            let mut args = vec![command.to_string(), key.clone()];
            for i in start..(start + 500).min(n) {
                match command {
                    "HSET" => args.extend([format!("f{i}"), format!("v{i}")]),
                    "ZADD" => args.extend([i.to_string(), format!("m{i}")]),
                    _ => args.push(format!("m{i}")),
                }
            }
            assert!(!run(kv, s, &args).is_error());
        }
    }
    let big = "x".repeat(2 << 20);
    cmd(kv, s, &["SET", &format!("{prefix}str"), &big]);
}

fn records(kv: &std::sync::Arc<Kv>, s: &mut Session) -> u64 {
    assert_eq!(cmd(kv, s, &["SAVE"]), Reply::OK);
    kv.engine_stats().live_keys
}

/// Waits until the engine holds `want` records.
fn wait_for_records(kv: &std::sync::Arc<Kv>, s: &mut Session, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let have = records(kv, s);
        if have == want {
            return;
        }
        assert!(Instant::now() < deadline, "{have} records, {want} expected");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn unlink_all(kv: &std::sync::Arc<Kv>, s: &mut Session, prefix: &str) {
    let keys: Vec<String> = ["h", "s", "z", "l", "str"]
        .iter()
        .map(|k| format!("{prefix}{k}"))
        .collect();
    let mut args = vec!["UNLINK".to_string()];
    args.extend(keys.iter().cloned());
    assert_eq!(run(kv, s, &args), Reply::Integer(5));
    for key in &keys {
        assert_eq!(cmd(kv, s, &["EXISTS", key]), Reply::Integer(0), "{key}");
    }
}

fn kept_intact(kv: &std::sync::Arc<Kv>, s: &mut Session, n: usize) {
    assert_eq!(cmd(kv, s, &["HLEN", "keep:h"]), Reply::Integer(n as i64));
    assert_eq!(
        cmd(kv, s, &["HGET", "keep:h", &format!("f{}", n - 1)]),
        Reply::Bulk(Bytes::from(format!("v{}", n - 1)))
    );
    assert_eq!(
        cmd(kv, s, &["SISMEMBER", "keep:s", "m7"]),
        Reply::Integer(1)
    );
    assert_eq!(cmd(kv, s, &["ZSCORE", "keep:z", "m9"]), Reply::Double(9.0));
    assert_eq!(
        cmd(kv, s, &["LINDEX", "keep:l", &(n / 2).to_string()]),
        Reply::Bulk(Bytes::from(format!("m{}", n / 2)))
    );
    assert_eq!(cmd(kv, s, &["STRLEN", "keep:str"]), Reply::Integer(2 << 20));
}

#[test]
fn unlinked_values_are_freed_in_the_background_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 20_000;
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut s = kv.connect("t".into(), "t".into());
    fill(&kv, &mut s, "keep:", n);
    let baseline = records(&kv, &mut s);
    fill(&kv, &mut s, "gone:", n);
    assert!(records(&kv, &mut s) > baseline + 1000);
    unlink_all(&kv, &mut s, "gone:");
    wait_for_records(&kv, &mut s, baseline);
    kept_intact(&kv, &mut s, n);
    // The same names can hold new values at once.
    cmd(&kv, &mut s, &["RPUSH", "gone:l", "new"]);
    assert_eq!(cmd(&kv, &mut s, &["LLEN", "gone:l"]), Reply::Integer(1));
}

#[test]
fn freeing_goes_on_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 20_000;
    // No expiry thread: nothing is freed before the restart.
    let quiet = KvOptions {
        active_expiry: false,
        ..KvOptions::default()
    };
    let kv = Kv::open(dir.path(), quiet).expect("open");
    let mut s = kv.connect("t".into(), "t".into());
    fill(&kv, &mut s, "keep:", n);
    let baseline = records(&kv, &mut s);
    fill(&kv, &mut s, "gone:", n);
    unlink_all(&kv, &mut s, "gone:");
    let left = records(&kv, &mut s);
    assert!(left > baseline + 1000, "nothing freed yet: {left}");
    kv.disconnect(&mut s);
    kv.close().expect("close");
    drop(kv);

    let kv = Kv::open(dir.path(), KvOptions::default()).expect("reopen");
    let mut s = kv.connect("t".into(), "t".into());
    wait_for_records(&kv, &mut s, baseline);
    kept_intact(&kv, &mut s, n);
}
