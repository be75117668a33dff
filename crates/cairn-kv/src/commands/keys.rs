//! Keyspace commands: DEL, EXISTS, TYPE, RENAME, COPY, KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSH*,
//! the EXPIRE family, TTL and friends, PERSIST, TOUCH.

use bytes::Bytes;

use crate::commands::args::{expire_at, int, is};
use crate::dispatch::Ctx;
use crate::encoding::{parse_head_key, Head, Kind, DATABASES};
use crate::error::{KvError, Result};
use crate::glob;
use crate::reply::Reply;

pub fn del(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    let mut n = 0;
    for key in &args[1..] {
        n += i64::from(ctx.txn.delete_key(db, key)?);
    }
    Ok(Reply::Integer(n))
}

/// UNLINK: like DEL, but a large value's children are freed in the background
/// ([`crate::reap`]), so the command costs O(1) per key whatever the value's size.
pub fn unlink(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    let mut n = 0;
    for key in &args[1..] {
        if let Some(head) = ctx.txn.head(db, key)? {
            ctx.txn.unlink_head(db, key, &head)?;
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

pub fn exists(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    let mut n = 0;
    for key in &args[1..] {
        n += i64::from(ctx.txn.head(db, key)?.is_some());
    }
    Ok(Reply::Integer(n))
}

pub fn touch(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    exists(ctx, args)
}

pub fn type_(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    Ok(Reply::Status(
        ctx.txn.head(db, args[1])?.map_or("none", |h| h.kind.name()),
    ))
}

fn rename_to(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], only_new: bool) -> Result<Reply> {
    let db = ctx.db();
    let (src, dst) = (&args[1], &args[2]);
    crate::encoding::check_key(dst)?;
    let Some(head) = ctx.txn.head(db, src)? else {
        return Err(KvError::NoSuchKey);
    };
    if only_new && ctx.txn.head(db, dst)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    if src != dst {
        if let Some(old) = ctx.txn.head(db, dst)? {
            ctx.txn.remove_head(db, dst, &old)?;
        }
        ctx.txn.forget_head(db, src, &head);
        ctx.txn.put_head(db, dst, &head)?;
    }
    Ok(if only_new {
        Reply::Integer(1)
    } else {
        Reply::OK
    })
}

pub fn rename(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    rename_to(ctx, args, false)
}

pub fn renamenx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    rename_to(ctx, args, true)
}

/// MOVE key db: the key goes to another database unless it exists there already.
pub fn move_to_db(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    let key = args[1];
    let dst_db = parse_db(args[2])?;
    if dst_db == db {
        return Err(KvError::other(
            "source and destination objects are the same",
        ));
    }
    let Some(head) = ctx.txn.head(db, key)? else {
        return Ok(Reply::Integer(0));
    };
    if ctx.txn.head(dst_db, key)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    // The children are named by generation, not by database: the head alone moves.
    ctx.txn.forget_head(db, key, &head);
    ctx.txn.put_head(dst_db, key, &head)?;
    Ok(Reply::Integer(1))
}

/// The database number argument of SELECT, COPY … DB, MOVE.
pub fn parse_db(arg: &[u8]) -> Result<u8> {
    let n = int(arg).map_err(|_| KvError::other("value is not an integer or out of range"))?;
    if !(0..DATABASES as i64).contains(&n) {
        return Err(KvError::DbIndexOutOfRange);
    }
    Ok(n as u8)
}

pub fn copy(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    let (src, dst) = (&args[1], &args[2]);
    let mut dst_db = db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(args[i], "REPLACE") {
            replace = true;
        } else if is(args[i], "DB") && i + 1 < args.len() {
            dst_db = parse_db(args[i + 1])?;
            i += 1;
        } else {
            return Err(KvError::Syntax);
        }
        i += 1;
    }
    crate::encoding::check_key(dst)?;
    if src == dst && db == dst_db {
        return Err(KvError::other(
            "source and destination objects are the same",
        ));
    }
    let Some(head) = ctx.txn.head_with_value(db, src)? else {
        return Ok(Reply::Integer(0));
    };
    if let Some(old) = ctx.txn.head(dst_db, dst)? {
        if !replace {
            return Ok(Reply::Integer(0));
        }
        ctx.txn.remove_head(dst_db, dst, &old)?;
    }
    let copy = crate::collections::deep_copy(&mut ctx.txn, &head)?;
    ctx.txn.put_head(dst_db, dst, &copy)?;
    Ok(Reply::Integer(1))
}

