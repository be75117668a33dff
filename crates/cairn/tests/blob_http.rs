//! The blob door of `cairn serve`, spoken to over plain HTTP/1.1: uploads, downloads whole
//! and by range, components, listings, deletes, and the errors a client must be able to
//! tell apart.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    redis_port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Server {
    start_with(dir, &[])
}

fn start_with(dir: &std::path::Path, extra: &[&str]) -> Server {
    let port = support::free_port();
    let redis_port = support::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("serve")
        .args(extra)
        .arg("--redis-port")
        .arg(redis_port.to_string())
        .arg("--http-port")
        .arg(port.to_string())
        .args(["--pg-port", "0"])
        .arg("--data")
        .arg(dir)
        .env("CAIRN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cairn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the blob door did not open");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        port,
        redis_port,
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

#[test]
fn put_get_range_head_list_atoms_stats_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let port = server.port;
    let data = support::noise(700_000, 1);

    let put = request(port, "PUT", "/blobs/video%20one.bin", &[], &data);
    assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(put.json()["version"], 1);
    assert_eq!(put.json()["size"], 700_000);

    let get = request(port, "GET", "/blobs/video%20one.bin", &[], b"");
    assert_eq!(get.status, 200);
    assert_eq!(get.body, data);
    assert_eq!(get.header("accept-ranges"), Some("bytes"));

    let range = request(
        port,
        "GET",
        "/blobs/video%20one.bin",
        &[("Range", "bytes=100000-300000")],
        b"",
    );
    assert_eq!(range.status, 206);
    assert_eq!(range.body, &data[100_000..=300_000]);
    assert_eq!(
        range.header("content-range"),
        Some("bytes 100000-300000/700000")
    );
    let suffix = request(
        port,
        "GET",
        "/blobs/video%20one.bin",
        &[("Range", "bytes=-10")],
        b"",
    );
    assert_eq!(suffix.body, &data[700_000 - 10..]);
    let outside = request(
        port,
        "GET",
        "/blobs/video%20one.bin",
        &[("Range", "bytes=800000-")],
        b"",
    );
    assert_eq!(outside.status, 416);

    let head = request(port, "HEAD", "/blobs/video%20one.bin", &[], b"");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("700000"));
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("etag").map(|e| e.len()),
        Some(66),
        "the SHA-256, quoted"
    );

    // A second version; the first stays readable.
    let v2 = [&data[..], b"appended"].concat();
    assert_eq!(
        request(port, "PUT", "/blobs/video%20one.bin", &[], &v2).json()["version"],
        2
    );
    assert_eq!(
        request(port, "GET", "/blobs/video%20one.bin?version=1", &[], b"").body,
        data
    );
    assert_eq!(
        request(port, "GET", "/blobs/video%20one.bin", &[], b"").body,
        v2
    );

    let list = request(port, "GET", "/blobs", &[], b"").json();
    assert_eq!(list[0]["name"], "video one.bin");
    let atoms = request(port, "GET", "/blobs/video%20one.bin/atoms", &[], b"").json();
    assert!(atoms.as_array().is_some_and(|a| a.len() > 5));
    assert!(atoms[0]["atom"]
        .as_str()
        .is_some_and(|a| a.starts_with("atom://sha256:")));
    let stats = request(port, "GET", "/stats", &[], b"").json();
    assert!(
        stats["dedup_ratio"].as_f64().is_some_and(|r| r > 40.0),
        "{stats}"
    );

    assert_eq!(
        request(port, "DELETE", "/blobs/video%20one.bin", &[], b"").status,
        204
    );
    assert_eq!(
        request(port, "GET", "/blobs/video%20one.bin", &[], b"").status,
        404
    );
    assert_eq!(
        request(port, "DELETE", "/blobs/video%20one.bin", &[], b"").status,
        404
    );
}

#[test]
fn bad_requests_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let port = server.port;
    for (method, path, status) in [
        ("PUT", "/blobs/a%2F%2Fb", 400),
        ("PUT", "/blobs/%2Fabs", 400),
        ("PUT", "/blobs/a/../b", 400),
        ("PUT", "/blobs/..", 400),
        ("PUT", "/blobs/nul%00", 400),
        ("GET", "/blobs/missing", 404),
        ("GET", "/nowhere", 404),
        ("POST", "/blobs/x", 405),
        ("GET", "/blobs/x?component=smell", 400),
        ("GET", "/blobs/x?version=two", 400),
    ] {
        let response = request(port, method, path, &[], b"body");
        assert_eq!(response.status, status, "{method} {path}");
        assert!(response.json()["error"].is_string(), "{method} {path}");
    }
    let long = format!("/blobs/{}", "n".repeat(1025));
    assert_eq!(request(port, "PUT", &long, &[], b"x").status, 400);
    // A path of components is a name, encoded or not; its atoms are `…/atoms`.
    assert_eq!(
        request(port, "PUT", "/blobs/photos/2026/a.txt", &[], b"a").status,
        201
    );
    let got = request(port, "GET", "/blobs/photos%2F2026%2Fa.txt", &[], b"");
    assert_eq!((got.status, &got.body[..]), (200, &b"a"[..]));
    assert_eq!(
        request(port, "GET", "/blobs/photos/2026/a.txt/atoms", &[], b"").status,
        200
    );
}

