//! One PostgreSQL connection's queries: the simple and extended query protocols on a
//! cairn-sql [`Session`].
//!
//! - **Simple query** (`Query`): every statement of the string runs in order; each one's
//!   rows and CommandComplete go out, then the first error, if any, then ReadyForQuery with
//!   the session's transaction status (`I`, `T`, `E`).
//! - **Extended query**: Parse prepares and binds the statement at once, so that a missing
//!   table or a type error is reported at Parse, as PostgreSQL does, and its parameters'
//!   types (declared, or inferred from their context) and result columns are known for
//!   Describe. Bind checks the formats and the parameter count and decodes the parameters
//!   (text or binary, see [`cairn_sql::wire`]) into a portal. Execute runs the portal's
//!   statement once and keeps its rows in the portal, sending at most the row limit per
//!   Execute (PortalSuspended until the last). Outside a `BEGIN` block the statements
//!   executed up to a Sync are one transaction, committed at the Sync
//!   ([`Session::execute_pipelined`], [`Session::sync`]); an error rolls it back, and
//!   messages are skipped until the Sync (pgwire's state machine).
//! - Replies are queued and flushed at ReadyForQuery or Flush, not message by message: a
//!   pipeline of statements costs one write.
//!
//! Every job runs on the connection's session thread (`worker.rs`).

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::BytesMut;
use cairn_sql::{
    Column, Copy, DataType, Database, Description, Prepared, QueryResult, Session, Value,
};
use futures::{stream, Sink, SinkExt, StreamExt};
use pgwire::api::copy::{send_copy_in_response, send_copy_out_response, CopyHandler};
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{CopyResponse, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, Type, DEFAULT_NAME};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::data::{
    DataRow, FieldDescription, NoData, ParameterDescription, RowDescription,
};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Flush, Parse, ParseComplete,
    PortalSuspended, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::startup::ParameterStatus;
use pgwire::messages::PgWireBackendMessage;

use super::worker::{Identity, Pending, SessionThread};
use cairn_sql::wire as types;

/// A prepared statement of the connection; in a portal, with the values bound to its
/// parameters.
#[derive(Debug, Clone)]
pub struct Statement {
    prepared: Arc<Prepared>,
    description: Arc<Description>,
    bound: Arc<Vec<Value>>,
}

/// The connection's session, on a thread started at its first statement (not before the
/// client has authenticated).
struct SessionSlot {
    db: Arc<Database>,
    /// Who the session is for, known once the client has authenticated.
    identity: OnceLock<Identity>,
    thread: OnceLock<Option<SessionThread>>,
    /// The last Execute left an implicit transaction with writes: the next Sync commits it
    /// (and waits for it) before ReadyForQuery.
    commit_pending: AtomicBool,
    /// A Sync with nothing to commit was answered without a trip to the session thread;
    /// the session's own sync runs before its next job.
    sync_deferred: AtomicBool,
}

/// A job's answer and the session's transaction status after it.
type Answer<R> = (R, TransactionStatus);

impl SessionSlot {
    /// Runs `job` on the session, with the session's transaction status after it.
    async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> R + Send + 'static,
    ) -> PgWireResult<Answer<R>> {
        self.submit(job)?
            .answer()
            .await
            .map_err(|e| fatal(&e.to_string()))
    }

    /// Queues `job` on the session, its answer to be awaited later.
    fn submit<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> R + Send + 'static,
    ) -> PgWireResult<Pending<Answer<R>>> {
        let thread = self.thread.get_or_init(|| {
            let identity = self.identity.get().cloned().unwrap_or_default();
            SessionThread::start(Arc::clone(&self.db), &identity).ok()
        });
        let Some(thread) = thread else {
            return Err(fatal("could not start a thread for the session"));
        };
        let deferred = self.sync_deferred.swap(false, Ordering::AcqRel);
        thread
            .submit(move |session| {
                if deferred {
                    // Nothing to commit (see `on_sync`): cannot fail.
                    let _ = session.sync();
                }
                let answer = job(session);
                (answer, status(session.transaction_status()))
            })
            .map_err(|e| fatal(&e.to_string()))
    }
}

