//! Just enough of SQLite's SQL to read a schema: the `CREATE TABLE` and `CREATE INDEX`
//! statements stored in sqlite_schema, parsed into column definitions, constraints and
//! indexed columns.
//!
//! SQLite accepts a lenient grammar here (type names of any words, string literals as names,
//! clauses in any order), so this is a tolerant token-level parser rather than a full SQL
//! grammar: it reads what decides how rows and index keys are stored — column names and
//! order, declared types, PRIMARY KEY and UNIQUE constraints in the order SQLite creates
//! their automatic indexes, collations, sort orders, defaults, generated columns, WITHOUT
//! ROWID — and skips the rest (CHECK, REFERENCES, conflict clauses) by matching parentheses.

use crate::record::Value;

/// A token with the byte range of its source text.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare or quoted identifier; `bare` keywords compare case-insensitively.
    Name { text: String, bare: bool },
    /// A string literal.
    Str(String),
    /// A numeric literal as written.
    Number(String),
    /// A blob literal `X'…'`.
    Blob(Vec<u8>),
    /// Any other character, or `||`, `<=` and the like as one token.
    Punct(String),
}

#[derive(Debug, Clone)]
struct Spanned {
    token: Token,
    start: usize,
    end: usize,
}

fn tokenize(sql: &str) -> Result<Vec<Spanned>, String> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let c = bytes[at];
        let token = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                at += 1;
                continue;
            }
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
                continue;
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = sql[at + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |end| at + 2 + end + 2);
                continue;
            }
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                let mut text = Vec::new();
                at += 1;
                loop {
                    match bytes.get(at) {
                        None => return Err(format!("unterminated quote at byte {start}")),
                        Some(&b) if b == close => {
                            if close != b']' && bytes.get(at + 1) == Some(&close) {
                                text.push(close);
                                at += 2;
                            } else {
                                at += 1;
                                break;
                            }
                        }
                        Some(&b) => {
                            text.push(b);
                            at += 1;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&text).into_owned();
                if c == b'\'' {
                    Token::Str(text)
                } else {
                    Token::Name { text, bare: false }
                }
            }
            b'x' | b'X' if bytes.get(at + 1) == Some(&b'\'') => {
                let end = sql[at + 2..]
                    .find('\'')
                    .ok_or_else(|| format!("unterminated blob literal at byte {start}"))?;
                let hex = &sql[at + 2..at + 2 + end];
                at += 2 + end + 1;
                Token::Blob(decode_hex(hex).ok_or_else(|| format!("bad blob literal X'{hex}'"))?)
            }
            b'0'..=b'9' | b'.'
                if c != b'.' || bytes.get(at + 1).is_some_and(u8::is_ascii_digit) =>
            {
                if c == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X')) {
                    at += 2;
                    while at < bytes.len() && bytes[at].is_ascii_hexdigit() {
                        at += 1;
                    }
                } else {
                    while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                        at += 1;
                    }
                    if at < bytes.len() && matches!(bytes[at], b'e' | b'E') {
                        at += 1;
                        if at < bytes.len() && matches!(bytes[at], b'+' | b'-') {
                            at += 1;
                        }
                        while at < bytes.len() && bytes[at].is_ascii_digit() {
                            at += 1;
                        }
                    }
                }
                Token::Number(sql[start..at].to_string())
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while at < bytes.len()
                    && (bytes[at].is_ascii_alphanumeric()
                        || matches!(bytes[at], b'_' | b'$')
                        || bytes[at] >= 0x80)
                {
                    at += 1;
                }
                Token::Name {
                    text: sql[start..at].to_string(),
                    bare: true,
                }
            }
            _ => {
                let two = sql.get(at..at + 2).unwrap_or("");
                let len = if ["||", "<=", ">=", "!=", "<>", "==", "<<", ">>", "->"].contains(&two) {
                    2
                } else {
                    sql[at..].chars().next().map_or(1, char::len_utf8)
                };
                at += len;
                Token::Punct(sql[start..at].to_string())
            }
        };
        tokens.push(Spanned {
            token,
            start,
            end: at,
        });
    }
    Ok(tokens)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A cursor over tokens with the helpers the two statements need.
struct Parser<'s> {
    sql: &'s str,
    tokens: Vec<Spanned>,
    at: usize,
}

