//! A pipeline gives the replies and leaves the keyspace exactly as the same commands sent one
//! at a time do, also across a reopen.
//!
//! A pipeline runs as one transaction in which the commands that change a collection
//! through the park (LPUSH, RPOP, SADD, HSET, ZADD…) leave it decoded for the next command;
//! these random command sequences on two keys mix those with every other kind of access to
//! the same keys (reads, other types, deletes, MULTI/EXEC, WATCH) to check that no command
//! ever sees a stale key and that nothing parked is lost.
//!
//! Under `appendfsync everysec` a pipeline's writes are also held for the next pipeline, and
//! a parked hash, set or sorted set keeps its decoded buckets and tree nodes. The second
//! property drives collections large enough for both (many buckets, a sorted set in tree
//! form) and compares them with a store under `appendfsync always`, which holds nothing.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use cairn_kv::{Dumped, Durability, Kv, KvOptions, Reply, Value};
use proptest::prelude::*;

const KEYS: [&str; 2] = ["a", "b"];
const MEMBERS: [&str; 4] = ["x", "y", "z", "w"];

fn command() -> impl Strategy<Value = Vec<String>> {
    let key = prop::sample::select(&KEYS[..]).prop_map(str::to_string);
    let member = prop::sample::select(&MEMBERS[..]).prop_map(str::to_string);
    let score = (-3i32..4).prop_map(|s| s.to_string());
    let words = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    prop_oneof![
        // Through the park.
        4 => (key.clone(), prop::collection::vec(member.clone(), 1..4), any::<bool>())
            .prop_map(|(k, items, left)| {
                let mut c = vec![if left { "LPUSH" } else { "RPUSH" }.to_string(), k];
                c.extend(items);
                c
            }),
        2 => (key.clone(), any::<bool>()).prop_map(|(k, x)| vec![if x { "LPUSHX" } else { "RPUSHX" }.into(), k, "e".into()]),
        3 => (key.clone(), any::<bool>(), 0usize..3).prop_map(|(k, left, n)| {
            let mut c = vec![if left { "LPOP" } else { "RPOP" }.to_string(), k];
            if n > 0 {
                c.push(n.to_string());
            }
            c
        }),
        3 => (key.clone(), prop::collection::vec(member.clone(), 1..3))
            .prop_map(|(k, ms)| [vec!["SADD".to_string(), k], ms].concat()),
        3 => (key.clone(), member.clone(), score.clone())
            .prop_map(|(k, f, v)| vec!["HSET".into(), k, f, v]),
        3 => (key.clone(), prop::sample::select(vec!["", "NX", "XX", "GT", "INCR"]), score.clone(), member.clone())
            .prop_map(|(k, flag, s, m)| {
                let mut c = vec!["ZADD".to_string(), k];
                if !flag.is_empty() {
                    c.push(flag.to_string());
                }
                c.push(s);
                c.push(m);
                c
            }),
        // Around it.
        2 => key.clone().prop_map(|k| vec!["LRANGE".into(), k, "0".into(), "-1".into()]),
        1 => (key.clone(), member.clone()).prop_map(|(k, m)| vec!["SISMEMBER".into(), k, m]),
        1 => key.clone().prop_map(|k| vec!["SCARD".into(), k]),
        1 => (key.clone(), member.clone()).prop_map(|(k, m)| vec!["SREM".into(), k, m]),
        1 => (key.clone(), member.clone()).prop_map(|(k, f)| vec!["HGET".into(), k, f]),
        1 => (key.clone(), member.clone()).prop_map(|(k, f)| vec!["HINCRBY".into(), k, f, "1".into()]),
        1 => key.clone().prop_map(|k| vec!["ZRANGE".into(), k, "0".into(), "-1".into(), "WITHSCORES".into()]),
        1 => key.clone().prop_map(|k| vec!["TYPE".into(), k]),
        1 => key.clone().prop_map(|k| vec!["DEL".into(), k]),
        1 => key.clone().prop_map(|k| vec!["SET".into(), k, "s".into()]),
        1 => Just(words(&["RPOPLPUSH", "a", "b"])),
        1 => Just(words(&["RPOPLPUSH", "a", "a"])),
        1 => Just(words(&["RENAME", "a", "b"])),
        1 => Just(words(&["DBSIZE"])),
        1 => Just(words(&["WATCH", "a"])),
        1 => Just(words(&["MULTI"])),
        1 => Just(words(&["EXEC"])),
    ]
}