/// The handlers of one connection.
pub struct Connection {
    session: Arc<SessionSlot>,
    parser: Arc<StatementParser>,
    /// During `COPY … FROM STDIN`, the answer of the last piece of data handed to the
    /// session: awaited when the next one arrives, so that reading and loading overlap
    /// while no more than one piece waits in memory.
    copy_pending: std::sync::Mutex<Option<Pending<Answer<cairn_sql::Result<()>>>>>,
    /// During `COPY … FROM STDIN`, the data received since the last piece was handed over:
    /// clients send a CopyData a row, and a piece is handed over once it holds
    /// [`COPY_PIECE`] bytes (or at CopyDone).
    copy_gathered: std::sync::Mutex<BytesMut>,
}

/// The bytes of COPY data handed to the session at a time.
const COPY_PIECE: usize = 64 << 10;

impl Connection {
    /// Records who the connection's session is for (before its first statement).
    pub fn identify(&self, identity: Identity) {
        let _ = self.session.identity.set(identity);
    }

    pub fn new(db: Arc<Database>) -> Connection {
        let session = Arc::new(SessionSlot {
            db,
            identity: OnceLock::new(),
            thread: OnceLock::new(),
            commit_pending: AtomicBool::new(false),
            sync_deferred: AtomicBool::new(false),
        });
        Connection {
            parser: Arc::new(StatementParser {
                session: Arc::clone(&session),
            }),
            session,
            copy_pending: std::sync::Mutex::new(None),
            copy_gathered: std::sync::Mutex::new(BytesMut::new()),
        }
    }

    /// Cancels the statement the connection's session is running, if any.
    pub fn cancel(&self) {
        if let Some(Some(thread)) = self.session.thread.get() {
            thread.cancel();
        }
    }

    /// The COPY data received and not handed to the session yet.
    fn copy_gathered(&self) -> std::sync::MutexGuard<'_, BytesMut> {
        self.copy_gathered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands the COPY data gathered to the session, once the piece before it is loaded.
    async fn copy_hand_over<C: ClientInfo>(&self, client: &mut C) -> PgWireResult<()> {
        if let Err(e) = self.copy_settled(client).await {
            // The COPY failed: what was gathered after the bad row goes with it.
            self.copy_gathered().clear();
            return Err(e);
        }
        let piece = self.copy_gathered().split().freeze();
        if piece.is_empty() {
            return Ok(());
        }
        let pending = self
            .session
            .submit(move |session| session.copy_data(&piece))?;
        *self
            .copy_pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(pending);
        Ok(())
    }

