//! A sqllogictest runner for cairn-sql: SQLite's test format read as its corpus writes it,
//! run through the embedded engine as the engine `postgresql`.
//!
//! The format ([SQLite's description](https://www.sqlite.org/sqllogictest/doc/trunk/about.wiki))
//! is records separated by blank lines: `statement ok|error` with one SQL statement, and
//! `query TYPES [nosort|rowsort|valuesort] [LABEL]` with a query, `----`, and its expected
//! values one per line, or `N values hashing to MD5` when there are more than the file's
//! `hash-threshold` (8 when it sets none). `skipif ENGINE` / `onlyif ENGINE` lines before a
//! record choose the engines it runs on; `halt` ends the file. Lines may end in CRLF.
//!
//! Values are printed as the reference runner prints them: `I` columns as integers, `R` as
//! `%.3f`, `T` as text with `(empty)` for the empty string and `@` for each character
//! outside printable ASCII; NULL as `NULL`. `rowsort` sorts rows and `valuesort` values, as
//! strings, before comparing or hashing.

use std::fmt::Write as _;

use cairn_sql::{DataType, Session, Value};
use md5::{Digest, Md5};

/// The engine name cairn runs as in `skipif`/`onlyif`.
pub const ENGINE: &str = "postgresql";

/// How a query's results are ordered before they are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortMode {
    None,
    Rows,
    Values,
}

/// What a query is expected to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The values, one per line (or the rows, one per line, values separated by spaces).
    Lines(Vec<String>),
    /// `count values hashing to md5`.
    Hash { count: usize, md5: String },
}

/// One record of a test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Statement {
        line: usize,
        expect_ok: bool,
        /// For `statement error TEXT`: the SQLSTATE the error must have, or text its message
        /// must hold (an extension of cairn's own tests; the corpus names no error).
        error: Option<String>,
        sql: String,
    },
    Query {
        line: usize,
        types: String,
        sort: SortMode,
        sql: String,
        expected: Expected,
    },
    HashThreshold(usize),
    Halt,
}

/// The records of `text` that run on [`ENGINE`], in order.
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut records = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        // One record: condition lines, then its header and body, up to a blank line.
        let start = i;
        let mut runs_here = true;
        let mut header = None;
        while i < lines.len() && !lines[i].trim().is_empty() {
            let words: Vec<&str> = lines[i].split_whitespace().collect();
            match words.first().copied() {
                Some(w) if w.starts_with('#') => i += 1,
                Some("skipif") => {
                    runs_here &= !words.get(1).is_some_and(|e| e.eq_ignore_ascii_case(ENGINE));
                    i += 1;
                }
                Some("onlyif") => {
                    runs_here &= words.get(1).is_some_and(|e| e.eq_ignore_ascii_case(ENGINE));
                    i += 1;
                }
                _ => {
                    header = Some(i);
                    break;
                }
            }
        }
        let Some(h) = header else {
            i += 1;
            continue;
        };
        let words: Vec<&str> = lines[h].split_whitespace().collect();
        let body_end = (h + 1..lines.len())
            .find(|&j| lines[j].trim().is_empty())
            .unwrap_or(lines.len());
        let body = &lines[h + 1..body_end];
        i = body_end;
        let record = match words[0] {
            "statement" => Record::Statement {
                line: h + 1,
                expect_ok: words.get(1) == Some(&"ok"),
                error: (words.len() > 2).then(|| words[2..].join(" ")),
                sql: body.join("\n"),
            },
            "query" => {
                let types = words.get(1).copied().unwrap_or("").to_string();
                let sort = match words.get(2).copied() {
                    Some("rowsort") => SortMode::Rows,
                    Some("valuesort") => SortMode::Values,
                    _ => SortMode::None,
                };
                let split = body.iter().position(|l| *l == "----");
                let (sql, results) = match split {
                    Some(s) => (&body[..s], &body[s + 1..]),
                    None => (body, &[][..]),
                };
                Record::Query {
                    line: h + 1,
                    types,
                    sort,
                    sql: sql.join("\n"),
                    expected: expected(results),
                }
            }
            "hash-threshold" => Record::HashThreshold(
                words
                    .get(1)
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("line {}: bad hash-threshold", h + 1))?,
            ),
            "halt" => Record::Halt,
            other => return Err(format!("line {}: unknown record {other:?}", start + 1)),
        };
        // A hash-threshold applies whatever the conditions; other records only where they run.
        if runs_here || matches!(record, Record::HashThreshold(_)) {
            records.push(record);
        }
    }
    Ok(records)
}

fn expected(lines: &[&str]) -> Expected {
    if let [only] = lines {
        let words: Vec<&str> = only.split_whitespace().collect();
        if let [count, "values", "hashing", "to", md5] = words.as_slice() {
            if let Ok(count) = count.parse() {
                return Expected::Hash {
                    count,
                    md5: md5.to_string(),
                };
            }
        }
    }
    Expected::Lines(lines.iter().map(|l| l.to_string()).collect())
}

