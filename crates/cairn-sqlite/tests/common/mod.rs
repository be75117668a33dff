//! Shared by the integration tests: compares everything cairn-sqlite reads from a file
//! with what SQLite itself answers about the same file.

#![allow(dead_code)]

use std::ops::Bound;
use std::path::Path;

use cairn_sqlite::{Database, Index, Table, Value};
use rusqlite::types::ValueRef as SqliteValue;
use rusqlite::{Connection, OpenFlags};

/// Converts a value SQLite returned into cairn-sqlite's.
pub fn from_sqlite(value: SqliteValue<'_>) -> Value {
    match value {
        SqliteValue::Null => Value::Null,
        SqliteValue::Integer(n) => Value::Integer(n),
        SqliteValue::Real(r) => Value::Real(r),
        SqliteValue::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        SqliteValue::Blob(bytes) => Value::Blob(bytes.to_vec()),
    }
}

/// Converts a value into one SQLite binds.
pub fn to_sqlite(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Integer(n) => rusqlite::types::Value::Integer(*n),
        Value::Real(r) => rusqlite::types::Value::Real(*r),
        Value::Text(text) => rusqlite::types::Value::Text(text.clone()),
        Value::Blob(bytes) => rusqlite::types::Value::Blob(bytes.clone()),
    }
}

pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What the test checked, to assert it checked something.
#[derive(Debug, Default)]
pub struct Checked {
    pub tables: usize,
    pub rows: usize,
    pub indexes: usize,
    pub lookups: usize,
}

/// Opens `path` with SQLite (read-only) and with cairn-sqlite and compares every table's
/// rows, every table's and index's columns, and `lookups_per_index` look-ups per index.
pub fn check_database(path: &Path, lookups_per_index: usize) -> Checked {
    let sqlite =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("sqlite opens");
    check_database_with(&sqlite, path, lookups_per_index)
}

/// As [`check_database`], asking an open SQLite connection (one that may hold a WAL open).
pub fn check_database_with(sqlite: &Connection, path: &Path, lookups_per_index: usize) -> Checked {
    let db = Database::open(path).expect("cairn-sqlite opens");
    let mut checked = Checked::default();
    assert!(
        db.schema().unreadable.is_empty(),
        "unreadable: {:?}",
        db.schema().unreadable
    );
    let freelist: u32 = sqlite
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(db.freelist_pages().expect("freelist walks"), freelist);
    let page_count: u32 = sqlite
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(db.page_count(), page_count);

    for table in db
        .schema()
        .tables
        .iter()
        .chain([db.table("sqlite_schema").expect("schema")])
    {
        if table.is_virtual {
            continue;
        }
        check_table_columns(sqlite, table);
        checked.rows += check_rows(sqlite, &db, table);
        checked.tables += 1;
    }
    for index in &db.schema().indexes {
        check_index_columns(sqlite, index);
        checked.lookups += check_index(sqlite, &db, index, lookups_per_index);
        checked.indexes += 1;
    }
    checked
}

fn check_table_columns(sqlite: &Connection, table: &Table) {
    if table.name == "sqlite_schema" {
        return;
    }
    let mut statement = sqlite
        .prepare(&format!("PRAGMA table_xinfo({})", quote(&table.name)))
        .expect("pragma");
    let columns: Vec<(String, String, i64)> = statement
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(5)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let ours: Vec<(String, String, bool)> = table
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.declared_type.clone(), c.primary_key))
        .collect();
    let theirs: Vec<(String, String, bool)> = columns
        .into_iter()
        .map(|(n, t, pk)| (n, t, pk > 0))
        .collect();
    assert_eq!(ours, theirs, "columns of {}", table.name);
}

