//! `cairn-slt [--timeout SECONDS] [--verbose] [--wire CAIRN] PATH…`: runs sqllogictest files
//! (a directory: every `.test` file under it) through cairn-sql, one fresh database per
//! file: embedded, or with `--wire`, over the PostgreSQL wire protocol through the `postgres`
//! driver against `CAIRN serve`, started for the file on free ports and stopped after it.
//!
//! Each file runs in a child process of its own (`cairn-slt --one FILE`), so that a query
//! that runs away or a crash costs that file, not the run: the child's watchdog ends it when
//! one record has run longer than the time limit, counting that record and the ones after it
//! as failed. Prints one line per file and, last, `N passed, M failed` counting records.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_slt::{parse, Engine, Outcome, Record, Runner};
use cairn_sql::{Database, Session, StoreOptions};

const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut timeout = DEFAULT_TIMEOUT_SECONDS;
    let mut verbose = false;
    if let Some(i) = args.iter().position(|a| a == "--timeout") {
        timeout = args
            .get(i + 1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(timeout);
        args.drain(i..(i + 2).min(args.len()));
    }
    if let Some(i) = args.iter().position(|a| a == "--verbose") {
        verbose = true;
        args.remove(i);
    }
    let mut wire = None;
    if let Some(i) = args.iter().position(|a| a == "--wire") {
        wire = args.get(i + 1).map(PathBuf::from);
        args.drain(i..(i + 2).min(args.len()));
    }
    if args.first().map(String::as_str) == Some("--one") {
        return match args.get(1) {
            Some(file) => run_one(Path::new(file), timeout, verbose, wire.as_deref()),
            None => ExitCode::FAILURE,
        };
    }
    if args.is_empty() {
        eprintln!("usage: cairn-slt [--timeout SECONDS] [--verbose] FILE_OR_DIR...");
        return ExitCode::FAILURE;
    }
    let mut files = Vec::new();
    for arg in &args {
        collect(Path::new(arg), &mut files);
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    let me = std::env::current_exe().expect("the runner's own path");
    for file in &files {
        let mut command = Command::new(&me);
        command.arg("--timeout").arg(timeout.to_string());
        if verbose {
            command.arg("--verbose");
        }
        if let Some(cairn) = &wire {
            command.arg("--wire").arg(cairn);
        }
        let output = command.arg("--one").arg(file).output();
        let counts = output.as_ref().ok().and_then(|o| {
            let stdout = String::from_utf8_lossy(&o.stdout);
            if verbose {
                print!("{stdout}");
            }
            let last = stdout.lines().last()?.to_string();
            let mut words = last.split_whitespace();
            let p: usize = words.next()?.parse().ok()?;
            let f: usize = words.nth(1)?.parse().ok()?;
            Some((p, f, last))
        });
        match counts {
            Some((p, f, last)) => {
                println!("{}: {last}", file.display());
                passed += p;
                failed += f;
            }
            None => {
                // The child died without a count: every record of the file failed.
                let records = std::fs::read_to_string(file)
                    .ok()
                    .and_then(|t| parse(&t).ok())
                    .map_or(1, |r| counted(&r));
                println!("{}: crashed, {records} records failed", file.display());
                failed += records;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `path`, or the `.test` files under it, sorted.
fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for entry in entries {
            if entry.is_dir() || entry.extension().is_some_and(|e| e == "test") {
                collect(&entry, files);
            }
        }
    } else {
        files.push(path.to_path_buf());
    }
}

/// The records that count: statements and queries, up to a `halt`.
fn counted(records: &[Record]) -> usize {
    records
        .iter()
        .take_while(|r| **r != Record::Halt)
        .filter(|r| matches!(r, Record::Statement { .. } | Record::Query { .. }))
        .count()
}

/// Runs one file; prints `P passed, F failed` last.
fn run_one(file: &Path, timeout: u64, verbose: bool, wire: Option<&Path>) -> ExitCode {
    let records = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| parse(&t))
    {
        Ok(r) => r,
        Err(e) => {
            println!("cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let total = counted(&records);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let engine = match wire {
        Some(cairn) => serve(cairn, dir.path()),
        None => embedded(dir.path()),
    };
    let mut runner = match engine {
        Ok(engine) => Runner::on(engine),
        Err(e) => {
            println!("cannot start the engine: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The watchdog: the start of the running record (ms since `epoch`) and the counts so far.
    let epoch = Instant::now();
    let started = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let passed = Arc::new(AtomicUsize::new(0));
    {
        let (started, done, passed) = (started.clone(), done.clone(), passed.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let now = epoch.elapsed().as_millis() as u64;
            if now.saturating_sub(started.load(Ordering::SeqCst)) > timeout * 1000 {
                let (p, d) = (passed.load(Ordering::SeqCst), done.load(Ordering::SeqCst));
                println!("record {} ran past {timeout} s", d + 1);
                println!("{p} passed, {} failed", total - p);
                stop_server();
                std::process::exit(0);
            }
        });
    }
    for record in &records {
        started.store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
        if *record == Record::Halt {
            break;
        }
        let outcome = runner.run(record);
        let (line, counts) = match record {
            Record::Statement { line, .. } | Record::Query { line, .. } => (*line, true),
            _ => (0, false),
        };
        if !counts {
            continue;
        }
        match outcome {
            Outcome::Passed => {
                passed.fetch_add(1, Ordering::SeqCst);
            }
            Outcome::Failed(why) => {
                if verbose {
                    println!("{}:{line}: {why}", file.display());
                }
            }
        }
        done.fetch_add(1, Ordering::SeqCst);
    }
    let (p, d) = (passed.load(Ordering::SeqCst), done.load(Ordering::SeqCst));
    println!("{p} passed, {} failed", total.max(d) - p);
    drop(runner);
    stop_server();
    ExitCode::SUCCESS
}

/// A fresh database in `dir`, embedded (commits not waiting for the disk: the files test
/// answers, not durability).
fn embedded(dir: &Path) -> Result<Engine, String> {
    let options = StoreOptions {
        sync_commit: false,
        ..StoreOptions::default()
    };
    let db = Database::open_with(dir, options).map_err(|e| e.to_string())?;
    Ok(Engine::Embedded(Session::new(db)))
}

/// The server `--wire` started for this file, stopped when the file is done.
static SERVER: Mutex<Option<Child>> = Mutex::new(None);

fn stop_server() {
    if let Some(mut child) = SERVER.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A free loopback port (bound and released: another process could take it meanwhile).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `cairn serve` on a fresh data directory in `dir`, and a connection to its PostgreSQL door.
fn serve(cairn: &Path, dir: &Path) -> Result<Engine, String> {
    let port = free_port().map_err(|e| e.to_string())?;
    let others = (free_port(), free_port());
    let (Ok(redis), Ok(http)) = others else {
        return Err("no free port".into());
    };
    let child = Command::new(cairn)
        .args(["serve", "--data"])
        .arg(dir.join("data"))
        .args(["--pg-port", &port.to_string()])
        .args(["--redis-port", &redis.to_string()])
        .args(["--http-port", &http.to_string()])
        .env("CAIRN_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", cairn.display()))?;
    *SERVER.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
    let config = format!("host=127.0.0.1 port={port} user=cairn");
    for _ in 0..200 {
        if let Ok(mut client) = postgres::Client::connect(&config, postgres::NoTls) {
            client
                .batch_execute("SET synchronous_commit = off")
                .map_err(|e| e.to_string())?;
            return Ok(Engine::Wire(client));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    stop_server();
    Err(format!("no server answered on port {port}"))
}
