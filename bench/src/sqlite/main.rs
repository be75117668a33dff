//! cairn-sqlite against SQLite itself (rusqlite, bundled) reading the same SQLite file, in
//! one run: ops/s and ratios.
//!
//! The file is written once by SQLite: N rows (default 1M) of
//! `people(id INTEGER PRIMARY KEY, email TEXT, age INTEGER, score REAL, bio TEXT)` — about
//! 100 bytes a row — with an index on `email`. Workloads, every column of every row read
//! (rusqlite `get_ref`, cairn-sqlite `RowRef::get`, both without copying):
//! * `scan`: the whole table in rowid order (ops = rows);
//! * `rowid`: random look-ups by rowid (default 10k);
//! * `index`: random look-ups by email through the index, then the row (default 10k).
//!
//! Both readers get the same page cache budget (100 MiB, cairn-sqlite's default; SQLite
//! `cache_size=-102400`), start cold in their own cache with the file in the OS's, and take
//! turns a chunk of work at a time so that the machine's background noise falls on both.
//! Each workload runs three rounds; the table shows the best round of each.

use std::ops::Bound;
use std::path::Path;
use std::time::Instant;

use cairn_sqlite::{Database, RowRef, Value, ValueRef};
use rusqlite::types::ValueRef as SqliteRef;

struct Args {
    rows: u64,
    lookups: u64,
    rounds: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: sqlite [--rows N] [--lookups L] [--quick]\n\
         --rows     rows in the file (default 1000000)\n\
         --lookups  random look-ups by rowid and by index (default 10000)\n\
         --quick    100k rows"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        rows: 1_000_000,
        lookups: 10_000,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>| v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => args.rows = num(it.next()),
            "--lookups" => args.lookups = num(it.next()),
            "--quick" => args.rows = 100_000,
            _ => usage(),
        }
    }
    args
}

/// Deterministic pseudo-random numbers (xorshift).
fn randoms(count: u64, below: u64, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % below
        })
        .collect()
}

fn email(i: u64) -> String {
    // Scrambled so that index order is not rowid order.
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    format!("user{:016x}@example.org", h)
}

fn write_file(path: &Path, rows: u64) {
    let mut conn = rusqlite::Connection::open(path).expect("create");
    conn.execute_batch(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
         CREATE TABLE people(id INTEGER PRIMARY KEY, email TEXT, age INTEGER, score REAL, bio TEXT);",
    )
    .expect("schema");
    let txn = conn.transaction().expect("txn");
    {
        let mut insert = txn
            .prepare("INSERT INTO people VALUES (?1, ?2, ?3, ?4, ?5)")
            .expect("prepare");
        for i in 1..=rows {
            let bio = format!("bio of person {i}: likes {} things", i % 97);
            insert
                .execute(rusqlite::params![
                    i as i64,
                    email(i),
                    (i % 90) as i64,
                    (i % 1000) as f64 / 7.0,
                    bio
                ])
                .expect("insert");
        }
    }
    txn.commit().expect("commit");
    conn.execute_batch("CREATE INDEX people_email ON people(email);")
        .expect("index");
}

/// A number from every value of a row, so the reads cannot be optimised away and both
/// readers can be checked to have read the same thing.
fn digest_ours(row: &RowRef<'_>) -> u64 {
    (0..row.len())
        .map(|i| match row.get(i) {
            ValueRef::Null => 1,
            ValueRef::Integer(n) => n as u64,
            ValueRef::Real(r) => r as u64,
            ValueRef::Text(t) | ValueRef::Blob(t) => t.len() as u64,
        })
        .sum()
}

fn digest_sqlite(row: &rusqlite::Row<'_>, columns: usize) -> u64 {
    (0..columns)
        .map(|i| match row.get_ref(i).expect("value") {
            SqliteRef::Null => 1,
            SqliteRef::Integer(n) => n as u64,
            SqliteRef::Real(r) => r as u64,
            SqliteRef::Text(t) | SqliteRef::Blob(t) => t.len() as u64,
        })
        .sum()
}

