//! Sessions: statements in, results out.
//!
//! A [`Session`] of a [`Database`] runs the statements of a string in order and returns one
//! [`QueryResult`] per statement (with PostgreSQL's command tag: `SELECT 2`, `INSERT 0 3`,
//! `CREATE TABLE`), stopping at the first error. Each statement is its own transaction
//! (autocommit), durable when it returns. Today it runs `CREATE TABLE` (columns of the
//! supported types, `NULL`/`NOT NULL`), `INSERT … VALUES`, `UPDATE` and `DELETE`
//! ([`crate::dml`]), and `SELECT` of expressions over
//! one table or none, with `WHERE`, `ORDER BY`, `LIMIT` and `OFFSET` ([`crate::order`]);
//! every other statement or clause is `0A000 … is not supported yet` until the rest of
//! issue 24 lands.

use std::sync::Arc;

use sqlparser::ast::{
    ColumnOption, CreateTable, ObjectName, ObjectNamePart, Query, SelectItem, SetExpr, Statement,
    TableFactor, TableWithJoins,
};

use crate::bind::{data_type_of, ident_name, Binder};
use crate::catalog::{Catalog, ColumnDef, TableDef};
use crate::database::Database;
use crate::dml;
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::order;
use crate::parser::parse;
use crate::row;
use crate::value::{DataType, Value};

/// A result column: its name and type.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
}

/// The result of one statement: PostgreSQL's command tag, and the columns and rows of a
/// query (none for other statements).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub tag: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl QueryResult {
    pub(crate) fn command(tag: impl Into<String>) -> QueryResult {
        QueryResult {
            tag: tag.into(),
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }
}

/// A session of a database.
#[derive(Debug)]
pub struct Session {
    db: Arc<Database>,
}

impl Session {
    pub fn new(db: Arc<Database>) -> Session {
        Session { db }
    }

    /// Runs every statement of `sql`; one result per statement.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<QueryResult>> {
        parse(sql)?
            .iter()
            .map(|statement| self.run(sql, statement))
            .collect()
    }

    fn run(&mut self, sql: &str, statement: &Statement) -> Result<QueryResult> {
        match statement {
            Statement::Query(query) => self.query(sql, query),
            Statement::CreateTable(create) => self.create_table(create),
            Statement::Insert(insert) => dml::insert(&self.db, sql, insert),
            Statement::Update(update) => dml::update(&self.db, sql, update),
            Statement::Delete(delete) => dml::delete(&self.db, sql, delete),
            _ => Err(Error::not_supported("this statement")),
        }
    }

    /// `CREATE TABLE [IF NOT EXISTS] name (column type [NULL | NOT NULL], …)`.
    fn create_table(&mut self, create: &CreateTable) -> Result<QueryResult> {
        if !create.constraints.is_empty() || create.query.is_some() {
            return Err(Error::not_supported(
                "table constraints and CREATE TABLE … AS",
            ));
        }
        let name = table_name(&create.name)?;
        let mut columns: Vec<ColumnDef> = Vec::new();
        for column in &create.columns {
            let column_name = ident_name(&column.name);
            if columns.iter().any(|c| c.name == column_name) {
                return Err(Error::new(
                    SqlState::DUPLICATE_COLUMN,
                    format!("column \"{column_name}\" specified more than once"),
                ));
            }
            let mut not_null = false;
            for option in &column.options {
                match option.option {
                    ColumnOption::NotNull => not_null = true,
                    ColumnOption::Null => not_null = false,
                    _ => return Err(Error::not_supported(&format!("the column option {option}"))),
                }
            }
            columns.push(ColumnDef {
                name: column_name,
                data_type: data_type_of(&column.data_type)?,
                not_null,
            });
        }
        let _writer = self.db.writer();
        if self.db.catalog().exists(&name) {
            if create.if_not_exists {
                return Ok(QueryResult::command("CREATE TABLE"));
            }
            return Err(Error::new(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let store = &self.db.store;
        let table = TableDef {
            name,
            heap: store.create_heap()?,
            columns,
        };
        let mut txn = store.begin()?;
        Catalog::write_table(store, &mut txn, &table)?;
        txn.commit()?;
        self.db.catalog_mut().add(table);
        Ok(QueryResult::command("CREATE TABLE"))
    }

    /// `SELECT exprs [FROM table] [WHERE condition]`.
    fn query(&mut self, sql: &str, query: &Query) -> Result<QueryResult> {
        if query.with.is_some() || query.fetch.is_some() {
            return Err(Error::not_supported("WITH and FETCH"));
        }
        let SetExpr::Select(select) = query.body.as_ref() else {
            return Err(Error::not_supported("set operations and VALUES"));
        };
        if select.distinct.is_some() || select.having.is_some() {
            return Err(Error::not_supported("DISTINCT and HAVING"));
        }
        let catalog = self.db.catalog();
        let table = match select.from.as_slice() {
            [] => None,
            [from] => Some(named_table(&catalog, sql, from)?),
            _ => return Err(Error::not_supported("joins")),
        };
        let binder = match table {
            Some(t) => Binder::over(sql, t),
            None => Binder::new(sql),
        };
        let (columns, exprs) = project(&binder, table, &select.projection)?;
        let filter = dml::condition(&binder, select.selection.as_ref())?;
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let keys = order::sort_keys(&binder, query.order_by.as_ref(), &names)?;
        let (offset, limit) = order::offset_and_limit(&binder, query.limit_clause.as_ref())?;
        // Each kept row with its sort key values, in scan order.
        let mut rows: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
        let mut take = |input: &[Value]| -> Result<()> {
            if !dml::keeps(filter.as_ref(), input)? {
                return Ok(());
            }
            let output = exprs
                .iter()
                .map(|e| e.eval(input))
                .collect::<Result<Vec<_>>>()?;
            rows.push((order::key_values(&keys, input, &output)?, output));
            Ok(())
        };
        match table {
            None => take(&[])?,
            Some(t) => {
                for tuple in self.db.store.heap(t.heap)?.scan() {
                    let (_, bytes) = tuple?;
                    take(&row::decode(&bytes)?)?;
                }
            }
        }
        order::sort(&keys, &mut rows)?;
        let rows: Vec<Vec<Value>> = rows
            .into_iter()
            .map(|(_, output)| output)
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX)))
            .collect();
        Ok(QueryResult {
            tag: format!("SELECT {}", rows.len()),
            columns,
            rows,
        })
    }
}