impl<'s> Parser<'s> {
    fn new(sql: &'s str) -> Result<Parser<'s>, String> {
        Ok(Parser {
            sql,
            tokens: tokenize(sql)?,
            at: 0,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|t| &t.token)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).map(|t| t.token.clone());
        self.at += usize::from(token.is_some());
        token
    }

    /// True if the next token is the keyword `word` (a bare name).
    fn at_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Name { text, bare: true }) if text.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.at_keyword(word);
        self.at += usize::from(found);
        found
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), String> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(format!("expected {word} {}", self.position()))
        }
    }

    fn at_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token::Punct(text)) if text == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let found = self.at_punct(p);
        self.at += usize::from(found);
        found
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), String> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(format!("expected '{p}' {}", self.position()))
        }
    }

    fn position(&self) -> String {
        match self.tokens.get(self.at) {
            Some(token) => format!("at byte {}", token.start),
            None => "at the end".into(),
        }
    }

    /// A name: an identifier, or a string literal where SQLite allows one as a name.
    fn name(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Name { text, .. }) | Some(Token::Str(text)) => Ok(text),
            _ => {
                self.at = self.at.saturating_sub(1);
                Err(format!("expected a name {}", self.position()))
            }
        }
    }

    /// `[schema .] name`: the name.
    fn qualified_name(&mut self) -> Result<String, String> {
        let first = self.name()?;
        if self.eat_punct(".") {
            self.name()
        } else {
            Ok(first)
        }
    }

    /// Skips one balanced parenthesised group starting at `(`, returning its inner source.
    fn skip_group(&mut self) -> Result<&'s str, String> {
        let open = self
            .tokens
            .get(self.at)
            .map(|t| t.end)
            .unwrap_or(self.sql.len());
        self.expect_punct("(")?;
        let mut depth = 1;
        while depth > 0 {
            let end = self.tokens.get(self.at).map(|t| t.start);
            match self.next() {
                Some(Token::Punct(p)) if p == "(" => depth += 1,
                Some(Token::Punct(p)) if p == ")" => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.sql[open..end.unwrap_or(open)].trim());
                    }
                }
                Some(_) => {}
                None => return Err("unbalanced parentheses".into()),
            }
        }
        unreachable!("the loop returns when depth reaches 0")
    }

    /// Skips tokens up to (not including) a `,` or `)` at depth 0.
    fn skip_to_item_end(&mut self) -> Result<(), String> {
        loop {
            if self.at_punct(",") || self.at_punct(")") || self.peek().is_none() {
                return Ok(());
            }
            if self.at_punct("(") {
                self.skip_group()?;
            } else {
                self.at += 1;
            }
        }
    }

    fn source_between(&self, from: usize, to: usize) -> &'s str {
        if from >= to {
            return "";
        }
        let start = self.tokens[from].start;
        let end = self.tokens[to - 1].end;
        &self.sql[start..end]
    }
}

/// A column of a CREATE TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    /// The declared type as written, `""` when none.
    pub declared_type: String,
    pub not_null: bool,
    /// The DEFAULT clause's value when it is a literal; `default_sql` holds any default's
    /// text.
    pub default: Option<Value>,
    pub default_sql: Option<String>,
    pub collation: Option<String>,
    /// Some(true) for a STORED generated column, Some(false) for VIRTUAL.
    pub generated_stored: Option<bool>,
}

/// One column of a PRIMARY KEY, UNIQUE or index: a table column or an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedColumnDef {
    /// The column name, or the expression's text.
    pub name: String,
    pub is_expression: bool,
    pub collation: Option<String>,
    pub descending: bool,
}

/// A PRIMARY KEY or UNIQUE constraint, in the order SQLite creates automatic indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyConstraint {
    pub primary: bool,
    pub columns: Vec<IndexedColumnDef>,
    /// A column-level `PRIMARY KEY DESC`: SQLite's quirk makes such an INTEGER column not a
    /// rowid alias.
    pub column_level_desc: bool,
}

impl KeyConstraint {
    /// The constraint a column declares on itself (`PRIMARY KEY [DESC]` or `UNIQUE`).
    fn on_column(name: &str, primary: bool, descending: bool) -> KeyConstraint {
        KeyConstraint {
            primary,
            columns: vec![IndexedColumnDef {
                name: name.to_string(),
                is_expression: false,
                collation: None,
                descending,
            }],
            column_level_desc: descending,
        }
    }
}

