//! The PostgreSQL door end to end: a door started in-process on a free loopback port, and
//! tokio-postgres (the driver most Rust programs use) talking to it.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use cairn_kv::{Kv, KvOptions};
use cairn_server::admission::Admission;
use cairn_server::pg::{self, PgDoor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls};

type Fallible<T> = Result<T, Box<dyn StdError + Send + Sync>>;

struct Door {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    _kv: Arc<Kv>,
    _dir: tempfile::TempDir,
}

impl Door {
    async fn start(password: Option<&str>) -> Door {
        Door::start_with(password, None).await
    }

    async fn start_with(password: Option<&str>, tls: Option<pgwire::tokio::TlsAcceptor>) -> Door {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = Kv::open(dir.path().join("kv"), KvOptions::default()).expect("keyspace");
        let db = cairn_sql::Database::open(dir.path().join("sql")).expect("database");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(pg::run(
            listener,
            PgDoor::new(db, password, tls),
            Admission::new(Arc::clone(&kv)),
            stopped,
        ));
        Door {
            addr,
            stop,
            _kv: kv,
            _dir: dir,
        }
    }

    fn config(&self) -> String {
        format!("host=127.0.0.1 port={} user=cairn", self.addr.port())
    }

    async fn connect_with(&self, extra: &str) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) =
            tokio_postgres::connect(&format!("{} {extra}", self.config()), NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    async fn connect(&self) -> Client {
        self.connect_with("").await.expect("connect")
    }
}

impl Drop for Door {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A value's bytes as the server sent them, whatever its type.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Fallible<Raw> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A parameter sent as these bytes in binary format, whatever its type.
#[derive(Debug)]
struct RawParam(Vec<u8>);

impl ToSql for RawParam {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Fallible<IsNull> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn code(e: &tokio_postgres::Error) -> Option<&SqlState> {
    e.code()
}

#[tokio::test]
async fn simple_queries_run_every_statement_and_report_the_first_error() {
    let door = Door::start(None).await;
    let client = door.connect().await;
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v text); \
             INSERT INTO t VALUES (1, 'a'), (2, NULL);",
        )
        .await
        .expect("batch");
    let messages = client
        .simple_query("SELECT id, v FROM t ORDER BY id; SELECT count(*) FROM t")
        .await
        .expect("query");
    let rows: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i)).collect::<Vec<_>>())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![Some("1"), Some("a")],
            vec![Some("2"), None],
            vec![Some("2")]
        ]
    );
    // A failing statement in the string rolls back the whole string, as in PostgreSQL.
    let e = client
        .batch_execute("INSERT INTO t VALUES (3, 'c'); SELECT 1/0")
        .await
        .expect_err("division by zero");
    assert_eq!(code(&e), Some(&SqlState::DIVISION_BY_ZERO));
    let count: i64 = client
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 2);
}

#[tokio::test]
async fn prepared_statements_infer_parameter_types_and_are_reused() {
    let door = Door::start(None).await;
    let client = door.connect().await;
    client
        .batch_execute("CREATE TABLE kv (k int PRIMARY KEY, v text, n bigint)")
        .await
        .expect("create");
    let insert = client
        .prepare("INSERT INTO kv VALUES ($1, $2, $3)")
        .await
        .expect("prepare");
    assert_eq!(insert.params(), &[Type::INT4, Type::TEXT, Type::INT8]);
    assert!(insert.columns().is_empty());
    for k in 0..100i32 {
        let n = i64::from(k) * 1_000_000_000;
        let inserted = client
            .execute(&insert, &[&k, &format!("v{k}"), &n])
            .await
            .expect("insert");
        assert_eq!(inserted, 1);
    }
    let select = client
        .prepare("SELECT v, n FROM kv WHERE k = $1")
        .await
        .expect("prepare");
    assert_eq!(select.params(), &[Type::INT4]);
    let types: Vec<_> = select.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, vec![Type::TEXT, Type::INT8]);
    for k in [0i32, 42, 99] {
        let row = client.query_one(&select, &[&k]).await.expect("select");
        assert_eq!(row.get::<_, String>(0), format!("v{k}"));
        assert_eq!(row.get::<_, i64>(1), i64::from(k) * 1_000_000_000);
    }
    // The client may declare a type itself.
    let declared = client
        .prepare_typed("SELECT $1 || 'x'", &[Type::TEXT])
        .await
        .expect("prepare");
    let row = client.query_one(&declared, &[&"a"]).await.expect("query");
    assert_eq!(row.get::<_, String>(0), "ax");
}

