//! Transaction blocks as PostgreSQL 15 runs them (each expected tag and code is what psql
//! showed for the same statements): BEGIN/COMMIT/ROLLBACK, the aborted state, one string as
//! one implicit transaction, DDL undone with the block, a session dropped mid-block.

use std::sync::Arc;

use cairn_sql::{Database, Session, Value};

fn tags(session: &mut Session, sql: &str) -> Vec<String> {
    session
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_iter()
        .map(|r| r.tag)
        .collect()
}

fn count(session: &mut Session, sql: &str) -> String {
    let result = session
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    result[0].rows[0][0].to_text().unwrap_or_default()
}

#[test]
fn a_block_commits_or_rolls_back_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut s = Session::new(db);
    tags(&mut s, "CREATE TABLE t (a INTEGER PRIMARY KEY)");
    assert_eq!(tags(&mut s, "BEGIN"), ["BEGIN"]);
    assert_eq!(s.transaction_status(), 'T');
    tags(&mut s, "INSERT INTO t VALUES (1)");
    tags(&mut s, "INSERT INTO t VALUES (2)");
    assert_eq!(count(&mut s, "SELECT count(*) FROM t"), "2");
    assert_eq!(tags(&mut s, "ROLLBACK"), ["ROLLBACK"]);
    assert_eq!(s.transaction_status(), 'I');
    assert_eq!(count(&mut s, "SELECT count(*) FROM t"), "0");
    assert_eq!(
        tags(
            &mut s,
            "BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); COMMIT"
        ),
        ["BEGIN", "INSERT 0 1", "INSERT 0 1", "COMMIT"]
    );
    assert_eq!(count(&mut s, "SELECT count(*) FROM t"), "2");
}

#[test]
fn a_failed_statement_aborts_the_block_until_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut s = Session::new(db);
    tags(&mut s, "CREATE TABLE t (a INTEGER PRIMARY KEY)");
    tags(&mut s, "BEGIN; INSERT INTO t VALUES (1)");
    let e = s
        .execute("INSERT INTO t VALUES (1)")
        .expect_err("duplicate");
    assert_eq!(e.state.code(), "23505");
    assert_eq!(s.transaction_status(), 'E');
    let e = s.execute("SELECT 1").expect_err("aborted block");
    assert_eq!(e.state.code(), "25P02");
    assert_eq!(
        e.message,
        "current transaction is aborted, commands ignored until end of transaction block"
    );
    assert_eq!(tags(&mut s, "COMMIT"), ["ROLLBACK"]);
    assert_eq!(count(&mut s, "SELECT count(*) FROM t"), "0");
}

#[test]
fn one_string_is_one_implicit_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut s = Session::new(db);
    tags(&mut s, "CREATE TABLE t (a INTEGER)");
    let e = s
        .execute("INSERT INTO t VALUES (1); SELECT 1 / 0")
        .expect_err("division by zero");
    assert_eq!(e.state.code(), "22012");
    assert_eq!(count(&mut s, "SELECT count(*) FROM t"), "0");
    assert_eq!(s.transaction_status(), 'I');
}

#[test]
fn ddl_rolls_back_with_its_block_and_a_dropped_session_rolls_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut s = Session::new(db.clone());
    tags(&mut s, "CREATE TABLE kept (a INTEGER)");
    tags(
        &mut s,
        "BEGIN; CREATE TABLE gone (a INTEGER); DROP TABLE kept; CREATE INDEX i ON gone (a)",
    );
    tags(&mut s, "ROLLBACK");
    assert_eq!(count(&mut s, "SELECT count(*) FROM kept"), "0");
    let e = s.execute("SELECT * FROM gone").expect_err("rolled back");
    assert_eq!(e.state.code(), "42P01");
    tags(&mut s, "BEGIN; INSERT INTO kept VALUES (7)");
    drop(s);
    let mut other = Session::new(db);
    assert_eq!(count(&mut other, "SELECT count(*) FROM kept"), "0");
    tags(&mut other, "INSERT INTO kept VALUES (8)");
    assert_eq!(count(&mut other, "SELECT count(*) FROM kept"), "1");
}

#[test]
fn committed_blocks_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut s = Session::new(Database::open(dir.path()).expect("open"));
        tags(
            &mut s,
            "CREATE TABLE t (a INTEGER); BEGIN; INSERT INTO t VALUES (1), (2); COMMIT; \
             BEGIN; INSERT INTO t VALUES (3)",
        );
    }
    let mut s = Session::new(Database::open(dir.path()).expect("reopen"));
    assert_eq!(count(&mut s, "SELECT count(*) FROM t"), "2");
}

