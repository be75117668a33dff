//! cairn-sql against SQLite (rusqlite, bundled): the same SQL statements through each
//! engine's embedded API, one run, ops/s and the ratio cairn / SQLite.
//!
//! Tables: `t(id INTEGER PRIMARY KEY, grp INTEGER, val INTEGER, name TEXT)` with an index on
//! `val` (N rows, default 1M; `val` a permutation of 0..N, `grp` in 0..10k, `name` 12
//! characters) and `g(gid INTEGER PRIMARY KEY, label TEXT)` (10k rows).
//!
//! Workloads, each a prepared statement run with parameters:
//! * `bulk load`: N rows in transactions of 1000 single-row INSERTs;
//! * `insert-1`: M more rows (default 20k), each its own transaction;
//! * `point select`: `SELECT name FROM t WHERE id = $1`, random ids;
//! * `secondary index`: `SELECT id FROM t WHERE val = $1`, random values;
//! * `range 1000`: `SELECT id, val FROM t WHERE id >= $1 AND id < $2`, 1000 rows each;
//! * `join + group by`: `SELECT g.label, count(*), sum(t.val) FROM t JOIN g ON t.grp = g.gid
//!   GROUP BY g.label`;
//! * `order by limit 10`: `SELECT id, name FROM t ORDER BY name LIMIT 10` (no index on name);
//! * `count filter`: `SELECT count(*) FROM t WHERE val % 7 = 3`.
//!
//! Same durability: a commit is fsynced before it returns (cairn's default; SQLite WAL with
//! `synchronous=FULL`). Same memory: 128 MiB of page cache each.

use std::time::Instant;

/// cairn-sql runs on the allocator the `cairn` binary ships with (mimalloc, transparent huge
/// pages off as `cairn` turns them off), so that this measures the engine as the server runs
/// it. SQLite, C code, keeps allocating with the C library's malloc, as it ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static DISABLE_THP_AT_START: extern "C" fn() = disable_transparent_huge_pages;

use cairn_sql::{Database, Prepared, Session, Value};

struct Args {
    rows: i64,
    single: i64,
    lookups: i64,
    scans: i64,
    repeats: i64,
}

fn usage() -> ! {
    eprintln!(
        "usage: sql [--rows N] [--single M] [--lookups L] [--scans S] [--repeats R] [--quick]\n\
         --rows     rows bulk-loaded in transactions of 1000 (default 1000000)\n\
         --single   rows inserted one per transaction (default 20000)\n\
         --lookups  point and secondary-index selects (default 100000)\n\
         --scans    range scans of 1000 rows (default 1000)\n\
         --repeats  runs of each analytical query (default 3)\n\
         --quick    100k rows, 2000 single-row transactions"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        rows: 1_000_000,
        single: 20_000,
        lookups: 100_000,
        scans: 1000,
        repeats: 3,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>| v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => args.rows = num(it.next()),
            "--single" => args.single = num(it.next()),
            "--lookups" => args.lookups = num(it.next()),
            "--scans" => args.scans = num(it.next()),
            "--repeats" => args.repeats = num(it.next()),
            "--quick" => {
                args.rows = 100_000;
                args.single = 2000;
            }
            _ => usage(),
        }
    }
    args
}

const GROUPS: i64 = 10_000;

/// Pseudo-random numbers below `below`, the same in every run.
fn randoms(count: i64, below: i64, seed: u64) -> Vec<i64> {
    let mut x = seed | 1;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % below as u64) as i64
        })
        .collect()
}

/// Row `id`: (grp, val, name); `val` is a permutation of 0..n.
fn row(id: i64, n: i64) -> (i64, i64, String) {
    let val = (id * 7_919 + 13) % n;
    let grp = (id * 31) % GROUPS;
    let name: String = (0..12)
        .map(|i| (b'a' + ((id * 17 + i * 5 + id / 7) % 26) as u8) as char)
        .collect();
    (grp, val, name)
}

/// One engine's side.
trait Engine {
    fn name(&self) -> &'static str;
    fn exec(&mut self, sql: &str);
    /// Prepares statement `slot` (its own numbering).
    fn prepare(&mut self, slot: usize, sql: &str);
    /// Runs statement `slot` with integer/text parameters; the number of rows it gave.
    fn run(&mut self, slot: usize, params: &[Param]) -> usize;
}

