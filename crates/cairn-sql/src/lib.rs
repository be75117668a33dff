//! cairn-sql: the SQL engine, in PostgreSQL's dialect, on cairn-page's storage.
//!
//! A statement goes through four layers, each a module with typed boundaries, as in toydb's
//! `sql/`:
//!
//! 1. **parser** ([`parser`]): text to the `sqlparser` crate's syntax tree, syntax errors with
//!    PostgreSQL's code, message and position;
//! 2. **planner** ([`planner`], with [`scope`], [`bind`] and `bind_compound`):
//!    names resolved against the [`catalog`] and the scopes of the query levels, types
//!    checked with PostgreSQL's rules and errors, a [`plan::Plan`] of relational operators
//!    whose expressions ([`expr::Expr`]) read rows by position;
//! 3. **optimizer** ([`optimizer`], [`access`], [`prune`]): conditions pushed down onto the
//!    relations they read, joins ordered greedily and made hash joins on equalities, index
//!    scans where an index serves a table's conditions, scans decoding only the columns
//!    read, top-N sorts under a LIMIT, cached plans for prepared queries;
//! 4. **executor** ([`exec`]): the operators as iterators pulling rows (the Volcano model;
//!    the module says why rows rather than batches), subqueries run per outer row when
//!    correlated and once when not, window functions ([`window`]), WITH RECURSIVE, LATERAL,
//!    sorts and hash joins that spill past `work_mem` ([`spill`]).
//!
//! Under all of them, [`value`] is what a datum is and does — input, output, arithmetic,
//! comparison and casts with PostgreSQL 15's results and errors — with a module per family
//! of types: [`numeric`]; [`datetime`], [`interval`], [`datetime_ops`] and
//! [`datetime_func`] for dates, times, timestamps and intervals (read from the transaction
//! [`clock`]); [`bytea`] for bytea and uuid; [`json`] and [`json_func`] for json and jsonb;
//! [`array`](mod@array) and [`array_func`] for arrays (and the regular expression operators).
//! [`error`] is the one error type, every case with its SQLSTATE.
//!
//! The [`system`] catalog is cairn's catalog as PostgreSQL's tools read it: the relations
//! of `pg_catalog` and `information_schema` ([`system_tables`], [`pg_catalog_rows`],
//! [`information_schema`]),
//! object identifiers and the `reg…` types, and the functions tools call about objects
//! ([`system_functions`]); [`table_function`]s are the functions that return rows.
//!
//! The [`catalog`] keeps tables, columns, indexes and views in cairn-page system heaps,
//! [`row`] is a table row's on-disk form, [`index`] keeps a table's B+tree indexes in step
//! with its heap, [`ddl`], [`alter`] and [`dml`] are the statements that change them (with
//! [`conflict`] for ON CONFLICT, [`returning`], [`foreign`] keys and [`sequence`]s), and a
//! [`Session`] runs statements in PostgreSQL's transactions (blocks, implicit transactions,
//! the aborted state) on a [`Database`].
//!
//! A [`Session`] also describes a prepared statement before it runs
//! ([`Session::describe`]: parameter types inferred as PostgreSQL infers them, result
//! columns), for the wire door's Parse and Describe.
//!
//! Still to come in issue 24: multi-dimensional arrays, time zones other than UTC and
//! `timetz`; ALTER COLUMN … TYPE, CREATE SCHEMA, DROP CONSTRAINT … CASCADE;
//! hash aggregation past `work_mem`; IN/EXISTS decorrelated into semi/anti
//! joins, merge joins, index-only scans and index nested-loop joins.

pub mod access;
pub mod aggregate;
pub mod alter;
pub mod array;
pub mod array_func;
pub mod bind;
mod bind_array;
mod bind_compound;
mod bind_typed;
pub mod bytea;
pub mod catalog;
pub mod clock;
pub mod conflict;
pub mod copy;
pub mod cursor;
pub mod database;
pub mod datetime;
pub mod datetime_func;
pub mod datetime_ops;
pub mod ddl;
pub mod dml;
pub mod error;
pub mod exec;
pub mod explain;
pub mod expr;
pub mod foreign;
pub mod func;
pub mod index;
pub mod information_schema;
pub mod interrupt;
pub mod interval;
pub mod json;
pub mod json_func;
pub mod notice;
pub mod numeric;
pub mod optimizer;
pub mod parser;
pub mod pg_catalog_rows;
pub mod plan;
pub mod planner;
pub mod prune;
pub mod returning;
pub mod row;
pub mod scope;
pub mod sequence;
pub mod session;
pub mod settings;
pub mod spill;
pub mod system;
pub mod system_functions;
pub mod system_tables;
pub mod table_function;
pub mod value;
mod walk;
pub mod window;
pub mod wire;

pub use cairn_page::StoreOptions;
pub use database::{Database, TableDescription};
pub use error::{Error, Result, SqlState};
pub use parser::{parse, split_statements};
pub use session::{Column, Copy, Description, Prepared, QueryResult, Session};
pub use value::{ArithOp, DataType, Value};