/// A parsed CREATE TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub columns: Vec<ColumnDef>,
    pub keys: Vec<KeyConstraint>,
    pub without_rowid: bool,
    pub strict: bool,
}

/// A parsed CREATE INDEX.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    pub unique: bool,
    pub table: String,
    pub columns: Vec<IndexedColumnDef>,
    /// The WHERE clause of a partial index.
    pub partial: Option<String>,
}

/// Words that end a column's type name and start a column constraint.
const COLUMN_CONSTRAINTS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "NOT",
    "NULL",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "COLLATE",
    "REFERENCES",
    "GENERATED",
    "AS",
];

/// Parses a CREATE TABLE statement.
pub fn parse_create_table(sql: &str) -> Result<TableDef, String> {
    let mut p = Parser::new(sql)?;
    p.expect_keyword("CREATE")?;
    let _ = p.eat_keyword("TEMP") || p.eat_keyword("TEMPORARY");
    p.expect_keyword("TABLE")?;
    if p.eat_keyword("IF") {
        p.expect_keyword("NOT")?;
        p.expect_keyword("EXISTS")?;
    }
    p.qualified_name()?;
    if p.at_keyword("AS") {
        return Err(
            "CREATE TABLE … AS SELECT is stored by SQLite with its columns; this one is not".into(),
        );
    }
    p.expect_punct("(")?;
    let mut table = TableDef {
        columns: Vec::new(),
        keys: Vec::new(),
        without_rowid: false,
        strict: false,
    };
    loop {
        if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|w| p.at_keyword(w))
        {
            table_constraint(&mut p, &mut table)?;
        } else {
            column_def(&mut p, &mut table)?;
        }
        if p.eat_punct(")") {
            break;
        }
        p.expect_punct(",")?;
    }
    // Table options: WITHOUT ROWID and STRICT, comma separated.
    while p.peek().is_some() {
        if p.eat_keyword("WITHOUT") {
            p.expect_keyword("ROWID")?;
            table.without_rowid = true;
        } else if p.eat_keyword("STRICT") {
            table.strict = true;
        } else if !p.eat_punct(",") && !p.eat_punct(";") {
            return Err(format!("unexpected table option {}", p.position()));
        }
    }
    if table.columns.is_empty() {
        return Err("a table needs at least one column".into());
    }
    Ok(table)
}

fn column_def(p: &mut Parser<'_>, table: &mut TableDef) -> Result<(), String> {
    let name = p.name()?;
    let type_start = p.at;
    while p.peek().is_some() && !p.at_punct(",") && !p.at_punct(")") {
        if COLUMN_CONSTRAINTS.iter().any(|w| p.at_keyword(w)) {
            break;
        }
        if p.at_punct("(") {
            p.skip_group()?;
        } else {
            p.at += 1;
        }
    }
    let mut column = ColumnDef {
        name,
        declared_type: p.source_between(type_start, p.at).to_string(),
        not_null: false,
        default: None,
        default_sql: None,
        collation: None,
        generated_stored: None,
    };
    while !p.at_punct(",") && !p.at_punct(")") {
        if p.at_punct("(") {
            p.skip_group()?;
            continue;
        }
        let Some(token) = p.next() else {
            return Err("the column list is not closed".into());
        };
        let Token::Name {
            text: word,
            bare: true,
        } = token
        else {
            // Conflict clauses, FOREIGN KEY actions and the like: skip their words.
            continue;
        };
        match word.to_ascii_uppercase().as_str() {
            "CONSTRAINT" => {
                p.name()?;
            }
            "PRIMARY" => {
                p.expect_keyword("KEY")?;
                let descending = p.eat_keyword("DESC");
                let _ = p.eat_keyword("ASC");
                table
                    .keys
                    .push(KeyConstraint::on_column(&column.name, true, descending));
            }
            "UNIQUE" => table
                .keys
                .push(KeyConstraint::on_column(&column.name, false, false)),
            // NOT DEFERRABLE of a REFERENCES clause records nothing.
            "NOT" if p.eat_keyword("NULL") => column.not_null = true,
            "CHECK" => {
                p.skip_group()?;
            }
            "DEFAULT" => {
                let start = p.at;
                column.default = default_value(p)?;
                column.default_sql = Some(p.source_between(start, p.at).to_string());
            }
            "COLLATE" => column.collation = Some(p.name()?),
            "REFERENCES" => skip_foreign_key_clause(p)?,
            "GENERATED" => {
                p.expect_keyword("ALWAYS")?;
                p.expect_keyword("AS")?;
                p.skip_group()?;
                column.generated_stored = Some(p.eat_keyword("STORED"));
                let _ = p.eat_keyword("VIRTUAL");
            }
            "AS" => {
                p.skip_group()?;
                column.generated_stored = Some(p.eat_keyword("STORED"));
                let _ = p.eat_keyword("VIRTUAL");
            }
            _ => {}
        }
    }
    table.columns.push(column);
    Ok(())
}

