//! Parsing: SQL text to statements, with the `sqlparser` crate's PostgreSQL dialect.
//!
//! A string may hold several statements separated by `;`. A syntax error is PostgreSQL's
//! `42601`: `syntax error at or near "<token>"` (or `at end of input`), with the position of
//! the offending token as a 1-based character offset, which `sqlparser` reports as a line and
//! column and this module converts. Nesting deeper than [`MAX_NESTING`] is `54001 stack depth
//! limit exceeded`, never a crash (PostgreSQL's limit is higher: see there).

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result, SqlState};

/// How deep expressions and subqueries may nest. PostgreSQL's limit is its stack
/// (`max_stack_depth`, 2 MB: thousands of parentheses); `sqlparser` recurses on the native
/// stack too, so cairn stops at a depth a 2 MiB thread stack holds with room to spare, and
/// says so with PostgreSQL's code for it.
pub const MAX_NESTING: usize = 256;

/// The stack a statement's parsing, planning and running take grows with two things: how
/// deep its parentheses nest (the parser's recursion through a subquery in FROM is the
/// deepest, about 50 KiB a level in a release build), and how many operators it chains —
/// `1 + 1 + …` and `a = 1 OR a = 2 OR …` are trees as deep as they are long, which binding,
/// evaluating and dropping walk recursively (1–2 KiB a level). Below these bounds a
/// statement runs on any caller's stack (a thread's default 2 MiB, with room to spare).
const SHALLOW_TEXT: usize = 200;
const SHALLOW_NESTING: usize = 16;
const STACK_PER_LEVEL: usize = 128 << 10;
const STACK_PER_OPERATOR: usize = 4 << 10;
const STACK_BASE: usize = 4 << 20;
/// The most operators a statement may chain: dropping its syntax tree, which the caller may
/// do on its own stack, recurses once per operator.
pub const MAX_OPERATORS: usize = 20_000;

/// The stack `sql` needs to be parsed, planned and run: `None` if any caller's stack holds
/// it, else the bytes a thread running it must have (see `STACK_BASE`). Nesting past
/// [`MAX_NESTING`] or more than [`MAX_OPERATORS`] operators is `54001 stack depth limit
/// exceeded`, found here before anything recurses.
pub fn stack_needed(sql: &str) -> Result<Option<usize>> {
    if sql.len() <= SHALLOW_TEXT && sql.bytes().filter(|b| *b == b'(').count() <= SHALLOW_NESTING {
        return Ok(None);
    }
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return Ok(None); // the parser reports the error, without recursing
    };
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    for token in &tokens {
        match token {
            Token::LParen | Token::LBracket => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Word(word) => {
                if matches!(
                    word.keyword,
                    Keyword::AND
                        | Keyword::OR
                        | Keyword::NOT
                        | Keyword::IS
                        | Keyword::LIKE
                        | Keyword::ILIKE
                        | Keyword::BETWEEN
                        | Keyword::IN
                        | Keyword::CASE
                        | Keyword::WHEN
                        | Keyword::AT
                        | Keyword::COLLATE
                ) {
                    operators += 1;
                }
            }
            Token::Whitespace(_)
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::Comma
            | Token::Period
            | Token::SemiColon
            | Token::EOF => {}
            _ => operators += 1,
        }
    }
    if deepest > MAX_NESTING || operators > MAX_OPERATORS {
        return Err(Error::new(
            SqlState::STATEMENT_TOO_COMPLEX,
            "stack depth limit exceeded",
        ));
    }
    let needed = deepest * STACK_PER_LEVEL + operators * STACK_PER_OPERATOR;
    Ok((needed > SHALLOW_NESTING * STACK_PER_LEVEL).then_some(STACK_BASE + needed))
}

/// The statements of `sql`, in order.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let dialect = PostgreSqlDialect {};
    Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(ParserError::from)
        .and_then(|mut tokens| {
            respell_postgresql(&mut tokens);
            Parser::new(&dialect)
                .with_recursion_limit(MAX_NESTING)
                .with_tokens_with_locations(tokens)
                .parse_statements()
        })
        .map_err(|e| syntax_error(sql, e))
}

