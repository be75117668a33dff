//! Column pruning: each table scan of a plan decodes only the columns something above it
//! reads.
//!
//! [`prune`] walks a plan from its root with the columns its parent needs, adding at each
//! operator the columns its own expressions read, and marks at each scan the table columns
//! needed; the others read as NULL, never decoded (a text column costs an allocation per
//! row). An operator that compares whole rows (`DISTINCT`, set operations) needs all its
//! columns, and an expression holding a correlated subquery is taken to need all of its
//! row, whose columns the subquery reads by position.

use crate::expr::Expr;
use crate::plan::Plan;

/// Marks, in the scans under `plan`, the columns needed for `needed` (one flag per column
/// of `plan`'s rows).
pub fn prune(plan: &mut Plan, needed: &[bool]) {
    match plan {
        Plan::Scan { needed: n, .. } | Plan::IndexScan { needed: n, .. } => {
            if needed.iter().all(|b| *b) {
                *n = None;
            } else {
                *n = Some(needed.to_vec());
            }
        }
        Plan::Values { .. }
        | Plan::WorkTable { .. }
        | Plan::Series { .. }
        | Plan::Unnest { .. } => {}
        Plan::RecursiveCte { base, step, .. } => {
            let all = vec![true; base.width()];
            prune(base, &all);
            prune(step, &all);
        }
        Plan::Filter { input, predicate } => {
            let mut n = needed.to_vec();
            mark(predicate, &mut n);
            prune(input, &n);
        }
        Plan::Project { input, exprs } => {
            let mut n = vec![false; input.width()];
            for (e, wanted) in exprs.iter().zip(needed) {
                if *wanted {
                    mark(e, &mut n);
                }
            }
            prune(input, &n);
        }
        Plan::Join {
            left, right, on, ..
        } => {
            let mut n = needed.to_vec();
            if let Some(on) = on {
                mark(on, &mut n);
            }
            let (l, r) = n.split_at(left.width());
            prune(left, l);
            prune(right, r);
        }
        Plan::LateralJoin { left, right, .. } => {
            // The right side reads the left row by position: all of it.
            let all_left = vec![true; left.width()];
            let all_right = vec![true; right.width()];
            prune(left, &all_left);
            prune(right, &all_right);
        }
        Plan::HashJoin {
            left,
            right,
            left_keys,
            right_keys,
            residual,
            ..
        } => {
            let mut n = needed.to_vec();
            if let Some(residual) = residual {
                mark(residual, &mut n);
            }
            let (l, r) = n.split_at(left.width());
            let (mut l, mut r) = (l.to_vec(), r.to_vec());
            left_keys.iter().for_each(|k| mark(k, &mut l));
            right_keys.iter().for_each(|k| mark(k, &mut r));
            prune(left, &l);
            prune(right, &r);
        }
        Plan::Aggregate {
            input,
            groups,
            aggs,
        } => {
            let mut n = vec![false; input.width()];
            groups.iter().for_each(|g| mark(g, &mut n));
            for call in aggs.iter() {
                call.args.iter().for_each(|a| mark(a, &mut n));
                if let Some(filter) = &call.filter {
                    mark(filter, &mut n);
                }
            }
            prune(input, &n);
        }
        Plan::Window { input, calls } => {
            let width = input.width();
            let mut n = needed[..width].to_vec();
            for call in calls.iter() {
                let exprs = call
                    .args
                    .iter()
                    .chain(&call.partition)
                    .chain(call.order.iter().map(|(e, _, _)| e));
                exprs.for_each(|e| mark(e, &mut n));
                if let crate::window::WindowFunc::Aggregate(agg) = &call.func {
                    agg.args.iter().for_each(|a| mark(a, &mut n));
                    if let Some(filter) = &agg.filter {
                        mark(filter, &mut n);
                    }
                }
            }
            prune(input, &n);
        }
        Plan::Sort { input, keys, .. } => {
            let mut n = needed.to_vec();
            for key in keys.iter() {
                n[key.column] = true;
            }
            prune(input, &n);
        }
        Plan::Limit { input, .. } => prune(input, needed),
        Plan::DistinctOn { input, columns } => {
            let mut n = needed.to_vec();
            for &c in columns.iter() {
                n[c] = true;
            }
            prune(input, &n);
        }
        Plan::Distinct { input } => {
            let all = vec![true; input.width()];
            prune(input, &all);
        }
        Plan::SetOp { left, right, .. } => {
            let all = vec![true; left.width()];
            prune(left, &all);
            prune(right, &all);
        }
    }
}

/// Marks in `needed` the input columns `expr` reads (all of them if it holds a correlated
/// subquery).
fn mark(expr: &Expr, needed: &mut [bool]) {
    let mut all = false;
    expr.visit(&mut |e| match e {
        Expr::Column(i) => {
            if let Some(n) = needed.get_mut(*i) {
                *n = true;
            }
        }
        Expr::Subquery(s) if s.correlated => all = true,
        _ => {}
    });
    if all {
        needed.iter_mut().for_each(|n| *n = true);
    }
}
