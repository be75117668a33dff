//! FLUSHALL and FLUSHDB: every key goes, in every database they cover, and what comes after
//! them survives a reopen; inside MULTI they stay one atomic step of the EXEC.

use bytes::Bytes;
use cairn_kv::{Kv, KvOptions, Reply, Session};

fn run(kv: &std::sync::Arc<Kv>, session: &mut Session, args: &[&str]) -> Reply {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
    kv.execute(session, &argv).reply
}

fn dbsize(kv: &std::sync::Arc<Kv>, session: &mut Session, db: u8) -> Reply {
    run(kv, session, &["SELECT", &db.to_string()]);
    run(kv, session, &["DBSIZE"])
}

#[test]
fn flushall_empties_every_database_and_what_follows_it_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut s = kv.connect("t".into(), "t".into());
    for i in 0..2000 {
        run(&kv, &mut s, &["SET", &format!("k{i}"), "v"]);
    }
    run(&kv, &mut s, &["SELECT", "1"]);
    for i in 0..300 {
        run(&kv, &mut s, &["HSET", "h", &format!("f{i}"), "v"]);
    }
    run(&kv, &mut s, &["SELECT", "2"]);
    run(&kv, &mut s, &["SET", "volatile", "v", "EX", "100"]);
    assert_eq!(run(&kv, &mut s, &["FLUSHALL"]), Reply::OK);
    for db in 0..3 {
        assert_eq!(dbsize(&kv, &mut s, db), Reply::Integer(0), "db {db}");
    }
    assert_eq!(run(&kv, &mut s, &["SELECT", "1"]), Reply::OK);
    assert_eq!(run(&kv, &mut s, &["HGET", "h", "f1"]), Reply::Nil);
    assert_eq!(run(&kv, &mut s, &["RANDOMKEY"]), Reply::Nil);
    for i in 0..100 {
        run(
            &kv,
            &mut s,
            &["HSET", "h2", &format!("f{i}"), &format!("v{i}")],
        );
    }
    kv.disconnect(&mut s);
    kv.close().expect("close");
    drop(kv);

    let kv = Kv::open(dir.path(), KvOptions::default()).expect("reopen");
    let mut s = kv.connect("t".into(), "t".into());
    assert_eq!(dbsize(&kv, &mut s, 0), Reply::Integer(0));
    assert_eq!(dbsize(&kv, &mut s, 2), Reply::Integer(0));
    assert_eq!(dbsize(&kv, &mut s, 1), Reply::Integer(1));
    assert_eq!(run(&kv, &mut s, &["HLEN", "h2"]), Reply::Integer(100));
    assert_eq!(
        run(&kv, &mut s, &["HGET", "h2", "f42"]),
        Reply::Bulk(Bytes::from("v42"))
    );
}

#[test]
fn flushdb_keeps_the_other_databases_and_flushall_in_exec_stays_atomic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut s = kv.connect("t".into(), "t".into());
    run(&kv, &mut s, &["SET", "a", "1"]);
    run(&kv, &mut s, &["SELECT", "3"]);
    run(&kv, &mut s, &["SET", "b", "1"]);
    assert_eq!(run(&kv, &mut s, &["FLUSHDB"]), Reply::OK);
    assert_eq!(dbsize(&kv, &mut s, 3), Reply::Integer(0));
    assert_eq!(
        dbsize(&kv, &mut s, 0),
        Reply::Integer(1),
        "db 0 keeps its key"
    );

    run(&kv, &mut s, &["MULTI"]);
    run(&kv, &mut s, &["SET", "before", "1"]);
    run(&kv, &mut s, &["FLUSHALL"]);
    run(&kv, &mut s, &["SET", "after", "1"]);
    run(&kv, &mut s, &["EXEC"]);
    assert_eq!(
        run(&kv, &mut s, &["EXISTS", "a", "before", "after"]),
        Reply::Integer(1)
    );
    assert_eq!(
        run(&kv, &mut s, &["GET", "after"]),
        Reply::Bulk(Bytes::from("1"))
    );
}
