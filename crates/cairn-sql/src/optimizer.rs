//! The optimizer's first rewrites: a query level's inner joins and WHERE conditions made a
//! join tree that filters early and joins on equalities by hashing.
//!
//! The planner gives [`join_region`] the FROM clause with its WHERE condition on top: a tree
//! of inner joins (cross joins, `JOIN … ON`) over relations (tables, subqueries, outer
//! joins), and the conditions. It splits the conditions into their `AND`ed parts and
//!
//! 1. pushes each part that reads one relation down onto that relation (a filter under the
//!    joins, not above a cross product);
//! 2. joins the relations one by one, each time preferring one that a condition connects to
//!    those joined so far, in FROM order otherwise;
//! 3. makes each join a hash join on the equalities between the two sides
//!    ([`Plan::HashJoin`]), the other conditions that become decidable there its residual
//!    condition; a join with no equality stays a nested loop;
//! 4. restores the FROM clause's column order with a projection, so that the rest of the
//!    plan, bound to that order, is unchanged.
//!
//! A condition holding a correlated subquery is not moved: its subquery reads the row of
//! this level by position, which the reordering would change. It is applied on top.

use std::collections::BTreeSet;

use crate::access;
use crate::catalog::Catalog;
use crate::expr::{CmpOp, Expr};
use crate::plan::{JoinKind, Plan};

/// The join region `plan` (joins with a WHERE filter on top) rewritten.
pub fn join_region(catalog: &Catalog, plan: Plan) -> Plan {
    let mut relations = Vec::new();
    let mut conditions = Vec::new();
    flatten(plan, &mut relations, &mut conditions);
    if relations.len() < 2 && !conditions.iter().any(has_correlated_subquery) {
        let plan = relations.pop().expect("a region has a relation");
        let mut parts = Vec::new();
        for c in conditions {
            split(c, &mut parts);
        }
        return access::filtered(catalog, plan, parts);
    }
    let widths: Vec<usize> = relations.iter().map(Plan::width).collect();
    let offsets: Vec<usize> = widths
        .iter()
        .scan(0, |offset, w| {
            let o = *offset;
            *offset += w;
            Some(o)
        })
        .collect();
    let relation_of = |column: usize| offsets.iter().rposition(|&o| o <= column).unwrap_or(0);
    // Each condition with the relations it reads; `None` for one that may not move.
    let mut pending: Vec<(Expr, Option<BTreeSet<usize>>)> = conditions
        .into_iter()
        .map(|c| {
            let movable = !has_correlated_subquery(&c);
            let relations = columns_of(&c).into_iter().map(relation_of).collect();
            (c, movable.then_some(relations))
        })
        .collect();
    // Conditions of one relation (or none) go onto it (the first, for none).
    let mut relations: Vec<Option<Plan>> = relations.into_iter().map(Some).collect();
    let mut local: Vec<Vec<Expr>> = vec![Vec::new(); relations.len()];
    pending.retain(|(c, rels)| match rels {
        Some(rels) if rels.len() <= 1 => {
            let r = rels.first().copied().unwrap_or(0);
            let offset = offsets[r];
            local[r].push(remap(c, &|i| i - offset));
            false
        }
        _ => true,
    });
    // Join, greedily.
    let mut joined: Vec<usize> = vec![0];
    let mut plan = take(catalog, &mut relations, &mut local, 0);
    while joined.len() < relations.len() {
        let in_set = |rels: &BTreeSet<usize>, extra: usize| {
            rels.iter().all(|r| joined.contains(r) || *r == extra)
        };
        let connected = (0..relations.len()).find(|&r| {
            relations[r].is_some()
                && pending.iter().any(|(_, rels)| {
                    rels.as_ref()
                        .is_some_and(|rels| rels.contains(&r) && in_set(rels, r))
                })
        });
        let next = connected.unwrap_or_else(|| {
            (0..relations.len())
                .find(|&r| relations[r].is_some())
                .expect("a relation is left")
        });
        let right = take(catalog, &mut relations, &mut local, next);
        // The new layout: the joined relations in join order, then `next`.
        let mut layout = joined.clone();
        layout.push(next);
        let new_offsets = layout_offsets(&layout, &widths);
        let position = |column: usize| {
            let r = relation_of(column);
            new_offsets[&r] + column - offsets[r]
        };
        let left_width: usize = joined.iter().map(|&r| widths[r]).sum();
        let mut left_keys = Vec::new();
        let mut right_keys = Vec::new();
        let mut residual = Vec::new();
        pending.retain(|(c, rels)| {
            let Some(rels) = rels else { return true };
            if !in_set(rels, next) {
                return true;
            }
            let c = remap(c, &position);
            match equi_key(&c, left_width) {
                Some((l, r)) => {
                    left_keys.push(l);
                    right_keys.push(remap(&r, &|i| i - left_width));
                }
                None => residual.push(c),
            }
            false
        });
        plan = if left_keys.is_empty() {
            Plan::Join {
                left: Box::new(plan),
                right: Box::new(right),
                kind: JoinKind::Inner,
                on: conjunction(residual),
            }
        } else {
            Plan::HashJoin {
                left: Box::new(plan),
                right: Box::new(right),
                kind: JoinKind::Inner,
                left_keys,
                right_keys,
                residual: conjunction(residual),
            }
        };
        joined.push(next);
    }
    // Back to the FROM clause's column order.
    if joined.windows(2).any(|w| w[0] > w[1]) {
        let new_offsets = layout_offsets(&joined, &widths);
        let exprs = (0..relations.len())
            .flat_map(|r| (0..widths[r]).map(move |i| (r, i)))
            .map(|(r, i)| Expr::Column(new_offsets[&r] + i))
            .collect();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
        };
    }
    // What could not move (and what never became decidable, which cannot happen) on top.
    match conjunction(pending.into_iter().map(|(c, _)| c).collect()) {
        Some(predicate) => Plan::Filter {
            input: Box::new(plan),
            predicate,
        },
        None => plan,
    }
}