enum Param {
    Int(i64),
    Text(String),
}

struct Cairn {
    session: Session,
    prepared: Vec<Option<Prepared>>,
}

impl Engine for Cairn {
    fn name(&self) -> &'static str {
        "cairn"
    }
    fn exec(&mut self, sql: &str) {
        self.session
            .execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    fn prepare(&mut self, slot: usize, sql: &str) {
        let p = self
            .session
            .prepare(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        while self.prepared.len() <= slot {
            self.prepared.push(None);
        }
        self.prepared[slot] = Some(p);
    }
    fn run(&mut self, slot: usize, params: &[Param]) -> usize {
        let values: Vec<Value> = params
            .iter()
            .map(|p| match p {
                Param::Int(n) => Value::Int8(*n),
                Param::Text(s) => Value::Text(s.clone()),
            })
            .collect();
        let prepared = self.prepared[slot].as_ref().expect("prepared");
        self.session
            .execute_prepared(prepared, &values)
            .unwrap_or_else(|e| panic!("statement {slot}: {e}"))
            .rows
            .len()
    }
}

struct Sqlite {
    conn: &'static rusqlite::Connection,
    statements: Vec<Option<rusqlite::Statement<'static>>>,
}

impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn exec(&mut self, sql: &str) {
        self.conn
            .execute_batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    fn prepare(&mut self, slot: usize, sql: &str) {
        let s = self
            .conn
            .prepare(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        while self.statements.len() <= slot {
            self.statements.push(None);
        }
        self.statements[slot] = Some(s);
    }
    fn run(&mut self, slot: usize, params: &[Param]) -> usize {
        let statement = self.statements[slot].as_mut().expect("prepared");
        let values: Vec<rusqlite::types::Value> = params
            .iter()
            .map(|p| match p {
                Param::Int(n) => rusqlite::types::Value::Integer(*n),
                Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
            })
            .collect();
        let mut rows = statement
            .query(rusqlite::params_from_iter(values))
            .expect("query");
        let mut n = 0;
        while let Some(row) = rows.next().expect("row") {
            // Read every column, as cairn's result holds them all.
            for i in 0..row.as_ref().column_count() {
                let _: rusqlite::types::Value = row.get(i).expect("value");
            }
            n += 1;
        }
        n
    }
}

const INSERT_T: usize = 0;
const INSERT_G: usize = 1;
const POINT: usize = 2;
const SECONDARY: usize = 3;
const RANGE: usize = 4;
const JOIN: usize = 5;
const TOP: usize = 6;
const COUNT: usize = 7;

fn setup(engine: &mut dyn Engine) {
    engine.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, grp INTEGER, val INTEGER, name TEXT); \
         CREATE INDEX t_val ON t (val); \
         CREATE TABLE g (gid INTEGER PRIMARY KEY, label TEXT)",
    );
    engine.prepare(INSERT_T, "INSERT INTO t VALUES ($1, $2, $3, $4)");
    engine.prepare(INSERT_G, "INSERT INTO g VALUES ($1, $2)");
    engine.prepare(POINT, "SELECT name FROM t WHERE id = $1");
    engine.prepare(SECONDARY, "SELECT id FROM t WHERE val = $1");
    engine.prepare(RANGE, "SELECT id, val FROM t WHERE id >= $1 AND id < $2");
    engine.prepare(
        JOIN,
        "SELECT g.label, count(*), sum(t.val) FROM t JOIN g ON t.grp = g.gid GROUP BY g.label",
    );
    engine.prepare(TOP, "SELECT id, name FROM t ORDER BY name LIMIT 10");
    engine.prepare(COUNT, "SELECT count(*) FROM t WHERE val % 7 = 3");
}

fn insert_row(engine: &mut dyn Engine, id: i64, n: i64) {
    let (grp, val, name) = row(id, n);
    engine.run(
        INSERT_T,
        &[
            Param::Int(id),
            Param::Int(grp),
            Param::Int(val),
            Param::Text(name),
        ],
    );
}

