//! SRANDMEMBER, SPOP and HRANDFIELD on large sets and hashes: a few members are drawn one
//! at a time from random buckets, and every member is as likely as any other.

use std::collections::HashMap;

use bytes::Bytes;
use cairn_kv::{Kv, KvOptions, Reply, Session};

fn run(kv: &std::sync::Arc<Kv>, session: &mut Session, args: &[&str]) -> Reply {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
    kv.execute(session, &argv).reply
}

fn members(reply: Reply) -> Vec<String> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items
            .into_iter()
            .map(|r| match r {
                Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("{other:?}"),
            })
            .collect(),
        Reply::Bulk(b) => vec![String::from_utf8_lossy(&b).into_owned()],
        other => panic!("{other:?}"),
    }
}

#[test]
fn members_drawn_one_at_a_time_are_uniform_and_distinct() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut s = kv.connect("t".into(), "t".into());
    let n = 2000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut args = vec!["SADD".to_string(), "s".to_string()];
        args.extend(chunk.iter().map(|i| format!("m{i}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&kv, &mut s, &args);
    }
    let draws = 40_000;
    let mut seen: HashMap<String, u32> = HashMap::new();
    for _ in 0..draws {
        for m in members(run(&kv, &mut s, &["SRANDMEMBER", "s"])) {
            *seen.entry(m).or_default() += 1;
        }
    }
    // 20 draws expected of each; none missed, none drawn far more than the others.
    assert_eq!(seen.len(), n, "every member is drawn");
    let most = seen.values().copied().max().unwrap_or(0);
    assert!(most < 60, "a member drawn {most} times of {draws}");
    // Pearson's chi-square over the members: about n for uniform draws (standard deviation
    // sqrt(2n) = 63); favouring the members of sparse buckets would put it in the thousands.
    let expected = f64::from(draws) / n as f64;
    let chi2: f64 = seen
        .values()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum();
    assert!(
        chi2 < n as f64 + 6.0 * (2.0 * n as f64).sqrt(),
        "chi-square {chi2:.0}"
    );

    let five = members(run(&kv, &mut s, &["SRANDMEMBER", "s", "5"]));
    let mut distinct = five.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{five:?}");
    let popped = members(run(&kv, &mut s, &["SPOP", "s", "5"]));
    assert_eq!(popped.len(), 5);
    assert_eq!(
        run(&kv, &mut s, &["SCARD", "s"]),
        Reply::Integer(n as i64 - 5)
    );
    for m in &popped {
        assert_eq!(run(&kv, &mut s, &["SISMEMBER", "s", m]), Reply::Integer(0));
    }
    let repeated = members(run(&kv, &mut s, &["SRANDMEMBER", "s", "-30"]));
    assert_eq!(repeated.len(), 30);

    for i in 0..300 {
        run(
            &kv,
            &mut s,
            &["HSET", "h", &format!("f{i}"), &format!("v{i}")],
        );
    }
    match run(&kv, &mut s, &["HRANDFIELD", "h", "3", "WITHVALUES"]) {
        Reply::Array(items) => {
            assert_eq!(items.len(), 6);
            for pair in items.chunks(2) {
                let (Reply::Bulk(f), Reply::Bulk(v)) = (&pair[0], &pair[1]) else {
                    panic!("{pair:?}");
                };
                assert_eq!(&f[1..], &v[1..], "a field comes with its own value");
            }
        }
        other => panic!("{other:?}"),
    }
}