/// Times `ours` and `theirs` over `chunks` pieces of work, alternating; returns the seconds
/// of each and checks they computed the same digests.
fn race(
    name: &str,
    chunks: usize,
    mut ours: impl FnMut(usize) -> u64,
    mut theirs: impl FnMut(usize) -> u64,
) -> (f64, f64) {
    let (mut our_secs, mut their_secs) = (0.0, 0.0);
    for chunk in 0..chunks {
        let start = Instant::now();
        let a = ours(chunk);
        our_secs += start.elapsed().as_secs_f64();
        let start = Instant::now();
        let b = theirs(chunk);
        their_secs += start.elapsed().as_secs_f64();
        assert_eq!(
            a, b,
            "{name}: the readers read different data in chunk {chunk}"
        );
    }
    (our_secs, their_secs)
}

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("people.db");
    let start = Instant::now();
    write_file(&path, args.rows);
    let size = std::fs::metadata(&path).expect("metadata").len();
    eprintln!(
        "wrote {} rows ({:.0} MB) in {:.1}s",
        args.rows,
        size as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );

    let rowids: Vec<i64> = randoms(args.lookups, args.rows, 7)
        .iter()
        .map(|&r| r as i64 + 1)
        .collect();
    let emails: Vec<String> = randoms(args.lookups, args.rows, 11)
        .iter()
        .map(|&r| email(r + 1))
        .collect();
    const CHUNKS: usize = 10;
    let mut best = [(f64::MAX, f64::MAX); 3];
    for _ in 0..args.rounds {
        // Fresh readers each round: cold caches of their own, the file in the OS cache.
        let db = Database::open(&path).expect("cairn-sqlite opens");
        let table = db.table("people").expect("table");
        let index = db.index("people_email").expect("index");
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("sqlite opens");
        conn.execute_batch("PRAGMA cache_size=-102400;")
            .expect("cache size");

        // Full scan, split in rowid ranges so the readers can take turns.
        let per_chunk = args.rows.div_ceil(CHUNKS as u64) as i64;
        let mut scan_rows = db.rows(table).expect("scan");
        let mut scan_sqlite = conn.prepare("SELECT * FROM people").expect("prepare");
        let mut their_rows = scan_sqlite.query([]).expect("query");
        let scan = race(
            "scan",
            CHUNKS,
            |_| {
                let mut digest = 0;
                for _ in 0..per_chunk {
                    match scan_rows.next_row().expect("row") {
                        Some(row) => digest += digest_ours(&row),
                        None => break,
                    }
                }
                digest
            },
            |_| {
                let mut digest = 0;
                for _ in 0..per_chunk {
                    match their_rows.next().expect("row") {
                        Some(row) => digest += digest_sqlite(row, 5),
                        None => break,
                    }
                }
                digest
            },
        );
        drop(their_rows);

        let per_chunk = rowids.len().div_ceil(CHUNKS);
        let mut finder = db.row_finder(table).expect("finder");
        let mut by_rowid = conn
            .prepare("SELECT * FROM people WHERE id = ?1")
            .expect("prepare");
        let rowid = race(
            "rowid",
            CHUNKS,
            |chunk| {
                let mut digest = 0;
                for &id in rowids.iter().skip(chunk * per_chunk).take(per_chunk) {
                    let row = finder.by_rowid(id).expect("read").expect("row exists");
                    digest += digest_ours(&row);
                }
                digest
            },
            |chunk| {
                let mut digest = 0;
                for &id in rowids.iter().skip(chunk * per_chunk).take(per_chunk) {
                    let mut rows = by_rowid.query([id]).expect("query");
                    let row = rows.next().expect("read").expect("row exists");
                    digest += digest_sqlite(row, 5);
                }
                digest
            },
        );

        let mut by_email = conn
            .prepare("SELECT * FROM people WHERE email = ?1")
            .expect("prepare");
        let mut entries = db
            .entries(index, Bound::Unbounded, Bound::Unbounded)
            .expect("index");
        let indexed = race(
            "index",
            CHUNKS,
            |chunk| {
                let mut digest = 0;
                for email in emails.iter().skip(chunk * per_chunk).take(per_chunk) {
                    let key = [Value::Text(email.clone())];
                    entries
                        .seek(Bound::Included(&key), Bound::Included(&key))
                        .expect("seek");
                    while let Some(entry) = entries.next_entry().expect("entry") {
                        let rowid = entry.rowid().expect("rowid");
                        let row = finder.by_rowid(rowid).expect("read").expect("row exists");
                        digest += digest_ours(&row);
                    }
                }
                digest
            },
            |chunk| {
                let mut digest = 0;
                for email in emails.iter().skip(chunk * per_chunk).take(per_chunk) {
                    let mut rows = by_email.query([email]).expect("query");
                    while let Some(row) = rows.next().expect("read") {
                        digest += digest_sqlite(row, 5);
                    }
                }
                digest
            },
        );
        for (slot, (ours, theirs)) in best.iter_mut().zip([scan, rowid, indexed]) {
            slot.0 = slot.0.min(ours);
            slot.1 = slot.1.min(theirs);
        }
    }

    println!(
        "cairn-sqlite vs SQLite {} (rusqlite bundled) reading one {:.0} MB file of {} rows; 100 MiB page cache each; best of {} rounds",
        rusqlite::version(),
        size as f64 / 1e6,
        args.rows,
        args.rounds
    );
    println!(
        "{:<8} {:>9} {:>14} {:>14} {:>8}",
        "workload", "ops", "cairn-sqlite/s", "sqlite/s", "ratio"
    );
    for (name, ops, (ours, theirs)) in [
        ("scan", args.rows, best[0]),
        ("rowid", args.lookups, best[1]),
        ("index", args.lookups, best[2]),
    ] {
        let (ours, theirs) = (ops as f64 / ours, ops as f64 / theirs);
        println!(
            "{name:<8} {ops:>9} {ours:>14.0} {theirs:>14.0} {:>7.2}x",
            ours / theirs
        );
    }
}
