//! Hash commands over the bucketed layout ([`crate::collections::buckets`]).

use bytes::Bytes;

use crate::collections::buckets::BucketMap;
use crate::commands::args::{int, is};
use crate::commands::keys::parse_scan;
use crate::commands::stored;
use crate::dispatch::Ctx;
use crate::encoding::{Head, Kind};
use crate::error::{KvError, Result};
use crate::glob;
use crate::num::{format_human, parse_f64, parse_i64};
use crate::reply::Reply;

/// The hash or set at `key`.
pub fn load(ctx: &mut Ctx<'_, '_>, key: &[u8], kind: Kind) -> Result<Option<(Head, BucketMap)>> {
    stored::load(ctx, key, kind)
}

/// The hash or set at `key`, or a new empty one.
pub fn load_or_new(ctx: &mut Ctx<'_, '_>, key: &[u8], kind: Kind) -> Result<(Head, BucketMap)> {
    stored::load_or_new(ctx, key, kind)
}

pub use stored::save;

pub fn hset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    if !args.len().is_multiple_of(2) {
        return Err(KvError::WrongArity(
            String::from_utf8_lossy(args[0]).to_ascii_lowercase(),
        ));
    }
    let pairs = &args[2..];
    let keeper = ctx.keeper();
    let added = stored::change(
        ctx,
        args[1],
        Kind::Hash,
        true,
        |txn, map: &mut BucketMap| {
            let mut added = 0;
            for pair in pairs.chunks(2) {
                added += i64::from(map.insert(txn, keeper.keep(pair[0]), keeper.keep(pair[1]))?);
            }
            Ok((added, true))
        },
    )?
    .unwrap_or(0);
    Ok(if is(args[0], "HMSET") {
        Reply::OK
    } else {
        Reply::Integer(added)
    })
}

pub fn hsetnx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (head, mut map) = load_or_new(ctx, args[1], Kind::Hash)?;
    if map.get(&mut ctx.txn, args[2])?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let (field, value) = (ctx.keep(args[2]), ctx.keep(args[3]));
    map.insert(&mut ctx.txn, field, value)?;
    save(ctx, args[1], head, &mut map)?;
    Ok(Reply::Integer(1))
}

pub fn hget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((_, map)) = load(ctx, args[1], Kind::Hash)? else {
        return Ok(Reply::Nil);
    };
    Ok(Reply::optional(map.get(&mut ctx.txn, args[2])?))
}

pub fn hmget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let map = load(ctx, args[1], Kind::Hash)?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for field in &args[2..] {
        out.push(match &map {
            Some((_, m)) => Reply::optional(m.get(&mut ctx.txn, field)?),
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

pub fn hdel(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((head, mut map)) = load(ctx, args[1], Kind::Hash)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for field in &args[2..] {
        removed += i64::from(map.remove(&mut ctx.txn, field)?);
    }
    if removed > 0 {
        save(ctx, args[1], head, &mut map)?;
    }
    Ok(Reply::Integer(removed))
}

pub fn hlen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(
        load(ctx, args[1], Kind::Hash)?.map_or(0, |(_, m)| m.len as i64),
    ))
}

pub fn hexists(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((_, map)) = load(ctx, args[1], Kind::Hash)? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(i64::from(
        map.get(&mut ctx.txn, args[2])?.is_some(),
    )))
}

fn all(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
    match load(ctx, key, Kind::Hash)? {
        Some((_, map)) => map.entries(&mut ctx.txn),
        None => Ok(Vec::new()),
    }
}

pub fn hkeys(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::bulks(all(ctx, args[1])?.into_iter().map(|(f, _)| f)))
}

pub fn hvals(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::bulks(all(ctx, args[1])?.into_iter().map(|(_, v)| v)))
}

pub fn hgetall(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Map(
        all(ctx, args[1])?
            .into_iter()
            .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
            .collect(),
    ))
}

pub fn hincrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let by = int(args[3])?;
    let (head, mut map) = load_or_new(ctx, args[1], Kind::Hash)?;
    let current = match map.get(&mut ctx.txn, args[2])? {
        Some(v) => parse_i64(&v).map_err(|_| KvError::other("hash value is not an integer"))?,
        None => 0,
    };
    let next = current.checked_add(by).ok_or(KvError::Overflow)?;
    let field = ctx.keep(args[2]);
    map.insert(&mut ctx.txn, field, Bytes::from(next.to_string()))?;
    save(ctx, args[1], head, &mut map)?;
    Ok(Reply::Integer(next))
}

pub fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let by = parse_f64(args[3])?;
    let (head, mut map) = load_or_new(ctx, args[1], Kind::Hash)?;
    let current = match map.get(&mut ctx.txn, args[2])? {
        Some(v) => parse_f64(&v).map_err(|_| KvError::other("hash value is not a float"))?,
        None => 0.0,
    };
    let next = current + by;
    if !next.is_finite() {
        return Err(KvError::other("increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(format_human(next));
    let field = ctx.keep(args[2]);
    map.insert(&mut ctx.txn, field, text.clone())?;
    save(ctx, args[1], head, &mut map)?;
    Ok(Reply::Bulk(text))
}

pub fn hstrlen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((_, map)) = load(ctx, args[1], Kind::Hash)? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(
        map.get(&mut ctx.txn, args[2])?
            .map_or(0, |v| v.len() as i64),
    ))
}

