//! `cairn check` and `cairn repair` on the data directory of a stopped `cairn serve`: a
//! server refuses a keyspace whose metadata was deleted instead of starting empty, check
//! names the damage of each store, repair brings back every undamaged key.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{free_port, start_server, wait_ready, Client, Value};

fn cairn(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run cairn")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const KEYS: usize = 6001;

/// Fills a data directory with `KEYS` keys, and a blob when `blob` is given; stops the server.
fn filled(data: &Path, blob: Option<&[u8]>) {
    let port = free_port();
    let mut child = start_server(data, port);
    let mut client = wait_ready(port, &mut child);
    for i in 0..KEYS {
        let key = format!("key:{i}");
        let value = format!("value-{i}");
        assert_eq!(
            client.call(&["SET", &key, &value]).expect("SET"),
            Value::Status("OK".into())
        );
    }
    let _ = client.call(&["SHUTDOWN"]);
    let _ = child.wait();
    if let Some(bytes) = blob {
        let file = data.join("upload.bin");
        std::fs::write(&file, bytes).expect("write");
        let added = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["blob", "add", "--as", "file.bin"])
            .arg(&file)
            .arg("--data")
            .arg(data)
            .output()
            .expect("cairn blob add");
        assert!(added.status.success(), "{}", text(&added));
    }
}

fn dbsize(data: &Path) -> i64 {
    let port = free_port();
    let mut child = start_server(data, port);
    let mut client: Client = wait_ready(port, &mut child);
    let Value::Int(n) = client.call(&["DBSIZE"]).expect("DBSIZE") else {
        panic!("DBSIZE");
    };
    let _ = client.call(&["SHUTDOWN"]);
    let _ = child.wait();
    n
}

#[test]
fn a_deleted_metadata_file_is_refused_then_repaired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    filled(data, None);
    let sound = cairn(&["check"], data);
    assert!(sound.status.success(), "{}", text(&sound));
    assert!(text(&sound).contains("sound"));

    let segments_before: u64 = std::fs::read_dir(data.join("kv/segments"))
        .expect("ls")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum();
    std::fs::remove_file(data.join("kv/index/metadata.meta")).expect("rm");
    // The server refuses to start, and truncates nothing.
    let port = free_port();
    let serve = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--redis-port", &port.to_string()])
        .args([
            "--http-port",
            &free_port().to_string(),
            "--pg-port",
            "0",
            "--data",
        ])
        .arg(data)
        .output()
        .expect("cairn serve");
    assert!(!serve.status.success());
    assert!(
        text(&serve).contains("metadata.meta is missing"),
        "{}",
        text(&serve)
    );
    let segments_after: u64 = std::fs::read_dir(data.join("kv/segments"))
        .expect("ls")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum();
    assert_eq!(segments_before, segments_after, "nothing was truncated");

    let checked = cairn(&["check"], data);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    assert!(
        text(&checked).contains("metadata.meta"),
        "{}",
        text(&checked)
    );
    let repaired = cairn(&["repair"], data);
    assert!(repaired.status.success(), "{}", text(&repaired));
    assert!(cairn(&["check"], data).status.success());
    assert_eq!(dbsize(data), KEYS as i64, "every key is back");
}

#[test]
fn check_names_a_damaged_record_and_a_damaged_atom_and_repair_loses_only_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    filled(data, Some(&support::noise(300_000, 9)));
    // A byte of the value of one key.
    let needle = b"value-4242";
    let (segment, at) = std::fs::read_dir(data.join("kv/segments"))
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .find_map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            let at = bytes.windows(needle.len()).position(|w| w == needle)?;
            Some((p, at))
        })
        .expect("the record of key:4242");
    let mut bytes = std::fs::read(&segment).expect("read");
    bytes[at + 2] ^= 0x20;
    std::fs::write(&segment, bytes).expect("write");
    // A byte of one atom of the blob.
    let atom = walk(&data.join("blob/atoms"))
        .into_iter()
        .next()
        .expect("an atom");
    let mut bytes = std::fs::read(&atom).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&atom, bytes).expect("write");

    let checked = cairn(&["check"], data);
    let out = text(&checked);
    assert_eq!(checked.status.code(), Some(1), "{out}");
    assert!(out.contains(&segment.display().to_string()), "{out}");
    assert!(out.contains("corrupt atom"), "{out}");
    assert!(out.contains("blob index") && out.contains("sound"), "{out}");

    let repaired = cairn(&["repair"], data);
    let out = text(&repaired);
    assert!(repaired.status.success(), "{out}");
    assert!(out.contains("lost:"), "{out}");
    assert!(out.contains("blob index: sound"), "{out}");
    assert_eq!(
        dbsize(data),
        KEYS as i64 - 1,
        "only the damaged key is lost"
    );
    let aside = std::fs::read_dir(data)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("damaged-"))
        .expect("the damaged store kept aside");
    assert!(data.join(aside).join("kv/segments").exists());
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("ls") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
