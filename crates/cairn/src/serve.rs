//! `cairn serve`: flags (and `CAIRN_*` environment variables) to [`cairn_server::serve`],
//! on a tokio runtime, until Ctrl-C, SIGTERM or a client's SHUTDOWN.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use cairn_kv::{Durability, KvOptions};
use cairn_server::ServeOptions;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AppendFsync {
    /// fsync before every reply that follows a write.
    Always,
    /// fsync once a second (Redis's default).
    Everysec,
    /// Never fsync; leave it to the OS.
    No,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The data directory.
    #[arg(long, env = "CAIRN_DATA", default_value = "cairn-data")]
    data: PathBuf,
    /// Address the doors listen on; anything but loopback needs --requirepass.
    #[arg(long, env = "CAIRN_BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Port of the Redis door.
    #[arg(long, env = "CAIRN_REDIS_PORT", default_value_t = 6379)]
    redis_port: u16,
    /// Port of the blob door (HTTP).
    #[arg(long, env = "CAIRN_HTTP_PORT", default_value_t = 8080)]
    http_port: u16,
    /// Port of the PostgreSQL door (0 picks a free port, logged; `off` runs without it).
    #[arg(long, env = "CAIRN_PG_PORT", default_value = "5432", value_parser = parse_pg_port)]
    pg_port: PgPort,
    /// The PostgreSQL door's TLS certificate chain (PEM); with --tls-key, clients may use
    /// TLS (`sslmode=require`).
    #[arg(long, env = "CAIRN_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "CAIRN_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Where the blob door keeps atoms (s3://bucket/prefix, gs://…, az://…, or a folder);
    /// recorded in the data directory on first use.
    #[arg(long, env = "CAIRN_BLOB_BACKEND")]
    blob_backend: Option<String>,
    /// When acknowledged writes reach the disk.
    #[arg(long, env = "CAIRN_APPENDFSYNC", value_enum, default_value_t = AppendFsync::Everysec)]
    appendfsync: AppendFsync,
    /// Password clients must AUTH with.
    #[arg(long, env = "CAIRN_REQUIREPASS")]
    requirepass: Option<String>,
    /// Close client connections idle for this many seconds (0: never).
    #[arg(long, env = "CAIRN_TIMEOUT", default_value_t = 0)]
    timeout: u64,
    /// Threads running the network doors. Commands on the keyspace run one at a time (as in
    /// Redis), so more threads help only to parse and copy large values; with one, no
    /// thread waits on another for the keyspace lock, and the doors run on tokio's
    /// single-threaded scheduler, whose task switches cost no atomic operations.
    #[arg(long, env = "CAIRN_IO_THREADS", default_value_t = 1)]
    io_threads: usize,
    /// The most clients connected at once over every door (Redis's `maxclients`); lowered to
    /// what the open-files limit allows.
    #[arg(long, env = "CAIRN_MAXCLIENTS", default_value_t = 10_000)]
    maxclients: usize,
    /// Memory for the cache of hot values, in MiB.
    #[arg(long, env = "CAIRN_CACHE_MB", default_value_t = 256)]
    cache_mb: usize,
}

/// `--pg-port`: a port, or `off`.
#[derive(Debug, Clone, Copy)]
pub enum PgPort {
    Off,
    Port(u16),
}

fn parse_pg_port(text: &str) -> Result<PgPort, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(PgPort::Off);
    }
    text.parse()
        .map(PgPort::Port)
        .map_err(|_| format!("`{text}` is not a port number (0–65535) or `off`"))
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    crate::start_allocator_purge();
    let options = ServeOptions {
        data_dir: args.data.clone(),
        redis_addr: SocketAddr::new(args.bind, args.redis_port),
        http_addr: Some(SocketAddr::new(args.bind, args.http_port)),
        pg_addr: match args.pg_port {
            PgPort::Off => None,
            PgPort::Port(port) => Some(SocketAddr::new(args.bind, port)),
        },
        pg_tls: args.tls_cert.zip(args.tls_key),
        blob_backend: args.blob_backend,
        kv: KvOptions {
            appendfsync: match args.appendfsync {
                AppendFsync::Always => Durability::Always,
                AppendFsync::Everysec => Durability::EverySec,
                AppendFsync::No => Durability::No,
            },
            requirepass: args.requirepass.filter(|p| !p.is_empty()),
            maxclients: args.maxclients,
            cache_bytes: args.cache_mb << 20,
            idle_timeout_secs: args.timeout,
            ..KvOptions::default()
        },
    };
    let mut builder = if args.io_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.io_threads);
        b
    };
    let runtime = builder
        .enable_all()
        .thread_name("cairn")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        cairn_server::serve(options, shutdown_signal()).await?;
        tracing::info!("cairn stopped");
        Ok(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing requests and flushing the log");
}
