//! Prepared statements: parsed once, run with values for `$1`, `$2`…

use cairn_sql::{DataType, Database, Session, Value};

#[test]
fn a_prepared_statement_runs_with_each_set_of_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        .expect("create");
    let insert = s
        .prepare("INSERT INTO t VALUES ($1, $2)")
        .expect("prepare insert");
    for (id, name) in [(1, "one"), (2, "two"), (3, "three")] {
        let result = s
            .execute_prepared(&insert, &[Value::Int8(id), Value::Text(name.into())])
            .expect("insert");
        assert_eq!(result.tag, "INSERT 0 1");
    }
    let select = s
        .prepare("SELECT name FROM t WHERE id = $1")
        .expect("prepare select");
    let result = s
        .execute_prepared(&select, &[Value::Int4(2)])
        .expect("select");
    assert_eq!(result.rows, vec![vec![Value::Text("two".into())]]);
    let result = s.execute_prepared(&select, &[Value::Null]).expect("select");
    assert!(result.rows.is_empty());
    // A bigint too large for the integer column is the assignment's range error.
    let e = s
        .execute_prepared(&insert, &[Value::Int8(1 << 40), Value::Null])
        .expect_err("out of range");
    assert_eq!(e.state.code(), "22003");
    let e = s.execute_prepared(&select, &[]).expect_err("no value");
    assert_eq!(
        (e.state.code(), e.message.as_str()),
        ("42P02", "there is no parameter $1")
    );
    let e = s.prepare("SELECT 1; SELECT 2").expect_err("two statements");
    assert_eq!(e.state.code(), "42601");
}

#[test]
fn describe_infers_parameter_types_as_postgresql_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    s.execute("CREATE TABLE tt (id integer PRIMARY KEY, name text, at timestamptz)")
        .expect("create");
    let name = |t: &DataType| t.name();
    // What PostgreSQL 15's pg_prepared_statements says of each.
    let cases: [(&str, &[&str], &[&str]); 10] = [
        ("SELECT name FROM tt WHERE id = $1", &["integer"], &["text"]),
        ("SELECT $1 + 1", &["integer"], &["integer"]),
        ("SELECT $1", &["text"], &["text"]),
        (
            "INSERT INTO tt (id, name) VALUES ($1, $2) RETURNING id",
            &["integer", "text"],
            &["integer"],
        ),
        (
            "UPDATE tt SET name = $1 WHERE id = $2",
            &["text", "integer"],
            &[],
        ),
        (
            "SELECT * FROM tt WHERE id = $1 AND name LIKE $2 LIMIT $3",
            &["integer", "text", "bigint"],
            &["integer", "text", "timestamp with time zone"],
        ),
        (
            "SELECT now() - $1",
            &["timestamp with time zone"],
            &["interval"],
        ),
        (
            "SELECT $2::int, $1",
            &["text", "integer"],
            &["integer", "text"],
        ),
        (
            "SELECT count(*) FROM tt WHERE id IN ($1, $2) AND at > $3",
            &["integer", "integer", "timestamp with time zone"],
            &["bigint"],
        ),
        (
            "DELETE FROM tt WHERE id > $1 RETURNING name, at",
            &["integer"],
            &["text", "timestamp with time zone"],
        ),
    ];
    for (sql, params, columns) in cases {
        let prepared = s.prepare(sql).expect(sql);
        let described = s.describe(&prepared, &[]).expect(sql);
        assert_eq!(
            described.params.iter().map(name).collect::<Vec<_>>(),
            params,
            "{sql}"
        );
        let column_types: Vec<&str> = described
            .columns
            .iter()
            .map(|c| c.data_type.name())
            .collect();
        assert_eq!(column_types, columns, "{sql}");
    }
    // A declared type stands; describing runs and writes nothing.
    let prepared = s.prepare("SELECT $1").expect("prepare");
    let described = s
        .describe(&prepared, &[Some(DataType::Int8)])
        .expect("describe");
    assert_eq!(described.params, [DataType::Int8]);
    let insert = s
        .prepare("INSERT INTO tt (id, name) VALUES ($1, $2)")
        .expect("prepare");
    s.describe(&insert, &[]).expect("describe");
    let count = &s.execute("SELECT count(*) FROM tt").expect("count")[0].rows[0][0];
    assert_eq!(count.to_text().as_deref(), Some("0"));
    // The described statement then runs with values of those types.
    s.execute_prepared(&insert, &[Value::Int4(7), Value::Text("seven".into())])
        .expect("insert");
    let select = s
        .prepare("SELECT name FROM tt WHERE id = $1")
        .expect("prepare");
    let rows = s
        .execute_prepared(&select, &[Value::Int4(7)])
        .expect("select")
        .rows;
    assert_eq!(rows, vec![vec![Value::Text("seven".into())]]);
}

#[test]
fn pipelined_statements_are_one_transaction_until_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut s = Session::new(db.clone());
    s.execute("CREATE TABLE p (id int PRIMARY KEY)")
        .expect("create");
    let insert = s.prepare("INSERT INTO p VALUES ($1)").expect("prepare");
    let count = |db: &std::sync::Arc<Database>| {
        let mut other = Session::new(db.clone());
        other.execute("SELECT count(*) FROM p").expect("count")[0].rows[0][0].clone()
    };
    // Two statements, then Sync: both committed together.
    s.execute_pipelined(&insert, &[Value::Int4(1)])
        .expect("insert");
    s.execute_pipelined(&insert, &[Value::Int4(2)])
        .expect("insert");
    assert_eq!(s.transaction_status(), 'I');
    s.sync().expect("sync");
    assert_eq!(count(&db), Value::Int8(2));
    // A failure rolls back the statements before it since the last Sync.
    s.execute_pipelined(&insert, &[Value::Int4(3)])
        .expect("insert");
    s.execute_pipelined(&insert, &[Value::Int4(1)])
        .expect_err("duplicate key");
    s.sync().expect("sync");
    assert_eq!(count(&db), Value::Int8(2));
    // Inside a block, Sync commits nothing: COMMIT does.
    s.execute("BEGIN").expect("begin");
    s.execute_pipelined(&insert, &[Value::Int4(4)])
        .expect("insert");
    s.sync().expect("sync");
    assert_eq!(s.transaction_status(), 'T');
    s.execute("COMMIT").expect("commit");
    assert_eq!(count(&db), Value::Int8(3));
}

#[test]
fn a_statement_that_does_not_prepare_fails_the_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut s = Session::new(db);
    s.execute("BEGIN").expect("begin");
    s.prepare("SELEC 1").expect_err("syntax error");
    assert_eq!(s.transaction_status(), 'E');
    s.execute("ROLLBACK").expect("rollback");
    s.execute("CREATE TABLE q (a int)").expect("create");
    s.execute("BEGIN").expect("begin");
    let bad = s.prepare("SELECT nosuch FROM q").expect("parses");
    s.describe(&bad, &[]).expect_err("undefined column");
    assert_eq!(s.transaction_status(), 'E');
}