/// Whether the head key `log_key` names a live key of `db` matching the filters. Reads the
/// head only when it must (a collection under a TYPE filter, a key whose expiry is due).
fn scan_filter(
    ctx: &mut Ctx<'_, '_>,
    log_key: &[u8],
    pattern: Option<&[u8]>,
    kind: Option<Kind>,
) -> Result<Option<Bytes>> {
    let db = ctx.db();
    let Some((key_db, key)) = parse_head_key(log_key) else {
        return Ok(None);
    };
    if key_db != db || !pattern.is_none_or(|p| glob::matches(p, key)) {
        return Ok(None);
    }
    let due = ctx
        .txn
        .known_expiry(db, key)
        .is_some_and(|at| at <= ctx.txn.now);
    let is_string = log_key[0] == b's';
    let needs_head = due || kind.is_some_and(|k| k != Kind::String && !is_string);
    if needs_head {
        match ctx.txn.head(db, key)? {
            Some(h) if kind.is_none_or(|k| k == h.kind) => {}
            _ => return Ok(None),
        }
    } else if let Some(k) = kind {
        if (k == Kind::String) != is_string {
            return Ok(None);
        }
    }
    Ok(Some(Bytes::copy_from_slice(key)))
}

/// Every head log key of `db` (of every database when `None`): the store's, then those this
/// transaction wrote and has not committed, which a scan of the store cannot see (KEYS or
/// FLUSHDB inside EXEC).
fn head_log_keys(ctx: &mut Ctx<'_, '_>, db: Option<u8>) -> Result<Vec<Vec<u8>>> {
    let in_db = |k: &[u8]| parse_head_key(k).is_some_and(|(d, _)| db.is_none_or(|db| db == d));
    let mut keys = Vec::new();
    let mut cursor = 0;
    loop {
        let page = ctx.txn.scan(cursor, 4096)?;
        keys.extend(page.keys.into_iter().filter(|k| in_db(k)));
        cursor = page.cursor;
        if cursor == 0 {
            break;
        }
    }
    let pending = ctx.txn.pending_heads();
    if !pending.is_empty() {
        let stored: std::collections::HashSet<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let unseen: Vec<Vec<u8>> = pending
            .into_iter()
            .filter(|k| in_db(k) && !stored.contains(k.as_slice()))
            .collect();
        keys.extend(unseen);
    }
    Ok(keys)
}

pub fn keys(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let pattern = args[1];
    let p = (pattern != b"*").then_some(pattern.as_ref());
    let db = ctx.db();
    let mut out = Vec::new();
    for log_key in head_log_keys(ctx, Some(db))? {
        if let Some(k) = scan_filter(ctx, &log_key, p, None)? {
            out.push(Reply::Bulk(k));
        }
    }
    Ok(Reply::Array(out))
}

/// The options shared by SCAN, HSCAN, SSCAN and ZSCAN.
pub struct ScanOptions {
    pub cursor: u64,
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub kind: Option<Kind>,
    pub no_values: bool,
}

pub fn parse_scan(args: &[&[u8]], cursor_at: usize, allow_type: bool) -> Result<ScanOptions> {
    let cursor = std::str::from_utf8(args[cursor_at])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| KvError::other("invalid cursor"))?;
    let mut o = ScanOptions {
        cursor,
        pattern: None,
        count: 10,
        kind: None,
        no_values: false,
    };
    let mut i = cursor_at + 1;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        match next {
            Some(v) if is(a, "MATCH") => {
                o.pattern = (**v != b"*"[..]).then(|| Bytes::copy_from_slice(v));
            }
            Some(v) if is(a, "COUNT") => {
                let n = int(v)?;
                if n < 1 {
                    return Err(KvError::Syntax);
                }
                o.count = n.min(1 << 20) as usize;
            }
            Some(v) if is(a, "TYPE") && allow_type => {
                o.kind = Some(Kind::from_name(v).ok_or_else(|| {
                    KvError::other(format!(
                        "unknown type name '{}'",
                        String::from_utf8_lossy(v)
                    ))
                })?);
            }
            _ if is(a, "NOVALUES") && !allow_type => {
                o.no_values = true;
                i += 1;
                continue;
            }
            _ => return Err(KvError::Syntax),
        }
        i += 2;
    }
    Ok(o)
}

pub fn scan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let o = parse_scan(args, 1, true)?;
    let page = ctx.txn.scan(o.cursor, o.count)?;
    let mut out = Vec::new();
    for log_key in &page.keys {
        if let Some(k) = scan_filter(ctx, log_key, o.pattern.as_deref(), o.kind)? {
            out.push(Reply::Bulk(k));
        }
    }
    Ok(Reply::Array(vec![
        Reply::text(page.cursor.to_string()),
        Reply::Array(out),
    ]))
}

pub fn randomkey(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    if ctx.txn.db_size(db) == 0 {
        return Ok(Reply::Nil);
    }
    for _ in 0..64 {
        let random = ctx.kv.rng.lock().next_u64();
        let cursor = ctx.txn.random_cursor(random);
        let page = ctx.txn.scan(cursor, 64)?;
        let mut found = Vec::new();
        for log_key in &page.keys {
            if let Some(k) = scan_filter(ctx, log_key, None, None)? {
                found.push(k);
            }
        }
        if !found.is_empty() {
            let pick = ctx.kv.rng.lock().below(found.len() as u64) as usize;
            return Ok(Reply::Bulk(found.swap_remove(pick)));
        }
    }
    // A sparse database: walk from the start.
    let mut cursor = 0;
    loop {
        let page = ctx.txn.scan(cursor, 1024)?;
        for log_key in &page.keys {
            if let Some(k) = scan_filter(ctx, log_key, None, None)? {
                return Ok(Reply::Bulk(k));
            }
        }
        cursor = page.cursor;
        if cursor == 0 {
            return Ok(Reply::Nil);
        }
    }
}

