//! The PostgreSQL door: cairn-sql served over PostgreSQL's wire protocol (version 3), so that
//! psql, pgbench and the drivers talk to cairn as they talk to PostgreSQL 15.
//!
//! The protocol's messages, their framing and the SCRAM-SHA-256 exchange are the `pgwire`
//! crate's; what they mean is here and in cairn-sql. The data flows one way:
//!
//! ```text
//!   socket ─ Guarded (pre-auth byte cap) ─ next_message (one whole frame) ─ pgwire decoder
//!          ─ serve_connection ─ Connection (handlers)
//!                                                                             │ jobs
//!                                                             SessionThread (cairn_sql::Session)
//! ```
//!
//! - [`serve_connection`] runs one connection: pgwire's TLS negotiation (an SSLRequest is
//!   answered `S` and the connection goes on over TLS when the door has a certificate,
//!   `--tls-cert`/`--tls-key`, and `N` otherwise), then each frontend message through `pgwire::tokio::server::process_message`
//!   to the handlers of [`connection::Connection`], an error becoming an ErrorResponse.
//! - Authentication: with `--requirepass`, SCRAM-SHA-256 against that password, for any user
//!   name (cairn has one set of credentials, shared with the Redis and blob doors); without
//!   one, every client is trusted, and the door listens only on loopback.
//! - Until a client has authenticated it may send at most [`PRE_AUTH_BYTES`] and must finish
//!   within [`STARTUP_TIMEOUT`]: a stranger cannot make the server buffer a 1 GB message.
//! - Every statement runs on the connection's own thread (`worker.rs`), never on the
//!   runtime's, so a long query or a COMMIT's fsync stalls no other client of any door.

mod connection;
mod framing;
mod worker;

use std::collections::HashMap;
use std::fmt::Debug;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use cairn_sql::Database;
use futures::Sink;
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramAuth};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, AuthSource,
    LoginInfo, Password, ServerParameterProvider, StartupHandler,
};
use pgwire::api::{
    ClientInfo, PgWireConnectionState, PidSecretKeyGenerator, RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{
    negotiate_tls, process_error, process_message, PgWireMessageServerCodec,
};
use pgwire::tokio::TlsAcceptor;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

use crate::admission::{AcceptErrors, Admission};
pub use connection::Connection;
use framing::{next_message, Guarded};

/// The most bytes a client may send before it has authenticated: a startup packet
/// (PostgreSQL caps it at 10,000 bytes) and the SCRAM messages fit many times over.
pub const PRE_AUTH_BYTES: u64 = 64 << 10;

/// How long a client has to authenticate (PostgreSQL's `authentication_timeout`, 1 min).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The SCRAM iteration count (PostgreSQL's `scram_iterations` default).
const SCRAM_ITERATIONS: usize = 4096;

/// What every connection of the door shares.
pub struct PgDoor {
    db: Arc<Database>,
    /// The password's SCRAM verifier (salt, salted password), computed once: PBKDF2 per
    /// connection would put 4,096 HMAC rounds on the runtime thread for every stranger.
    verifier: Option<(Vec<u8>, Vec<u8>)>,
    /// The connections a CancelRequest may name, by process id and secret key.
    cancels: Mutex<HashMap<(i32, Bytes), Weak<Connection>>>,
    pids: RandomPidSecretKeyGenerator,
    /// The TLS the door offers, if it has a certificate.
    tls: Option<TlsAcceptor>,
}

impl PgDoor {
    /// The door to `db`, asking for `password` if there is one, offering `tls` if given.
    pub fn new(db: Arc<Database>, password: Option<&str>, tls: Option<TlsAcceptor>) -> Arc<PgDoor> {
        let verifier = password.map(|password| {
            let salt: [u8; 16] = rand_salt();
            let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
            (salt.to_vec(), salted)
        });
        Arc::new(PgDoor {
            db,
            verifier,
            cancels: Mutex::new(HashMap::new()),
            pids: RandomPidSecretKeyGenerator::default(),
            tls,
        })
    }
}

/// The TLS a door offers with the certificate chain in `cert` and its private key in `key`
/// (PEM files): TLS 1.2 and 1.3, with ALPN `postgresql` for clients that start with TLS.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    use pgwire::tokio::tokio_rustls::rustls;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let read = |path: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| read(cert, &e))?;
    if chain.is_empty() {
        return Err(read(cert, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Sixteen bytes of salt from the kernel's random source (a fixed salt if it cannot be
/// read: the salt only keeps one server's verifier from matching another's).
fn rand_salt() -> [u8; 16] {
    use std::io::Read;
    let mut salt = *b"cairn-scram-salt";
    if let Ok(mut random) = std::fs::File::open("/dev/urandom") {
        let _ = random.read_exact(&mut salt);
    }
    salt
}

/// Accepts connections on `listener` until `stop` turns true, serving each on a task; then
/// gives the open connections five seconds to finish and closes the rest (their sessions
/// roll back what they had not committed).
pub async fn run(
    listener: TcpListener,
    door: Arc<PgDoor>,
    admission: Arc<Admission>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    let mut accept_errors = AcceptErrors::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        while tasks.try_join_next().is_some() {}
        let (socket, _) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_errors.failed("PostgreSQL door", e).await;
                continue;
            }
        };
        let Some(admitted) = admission.admit() else {
            // PostgreSQL's answer, which fits any socket buffer: no waiting on the client.
            let _ = socket.try_write(&too_many_clients());
            continue;
        };
        let door = Arc::clone(&door);
        tasks.spawn(async move {
            let _admitted = admitted;
            if let Err(e) = serve_connection(socket, door).await {
                tracing::debug!("PostgreSQL connection ended: {e}");
            }
        });
    }
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
}

/// `FATAL 53300 sorry, too many clients already` as an ErrorResponse's bytes.
fn too_many_clients() -> Vec<u8> {
    let mut fields = Vec::new();
    for (tag, text) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "53300"),
        (b'M', "sorry, too many clients already"),
    ] {
        fields.push(tag);
        fields.extend_from_slice(text.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&(fields.len() as i32 + 4).to_be_bytes());
    message.extend_from_slice(&fields);
    message
}

