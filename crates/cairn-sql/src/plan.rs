//! Plans: a query as a tree of relational operators, each producing rows from its inputs'.
//!
//! The planner ([`crate::planner`]) makes a [`Plan`] of a query; the executor
//! ([`crate::exec`]) runs it. Every node's rows have a fixed layout, its columns in order,
//! and the expressions of a node are bound to positions in its input's rows: a [`Plan::Join`]
//! row is its left row followed by its right row; a [`Plan::Aggregate`] row is its group
//! values followed by its aggregates' values. A node never looks at its input's names.
//!
//! Today the planner makes this tree straight from the query, and the executor runs each
//! node by the one algorithm it has for it (a heap scan, a nested-loop join over a
//! materialized right side, hash aggregation, an in-memory sort); the optimizer's rewrites
//! and the choice among physical operators (index scans, hash and merge joins, top-N,
//! spilling) come with the rest of issue 24 and issue 27, as a physical plan beside this one.

use std::fmt;

use crate::aggregate::AggCall;
use crate::catalog::{IndexDef, TableDef};
use crate::expr::Expr;
use crate::window::WindowCall;

/// A relational operator and its inputs.
// A plan is built once per statement and walked, never moved in bulk: the size of its
// largest variant (an index scan with its table and index) costs nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Every row of a table; of its columns, only those `needed` marks are decoded (the
    /// others read as NULL), all when `None`.
    Scan {
        table: TableDef,
        needed: Option<Vec<bool>>,
    },
    /// The rows of a table an index finds: those whose key starts with the `prefix` values
    /// and whose next key column lies within `lower` and `upper` (each with whether it is
    /// inclusive); the values are computed when the scan starts.
    IndexScan {
        table: TableDef,
        index: IndexDef,
        prefix: Vec<Expr>,
        lower: Option<(Expr, bool)>,
        upper: Option<(Expr, bool)>,
        needed: Option<Vec<bool>>,
    },
    /// `WITH RECURSIVE`: the rows of `base`, then of `step` run again and again over the
    /// rows the previous run gave (read by [`Plan::WorkTable`] `id`) until one gives none;
    /// without `all`, rows already given are dropped (UNION).
    RecursiveCte {
        id: usize,
        base: Box<Plan>,
        step: Box<Plan>,
        all: bool,
    },
    /// The rows the previous step of the recursive query `id` gave.
    WorkTable { id: usize, width: usize },
    /// `generate_series(start, stop [, step])`: one row per value from `start` toward `stop`
    /// by `step` (1 by default), evaluated when the scan starts.
    Series {
        start: Expr,
        stop: Expr,
        step: Option<Expr>,
    },
    /// `unnest(array)`: one row per element, evaluated when the scan starts.
    Unnest { array: Expr },
    /// Rows of expressions: `VALUES`, and the one empty row a `SELECT` without `FROM` reads.
    Values { rows: Vec<Vec<Expr>> },
    /// The input rows for which `predicate` is true.
    Filter { input: Box<Plan>, predicate: Expr },
    /// Each input row made into the values of `exprs`.
    Project { input: Box<Plan>, exprs: Vec<Expr> },
    /// Left rows joined with right rows where `on` (over the joined row) is true; an outer
    /// join also keeps each unmatched row of its outer side(s), padded with NULLs.
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        on: Option<Expr>,
    },
    /// A LATERAL join: `right` run again for each left row, which its expressions read as
    /// the row of the query around them ([`Expr::Outer`] depth 1); each left row joined
    /// with the rows that run gives for which `on` holds, padded with NULLs when none does
    /// and the join is a left one.
    LateralJoin {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        on: Option<Expr>,
    },
    /// The join of left and right rows whose key values are equal (`left_keys` over the left
    /// row, `right_keys` over the right, NULL never equal), and for which `residual` (over the
    /// joined row) is true: the right side held in a hash table, the left side probing it.
    HashJoin {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        residual: Option<Expr>,
    },
    /// One row per group of equal `groups` values (one row in all when there are no groups,
    /// even over no input): the group values, then each aggregate's.
    Aggregate {
        input: Box<Plan>,
        groups: Vec<Expr>,
        aggs: Vec<AggCall>,
    },
    /// The input rows, each with one more column per window function call (see
    /// [`crate::window`]).
    Window {
        input: Box<Plan>,
        calls: Vec<WindowCall>,
    },
    /// The input in the order of `keys`; equal rows keep their input order. Under a LIMIT,
    /// `top` is how many rows will be read (offset + limit, evaluated when the sort runs):
    /// a top-N sort keeps only those in memory.
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
        top: Option<Expr>,
    },
    /// The input's rows after the first `offset`, at most `limit` of them: constant
    /// expressions of type bigint, evaluated when the plan runs (NULL is no limit).
    Limit {
        input: Box<Plan>,
        offset: Option<Expr>,
        limit: Option<Expr>,
    },
    /// The input without duplicate rows (NULLs equal), the first of each kept.
    Distinct { input: Box<Plan> },
    /// The first row of each group of input rows equal on `columns` (`DISTINCT ON`).
    DistinctOn {
        input: Box<Plan>,
        columns: Vec<usize>,
    },
    /// `UNION`, `INTERSECT` or `EXCEPT` of two inputs of the same layout.
    SetOp {
        op: SetOpKind,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
}