/// Commands on collections of up to 300 members, several members at a time: a set at `s`,
/// a hash at `h` and a sorted set at `z`, with now and then a command of the wrong type.
fn wide_command() -> impl Strategy<Value = Vec<String>> {
    let key = prop::sample::select(vec!["s", "h", "z"]).prop_map(str::to_string);
    let member = (0..300u32).prop_map(|m| format!("m{m}"));
    let members = |n| prop::collection::vec(member.clone(), 1..n);
    let score = (-50i32..50).prop_map(|s| s.to_string());
    let pairs = |n| prop::collection::vec((score.clone(), member.clone()), 1..n);
    let with = |verb: &str, key: &str, rest: Vec<String>| {
        [vec![verb.to_string(), key.to_string()], rest].concat()
    };
    prop_oneof![
        4 => members(32).prop_map(move |ms| with("SADD", "s", ms)),
        2 => members(12).prop_map(move |ms| with("SREM", "s", ms)),
        4 => pairs(32).prop_map(move |ps| {
            with("HSET", "h", ps.into_iter().flat_map(|(v, f)| [f, v]).collect())
        }),
        2 => members(12).prop_map(move |fs| with("HDEL", "h", fs)),
        5 => pairs(64).prop_map(move |ps| {
            with("ZADD", "z", ps.into_iter().flat_map(|(s, m)| [s, m]).collect())
        }),
        2 => members(12).prop_map(move |ms| with("ZREM", "z", ms)),
        1 => (score.clone(), member.clone()).prop_map(move |(s, m)| with("ZINCRBY", "z", vec![s, m])),
        1 => member.clone().prop_map(move |m| with("SISMEMBER", "s", vec![m])),
        1 => member.clone().prop_map(move |f| with("HGET", "h", vec![f])),
        1 => member.clone().prop_map(move |m| with("ZSCORE", "z", vec![m])),
        1 => member.clone().prop_map(move |m| with("ZRANK", "z", vec![m])),
        1 => (key.clone(), member).prop_map(move |(k, m)| with("SADD", &k, vec![m])),
        1 => Just(with("SCARD", "s", vec![])),
        1 => Just(with("HLEN", "h", vec![])),
        1 => Just(with("ZRANGE", "z", ["0", "-1", "WITHSCORES"].map(String::from).to_vec())),
        1 => key.clone().prop_map(move |k| with("DEL", &k, vec![])),
        1 => key.prop_map(move |k| with("TYPE", &k, vec![])),
        1 => Just(vec!["DBSIZE".to_string()]),
    ]
}

fn argv(command: &[String]) -> Vec<&[u8]> {
    command.iter().map(|w| w.as_bytes()).collect()
}

/// The commands as a connection hands them over: every argument a slice of one frame.
fn framed(commands: &[Vec<String>]) -> (Bytes, Vec<Vec<Range<usize>>>) {
    let mut frame = Vec::new();
    let spans = commands
        .iter()
        .map(|c| {
            c.iter()
                .map(|w| {
                    frame.extend_from_slice(w.as_bytes());
                    frame.len() - w.len()..frame.len()
                })
                .collect()
        })
        .collect();
    (Bytes::from(frame), spans)
}

