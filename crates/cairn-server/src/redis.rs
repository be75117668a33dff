//! The Redis door: a tokio listener, one task per connection, pipelining.
//!
//! A connection reads what the socket has, runs every complete request in the buffer, and
//! writes all the replies at once (so a pipeline of N requests costs one read and one write),
//! after letting the other ready connections run theirs, so that replies leave together.
//! Under `appendfsync always` it waits, off the executor, for the WAL fsync covering the
//! batch's writes before sending their replies: one fsync for a whole pipeline, shared with
//! every other connection writing at the same time.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use cairn_kv::{After, Kv, Outcome, PendingCommit, Reply, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::admission::{AcceptErrors, Admission, Admitted};
use crate::resp::{encode_reply, Limits, ProtocolError, Requests};

/// What a connection's input buffer starts at, and goes back to once idle.
const BUFFER: usize = 16 << 10;
/// A buffer that grew past this for one large request or reply is given back when empty.
const KEEP_AT_MOST: usize = 256 << 10;
/// Replies buffered before they are written even if requests remain in the pipeline.
const FLUSH_AT: usize = 64 << 10;
/// How long, and how much input, a connection closing after a protocol error drains.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1 << 20;
/// Requests taken from the buffer and run as one group (one batch in the log).
const MAX_PIPELINE: usize = 512;

/// Serves `listener` until `shutdown` completes or a client sends SHUTDOWN, then closes the
/// keyspace (flushing the log). Returns once every connection has finished. A client over
/// the `admission` limit gets Redis's error and is closed.
pub async fn run(
    listener: TcpListener,
    kv: Arc<Kv>,
    admission: Arc<Admission>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    let mut stop_seen = stop_rx.clone();
    let mut accept_errors = AcceptErrors::default();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = stop_seen.changed() => break,
            accepted = listener.accept() => {
                let (socket, addr) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        accept_errors.failed("Redis door", e).await;
                        continue;
                    }
                };
                let Some(admitted) = admission.admit() else {
                    // The reply fits any socket buffer: no waiting on the client.
                    let _ = socket.try_write(b"-ERR max number of clients reached\r\n");
                    continue;
                };
                let _ = socket.set_nodelay(true);
                let local = socket.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let session = kv.connect(addr.to_string(), local);
                let conn = Connection {
                    socket,
                    kv: kv.clone(),
                    session,
                    stop: stop_tx.clone(),
                    stopping: stop_rx.clone(),
                    _admitted: admitted,
                };
                tasks.spawn(conn.serve());
            }
        }
        while tasks.try_join_next().is_some() {}
    }
    let _ = stop_tx.send(true);
    // Connections finish the request they are running and close.
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
    let kv_close = kv.clone();
    match tokio::task::spawn_blocking(move || kv_close.close()).await {
        Ok(Ok(())) => tracing::info!("keyspace closed cleanly"),
        Ok(Err(e)) => tracing::error!("closing the keyspace: {e}"),
        Err(e) => tracing::error!("closing the keyspace: {e}"),
    }
}

struct Connection {
    socket: TcpStream,
    kv: Arc<Kv>,
    session: Session,
    stop: Arc<watch::Sender<bool>>,
    stopping: watch::Receiver<bool>,
    /// Counts this connection against `maxclients` while it lives.
    _admitted: Admitted,
}

impl Connection {
    async fn serve(mut self) {
        if let Err(e) = self.run().await {
            tracing::debug!("connection {}: {e}", self.session.info.addr);
        }
        self.kv.disconnect(&mut self.session);
    }