/// Skips a column's `REFERENCES table (columns) [ON DELETE …] [MATCH …] [DEFERRABLE …]`
/// after its first word: words without meaning for storage, consumed so that the DEFAULT and
/// NULL among them are not misread as the column's own.
fn skip_foreign_key_clause(p: &mut Parser<'_>) -> Result<(), String> {
    p.name()?;
    if p.at_punct("(") {
        p.skip_group()?;
    }
    while let Some(Token::Name { text, bare: true }) = p.peek() {
        let upper = text.to_ascii_uppercase();
        if [
            "ON",
            "DELETE",
            "UPDATE",
            "SET",
            "NULL",
            "DEFAULT",
            "CASCADE",
            "RESTRICT",
            "NO",
            "ACTION",
            "MATCH",
            "DEFERRABLE",
            "INITIALLY",
            "DEFERRED",
            "IMMEDIATE",
            "FULL",
            "PARTIAL",
            "SIMPLE",
        ]
        .contains(&upper.as_str())
            || (upper == "NOT"
                && {
                    let next = p.tokens.get(p.at + 1).map(|t| &t.token);
                    matches!(next, Some(Token::Name { text, .. }) if text.eq_ignore_ascii_case("DEFERRABLE"))
                })
        {
            p.at += 1;
        } else {
            break;
        }
    }
    Ok(())
}

/// The most parentheses a DEFAULT value may nest in. SQLite's own parser gives up before
/// this ("parser stack overflow", at 93 in a DEFAULT clause of SQLite 3.40), so no schema it
/// wrote nests deeper, and a hostile one that does is refused, not followed.
const MAX_NESTING: usize = 100;

/// The value of a DEFAULT clause when it is a constant SQLite evaluates without a query:
/// a literal, a signed number, NULL, TRUE or FALSE, possibly in parentheses. `None` for an
/// expression (CURRENT_TIMESTAMP, a function call…), which SQLite evaluates on insert; rows
/// read back always have such columns stored, since ALTER TABLE ADD COLUMN refuses them.
fn default_value(p: &mut Parser<'_>) -> Result<Option<Value>, String> {
    let start = p.at;
    let mut open = 0;
    while p.eat_punct("(") {
        open += 1;
        if open > MAX_NESTING {
            return Err(format!("parser stack overflow {}", p.position()));
        }
    }
    let value = default_literal(p)?;
    for _ in 0..open {
        if !p.eat_punct(")") {
            // An expression in parentheses: skip the outermost group whole.
            p.at = start;
            p.skip_group()?;
            return Ok(None);
        }
    }
    Ok(value)
}

/// The literal of a DEFAULT clause inside its parentheses, if it is one.
fn default_literal(p: &mut Parser<'_>) -> Result<Option<Value>, String> {
    let negative = if p.eat_punct("-") {
        true
    } else {
        let _ = p.eat_punct("+");
        false
    };
    let value = match p.next() {
        Some(Token::Number(text)) => number_value(&text, negative),
        Some(Token::Str(text)) if !negative => Some(Value::Text(text)),
        Some(Token::Blob(bytes)) if !negative => Some(Value::Blob(bytes)),
        Some(Token::Name { text, bare: true }) => match text.to_ascii_uppercase().as_str() {
            "NULL" => Some(Value::Null),
            "TRUE" => Some(Value::Integer(if negative { -1 } else { 1 })),
            "FALSE" => Some(Value::Integer(0)),
            _ => {
                if p.at_punct("(") {
                    p.skip_group()?;
                }
                None
            }
        },
        Some(Token::Name { text, bare: false }) => Some(Value::Text(text)),
        _ => return Err(format!("expected a default value {}", p.position())),
    };
    Ok(value)
}

