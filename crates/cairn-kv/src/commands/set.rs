//! Set commands over the bucketed layout (members with empty values).

use std::collections::HashSet;

use bytes::Bytes;

use crate::collections::buckets::BucketMap;
use crate::commands::args::{int, is};
use crate::commands::hash::{load, load_or_new, random_entries, save, scan_buckets};
use crate::commands::stored;
use crate::dispatch::Ctx;
use crate::encoding::Kind;
use crate::error::{KvError, Result};
use crate::reply::Reply;

fn members(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Vec<Bytes>> {
    match load(ctx, key, Kind::Set)? {
        Some((_, map)) => Ok(map
            .entries(&mut ctx.txn)?
            .into_iter()
            .map(|(m, _)| m)
            .collect()),
        None => Ok(Vec::new()),
    }
}

fn set_reply(items: impl IntoIterator<Item = Bytes>) -> Reply {
    Reply::Set(items.into_iter().map(Reply::Bulk).collect())
}

pub fn sadd(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let members = &args[2..];
    let keeper = ctx.keeper();
    let added = stored::change(ctx, args[1], Kind::Set, true, |txn, map: &mut BucketMap| {
        let mut added = 0;
        for m in members {
            added += i64::from(map.insert(txn, keeper.keep(m), Bytes::new())?);
        }
        // As in Redis, adding only members already there changes nothing: no write, and a
        // WATCH on the key is not disturbed.
        Ok((added, added > 0))
    })?;
    Ok(Reply::Integer(added.unwrap_or(0)))
}

pub fn srem(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((head, mut map)) = load(ctx, args[1], Kind::Set)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for m in &args[2..] {
        removed += i64::from(map.remove(&mut ctx.txn, m)?);
    }
    if removed > 0 {
        save(ctx, args[1], head, &mut map)?;
    }
    Ok(Reply::Integer(removed))
}

pub fn smembers(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(set_reply(members(ctx, args[1])?))
}

pub fn sismember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((_, map)) = load(ctx, args[1], Kind::Set)? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(i64::from(
        map.get(&mut ctx.txn, args[2])?.is_some(),
    )))
}

pub fn smismember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let map = load(ctx, args[1], Kind::Set)?;
    let mut out = Vec::new();
    for m in &args[2..] {
        let hit = match &map {
            Some((_, map)) => map.get(&mut ctx.txn, m)?.is_some(),
            None => false,
        };
        out.push(Reply::Integer(i64::from(hit)));
    }
    Ok(Reply::Array(out))
}

pub fn scard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(
        load(ctx, args[1], Kind::Set)?.map_or(0, |(_, m)| m.len as i64),
    ))
}

pub fn spop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let count = match args.get(2) {
        Some(c) => {
            let n = int(c)?;
            if n < 0 || args.len() > 3 {
                return Err(if args.len() > 3 {
                    KvError::Syntax
                } else {
                    KvError::other("value is out of range, must be positive")
                });
            }
            Some(n as usize)
        }
        None => None,
    };
    let Some((head, mut map)) = load(ctx, args[1], Kind::Set)? else {
        return Ok(if count.is_some() {
            Reply::Set(vec![])
        } else {
            Reply::Nil
        });
    };
    let picked = random_entries(ctx, &map, count.unwrap_or(1), true)?;
    for (m, _) in &picked {
        map.remove(&mut ctx.txn, m)?;
    }
    save(ctx, args[1], head, &mut map)?;
    let popped = picked.into_iter().map(|(m, _)| m);
    Ok(match count {
        Some(_) => set_reply(popped),
        None => Reply::optional(popped.into_iter().next()),
    })
}

pub fn srandmember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let count = args.get(2).map(|c| int(c)).transpose()?;
    if args.len() > 3 {
        return Err(KvError::Syntax);
    }
    let Some((_, map)) = load(ctx, args[1], Kind::Set)? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    match count {
        None => {
            let picked = random_entries(ctx, &map, 1, true)?;
            Ok(Reply::optional(picked.into_iter().next().map(|(m, _)| m)))
        }
        Some(n) => {
            let picked = random_entries(ctx, &map, n.unsigned_abs().min(1 << 24) as usize, n >= 0)?;
            Ok(Reply::bulks(picked.into_iter().map(|(m, _)| m)))
        }
    }
}

