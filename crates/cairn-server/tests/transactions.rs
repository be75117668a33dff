//! MULTI/EXEC/DISCARD/WATCH with Redis's rules.

mod support;

use cairn_kv::KvOptions;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_the_queue_and_keeps_going_after_a_runtime_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(r.call(&["SET", "s", "text"]).await, "+OK\r\n");
    assert_eq!(r.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(
        r.call(&["MULTI"]).await,
        "-ERR MULTI calls can not be nested\r\n"
    );
    assert_eq!(r.call(&["SET", "a", "1"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["INCR", "s"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["INCR", "a"]).await, "+QUEUED\r\n");
    assert_eq!(
        r.call(&["EXEC"]).await,
        "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n:2\r\n"
    );
    assert_eq!(r.call(&["EXEC"]).await, "-ERR EXEC without MULTI\r\n");
    // A command refused while queueing aborts the whole transaction.
    assert_eq!(r.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SET", "b", "1"]).await, "+QUEUED\r\n");
    assert_eq!(
        r.call(&["GET"]).await,
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        r.call(&["EXEC"]).await,
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(r.call(&["EXISTS", "b"]).await, ":0\r\n");
    assert_eq!(r.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SET", "b", "1"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["DISCARD"]).await, "+OK\r\n");
    assert_eq!(r.call(&["EXISTS", "b"]).await, ":0\r\n");
    assert_eq!(r.call(&["DISCARD"]).await, "-ERR DISCARD without MULTI\r\n");
    // SELECT inside MULTI applies to the commands queued after it.
    assert_eq!(r.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SELECT", "2"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["SET", "in2", "x"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["EXEC"]).await, "*2\r\n+OK\r\n+OK\r\n");
    assert_eq!(r.call(&["GET", "in2"]).await, "$1\r\nx\r\n");
    // Whole-keyspace commands inside EXEC see the writes queued before them.
    assert_eq!(r.call(&["SELECT", "7"]).await, "+OK\r\n");
    assert_eq!(r.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SET", "fresh", "1"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["KEYS", "*"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["DBSIZE"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["FLUSHDB"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["DBSIZE"]).await, "+QUEUED\r\n");
    assert_eq!(
        r.call(&["EXEC"]).await,
        "*5\r\n+OK\r\n*1\r\n$5\r\nfresh\r\n:1\r\n+OK\r\n:0\r\n"
    );
    assert_eq!(r.call(&["EXISTS", "fresh"]).await, ":0\r\n");
    // In a pipeline too.
    r.send_bytes(b"SET piped 1\r\nKEYS *\r\nFLUSHDB\r\nDBSIZE\r\n")
        .await;
    assert_eq!(r.reply().await, "+OK\r\n");
    assert_eq!(r.reply().await, "*1\r\n$5\r\npiped\r\n");
    assert_eq!(r.reply().await, "+OK\r\n");
    assert_eq!(r.reply().await, ":0\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_aborts_exec_on_writes_expiry_and_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut a = server.raw().await;
    let mut b = server.raw().await;
    // Another client's write.
    assert_eq!(a.call(&["SET", "balance", "10"]).await, "+OK\r\n");
    assert_eq!(a.call(&["WATCH", "balance"]).await, "+OK\r\n");
    assert_eq!(b.call(&["INCRBY", "balance", "5"]).await, ":15\r\n");
    assert_eq!(a.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(
        a.call(&["WATCH", "x"]).await,
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(a.call(&["SET", "balance", "0"]).await, "+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]).await, "*-1\r\n");
    assert_eq!(a.call(&["GET", "balance"]).await, "$2\r\n15\r\n");
    // Untouched watched keys let EXEC through; UNWATCH forgets.
    assert_eq!(a.call(&["WATCH", "balance"]).await, "+OK\r\n");
    assert_eq!(a.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(a.call(&["INCR", "balance"]).await, "+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]).await, "*1\r\n:16\r\n");
    assert_eq!(a.call(&["WATCH", "balance"]).await, "+OK\r\n");
    assert_eq!(b.call(&["SET", "balance", "1"]).await, "+OK\r\n");
    assert_eq!(a.call(&["UNWATCH"]).await, "+OK\r\n");
    assert_eq!(a.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(a.call(&["INCR", "balance"]).await, "+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]).await, "*1\r\n:2\r\n");
    // Expiry of a watched key.
    assert_eq!(a.call(&["SET", "lease", "x", "PX", "50"]).await, "+OK\r\n");
    assert_eq!(a.call(&["WATCH", "lease"]).await, "+OK\r\n");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(a.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(a.call(&["SET", "other", "1"]).await, "+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]).await, "*-1\r\n");
    // FLUSHDB touches watched keys that existed.
    assert_eq!(a.call(&["SET", "w", "1"]).await, "+OK\r\n");
    assert_eq!(a.call(&["WATCH", "w"]).await, "+OK\r\n");
    assert_eq!(b.call(&["FLUSHDB"]).await, "+OK\r\n");
    assert_eq!(a.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(a.call(&["SET", "w", "2"]).await, "+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]).await, "*-1\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_change_nothing_leave_a_watch_alone() {
    // Redis signals a modified key only when SADD adds or ZADD adds or moves a member.
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut a = server.raw().await;
    let mut b = server.raw().await;
    assert_eq!(a.call(&["SADD", "s", "m"]).await, ":1\r\n");
    assert_eq!(a.call(&["ZADD", "z", "1", "m"]).await, ":1\r\n");
    assert_eq!(a.call(&["WATCH", "s", "z"]).await, "+OK\r\n");
    assert_eq!(b.call(&["SADD", "s", "m"]).await, ":0\r\n");
    assert_eq!(b.call(&["ZADD", "z", "1", "m"]).await, ":0\r\n");
    assert_eq!(
        b.call(&["ZADD", "z", "INCR", "0", "m"]).await,
        "$1\r\n1\r\n"
    );
    assert_eq!(a.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(a.call(&["SET", "x", "1"]).await, "+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]).await, "*1\r\n+OK\r\n");
    // A real change still aborts, for either type.
    let changes: [(&[&str], &str); 2] = [
        (&["SADD", "s", "n"], ":1\r\n"),
        (&["ZADD", "z", "2", "m"], ":0\r\n"), // moved, not added
    ];
    for (change, reply) in changes {
        assert_eq!(a.call(&["WATCH", "s", "z"]).await, "+OK\r\n");
        assert_eq!(b.call(change).await, reply);
        assert_eq!(a.call(&["MULTI"]).await, "+OK\r\n");
        assert_eq!(a.call(&["SET", "x", "2"]).await, "+QUEUED\r\n");
        assert_eq!(a.call(&["EXEC"]).await, "*-1\r\n", "after {change:?}");
    }
    assert_eq!(
        a.call(&["SMEMBERS", "s"]).await.matches("$1\r\n").count(),
        2
    );
    assert_eq!(a.call(&["ZSCORE", "z", "m"]).await, "$1\r\n2\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_sees_half_of_an_exec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut writer = server.raw().await;
    let mut reader = server.raw().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut checks = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let got = reader.call(&["MGET", "x", "y"]).await;
                // x and y are always written together with the same value, so the two
                // elements of the reply are the same bytes.
                let body = got.strip_prefix("*2\r\n").expect("array of two");
                let (first, second) = body.split_at(body.len() / 2);
                assert_eq!(first, second, "torn transaction seen: {got:?}");
                checks += 1;
            }
            checks
        })
    };
    for i in 0..300 {
        let v = i.to_string();
        writer.send(&["MULTI"]).await;
        writer.send(&["SET", "x", &v]).await;
        writer.send(&["SET", "y", &v]).await;
        writer.send(&["EXEC"]).await;
        assert_eq!(writer.reply().await, "+OK\r\n");
        assert_eq!(writer.reply().await, "+QUEUED\r\n");
        assert_eq!(writer.reply().await, "+QUEUED\r\n");
        assert_eq!(writer.reply().await, "*2\r\n+OK\r\n+OK\r\n");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let checks = watcher.await.expect("reader");
    assert!(checks > 0);
    server.stop().await;
}
