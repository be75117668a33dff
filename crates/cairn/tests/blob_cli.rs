//! `cairn blob …` as a person uses it, and what a `kill -9` in the middle of `add` or `gc`
//! leaves behind: never a file that does not read back whole, never a lost atom.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

fn cairn(data: &Path, args: &[&str]) -> Output {
    cairn_in(Path::new("."), data, args)
}

#[test]
fn add_get_list_verify_remove_and_collect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let file = dir.path().join("photo.bin");
    let v1 = support::noise(500_000, 1);
    std::fs::write(&file, &v1).expect("write");
    let path = file.to_str().expect("utf-8");
    let added = cairn(&data, &["add", "--as", "photo", path]);
    assert!(added.success, "{}", added.stderr);
    assert!(
        added.stdout.contains("photo") && added.stdout.contains("500000"),
        "{}",
        added.stdout
    );

    let v2 = [&v1[..], b"one more line"].concat();
    std::fs::write(&file, &v2).expect("write");
    assert!(
        cairn(
            &data,
            &["add", "--as", "photo", path, "--compression", "lz4"]
        )
        .success
    );

    let out = dir.path().join("out.bin");
    let got = cairn(
        &data,
        &[
            "get",
            "photo",
            "-o",
            out.to_str().expect("utf-8"),
            "--version",
            "1",
        ],
    );
    assert!(got.success, "{}", got.stderr);
    assert_eq!(std::fs::read(&out).expect("read"), v1);
    let latest = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["blob", "get", "photo", "--data"])
        .arg(&data)
        .output()
        .expect("run");
    assert_eq!(latest.stdout, v2, "get to standard output");

    let listed = cairn(&data, &["ls"]);
    assert!(
        listed.stdout.contains("photo") && listed.stdout.contains("500013"),
        "{}",
        listed.stdout
    );
    let atoms = cairn(&data, &["atoms", "photo"]);
    assert!(
        atoms.stdout.contains("atom://sha256:") && atoms.stdout.contains("Raw"),
        "{}",
        atoms.stdout
    );
    let stats = cairn(&data, &["stats"]);
    assert!(
        stats.stdout.contains("deduplication ratio"),
        "{}",
        stats.stdout
    );
    assert!(cairn(&data, &["verify"]).success);

    let removed = cairn(&data, &["rm", "photo"]);
    assert!(removed.stdout.contains("2 versions"), "{}", removed.stdout);
    let dry = cairn(&data, &["gc", "--dry-run"]);
    assert!(dry.stdout.contains("would delete"), "{}", dry.stdout);
    assert!(cairn(&data, &["gc"]).success);
    let empty = cairn(&data, &["stats"]);
    assert!(
        empty.stdout.contains("│ atoms                      ┆ 0"),
        "{}",
        empty.stdout
    );
}

#[test]
fn damaged_atoms_are_reported_and_never_written_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let file = dir.path().join("doc.bin");
    std::fs::write(&file, support::noise(300_000, 2)).expect("write");
    assert!(
        cairn(
            &data,
            &["add", "--as", "doc", file.to_str().expect("utf-8")]
        )
        .success
    );
    // Damage one stored atom on disk.
    let atoms_dir = data.join("blob").join("atoms");
    let victim = walk(&atoms_dir).into_iter().next().expect("an atom file");
    let mut bytes = std::fs::read(&victim).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&victim, bytes).expect("write");

    let verified = cairn(&data, &["verify"]);
    assert!(!verified.success);
    assert!(
        verified.stdout.contains("corrupt: doc (version 1)"),
        "{}",
        verified.stdout
    );
    let out = dir.path().join("out.bin");
    let got = cairn(&data, &["get", "doc", "-o", out.to_str().expect("utf-8")]);
    assert!(
        !got.success && got.stderr.contains("corrupt"),
        "{}",
        got.stderr
    );
    assert!(!out.exists(), "nothing damaged is written out");
    let bad_name = cairn(
        &data,
        &["add", "--as", "../escape", file.to_str().expect("utf-8")],
    );
    assert!(
        !bad_name.success && bad_name.stderr.contains("invalid name"),
        "{}",
        bad_name.stderr
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Kills `cairn blob ARGS` after `delay`, or lets it finish if it is faster.
fn run_and_kill(data: &Path, args: &[&str], delay: Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("blob")
        .args(args)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn kill_9_during_add_or_gc_never_leaves_a_file_that_does_not_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut kept: Vec<(String, Vec<u8>)> = Vec::new();
    let mut x = 12345u64;
    let (mut interrupted, mut completed) = (0, 0);
    // How long an add of one round's file takes here, so kills fall before, during and after.
    let probe = dir.path().join("probe");
    std::fs::write(&probe, support::noise(16_000_000, 99)).expect("write");
    let started = std::time::Instant::now();
    assert!(
        cairn(
            &dir.path().join("probe-data"),
            &["add", "--as", "probe", probe.to_str().expect("utf-8")]
        )
        .success
    );
    let add_ms = started.elapsed().as_millis() as u64;
    for round in 0..16u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let content = [
            support::noise(8_000_000, round % 5),
            support::noise(8_000_000 + round as usize, round),
        ]
        .concat();
        let file = dir.path().join(format!("f{round}"));
        std::fs::write(&file, &content).expect("write");
        let name = format!("f{round}");
        let delay = Duration::from_millis(add_ms * ((x >> 33) % 150) / 100);
        if round % 3 == 2 && !kept.is_empty() {
            // Remove a kept file, then kill a gc part-way.
            let (gone, _) = kept.remove(0);
            assert!(cairn(&data, &["rm", &gone]).success);
            run_and_kill(&data, &["gc"], delay);
        } else {
            run_and_kill(
                &data,
                &["add", "--as", &name, file.to_str().expect("utf-8")],
                delay,
            );
        }
        // Whatever was interrupted, every file the store lists reads back whole, and the
        // interrupted add is either all there or not there.
        let verified = cairn(&data, &["verify"]);
        assert!(
            verified.success,
            "round {round}: {}{}",
            verified.stdout, verified.stderr
        );
        let listed = cairn(&data, &["ls"]).stdout;
        if listed.contains(&format!("│ {name} ")) {
            kept.push((name.clone(), content));
            completed += 1;
        } else if round % 3 != 2 {
            interrupted += 1;
        }
        for (kept_name, expected) in &kept {
            let out = dir.path().join("check.bin");
            let got = cairn(
                &data,
                &["get", kept_name, "-o", out.to_str().expect("utf-8")],
            );
            assert!(got.success, "round {round}: {kept_name}: {}", got.stderr);
            assert_eq!(
                &std::fs::read(&out).expect("read"),
                expected,
                "round {round}: {kept_name}"
            );
        }
    }
    assert!(
        interrupted > 0 && completed > 0,
        "{interrupted} adds interrupted, {completed} completed"
    );
    // A final gc leaves exactly the atoms of the kept files.
    assert!(cairn(&data, &["gc"]).success);
    assert!(cairn(&data, &["verify"]).success);
}

