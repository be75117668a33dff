//! String commands: GET, SET and its variants, MGET/MSET, APPEND, counters, ranges; and the
//! seed's UPDATE (set only an existing key).

use bytes::{Bytes, BytesMut};

use crate::collections::chunks;
use crate::commands::args::{expire_at, get_string, int, is, put_string};
use crate::dispatch::Ctx;
use crate::encoding::{Head, Kind};
use crate::error::{KvError, Result};
use crate::num::{format_human, parse_f64, parse_i64};
use crate::reply::Reply;

pub fn get(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let value = get_string(ctx, args[1])?;
    let stats = &mut ctx.txn.state;
    if value.is_some() {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
    Ok(Reply::optional(value.map(|h| h.body)))
}

#[derive(Default)]
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    /// Absolute unix ms.
    expire_at: Option<i64>,
}

fn parse_set_options(ctx: &Ctx<'_, '_>, opts: &[&[u8]]) -> Result<SetOptions> {
    let mut o = SetOptions::default();
    let mut i = 0;
    while i < opts.len() {
        let a = &opts[i];
        let has_expiry = o.expire_at.is_some() || o.keep_ttl;
        if is(a, "NX") && !o.xx {
            o.nx = true;
        } else if is(a, "XX") && !o.nx {
            o.xx = true;
        } else if is(a, "GET") {
            o.get = true;
        } else if is(a, "KEEPTTL") && !has_expiry {
            o.keep_ttl = true;
        } else if !has_expiry && i + 1 < opts.len() {
            o.expire_at = Some(expiry_option(ctx, a, opts[i + 1], "set")?);
            i += 1;
        } else {
            return Err(KvError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// `EX s`, `PX ms`, `EXAT unix-s` or `PXAT unix-ms` (the option `word` and its `value`) as
/// an absolute unix-ms instant; the time must be positive, as Redis requires.
fn expiry_option(ctx: &Ctx<'_, '_>, word: &[u8], value: &[u8], command: &str) -> Result<i64> {
    let (ms, abs) = if is(word, "EX") {
        (false, false)
    } else if is(word, "PX") {
        (true, false)
    } else if is(word, "EXAT") {
        (false, true)
    } else if is(word, "PXAT") {
        (true, true)
    } else {
        return Err(KvError::Syntax);
    };
    if int(value)? <= 0 {
        return Err(KvError::other(format!(
            "invalid expire time in '{command}' command"
        )));
    }
    expire_at(ctx, value, ms, abs, command)
}

pub fn set(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let key = args[1];
    let value = ctx.keep(args[2]);
    if args.len() == 3 {
        put_string(ctx, key, value, 0)?;
        return Ok(Reply::OK);
    }
    let o = parse_set_options(ctx, &args[3..])?;
    let db = ctx.db();
    let old = if o.get {
        ctx.txn.typed_head(db, key, Kind::String)?
    } else {
        ctx.txn.head(db, key)?
    };
    let old_reply =
        |old: &Option<crate::encoding::Head>| Reply::optional(old.as_ref().map(|h| h.body.clone()));
    if (o.nx && old.is_some()) || (o.xx && old.is_none()) {
        return Ok(if o.get { old_reply(&old) } else { Reply::Nil });
    }
    let expire = match (o.expire_at, o.keep_ttl) {
        (Some(at), _) => at,
        (None, true) => old.as_ref().map_or(0, |h| h.expire_at as i64),
        (None, false) => 0,
    };
    if o.expire_at.is_some() && expire <= ctx.txn.now as i64 {
        // Already in the past: the key is set and expires at once.
        ctx.txn.delete_key(db, key)?;
    } else {
        put_string(ctx, key, value, expire as u64)?;
    }
    Ok(if o.get { old_reply(&old) } else { Reply::OK })
}

/// UPDATE key value: the seed's verb, SET only if the key exists (like SET … XX).
pub fn update(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    if ctx.txn.head(db, args[1])?.is_none() {
        return Ok(Reply::Nil);
    }
    let value = ctx.keep(args[2]);
    put_string(ctx, args[1], value, 0)?;
    Ok(Reply::OK)
}

pub fn setnx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    if ctx.txn.head(db, args[1])?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let value = ctx.keep(args[2]);
    put_string(ctx, args[1], value, 0)?;
    Ok(Reply::Integer(1))
}

fn set_with_ttl(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], ms: bool, name: &str) -> Result<Reply> {
    if int(args[2])? <= 0 {
        return Err(KvError::other(format!(
            "invalid expire time in '{name}' command"
        )));
    }
    let at = expire_at(ctx, args[2], ms, false, name)?;
    let value = ctx.keep(args[3]);
    put_string(ctx, args[1], value, at as u64)?;
    Ok(Reply::OK)
}

pub fn setex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    set_with_ttl(ctx, args, false, "setex")
}

pub fn psetex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    set_with_ttl(ctx, args, true, "psetex")
}

