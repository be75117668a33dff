//! Sessions: statements in, results out, and the transaction they run in.
//!
//! A [`Session`] of a [`Database`] runs the statements of a string in order and returns one
//! [`QueryResult`] per statement (with PostgreSQL's command tag: `SELECT 2`, `INSERT 0 3`,
//! `CREATE TABLE`), stopping at the first error.
//!
//! Transactions are PostgreSQL's: outside a `BEGIN` block the statements of one string are
//! one implicit transaction, committed (durably) when the string has run and rolled back
//! whole if a statement fails; `BEGIN` opens a block that `COMMIT` or `ROLLBACK` ends, and
//! a failed statement inside it puts the block in the aborted state, where every statement
//! but `COMMIT`/`ROLLBACK` is `25P02` and `COMMIT` rolls back. A transaction holds the
//! database's one writer slot from its first write to its end (MVCC and concurrent writers
//! are issue 26); reads run beside it. Between statements the storage transaction is set
//! aside ([`cairn_page::SuspendedTxn`]), and a session dropped mid-block rolls it back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_page::{SuspendedTxn, Txn};

use sqlparser::ast::{CopySource, CopyTarget, ObjectName, ObjectNamePart, Query, Statement};

use crate::bind::{ident_name, Binder, Context, ParamInference};
use crate::catalog::{Catalog, TableDef};
use crate::clock::StatementClock;
use crate::copy::{quote_ident, CopyFormat, CopyIn};
use crate::cursor::Cursor;
use crate::database::Database;
use crate::ddl;
use crate::dml;
use crate::error::{Error, Result, SqlState};
use crate::exec::{self, Env, SubqueryCache};
use crate::explain;
use crate::interrupt::{Interrupt, Watch};
use crate::notice::Notice;
use crate::parser::parse;
use crate::planner::{self, Planned};
use crate::scope::Scope;
use crate::settings::{Settings, Snapshot};
use crate::value::{DataType, Value};

/// A result column: its name and type.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
}

/// What a prepared statement takes and gives, known before it runs (the wire protocol's
/// ParameterDescription and RowDescription): each parameter's type, declared by the client or
/// inferred from its context, and the result's columns (none for a statement without rows).
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub params: Vec<DataType>,
    pub columns: Vec<Column>,
}

/// The result of one statement: PostgreSQL's command tag, and the columns and rows of a
/// query (none for other statements); for a COPY with the client, what it exchanges.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub tag: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub copy: Option<Copy>,
    /// The NOTICEs and WARNINGs the statement raised (see [`crate::notice`]).
    pub notices: Vec<Notice>,
    /// The reported parameters the statement changed (see
    /// [`REPORTED`](crate::settings::REPORTED)), with their new values.
    pub parameter_changes: Vec<(&'static str, String)>,
}

/// What a COPY statement exchanges with the client besides its tag.
#[derive(Debug, Clone, PartialEq)]
pub enum Copy {
    /// `COPY … FROM STDIN`: the statement waits for its rows, `columns` fields each, which
    /// [`Session::copy_data`] takes as they come and [`Session::copy_done`] ends.
    In { columns: usize, csv: bool },
    /// `COPY … TO STDOUT`: the rows as lines (each with its newline) of `columns` fields.
    Out { columns: usize, lines: Vec<String> },
}

impl QueryResult {
    pub(crate) fn command(tag: impl Into<String>) -> QueryResult {
        QueryResult {
            tag: tag.into(),
            columns: Vec::new(),
            rows: Vec::new(),
            copy: None,
            notices: Vec::new(),
            parameter_changes: Vec::new(),
        }
    }
}

/// A statement parsed once, to run many times (see [`Session::prepare`]). A query keeps its
/// plan, made at its first execution, for as long as the catalog is unchanged and its
/// parameters' values keep their types.
#[derive(Debug)]
pub struct Prepared {
    sql: String,
    statement: Statement,
    plan: Mutex<Option<CachedPlan>>,
    /// The stack the statement needs (see [`crate::parser::stack_needed`]).
    stack: Option<usize>,
}

/// A query's plan and what it was made for.
#[derive(Debug)]
struct CachedPlan {
    catalog_version: u64,
    param_types: Vec<Option<DataType>>,
    planned: Planned,
}

/// Where a session is with respect to transaction blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// No `BEGIN`: each string is a transaction.
    Implicit,
    /// Inside `BEGIN … COMMIT`.
    Open,
    /// Inside a block a statement failed in: only `COMMIT`/`ROLLBACK` are accepted.
    Failed,
}

