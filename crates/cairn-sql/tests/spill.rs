//! Sorts and hash joins larger than their memory budget spill to temporary files and give
//! the same rows as in memory.

use cairn_sql::{Database, Session, Value};

fn rows(session: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    let results = session
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    results.last().expect("a result").rows.clone()
}

#[test]
fn sorts_and_joins_past_work_mem_spill_and_agree_with_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let mut s = Session::new(db.clone());
    s.execute(
        "CREATE TABLE a (k INTEGER, pad TEXT); \
         CREATE TABLE b (k INTEGER, tag TEXT); \
         INSERT INTO a SELECT (g * 7919) % 20000, 'row number ' || g FROM generate_series(1, 20000) AS g; \
         INSERT INTO b SELECT g % 5000, 'b' || g FROM generate_series(1, 20000) AS g",
    )
    .expect("load");
    let sort = "SELECT k, pad FROM a ORDER BY k DESC, pad";
    let join = "SELECT count(*), sum(a.k), min(b.tag) FROM a JOIN b ON a.k = b.k";
    let left_join = "SELECT count(*), count(b.k) FROM a LEFT JOIN b ON a.k = b.k";
    let in_memory = (
        rows(&mut s, sort),
        rows(&mut s, join),
        rows(&mut s, left_join),
    );
    assert_eq!(db.spill_count(), 0, "64 MiB holds these");

    s.execute("SET work_mem = '64kB'").expect("set");
    assert_eq!(
        rows(&mut s, "SHOW work_mem"),
        vec![vec![Value::Text("64kB".into())]]
    );
    let sorted = rows(&mut s, sort);
    let runs = db.spill_count();
    assert!(runs > 10, "the sort wrote {runs} runs");
    assert_eq!(sorted.len(), 20000);
    assert_eq!(sorted, in_memory.0);
    assert_eq!(rows(&mut s, join), in_memory.1);
    assert_eq!(rows(&mut s, left_join), in_memory.2);
    assert!(db.spill_count() > runs, "the joins were partitioned");
    // Nothing is left behind in the database's temporary directory.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("tmp"))
        .expect("tmp exists")
        .collect();
    assert!(left.is_empty(), "{left:?}");

    let e = s.execute("SET work_mem = '10kB'").expect_err("too small");
    assert_eq!(e.state.code(), "22023");
    let e = s.execute("SET nosuch = 1").expect_err("unknown");
    assert_eq!(e.state.code(), "42704");
}
