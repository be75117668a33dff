//! Lists pushed and popped at both ends across chunk boundaries, checked against a model
//! after every command and after reopening the keyspace.

use std::collections::VecDeque;

use bytes::Bytes;
use cairn_kv::{Kv, KvOptions, Reply};

fn run(kv: &std::sync::Arc<Kv>, args: &[&str]) -> Reply {
    let mut session = kv.connect("test".into(), "test".into());
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
    let reply = kv.execute(&mut session, &argv).reply;
    kv.disconnect(&mut session);
    reply
}

fn contents(kv: &std::sync::Arc<Kv>) -> Vec<String> {
    match run(kv, &["LRANGE", "l", "0", "-1"]) {
        Reply::Slices(items) => items
            .iter()
            .map(|i| String::from_utf8_lossy(i).into_owned())
            .collect(),
        other => panic!("LRANGE: {other:?}"),
    }
}

#[test]
fn pushes_and_pops_at_both_ends_match_a_deque() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut model: VecDeque<String> = VecDeque::new();
    let mut seed = 0x9e37_79b9_u64;
    for round in 0..3 {
        let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
        assert_eq!(
            contents(&kv),
            Vec::from(model.clone()),
            "after reopen {round}"
        );
        for step in 0..400 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let v = format!("r{round}s{step}");
            let (cmd, reply) = match seed % 5 {
                0 | 1 => {
                    model.push_front(v.clone());
                    ("LPUSH", run(&kv, &["LPUSH", "l", &v]))
                }
                2 | 3 => {
                    model.push_back(v.clone());
                    ("RPUSH", run(&kv, &["RPUSH", "l", &v]))
                }
                _ if seed.is_multiple_of(2) => {
                    model.pop_front();
                    ("LPOP", run(&kv, &["LPOP", "l"]))
                }
                _ => {
                    model.pop_back();
                    ("RPOP", run(&kv, &["RPOP", "l"]))
                }
            };
            assert!(
                !reply.is_error(),
                "round {round} step {step} {cmd}: {reply:?}"
            );
            assert_eq!(
                contents(&kv),
                Vec::from(model.clone()),
                "round {round} step {step} {cmd}"
            );
        }
        kv.close().expect("close");
    }
}
