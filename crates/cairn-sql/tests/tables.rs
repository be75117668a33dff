//! Tables through a session: CREATE TABLE, INSERT … VALUES and SELECT … FROM with WHERE, kept
//! across a reopen; errors with the codes, messages and positions PostgreSQL 15.18 gave for
//! the same statements.

use cairn_sql::{Database, Session, Value};

fn open(dir: &std::path::Path) -> Session {
    Session::new(Database::open(dir).expect("open"))
}

/// The rows of the last statement of `sql`, `|`-separated, NULL as empty (psql -A).
fn rows(session: &mut Session, sql: &str) -> Vec<String> {
    let results = session
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let last = results.last().expect("a statement");
    last.rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_text().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn error(session: &mut Session, sql: &str) -> (&'static str, String, Option<usize>) {
    let e = session.execute(sql).expect_err(sql);
    (e.state.code(), e.message.clone(), e.position)
}

#[test]
fn rows_go_in_come_back_filtered_and_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path());
    let results = s
        .execute(
            "CREATE TABLE t (a int NOT NULL, b text); \
             INSERT INTO t VALUES (1, 'one'), (2, NULL), ('3', 3), ('4'::float8, 'four')",
        )
        .expect("create and insert");
    let tags: Vec<&str> = results.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["CREATE TABLE", "INSERT 0 4"]);
    assert_eq!(
        rows(&mut s, "SELECT * FROM t WHERE a > 1"),
        ["2|", "3|3", "4|four"]
    );
    let result = s
        .execute("SELECT a + 1 AS next, b, t.a FROM t WHERE b IS NOT NULL")
        .expect("select");
    let names: Vec<&str> = result[0].columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["next", "b", "a"]);
    assert_eq!(result[0].tag, "SELECT 3");
    assert_eq!(
        rows(
            &mut s,
            "SELECT a + 1 AS next, b, t.a FROM t WHERE b IS NOT NULL"
        ),
        ["2|one|1", "4|3|3", "5|four|4"]
    );
    // Columns not named are NULL; quoted names keep their case, others fold.
    s.execute("CREATE TABLE \"Mixed\" (\"Id\" bigint, Note text); INSERT INTO \"Mixed\" (NOTE) VALUES ('n')")
        .expect("mixed case");
    assert_eq!(rows(&mut s, "SELECT \"Id\", note FROM \"Mixed\""), ["|n"]);
    drop(s);

    let mut s = open(dir.path());
    assert_eq!(rows(&mut s, "SELECT b FROM t WHERE a = 1"), ["one"]);
    assert_eq!(rows(&mut s, "SELECT * FROM public.t").len(), 4);
    let created = s
        .execute("CREATE TABLE IF NOT EXISTS t (z int)")
        .expect("if not exists");
    assert_eq!(created[0].tag, "CREATE TABLE");
    assert_eq!(
        s.execute("SELECT * FROM t").expect("select")[0]
            .columns
            .len(),
        2,
        "the existing table is kept"
    );
    assert_eq!(
        s.execute("SELECT a FROM t WHERE a = 4").expect("select")[0].rows,
        vec![vec![Value::Int4(4)]]
    );
}