    /// The pending answer of the last piece of COPY data, taken.
    fn take_copy_pending(&self) -> Option<Pending<Answer<cairn_sql::Result<()>>>> {
        self.copy_pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Waits for the last piece of COPY data to be loaded: its error, if it had one (the
    /// client's transaction status then updated).
    async fn copy_settled<C: ClientInfo>(&self, client: &mut C) -> PgWireResult<()> {
        let Some(pending) = self.take_copy_pending() else {
            return Ok(());
        };
        let (loaded, now) = pending.answer().await.map_err(|e| fatal(&e.to_string()))?;
        client.set_transaction_status(now);
        loaded.map_err(sql_error)
    }
}

#[async_trait]
impl CopyHandler for Connection {
    async fn on_copy_data<C>(&self, client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let full = {
            let mut gathered = self.copy_gathered();
            gathered.extend_from_slice(&data.data);
            gathered.len() >= COPY_PIECE
        };
        if full {
            self.copy_hand_over(client).await?;
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.copy_hand_over(client).await?;
        self.copy_settled(client).await?;
        let (done, now) = self.session.run(|session| session.copy_done()).await?;
        client.set_transaction_status(now);
        let result = done.map_err(sql_error)?;
        client
            .feed(PgWireBackendMessage::CommandComplete(
                Tag::new(&result.tag).into(),
            ))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _ = self.copy_settled(client).await;
        self.copy_gathered().clear();
        let reason = fail.message;
        match self
            .session
            .run(move |session| session.copy_fail(&reason))
            .await
        {
            Ok((e, now)) => {
                client.set_transaction_status(now);
                sql_error(e)
            }
            Err(e) => e,
        }
    }
}

/// Parse's work: a statement prepared and described on the session.
pub struct StatementParser {
    session: Arc<SessionSlot>,
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Statement;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        declared: &[Option<Type>],
    ) -> PgWireResult<Option<Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let sql = sql.to_string();
        let declared: Vec<Option<DataType>> = declared
            .iter()
            .map(|t| t.as_ref().and_then(|t| types::from_oid(t.oid())))
            .collect();
        let (prepared, _) = self
            .session
            .run(move |session| {
                let prepared = session.prepare(&sql)?;
                let description = session.describe(&prepared, &declared)?;
                Ok::<_, cairn_sql::Error>(Statement {
                    prepared: Arc::new(prepared),
                    description: Arc::new(description),
                    bound: Arc::new(Vec::new()),
                })
            })
            .await?;
        prepared.map(Some).map_err(sql_error)
    }

    fn get_parameter_types(&self, statement: &Statement) -> PgWireResult<Vec<Type>> {
        Ok(statement
            .description
            .params
            .iter()
            .map(|ty| pg_type(*ty))
            .collect())
    }

    fn get_result_schema(
        &self,
        statement: &Statement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(fields(
            &statement.description.columns,
            format.unwrap_or(&Format::UnifiedText),
        ))
    }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn do_query<C>(&self, client: &mut C, sql: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let sql = sql.to_string();
        let ((results, error), _) = self
            .session
            .run(move |session| {
                let mut results = Vec::new();
                let outcome = session.execute_each(&sql, |result| results.push(result));
                (results, outcome.err())
            })
            .await?;
        // pgwire derives the status it reports from the responses: BEGIN starts a block,
        // COMMIT and ROLLBACK end one, an error fails one (and leaves `I` as it is) — the
        // session's own rules (a COMMIT of a failed block is tagged ROLLBACK).
        // Notices go out first: pgwire's responses have no place for them between results.
        for result in &results {
            send_notices(client, &result.notices, &result.parameter_changes).await?;
        }
        let mut responses: Vec<Response> = results.into_iter().map(simple_response).collect();
        if let Some(e) = error {
            responses.push(Response::Error(Box::new(sql_error_info(&e))));
        }
        Ok(responses)
    }
}

/// A statement's result as the simple protocol's response (text format).
fn simple_response(result: QueryResult) -> Response {
    if let Some(copy) = result.copy {
        return copy_response(copy);
    }
    if !returns_rows(&result) {
        let tag = Tag::new(&result.tag);
        return match result.tag.as_str() {
            "BEGIN" => Response::TransactionStart(tag),
            "COMMIT" | "ROLLBACK" => Response::TransactionEnd(tag),
            _ => Response::Execution(tag),
        };
    }
    let fields = Arc::new(fields(&result.columns, &Format::UnifiedText));
    let rows = encode_rows(result.rows, &Format::UnifiedText);
    let mut response = QueryResponse::new(fields, stream::iter(rows.into_iter().map(Ok)));
    response.set_command_tag(command_of(&result.tag));
    Response::Query(response)
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Statement;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        Arc::clone(&self.parser)
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME).to_string();
        if name != DEFAULT_NAME && client.portal_store().get_statement(&name).is_some() {
            return Err(user_error(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        match StoredStatement::parse(client, &message, Arc::clone(&self.parser)).await {
            Ok(Some(statement)) => client.portal_store().put_statement(Arc::new(statement)),
            Ok(None) => client.portal_store().put_empty_statement(&name),
            Err(e) => {
                // A statement that fails to parse or bind fails the transaction too.
                let (_, now) = self.session.run(|_| ()).await?;
                client.set_transaction_status(now);
                return Err(e);
            }
        }
        client
            .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        let stored = match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(stored)) => stored,
            Some(Entry::Empty) => {
                check_bind(&message, &[], 0, "")?;
                client.portal_store().put_empty_portal(portal_name);
                client
                    .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
                    .await?;
                return Ok(());
            }
            None => return Err(no_statement(statement_name)),
        };
        let description = &stored.statement.description;
        check_bind(
            &message,
            &description.params,
            description.columns.len(),
            shown_name(statement_name),
        )?;
        let bound = decode_parameters(&message, &description.params)?;
        let statement = StoredStatement::new(
            stored.id.clone(),
            Statement {
                bound: Arc::new(bound),
                ..stored.statement.clone()
            },
            stored.parameter_types.clone(),
        );
        let portal = Portal::try_new(&message, Arc::new(statement))?;
        client.portal_store().put_portal(Arc::new(portal));
        client
            .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let portal_name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(portal_name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(no_portal(portal_name)),
        };
        // A negative or zero limit is no limit.
        let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
        let state = portal.state();
        let initial = matches!(*state.lock().await, PortalExecutionState::Initial);
        if initial {
            match ExtendedQueryHandler::do_query(self, client, &portal, max_rows).await? {
                Response::Query(rows) => portal.start(rows).await,
                response => {
                    *state.lock().await = PortalExecutionState::Finished;
                    match response {
                        Response::Execution(tag) => {
                            client
                                .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                                .await?;
                        }
                        Response::CopyIn(copy) => {
                            client.set_state(PgWireConnectionState::CopyInProgress(true));
                            send_copy_in_response(client, copy).await?;
                        }
                        Response::CopyOut(copy) => send_copy_out_response(client, copy).await?,
                        _ => {}
                    }
                    return Ok(());
                }
            }
        }
        let mut fetched = portal.fetch(max_rows).await?;
        let command = fetched.response.command_tag().to_string();
        let mut count = 0;
        while let Some(row) = fetched.response.data_rows().next().await {
            client.feed(PgWireBackendMessage::DataRow(row?)).await?;
            count += 1;
        }
        let done = if fetched.suspended {
            PgWireBackendMessage::PortalSuspended(PortalSuspended::new())
        } else {
            PgWireBackendMessage::CommandComplete(Tag::new(&command).with_rows(count).into())
        };
        client.feed(done).await?;
        Ok(())
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let (params, columns) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(stored)) => {
                    let description = &stored.statement.description;
                    (
                        Some(description.params.iter().map(|t| types::oid(*t)).collect()),
                        fields(&description.columns, &Format::UnifiedText),
                    )
                }
                Some(Entry::Empty) => (Some(Vec::new()), Vec::new()),
                None => return Err(no_statement(name)),
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => (
                    None,
                    fields(
                        &portal.statement.statement.description.columns,
                        &portal.result_column_format,
                    ),
                ),
                Some(Entry::Empty) => (None, Vec::new()),
                // A cursor DECLARE opened is a portal too (psycopg describes its named
                // cursors so).
                None => {
                    let cursor = name.to_string();
                    let (columns, _) = self
                        .session
                        .run(move |session| session.cursor_columns(&cursor))
                        .await?;
                    match columns {
                        Some(columns) => (None, fields(&columns, &Format::UnifiedText)),
                        None => return Err(no_portal(name)),
                    }
                }
            },
            other => {
                return Err(user_error(
                    "08P01",
                    format!("invalid DESCRIBE message subtype {other}"),
                ))
            }
        };
        if let Some(params) = params {
            client
                .feed(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(params),
                ))
                .await?;
        }
        let shape = if columns.is_empty() {
            PgWireBackendMessage::NoData(NoData::new())
        } else {
            PgWireBackendMessage::RowDescription(RowDescription::new(
                columns.iter().map(FieldDescription::from).collect(),
            ))
        };
        client.feed(shape).await?;
        Ok(())
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.portal_store().rm_portal(DEFAULT_NAME);
        if !self.session.commit_pending.swap(false, Ordering::AcqRel) {
            // No writes wait for a commit: answer now, and let the session's sync (its clock
            // and SET LOCALs) run before its next job.
            self.session.sync_deferred.store(true, Ordering::Release);
            client
                .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                    client.transaction_status(),
                )))
                .await?;
            return Ok(());
        }
        let (committed, now) = self.session.run(|session| session.sync()).await?;
        if let Err(e) = committed {
            client
                .feed(PgWireBackendMessage::ErrorResponse(
                    sql_error_info(&e).into(),
                ))
                .await?;
        }
        client.set_transaction_status(now);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(now)))
            .await?;
        Ok(())
    }

    async fn on_flush<C>(&self, client: &mut C, _message: Flush) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.flush().await?;
        Ok(())
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => client.portal_store().rm_statement(name),
            TARGET_TYPE_BYTE_PORTAL => client.portal_store().rm_portal(name),
            other => {
                return Err(user_error(
                    "08P01",
                    format!("invalid CLOSE message subtype {other}"),
                ))
            }
        }
        client
            .feed(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }

    /// Runs the portal's statement: its rows encoded in the portal's result formats, or
    /// its command tag.
    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = portal.statement.statement.clone();
        let ((result, writes), now) = self
            .session
            .run(move |session| {
                let result = session.execute_pipelined(&statement.prepared, &statement.bound);
                (result, session.holds_implicit_writes())
            })
            .await?;
        self.session.commit_pending.store(writes, Ordering::Release);
        client.set_transaction_status(now);
        let result = result.map_err(sql_error)?;
        send_notices(client, &result.notices, &result.parameter_changes).await?;
        if let Some(copy) = result.copy {
            return Ok(copy_response(copy));
        }
        if !returns_rows(&result) {
            return Ok(Response::Execution(Tag::new(&result.tag)));
        }
        let format = &portal.result_column_format;
        let fields = Arc::new(fields(&result.columns, format));
        let rows = encode_rows(result.rows, format);
        let mut response = QueryResponse::new(fields, stream::iter(rows.into_iter().map(Ok)));
        response.set_command_tag(command_of(&result.tag));
        Ok(Response::Query(response))
    }
}

