//! Arbitrary text as SQL, as the PostgreSQL door will receive it: parsed, planned and run
//! against a database holding a few tables (of every type), indexes and a view. Every
//! statement must give a result or an error — never a panic.
//!
//! The seed corpus (corpus/sql_statements) holds statements of cairn's own sqllogictest
//! files; the fuzzer mutates them into the syntax and semantics around them.

#![no_main]

use std::sync::{Arc, OnceLock};

use cairn_sql::{Database, Session};
use libfuzzer_sys::fuzz_target;

/// One database for the whole fuzzing process, in a directory that lives as long.
fn database() -> &'static Arc<Database> {
    static DB: OnceLock<(tempfile::TempDir, Arc<Database>)> = OnceLock::new();
    &DB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(dir.path()).expect("open");
        let mut session = Session::new(db.clone());
        session
            .execute(
                "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c DOUBLE PRECISION, d NUMERIC); \
                 CREATE INDEX t_b ON t (b); \
                 INSERT INTO t VALUES (1, 'one', 1.5, 10.25), (2, 'two', NULL, -3), (3, NULL, 0, 0); \
                 CREATE TABLE u (x BIGINT, y BOOLEAN, z VARCHAR(5)); \
                 INSERT INTO u VALUES (1, true, 'a'), (NULL, false, NULL); \
                 CREATE VIEW v AS SELECT a, b FROM t WHERE a > 1; \
                 CREATE TABLE ev (id INTEGER PRIMARY KEY, d DATE, t TIME, ts TIMESTAMP, \
                     tz TIMESTAMPTZ, i INTERVAL); \
                 INSERT INTO ev VALUES (1, '2020-02-29', '10:11:12.5', '2020-01-31 10:00', \
                     '2020-01-01 10:00+02', '1 day 2 hours'), (2, NULL, NULL, NULL, NULL, NULL); \
                 CREATE TABLE docs (id INTEGER PRIMARY KEY, j JSON, b JSONB); \
                 INSERT INTO docs VALUES (1, '{\"a\": [1, 2]}', '{\"a\": {\"b\": 1}}'); \
                 CREATE TABLE misc (id INTEGER PRIMARY KEY, c CHAR(5), v VARCHAR(3), b BYTEA, \
                     u UUID); \
                 INSERT INTO misc VALUES (1, 'ab', 'abc', '\\x0102', \
                     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
            )
            .expect("setup");
        (dir, db)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    // Queries that may rightly run without end (a series to 10^40, a recursion without
    // a stop) are PostgreSQL's behaviour too, bounded by statement_timeout there: left out
    // so that the fuzzer looks for failures rather than waits.
    let lower = sql.to_lowercase();
    if lower.contains("generate_series") || lower.contains("recursive") {
        return;
    }
    let mut session = Session::new(database().clone());
    // Errors are fine; the point is that nothing panics. A transaction left open by the
    // input is rolled back when the session drops.
    let _ = session.execute(&sql);
});
