//! The `cairn` binary: `cairn serve` runs the server (the Redis door today); `cairn blob …`
//! works with the blob store; `cairn sqlite …` reads SQLite files; `cairn log …` opens
//! cairn-log stores directly.

mod blob_cli;
mod check_cli;
mod kv_json;
mod output;
mod serve;
mod sql_cli;
mod sql_shell;
mod sqlite_cli;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process, as redis-server does by default
/// (`disable-thp yes`). mimalloc asks for them on its arenas, and the kernel then zeroes a
/// whole 2 MiB page at the first touch of any byte of it: half the time of a short command
/// such as `cairn blob add` of a small file (19 ms against 9 ms), and nothing measurable
/// gained by the server in exchange. It runs from `.init_array`, before the Rust runtime
/// makes its first allocation (in `main` the first arena would already be faulted in).
extern "C" fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static DISABLE_THP_AT_START: extern "C" fn() = disable_transparent_huge_pages;

/// Starts a thread that has mimalloc give freed memory back to the OS once a second.
/// mimalloc returns the pages of freed blocks only when it is next called after a short
/// delay, so a server that goes quiet after a large request (a 448 MB SET) kept 1.7 GB it no
/// longer used until some later request happened to free memory; jemalloc's background
/// thread does this job for redis-server.
pub(crate) fn start_allocator_purge() {
    let started = std::thread::Builder::new()
        .name("cairn-purge".into())
        .spawn(|| loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            // SAFETY: mi_collect only walks mimalloc's own structures; `false` asks for the
            // cheap pass, which purges what has waited past its delay.
            unsafe { libmimalloc_sys::mi_collect(false) };
        });
    if let Err(e) = started {
        tracing::warn!("memory freed by large requests will be kept: {e}");
    }
}

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "cairn: SQL, Redis and blob doors over one data directory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the Redis door on 127.0.0.1:6379, data in ./cairn-data.
    Serve(serve::ServeArgs),
    /// Export or import the Redis keyspace of a data directory (the server must be stopped).
    Kv {
        #[command(subcommand)]
        command: kv_json::KvCommand,
    },
    /// The blob store of a data directory: add, get, ls, atoms, verify, rm, gc, stats.
    Blob {
        #[command(subcommand)]
        command: blob_cli::BlobCommand,
    },
    /// Run SQL on the data directory's database (-c SQL, -f FILE, or standard input).
    Sql(sql_cli::SqlArgs),
    /// Read a SQLite database file: info, schema, dump, get, lookup.
    Sqlite {
        #[command(subcommand)]
        command: sqlite_cli::SqliteCommand,
    },
    /// Verify every store of a data directory (the server stopped): exit status 1 on damage.
    Check(check_cli::CheckArgs),
    /// Salvage the damaged stores of a data directory, keeping the damaged files aside.
    Repair(check_cli::CheckArgs),
    /// Work with a cairn-log store directory directly (the process takes its lock).
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Set KEY to VALUE.
    Put {
        dir: PathBuf,
        key: String,
        value: String,
        /// Expire after this many milliseconds.
        #[arg(long)]
        px: Option<u64>,
    },
    /// Print the value of KEY (exit status 1 if it does not exist).
    Get { dir: PathBuf, key: String },
    /// Delete KEY.
    Del { dir: PathBuf, key: String },
    /// List the keys (unordered).
    Keys { dir: PathBuf },
    /// Compact segments with enough dead bytes.
    Compact { dir: PathBuf },
    /// Print the store's counters.
    Stats { dir: PathBuf },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Kv { command } => kv_json::run(command),
        Command::Blob { command } => blob_cli::run(command),
        Command::Sql(args) => sql_cli::run(args),
        Command::Sqlite { command } => sqlite_cli::run(command),
        Command::Check(args) => check_cli::check(args),
        Command::Repair(args) => check_cli::repair(args),
        Command::Log { command } => log_command(command),
    }
}

fn open(dir: &std::path::Path) -> anyhow::Result<cairn_log::Store> {
    let options = cairn_log::Options {
        background_maintenance: false,
        ..cairn_log::Options::default()
    };
    cairn_log::Store::open(dir, options).with_context(|| format!("opening {}", dir.display()))
}

fn log_command(command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Put {
            dir,
            key,
            value,
            px,
        } => {
            let store = open(&dir)?;
            let expires_at = px.map(|ms| now_ms() + ms);
            store.put(key.as_bytes(), value.as_bytes(), expires_at)?;
            store.close()?;
            println!("OK");
        }
        LogCommand::Get { dir, key } => {
            let store = open(&dir)?;
            let value = store.get(key.as_bytes())?;
            store.close()?;
            match value {
                Some(v) => println!("{}", String::from_utf8_lossy(&v)),
                None => {
                    eprintln!("(nil)");
                    std::process::exit(1);
                }
            }
        }
        LogCommand::Del { dir, key } => {
            let store = open(&dir)?;
            let existed = store.delete(key.as_bytes())?;
            store.close()?;
            println!("{}", u8::from(existed));
        }
        LogCommand::Keys { dir } => {
            let store = open(&dir)?;
            let mut cursor = 0;
            loop {
                let page = store.scan(cursor, 1000)?;
                for key in page.keys {
                    println!("{}", String::from_utf8_lossy(&key));
                }
                cursor = page.cursor;
                if cursor == 0 {
                    break;
                }
            }
            store.close()?;
        }
        LogCommand::Compact { dir } => {
            let store = open(&dir)?;
            let n = store.compact()?;
            store.close()?;
            println!("compacted {n} segments");
        }
        LogCommand::Stats { dir } => {
            let store = open(&dir)?;
            let s = store.stats();
            store.close()?;
            println!("live_keys:              {}", s.live_keys);
            println!("segments:               {}", s.segments);
            println!("segment_bytes:          {}", s.segment_bytes);
            println!("dead_bytes:             {}", s.dead_bytes);
            println!("bloom_layers:           {}", s.bloom_layers);
            println!("bloom_bytes:            {}", s.bloom_bytes);
            println!("last_lsn:               {}", s.last_lsn);
        }
    }
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
