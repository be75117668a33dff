//! The set algebra: ZUNION, ZINTER and ZDIFF, their STORE forms and ZINTERCARD, all through
//! one [`combine`] that checks its arguments in Redis's order.

use std::collections::HashMap;

use bytes::Bytes;

use crate::collections::zset::{Entry, ZSet};
use crate::commands::args::{int, is};
use crate::dispatch::Ctx;
use crate::encoding::Kind;
use crate::error::{KvError, Result};
use crate::num::parse_f64;
use crate::reply::Reply;

use super::{entries_reply, store_entries};

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
    let numkeys = key_count(args, at)?;
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
    let options = combine_options(&args[at + 1 + numkeys..], numkeys, op, output)?;
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
    let mut entries = compute(op, sources, &options.weights, options.aggregate);
    entries.sort_by(|a, b| crate::collections::zset::cmp((a.0, &a.1), (b.0, &b.1)));
    Ok(Combined {
        entries,
        with_scores: options.with_scores,
        limit: options.limit,
    })
}

/// The `numkeys` argument at `args[at]`, checked against the arguments that follow.
fn key_count(args: &[&[u8]], at: usize) -> Result<usize> {
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
    Ok(numkeys as usize)
}

/// The options of a combining command, as [`combine_options`] parses them.
struct CombineOptions {
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    limit: u64,
}

/// Parses the options after the keys; each is accepted only by the forms that have it.
fn combine_options(
    opts: &[&[u8]],
    numkeys: usize,
    op: SetOp,
    output: Output,
) -> Result<CombineOptions> {
    let mut parsed = CombineOptions {
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let weighs = op != SetOp::Diff && output != Output::Card;
    let mut i = 0;
    while i < opts.len() {
        let remaining = opts.len() - i;
        if weighs && remaining > numkeys && is(opts[i], "WEIGHTS") {
            for (w, a) in parsed.weights.iter_mut().zip(&opts[i + 1..=i + numkeys]) {
                *w = parse_f64(a).map_err(|_| KvError::other("weight value is not a float"))?;
            }
            i += numkeys + 1;
        } else if weighs && remaining >= 2 && is(opts[i], "AGGREGATE") {
            let a = opts[i + 1];
            parsed.aggregate = if is(a, "SUM") {
                Aggregate::Sum
            } else if is(a, "MIN") {
                Aggregate::Min
            } else if is(a, "MAX") {
                Aggregate::Max
            } else {
                return Err(KvError::Syntax);
            };
            i += 2;
        } else if output == Output::Reply && is(opts[i], "WITHSCORES") {
            parsed.with_scores = true;
            i += 1;
        } else if output == Output::Card && remaining >= 2 && is(opts[i], "LIMIT") {
            let n = int(opts[i + 1]).map_err(|_| KvError::other("LIMIT can't be negative"))?;
            if n < 0 {
                return Err(KvError::other("LIMIT can't be negative"));
            }
            parsed.limit = n as u64;
            i += 2;
        } else {
            return Err(KvError::Syntax);
        }
    }
    Ok(parsed)
}

/// The union, intersection or difference of `sources` (a missing key is an empty set), scores
/// weighted and aggregated; unsorted.
fn compute(
    op: SetOp,
    mut sources: Vec<Option<Vec<Entry>>>,
    weights: &[f64],
    aggregate: Aggregate,
) -> Vec<Entry> {
    match op {
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
                .filter(|(_, (_, n))| op == SetOp::Union || *n == sources.len())
                .map(|(m, (s, _))| (s, m))
                .collect()
        }
    }
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