/// `cairn blob …` run in `cwd`, with relative paths as a user types them.
fn cairn_in(cwd: &Path, data: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(cwd)
        .arg("blob")
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run cairn");
    Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn directories_are_added_like_restic_backup_and_restored_by_prefix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("sub/deeper")).expect("mkdir");
    let files = [
        ("a.txt", b"alpha\n".to_vec()),
        ("sub/b.bin", cairn_test_support::noise(300_000, 7)),
        ("sub/deeper/c.txt", b"gamma\n".to_vec()),
    ];
    for (path, bytes) in &files {
        std::fs::write(tree.join(path), bytes).expect("write");
    }
    std::fs::write(tmp.path().join("loose.txt"), b"loose\n").expect("write");

    let added = cairn_in(tmp.path(), &data, &["add", "tree", "loose.txt"]);
    assert!(added.success, "{}", added.stderr);
    // One row per file, then the totals of the four.
    for name in [
        "tree/a.txt",
        "tree/sub/b.bin",
        "tree/sub/deeper/c.txt",
        "loose.txt",
    ] {
        assert!(added.stdout.contains(name), "{name} in {}", added.stdout);
    }
    assert!(added.stdout.contains("files"), "{}", added.stdout);
    let listed = cairn_in(tmp.path(), &data, &["ls"]);
    assert!(
        listed.stdout.contains("tree/sub/deeper/c.txt"),
        "{}",
        listed.stdout
    );

    // Added again: every atom is already stored.
    let again = cairn_in(tmp.path(), &data, &["add", "tree"]);
    assert!(again.success, "{}", again.stderr);

    // The directory comes back whole under the prefix, with or without its slash.
    for prefix in ["tree/", "tree"] {
        let out = tmp.path().join(format!("restored-{}", prefix.len()));
        let got = cairn_in(
            tmp.path(),
            &data,
            &["get", prefix, "-o", out.to_str().expect("utf-8")],
        );
        assert!(got.success, "{}", got.stderr);
        for (path, bytes) in &files {
            assert_eq!(
                &std::fs::read(out.join(path)).expect("restored"),
                bytes,
                "{path}"
            );
        }
        assert!(!out.join("loose.txt").exists());
    }
    // A subdirectory alone.
    let out = tmp.path().join("only-sub");
    let got = cairn_in(
        tmp.path(),
        &data,
        &["get", "tree/sub", "-o", out.to_str().expect("utf-8")],
    );
    assert!(got.success, "{}", got.stderr);
    assert!(out.join("deeper/c.txt").exists() && !out.join("a.txt").exists());
    // A directory needs somewhere to go; --as names one file only.
    assert!(!cairn_in(tmp.path(), &data, &["get", "tree/"]).success);
    let two = cairn_in(tmp.path(), &data, &["add", "--as", "x", "tree"]);
    assert!(
        !two.success && two.stderr.contains("--as"),
        "{}",
        two.stderr
    );
}