/// Every key's value, in a fixed order (sets sorted: their order depends on a per-store seed).
fn contents(kv: &Arc<Kv>) -> Vec<Dumped> {
    let mut all = Vec::new();
    kv.export(|mut d| {
        if let Value::Set(members) = &mut d.value {
            members.sort();
        }
        if let Value::Hash(fields) = &mut d.value {
            fields.sort();
        }
        all.push(d);
        Ok(())
    })
    .expect("export");
    all.sort_by(|x, y| (x.db, &x.key).cmp(&(y.db, &y.key)));
    all
}

fn options() -> KvOptions {
    KvOptions {
        active_expiry: false,
        ..KvOptions::default()
    }
}

/// Runs `commands` one at a time on a store under `reference` and in pipelines of the
/// lengths in `cut` (repeated) on another under everysec: the replies and the keyspace must be
/// the same, also after the pipelined store is closed and reopened.
fn check(
    commands: &[Vec<String>],
    cut: &[usize],
    reference: Durability,
) -> Result<(), TestCaseError> {
    let one_dir = tempfile::tempdir().expect("tempdir");
    let piped_dir = tempfile::tempdir().expect("tempdir");
    let one = Kv::open(
        one_dir.path(),
        KvOptions {
            appendfsync: reference,
            ..options()
        },
    )
    .expect("open");
    let piped = Kv::open(piped_dir.path(), options()).expect("open");

    let mut session = one.connect("one".into(), "test".into());
    let singly: Vec<Reply> = commands
        .iter()
        .map(|c| one.execute(&mut session, &argv(c)).reply)
        .collect();

    // The same commands in pipelines of the lengths in `cut`, repeated.
    let mut session = piped.connect("piped".into(), "test".into());
    let mut piped_replies = Vec::new();
    let (frame, spans) = framed(commands);
    let args: Vec<Vec<&[u8]>> = spans
        .iter()
        .map(|c| c.iter().map(|r| &frame[r.clone()]).collect())
        .collect();
    let requests: Vec<&[&[u8]]> = args.iter().map(Vec::as_slice).collect();
    let mut at = 0;
    for len in cut.iter().cycle() {
        if at == requests.len() {
            break;
        }
        let end = (at + len).min(requests.len());
        let mut next = at;
        while next < end {
            let outcomes = piped.execute_pipeline(&mut session, &frame, &requests[next..end]);
            next += outcomes.len().max(1);
            piped_replies.extend(outcomes.into_iter().map(|o| o.reply));
        }
        at = end;
    }

    for (i, (a, b)) in singly.iter().zip(&piped_replies).enumerate() {
        prop_assert_eq!(a, b, "reply to {:?} (command {})", &commands[i], i);
    }
    prop_assert_eq!(singly.len(), piped_replies.len());
    let expected = contents(&one);
    prop_assert_eq!(&contents(&piped), &expected);

    piped.disconnect(&mut session);
    piped.close().expect("close");
    drop(piped);
    let reopened = Kv::open(piped_dir.path(), options()).expect("reopen");
    prop_assert_eq!(&contents(&reopened), &expected, "after reopening");
    // A sorted set is two structures: the export reads its tree, ZSCORE its member table.
    let mut session = reopened.connect("check".into(), "test".into());
    for dumped in &expected {
        let Value::ZSet(members) = &dumped.value else {
            continue;
        };
        for (member, score) in members {
            let key = &dumped.key[..];
            let reply = reopened.execute(&mut session, &[&b"ZSCORE"[..], key, member]);
            let want = Reply::Double(*score);
            prop_assert_eq!(reply.reply, want, "ZSCORE of {:?} after reopening", member);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_pipeline_acts_as_its_commands_one_by_one(
        commands in prop::collection::vec(command(), 1..40),
        cut in prop::collection::vec(1usize..12, 1..8),
    ) {
        check(&commands, &cut, Durability::EverySec)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn held_writes_and_cached_buckets_act_as_writes_through(
        commands in prop::collection::vec(wide_command(), 40..120),
        cut in prop::collection::vec(1usize..16, 1..8),
    ) {
        check(&commands, &cut, Durability::Always)?;
    }
}
