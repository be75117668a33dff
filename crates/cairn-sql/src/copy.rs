//! COPY: a table's rows in from a client's stream (`COPY t FROM STDIN`) and a table's or a
//! query's rows out to it (`COPY … TO STDOUT`), in PostgreSQL's text and CSV formats.
//!
//! - **Text** (the default): one row per line, fields split by the delimiter (a tab), NULL
//!   spelled `\N`, and a backslash escaping the delimiter, newline, carriage return, tab and
//!   backslash (`\n`, `\r`, `\t`, `\\`; on input also `\b`, `\f`, `\v`, octal `\NNN` and
//!   `\xHH`). A line `\.` ends the data.
//! - **CSV**: fields split by `,`, quoted with `"` when they hold the delimiter, a quote, a
//!   line break, or would read as NULL (an unquoted empty field); a quote inside a quoted
//!   field is doubled. A quoted field may span lines. `HEADER` is a first line of column
//!   names, skipped on input.
//!
//! A [`CopyIn`] takes the stream in chunks as they arrive (a row may straddle two): each
//! whole row is parsed with the input function of its column's type, completed with the
//! defaults of the columns the COPY does not list, checked as an INSERT's row is (NOT NULL,
//! lengths, CHECK, keys, foreign keys per chunk) and written in the session's transaction. The
//! first bad row is PostgreSQL's error with a `COPY t, line N, column c: "…"` context, and
//! the statement's transaction is rolled back: nothing of the COPY is loaded.

use sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption, Ident};

use cairn_page::Txn;

use crate::bind::{ident_name, Context};
use crate::catalog::TableDef;
use crate::database::Database;
use crate::error::{Error, Result, SqlState};
use crate::exec::{Env, SubqueryCache};
use crate::expr::Expr;
use crate::value::Value;

/// PostgreSQL's `22P04 bad_copy_file_format`.
const BAD_COPY_FILE_FORMAT: SqlState = SqlState("22P04");

/// How rows are written as lines.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyFormat {
    pub csv: bool,
    pub delimiter: char,
    /// The spelling of NULL: `\N` in text, the empty string in CSV.
    pub null: String,
    pub header: bool,
    pub quote: char,
    pub escape: char,
}

impl CopyFormat {
    /// The format a COPY's options ask for (PostgreSQL's `WITH (…)` list, or the options
    /// before 9.0: `CSV`, `HEADER`, `DELIMITER 'x'`, `NULL 'x'`…).
    pub fn from_options(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<CopyFormat> {
        let mut csv = false;
        let (mut delimiter, mut null, mut header, mut quote, mut escape) =
            (None, None, false, None, None);
        for option in options {
            match option {
                CopyOption::Format(name) => match ident_name(name).as_str() {
                    "csv" => csv = true,
                    "text" => csv = false,
                    "binary" => return Err(Error::not_supported("COPY in binary format")),
                    other => {
                        return Err(Error::new(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("COPY format \"{other}\" not recognized"),
                        ))
                    }
                },
                CopyOption::Freeze(_) | CopyOption::Encoding(_) => {}
                CopyOption::Delimiter(c) => delimiter = Some(*c),
                CopyOption::Null(s) => null = Some(s.clone()),
                CopyOption::Header(h) => header = *h,
                CopyOption::Quote(c) => quote = Some(*c),
                CopyOption::Escape(c) => escape = Some(*c),
                _ => return Err(Error::not_supported("this COPY option")),
            }
        }
        for option in legacy {
            match option {
                CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
                CopyLegacyOption::Null(s) => null = Some(s.clone()),
                CopyLegacyOption::Csv(csv_options) => {
                    csv = true;
                    for o in csv_options {
                        match o {
                            CopyLegacyCsvOption::Header => header = true,
                            CopyLegacyCsvOption::Quote(c) => quote = Some(*c),
                            CopyLegacyCsvOption::Escape(c) => escape = Some(*c),
                            _ => return Err(Error::not_supported("this COPY option")),
                        }
                    }
                }
                CopyLegacyOption::Binary => {
                    return Err(Error::not_supported("COPY in binary format"))
                }
                _ => return Err(Error::not_supported("this COPY option")),
            }
        }
        if header && !csv {
            return Err(Error::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cannot specify HEADER in TEXT mode",
            ));
        }
        let quote = quote.unwrap_or('"');
        let delimiter = delimiter.unwrap_or(if csv { ',' } else { '\t' });
        if matches!(delimiter, '\r' | '\n') || (!csv && delimiter == '\\') {
            return Err(Error::new(
                SqlState::INVALID_PARAMETER_VALUE,
                "COPY delimiter cannot be newline or carriage return",
            ));
        }
        Ok(CopyFormat {
            csv,
            delimiter,
            null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
            header,
            quote,
            escape: escape.unwrap_or(quote),
        })
    }

