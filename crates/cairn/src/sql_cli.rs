//! `cairn sql`: SQL on the database of a data directory (`<data>/sql`), answered as psql
//! answers: results as aligned tables (`(N rows)` below), other statements by their command
//! tag, errors as `ERROR:  message` with the statement's line and a caret under the position.
//!
//! `-c SQL` runs a string as one query (one implicit transaction, as psql sends it) and
//! `-f FILE` a file statement by statement, each stopping at the first error with exit
//! status 1 (psql's behaviour with `ON_ERROR_STOP`); without either, the SQL is read from
//! standard input like a file. On a terminal, without either, it is the interactive shell
//! of [`crate::sql_shell`]. The interactive shell (line editing, history, `\d`) comes with
//! the rest of issue 24.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::Context;
use cairn_sql::{Database, QueryResult, Session};

#[derive(clap::Args)]
pub struct SqlArgs {
    /// The data directory (its database is `<data>/sql`).
    #[arg(long, env = "CAIRN_DATA", default_value = "cairn-data")]
    data: PathBuf,
    /// Run this SQL (one or more statements) and exit.
    #[arg(
        short = 'c',
        long = "command",
        value_name = "SQL",
        conflicts_with = "file"
    )]
    command: Option<String>,
    /// Run the SQL in this file and exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
}