    async fn run(&mut self) -> std::io::Result<()> {
        let mut input = BytesMut::with_capacity(BUFFER);
        let mut output = BytesMut::with_capacity(BUFFER);
        let mut requests = Requests::default();
        loop {
            let mut durable = PendingCommit::default();
            let settings = self.kv.connection_limits();
            let query_buffer_limit = settings.client_query_buffer_limit;
            let limits = Limits {
                max_bulk: settings.proto_max_bulk_len,
                authenticated: self.session.authenticated,
            };
            // Before AUTH, one request at a time: the limits of each follow from the ones
            // before it (an AUTH lifts them for the rest of the pipeline).
            let max = if limits.authenticated {
                MAX_PIPELINE
            } else {
                1
            };
            let protocol_error = requests.take(&mut input, max, limits);
            let args = requests.args();
            let batch: Vec<&[&[u8]]> = (0..requests.len())
                .map(|i| &args[requests.bounds(i)])
                .collect();
            let mut next = 0;
            while next < batch.len() {
                let outcomes =
                    self.kv
                        .execute_pipeline(&mut self.session, requests.frame(), &batch[next..]);
                let ran = outcomes.len().max(1);
                for (i, mut outcome) in outcomes.into_iter().enumerate() {
                    if let After::Block { timeout_ms } = outcome.after {
                        // Answer what came before, then wait.
                        self.reply_when_durable(&mut output, durable).await?;
                        durable = PendingCommit::default();
                        outcome = self.block(batch[next + i], timeout_ms, outcome.reply).await;
                    }
                    durable = durable.max(outcome.durable);
                    match outcome.after {
                        After::Shutdown => {
                            self.reply_when_durable(&mut output, durable).await?;
                            let _ = self.stop.send(true);
                            return Ok(());
                        }
                        After::Close => {
                            encode_reply(&outcome.reply, self.session.protocol, &mut output);
                            self.reply_when_durable(&mut output, durable).await?;
                            return Ok(());
                        }
                        _ => encode_reply(&outcome.reply, self.session.protocol, &mut output),
                    }
                }
                next += ran;
                if output.len() >= FLUSH_AT {
                    self.reply_when_durable(&mut output, durable).await?;
                    durable = PendingCommit::default();
                }
            }
            if let Some(ProtocolError(msg)) = protocol_error {
                output.extend_from_slice(format!("-ERR Protocol error: {msg}\r\n").as_bytes());
                self.reply_when_durable(&mut output, durable).await?;
                self.linger().await;
                return Ok(());
            }
            if !output.is_empty() {
                // Let the other connections with requests waiting run theirs first, so that
                // the replies go out back to back, as Redis writes them all after one pass
                // over the ready clients. A send that finds the client asleep pays for its
                // wake-up (an inter-processor interrupt on another core); replies sent one
                // after another mostly find it awake. With 50 pipelining clients this took
                // a third off the cost of a send.
                tokio::task::yield_now().await;
            }
            self.reply_when_durable(&mut output, durable).await?;
            if output.capacity() > KEEP_AT_MOST {
                output = BytesMut::with_capacity(BUFFER);
            }
            if requests.len() == max {
                // More complete requests may be waiting in the buffer.
                continue;
            }
            let wanted = requests.wanted();
            requests.clear();
            if input.len() > query_buffer_limit {
                tracing::warn!(
                    "closing client {} that reached the query buffer limit ({} bytes)",
                    self.session.info.addr,
                    query_buffer_limit
                );
                return Ok(());
            }
            make_room(&mut input, wanted.min(query_buffer_limit + 1));
            let idle = settings.idle_timeout;
            let read = tokio::select! {
                r = self.socket.read_buf(&mut input) => r?,
                _ = sleep_or_forever(idle) => return Ok(()),
                _ = self.stopping.changed() => return Ok(()),
            };
            if read == 0 {
                return Ok(());
            }
        }
    }

    /// Closes after a protocol error so that the client reads the error: closing a socket
    /// with unread input sends a reset, which can destroy the reply in flight. The write side
    /// is shut (the client sees the end after the error), and what the client still sends is
    /// read and dropped, for at most [`LINGER`] and [`LINGER_BYTES`].
    async fn linger(&mut self) {
        let _ = self.socket.shutdown().await;
        let mut scratch = [0u8; 16 << 10];
        let mut drained = 0;
        let deadline = Instant::now() + LINGER;
        while drained < LINGER_BYTES {
            match tokio::time::timeout_at(deadline, self.socket.read(&mut scratch)).await {
                Ok(Ok(n)) if n > 0 => drained += n,
                _ => return,
            }
        }
    }

