//! `RETURNING`: what INSERT, UPDATE and DELETE give back of the rows they wrote — the new
//! rows, or the deleted ones — computed by expressions over the table's row, as a query's
//! result with the command's tag.

use sqlparser::ast::SelectItem;

use crate::bind::{Binder, Context};
use crate::catalog::TableDef;
use crate::error::Result;
use crate::exec::Env;
use crate::expr::Expr;
use crate::planner;
use crate::scope::Scope;
use crate::session::{Column, QueryResult};
use crate::value::Value;

/// A statement's RETURNING list, bound (empty when it has none).
pub struct Returning {
    columns: Vec<Column>,
    exprs: Vec<Expr>,
}

impl Returning {
    /// The columns it returns (none without a RETURNING list).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Binds `items` over the rows of `table`, named `qualifier`.
    pub fn bind(
        ctx: &Context<'_>,
        table: &TableDef,
        qualifier: &str,
        items: Option<&[SelectItem]>,
    ) -> Result<Returning> {
        let Some(items) = items else {
            return Ok(Returning {
                columns: Vec::new(),
                exprs: Vec::new(),
            });
        };
        let scope = Scope::of_table(
            qualifier,
            table.columns.iter().map(|c| (c.name.clone(), c.data_type)),
        );
        let binder = Binder::new(ctx, &scope, None).in_clause("RETURNING");
        let (columns, exprs) = planner::project(&binder, &scope, items)?;
        Ok(Returning { columns, exprs })
    }

    /// The command's result: `tag`, and the RETURNING values of `rows` if it has a list.
    pub fn result(&self, tag: String, rows: &[Vec<Value>], env: &Env<'_>) -> Result<QueryResult> {
        if self.columns.is_empty() {
            return Ok(QueryResult::command(tag));
        }
        let rows = rows
            .iter()
            .map(|row| self.exprs.iter().map(|e| e.eval(row, env)).collect())
            .collect::<Result<Vec<_>>>()?;
        Ok(QueryResult {
            tag,
            columns: self.columns.clone(),
            rows,
            copy: None,
            notices: Vec::new(),
            parameter_changes: Vec::new(),
        })
    }
}
