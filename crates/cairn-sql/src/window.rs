//! Window functions: `f(…) OVER (PARTITION BY … ORDER BY … [frame])`.
//!
//! A [`WindowCall`] is one window function of a query level; the planner puts a
//! [`crate::plan::Plan::Window`] after grouping and HAVING, whose rows are its input's with
//! one more column per call. [`run`] sorts the input by each call's partition and order keys
//! (stably, so rows equal on them keep their order) and computes the calls partition by
//! partition; the rows come out in the first call's order, as PostgreSQL's WindowAgg gives
//! them.
//!
//! The ranking functions (`row_number`, `rank`, `dense_rank`, `percent_rank`, `cume_dist`,
//! `ntile`) and `lag`/`lead` read the partition; `first_value`, `last_value`, `nth_value`
//! and the aggregates read the frame: by default, with ORDER BY, from the partition's start
//! to the current row's last peer (`RANGE UNBOUNDED PRECEDING`), without it the whole
//! partition; `ROWS BETWEEN n PRECEDING AND m FOLLOWING` and the `UNBOUNDED`/`CURRENT ROW`
//! bounds of `ROWS` and `RANGE` are supported. An aggregate over a frame that only grows is
//! computed incrementally; other frames are folded row by row.

use std::cmp::Ordering;

use crate::aggregate::{Accumulator, AggCall};
use crate::error::{Error, Result, SqlState};
use crate::exec::{Env, Row};
use crate::expr::Expr;
use crate::value::Value;

/// A window function.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile,
    Lag,
    Lead,
    FirstValue,
    LastValue,
    NthValue,
    /// An aggregate over the frame.
    Aggregate(AggCall),
}

impl WindowFunc {
    /// The window function a name names (aggregates are resolved by the binder).
    pub fn named(name: &str) -> Option<WindowFunc> {
        Some(match name {
            "row_number" => WindowFunc::RowNumber,
            "rank" => WindowFunc::Rank,
            "dense_rank" => WindowFunc::DenseRank,
            "percent_rank" => WindowFunc::PercentRank,
            "cume_dist" => WindowFunc::CumeDist,
            "ntile" => WindowFunc::Ntile,
            "lag" => WindowFunc::Lag,
            "lead" => WindowFunc::Lead,
            "first_value" => WindowFunc::FirstValue,
            "last_value" => WindowFunc::LastValue,
            "nth_value" => WindowFunc::NthValue,
            _ => return None,
        })
    }
}

/// One end of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameBound {
    UnboundedPreceding,
    /// `n PRECEDING` (ROWS only).
    Preceding(u64),
    CurrentRow,
    Following(u64),
    UnboundedFollowing,
}

/// A window frame: whether it counts rows or peer groups (RANGE), and its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub rows: bool,
    pub start: FrameBound,
    pub end: FrameBound,
}

/// One window function call of a query level.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowCall {
    pub func: WindowFunc,
    /// Its arguments over the input row (for aggregates, inside the [`AggCall`]).
    pub args: Vec<Expr>,
    pub partition: Vec<Expr>,
    /// ORDER BY keys: expression, descending, NULLs first.
    pub order: Vec<(Expr, bool, bool)>,
    pub frame: Frame,
}

