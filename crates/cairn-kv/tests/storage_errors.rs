//! The engine's errors reach the Redis door whole: a full disk and a poisoned store answer
//! `MISCONF` (as Redis answers writes it cannot persist) with the engine's message naming the
//! file, change nothing, and a full disk lets the keyspace work on once space is freed.

use bytes::Bytes;
use cairn_fs::{Fault, Faults, Fs, OpKind};
use cairn_kv::{Durability, Kv, KvError, KvOptions, Reply, Session};
use cairn_test_support::noise_text;

/// Runs a command and waits for its write to be durable, as the Redis door does before it
/// answers: a failed fsync is the reply.
fn run(kv: &std::sync::Arc<Kv>, session: &mut Session, args: &[&str]) -> Reply {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
    let outcome = kv.execute(session, &argv);
    match kv.wait_durable(outcome.durable) {
        Ok(()) => outcome.reply,
        Err(e) => Reply::Error(e),
    }
}

fn open(dir: &std::path::Path, faults: &std::sync::Arc<Faults>) -> std::sync::Arc<Kv> {
    let options = KvOptions {
        appendfsync: Durability::Always,
        fs: Fs::with_faults(faults.clone()),
        ..KvOptions::default()
    };
    Kv::open(dir, options).expect("open")
}

#[test]
fn a_full_disk_answers_misconf_changes_nothing_and_the_keyspace_works_on_once_freed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let kv = open(&tmp.path().join("kv"), &faults);
    let mut s = kv.connect("t".into(), "t".into());
    assert_eq!(run(&kv, &mut s, &["SET", "before", "v"]), Reply::OK);
    faults.set_disk_full(true);
    let mut refused = None;
    for i in 0..2_000 {
        let value = noise_text(4_000, i);
        match run(&kv, &mut s, &["SET", &format!("k{i}"), &value]) {
            Reply::OK => {}
            Reply::Error(e) => {
                refused = Some((i, e));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let (i, err) = refused.expect("the disk never filled");
    assert!(err.is_storage_full(), "{err:?}");
    assert_eq!(err.code(), "MISCONF");
    assert!(
        matches!(err, KvError::Storage(ref e) if e.engine().to_string().contains("No space left"))
    );
    assert_eq!(
        run(&kv, &mut s, &["EXISTS", &format!("k{i}")]),
        Reply::Integer(0)
    );
    faults.set_disk_full(false);
    assert_eq!(run(&kv, &mut s, &["SET", "after", "v"]), Reply::OK);
    assert_eq!(
        run(&kv, &mut s, &["GET", "before"]),
        Reply::Bulk(Bytes::from("v"))
    );
    assert_eq!(run(&kv, &mut s, &["DBSIZE"]), Reply::Integer(i as i64 + 2));
}

#[test]
fn a_failed_fsync_answers_misconf_until_the_keyspace_is_reopened() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let faults = Faults::new(tmp.path().join("keep")).expect("faults");
    let kv = open(&tmp.path().join("kv"), &faults);
    let mut s = kv.connect("t".into(), "t".into());
    assert_eq!(run(&kv, &mut s, &["SET", "before", "v"]), Reply::OK);
    faults.fail_next(OpKind::Sync, 0, Fault::Eio);
    assert!(matches!(
        run(&kv, &mut s, &["SET", "k", "v"]),
        Reply::Error(_)
    ));
    let Reply::Error(err) = run(&kv, &mut s, &["SET", "k2", "v"]) else {
        panic!("a poisoned keyspace took a write");
    };
    assert_eq!(err.code(), "MISCONF", "{err}");
    assert_eq!(
        run(&kv, &mut s, &["GET", "before"]),
        Reply::Bulk(Bytes::from("v"))
    );
    let _ = kv.close();
    drop(kv);
    let kv = Kv::open(tmp.path().join("kv"), KvOptions::default()).expect("reopen");
    let mut s = kv.connect("t".into(), "t".into());
    assert_eq!(
        run(&kv, &mut s, &["GET", "before"]),
        Reply::Bulk(Bytes::from("v"))
    );
    assert_eq!(run(&kv, &mut s, &["SET", "k2", "v"]), Reply::OK);
}