    /// Waits for durability of the writes behind the buffered replies, then sends them.
    async fn reply_when_durable(
        &mut self,
        output: &mut BytesMut,
        durable: PendingCommit,
    ) -> std::io::Result<()> {
        if durable != PendingCommit::default() && self.kv.fsync_every_write() {
            let kv = self.kv.clone();
            let waited = tokio::task::spawn_blocking(move || kv.wait_durable(durable)).await;
            let failed = match waited {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(e) => Some(cairn_kv::KvError::Other(format!(
                    "the write could not be made durable: {e}"
                ))),
            };
            if let Some(e) = failed {
                // The write may not be durable: the client must not take it as acknowledged,
                // nor the replies buffered after it; the engine's error says why.
                output.clear();
                crate::resp::encode_reply(&Reply::Error(e), self.session.protocol, output);
                self.socket.write_all(output).await?;
                output.clear();
                return Err(std::io::Error::other("fsync failed"));
            }
        }
        if !output.is_empty() {
            self.socket.write_all(output).await?;
            output.clear();
        }
        Ok(())
    }

    /// Waits until a key of a blocking command that found nothing receives elements, then
    /// runs it again, until it is served or its timeout passes; `timeout_reply` is what it
    /// answered when it found nothing.
    async fn block(&mut self, request: &[&[u8]], timeout_ms: u64, timeout_reply: Reply) -> Outcome {
        let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
        self.kv.blocked_clients.fetch_add(1, Ordering::Relaxed);
        // A client that hangs up while blocked must not leave its task waiting forever:
        // watch the socket until it either closes or sends more (which waits its turn).
        let mut watch_socket = true;
        // The command registered the session's waiter on its keys when it found nothing; a
        // push to one of them wakes it, and a wake-up before the wait is kept as a permit.
        let waiter = Arc::clone(&self.session.elements_waiter);
        let mut timeout_reply = timeout_reply;
        let outcome = loop {
            let expired = tokio::select! {
                _ = waiter.notified() => false,
                _ = sleep_until_or_forever(deadline) => true,
                _ = self.stopping.changed() => true,
                hung_up = peer_closed(&self.socket), if watch_socket => {
                    if hung_up {
                        true
                    } else {
                        watch_socket = false;
                        false
                    }
                }
            };
            if expired {
                break Outcome {
                    reply: timeout_reply,
                    durable: Default::default(),
                    after: After::Continue,
                };
            }
            let outcome = self.kv.execute(&mut self.session, request);
            if !matches!(outcome.after, After::Block { .. }) {
                break outcome;
            }
            timeout_reply = outcome.reply;
        };
        self.kv.stop_blocking(&mut self.session);
        self.kv.blocked_clients.fetch_sub(1, Ordering::Relaxed);
        outcome
    }
}

/// Readies `input` for the next read, knowing that the request at its front needs it to grow
/// to `wanted` bytes: a large bulk string is read into a buffer of its size, allocated once
/// (growing by doubling would hold up to twice the bulk), and a buffer that grew for one
/// large request is given back once it is empty, not kept for the life of the connection.
fn make_room(input: &mut BytesMut, wanted: usize) {
    if input.is_empty() && input.capacity() > KEEP_AT_MOST {
        *input = BytesMut::with_capacity(BUFFER);
    }
    let spare = input.capacity() - input.len();
    if wanted > input.len() {
        // Room for the rest of the request, and no more: growing a buffer that is nearly
        // full would double it.
        let need = wanted - input.len();
        if need > spare {
            input.reserve(if need > KEEP_AT_MOST {
                need
            } else {
                need.max(BUFFER)
            });
        }
    } else if spare < 4096 {
        input.reserve(BUFFER);
    }
}

/// Waits until the socket is readable; true if the peer closed it (or it failed).
async fn peer_closed(socket: &TcpStream) -> bool {
    if socket.readable().await.is_err() {
        return true;
    }
    let mut byte = [0u8; 1];
    matches!(socket.peek(&mut byte).await, Ok(0) | Err(_))
}

async fn sleep_or_forever(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_or_forever(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