    /// A row as a line (with its newline).
    pub fn line(&self, row: &[Value]) -> String {
        let mut line = String::new();
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                line.push(self.delimiter);
            }
            match value.to_text() {
                None => line.push_str(&self.null),
                Some(text) if self.csv => self.push_csv(&mut line, &text),
                Some(text) => self.push_text(&mut line, &text),
            }
        }
        line.push('\n');
        line
    }

    /// The header line of `names` (CSV with HEADER).
    pub fn header_line(&self, names: &[String]) -> String {
        let mut line = String::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                line.push(self.delimiter);
            }
            self.push_csv(&mut line, name);
        }
        line.push('\n');
        line
    }

    fn push_text(&self, line: &mut String, text: &str) {
        for c in text.chars() {
            match c {
                '\\' => line.push_str("\\\\"),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                '\t' if self.delimiter == '\t' => line.push_str("\\t"),
                c if c == self.delimiter => {
                    line.push('\\');
                    line.push(c);
                }
                c => line.push(c),
            }
        }
    }

    fn push_csv(&self, line: &mut String, text: &str) {
        let needs_quotes = text == self.null
            || text
                .chars()
                .any(|c| c == self.delimiter || c == self.quote || c == '\n' || c == '\r');
        if !needs_quotes {
            line.push_str(text);
            return;
        }
        line.push(self.quote);
        for c in text.chars() {
            if c == self.quote || c == self.escape {
                line.push(self.escape);
            }
            line.push(c);
        }
        line.push(self.quote);
    }

    /// The fields of one text-format line: `None` for NULL.
    fn text_fields(&self, line: &str) -> Result<Vec<Option<String>>> {
        let mut fields = Vec::new();
        let mut raw = String::new(); // as written, to compare with the NULL spelling
        let mut field = String::new();
        let mut chars = line.chars().peekable();
        loop {
            match chars.next() {
                None => {
                    fields.push((raw != self.null).then_some(field));
                    return Ok(fields);
                }
                Some(c) if c == self.delimiter => {
                    fields.push((raw != self.null).then_some(std::mem::take(&mut field)));
                    raw.clear();
                }
                Some('\\') => {
                    raw.push('\\');
                    let Some(e) = chars.next() else {
                        field.push('\\');
                        continue;
                    };
                    raw.push(e);
                    match e {
                        'b' => field.push('\u{8}'),
                        'f' => field.push('\u{c}'),
                        'n' => field.push('\n'),
                        'r' => field.push('\r'),
                        't' => field.push('\t'),
                        'v' => field.push('\u{b}'),
                        '0'..='7' => {
                            let first = e.to_digit(8).unwrap_or(0);
                            let n = escaped_digits(&mut chars, &mut raw, 8, first);
                            push_byte(&mut field, n)?;
                        }
                        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
                            let n = escaped_digits(&mut chars, &mut raw, 16, 0);
                            push_byte(&mut field, n)?;
                        }
                        other => field.push(other),
                    }
                }
                Some(c) => {
                    raw.push(c);
                    field.push(c);
                }
            }
        }
    }

    /// The fields of one CSV record (which may hold line breaks inside quotes).
    fn csv_fields(&self, record: &str) -> Result<Vec<Option<String>>> {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false; // the field had quotes: never NULL
        let mut in_quotes = false;
        let mut chars = record.chars().peekable();
        loop {
            let c = chars.next();
            if in_quotes {
                match c {
                    None => {
                        return Err(Error::new(
                            BAD_COPY_FILE_FORMAT,
                            "unterminated CSV quoted field",
                        ))
                    }
                    Some(c) if c == self.escape && chars.peek() == Some(&self.quote) => {
                        field.push(self.quote);
                        chars.next();
                    }
                    Some(c) if c == self.quote => in_quotes = false,
                    Some(c) => field.push(c),
                }
                continue;
            }
            match c {
                None => {
                    fields.push((quoted || field != self.null).then_some(field));
                    return Ok(fields);
                }
                Some(c) if c == self.delimiter => {
                    fields
                        .push((quoted || field != self.null).then_some(std::mem::take(&mut field)));
                    quoted = false;
                }
                Some(c) if c == self.quote => {
                    in_quotes = true;
                    quoted = true;
                }
                Some(c) => field.push(c),
            }
        }
    }
}

