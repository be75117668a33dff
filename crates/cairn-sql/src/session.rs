//! Sessions: statements in, results out.
//!
//! A [`Session`] of a [`Database`] runs the statements of a string in order and returns one
//! [`QueryResult`] per statement (with PostgreSQL's command tag: `SELECT 2`, `INSERT 0 3`,
//! `CREATE TABLE`), stopping at the first error. Each statement is its own transaction
//! (autocommit), durable when it returns. Today it runs `CREATE TABLE` (columns of the
//! supported types, `NULL`/`NOT NULL`), `INSERT … VALUES`, and `SELECT` of expressions over
//! one table or none, with `WHERE`, `ORDER BY`, `LIMIT` and `OFFSET` ([`crate::order`]);
//! every other statement or clause is `0A000 … is not supported yet` until the rest of
//! issue 24 lands.

use std::sync::Arc;

use sqlparser::ast::{
    ColumnOption, CreateTable, Expr as SqlExpr, Insert, ObjectName, ObjectNamePart, Query,
    SelectItem, SetExpr, Statement, TableFactor, TableObject,
};

use crate::bind::{data_type_of, ident_name, Binder, Typed};
use crate::catalog::{Catalog, ColumnDef, TableDef};
use crate::database::Database;
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
    fn command(tag: impl Into<String>) -> QueryResult {
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
            Statement::Insert(insert) => self.insert(sql, insert),
            _ => Err(not_supported("this statement")),
        }
    }

    /// `CREATE TABLE [IF NOT EXISTS] name (column type [NULL | NOT NULL], …)`.
    fn create_table(&mut self, create: &CreateTable) -> Result<QueryResult> {
        if !create.constraints.is_empty() || create.query.is_some() {
            return Err(not_supported("table constraints and CREATE TABLE … AS"));
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
                    _ => return Err(not_supported(&format!("the column option {option}"))),
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

    /// `INSERT INTO table [(columns)] VALUES (…), …`: each value given its column's type as an
    /// assignment does; columns not named are NULL.
    fn insert(&mut self, sql: &str, insert: &Insert) -> Result<QueryResult> {
        let TableObject::TableName(name) = &insert.table else {
            return Err(not_supported("INSERT into a table function"));
        };
        let name = table_name(name)?;
        let Some(SetExpr::Values(values)) = insert.source.as_deref().map(|q| q.body.as_ref())
        else {
            return Err(not_supported("INSERT without VALUES"));
        };
        if insert.on.is_some() || insert.returning.is_some() {
            return Err(not_supported("ON CONFLICT and RETURNING"));
        }
        let _writer = self.db.writer();
        let catalog = self.db.catalog();
        let binder = Binder::new(sql);
        let TableObject::TableName(object) = &insert.table else {
            unreachable!("checked above");
        };
        let table = catalog.table(&name).map_err(|e| binder.placed(e, object))?;
        let targets: Vec<usize> = if insert.columns.is_empty() {
            (0..table.columns.len()).collect()
        } else {
            insert
                .columns
                .iter()
                .map(|c| {
                    let column = table_name(c)?;
                    table.column(&column).ok_or_else(|| {
                        binder.placed(
                            Error::new(
                                SqlState::UNDEFINED_COLUMN,
                                format!(
                                    "column \"{column}\" of relation \"{name}\" does not exist"
                                ),
                            ),
                            c,
                        )
                    })
                })
                .collect::<Result<_>>()?
        };
        let mut rows = Vec::with_capacity(values.rows.len());
        for exprs in &values.rows {
            if exprs.len() > targets.len() {
                return Err(binder.placed(
                    Error::new(
                        SqlState::SYNTAX_ERROR,
                        "INSERT has more expressions than target columns",
                    ),
                    &exprs[targets.len()],
                ));
            }
            let mut row = vec![Value::Null; table.columns.len()];
            for (expr, &target) in exprs.iter().zip(&targets) {
                let column = &table.columns[target];
                let typed = binder.bind(expr)?;
                row[target] = assign(typed, column)
                    .map_err(|e| binder.placed(e, expr))?
                    .eval(&[])?;
            }
            for (value, column) in row.iter().zip(&table.columns) {
                if column.not_null && value.is_null() {
                    return Err(Error::new(
                        SqlState::NOT_NULL_VIOLATION,
                        format!(
                            "null value in column \"{}\" of relation \"{name}\" violates not-null constraint",
                            column.name
                        ),
                    ));
                }
            }
            rows.push(row);
        }
        let store = &self.db.store;
        let heap = store.heap(table.heap)?;
        let mut txn = store.begin()?;
        let mut bytes = Vec::new();
        for row in &rows {
            bytes.clear();
            row::encode(row, &mut bytes);
            heap.insert(&mut txn, &bytes)?;
        }
        txn.commit()?;
        Ok(QueryResult::command(format!("INSERT 0 {}", rows.len())))
    }

    /// `SELECT exprs [FROM table] [WHERE condition]`.
    fn query(&mut self, sql: &str, query: &Query) -> Result<QueryResult> {
        if query.with.is_some() || query.fetch.is_some() {
            return Err(not_supported("WITH and FETCH"));
        }
        let SetExpr::Select(select) = query.body.as_ref() else {
            return Err(not_supported("set operations and VALUES"));
        };
        if select.distinct.is_some() || select.having.is_some() {
            return Err(not_supported("DISTINCT and HAVING"));
        }
        let catalog = self.db.catalog();
        let table = match select.from.as_slice() {
            [] => None,
            [from] if from.joins.is_empty() => match &from.relation {
                TableFactor::Table {
                    name, alias: None, ..
                } => Some(
                    catalog
                        .table(&table_name(name)?)
                        .map_err(|e| Binder::new(sql).placed(e, name))?,
                ),
                _ => return Err(not_supported("this FROM item")),
            },
            _ => return Err(not_supported("joins")),
        };
        let binder = match table {
            Some(t) => Binder::over(sql, t),
            None => Binder::new(sql),
        };
        let (columns, exprs) = project(&binder, table, &select.projection)?;
        let filter = select
            .selection
            .as_ref()
            .map(|condition| {
                where_clause(&binder, condition).map_err(|e| binder.placed(e, condition))
            })
            .transpose()?;
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let keys = order::sort_keys(&binder, query.order_by.as_ref(), &names)?;
        let (offset, limit) = order::offset_and_limit(&binder, query.limit_clause.as_ref())?;
        // Each kept row with its sort key values, in scan order.
        let mut rows: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
        let mut take = |input: &[Value]| -> Result<()> {
            if let Some(f) = &filter {
                if f.eval(input)? != Value::Bool(true) {
                    return Ok(());
                }
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
            _ => return Err(not_supported("this select-list item")),
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
    Ok((columns, exprs))
}

/// A WHERE condition: boolean (an untyped literal read as one).
fn where_clause(binder: &Binder<'_>, condition: &SqlExpr) -> Result<Expr> {
    let typed = binder.bind(condition)?;
    match typed.ty {
        None => Ok(Expr::Cast(Box::new(typed.expr), DataType::Bool)),
        Some(DataType::Bool) => Ok(typed.expr),
        Some(ty) => Err(Error::new(
            SqlState::DATATYPE_MISMATCH,
            format!(
                "argument of WHERE must be type boolean, not type {}",
                ty.name()
            ),
        )),
    }
}

/// `typed` as a value of `column`, by PostgreSQL's assignment rules: an untyped literal read
/// as the column's type, numbers between numeric types (range-checked when evaluated), and
/// anything into text; any other type is `42804`.
fn assign(typed: Typed, column: &ColumnDef) -> Result<Expr> {
    let to = column.data_type;
    let allowed = match typed.ty {
        None => true,
        Some(from) => from == to || (from.is_numeric() && to.is_numeric()) || to == DataType::Text,
    };
    if !allowed {
        let from = typed.result_type();
        return Err(Error::new(
            SqlState::DATATYPE_MISMATCH,
            format!(
                "column \"{}\" is of type {} but expression is of type {}",
                column.name,
                to.name(),
                from.name()
            ),
        ));
    }
    Ok(match (typed.ty, typed.expr) {
        (None, Expr::Constant(v)) => Expr::Constant(v.cast(to)?),
        (Some(from), expr) if from == to => expr,
        (_, expr) => Expr::Cast(Box::new(expr), to),
    })
}

/// A table (or column) name: its last part, as PostgreSQL folds it; `public.` allowed.
fn table_name(name: &ObjectName) -> Result<String> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(ident) => Ok(ident_name(ident)),
            _ => Err(not_supported("this name")),
        })
        .collect::<Result<_>>()?;
    match parts.as_slice() {
        [name] => Ok(name.clone()),
        [schema, name] if schema == "public" => Ok(name.clone()),
        [schema, _] => Err(Error::new(
            SqlState("3F000"),
            format!("schema \"{schema}\" does not exist"),
        )),
        _ => Err(not_supported("names of more than two parts")),
    }
}

fn not_supported(what: &str) -> Error {
    Error::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported yet"),
    )
}
