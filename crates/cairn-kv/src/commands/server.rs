//! Server commands: INFO, SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF, CONFIG, TIME, SHUTDOWN.
//!
//! Persistence maps onto the engine: the cairn-log WAL is the append-only file (every write
//! is logged before it is applied, fsynced per `appendfsync`); SAVE is an engine checkpoint
//! (index, bloom filter and metadata written, WAL retired: the image a restart starts from);
//! BGREWRITEAOF is a compaction of the log's segments.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use cairn_log::Durability;

use crate::commands::args::is;
use crate::commands::connection::REDIS_VERSION;
use crate::dispatch::Ctx;
use crate::encoding::DATABASES;
use crate::error::{KvError, Result};
use crate::glob;
use crate::kv::After;
use crate::reply::Reply;

/// A `/proc/self/status` field in bytes (Linux), 0 elsewhere.
fn proc_status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "K", "M", "G"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2}{}", UNITS[u])
}

fn appendfsync_name(d: Durability) -> &'static str {
    match d {
        Durability::Always => "always",
        Durability::EverySec => "everysec",
        Durability::No => "no",
    }
}

pub fn info(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let show = |section: &str| {
        wanted.is_empty()
            || wanted
                .iter()
                .any(|w| w == section || w == "all" || w == "everything" || w == "default")
    };
    let kv = ctx.kv;
    let mut out = String::new();
    let uptime = kv.stats.started.elapsed().as_secs();
    if show("server") {
        let _ = write!(
            out,
            "# Server\r\nredis_version:{REDIS_VERSION}\r\ncairn_version:{}\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            uptime / 86400,
        );
        for (k, v) in kv.info_fields.lock().iter() {
            let _ = write!(out, "{k}:{v}\r\n");
        }
        out.push_str("\r\n");
    }
    if show("clients") {
        let _ = write!(
            out,
            "# Clients\r\nconnected_clients:{}\r\nblocked_clients:{}\r\n\r\n",
            kv.clients.connected(),
            kv.blocked_clients.load(Ordering::Relaxed),
        );
    }
    let engine = kv.engine_stats();
    if show("memory") {
        let rss = proc_status_bytes("VmRSS:");
        let peak = proc_status_bytes("VmHWM:");
        let _ = write!(
            out,
            "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\ncairn_cache_bytes:{}\r\ncairn_bloom_bytes:{}\r\n\r\n",
            human(rss),
            human(peak),
            engine.cache_bytes,
            engine.bloom_bytes,
        );
    }
    let state = &ctx.txn.state;
    if show("persistence") {
        let _ = write!(
            out,
            "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_rewrites:{}\r\naof_last_bgrewrite_status:ok\r\nappendfsync:{}\r\ncairn_segments:{}\r\ncairn_segment_bytes:{}\r\ncairn_dead_bytes:{}\r\ncairn_wal_bytes:{}\r\ncairn_checkpoints:{}\r\ncairn_compactions:{}\r\n\r\n",
            state.changes_since_save,
            u8::from(kv.stats.bgsave_running.load(Ordering::Relaxed)),
            kv.stats.last_save.load(Ordering::Relaxed),
            if kv.stats.last_bgsave_ok.load(Ordering::Relaxed) { "ok" } else { "err" },
            kv.stats.rewrites.load(Ordering::Relaxed),
            appendfsync_name(kv.options.lock().appendfsync),
            engine.segments,
            engine.segment_bytes,
            engine.dead_bytes,
            engine.wal_bytes,
            engine.checkpoints,
            engine.compactions,
        );
    }
    if show("stats") {
        let _ = write!(
            out,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\ncairn_cache_hit_ratio:{:.4}\r\n\r\n",
            kv.clients.total_connections.load(Ordering::Relaxed),
            kv.stats.commands.load(Ordering::Relaxed),
            state.expired_keys,
            state.keyspace_hits,
            state.keyspace_misses,
            engine.cache_hit_ratio,
        );
    }
    if show("keyspace") {
        out.push_str("# Keyspace\r\n");
        for db in 0..DATABASES as u8 {
            let keys = ctx.txn.db_size(db);
            if keys > 0 {
                let expires = ctx.txn.state.dbs[usize::from(db)].volatile.len();
                let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
            }
        }
        out.push_str("\r\n");
    }
    if out.ends_with("\r\n\r\n") {
        out.truncate(out.len() - 2);
    }
    Ok(Reply::Verbatim(out))
}

pub fn save(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    ctx.kv.checkpoint_engine()?;
    ctx.txn.state.changes_since_save = 0;
    Ok(Reply::OK)
}

pub fn bgsave(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    if args.len() > 2 || args.get(1).is_some_and(|a| !is(a, "SCHEDULE")) {
        return Err(KvError::Syntax);
    }
    let kv = ctx.kv.clone();
    if kv.stats.bgsave_running.swap(true, Ordering::AcqRel) {
        return Err(KvError::other("Background save already in progress"));
    }
    std::thread::spawn(move || {
        let ok = kv.save().is_ok();
        kv.stats.last_bgsave_ok.store(ok, Ordering::Relaxed);
        kv.stats.bgsave_running.store(false, Ordering::Release);
    });
    Ok(Reply::Status("Background saving started"))
}

pub fn lastsave(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(
        ctx.kv.stats.last_save.load(Ordering::Relaxed) as i64,
    ))
}

pub fn bgrewriteaof(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    let kv = ctx.kv.clone();
    std::thread::spawn(move || {
        if let Err(e) = kv.rewrite_log() {
            tracing::warn!("BGREWRITEAOF: {e}");
        }
    });
    Ok(Reply::Status(
        "Background append only file rewriting started",
    ))
}

