//! What a client cannot make the Redis door do: hold large input before it authenticates,
//! open a server with an empty password, or pass Redis's configurable protocol limits.

mod support;

use cairn_kv::KvOptions;
use support::TestServer;

fn with_password(password: &str) -> KvOptions {
    KvOptions {
        requirepass: Some(password.into()),
        ..KvOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_has_not_authenticated_cannot_send_large_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), with_password("s3cret")).await;

    // The header of a 500 MB AUTH argument is refused at once: no body needs to arrive.
    let mut r = server.raw().await;
    r.send_bytes(b"*2\r\n$4\r\nAUTH\r\n$500000000\r\n").await;
    assert_eq!(
        r.reply().await,
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    assert!(r.closed().await);

    let mut r = server.raw().await;
    let many: Vec<&str> = std::iter::once("DEL").chain(["k"; 11]).collect();
    r.send(&many).await;
    assert_eq!(
        r.reply().await,
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    assert!(r.closed().await);

    // Small requests get NOAUTH as before; AUTH then lifts the limits for what follows it,
    // in the same pipeline too.
    let mut r = server.raw().await;
    assert_eq!(
        r.call(&["GET", "k"]).await,
        "-NOAUTH Authentication required.\r\n"
    );
    let big = "v".repeat(100_000);
    let mut pipeline = Vec::new();
    for args in [
        &["AUTH", "s3cret"][..],
        &["SET", "k", &big],
        &["STRLEN", "k"],
    ] {
        pipeline.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            pipeline.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }
    r.send_bytes(&pipeline).await;
    assert_eq!(r.reply().await, "+OK\r\n");
    assert_eq!(r.reply().await, "+OK\r\n");
    assert_eq!(r.reply().await, ":100000\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_password_is_no_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), with_password("")).await;
    let mut r = server.raw().await;
    assert_eq!(
        r.call(&["SET", "k", "v"]).await,
        "+OK\r\n",
        "no AUTH needed"
    );
    assert_eq!(
        r.call(&["AUTH", ""]).await,
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    server.stop().await;

    // A server listening beyond loopback keeps its password.
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), with_password("pw")).await;
    server.kv.credentials().set_exposed(true);
    let mut r = server.raw().await;
    assert_eq!(r.call(&["AUTH", "pw"]).await, "+OK\r\n");
    assert_eq!(
        r.call(&["CONFIG", "SET", "requirepass", ""]).await,
        "-ERR CONFIG SET failed (possibly related to argument 'requirepass') - an empty password would leave a server listening beyond loopback open to anyone\r\n"
    );
    assert_eq!(
        r.call(&["CONFIG", "SET", "requirepass", "new"]).await,
        "+OK\r\n"
    );
    let mut fresh = server.raw().await;
    assert_eq!(
        fresh.call(&["AUTH", "pw"]).await,
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(fresh.call(&["AUTH", "new"]).await, "+OK\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proto_max_bulk_len_and_the_query_buffer_limit_are_redis_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    assert_eq!(
        r.call(&["CONFIG", "GET", "proto-max-bulk-len"]).await,
        "*2\r\n$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n"
    );
    assert_eq!(
        r.call(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"])
            .await,
        "+OK\r\n"
    );
    assert_eq!(
        r.call(&["CONFIG", "SET", "proto-max-bulk-len", "1000"]).await,
        "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 536870912 inclusive\r\n"
    );
    // A string of exactly the limit is allowed; APPEND and SETRANGE cannot pass it.
    let exact = "x".repeat(1 << 20);
    assert_eq!(r.call(&["SET", "k", &exact]).await, "+OK\r\n");
    assert_eq!(
        r.call(&["APPEND", "k", "y"]).await,
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(
        r.call(&["SETRANGE", "k", "1048576", "y"]).await,
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    // Refused from its header: the server answers and closes without reading the body.
    r.send_bytes(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n")
        .await;
    assert_eq!(
        r.reply().await,
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(r.closed().await);

    // A client whose unparsed input passes client-query-buffer-limit is closed.
    let mut r = server.raw().await;
    assert_eq!(
        r.call(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"])
            .await,
        "+OK\r\n"
    );
    let mut flood = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n".to_vec();
    flood.extend_from_slice(b"$1000000\r\n");
    flood.extend_from_slice(&vec![b'z'; 1_000_000]);
    // Not one request: the value's CRLF never comes, and more bytes follow it.
    flood.extend_from_slice(&vec![b'z'; 200_000]);
    let mut stream = r.stream;
    // The server may close before it has read it all.
    let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, &flood).await;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        let mut byte = [0u8; 64];
        loop {
            match stream.read(&mut byte).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "the flooding client is closed");
    let mut r = server.raw().await;
    assert_eq!(r.call(&["STRLEN", "k"]).await, ":1048576\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_a_million_arguments_arriving_in_pieces_is_taken_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), KvOptions::default()).await;
    let mut r = server.raw().await;
    // Over the 1,048,576 arguments the door used to refuse.
    let members = 1_100_000usize;
    let mut request = format!("*{}\r\n$4\r\nSADD\r\n$1\r\ns\r\n", members + 2).into_bytes();
    for i in 0..members {
        let m = i.to_string();
        request.extend_from_slice(format!("${}\r\n{m}\r\n", m.len()).as_bytes());
    }
    for chunk in request.chunks(64 << 10) {
        r.send_bytes(chunk).await;
    }
    assert_eq!(r.reply().await, format!(":{members}\r\n"));
    server.stop().await;
}