/// The kinds of join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// The set operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

/// One key of a sort: a column of the input row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub column: usize,
    pub descending: bool,
    pub nulls_first: bool,
}

impl Plan {
    /// How many columns the plan's rows have.
    pub fn width(&self) -> usize {
        match self {
            Plan::Scan { table, .. } | Plan::IndexScan { table, .. } => table.columns.len(),
            Plan::Values { rows } => rows.first().map_or(0, Vec::len),
            Plan::RecursiveCte { base, .. } => base.width(),
            Plan::WorkTable { width, .. } => *width,
            Plan::Series { .. } | Plan::Unnest { .. } => 1,
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input }
            | Plan::DistinctOn { input, .. } => input.width(),
            Plan::Project { exprs, .. } => exprs.len(),
            Plan::Join { left, right, .. }
            | Plan::HashJoin { left, right, .. }
            | Plan::LateralJoin { left, right, .. } => left.width() + right.width(),
            Plan::Aggregate { groups, aggs, .. } => groups.len() + aggs.len(),
            Plan::Window { input, calls } => input.width() + calls.len(),
            Plan::SetOp { left, .. } => left.width(),
        }
    }

    /// The plan as EXPLAIN prints it, one line per operator, indented under its parent;
    /// `annotate` may add to each operator's line (EXPLAIN ANALYZE's actual rows and time).
    pub fn explain(&self, annotate: &dyn Fn(&Plan) -> String) -> Vec<String> {
        let mut lines = Vec::new();
        self.explain_into(0, annotate, &mut lines);
        lines
    }

    fn explain_into(
        &self,
        depth: usize,
        annotate: &dyn Fn(&Plan) -> String,
        lines: &mut Vec<String>,
    ) {
        let (label, inputs): (String, Vec<&Plan>) = match self {
            Plan::Scan { table, .. } => (format!("Seq Scan on {}", table.name), vec![]),
            Plan::IndexScan { table, index, .. } => (
                format!("Index Scan using {} on {}", index.name, table.name),
                vec![],
            ),
            Plan::Values { rows } => (format!("Values Scan ({} rows)", rows.len()), vec![]),
            Plan::RecursiveCte { base, step, .. } => ("Recursive Union".into(), vec![base, step]),
            Plan::WorkTable { .. } => ("WorkTable Scan".into(), vec![]),
            Plan::Series { .. } => ("Function Scan on generate_series".into(), vec![]),
            Plan::Unnest { .. } => ("Function Scan on unnest".into(), vec![]),
            Plan::Filter { input, .. } => ("Filter".into(), vec![input]),
            Plan::Project { input, .. } => ("Project".into(), vec![input]),
            Plan::Join {
                left, right, kind, ..
            } => (format!("Nested Loop {kind:?} Join"), vec![left, right]),
            Plan::HashJoin {
                left, right, kind, ..
            } => (format!("Hash {kind:?} Join"), vec![left, right]),
            Plan::LateralJoin {
                left, right, kind, ..
            } => (
                format!("Nested Loop {kind:?} Lateral Join"),
                vec![left, right],
            ),
            Plan::Aggregate { input, groups, .. } => (
                if groups.is_empty() {
                    "Aggregate".into()
                } else {
                    "HashAggregate".into()
                },
                vec![input],
            ),
            Plan::Window { input, .. } => ("WindowAgg".into(), vec![input]),
            Plan::Sort {
                input, top: None, ..
            } => ("Sort".into(), vec![input]),
            Plan::Sort { input, .. } => ("Top-N Sort".into(), vec![input]),
            Plan::Limit { input, .. } => ("Limit".into(), vec![input]),
            Plan::Distinct { input } | Plan::DistinctOn { input, .. } => {
                ("Unique".into(), vec![input])
            }
            Plan::SetOp {
                op,
                all,
                left,
                right,
            } => (
                format!("{op:?}{}", if *all { " All" } else { "" }),
                vec![left, right],
            ),
        };
        let (indent, arrow) = if depth == 0 {
            (String::new(), "")
        } else {
            ("      ".repeat(depth - 1) + "  ", "->  ")
        };
        lines.push(format!("{indent}{arrow}{label}{}", annotate(self)));
        for input in inputs {
            input.explain_into(depth + 1, annotate, lines);
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.explain(&|_| String::new()) {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
