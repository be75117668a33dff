//! Damaged files: what is not SQLite, truncated files, cycles in b-tree and overflow
//! pointers, out-of-range offsets, and random damage. Every case must end in data or a clear
//! error — never a panic, a hang or an allocation beyond the file's size.

use std::path::{Path, PathBuf};

use cairn_sqlite::{Database, Error, Value};
use proptest::prelude::*;
use rusqlite::{params, Connection};

const PAGE: usize = 512;

/// A small database of 512-byte pages holding a multi-level table, an index, a WITHOUT
/// ROWID table, values on overflow chains and free pages.
fn base_database(dir: &Path) -> PathBuf {
    let path = dir.join("base.db");
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch(&format!(
        "PRAGMA page_size={PAGE}; PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY;
         CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, data BLOB);
         CREATE INDEX t_name ON t(name);
         CREATE TABLE k(a TEXT, b INT, PRIMARY KEY (a, b)) WITHOUT ROWID;
         CREATE TABLE big(payload BLOB);"
    ))
    .expect("schema");
    conn.execute_batch("BEGIN").expect("begin");
    for i in 0..300i64 {
        conn.execute(
            "INSERT INTO t(name, data) VALUES (?1, ?2)",
            params![format!("name {i}"), vec![i as u8; 40]],
        )
        .expect("insert");
        conn.execute(
            "INSERT INTO k VALUES (?1, ?2)",
            params![format!("k{}", i % 17), i],
        )
        .expect("insert");
    }
    let pattern: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    conn.execute("INSERT INTO big VALUES (?1)", [pattern])
        .expect("insert");
    conn.execute_batch("COMMIT").expect("commit");
    conn.execute("DELETE FROM t WHERE id > 250", [])
        .expect("delete");
    path
}

fn root_page(path: &Path, name: &str) -> usize {
    let conn = Connection::open(path).expect("open");
    conn.query_row(
        "SELECT rootpage FROM sqlite_schema WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .expect("root page")
}

/// Opens and reads everything; returns the error if any. Panics only if the reader does.
fn read(path: &Path) -> Result<u64, Error> {
    let db = Database::open(path)?;
    let read = db.read_everything()?;
    if let Ok(index) = db.index("t_name") {
        db.lookup(index, &[Value::Text("name 7".into())])?;
    }
    if let Ok(table) = db.table("t") {
        db.row(table, 42)?;
    }
    Ok(read)
}

fn damaged(dir: &Path, base: &Path, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    damaged_bytes(dir, std::fs::read(base).expect("read base"), damage)
}

fn damaged_bytes(dir: &Path, mut bytes: Vec<u8>, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    damage(&mut bytes);
    let path = dir.join("damaged.db");
    std::fs::write(&path, bytes).expect("write");
    path
}

fn word(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

#[test]
fn the_base_database_reads_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_database(dir.path());
    assert!(read(&base).expect("reads") > 600);
}

#[test]
fn files_that_are_not_sqlite_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("text", b"hello, this is not a database\n".repeat(100)),
        ("short", b"SQLite format 3\0".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let error = read(&path).expect_err(name);
        assert!(matches!(error, Error::NotSqlite { .. }), "{name}: {error}");
        assert!(
            error.to_string().contains(name),
            "the error names the file: {error}"
        );
    }
    let missing = read(&dir.path().join("missing.db")).expect_err("missing");
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}

#[test]
fn truncated_files_are_reported_as_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_database(dir.path());
    let len = std::fs::metadata(&base).expect("metadata").len() as usize;
    for cut in [60, 100, 300, PAGE, 3 * PAGE + 7, len / 2, len - PAGE] {
        let path = damaged(dir.path(), &base, |bytes| bytes.truncate(cut));
        let error = read(&path).expect_err("truncated");
        assert!(
            error.to_string().contains("truncated"),
            "cut at {cut}: {error}"
        );
    }
}

