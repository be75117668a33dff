//! cairn-page against SQLite (rusqlite, bundled): the same table workloads, one run, ops/s
//! and ratios.
//!
//! The table is (integer key, 100-byte value). cairn-page runs it in two layouts:
//! * `cairn-tree`: a B+tree clustered on the key (order-preserving encoding) holding the row,
//!   the layout SQLite gives `CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)`;
//! * `cairn-heap`: PostgreSQL's layout, a heap holding the rows and a unique B+tree mapping
//!   the key to the row's tuple id (every lookup reads two structures).
//!
//! Workloads:
//! * `insert-1000`: N rows (default 1M) in transactions of 1000, keys in random order;
//! * `insert-1`: M more rows (default 20k) in transactions of one row each;
//! * `lookup`: random point lookups of existing keys (default 200k), value read;
//! * `scan-1000`: range scans of 1000 consecutive keys from a random start (default 2000),
//!   every value read.
//!
//! The engines take turns within each workload, a chunk at a time, so that what the machine
//! does meanwhile falls on all of them alike.
//!
//! Same durability: a commit is fsynced before it returns — cairn-page `sync_commit`,
//! SQLite `journal_mode=WAL` with `synchronous=FULL`. Same memory: 128 MiB of page cache
//! each (cairn's default buffer pool; SQLite `cache_size=-131072`).

use std::ops::Bound;
use std::time::Instant;

use cairn_page::{encode_key, KeyValue, PageStore, StoreOptions};

struct Args {
    rows: u64,
    single: u64,
    lookups: u64,
    scans: u64,
    cache_mb: usize,
    dir: Option<std::path::PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: page [--rows N] [--single M] [--lookups L] [--scans S] [--quick] [--dir DIR]\n\
         --rows     rows inserted in transactions of 1000 (default 1000000)\n\
         --single   rows inserted in transactions of one row (default 20000)\n\
         --lookups  random point lookups (default 200000)\n\
         --scans    range scans of 1000 rows (default 2000)\n\
         --quick    100k rows, 5000 single-row transactions\n\
         --cache-mb page cache of each engine (default 128)"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        rows: 1_000_000,
        single: 20_000,
        lookups: 200_000,
        scans: 2000,
        cache_mb: 128,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>| v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => args.rows = num(it.next()),
            "--single" => args.single = num(it.next()),
            "--lookups" => args.lookups = num(it.next()),
            "--scans" => args.scans = num(it.next()),
            "--quick" => {
                args.rows = 100_000;
                args.single = 5000;
            }
            "--cache-mb" => args.cache_mb = num(it.next()) as usize,
            "--dir" => args.dir = Some(it.next().unwrap_or_else(|| usage()).into()),
            _ => usage(),
        }
    }
    args
}