/// Runs `work` on each engine; ops/s of each.
fn measure(
    engines: &mut [&mut dyn Engine],
    ops: i64,
    mut work: impl FnMut(&mut dyn Engine),
) -> Vec<f64> {
    engines
        .iter_mut()
        .map(|e| {
            let start = Instant::now();
            work(&mut **e);
            ops as f64 / start.elapsed().as_secs_f64()
        })
        .collect()
}

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("cairn")).expect("open cairn");
    let mut cairn = Cairn {
        session: Session::new(db),
        prepared: Vec::new(),
    };
    let conn: &'static rusqlite::Connection = Box::leak(Box::new(
        rusqlite::Connection::open(dir.path().join("sqlite.db")).expect("open sqlite"),
    ));
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-131072;",
    )
    .expect("pragmas");
    let mut sqlite = Sqlite {
        conn,
        statements: Vec::new(),
    };
    setup(&mut cairn);
    setup(&mut sqlite);
    let mut engines: Vec<&mut dyn Engine> = vec![&mut cairn, &mut sqlite];
    let n = args.rows;
    let mut table: Vec<(String, Vec<f64>)> = Vec::new();

    let load = measure(&mut engines, n, |e| {
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            e.exec("BEGIN");
            for &id in chunk {
                insert_row(e, id, n);
            }
            e.exec("COMMIT");
        }
        e.exec("BEGIN");
        for gid in 0..GROUPS {
            e.run(
                INSERT_G,
                &[
                    Param::Int(gid),
                    Param::Text(format!("group {}", gid % 1000)),
                ],
            );
        }
        e.exec("COMMIT");
    });
    table.push((format!("bulk load {n} rows, 1000/txn"), load));

    let single = measure(&mut engines, args.single, |e| {
        for id in n..n + args.single {
            insert_row(e, id, n);
        }
    });
    table.push((format!("insert-1 ({} txns)", args.single), single));
    let total = n + args.single;

    let ids = randoms(args.lookups, total, 7);
    let point = measure(&mut engines, args.lookups, |e| {
        for &id in &ids {
            assert_eq!(e.run(POINT, &[Param::Int(id)]), 1, "{} id {id}", e.name());
        }
    });
    table.push(("point select by primary key".into(), point));

    let vals = randoms(args.lookups, n, 11);
    let secondary = measure(&mut engines, args.lookups, |e| {
        for &v in &vals {
            assert!(
                e.run(SECONDARY, &[Param::Int(v)]) >= 1,
                "{} val {v}",
                e.name()
            );
        }
    });
    table.push(("select by secondary index".into(), secondary));

    let starts = randoms(args.scans, total - 1000, 13);
    let range = measure(&mut engines, args.scans, |e| {
        for &s in &starts {
            assert_eq!(e.run(RANGE, &[Param::Int(s), Param::Int(s + 1000)]), 1000);
        }
    });
    table.push(("range scan of 1000 rows".into(), range));

    let join = measure(&mut engines, args.repeats, |e| {
        for _ in 0..args.repeats {
            assert_eq!(e.run(JOIN, &[]), 1000);
        }
    });
    table.push((format!("join {total} x {GROUPS} + group by"), join));

    let top = measure(&mut engines, args.repeats, |e| {
        for _ in 0..args.repeats {
            assert_eq!(e.run(TOP, &[]), 10);
        }
    });
    table.push((format!("order by limit 10 over {total}"), top));

    let count = measure(&mut engines, args.repeats, |e| {
        for _ in 0..args.repeats {
            assert_eq!(e.run(COUNT, &[]), 1);
        }
    });
    table.push(("count(*) with a filter".into(), count));

    println!(
        "| {:<36} | {:>14} | {:>14} | {:>7} |",
        "workload (ops/s)", "cairn-sql", "sqlite", "ratio"
    );
    println!("|{:-<38}|{:->16}|{:->16}|{:->9}|", "", "", "", "");
    for (name, ops) in &table {
        println!(
            "| {:<36} | {:>14.1} | {:>14.1} | {:>6.2}x |",
            name,
            ops[0],
            ops[1],
            ops[0] / ops[1]
        );
    }
}