#[test]
fn errors_answer_as_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path());
    s.execute("CREATE TABLE t (a int NOT NULL, b text)")
        .expect("create");
    assert_eq!(
        error(&mut s, "SELECT * FROM nosuch"),
        (
            "42P01",
            "relation \"nosuch\" does not exist".into(),
            Some(15)
        )
    );
    assert_eq!(
        error(&mut s, "CREATE TABLE t (b int)").1,
        "relation \"t\" already exists"
    );
    assert_eq!(
        error(&mut s, "SELECT x FROM t"),
        ("42703", "column \"x\" does not exist".into(), Some(8))
    );
    assert_eq!(
        error(&mut s, "SELECT t.zz FROM t").1,
        "column t.zz does not exist"
    );
    assert_eq!(
        error(&mut s, "INSERT INTO t VALUES (NULL)"),
        (
            "23502",
            "null value in column \"a\" of relation \"t\" violates not-null constraint".into(),
            None
        )
    );
    assert_eq!(
        error(&mut s, "INSERT INTO t (a) VALUES (true)"),
        (
            "42804",
            "column \"a\" is of type integer but expression is of type boolean".into(),
            Some(27)
        )
    );
    assert_eq!(
        error(&mut s, "INSERT INTO t VALUES (1, 'x', 2)"),
        (
            "42601",
            "INSERT has more expressions than target columns".into(),
            Some(31)
        )
    );
    assert_eq!(
        error(&mut s, "INSERT INTO t (zz) VALUES (1)"),
        (
            "42703",
            "column \"zz\" of relation \"t\" does not exist".into(),
            Some(16)
        )
    );
    assert_eq!(
        error(&mut s, "CREATE TABLE u (a int, a text)"),
        (
            "42701",
            "column \"a\" specified more than once".into(),
            None
        )
    );
    assert_eq!(
        error(&mut s, "INSERT INTO t VALUES (3000000000)").1,
        "integer out of range"
    );
    assert_eq!(
        error(&mut s, "INSERT INTO t VALUES ('x')"),
        (
            "22P02",
            "invalid input syntax for type integer: \"x\"".into(),
            Some(23)
        )
    );
    assert_eq!(
        error(&mut s, "SELECT * FROM t WHERE a"),
        (
            "42804",
            "argument of WHERE must be type boolean, not type integer".into(),
            Some(23)
        )
    );
    assert_eq!(
        error(&mut s, "SELECT *").1,
        "SELECT * with no tables specified is not valid"
    );
    // A failed statement changed nothing.
    assert!(rows(&mut s, "SELECT * FROM t").is_empty());
}

#[test]
fn order_by_limit_and_offset_answer_as_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path());
    s.execute("CREATE TABLE o (a int, b text); INSERT INTO o VALUES (3,'c'),(NULL,'n'),(1,'a'),(2,NULL),(1,'z')")
        .expect("setup");
    assert_eq!(
        rows(&mut s, "SELECT * FROM o ORDER BY a, b"),
        ["1|a", "1|z", "2|", "3|c", "|n"]
    );
    assert_eq!(
        rows(&mut s, "SELECT * FROM o ORDER BY a DESC, b"),
        ["|n", "3|c", "2|", "1|a", "1|z"]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT a AS x, b FROM o ORDER BY x NULLS FIRST, 2 DESC"
        ),
        ["|n", "1|z", "1|a", "2|", "3|c"]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT b FROM o ORDER BY a DESC NULLS LAST LIMIT 2 OFFSET 1"
        ),
        ["", "a"]
    );
    assert_eq!(
        rows(&mut s, "SELECT a FROM o ORDER BY b"),
        ["1", "3", "", "1", "2"]
    );
    assert_eq!(
        rows(&mut s, "SELECT * FROM o ORDER BY a + 1 DESC, b"),
        ["|n", "3|c", "2|", "1|a", "1|z"]
    );
    assert_eq!(
        rows(&mut s, "SELECT * FROM o ORDER BY a LIMIT NULL").len(),
        5
    );
    assert!(rows(&mut s, "SELECT 1 ORDER BY 1 LIMIT 0").is_empty());
    assert_eq!(
        error(&mut s, "SELECT * FROM o ORDER BY 3"),
        (
            "42P10",
            "ORDER BY position 3 is not in select list".into(),
            Some(26)
        )
    );
    assert_eq!(
        error(&mut s, "SELECT * FROM o LIMIT -1"),
        ("2201W", "LIMIT must not be negative".into(), None)
    );
    assert_eq!(
        error(&mut s, "SELECT * FROM o OFFSET -1"),
        ("2201X", "OFFSET must not be negative".into(), None)
    );
    assert_eq!(
        error(&mut s, "SELECT * FROM o ORDER BY c"),
        ("42703", "column \"c\" does not exist".into(), Some(26))
    );
    assert_eq!(
        error(&mut s, "SELECT * FROM o LIMIT 'x'"),
        (
            "22P02",
            "invalid input syntax for type bigint: \"x\"".into(),
            Some(23)
        )
    );
}