/// A permutation of 0..n, the same in every run.
fn permutation(n: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n).collect();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn random_keys(count: u64, below: u64, seed: u64) -> Vec<u64> {
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

fn value_for(k: u64) -> Vec<u8> {
    let mut v = vec![0u8; 100];
    for (i, b) in v.iter_mut().enumerate() {
        *b = (k as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    v
}

/// One engine's side of the benchmark.
trait Table {
    fn insert_batch(&mut self, keys: &[u64]);
    fn lookup(&mut self, key: u64) -> usize;
    fn scan(&mut self, from: u64, count: u64) -> usize;
    /// What to say about the engine's cache after the run.
    fn report(&self) -> String {
        String::new()
    }
}

fn pool_report(store: &PageStore) -> String {
    let s = store.stats().expect("stats");
    format!(
        "{} pages, pool hits {} misses {} writes {}, {} log fsyncs",
        s.pages, s.pool.hits, s.pool.misses, s.pool.writes, s.log_syncs
    )
}

/// The heap-and-index layout.
struct CairnHeap {
    store: &'static PageStore,
    heap: cairn_page::Heap<'static>,
    index: cairn_page::BTree<'static>,
}

/// The clustered layout.
struct CairnTree {
    store: &'static PageStore,
    tree: cairn_page::BTree<'static>,
}

impl Table for CairnTree {
    fn report(&self) -> String {
        pool_report(self.store)
    }

    fn insert_batch(&mut self, keys: &[u64]) {
        let mut txn = self.store.begin().expect("begin");
        for &k in keys {
            self.tree
                .insert(&mut txn, &int_key(k), &value_for(k), true)
                .expect("insert");
        }
        txn.commit().expect("commit");
    }

    fn lookup(&mut self, key: u64) -> usize {
        let values = self.tree.get(&int_key(key)).expect("get");
        values.iter().map(Vec::len).sum()
    }

    fn scan(&mut self, from: u64, count: u64) -> usize {
        let (lo, hi) = (int_key(from), int_key(from + count));
        let mut n = 0;
        self.tree
            .for_each(Bound::Included(&lo), Bound::Excluded(&hi), |_, v| {
                n += v.len();
                true
            })
            .expect("scan");
        n
    }
}

fn int_key(k: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    encode_key(&[KeyValue::Int(k as i64)], &mut out);
    out
}

fn tid_bytes(tid: cairn_page::TupleId) -> [u8; 6] {
    let mut b = [0u8; 6];
    b[..4].copy_from_slice(&tid.0.to_be_bytes());
    b[4..].copy_from_slice(&tid.1.to_be_bytes());
    b
}

fn tid_of(b: &[u8]) -> cairn_page::TupleId {
    (
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
    )
}

impl Table for CairnHeap {
    fn report(&self) -> String {
        pool_report(self.store)
    }

    fn insert_batch(&mut self, keys: &[u64]) {
        let mut txn = self.store.begin().expect("begin");
        for &k in keys {
            let tid = self.heap.insert(&mut txn, &value_for(k)).expect("insert");
            self.index
                .insert(&mut txn, &int_key(k), &tid_bytes(tid), true)
                .expect("index insert");
        }
        txn.commit().expect("commit");
    }

    fn lookup(&mut self, key: u64) -> usize {
        let tids = self.index.get(&int_key(key)).expect("get");
        tids.iter()
            .map(|t| {
                self.heap
                    .get(tid_of(t))
                    .expect("get")
                    .map_or(0, |v| v.len())
            })
            .sum()
    }

    fn scan(&mut self, from: u64, count: u64) -> usize {
        let (lo, hi) = (int_key(from), int_key(from + count));
        let mut tids = Vec::with_capacity(count as usize);
        self.index
            .for_each(Bound::Included(&lo), Bound::Excluded(&hi), |_, t| {
                tids.push(tid_of(t));
                true
            })
            .expect("scan");
        tids.iter()
            .map(|&t| self.heap.get(t).expect("get").map_or(0, |v| v.len()))
            .sum()
    }
}

struct Sqlite {
    conn: rusqlite::Connection,
}

impl Table for Sqlite {
    fn insert_batch(&mut self, keys: &[u64]) {
        let txn = self.conn.transaction().expect("begin");
        {
            let mut stmt = txn
                .prepare_cached("INSERT INTO t (k, v) VALUES (?1, ?2)")
                .expect("prepare");
            for &k in keys {
                stmt.execute(rusqlite::params![k as i64, value_for(k)])
                    .expect("insert");
            }
        }
        txn.commit().expect("commit");
    }

    fn lookup(&mut self, key: u64) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT v FROM t WHERE k = ?1")
            .expect("prepare");
        let mut rows = stmt.query([key as i64]).expect("query");
        let mut n = 0;
        while let Some(row) = rows.next().expect("row") {
            n += row.get_ref(0).expect("v").as_blob().expect("blob").len();
        }
        n
    }

    fn scan(&mut self, from: u64, count: u64) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT k, v FROM t WHERE k >= ?1 AND k < ?2")
            .expect("prepare");
        let mut rows = stmt
            .query([from as i64, (from + count) as i64])
            .expect("query");
        let mut n = 0;
        while let Some(row) = rows.next().expect("row") {
            n += row.get_ref(1).expect("v").as_blob().expect("blob").len();
        }
        n
    }
}

fn open_store(dir: &std::path::Path, cache_mb: usize) -> &'static PageStore {
    let options = StoreOptions {
        frames: (cache_mb << 20) / cairn_page::PAGE_SIZE,
        ..StoreOptions::default()
    };
    Box::leak(Box::new(
        PageStore::open(dir, options).expect("open cairn-page"),
    ))
}

fn open_cairn_heap(dir: &std::path::Path, cache_mb: usize) -> CairnHeap {
    let store = open_store(&dir.join("cairn-heap"), cache_mb);
    let heap = store
        .heap(store.create_heap().expect("heap"))
        .expect("heap");
    let index = store.btree(store.create_btree().expect("btree"));
    CairnHeap { store, heap, index }
}

fn open_cairn_tree(dir: &std::path::Path, cache_mb: usize) -> CairnTree {
    let store = open_store(&dir.join("cairn-tree"), cache_mb);
    let tree = store.btree(store.create_btree().expect("btree"));
    CairnTree { store, tree }
}