/// A COPY's CopyInResponse or CopyOutResponse (text format), with the rows of a COPY TO
/// as one CopyData each.
fn copy_response(copy: Copy) -> Response {
    match copy {
        Copy::In { columns, .. } => {
            Response::CopyIn(CopyResponse::new(0, columns, stream::empty()))
        }
        Copy::Out { columns, lines } => {
            let data = lines
                .into_iter()
                .map(|line| Ok(CopyData::new(line.into_bytes().into())));
            Response::CopyOut(CopyResponse::new(0, columns, stream::iter(data)))
        }
    }
}

/// A statement's notices as NoticeResponse messages, and the reported parameters it
/// changed as ParameterStatus messages.
async fn send_notices<C>(
    client: &mut C,
    notices: &[cairn_sql::notice::Notice],
    parameter_changes: &[(&'static str, String)],
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for notice in notices {
        let info = ErrorInfo::new(
            notice.severity.into(),
            notice.state.code().into(),
            notice.message.clone(),
        );
        client
            .feed(PgWireBackendMessage::NoticeResponse(info.into()))
            .await?;
    }
    for (name, value) in parameter_changes {
        let status = ParameterStatus::new(name.to_string(), value.clone());
        client
            .feed(PgWireBackendMessage::ParameterStatus(status))
            .await?;
    }
    Ok(())
}

/// Whether a result is rows (a query, a RETURNING, SHOW, EXPLAIN) rather than a command.
fn returns_rows(result: &QueryResult) -> bool {
    !result.columns.is_empty() || result.tag.starts_with("SELECT")
}

/// A tag without its row count (`SELECT 3` → `SELECT`, `INSERT 0 3` → `INSERT 0`), for the
/// count of the rows an Execute sends to be appended.
fn command_of(tag: &str) -> &str {
    match tag.rsplit_once(' ') {
        Some((command, count)) if count.bytes().all(|b| b.is_ascii_digit()) => command,
        _ => tag,
    }
}

/// The format of column `i` under `format`: what the client asked for, text for a column
/// it did not name (a result wider than the statement described).
fn format_of(format: &Format, i: usize) -> FieldFormat {
    match format {
        Format::Individual(codes) => codes
            .get(i)
            .map_or(FieldFormat::Text, |code| FieldFormat::from(*code)),
        _ => format.format_for(i),
    }
}

/// The RowDescription fields of `columns` in `format`.
fn fields(columns: &[Column], format: &Format) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            FieldInfo::new(
                column.name.clone(),
                None,
                None,
                pg_type(column.data_type),
                format_of(format, i),
            )
            .with_type_size(types::size(column.data_type))
        })
        .collect()
}