/// A session of a database.
#[derive(Debug)]
pub struct Session {
    db: Arc<Database>,
    id: u64,
    block: Block,
    /// The storage transaction of the current transaction, once it has written.
    txn: Option<SuspendedTxn>,
    /// Whether the current transaction changed the catalog (reloaded if it rolls back).
    changed_catalog: bool,
    /// `SET`, `SHOW`: the session's settings (`work_mem`, `synchronous_commit`…).
    settings: Settings,
    /// What `currval` and `lastval` answer.
    sequence_values: crate::sequence::SessionValues,
    /// The settings as they were before the current transaction first changed them
    /// (restored if it rolls back), and the names it `SET LOCAL` (restored when it ends).
    settings_before: Option<Settings>,
    local_settings: Vec<&'static str>,
    /// Cancels the statement running now (see [`Session::interrupt`]).
    interrupt: Interrupt,
    /// The cursors `DECLARE` opened, by name.
    cursors: HashMap<String, Cursor>,
    /// When the current transaction began (`now()`), once a statement of it has run.
    transaction_start: Option<i64>,
    /// A `COPY … FROM STDIN` waiting for its rows.
    copy_in: Option<CopyIn>,
}

impl Session {
    pub fn new(db: Arc<Database>) -> Session {
        let id = db.new_session_id();
        Session {
            db,
            id,
            block: Block::Implicit,
            txn: None,
            changed_catalog: false,
            settings: Settings::default(),
            sequence_values: Default::default(),
            settings_before: None,
            local_settings: Vec::new(),
            interrupt: Interrupt::default(),
            cursors: HashMap::new(),
            transaction_start: None,
            copy_in: None,
        }
    }

    /// Sets this thread's clock for a statement about to run: the transaction's start is
    /// this statement's unless an earlier statement of the transaction began it.
    fn start_clock(&mut self, statement: &Statement) -> StatementClock {
        if self.block == Block::Implicit && matches!(statement, Statement::StartTransaction { .. })
        {
            self.transaction_start = None;
        }
        let (clock, began) = StatementClock::start(self.transaction_start);
        self.transaction_start = Some(began);
        clock
    }

    /// A handle that cancels the statement this session is running when it is called
    /// (PostgreSQL's CancelRequest), from any thread.
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// Whether the session is inside a `BEGIN` block (`T`), an aborted one (`E`) or neither
    /// (`I`): PostgreSQL's transaction status indicator.
    pub fn transaction_status(&self) -> char {
        match self.block {
            Block::Implicit => 'I',
            Block::Open => 'T',
            Block::Failed => 'E',
        }
    }

