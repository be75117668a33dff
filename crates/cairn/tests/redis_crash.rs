//! Crash test of the Redis door: `cairn serve --appendfsync always` is killed with SIGKILL
//! while a client writes; after each restart every acknowledged write is there (strings,
//! hash fields, list pushes, both keys of each MULTI/EXEC), and keys written with a short
//! expiry stay expired. Some rounds also kill the server again while it is starting up
//! (recovering), before it accepts a client.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{free_port, random_numbers, start_server, wait_ready, Client, Value};

const ROUNDS: usize = 30;

/// What the writer had acknowledged when the server died.
#[derive(Default)]
struct Acked {
    strings: Vec<(String, String)>,
    hash_fields: Vec<(String, String)>,
    list: Vec<String>,
    pairs: Vec<String>,
    expiring: Vec<String>,
}

fn write_until_killed(port: u16, round: usize, stop: &AtomicBool) -> Acked {
    let mut acked = Acked::default();
    let Ok(mut c) = Client::connect(port) else {
        return acked;
    };
    let list = format!("list:{round}");
    let hash = format!("hash:{round}");
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let ok = match n % 5 {
            0 => {
                let (k, v) = (format!("s:{round}:{n}"), format!("v{n}"));
                let r = c.call(&["SET", &k, &v]);
                let ok = matches!(r, Ok(Value::Status(ref s)) if s == "OK");
                if ok {
                    acked.strings.push((k, v));
                }
                ok
            }
            1 => {
                let (f, v) = (format!("f{n}"), format!("{n}"));
                let ok = matches!(c.call(&["HSET", &hash, &f, &v]), Ok(Value::Int(1)));
                if ok {
                    acked.hash_fields.push((f, v));
                }
                ok
            }
            2 => {
                let v = format!("item{n}");
                let ok = matches!(c.call(&["RPUSH", &list, &v]), Ok(Value::Int(_)));
                if ok {
                    acked.list.push(v);
                }
                ok
            }
            3 => {
                let suffix = format!("{round}:{n}");
                let (a, b) = (format!("a:{suffix}"), format!("b:{suffix}"));
                let replies = (|| -> std::io::Result<Value> {
                    c.call(&["MULTI"])?;
                    c.call(&["SET", &a, &suffix])?;
                    c.call(&["SET", &b, &suffix])?;
                    c.call(&["EXEC"])
                })();
                let ok = matches!(replies, Ok(Value::Array(Some(ref v))) if v.len() == 2);
                if ok {
                    acked.pairs.push(suffix);
                }
                ok
            }
            _ => {
                let k = format!("exp:{round}:{n}");
                let ok = matches!(c.call(&["SET", &k, "x", "PX", "1"]), Ok(Value::Status(_)));
                if ok {
                    acked.expiring.push(k);
                }
                ok
            }
        };
        if !ok {
            break;
        }
    }
    acked
}

fn bulk(c: &mut Client, args: &[&str]) -> Option<String> {
    match c.call(args).expect("query after restart") {
        Value::Bulk(b) => b.map(|b| String::from_utf8_lossy(&b).into_owned()),
        other => panic!("{args:?}: unexpected {other:?}"),
    }
}

fn verify(c: &mut Client, round: usize, acked: &Acked) {
    for (k, v) in &acked.strings {
        assert_eq!(bulk(c, &["GET", k]).as_ref(), Some(v), "round {round}: {k}");
    }
    let hash = format!("hash:{round}");
    for (f, v) in &acked.hash_fields {
        assert_eq!(
            bulk(c, &["HGET", &hash, f]).as_ref(),
            Some(v),
            "round {round}: {f}"
        );
    }
    let list = format!("list:{round}");
    let items = match c.call(&["LRANGE", &list, "0", "-1"]).expect("lrange") {
        Value::Array(Some(items)) => items,
        other => panic!("LRANGE: {other:?}"),
    };
    assert!(
        items.len() >= acked.list.len(),
        "round {round}: list lost pushes"
    );
    for (got, want) in items.iter().zip(&acked.list) {
        assert_eq!(
            got,
            &Value::Bulk(Some(want.clone().into_bytes())),
            "round {round}"
        );
    }
    for suffix in &acked.pairs {
        let a = bulk(c, &["GET", &format!("a:{suffix}")]);
        let b = bulk(c, &["GET", &format!("b:{suffix}")]);
        assert_eq!(a.as_ref(), Some(suffix), "round {round}: MULTI/EXEC lost");
        assert_eq!(a, b);
    }
    for k in &acked.expiring {
        assert_eq!(
            bulk(c, &["GET", k]),
            None,
            "round {round}: expired key came back"
        );
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut history: Vec<(usize, Acked)> = Vec::new();
    let mut next = random_numbers(0x2545_f491_4f6c_dd1d);
    let mut total = 0;
    for round in 0..ROUNDS {
        let port = free_port();
        let mut server = start_server(&data, port);
        if round % 5 == 4 {
            // Kill it again while it opens the data directory and replays its log.
            std::thread::sleep(Duration::from_millis(next() % 30));
            let _ = server.kill();
            let _ = server.wait();
            server = start_server(&data, port);
        }
        let mut client = wait_ready(port, &mut server);
        for (r, acked) in &history {
            verify(&mut client, *r, acked);
        }
        drop(client);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            std::thread::spawn(move || write_until_killed(port, round, &stop))
        };
        std::thread::sleep(Duration::from_millis(30 + next() % 200));
        server.kill().expect("SIGKILL");
        let _ = server.wait();
        stop.store(true, Ordering::Relaxed);
        let acked = writer.join().expect("writer");
        total +=
            acked.strings.len() + acked.hash_fields.len() + acked.list.len() + acked.pairs.len();
        history.push((round, acked));
    }
    let port = free_port();
    let mut server = start_server(&data, port);
    let mut client = wait_ready(port, &mut server);
    for (r, acked) in &history {
        verify(&mut client, *r, acked);
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(total > 100, "the writers got {total} writes acknowledged");
    eprintln!("{ROUNDS} kills, {total} acknowledged writes checked after every restart");
}
