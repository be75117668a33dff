//! Hashes, lists and sets through the Redis door, with large collections checked against a
//! model so that bucket splits and chunk boundaries are crossed.

mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use cairn_kv::KvOptions;
use redis::AsyncCommands;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes_behave_like_redis_at_any_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(r.call(&["HSET", "h", "a", "1", "b", "2"]).await, ":2\r\n");
    assert_eq!(r.call(&["HSET", "h", "a", "10"]).await, ":0\r\n");
    assert_eq!(r.call(&["HGET", "h", "a"]).await, "$2\r\n10\r\n");
    assert_eq!(r.call(&["HSETNX", "h", "a", "x"]).await, ":0\r\n");
    assert_eq!(
        r.call(&["HMGET", "h", "a", "zz"]).await,
        "*2\r\n$2\r\n10\r\n$-1\r\n"
    );
    assert_eq!(r.call(&["HINCRBY", "h", "b", "5"]).await, ":7\r\n");
    assert_eq!(
        r.call(&["HINCRBYFLOAT", "h", "f", "1.5"]).await,
        "$3\r\n1.5\r\n"
    );
    assert_eq!(r.call(&["HSTRLEN", "h", "a"]).await, ":2\r\n");
    assert_eq!(r.call(&["HEXISTS", "h", "zz"]).await, ":0\r\n");
    assert_eq!(r.call(&["HLEN", "h"]).await, ":3\r\n");
    assert_eq!(
        r.call(&["HINCRBY", "h", "a", "x"]).await,
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        r.call(&["HSET", "h", "odd"]).await,
        "-ERR wrong number of arguments for 'hset' command\r\n"
    );
    assert_eq!(r.call(&["HDEL", "h", "a", "b", "f", "zz"]).await, ":3\r\n");
    assert_eq!(
        r.call(&["EXISTS", "h"]).await,
        ":0\r\n",
        "an emptied hash is deleted"
    );

    // A hash large enough to split its table many times, against a model.
    let mut c = server.client().await;
    let mut model = BTreeMap::new();
    for i in 0..3000u32 {
        let field = format!("field:{i}");
        let value = format!("value:{}", i * 7);
        let _: () = c.hset("big", &field, &value).await.expect("hset");
        model.insert(field, value);
    }
    for i in (0..3000u32).step_by(3) {
        let field = format!("field:{i}");
        let removed: i64 = c.hdel("big", &field).await.expect("hdel");
        assert_eq!(removed, 1);
        model.remove(&field);
    }
    let len: usize = c.hlen("big").await.expect("hlen");
    assert_eq!(len, model.len());
    let all: BTreeMap<String, String> = c.hgetall("big").await.expect("hgetall");
    assert_eq!(all, model);
    for i in [1u32, 2, 2999, 1501] {
        let got: Option<String> = c.hget("big", format!("field:{i}")).await.expect("hget");
        assert_eq!(got.as_ref(), model.get(&format!("field:{i}")));
    }
    // HSCAN returns every field at least once.
    let mut seen = BTreeSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg("big")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query_async(&mut c)
            .await
            .expect("hscan");
        for pair in batch.chunks(2) {
            assert_eq!(model.get(&pair[0]), Some(&pair[1]));
            seen.insert(pair[0].clone());
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), model.len());
    let picked: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("big")
        .arg(5)
        .query_async(&mut c)
        .await
        .expect("hrandfield");
    assert_eq!(picked.len(), 5);
    assert!(picked.iter().all(|f| model.contains_key(f)));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_behave_like_redis_across_chunks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(r.call(&["RPUSH", "l", "a", "b", "c"]).await, ":3\r\n");
    assert_eq!(r.call(&["LPUSH", "l", "z"]).await, ":4\r\n");
    assert_eq!(
        r.call(&["LRANGE", "l", "0", "-1"]).await,
        "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(r.call(&["LINDEX", "l", "-1"]).await, "$1\r\nc\r\n");
    assert_eq!(r.call(&["LSET", "l", "1", "A"]).await, "+OK\r\n");
    assert_eq!(
        r.call(&["LSET", "l", "9", "A"]).await,
        "-ERR index out of range\r\n"
    );
    assert_eq!(
        r.call(&["LSET", "nolist", "0", "A"]).await,
        "-ERR no such key\r\n"
    );
    assert_eq!(
        r.call(&["LINSERT", "l", "BEFORE", "b", "B"]).await,
        ":5\r\n"
    );
    assert_eq!(
        r.call(&["LINSERT", "l", "AFTER", "nope", "B"]).await,
        ":-1\r\n"
    );
    assert_eq!(r.call(&["LPOS", "l", "B"]).await, ":2\r\n");
    assert_eq!(r.call(&["RPUSH", "l", "B"]).await, ":6\r\n");
    assert_eq!(
        r.call(&["LPOS", "l", "B", "COUNT", "0"]).await,
        "*2\r\n:2\r\n:5\r\n"
    );
    assert_eq!(r.call(&["LPOS", "l", "B", "RANK", "-1"]).await, ":5\r\n");
    assert_eq!(r.call(&["LREM", "l", "0", "B"]).await, ":2\r\n");
    assert_eq!(r.call(&["LPOP", "l"]).await, "$1\r\nz\r\n");
    assert_eq!(
        r.call(&["RPOP", "l", "2"]).await,
        "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
    );
    assert_eq!(r.call(&["LPOP", "nolist", "2"]).await, "*-1\r\n");
    assert_eq!(
        r.call(&["LMOVE", "l", "m", "LEFT", "RIGHT"]).await,
        "$1\r\nA\r\n"
    );
    assert_eq!(r.call(&["EXISTS", "l"]).await, ":0\r\n");
    assert_eq!(r.call(&["RPOPLPUSH", "m", "m"]).await, "$1\r\nA\r\n");
    assert_eq!(r.call(&["LPUSHX", "nolist", "a"]).await, ":0\r\n");
    assert_eq!(r.call(&["LLEN", "m"]).await, ":1\r\n");

    // A long list, pushed and popped at both ends, against a VecDeque.
    let mut c = server.client().await;
    let mut model: VecDeque<String> = VecDeque::new();
    for i in 0..1500 {
        let v = format!("v{i}");
        if i % 3 == 0 {
            let _: () = c.lpush("long", &v).await.expect("lpush");
            model.push_front(v);
        } else {
            let _: () = c.rpush("long", &v).await.expect("rpush");
            model.push_back(v);
        }
    }
    for i in 0..400 {
        if i % 2 == 0 {
            let got: Option<String> = c.lpop("long", None).await.expect("lpop");
            assert_eq!(got, model.pop_front());
        } else {
            let got: Option<String> = c.rpop("long", None).await.expect("rpop");
            assert_eq!(got, model.pop_back());
        }
    }
    let all: Vec<String> = c.lrange("long", 0, -1).await.expect("lrange");
    assert_eq!(all, Vec::from(model.clone()));
    for index in [0isize, 1, 127, 128, 129, 500, -1, -300] {
        let got: Option<String> = c.lindex("long", index).await.expect("lindex");
        let i = if index < 0 {
            model.len() as isize + index
        } else {
            index
        } as usize;
        assert_eq!(got.as_ref(), model.get(i), "LINDEX {index}");
    }
    let middle: Vec<String> = c.lrange("long", 300, 699).await.expect("lrange");
    assert_eq!(
        middle,
        model
            .iter()
            .skip(300)
            .take(400)
            .cloned()
            .collect::<Vec<_>>()
    );
    let _: () = c.ltrim("long", 10, -10).await.expect("ltrim");
    let trimmed: Vec<String> = c.lrange("long", 0, -1).await.expect("lrange");
    assert_eq!(
        trimmed,
        model
            .iter()
            .skip(10)
            .take(model.len() - 19)
            .cloned()
            .collect::<Vec<_>>()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_pops_wait_for_a_push_or_time_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    let started = std::time::Instant::now();
    assert_eq!(r.call(&["BLPOP", "q", "0.2"]).await, "*-1\r\n");
    assert!(started.elapsed() >= std::time::Duration::from_millis(190));
    assert_eq!(
        r.call(&["BLPOP", "q", "-1"]).await,
        "-ERR timeout is negative\r\n"
    );
    r.send(&["BRPOP", "q1", "q2", "5"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut pusher = server.raw().await;
    assert_eq!(pusher.call(&["RPUSH", "q2", "job"]).await, ":1\r\n");
    assert_eq!(r.reply().await, "*2\r\n$2\r\nq2\r\n$3\r\njob\r\n");
    assert_eq!(pusher.call(&["LLEN", "q2"]).await, ":0\r\n");
    r.send(&["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"])
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(pusher.call(&["LPUSH", "src", "item"]).await, ":1\r\n");
    assert_eq!(r.reply().await, "$4\r\nitem\r\n");
    assert_eq!(
        pusher.call(&["LRANGE", "dst", "0", "-1"]).await,
        "*1\r\n$4\r\nitem\r\n"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_behave_like_redis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut c = server.client().await;
    let added: i64 = c.sadd("a", &["1", "2", "3", "4"]).await.expect("sadd");
    assert_eq!(added, 4);
    let added: i64 = c.sadd("a", &["4", "5"]).await.expect("sadd");
    assert_eq!(added, 1);
    let _: () = c.sadd("b", &["3", "4", "5", "6"]).await.expect("sadd");
    let inter: BTreeSet<String> = c.sinter(&["a", "b"]).await.expect("sinter");
    assert_eq!(
        inter,
        ["3", "4", "5"].iter().map(|s| s.to_string()).collect()
    );
    let union: BTreeSet<String> = c.sunion(&["a", "b"]).await.expect("sunion");
    assert_eq!(union.len(), 6);
    let diff: BTreeSet<String> = c.sdiff(&["a", "b"]).await.expect("sdiff");
    assert_eq!(diff, ["1", "2"].iter().map(|s| s.to_string()).collect());
    let stored: i64 = c.sinterstore("c", &["a", "b"]).await.expect("sinterstore");
    assert_eq!(stored, 3);
    let card: i64 = redis::cmd("SINTERCARD")
        .arg(2)
        .arg("a")
        .arg("b")
        .arg("LIMIT")
        .arg(2)
        .query_async(&mut c)
        .await
        .expect("sintercard");
    assert_eq!(card, 2);
    let is: bool = c.sismember("c", "4").await.expect("sismember");
    assert!(is);
    let mis: Vec<i64> = redis::cmd("SMISMEMBER")
        .arg("c")
        .arg("4")
        .arg("9")
        .query_async(&mut c)
        .await
        .expect("smismember");
    assert_eq!(mis, vec![1, 0]);
    let moved: bool = c.smove("a", "c", "1").await.expect("smove");
    assert!(moved);
    let popped: Vec<String> = redis::cmd("SPOP")
        .arg("c")
        .arg(10)
        .query_async(&mut c)
        .await
        .expect("spop");
    assert_eq!(popped.len(), 4);
    let exists: bool = c.exists("c").await.expect("exists");
    assert!(!exists);
    let mut members = BTreeSet::new();
    for i in 0..2000 {
        members.insert(format!("m{i}"));
    }
    let v: Vec<&String> = members.iter().collect();
    let _: () = c.sadd("large", v).await.expect("sadd");
    let card: usize = c.scard("large").await.expect("scard");
    assert_eq!(card, 2000);
    let got: BTreeSet<String> = c.smembers("large").await.expect("smembers");
    assert_eq!(got, members);
    let rand: Vec<String> = c
        .srandmember_multiple("large", 20)
        .await
        .expect("srandmember");
    assert_eq!(rand.iter().collect::<BTreeSet<_>>().len(), 20);
    server.stop().await;
}