    /// Parses `sql`, one statement, for [`Session::execute_prepared`] to run as often as
    /// needed with values for its parameters `$1`, `$2`…
    /// A statement that does not parse fails the transaction block it was prepared in, as
    /// any failed statement does.
    pub fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        let prepared = crate::parser::stack_needed(sql)
            .and_then(|stack| on_stack(stack, || self.prepare_here(sql, stack)));
        if prepared.is_err() {
            self.fail()?;
        }
        prepared
    }

    fn prepare_here(&mut self, sql: &str, stack: Option<usize>) -> Result<Prepared> {
        let mut statements = parse(sql)?;
        if statements.len() != 1 {
            return Err(Error::new(
                SqlState::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        Ok(Prepared {
            sql: sql.to_string(),
            statement: statements.remove(0),
            plan: Mutex::new(None),
            stack,
        })
    }

    /// Runs a prepared statement with `params` as the values of its parameters, as one
    /// string of one statement would run.
    pub fn execute_prepared(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult> {
        on_stack(prepared.stack, || {
            self.execute_prepared_here(prepared, params, false)
        })
    }

    /// Runs a prepared statement as the wire protocol's Execute does: outside a `BEGIN`
    /// block, the statements executed up to the next [`Session::sync`] are one implicit
    /// transaction, committed by that sync, and a failed one rolls back the others.
    pub fn execute_pipelined(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult> {
        on_stack(prepared.stack, || {
            self.execute_prepared_here(prepared, params, true)
        })
    }

    /// Whether statements executed since the last [`Session::sync`] wrote outside a `BEGIN`
    /// block, so that the sync has a transaction to commit (else it only resets the clock and
    /// `SET LOCAL`s, which can wait for the next statement).
    pub fn holds_implicit_writes(&self) -> bool {
        self.block == Block::Implicit && self.txn.is_some()
    }

    /// The wire protocol's Sync: commits the implicit transaction of the statements
    /// executed since the last one (see [`Session::execute_pipelined`]); inside a `BEGIN`
    /// block, nothing.
    pub fn sync(&mut self) -> Result<()> {
        if self.block == Block::Implicit {
            self.end(true)?;
        }
        Ok(())
    }

    fn execute_prepared_here(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
        pipelined: bool,
    ) -> Result<QueryResult> {
        if self.block == Block::Implicit && !pipelined {
            self.transaction_start = None;
        }
        let _clock = self.start_clock(&prepared.statement);
        let outcome = self.with_settings(|session| match &prepared.statement {
            Statement::Query(query) if session.block != Block::Failed => {
                session.query_prepared(prepared, query, params)
            }
            statement => session.run(&prepared.sql, statement, params),
        });
        let result = match outcome {
            Ok(result) => result,
            Err(e) => {
                self.fail()?;
                return Err(e);
            }
        };
        if self.block == Block::Implicit && !pipelined {
            self.end(true)?;
        }
        Ok(result)
    }

    /// The types of `prepared`'s parameters — `declared` where the client gave them (`None`
    /// to infer), inferred from their contexts otherwise, text where nothing tells — and its
    /// result's columns, binding it without running it. A statement that does not bind
    /// (an unknown table, a type error) fails the transaction block it is described in.
    pub fn describe(
        &mut self,
        prepared: &Prepared,
        declared: &[Option<DataType>],
    ) -> Result<Description> {
        let description = on_stack(prepared.stack, || self.describe_here(prepared, declared));
        if description.is_err() {
            self.fail()?;
        }
        description
    }

    fn describe_here(
        &self,
        prepared: &Prepared,
        declared: &[Option<DataType>],
    ) -> Result<Description> {
        let ends_block = matches!(
            prepared.statement,
            Statement::Commit { .. } | Statement::Rollback { .. }
        );
        if self.block == Block::Failed && !ends_block {
            return Err(Error::new(
                SqlState::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        let catalog = self.db.catalog();
        let ctx = Context::new(&prepared.sql, &catalog);
        let (columns, params) = ParamInference::run(declared, || match &prepared.statement {
            Statement::Query(query) => Ok(planner::plan_query(&ctx, query, None)?.columns),
            Statement::ShowVariable { variable } => Ok(self.show(variable)?.columns),
            Statement::Declare { stmts, .. } => {
                for declare in stmts {
                    if let Some(query) = &declare.for_query {
                        planner::plan_query(&ctx, query, None)?;
                    }
                }
                Ok(Vec::new())
            }
            Statement::Fetch { name, .. } => Ok(self.cursor(name)?.columns.clone()),
            Statement::Explain { .. } => Ok(vec![Column {
                name: explain::COLUMN.into(),
                data_type: DataType::Text,
            }]),
            statement => dml::describe(&ctx, statement),
        })?;
        Ok(Description { params, columns })
    }

    /// Runs every statement of `sql`; one result per statement.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<QueryResult>> {
        let mut results = Vec::new();
        self.execute_each(sql, |result| results.push(result))?;
        Ok(results)
    }

    /// Runs the statements of `sql` in order, handing each one's result to `each` as it
    /// completes, up to the first error, which is returned: what the wire protocol's simple
    /// query sends (the results of the statements before a failed one, then the error).
    /// The results handed out before an error are of statements that the error rolled back
    /// unless a `COMMIT` among them had ended their transaction.
    pub fn execute_each(&mut self, sql: &str, each: impl FnMut(QueryResult) + Send) -> Result<()> {
        on_stack_for(sql, || self.execute_here(sql, each))?
    }

    fn execute_here(&mut self, sql: &str, mut each: impl FnMut(QueryResult)) -> Result<()> {
        let statements = parse(sql)?;
        if self.block == Block::Implicit {
            self.transaction_start = None;
        }
        for (i, statement) in statements.iter().enumerate() {
            let _clock = self.start_clock(statement);
            let outcome = if is_copy_in(statement) && i + 1 < statements.len() {
                Err(Error::not_supported(
                    "a statement after COPY FROM STDIN in the same query string",
                ))
            } else {
                self.with_settings(|session| session.run(sql, statement, &[]))
            };
            match outcome {
                Ok(result) => {
                    let waits = matches!(result.copy, Some(Copy::In { .. }));
                    each(result);
                    if waits {
                        // The transaction goes on with the rows: `copy_done` ends it.
                        return Ok(());
                    }
                }
                Err(e) => {
                    self.fail()?;
                    return Err(e);
                }
            }
        }
        if self.block == Block::Implicit {
            self.end(true)?;
        }
        Ok(())
    }

    /// The next piece of the rows of the `COPY … FROM STDIN` under way (see [`Copy::In`]),
    /// loaded as far as its last whole row. An error ends the COPY and fails its
    /// transaction, like any failed statement.
    pub fn copy_data(&mut self, data: &[u8]) -> Result<()> {
        self.feed_copy(data, false).map(|_| ())
    }

    /// The end of the rows of the `COPY … FROM STDIN` under way: loads the last one, and
    /// answers the tag (`COPY n`); outside a `BEGIN` block, commits.
    pub fn copy_done(&mut self) -> Result<QueryResult> {
        let rows = self.feed_copy(&[], true)?;
        if self.block == Block::Implicit {
            self.end(true)?;
        }
        Ok(QueryResult::command(format!("COPY {rows}")))
    }

    /// The client gave up the `COPY … FROM STDIN` under way (CopyFail): nothing of it is
    /// loaded, and its transaction fails; the error says why.
    pub fn copy_fail(&mut self, reason: &str) -> Error {
        self.copy_in = None;
        if let Err(e) = self.fail() {
            return e;
        }
        Error::new(
            SqlState("57014"),
            format!("COPY from stdin failed: {reason}"),
        )
    }

    /// Feeds the COPY under way; with `last`, ends it. The rows loaded in all.
    fn feed_copy(&mut self, data: &[u8], last: bool) -> Result<u64> {
        let Some(mut copy) = self.copy_in.take() else {
            return Err(Error::new(
                SqlState("08P01"),
                "unexpected COPY data: no COPY FROM STDIN is under way",
            ));
        };
        let fed = self.write(
            |db, txn| {
                copy.feed(db, txn, data, last)?;
                Ok(QueryResult::command("COPY"))
            },
            false,
        );
        match fed {
            Ok(_) => {
                let rows = copy.rows();
                if !last {
                    self.copy_in = Some(copy);
                }
                Ok(rows)
            }
            Err(e) => {
                self.fail()?;
                Err(e)
            }
        }
    }

    /// Runs `statement` (through `run`) with the session's settings handed to it (see
    /// [`crate::settings::Snapshot`]); the changes its `set_config()` calls made are
    /// applied if it succeeds.
    fn with_settings(
        &mut self,
        statement: impl FnOnce(&mut Self) -> Result<QueryResult>,
    ) -> Result<QueryResult> {
        crate::notice::take(); // a failed statement's, never sent
        let before = self.settings.clone();
        let snapshot = Snapshot::enter(&self.settings);
        let timeout = Duration::from_millis(self.settings.statement_timeout_ms().unsigned_abs());
        let _watch = Watch::arm(&self.interrupt, timeout);
        let values =
            crate::sequence::SessionValues::enter(std::mem::take(&mut self.sequence_values));
        let outcome = statement(self);
        self.sequence_values = values.leave();
        let mut result = outcome?;
        for (name, value, local) in snapshot.changes() {
            self.change_setting(&name, Some(&value), local)?;
        }
        result.notices = crate::notice::take();
        result.parameter_changes = self.settings.reported_changes(&before);
        Ok(result)
    }

    fn run(&mut self, sql: &str, statement: &Statement, params: &[Value]) -> Result<QueryResult> {
        match statement {
            Statement::StartTransaction { modes, .. } => {
                if self.block != Block::Implicit {
                    crate::notice::raise(
                        "WARNING",
                        SqlState("25001"),
                        "there is already a transaction in progress",
                    );
                }
                if self.block == Block::Implicit {
                    // What this string did before its BEGIN is its own transaction.
                    self.end(true)?;
                    self.block = Block::Open;
                }
                self.transaction_modes(modes, "transaction_isolation")?;
                return Ok(QueryResult::command("BEGIN"));
            }
            Statement::Commit { .. } | Statement::Rollback { .. }
                if self.block == Block::Implicit =>
            {
                crate::notice::raise(
                    "WARNING",
                    SqlState("25P01"),
                    "there is no transaction in progress",
                );
                self.end(matches!(statement, Statement::Commit { .. }))?;
                return Ok(QueryResult::command(
                    if matches!(statement, Statement::Commit { .. }) {
                        "COMMIT"
                    } else {
                        "ROLLBACK"
                    },
                ));
            }
            Statement::Commit { .. } => {
                // COMMIT of an aborted block rolls it back, and says so.
                let commit = self.block != Block::Failed;
                self.end(commit)?;
                self.block = Block::Implicit;
                return Ok(QueryResult::command(if commit {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                }));
            }
            Statement::Rollback { .. } => {
                self.end(false)?;
                self.block = Block::Implicit;
                return Ok(QueryResult::command("ROLLBACK"));
            }
            _ if self.block == Block::Failed => return Err(Error::new(
                SqlState::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )),
            Statement::Query(query) => return self.query(sql, query, params),
            // No dead rows to reclaim and no statistics yet (issue 27): the table must exist.
            Statement::Vacuum(vacuum) => {
                if let Some(name) = &vacuum.table_name {
                    named_table(&self.db.catalog(), sql, name)?;
                }
                return Ok(QueryResult::command("VACUUM"));
            }
            Statement::Analyze(analyze) => {
                if let Some(name) = &analyze.table_name {
                    named_table(&self.db.catalog(), sql, name)?;
                }
                return Ok(QueryResult::command("ANALYZE"));
            }
            Statement::Copy {
                source,
                to: true,
                target: CopyTarget::Stdout,
                options,
                legacy_options,
                ..
            } => {
                let format = CopyFormat::from_options(options, legacy_options)?;
                return self.copy_out(sql, source, &format);
            }
            Statement::Copy {
                source:
                    CopySource::Table {
                        table_name,
                        columns,
                    },
                to: false,
                target: CopyTarget::Stdin,
                options,
                legacy_options,
                ..
            } => {
                let format = CopyFormat::from_options(options, legacy_options)?;
                let catalog = self.db.catalog();
                let table = named_table(&catalog, sql, table_name)?;
                let copy = CopyIn::start(table, columns, format.clone())?;
                let columns = copy.columns();
                self.copy_in = Some(copy);
                return Ok(QueryResult {
                    copy: Some(Copy::In {
                        columns,
                        csv: format.csv,
                    }),
                    ..QueryResult::command("COPY")
                });
            }
            Statement::Copy { .. } => return Err(Error::not_supported(
                "COPY to or from a file or program (use STDIN or STDOUT, as psql's \\copy does)",
            )),
            Statement::Set(set) => return self.set(set),
            Statement::Declare { stmts, .. } => return self.declare(sql, stmts, params),
            Statement::Fetch {
                name, direction, ..
            } => {
                let name = ident_name(name);
                return match self.cursors.get_mut(&name) {
                    Some(cursor) => cursor.fetch(direction),
                    None => Err(no_cursor(&name)),
                };
            }
            Statement::Close { cursor } => {
                match cursor {
                    sqlparser::ast::CloseCursor::All => self.cursors.clear(),
                    sqlparser::ast::CloseCursor::Specific { name } => {
                        let name = ident_name(name);
                        self.cursors.remove(&name).ok_or_else(|| no_cursor(&name))?;
                    }
                }
                return Ok(QueryResult::command("CLOSE CURSOR"));
            }
            Statement::Reset(reset) => return self.reset(&reset.reset),
            Statement::ShowVariable { variable } => return self.show(variable),
            Statement::Explain {
                analyze, statement, ..
            } => {
                return match statement.as_ref() {
                    Statement::Query(query) => explain::explain(&self.db, sql, query, *analyze),
                    _ => Err(Error::not_supported("EXPLAIN of this statement")),
                }
            }
            _ => {}
        }
        self.write(
            |db, txn| match statement {
                Statement::CreateTable(create) => ddl::create_table(db, txn, sql, create),
                Statement::CreateIndex(create) => ddl::create_index(db, txn, create),
                Statement::CreateView(create) => ddl::create_view(db, txn, sql, create),
                Statement::AlterTable(alter) => crate::alter::alter_table(db, txn, sql, alter),
                Statement::CreateSequence {
                    name,
                    if_not_exists,
                    sequence_options,
                    temporary: false,
                    ..
                } => ddl::create_sequence(db, txn, name, *if_not_exists, sequence_options),
                Statement::Drop {
                    object_type,
                    if_exists,
                    cascade,
                    names,
                    ..
                } => ddl::drop(db, txn, sql, *object_type, *if_exists, *cascade, names),
                Statement::Insert(insert) => dml::insert(db, txn, sql, params, insert),
                Statement::Update(update) => dml::update(db, txn, sql, params, update),
                Statement::Delete(delete) => dml::delete(db, txn, sql, params, delete),
                Statement::Truncate(truncate) => dml::truncate(db, txn, sql, truncate),
                _ => Err(Error::not_supported("this statement")),
            },
            is_ddl(statement),
        )
    }

    /// Runs a statement that writes in the current transaction, which takes the writer slot
    /// and begins its storage transaction at its first write.
    fn write(
        &mut self,
        statement: impl FnOnce(&Database, &mut Txn<'_>) -> Result<QueryResult>,
        ddl: bool,
    ) -> Result<QueryResult> {
        let db = Arc::clone(&self.db);
        let mut txn = match self.txn.take() {
            Some(suspended) => db.store.resume(suspended),
            None => {
                db.writer.acquire(self.id);
                match db.store.begin() {
                    Ok(txn) => txn,
                    Err(e) => {
                        db.writer.release(self.id);
                        return Err(e.into());
                    }
                }
            }
        };
        self.changed_catalog |= ddl;
        let result = statement(&db, &mut txn);
        self.txn = Some(txn.suspend());
        result
    }

    /// Ends the current transaction: commits or rolls back its storage transaction, gives
    /// the writer slot back, and reloads the catalog after a rollback that changed it.
    fn end(&mut self, commit: bool) -> Result<()> {
        self.transaction_start = None;
        self.cursors.retain(|_, cursor| cursor.hold);
        self.end_settings(commit);
        let Some(suspended) = self.txn.take() else {
            return Ok(());
        };
        let txn = self.db.store.resume(suspended);
        let ended = match (commit, self.settings.synchronous_commit()) {
            (false, _) => txn.abort(),
            (true, false) => txn.commit_unsynced(),
            (true, true) => txn.commit(),
        };
        let reloaded = if !commit && std::mem::take(&mut self.changed_catalog) {
            self.db.reload_catalog()
        } else {
            Ok(())
        };
        self.changed_catalog = false;
        self.db.writer.release(self.id);
        ended?;
        reloaded
    }

    /// After a failed statement: an implicit transaction rolls back; a block is aborted
    /// (its changes undone now) until its end.
    fn fail(&mut self) -> Result<()> {
        if self.block == Block::Open {
            self.block = Block::Failed;
        }
        self.end(false)
    }

    /// A query: planned, then run.
    /// A prepared query: its cached plan when that was made for this catalog and these
    /// parameter types, else a new plan, kept.
    fn query_prepared(
        &mut self,
        prepared: &Prepared,
        query: &Query,
        params: &[Value],
    ) -> Result<QueryResult> {
        let catalog = self.db.catalog();
        let version = self.db.catalog_version();
        let param_types: Vec<Option<DataType>> = params.iter().map(Value::data_type).collect();
        let mut cached = prepared
            .plan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = cached
            .as_ref()
            .is_some_and(|c| c.catalog_version == version && c.param_types == param_types);
        if !fresh {
            let ctx = Context::new(&prepared.sql, &catalog).with_params(params);
            let planned = planner::plan_query(&ctx, query, None)?;
            if ctx.reads_system() {
                // Its plan holds the system catalog and the session's settings as they are
                // now (pg_settings, current_user…): planned again at each execution.
                *cached = None;
                drop(cached);
                return run_planned(&self.db, &planned, params, self.settings.work_mem());
            }
            *cached = Some(CachedPlan {
                catalog_version: version,
                param_types,
                planned,
            });
        }
        let planned = &cached.as_ref().expect("planned above").planned;
        run_planned(&self.db, planned, params, self.settings.work_mem())
    }

    /// `SET [SESSION | LOCAL] name { = | TO } value | DEFAULT`, `SET TIME ZONE`, `SET NAMES`,
    /// `SET [SESSION CHARACTERISTICS AS] TRANSACTION …` (see [`crate::settings`]).
    fn set(&mut self, set: &sqlparser::ast::Set) -> Result<QueryResult> {
        use sqlparser::ast::{ContextModifier, Set as S};
        match set {
            S::SingleAssignment {
                scope,
                variable,
                values,
                ..
            } => {
                let name = variable.to_string();
                let value = setting_value(values);
                let local = matches!(scope, Some(ContextModifier::Local));
                self.change_setting(&name, value.as_deref(), local)?;
            }
            S::SetTimeZone { local, value } => {
                let value = setting_value(std::slice::from_ref(value));
                self.change_setting("TimeZone", value.as_deref(), *local)?;
            }
            S::SetNames { charset_name, .. } => {
                self.change_setting("client_encoding", Some(&charset_name.value), false)?;
            }
            S::SetNamesDefault {} => self.change_setting("client_encoding", None, false)?,
            S::SetTransaction { modes, session, .. } => {
                let name = if *session {
                    "default_transaction_isolation"
                } else {
                    "transaction_isolation"
                };
                self.transaction_modes(modes, name)?;
            }
            _ => return Err(Error::not_supported("this SET")),
        }
        Ok(QueryResult::command("SET"))
    }

    /// The isolation level and access mode of `modes` into the settings `isolation` names
    /// (and the matching read-only one). The levels are accepted now; MVCC (issue 26) makes
    /// each one real, and until then every transaction is serializable.
    fn transaction_modes(
        &mut self,
        modes: &[sqlparser::ast::TransactionMode],
        isolation: &str,
    ) -> Result<()> {
        use sqlparser::ast::{
            TransactionAccessMode, TransactionIsolationLevel as L, TransactionMode,
        };
        let local = isolation == "transaction_isolation";
        for mode in modes {
            match mode {
                TransactionMode::IsolationLevel(level) => {
                    let level = match level {
                        L::ReadUncommitted => "read uncommitted",
                        L::ReadCommitted => "read committed",
                        L::RepeatableRead => "repeatable read",
                        L::Serializable => "serializable",
                        _ => return Err(Error::not_supported("this isolation level")),
                    };
                    self.change_setting(isolation, Some(level), local)?;
                }
                TransactionMode::AccessMode(mode) => {
                    let read_only = matches!(mode, TransactionAccessMode::ReadOnly);
                    let name = if local {
                        "transaction_read_only"
                    } else {
                        "default_transaction_read_only"
                    };
                    self.change_setting(name, Some(if read_only { "on" } else { "off" }), local)?;
                }
            }
        }
        Ok(())
    }

    /// Sets a setting, transactionally: the values before the transaction's first change
    /// are kept to be restored if it rolls back, and a `local` change lasts until it ends.
    fn change_setting(&mut self, name: &str, value: Option<&str>, local: bool) -> Result<()> {
        let mut changed = self.settings.clone();
        changed.set(name, value)?;
        if self.settings_before.is_none() {
            self.settings_before = Some(self.settings.clone());
        }
        if local {
            let name = Settings::canonical_name(name)?;
            if !self.local_settings.contains(&name) {
                self.local_settings.push(name);
            }
        }
        self.settings = changed;
        Ok(())
    }

    /// The settings when a transaction ends: kept (but for its `SET LOCAL`s) if it
    /// commits, as they were before it if it rolls back; its isolation level back to the
    /// default.
    fn end_settings(&mut self, commit: bool) {
        if let Some(before) = self.settings_before.take() {
            if !commit {
                self.settings = before;
            } else {
                for name in std::mem::take(&mut self.local_settings) {
                    let value = before.get(name).ok();
                    let _ = self.settings.set(name, value.as_deref());
                }
            }
        }
        self.local_settings.clear();
        let default = self.settings.get("default_transaction_isolation").ok();
        let _ = self
            .settings
            .set("transaction_isolation", default.as_deref());
    }

    /// Records who the session is for (what a client logs in with): its user
    /// (`current_user`, `session_authorization`), the database it asked for
    /// (`current_database()`) and the number its connection is known by
    /// (`pg_backend_pid()`).
    pub fn connect(&mut self, user: &str, database: &str, backend_pid: i32) {
        self.settings.connect(user, database, backend_pid);
    }

    /// `RESET name`, `RESET ALL`.
    fn reset(&mut self, reset: &sqlparser::ast::Reset) -> Result<QueryResult> {
        use sqlparser::ast::Reset;
        match reset {
            Reset::ALL => {
                let names: Vec<&'static str> = self
                    .settings
                    .all()
                    .into_iter()
                    .map(|(name, _)| name)
                    .collect();
                for name in names {
                    // Read-only parameters keep their one value.
                    let _ = self.change_setting(name, None, false);
                }
            }
            Reset::ConfigurationParameter(name) => {
                self.change_setting(&name.to_string(), None, false)?
            }
            Reset::SessionAuthorization => {}
        }
        Ok(QueryResult::command("RESET"))
    }

    /// `SHOW name`, `SHOW ALL`, `SHOW TRANSACTION ISOLATION LEVEL`, `SHOW TIME ZONE`.
    fn show(&self, variable: &[sqlparser::ast::Ident]) -> Result<QueryResult> {
        let spoken = variable
            .iter()
            .map(ident_name)
            .collect::<Vec<_>>()
            .join(" ");
        let text_column = |name: &str| Column {
            name: name.to_string(),
            data_type: DataType::Text,
        };
        if spoken == "all" {
            let rows: Vec<Vec<Value>> = self
                .settings
                .all()
                .into_iter()
                .map(|(name, value)| {
                    vec![
                        Value::Text(name.into()),
                        Value::Text(value),
                        Value::Text(String::new()),
                    ]
                })
                .collect();
            return Ok(QueryResult {
                tag: "SHOW".into(),
                columns: vec![
                    text_column("name"),
                    text_column("setting"),
                    text_column("description"),
                ],
                rows,
                copy: None,
                notices: Vec::new(),
                parameter_changes: Vec::new(),
            });
        }
        let name = match spoken.as_str() {
            "transaction isolation level" => "transaction_isolation",
            "time zone" => "TimeZone",
            other => Settings::canonical_name(other)?,
        };
        Ok(QueryResult {
            tag: "SHOW".into(),
            columns: vec![text_column(name)],
            rows: vec![vec![Value::Text(self.settings.get(name)?)]],
            copy: None,
            notices: Vec::new(),
            parameter_changes: Vec::new(),
        })
    }

    /// `DECLARE name CURSOR [WITH HOLD] FOR query`: the query run, its rows kept for FETCH
    /// (see [`crate::cursor`]).
    fn declare(
        &mut self,
        sql: &str,
        declares: &[sqlparser::ast::Declare],
        params: &[Value],
    ) -> Result<QueryResult> {
        for declare in declares {
            let (Some(name), Some(query)) = (declare.names.first(), &declare.for_query) else {
                return Err(Error::not_supported("this DECLARE"));
            };
            let name = ident_name(name);
            let hold = declare.hold == Some(true);
            if !hold && self.block == Block::Implicit {
                return Err(Error::new(
                    SqlState("25P01"),
                    "DECLARE CURSOR can only be used in transaction blocks",
                ));
            }
            if self.cursors.contains_key(&name) {
                return Err(Error::new(
                    SqlState("42P03"),
                    format!("cursor \"{name}\" already exists"),
                ));
            }
            let rows = self.query(sql, query, params)?;
            self.cursors.insert(name, Cursor::new(rows, hold));
        }
        Ok(QueryResult::command("DECLARE CURSOR"))
    }

    /// The columns of the cursor `DECLARE` opened as `name` (a portal of that name, to the
    /// wire protocol's Describe), if there is one.
    pub fn cursor_columns(&self, name: &str) -> Option<Vec<Column>> {
        self.cursors.get(name).map(|c| c.columns.clone())
    }

    /// The cursor `name` names.
    fn cursor(&self, name: &sqlparser::ast::Ident) -> Result<&Cursor> {
        let name = ident_name(name);
        self.cursors.get(&name).ok_or_else(|| no_cursor(&name))
    }

    /// `COPY table [(columns)] TO STDOUT` or `COPY (query) TO STDOUT`: the rows as lines.
    fn copy_out(
        &mut self,
        sql: &str,
        source: &CopySource,
        format: &CopyFormat,
    ) -> Result<QueryResult> {
        let query = match source {
            CopySource::Query(query) => query.as_ref().clone(),
            CopySource::Table {
                table_name,
                columns,
            } => {
                let catalog = self.db.catalog();
                let table = named_table(&catalog, sql, table_name)?;
                let list = if columns.is_empty() {
                    table
                        .columns
                        .iter()
                        .map(|c| quote_ident(&c.name))
                        .collect::<Vec<_>>()
                } else {
                    for c in columns {
                        table.column_of_relation(&ident_name(c))?;
                    }
                    columns
                        .iter()
                        .map(|c| quote_ident(&ident_name(c)))
                        .collect()
                };
                let text = format!(
                    "SELECT {} FROM {}",
                    list.join(", "),
                    quote_ident(&table.name)
                );
                match parse(&text)?.pop() {
                    Some(Statement::Query(query)) => *query,
                    _ => return Err(Error::not_supported("this COPY")),
                }
            }
        };
        let result = self.query(sql, &query, &[])?;
        let mut lines: Vec<String> = result.rows.iter().map(|row| format.line(row)).collect();
        if format.header {
            // The header goes out with the first row: a client counts the rows of a COPY by
            // its data messages.
            let names: Vec<String> = result.columns.iter().map(|c| c.name.clone()).collect();
            let header = format.header_line(&names);
            match lines.first_mut() {
                Some(first) => first.insert_str(0, &header),
                None => lines.push(header),
            }
        }
        Ok(QueryResult {
            copy: Some(Copy::Out {
                columns: result.columns.len(),
                lines,
            }),
            ..QueryResult::command(format!("COPY {}", result.rows.len()))
        })
    }

    fn query(&mut self, sql: &str, query: &Query, params: &[Value]) -> Result<QueryResult> {
        let catalog = self.db.catalog();
        let ctx = Context::new(sql, &catalog).with_params(params);
        let planned = planner::plan_query(&ctx, query, None)?;
        run_planned(&self.db, &planned, params, self.settings.work_mem())
    }
}

/// `work` (the parsing, planning and running of `sql`) on a stack deep enough for `sql`'s
/// nesting: the caller's when it nests shallowly, else a thread's made for it and joined
/// before this returns. Parser, binder, planner and executor all recurse once per level of
/// nesting, and a stack overflow would abort the whole server, not fail the statement.
fn on_stack_for<R: Send>(sql: &str, work: impl FnOnce() -> R + Send) -> Result<R> {
    let stack = crate::parser::stack_needed(sql)?;
    on_stack(stack, || Ok(work()))
}

/// The value of a `SET`: a string's text, a number's digits, a word (`on`, `DEFAULT` is
/// `None`), several joined by `, ` (`search_path = a, b`).
fn setting_value(values: &[sqlparser::ast::Expr]) -> Option<String> {
    use sqlparser::ast::{Expr, Value as V};
    let parts: Vec<String> = values
        .iter()
        .map(|v| match v {
            Expr::Value(value) => match &value.value {
                V::SingleQuotedString(s) | V::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            Expr::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [one] if one.eq_ignore_ascii_case("default") => None,
        _ => Some(parts.join(", ")),
    }
}

/// `34000 cursor "name" does not exist`.
fn no_cursor(name: &str) -> Error {
    Error::new(
        SqlState("34000"),
        format!("cursor \"{name}\" does not exist"),
    )
}

/// Whether `statement` is a `COPY … FROM STDIN`, which waits for the client's rows.
fn is_copy_in(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Copy {
            to: false,
            target: CopyTarget::Stdin,
            ..
        }
    )
}

/// `work` on the caller's stack (`stack` is `None`) or on a thread's of `stack` bytes.
fn on_stack<R: Send>(stack: Option<usize>, work: impl FnOnce() -> Result<R> + Send) -> Result<R> {
    let Some(bytes) = stack else {
        return work();
    };
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("cairn-sql-deep".into())
            .stack_size(bytes)
            .spawn_scoped(scope, work)
            .map_err(|e| {
                Error::new(
                    SqlState::OUT_OF_MEMORY,
                    format!("could not start a thread for a deeply nested statement: {e}"),
                )
            })?;
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Runs a planned query with `params` as its parameters' values.
fn run_planned(
    db: &Database,
    planned: &Planned,
    params: &[Value],
    work_mem: usize,
) -> Result<QueryResult> {
    let cache = SubqueryCache::default();
    let env = Env::new(db, &cache)
        .with_params(params)
        .with_work_mem(work_mem);
    let rows = exec::run(&planned.plan, &env)?.collect::<Result<Vec<_>>>()?;
    Ok(QueryResult {
        tag: format!("SELECT {}", rows.len()),
        columns: planned.columns.clone(),
        rows,
        copy: None,
        notices: Vec::new(),
        parameter_changes: Vec::new(),
    })
}

/// Whether a statement changes the catalog.
fn is_ddl(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::CreateTable(_)
            | Statement::CreateIndex(_)
            | Statement::CreateView(_)
            | Statement::CreateSequence { .. }
            | Statement::AlterTable(_)
            | Statement::Drop { .. }
    )
}

impl Drop for Session {
    /// A session that ends inside a transaction rolls it back.
    fn drop(&mut self) {
        let _ = self.end(false);
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