#[tokio::test]
async fn every_type_travels_in_binary_as_postgresql_sends_it() {
    let door = Door::start(None).await;
    let client = door.connect().await;
    // (the SQL of a value, its bytes in binary format on PostgreSQL 15)
    let cases: &[(&str, &[u8])] = &[
        ("true", &[1]),
        ("7::smallint", &[0, 7]),
        ("-2::integer", &[0xff, 0xff, 0xff, 0xfe]),
        ("1::bigint", &[0, 0, 0, 0, 0, 0, 0, 1]),
        ("1.5::real", &[0x3f, 0xc0, 0, 0]),
        ("-2::float8", &[0xc0, 0, 0, 0, 0, 0, 0, 0]),
        (
            "12345.678::numeric",
            &[0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c],
        ),
        ("'hé'::text", "hé".as_bytes()),
        ("'ab'::char(3)", b"ab "),
        ("'\\x00ff'::bytea", &[0, 0xff]),
        ("'2000-01-02'::date", &[0, 0, 0, 1]),
        ("'00:00:01'::time", &[0, 0, 0, 0, 0, 0x0f, 0x42, 0x40]),
        (
            "'2000-01-01 00:00:01'::timestamp",
            &[0, 0, 0, 0, 0, 0x0f, 0x42, 0x40],
        ),
        (
            "'2000-01-01 00:00:01+00'::timestamptz",
            &[0, 0, 0, 0, 0, 0x0f, 0x42, 0x40],
        ),
        (
            "'1 mon 2 days 00:00:01'::interval",
            &[0, 0, 0, 0, 0, 0x0f, 0x42, 0x40, 0, 0, 0, 2, 0, 0, 0, 1],
        ),
        (
            "'00000000-0000-0000-0000-000000000001'::uuid",
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ),
        ("'{\"a\":1}'::json", b"{\"a\":1}"),
        ("'{\"a\":1}'::jsonb", b"\x01{\"a\": 1}"),
    ];
    for (sql, bytes) in cases {
        // Results come back in binary from tokio-postgres's extended queries…
        let row = client
            .query_one(&format!("SELECT {sql}"), &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(row.get::<_, Raw>(0), Raw(bytes.to_vec()), "{sql}");
        // …and a parameter sent in binary is the same value (json has no equality
        // operator: its bytes are the check).
        let statement = if sql.contains("json") {
            format!(
                "SELECT true, $1::{}",
                sql.rsplit("::").next().unwrap_or("json")
            )
        } else {
            format!("SELECT $1 = {sql}, $1")
        };
        let statement = client
            .prepare(&statement)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let row = client
            .query_one(&statement, &[&RawParam(bytes.to_vec())])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(row.get::<_, bool>(0), "{sql}");
        assert_eq!(row.get::<_, Raw>(1), Raw(bytes.to_vec()), "{sql}");
    }
    // A parameter whose bytes do not fit its type is refused, and the connection goes on.
    let statement = client.prepare("SELECT $1::int").await.expect("prepare");
    let e = client
        .query_one(&statement, &[&RawParam(vec![1, 2, 3])])
        .await
        .expect_err("three bytes are no integer");
    assert_eq!(code(&e), Some(&SqlState::INVALID_BINARY_REPRESENTATION));
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn portals_return_rows_in_batches_of_the_row_limit() {
    let door = Door::start(None).await;
    let mut client = door.connect().await;
    let transaction = client.transaction().await.expect("begin");
    let statement = transaction
        .prepare("SELECT g FROM generate_series(1, 10) AS g")
        .await
        .expect("prepare");
    let portal = transaction.bind(&statement, &[]).await.expect("bind");
    let mut seen = Vec::new();
    loop {
        let rows = transaction.query_portal(&portal, 4).await.expect("fetch");
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 4);
        seen.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    transaction.commit().await.expect("commit");
}

#[tokio::test]
async fn a_failed_statement_aborts_the_transaction_until_rollback() {
    let door = Door::start(None).await;
    let mut client = door.connect().await;
    client
        .batch_execute("CREATE TABLE u (id int PRIMARY KEY)")
        .await
        .expect("create");
    let transaction = client.transaction().await.expect("begin");
    transaction
        .execute("INSERT INTO u VALUES (1)", &[])
        .await
        .expect("insert");
    let e = transaction
        .execute("INSERT INTO u VALUES (1)", &[])
        .await
        .expect_err("duplicate");
    assert_eq!(code(&e), Some(&SqlState::UNIQUE_VIOLATION));
    let e = transaction
        .execute("SELECT 1", &[])
        .await
        .expect_err("aborted");
    assert_eq!(code(&e), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    transaction.rollback().await.expect("rollback");
    let count: i64 = client
        .query_one("SELECT count(*) FROM u", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 0);
    // Errors carry PostgreSQL's message and position.
    let e = client
        .simple_query("SELECT * FROM nosuch")
        .await
        .expect_err("undefined table");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code(), &SqlState::UNDEFINED_TABLE);
    assert_eq!(db.message(), "relation \"nosuch\" does not exist");
    assert_eq!(
        db.position(),
        Some(&tokio_postgres::error::ErrorPosition::Original(15))
    );
    // Parse reports a bad statement before anything runs.
    let e = client
        .prepare("SELECT nosuch FROM u")
        .await
        .expect_err("undefined column");
    assert_eq!(code(&e), Some(&SqlState::UNDEFINED_COLUMN));
}

#[tokio::test]
async fn a_password_is_checked_with_scram() {
    let door = Door::start(Some("s3cret")).await;
    let e = door
        .connect_with("password=wrong")
        .await
        .expect_err("wrong password");
    assert_eq!(code(&e), Some(&SqlState::INVALID_PASSWORD));
    assert!(door.connect_with("").await.is_err(), "no password");
    let client = door
        .connect_with("password=s3cret")
        .await
        .expect("right password");
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(one, 1);
}

/// Reads until the server closes the connection; false if it is still open after 10 s.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut sink = vec![0u8; 64 << 10];
    let read_all = async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read_all)
        .await
        .is_ok()
}

