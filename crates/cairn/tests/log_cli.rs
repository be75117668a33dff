//! `cairn log …` as a person uses it: values set in one process are read in the next.

use std::process::Command;

fn cairn(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .output()
        .expect("run cairn");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn put_get_del_and_keys_across_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("kv");
    let store = store.to_str().expect("utf-8 path");
    assert_eq!(
        cairn(&["log", "put", store, "greeting", "hello"]),
        (true, "OK\n".into())
    );
    assert_eq!(
        cairn(&["log", "put", store, "other", "x"]),
        (true, "OK\n".into())
    );
    assert_eq!(
        cairn(&["log", "get", store, "greeting"]),
        (true, "hello\n".into())
    );
    let (ok, keys) = cairn(&["log", "keys", store]);
    assert!(ok);
    let mut keys: Vec<&str> = keys.lines().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["greeting", "other"]);
    assert_eq!(
        cairn(&["log", "del", store, "greeting"]),
        (true, "1\n".into())
    );
    assert_eq!(
        cairn(&["log", "del", store, "greeting"]),
        (true, "0\n".into())
    );
    let (found, _) = cairn(&["log", "get", store, "greeting"]);
    assert!(!found, "a missing key exits non-zero");
    let (ok, stats) = cairn(&["log", "stats", store]);
    assert!(ok && stats.contains("live_keys:              1"), "{stats}");
}

#[test]
fn a_store_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = cairn_log::Store::open(dir.path(), cairn_log::Options::default()).expect("open");
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["log", "get", dir.path().to_str().expect("utf-8"), "k"])
        .output()
        .expect("run cairn");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another process"), "{err}");
    store.close().expect("close");
}