/// Respells, in place, the PostgreSQL forms of statements that `sqlparser` reads
/// otherwise or not at all (token by token, so positions stay right):
///
/// - COPY options take any spelling of a boolean (`FREEZE on`, `HEADER 1`) and a quoted
///   format name (`FORMAT 'csv'`), where `sqlparser` takes `TRUE`/`FALSE` and a bare word;
/// - `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [(options)] table, …` and `ANALYZE
///   [VERBOSE] table, …` lose the options, which change nothing here, and keep their first
///   table (which must exist).
fn respell_postgresql(tokens: &mut [TokenWithSpan]) {
    let mut start = 0;
    while start < tokens.len() {
        let end = tokens[start..]
            .iter()
            .position(|t| t.token == Token::SemiColon)
            .map_or(tokens.len(), |p| start + p);
        let statement = &mut tokens[start..end];
        match first_keyword(statement) {
            Some((at, Keyword::COPY)) => respell_copy_options(&mut statement[at..]),
            Some((at, Keyword::VACUUM | Keyword::ANALYZE)) => {
                respell_maintenance(&mut statement[at + 1..]);
            }
            _ => {}
        }
        start = end + 1;
    }
}

/// The first word of a statement's tokens, and where it is.
fn first_keyword(tokens: &[TokenWithSpan]) -> Option<(usize, Keyword)> {
    let at = tokens
        .iter()
        .position(|t| !matches!(t.token, Token::Whitespace(_)))?;
    match &tokens[at].token {
        Token::Word(w) => Some((at, w.keyword)),
        _ => None,
    }
}

/// A token made blank: gone for the parser, its place kept.
fn blank(token: &mut TokenWithSpan) {
    token.token = Token::Whitespace(sqlparser::tokenizer::Whitespace::Space);
}

fn respell_copy_options(tokens: &mut [TokenWithSpan]) {
    let mut previous = Keyword::NoKeyword;
    for token in tokens.iter_mut() {
        if matches!(token.token, Token::Whitespace(_)) {
            continue;
        }
        if matches!(previous, Keyword::FREEZE | Keyword::HEADER) {
            let spelled = match &token.token {
                Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_lowercase()),
                Token::Number(n, _) => Some(n.clone()),
                Token::SingleQuotedString(s) => Some(s.to_lowercase()),
                _ => None,
            };
            match spelled.as_deref() {
                Some("on" | "true" | "yes" | "1") => token.token = Token::make_keyword("TRUE"),
                Some("off" | "false" | "no" | "0") => token.token = Token::make_keyword("FALSE"),
                _ => {}
            }
        }
        if previous == Keyword::FORMAT {
            if let Token::SingleQuotedString(name) = &token.token {
                token.token = Token::make_word(&name.to_lowercase(), None);
            }
        }
        previous = match &token.token {
            Token::Word(w) => w.keyword,
            _ => Keyword::NoKeyword,
        };
    }
}

/// The tokens after VACUUM or ANALYZE: options blanked, tables after the first too.
fn respell_maintenance(tokens: &mut [TokenWithSpan]) {
    let mut depth = 0usize;
    let mut seen_table = false;
    for token in tokens.iter_mut() {
        match &token.token {
            Token::Whitespace(_) => continue,
            _ if seen_table && depth == 0 && token.token == Token::Comma => {
                // The first table (and its column list) is kept, the rest blanked.
                seen_table = false;
                depth = usize::MAX;
            }
            _ => {}
        }
        if depth == usize::MAX {
            blank(token);
            continue;
        }
        match &token.token {
            Token::LParen if !seen_table => {
                depth += 1;
                blank(token);
            }
            Token::RParen if !seen_table && depth > 0 => {
                depth -= 1;
                blank(token);
            }
            _ if depth > 0 => blank(token),
            Token::Word(w)
                if !seen_table
                    && matches!(
                        w.keyword,
                        Keyword::FULL | Keyword::FREEZE | Keyword::VERBOSE | Keyword::ANALYZE
                    ) =>
            {
                blank(token)
            }
            _ => seen_table = true,
        }
    }
}

/// The statements of a script, each with its text, split at the `;`s between them (as psql
/// sends a file: one statement at a time). Text that does not tokenize is one piece, for
/// the parser to report.
pub fn split_statements(sql: &str) -> Vec<String> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return vec![sql.to_string()];
    };
    let mut pieces = Vec::new();
    let mut start = 0; // in characters
    let chars: Vec<char> = sql.chars().collect();
    for token in tokens {
        if token.token != Token::SemiColon {
            continue;
        }
        let location = token.span.start;
        let Some(at) = offset_of(sql, location.line as usize, location.column as usize) else {
            continue;
        };
        let piece: String = chars[start..at].iter().collect();
        if has_statement(&piece) {
            pieces.push(piece);
        }
        start = at;
    }
    let rest: String = chars[start..].iter().collect();
    if has_statement(&rest) {
        pieces.push(rest);
    }
    pieces
}