fn open_sqlite(dir: &std::path::Path, cache_mb: usize) -> Sqlite {
    let conn = rusqlite::Connection::open(dir.join("sqlite.db")).expect("open sqlite");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    conn.pragma_update(None, "cache_size", -((cache_mb as i64) << 10))
        .expect("cache");
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)", [])
        .expect("create");
    Sqlite { conn }
}

const ENGINES: usize = 3;

struct Row {
    name: &'static str,
    ops: u64,
    secs: [f64; ENGINES],
}

/// Runs `op` on every item for every engine, the engines taking turns a chunk of `chunk`
/// items at a time, so that whatever the machine does meanwhile (the kernel writing back what
/// an earlier phase left dirty, say) falls on all of them alike. Returns each engine's total
/// time and the sum of what `op` returned for it.
fn interleaved<T>(
    tables: &mut [Box<dyn Table>; ENGINES],
    items: &[T],
    chunk: usize,
    mut op: impl FnMut(&mut dyn Table, &T) -> usize,
) -> ([f64; ENGINES], [usize; ENGINES]) {
    let mut secs = [0.0; ENGINES];
    let mut sums = [0usize; ENGINES];
    for part in items.chunks(chunk.max(1)) {
        for (i, t) in tables.iter_mut().enumerate() {
            let start = Instant::now();
            for item in part {
                sums[i] += op(t.as_mut(), item);
            }
            secs[i] += start.elapsed().as_secs_f64();
        }
    }
    (secs, sums)
}

fn main() {
    let args = parse_args();
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().expect("tempdir");
            tmp.path().to_path_buf()
        }
    };
    let mut tables: [Box<dyn Table>; ENGINES] = [
        Box::new(open_cairn_tree(&dir, args.cache_mb)),
        Box::new(open_cairn_heap(&dir, args.cache_mb)),
        Box::new(open_sqlite(&dir, args.cache_mb)),
    ];
    let names = ["cairn-tree", "cairn-heap", "sqlite"];
    let keys = permutation(args.rows);
    let mut rows = Vec::new();

    let batches: Vec<&[u64]> = keys.chunks(1000).collect();
    let (secs, _) = interleaved(&mut tables, &batches, 20, |t, batch| {
        t.insert_batch(batch);
        0
    });
    rows.push(Row {
        name: "insert-1000",
        ops: args.rows,
        secs,
    });

    let extra: Vec<u64> = (args.rows..args.rows + args.single).collect();
    let (secs, _) = interleaved(&mut tables, &extra, 200, |t, &k| {
        t.insert_batch(std::slice::from_ref(&k));
        0
    });
    rows.push(Row {
        name: "insert-1",
        ops: args.single,
        secs,
    });

    let total = args.rows + args.single;

    let probes = random_keys(args.lookups, total, 7);
    let (secs, checks) = interleaved(&mut tables, &probes, 10_000, |t, &k| t.lookup(k));
    assert!(
        checks.iter().all(|&c| c == checks[0]),
        "the engines returned different lookups"
    );
    assert_eq!(checks[0], probes.len() * 100, "a lookup missed");
    rows.push(Row {
        name: "lookup",
        ops: args.lookups,
        secs,
    });

    let starts = random_keys(args.scans, total.saturating_sub(1000).max(1), 11);
    let (secs, checks) = interleaved(&mut tables, &starts, 100, |t, &k| t.scan(k, 1000));
    assert!(
        checks.iter().all(|&c| c == checks[0]),
        "the engines returned different scans"
    );
    rows.push(Row {
        name: "scan-1000",
        ops: args.scans,
        secs,
    });

    for (name, t) in names.iter().zip(tables.iter()) {
        let r = t.report();
        if !r.is_empty() {
            eprintln!("{name}: {r}");
        }
    }
    println!(
        "cairn-page vs SQLite {} (rusqlite bundled): {} rows of (int, 100 B); fsync on commit; {} MiB cache each",
        rusqlite::version(),
        total,
        args.cache_mb
    );
    println!(
        "{:<12} {:>9} {:>12} {:>12} {:>12} {:>11} {:>11}",
        "workload", "ops", "cairn-tree/s", "cairn-heap/s", "sqlite/s", "tree/sqlite", "heap/sqlite"
    );
    for r in rows {
        let per_s: Vec<f64> = r.secs.iter().map(|s| r.ops as f64 / s).collect();
        println!(
            "{:<12} {:>9} {:>12.0} {:>12.0} {:>12.0} {:>10.2}x {:>10.2}x",
            r.name,
            r.ops,
            per_s[0],
            per_s[1],
            per_s[2],
            per_s[0] / per_s[2],
            per_s[1] / per_s[2]
        );
    }
}