pub fn getset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let old = get_string(ctx, args[1])?;
    let value = ctx.keep(args[2]);
    put_string(ctx, args[1], value, 0)?;
    Ok(Reply::optional(old.map(|h| h.body)))
}

pub fn getdel(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let old = get_string(ctx, args[1])?;
    if old.is_some() {
        let db = ctx.db();
        ctx.txn.delete_key(db, args[1])?;
    }
    Ok(Reply::optional(old.map(|h| h.body)))
}

pub fn getex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let mut new_expiry: Option<i64> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "PERSIST") && new_expiry.is_none() {
            new_expiry = Some(0);
        } else if new_expiry.is_none() && i + 1 < args.len() {
            new_expiry = Some(expiry_option(ctx, a, args[i + 1], "getex")?);
            i += 1;
        } else {
            return Err(KvError::Syntax);
        }
        i += 1;
    }
    let Some(head) = get_string(ctx, args[1])? else {
        return Ok(Reply::Nil);
    };
    if let Some(at) = new_expiry {
        if at != 0 && at <= ctx.txn.now as i64 {
            let db = ctx.db();
            ctx.txn.delete_key(db, args[1])?;
        } else if at as u64 != head.expire_at {
            put_string(ctx, args[1], head.body.clone(), at as u64)?;
        }
    }
    Ok(Reply::Bulk(head.body))
}

pub fn mget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = ctx.db();
    let mut out = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        out.push(match ctx.txn.head_of_kind(db, key, Kind::String)? {
            Some(h) if h.kind == Kind::String => Reply::Bulk(h.body),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

pub fn mset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    if args.len().is_multiple_of(2) {
        return Err(KvError::WrongArity("mset".into()));
    }
    for pair in args[1..].chunks(2) {
        crate::encoding::check_key(pair[0])?;
    }
    for pair in args[1..].chunks(2) {
        let value = ctx.keep(pair[1]);
        put_string(ctx, pair[0], value, 0)?;
    }
    Ok(Reply::OK)
}

pub fn msetnx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    if args.len().is_multiple_of(2) {
        return Err(KvError::WrongArity("msetnx".into()));
    }
    let db = ctx.db();
    for pair in args[1..].chunks(2) {
        if ctx.txn.head(db, pair[0])?.is_some() {
            return Ok(Reply::Integer(0));
        }
    }
    for pair in args[1..].chunks(2) {
        let value = ctx.keep(pair[1]);
        put_string(ctx, pair[0], value, 0)?;
    }
    Ok(Reply::Integer(1))
}

/// The longest string APPEND and SETRANGE may make (`proto-max-bulk-len`).
fn max_string_len(ctx: &Ctx<'_, '_>) -> usize {
    ctx.kv.options.lock().proto_max_bulk_len
}

