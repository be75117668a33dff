//! Access paths: how a table's rows are read under the conditions that concern it alone —
//! all of its heap, or the part of one of its B+tree indexes the conditions bound.
//!
//! A B+tree index serves conditions `column = value` on a prefix of its columns, then at
//! most a range (`<`, `<=`, `>`, `>=`, `BETWEEN`) on the next one (a hash index only the
//! equality on its column), where each value reads no column
//! of the table (constants, parameters, columns of an outer query). Among the indexes of
//! the table the one binding the most columns by equality wins, a range counting half. The
//! conditions all stay in a filter above the index scan: the scan only skips rows they would
//! refuse, so a bound that is loose (an excluded end, a composite key's continuation) or a
//! value the index cannot compare (a number of another kind than the column's) costs speed,
//! never correctness: the scan then reads the whole heap.

use crate::catalog::{Catalog, IndexDef, TableDef};
use crate::expr::{CmpOp, Expr};
use crate::plan::Plan;

/// `plan` read under `conditions` (over its rows): through an index when `plan` is a table
/// scan and an index serves them, with the conditions as a filter on top.
pub fn filtered(catalog: &Catalog, plan: Plan, conditions: Vec<Expr>) -> Plan {
    let plan = match plan {
        Plan::Scan { table, needed } => {
            index_scan(catalog, &table, &conditions).unwrap_or(Plan::Scan { table, needed })
        }
        other => other,
    };
    match conditions
        .into_iter()
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
    {
        Some(predicate) => Plan::Filter {
            input: Box::new(plan),
            predicate,
        },
        None => plan,
    }
}

/// One condition an index can use: `column op value`.
struct Bound<'a> {
    column: usize,
    op: CmpOp,
    value: &'a Expr,
}

fn bounds(conditions: &[Expr]) -> Vec<Bound<'_>> {
    let mut out = Vec::new();
    for condition in conditions {
        let Expr::Compare(op, a, b) = condition else {
            continue;
        };
        let (column, op, value) = match (a.as_ref(), b.as_ref()) {
            (Expr::Column(c), v) if usable_value(v) => (*c, *op, v),
            (v, Expr::Column(c)) if usable_value(v) => (*c, flip(*op), v),
            _ => continue,
        };
        if op != CmpOp::NotEq {
            out.push(Bound { column, op, value });
        }
    }
    out
}

/// A value a scan can compute before reading the table: no column, no subquery.
fn usable_value(expr: &Expr) -> bool {
    let mut usable = true;
    expr.visit(&mut |e| {
        if matches!(e, Expr::Column(_) | Expr::Subquery(_)) {
            usable = false;
        }
    });
    usable
}

/// `a op b` as `b op' a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::LtEq => CmpOp::GtEq,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::GtEq => CmpOp::LtEq,
        other => other,
    }
}

/// The best index scan of `table` for `conditions`, if an index serves them.
fn index_scan(catalog: &Catalog, table: &TableDef, conditions: &[Expr]) -> Option<Plan> {
    let bounds = bounds(conditions);
    if bounds.is_empty() {
        return None;
    }
    let mut best: Option<(usize, Plan)> = None;
    for index in catalog.indexes_of(&table.name) {
        let (score, plan) = scan_of(table, index, &bounds);
        if score > 0 && best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, plan));
        }
    }
    best.map(|(_, plan)| plan)
}

/// The scan of `index` the bounds allow, with its score: two per column bound by equality,
/// one for a range.
fn scan_of(table: &TableDef, index: &IndexDef, bounds: &[Bound<'_>]) -> (usize, Plan) {
    let mut prefix = Vec::new();
    if index.hash {
        // A hash index answers equality on its one column, and nothing else.
        let equal = bounds
            .iter()
            .find(|b| b.column == index.columns[0].0 && b.op == CmpOp::Eq);
        prefix.extend(equal.map(|b| b.value.clone()));
        return (
            2 * prefix.len(),
            Plan::IndexScan {
                table: table.clone(),
                index: index.clone(),
                prefix,
                lower: None,
                upper: None,
                needed: None,
            },
        );
    }
    let mut lower = None;
    let mut upper = None;
    for &(column, _) in &index.columns {
        if let Some(b) = bounds
            .iter()
            .find(|b| b.column == column && b.op == CmpOp::Eq)
        {
            prefix.push(b.value.clone());
            continue;
        }
        for b in bounds.iter().filter(|b| b.column == column) {
            match b.op {
                CmpOp::Gt | CmpOp::GtEq if lower.is_none() => {
                    lower = Some((b.value.clone(), b.op == CmpOp::GtEq))
                }
                CmpOp::Lt | CmpOp::LtEq if upper.is_none() => {
                    upper = Some((b.value.clone(), b.op == CmpOp::LtEq))
                }
                _ => {}
            }
        }
        break;
    }
    let score = 2 * prefix.len() + usize::from(lower.is_some() || upper.is_some());
    (
        score,
        Plan::IndexScan {
            table: table.clone(),
            index: index.clone(),
            prefix,
            lower,
            upper,
            needed: None,
        },
    )
}
