//! Statements that nest deeply or chain many operators: each runs or is refused with
//! `54001 stack depth limit exceeded` — never a stack overflow, which would abort the whole
//! server. The test threads have Rust's default 2 MiB stack, as a server's would.

use cairn_sql::parser::{MAX_NESTING, MAX_OPERATORS};
use cairn_sql::{Database, Session};

/// A statement of some shape, nested `n` deep.
type Shape = fn(usize) -> String;

fn shapes() -> Vec<(&'static str, Shape)> {
    vec![
        ("parentheses", |n| {
            format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n))
        }),
        ("parenthesized queries", |n| {
            format!("{}SELECT a FROM t{}", "(".repeat(n), ")".repeat(n))
        }),
        ("scalar subqueries", |n| {
            format!("SELECT {}1{}", "(SELECT ".repeat(n), ")".repeat(n))
        }),
        ("subqueries in FROM", |n| {
            format!(
                "SELECT * FROM {}t{}",
                "(SELECT * FROM ".repeat(n),
                ") x".repeat(n)
            )
        }),
    ]
}

#[test]
fn deep_nesting_runs_to_the_limit_and_is_refused_past_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    s.execute("CREATE TABLE t (a int); INSERT INTO t VALUES (7)")
        .expect("setup");
    for (shape, sql) in shapes() {
        let deep = sql(MAX_NESTING - 6);
        match s.execute(&deep) {
            Ok(results) => assert_eq!(results.len(), 1, "{shape}"),
            Err(e) => assert_eq!(e.state.code(), "54001", "{shape}: {e:?}"),
        }
        let prepared = s.prepare(&deep);
        if let Ok(prepared) = prepared {
            s.execute_prepared(&prepared, &[]).expect(shape);
        }
        let too_deep = s.execute(&sql(MAX_NESTING + 1)).expect_err(shape);
        assert_eq!(too_deep.state.code(), "54001", "{shape}");
        assert_eq!(too_deep.message, "stack depth limit exceeded");
    }
    // The depth that runs: 40 levels of subqueries in FROM answer as one.
    let forty = s.execute(&shapes()[3].1(40)).expect("forty levels");
    assert_eq!(forty[0].rows.len(), 1);
}

#[test]
fn long_operator_chains_run_and_too_long_ones_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    let sum = format!("SELECT 1{}", " + 1".repeat(5_000));
    let rows = &s.execute(&sum).expect("5000 additions")[0].rows;
    assert_eq!(rows[0][0].to_text().as_deref(), Some("5001"));
    let ors = format!(
        "SELECT count(*) FROM generate_series(1, 10) g WHERE {}",
        (1..=3_000)
            .map(|i| format!("g = {i}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let rows = &s.execute(&ors).expect("3000 ORs")[0].rows;
    assert_eq!(rows[0][0].to_text().as_deref(), Some("10"));
    let too_long = format!("SELECT 1{}", " + 1".repeat(MAX_OPERATORS + 1));
    assert_eq!(
        s.execute(&too_long).expect_err("too long").state.code(),
        "54001"
    );
}
