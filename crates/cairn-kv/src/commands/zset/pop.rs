//! ZPOPMIN and ZPOPMAX, and their blocking forms BZPOPMIN and BZPOPMAX.

use crate::collections::zset::Entry;
use crate::commands::args::{block, int, timeout_ms};
use crate::dispatch::Ctx;
use crate::error::{KvError, Result};
use crate::reply::Reply;

use super::{entries_reply, load, save};

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
