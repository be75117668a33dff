//! Databases written by real SQLite (rusqlite's bundled library), read by cairn-sqlite and
//! compared row by row and look-up by look-up with SQLite's own answers.

mod common;

use std::ops::Bound;
use std::path::{Path, PathBuf};

use cairn_sqlite::{Database, Error, Options, TextEncoding, Value};
use common::{check_database, check_database_with};
use rusqlite::{params, Connection};

fn new_db(dir: &tempfile::TempDir, name: &str, pragmas: &str) -> (PathBuf, Connection) {
    let path = dir.path().join(name);
    let conn = Connection::open(&path).expect("sqlite creates the file");
    conn.execute_batch(pragmas).expect("pragmas");
    (path, conn)
}

/// A deterministic stream of pseudo-random numbers (SplitMix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn text(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'a' + (self.next() % 26) as u8))
            .collect()
    }
}

#[test]
fn every_serial_type_and_null() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(&dir, "types.db", "");
    conn.execute_batch("CREATE TABLE v(x, note TEXT); CREATE INDEX v_x ON v(x);")
        .expect("schema");
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    use rusqlite::types::Value as V;
    for shift in [0u32, 7, 8, 15, 16, 23, 24, 31, 32, 47, 48, 55, 62] {
        let n = 1i64 << shift;
        values.extend([
            V::Integer(n),
            V::Integer(-n),
            V::Integer(n - 1),
            V::Integer(-n - 1),
        ]);
    }
    values.extend([
        V::Integer(i64::MAX),
        V::Integer(i64::MIN),
        V::Integer(0),
        V::Integer(1),
    ]);
    values.extend(
        [
            0.5,
            -0.0,
            1e300,
            -1e-300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            3.0,
        ]
        .map(V::Real),
    );
    values.extend(["", "text", "日本語 🎉", "with\0nul"].map(|s| V::Text(s.into())));
    values.extend([V::Blob(vec![]), V::Blob(vec![0, 1, 2, 255]), V::Null]);
    for value in &values {
        conn.execute("INSERT INTO v(x, note) VALUES (?1, typeof(?1))", [value])
            .expect("insert");
    }
    let checked = check_database(&path, 100);
    assert_eq!(
        checked.rows,
        values.len() + 2,
        "every value plus the two schema rows"
    );
    assert!(checked.lookups >= 60);
}

#[test]
fn large_values_spill_to_overflow_chains_in_tables_and_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    for page_size in [512, 4096] {
        let (path, conn) = new_db(
            &dir,
            &format!("large-{page_size}.db"),
            &format!("PRAGMA page_size={page_size};"),
        );
        conn.execute_batch("CREATE TABLE big(id INTEGER PRIMARY KEY, t TEXT, b BLOB); CREATE INDEX big_t ON big(t);")
            .expect("schema");
        let mut random = Random(page_size as u64);
        // Sizes around every threshold of both page sizes, then large ones.
        let mut sizes: Vec<usize> = (0..40).map(|i| 90 + i * 37).collect();
        sizes.extend([4000, 4061, 4062, 4063, 8000, 100_000, 3 << 20]);
        for size in sizes {
            let text = random.text(size.min(200_000));
            let blob: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
            conn.execute("INSERT INTO big(t, b) VALUES (?1, ?2)", params![text, blob])
                .expect("insert");
        }
        let checked = check_database(&path, 50);
        assert!(checked.lookups >= 40, "{checked:?}");
    }
}

