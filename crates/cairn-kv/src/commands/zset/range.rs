//! The range family: ZRANGE in all its forms (by rank, score and lex, forward and reversed,
//! with LIMIT), ZRANGESTORE and the legacy ZRANGEBY*/ZREV* commands, the counts, the ranks and
//! the removals by range.

use bytes::Bytes;

use crate::collections::zset::{Entry, ZSet};
use crate::commands::args::{clamp_range, int, is};
use crate::dispatch::Ctx;
use crate::encoding::Head;
use crate::error::{KvError, Result};
use crate::num::parse_f64;
use crate::reply::Reply;

use super::{entries_reply, load, save, store_entries};

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
