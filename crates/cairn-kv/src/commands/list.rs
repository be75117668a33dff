//! List commands over the chunked deque ([`crate::collections::list`]), including the
//! blocking pops: when every list is empty they ask the connection to wait
//! ([`crate::kv::After::Block`]) and run again when a list receives elements or the timeout passes.

use bytes::Bytes;

use crate::collections::list::List;
use crate::commands::args::{block, clamp_range, int, is, timeout_ms};
use crate::commands::stored;
use crate::dispatch::Ctx;
use crate::encoding::{Head, Kind};
use crate::error::{KvError, Result};
use crate::reply::{Reply, Slices};

fn load(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<(Head, List)>> {
    stored::load(ctx, key, Kind::List)
}

fn load_or_new(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<(Head, List)> {
    stored::load_or_new(ctx, key, Kind::List)
}

use stored::save;

fn push(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], front: bool, only_existing: bool) -> Result<Reply> {
    let items = &args[2..];
    let keeper = ctx.keeper();
    let len = stored::change(
        ctx,
        args[1],
        Kind::List,
        !only_existing,
        |txn, list: &mut List| {
            for item in items {
                if front {
                    list.push_front(txn, keeper.keep(item))?;
                } else {
                    list.push_back(txn, keeper.keep(item))?;
                }
            }
            Ok((list.len, true))
        },
    )?;
    let Some(len) = len else {
        return Ok(Reply::Integer(0));
    };
    let db = ctx.db();
    ctx.txn.elements_added_to(db, args[1]);
    Ok(Reply::Integer(len as i64))
}

pub fn lpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    push(ctx, args, true, false)
}

pub fn rpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    push(ctx, args, false, false)
}

pub fn lpushx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    push(ctx, args, true, true)
}

pub fn rpushx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    push(ctx, args, false, true)
}

/// Pops up to `count` elements from one end of the list at `key`; `None` if there is no list.
fn pop_n(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    front: bool,
    count: usize,
) -> Result<Option<Vec<Bytes>>> {
    stored::change(ctx, key, Kind::List, false, |txn, list: &mut List| {
        let mut out = Vec::new();
        while out.len() < count {
            let item = if front {
                list.pop_front(txn)?
            } else {
                list.pop_back(txn)?
            };
            match item {
                Some(item) => out.push(item),
                None => break,
            }
        }
        let changed = !out.is_empty();
        Ok((out, changed))
    })
}

fn pop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], front: bool) -> Result<Reply> {
    let count = match args.get(2) {
        Some(c) => {
            let n = int(c)?;
            if n < 0 {
                return Err(KvError::other("value is out of range, must be positive"));
            }
            Some(n as usize)
        }
        None => None,
    };
    if args.len() > 3 {
        return Err(KvError::Syntax);
    }
    let popped = pop_n(ctx, args[1], front, count.unwrap_or(1))?;
    Ok(match (popped, count) {
        (None, Some(_)) => Reply::NilArray,
        (None, None) => Reply::Nil,
        (Some(items), Some(_)) => Reply::bulks(items),
        (Some(items), None) => Reply::optional(items.into_iter().next()),
    })
}

pub fn lpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    pop(ctx, args, true)
}

pub fn rpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    pop(ctx, args, false)
}

pub fn llen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Integer(
        load(ctx, args[1])?.map_or(0, |(_, l)| l.len as i64),
    ))
}

pub fn lrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (start, end) = (int(args[2])?, int(args[3])?);
    let Some((_, mut list)) = load(ctx, args[1])? else {
        return Ok(Reply::Slices(Slices::default()));
    };
    let Some((s, e)) = clamp_range(start, end, list.len) else {
        return Ok(Reply::Slices(Slices::default()));
    };
    Ok(Reply::Slices(list.slices(&mut ctx.txn, s, e)?))
}

/// A Redis index (negative from the end) as a position, if inside the list.
fn position(index: i64, len: u64) -> Option<u64> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as u64)
}

