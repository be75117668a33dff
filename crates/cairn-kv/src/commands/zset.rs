//! Sorted set commands over [`crate::collections::zset`]: the range family (by rank, score
//! and lex, forward and reversed, and ZRANGESTORE), the set algebra (ZUNION, ZINTER, ZDIFF,
//! their STORE forms and ZINTERCARD, all through one `combine` that checks its arguments in
//! Redis's order), ZRANDMEMBER, and the blocking BZPOPMIN/BZPOPMAX, which wait like the
//! blocking list pops ([`crate::kv::After::Block`]) until a write adds elements.

use std::collections::HashMap;

use bytes::Bytes;

use crate::collections::zset::{Entry, ZSet};
use crate::commands::args::{block, clamp_range, int, is, timeout_ms};
use crate::commands::keys::parse_scan;
use crate::commands::stored;
use crate::dispatch::Ctx;
use crate::encoding::{Head, Kind};
use crate::error::{KvError, Result};
use crate::glob;
use crate::num::parse_f64;
use crate::reply::Reply;

fn load(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<(Head, ZSet)>> {
    stored::load(ctx, key, Kind::ZSet)
}

fn load_or_new(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<(Head, ZSet)> {
    stored::load_or_new(ctx, key, Kind::ZSet)
}

use stored::save;

fn score_arg(arg: &[u8]) -> Result<f64> {
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

/// A score bound: value and whether it is exclusive.
#[derive(Clone, Copy)]
struct ScoreBound(f64, bool);

fn score_bound(arg: &[u8]) -> Result<ScoreBound> {
    let err = || KvError::other("min or max is not a float");
    match arg.strip_prefix(b"(") {
        Some(rest) => Ok(ScoreBound(parse_f64(rest).map_err(|_| err())?, true)),
        None => Ok(ScoreBound(parse_f64(arg).map_err(|_| err())?, false)),
    }
}

/// A lex bound: `-`, `+`, `[x` or `(x`.
#[derive(Clone)]
enum LexBound {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

fn lex_bound(arg: &[u8]) -> Result<LexBound> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Ok(LexBound::Min),
        Some(b'+') if arg.len() == 1 => Ok(LexBound::Max),
        Some(b'[') => Ok(LexBound::Incl(Bytes::copy_from_slice(&arg[1..]))),
        Some(b'(') => Ok(LexBound::Excl(Bytes::copy_from_slice(&arg[1..]))),
        _ => Err(KvError::other("min or max not valid string range item")),
    }
}

/// Ranks `lo..hi` of the entries within score bounds.
fn score_window(
    ctx: &mut Ctx<'_, '_>,
    z: &mut ZSet,
    min: ScoreBound,
    max: ScoreBound,
) -> Result<(u64, u64)> {
    let lo = z.count_before(&mut ctx.txn, &|s, _| {
        if min.1 {
            s <= min.0
        } else {
            s < min.0
        }
    })?;
    let hi = z.count_before(&mut ctx.txn, &|s, _| {
        if max.1 {
            s < max.0
        } else {
            s <= max.0
        }
    })?;
    Ok((lo, hi.max(lo)))
}

fn lex_window(
    ctx: &mut Ctx<'_, '_>,
    z: &mut ZSet,
    min: &LexBound,
    max: &LexBound,
) -> Result<(u64, u64)> {
    let below = |bound: &LexBound, upper: bool, m: &[u8]| -> bool {
        match bound {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(b) => {
                if upper {
                    m <= &b[..]
                } else {
                    m < &b[..]
                }
            }
            LexBound::Excl(b) => {
                if upper {
                    m < &b[..]
                } else {
                    m <= &b[..]
                }
            }
        }
    };
    let lo = z.count_before(&mut ctx.txn, &|_, m| below(min, false, m))?;
    let hi = z.count_before(&mut ctx.txn, &|_, m| below(max, true, m))?;
    Ok((lo, hi.max(lo)))
}

fn entries_reply(ctx: &Ctx<'_, '_>, entries: Vec<Entry>, with_scores: bool) -> Reply {
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

#[derive(Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// How a range is asked for: by what, in which direction, which slice, with scores or not.
#[derive(Clone, Copy)]
struct RangeSpec {
    by: By,
    rev: bool,
    limit: Option<(i64, i64)>,
    with_scores: bool,
}

/// The entries a range selects, in the order asked for: the shared engine of ZRANGE, its
/// older forms and ZRANGESTORE. Bounds are checked before the key is read, as Redis does.
fn range_entries(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    start: &[u8],
    stop: &[u8],
    spec: &RangeSpec,
) -> Result<Vec<Entry>> {
    let RangeSpec {
        by,
        rev,
        limit,
        with_scores,
    } = *spec;
    if by == By::Lex && with_scores {
        return Err(KvError::other(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if by == By::Rank && limit.is_some() {
        return Err(KvError::other(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    let (lo_arg, hi_arg) = if rev && by != By::Rank {
        (stop, start)
    } else {
        (start, stop)
    };
    enum Bounds {
        Rank(i64, i64),
        Score(ScoreBound, ScoreBound),
        Lex(LexBound, LexBound),
    }
    let bounds = match by {
        By::Rank => Bounds::Rank(int(start)?, int(stop)?),
        By::Score => Bounds::Score(score_bound(lo_arg)?, score_bound(hi_arg)?),
        By::Lex => Bounds::Lex(lex_bound(lo_arg)?, lex_bound(hi_arg)?),
    };
    let Some((_, mut z)) = load(ctx, key)? else {
        return Ok(vec![]);
    };
    let len = z.len;
    let (lo, hi) = match bounds {
        Bounds::Rank(a, b) => match clamp_range(a, b, len) {
            Some((s, e)) if rev => (len - 1 - e, len - s),
            Some((s, e)) => (s, e + 1),
            None => return Ok(vec![]),
        },
        Bounds::Score(min, max) => score_window(ctx, &mut z, min, max)?,
        Bounds::Lex(min, max) => lex_window(ctx, &mut z, &min, &max)?,
    };
    let (offset, count) = limit.unwrap_or((0, -1));
    if offset < 0 || lo >= hi {
        return Ok(vec![]);
    }
    let width = hi - lo;
    let offset = offset as u64;
    if offset >= width {
        return Ok(vec![]);
    }
    let take = if count < 0 {
        width - offset
    } else {
        (count as u64).min(width - offset)
    };
    if take == 0 {
        return Ok(vec![]);
    }
    Ok(if rev {
        let end = hi - 1 - offset;
        let mut e = z.range(&mut ctx.txn, end + 1 - take, end)?;
        e.reverse();
        e
    } else {
        z.range(&mut ctx.txn, lo + offset, lo + offset + take - 1)?
    })
}

/// The options of ZRANGE's older forms: `[WITHSCORES] [LIMIT offset count]` in any order.
fn range_options(opts: &[&[u8]]) -> Result<(bool, Option<(i64, i64)>)> {
    let (mut with_scores, mut limit) = (false, None);
    let mut i = 0;
    while i < opts.len() {
        if is(opts[i], "WITHSCORES") {
            with_scores = true;
            i += 1;
        } else if is(opts[i], "LIMIT") && i + 2 < opts.len() {
            limit = Some((int(opts[i + 1])?, int(opts[i + 2])?));
            i += 3;
        } else {
            return Err(KvError::Syntax);
        }
    }
    Ok((with_scores, limit))
}

/// The options of ZRANGE (`opts` after its key and bounds) and ZRANGESTORE (which takes no
/// WITHSCORES): BYSCORE, BYLEX, REV, LIMIT offset count, in any order.
fn zrange_options(opts: &[&[u8]], store: bool) -> Result<RangeSpec> {
    let mut spec = RangeSpec {
        by: By::Rank,
        rev: false,
        limit: None,
        with_scores: false,
    };
    let mut i = 0;
    while i < opts.len() {
        let a = opts[i];
        if is(a, "BYSCORE") {
            spec.by = By::Score;
        } else if is(a, "BYLEX") {
            spec.by = By::Lex;
        } else if is(a, "REV") {
            spec.rev = true;
        } else if !store && is(a, "WITHSCORES") {
            spec.with_scores = true;
        } else if is(a, "LIMIT") && i + 2 < opts.len() {
            spec.limit = Some((int(opts[i + 1])?, int(opts[i + 2])?));
            i += 2;
        } else {
            return Err(KvError::Syntax);
        }
        i += 1;
    }
    Ok(spec)
}

pub fn zrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let spec = zrange_options(&args[4..], false)?;
    let entries = range_entries(ctx, args[1], args[2], args[3], &spec)?;
    Ok(entries_reply(ctx, entries, spec.with_scores))
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
pub fn zrangestore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let spec = zrange_options(&args[5..], true)?;
    let entries = range_entries(ctx, args[2], args[3], args[4], &spec)?;
    store_entries(ctx, args[1], entries)
}

pub fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    fixed_range(ctx, args, By::Score, false)
}

pub fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    fixed_range(ctx, args, By::Score, true)
}

pub fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    fixed_range(ctx, args, By::Lex, false)
}

pub fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    fixed_range(ctx, args, By::Lex, true)
}

pub fn zrevrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    fixed_range(ctx, args, By::Rank, true)
}

/// The older forms of ZRANGE, whose order and kind of range are in their name: options are
/// WITHSCORES and LIMIT, refused as ZRANGE refuses them where the kind does not allow them.
fn fixed_range(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], by: By, rev: bool) -> Result<Reply> {
    let (with_scores, limit) = range_options(&args[4..])?;
    let spec = RangeSpec {
        by,
        rev,
        limit,
        with_scores,
    };
    let entries = range_entries(ctx, args[1], args[2], args[3], &spec)?;
    Ok(entries_reply(ctx, entries, with_scores))
}

pub fn zcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (min, max) = (score_bound(args[2])?, score_bound(args[3])?);
    let Some((_, mut z)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let (lo, hi) = score_window(ctx, &mut z, min, max)?;
    Ok(Reply::Integer((hi - lo) as i64))
}

pub fn zlexcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (min, max) = (lex_bound(args[2])?, lex_bound(args[3])?);
    let Some((_, mut z)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let (lo, hi) = lex_window(ctx, &mut z, &min, &max)?;
    Ok(Reply::Integer((hi - lo) as i64))
}

fn rank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], rev: bool) -> Result<Reply> {
    let with_score = match args.get(3) {
        Some(a) if is(a, "WITHSCORE") && args.len() == 4 => true,
        Some(_) => return Err(KvError::Syntax),
        None => false,
    };
    let Some((_, mut z)) = load(ctx, args[1])? else {
        return Ok(if with_score {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    let member = args[2];
    let Some(score) = z.score(&mut ctx.txn, member)? else {
        return Ok(if with_score {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    let before = z.count_before(&mut ctx.txn, &|s, m| {
        crate::collections::zset::cmp((s, m), (score, member)) == std::cmp::Ordering::Less
    })?;
    let r = if rev { z.len - 1 - before } else { before } as i64;
    Ok(if with_score {
        Reply::Array(vec![Reply::Integer(r), Reply::Double(score)])
    } else {
        Reply::Integer(r)
    })
}

pub fn zrank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    rank(ctx, args, false)
}

pub fn zrevrank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    rank(ctx, args, true)
}

fn remove_window(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    head: Head,
    mut z: ZSet,
    lo: u64,
    hi: u64,
) -> Result<Reply> {
    if lo >= hi {
        return Ok(Reply::Integer(0));
    }
    let doomed = z.range(&mut ctx.txn, lo, hi - 1)?;
    for (_, m) in &doomed {
        z.remove(&mut ctx.txn, m)?;
    }
    save(ctx, key, head, &mut z)?;
    Ok(Reply::Integer(doomed.len() as i64))
}

pub fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (a, b) = (int(args[2])?, int(args[3])?);
    let Some((head, z)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    match clamp_range(a, b, z.len) {
        Some((s, e)) => remove_window(ctx, args[1], head, z, s, e + 1),
        None => Ok(Reply::Integer(0)),
    }
}

pub fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (min, max) = (score_bound(args[2])?, score_bound(args[3])?);
    let Some((head, mut z)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let (lo, hi) = score_window(ctx, &mut z, min, max)?;
    remove_window(ctx, args[1], head, z, lo, hi)
}

pub fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (min, max) = (lex_bound(args[2])?, lex_bound(args[3])?);
    let Some((head, mut z)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let (lo, hi) = lex_window(ctx, &mut z, &min, &max)?;
    remove_window(ctx, args[1], head, z, lo, hi)
}

/// Removes up to `n` members from the low end of the set at `key` (the high end when `max`)
/// and answers them in the order popped: the engine of ZPOPMIN/ZPOPMAX and their blocking
/// forms. A missing key gives none.
fn pop_entries(ctx: &mut Ctx<'_, '_>, key: &[u8], max: bool, n: u64) -> Result<Vec<Entry>> {
    let Some((head, mut z)) = load(ctx, key)? else {
        return Ok(vec![]);
    };
    let n = n.min(z.len);
    if n == 0 {
        return Ok(vec![]);
    }
    let entries = if max {
        let mut e = z.range(&mut ctx.txn, z.len - n, z.len - 1)?;
        e.reverse();
        e
    } else {
        z.range(&mut ctx.txn, 0, n - 1)?
    };
    for (_, m) in &entries {
        z.remove(&mut ctx.txn, m)?;
    }
    save(ctx, key, head, &mut z)?;
    Ok(entries)
}

fn pop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], max: bool) -> Result<Reply> {
    let count = match args.get(2) {
        Some(c) => {
            let n = int(c)?;
            if n < 0 {
                return Err(KvError::other("value is out of range, must be positive"));
            }
            Some(n as u64)
        }
        None => None,
    };
    if args.len() > 3 {
        return Err(KvError::Syntax);
    }
    let mut entries = pop_entries(ctx, args[1], max, count.unwrap_or(1))?;
    if entries.is_empty() {
        return Ok(Reply::Array(vec![]));
    }
    if count.is_none() {
        let (s, m) = entries.remove(0);
        return Ok(Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]));
    }
    Ok(entries_reply(ctx, entries, true))
}

