//! `cairn sqlite …` as a person or a script uses it, on a file SQLite wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

fn cairn(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run cairn");
    Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn shop(dir: &Path) -> PathBuf {
    let path = dir.join("shop.db");
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch(
        "PRAGMA user_version = 7;
         CREATE TABLE fruit(id INTEGER PRIMARY KEY, name TEXT, price REAL, pic BLOB);
         CREATE INDEX fruit_name ON fruit(name COLLATE NOCASE);
         CREATE TABLE stock(shop TEXT, item INT, qty INT, PRIMARY KEY (shop, item)) WITHOUT ROWID;
         CREATE VIEW cheap AS SELECT name FROM fruit WHERE price < 2;
         INSERT INTO fruit(name, price, pic) VALUES ('apple', 1.5, x'0102'), ('Pear', 2, NULL),
             ('pear, \"green\"', 3.25, NULL);
         INSERT INTO stock VALUES ('north', 1, 10), ('north', 2, 0), ('south', 1, 5);",
    )
    .expect("schema");
    path
}

#[test]
fn info_shows_the_header_tables_with_row_counts_and_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    let out = cairn(&["sqlite", "info", db.to_str().expect("utf-8")]);
    assert!(out.success, "{}", out.stderr);
    for expected in [
        "page size",
        "4096",
        "UTF-8",
        "user version",
        "fruit_name",
        "name COLLATE NOCASE",
        "WITHOUT ROWID",
    ] {
        assert!(
            out.stdout.contains(expected),
            "info lacks {expected}:\n{}",
            out.stdout
        );
    }
    let json = cairn(&[
        "sqlite",
        "info",
        db.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    let info: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(info["header"]["user version"], "7");
    assert_eq!(info["tables"][0]["name"], "fruit");
    assert_eq!(info["tables"][0]["rows"], 3);
    assert_eq!(info["tables"][1]["rows"], 3);
    assert_eq!(info["indexes"][0]["table"], "fruit");
}

#[test]
fn schema_prints_every_create_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    let out = cairn(&["sqlite", "schema", db.to_str().expect("utf-8")]);
    assert!(out.success, "{}", out.stderr);
    let statements: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(statements.len(), 4, "{}", out.stdout);
    assert!(statements[0].starts_with("CREATE TABLE fruit("));
    assert!(statements[3].starts_with("CREATE VIEW cheap"));
    assert!(statements.iter().all(|s| s.ends_with(';')));
}

#[test]
fn dump_in_each_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    let db = db.to_str().expect("utf-8");
    let csv = cairn(&["sqlite", "dump", db, "fruit", "--format", "csv"]);
    assert!(csv.success, "{}", csv.stderr);
    assert_eq!(
        csv.stdout,
        "id,name,price,pic\n1,apple,1.5,X'0102'\n2,Pear,2.0,\n3,\"pear, \"\"green\"\"\",3.25,\n"
    );
    let json = cairn(&[
        "sqlite", "dump", db, "fruit", "--format", "json", "--limit", "1",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(
        rows,
        serde_json::json!([{"id": 1, "name": "apple", "price": 1.5, "pic": {"blob": "0102"}}])
    );
    assert!(
        json.stdout.find("\"id\"") < json.stdout.find("\"pic\""),
        "columns keep their order"
    );
    let table = cairn(&["sqlite", "dump", db, "stock"]);
    assert!(
        table.stdout.contains("north") && table.stdout.contains("(3 rows)"),
        "{}",
        table.stdout
    );
}

#[test]
fn get_by_rowid_or_primary_key_and_lookup_by_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    let db = db.to_str().expect("utf-8");
    let row = cairn(&["sqlite", "get", db, "fruit", "2", "--format", "csv"]);
    assert_eq!(row.stdout, "id,name,price,pic\n2,Pear,2.0,\n");
    let keyed = cairn(&[
        "sqlite", "get", db, "stock", "south", "1", "--format", "csv",
    ]);
    assert_eq!(
        keyed.stdout, "shop,item,qty\nsouth,1,5\n",
        "{}",
        keyed.stderr
    );
    let found = cairn(&[
        "sqlite",
        "lookup",
        db,
        "fruit_name",
        "PEAR",
        "--format",
        "csv",
    ]);
    assert_eq!(
        found.stdout, "id,name,price,pic\n2,Pear,2.0,\n",
        "NOCASE finds Pear"
    );
    let none = cairn(&[
        "sqlite",
        "lookup",
        db,
        "fruit_name",
        "kiwi",
        "--format",
        "csv",
    ]);
    assert_eq!(none.stdout, "id,name,price,pic\n");
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    let db = db.to_str().expect("utf-8");
    let not_sqlite = dir.path().join("notes.txt");
    std::fs::write(
        &not_sqlite,
        "just some text, long enough to hold a header ".repeat(10),
    )
    .expect("write");
    for (args, expected) in [
        (vec!["sqlite", "dump", db, "nope"], "no such table: nope"),
        (
            vec!["sqlite", "lookup", db, "nope", "1"],
            "no such index: nope",
        ),
        (
            vec!["sqlite", "get", db, "fruit", "99"],
            "fruit has no row 99",
        ),
        (
            vec!["sqlite", "get", db, "fruit", "two"],
            "is not an integer",
        ),
        (
            vec!["sqlite", "info", not_sqlite.to_str().expect("utf-8")],
            "is not a readable SQLite 3 database",
        ),
    ] {
        let out = cairn(&args);
        assert!(!out.success, "{args:?} should fail");
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}