pub fn smove(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let Some((src_head, mut src_map)) = load(ctx, src, Kind::Set)? else {
        // Redis checks the destination's type even when the source is missing.
        load(ctx, dst, Kind::Set)?;
        return Ok(Reply::Integer(0));
    };
    let dst_loaded = load(ctx, dst, Kind::Set)?;
    if src_map.get(&mut ctx.txn, member)?.is_none() {
        return Ok(Reply::Integer(0));
    }
    if src == dst {
        return Ok(Reply::Integer(1));
    }
    src_map.remove(&mut ctx.txn, member)?;
    save(ctx, src, src_head, &mut src_map)?;
    let (dst_head, mut dst_map) = match dst_loaded {
        Some(found) => found,
        None => load_or_new(ctx, dst, Kind::Set)?,
    };
    let member = ctx.keep(member);
    dst_map.insert(&mut ctx.txn, member, Bytes::new())?;
    save(ctx, dst, dst_head, &mut dst_map)?;
    Ok(Reply::Integer(1))
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

fn combine(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]], op: Op, limit: usize) -> Result<Vec<Bytes>> {
    // Every key is type-checked first, as Redis does, before any is read whole.
    let mut maps: Vec<Option<BucketMap>> = Vec::with_capacity(keys.len());
    for key in keys {
        maps.push(load(ctx, key, Kind::Set)?.map(|(_, m)| m));
    }
    match op {
        Op::Union => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for map in maps.iter().flatten() {
                for (m, _) in map.entries(&mut ctx.txn)? {
                    if seen.insert(m.clone()) {
                        out.push(m);
                    }
                }
            }
            Ok(out)
        }
        Op::Inter => {
            if maps.iter().any(|m| m.is_none()) {
                return Ok(Vec::new());
            }
            let mut maps: Vec<BucketMap> = maps.into_iter().flatten().collect();
            maps.sort_by_key(|m| m.len);
            let mut out = Vec::new();
            let Some((first, rest)) = maps.split_first() else {
                return Ok(out);
            };
            'member: for (m, _) in first.entries(&mut ctx.txn)? {
                for other in rest {
                    if other.get(&mut ctx.txn, &m)?.is_none() {
                        continue 'member;
                    }
                }
                out.push(m);
                if limit != 0 && out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        }
        Op::Diff => {
            let Some(Some(first)) = maps.first() else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            'member: for (m, _) in first.entries(&mut ctx.txn)? {
                for other in maps[1..].iter().flatten() {
                    if other.get(&mut ctx.txn, &m)?.is_some() {
                        continue 'member;
                    }
                }
                out.push(m);
            }
            Ok(out)
        }
    }
}

fn store_result(ctx: &mut Ctx<'_, '_>, dst: &[u8], members: Vec<Bytes>) -> Result<Reply> {
    let db = ctx.db();
    if let Some(old) = ctx.txn.head(db, dst)? {
        ctx.txn.remove_head(db, dst, &old)?;
    }
    let n = members.len() as i64;
    let (head, mut map) = load_or_new(ctx, dst, Kind::Set)?;
    for m in members {
        map.insert(&mut ctx.txn, m, Bytes::new())?;
    }
    save(ctx, dst, head, &mut map)?;
    Ok(Reply::Integer(n))
}

pub fn sinter(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(set_reply(combine(ctx, &args[1..], Op::Inter, 0)?))
}

pub fn sunion(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(set_reply(combine(ctx, &args[1..], Op::Union, 0)?))
}

pub fn sdiff(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(set_reply(combine(ctx, &args[1..], Op::Diff, 0)?))
}

pub fn sinterstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let members = combine(ctx, &args[2..], Op::Inter, 0)?;
    store_result(ctx, args[1], members)
}

pub fn sunionstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let members = combine(ctx, &args[2..], Op::Union, 0)?;
    store_result(ctx, args[1], members)
}

pub fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let members = combine(ctx, &args[2..], Op::Diff, 0)?;
    store_result(ctx, args[1], members)
}

pub fn sintercard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let numkeys = int(args[1])?;
    if numkeys <= 0 {
        return Err(KvError::other("numkeys should be greater than 0"));
    }
    let numkeys = numkeys as usize;
    if args.len() < 2 + numkeys {
        return Err(KvError::other(
            "Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let rest = &args[2 + numkeys..];
    match rest {
        [] => {}
        [word, n] if is(word, "LIMIT") => {
            let l = int(n)?;
            if l < 0 {
                return Err(KvError::other("LIMIT can't be negative"));
            }
            limit = l as usize;
        }
        _ => return Err(KvError::Syntax),
    }
    let found = combine(ctx, &args[2..2 + numkeys], Op::Inter, limit)?;
    Ok(Reply::Integer(found.len() as i64))
}

pub fn sscan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    scan_buckets(ctx, args, Kind::Set)
}