#[test]
fn update_and_delete_answer_as_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path());
    s.execute("CREATE TABLE d (a int NOT NULL, b text); INSERT INTO d VALUES (1,'one'),(2,'two'),(3,'three')")
        .expect("setup");
    let tag = |s: &mut Session, sql: &str| s.execute(sql).expect(sql)[0].tag.clone();
    assert_eq!(
        tag(&mut s, "UPDATE d SET b = b || '!' WHERE a >= 2"),
        "UPDATE 2"
    );
    assert_eq!(
        rows(&mut s, "SELECT * FROM d ORDER BY a"),
        ["1|one", "2|two!", "3|three!"]
    );
    assert_eq!(
        tag(&mut s, "UPDATE d SET a = a * 10, b = NULL WHERE b = 'one'"),
        "UPDATE 1"
    );
    assert_eq!(
        rows(&mut s, "SELECT * FROM d ORDER BY a"),
        ["2|two!", "3|three!", "10|"]
    );
    assert_eq!(
        error(&mut s, "UPDATE d SET a = NULL"),
        (
            "23502",
            "null value in column \"a\" of relation \"d\" violates not-null constraint".into(),
            None
        )
    );
    assert_eq!(
        error(&mut s, "UPDATE d SET zz = 1"),
        (
            "42703",
            "column \"zz\" of relation \"d\" does not exist".into(),
            Some(14)
        )
    );
    assert_eq!(
        error(&mut s, "UPDATE d SET a = 'x'"),
        (
            "22P02",
            "invalid input syntax for type integer: \"x\"".into(),
            Some(18)
        )
    );
    assert_eq!(
        error(&mut s, "UPDATE nosuch SET a = 1"),
        (
            "42P01",
            "relation \"nosuch\" does not exist".into(),
            Some(8)
        )
    );
    assert_eq!(
        error(&mut s, "DELETE FROM d WHERE a"),
        (
            "42804",
            "argument of WHERE must be type boolean, not type integer".into(),
            Some(21)
        )
    );
    // The failed statements changed nothing; then DELETE.
    assert_eq!(
        rows(&mut s, "SELECT * FROM d ORDER BY a"),
        ["2|two!", "3|three!", "10|"]
    );
    assert_eq!(tag(&mut s, "DELETE FROM d WHERE a > 2"), "DELETE 2");
    assert_eq!(rows(&mut s, "SELECT * FROM d"), ["2|two!"]);
    assert_eq!(tag(&mut s, "DELETE FROM d"), "DELETE 1");
    drop(s);
    let mut s = open(dir.path());
    assert!(
        rows(&mut s, "SELECT * FROM d").is_empty(),
        "the deletes survive a reopen"
    );
}

#[test]
fn update_and_delete_through_an_index_change_exactly_the_rows_their_condition_keeps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    s.execute(
        "CREATE TABLE u (id int PRIMARY KEY, k text, n int); \
         CREATE INDEX u_k ON u USING hash (k); \
         INSERT INTO u SELECT g, 'k' || (g % 3), 0 FROM generate_series(1, 30) g",
    )
    .expect("setup");
    let count = |s: &mut Session, sql: &str| -> Value {
        s.execute(sql).expect("query").pop().expect("result").rows[0][0].clone()
    };
    let tag = |s: &mut Session, sql: &str| s.execute(sql).expect(sql).pop().expect("result").tag;
    // A key, a range with a further condition, a value of another numeric kind (read
    // through the heap), NULL (no row), a hash index's key.
    assert_eq!(
        tag(&mut s, "UPDATE u SET n = n + 1 WHERE id = 5"),
        "UPDATE 1"
    );
    assert_eq!(
        tag(
            &mut s,
            "UPDATE u SET n = n + 1 WHERE id BETWEEN 10 AND 20 AND id % 2 = 0"
        ),
        "UPDATE 6"
    );
    assert_eq!(
        tag(&mut s, "UPDATE u SET n = n + 1 WHERE id = 7.0"),
        "UPDATE 1"
    );
    assert_eq!(
        tag(&mut s, "UPDATE u SET n = n + 1 WHERE id = NULL"),
        "UPDATE 0"
    );
    assert_eq!(
        tag(&mut s, "DELETE FROM u WHERE k = 'k1' AND id > 20"),
        "DELETE 3"
    );
    assert_eq!(count(&mut s, "SELECT sum(n) FROM u"), Value::Int8(8));
    assert_eq!(count(&mut s, "SELECT count(*) FROM u"), Value::Int8(27));
    // An update that moves rows along the index it is found through sees each row once.
    assert_eq!(
        tag(&mut s, "UPDATE u SET id = id + 100 WHERE id < 10"),
        "UPDATE 9"
    );
    assert_eq!(
        count(&mut s, "SELECT count(*) FROM u WHERE id > 100"),
        Value::Int8(9)
    );
    let prepared = s.prepare("DELETE FROM u WHERE id = $1").expect("prepare");
    let deleted = s
        .execute_prepared(&prepared, &[Value::Int4(105)])
        .expect("delete");
    assert_eq!(deleted.tag, "DELETE 1");
}