fn startup_packet() -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0cairn\0\0");
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    packet
}

#[tokio::test]
async fn a_stranger_cannot_make_the_server_buffer_a_claimed_gigabyte() {
    let door = Door::start(Some("s3cret")).await;
    // A startup packet claiming a gigabyte: refused outright.
    let mut stream = TcpStream::connect(door.addr).await.expect("connect");
    stream
        .write_all(&0x4000_0000i32.to_be_bytes())
        .await
        .expect("write");
    stream.write_all(&[0; 4]).await.expect("write");
    assert!(closed_by_server(&mut stream).await);
    // A valid startup, then a password message claiming a gigabyte and bytes after it:
    // the connection is closed once it has sent more than the pre-authentication cap.
    let mut stream = TcpStream::connect(door.addr).await.expect("connect");
    stream.write_all(&startup_packet()).await.expect("write");
    let mut claimed = vec![b'p'];
    claimed.extend_from_slice(&0x3fff_0000i32.to_be_bytes());
    stream.write_all(&claimed).await.expect("write");
    let chunk = vec![b'x'; 16 << 10];
    let mut sent = 0;
    while sent < (1 << 20) {
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert!(sent < (1 << 20) || closed_by_server(&mut stream).await);
    assert!(closed_by_server(&mut stream).await);
    // The door still serves others.
    let client = door.connect_with("password=s3cret").await.expect("connect");
    client.simple_query("SELECT 1").await.expect("query");
}

#[tokio::test]
async fn malformed_frontend_messages_close_the_connection_with_an_error() {
    let door = Door::start(None).await;
    for garbage in [
        // an unknown message type
        vec![b'!', 0, 0, 0, 4],
        // a length shorter than the length field itself
        vec![b'Q', 0, 0, 0, 2],
        // a negative length
        vec![b'Q', 0xff, 0xff, 0xff, 0xff],
        // a Bind claiming more parameters than it carries
        vec![b'B', 0, 0, 0, 12, 0, 0, 0, 0, 0xff, 0xff, 0, 0],
    ] {
        let mut stream = TcpStream::connect(door.addr).await.expect("connect");
        stream.write_all(&startup_packet()).await.expect("write");
        stream.write_all(&garbage).await.expect("write");
        assert!(closed_by_server(&mut stream).await, "{garbage:?}");
    }
    let client = door.connect().await;
    client.simple_query("SELECT 1").await.expect("query");
}

#[tokio::test]
async fn copy_loads_and_unloads_rows_and_a_bad_row_loads_nothing() {
    use futures::{SinkExt, StreamExt};
    let door = Door::start(None).await;
    let client = door.connect().await;
    client
        .batch_execute("CREATE TABLE c (id int PRIMARY KEY, name text)")
        .await
        .expect("create");
    // COPY FROM STDIN over the extended protocol, in pieces that split rows.
    let sink = client
        .copy_in("COPY c FROM STDIN WITH (FORMAT csv)")
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    for piece in ["1,one\n2,", "two\n3,\"th,ree\"\n", "4,\n"] {
        sink.send(bytes::Bytes::from(piece)).await.expect("send");
    }
    assert_eq!(sink.finish().await.expect("finish"), 4);
    // COPY TO STDOUT: one CopyData a row.
    let stream = client
        .copy_out("COPY (SELECT * FROM c ORDER BY id) TO STDOUT")
        .await
        .expect("copy out");
    let chunks: Vec<_> = stream.collect().await;
    let text: String = chunks
        .into_iter()
        .map(|c| String::from_utf8(c.expect("data").to_vec()).expect("utf-8"))
        .collect();
    assert_eq!(text, "1\tone\n2\ttwo\n3\tth,ree\n4\t\\N\n");
    // A bad row: PostgreSQL's error with the line, and none of the rows loaded.
    let sink = client.copy_in("COPY c FROM STDIN").await.expect("copy in");
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from("10\tten\n11\televen\nx\ty\n"))
        .await
        .expect("send");
    let e = sink.finish().await.expect_err("bad row");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code(), &SqlState::INVALID_TEXT_REPRESENTATION);
    assert_eq!(db.where_(), Some("COPY c, line 3, column id: \"x\""));
    let count: i64 = client
        .query_one("SELECT count(*) FROM c", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 4);
}

