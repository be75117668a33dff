//! Crash test of the Redis door under `appendfsync everysec`, where pipelines' writes are held
//! in memory for a few tens of milliseconds before they reach the log and the log is fsynced
//! once a second. A client alternates `ZADD z n m:n` (a sorted set large enough to live in
//! tree nodes and hash buckets) and `SET last n`; the server is killed with SIGKILL at random
//! moments. After every restart:
//!
//! * what was acknowledged more than two seconds before the kill is there (the policy's
//!   promise: about a second of writes may be lost, no more);
//! * what is there is a prefix of the history: if `last` is L, members 0..=L are all in the
//!   set and nothing after L+1 is (a crash loses the newest writes, never older ones).

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{free_port, random_numbers, start_server_with, wait_ready, Client, Value};

const ROUNDS: u64 = 6;

fn int(c: &mut Client, args: &[&str]) -> i64 {
    match c.call(args).expect("query") {
        Value::Int(n) => n,
        other => panic!("{args:?}: unexpected {other:?}"),
    }
}

fn last(c: &mut Client, round: u64) -> Option<u64> {
    match c.call(&["GET", &format!("last:{round}")]).expect("GET") {
        Value::Bulk(Some(b)) => Some(
            String::from_utf8_lossy(&b)
                .parse()
                .expect("`last` holds a number"),
        ),
        Value::Bulk(None) => None,
        other => panic!("GET: unexpected {other:?}"),
    }
}

/// Writes `ZADD z:round n m:n`, then `SET last:round n`, for each n of `ns` until `stop`
/// or a failed reply; `acked` holds the last n whose SET was answered.
fn write(
    c: &mut Client,
    round: u64,
    ns: impl Iterator<Item = u64>,
    stop: &AtomicBool,
    acked: &AtomicU64,
) {
    let (z, l) = (format!("z:{round}"), format!("last:{round}"));
    for n in ns {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let (score, member) = (n.to_string(), format!("m:{n}"));
        if !matches!(c.call(&["ZADD", &z, &score, &member]), Ok(Value::Int(1))) {
            return;
        }
        if !matches!(c.call(&["SET", &l, &score]), Ok(Value::Status(_))) {
            return;
        }
        acked.store(n, Ordering::Relaxed);
    }
}

/// What round `round` left after the crash: a prefix of its history at least `settled`
/// long. Returns its length.
fn verify(c: &mut Client, round: u64, settled: u64) -> u64 {
    let last = last(c, round).unwrap_or_else(|| panic!("round {round}: `last` lost"));
    assert!(
        last >= settled,
        "round {round}: write {settled}, acknowledged seconds before the kill, lost (last {last})"
    );
    let z = format!("z:{round}");
    let card = int(c, &["ZCARD", &z]) as u64;
    // ZADD n comes before SET last n: the set holds 0..=last, and maybe last + 1.
    assert!(
        card == last + 1 || card == last + 2,
        "round {round}: last is {last} but the set has {card} members"
    );
    for n in [0, last / 2, last, card - 1] {
        let member = format!("m:{n}");
        let score = c.call(&["ZSCORE", &z, &member]).expect("ZSCORE");
        assert_eq!(
            score,
            Value::Bulk(Some(n.to_string().into_bytes())),
            "round {round}: member {n} of 0..{card}"
        );
    }
    last
}

#[test]
fn an_everysec_crash_loses_only_the_newest_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut next = random_numbers(0x9e37_79b9_7f4a_7c15);
    let mut settled_of = Vec::new();
    for round in 0..ROUNDS {
        let port = free_port();
        let mut server = start_server_with(&data, port, "everysec");
        let mut client = wait_ready(port, &mut server);
        for (r, settled) in settled_of.iter().enumerate() {
            verify(&mut client, r as u64, *settled);
        }
        // Enough writes to make the set a tree, then a quiet spell longer than the hold
        // and the fsync interval together: all of it must survive.
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let first = 400 + next() % 400;
        write(&mut client, round, 0..first, &stop, &acked);
        let settled = first - 1;
        assert_eq!(
            acked.load(Ordering::Relaxed),
            settled,
            "a write before the quiet spell failed"
        );
        std::thread::sleep(Duration::from_millis(2500));
        // Then writes at full speed until the kill.
        let writer = {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || write(&mut client, round, first.., &stop, &acked))
        };
        std::thread::sleep(Duration::from_millis(50 + next() % 300));
        server.kill().expect("SIGKILL");
        let _ = server.wait();
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer");
        assert!(
            acked.load(Ordering::Relaxed) > first,
            "the writer got nothing acknowledged"
        );
        settled_of.push(settled);
    }
    let port = free_port();
    let mut server = start_server_with(&data, port, "everysec");
    let mut client = wait_ready(port, &mut server);
    let mut kept = 0;
    for (r, settled) in settled_of.iter().enumerate() {
        kept += verify(&mut client, r as u64, *settled) - settled;
    }
    let _ = server.kill();
    let _ = server.wait();
    eprintln!("{ROUNDS} kills under everysec; {kept} writes after the settled ones survived");
}
