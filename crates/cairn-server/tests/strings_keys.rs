//! Strings, keyspace commands and expiry through the Redis door, checked with the `redis`
//! crate and byte for byte on a raw connection.

mod support;

use std::time::Duration;

use cairn_kv::KvOptions;
use redis::AsyncCommands;
use support::TestServer;

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
async fn keys_expire_actively_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    // TTL commands and lazy expiry are checked through Kv, on a manual clock, by
    // cairn-kv/tests/scripts/expiry.golden; what needs the server is the background cycle.
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