/// pgwire's type of `ty`.
fn pg_type(ty: DataType) -> Type {
    Type::from_oid(types::oid(ty)).unwrap_or(Type::UNKNOWN)
}

/// Rows as DataRow messages, each value in its column's format.
fn encode_rows(rows: Vec<Vec<Value>>, format: &Format) -> Vec<DataRow> {
    let mut buffer = BytesMut::with_capacity(256);
    rows.into_iter()
        .map(|row| {
            for (i, value) in row.iter().enumerate() {
                if value.is_null() {
                    buffer.extend_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                let at = buffer.len();
                buffer.extend_from_slice(&[0; 4]);
                match format_of(format, i) {
                    FieldFormat::Binary => types::encode_binary(value, &mut buffer),
                    FieldFormat::Text => {
                        let text = value.to_text().unwrap_or_default();
                        buffer.extend_from_slice(text.as_bytes());
                    }
                }
                let len = (buffer.len() - at - 4) as i32;
                buffer[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
            DataRow::new(buffer.split(), row.len() as i16)
        })
        .collect()
}

/// Checks a Bind against its statement as PostgreSQL does: the format codes (0 or 1; none,
/// one for all, or one each) and the parameter count.
fn check_bind(
    message: &Bind,
    params: &[DataType],
    columns: usize,
    statement: &str,
) -> PgWireResult<()> {
    let counts = |codes: &[i16], n: usize| codes.len() <= 1 || codes.len() == n;
    if let Some(code) = message
        .parameter_format_codes
        .iter()
        .chain(&message.result_column_format_codes)
        .find(|c| !matches!(c, 0 | 1))
    {
        return Err(user_error(
            "08P01",
            format!("unsupported format code: {code}"),
        ));
    }
    if !counts(&message.parameter_format_codes, message.parameters.len()) {
        return Err(user_error(
            "08P01",
            format!(
                "bind message has {} parameter formats but {} parameters",
                message.parameter_format_codes.len(),
                message.parameters.len()
            ),
        ));
    }
    if message.parameters.len() != params.len() {
        return Err(user_error(
            "08P01",
            format!(
                "bind message supplies {} parameters, but prepared statement \"{statement}\" requires {}",
                message.parameters.len(),
                params.len()
            ),
        ));
    }
    if !counts(&message.result_column_format_codes, columns) {
        return Err(user_error(
            "08P01",
            format!(
                "bind message has {} result formats but query has {columns} columns",
                message.result_column_format_codes.len()
            ),
        ));
    }
    Ok(())
}

/// A Bind's parameters as values of the statement's parameter types.
fn decode_parameters(message: &Bind, params: &[DataType]) -> PgWireResult<Vec<Value>> {
    let format = |i: usize| match message.parameter_format_codes.as_slice() {
        [] => 0,
        [one] => *one,
        each => each[i],
    };
    message
        .parameters
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (bytes, ty))| {
            let Some(bytes) = bytes else {
                return Ok(Value::Null);
            };
            if format(i) == 1 {
                return types::decode_binary(*ty, bytes).ok_or_else(|| {
                    user_error(
                        "22P03",
                        format!("incorrect binary data format in bind parameter {}", i + 1),
                    )
                });
            }
            let text = std::str::from_utf8(bytes).map_err(|_| {
                user_error(
                    "22021",
                    "invalid byte sequence for encoding \"UTF8\"".to_string(),
                )
            })?;
            Value::parse(*ty, text).map_err(sql_error)
        })
        .collect()
}

/// A Bind naming a statement that was never prepared (or was closed).
fn no_statement(name: &str) -> PgWireError {
    user_error(
        "26000",
        format!("prepared statement \"{}\" does not exist", shown_name(name)),
    )
}

/// An Execute or Describe naming a portal that was never bound (or was closed).
fn no_portal(name: &str) -> PgWireError {
    user_error(
        "34000",
        format!("portal \"{}\" does not exist", shown_name(name)),
    )
}

/// A statement's or portal's name as PostgreSQL shows it: the unnamed one as `""`, not
/// pgwire's internal name for it.
fn shown_name(name: &str) -> &str {
    if name == DEFAULT_NAME {
        ""
    } else {
        name
    }
}

/// The session's transaction status as the protocol's.
fn status(indicator: char) -> TransactionStatus {
    match indicator {
        'T' => TransactionStatus::Transaction,
        'E' => TransactionStatus::Error,
        _ => TransactionStatus::Idle,
    }
}

/// A cairn-sql error as PostgreSQL's ErrorResponse fields.
fn sql_error_info(e: &cairn_sql::Error) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".into(), e.state.code().into(), e.message.clone());
    info.position = e.position.map(|p| p.to_string());
    info.where_context = e.context.clone();
    info.detail = e.detail.clone();
    info.hint = e.hint.clone();
    info
}

fn sql_error(e: cairn_sql::Error) -> PgWireError {
    PgWireError::UserError(Box::new(sql_error_info(&e)))
}

/// An ERROR with `code` and `message`.
fn user_error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        code.into(),
        message,
    )))
}

/// A FATAL error, which ends the connection.
fn fatal(message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        "XX000".into(),
        message.into(),
    )))
}