pub fn run(args: SqlArgs) -> anyhow::Result<()> {
    if args.command.is_none() && args.file.is_none() && std::io::stdin().is_terminal() {
        let dir = args.data.join("sql");
        let db = Database::open(&dir)
            .map_err(|e| anyhow::anyhow!("opening the SQL database in {}: {e}", dir.display()))?;
        return crate::sql_shell::run(db);
    }
    let sql = match (&args.command, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(file)) => {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
        }
        (None, None) => {
            let mut sql = String::new();
            std::io::stdin()
                .read_to_string(&mut sql)
                .context("reading SQL from standard input")?;
            sql
        }
    };
    let dir = args.data.join("sql");
    let db = Database::open(&dir)
        .map_err(|e| anyhow::anyhow!("opening the SQL database in {}: {e}", dir.display()))?;
    let mut session = Session::new(db);
    // psql sends a -c string as one query (one implicit transaction) and a file statement
    // by statement.
    let pieces = if args.command.is_some() {
        vec![sql]
    } else {
        cairn_sql::split_statements(&sql)
    };
    for piece in &pieces {
        match session.execute(piece) {
            Ok(results) => {
                let mut out = String::new();
                for result in &results {
                    print_notices(result);
                    write_result(result, &mut out);
                }
                crate::output::print(&out)?;
            }
            Err(e) => {
                eprint!(
                    "{}",
                    error_report(piece.trim_start_matches(['\n', '\r']), &e)
                );
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// A result's notices as psql prints them, on standard error: `NOTICE:  message`.
pub(crate) fn print_notices(result: &QueryResult) {
    for notice in &result.notices {
        eprintln!("{}:  {}", notice.severity, notice.message);
    }
}

/// A result as psql prints it: an aligned table and its row count, or the command tag.
pub(crate) fn write_result(result: &QueryResult, out: &mut String) {
    if result.columns.is_empty() {
        out.push_str(&result.tag);
        out.push('\n');
        return;
    }
    let cells: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.to_text().unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = result
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([c.name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let header: Vec<String> = result
        .columns
        .iter()
        .zip(&widths)
        .map(|(c, &w)| {
            let len = c.name.chars().count();
            let left = (w - len) / 2;
            format!(
                " {}{}{} ",
                " ".repeat(left),
                c.name,
                " ".repeat(w - len - left)
            )
        })
        .collect();
    out.push_str(&header.join("|"));
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    out.push_str(&rule.join("+"));
    out.push('\n');
    let last = widths.len() - 1;
    for row in &cells {
        let mut line = String::new();
        for (i, (text, &w)) in row.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - text.chars().count());
            let numeric = result.columns[i].data_type.is_numeric();
            if i > 0 {
                line.push('|');
            }
            line.push(' ');
            match (numeric, i == last) {
                (true, true) => line.push_str(&format!("{pad}{text}")),
                (true, false) => line.push_str(&format!("{pad}{text} ")),
                (false, true) => line.push_str(text),
                (false, false) => line.push_str(&format!("{text}{pad} ")),
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    let n = result.rows.len();
    out.push_str(&format!(
        "({n} {})\n\n",
        if n == 1 { "row" } else { "rows" }
    ));
    // A command with RETURNING: its tag after its rows, as psql shows it.
    if !result.tag.starts_with("SELECT") && !result.tag.starts_with("EXPLAIN") {
        out.push_str(&result.tag);
        out.push('\n');
    }
}

/// An error as psql shows it: `ERROR:  message`, then the line of the statement it is in and
/// a caret under its position, then what was being done (`CONTEXT:  COPY t, line 2`).
pub(crate) fn error_report(sql: &str, e: &cairn_sql::Error) -> String {
    let mut report = format!("ERROR:  {}\n", e.message);
    if let Some(position) = e.position {
        let mut start = 0;
        for (n, line) in sql.split('\n').enumerate() {
            let len = line.chars().count();
            if position <= start + len + 1 {
                let prefix = format!("LINE {}: ", n + 1);
                let column = position - start - 1;
                report.push_str(&format!("{prefix}{line}\n"));
                report.push_str(&" ".repeat(prefix.len() + column));
                report.push_str("^\n");
                break;
            }
            start += len + 1;
        }
    }
    if let Some(detail) = &e.detail {
        report.push_str(&format!("DETAIL:  {detail}\n"));
    }
    if let Some(hint) = &e.hint {
        report.push_str(&format!("HINT:  {hint}\n"));
    }
    if let Some(context) = &e.context {
        report.push_str(&format!("CONTEXT:  {context}\n"));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_sql::{Column, DataType, Value};

    /// What psql 15 printed for the same results (`psql -c …`).
    #[test]
    fn tables_and_errors_print_as_psql_prints_them() {
        let result = QueryResult {
            tag: "SELECT 2".into(),
            columns: vec![
                Column {
                    name: "a".into(),
                    data_type: DataType::Int4,
                },
                Column {
                    name: "b".into(),
                    data_type: DataType::Text,
                },
                Column {
                    name: "big".into(),
                    data_type: DataType::Int4,
                },
                Column {
                    name: "c".into(),
                    data_type: DataType::Text,
                },
            ],
            rows: vec![
                vec![
                    Value::Int4(1),
                    Value::Text("one".into()),
                    Value::Int4(1_000_000),
                    Value::Text("longer text".into()),
                ],
                vec![
                    Value::Int4(2),
                    Value::Null,
                    Value::Int4(2_000_000),
                    Value::Text("longer text".into()),
                ],
            ],
            copy: None,
            notices: Vec::new(),
            parameter_changes: Vec::new(),
        };
        let mut out = String::new();
        write_result(&result, &mut out);
        assert_eq!(
            out,
            " a |  b  |   big   |      c      \n\
             ---+-----+---------+-------------\n \
             1 | one | 1000000 | longer text\n \
             2 |     | 2000000 | longer text\n\
             (2 rows)\n\n"
        );
        let one = QueryResult {
            tag: "SELECT 1".into(),
            columns: vec![Column {
                name: "x".into(),
                data_type: DataType::Int4,
            }],
            rows: vec![vec![Value::Int4(1)]],
            copy: None,
            notices: Vec::new(),
            parameter_changes: Vec::new(),
        };
        out.clear();
        write_result(&one, &mut out);
        assert_eq!(out, " x \n---\n 1\n(1 row)\n\n");
        let e = cairn_sql::Error::new(
            cairn_sql::SqlState::UNDEFINED_TABLE,
            "relation \"x\" does not exist",
        )
        .at(15);
        assert_eq!(
            error_report("SELECT * FROM x", &e),
            "ERROR:  relation \"x\" does not exist\nLINE 1: SELECT * FROM x\n                      ^\n"
        );
    }
}
