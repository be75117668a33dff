//! The types beyond numbers and text — dates and times, intervals, character(n), bytea,
//! uuid, json and jsonb — kept across a reopen with their declared column types and
//! indexes (B+tree and hash); and the transaction clock `now()` reads.

use cairn_sql::{Database, Session};

fn open(dir: &std::path::Path) -> Session {
    Session::new(Database::open(dir).expect("open"))
}

/// The rows of the last statement of `sql`, `|`-separated, NULL as empty (psql -A).
fn rows(session: &mut Session, sql: &str) -> Vec<String> {
    let results = session
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    results
        .last()
        .expect("a statement")
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_text().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn every_type_survives_a_reopen_with_its_column_type_and_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path());
    s.execute(
        "CREATE TABLE v (d date, t time, ts timestamp, tz timestamptz, i interval, \
                         c char(4), b bytea, u uuid, j json, jb jsonb); \
         CREATE INDEX v_ts ON v (ts); CREATE UNIQUE INDEX v_u ON v (u); \
         CREATE INDEX v_d ON v USING hash (d); \
         INSERT INTO v VALUES ('2024-02-29', '23:59:59.5', '2024-02-29 12:00', \
             '2024-02-29 12:00+01', '1 year -2 days', 'ab', '\\xdead', \
             'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"b\": 1,  \"a\": 2}', '{\"b\": 1,  \"a\": 2}')",
    )
    .expect("create and insert");
    let expected = [
        "2024-02-29|23:59:59.5|2024-02-29 12:00:00|2024-02-29 11:00:00+00|1 year -2 days|ab  |\\xdead|\
         a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|{\"b\": 1,  \"a\": 2}|{\"a\": 2, \"b\": 1}",
    ];
    assert_eq!(rows(&mut s, "SELECT * FROM v"), expected);
    drop(s);

    let mut s = open(dir.path());
    assert_eq!(rows(&mut s, "SELECT * FROM v"), expected);
    let types = s.execute("SELECT * FROM v").expect("select")[0]
        .columns
        .iter()
        .map(|c| c.data_type.name())
        .collect::<Vec<_>>();
    assert_eq!(
        types,
        [
            "date",
            "time without time zone",
            "timestamp without time zone",
            "timestamp with time zone",
            "interval",
            "character",
            "bytea",
            "uuid",
            "json",
            "jsonb"
        ]
    );
    assert_eq!(
        rows(&mut s, "SELECT c FROM v WHERE ts = '2024-02-29 12:00:00'"),
        ["ab  "]
    );
    assert_eq!(
        rows(&mut s, "SELECT c FROM v WHERE d = '2024-02-29'"),
        ["ab  "],
        "through the hash index, after the reopen"
    );
    let plan = rows(&mut s, "EXPLAIN SELECT c FROM v WHERE d = '2024-02-29'");
    assert!(
        plan.iter().any(|l| l.contains("Index Scan using v_d")),
        "{plan:?}"
    );
    let duplicate = s
        .execute("INSERT INTO v (u, c) VALUES ('a0eebc999c0b4ef8bb6d6bb9bd380a11', 'abcd')")
        .expect_err("the unique index on u holds after the reopen");
    assert_eq!(duplicate.state.code(), "23505");
    let too_long = s
        .execute("INSERT INTO v (c) VALUES ('abcde')")
        .expect_err("char(4) is still four characters");
    assert_eq!(
        (too_long.state.code(), too_long.message.as_str()),
        ("22001", "value too long for type character(4)")
    );
}

#[test]
fn now_is_the_transactions_start_and_clock_timestamp_moves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path());
    s.execute("CREATE TABLE log (at timestamptz DEFAULT now(), n int)")
        .expect("create");
    s.execute("BEGIN").expect("begin");
    let first = rows(&mut s, "SELECT now()");
    std::thread::sleep(std::time::Duration::from_millis(5));
    s.execute("INSERT INTO log (n) VALUES (1)").expect("insert");
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(
        rows(&mut s, "SELECT now()"),
        first,
        "one instant per transaction"
    );
    assert_eq!(
        rows(&mut s, "SELECT at FROM log"),
        first,
        "DEFAULT now() too"
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT clock_timestamp() > now(), statement_timestamp() > now()"
        ),
        ["t|t"]
    );
    s.execute("COMMIT").expect("commit");
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_ne!(
        rows(&mut s, "SELECT now()"),
        first,
        "the next transaction is later"
    );
    // One string of statements outside a block is one transaction, with one instant.
    let distinct = rows(
        &mut s,
        "INSERT INTO log (n) VALUES (2); SELECT count(*) FROM generate_series(1, 100000); \
         INSERT INTO log (n) VALUES (3); SELECT count(DISTINCT at) FROM log WHERE n > 1",
    );
    assert_eq!(distinct, ["1"]);
}