/// Serves one client from its first byte to its Terminate (or a fatal error, or its
/// leaving).
pub async fn serve_connection(
    socket: tokio::net::TcpStream,
    door: Arc<PgDoor>,
) -> std::io::Result<()> {
    let startup_deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
    let negotiated = tokio::time::timeout_at(
        startup_deadline,
        negotiate_tls::<connection::Statement>(socket, door.tls.clone()),
    );
    let framed = match negotiated.await {
        Ok(Ok(Some(framed))) => framed,
        Ok(Err(e)) => return Err(e),
        // Out of time, or a direct TLS handshake, which the door does not speak.
        Err(_) | Ok(Ok(None)) => return Ok(()),
    };
    let parts = framed.into_parts();
    serve_messages(
        parts.io,
        parts.codec,
        parts.read_buf,
        door,
        startup_deadline,
    )
    .await
}

/// Serves a client whose startup packet comes next on `io` (after `inbound`, the bytes
/// already read), until it leaves: what [`serve_connection`] does once TLS is settled, over
/// any byte stream (the protocol fuzz target drives it in memory).
pub async fn serve_messages<IO: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static>(
    io: IO,
    codec: PgWireMessageServerCodec<connection::Statement>,
    mut inbound: BytesMut,
    door: Arc<PgDoor>,
    startup_deadline: tokio::time::Instant,
) -> std::io::Result<()> {
    let connection = Arc::new(Connection::new(Arc::clone(&door.db)));
    let startup = Arc::new(Startup::new(&door));
    // Frames are read from the socket by `next_message` into `inbound`; the Framed only
    // writes (and keeps pgwire's connection state).
    let mut socket = Framed::new(Guarded::new(io, PRE_AUTH_BYTES), codec);
    socket.set_state(PgWireConnectionState::AwaitingStartup);
    // Once authenticated, the connection can be cancelled by its key.
    let mut registered: Option<Registered> = None;
    loop {
        let authenticating = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let message = if authenticating {
            let next = next_message(&mut socket, &mut inbound);
            match tokio::time::timeout_at(startup_deadline, next).await {
                Ok(message) => message?,
                Err(_) => return Ok(()),
            }
        } else {
            if registered.is_none() {
                socket.get_mut().authenticated();
                let (pid, key) = socket.pid_and_secret_key();
                let metadata = socket.metadata();
                let user = metadata.get("user").cloned().unwrap_or_default();
                let database = metadata
                    .get("database")
                    .cloned()
                    .unwrap_or_else(|| user.clone());
                connection.identify(worker::Identity {
                    user,
                    database,
                    pid,
                });
                registered = Some(Registered::new(&door, pid, key.to_bytes(), &connection));
            }
            next_message(&mut socket, &mut inbound).await?
        };
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(e)) => {
                // A frame that does not decode (an unknown type, a bad length): PostgreSQL
                // answers a protocol violation and closes the connection.
                let _ = process_error(&mut socket, fatal_protocol_error(e), false).await;
                return Ok(());
            }
            None => return Ok(()),
        };
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            return Ok(());
        }
        let is_cancel = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        let extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let handled = process_message(
            message,
            &mut socket,
            Arc::clone(&startup),
            Arc::clone(&connection),
            Arc::clone(&connection),
            Arc::clone(&connection),
            Arc::new(CancelByKey(Arc::clone(&door))),
        )
        .await;
        if let Err(e) = handled {
            let fatal = e.is_fatal();
            process_error(&mut socket, e, extended).await?;
            if fatal {
                return Ok(());
            }
        }
        if is_cancel {
            return Ok(());
        }
    }
}

