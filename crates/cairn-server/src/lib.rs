//! cairn-server: the network doors — the Redis door (RESP framing in `resp.rs`, the listener
//! and connections in `redis.rs`) and the blob door (HTTP, `http.rs`) — and [`serve`], which
//! opens the data directory and runs the doors until shutdown.
//!
//! Every door binds 127.0.0.1 by default and refuses to bind another address unless
//! authentication is configured.

pub mod admission;
mod http;
pub mod pg;
mod redis;
pub mod resp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use cairn_blob::BlobStore;
use cairn_kv::{Kv, KvOptions};

use crate::admission::Admission;

pub use http::run as run_http;
pub use redis::run as run_redis;

/// What `cairn serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub redis_addr: SocketAddr,
    /// Where the blob door listens; `None` to run without it.
    pub http_addr: Option<SocketAddr>,
    /// Where the PostgreSQL door listens; `None` to run without it.
    pub pg_addr: Option<SocketAddr>,
    /// The PostgreSQL door's TLS certificate chain and private key (PEM files), if it
    /// offers TLS.
    pub pg_tls: Option<(PathBuf, PathBuf)>,
    /// Where the blob store keeps atoms, as a URL (see `cairn_blob::Options::backend_url`).
    pub blob_backend: Option<String>,
    pub kv: KvOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("refusing to listen on {0} without a password: set --requirepass, or bind a loopback address")]
    OpenBindWithoutAuth(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The Redis keyspace would not open; the engine's error is the source.
    #[error("cannot open the Redis keyspace in {dir}: {source}")]
    OpenKeyspace {
        dir: PathBuf,
        #[source]
        source: cairn_kv::KvError,
    },
    /// The blob store would not open; its error is the source.
    #[error("cannot open the blob store in {dir}: {source}")]
    OpenBlobStore {
        dir: PathBuf,
        #[source]
        source: cairn_blob::Error,
    },
    /// The TLS certificate or key would not load.
    #[error("cannot use the TLS certificate: {0}")]
    Tls(String),
    /// The SQL database would not open; its error is the source.
    #[error("cannot open the SQL database in {dir}: {source}")]
    OpenDatabase {
        dir: PathBuf,
        #[source]
        source: cairn_sql::Error,
    },
}

/// Opens the Redis keyspace of `options.data_dir` (its `kv/` directory).
pub fn open_keyspace(options: &ServeOptions) -> Result<Arc<Kv>, ServeError> {
    let dir = options.data_dir.join("kv");
    Kv::open(&dir, options.kv.clone()).map_err(|source| ServeError::OpenKeyspace { dir, source })
}

/// Opens the blob store of `options.data_dir` (its `blob/` directory).
pub fn open_blob_store(options: &ServeOptions) -> Result<Arc<BlobStore>, ServeError> {
    let dir = options.data_dir.join("blob");
    let blob_options = cairn_blob::Options {
        backend_url: options.blob_backend.clone(),
        ..cairn_blob::Options::default()
    };
    BlobStore::open(&dir, blob_options)
        .map(Arc::new)
        .map_err(|source| ServeError::OpenBlobStore { dir, source })
}

/// Opens the SQL database of `options.data_dir` (its `sql/` directory).
pub fn open_database(options: &ServeOptions) -> Result<Arc<cairn_sql::Database>, ServeError> {
    let dir = options.data_dir.join("sql");
    cairn_sql::Database::open(&dir).map_err(|source| ServeError::OpenDatabase { dir, source })
}

/// The listen backlog: Redis's `tcp-backlog` default (the kernel caps it at somaxconn).
const LISTEN_BACKLOG: u32 = 511;

/// A listener on `addr`, reusing the address as Redis does (a restart need not wait out
/// TIME_WAIT), with Redis's backlog.
async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    let listen = || {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    };
    listen().map_err(|source| ServeError::Bind { addr, source })
}

/// Runs the doors until `shutdown` completes (or a client sends SHUTDOWN).
pub async fn serve(
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    // An empty password is no password.
    let has_password = options
        .kv
        .requirepass
        .as_deref()
        .is_some_and(|p| !p.is_empty());
    let mut exposed = false;
    for addr in std::iter::once(options.redis_addr)
        .chain(options.http_addr)
        .chain(options.pg_addr)
    {
        if !addr.ip().is_loopback() {
            if !has_password {
                return Err(ServeError::OpenBindWithoutAuth(addr));
            }
            exposed = true;
        }
    }
    crate::admission::raise_fd_limit();
    let kv = open_keyspace(&options)?;
    kv.credentials().set_exposed(exposed);
    let admission = Admission::new(Arc::clone(&kv));
    let listener = bind(options.redis_addr).await?;
    let local = listener.local_addr().unwrap_or(options.redis_addr);
    kv.info_fields
        .lock()
        .push(("tcp_port".into(), local.port().to_string()));
    tracing::info!(
        "Redis door listening on {local}, data in {}",
        options.data_dir.display()
    );
    let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
    let http = match options.http_addr {
        Some(addr) => {
            let store = open_blob_store(&options)?;
            let http_listener = bind(addr).await?;
            let local = http_listener.local_addr().unwrap_or(addr);
            tracing::info!("blob door listening on http://{local}");
            Some(tokio::spawn(run_http(
                http_listener,
                store,
                options.data_dir.join("blob"),
                kv.credentials(),
                Arc::clone(&admission),
                http_stopped,
            )))
        }
        None => None,
    };
    let pg = match options.pg_addr {
        Some(addr) => {
            let db = open_database(&options)?;
            let pg_listener = bind(addr).await?;
            let local = pg_listener.local_addr().unwrap_or(addr);
            tracing::info!("PostgreSQL door listening on {local}");
            let tls = match &options.pg_tls {
                Some((cert, key)) => Some(pg::tls_acceptor(cert, key).map_err(ServeError::Tls)?),
                None => None,
            };
            let door = pg::PgDoor::new(db, options.kv.requirepass.as_deref(), tls);
            Some(tokio::spawn(pg::run(
                pg_listener,
                door,
                Arc::clone(&admission),
                stop_http.subscribe(),
            )))
        }
        None => None,
    };
    run_redis(listener, kv, admission, shutdown).await;
    let _ = stop_http.send(true);
    if let Some(http) = http {
        let _ = http.await;
    }
    if let Some(pg) = pg {
        let _ = pg.await;
    }
    Ok(())
}
