//! cairn-log against fjall, redb and sled: the same workloads, one run, ops/s and ratios.
//!
//! Workloads (db_bench's names): `fillseq` and `fillrandom` write N keys of 16 bytes with
//! 100-byte values (half compressible, as db_bench makes them) into an empty store, in order and
//! in random order; `overwrite` writes N random existing keys; `readrandom` reads N random
//! existing keys; `readmissing` reads N keys that were never written; `mixed` runs 2 threads
//! doing 90 % reads and 10 % overwrites of random existing keys; `fill-4thr` runs 4 threads
//! writing N new keys between them (where group commit shows). Every operation is one API
//! call (one transaction for redb), as a server answering requests makes them. The read
//! workloads make at least 200k reads (cycling through the keys when N is smaller).
//!
//! Durability (`--sync`): `end` (default) — no fsync per write, in each engine's relaxed mode
//! (cairn-log `Durability::No`, fjall's default journal without persist, redb
//! `Durability::None`, sled's default), and one durable sync at the end of each write phase,
//! counted in its time; `always` — every write fsynced before it returns (cairn-log
//! `Durability::Always`, fjall `persist(SyncData)` after each insert, redb
//! `Durability::Immediate`); sled has no such mode (its `flush()` is not an fsync), so it
//! has no column there.

mod engines;

use std::time::Instant;

use engines::{Engine, Sync, ENGINES};

const VALUE_LEN: usize = 100;
const READS_MIN: u64 = 200_000;

struct Args {
    n: u64,
    repeat: usize,
    sync: Sync,
    engines: Vec<String>,
    dir: Option<std::path::PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: log [--quick] [--n KEYS] [--repeat R] [--sync end|always] [--engines cairn-log,fjall,redb,sled] [--dir DIR]\n\
         --quick    100k keys instead of 1M\n\
         --repeat   run everything R times (engines interleaved) and report each workload's median\n\
         --sync     end: no fsync per write, one at the end of each write phase (default);\n\
         \x20          always: fsync before every write returns (default N is then 5000)"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        n: 0,
        repeat: 1,
        sync: Sync::End,
        engines: ENGINES.iter().map(|s| s.to_string()).collect(),
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.n = 100_000,
            "--repeat" => {
                args.repeat = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&r| r > 0)
                    .unwrap_or_else(|| usage())
            }
            "--n" => {
                args.n = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--sync" => {
                args.sync = match it.next().as_deref() {
                    Some("end") => Sync::End,
                    Some("always") => Sync::Always,
                    _ => usage(),
                }
            }
            "--engines" => {
                args.engines = it
                    .next()
                    .unwrap_or_else(|| usage())
                    .split(',')
                    .map(String::from)
                    .collect();
                if args.engines.iter().any(|e| !ENGINES.contains(&e.as_str())) {
                    usage()
                }
            }
            "--dir" => args.dir = Some(it.next().unwrap_or_else(|| usage()).into()),
            _ => usage(),
        }
    }
    if args.n == 0 {
        args.n = if args.sync == Sync::Always {
            5_000
        } else {
            1_000_000
        };
    }
    args
}

/// xorshift64*: deterministic, the same sequence for every engine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545f4914f6cdd1d)
    }
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k.copy_from_slice(format!("{i:016}").as_bytes());
    k
}

/// A 100-byte value: 50 pseudo-random bytes, then those bytes again (compresses to about half).
fn value(rng: &mut Rng) -> [u8; VALUE_LEN] {
    let mut v = [0u8; VALUE_LEN];
    for chunk in v[..VALUE_LEN / 2].chunks_mut(8) {
        let r = rng.next().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    let (a, b) = v.split_at_mut(VALUE_LEN / 2);
    b.copy_from_slice(a);
    v
}

fn shuffled(n: u64, seed: u64) -> Vec<u64> {
    let mut order: Vec<u64> = (0..n).collect();
    let mut rng = Rng(seed);
    for i in (1..order.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

const WORKLOADS: [&str; 7] = [
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "readmissing",
    "mixed",
    "fill-4thr",
];

/// Runs every workload on one engine; returns ops/s per workload.
fn run_engine(name: &str, args: &Args, root: &std::path::Path) -> Option<Vec<f64>> {
    let n = args.n;
    let mut results = Vec::new();
    let timed = |ops: u64, f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        ops as f64 / start.elapsed().as_secs_f64().max(1e-9)
    };

    // fillseq on a store of its own.
    {
        let dir = tempfile::tempdir_in(root).expect("tempdir");
        let engine = engines::open(name, dir.path(), args.sync)?;
        let mut rng = Rng(1);
        results.push(timed(n, &mut || {
            for i in 0..n {
                engine.put(&key(i), &value(&mut rng));
            }
            engine.sync();
        }));
    }

    let dir = tempfile::tempdir_in(root).expect("tempdir");
    let engine = engines::open(name, dir.path(), args.sync)?;
    let order = shuffled(n, 7);
    let mut rng = Rng(2);
    results.push(timed(n, &mut || {
        for &i in &order {
            engine.put(&key(i), &value(&mut rng));
        }
        engine.sync();
    }));
    let order = shuffled(n, 11);
    results.push(timed(n, &mut || {
        for &i in &order {
            engine.put(&key(i), &value(&mut rng));
        }
        engine.sync();
    }));
    // Reads do not depend on durability, but a few thousand of them (the --sync always size)
    // measure scheduler noise: read at least READS_MIN times, cycling through the keys.
    let reads = n.max(READS_MIN);
    let order = shuffled(n, 13);
    results.push(timed(reads, &mut || {
        for &i in order.iter().cycle().take(reads as usize) {
            assert!(engine.get(&key(i)), "{name}: key {i} missing");
        }
    }));
    results.push(timed(reads, &mut || {
        for i in 0..reads {
            assert!(
                !engine.get(&key(n + 1 + (i % n) * 7)),
                "{name}: phantom key"
            );
        }
    }));
    results.push(mixed(engine.as_ref(), n));
    results.push(fill_threads(engine.as_ref(), n, 4));
    drop(engine);
    Some(results)
}

/// 2 threads, each n/2 operations: 90 % reads, 10 % overwrites of random existing keys.
fn mixed(engine: &dyn Engine, n: u64) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            s.spawn(move || {
                let mut rng = Rng(100 + t);
                for _ in 0..n / 2 {
                    let r = rng.next();
                    let k = key(r % n);
                    if r.is_multiple_of(10) {
                        engine.put(&k, &value(&mut rng));
                    } else {
                        assert!(engine.get(&k));
                    }
                }
            });
        }
    });
    engine.sync();
    (n / 2 * 2) as f64 / start.elapsed().as_secs_f64()
}

