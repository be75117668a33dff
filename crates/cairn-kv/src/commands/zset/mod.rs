//! Sorted set commands over [`crate::collections::zset`]. Here: adding, scoring, counting,
//! scanning and random members; in submodules, the range family (`range`: by rank, score and
//! lex, forward and reversed, ZRANGESTORE, counts, ranks and removals by range), the set
//! algebra (`algebra`: ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, through one
//! `combine` that checks its arguments in Redis's order), and the pops (`pop`: ZPOPMIN,
//! ZPOPMAX and the blocking BZPOPMIN/BZPOPMAX, which wait like the blocking list pops,
//! [`crate::kv::After::Block`], until a write adds elements).

mod algebra;
mod pop;
mod range;

pub use algebra::{zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore};
pub use pop::{bzpopmax, bzpopmin, zpopmax, zpopmin};
pub use range::{
    zcount, zlexcount, zrange, zrangebylex, zrangebyscore, zrangestore, zrank, zremrangebylex,
    zremrangebyrank, zremrangebyscore, zrevrange, zrevrangebylex, zrevrangebyscore, zrevrank,
};

use crate::collections::zset::{Entry, ZSet};
use crate::commands::args::{int, is};
use crate::commands::keys::parse_scan;
use crate::commands::stored;
use crate::dispatch::Ctx;
use crate::encoding::{Head, Kind};
use crate::error::{KvError, Result};
use crate::glob;
use crate::num::parse_f64;
use crate::reply::Reply;

