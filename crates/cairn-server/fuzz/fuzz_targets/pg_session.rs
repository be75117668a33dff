//! Arbitrary bytes from a client, as the PostgreSQL door receives them after TLS
//! negotiation: framed, decoded by pgwire and run against a database, in memory. Whatever
//! the bytes — malformed lengths, unknown message types, a 1 GB length header, statements
//! that fail — the connection must end with an answer or an error, never a panic, and
//! without allocating what a length claims.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::BytesMut;
use cairn_server::pg::{serve_messages, PgDoor};
use libfuzzer_sys::fuzz_target;
use pgwire::api::DefaultClient;
use pgwire::tokio::server::PgWireMessageServerCodec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Harness {
    _dir: tempfile::TempDir,
    door: Arc<PgDoor>,
    runtime: tokio::runtime::Runtime,
}

/// One database and runtime for the whole fuzzing process.
fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = cairn_sql::Database::open(dir.path().join("sql")).expect("database");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Harness {
            _dir: dir,
            door: PgDoor::new(db, None, None),
            runtime,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    harness.runtime.block_on(async {
        let (client, server) = tokio::io::duplex(64 << 10);
        let client_info = DefaultClient::new("127.0.0.1:5432".parse().expect("address"), false);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let served = tokio::spawn(serve_messages(
            server,
            PgWireMessageServerCodec::new(client_info),
            BytesMut::new(),
            Arc::clone(&harness.door),
            deadline,
        ));
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let input = data.to_vec();
        let writer = tokio::spawn(async move {
            let _ = to_server.write_all(&input).await;
            let _ = to_server.shutdown().await;
        });
        let mut answer = Vec::new();
        let _ = from_server.read_to_end(&mut answer).await;
        let _ = writer.await;
        if let Err(e) = served.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    });
});
