//! Strings, keyspace commands and expiry through the Redis door, checked with the `redis`
//! crate and byte for byte on a raw connection.

mod support;

use std::time::Duration;

use cairn_kv::KvOptions;
use redis::AsyncCommands;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_commands_answer_like_redis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(r.call(&["SET", "k", "v"]).await, "+OK\r\n");
    assert_eq!(r.call(&["GET", "k"]).await, "$1\r\nv\r\n");
    assert_eq!(r.call(&["GET", "missing"]).await, "$-1\r\n");
    assert_eq!(r.call(&["SET", "k", "w", "NX"]).await, "$-1\r\n");
    assert_eq!(r.call(&["SET", "k", "w", "XX", "GET"]).await, "$1\r\nv\r\n");
    assert_eq!(r.call(&["SET", "new", "w", "XX"]).await, "$-1\r\n");
    assert_eq!(
        r.call(&["SET", "k", "x", "NX", "XX"]).await,
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        r.call(&["SET", "k", "x", "EX", "0"]).await,
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        r.call(&["SET", "k", "x", "EX", "ten"]).await,
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.call(&["SETNX", "k", "y"]).await, ":0\r\n");
    assert_eq!(r.call(&["GETSET", "k", "z"]).await, "$1\r\nw\r\n");
    assert_eq!(r.call(&["APPEND", "k", "zz"]).await, ":3\r\n");
    assert_eq!(r.call(&["STRLEN", "k"]).await, ":3\r\n");
    assert_eq!(r.call(&["GETRANGE", "k", "1", "-1"]).await, "$2\r\nzz\r\n");
    assert_eq!(r.call(&["SETRANGE", "pad", "3", "ab"]).await, ":5\r\n");
    assert_eq!(r.call(&["GET", "pad"]).await, "$5\r\n\0\0\0ab\r\n");
    assert_eq!(r.call(&["INCR", "n"]).await, ":1\r\n");
    assert_eq!(r.call(&["INCRBY", "n", "41"]).await, ":42\r\n");
    assert_eq!(r.call(&["DECRBY", "n", "2"]).await, ":40\r\n");
    assert_eq!(r.call(&["DECR", "n"]).await, ":39\r\n");
    assert_eq!(
        r.call(&["INCR", "k"]).await,
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        r.call(&["SET", "big", "9223372036854775807"]).await,
        "+OK\r\n"
    );
    assert_eq!(
        r.call(&["INCR", "big"]).await,
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(
        r.call(&["INCRBYFLOAT", "f", "10.5"]).await,
        "$4\r\n10.5\r\n"
    );
    assert_eq!(r.call(&["INCRBYFLOAT", "f", "0.1"]).await, "$4\r\n10.6\r\n");
    assert_eq!(r.call(&["MSET", "a", "1", "b", "2"]).await, "+OK\r\n");
    assert_eq!(
        r.call(&["MGET", "a", "b", "nope"]).await,
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
    );
    assert_eq!(r.call(&["MSETNX", "a", "9", "c", "3"]).await, ":0\r\n");
    assert_eq!(r.call(&["EXISTS", "c"]).await, ":0\r\n");
    assert_eq!(r.call(&["GETDEL", "a"]).await, "$1\r\n1\r\n");
    assert_eq!(r.call(&["EXISTS", "a"]).await, ":0\r\n");
    // The seed's verbs.
    assert_eq!(r.call(&["UPDATE", "absent", "v"]).await, "$-1\r\n");
    assert_eq!(r.call(&["UPDATE", "b", "22"]).await, "+OK\r\n");
    assert_eq!(r.call(&["GET", "b"]).await, "$2\r\n22\r\n");
    assert_eq!(r.call(&["DELETE", "b", "nope"]).await, ":1\r\n");
    assert_eq!(r.call(&["LPUSH", "list", "x"]).await, ":1\r\n");
    assert_eq!(
        r.call(&["GET", "list"]).await,
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(r.call(&["SET", "list", "now a string"]).await, "+OK\r\n");
    assert_eq!(r.call(&["TYPE", "list"]).await, "+string\r\n");
    assert_eq!(
        r.call(&["GET"]).await,
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        r.call(&["NOSUCH", "x"]).await,
        "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyspace_commands_work_through_the_redis_crate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut c = server.client().await;
    for i in 0..300 {
        let _: () = c.set(format!("user:{i}"), i).await.expect("set");
    }
    let _: () = c.hset("profile", "name", "ada").await.expect("hset");
    let size: i64 = redis::cmd("DBSIZE")
        .query_async(&mut c)
        .await
        .expect("dbsize");
    assert_eq!(size, 301);
    let mut keys: Vec<String> = c.keys("user:1?").await.expect("keys");
    keys.sort();
    assert_eq!(keys.len(), 10);
    assert_eq!(keys[0], "user:10");
    // SCAN visits every key once the cursor returns to 0.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("user:*")
            .arg("COUNT")
            .arg(50)
            .query_async(&mut c)
            .await
            .expect("scan");
        seen.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
    let (_, hashes): (u64, Vec<String>) = {
        let mut found = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("TYPE")
                .arg("hash")
                .query_async(&mut c)
                .await
                .expect("scan type");
            found.extend(batch);
            cursor = next;
            if cursor == 0 {
                break (0, found);
            }
        }
    };
    assert_eq!(hashes, vec!["profile".to_string()]);
    let random: Option<String> = redis::cmd("RANDOMKEY")
        .query_async(&mut c)
        .await
        .expect("randomkey");
    assert!(random.is_some());
    let _: () = c.rename("profile", "person").await.expect("rename");
    let name: String = c.hget("person", "name").await.expect("hget");
    assert_eq!(name, "ada");
    let copied: i64 = redis::cmd("COPY")
        .arg("person")
        .arg("clone")
        .query_async(&mut c)
        .await
        .expect("copy");
    assert_eq!(copied, 1);
    let _: () = c.hset("clone", "name", "grace").await.expect("hset");
    let original: String = c.hget("person", "name").await.expect("hget");
    assert_eq!(original, "ada", "COPY must not share elements");
    let renamed: i64 = redis::cmd("RENAMENX")
        .arg("person")
        .arg("clone")
        .query_async(&mut c)
        .await
        .expect("renamenx");
    assert_eq!(renamed, 0);
    let err = redis::cmd("RENAME")
        .arg("ghost")
        .arg("x")
        .query_async::<()>(&mut c)
        .await
        .expect_err("rename of a missing key");
    assert_eq!(err.detail(), Some("no such key"));
    // Databases are separate.
    let _: () = redis::cmd("SELECT")
        .arg(3)
        .query_async(&mut c)
        .await
        .expect("select");
    let size: i64 = redis::cmd("DBSIZE")
        .query_async(&mut c)
        .await
        .expect("dbsize");
    assert_eq!(size, 0);
    let _: () = c.set("only-in-3", 1).await.expect("set");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut c)
        .await
        .expect("flushdb");
    let _: () = redis::cmd("SELECT")
        .arg(0)
        .query_async(&mut c)
        .await
        .expect("select");
    let size: i64 = redis::cmd("DBSIZE")
        .query_async(&mut c)
        .await
        .expect("dbsize");
    assert_eq!(size, 302);
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut c)
        .await
        .expect("flushall");
    let size: i64 = redis::cmd("DBSIZE")
        .query_async(&mut c)
        .await
        .expect("dbsize");
    assert_eq!(size, 0);
    let exists: bool = c.exists("clone").await.expect("exists");
    assert!(!exists);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_expire_lazily_and_actively() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(r.call(&["SET", "k", "v", "EX", "100"]).await, "+OK\r\n");
    assert_eq!(r.call(&["TTL", "k"]).await, ":100\r\n");
    assert_eq!(r.call(&["EXPIRE", "k", "50", "GT"]).await, ":0\r\n");
    assert_eq!(r.call(&["EXPIRE", "k", "50", "LT"]).await, ":1\r\n");
    assert_eq!(r.call(&["EXPIRE", "k", "10", "NX"]).await, ":0\r\n");
    assert_eq!(
        r.call(&["EXPIRE", "k", "10", "NX", "XX"]).await,
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(r.call(&["PERSIST", "k"]).await, ":1\r\n");
    assert_eq!(r.call(&["TTL", "k"]).await, ":-1\r\n");
    assert_eq!(r.call(&["TTL", "nope"]).await, ":-2\r\n");
    assert_eq!(r.call(&["EXPIRE", "k", "10", "XX"]).await, ":0\r\n");
    assert_eq!(r.call(&["EXPIREAT", "k", "4102444800"]).await, ":1\r\n");
    assert_eq!(r.call(&["EXPIRETIME", "k"]).await, ":4102444800\r\n");
    assert_eq!(r.call(&["PEXPIRETIME", "k"]).await, ":4102444800000\r\n");
    assert_eq!(r.call(&["SET", "k", "v2", "KEEPTTL"]).await, "+OK\r\n");
    assert_eq!(r.call(&["EXPIRETIME", "k"]).await, ":4102444800\r\n");
    assert_eq!(r.call(&["SET", "k", "v3"]).await, "+OK\r\n");
    assert_eq!(r.call(&["TTL", "k"]).await, ":-1\r\n");
    // An expiry in the past deletes at once.
    assert_eq!(r.call(&["EXPIRE", "k", "-1"]).await, ":1\r\n");
    assert_eq!(r.call(&["EXISTS", "k"]).await, ":0\r\n");
    // Lazy expiry: a touched key past its time is gone.
    assert_eq!(r.call(&["SET", "short", "v", "PX", "60"]).await, "+OK\r\n");
    assert_eq!(r.call(&["RPUSH", "shortlist", "a", "b"]).await, ":2\r\n");
    assert_eq!(r.call(&["PEXPIRE", "shortlist", "60"]).await, ":1\r\n");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(r.call(&["GET", "short"]).await, "$-1\r\n");
    assert_eq!(r.call(&["LRANGE", "shortlist", "0", "-1"]).await, "*0\r\n");
    // Active expiry: keys nobody touches are reclaimed by the background cycle.
    for i in 0..200 {
        let key = format!("volatile:{i}");
        assert_eq!(r.call(&["SET", &key, "v", "PX", "50"]).await, "+OK\r\n");
    }
    assert_eq!(r.call(&["SET", "stays", "v"]).await, "+OK\r\n");
    let mut size = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        size = r.call(&["DBSIZE"]).await;
        if size == ":1\r\n" {
            break;
        }
    }
    assert_eq!(size, ":1\r\n", "the active cycle reclaims expired keys");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_carries_a_key_with_its_elements_and_expiry_to_another_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(r.call(&["HSET", "h", "f", "1", "g", "2"]).await, ":2\r\n");
    assert_eq!(r.call(&["EXPIRE", "h", "100"]).await, ":1\r\n");
    assert_eq!(r.call(&["MOVE", "h", "4"]).await, ":1\r\n");
    assert_eq!(r.call(&["EXISTS", "h"]).await, ":0\r\n");
    assert_eq!(r.call(&["MOVE", "h", "4"]).await, ":0\r\n");
    assert_eq!(r.call(&["SELECT", "4"]).await, "+OK\r\n");
    assert_eq!(
        r.call(&["HGETALL", "h"]).await,
        "*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n"
    );
    let ttl = r.call(&["TTL", "h"]).await;
    assert!(
        ttl == ":100\r\n" || ttl == ":99\r\n",
        "TTL after MOVE: {ttl}"
    );
    assert_eq!(
        r.call(&["MOVE", "h", "4"]).await,
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        r.call(&["MOVE", "h", "16"]).await,
        "-ERR DB index is out of range\r\n"
    );
    // A key already at the destination stops the move and both stay as they were.
    assert_eq!(r.call(&["SET", "k", "in-4"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SELECT", "0"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SET", "k", "in-0"]).await, "+OK\r\n");
    assert_eq!(r.call(&["MOVE", "k", "4"]).await, ":0\r\n");
    assert_eq!(r.call(&["GET", "k"]).await, "$4\r\nin-0\r\n");
    // A WATCHed key that moves away aborts the transaction.
    assert_eq!(r.call(&["WATCH", "k"]).await, "+OK\r\n");
    let mut other = server.raw().await;
    assert_eq!(other.call(&["MOVE", "k", "5"]).await, ":1\r\n");
    assert_eq!(r.call(&["MULTI"]).await, "+OK\r\n");
    assert_eq!(r.call(&["SET", "k", "again"]).await, "+QUEUED\r\n");
    assert_eq!(r.call(&["EXEC"]).await, "*-1\r\n");
    assert_eq!(other.call(&["SELECT", "5"]).await, "+OK\r\n");
    assert_eq!(other.call(&["GET", "k"]).await, "$4\r\nin-0\r\n");
    server.stop().await;
}