/// One value as the reference runner prints it in a column of type `ty` (`I`, `R`, `T`).
pub fn format_value(value: &Value, ty: char) -> String {
    if value.is_null() {
        return "NULL".into();
    }
    let number = match value {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Int2(n) => Some(f64::from(*n)),
        Value::Int4(n) => Some(f64::from(*n)),
        Value::Int8(n) => Some(*n as f64),
        Value::Float8(x) => Some(*x),
        Value::Float4(x) => Some(f64::from(*x)),
        Value::Numeric(n) => Some(n.to_f64()),
        _ => None,
    };
    match ty {
        'I' => match value {
            Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => value.to_text().unwrap_or_default(),
            Value::Text(s) => leading_integer(s).to_string(),
            _ => format!("{}", number.unwrap_or(0.0).trunc() as i64),
        },
        'R' => {
            let x = number.unwrap_or_else(|| match value {
                Value::Text(s) => s.trim().parse().unwrap_or(0.0),
                _ => 0.0,
            });
            format!("{x:.3}")
        }
        _ => {
            let text = match value {
                Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
                other => other.to_text().unwrap_or_default(),
            };
            if text.is_empty() {
                return "(empty)".into();
            }
            text.chars()
                .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                .collect()
        }
    }
}

/// C's `atoi`: the integer a string starts with (after blanks), 0 if none.
fn leading_integer(s: &str) -> i64 {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().unwrap_or(0)
}

/// The md5 the corpus gives of values: each followed by a newline.
pub fn hash_values(values: &[String]) -> String {
    let mut md5 = Md5::new();
    for v in values {
        md5.update(v.as_bytes());
        md5.update(b"\n");
    }
    md5.finalize().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The outcome of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed(String),
}

/// Where the records run: a session of the embedded engine, or a connection to a server
/// over the PostgreSQL wire protocol (the `postgres` driver).
pub enum Engine {
    Embedded(Session),
    Wire(postgres::Client),
}

/// A failed statement's SQLSTATE and message.
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Engine {
    /// Runs the statements of `sql` (over the wire, as one simple query).
    fn execute(&mut self, sql: &str) -> Result<(), Failure> {
        match self {
            Engine::Embedded(_) => self.run(sql).map(|_| ()),
            Engine::Wire(client) => client.batch_execute(sql).map_err(wire_failure),
        }
    }

    /// Runs `sql`; the rows of its last statement.
    fn run(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, Failure> {
        match self {
            Engine::Embedded(session) => match session.execute(sql) {
                Ok(mut results) => Ok(results.pop().map(|r| r.rows).unwrap_or_default()),
                Err(e) => Err(Failure {
                    code: e.state.code().to_string(),
                    message: e.message.clone(),
                }),
            },
            Engine::Wire(client) => wire_rows(client, sql),
        }
    }
}

/// A value's bytes in binary format, whatever its type.
struct Raw(Vec<u8>);

impl<'a> postgres::types::FromSql<'a> for Raw {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
}

/// A driver's error as a failure.
fn wire_failure(e: postgres::Error) -> Failure {
    Failure {
        code: e.code().map(|c| c.code().to_string()).unwrap_or_default(),
        message: e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string()),
    }
}

/// `sql` over the wire: a statement through the extended protocol (rows in binary, decoded
/// by their column's type as the door encodes them), its error's SQLSTATE and message. A
/// query with a `reg…` column runs as a simple query instead: those print as names, which
/// only their text format carries (their binary format is the oid, as PostgreSQL's is).
fn wire_rows(client: &mut postgres::Client, sql: &str) -> Result<Vec<Vec<Value>>, Failure> {
    let failure = wire_failure;
    let statement = client.prepare(sql).map_err(failure)?;
    let named = |t: &postgres::types::Type| matches!(t.oid(), 2205 | 2206 | 4089);
    if statement.columns().iter().any(|c| named(c.type_())) {
        return wire_text_rows(client, sql);
    }
    let rows = client.query(&statement, &[]).map_err(failure)?;
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    let oid = row.columns()[i].type_().oid();
                    let ty = cairn_sql::wire::from_oid(oid).unwrap_or(DataType::Text);
                    match row.try_get::<_, Option<Raw>>(i) {
                        Ok(None) => Ok(Value::Null),
                        Ok(Some(Raw(bytes))) => cairn_sql::wire::decode_binary(ty, &bytes)
                            .ok_or_else(|| Failure {
                                code: "XX000".into(),
                                message: format!("undecodable {ty:?} value"),
                            }),
                        Err(e) => Err(failure(e)),
                    }
                })
                .collect()
        })
        .collect()
}

