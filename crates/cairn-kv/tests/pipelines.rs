//! A pipeline gives the replies and leaves the keyspace exactly as the same commands sent one
//! at a time do, also across a reopen.
//!
//! A pipeline runs as one transaction in which the commands that change a collection
//! through the park (LPUSH, RPOP, SADD, HSET, ZADD…) leave it decoded for the next command;
//! these random command sequences on two keys mix those with every other kind of access to
//! the same keys (reads, other types, deletes, MULTI/EXEC, WATCH) to check that no command
//! ever sees a stale key and that nothing parked is lost.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use cairn_kv::{Dumped, Kv, KvOptions, Reply, Value};
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_pipeline_acts_as_its_commands_one_by_one(
        commands in prop::collection::vec(command(), 1..40),
        cut in prop::collection::vec(1usize..12, 1..8),
    ) {
        let one_dir = tempfile::tempdir().expect("tempdir");
        let piped_dir = tempfile::tempdir().expect("tempdir");
        let one = Kv::open(one_dir.path(), options()).expect("open");
        let piped = Kv::open(piped_dir.path(), options()).expect("open");

        let mut session = one.connect("one".into(), "test".into());
        let singly: Vec<Reply> = commands
            .iter()
            .map(|c| one.execute(&mut session, &argv(c)).reply)
            .collect();

        // The same commands in pipelines of the lengths in `cut`, repeated.
        let mut session = piped.connect("piped".into(), "test".into());
        let mut piped_replies = Vec::new();
        let (frame, spans) = framed(&commands);
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
    }
}