/// HSCAN and SSCAN: the cursor is a bucket number; buckets only ever split into
/// higher-numbered ones, so an element present for the whole scan is returned at least once.
pub fn scan_buckets(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], kind: Kind) -> Result<Reply> {
    let o = parse_scan(args, 2, false)?;
    let Some((_, map)) = load(ctx, args[1], kind)? else {
        return Ok(Reply::Array(vec![Reply::text("0"), Reply::Array(vec![])]));
    };
    let mut out = Vec::new();
    let mut bucket = o.cursor;
    let buckets = map.buckets();
    let mut found = 0;
    while bucket < buckets && found < o.count {
        for (f, v) in map.bucket(&mut ctx.txn, bucket)? {
            if o.pattern.as_ref().is_some_and(|p| !glob::matches(p, &f)) {
                continue;
            }
            found += 1;
            out.push(Reply::Bulk(f));
            if kind == Kind::Hash && !o.no_values {
                out.push(Reply::Bulk(v));
            }
        }
        bucket += 1;
    }
    let next = if bucket >= buckets { 0 } else { bucket };
    Ok(Reply::Array(vec![
        Reply::text(next.to_string()),
        Reply::Array(out),
    ]))
}

pub fn hscan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    scan_buckets(ctx, args, Kind::Hash)
}

/// Picks `count` entries at random: distinct when `distinct`, else possibly repeated.
///
/// A few entries of a large table are drawn one at a time, each from a random bucket
/// accepted in proportion to its size (rejection sampling, so an entry of a sparse bucket is
/// not favoured), a few bucket reads per entry as Redis's SRANDMEMBER costs O(1). Many
/// entries, or most of a table, are drawn from the table read whole, O(n) as in Redis.
pub fn random_entries(
    ctx: &mut Ctx<'_, '_>,
    map: &BucketMap,
    count: usize,
    distinct: bool,
) -> Result<Vec<(Bytes, Bytes)>> {
    if count <= SAMPLED_ONE_BY_ONE && map.len >= 4 * count as u64 && map.buckets() > 1 {
        if let Some(picked) = sample_by_bucket(ctx, map, count, distinct)? {
            return Ok(picked);
        }
    }
    let entries = map.entries(&mut ctx.txn)?;
    Ok(ctx.kv.rng.lock().sample(entries, count, distinct))
}

/// The most entries [`random_entries`] draws one at a time.
const SAMPLED_ONE_BY_ONE: usize = 64;
/// A bucket of this many entries or more is always accepted: buckets average at most
/// `SPLIT_AT`, and one past twice that is rare enough for its slight bias not to matter.
const ACCEPT_ALL_AT: u64 = 2 * crate::collections::buckets::SPLIT_AT;

/// Draws `count` entries one at a time (see [`random_entries`]); `None` if it gives up after
/// far more tries than it should need (a table whose length disagrees with its buckets).
fn sample_by_bucket(
    ctx: &mut Ctx<'_, '_>,
    map: &BucketMap,
    count: usize,
    distinct: bool,
) -> Result<Option<Vec<(Bytes, Bytes)>>> {
    let kv = ctx.kv;
    let mut picked: Vec<(Bytes, Bytes)> = Vec::with_capacity(count);
    for _ in 0..1000 * count.max(1) {
        if picked.len() == count {
            return Ok(Some(picked));
        }
        let bucket = kv.rng.lock().below(map.buckets());
        let entries = map.bucket(&mut ctx.txn, bucket)?;
        let n = entries.len() as u64;
        let mut rng = kv.rng.lock();
        if n == 0 || (n < ACCEPT_ALL_AT && rng.below(ACCEPT_ALL_AT) >= n) {
            continue;
        }
        let entry = &entries[rng.below(n) as usize];
        if distinct && picked.iter().any(|(f, _)| *f == entry.0) {
            continue;
        }
        picked.push(entry.clone());
    }
    Ok((picked.len() == count).then_some(picked))
}

pub fn hrandfield(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let count = args.get(2).map(|c| int(c)).transpose()?;
    let with_values = match args.get(3) {
        Some(a) if is(a, "WITHVALUES") && args.len() == 4 => true,
        Some(_) => return Err(KvError::Syntax),
        None => false,
    };
    let Some((_, map)) = load(ctx, args[1], Kind::Hash)? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let Some(count) = count else {
        let picked = random_entries(ctx, &map, 1, true)?;
        return Ok(Reply::optional(picked.into_iter().next().map(|(f, _)| f)));
    };
    let distinct = count >= 0;
    let picked = random_entries(
        ctx,
        &map,
        count.unsigned_abs().min(1 << 24) as usize,
        distinct,
    )?;
    if with_values && ctx.resp3() {
        return Ok(Reply::Array(
            picked
                .into_iter()
                .map(|(f, v)| Reply::Array(vec![Reply::Bulk(f), Reply::Bulk(v)]))
                .collect(),
        ));
    }
    let mut out = Vec::new();
    for (f, v) in picked {
        out.push(Reply::Bulk(f));
        if with_values {
            out.push(Reply::Bulk(v));
        }
    }
    Ok(Reply::Array(out))
}
