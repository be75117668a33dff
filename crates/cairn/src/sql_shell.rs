//! The interactive `cairn sql` shell, as psql's: line editing and history (rustyline, kept
//! in `~/.cairn_sql_history`), statements that run when a line ends with `;` (several lines
//! make one statement until then), results as aligned tables, errors that do not end the
//! session, and psql's meta-commands:
//!
//! * `\d` the relations; `\d NAME` a table's columns, indexes and CHECK constraints;
//! * `\dt` the tables, `\di` the indexes;
//! * `\timing` times each statement; `\q` quits (as does end of input);
//! * `\?` lists these.
//!
//! The prompt is psql's: `cairn=>` for a new statement, `cairn->` while one continues,
//! `cairn=*>` inside a transaction block, `cairn=!>` inside a failed one.

use std::sync::Arc;
use std::time::Instant;

use cairn_sql::{Column, DataType, Database, QueryResult, Session, Value};
use rustyline::error::ReadlineError;

use crate::sql_cli::{error_report, write_result};

pub fn run(db: Arc<Database>) -> anyhow::Result<()> {
    let mut editor = rustyline::DefaultEditor::new()?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cairn_sql_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let mut session = Session::new(db.clone());
    let mut timing = false;
    let mut buffer = String::new();
    println!("cairn sql — PostgreSQL's dialect. Type \\? for help, \\q to quit.");
    loop {
        let prompt = match (buffer.is_empty(), session.transaction_status()) {
            (false, _) => "cairn-> ",
            (true, 'T') => "cairn=*> ",
            (true, 'E') => "cairn=!> ",
            _ => "cairn=> ",
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            match meta(&db, trimmed, &mut timing) {
                Ok(Some(out)) => print!("{out}"),
                Ok(None) => break,
                Err(message) => eprintln!("{message}"),
            }
            continue;
        }
        if !buffer.is_empty() {
            buffer.push('\n');
        }
        buffer.push_str(&line);
        if !trimmed.ends_with(';') {
            continue;
        }
        let _ = editor.add_history_entry(buffer.as_str());
        let sql = std::mem::take(&mut buffer);
        let start = Instant::now();
        match session.execute(&sql) {
            Ok(results) => {
                let mut out = String::new();
                for result in &results {
                    crate::sql_cli::print_notices(result);
                    write_result(result, &mut out);
                }
                print!("{out}");
            }
            Err(e) => eprint!("{}", error_report(&sql, &e)),
        }
        if timing {
            println!("Time: {:.3} ms", start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// A meta-command's output; `None` to quit; `Err` for psql's complaint.
fn meta(db: &Database, command: &str, timing: &mut bool) -> Result<Option<String>, String> {
    let mut words = command.split_whitespace();
    let name = words.next().unwrap_or_default();
    let argument = words.next();
    let mut out = String::new();
    match (name, argument) {
        ("\\q", _) => return Ok(None),
        ("\\timing", _) => {
            *timing = !*timing;
            out.push_str(if *timing { "Timing is on.\n" } else { "Timing is off.\n" });
        }
        ("\\?", _) => out.push_str(
            "  \\d [NAME]   list relations, or describe table NAME\n  \\dt         list tables\n  \\di         list indexes\n  \\timing     time each statement\n  \\q          quit\n",
        ),
        ("\\d", None) | ("\\dt", _) | ("\\di", _) => {
            let kind = match name {
                "\\dt" => Some("table"),
                "\\di" => Some("index"),
                _ => None,
            };
            let rows: Vec<Vec<Value>> = db
                .relations()
                .into_iter()
                .filter(|(_, k)| kind.is_none_or(|want| want == *k))
                .map(|(n, k)| vec![text("public"), text(&n), text(k)])
                .collect();
            if rows.is_empty() {
                return Err("Did not find any relations.".into());
            }
            out.push_str("List of relations\n");
            write_result(&table(&["Schema", "Name", "Type"], rows), &mut out);
        }
        ("\\d", Some(table_name)) => {
            let name = table_name.trim_matches('"').to_lowercase();
            let Some(description) = db.describe(&name) else {
                return Err(format!("Did not find any relation named \"{table_name}\"."));
            };
            out.push_str(&format!("Table \"public.{name}\"\n"));
            let rows = description
                .columns
                .iter()
                .map(|(c, ty, not_null, default)| {
                    vec![
                        text(c),
                        text(ty),
                        text(if *not_null { "not null" } else { "" }),
                        text(default.as_deref().unwrap_or("")),
                    ]
                })
                .collect();
            let mut listing = String::new();
            write_result(&table(&["Column", "Type", "Nullable", "Default"], rows), &mut listing);
            // psql shows no row count under \d.
            let listing = listing.trim_end().rsplit_once('\n').map_or(listing.clone(), |(t, _)| t.to_string());
            out.push_str(&listing);
            out.push('\n');
            if !description.indexes.is_empty() {
                out.push_str("Indexes:\n");
                for (index, unique, primary, columns) in &description.indexes {
                    let kind = if *primary {
                        " PRIMARY KEY,"
                    } else if *unique {
                        " UNIQUE,"
                    } else {
                        ""
                    };
                    out.push_str(&format!("    \"{index}\"{kind} btree ({})\n", columns.join(", ")));
                }
            }
            if !description.checks.is_empty() {
                out.push_str("Check constraints:\n");
                for (check, condition) in &description.checks {
                    out.push_str(&format!("    \"{check}\" CHECK ({condition})\n"));
                }
            }
            out.push('\n');
        }
        _ => return Err(format!("invalid command {name}\nTry \\? for help.")),
    }
    Ok(Some(out))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// A result of text columns, for the listings.
fn table(names: &[&str], rows: Vec<Vec<Value>>) -> QueryResult {
    QueryResult {
        tag: format!("SELECT {}", rows.len()),
        columns: names
            .iter()
            .map(|n| Column {
                name: n.to_string(),
                data_type: DataType::Text,
            })
            .collect(),
        rows,
        copy: None,
        notices: Vec::new(),
        parameter_changes: Vec::new(),
    }
}
