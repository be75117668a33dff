//! A blocked client is woken by writes to the keys it waits on, and by no others.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use cairn_kv::{After, Kv, KvOptions, Session};

fn argv(args: &[&str]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::from(a.to_string())).collect()
}

/// Whether `session` holds a wake-up (consumes it).
fn woken(session: &Session) -> bool {
    let notified = std::pin::pin!(session.elements_waiter.notified());
    matches!(
        notified.poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(())
    )
}

#[test]
fn a_push_wakes_only_the_clients_blocked_on_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut blocked: Vec<Session> = (0..50)
        .map(|i| {
            let mut s = kv.connect(format!("c{i}"), "l".into());
            let key = format!("k{i}");
            let outcome = kv.execute(&mut s, &argv(&["BLPOP", &key, "0"]));
            assert!(matches!(outcome.after, After::Block { .. }));
            s
        })
        .collect();
    let mut zset_waiter = kv.connect("z".into(), "l".into());
    let outcome = kv.execute(&mut zset_waiter, &argv(&["BZPOPMIN", "z", "k7", "0"]));
    assert!(matches!(outcome.after, After::Block { .. }));

    let mut pusher = kv.connect("p".into(), "l".into());
    kv.execute(&mut pusher, &argv(&["RPUSH", "k7", "x"]));
    for (i, s) in blocked.iter().enumerate() {
        assert_eq!(woken(s), i == 7, "client {i}");
    }
    assert!(woken(&zset_waiter), "waits on k7 too, among its keys");
    kv.execute(&mut pusher, &argv(&["ZADD", "z", "1", "m"]));
    assert!(woken(&zset_waiter));
    assert!(blocked.iter().all(|s| !woken(s)));

    // A client that stopped waiting is woken no more.
    kv.stop_blocking(&mut blocked[3]);
    kv.execute(&mut pusher, &argv(&["LPUSH", "k3", "x"]));
    assert!(!woken(&blocked[3]));
    // A blocking command inside EXEC answers at once and leaves no registration behind.
    let mut in_multi = kv.connect("m".into(), "l".into());
    kv.execute(&mut in_multi, &argv(&["MULTI"]));
    kv.execute(&mut in_multi, &argv(&["BLPOP", "q", "0"]));
    kv.execute(&mut in_multi, &argv(&["EXEC"]));
    kv.execute(&mut pusher, &argv(&["RPUSH", "q", "x"]));
    assert!(!woken(&in_multi));
}
