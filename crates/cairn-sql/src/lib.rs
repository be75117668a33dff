//! cairn-sql: the SQL engine, in PostgreSQL's dialect, on cairn-page's storage.
//!
//! A statement goes through four layers, each a module with typed boundaries, as in toydb's
//! `sql/`:
//!
//! 1. **parser** ([`parser`]): text to the `sqlparser` crate's syntax tree, syntax errors with
//!    PostgreSQL's code, message and position;
//! 2. **planner**: names resolved against the catalog, types checked, a logical plan. Its
//!    first part exists: [`bind`] makes [`expr::Expr`]s of expressions, with PostgreSQL's
//!    literal typing, operand resolution and errors;
//! 3. **optimizer** (to come): rewrites of the logical plan, then a physical plan;
//! 4. **executor** (to come): the physical operators over cairn-page's heaps and indexes.
//!
//! Under all of them, [`value`] is what a datum is and does — input, output, arithmetic,
//! comparison and casts with PostgreSQL 15's results and errors — and [`error`] is the one
//! error type, every case with its SQLSTATE.
//!
//! The [`catalog`] keeps tables and columns in cairn-page system heaps, [`row`] is a table
//! row's on-disk form, and a [`Database`] is the store with its catalog.
//!
//! What exists today: the parser; values of boolean, smallint, integer, bigint, double
//! precision and text; expressions over them (arithmetic, comparison, AND/OR/NOT, `||`,
//! casts, `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM`); and a [`Session`] that runs `CREATE
//! TABLE`, `INSERT … VALUES`, `UPDATE`, `DELETE` and `SELECT` over one table (or none) with `WHERE`, `ORDER BY`,
//! `LIMIT` and `OFFSET`, each
//! statement its own durable transaction, read by a plain loop rather than planned operators.
//! The rest of the planner, the optimizer, the executor's operators, explicit transactions,
//! the other statements and the `cairn sql` shell are the rest of issue 24.

pub mod access;
pub mod aggregate;
pub mod bind;
mod bind_compound;
pub mod catalog;
pub mod database;
pub mod ddl;
pub mod dml;
pub mod error;
pub mod exec;
pub mod explain;
pub mod expr;
pub mod func;
pub mod index;
pub mod numeric;
pub mod optimizer;
pub mod parser;
pub mod plan;
pub mod planner;
pub mod prune;
pub mod row;
pub mod scope;
pub mod session;
pub mod value;
mod walk;

pub use cairn_page::StoreOptions;
pub use database::Database;
pub use error::{Error, Result, SqlState};
pub use parser::{parse, split_statements};
pub use session::{Column, Prepared, QueryResult, Session};
pub use value::{ArithOp, DataType, Value};