#[test]
fn key_violations_carry_postgresqls_detail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    s.execute(
        "CREATE TABLE parent (id int PRIMARY KEY, a int, b text, UNIQUE (a, b)); \
         CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id)); \
         INSERT INTO parent VALUES (1, 1, 'x'); INSERT INTO child VALUES (10, 1)",
    )
    .expect("setup");
    let detail = |s: &mut Session, sql: &str| s.execute(sql).expect_err(sql).detail.clone();
    // Details as PostgreSQL 15.18 gave them for the same statements.
    assert_eq!(
        detail(&mut s, "INSERT INTO parent VALUES (1, 2, 'y')").as_deref(),
        Some("Key (id)=(1) already exists.")
    );
    assert_eq!(
        detail(&mut s, "INSERT INTO parent VALUES (2, 1, 'x')").as_deref(),
        Some("Key (a, b)=(1, x) already exists.")
    );
    assert_eq!(
        detail(&mut s, "INSERT INTO child VALUES (11, 5)").as_deref(),
        Some("Key (parent_id)=(5) is not present in table \"parent\".")
    );
    assert_eq!(
        detail(&mut s, "DELETE FROM parent WHERE id = 1").as_deref(),
        Some("Key (id)=(1) is still referenced from table \"child\".")
    );
}

#[test]
fn declared_types_and_constraint_kinds_survive_a_reopen_and_show_in_the_system_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut s = open(dir.path());
        s.execute(
            "CREATE TABLE price (id int PRIMARY KEY, code varchar(8) UNIQUE, amount numeric(6,2) \
             CHECK (amount > 0)); CREATE UNIQUE INDEX price_amount ON price (amount)",
        )
        .expect("create");
    }
    let mut s = open(dir.path());
    // numeric(6,2) still rounds to two places and refuses a fifth digit before the point.
    s.execute("INSERT INTO price VALUES (1, 'a', 12.345)")
        .expect("insert");
    assert_eq!(rows(&mut s, "SELECT amount FROM price"), vec!["12.35"]);
    let (code, message, _) = error(&mut s, "INSERT INTO price VALUES (2, 'b', 12345)");
    assert_eq!(
        (code, message.as_str()),
        ("22003", "numeric field overflow")
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'price'::regclass ORDER BY attnum"
        ),
        vec![
            "id integer",
            "code character varying(8)",
            "amount numeric(6,2)"
        ]
    );
    // The key and UNIQUE constraints are constraints; CREATE UNIQUE INDEX made an index only.
    assert_eq!(
        rows(
            &mut s,
            "SELECT conname || ' ' || contype FROM pg_constraint \
             WHERE conrelid = 'price'::regclass ORDER BY conname"
        ),
        vec!["price_amount_check c", "price_code_key u", "price_pkey p"]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT count(*) FROM pg_index WHERE indrelid = 'price'::regclass AND indisunique"
        ),
        vec!["3"]
    );
    // A CHECK's refusal names the row, as PostgreSQL's DETAIL does.
    let failed = s
        .execute("INSERT INTO price VALUES (3, NULL, -1)")
        .expect_err("check");
    assert_eq!(
        failed.detail.as_deref(),
        Some("Failing row contains (3, null, -1.00).")
    );
}