/// The string head of `key` with a string stored in chunks left unread (`WRONGTYPE` for
/// another type), for the commands that touch a part of it.
fn string_unread(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<Head>> {
    let db = ctx.db();
    match ctx.txn.head(db, key)? {
        Some(h) if h.kind != Kind::String => Err(KvError::WrongType),
        other => Ok(other),
    }
}

fn too_long() -> KvError {
    KvError::other("string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// Writes `patch` at `offset` of the string stored in chunks that `head` names, and its head.
fn patch_chunks(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    mut head: Head,
    offset: u64,
    patch: &[u8],
) -> Result<u64> {
    let Some(mut c) = head.chunks else {
        return Err(KvError::damaged("a string head without chunks"));
    };
    if offset + patch.len() as u64 > max_string_len(ctx) as u64 {
        return Err(too_long());
    }
    chunks::write_range(&mut ctx.txn, &mut c, offset, patch)?;
    head.chunks = Some(c);
    let db = ctx.db();
    ctx.txn.put_head(db, key, &head)?;
    Ok(c.len)
}

pub fn append(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let head = string_unread(ctx, args[1])?;
    if let Some(h) = head.as_ref().filter(|h| h.chunks.is_some()) {
        // Only the last chunk and the new ones are written.
        let len = patch_chunks(ctx, args[1], h.clone(), h.string_len(), args[2])?;
        return Ok(Reply::Integer(len as i64));
    }
    let (value, expire) = match head {
        Some(h) => {
            if h.body.len() + args[2].len() > max_string_len(ctx) {
                return Err(too_long());
            }
            let mut v = BytesMut::with_capacity(h.body.len() + args[2].len());
            v.extend_from_slice(&h.body);
            v.extend_from_slice(args[2]);
            (v.freeze(), h.expire_at)
        }
        None => (ctx.keep(args[2]), 0),
    };
    let len = value.len();
    put_string(ctx, args[1], value, expire)?;
    Ok(Reply::Integer(len as i64))
}

pub fn strlen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(
        string_unread(ctx, args[1])?.map_or(0, |h| h.string_len() as i64),
    ))
}

fn incr_by(ctx: &mut Ctx<'_, '_>, key: &[u8], by: i64) -> Result<Reply> {
    let (current, expire) = match get_string(ctx, key)? {
        Some(h) => (parse_i64(&h.body)?, h.expire_at),
        None => (0, 0),
    };
    let next = current.checked_add(by).ok_or(KvError::Overflow)?;
    put_string(ctx, key, Bytes::from(next.to_string()), expire)?;
    Ok(Reply::Integer(next))
}

pub fn incr(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    incr_by(ctx, args[1], 1)
}

pub fn decr(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    incr_by(ctx, args[1], -1)
}

pub fn incrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let by = int(args[2])?;
    incr_by(ctx, args[1], by)
}

pub fn decrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let by = int(args[2])?;
    if by == i64::MIN {
        return Err(KvError::other("decrement would overflow"));
    }
    incr_by(ctx, args[1], -by)
}

pub fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let by = parse_f64(args[2])?;
    let (current, expire) = match get_string(ctx, args[1])? {
        Some(h) => (parse_f64(&h.body)?, h.expire_at),
        None => (0.0, 0),
    };
    let next = current + by;
    if !next.is_finite() {
        return Err(KvError::other("increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(format_human(next));
    put_string(ctx, args[1], text.clone(), expire)?;
    Ok(Reply::Bulk(text))
}

pub fn getrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (start, end) = (int(args[2])?, int(args[3])?);
    let Some(h) = string_unread(ctx, args[1])? else {
        return Ok(Reply::bulk(Bytes::new()));
    };
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::bulk(Bytes::new()));
    }
    let Some((s, e)) = crate::commands::args::clamp_range(start, end, h.string_len()) else {
        return Ok(Reply::bulk(Bytes::new()));
    };
    Ok(Reply::Bulk(match h.chunks {
        // Only the chunks the range overlaps are read.
        Some(c) => chunks::read_range(&mut ctx.txn, &c, s, e + 1)?,
        None => h.body.slice(s as usize..=e as usize),
    }))
}

pub fn setrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let offset = int(args[2])?;
    if offset < 0 {
        return Err(KvError::other("offset is out of range"));
    }
    let offset = offset as usize;
    let patch = &args[3];
    let old = string_unread(ctx, args[1])?;
    if let Some(h) = old.as_ref().filter(|h| h.chunks.is_some()) {
        if patch.is_empty() {
            return Ok(Reply::Integer(h.string_len() as i64));
        }
        // Only the chunks the patch (and a gap before it) touches are written.
        let len = patch_chunks(ctx, args[1], h.clone(), offset as u64, patch)?;
        return Ok(Reply::Integer(len as i64));
    }
    if offset + patch.len() > max_string_len(ctx) {
        return Err(too_long());
    }
    let (mut value, expire) = match &old {
        Some(h) => (h.body.to_vec(), h.expire_at),
        None => (Vec::new(), 0),
    };
    if patch.is_empty() {
        return Ok(Reply::Integer(value.len() as i64));
    }
    if value.len() < offset + patch.len() {
        value.resize(offset + patch.len(), 0);
    }
    value[offset..offset + patch.len()].copy_from_slice(patch);
    let len = value.len();
    put_string(ctx, args[1], Bytes::from(value), expire)?;
    Ok(Reply::Integer(len as i64))
}
