//! Sessions: statements in, results out.
//!
//! A [`Session`] runs the statements of a string in order and returns one [`QueryResult`]
//! per statement, stopping at the first error. Today it runs `SELECT` without `FROM` (a
//! select list of expressions, and `WHERE`); tables, the catalog and transactions come with
//! the rest of issue 24, and every other statement is `0A000 … is not supported yet`.

use sqlparser::ast::{SelectItem, SetExpr, Statement};

use crate::bind::Binder;
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::parser::parse;
use crate::value::{DataType, Value};

/// A result column: its name and type.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
}

/// The result of one statement: its columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// A session.
#[derive(Debug, Default)]
pub struct Session {}

impl Session {
    pub fn new() -> Session {
        Session {}
    }

    /// Runs every statement of `sql`; one result per statement.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<QueryResult>> {
        parse(sql)?
            .iter()
            .map(|statement| self.run(sql, statement))
            .collect()
    }

    fn run(&mut self, sql: &str, statement: &Statement) -> Result<QueryResult> {
        let Statement::Query(query) = statement else {
            return Err(not_supported("this statement"));
        };
        if query.with.is_some()
            || query.order_by.is_some()
            || query.limit_clause.is_some()
            || query.fetch.is_some()
        {
            return Err(not_supported("WITH, ORDER BY, LIMIT and FETCH"));
        }
        let SetExpr::Select(select) = query.body.as_ref() else {
            return Err(not_supported("set operations and VALUES"));
        };
        if !select.from.is_empty() {
            return Err(not_supported("FROM"));
        }
        let binder = Binder::new(sql);
        let mut columns = Vec::new();
        let mut exprs: Vec<Expr> = Vec::new();
        for item in &select.projection {
            let (expr, name) = match item {
                SelectItem::UnnamedExpr(e) => (e, Binder::column_name(e)),
                SelectItem::ExprWithAlias { expr, alias } => (expr, alias.value.clone()),
                _ => return Err(not_supported("* without FROM")),
            };
            let typed = binder.bind(expr)?;
            columns.push(Column {
                name,
                data_type: typed.result_type(),
            });
            exprs.push(match typed.ty {
                // An untyped literal in the result is text.
                None => Expr::Cast(Box::new(typed.expr), DataType::Text),
                Some(_) => typed.expr,
            });
        }
        if let Some(filter) = &select.selection {
            let typed = binder.bind(filter)?;
            if typed.ty.is_some_and(|t| t != DataType::Bool) {
                return Err(Error::new(
                    SqlState::DATATYPE_MISMATCH,
                    format!(
                        "argument of WHERE must be type boolean, not type {}",
                        typed.result_type().name()
                    ),
                ));
            }
            if typed.expr.eval(&[])?.cast(DataType::Bool)? != Value::Bool(true) {
                return Ok(QueryResult {
                    columns,
                    rows: Vec::new(),
                });
            }
        }
        let row = exprs
            .iter()
            .map(|e| e.eval(&[]))
            .collect::<Result<Vec<_>>>()?;
        Ok(QueryResult {
            columns,
            rows: vec![row],
        })
    }
}

fn not_supported(what: &str) -> Error {
    Error::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported yet"),
    )
}