#[test]
fn two_hundred_thousand_rows_make_a_multi_level_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, mut conn) = new_db(
        &dir,
        "many.db",
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;",
    );
    conn.execute_batch(
        "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL);
         CREATE INDEX people_name ON people(name);
         CREATE INDEX people_age_score ON people(age, score DESC);",
    )
    .expect("schema");
    let mut random = Random(200_000);
    let txn = conn.transaction().expect("txn");
    {
        let mut insert = txn
            .prepare("INSERT INTO people(name, age, score) VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for _ in 0..200_000 {
            let len = 4 + (random.next() % 12) as usize;
            let name = random.text(len);
            let age = (random.next() % 100) as i64;
            let score = (random.next() % 10_000) as f64 / 100.0;
            insert.execute(params![name, age, score]).expect("insert");
        }
    }
    txn.commit().expect("commit");
    drop(conn);
    let checked = check_database(&path, 300);
    assert_eq!(checked.rows, 200_000 + 3);
    let db = Database::open(&path).expect("opens");
    assert!(db.page_count() > 2000, "{} pages", db.page_count());

    // Range scans with every kind of bound, against SQLite's ORDER BY.
    let sqlite = Connection::open(&path).expect("sqlite");
    let name_index = db.index("people_name").expect("index");
    let mut random = Random(5);
    for _ in 0..40 {
        let (a, b) = (random.text(2), random.text(2));
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let (low_key, high_key) = ([Value::Text(low.clone())], [Value::Text(high.clone())]);
        let inclusive = random.next().is_multiple_of(2);
        let (lower, upper, sql) = if inclusive {
            (
                Bound::Included(&low_key[..]),
                Bound::Included(&high_key[..]),
                "name >= ?1 AND name <= ?2",
            )
        } else {
            (
                Bound::Excluded(&low_key[..]),
                Bound::Excluded(&high_key[..]),
                "name > ?1 AND name < ?2",
            )
        };
        let ours = rowids(db.entries(name_index, lower, upper).expect("range"));
        let theirs = sqlite_rowids(
            &sqlite,
            &format!("SELECT id FROM people WHERE {sql} ORDER BY name, id"),
            params![low, high],
        );
        assert_eq!(ours, theirs, "names from {low} to {high}");
    }
    // A DESC second column: a prefix range on age walks score from high to low.
    let age_index = db.index("people_age_score").expect("index");
    let ours = rowids(
        db.entries(
            age_index,
            Bound::Included(&[Value::Integer(30)]),
            Bound::Excluded(&[Value::Integer(32)]),
        )
        .expect("range"),
    );
    let theirs = sqlite_rowids(
        &sqlite,
        "SELECT id FROM people WHERE age >= 30 AND age < 32 ORDER BY age, score DESC, id",
        params![],
    );
    assert!(ours.len() > 1000);
    assert_eq!(ours, theirs);
    // A small cache reads the same rows.
    let small = Database::open_with(
        &path,
        Options {
            cache_bytes: 64 * 1024,
        },
    )
    .expect("opens");
    assert_eq!(
        small.read_everything().expect("reads"),
        db.read_everything().expect("reads")
    );
}

fn rowids(mut entries: cairn_sqlite::Entries<'_>) -> Vec<i64> {
    let mut rowids = Vec::new();
    while let Some(entry) = entries.next_entry().expect("entry") {
        rowids.push(entry.rowid().expect("rowid"));
    }
    rowids
}

fn sqlite_rowids(sqlite: &Connection, sql: &str, params: impl rusqlite::Params) -> Vec<i64> {
    let mut statement = sqlite.prepare(sql).expect("prepare");
    statement
        .query_map(params, |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn without_rowid_tables_with_composite_keys_and_their_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(&dir, "norowid.db", "");
    conn.execute_batch(
        "CREATE TABLE stock(shop TEXT COLLATE NOCASE, item INTEGER, qty INT, note TEXT UNIQUE, price REAL,
             PRIMARY KEY (shop, item DESC)) WITHOUT ROWID;
         CREATE INDEX stock_qty ON stock(qty);
         CREATE INDEX stock_item_shop ON stock(item, shop);
         CREATE TABLE tags(tag TEXT PRIMARY KEY, n) WITHOUT ROWID;",
    )
    .expect("schema");
    let mut random = Random(7);
    for i in 0..3000 {
        let shop = ["North", "south", "EAST", "west"][i % 4];
        conn.execute(
            "INSERT INTO stock VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                shop,
                i as i64 / 4,
                (random.next() % 50) as i64,
                format!("note {i}"),
                i as f64 * 0.25
            ],
        )
        .expect("insert");
        conn.execute(
            "INSERT OR REPLACE INTO tags VALUES (?1, ?2)",
            params![random.text(3), i],
        )
        .expect("insert");
    }
    let checked = check_database(&path, 200);
    assert_eq!(checked.tables, 3);
    assert_eq!(
        checked.indexes, 3,
        "two explicit and the automatic one of UNIQUE note; keys have none"
    );

    let db = Database::open(&path).expect("opens");
    let stock = db.table("stock").expect("table");
    let row = db
        .row_by_primary_key(
            stock,
            &[Value::Text("NORTH".into()), Value::Text("10".into())],
        )
        .expect("lookup")
        .expect("NOCASE key and INTEGER affinity find the row");
    assert_eq!(row.values[0], Value::Text("North".into()));
    assert_eq!(row.values[1], Value::Integer(10));
    assert!(db
        .row_by_primary_key(
            stock,
            &[Value::Text("North".into()), Value::Integer(100_000)]
        )
        .expect("ok")
        .is_none());
}

