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
use crate::exec::{self, Env, PlanStats, SubqueryCache};
use crate::plan::Plan;
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
            Statement::Explain {
                analyze,
                statement,
                ..
            } => match statement.as_ref() {
                Statement::Query(query) => self.explain(sql, query, *analyze),
                _ => Err(Error::not_supported("EXPLAIN of this statement")),
            },
            _ => Err(Error::not_supported("this statement")),
        }
    }

    /// `EXPLAIN [ANALYZE] query`: the plan, one row per operator; with ANALYZE, run, each
    /// operator with the rows it gave, the time spent in it and its inputs, and how many
    /// times it ran.
    fn explain(&mut self, sql: &str, query: &Query, analyze: bool) -> Result<QueryResult> {
        let catalog = self.db.catalog();
        let ctx = Context::new(sql, &catalog);
        let planned = planner::plan_query(&ctx, query, None)?;
        let mut lines = if analyze {
            let cache = SubqueryCache::default();
            let stats = PlanStats::default();
            let env = Env::new(&self.db, &cache).counting(&stats);
            let start = std::time::Instant::now();
            for row in exec::run(&planned.plan, &env)? {
                row?;
            }
            let elapsed = start.elapsed();
            let stats = stats.into_inner();
            let mut lines = planned.plan.explain(&|node| {
                match stats.get(&(node as *const Plan as usize)) {
                    Some(s) => format!(
                        "  (actual time={:.3} ms rows={} loops={})",
                        s.time.as_secs_f64() * 1000.0,
                        s.rows,
                        s.loops
                    ),
                    None => "  (never executed)".into(),
                }
            });
            lines.push(format!(
                "Execution Time: {:.3} ms",
                elapsed.as_secs_f64() * 1000.0
            ));
            lines
        } else {
            planned.plan.explain(&|_| String::new())
        };
        let rows = lines.drain(..).map(|l| vec![Value::Text(l)]).collect::<Vec<_>>();
        Ok(QueryResult {
            tag: "EXPLAIN".into(),
            columns: vec![Column {
                name: "QUERY PLAN".into(),
                data_type: DataType::Text,
            }],
            rows,
        })
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