pub fn lindex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let index = int(args[2])?;
    let Some((_, mut list)) = load(ctx, args[1])? else {
        return Ok(Reply::Nil);
    };
    match position(index, list.len) {
        Some(i) => Ok(Reply::optional(list.get(&mut ctx.txn, i)?)),
        None => Ok(Reply::Nil),
    }
}

pub fn lset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let index = int(args[2])?;
    let Some((head, mut list)) = load(ctx, args[1])? else {
        return Err(KvError::NoSuchKey);
    };
    let Some(i) = position(index, list.len) else {
        return Err(KvError::IndexOutOfRange);
    };
    let item = ctx.keep(args[3]);
    list.set(&mut ctx.txn, i, item)?;
    save(ctx, args[1], head, &mut list)?;
    Ok(Reply::OK)
}

pub fn linsert(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let before = if is(args[2], "BEFORE") {
        true
    } else if is(args[2], "AFTER") {
        false
    } else {
        return Err(KvError::Syntax);
    };
    let Some((head, mut list)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let Some(&at) = list.find(&mut ctx.txn, args[3], false, 1)?.first() else {
        return Ok(Reply::Integer(-1));
    };
    let at = if before { at } else { at + 1 };
    let item = ctx.keep(args[4]);
    list.splice(&mut ctx.txn, at, at, vec![item])?;
    let len = list.len;
    save(ctx, args[1], head, &mut list)?;
    Ok(Reply::Integer(len as i64))
}

pub fn lrem(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let count = int(args[2])?;
    let Some((head, mut list)) = load(ctx, args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut found = list.find(&mut ctx.txn, args[3], count < 0, limit)?;
    let removed = found.len();
    if removed > 0 {
        // Only the span from the first to the last removed element changes.
        found.sort_unstable();
        let (first, last) = (found[0], found[removed - 1]);
        let between = list.range(&mut ctx.txn, first, last)?;
        let mut gone = found.iter().peekable();
        let kept = (first..=last)
            .zip(between)
            .filter_map(|(i, x)| {
                if gone.peek() == Some(&&i) {
                    gone.next();
                    None
                } else {
                    Some(x)
                }
            })
            .collect();
        list.splice(&mut ctx.txn, first, last + 1, kept)?;
        save(ctx, args[1], head, &mut list)?;
    }
    Ok(Reply::Integer(removed as i64))
}

pub fn ltrim(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (start, end) = (int(args[2])?, int(args[3])?);
    let Some((head, mut list)) = load(ctx, args[1])? else {
        return Ok(Reply::OK);
    };
    match clamp_range(start, end, list.len) {
        None => list.rewrite(&mut ctx.txn, Vec::new())?,
        Some((s, e)) => {
            let kept = e - s + 1;
            let dropped = list.len - kept;
            if dropped <= kept {
                for _ in 0..s {
                    list.pop_front(&mut ctx.txn)?;
                }
                while list.len > kept {
                    list.pop_back(&mut ctx.txn)?;
                }
            } else {
                let items = list.range(&mut ctx.txn, s, e)?;
                list.rewrite(&mut ctx.txn, items)?;
            }
        }
    }
    save(ctx, args[1], head, &mut list)?;
    Ok(Reply::OK)
}

pub fn lpos(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut i = 3;
    while i < args.len() {
        let Some(v) = args.get(i + 1) else {
            return Err(KvError::Syntax);
        };
        if is(args[i], "RANK") {
            rank = int(v)?;
            if rank == 0 || rank == i64::MIN {
                return Err(KvError::other(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(args[i], "COUNT") {
            let c = int(v)?;
            if c < 0 {
                return Err(KvError::other("COUNT can't be negative"));
            }
            count = Some(c);
        } else if is(args[i], "MAXLEN") {
            maxlen = int(v)?;
            if maxlen < 0 {
                return Err(KvError::other("MAXLEN can't be negative"));
            }
        } else {
            return Err(KvError::Syntax);
        }
        i += 2;
    }
    let Some((_, mut list)) = load(ctx, args[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let items = list.all(&mut ctx.txn)?;
    let n = items.len();
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c as usize,
        None => 1,
    };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    for step in 0..n {
        if maxlen != 0 && step as i64 >= maxlen {
            break;
        }
        let idx = if rank > 0 { step } else { n - 1 - step };
        if items[idx] == args[2] {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(Reply::Integer(idx as i64));
            if found.len() >= want {
                break;
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found),
        None => found.into_iter().next().unwrap_or(Reply::Nil),
    })
}

fn side(arg: &[u8]) -> Result<bool> {
    if is(arg, "LEFT") {
        Ok(true)
    } else if is(arg, "RIGHT") {
        Ok(false)
    } else {
        Err(KvError::Syntax)
    }
}

/// Moves one element from `src` to `dst`; `None` when `src` is empty.
fn move_one(
    ctx: &mut Ctx<'_, '_>,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Option<Bytes>> {
    let Some((src_head, mut src_list)) = load(ctx, src)? else {
        return Ok(None);
    };
    // The destination's type is checked before anything changes.
    let dst_loaded = if src == dst { None } else { load(ctx, dst)? };
    let item = if from_left {
        src_list.pop_front(&mut ctx.txn)?
    } else {
        src_list.pop_back(&mut ctx.txn)?
    };
    let Some(item) = item else {
        return Ok(None);
    };
    if src == dst {
        if to_left {
            src_list.push_front(&mut ctx.txn, item.clone())?;
        } else {
            src_list.push_back(&mut ctx.txn, item.clone())?;
        }
        save(ctx, src, src_head, &mut src_list)?;
    } else {
        save(ctx, src, src_head, &mut src_list)?;
        let (dst_head, mut dst_list) = match dst_loaded {
            Some(found) => found,
            None => load_or_new(ctx, dst)?,
        };
        if to_left {
            dst_list.push_front(&mut ctx.txn, item.clone())?;
        } else {
            dst_list.push_back(&mut ctx.txn, item.clone())?;
        }
        save(ctx, dst, dst_head, &mut dst_list)?;
    }
    let db = ctx.db();
    ctx.txn.elements_added_to(db, dst);
    Ok(Some(item))
}

pub fn lmove(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (from, to) = (side(args[3])?, side(args[4])?);
    Ok(Reply::optional(move_one(ctx, args[1], args[2], from, to)?))
}

pub fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::optional(move_one(
        ctx, args[1], args[2], false, true,
    )?))
}

fn blocking_pop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], front: bool) -> Result<Reply> {
    let timeout = timeout_ms(args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for key in keys {
        if let Some(mut items) = pop_n(ctx, key, front, 1)? {
            if let Some(item) = items.pop() {
                return Ok(Reply::Array(vec![
                    Reply::Bulk(ctx.keep(key)),
                    Reply::Bulk(item),
                ]));
            }
        }
    }
    Ok(block(ctx, keys, timeout))
}

pub fn blpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    blocking_pop(ctx, args, true)
}

pub fn brpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    blocking_pop(ctx, args, false)
}

pub fn blmove(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let (from, to) = (side(args[3])?, side(args[4])?);
    blocking_move(ctx, args, from, to, args[5])
}

/// BRPOPLPUSH src dst timeout: BLMOVE src dst RIGHT LEFT timeout.
pub fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    blocking_move(ctx, args, false, true, args[3])
}

fn blocking_move(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    from: bool,
    to: bool,
    timeout: &[u8],
) -> Result<Reply> {
    let timeout = timeout_ms(timeout)?;
    match move_one(ctx, args[1], args[2], from, to)? {
        Some(item) => Ok(Reply::Bulk(item)),
        None => {
            block(ctx, &args[1..2], timeout);
            Ok(Reply::Nil)
        }
    }
}