pub(super) fn load(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<(Head, ZSet)>> {
    stored::load(ctx, key, Kind::ZSet)
}

pub(super) fn load_or_new(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<(Head, ZSet)> {
    stored::load_or_new(ctx, key, Kind::ZSet)
}

pub(super) use stored::save;

pub(super) fn score_arg(arg: &[u8]) -> Result<f64> {
    parse_f64(arg)
}

pub fn zadd(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "NX") {
            nx = true;
        } else if is(a, "XX") {
            xx = true;
        } else if is(a, "GT") {
            gt = true;
        } else if is(a, "LT") {
            lt = true;
        } else if is(a, "CH") {
            ch = true;
        } else if is(a, "INCR") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(KvError::Syntax);
    }
    if nx && xx {
        return Err(KvError::other(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (gt && lt) || (nx && (gt || lt)) {
        return Err(KvError::other(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs.len() != 2 {
        return Err(KvError::other(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut parsed = Vec::with_capacity(pairs.len() / 2);
    for p in pairs.chunks(2) {
        parsed.push((score_arg(p[0])?, p[1]));
    }
    let keeper = ctx.keeper();
    let counts = stored::change(ctx, args[1], Kind::ZSet, !xx, |txn, z: &mut ZSet| {
        let (mut added, mut changed) = (0, 0);
        let mut incr_result = None;
        for (score, member) in parsed {
            let old = z.score(txn, member)?;
            let new = if incr {
                old.unwrap_or(0.0) + score
            } else {
                score
            };
            if new.is_nan() {
                // INCR takes one pair: nothing has changed yet.
                return Err(KvError::other("resulting score is not a number (NaN)"));
            }
            let allowed = match old {
                None => !xx,
                Some(o) => !nx && (!gt || new > o) && (!lt || new < o),
            };
            if !allowed {
                continue;
            }
            incr_result = Some(new);
            if old != Some(new) {
                z.rescore(txn, keeper.keep(member), old, new)?;
                if old.is_none() {
                    added += 1;
                } else {
                    changed += 1;
                }
            }
        }
        // As in Redis, a ZADD that adds and moves nothing writes nothing (and leaves a WATCH
        // on the key undisturbed).
        Ok(((added, changed, incr_result), added + changed > 0))
    })?;
    let (added, changed, incr_result) = counts.unwrap_or((0, 0, None));
    if added > 0 {
        // The set may have just been made: a blocked BZPOPMIN may take from it.
        let db = ctx.db();
        ctx.txn.elements_added_to(db, args[1]);
    }
    if incr {
        return Ok(incr_result.map_or(Reply::Nil, Reply::Double));
    }
    Ok(Reply::Integer(if ch { added + changed } else { added }))
}

pub fn zincrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let by = score_arg(args[2])?;
    let (head, mut z) = load_or_new(ctx, args[1])?;
    let old = z.score(&mut ctx.txn, args[3])?;
    let new = old.unwrap_or(0.0) + by;
    if new.is_nan() {
        return Err(KvError::other("resulting score is not a number (NaN)"));
    }
    let member = ctx.keep(args[3]);
    z.rescore(&mut ctx.txn, member, old, new)?;
    save(ctx, args[1], head, &mut z)?;
    Ok(Reply::Double(new))
}

pub fn zrem(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((head, mut z)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let mut n = 0;
    for m in &args[2..] {
        n += i64::from(z.remove(&mut ctx.txn, m)?.is_some());
    }
    save(ctx, args[1], head, &mut z)?;
    Ok(Reply::Integer(n))
}

pub fn zscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some((_, mut z)) = load(ctx, args[1])? else {
        return Ok(Reply::Nil);
    };
    Ok(z.score(&mut ctx.txn, args[2])?
        .map_or(Reply::Nil, Reply::Double))
}

pub fn zmscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let mut z = load(ctx, args[1])?;
    let mut out = Vec::new();
    for m in &args[2..] {
        out.push(match &mut z {
            Some((_, z)) => z.score(&mut ctx.txn, m)?.map_or(Reply::Nil, Reply::Double),
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

pub fn zcard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(
        load(ctx, args[1])?.map_or(0, |(_, z)| z.len as i64),
    ))
}

pub(super) fn entries_reply(ctx: &Ctx<'_, '_>, entries: Vec<Entry>, with_scores: bool) -> Reply {
    if !with_scores {
        return Reply::Array(entries.into_iter().map(|(_, m)| Reply::Bulk(m)).collect());
    }
    if ctx.resp3() {
        return Reply::Array(
            entries
                .into_iter()
                .map(|(s, m)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        );
    }
    let mut out = Vec::with_capacity(entries.len() * 2);
    for (s, m) in entries {
        out.push(Reply::Bulk(m));
        out.push(Reply::Double(s));
    }
    Reply::Array(out)
}

/// Replaces `dst` with a sorted set of `entries` (distinct members); an empty result deletes
/// it. Answers the number of members stored.
pub(super) fn store_entries(
    ctx: &mut Ctx<'_, '_>,
    dst: &[u8],
    entries: Vec<Entry>,
) -> Result<Reply> {
    crate::encoding::check_key(dst)?;
    let db = ctx.db();
    if let Some(old) = ctx.txn.head(db, dst)? {
        ctx.txn.remove_head(db, dst, &old)?;
    }
    let (head, mut z) = load_or_new(ctx, dst)?;
    let n = entries.len();
    for (s, m) in entries {
        // The destination starts empty and the members are distinct: none is there yet.
        z.rescore(&mut ctx.txn, m, None, s)?;
    }
    save(ctx, dst, head, &mut z)?;
    Ok(Reply::Integer(n as i64))
}

pub fn zscan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let o = parse_scan(args, 2, false)?;
    let Some((_, mut z)) = load(ctx, args[1])? else {
        return Ok(Reply::Array(vec![Reply::text("0"), Reply::Array(vec![])]));
    };
    let mut out = Vec::new();
    let mut bucket = o.cursor;
    let mut found = 0;
    loop {
        let (entries, buckets) = z.scan_bucket(&mut ctx.txn, bucket)?;
        for (s, m) in entries {
            if o.pattern.as_ref().is_some_and(|p| !glob::matches(p, &m)) {
                continue;
            }
            found += 1;
            out.push(Reply::Bulk(m));
            out.push(Reply::double_as_bulk(s));
        }
        bucket += 1;
        if bucket >= buckets {
            bucket = 0;
            break;
        }
        if found >= o.count {
            break;
        }
    }
    Ok(Reply::Array(vec![
        Reply::text(bucket.to_string()),
        Reply::Array(out),
    ]))
}

/// ZRANDMEMBER key [count [WITHSCORES]]: a positive count asks for distinct members (at most
/// the whole set), a negative one for that many draws that may repeat.
pub fn zrandmember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let count = args.get(2).map(|c| int(c)).transpose()?;
    let with_scores = match args.get(3) {
        Some(a) if is(a, "WITHSCORES") && args.len() == 4 => true,
        Some(_) => return Err(KvError::Syntax),
        None => false,
    };
    if count.is_some_and(|c| c == i64::MIN || (with_scores && c < -(i64::MAX / 2))) {
        return Err(KvError::other("value is out of range"));
    }
    let Some((_, mut z)) = load(ctx, args[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let len = z.len;
    let Some(count) = count else {
        let rank = ctx.kv.rng.lock().below(len);
        let mut one = z.range(&mut ctx.txn, rank, rank)?;
        return Ok(Reply::optional(one.pop().map(|(_, m)| m)));
    };
    // As HRANDFIELD: a draw of many repeats is bounded, where Redis would stream it.
    let wanted = count.unsigned_abs().min(1 << 24);
    let picked = if count >= 0 && wanted >= len {
        // The whole set, highest first, as Redis's set iterator gives it.
        let mut all = z.range(&mut ctx.txn, 0, len - 1)?;
        all.reverse();
        all
    } else if (count < 0 && wanted >= len) || (count >= 0 && wanted * 2 > len) {
        // Many draws from a small set, or most of the set: read it whole once.
        let all = z.range(&mut ctx.txn, 0, len - 1)?;
        ctx.kv.rng.lock().sample(all, wanted as usize, count >= 0)
    } else {
        // A few ranks drawn, each read through the tree's counts.
        let mut ranks = Vec::with_capacity(wanted as usize);
        let mut taken = std::collections::HashSet::new();
        {
            let mut rng = ctx.kv.rng.lock();
            while (ranks.len() as u64) < wanted {
                let rank = rng.below(len);
                if count < 0 || taken.insert(rank) {
                    ranks.push(rank);
                }
            }
        }
        let mut picked = Vec::with_capacity(ranks.len());
        for rank in ranks {
            picked.extend(z.range(&mut ctx.txn, rank, rank)?);
        }
        picked
    };
    Ok(entries_reply(ctx, picked, with_scores))
}