pub fn zpopmin(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    pop(ctx, args, false)
}

pub fn zpopmax(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    pop(ctx, args, true)
}

/// BZPOPMIN / BZPOPMAX key… timeout: pops from the first non-empty set, answering key,
/// member and score; with every set empty, blocks until one is filled or the time is up.
fn blocking_pop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], max: bool) -> Result<Reply> {
    let timeout = timeout_ms(args[args.len() - 1])?;
    for key in &args[1..args.len() - 1] {
        let Some((score, member)) = pop_entries(ctx, key, max, 1)?.pop() else {
            continue;
        };
        return Ok(Reply::Array(vec![
            Reply::Bulk(ctx.keep(key)),
            Reply::Bulk(member),
            Reply::Double(score),
        ]));
    }
    Ok(block(ctx, &args[1..args.len() - 1], timeout))
}

pub fn bzpopmin(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    blocking_pop(ctx, args, false)
}

pub fn bzpopmax(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    blocking_pop(ctx, args, true)
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

/// Replaces `dst` with a sorted set of `entries` (distinct members); an empty result deletes
/// it. Answers the number of members stored.
fn store_entries(ctx: &mut Ctx<'_, '_>, dst: &[u8], entries: Vec<Entry>) -> Result<Reply> {
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

/// What ZUNION, ZINTER and ZDIFF compute, alone or in their STORE and CARD forms.
#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// Where the combined set goes: the reply, a key, or only its size (ZINTERCARD).
#[derive(Clone, Copy, PartialEq)]
enum Output {
    Reply,
    Store,
    Card,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn combine(self, a: f64, b: f64) -> f64 {
        match self {
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
            // Redis turns the NaN of inf + -inf into 0.
            Aggregate::Sum => zero_nan(a + b),
        }
    }
}

fn zero_nan(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x
    }
}

/// The combined set and the options that shape the reply.
struct Combined {
    entries: Vec<Entry>,
    with_scores: bool,
    /// ZINTERCARD's LIMIT (0 for none).
    limit: u64,
}

/// The engine of ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD:
/// `numkeys key… [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] [LIMIT n]` from
/// `args[at]`, each option where the form allows it. Checks in Redis's order: the key count,
/// the keys' types (sets count as sorted sets of score 1), then the options. The entries
/// come sorted by score, then member.
fn combine(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    at: usize,
    op: SetOp,
    output: Output,
) -> Result<Combined> {
    let numkeys = int(args[at])?;
    if numkeys < 1 {
        return Err(KvError::other(format!(
            "at least 1 input key is needed for '{}' command",
            String::from_utf8_lossy(args[0]).to_ascii_lowercase()
        )));
    }
    if numkeys as u64 > (args.len() - at - 1) as u64 {
        return Err(KvError::Syntax);
    }
    let numkeys = numkeys as usize;
    let keys = &args[at + 1..at + 1 + numkeys];
    let db = ctx.db();
    let mut heads = Vec::with_capacity(numkeys);
    for key in keys {
        let head = ctx.txn.head_of_kind(db, key, Kind::ZSet)?;
        if head
            .as_ref()
            .is_some_and(|h| h.kind != Kind::ZSet && h.kind != Kind::Set)
        {
            return Err(KvError::WrongType);
        }
        heads.push(head);
    }
    let mut weights = vec![1.0; numkeys];
    let mut aggregate = Aggregate::Sum;
    let (mut with_scores, mut limit) = (false, 0u64);
    let weighs = op != SetOp::Diff && output != Output::Card;
    let mut i = at + 1 + numkeys;
    while i < args.len() {
        let remaining = args.len() - i;
        if weighs && remaining > numkeys && is(args[i], "WEIGHTS") {
            for (w, a) in weights.iter_mut().zip(&args[i + 1..=i + numkeys]) {
                *w = parse_f64(a).map_err(|_| KvError::other("weight value is not a float"))?;
            }
            i += numkeys + 1;
        } else if weighs && remaining >= 2 && is(args[i], "AGGREGATE") {
            let a = args[i + 1];
            aggregate = if is(a, "SUM") {
                Aggregate::Sum
            } else if is(a, "MIN") {
                Aggregate::Min
            } else if is(a, "MAX") {
                Aggregate::Max
            } else {
                return Err(KvError::Syntax);
            };
            i += 2;
        } else if output == Output::Reply && is(args[i], "WITHSCORES") {
            with_scores = true;
            i += 1;
        } else if output == Output::Card && remaining >= 2 && is(args[i], "LIMIT") {
            let n = int(args[i + 1]).map_err(|_| KvError::other("LIMIT can't be negative"))?;
            if n < 0 {
                return Err(KvError::other("LIMIT can't be negative"));
            }
            limit = n as u64;
            i += 2;
        } else {
            return Err(KvError::Syntax);
        }
    }
    // Every source read before anything is written (the destination may be one of them).
    let mut sources: Vec<Option<Vec<Entry>>> = Vec::with_capacity(numkeys);
    for head in heads {
        sources.push(match head {
            None => None,
            Some(h) if h.kind == Kind::ZSet => {
                let mut z = ZSet::decode(&h.body)?;
                let len = z.len;
                Some(z.range(&mut ctx.txn, 0, len.saturating_sub(1))?)
            }
            Some(h) => {
                let map = crate::collections::buckets::BucketMap::decode(&h.body)?;
                Some(
                    map.entries(&mut ctx.txn)?
                        .into_iter()
                        .map(|(m, _)| (1.0, m))
                        .collect(),
                )
            }
        });
    }
    let mut entries: Vec<Entry> = match op {
        SetOp::Diff => {
            let mut first: Vec<Entry> = sources[0].take().unwrap_or_default();
            let others: std::collections::HashSet<&Bytes> = sources[1..]
                .iter()
                .flatten()
                .flatten()
                .map(|(_, m)| m)
                .collect();
            first.retain(|(_, m)| !others.contains(m));
            first
        }
        SetOp::Union | SetOp::Inter => {
            let mut seen: HashMap<Bytes, (f64, usize)> = HashMap::new();
            for (w, src) in weights.iter().zip(&sources) {
                for (s, m) in src.iter().flatten() {
                    let v = zero_nan(s * w);
                    seen.entry(m.clone())
                        .and_modify(|e| {
                            e.0 = aggregate.combine(e.0, v);
                            e.1 += 1;
                        })
                        .or_insert((v, 1));
                }
            }
            seen.into_iter()
                .filter(|(_, (_, n))| op == SetOp::Union || *n == numkeys)
                .map(|(m, (s, _))| (s, m))
                .collect()
        }
    };
    entries.sort_by(|a, b| crate::collections::zset::cmp((a.0, &a.1), (b.0, &b.1)));
    Ok(Combined {
        entries,
        with_scores,
        limit,
    })
}

/// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE dst numkeys key… [options].
fn combine_into(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], op: SetOp) -> Result<Reply> {
    let combined = combine(ctx, args, 2, op, Output::Store)?;
    store_entries(ctx, args[1], combined.entries)
}

/// ZUNION / ZINTER / ZDIFF numkeys key… [options] [WITHSCORES].
fn combine_reply(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], op: SetOp) -> Result<Reply> {
    let combined = combine(ctx, args, 1, op, Output::Reply)?;
    Ok(entries_reply(ctx, combined.entries, combined.with_scores))
}

pub fn zunionstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    combine_into(ctx, args, SetOp::Union)
}

pub fn zinterstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    combine_into(ctx, args, SetOp::Inter)
}

pub fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    combine_into(ctx, args, SetOp::Diff)
}

pub fn zunion(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    combine_reply(ctx, args, SetOp::Union)
}

pub fn zinter(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    combine_reply(ctx, args, SetOp::Inter)
}

pub fn zdiff(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    combine_reply(ctx, args, SetOp::Diff)
}

/// ZINTERCARD numkeys key… [LIMIT n]: the size of the intersection, counted up to n.
pub fn zintercard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let combined = combine(ctx, args, 1, SetOp::Inter, Output::Card)?;
    let n = combined.entries.len() as u64;
    let n = if combined.limit > 0 {
        n.min(combined.limit)
    } else {
        n
    };
    Ok(Reply::Integer(n as i64))
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