/// An undecodable frame as the error the client is told before the connection closes.
fn fatal_protocol_error(e: PgWireError) -> PgWireError {
    if e.is_fatal() {
        return e;
    }
    framing::violation(&format!("invalid frontend message: {e}"))
}

/// A CancelRequest: cancels the statement of the connection whose key it presents (a
/// wrong key does nothing, and the requester is told nothing either way, as in PostgreSQL).
struct CancelByKey(Arc<PgDoor>);

#[async_trait]
impl pgwire::api::cancel::CancelHandler for CancelByKey {
    async fn on_cancel_request(&self, cancel: pgwire::messages::cancel::CancelRequest) {
        let key = (cancel.pid, cancel.secret_key.to_bytes());
        let target = self
            .0
            .cancels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .and_then(Weak::upgrade);
        if let Some(connection) = target {
            connection.cancel();
        }
    }
}

/// A connection's entry among those a CancelRequest may name, removed when it closes.
struct Registered {
    door: Arc<PgDoor>,
    key: (i32, Bytes),
}

impl Registered {
    fn new(door: &Arc<PgDoor>, pid: i32, key: Bytes, connection: &Arc<Connection>) -> Registered {
        let key = (pid, key);
        door.cancels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.clone(), Arc::downgrade(connection));
        Registered {
            door: Arc::clone(door),
            key,
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.door
            .cancels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// The startup phase: trust, or SCRAM-SHA-256 when the door has a password.
enum Startup {
    Trust(Arc<PgDoor>),
    Scram(Box<SASLAuthStartupHandler<ServerParameters>>),
}

impl Startup {
    fn new(door: &Arc<PgDoor>) -> Startup {
        match &door.verifier {
            None => Startup::Trust(Arc::clone(door)),
            Some((salt, salted)) => {
                let source = Arc::new(Verifier {
                    salt: salt.clone(),
                    salted: salted.clone(),
                });
                let mut scram = ScramAuth::new(source);
                scram.set_iterations(SCRAM_ITERATIONS);
                Startup::Scram(Box::new(
                    SASLAuthStartupHandler::new(Arc::new(ServerParameters)).with_scram(scram),
                ))
            }
        }
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let door = match self {
            Startup::Scram(scram) => return scram.on_startup(client, message).await,
            Startup::Trust(door) => door,
        };
        let PgWireFrontendMessage::Startup(startup) = message else {
            return Ok(());
        };
        protocol_negotiation(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);
        let (pid, key) = door.pids.generate(client);
        client.set_pid_and_secret_key(pid, key);
        finish_authentication(client, &ServerParameters).await
    }
}

/// The password's verifier, for the SCRAM exchange.
#[derive(Debug)]
struct Verifier {
    salt: Vec<u8>,
    salted: Vec<u8>,
}

#[async_trait]
impl AuthSource for Verifier {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        Ok(Password::new(Some(self.salt.clone()), self.salted.clone()))
    }
}

/// The ParameterStatus messages after authentication: PostgreSQL 15's, with cairn's
/// settings (UTC, ISO dates, UTF-8).
struct ServerParameters;

/// The version cairn's SQL answers as: PostgreSQL 15's dialect and protocol.
pub const SERVER_VERSION: &str = concat!("15.0 (cairn ", env!("CARGO_PKG_VERSION"), ")");

impl ServerParameterProvider for ServerParameters {
    fn server_parameters<C: ClientInfo>(&self, client: &C) -> Option<HashMap<String, String>> {
        let user = client.metadata().get("user").cloned().unwrap_or_default();
        let application = client
            .metadata()
            .get("application_name")
            .cloned()
            .unwrap_or_default();
        let parameters = [
            ("application_name", application.as_str()),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("default_transaction_read_only", "off"),
            ("in_hot_standby", "off"),
            ("integer_datetimes", "on"),
            ("IntervalStyle", "postgres"),
            ("is_superuser", "on"),
            ("server_encoding", "UTF8"),
            ("server_version", SERVER_VERSION),
            ("session_authorization", user.as_str()),
            ("standard_conforming_strings", "on"),
            ("TimeZone", "UTC"),
        ];
        Some(
            parameters
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}
