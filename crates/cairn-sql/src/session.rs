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

use sqlparser::ast::{ObjectName, ObjectNamePart, Query, Statement};

use crate::bind::{ident_name, Binder, Context};
use crate::catalog::{Catalog, TableDef};
use crate::database::Database;
use crate::ddl;
use crate::dml;
use crate::error::{Error, Result, SqlState};
use crate::exec::{self, Env, SubqueryCache};
use crate::parser::parse;
use crate::planner;
use crate::scope::Scope;
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
            Statement::CreateTable(create) => ddl::create_table(&self.db, sql, create),
            Statement::CreateIndex(create) => ddl::create_index(&self.db, create),
            Statement::CreateView(create) => ddl::create_view(&self.db, sql, create),
            Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => ddl::drop(&self.db, sql, *object_type, *if_exists, names),
            Statement::Insert(insert) => dml::insert(&self.db, sql, insert),
            Statement::Update(update) => dml::update(&self.db, sql, update),
            Statement::Delete(delete) => dml::delete(&self.db, sql, delete),
            _ => Err(Error::not_supported("this statement")),
        }
    }

    /// A query: planned, then run.
    fn query(&mut self, sql: &str, query: &Query) -> Result<QueryResult> {
        let catalog = self.db.catalog();
        let ctx = Context::new(sql, &catalog);
        let planned = planner::plan_query(&ctx, query, None)?;
        let cache = SubqueryCache::default();
        let env = Env::new(&self.db, &cache);
        let rows = exec::run(&planned.plan, &env)?.collect::<Result<Vec<_>>>()?;
        Ok(QueryResult {
            tag: format!("SELECT {}", rows.len()),
            columns: planned.columns,
            rows,
        })
    }
}

/// The table `name` names, the error placed at it.
pub(crate) fn named_table<'c>(
    catalog: &'c Catalog,
    sql: &str,
    name: &ObjectName,
) -> Result<&'c TableDef> {
    let scope = Scope::default();
    let ctx = Context::new(sql, catalog);
    catalog
        .table(&table_name(name)?)
        .map_err(|e| Binder::new(&ctx, &scope, None).placed(e, name))
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