/// `name` as a quoted identifier, which names exactly it.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The value of an escape's digits in `radix` after `first` (`\NNN`: up to two more octal
/// digits; `\xHH`: up to two hex digits), each taken from `chars` into `raw`.
fn escaped_digits(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    raw: &mut String,
    radix: u32,
    first: u32,
) -> u32 {
    let mut n = first;
    for _ in 0..2 {
        match chars.peek().and_then(|c| c.to_digit(radix)) {
            Some(d) => {
                n = n * radix + d;
                raw.extend(chars.next());
            }
            None => break,
        }
    }
    n
}

/// A byte from an escape (`\NNN`, `\xHH`) into a field: text is UTF-8, so only ASCII here.
fn push_byte(field: &mut String, n: u32) -> Result<()> {
    match u8::try_from(n).ok().filter(u8::is_ascii) {
        Some(b) if b != 0 => {
            field.push(char::from(b));
            Ok(())
        }
        _ => Err(Error::new(
            SqlState("22021"),
            format!("invalid byte sequence for encoding \"UTF8\": 0x{n:02x}"),
        )),
    }
}

/// A `COPY table [(columns)] FROM STDIN` under way: what it loads into, and where in the
/// client's stream it is.
#[derive(Debug)]
pub struct CopyIn {
    table: String,
    /// The table's columns the stream's fields fill, in the stream's order.
    targets: Vec<usize>,
    format: CopyFormat,
    /// The end of the stream received so far that is not a whole row yet.
    pending: Vec<u8>,
    /// Lines read so far (a CSV record spanning lines counts each).
    line: u64,
    rows: u64,
    /// `\.` was seen: the rest of the stream is ignored.
    ended: bool,
}

impl CopyIn {
    /// A COPY into `table`, filling `columns` (all, in order, if none are named).
    pub(crate) fn start(table: &TableDef, columns: &[Ident], format: CopyFormat) -> Result<CopyIn> {
        let targets = if columns.is_empty() {
            (0..table.columns.len()).collect()
        } else {
            let mut targets = Vec::new();
            for column in columns {
                let i = table.column_of_relation(&ident_name(column))?;
                if targets.contains(&i) {
                    return Err(Error::new(
                        SqlState::DUPLICATE_COLUMN,
                        format!("column \"{}\" specified more than once", ident_name(column)),
                    ));
                }
                targets.push(i);
            }
            targets
        };
        Ok(CopyIn {
            table: table.name.clone(),
            targets,
            line: 0,
            rows: 0,
            ended: false,
            pending: Vec::new(),
            format,
        })
    }

    /// The number of fields each row has.
    pub fn columns(&self) -> usize {
        self.targets.len()
    }