pub fn time(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::text(now.as_secs().to_string()),
        Reply::text(now.subsec_micros().to_string()),
    ]))
}

pub fn shutdown(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let mut save = false;
    for a in &args[1..] {
        if is(a, "SAVE") {
            save = true;
        } else if is(a, "NOSAVE") || is(a, "NOW") || is(a, "FORCE") {
        } else if is(a, "ABORT") {
            return Err(KvError::other("No shutdown in progress."));
        } else {
            return Err(KvError::Syntax);
        }
    }
    if save {
        ctx.kv.checkpoint_engine()?;
    }
    ctx.after = After::Shutdown;
    Ok(Reply::OK)
}

/// A memory size as Redis writes one (`512mb`, `1gb`, `100k`: k, m and g are powers of
/// 1000, kb, mb and gb of 1024), within `min..=max`; the error text is Redis's.
fn memory_in(text: &str, min: usize, max: usize) -> std::result::Result<usize, String> {
    let lower = text.to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit: u64 = match &lower[digits.len()..] {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1 << 30,
        _ => return Err("argument must be a memory value".into()),
    };
    let n = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| "argument must be a memory value".to_string())?;
    match usize::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "argument must be between {min} and {max} inclusive"
        )),
    }
}

/// The settings CONFIG GET shows, with their current values.
fn config_values(ctx: &Ctx<'_, '_>) -> Vec<(&'static str, String)> {
    let o = ctx.kv.options.lock();
    vec![
        ("appendonly", "yes".into()),
        ("appendfsync", appendfsync_name(o.appendfsync).into()),
        ("requirepass", ctx.kv.credentials.password()),
        ("maxmemory", "0".into()),
        ("maxmemory-policy", "noeviction".into()),
        ("databases", DATABASES.to_string()),
        ("save", String::new()),
        ("dir", ctx.kv.dir().display().to_string()),
        ("timeout", o.idle_timeout_secs.to_string()),
        ("proto-max-bulk-len", o.proto_max_bulk_len.to_string()),
        (
            "client-query-buffer-limit",
            o.client_query_buffer_limit.to_string(),
        ),
        ("maxclients", o.maxclients.to_string()),
    ]
}

pub fn config(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let sub = &args[1];
    if is(sub, "GET") {
        if args.len() < 3 {
            return Err(KvError::WrongArity("config|get".into()));
        }
        let values = config_values(ctx);
        let mut out = Vec::new();
        for (name, value) in values {
            if args[2..]
                .iter()
                .any(|p| glob::matches(&p.to_ascii_lowercase(), name.as_bytes()))
            {
                out.push((Reply::text(name), Reply::text(value)));
            }
        }
        return Ok(Reply::Map(out));
    }
    if is(sub, "SET") {
        if args.len() < 4 || !args.len().is_multiple_of(2) {
            return Err(KvError::WrongArity("config|set".into()));
        }
        for pair in args[2..].chunks(2) {
            let name = String::from_utf8_lossy(pair[0]).to_ascii_lowercase();
            let value = String::from_utf8_lossy(pair[1]).into_owned();
            let refuse = |why: &str| {
                KvError::other(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - {why}"
                ))
            };
            let mut o = ctx.kv.options.lock();
            match name.as_str() {
                "requirepass" => ctx
                    .kv
                    .credentials
                    .set(&value)
                    .map_err(|e| refuse(&e.to_string()))?,
                "timeout" => {
                    o.idle_timeout_secs = value
                        .parse()
                        .map_err(|_| refuse("argument couldn't be parsed into an integer"))?;
                }
                "maxmemory-policy" if value == "noeviction" => {}
                "appendfsync" => {
                    let policy =
                        match value.to_ascii_lowercase().as_str() {
                            "always" => Durability::Always,
                            "everysec" => Durability::EverySec,
                            "no" => Durability::No,
                            _ => return Err(refuse(
                                "argument(s) must be one of the following: always, everysec, no",
                            )),
                        };
                    o.appendfsync = policy;
                    ctx.kv.store.set_durability(policy);
                }
                "proto-max-bulk-len" => {
                    o.proto_max_bulk_len = memory_in(&value, 1 << 20, crate::MAX_STRING_LEN)
                        .map_err(|why| refuse(&why))?;
                }
                "client-query-buffer-limit" => {
                    o.client_query_buffer_limit = memory_in(&value, 1 << 20, i64::MAX as usize)
                        .map_err(|why| refuse(&why))?;
                }
                "maxclients" => {
                    o.maxclients = match value.parse::<usize>() {
                        Ok(n) if n >= 1 => n,
                        _ => {
                            return Err(refuse(
                                "argument must be between 1 and 4294967295 inclusive",
                            ))
                        }
                    };
                }
                "appendonly" if value == "yes" => {}
                "save" => {}
                _ => return Err(refuse("Unsupported CONFIG parameter")),
            }
        }
        return Ok(Reply::OK);
    }
    if is(sub, "RESETSTAT") {
        let state = &mut ctx.txn.state;
        state.keyspace_hits = 0;
        state.keyspace_misses = 0;
        state.expired_keys = 0;
        ctx.kv.stats.commands.store(0, Ordering::Relaxed);
        return Ok(Reply::OK);
    }
    if is(sub, "REWRITE") {
        return Err(KvError::other(
            "The server is running without a config file",
        ));
    }
    Err(KvError::UnknownSubcommand {
        command: "CONFIG".into(),
        sub: String::from_utf8_lossy(sub).into_owned(),
    })
}
