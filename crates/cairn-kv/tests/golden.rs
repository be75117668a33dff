//! Golden scripts: Redis commands run through `Kv` (no sockets), each followed by the exact
//! reply, as redis-cli shows it (`--no-raw`). Every `tests/scripts/*.golden` file is one
//! session on a fresh keyspace whose clock is manual, so TTLs are exact and nothing sleeps.
//!
//! ```text
//! # a comment (blank lines are ignored too: redis-cli never prints one)
//! > SET k v            one or more commands (consecutive `>` lines run in order) …
//! OK                   … then the replies they give, together
//! > @advance 1500      moves the keyspace's clock forward (no reply)
//! > @session other     commands go to the client `other` (made on first use; the first
//!                      is `main`) until the next @session (no reply)
//! ```
//!
//! `redis_session.golden` is recorded from redis-server by `compat/record-redis-session.sh`:
//! cairn must answer exactly as Redis did. The other scripts are cairn's own; after a
//! deliberate change of behaviour, `CAIRN_GOLDEN_UPDATE=1 cargo test -p cairn-kv --test
//! golden` rewrites their replies (never the recorded one's), for review in the diff.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use cairn_kv::{After, Clock, Kv, KvOptions, Reply, Session};

/// The clock a script starts at: 2026-01-01, so EXPIREAT of real dates behaves.
const START_MS: u64 = 1_767_225_600_000;

/// A command line split as redis-cli splits it: words, "double-quoted" with C escapes, or
/// 'single-quoted'.
fn split_args(line: &str) -> Vec<Vec<u8>> {
    let mut args = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let mut arg = Vec::new();
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() {
                        i += 1;
                        match bytes[i] {
                            b'n' => arg.push(b'\n'),
                            b'r' => arg.push(b'\r'),
                            b't' => arg.push(b'\t'),
                            b'b' => arg.push(8),
                            b'a' => arg.push(7),
                            b'x' if i + 2 < bytes.len() => {
                                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                                arg.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                                i += 2;
                            }
                            other => arg.push(other),
                        }
                    } else {
                        arg.push(bytes[i]);
                    }
                    i += 1;
                }
                i += 1;
            }
            b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    }
                    arg.push(bytes[i]);
                    i += 1;
                }
                i += 1;
            }
            _ => {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    arg.push(bytes[i]);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
    args
}

/// A string as redis-cli quotes it (`sdscatrepr`).
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// `reply` as redis-cli shows it to a terminal over RESP2, each line ended; `prefix` is the
/// indentation of an array's elements after its first.
fn render(reply: &Reply, prefix: &str) -> String {
    let array = |items: Vec<Reply>| -> String {
        if items.is_empty() {
            return "(empty array)\n".into();
        }
        let width = items.len().to_string().len();
        let inner = format!("{prefix}{}", " ".repeat(width + 2));
        let mut out = String::new();
        for (i, item) in items.iter().enumerate() {
            let lead = if i == 0 { "" } else { prefix };
            out.push_str(&format!("{lead}{:>width$}) ", i + 1));
            out.push_str(&render(item, &inner));
        }
        out
    };
    match reply {
        Reply::Status(s) => format!("{s}\n"),
        Reply::StatusText(s) => format!("{s}\n"),
        Reply::Error(e) => format!("(error) {} {e}\n", e.code()),
        Reply::Integer(n) => format!("(integer) {n}\n"),
        Reply::Bool(b) => format!("(integer) {}\n", u8::from(*b)),
        Reply::Bulk(b) => format!("{}\n", quoted(b)),
        Reply::Verbatim(s) => format!("{}\n", quoted(s.as_bytes())),
        Reply::Double(d) => format!("{}\n", quoted(cairn_kv::format_double(*d).as_bytes())),
        Reply::Nil | Reply::NilArray => "(nil)\n".into(),
        Reply::Array(items) | Reply::Set(items) => array(items.clone()),
        Reply::Map(pairs) => array(
            pairs
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
        ),
        Reply::Slices(s) => array(
            s.iter()
                .map(|b| Reply::Bulk(Bytes::copy_from_slice(b)))
                .collect(),
        ),
    }
}

/// Runs one command as the Redis door would, with a blocking command answering at once what
/// it answers when its timeout passes (nothing else writes meanwhile).
fn run(kv: &Arc<Kv>, clock: &Clock, clients: &mut Clients, line: &str) -> String {
    let args: Vec<Bytes> = split_args(line).into_iter().map(Bytes::from).collect();
    if args
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"@session"))
    {
        let name = String::from_utf8_lossy(&args[1]).into_owned();
        if !clients.sessions.iter().any(|(n, _)| *n == name) {
            let port = 40_000 + clients.sessions.len();
            let session = kv.connect(format!("127.0.0.1:{port}"), "127.0.0.1:6379".into());
            clients.sessions.push((name.clone(), session));
        }
        clients.current = name;
        return String::new();
    }
    let session = clients.current();
    if args
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"@advance"))
    {
        let ms: u64 = std::str::from_utf8(&args[1])
            .expect("utf-8")
            .parse()
            .expect("ms");
        clock.advance(ms);
        return String::new();
    }
    let outcome = kv.execute(session, &args);
    if let After::Block { timeout_ms } = outcome.after {
        clock.advance(timeout_ms);
        kv.stop_blocking(session);
    }
    render(&outcome.reply, "")
}