#[test]
fn synchronous_commit_off_commits_without_waiting_and_keeps_the_rows_across_a_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Session::new(Database::open(dir.path()).expect("open"));
    assert_eq!(count(&mut s, "SHOW synchronous_commit"), "on");
    assert_eq!(tags(&mut s, "SET synchronous_commit = off"), ["SET"]);
    assert_eq!(count(&mut s, "SHOW synchronous_commit"), "off");
    s.execute("CREATE TABLE a (n int)").expect("create");
    for n in 0..50 {
        s.execute(&format!("INSERT INTO a VALUES ({n})"))
            .expect("insert");
    }
    assert_eq!(count(&mut s, "SELECT count(*) FROM a"), "50");
    let e = s
        .execute("SET synchronous_commit TO bogus")
        .expect_err("not a value");
    assert_eq!(
        (e.state.code(), e.message.as_str()),
        (
            "22023",
            "invalid value for parameter \"synchronous_commit\": \"bogus\""
        )
    );
    s.execute("SET synchronous_commit TO DEFAULT")
        .expect("reset");
    assert_eq!(count(&mut s, "SHOW synchronous_commit"), "on");
    drop(s);
    // A clean close flushes what was committed without waiting.
    let mut s = Session::new(Database::open(dir.path()).expect("reopen"));
    assert_eq!(count(&mut s, "SELECT count(*) FROM a"), "50");
}

#[test]
fn statement_timeout_and_cancel_stop_a_running_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = cairn_sql::Session::new(cairn_sql::Database::open(dir.path()).expect("open"));
    s.execute("SET statement_timeout = 50").expect("set");
    let started = std::time::Instant::now();
    let e = s
        .execute("SELECT count(*) FROM generate_series(1, 2000000000)")
        .expect_err("too long");
    assert_eq!(e.state.code(), "57014");
    assert_eq!(e.message, "canceling statement due to statement timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    s.execute("RESET statement_timeout").expect("reset");
    // A cancel from another thread stops the statement running then, not the next one.
    let interrupt = s.interrupt();
    interrupt.cancel();
    s.execute("SELECT 1")
        .expect("a cancel between statements is forgotten");
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        interrupt.cancel();
    });
    let e = s
        .execute("SELECT count(*) FROM generate_series(1, 2000000000)")
        .expect_err("cancelled");
    canceller.join().expect("canceller");
    assert_eq!(e.message, "canceling statement due to user request");
    s.execute("SELECT 1").expect("the session goes on");
}

#[test]
fn settings_are_transactional_as_in_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = cairn_sql::Session::new(cairn_sql::Database::open(dir.path()).expect("open"));
    let show = |s: &mut cairn_sql::Session, name: &str| {
        s.execute(&format!("SHOW {name}")).expect("show")[0].rows[0][0].clone()
    };
    let text = |t: &str| cairn_sql::Value::Text(t.into());
    s.execute("BEGIN; SET work_mem = '2MB'; ROLLBACK")
        .expect("rolled back");
    assert_eq!(show(&mut s, "work_mem"), text("64MB"));
    s.execute("BEGIN; SET LOCAL work_mem = '2MB'; COMMIT")
        .expect("local");
    assert_eq!(show(&mut s, "work_mem"), text("64MB"));
    s.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        .expect("begin");
    assert_eq!(show(&mut s, "transaction_isolation"), text("serializable"));
    s.execute("COMMIT").expect("commit");
    assert_eq!(
        show(&mut s, "transaction isolation level"),
        text("read committed")
    );
    let r = s
        .execute("SELECT set_config('application_name', 'app', false), current_setting('application_name')")
        .expect("set_config");
    assert_eq!(r[0].rows[0], vec![text("app"), text("app")]);
    assert_eq!(show(&mut s, "application_name"), text("app"));
    let e = s
        .execute("SET TimeZone = 'Europe/Paris'")
        .expect_err("not UTC");
    assert_eq!(e.state.code(), "0A000");
    let e = s.execute("SHOW nosuch").expect_err("unknown");
    assert_eq!(e.message, "unrecognized configuration parameter \"nosuch\"");
}

