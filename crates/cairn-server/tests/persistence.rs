//! Restart persistence, authentication, protocol errors, RESP3 and pipelining.

mod support;

use std::time::Duration;

use cairn_kv::KvOptions;
use redis::AsyncCommands;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_a_restart_and_expired_keys_stay_expired() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = TestServer::start(dir.path(), KvOptions::default()).await;
        let mut c = server.client().await;
        let _: () = c.set("s", "string").await.expect("set");
        let _: () = c.set_ex("ttl", "soon", 1000).await.expect("setex");
        let _: () = redis::cmd("SET")
            .arg("gone")
            .arg("x")
            .arg("PX")
            .arg(300)
            .query_async(&mut c)
            .await
            .expect("set px");
        let _: () = c
            .hset_multiple("h", &[("a", "1"), ("b", "2")])
            .await
            .expect("hset");
        let _: () = c.rpush("l", &["x", "y", "z"]).await.expect("rpush");
        let _: () = c.sadd("set", &["m", "n"]).await.expect("sadd");
        let _: () = redis::cmd("SELECT")
            .arg(5)
            .query_async(&mut c)
            .await
            .expect("select");
        let _: () = c.set("in5", "five").await.expect("set");
        let _: () = redis::cmd("SAVE").query_async(&mut c).await.expect("save");
        let _: () = c.set("after-save", "kept").await.expect("set");
        server.stop().await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut c = server.client().await;
    let s: String = c.get("s").await.expect("get");
    assert_eq!(s, "string");
    let ttl: i64 = c.ttl("ttl").await.expect("ttl");
    assert!((900..=1000).contains(&ttl), "ttl {ttl}");
    let gone: Option<String> = c.get("gone").await.expect("get");
    assert_eq!(
        gone, None,
        "an expired key is never returned after a restart"
    );
    let h: Vec<(String, String)> = c.hgetall("h").await.expect("hgetall");
    assert_eq!(h.len(), 2);
    let l: Vec<String> = c.lrange("l", 0, -1).await.expect("lrange");
    assert_eq!(l, vec!["x", "y", "z"]);
    let n: usize = c.scard("set").await.expect("scard");
    assert_eq!(n, 2);
    let size: i64 = redis::cmd("DBSIZE")
        .query_async(&mut c)
        .await
        .expect("dbsize");
    assert_eq!(
        size, 5,
        "s, ttl, h, l, set: `gone` was deleted when GET found it expired"
    );
    let _: () = redis::cmd("SELECT")
        .arg(5)
        .query_async(&mut c)
        .await
        .expect("select");
    let v: String = c.get("in5").await.expect("get");
    assert_eq!(v, "five");
    let v: String = c.get("after-save").await.expect("get");
    assert_eq!(v, "kept");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirepass_demands_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = KvOptions {
        requirepass: Some("s3cret".into()),
        ..KvOptions::default()
    };
    let server = TestServer::start(dir.path(), options).await;
    let mut r = server.raw().await;
    assert_eq!(
        r.call(&["GET", "k"]).await,
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        r.call(&["AUTH", "wrong"]).await,
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(r.call(&["AUTH", "s3cret"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SET", "k", "v"]).await, "+OK\r\n");
    let url = format!("redis://:s3cret@{}/", server.addr);
    let mut c = redis::Client::open(url)
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let v: String = c.get("k").await.expect("get");
    assert_eq!(v, "v");
    let mut open = server.raw().await;
    assert_eq!(open.call(&["AUTH", "default", "s3cret"]).await, "+OK\r\n");
    server.stop().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(
        r.call(&["AUTH", "x"]).await,
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_are_answered_then_the_connection_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let cases: &[(&[u8], &str)] = &[
        (
            b"*1\r\n+PING\r\n",
            "-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"*abc\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$999999999999\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"SET k \"unbalanced\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (input, want) in cases {
        let mut r = server.raw().await;
        r.send_bytes(input).await;
        assert_eq!(r.reply().await, *want);
        assert!(r.closed().await, "connection closed after {want}");
    }
    // An inline request larger than 64 KiB.
    let mut r = server.raw().await;
    r.send_bytes(&vec![b'a'; 70 << 10]).await;
    assert_eq!(
        r.reply().await,
        "-ERR Protocol error: too big inline request\r\n"
    );
    // Inline commands and pipelines work; nothing was changed by the bad frames.
    let mut r = server.raw().await;
    r.send_bytes(b"PING\r\nSET k \"a b\"\r\nGET k\r\nDBSIZE\r\n")
        .await;
    assert_eq!(r.reply().await, "+PONG\r\n");
    assert_eq!(r.reply().await, "+OK\r\n");
    assert_eq!(r.reply().await, "$3\r\na b\r\n");
    assert_eq!(r.reply().await, ":1\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_replies_after_hello_3_and_pipelines_of_thousands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    let hello = r.call(&["HELLO", "3"]).await;
    assert!(
        hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{hello}"
    );
    assert_eq!(r.call(&["HSET", "h", "f", "v"]).await, ":1\r\n");
    assert_eq!(
        r.call(&["HGETALL", "h"]).await,
        "%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    assert_eq!(r.call(&["GET", "nope"]).await, "_\r\n");
    assert_eq!(r.call(&["SADD", "s", "m"]).await, ":1\r\n");
    assert_eq!(r.call(&["SMEMBERS", "s"]).await, "~1\r\n$1\r\nm\r\n");
    assert_eq!(
        r.call(&["HELLO", "4"]).await,
        "-NOPROTO Protocol version is not supported\r\n"
    );
    let mut c = server.client().await;
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("SET").arg(format!("p{i}")).arg(i).ignore();
    }
    pipe.cmd("DBSIZE");
    let (size,): (i64,) = pipe.query_async(&mut c).await.expect("pipeline");
    assert_eq!(size, 5002);
    let info: String = redis::cmd("INFO")
        .arg("keyspace")
        .query_async(&mut c)
        .await
        .expect("info");
    assert!(info.contains("db0:keys=5002,expires=0"), "{info}");
    let client_list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut c)
        .await
        .expect("client list");
    assert_eq!(client_list.lines().count(), 2);
    let count: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query_async(&mut c)
        .await
        .expect("command count");
    assert!(count > 100);
    server.stop().await;
}
