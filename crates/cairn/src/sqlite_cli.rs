//! `cairn sqlite …`: read a SQLite database file with cairn-sqlite — its header and objects,
//! its schema, a table's rows, one row, or the rows an index finds.
//!
//! Output is an aligned table for a person (`--format table`, the default), or CSV or JSON
//! for a program. Values print as SQLite prints them: NULL, integers, reals with `.0` when
//! integral, text as is, blobs as `X'…'` hex literals (an object `{"blob": "<hex>"}` in
//! JSON).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::output::{self, print};
use anyhow::{bail, Context};
use cairn_sqlite::{format_real, Database, Row, Table, Value};
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand)]
pub enum SqliteCommand {
    /// The header's fields, the tables with their row counts, and the indexes.
    Info {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The CREATE statements of every table, index, view and trigger.
    Schema { file: PathBuf },
    /// The rows of a table (columns as `SELECT *` gives them), in storage order.
    Dump {
        file: PathBuf,
        table: String,
        /// Print at most this many rows.
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One row: by rowid, or by its PRIMARY KEY values for a WITHOUT ROWID table.
    Get {
        file: PathBuf,
        table: String,
        #[arg(required = true)]
        key: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The rows whose key in INDEX starts with the VALUEs (equality on the first columns).
    ///
    /// Each value is read as a literal: 42 an integer, 4.2 a real, NULL, X'00ff' a blob,
    /// 'quoted' or anything else text; then the indexed column's affinity applies, as in
    /// SQLite's `WHERE column = value`.
    Lookup {
        file: PathBuf,
        index: String,
        #[arg(required = true)]
        values: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// How rows are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, for a person.
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects keyed by column name.
    Json,
}

pub fn run(command: SqliteCommand) -> anyhow::Result<()> {
    match command {
        SqliteCommand::Info { file, format } => info(&open(&file)?, &file, format),
        SqliteCommand::Schema { file } => {
            let db = open(&file)?;
            let mut out = String::new();
            for entry in &db.schema().entries {
                if let Some(sql) = &entry.sql {
                    writeln!(out, "{sql};")?;
                }
            }
            print(&out)
        }
        SqliteCommand::Dump {
            file,
            table,
            limit,
            format,
        } => {
            let db = open(&file)?;
            let table = db.table(&table)?;
            let mut rows = Vec::new();
            for row in db
                .rows(table)?
                .take(limit.map_or(usize::MAX, |n| n as usize))
            {
                rows.push(row?);
            }
            print_rows(table, &rows, format)
        }
        SqliteCommand::Get {
            file,
            table,
            key,
            format,
        } => {
            let db = open(&file)?;
            let table = db.table(&table)?;
            let row = if table.without_rowid {
                let key: Vec<Value> = key.iter().map(|k| literal(k)).collect();
                db.row_by_primary_key(table, &key)?
            } else {
                let [rowid] = key.as_slice() else {
                    bail!("{} has rowids: give one rowid", table.name);
                };
                let rowid: i64 = rowid
                    .parse()
                    .with_context(|| format!("rowid {rowid:?} is not an integer"))?;
                db.row(table, rowid)?
            };
            match row {
                Some(row) => print_rows(table, &[row], format),
                None => bail!("{} has no row {}", table.name, key.join(" ")),
            }
        }
        SqliteCommand::Lookup {
            file,
            index,
            values,
            format,
        } => {
            let db = open(&file)?;
            let index = db.index(&index)?;
            let key: Vec<Value> = values.iter().map(|v| literal(v)).collect();
            let rows = db.lookup(index, &key)?;
            print_rows(db.table_of(index)?, &rows, format)
        }
    }
}

fn open(file: &Path) -> anyhow::Result<Database> {
    Ok(Database::open(file)?)
}

/// A value typed on the command line: a SQL literal (42, 4.2, NULL, X'00ff', 'quoted'), or
/// else the text as typed.
fn literal(text: &str) -> Value {
    cairn_sqlite::parse_literal(text).unwrap_or_else(|| Value::Text(text.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value as text: what the table and CSV formats print.
fn display(value: &Value, shorten: bool) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Integer(n) => n.to_string(),
        Value::Real(r) if r.is_infinite() => if *r > 0.0 { "Inf" } else { "-Inf" }.into(),
        Value::Real(r) => format_real(*r),
        Value::Text(text) if shorten && text.chars().count() > 80 => {
            let head: String = text.chars().take(77).collect();
            format!("{head}… ({} chars)", text.chars().count())
        }
        Value::Text(text) => text.clone(),
        Value::Blob(bytes) if shorten && bytes.len() > 32 => {
            format!("X'{}'… ({} bytes)", hex(&bytes[..32]), bytes.len())
        }
        Value::Blob(bytes) => format!("X'{}'", hex(bytes)),
    }
}

fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(n) => (*n).into(),
        Value::Real(r) => serde_json::Number::from_f64(*r)
            .map_or_else(|| display(value, false).into(), serde_json::Value::Number),
        Value::Text(text) => text.clone().into(),
        Value::Blob(bytes) => serde_json::json!({ "blob": hex(bytes) }),
    }
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn print_rows(table: &Table, rows: &[Row], format: Format) -> anyhow::Result<()> {
    let names: Vec<&str> = table.readable_columns().map(|c| c.name.as_str()).collect();
    let mut out = String::new();
    match format {
        Format::Table => {
            let mut grid = output::grid(&[]);
            grid.set_header(&names);
            for row in rows {
                grid.add_row(row.values.iter().map(|v| display(v, true)));
            }
            writeln!(out, "{grid}")?;
            writeln!(
                out,
                "({} row{})",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )?;
        }
        Format::Csv => {
            let line = |fields: Vec<String>| {
                fields
                    .iter()
                    .map(|f| csv_field(f))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            writeln!(
                out,
                "{}",
                line(names.iter().map(|n| n.to_string()).collect())
            )?;
            for row in rows {
                let fields = row
                    .values
                    .iter()
                    .map(|v| {
                        if *v == Value::Null {
                            String::new()
                        } else {
                            display(v, false)
                        }
                    })
                    .collect();
                writeln!(out, "{}", line(fields))?;
            }
        }
        Format::Json => {
            let array: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let object: serde_json::Map<String, serde_json::Value> = names
                        .iter()
                        .zip(&row.values)
                        .map(|(n, v)| (n.to_string(), json(v)))
                        .collect();
                    serde_json::Value::Object(object)
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&array)?)?;
        }
    }
    print(&out)
}

fn info(db: &Database, file: &Path, format: Format) -> anyhow::Result<()> {
    let fields = header_fields(db, file);
    let schema = db.schema();
    let mut tables = Vec::new();
    for table in &schema.tables {
        let rows = if table.is_virtual {
            None
        } else {
            Some(db.count_rows(table)?)
        };
        let kind = if table.is_virtual {
            "virtual"
        } else if table.without_rowid {
            "WITHOUT ROWID"
        } else {
            "rowid"
        };
        tables.push((table, rows, kind));
    }
    if format == Format::Json {
        let json = serde_json::json!({
            "header": fields.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone()))).collect::<serde_json::Map<_, _>>(),
            "tables": tables.iter().map(|(t, rows, kind)| serde_json::json!({
                "name": t.name, "rows": rows, "columns": t.columns.len(), "root_page": t.root_page, "kind": kind,
            })).collect::<Vec<_>>(),
            "indexes": schema.indexes.iter().map(|i| serde_json::json!({
                "name": i.name, "table": i.table, "columns": index_columns(i), "unique": i.unique,
                "partial": i.partial, "root_page": i.root_page,
            })).collect::<Vec<_>>(),
            "unreadable": schema.unreadable.iter().map(|(n, why)| serde_json::json!({"name": n, "why": why})).collect::<Vec<_>>(),
        });
        return print(&format!("{}\n", serde_json::to_string_pretty(&json)?));
    }
    let mut out = String::new();
    let mut grid = output::grid(&[]);
    for (field, value) in &fields {
        grid.add_row(vec![field.to_string(), value.clone()]);
    }
    writeln!(out, "{grid}\n")?;
    let mut grid = output::grid(&["table", "rows", "columns", "root page", "kind"]);
    for (table, rows, kind) in &tables {
        let rows = rows.map_or_else(|| "-".to_string(), |n| n.to_string());
        grid.add_row(vec![
            table.name.clone(),
            rows,
            table.columns.len().to_string(),
            table.root_page.to_string(),
            kind.to_string(),
        ]);
    }
    writeln!(out, "{grid}\n")?;
    let mut grid = output::grid(&["index", "table", "columns", "unique", "root page"]);
    for index in &schema.indexes {
        let mut columns = index_columns(index);
        if let Some(partial) = &index.partial {
            write!(columns, " WHERE {partial}")?;
        }
        let unique = if index.unique { "yes" } else { "no" };
        grid.add_row(vec![
            index.name.clone(),
            index.table.clone(),
            columns,
            unique.into(),
            index.root_page.to_string(),
        ]);
    }
    writeln!(out, "{grid}")?;
    for (name, why) in &schema.unreadable {
        writeln!(out, "not readable: {name}: {why}")?;
    }
    print(&out)
}