/// The output columns and expressions of a select list; `*` is every column of the table.
fn project(
    binder: &Binder<'_>,
    table: Option<&TableDef>,
    items: &[SelectItem],
) -> Result<(Vec<Column>, Vec<Expr>)> {
    let mut columns = Vec::new();
    let mut exprs = Vec::new();
    for item in items {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(e) => (e, Binder::column_name(e)),
            SelectItem::ExprWithAlias { expr, alias } => (expr, ident_name(alias)),
            SelectItem::Wildcard(_) => {
                let Some(t) = table else {
                    return Err(Error::new(
                        SqlState::SYNTAX_ERROR,
                        "SELECT * with no tables specified is not valid",
                    ));
                };
                for (i, c) in t.columns.iter().enumerate() {
                    columns.push(Column {
                        name: c.name.clone(),
                        data_type: c.data_type,
                    });
                    exprs.push(Expr::Column(i));
                }
                continue;
            }
            _ => return Err(Error::not_supported("this select-list item")),
        };
        let typed = binder.bind(expr)?;
        columns.push(Column {
            name,
            data_type: typed.result_type(),
        });
        // An untyped literal in the result is text.
        let ty = typed.result_type();
        exprs.push(typed.into_type(ty)?);
    }
    Ok((columns, exprs))
}

/// The one table `from` names (no joins, no alias yet), placed errors included.
pub(crate) fn named_table<'c>(
    catalog: &'c Catalog,
    sql: &str,
    from: &TableWithJoins,
) -> Result<&'c TableDef> {
    let TableFactor::Table {
        name, alias: None, ..
    } = &from.relation
    else {
        return Err(Error::not_supported("this FROM item"));
    };
    if !from.joins.is_empty() {
        return Err(Error::not_supported("joins"));
    }
    catalog
        .table(&table_name(name)?)
        .map_err(|e| Binder::new(sql).placed(e, name))
}

/// A table (or column) name: its last part, as PostgreSQL folds it; `public.` allowed.
pub(crate) fn table_name(name: &ObjectName) -> Result<String> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(ident) => Ok(ident_name(ident)),
            _ => Err(Error::not_supported("this name")),
        })
        .collect::<Result<_>>()?;
    match parts.as_slice() {
        [name] => Ok(name.clone()),
        [schema, name] if schema == "public" => Ok(name.clone()),
        [schema, _] => Err(Error::new(
            SqlState("3F000"),
            format!("schema \"{schema}\" does not exist"),
        )),
        _ => Err(Error::not_supported("names of more than two parts")),
    }
}