/// The input rows, each with the value of every call appended, in the first call's order.
pub fn run(calls: &[WindowCall], rows: Vec<Row>, env: &Env<'_>) -> Result<Vec<Row>> {
    let width = rows.first().map_or(0, Vec::len);
    let mut rows: Vec<Row> = rows;
    for (c, call) in calls.iter().enumerate().rev() {
        // Each call sorts the rows its own way; the first call's order is the last applied.
        let keyed = rows
            .into_iter()
            .map(|row| {
                let partition = call
                    .partition
                    .iter()
                    .map(|e| e.eval(&row, env))
                    .collect::<Result<Vec<_>>>()?;
                let order = call
                    .order
                    .iter()
                    .map(|(e, _, _)| e.eval(&row, env))
                    .collect::<Result<Vec<_>>>()?;
                Ok((partition, order, row))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut keyed = keyed;
        let mut failure = None;
        keyed.sort_by(|a, b| {
            let mut by =
                |x: &[Value], y: &[Value], dirs: &mut dyn Iterator<Item = (bool, bool)>| {
                    for ((v, w), (desc, nulls_first)) in x.iter().zip(y).zip(dirs) {
                        match compare(v, w, desc, nulls_first) {
                            Ok(Ordering::Equal) => {}
                            Ok(o) => return o,
                            Err(e) => {
                                failure.get_or_insert(e);
                                return Ordering::Equal;
                            }
                        }
                    }
                    Ordering::Equal
                };
            let p = by(&a.0, &b.0, &mut std::iter::repeat((false, false)));
            if p.is_ne() {
                return p;
            }
            by(&a.1, &b.1, &mut call.order.iter().map(|(_, d, n)| (*d, *n)))
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let mut out = Vec::with_capacity(keyed.len());
        let mut start = 0;
        while start < keyed.len() {
            let end = (start..keyed.len())
                .find(|&i| keyed[i].0 != keyed[start].0)
                .unwrap_or(keyed.len());
            let values = partition(call, &keyed[start..end], env)?;
            for (i, v) in values.into_iter().enumerate() {
                let mut row = std::mem::take(&mut keyed[start + i].2);
                if row.len() < width + calls.len() {
                    row.resize(width + calls.len(), Value::Null);
                }
                row[width + c] = v;
                out.push(row);
            }
            start = end;
        }
        rows = out;
    }
    Ok(rows)
}

/// Two key values in a key's order.
fn compare(x: &Value, y: &Value, descending: bool, nulls_first: bool) -> Result<Ordering> {
    let ordering = match (x.is_null(), y.is_null()) {
        (true, true) => return Ok(Ordering::Equal),
        (true, false) => {
            return Ok(if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            })
        }
        (false, true) => {
            return Ok(if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            })
        }
        (false, false) => x.compare(y)?.unwrap_or(Ordering::Equal),
    };
    Ok(if descending {
        ordering.reverse()
    } else {
        ordering
    })
}

/// The call's value for each row of one partition (rows with their order keys).
fn partition(
    call: &WindowCall,
    rows: &[(Vec<Value>, Vec<Value>, Row)],
    env: &Env<'_>,
) -> Result<Vec<Value>> {
    let n = rows.len();
    // peer_start[i]..peer_end[i]: the rows equal to row i on the order keys.
    let mut peer_start = vec![0; n];
    let mut peer_end = vec![n; n];
    if !call.order.is_empty() {
        let mut s = 0;
        for i in 1..=n {
            if i == n || rows[i].1 != rows[s].1 {
                for j in s..i {
                    peer_start[j] = s;
                    peer_end[j] = i;
                }
                s = i;
            }
        }
    }
    let arg = |i: usize, k: usize| -> Result<Value> {
        match call.args.get(k) {
            Some(e) => e.eval(&rows[i].2, env),
            None => Ok(Value::Null),
        }
    };
    let mut values = Vec::with_capacity(n);
    let mut dense = 0i64;
    for i in 0..n {
        if peer_start[i] == i || i == 0 {
            dense += 1;
        }
        let value = match &call.func {
            WindowFunc::RowNumber => Value::Int8(i as i64 + 1),
            WindowFunc::Rank => Value::Int8(peer_start[i] as i64 + 1),
            WindowFunc::DenseRank => Value::Int8(dense),
            WindowFunc::PercentRank => Value::Float8(if n > 1 {
                peer_start[i] as f64 / (n - 1) as f64
            } else {
                0.0
            }),
            WindowFunc::CumeDist => Value::Float8(peer_end[i] as f64 / n as f64),
            WindowFunc::Ntile => match arg(i, 0)?.cast(crate::value::DataType::Int8)? {
                Value::Null => Value::Null,
                Value::Int8(b) if b > 0 => {
                    // PostgreSQL's: the first n % buckets buckets get one row more.
                    let buckets = b as usize;
                    let per = n / buckets;
                    let extra = n % buckets;
                    let big = extra * (per + 1);
                    Value::Int8(if i < big {
                        (i / (per + 1)) as i64 + 1
                    } else {
                        (extra + (i - big) / per.max(1)) as i64 + 1
                    })
                }
                _ => {
                    return Err(Error::new(
                        SqlState("22014"),
                        "argument of ntile must be greater than zero",
                    ))
                }
            },
            WindowFunc::Lag | WindowFunc::Lead => {
                let offset = match call.args.get(1) {
                    Some(_) => match arg(i, 1)?.cast(crate::value::DataType::Int8)? {
                        Value::Int8(o) => Some(o),
                        _ => None,
                    },
                    None => Some(1),
                };
                match offset {
                    None => Value::Null,
                    Some(offset) => {
                        let target = if call.func == WindowFunc::Lag {
                            i as i64 - offset
                        } else {
                            i as i64 + offset
                        };
                        if (0..n as i64).contains(&target) {
                            arg(target as usize, 0)?
                        } else {
                            arg(i, 2)?
                        }
                    }
                }
            }
            WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
                let (lo, hi) = frame(call, i, n, &peer_start, &peer_end);
                let at = match call.func {
                    WindowFunc::FirstValue => Some(lo),
                    WindowFunc::LastValue => hi.checked_sub(1),
                    _ => match arg(i, 1)?.cast(crate::value::DataType::Int8)? {
                        Value::Int8(k) if k > 0 => Some(lo + k as usize - 1),
                        Value::Int8(_) => {
                            return Err(Error::new(
                                SqlState("22016"),
                                "argument of nth_value must be greater than zero",
                            ))
                        }
                        _ => None,
                    },
                };
                match at {
                    Some(j) if j >= lo && j < hi => arg(j, 0)?,
                    _ => Value::Null,
                }
            }
            WindowFunc::Aggregate(_) => Value::Null,
        };
        values.push(value);
    }
    if let WindowFunc::Aggregate(agg) = &call.func {
        aggregate(call, agg, rows, &peer_start, &peer_end, &mut values, env)?;
    }
    Ok(values)
}

/// The frame of row `i`: rows `lo..hi` of its partition of `n`.
fn frame(
    call: &WindowCall,
    i: usize,
    n: usize,
    peer_start: &[usize],
    peer_end: &[usize],
) -> (usize, usize) {
    let f = call.frame;
    let lo = match f.start {
        FrameBound::UnboundedPreceding => 0,
        FrameBound::Preceding(k) => i.saturating_sub(k as usize),
        FrameBound::CurrentRow if f.rows => i,
        FrameBound::CurrentRow => peer_start[i],
        FrameBound::Following(k) => (i + k as usize).min(n),
        FrameBound::UnboundedFollowing => n,
    };
    let hi = match f.end {
        FrameBound::UnboundedPreceding => 0,
        FrameBound::Preceding(k) => (i + 1).saturating_sub(k as usize),
        FrameBound::CurrentRow if f.rows => i + 1,
        FrameBound::CurrentRow => peer_end[i],
        FrameBound::Following(k) => (i + 1 + k as usize).min(n),
        FrameBound::UnboundedFollowing => n,
    };
    (lo, hi.max(lo))
}

/// An aggregate over each row's frame: one running accumulator while frames only grow from
/// the partition's start, a fold per row otherwise.
fn aggregate(
    call: &WindowCall,
    agg: &AggCall,
    rows: &[(Vec<Value>, Vec<Value>, Row)],
    peer_start: &[usize],
    peer_end: &[usize],
    values: &mut [Value],
    env: &Env<'_>,
) -> Result<()> {
    let n = rows.len();
    if call.frame.start == FrameBound::UnboundedPreceding {
        let mut acc = Accumulator::new(agg);
        let mut added = 0;
        for (i, value) in values.iter_mut().enumerate() {
            let (_, hi) = frame(call, i, n, peer_start, peer_end);
            while added < hi {
                acc.add(agg, &rows[added].2, env)?;
                added += 1;
            }
            *value = acc.finish(agg, env)?;
        }
        return Ok(());
    }
    for (i, value) in values.iter_mut().enumerate() {
        let (lo, hi) = frame(call, i, n, peer_start, peer_end);
        let mut acc = Accumulator::new(agg);
        for row in &rows[lo..hi] {
            acc.add(agg, &row.2, env)?;
        }
        *value = acc.finish(agg, env)?;
    }
    Ok(())
}
