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
    // Its command-by-command replies on a small collection are checked through Kv by
    // cairn-kv/tests/scripts/hashes.golden.

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
    // Its command-by-command replies on a small collection are checked through Kv by
    // cairn-kv/tests/scripts/lists.golden.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_sets_match_a_model_through_splits_and_removals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(
        r.call(&["ZADD", "z", "1", "a", "2", "b", "2", "c"]).await,
        ":3\r\n"
    );
    assert_eq!(
        r.call(&["ZADD", "z", "XX", "CH", "5", "a", "9", "new"])
            .await,
        ":1\r\n"
    );
    assert_eq!(
        r.call(&["ZADD", "z", "NX", "XX", "1", "a"]).await,
        "-ERR XX and NX options at the same time are not compatible\r\n"
    );
    assert_eq!(r.call(&["ZADD", "z", "GT", "1", "a"]).await, ":0\r\n");
    assert_eq!(r.call(&["ZSCORE", "z", "a"]).await, "$1\r\n5\r\n");
    assert_eq!(
        r.call(&["ZADD", "z", "INCR", "1.5", "a"]).await,
        "$3\r\n6.5\r\n"
    );
    assert_eq!(r.call(&["ZINCRBY", "z", "1", "b"]).await, "$1\r\n3\r\n");
    assert_eq!(
        r.call(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]).await,
        "*6\r\n$1\r\nc\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\na\r\n$3\r\n6.5\r\n"
    );
    assert_eq!(
        r.call(&["ZRANGEBYSCORE", "z", "(2", "+inf"]).await,
        "*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
    assert_eq!(
        r.call(&["ZREVRANGE", "z", "0", "0"]).await,
        "*1\r\n$1\r\na\r\n"
    );
    assert_eq!(
        r.call(&["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "1"])
            .await,
        "*1\r\n$1\r\nb\r\n"
    );
    assert_eq!(r.call(&["ZRANK", "z", "a"]).await, ":2\r\n");
    assert_eq!(r.call(&["ZREVRANK", "z", "a"]).await, ":0\r\n");
    assert_eq!(r.call(&["ZCOUNT", "z", "-inf", "3"]).await, ":2\r\n");
    assert_eq!(
        r.call(&["ZRANGEBYSCORE", "z", "x", "1"]).await,
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(
        r.call(&["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"])
            .await,
        ":4\r\n"
    );
    assert_eq!(r.call(&["ZLEXCOUNT", "lex", "[b", "(d"]).await, ":2\r\n");
    assert_eq!(
        r.call(&["ZRANGE", "lex", "-", "[b", "BYLEX"]).await,
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        r.call(&["ZPOPMIN", "lex"]).await,
        "*2\r\n$1\r\na\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        r.call(&["ZPOPMAX", "lex", "2"]).await,
        "*4\r\n$1\r\nd\r\n$1\r\n0\r\n$1\r\nc\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        r.call(&["ZUNIONSTORE", "u", "2", "z", "lex", "WEIGHTS", "2", "1"])
            .await,
        ":3\r\n"
    );
    assert_eq!(r.call(&["ZSCORE", "u", "a"]).await, "$2\r\n13\r\n");
    assert_eq!(
        r.call(&["ZINTERSTORE", "i", "2", "z", "u", "AGGREGATE", "MAX"])
            .await,
        ":3\r\n"
    );
    assert_eq!(
        r.call(&["ZMSCORE", "i", "c", "nope"]).await,
        "*2\r\n$1\r\n4\r\n$-1\r\n"
    );

    // Thousands of members: the tree splits, members move, nodes empty out.
    let mut c = server.client().await;
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    let mut seed = 7u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..6000 {
        let member = format!("m{}", rand() % 2500);
        if step % 4 == 3 {
            let removed: i64 = c.zrem("big", &member).await.expect("zrem");
            assert_eq!(removed == 1, model.remove(&member).is_some());
        } else {
            let score = (rand() % 1000) as i64;
            let _: () = c.zadd("big", &member, score).await.expect("zadd");
            model.insert(member, score);
        }
    }
    let mut expected: Vec<(String, i64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    expected.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let card: usize = c.zcard("big").await.expect("zcard");
    assert_eq!(card, expected.len());
    let all: Vec<(String, i64)> = c.zrange_withscores("big", 0, -1).await.expect("zrange");
    assert_eq!(all, expected);
    for i in [0usize, 1, 63, 64, 65, 500, expected.len() - 1] {
        let rank: Option<usize> = c.zrank("big", &expected[i].0).await.expect("zrank");
        assert_eq!(rank, Some(i));
        let got: Vec<String> = c
            .zrange("big", i as isize, i as isize)
            .await
            .expect("zrange one");
        assert_eq!(got, vec![expected[i].0.clone()]);
    }
    let in_range: Vec<String> = c
        .zrangebyscore("big", 100, 199)
        .await
        .expect("zrangebyscore");
    let want: Vec<String> = expected
        .iter()
        .filter(|e| (100..=199).contains(&e.1))
        .map(|e| e.0.clone())
        .collect();
    assert_eq!(in_range, want);
    let count: usize = c.zcount("big", "(100", "+inf").await.expect("zcount");
    assert_eq!(count, expected.iter().filter(|e| e.1 > 100).count());
    let removed: usize = c
        .zrembyscore("big", 0, 499)
        .await
        .expect("zremrangebyscore");
    assert_eq!(removed, expected.iter().filter(|e| e.1 <= 499).count());
    let rest: Vec<(String, i64)> = c.zrange_withscores("big", 0, -1).await.expect("zrange");
    assert_eq!(
        rest,
        expected
            .iter()
            .filter(|e| e.1 > 499)
            .cloned()
            .collect::<Vec<_>>()
    );
    let mut seen = BTreeSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("ZSCAN")
            .arg("big")
            .arg(cursor)
            .query_async(&mut c)
            .await
            .expect("zscan");
        for pair in batch.chunks(2) {
            seen.insert(pair[0].clone());
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), rest.len());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_set_lex_ranges_stores_and_algebra_answer_like_redis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    let lex = [
        "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
    ];
    assert_eq!(r.call(&lex).await, ":5\r\n");
    assert_eq!(
        r.call(&["ZRANGEBYLEX", "lex", "[b", "(e"]).await,
        "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
    );
    assert_eq!(
        r.call(&["ZREVRANGEBYLEX", "lex", "+", "[c", "LIMIT", "1", "2"])
            .await,
        "*2\r\n$1\r\nd\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        r.call(&["ZRANGEBYLEX", "lex", "b", "c"]).await,
        "-ERR min or max not valid string range item\r\n"
    );
    assert_eq!(
        r.call(&["ZREMRANGEBYLEX", "lex", "-", "(b"]).await,
        ":1\r\n"
    );
    assert_eq!(
        r.call(&["ZRANGESTORE", "dst", "lex", "0", "1"]).await,
        ":2\r\n"
    );
    assert_eq!(
        r.call(&["ZRANGE", "dst", "0", "-1"]).await,
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    let by_lex = [
        "ZRANGESTORE",
        "dst",
        "lex",
        "[c",
        "+",
        "BYLEX",
        "LIMIT",
        "0",
        "1",
    ];
    assert_eq!(r.call(&by_lex).await, ":1\r\n");
    assert_eq!(
        r.call(&["ZRANGE", "dst", "0", "-1"]).await,
        "*1\r\n$1\r\nc\r\n"
    );
    // An empty result deletes the destination, as in Redis.
    assert_eq!(
        r.call(&["ZRANGESTORE", "dst", "lex", "9", "10"]).await,
        ":0\r\n"
    );
    assert_eq!(r.call(&["EXISTS", "dst"]).await, ":0\r\n");

    assert_eq!(
        r.call(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]).await,
        ":3\r\n"
    );
    assert_eq!(
        r.call(&["ZADD", "w", "10", "b", "20", "c", "30", "d"])
            .await,
        ":3\r\n"
    );
    assert_eq!(
        r.call(&["ZUNION", "2", "z", "w", "WITHSCORES"]).await,
        "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n\
         $1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n"
    );
    let inter = [
        "ZINTER",
        "2",
        "z",
        "w",
        "WEIGHTS",
        "1",
        "2",
        "AGGREGATE",
        "MIN",
        "WITHSCORES",
    ];
    assert_eq!(
        r.call(&inter).await,
        "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(r.call(&["ZDIFF", "2", "z", "w"]).await, "*1\r\n$1\r\na\r\n");
    assert_eq!(r.call(&["ZDIFFSTORE", "d", "2", "z", "w"]).await, ":1\r\n");
    assert_eq!(r.call(&["ZSCORE", "d", "a"]).await, "$1\r\n1\r\n");
    assert_eq!(r.call(&["ZINTERCARD", "2", "z", "w"]).await, ":2\r\n");
    assert_eq!(
        r.call(&["ZINTERCARD", "2", "z", "w", "LIMIT", "1"]).await,
        ":1\r\n"
    );
    assert_eq!(
        r.call(&["ZINTERCARD", "2", "z", "w", "LIMIT", "-1"]).await,
        "-ERR LIMIT can't be negative\r\n"
    );
    assert_eq!(
        r.call(&["ZINTERCARD", "0", "z"]).await,
        "-ERR at least 1 input key is needed for 'zintercard' command\r\n"
    );
    assert_eq!(r.call(&["SET", "s", "x"]).await, "+OK\r\n");
    assert_eq!(
        r.call(&["ZUNION", "2", "z", "s"]).await,
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );

    // ZRANDMEMBER: a positive count gives distinct members, a negative one may repeat.
    let mut c = server.client().await;
    let distinct: Vec<String> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(10)
        .query_async(&mut c)
        .await
        .expect("zrandmember");
    assert_eq!(
        distinct.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["a".to_string(), "b".to_string(), "c".to_string()])
    );
    let two: Vec<String> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(2)
        .query_async(&mut c)
        .await
        .expect("zrandmember 2");
    assert_eq!(two.iter().collect::<BTreeSet<_>>().len(), 2);
    let repeated: Vec<(String, f64)> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(-50)
        .arg("WITHSCORES")
        .query_async(&mut c)
        .await
        .expect("zrandmember -50");
    assert_eq!(repeated.len(), 50);
    for (member, score) in &repeated {
        let want = match member.as_str() {
            "a" => 1.0,
            "b" => 2.0,
            "c" => 3.0,
            other => panic!("ZRANDMEMBER invented {other}"),
        };
        assert_eq!(*score, want);
    }
    assert_eq!(r.call(&["ZRANDMEMBER", "nope"]).await, "$-1\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_clients_wake_on_any_write_that_fills_their_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut waiter = server.raw().await;
    let mut writer = server.raw().await;
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(80));

    let started = std::time::Instant::now();
    assert_eq!(waiter.call(&["BZPOPMAX", "z", "0.15"]).await, "*-1\r\n");
    assert!(started.elapsed() >= std::time::Duration::from_millis(140));
    assert_eq!(
        waiter.call(&["BZPOPMIN", "z", "abc"]).await,
        "-ERR timeout is not a float or out of range\r\n"
    );

    waiter.send(&["BZPOPMIN", "none", "z", "5"]).await;
    pause().await;
    assert_eq!(
        writer.call(&["ZADD", "z", "2", "b", "1", "a"]).await,
        ":2\r\n"
    );
    assert_eq!(
        waiter.reply().await,
        "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(writer.call(&["ZCARD", "z"]).await, ":1\r\n");

    waiter.send(&["BRPOPLPUSH", "src", "dst", "5"]).await;
    pause().await;
    assert_eq!(writer.call(&["RPUSH", "src", "x", "y"]).await, ":2\r\n");
    assert_eq!(waiter.reply().await, "$1\r\ny\r\n");
    assert_eq!(
        writer.call(&["LRANGE", "dst", "0", "-1"]).await,
        "*1\r\n$1\r\ny\r\n"
    );

    // A key that appears by RENAME, or by a STORE command, wakes the waiter too.
    waiter.send(&["BLPOP", "jobs", "5"]).await;
    pause().await;
    assert_eq!(writer.call(&["RENAME", "src", "jobs"]).await, "+OK\r\n");
    assert_eq!(waiter.reply().await, "*2\r\n$4\r\njobs\r\n$1\r\nx\r\n");
    waiter.send(&["BZPOPMAX", "ranked", "5"]).await;
    pause().await;
    assert_eq!(
        writer.call(&["ZUNIONSTORE", "ranked", "1", "z"]).await,
        ":1\r\n"
    );
    assert_eq!(
        waiter.reply().await,
        "*3\r\n$6\r\nranked\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    server.stop().await;
}