/// `sql` as a simple query: every value in text format.
fn wire_text_rows(client: &mut postgres::Client, sql: &str) -> Result<Vec<Vec<Value>>, Failure> {
    let messages = client.simple_query(sql).map_err(wire_failure)?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| {
                        row.get(i)
                            .map_or(Value::Null, |t| Value::Text(t.to_string()))
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

/// Runs the files' records in order on one engine; `hash_threshold` is the file's.
pub struct Runner {
    engine: Engine,
    hash_threshold: usize,
}

impl Runner {
    pub fn new(session: Session) -> Runner {
        Runner::on(Engine::Embedded(session))
    }

    pub fn on(engine: Engine) -> Runner {
        Runner {
            engine,
            hash_threshold: 8,
        }
    }

    /// Runs one record (`HashThreshold` and `Halt` pass without running anything).
    pub fn run(&mut self, record: &Record) -> Outcome {
        match record {
            Record::HashThreshold(n) => {
                self.hash_threshold = *n;
                Outcome::Passed
            }
            Record::Halt => Outcome::Passed,
            Record::Statement {
                expect_ok,
                error,
                sql,
                ..
            } => match (self.engine.execute(sql), expect_ok) {
                (Ok(_), true) => Outcome::Passed,
                (Err(e), false) => match error {
                    Some(want) if e.code != *want && !e.message.contains(want.as_str()) => {
                        Outcome::Failed(format!("error {}: {}, expected {want}", e.code, e.message))
                    }
                    _ => Outcome::Passed,
                },
                (Ok(_), false) => Outcome::Failed("statement succeeded, expected an error".into()),
                (Err(e), true) => Outcome::Failed(format!("{}: {}", e.code, e.message)),
            },
            Record::Query {
                types,
                sort,
                sql,
                expected,
                ..
            } => match self.engine.run(sql) {
                Err(e) => Outcome::Failed(format!("{}: {}", e.code, e.message)),
                Ok(rows) => self.check(types, *sort, &rows, expected),
            },
        }
    }

    fn check(
        &self,
        types: &str,
        sort: SortMode,
        rows: &[Vec<Value>],
        expected: &Expected,
    ) -> Outcome {
        let types: Vec<char> = types.chars().collect();
        let width = rows.first().map_or(types.len(), Vec::len);
        if width != types.len() {
            return Outcome::Failed(format!("{width} columns, expected {}", types.len()));
        }
        let mut rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&types)
                    .map(|(v, t)| format_value(v, *t))
                    .collect()
            })
            .collect();
        if sort == SortMode::Rows {
            rows.sort();
        }
        let mut values: Vec<String> = rows.iter().flatten().cloned().collect();
        if sort == SortMode::Values {
            values.sort();
        }
        let matches = match expected {
            Expected::Hash { count, md5 } => values.len() == *count && hash_values(&values) == *md5,
            Expected::Lines(lines) => {
                *lines == values
                    || (sort != SortMode::Values
                        && *lines == rows.iter().map(|r| r.join(" ")).collect::<Vec<_>>())
            }
        };
        if matches {
            return Outcome::Passed;
        }
        let got = if values.len() > self.hash_threshold && self.hash_threshold > 0 {
            format!(
                "{} values hashing to {}",
                values.len(),
                hash_values(&values)
            )
        } else {
            values.join(" | ")
        };
        Outcome::Failed(format!("got {got}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_with_conditions_crlf_and_hashes() {
        let text = "hash-threshold 8\r\n\r\nstatement ok\r\nCREATE TABLE t(a INTEGER)\r\n\r\n\
                    skipif postgresql # not here\r\nquery I nosort\r\nSELECT 1\r\n----\r\n1\r\n\r\n\
                    onlyif postgresql\r\nquery IT rowsort label-1\r\nSELECT a, 'x'\r\nFROM t\r\n----\r\n\
                    30 values hashing to 0123abcd\r\n";
        let records = parse(text).expect("the records parse");
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], Record::HashThreshold(8));
        assert_eq!(
            records[2],
            Record::Query {
                line: 13,
                types: "IT".into(),
                sort: SortMode::Rows,
                sql: "SELECT a, 'x'\nFROM t".into(),
                expected: Expected::Hash {
                    count: 30,
                    md5: "0123abcd".into()
                },
            }
        );
    }

    #[test]
    fn values_print_as_the_reference_runner_prints_them() {
        assert_eq!(format_value(&Value::Null, 'I'), "NULL");
        assert_eq!(format_value(&Value::Float8(2.5), 'R'), "2.500");
        assert_eq!(format_value(&Value::Int4(-3), 'R'), "-3.000");
        assert_eq!(format_value(&Value::Float8(-2.7), 'I'), "-2");
        assert_eq!(format_value(&Value::Text(String::new()), 'T'), "(empty)");
        assert_eq!(format_value(&Value::Text("a\tb".into()), 'T'), "a@b");
        assert_eq!(format_value(&Value::Text("12abc".into()), 'I'), "12");
    }

    #[test]
    fn hashes_are_md5_of_values_each_ending_in_a_newline() {
        // md5 of "1\n2\n"
        assert_eq!(
            hash_values(&["1".into(), "2".into()]),
            "6ddb4095eb719e2a9f0a3f95677d24e0"
        );
    }
}