/// The header's fields, as `info` shows them.
fn header_fields(db: &Database, file: &Path) -> Vec<(&'static str, String)> {
    let header = db.header();
    vec![
        ("file", file.display().to_string()),
        ("page size", header.page_size.to_string()),
        ("pages", db.page_count().to_string()),
        ("reserved bytes per page", header.reserved_bytes.to_string()),
        (
            "journal mode",
            if header.wal_mode() {
                format!(
                    "wal ({} committed frames not yet checkpointed)",
                    db.wal_frames()
                )
            } else {
                "rollback".into()
            },
        ),
        (
            "file format versions",
            format!(
                "write {}, read {}",
                header.write_version, header.read_version
            ),
        ),
        ("text encoding", header.text_encoding.name().into()),
        ("schema format", header.schema_format.to_string()),
        ("schema cookie", header.schema_cookie.to_string()),
        ("change counter", header.change_counter.to_string()),
        ("freelist pages", header.freelist_pages.to_string()),
        (
            "auto-vacuum",
            match (header.auto_vacuum(), header.incremental_vacuum != 0) {
                (false, _) => "none".into(),
                (true, false) => "full".into(),
                (true, true) => "incremental".into(),
            },
        ),
        ("default cache size", header.default_cache_size.to_string()),
        ("user version", header.user_version.to_string()),
        ("application id", header.application_id.to_string()),
        ("written by SQLite", header.sqlite_version_text()),
    ]
}

/// An index's columns as SQL: `name [COLLATE c] [DESC]`, comma-separated.
fn index_columns(index: &cairn_sqlite::Index) -> String {
    index
        .columns
        .iter()
        .map(|c| {
            let mut text = c.name.clone();
            if c.collation != cairn_sqlite::Collation::Binary {
                write!(text, " COLLATE {}", c.collation.name()).expect("write to String");
            }
            if c.descending {
                text.push_str(" DESC");
            }
            text
        })
        .collect::<Vec<_>>()
        .join(", ")
}