#[test]
fn composite_descending_collated_expression_and_partial_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(&dir, "indexes.db", "");
    conn.execute_batch(
        "CREATE TABLE t(a INTEGER, b TEXT COLLATE NOCASE, c TEXT COLLATE RTRIM, d REAL, e BLOB, UNIQUE(c, a));
         CREATE INDEX t_a_desc_b ON t(a DESC, b, c COLLATE BINARY);
         CREATE INDEX t_lower ON t(lower(b), d);
         CREATE INDEX t_partial ON t(d) WHERE a > 50;
         CREATE INDEX t_e ON t(e DESC);",
    )
    .expect("schema");
    let mut random = Random(11);
    for i in 0..2000i64 {
        let b =
            ["Apple", "apple", "APPLE", "banana", "Banana", "cherry"][(random.next() % 6) as usize];
        let c = format!(
            "{}{}",
            random.text(2),
            " ".repeat((random.next() % 3) as usize)
        );
        let d: Option<f64> = (i % 7 != 0).then(|| (random.next() % 1000) as f64 / 8.0);
        let e: Vec<u8> = (0..(random.next() % 4))
            .map(|_| random.next() as u8)
            .collect();
        conn.execute(
            "INSERT OR IGNORE INTO t VALUES (?1, ?2, ?3, ?4, ?5)",
            params![i % 100, b, c, d, e],
        )
        .expect("insert");
    }
    let checked = check_database(&path, 150);
    assert_eq!(checked.indexes, 5);
}

#[test]
fn utf16_databases_read_and_seek_in_their_own_encoding() {
    for (encoding, expected) in [
        ("UTF-16le", TextEncoding::Utf16Le),
        ("UTF-16be", TextEncoding::Utf16Be),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, conn) = new_db(&dir, "utf16.db", &format!("PRAGMA encoding='{encoding}';"));
        conn.execute_batch(
            "CREATE TABLE words(w TEXT, n INTEGER, nc TEXT COLLATE NOCASE);
             CREATE INDEX words_w ON words(w); CREATE INDEX words_nc ON words(nc);",
        )
        .expect("schema");
        let words = [
            "héllo",
            "world",
            "日本語",
            "🎉 party",
            "Zebra",
            "apple",
            "ÄPFEL",
            "",
            "\u{ffff}",
            "a\u{10000}",
        ];
        for (i, word) in words.iter().cycle().take(500).enumerate() {
            conn.execute(
                "INSERT INTO words VALUES (?1, ?2, ?1)",
                params![format!("{word}{}", i % 13), i],
            )
            .expect("insert");
        }
        let db = Database::open(&path).expect("opens");
        assert_eq!(db.header().text_encoding, expected);
        let checked = check_database(&path, 100);
        assert_eq!(checked.rows, 500 + 3);
    }
}

#[test]
fn wal_mode_frames_not_yet_checkpointed_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(
        &dir,
        "wal.db",
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;",
    );
    conn.execute_batch(
        "CREATE TABLE log(id INTEGER PRIMARY KEY, msg TEXT); CREATE INDEX log_msg ON log(msg);",
    )
    .expect("schema");
    for i in 0..2000 {
        conn.execute("INSERT INTO log(msg) VALUES (?1)", [format!("message {i}")])
            .expect("insert");
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    // After the checkpoint: changes only in the WAL, including a new table and a delete.
    conn.execute_batch(
        "DELETE FROM log WHERE id % 3 = 0; UPDATE log SET msg = 'changed' WHERE id % 5 = 0;
         CREATE TABLE later(x); INSERT INTO later VALUES (1), (2);",
    )
    .expect("changes");
    let wal = wal_path(&path);
    assert!(std::fs::metadata(&wal).expect("wal exists").len() > 0);

    let db = Database::open(&path).expect("opens");
    assert!(db.wal_frames() > 0);
    assert!(db.header().wal_mode());
    let checked = check_database_with(&conn, &path, 100);
    assert_eq!(checked.tables, 3);

    // A torn last transaction: copy the files, cut the WAL inside its last frame, and both
    // readers see the database without that transaction.
    conn.execute("INSERT INTO later VALUES (3)", [])
        .expect("insert");
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copy");
    let wal_bytes = std::fs::read(&wal).expect("wal");
    std::fs::write(wal_path(&copy), &wal_bytes[..wal_bytes.len() - 100]).expect("torn wal");
    let torn = Database::open(&copy).expect("opens");
    let later: Vec<_> = torn
        .rows(torn.table("later").expect("table"))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(later.len(), 2, "the torn insert is not seen");
    drop(conn);
    check_database(&copy, 20);
}

fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

#[test]
fn every_page_size_from_512_to_65536() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shift in 9..=16 {
        let page_size = 1u32 << shift;
        let (path, conn) = new_db(
            &dir,
            &format!("p{page_size}.db"),
            &format!("PRAGMA page_size={page_size};"),
        );
        conn.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v);",
        )
        .expect("schema");
        let mut random = Random(u64::from(page_size));
        for _ in 0..600 {
            let len = (random.next() % 3000) as usize;
            conn.execute("INSERT INTO t(v) VALUES (?1)", [random.text(len)])
                .expect("insert");
        }
        drop(conn);
        let db = Database::open(&path).expect("opens");
        assert_eq!(db.header().page_size, page_size);
        check_database(&path, 30);
    }
}

#[test]
fn auto_vacuum_databases_and_freelists_after_many_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, mode) in [("none", 0), ("full", 1), ("incremental", 2)] {
        let (path, conn) = new_db(
            &dir,
            &format!("{name}.db"),
            &format!("PRAGMA auto_vacuum={mode};"),
        );
        conn.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(v);",
        )
        .expect("schema");
        for i in 0..3000i64 {
            conn.execute(
                "INSERT INTO t(v) VALUES (?1)",
                [vec![i as u8; 300 + (i % 700) as usize]],
            )
            .expect("insert");
        }
        conn.execute("DELETE FROM t WHERE id % 4 != 0", [])
            .expect("delete");
        let freelist: u32 = conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .expect("pragma");
        drop(conn);
        let db = Database::open(&path).expect("opens");
        assert_eq!(db.header().auto_vacuum(), mode != 0, "{name}");
        assert_eq!(db.header().incremental_vacuum != 0, mode == 2, "{name}");
        if mode == 1 {
            assert_eq!(freelist, 0, "full auto-vacuum leaves no free pages");
        } else {
            assert!(freelist > 100, "{name}: {freelist} free pages");
        }
        check_database(&path, 40);
    }
}

#[test]
fn columns_added_by_alter_table_read_their_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(&dir, "alter.db", "");
    conn.execute_batch(
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b);
         INSERT INTO t(b) VALUES ('old 1'), ('old 2');
         ALTER TABLE t ADD COLUMN c INTEGER DEFAULT '5';
         ALTER TABLE t ADD COLUMN d TEXT DEFAULT 7;
         ALTER TABLE t ADD COLUMN e DEFAULT (-3.5);
         ALTER TABLE t ADD COLUMN f DEFAULT x'0102';
         ALTER TABLE t ADD COLUMN g INTEGER DEFAULT '5x';
         ALTER TABLE t ADD COLUMN h;
         ALTER TABLE t ADD COLUMN i TEXT DEFAULT 'it''s';
         INSERT INTO t(b, c, d) VALUES ('new', 1, 'x');
         CREATE INDEX t_c ON t(c);",
    )
    .expect("schema");
    check_database(&path, 10);
    let db = Database::open(&path).expect("opens");
    let row = db
        .row(db.table("t").expect("t"), 1)
        .expect("read")
        .expect("row 1");
    assert_eq!(
        row.values,
        vec![
            Value::Integer(1),
            Value::Text("old 1".into()),
            Value::Integer(5),
            Value::Text("7".into()),
            Value::Real(-3.5),
            Value::Blob(vec![1, 2]),
            Value::Text("5x".into()),
            Value::Null,
            Value::Text("it's".into()),
        ]
    );
}

