//! `EXPLAIN [ANALYZE]`: a query's plan as rows of text, and with ANALYZE what each operator
//! did when the query ran.

use sqlparser::ast::Query;

use crate::bind::Context;
use crate::database::Database;
use crate::error::Result;
use crate::exec::{self, Env, PlanStats, SubqueryCache};
use crate::plan::Plan;
use crate::planner;
use crate::session::{Column, QueryResult};
use crate::value::{DataType, Value};

/// The name of EXPLAIN's one column.
pub const COLUMN: &str = "QUERY PLAN";

/// `EXPLAIN [ANALYZE] query`: the plan, one row per operator; with ANALYZE, run, each
/// operator with the rows it gave, the time spent in it and its inputs, and how many
/// times it ran.
pub fn explain(db: &Database, sql: &str, query: &Query, analyze: bool) -> Result<QueryResult> {
    let catalog = db.catalog();
    let ctx = Context::new(sql, &catalog);
    let planned = planner::plan_query(&ctx, query, None)?;
    let mut lines = if analyze {
        let cache = SubqueryCache::default();
        let stats = PlanStats::default();
        let env = Env::new(db, &cache).counting(&stats);
        let start = std::time::Instant::now();
        for row in exec::run(&planned.plan, &env)? {
            row?;
        }
        let elapsed = start.elapsed();
        let stats = stats.into_inner();
        let mut lines = planned.plan.explain(&|node| match stats
            .get(&(node as *const Plan as usize))
        {
            Some(s) => format!(
                "  (actual time={:.3} ms rows={} loops={})",
                s.time.as_secs_f64() * 1000.0,
                s.rows,
                s.loops
            ),
            None => "  (never executed)".into(),
        });
        lines.push(format!(
            "Execution Time: {:.3} ms",
            elapsed.as_secs_f64() * 1000.0
        ));
        lines
    } else {
        planned.plan.explain(&|_| String::new())
    };
    let rows = lines
        .drain(..)
        .map(|l| vec![Value::Text(l)])
        .collect::<Vec<_>>();
    Ok(QueryResult {
        tag: "EXPLAIN".into(),
        columns: vec![Column {
            name: COLUMN.into(),
            data_type: DataType::Text,
        }],
        rows,
        copy: None,
        notices: Vec::new(),
        parameter_changes: Vec::new(),
    })
}