#[test]
fn with_a_password_the_door_wants_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_with(dir.path(), &["--requirepass", "s3cret"]);
    let port = server.port;
    let refused = request(port, "PUT", "/blobs/f", &[], b"data");
    assert_eq!(refused.status, 401);
    let wrong = request(
        port,
        "GET",
        "/blobs",
        &[("Authorization", "Bearer nope")],
        b"",
    );
    assert_eq!(wrong.status, 401);
    let auth = [("Authorization", "Bearer s3cret")];
    assert_eq!(request(port, "PUT", "/blobs/f", &auth, b"data").status, 201);
    assert_eq!(request(port, "GET", "/blobs/f", &auth, b"").body, b"data");

    // A new password set on the Redis door is the blob door's at once.
    let mut redis = TcpStream::connect(("127.0.0.1", server.redis_port)).expect("connect");
    redis
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    redis
        .write_all(b"AUTH s3cret\r\nCONFIG SET requirepass rotated\r\n")
        .expect("write");
    let mut replies = Vec::new();
    while replies.len() < 10 {
        let mut chunk = [0u8; 64];
        let n = redis.read(&mut chunk).expect("read");
        assert!(n > 0, "the Redis door hung up");
        replies.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(replies, b"+OK\r\n+OK\r\n");
    let old = request(port, "GET", "/blobs/f", &auth, b"");
    assert_eq!(
        old.status, 401,
        "the old password no longer opens the blob door"
    );
    let new = [("Authorization", "Bearer rotated")];
    assert_eq!(request(port, "GET", "/blobs/f", &new, b"").body, b"data");
}

#[test]
fn an_empty_password_does_not_open_a_public_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    for env in [false, true] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
        command
            .args(["serve", "--bind", "0.0.0.0", "--data"])
            .arg(dir.path())
            .args(["--redis-port", &support::free_port().to_string()])
            .args(["--http-port", &support::free_port().to_string()])
            .args(["--pg-port", "0"]);
        if env {
            command.env("CAIRN_REQUIREPASS", "");
        } else {
            command.args(["--requirepass", ""]);
        }
        let output = command.output().expect("run cairn serve");
        assert!(!output.status.success(), "it must not start (env: {env})");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("refusing to listen on 0.0.0.0"),
            "env: {env}: {stderr}"
        );
    }
}

/// Sends `bytes` as they are and reads the answer until the server closes (or 10 s pass).
fn raw_exchange(port: u16, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(bytes).expect("write");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

#[test]
fn ranges_codings_and_names_follow_the_rfcs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let port = server.port;
    let data = support::noise(10_000, 7);
    assert_eq!(request(port, "PUT", "/blobs/f", &[], &data).status, 201);

    // An invalid Range is ignored: the whole file, 200.
    for invalid in ["bytes=5-2", "bytes=abc", "bytes=-", "items=0-5"] {
        let get = request(port, "GET", "/blobs/f", &[("Range", invalid)], b"");
        assert_eq!(get.status, 200, "{invalid}");
        assert_eq!(get.body, data, "{invalid}");
    }
    // A last position past u64 means "to the end".
    let get = request(
        port,
        "GET",
        "/blobs/f",
        &[("Range", "bytes=0-18446744073709551615")],
        b"",
    );
    assert_eq!(get.status, 206);
    assert_eq!(get.body, data);
    let past = request(port, "GET", "/blobs/f", &[("Range", "bytes=10000-")], b"");
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */10000"));

    // Codings the door cannot undo are refused, and nothing is stored.
    let gzip = raw_exchange(
        port,
        b"PUT /blobs/g HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert!(gzip.starts_with("HTTP/1.1 501"), "{gzip}");
    let encoded = request(
        port,
        "PUT",
        "/blobs/g",
        &[("Content-Encoding", "gzip")],
        b"abc",
    );
    assert_eq!(encoded.status, 415);
    assert_eq!(request(port, "GET", "/blobs/g", &[], b"").status, 404);
    let chunked = raw_exchange(
        port,
        b"PUT /blobs/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert!(chunked.starts_with("HTTP/1.1 201"), "{chunked}");
    assert_eq!(request(port, "GET", "/blobs/c", &[], b"").body, b"abc");

    // Expect: 100-continue without a body is answered at once.
    let expect = raw_exchange(
        port,
        b"PUT /blobs/e HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(expect.contains("HTTP/1.1 201"), "{expect}");

    // Names with line breaks or bidirectional controls are refused.
    for name in [
        "a%0D%0Ab",
        "a%0Ab",
        "gpj%E2%80%AEexe",
        "a%E2%81%A6b",
        "tab%09",
    ] {
        let put = request(port, "PUT", &format!("/blobs/{name}"), &[], b"x");
        assert_eq!(put.status, 400, "{name}");
        assert!(
            put.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("control character")),
            "{name}"
        );
    }
}

#[test]
fn maxclients_counts_both_doors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let mut redis = support::Client::connect(server.redis_port).expect("connect");
    assert_eq!(
        redis
            .call(&["CONFIG", "SET", "maxclients", "2"])
            .expect("call"),
        support::Value::Status("OK".into())
    );
    // One Redis client and one HTTP connection kept open fill the two places.
    let mut held = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    held.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut first = [0u8; 12];
    held.read_exact(&mut first)
        .expect("the held connection is served");
    assert_eq!(&first, b"HTTP/1.1 200");
    let refused = raw_exchange(
        server.port,
        b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.contains("max number of clients reached"),
        "{refused}"
    );
    let mut third = TcpStream::connect(("127.0.0.1", server.redis_port)).expect("connect");
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reply = String::new();
    let _ = third.read_to_string(&mut reply);
    assert_eq!(reply, "-ERR max number of clients reached\r\n");
    // A place freed is a place taken.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = raw_exchange(
            server.port,
            b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if stats.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed place was not given back"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
