//! `SELECT` without `FROM` through a session: result column names and types, values and
//! errors as PostgreSQL 15.18 gave them for the same statements (psql -A; NULL as empty).

use cairn_sql::{DataType, Database, Session, SqlState};

/// A session of a fresh database (its directory removed when the guard drops).
fn session() -> (tempfile::TempDir, Session) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    (dir, Session::new(db))
}

/// The single row of `sql`'s only result, `|`-separated, with its column names.
fn row(sql: &str) -> (String, String) {
    let (_dir, mut session) = session();
    let mut results = session
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    assert_eq!(results.len(), 1);
    let result = results.pop().expect("one result");
    assert_eq!(result.rows.len(), 1, "{sql}");
    let names: Vec<String> = result.columns.iter().map(|c| c.name.clone()).collect();
    let values: Vec<String> = result.rows[0]
        .iter()
        .map(|v| v.to_text().unwrap_or_default())
        .collect();
    (names.join("|"), values.join("|"))
}

fn error(sql: &str) -> (&'static str, String, Option<usize>) {
    let e = session().1.execute(sql).expect_err(sql);
    (e.state.code(), e.message.clone(), e.position)
}

#[test]
fn literals_operators_and_names_answer_as_postgresql() {
    assert_eq!(
        row(
            "SELECT 1, 1::int, CAST(1 AS bigint), true, 'a', 1 AS x, -1, 1+1, 2147483648, \
             'a' || 1, 1 || 'a', NULL, NULL::int, '2'::float8, (1 < 2), NOT true, 1 = NULL"
        ),
        (
            "?column?|int4|int8|?column?|?column?|x|?column?|?column?|?column?|?column?|?column?|\
             ?column?|int4|float8|?column?|?column?|?column?"
                .into(),
            "1|1|1|t|a|1|-1|2|2147483648|a1|1a|||2|t|f|".into()
        )
    );
    assert_eq!(row("SELECT '1' + 1").1, "2");
    assert_eq!(row("SELECT -(-2147483648)").1, "2147483648");
    assert_eq!(row("SELECT -2147483648").1, "-2147483648");
    assert_eq!(
        row(
            "SELECT true AND NULL, false AND NULL, true OR NULL, false OR NULL, NOT NULL::bool, \
             NULL IS NULL, 1 IS NOT NULL, 1 IS DISTINCT FROM NULL, NULL IS NOT DISTINCT FROM NULL"
        )
        .1,
        "|f|t|||t|t|t|t"
    );
    assert_eq!(
        row("SELECT 3 > '2.5'::float8, 1 <> 1, 'a' < 'b'").1,
        "t|f|t"
    );
    assert_eq!(row("SELECT 7 / 2, -7 / 2, -7 % 3, 7 % -3").1, "3|-3|-1|1");
}

#[test]
fn result_types_follow_the_literals_and_operators() {
    let results = session()
        .1
        .execute("SELECT 1, 2147483648, 'a', 1 + '2'::float8, 1 < 2")
        .expect("select");
    let types: Vec<DataType> = results[0].columns.iter().map(|c| c.data_type).collect();
    assert_eq!(
        types,
        vec![
            DataType::Int4,
            DataType::Int8,
            DataType::Text,
            DataType::Float8,
            DataType::Bool
        ]
    );
}

#[test]
fn errors_carry_postgresqls_code_message_and_position() {
    assert_eq!(
        error("SELECT 'x' + 1"),
        (
            "22P02",
            "invalid input syntax for type integer: \"x\"".into(),
            Some(8)
        )
    );
    assert_eq!(
        error("SELECT 1 + 'a'::text"),
        (
            "42883",
            "operator does not exist: integer + text".into(),
            Some(10)
        )
    );
    assert_eq!(
        error("SELECT 1 AND true"),
        (
            "42804",
            "argument of AND must be type boolean, not type integer".into(),
            Some(8)
        )
    );
    assert_eq!(error("SELECT 2147483647 + 1").1, "integer out of range");
    assert_eq!(error("SELECT 1 / 0").0, SqlState::DIVISION_BY_ZERO.code());
    assert_eq!(
        error("SELEC 1"),
        ("42601", "syntax error at or near \"SELEC\"".into(), Some(1))
    );
}

#[test]
fn where_without_from_keeps_or_drops_the_row() {
    let (_dir, mut session) = session();
    let results = session
        .execute("SELECT 1 WHERE false; SELECT 2 WHERE NULL; SELECT 3 WHERE 1 < 2")
        .expect("three statements");
    let counts: Vec<usize> = results.iter().map(|r| r.rows.len()).collect();
    assert_eq!(counts, vec![0, 0, 1]);
}

#[test]
fn a_top_n_sort_gives_the_rows_a_full_sort_gives_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    s.execute("CREATE TABLE r (id int, k int)").expect("create");
    let values: Vec<String> = (0..6000)
        .map(|i| {
            // Many ties, some NULLs, in no order.
            let k = if i % 101 == 0 {
                "NULL".to_string()
            } else {
                ((i * 7919) % 37).to_string()
            };
            format!("({i}, {k})")
        })
        .collect();
    s.execute(&format!("INSERT INTO r VALUES {}", values.join(", ")))
        .expect("insert");
    let rows = |s: &mut Session, sql: &str| s.execute(sql).expect(sql)[0].rows.clone();
    for order in ["k", "k DESC", "k NULLS FIRST", "k DESC NULLS LAST"] {
        let all = rows(&mut s, &format!("SELECT id, k FROM r ORDER BY {order}"));
        for (limit, offset) in [(1, 0), (10, 0), (25, 3), (700, 10)] {
            let top = rows(
                &mut s,
                &format!("SELECT id, k FROM r ORDER BY {order} LIMIT {limit} OFFSET {offset}"),
            );
            assert_eq!(top, all[offset..offset + limit], "{order} {limit} {offset}");
        }
    }
}