#[test]
fn a_b_tree_that_points_to_itself_is_a_cycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_database(dir.path());
    let root = root_page(&base, "t");
    let path = damaged(dir.path(), &base, |bytes| {
        let header = (root - 1) * PAGE;
        assert_eq!(bytes[header], 5, "the table's root is an interior page");
        word(bytes, header + 8, root as u32);
    });
    let error = read(&path).expect_err("cycle");
    assert!(matches!(error, Error::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("cycle"), "{error}");
}

#[test]
fn an_overflow_chain_that_loops_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_database(dir.path());
    let bytes = std::fs::read(&base).expect("read");
    // The blob's overflow pages hold the 0, 1, 2 … 250 pattern; find two chained ones.
    let pages = bytes.len() / PAGE;
    let first = (1..=pages)
        .find(|&p| {
            let page = &bytes[(p - 1) * PAGE..p * PAGE];
            let next = u32::from_be_bytes(page[..4].try_into().expect("4")) as usize;
            next != 0 && page[4..].windows(3).any(|w| w == [248, 249, 250]) && next <= pages
        })
        .expect("an overflow page of the blob");
    let path = damaged(dir.path(), &base, |bytes| {
        let second =
            u32::from_be_bytes(bytes[(first - 1) * PAGE..][..4].try_into().expect("4")) as usize;
        word(bytes, (second - 1) * PAGE, first as u32);
    });
    let error = read(&path).expect_err("loop");
    assert!(error.to_string().contains("loops"), "{error}");
}

#[test]
fn cell_offsets_and_page_numbers_out_of_range_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_database(dir.path());
    let root = root_page(&base, "t");
    // A cell pointer past the end of the page.
    let path = damaged(dir.path(), &base, |bytes| {
        let header = (root - 1) * PAGE;
        bytes[header + 12..header + 14].copy_from_slice(&600u16.to_be_bytes());
    });
    let error = read(&path).expect_err("offset");
    assert!(error.to_string().contains("out of range"), "{error}");
    // A child page number past the end of the file.
    let path = damaged(dir.path(), &base, |bytes| {
        word(bytes, (root - 1) * PAGE + 8, 1_000_000)
    });
    let error = read(&path).expect_err("page number");
    assert!(error.to_string().contains("out of range"), "{error}");
    // A page that is not a b-tree page.
    let path = damaged(dir.path(), &base, |bytes| bytes[(root - 1) * PAGE] = 7);
    let error = read(&path).expect_err("type");
    assert!(error.to_string().contains("not a b-tree page"), "{error}");
}

#[derive(Debug, Clone)]
enum Damage {
    /// XOR these bytes in at an offset.
    Flip(usize, Vec<u8>),
    /// Overwrite one page with another's bytes (a page reached twice, a cycle).
    CopyPage(usize, usize),
    /// Cut the file.
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (0usize..200_000, prop::collection::vec(any::<u8>(), 1..12)).prop_map(|(at, x)| Damage::Flip(at, x)),
        1 => (1usize..400, 1usize..400).prop_map(|(a, b)| Damage::CopyPage(a, b)),
        1 => (0usize..200_000).prop_map(Damage::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_damage_gives_data_or_an_error(damages in prop::collection::vec(damage(), 1..4)) {
        static BASE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let base = BASE.get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::read(base_database(dir.path())).expect("read base")
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let path = damaged_bytes(dir.path(), base.clone(), |bytes| {
            for damage in &damages {
                let len = bytes.len();
                if len < PAGE {
                    break; // Truncated below one page: nothing left to damage.
                }
                match damage {
                    Damage::Flip(at, xor) => {
                        for (i, x) in xor.iter().enumerate() {
                            bytes[(at + i) % len] ^= x;
                        }
                    }
                    Damage::CopyPage(from, to) => {
                        let pages = len / PAGE;
                        let (from, to) = ((from % pages) * PAGE, (to % pages) * PAGE);
                        let page = bytes[from..from + PAGE].to_vec();
                        bytes[to..to + PAGE].copy_from_slice(&page);
                    }
                    Damage::Truncate(at) => bytes.truncate(at % len),
                }
            }
        });
        // Either outcome is fine; a panic fails the test.
        let _ = read(&path);
    }
}