#[test]
fn generated_columns_views_triggers_and_strict_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(&dir, "misc.db", "");
    conn.execute_batch(
        "CREATE TABLE g(a INT, b AS (a * 2) STORED, c TEXT, d AS (a + 1) VIRTUAL, e);
         INSERT INTO g(a, c, e) VALUES (1, 'x', 5), (2, 'y', 6);
         CREATE TABLE s(id INTEGER PRIMARY KEY, n INT, t TEXT, any_value ANY) STRICT;
         INSERT INTO s VALUES (1, 2, 'three', 4.5), (2, NULL, NULL, 'text');
         CREATE VIEW v AS SELECT a, c FROM g;
         CREATE TRIGGER tr AFTER INSERT ON g BEGIN INSERT INTO s(n) VALUES (new.a); END;
         CREATE TABLE \"odd \"\"name\"\"\"([weird col] TEXT, `back` INT);
         INSERT INTO \"odd \"\"name\"\"\" VALUES ('w', 1);",
    )
    .expect("schema");
    check_database(&path, 10);
    let db = Database::open(&path).expect("opens");
    let g = db.table("g").expect("g");
    let readable: Vec<_> = g.readable_columns().map(|c| c.name.as_str()).collect();
    assert_eq!(
        readable,
        ["a", "b", "c", "e"],
        "virtual columns are not in the file"
    );
    let kinds: Vec<_> = db
        .schema()
        .entries
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, ["table", "table", "view", "trigger", "table"]);
    assert!(db.table("odd \"name\"").is_ok());
}

#[test]
fn unknown_names_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(&dir, "names.db", "");
    conn.execute_batch("CREATE TABLE t(x); CREATE INDEX t_x ON t(x);")
        .expect("schema");
    let db = Database::open(&path).expect("opens");
    assert!(matches!(db.table("nope"), Err(Error::NoSuchTable(_))));
    assert!(matches!(db.index("nope"), Err(Error::NoSuchIndex(_))));
    let index = db.index("t_x").expect("index");
    let error = db
        .lookup(index, &[Value::Integer(1), Value::Integer(2)])
        .expect_err("too many values");
    assert!(error.to_string().contains("has 1 columns"), "{error}");
}

#[test]
fn a_hot_rollback_journal_is_refused_and_a_finished_one_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, conn) = new_db(
        &dir,
        "journal.db",
        "PRAGMA cache_size=1; PRAGMA journal_mode=PERSIST;",
    );
    conn.execute_batch("CREATE TABLE t(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t SELECT randomblob(100) FROM n;")
        .expect("fill");
    // A committed transaction in PERSIST mode leaves a journal whose header is zeroed.
    assert!(Path::new(&format!("{}-journal", path.display())).exists());
    check_database(&path, 10);

    // Mid-transaction, with a cache too small to hold the changes, SQLite has written pages
    // to the file and their originals to the journal: a copy of both is a crash's leftovers.
    conn.execute_batch("BEGIN; UPDATE t SET x = zeroblob(100);")
        .expect("update");
    let copy = dir.path().join("crashed.db");
    std::fs::copy(&path, &copy).expect("copy");
    std::fs::copy(
        format!("{}-journal", path.display()),
        format!("{}-journal", copy.display()),
    )
    .expect("copy journal");
    conn.execute_batch("ROLLBACK").expect("rollback");
    let error = Database::open(&copy)
        .err()
        .expect("a hot journal is refused");
    assert!(matches!(error, Error::HotJournal { .. }), "{error}");
    // SQLite rolls the journal back on open; then the file reads.
    drop(
        Connection::open(&copy)
            .expect("sqlite")
            .query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)),
    );
    check_database(&copy, 10);
}

#[test]
fn reserved_bytes_at_the_end_of_each_page_are_not_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("reserved.db");
    // An empty database whose header reserves 32 bytes per page: SQLite keeps to that for
    // every page it writes afterwards.
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch("PRAGMA page_size=1024; VACUUM;")
        .expect("page 1");
    drop(conn);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[20] = 32;
    // Page 1's empty b-tree: its content area now starts where the usable part ends.
    bytes[105..107].copy_from_slice(&(1024u16 - 32).to_be_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let conn = Connection::open(&path).expect("open");
    conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v);")
        .expect("schema");
    let mut random = Random(32);
    for _ in 0..500 {
        let len = (random.next() % 2500) as usize;
        conn.execute("INSERT INTO t(v) VALUES (?1)", [random.text(len)])
            .expect("insert");
    }
    drop(conn);
    let db = Database::open(&path).expect("opens");
    assert_eq!(db.header().reserved_bytes, 32);
    check_database(&path, 50);
}