/// Relation `r`, with its own conditions as a filter on it.
fn take(
    catalog: &Catalog,
    relations: &mut [Option<Plan>],
    local: &mut [Vec<Expr>],
    r: usize,
) -> Plan {
    let plan = relations[r].take().expect("each relation is joined once");
    access::filtered(catalog, plan, std::mem::take(&mut local[r]))
}

/// A LEFT join with equalities between its sides in its ON condition, made a hash join on
/// them (the rest of the condition its residual); any other plan as it is.
pub fn hash_left_join(plan: Plan) -> Plan {
    let Plan::Join {
        left,
        right,
        kind: JoinKind::Left,
        on: Some(on),
    } = plan
    else {
        return plan;
    };
    let left_width = left.width();
    let mut parts = Vec::new();
    split(on, &mut parts);
    let (mut left_keys, mut right_keys, mut residual) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        if has_correlated_subquery(&part) {
            residual.push(part);
            continue;
        }
        match equi_key(&part, left_width) {
            Some((l, r)) => {
                left_keys.push(l);
                right_keys.push(remap(&r, &|i| i - left_width));
            }
            None => residual.push(part),
        }
    }
    if left_keys.is_empty() {
        return Plan::Join {
            left,
            right,
            kind: JoinKind::Left,
            on: conjunction(residual),
        };
    }
    Plan::HashJoin {
        left,
        right,
        kind: JoinKind::Left,
        left_keys,
        right_keys,
        residual: conjunction(residual),
    }
}

/// The offset of each relation in a layout of relations in `order`.
fn layout_offsets(order: &[usize], widths: &[usize]) -> std::collections::HashMap<usize, usize> {
    let mut offsets = std::collections::HashMap::new();
    let mut offset = 0;
    for &r in order {
        offsets.insert(r, offset);
        offset += widths[r];
    }
    offsets
}

/// The relations and conditions of a tree of inner joins with filters.
fn flatten(plan: Plan, relations: &mut Vec<Plan>, conditions: &mut Vec<Expr>) {
    match plan {
        Plan::Filter { input, predicate }
            if is_join_region(&input) || matches!(*input, Plan::Scan { .. }) =>
        {
            let offset: usize = relations.iter().map(Plan::width).sum();
            flatten(*input, relations, conditions);
            split(remap(&predicate, &|i| i + offset), conditions);
        }
        Plan::Join {
            left,
            right,
            kind: JoinKind::Inner,
            on,
        } => {
            let offset: usize = relations.iter().map(Plan::width).sum();
            flatten(*left, relations, conditions);
            flatten(*right, relations, conditions);
            if let Some(on) = on {
                split(remap(&on, &|i| i + offset), conditions);
            }
        }
        other => relations.push(other),
    }
}

fn is_join_region(plan: &Plan) -> bool {
    match plan {
        Plan::Join {
            kind: JoinKind::Inner,
            ..
        } => true,
        Plan::Filter { input, .. } => is_join_region(input),
        _ => false,
    }
}

/// The parts of `AND`s.
pub(crate) fn split(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::And(a, b) => {
            split(*a, out);
            split(*b, out);
        }
        other => out.push(other),
    }
}

fn conjunction(parts: Vec<Expr>) -> Option<Expr> {
    parts
        .into_iter()
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
}

/// The input columns `expr` reads.
fn columns_of(expr: &Expr) -> BTreeSet<usize> {
    let mut columns = BTreeSet::new();
    expr.visit(&mut |e| {
        if let Expr::Column(i) = e {
            columns.insert(*i);
        }
    });
    columns
}

fn has_correlated_subquery(expr: &Expr) -> bool {
    let mut found = false;
    expr.visit(&mut |e| {
        if let Expr::Subquery(s) = e {
            found |= s.correlated;
        }
    });
    found
}

/// `expr` with each input column `i` read as column `f(i)`.
fn remap(expr: &Expr, f: &dyn Fn(usize) -> usize) -> Expr {
    expr.map_columns(f)
}

/// `l = r` with `l` reading only the left side (columns below `left_width`) and `r` only the
/// right, as (left key, right key), either way round.
fn equi_key(expr: &Expr, left_width: usize) -> Option<(Expr, Expr)> {
    let Expr::Compare(CmpOp::Eq, a, b) = expr else {
        return None;
    };
    let side = |e: &Expr| {
        let columns = columns_of(e);
        if columns.is_empty() {
            None
        } else if columns.iter().all(|&c| c < left_width) {
            Some(true)
        } else if columns.iter().all(|&c| c >= left_width) {
            Some(false)
        } else {
            None
        }
    };
    match (side(a), side(b)) {
        (Some(true), Some(false)) => Some(((**a).clone(), (**b).clone())),
        (Some(false), Some(true)) => Some(((**b).clone(), (**a).clone())),
        _ => None,
    }
}
