//! SQL cursors: `DECLARE name [NO SCROLL] CURSOR [WITH | WITHOUT HOLD] FOR query`, `FETCH`
//! and `CLOSE`, as drivers use them for results read a batch at a time (psycopg's named
//! cursors, JDBC's fetch size).
//!
//! A cursor's query runs when it is declared and its rows wait in the session (the
//! executor has no suspended plans yet, so a cursor holds its whole result in memory); each
//! `FETCH [FORWARD] n | NEXT | ALL` takes the next rows. Without `WITH HOLD` a cursor exists
//! only inside a transaction block and closes when the block ends, as in PostgreSQL; with
//! it, it lasts until closed. Only forward fetching is supported.

use std::collections::VecDeque;

use sqlparser::ast::{FetchDirection, Value as SqlValue};

use crate::error::{Error, Result, SqlState};
use crate::session::{Column, QueryResult};
use crate::value::Value;

/// A declared cursor: its columns and the rows not fetched yet.
#[derive(Debug)]
pub struct Cursor {
    pub columns: Vec<Column>,
    rows: VecDeque<Vec<Value>>,
    /// `WITH HOLD`: outlives its transaction.
    pub hold: bool,
}

impl Cursor {
    /// A cursor over `result`'s rows.
    pub fn new(result: QueryResult, hold: bool) -> Cursor {
        Cursor {
            columns: result.columns,
            rows: result.rows.into(),
            hold,
        }
    }

    /// The next rows `direction` asks for, as `FETCH` answers them (`FETCH n`).
    pub fn fetch(&mut self, direction: &FetchDirection) -> Result<QueryResult> {
        let count = match direction {
            FetchDirection::Next => Some(1),
            FetchDirection::All | FetchDirection::ForwardAll => None,
            FetchDirection::Count { limit } => Some(count(&limit.value)?),
            FetchDirection::Forward { limit } => match limit {
                Some(limit) => Some(count(&limit.value)?),
                None => Some(1),
            },
            _ => {
                return Err(Error::new(
                    SqlState("55000"),
                    "cursor can only scan forward",
                ))
            }
        };
        let n = count.map_or(self.rows.len(), |n| n.min(self.rows.len()));
        let rows: Vec<Vec<Value>> = self.rows.drain(..n).collect();
        Ok(QueryResult {
            tag: format!("FETCH {}", rows.len()),
            columns: self.columns.clone(),
            rows,
            copy: None,
            notices: Vec::new(),
            parameter_changes: Vec::new(),
        })
    }
}

/// A FETCH count: a non-negative integer (a negative one would fetch backward).
fn count(value: &SqlValue) -> Result<usize> {
    match value {
        SqlValue::Number(n, _) => n
            .parse::<usize>()
            .map_err(|_| Error::new(SqlState("55000"), "cursor can only scan forward")),
        _ => Err(Error::new(
            SqlState::SYNTAX_ERROR,
            format!("syntax error at or near \"{value}\""),
        )),
    }
}