/// `threads` threads writing n new keys between them, each its own random sequence: where a
/// store shares fsyncs between concurrent writers (group commit), this is where it shows.
fn fill_threads(engine: &dyn Engine, n: u64, threads: u64) -> f64 {
    let per_thread = n / threads;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let mut rng = Rng(1000 + t);
                for i in 0..per_thread {
                    let k = key(2 * n
                        + t * per_thread
                        + (rng.next() % per_thread.max(1) + i) % per_thread);
                    engine.put(&k, &value(&mut rng));
                }
            });
        }
    });
    engine.sync();
    (per_thread * threads) as f64 / start.elapsed().as_secs_f64()
}

fn fmt_ops(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn main() {
    let args = parse_args();
    let root = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    println!(
        "cairn-log benchmark: {} keys of 16 B, values of {VALUE_LEN} B; durability: {}",
        args.n,
        match args.sync {
            Sync::End => "no fsync per write, one durable sync ending each write phase (timed)",
            Sync::Always => "every write fsynced before it returns",
        }
    );
    let mut runs: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    for round in 0..args.repeat {
        for name in &args.engines {
            let started = Instant::now();
            match run_engine(name, &args, &root) {
                Some(r) => {
                    eprintln!(
                        "  {name}: run {} done in {:.1?}",
                        round + 1,
                        started.elapsed()
                    );
                    match runs.iter_mut().find(|(n, _)| n == name) {
                        Some((_, all)) => all.push(r),
                        None => runs.push((name.clone(), vec![r])),
                    }
                }
                None if round == 0 => {
                    eprintln!("  {name}: no mode for this durability setting, skipped")
                }
                None => {}
            }
        }
    }
    let table: Vec<(String, Vec<f64>)> = runs
        .into_iter()
        .map(|(name, all)| {
            let medians = (0..WORKLOADS.len())
                .map(|w| {
                    let mut xs: Vec<f64> = all.iter().map(|r| r[w]).collect();
                    xs.sort_by(f64::total_cmp);
                    xs[xs.len() / 2]
                })
                .collect();
            (name, medians)
        })
        .collect();
    if args.repeat > 1 {
        println!("(median of {} runs)", args.repeat);
    }
    print_table(&table);
}

fn print_table(table: &[(String, Vec<f64>)]) {
    let cairn = table.iter().find(|(n, _)| n == "cairn-log");
    let peers: Vec<_> = table.iter().filter(|(n, _)| n != "cairn-log").collect();
    print!("\n{:<12}", "ops/s");
    for (name, _) in table {
        print!("{name:>11}");
    }
    if cairn.is_some() {
        for (name, _) in &peers {
            print!("{:>14}", format!("cairn/{name}"));
        }
        print!("{:>14}", "cairn/best");
    }
    println!();
    for (w, workload) in WORKLOADS.iter().enumerate() {
        print!("{workload:<12}");
        for (_, r) in table {
            print!("{:>11}", fmt_ops(r[w]));
        }
        if let Some((_, c)) = cairn {
            for (_, r) in &peers {
                print!("{:>14}", format!("{:.2}x", c[w] / r[w]));
            }
            let best = peers.iter().map(|(_, r)| r[w]).fold(0.0, f64::max);
            if best > 0.0 {
                print!("{:>14}", format!("{:.2}x", c[w] / best));
            }
        }
        println!();
    }
}
