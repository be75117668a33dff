//! cairn's own sqllogictest files (tests/sql/*.test), whose expected results were recorded
//! from PostgreSQL 15 by record.py: every record must pass through cairn-sql.

use cairn_slt::{parse, Outcome, Record, Runner};
use cairn_sql::{Database, Session};

#[test]
fn every_record_answers_as_postgresql() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/sql")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the test files are there");
    let mut failures = Vec::new();
    let mut passed = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        let records = parse(&text).expect("the file parses");
        let data = tempfile::tempdir().expect("tempdir");
        let db = Database::open(data.path()).expect("open");
        let mut runner = Runner::new(Session::new(db));
        for record in &records {
            let line = match record {
                Record::Statement { line, .. } | Record::Query { line, .. } => *line,
                _ => 0,
            };
            match runner.run(record) {
                Outcome::Passed => passed += 1,
                Outcome::Failed(why) => failures.push(format!("{}:{line}: {why}", file.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{passed} passed; failed:\n{}",
        failures.join("\n")
    );
}