#[test]
fn cursors_fetch_their_rows_in_batches_and_close_with_their_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = cairn_sql::Session::new(cairn_sql::Database::open(dir.path()).expect("open"));
    let e = s
        .execute("DECLARE c CURSOR FOR SELECT 1")
        .expect_err("outside a block");
    assert_eq!(e.state.code(), "25P01");
    s.execute("BEGIN; DECLARE c CURSOR FOR SELECT g FROM generate_series(1, 5) g")
        .expect("declare");
    let fetch = |s: &mut cairn_sql::Session, sql: &str| {
        let result = s.execute(sql).expect("fetch").pop().expect("result");
        (result.tag, result.rows.len())
    };
    assert_eq!(
        fetch(&mut s, "FETCH FORWARD 2 FROM c"),
        ("FETCH 2".into(), 2)
    );
    assert_eq!(fetch(&mut s, "FETCH NEXT FROM c"), ("FETCH 1".into(), 1));
    assert_eq!(fetch(&mut s, "FETCH ALL FROM c"), ("FETCH 2".into(), 2));
    assert_eq!(fetch(&mut s, "FETCH ALL FROM c"), ("FETCH 0".into(), 0));
    s.execute("DECLARE h CURSOR WITH HOLD FOR SELECT 1")
        .expect("hold");
    s.execute("COMMIT").expect("commit");
    let e = s
        .execute("FETCH ALL FROM c")
        .expect_err("closed with its block");
    assert_eq!(e.message, "cursor \"c\" does not exist");
    assert_eq!(fetch(&mut s, "FETCH ALL FROM h"), ("FETCH 1".into(), 1));
    s.execute("CLOSE h").expect("close");
    assert_eq!(
        s.execute("CLOSE h").expect_err("gone").state.code(),
        "34000"
    );
}

#[test]
fn statements_raise_postgresqls_notices_and_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = cairn_sql::Session::new(cairn_sql::Database::open(dir.path()).expect("open"));
    let notices = |s: &mut cairn_sql::Session, sql: &str| -> Vec<String> {
        s.execute(sql)
            .expect(sql)
            .iter()
            .flat_map(|r| r.notices.iter())
            .map(|n| format!("{}: {} ({})", n.severity, n.message, n.state.code()))
            .collect()
    };
    assert_eq!(
        notices(&mut s, "DROP TABLE IF EXISTS nosuch; CREATE TABLE t (a int); CREATE TABLE IF NOT EXISTS t (a int)"),
        vec![
            "NOTICE: table \"nosuch\" does not exist, skipping (00000)".to_string(),
            "NOTICE: relation \"t\" already exists, skipping (42P07)".to_string(),
        ]
    );
    assert_eq!(
        notices(&mut s, "COMMIT"),
        vec!["WARNING: there is no transaction in progress (25P01)".to_string()]
    );
    assert_eq!(
        notices(&mut s, "BEGIN; BEGIN; ROLLBACK"),
        vec!["WARNING: there is already a transaction in progress (25001)".to_string()]
    );
    // A failed statement's notices are not handed to the next one.
    s.execute("DROP TABLE IF EXISTS gone; SELECT 1/0")
        .expect_err("fails");
    assert!(notices(&mut s, "SELECT 1").is_empty());
}

#[test]
fn currval_and_lastval_belong_to_the_session_and_outlive_a_rollback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut a = Session::new(Arc::clone(&db));
    let mut b = Session::new(db);
    a.execute("CREATE SEQUENCE s").expect("create");
    let lastval = b.execute("SELECT lastval()").expect_err("not yet");
    assert_eq!(lastval.state.code(), "55000");
    a.execute("BEGIN; SELECT nextval('s'); ROLLBACK")
        .expect("nextval");
    // The rolled-back nextval still counts, for this session only.
    let values = a
        .execute("SELECT currval('s'), lastval()")
        .expect("currval");
    assert_eq!(values[0].rows, vec![vec![Value::Int8(1), Value::Int8(1)]]);
    let other = b.execute("SELECT currval('s')").expect_err("other session");
    assert_eq!(other.state.code(), "55000");
    assert_eq!(
        b.execute("SELECT nextval('s')").expect("nextval")[0].rows,
        vec![vec![Value::Int8(2)]]
    );
    assert_eq!(
        a.execute("SELECT currval('s')").expect("currval")[0].rows,
        vec![vec![Value::Int8(1)]]
    );
}