pub fn dbsize(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    Ok(Reply::Integer(ctx.txn.db_size(db) as i64))
}

/// Deletes every key of `db` (every database when `None`).
pub fn flush(ctx: &mut Ctx<'_, '_>, db: Option<u8>) -> Result<()> {
    let only_db_with_keys = db.is_none_or(|db| {
        let dbs = &ctx.txn.state.dbs;
        (0..dbs.len()).all(|d| d == usize::from(db) || dbs[d].keys == 0)
    });
    if only_db_with_keys && ctx.txn.clear_everything()? {
        return Ok(());
    }
    let heads = head_log_keys(ctx, db)?;
    for log_key in heads {
        let Some(bytes) = ctx.txn.get(&log_key)? else {
            continue;
        };
        let head = Head::decode(bytes, log_key[0] == b's')?;
        if let Some((d, key)) = parse_head_key(&log_key) {
            ctx.txn.remove_head(d, key, &head)?;
        }
    }
    // Watchers of keys that were absent are not touched above; Redis leaves them be too.
    Ok(())
}

fn flush_args(args: &[&[u8]]) -> Result<()> {
    match args.get(1) {
        None => Ok(()),
        Some(a) if args.len() == 2 && (is(a, "ASYNC") || is(a, "SYNC")) => Ok(()),
        Some(_) => Err(KvError::Syntax),
    }
}

pub fn flushdb(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    flush_args(args)?;
    let db = ctx.db();
    flush(ctx, Some(db))?;
    Ok(Reply::OK)
}

pub fn flushall(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    flush_args(args)?;
    flush(ctx, None)?;
    Ok(Reply::OK)
}

fn expire_generic(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], ms: bool, abs: bool) -> Result<Reply> {
    let name = String::from_utf8_lossy(args[0]).to_ascii_lowercase();
    let at = expire_at(ctx, args[2], ms, abs, &name)?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &args[3..] {
        if is(a, "NX") {
            nx = true;
        } else if is(a, "XX") {
            xx = true;
        } else if is(a, "GT") {
            gt = true;
        } else if is(a, "LT") {
            lt = true;
        } else {
            return Err(KvError::other(format!(
                "Unsupported option {}",
                String::from_utf8_lossy(a)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(KvError::other(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(KvError::other(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let db = ctx.db();
    let Some(mut head) = ctx.txn.head(db, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let current = head.expire_at;
    let infinite = current == 0;
    let allowed = (!nx || infinite)
        && (!xx || !infinite)
        && (!gt || (!infinite && at > current as i64))
        && (!lt || infinite || at < current as i64);
    if !allowed {
        return Ok(Reply::Integer(0));
    }
    if at <= ctx.txn.now as i64 {
        ctx.txn.remove_head(db, args[1], &head)?;
    } else {
        head.expire_at = at as u64;
        ctx.txn.put_head(db, args[1], &head)?;
    }
    Ok(Reply::Integer(1))
}

pub fn expire(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    expire_generic(ctx, args, false, false)
}

pub fn pexpire(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    expire_generic(ctx, args, true, false)
}

pub fn expireat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    expire_generic(ctx, args, false, true)
}

pub fn pexpireat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    expire_generic(ctx, args, true, true)
}

/// The head's expiry as TTL-style answers need it: `Err(-2)` absent, `Err(-1)` persistent.
fn expiry_of(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<std::result::Result<u64, i64>> {
    let db = ctx.db();
    Ok(match ctx.txn.head(db, key)? {
        None => Err(-2),
        Some(h) if h.expire_at == 0 => Err(-1),
        Some(h) => Ok(h.expire_at),
    })
}

pub fn ttl(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let now = ctx.txn.now;
    Ok(Reply::Integer(match expiry_of(ctx, args[1])? {
        Ok(at) => ((at - now + 500) / 1000) as i64,
        Err(code) => code,
    }))
}

pub fn pttl(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let now = ctx.txn.now;
    Ok(Reply::Integer(match expiry_of(ctx, args[1])? {
        Ok(at) => (at - now) as i64,
        Err(code) => code,
    }))
}

pub fn expiretime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(match expiry_of(ctx, args[1])? {
        Ok(at) => (at / 1000) as i64,
        Err(code) => code,
    }))
}

pub fn pexpiretime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(match expiry_of(ctx, args[1])? {
        Ok(at) => at as i64,
        Err(code) => code,
    }))
}

pub fn persist(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    match ctx.txn.head(db, args[1])? {
        Some(mut head) if head.expire_at != 0 => {
            head.expire_at = 0;
            ctx.txn.put_head(db, args[1], &head)?;
            Ok(Reply::Integer(1))
        }
        _ => Ok(Reply::Integer(0)),
    }
}