    /// The rows loaded so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Loads the whole rows of `data` (the next piece of the stream) in `txn`, keeping an
    /// unfinished last row for the next piece; `last` says the stream has ended, and the
    /// unfinished row is a row.
    pub(crate) fn feed(
        &mut self,
        db: &Database,
        txn: &mut Txn<'_>,
        data: &[u8],
        last: bool,
    ) -> Result<()> {
        if self.ended {
            return Ok(());
        }
        self.pending.extend_from_slice(data);
        let pending = std::mem::take(&mut self.pending);
        let (records, consumed) = self.records(&pending, last);
        self.pending = pending[consumed..].to_vec();
        if records.is_empty() {
            return Ok(());
        }
        let catalog = db.catalog();
        let table = catalog.table(&self.table)?;
        let sql = format!("COPY {}", self.table);
        let ctx = Context::new(&sql, &catalog);
        let defaults = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match &c.default {
                Some(text) if !self.targets.contains(&i) => crate::dml::default_expr(&ctx, c, text),
                _ => Ok(Expr::Constant(Value::Null)),
            })
            .collect::<Result<Vec<_>>>()?;
        let rules = crate::dml::RowRules::bind(&ctx, table)?;
        let cache = SubqueryCache::default();
        let env = Env::new(db, &cache);
        let mut writer = crate::ddl::writer(db, &catalog, table);
        let mut written = Vec::with_capacity(records.len());
        for (line, record) in records {
            let context = |e: Error, column: Option<(&str, &str)>| {
                let place = match column {
                    Some((name, value)) => format!(
                        "COPY {}, line {line}, column {name}: \"{value}\"",
                        self.table
                    ),
                    None => format!("COPY {}, line {line}: \"{record}\"", self.table),
                };
                e.with_context(place)
            };
            if self.format.header && line == 1 {
                continue;
            }
            if record == "\\." {
                self.ended = true;
                break;
            }
            let fields = if self.format.csv {
                self.format.csv_fields(&record)
            } else {
                self.format.text_fields(&record)
            }
            .map_err(|e| context(e, None))?;
            if fields.len() > self.targets.len() {
                let e = Error::new(
                    BAD_COPY_FILE_FORMAT,
                    "extra data after last expected column",
                );
                return Err(context(e, None));
            }
            if fields.len() < self.targets.len() {
                let missing = &table.columns[self.targets[fields.len()]].name;
                let e = Error::new(
                    BAD_COPY_FILE_FORMAT,
                    format!("missing data for column \"{missing}\""),
                );
                return Err(context(e, None));
            }
            let mut row = defaults
                .iter()
                .map(|d| d.eval(&[], &env))
                .collect::<Result<Vec<_>>>()?;
            for (field, &target) in fields.into_iter().zip(&self.targets) {
                let column = &table.columns[target];
                if let Some(text) = field {
                    row[target] = Value::parse(column.data_type, &text)
                        .map_err(|e| context(e, Some((&column.name, &text))))?;
                }
            }
            rules.fit(&mut row, &env).map_err(|e| context(e, None))?;
            writer
                .insert(txn, &row)
                .map_err(|e| e.with_context(format!("COPY {}, line {line}", self.table)))?;
            written.push(row);
            self.rows += 1;
        }
        crate::foreign::check_children(&db.store, &catalog, table, &written)
    }

    /// The whole records at the start of `data`, each with its line number, and how many
    /// bytes they took; with `last`, what remains is a record too.
    fn records(&mut self, data: &[u8], last: bool) -> (Vec<(u64, String)>, usize) {
        let mut records = Vec::new();
        let mut start = 0;
        let mut in_quotes = false;
        let mut lines_in_record = 0;
        for (i, &b) in data.iter().enumerate() {
            if self.format.csv && b == self.format.quote as u8 {
                in_quotes = !in_quotes;
            }
            if b != b'\n' {
                continue;
            }
            lines_in_record += 1;
            if in_quotes {
                continue;
            }
            self.line += lines_in_record;
            lines_in_record = 0;
            let mut record = &data[start..i];
            if record.last() == Some(&b'\r') {
                record = &record[..record.len() - 1];
            }
            records.push((self.line, String::from_utf8_lossy(record).into_owned()));
            start = i + 1;
        }
        if last && start < data.len() {
            self.line += 1;
            let record = &data[start..];
            records.push((self.line, String::from_utf8_lossy(record).into_owned()));
            start = data.len();
        }
        (records, start)
    }
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> CopyFormat {
        CopyFormat::from_options(&[], &[]).unwrap()
    }

    fn csv() -> CopyFormat {
        CopyFormat::from_options(&[CopyOption::Format(Ident::new("csv"))], &[]).unwrap()
    }

    #[test]
    fn text_lines_escape_what_would_break_them() {
        let row = [
            Value::Int4(1),
            Value::Null,
            Value::Text("a\tb\\c\nd".into()),
        ];
        let line = text().line(&row);
        assert_eq!(line, "1\t\\N\ta\\tb\\\\c\\nd\n");
        let fields = text().text_fields(line.trim_end_matches('\n')).unwrap();
        assert_eq!(
            fields,
            vec![Some("1".into()), None, Some("a\tb\\c\nd".into())]
        );
    }

    #[test]
    fn text_escapes_are_postgresqls() {
        let fields = text().text_fields("\\101\\x42\\\\N\t\\N").unwrap();
        assert_eq!(fields, vec![Some("AB\\N".into()), None]);
    }

    #[test]
    fn csv_quotes_what_needs_it_and_reads_it_back() {
        let row = [
            Value::Text("plain".into()),
            Value::Text("a,b".into()),
            Value::Text("say \"hi\"".into()),
            Value::Text(String::new()),
            Value::Null,
        ];
        let line = csv().line(&row);
        assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",\"\",\n");
        let fields = csv().csv_fields(line.trim_end_matches('\n')).unwrap();
        assert_eq!(
            fields,
            vec![
                Some("plain".into()),
                Some("a,b".into()),
                Some("say \"hi\"".into()),
                Some(String::new()),
                None
            ]
        );
    }
}
