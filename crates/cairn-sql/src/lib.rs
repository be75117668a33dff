//! cairn-sql: the SQL engine, in PostgreSQL's dialect, on cairn-page's storage.
//!
//! A statement goes through four layers, each a module with typed boundaries, as in toydb's
//! `sql/`:
//!
//! 1. **parser** ([`parser`]): text to the `sqlparser` crate's syntax tree, syntax errors with
//!    PostgreSQL's code, message and position;
//! 2. **planner** (to come): names resolved against the catalog, types checked, a logical plan;
//! 3. **optimizer** (to come): rewrites of the logical plan, then a physical plan;
//! 4. **executor** (to come): the physical operators over cairn-page's heaps and indexes.
//!
//! Under all of them, [`value`] is what a datum is and does — input, output, arithmetic,
//! comparison and casts with PostgreSQL 15's results and errors — and [`error`] is the one
//! error type, every case with its SQLSTATE.
//!
//! What exists today: the parser, the values of boolean, smallint, integer, bigint, double
//! precision and text, and the errors. The catalog, planner, optimizer, executor, sessions and
//! the `cairn sql` shell are the rest of issue 24.

pub mod error;
pub mod parser;
pub mod value;

pub use error::{Error, Result, SqlState};
pub use parser::parse;
pub use value::{ArithOp, DataType, Value};
