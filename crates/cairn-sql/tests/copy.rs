//! COPY FROM STDIN and COPY TO STDOUT through a session, in text and CSV.

use cairn_sql::{Copy, Database, Session, Value};

fn session() -> (tempfile::TempDir, Session) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    (dir, Session::new(db))
}

/// Runs `sql` (a COPY FROM STDIN), feeds it `pieces`, and ends it.
fn copy_in(s: &mut Session, sql: &str, pieces: &[&str]) -> cairn_sql::Result<String> {
    let results = s.execute(sql)?;
    assert!(matches!(
        results.last().and_then(|r| r.copy.as_ref()),
        Some(Copy::In { .. })
    ));
    for piece in pieces {
        s.copy_data(piece.as_bytes())?;
    }
    Ok(s.copy_done()?.tag)
}

fn copy_out(s: &mut Session, sql: &str) -> String {
    let mut results = s.execute(sql).expect("copy out");
    match results.pop().and_then(|r| r.copy) {
        Some(Copy::Out { lines, .. }) => lines.concat(),
        other => panic!("not a COPY TO: {other:?}"),
    }
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    s.execute(sql).expect("query").pop().expect("result").rows
}

#[test]
fn text_rows_load_across_pieces_with_defaults_for_unlisted_columns() {
    let (_dir, mut s) = session();
    s.execute("CREATE TABLE t (id serial PRIMARY KEY, a int, b text DEFAULT 'none', c text)")
        .expect("create");
    // A row split between two pieces; \N is NULL; escapes are decoded.
    let tag = copy_in(
        &mut s,
        "COPY t (a, c) FROM STDIN",
        &[
            "1\tone\n2\t\\N\n3\tta",
            "b\\there\n\\.\nignored after the end\n",
        ],
    )
    .expect("copy");
    assert_eq!(tag, "COPY 3");
    assert_eq!(
        rows(&mut s, "SELECT id, a, b, c FROM t ORDER BY id"),
        vec![
            vec![
                Value::Int4(1),
                Value::Int4(1),
                Value::Text("none".into()),
                Value::Text("one".into())
            ],
            vec![
                Value::Int4(2),
                Value::Int4(2),
                Value::Text("none".into()),
                Value::Null
            ],
            vec![
                Value::Int4(3),
                Value::Int4(3),
                Value::Text("none".into()),
                Value::Text("tab\there".into())
            ],
        ]
    );
    assert_eq!(
        copy_out(&mut s, "COPY t (a, c) TO STDOUT"),
        "1\tone\n2\t\\N\n3\ttab\\there\n"
    );
}

#[test]
fn csv_with_a_header_and_quoted_line_breaks_round_trips() {
    let (_dir, mut s) = session();
    s.execute("CREATE TABLE c (k int, v text)").expect("create");
    let tag = copy_in(
        &mut s,
        "COPY c FROM STDIN WITH (FORMAT csv, HEADER on)",
        &["k,v\n1,\"a,b\"\n2,\"two\nlines\"\n3,\n4,\"\"\n"],
    )
    .expect("copy");
    assert_eq!(tag, "COPY 4");
    assert_eq!(
        copy_out(
            &mut s,
            "COPY (SELECT k, v FROM c ORDER BY k) TO STDOUT WITH (FORMAT csv, HEADER)"
        ),
        "k,v\n1,\"a,b\"\n2,\"two\nlines\"\n3,\n4,\"\"\n"
    );
}

#[test]
fn a_bad_row_names_its_line_and_loads_nothing() {
    let (_dir, mut s) = session();
    s.execute("CREATE TABLE n (a int PRIMARY KEY, b int NOT NULL)")
        .expect("create");
    let e = copy_in(&mut s, "COPY n FROM STDIN", &["1\t2\n", "3\tx\n"]).expect_err("bad integer");
    assert_eq!(e.state.code(), "22P02");
    assert_eq!(e.message, "invalid input syntax for type integer: \"x\"");
    assert_eq!(
        e.context.as_deref(),
        Some("COPY n, line 2, column b: \"x\"")
    );
    let e = copy_in(&mut s, "COPY n FROM STDIN", &["1\n"]).expect_err("missing column");
    assert_eq!(e.message, "missing data for column \"b\"");
    assert_eq!(e.context.as_deref(), Some("COPY n, line 1: \"1\""));
    let e = copy_in(&mut s, "COPY n FROM STDIN", &["1\t2\t3\n"]).expect_err("extra column");
    assert_eq!(e.message, "extra data after last expected column");
    let e = copy_in(&mut s, "COPY n FROM STDIN", &["1\t2\n1\t3\n"]).expect_err("duplicate");
    assert_eq!(e.state.code(), "23505");
    assert_eq!(e.context.as_deref(), Some("COPY n, line 2"));
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM n"),
        vec![vec![Value::Int8(0)]]
    );
    // The client may give up: nothing loaded either.
    s.execute("COPY n FROM STDIN").expect("copy");
    s.copy_data(b"5\t6\n").expect("data");
    let e = s.copy_fail("cancelled by the user");
    assert_eq!(e.message, "COPY from stdin failed: cancelled by the user");
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM n"),
        vec![vec![Value::Int8(0)]]
    );
}

#[test]
fn copy_in_a_block_is_part_of_its_transaction() {
    let (_dir, mut s) = session();
    s.execute("CREATE TABLE b (a int)").expect("create");
    s.execute("BEGIN").expect("begin");
    copy_in(&mut s, "COPY b FROM STDIN", &["1\n2\n"]).expect("copy");
    assert_eq!(s.transaction_status(), 'T');
    s.execute("ROLLBACK").expect("rollback");
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM b"),
        vec![vec![Value::Int8(0)]]
    );
    // COPY to or from a file is refused, as is anything after COPY FROM STDIN in a string.
    let e = s.execute("COPY b FROM '/etc/passwd'").expect_err("file");
    assert_eq!(e.state.code(), "0A000");
    let e = s
        .execute("COPY b FROM STDIN; SELECT 1")
        .expect_err("after copy");
    assert_eq!(e.state.code(), "0A000");
    // VACUUM and ANALYZE run (as no-ops) on tables that exist.
    s.execute("VACUUM ANALYZE b").expect("vacuum");
    s.execute("VACUUM (VERBOSE, ANALYZE) b").expect("vacuum");
    s.execute("ANALYZE b").expect("analyze");
    let e = s.execute("VACUUM nosuch").expect_err("no table");
    assert_eq!(e.state.code(), "42P01");
}