/// Reads `text` as one SQL literal — an integer, a real, NULL, TRUE or FALSE, `X'hex'`, or a
/// `'quoted'` string, numbers optionally signed — or `None` if it is anything else.
pub fn parse_literal(text: &str) -> Option<Value> {
    let mut parser = Parser::new(text).ok()?;
    if parser.tokens.is_empty() || matches!(parser.peek(), Some(Token::Name { bare: false, .. })) {
        return None;
    }
    let value = default_value(&mut parser).ok()??;
    parser.peek().is_none().then_some(value)
}

/// A numeric literal as SQLite reads it: an integer if it fits, else a real.
fn number_value(text: &str, negative: bool) -> Option<Value> {
    let signed = if negative {
        format!("-{text}")
    } else {
        text.to_string()
    };
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        let value = u64::from_str_radix(hex, 16).ok()? as i64;
        return Some(Value::Integer(if negative {
            value.wrapping_neg()
        } else {
            value
        }));
    }
    if let Ok(value) = signed.parse::<i64>() {
        return Some(Value::Integer(value));
    }
    signed.parse::<f64>().ok().map(Value::Real)
}

fn table_constraint(p: &mut Parser<'_>, table: &mut TableDef) -> Result<(), String> {
    if p.eat_keyword("CONSTRAINT") {
        p.name()?;
    }
    if p.eat_keyword("PRIMARY") {
        p.expect_keyword("KEY")?;
        let columns = indexed_columns(p)?;
        table.keys.push(KeyConstraint {
            primary: true,
            columns,
            column_level_desc: false,
        });
    } else if p.eat_keyword("UNIQUE") {
        let columns = indexed_columns(p)?;
        table.keys.push(KeyConstraint {
            primary: false,
            columns,
            column_level_desc: false,
        });
    }
    p.skip_to_item_end()
}

/// `( indexed-column [COLLATE name] [ASC|DESC], … )`.
fn indexed_columns(p: &mut Parser<'_>) -> Result<Vec<IndexedColumnDef>, String> {
    p.expect_punct("(")?;
    let mut columns = Vec::new();
    loop {
        let start = p.at;
        // An expression runs up to COLLATE, ASC, DESC, ',' or ')' at depth 0.
        while p.peek().is_some()
            && !p.at_punct(",")
            && !p.at_punct(")")
            && !["COLLATE", "ASC", "DESC"].iter().any(|w| p.at_keyword(w))
        {
            if p.at_punct("(") {
                p.skip_group()?;
            } else {
                p.at += 1;
            }
        }
        if p.at == start {
            return Err(format!("expected a column {}", p.position()));
        }
        let (name, is_expression) = match (&p.tokens[start].token, p.at - start) {
            (Token::Name { text, .. } | Token::Str(text), 1) => (text.clone(), false),
            _ => (p.source_between(start, p.at).to_string(), true),
        };
        let collation = if p.eat_keyword("COLLATE") {
            Some(p.name()?)
        } else {
            None
        };
        let descending = p.eat_keyword("DESC");
        let _ = p.eat_keyword("ASC");
        columns.push(IndexedColumnDef {
            name,
            is_expression,
            collation,
            descending,
        });
        if p.eat_punct(")") {
            return Ok(columns);
        }
        p.expect_punct(",")?;
    }
}