#[tokio::test]
async fn a_cancel_request_stops_the_running_query_and_settings_answer() {
    let door = Door::start(None).await;
    let client = door.connect().await;
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        token.cancel_query(NoTls).await
    });
    let e = client
        .simple_query("SELECT count(*) FROM generate_series(1, 2000000000)")
        .await
        .expect_err("cancelled");
    assert_eq!(code(&e), Some(&SqlState::QUERY_CANCELED));
    canceller.await.expect("task").expect("cancel request");
    // The connection goes on, and its settings are PostgreSQL's.
    client
        .batch_execute("SET application_name = 'tests'; SET extra_float_digits = 3")
        .await
        .expect("set");
    let row = client
        .query_one(
            "SELECT current_setting('application_name'), current_setting('DateStyle')",
            &[],
        )
        .await
        .expect("settings");
    assert_eq!(row.get::<_, String>(0), "tests");
    assert_eq!(row.get::<_, String>(1), "ISO, MDY");
    let shown = client
        .simple_query("SHOW TRANSACTION ISOLATION LEVEL")
        .await
        .expect("show");
    assert!(shown.iter().any(|m| matches!(
        m,
        tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("read committed")
    )));
}

#[tokio::test]
async fn tls_is_offered_with_a_certificate_and_refused_without() {
    use pgwire::tokio::tokio_rustls::{rustls, TlsConnector};
    let ssl_request = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    // Without a certificate: `N`, and the client may go on in the clear.
    let door = Door::start(None).await;
    let mut stream = TcpStream::connect(door.addr).await.expect("connect");
    stream.write_all(&ssl_request).await.expect("write");
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer).await.expect("read");
    assert_eq!(&answer, b"N");
    // With one: `S`, a TLS handshake, then the startup over TLS.
    let dir = tempfile::tempdir().expect("tempdir");
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).expect("write cert");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write key");
    let acceptor = pg::tls_acceptor(&cert, &key).expect("acceptor");
    let door = Door::start_with(None, Some(acceptor)).await;
    let mut stream = TcpStream::connect(door.addr).await.expect("connect");
    stream.write_all(&ssl_request).await.expect("write");
    stream.read_exact(&mut answer).await.expect("read");
    assert_eq!(&answer, b"S");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(generated.cert.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .expect("handshake");
    tls.write_all(&startup_packet()).await.expect("startup");
    let mut reply = [0u8; 9];
    tls.read_exact(&mut reply).await.expect("reply");
    // AuthenticationOk: 'R', length 8, code 0.
    assert_eq!(reply, [b'R', 0, 0, 0, 8, 0, 0, 0, 0]);
    // A file that holds no certificate is refused with a reason.
    std::fs::write(&cert, "not a certificate").expect("write");
    assert!(pg::tls_acceptor(&cert, &key).is_err());
}