/// Whether a piece of a script holds more than blanks, comments and `;`.
fn has_statement(piece: &str) -> bool {
    let dialect = PostgreSqlDialect {};
    match Tokenizer::new(&dialect, piece).tokenize() {
        Ok(tokens) => tokens
            .iter()
            .any(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon | Token::EOF)),
        Err(_) => true,
    }
}

/// One expression (a column's DEFAULT, kept as text in the catalog).
pub fn parse_expr(sql: &str) -> Result<sqlparser::ast::Expr> {
    let dialect = PostgreSqlDialect {};
    Parser::new(&dialect)
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| syntax_error(sql, e))
}

/// A parser error as PostgreSQL reports it.
fn syntax_error(sql: &str, error: ParserError) -> Error {
    let text = match &error {
        ParserError::RecursionLimitExceeded => {
            return Error::new(
                SqlState::STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded",
            )
        }
        ParserError::TokenizerError(t) | ParserError::ParserError(t) => t.as_str(),
    };
    match location(text).and_then(|(line, column)| offset_of(sql, line, column)) {
        Some(position) => {
            let near = token_at(sql, position);
            let message = match &near {
                Some(token) => format!("syntax error at or near \"{token}\""),
                None => "syntax error at end of input".to_string(),
            };
            let position = if near.is_some() {
                position
            } else {
                sql.chars().count() + 1
            };
            Error::new(SqlState::SYNTAX_ERROR, message).at(position)
        }
        // An error found at the end of the text carries no location.
        None => Error::new(SqlState::SYNTAX_ERROR, "syntax error at end of input")
            .at(sql.chars().count() + 1),
    }
}

/// The `Line: L, Column: C` an error message of `sqlparser` ends with.
fn location(text: &str) -> Option<(usize, usize)> {
    let at = text.rfind("Line: ")?;
    let rest = &text[at + "Line: ".len()..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The 1-based character offset of 1-based `line` and `column`.
pub(crate) fn offset_of(sql: &str, line: usize, column: usize) -> Option<usize> {
    let before: usize = sql
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(|l| l.chars().count())
        .sum();
    (column > 0).then_some(before + column)
}

/// The text of the token starting at character `position` (1-based), if one does.
fn token_at(sql: &str, position: usize) -> Option<String> {
    let start: usize = sql.chars().take(position - 1).map(char::len_utf8).sum();
    let rest = sql.get(start..)?;
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, rest).tokenize().ok()?;
    let token = tokens
        .into_iter()
        .find(|t| !matches!(t, Token::Whitespace(_)))?;
    match token {
        Token::EOF => None,
        Token::SingleQuotedString(s) => Some(format!("'{s}'")),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_script_splits_at_the_semicolons_between_statements() {
        let pieces = split_statements("SELECT ';';\nINSERT INTO t VALUES (1) ; -- done;\n\n");
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert_eq!(pieces[0], "SELECT ';';");
        assert!(pieces[1].contains("INSERT INTO t VALUES (1)"));
        assert_eq!(split_statements("  ").len(), 0);
    }
    use super::*;

    fn syntax(sql: &str) -> (String, Option<usize>) {
        let e = parse(sql).expect_err("a syntax error");
        assert_eq!(e.state, SqlState::SYNTAX_ERROR, "{sql}: {e:?}");
        (e.message.clone(), e.position)
    }

    #[test]
    fn statements_parse_in_order() {
        let statements = parse("CREATE TABLE t (a int); INSERT INTO t VALUES (1); SELECT a FROM t")
            .expect("parse");
        assert_eq!(statements.len(), 3);
        assert!(matches!(statements[2], Statement::Query(_)));
    }

    /// The messages and positions PostgreSQL 15.18 gives for the same text.
    #[test]
    fn syntax_errors_say_where_as_postgresql_does() {
        assert_eq!(
            syntax("SELEC 1"),
            ("syntax error at or near \"SELEC\"".into(), Some(1))
        );
        assert_eq!(
            syntax("SELECT 1 +"),
            ("syntax error at end of input".into(), Some(11))
        );
        assert_eq!(
            syntax("SELECT 1;\nSELECT FROM WHERE"),
            ("syntax error at or near \"WHERE\"".into(), Some(23))
        );
    }

    #[test]
    fn nesting_parses_to_its_limit_and_is_an_error_past_it_not_a_crash() {
        let nested = |n: usize| format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n));
        parse(&nested(MAX_NESTING - 10)).expect("within the limit");
        let e = parse(&nested(5_000)).expect_err("too deep");
        assert_eq!(e.state, SqlState::STATEMENT_TOO_COMPLEX);
        assert_eq!(e.message, "stack depth limit exceeded");
    }
}