/// Parses a CREATE INDEX statement.
pub fn parse_create_index(sql: &str) -> Result<IndexDef, String> {
    let mut p = Parser::new(sql)?;
    p.expect_keyword("CREATE")?;
    let unique = p.eat_keyword("UNIQUE");
    p.expect_keyword("INDEX")?;
    if p.eat_keyword("IF") {
        p.expect_keyword("NOT")?;
        p.expect_keyword("EXISTS")?;
    }
    p.qualified_name()?;
    p.expect_keyword("ON")?;
    let table = p.name()?;
    let columns = indexed_columns(&mut p)?;
    let partial = if p.eat_keyword("WHERE") {
        let start = p.at;
        p.at = p.tokens.len();
        Some(p.source_between(start, p.at).to_string())
    } else {
        None
    };
    Ok(IndexDef {
        unique,
        table,
        columns,
        partial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_types_and_constraints() {
        let table = parse_create_table(
            "CREATE TABLE \"my t\" (id INTEGER PRIMARY KEY AUTOINCREMENT, [name] VARCHAR(10, 2) NOT NULL \
             COLLATE nocase DEFAULT 'x''y', `n` UNSIGNED BIG INT DEFAULT -5, r DEFAULT (1.5), \
             b BLOB DEFAULT X'0aFF', p REFERENCES other(id) ON DELETE SET DEFAULT, \
             g AS (id * 2) STORED, v GENERATED ALWAYS AS (upper(name)), \
             CONSTRAINT k UNIQUE (name COLLATE rtrim DESC, n), CHECK (n > 0)) WITHOUT ROWID, STRICT",
        )
        .expect("parses");
        let names: Vec<_> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "n", "r", "b", "p", "g", "v"]);
        assert_eq!(table.columns[1].declared_type, "VARCHAR(10, 2)");
        assert_eq!(table.columns[2].declared_type, "UNSIGNED BIG INT");
        assert_eq!(table.columns[1].default, Some(Value::Text("x'y".into())));
        assert_eq!(table.columns[1].collation.as_deref(), Some("nocase"));
        assert!(table.columns[1].not_null);
        assert_eq!(table.columns[2].default, Some(Value::Integer(-5)));
        assert_eq!(table.columns[3].default, Some(Value::Real(1.5)));
        assert_eq!(
            table.columns[4].default,
            Some(Value::Blob(vec![0x0a, 0xff]))
        );
        assert_eq!(
            table.columns[5].default, None,
            "SET DEFAULT is not a default"
        );
        assert_eq!(table.columns[6].generated_stored, Some(true));
        assert_eq!(table.columns[7].generated_stored, Some(false));
        assert_eq!(table.keys.len(), 2);
        assert!(table.keys[0].primary);
        assert_eq!(table.keys[1].columns[0].collation.as_deref(), Some("rtrim"));
        assert!(table.keys[1].columns[0].descending);
        assert!(table.without_rowid && table.strict);
    }

    #[test]
    fn reads_indexes_with_expressions_and_where() {
        let index = parse_create_index(
            "CREATE UNIQUE INDEX IF NOT EXISTS main.i ON t (a DESC, lower(b) COLLATE NOCASE, c) WHERE a > 0",
        )
        .expect("parses");
        assert!(index.unique);
        assert_eq!(index.table, "t");
        assert_eq!(index.columns.len(), 3);
        assert!(index.columns[0].descending);
        assert!(index.columns[1].is_expression);
        assert_eq!(index.columns[1].name, "lower(b)");
        assert_eq!(index.partial.as_deref(), Some("a > 0"));
    }

    #[test]
    fn reads_literals() {
        assert_eq!(parse_literal("42"), Some(Value::Integer(42)));
        assert_eq!(parse_literal("-4.5"), Some(Value::Real(-4.5)));
        assert_eq!(parse_literal("null"), Some(Value::Null));
        assert_eq!(parse_literal("X'0aff'"), Some(Value::Blob(vec![10, 255])));
        assert_eq!(parse_literal("'it''s'"), Some(Value::Text("it's".into())));
        assert_eq!(parse_literal("pear"), None);
        assert_eq!(parse_literal("\"pear\""), None);
        assert_eq!(parse_literal("4 5"), None);
        assert_eq!(parse_literal(""), None);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse_create_table("CREATE TABLE t").is_err());
        assert!(parse_create_table("CREATE TABLE t (a").is_err());
        assert!(parse_create_table("CREATE TABLE t ('unterminated").is_err());
        assert!(parse_create_index("CREATE INDEX i ON t").is_err());
    }

    #[test]
    fn nested_defaults_are_read_and_hostile_nesting_refused() {
        let nested = |n: usize, inner: &str| {
            format!(
                "CREATE TABLE t (a DEFAULT {}{inner}{}, b)",
                "(".repeat(n),
                ")".repeat(n)
            )
        };
        let table = parse_create_table(&nested(50, "-7")).expect("parses");
        assert_eq!(table.columns[0].default, Some(Value::Integer(-7)));
        assert_eq!(table.columns[1].name, "b");
        let table = parse_create_table(&nested(3, "1 + 2")).expect("parses");
        assert_eq!(table.columns[0].default, None);
        assert_eq!(table.columns[0].default_sql.as_deref(), Some("(((1 + 2)))"));
        assert_eq!(table.columns[1].name, "b");
        // 100,000 levels overflowed the stack of the recursive reader this replaced.
        let error = parse_create_table(&nested(100_000, "1")).expect_err("refused");
        assert!(error.contains("parser stack overflow"), "{error}");
    }
}