#[tokio::test]
async fn drivers_read_the_system_catalog_oids_and_arrays() {
    let door = Door::start(None).await;
    let client = door.connect_with("dbname=shop").await.expect("connect");
    client
        .batch_execute(
            "CREATE TABLE item (id int PRIMARY KEY, name varchar(20) NOT NULL, tags text);
             CREATE INDEX item_name ON item (name);",
        )
        .await
        .expect("create");
    // oid columns are PostgreSQL's oid type: a driver reads them as u32.
    let row = client
        .query_one(
            "SELECT c.oid, c.relname, c.relkind FROM pg_catalog.pg_class c \
             WHERE c.relname = $1 AND pg_catalog.pg_table_is_visible(c.oid)",
            &[&"item"],
        )
        .await
        .expect("pg_class");
    assert_eq!(row.columns()[0].type_(), &Type::OID);
    let oid: u32 = row.get(0);
    assert!(oid >= 16384);
    assert_eq!(row.get::<_, String>(2), "r");
    // The same oid through regclass, and back to the name.
    let row = client
        .query_one(
            "SELECT 'item'::regclass::oid, $1::oid::regclass::text",
            &[&oid],
        )
        .await
        .expect("regclass");
    assert_eq!(row.get::<_, u32>(0), oid);
    assert_eq!(row.get::<_, String>(1), "item");
    // The columns as psql's \d reads them.
    let columns: Vec<(String, String, bool)> = client
        .query(
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull \
             FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 \
             AND NOT a.attisdropped ORDER BY a.attnum",
            &[&oid],
        )
        .await
        .expect("pg_attribute")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("id".into(), "integer".into(), true),
            ("name".into(), "character varying(20)".into(), true),
            ("tags".into(), "text".into(), false),
        ]
    );
    let indexdef: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'item_name'",
            &[],
        )
        .await
        .expect("pg_indexes")
        .get(0);
    assert_eq!(
        indexdef,
        "CREATE INDEX item_name ON public.item USING btree (name)"
    );
    // Arrays in both directions, binary.
    let row = client
        .query_one(
            "SELECT ARRAY[1, 2, NULL], $1::int[], 3 = ANY ($1), $2::text[]",
            &[&vec![3i32, 4], &vec!["a b", "c"]],
        )
        .await
        .expect("arrays");
    assert_eq!(
        row.get::<_, Vec<Option<i32>>>(0),
        vec![Some(1), Some(2), None]
    );
    assert_eq!(row.get::<_, Vec<i32>>(1), vec![3, 4]);
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, Vec<String>>(3), vec!["a b", "c"]);
    // Who the session is: the user and database the client logged in with.
    let row = client
        .query_one(
            "SELECT current_user, current_database(), pg_backend_pid()",
            &[],
        )
        .await
        .expect("identity");
    assert_eq!(row.get::<_, String>(0), "cairn");
    assert_eq!(row.get::<_, String>(1), "shop");
    assert!(row.get::<_, i32>(2) > 0);
    // A prepared query of pg_settings sees each SET: its plan is not kept.
    let setting = client
        .prepare("SELECT setting FROM pg_settings WHERE name = 'work_mem'")
        .await
        .expect("prepare");
    let before: String = client.query_one(&setting, &[]).await.expect("q").get(0);
    client
        .batch_execute("SET work_mem = '8MB'")
        .await
        .expect("set");
    let after: String = client.query_one(&setting, &[]).await.expect("q").get(0);
    assert_eq!((before.as_str(), after.as_str()), ("64MB", "8MB"));
}