/// The script's clients, by name, and the one commands go to.
struct Clients {
    sessions: Vec<(String, Session)>,
    current: String,
}

impl Clients {
    fn current(&mut self) -> &mut Session {
        let name = &self.current;
        &mut self
            .sessions
            .iter_mut()
            .find(|(n, _)| n == name)
            .expect("the current client exists")
            .1
    }
}

/// A script's blocks: the commands and the expected reply lines after them.
struct Block {
    commands: Vec<String>,
    expected: Vec<String>,
}

fn parse(text: &str) -> (Vec<String>, Vec<Block>) {
    let mut header = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();
    for line in text.lines() {
        if let Some(cmd) = line.strip_prefix("> ") {
            match blocks.last_mut() {
                Some(b) if b.expected.is_empty() => b.commands.push(cmd.to_string()),
                _ => blocks.push(Block {
                    commands: vec![cmd.to_string()],
                    expected: Vec::new(),
                }),
            }
        } else if let Some(b) = blocks.last_mut() {
            b.expected.push(line.to_string());
        } else {
            header.push(line.to_string());
        }
    }
    (header, blocks)
}

/// Runs the script at `path`; returns the differences (empty when it passes) and the script
/// rewritten with cairn's replies.
fn run_script(path: &Path) -> (Vec<String>, String) {
    let text = std::fs::read_to_string(path).expect("read script");
    let (header, blocks) = parse(&text);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::manual(START_MS);
    let options = KvOptions {
        clock: clock.clone(),
        active_expiry: false,
        ..KvOptions::default()
    };
    let kv = Kv::open(dir.path(), options).expect("open");
    let main = kv.connect("127.0.0.1:39999".into(), "127.0.0.1:6379".into());
    let mut clients = Clients {
        sessions: vec![("main".into(), main)],
        current: "main".into(),
    };
    let mut diffs = Vec::new();
    let mut rewritten = header.join("\n");
    for block in &blocks {
        let got: String = block
            .commands
            .iter()
            .map(|c| run(&kv, &clock, &mut clients, c))
            .collect();
        let got: Vec<&str> = got.lines().collect();
        let want: Vec<&str> = block
            .expected
            .iter()
            .map(String::as_str)
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        if got != want {
            diffs.push(format!(
                "{}:\n> {}\n  expected:\n    {}\n  got:\n    {}",
                path.display(),
                block.commands.join("\n> "),
                want.join("\n    "),
                got.join("\n    ")
            ));
        }
        for c in &block.commands {
            rewritten.push_str(&format!("\n> {c}"));
        }
        for line in &got {
            rewritten.push_str(&format!("\n{line}"));
        }
    }
    rewritten.push('\n');
    (diffs, rewritten)
}

#[test]
fn golden_scripts_answer_exactly_as_recorded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let update = std::env::var_os("CAIRN_GOLDEN_UPDATE").is_some();
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scripts")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    scripts.sort();
    assert!(scripts.len() > 1, "no golden scripts in {}", dir.display());
    let mut failures = Vec::new();
    for script in &scripts {
        let (diffs, rewritten) = run_script(script);
        let recorded = script
            .file_name()
            .is_some_and(|n| n == "redis_session.golden");
        if update && !recorded && !diffs.is_empty() {
            std::fs::write(script, rewritten).expect("rewrite script");
        } else {
            failures.extend(diffs);
        }
    }
    assert!(
        failures.is_empty(),
        "{} replies differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_splitter_and_renderer_follow_redis_cli() {
    assert_eq!(
        split_args(r#"SET "two words" 'it\'s' "a\x41\n""#),
        vec![
            b"SET".to_vec(),
            b"two words".to_vec(),
            b"it's".to_vec(),
            b"aA\n".to_vec()
        ]
    );
    let nested = Reply::Array(vec![
        Reply::Array(vec![Reply::Bulk(Bytes::from("a")), Reply::Integer(1)]),
        Reply::Nil,
    ]);
    assert_eq!(
        render(&nested, ""),
        "1) 1) \"a\"\n   2) (integer) 1\n2) (nil)\n"
    );
    let ten = Reply::Array((0..10).map(Reply::Integer).collect());
    assert!(render(&ten, "").starts_with(" 1) (integer) 0\n 2)"));
    assert_eq!(
        render(&Reply::Bulk(Bytes::from("\u{1}\"")), ""),
        "\"\\x01\\\"\"\n"
    );
}