fn check_index_columns(sqlite: &Connection, index: &Index) {
    let mut statement = sqlite
        .prepare(&format!("PRAGMA index_xinfo({})", quote(&index.name)))
        .expect("pragma");
    let theirs: Vec<(Option<String>, bool, String)> = statement
        .query_map([], |r| {
            Ok((
                r.get(2)?,
                r.get::<_, i64>(3)? != 0,
                r.get(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows")
        .into_iter()
        .filter(|(_, _, _, key)| *key != 0)
        .map(|(name, desc, collation, _)| (name, desc, collation))
        .collect();
    let ours: Vec<(Option<String>, bool, String)> = index
        .columns
        .iter()
        .map(|c| {
            let name = c.column.map(|_| c.name.clone());
            (name, c.descending, c.collation.name().to_string())
        })
        .collect();
    let normalise = |v: Vec<(Option<String>, bool, String)>| {
        v.into_iter()
            .map(|(n, d, c)| (n.map(|n| n.to_lowercase()), d, c.to_uppercase()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        normalise(ours),
        normalise(theirs),
        "columns of index {}",
        index.name
    );
}

fn column_list(table: &Table) -> String {
    table
        .readable_columns()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_rows(sqlite: &Connection, db: &Database, table: &Table) -> usize {
    let sql = if table.without_rowid {
        format!("SELECT {} FROM {}", column_list(table), quote(&table.name))
    } else {
        format!(
            "SELECT rowid, {} FROM {} ORDER BY rowid",
            column_list(table),
            quote(&table.name)
        )
    };
    let mut statement = sqlite.prepare(&sql).expect("select");
    let width = table.readable_columns().count();
    let offset = usize::from(!table.without_rowid);
    let mut theirs = statement.query([]).expect("query");
    let mut ours = db.rows(table).expect("scan");
    let mut count = 0;
    loop {
        let mine = ours.next().transpose().expect("cairn-sqlite reads the row");
        let their = theirs.next().expect("sqlite reads the row");
        match (mine, their) {
            (None, None) => break,
            (Some(mine), Some(their)) => {
                if !table.without_rowid {
                    assert_eq!(
                        mine.rowid,
                        Some(their.get::<_, i64>(0).expect("rowid")),
                        "{}",
                        table.name
                    );
                }
                let values: Vec<Value> = (0..width)
                    .map(|i| from_sqlite(their.get_ref(i + offset).expect("value")))
                    .collect();
                assert_eq!(mine.values, values, "row {count} of {}", table.name);
            }
            (mine, their) => panic!(
                "{}: cairn-sqlite {} a row where SQLite {}",
                table.name,
                if mine.is_some() { "has" } else { "lacks" },
                if their.is_some() {
                    "has one"
                } else {
                    "has none"
                }
            ),
        }
        count += 1;
    }
    assert_eq!(
        db.count_rows(table).expect("count"),
        count as u64,
        "{}",
        table.name
    );
    if !table.without_rowid {
        let mut finder = db.row_finder(table).expect("finder");
        let mut rows = db.rows(table).expect("scan");
        for (i, row) in rows.by_ref().enumerate().step_by(97) {
            let row = row.expect("row");
            let rowid = row.rowid.expect("rowid");
            let found = finder.by_rowid(rowid).expect("seek").map(|r| r.to_row());
            assert_eq!(
                found.as_ref(),
                Some(&row),
                "row {i} of {} by rowid",
                table.name
            );
            assert!(finder.by_rowid(rowid.wrapping_add(1) / 2 * 2 + 1).is_ok());
        }
    }
    count
}

/// The SQL expression of an index column, for a WHERE clause.
fn key_expression(index: &Index, i: usize) -> String {
    let column = &index.columns[i];
    let expression = match column.column {
        Some(_) => quote(&column.name),
        None => format!("({})", column.name),
    };
    format!(
        "{expression} IS ?{} COLLATE {}",
        i + 1,
        column.collation.name()
    )
}

fn sorted(mut rows: Vec<(Option<i64>, Vec<Value>)>) -> Vec<(Option<i64>, Vec<Value>)> {
    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    rows
}

/// Scans the index in full, then looks up `lookups` of its keys (every key-length prefix in
/// turn) and a missing one, comparing the rows found with SQLite's.
fn check_index(sqlite: &Connection, db: &Database, index: &Index, lookups: usize) -> usize {
    let table = db.table_of(index).expect("table");
    let mut keys: Vec<Vec<Value>> = Vec::new();
    let mut entries = db
        .entries(index, Bound::Unbounded, Bound::Unbounded)
        .expect("entries");
    let mut count = 0u64;
    let mut previous: Option<Vec<Value>> = None;
    while let Some(entry) = entries.next_entry().expect("entry") {
        let key: Vec<Value> = (0..index.columns.len())
            .map(|i| entry.get(i).to_value(db.header().text_encoding))
            .collect();
        if previous.as_ref() != Some(&key) {
            keys.push(key.clone());
            previous = Some(key);
        }
        count += 1;
    }
    if index.partial.is_none() {
        assert_eq!(
            count,
            db.count_rows(table).expect("count"),
            "entries of {}",
            index.name
        );
    }
    let step = (keys.len() / lookups.max(1)).max(1);
    let mut done = 0;
    for (n, key) in keys.iter().step_by(step).take(lookups).enumerate() {
        let prefix = &key[..1 + n % key.len()];
        let mut condition: Vec<String> = (0..prefix.len())
            .map(|i| key_expression(index, i))
            .collect();
        if let Some(partial) = &index.partial {
            condition.push(format!("({partial})"));
        }
        let select = if table.without_rowid {
            format!(
                "SELECT NULL, {} FROM {} WHERE {}",
                column_list(table),
                quote(&table.name),
                condition.join(" AND ")
            )
        } else {
            format!(
                "SELECT rowid, {} FROM {} WHERE {}",
                column_list(table),
                quote(&table.name),
                condition.join(" AND ")
            )
        };
        let mut statement = sqlite.prepare_cached(&select).expect("select");
        let params: Vec<rusqlite::types::Value> = prefix.iter().map(to_sqlite).collect();
        let theirs: Vec<(Option<i64>, Vec<Value>)> = statement
            .query_map(rusqlite::params_from_iter(params), |r| {
                let width = r.as_ref().column_count();
                Ok((
                    r.get(0)?,
                    (1..width)
                        .map(|i| from_sqlite(r.get_ref(i).expect("value")))
                        .collect(),
                ))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let ours: Vec<(Option<i64>, Vec<Value>)> = db
            .lookup(index, prefix)
            .expect("lookup")
            .into_iter()
            .map(|row| (row.rowid, row.values))
            .collect();
        assert!(
            !ours.is_empty(),
            "{}: a key read from the index finds rows",
            index.name
        );
        assert_eq!(
            sorted(ours),
            sorted(theirs),
            "lookup {prefix:?} in {}",
            index.name
        );
        done += 1;
    }
    // A key that is not there finds nothing.
    let missing = db
        .lookup(index, &[Value::Blob(b"\xff\xfe no such key".to_vec())])
        .expect("lookup");
    assert!(missing.is_empty(), "{}", index.name);
    done
}
