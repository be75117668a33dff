//! Prepared statements: parsed once, run with values for `$1`, `$2`…

use cairn_sql::{Database, Session, Value};

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
