//! Reads a SQLite database the fuzzer has damaged: opens it and reads every row, index entry
//! and free page, plus a look-up. Whatever the damage, the reader must return data or an
//! error: never panic, hang or allocate without bound.
//!
//! The undamaged databases are written once by SQLite (rusqlite's bundled library): one in
//! rollback mode with 512-byte pages (a multi-level table, an index, a WITHOUT ROWID table,
//! overflow chains, free pages) and one in WAL mode with uncheckpointed frames. Input: byte 0
//! picks the file (database, or the WAL of the second), byte 1 the damage (XOR the rest of
//! the input in at an offset, overwrite there, or cut the file there), bytes 2..6 the offset.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cairn_sqlite::{Database, Value};
use libfuzzer_sys::fuzz_target;
use rusqlite::{params, Connection};

struct Base {
    rollback: Vec<u8>,
    wal_db: Vec<u8>,
    wal: Vec<u8>,
}

fn write_rows(conn: &Connection) {
    conn.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, data BLOB);
         CREATE INDEX t_name ON t(name);
         CREATE TABLE k(a TEXT COLLATE NOCASE, b INT, PRIMARY KEY (a, b DESC)) WITHOUT ROWID;",
    )
    .expect("schema");
    for i in 0..200i64 {
        let data = vec![i as u8; if i % 50 == 0 { 2000 } else { 30 }];
        conn.execute("INSERT INTO t(name, data) VALUES (?1, ?2)", params![format!("n{i}"), data]).expect("insert");
        conn.execute("INSERT INTO k VALUES (?1, ?2)", params![format!("K{}", i % 9), i]).expect("insert");
    }
    conn.execute("DELETE FROM t WHERE id % 7 = 0", []).expect("delete");
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let rollback = dir.path().join("rollback.db");
        let conn = Connection::open(&rollback).expect("open");
        conn.execute_batch("PRAGMA page_size=512; PRAGMA synchronous=OFF;").expect("pragmas");
        write_rows(&conn);
        drop(conn);

        let wal_db = dir.path().join("wal.db");
        let conn = Connection::open(&wal_db).expect("open");
        conn.execute_batch("PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;")
            .expect("pragmas");
        write_rows(&conn);
        let base = Base {
            rollback: std::fs::read(&rollback).expect("read"),
            wal_db: std::fs::read(&wal_db).expect("read"),
            wal: std::fs::read(wal_path(&wal_db)).expect("read wal"),
        };
        drop(conn);
        base
    })
}

fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn damage(bytes: &mut Vec<u8>, kind: u8, offset: usize, data: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let at = offset % bytes.len();
    match kind % 3 {
        0 => {
            for (i, x) in data.iter().enumerate() {
                let len = bytes.len();
                bytes[(at + i) % len] ^= x;
            }
        }
        1 => {
            for (i, x) in data.iter().enumerate() {
                let len = bytes.len();
                bytes[(at + i) % len] = *x;
            }
        }
        _ => bytes.truncate(at),
    }
}

fn read_everything(path: &Path) {
    let Ok(db) = Database::open(path) else { return };
    let _ = db.read_everything();
    if let Ok(index) = db.index("t_name") {
        let _ = db.lookup(index, &[Value::Text("n42".into())]);
    }
    if let Ok(table) = db.table("k") {
        let _ = db.row_by_primary_key(table, &[Value::Text("k3".into()), Value::Integer(3)]);
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 6 {
        return;
    }
    let base = base();
    let offset = u32::from_le_bytes([input[2], input[3], input[4], input[5]]) as usize;
    let data = &input[6..];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fuzz.db");
    match input[0] % 3 {
        0 => {
            let mut bytes = base.rollback.clone();
            damage(&mut bytes, input[1], offset, data);
            std::fs::write(&path, bytes).expect("write");
        }
        1 => {
            let mut bytes = base.wal_db.clone();
            damage(&mut bytes, input[1], offset, data);
            std::fs::write(&path, bytes).expect("write");
            std::fs::write(wal_path(&path), &base.wal).expect("write");
        }
        _ => {
            let mut wal = base.wal.clone();
            damage(&mut wal, input[1], offset, data);
            std::fs::write(&path, &base.wal_db).expect("write");
            std::fs::write(wal_path(&path), wal).expect("write");
        }
    }
    read_everything(&path);
});
