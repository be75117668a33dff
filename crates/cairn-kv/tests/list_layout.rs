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

/// The next number of a xorshift sequence.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn inserts_and_removals_anywhere_match_a_vector() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    // Few distinct values, so that LREM finds several and LINSERT's pivot repeats.
    let mut model: Vec<String> = (0..300).map(|i| format!("v{}", i % 23)).collect();
    let mut push = vec!["RPUSH", "l"];
    push.extend(model.iter().map(String::as_str));
    run(&kv, &push);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for step in 0..300 {
        let value = format!("v{}", next(&mut seed) % 25);
        let reply = match next(&mut seed) % 3 {
            0 => {
                let before = next(&mut seed).is_multiple_of(2);
                let new = format!("n{step}");
                let got = run(
                    &kv,
                    &[
                        "LINSERT",
                        "l",
                        if before { "BEFORE" } else { "AFTER" },
                        &value,
                        &new,
                    ],
                );
                let expected = match model.iter().position(|x| *x == value) {
                    Some(at) => {
                        model.insert(if before { at } else { at + 1 }, new);
                        model.len() as i64
                    }
                    None => -1,
                };
                assert_eq!(got, Reply::Integer(expected), "step {step}");
                "LINSERT"
            }
            1 => {
                let count = (next(&mut seed) % 7) as i64 - 3;
                let got = run(&kv, &["LREM", "l", &count.to_string(), &value]);
                let limit = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut hits: Vec<usize> =
                    (0..model.len()).filter(|&i| model[i] == value).collect();
                if count < 0 {
                    hits.reverse();
                }
                hits.truncate(limit);
                hits.sort_unstable();
                for &i in hits.iter().rev() {
                    model.remove(i);
                }
                assert_eq!(got, Reply::Integer(hits.len() as i64), "step {step}");
                "LREM"
            }
            _ => {
                let new = format!("p{step}");
                run(&kv, &["LPUSH", "l", &new]);
                model.insert(0, new);
                "LPUSH"
            }
        };
        assert_eq!(contents(&kv), model, "step {step} {reply}");
        if step % 50 == 49 {
            let index = (next(&mut seed) % model.len() as u64).to_string();
            let got = run(&kv, &["LINDEX", "l", &index]);
            let expected = &model[index.parse::<usize>().expect("index")];
            assert_eq!(
                got,
                Reply::Bulk(Bytes::from(expected.clone())),
                "step {step}"
            );
        }
    }
    kv.close().expect("close");
    drop(kv);
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("reopen");
    assert_eq!(contents(&kv), model, "after reopen");
}
