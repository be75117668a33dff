//! `cairn kv export --json` and `cairn kv import --json`: a keyspace written through the
//! Redis door comes back whole in another data directory, and SHUTDOWN stops the server
//! cleanly.

mod support;

use std::process::Command;

use support::{free_port, start_server, wait_ready, Value};

fn cairn(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .output()
        .expect("run cairn");
    assert!(
        out.status.success(),
        "cairn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bulk(v: Value) -> Option<String> {
    match v {
        Value::Bulk(b) => b.map(|b| String::from_utf8_lossy(&b).into_owned()),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

#[test]
fn a_keyspace_exported_to_json_imports_whole_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    let json = dir.path().join("snapshot.json");
    let port = free_port();
    let mut server = start_server(&src, port);
    let mut c = wait_ready(port, &mut server);
    for cmd in [
        &["SET", "greeting", "hello"][..],
        &["SET", "session", "abc", "EX", "1000"],
        &["HSET", "user:1", "name", "ada", "lang", "rust"],
        &["RPUSH", "queue", "a", "b", "c"],
        &["SADD", "tags", "x", "y"],
        &["ZADD", "board", "1.5", "ann", "-inf", "bob"],
        &["SELECT", "4"],
        &["SET", "in4", "four"],
    ] {
        let reply = c.call(cmd).expect("command");
        assert!(!matches!(reply, Value::Error(_)), "{cmd:?}: {reply:?}");
    }
    // SHUTDOWN closes the connection without a reply and stops the process.
    assert!(c.call(&["SHUTDOWN"]).is_err());
    let status = server.wait().expect("wait");
    assert!(status.success(), "cairn serve exited with {status}");

    let out = cairn(&[
        "kv",
        "export",
        "--json",
        json.to_str().expect("utf-8"),
        "--data",
        src.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.trim(), format!("exported 7 keys to {}", json.display()));
    let text = std::fs::read_to_string(&json).expect("read export");
    let doc: serde_json::Value =
        serde_json::from_str(&text).expect("the export is one JSON document");
    let keys = doc["keys"].as_array().expect("keys");
    let user = keys
        .iter()
        .find(|k| k["key"] == "user:1")
        .expect("user:1 exported");
    assert_eq!(user["type"], "hash");
    assert_eq!(user["value"]["name"], "ada");
    let board = keys
        .iter()
        .find(|k| k["key"] == "board")
        .expect("board exported");
    assert_eq!(
        board["value"],
        serde_json::json!([["bob", "-inf"], ["ann", 1.5]])
    );

    let out = cairn(&[
        "kv",
        "import",
        "--json",
        json.to_str().expect("utf-8"),
        "--data",
        dst.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.trim(),
        format!("imported 7 keys from {}", json.display())
    );
    let port = free_port();
    let mut server = start_server(&dst, port);
    let mut c = wait_ready(port, &mut server);
    assert_eq!(
        bulk(c.call(&["GET", "greeting"]).expect("get")).as_deref(),
        Some("hello")
    );
    assert!(matches!(c.call(&["TTL", "session"]), Ok(Value::Int(t)) if (900..=1000).contains(&t)));
    assert_eq!(
        bulk(c.call(&["HGET", "user:1", "lang"]).expect("hget")).as_deref(),
        Some("rust")
    );
    assert_eq!(
        bulk(c.call(&["LINDEX", "queue", "2"]).expect("lindex")).as_deref(),
        Some("c")
    );
    assert_eq!(c.call(&["SCARD", "tags"]).ok(), Some(Value::Int(2)));
    assert_eq!(
        bulk(c.call(&["ZSCORE", "board", "bob"]).expect("zscore")).as_deref(),
        Some("-inf")
    );
    c.call(&["SELECT", "4"]).expect("select");
    assert_eq!(
        bulk(c.call(&["GET", "in4"]).expect("get")).as_deref(),
        Some("four")
    );
    let _ = server.kill();
    let _ = server.wait();
}
