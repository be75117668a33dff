//! The planner: a query's syntax tree made a [`Plan`], names resolved and types checked.
//!
//! A `SELECT` is planned in the order SQL defines its meaning:
//!
//! ```text
//! FROM (joins)  →  WHERE  →  GROUP BY / aggregates  →  HAVING  →  select list (+ hidden
//! sort keys)  →  DISTINCT  →  ORDER BY  →  drop hidden keys  →  LIMIT / OFFSET
//! ```
//!
//! A query level is grouped when it has `GROUP BY` or `HAVING` or calls an aggregate in its
//! select list or `ORDER BY`; then everything after the aggregation is bound by a grouping
//! [`Binder`], which reads the aggregate row (group values, then aggregates) and refuses a
//! column that is neither grouped nor inside an aggregate (`42803`). `ORDER BY` names an
//! output column (by position, by name, or by being the same expression as one) or any
//! expression of the input, which is computed as a hidden column and dropped after the sort
//! (not allowed with `DISTINCT`: `42P10`). Set operations take PostgreSQL's common type of
//! each column pair, and their `ORDER BY` only names output columns.

use std::cell::RefCell;

use sqlparser::ast::{
    Distinct, Expr as SqlExpr, GroupByExpr, Join, JoinConstraint, JoinOperator, LimitClause,
    OrderBy, OrderByKind, OrderBySort, Query, Select, SelectItem, SelectItemQualifiedWildcardKind,
    SetExpr, SetOperator, SetQuantifier, Statement, TableAlias, TableFactor, TableWithJoins,
    Value as SqlValue, Values,
};

use crate::bind::{
    common_type, ident_name, Binder, Context, Cte, CteKind, Grouping, Typed, WINDOW_BASE,
};
use crate::catalog::ViewDef;
use crate::error::{Error, Result, SqlState};
use crate::expr::{CmpOp, Expr};
use crate::optimizer;
use crate::plan::{JoinKind, Plan, SetOpKind, SortKey};
use crate::prune;
use crate::scope::Scope;
use crate::session::{table_name, Column};
use crate::value::DataType;
use crate::walk;

/// A planned query: its plan, its output columns, and whether it names columns of a query
/// around it.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub columns: Vec<Column>,
    pub correlated: bool,
}

/// Plans `query`, inside the query level `parent` binds (for a subquery).
pub fn plan_query(
    ctx: &Context<'_>,
    query: &Query,
    parent: Option<&Binder<'_>>,
) -> Result<Planned> {
    let Some(with) = &query.with else {
        return plan_query_body(ctx, query, parent);
    };
    let before = ctx.ctes.borrow().len();
    for cte in &with.cte_tables {
        let name = ident_name(&cte.alias.name);
        if ctx.ctes.borrow()[before..].iter().any(|c| c.name == name) {
            return Err(Error::new(
                SqlState::DUPLICATE_ALIAS,
                format!("WITH query name \"{name}\" specified more than once"),
            ));
        }
        ctx.ctes.borrow_mut().push(Cte {
            name,
            kind: CteKind::Query {
                query: cte.query.clone(),
                columns: cte
                    .alias
                    .columns
                    .iter()
                    .map(|c| ident_name(&c.name))
                    .collect(),
                recursive: with.recursive,
            },
        });
    }
    let planned = plan_query_body(ctx, query, parent);
    ctx.ctes.borrow_mut().truncate(before);
    planned
}

/// A query without its WITH clause.
fn plan_query_body(
    ctx: &Context<'_>,
    query: &Query,
    parent: Option<&Binder<'_>>,
) -> Result<Planned> {
    let mut planned = match query.body.as_ref() {
        SetExpr::Select(select) => plan_select(ctx, select, query.order_by.as_ref(), parent)?,
        body => {
            let mut planned = plan_set_expr(ctx, body, parent)?;
            if let Some(order_by) = &query.order_by {
                let keys = output_sort_keys(ctx, order_by, &planned.columns)?;
                planned.plan = Plan::Sort {
                    input: Box::new(planned.plan),
                    keys,
                    top: None,
                };
            }
            planned
        }
    };
    // FETCH FIRST n ROWS ONLY is a LIMIT of n (1 when n is left out).
    let one = SqlExpr::value(SqlValue::Number("1".into(), false));
    let fetch = match &query.fetch {
        None => None,
        Some(f) if f.with_ties || f.percent => {
            return Err(Error::not_supported("FETCH … WITH TIES and PERCENT"))
        }
        Some(f) => Some(f.quantity.as_ref().unwrap_or(&one)),
    };
    let clause = match (&query.limit_clause, fetch) {
        (None, None) => None,
        (Some(clause), None) => Some(limit_clause(clause)?),
        (Some(clause), Some(n)) => Some((limit_clause(clause)?.0, Some(n))),
        (None, Some(n)) => Some((None, Some(n))),
    };
    if let Some((offset, limit)) = clause {
        let scope = Scope::default();
        let binder = Binder::new(ctx, &scope, parent);
        let count = |e: Option<&SqlExpr>, word: &'static str| -> Result<Option<Expr>> {
            e.map(|e| {
                let typed = binder.in_clause(word).bind(e)?;
                if typed.ty.is_some_and(|t| !t.is_numeric()) {
                    return Err(binder.placed(
                        Error::new(
                            SqlState::DATATYPE_MISMATCH,
                            format!(
                                "argument of {word} must be type bigint, not type {}",
                                typed.result_type().name()
                            ),
                        ),
                        e,
                    ));
                }
                typed
                    .into_type(DataType::Int8)
                    .map_err(|error| binder.placed(error, e))
            })
            .transpose()
        };
        let (offset, limit) = (count(offset, "OFFSET")?, count(limit, "LIMIT")?);
        planned.correlated |= binder.is_correlated();
        if let Some(limit) = &limit {
            set_top(&mut planned.plan, offset.as_ref(), limit);
        }
        planned.plan = Plan::Limit {
            input: Box::new(planned.plan),
            offset,
            limit,
        };
    }
    Ok(planned)
}

/// Tells the sort a LIMIT reads from (through a projection dropping hidden sort keys) how
/// many rows will be read: offset + limit.
fn set_top(plan: &mut Plan, offset: Option<&Expr>, limit: &Expr) {
    match plan {
        Plan::Project { input, .. } => set_top(input, offset, limit),
        Plan::Sort { top, .. } => {
            *top = Some(match offset {
                Some(o) => Expr::Arith(
                    crate::value::ArithOp::Add,
                    Box::new(o.clone()),
                    Box::new(limit.clone()),
                ),
                None => limit.clone(),
            })
        }
        _ => {}
    }
}

/// The OFFSET and LIMIT expressions of a limit clause.
fn limit_clause(clause: &LimitClause) -> Result<(Option<&SqlExpr>, Option<&SqlExpr>)> {
    match clause {
        LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        } if limit_by.is_empty() => Ok((offset.as_ref().map(|o| &o.value), limit.as_ref())),
        LimitClause::OffsetCommaLimit { .. } => Err(Error::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "LIMIT #,# syntax is not supported",
        )),
        _ => Err(Error::not_supported("LIMIT BY")),
    }
}

/// A query body without its ORDER BY and LIMIT: a SELECT, a set operation, VALUES, or a
/// parenthesized query.
fn plan_set_expr(
    ctx: &Context<'_>,
    body: &SetExpr,
    parent: Option<&Binder<'_>>,
) -> Result<Planned> {
    match body {
        SetExpr::Select(select) => plan_select(ctx, select, None, parent),
        SetExpr::Query(query) => plan_query(ctx, query, parent),
        SetExpr::Values(values) => plan_values(ctx, values, parent),
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            let (op, word) = match op {
                SetOperator::Union => (SetOpKind::Union, "UNION"),
                SetOperator::Intersect => (SetOpKind::Intersect, "INTERSECT"),
                SetOperator::Except => (SetOpKind::Except, "EXCEPT"),
                other => return Err(Error::not_supported(&format!("{other}"))),
            };
            let all = match set_quantifier {
                SetQuantifier::All => true,
                SetQuantifier::Distinct | SetQuantifier::None => false,
                other => return Err(Error::not_supported(&format!("{word} {other}"))),
            };
            let left = plan_set_expr(ctx, left, parent)?;
            let right = plan_set_expr(ctx, right, parent)?;
            if left.columns.len() != right.columns.len() {
                return Err(Error::new(
                    SqlState::SYNTAX_ERROR,
                    format!("each {word} query must have the same number of columns"),
                ));
            }
            let mut columns = Vec::new();
            for (l, r) in left.columns.iter().zip(&right.columns) {
                let ty = common_type(&[Some(l.data_type), Some(r.data_type)], word)?;
                columns.push(Column {
                    name: l.name.clone(),
                    data_type: ty,
                });
            }
            let correlated = left.correlated || right.correlated;
            Ok(Planned {
                plan: Plan::SetOp {
                    op,
                    all,
                    left: Box::new(cast_to(left, &columns)),
                    right: Box::new(cast_to(right, &columns)),
                },
                columns,
                correlated,
            })
        }
        _ => Err(Error::not_supported("this query")),
    }
}

/// `planned`'s rows with each column cast to the type of `columns`' (if it differs).
fn cast_to(planned: Planned, columns: &[Column]) -> Plan {
    if planned
        .columns
        .iter()
        .zip(columns)
        .all(|(a, b)| a.data_type == b.data_type)
    {
        return planned.plan;
    }
    let exprs = planned
        .columns
        .iter()
        .zip(columns)
        .enumerate()
        .map(|(i, (a, b))| {
            if a.data_type == b.data_type {
                Expr::Column(i)
            } else {
                Expr::Cast(Box::new(Expr::Column(i)), b.data_type)
            }
        })
        .collect();
    Plan::Project {
        input: Box::new(planned.plan),
        exprs,
    }
}

/// `VALUES (…), …`: columns `column1`, `column2`… of each column's common type.
fn plan_values(ctx: &Context<'_>, values: &Values, parent: Option<&Binder<'_>>) -> Result<Planned> {
    let scope = Scope::default();
    let binder = Binder::new(ctx, &scope, parent).in_clause("VALUES");
    let width = values.rows.first().map_or(0, |r| r.len());
    let mut rows: Vec<Vec<Typed>> = Vec::new();
    for row in &values.rows {
        if row.len() != width {
            return Err(binder.placed(
                Error::new(
                    SqlState::SYNTAX_ERROR,
                    "VALUES lists must all be the same length",
                ),
                row.first().unwrap_or(&values.rows[0][0]),
            ));
        }
        rows.push(row.iter().map(|e| binder.bind(e)).collect::<Result<_>>()?);
    }
    let mut columns = Vec::new();
    for i in 0..width {
        let types: Vec<Option<DataType>> = rows.iter().map(|r| r[i].ty).collect();
        columns.push(Column {
            name: format!("column{}", i + 1),
            data_type: common_type(&types, "VALUES")?,
        });
    }
    let rows = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .zip(&columns)
                .map(|(t, c)| t.into_type(c.data_type))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Planned {
        plan: Plan::Values { rows },
        columns,
        correlated: binder.is_correlated(),
    })
}

/// One SELECT, with the ORDER BY of its query if it has one.
fn plan_select(
    ctx: &Context<'_>,
    select: &Select,
    order_by: Option<&OrderBy>,
    parent: Option<&Binder<'_>>,
) -> Result<Planned> {
    if select.into.is_some() || select.top.is_some() || select.qualify.is_some() {
        return Err(Error::not_supported("this SELECT clause"));
    }
    if let Some(rewritten) = crate::table_function::select_list_function(select) {
        return plan_select(ctx, &rewritten, order_by, parent);
    }
    let (mut plan, scope, mut correlated) = plan_from(ctx, &select.from, parent)?;
    let binder = Binder::new(ctx, &scope, parent);
    if let Some(condition) = &select.selection {
        plan = Plan::Filter {
            input: Box::new(plan),
            predicate: binder.in_clause("WHERE").boolean(condition, "WHERE")?,
        };
    }
    plan = optimizer::join_region(ctx.catalog, plan);
    let group_by = match &select.group_by {
        GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs.as_slice(),
        _ => return Err(Error::not_supported("this GROUP BY")),
    };
    let order_items = match order_by.map(|o| &o.kind) {
        None => &[][..],
        Some(OrderByKind::Expressions(items)) => items.as_slice(),
        Some(_) => return Err(Error::not_supported("ORDER BY ALL")),
    };
    let grouped = !group_by.is_empty()
        || select.having.is_some()
        || select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                walk::has_aggregate(e)
            }
            _ => false,
        })
        || order_items.iter().any(|o| walk::has_aggregate(&o.expr));
    let grouping = RefCell::new(Grouping::default());
    let post = if grouped {
        let input = binder.in_clause("GROUP BY");
        for expr in group_by {
            let typed = group_expr(&input, expr, &select.projection)?;
            grouping.borrow_mut().groups.push(typed);
        }
        binder.grouped(&grouping)
    } else {
        binder.in_clause("WHERE")
    };
    // The select list and ORDER BY may call window functions, computed after grouping.
    let windows = RefCell::new(Vec::new());
    let listed = post.with_windows(&windows);
    let (mut columns, mut exprs) = project(&listed, &scope, &select.projection)?;
    let having = select
        .having
        .as_ref()
        .map(|h| post.boolean(h, "HAVING"))
        .transpose()?;
    // ORDER BY: output columns, or hidden columns computed after them.
    let output_count = exprs.len();
    let keys = order_keys(
        ctx,
        &binder,
        &listed,
        select,
        order_items,
        &columns,
        &mut exprs,
    )?;
    let distinct_on = distinct_on_columns(ctx, &listed, select, &columns, &mut exprs, &keys)?;
    if grouped {
        let grouping = grouping.into_inner();
        plan = Plan::Aggregate {
            input: Box::new(plan),
            groups: grouping.groups.into_iter().map(|g| g.expr).collect(),
            aggs: grouping.aggs,
        };
        if let Some(having) = having {
            plan = Plan::Filter {
                input: Box::new(plan),
                predicate: having,
            };
        }
    }
    let calls = windows.into_inner();
    if !calls.is_empty() {
        let width = plan.width();
        let place = |i: usize| {
            if i >= WINDOW_BASE {
                width + i - WINDOW_BASE
            } else {
                i
            }
        };
        exprs = exprs.iter().map(|e| e.map_columns(&place)).collect();
        plan = Plan::Window {
            input: Box::new(plan),
            calls,
        };
    }
    let hidden = exprs.len() > output_count;
    plan = Plan::Project {
        input: Box::new(plan),
        exprs,
    };
    match &select.distinct {
        None | Some(Distinct::All) => {}
        Some(Distinct::Distinct) => {
            plan = Plan::Distinct {
                input: Box::new(plan),
            }
        }
        Some(Distinct::On(_)) => {}
    }
    if !keys.is_empty() {
        plan = Plan::Sort {
            input: Box::new(plan),
            keys,
            top: None,
        };
    }
    if let Some(columns) = distinct_on {
        plan = Plan::DistinctOn {
            input: Box::new(plan),
            columns,
        };
    }
    if hidden {
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: (0..output_count).map(Expr::Column).collect(),
        };
    }
    columns.truncate(output_count);
    correlated |= binder.is_correlated();
    prune::prune(&mut plan, &vec![true; output_count]);
    Ok(Planned {
        plan,
        columns,
        correlated,
    })
}

/// The sort keys of ORDER BY `items`: output columns, or expressions appended to `exprs`
/// as hidden columns (not allowed with DISTINCT).
fn order_keys(
    ctx: &Context<'_>,
    binder: &Binder<'_>,
    listed: &Binder<'_>,
    select: &Select,
    order_items: &[sqlparser::ast::OrderByExpr],
    columns: &[Column],
    exprs: &mut Vec<Expr>,
) -> Result<Vec<SortKey>> {
    let mut keys = Vec::new();
    for item in order_items {
        let column = match output_position(ctx, &item.expr, columns)? {
            Some(i) => i,
            None => {
                let typed = listed.bind(&item.expr)?;
                let ty = typed.result_type();
                let expr = typed.into_type(ty)?;
                match exprs.iter().position(|e| *e == expr) {
                    Some(i) => i,
                    None => {
                        if matches!(select.distinct, Some(Distinct::Distinct)) {
                            return Err(binder.placed(
                                Error::new(
                                    SqlState::INVALID_COLUMN_REFERENCE,
                                    "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                                ),
                                &item.expr,
                            ));
                        }
                        exprs.push(expr);
                        exprs.len() - 1
                    }
                }
            }
        };
        keys.push(sort_key(
            column,
            item.options.sort.as_ref(),
            item.options.nulls_first,
        )?);
    }
    Ok(keys)
}

/// The columns of a `DISTINCT ON` (appended to `exprs` as hidden columns where they are not
/// output columns), which must lead the ORDER BY `keys` if there are any (`42P10`).
fn distinct_on_columns(
    ctx: &Context<'_>,
    listed: &Binder<'_>,
    select: &Select,
    columns: &[Column],
    exprs: &mut Vec<Expr>,
    keys: &[SortKey],
) -> Result<Option<Vec<usize>>> {
    // DISTINCT ON: the first row (in ORDER BY order) of each group of equal values.
    Ok(match &select.distinct {
        Some(Distinct::On(on)) => {
            let mut on_columns = Vec::new();
            for e in on {
                let column = match output_position(ctx, e, columns)? {
                    Some(i) => i,
                    None => {
                        let typed = listed.bind(e)?;
                        let ty = typed.result_type();
                        let expr = typed.into_type(ty)?;
                        match exprs.iter().position(|x| *x == expr) {
                            Some(i) => i,
                            None => {
                                exprs.push(expr);
                                exprs.len() - 1
                            }
                        }
                    }
                };
                on_columns.push(column);
            }
            let leading: Vec<usize> = keys
                .iter()
                .take(on_columns.len())
                .map(|k| k.column)
                .collect();
            let mut want = on_columns.clone();
            let mut have = leading.clone();
            want.sort_unstable();
            have.sort_unstable();
            if !keys.is_empty() && (leading.len() < on_columns.len() || want != have) {
                return Err(Error::new(
                    SqlState::INVALID_COLUMN_REFERENCE,
                    "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                ));
            }
            Some(on_columns)
        }
        _ => None,
    })
}

/// A GROUP BY item: an output column's position or name (PostgreSQL's extension), else an
/// expression over the input.
fn group_expr(input: &Binder<'_>, expr: &SqlExpr, projection: &[SelectItem]) -> Result<Typed> {
    let item_expr = |i: usize| match &projection[i] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    };
    if let SqlExpr::Value(v) = expr {
        if let SqlValue::Number(text, _) = &v.value {
            let position: usize = text.parse().unwrap_or(0);
            return match (1..=projection.len()).contains(&position) {
                true => match item_expr(position - 1) {
                    Some(e) if walk::has_aggregate(e) => Err(input.placed(
                        Error::new(
                            SqlState::GROUPING_ERROR,
                            "aggregate functions are not allowed in GROUP BY",
                        ),
                        e,
                    )),
                    Some(e) => input.bind(e),
                    None => Err(Error::not_supported("GROUP BY a * position")),
                },
                false => Err(input.placed(
                    Error::new(
                        SqlState::INVALID_COLUMN_REFERENCE,
                        format!("GROUP BY position {text} is not in select list"),
                    ),
                    expr,
                )),
            };
        }
    }
    if let SqlExpr::Identifier(ident) = expr {
        let name = ident_name(ident);
        if input.scope().find(None, &name)?.is_none() {
            let aliased = projection.iter().position(
                |item| matches!(item, SelectItem::ExprWithAlias { alias, .. } if ident_name(alias) == name),
            );
            if let Some(e) = aliased.and_then(item_expr) {
                return input.bind(e);
            }
        }
    }
    input.bind(expr)
}

/// The output columns and expressions of a select list.
pub(crate) fn project(
    binder: &Binder<'_>,
    scope: &Scope,
    items: &[SelectItem],
) -> Result<(Vec<Column>, Vec<Expr>)> {
    let mut columns = Vec::new();
    let mut exprs = Vec::new();
    // `*` in a grouped query is each column as if named, so an ungrouped one is refused.
    let star =
        |positions: &[usize], columns: &mut Vec<Column>, exprs: &mut Vec<Expr>| -> Result<()> {
            for &i in positions {
                let column = &scope.columns[i];
                let typed = match (binder.grouping(), &column.qualifier) {
                    (Some(_), Some(q)) => binder.bind(&SqlExpr::CompoundIdentifier(vec![
                        sqlparser::ast::Ident::with_quote('"', q.clone()),
                        sqlparser::ast::Ident::with_quote('"', column.name.clone()),
                    ]))?,
                    _ => Typed {
                        expr: Expr::Column(i),
                        ty: Some(column.data_type),
                    },
                };
                columns.push(Column {
                    name: column.name.clone(),
                    data_type: typed.result_type(),
                });
                exprs.push(typed.expr);
            }
            Ok(())
        };
    for item in items {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(e) => (e, Binder::column_name(e)),
            SelectItem::ExprWithAlias { expr, alias } => (expr, ident_name(alias)),
            SelectItem::Wildcard(_) => {
                if scope.columns.is_empty() && scope.star.is_empty() {
                    return Err(Error::new(
                        SqlState::SYNTAX_ERROR,
                        "SELECT * with no tables specified is not valid",
                    ));
                }
                star(&scope.star, &mut columns, &mut exprs)?;
                continue;
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let qualifier = table_name(name)?;
                let positions = scope.star_of(&qualifier).ok_or_else(|| {
                    Error::new(
                        SqlState::UNDEFINED_TABLE,
                        format!("missing FROM-clause entry for table \"{qualifier}\""),
                    )
                })?;
                star(&positions, &mut columns, &mut exprs)?;
                continue;
            }
            _ => return Err(Error::not_supported("this select-list item")),
        };
        let typed = binder.bind(expr)?;
        let ty = typed.result_type();
        columns.push(Column {
            name,
            data_type: ty,
        });
        // An untyped literal in the result is text.
        exprs.push(typed.into_type(ty)?);
    }
    Ok((columns, exprs))
}

/// The output column an ORDER BY item names by position or by name, if it does.
fn output_position(ctx: &Context<'_>, expr: &SqlExpr, columns: &[Column]) -> Result<Option<usize>> {
    match expr {
        SqlExpr::Value(v) => {
            if let SqlValue::Number(text, _) = &v.value {
                let position: usize = text.parse().unwrap_or(0);
                if (1..=columns.len()).contains(&position) {
                    return Ok(Some(position - 1));
                }
                let scope = Scope::default();
                return Err(Binder::new(ctx, &scope, None).placed(
                    Error::new(
                        SqlState::INVALID_COLUMN_REFERENCE,
                        format!("ORDER BY position {text} is not in select list"),
                    ),
                    expr,
                ));
            }
            Ok(None)
        }
        SqlExpr::Identifier(ident) => {
            let name = ident_name(ident);
            Ok(columns.iter().position(|c| c.name == name))
        }
        _ => Ok(None),
    }
}

/// The sort keys of a set operation's ORDER BY: output columns only.
fn output_sort_keys(
    ctx: &Context<'_>,
    order_by: &OrderBy,
    columns: &[Column],
) -> Result<Vec<SortKey>> {
    let OrderByKind::Expressions(items) = &order_by.kind else {
        return Err(Error::not_supported("ORDER BY ALL"));
    };
    items
        .iter()
        .map(|item| {
            let column = output_position(ctx, &item.expr, columns)?.ok_or_else(|| {
                Error::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "invalid UNION/INTERSECT/EXCEPT ORDER BY clause",
                )
            })?;
            sort_key(column, item.options.sort.as_ref(), item.options.nulls_first)
        })
        .collect()
}

fn sort_key(
    column: usize,
    sort: Option<&OrderBySort>,
    nulls_first: Option<bool>,
) -> Result<SortKey> {
    let descending = match sort {
        None | Some(OrderBySort::Asc) => false,
        Some(OrderBySort::Desc) => true,
        Some(_) => return Err(Error::not_supported("ORDER BY … USING")),
    };
    Ok(SortKey {
        column,
        descending,
        nulls_first: nulls_first.unwrap_or(descending),
    })
}

/// The plan and scope of a FROM clause: its items cross-joined, left to right.
pub(crate) fn plan_from(
    ctx: &Context<'_>,
    from: &[TableWithJoins],
    parent: Option<&Binder<'_>>,
) -> Result<(Plan, Scope, bool)> {
    let mut result: Option<(Plan, Scope)> = None;
    let mut correlated = false;
    for item in from {
        let left_scope = result.as_ref().map(|(_, s)| s);
        let (plan, scope, c, lateral) = plan_joins(ctx, item, parent, left_scope)?;
        correlated |= c;
        result = Some(match result {
            None => (plan, scope),
            Some((left, left_scope)) => {
                check_aliases(&left_scope, &scope)?;
                let (left, right) = (Box::new(left), Box::new(plan));
                let plan = if lateral {
                    Plan::LateralJoin {
                        left,
                        right,
                        kind: JoinKind::Inner,
                        on: None,
                    }
                } else {
                    Plan::Join {
                        left,
                        right,
                        kind: JoinKind::Inner,
                        on: None,
                    }
                };
                (plan, Scope::join(left_scope, scope))
            }
        });
    }
    let (plan, scope) = result.unwrap_or_else(|| {
        (
            Plan::Values {
                rows: vec![Vec::new()],
            },
            Scope::default(),
        )
    });
    Ok((plan, scope, correlated))
}

/// `42712` if the two sides of a join have a table name in common.
fn check_aliases(left: &Scope, right: &Scope) -> Result<()> {
    for column in &right.columns {
        if let Some(q) = &column.qualifier {
            if left.has_qualifier(q) {
                return Err(Error::new(
                    SqlState::DUPLICATE_ALIAS,
                    format!("table name \"{q}\" specified more than once"),
                ));
            }
        }
    }
    Ok(())
}

/// One FROM item and its joins.
/// One FROM item and its joins: its plan and scope, whether it reads a query around it,
/// and whether its first relation reads the FROM items before it (`left`: LATERAL).
fn plan_joins(
    ctx: &Context<'_>,
    item: &TableWithJoins,
    parent: Option<&Binder<'_>>,
    left: Option<&Scope>,
) -> Result<(Plan, Scope, bool, bool)> {
    let (mut plan, mut scope, mut correlated, first_lateral) =
        plan_lateral(ctx, &item.relation, parent, left)?;
    for join in &item.joins {
        let (right, right_scope, c, lateral) =
            plan_lateral(ctx, &join.relation, parent, Some(&scope))?;
        correlated |= c;
        check_aliases(&scope, &right_scope)?;
        let (kind, constraint) = join_kind(join)?;
        let left_width = scope.columns.len();
        let mut joined = Scope::join(scope, right_scope);
        let (on, merged) = match constraint {
            JoinConstraint::On(condition) => {
                let binder = Binder::new(ctx, &joined, parent).in_clause("JOIN conditions");
                let on = binder.boolean(condition, "JOIN/ON")?;
                correlated |= binder.is_correlated();
                (Some(on), Vec::new())
            }
            JoinConstraint::Using(names) => {
                let names = names.iter().map(table_name).collect::<Result<Vec<_>>>()?;
                merge_columns(&mut joined, left_width, &names)?
            }
            JoinConstraint::Natural => {
                let names: Vec<String> = joined.columns[left_width..]
                    .iter()
                    .filter(|r| {
                        joined.columns[..left_width]
                            .iter()
                            .any(|l| !l.merged_away && l.name == r.name)
                    })
                    .map(|r| r.name.clone())
                    .collect();
                merge_columns(&mut joined, left_width, &names)?
            }
            JoinConstraint::None => (None, Vec::new()),
            JoinConstraint::UsingAlias(..) => return Err(Error::not_supported("USING … AS")),
        };
        plan = if lateral {
            if !matches!(kind, JoinKind::Inner | JoinKind::Left) {
                return Err(Error::new(
                    SqlState::INVALID_COLUMN_REFERENCE,
                    "invalid reference to FROM-clause entry for table",
                ));
            }
            Plan::LateralJoin {
                left: Box::new(plan),
                right: Box::new(right),
                kind,
                on,
            }
        } else {
            optimizer::hash_left_join(Plan::Join {
                left: Box::new(plan),
                right: Box::new(right),
                kind,
                on,
            })
        };
        if matches!(kind, JoinKind::Right | JoinKind::Full) && !merged.is_empty() {
            // A merged column of a right or full join is the value of whichever side has one.
            let width = joined.columns.len();
            let mut exprs: Vec<Expr> = (0..width).map(Expr::Column).collect();
            let mut star = Vec::new();
            for (k, &(l, r)) in merged.iter().enumerate() {
                exprs.push(Expr::Coalesce(vec![Expr::Column(l), Expr::Column(r)]));
                let (lt, rt) = (joined.columns[l].data_type, joined.columns[r].data_type);
                joined.columns[l].merged_away = true;
                joined.columns.push(crate::scope::ScopeColumn {
                    qualifier: None,
                    name: joined.columns[l].name.clone(),
                    data_type: lt.common_with(rt).unwrap_or(lt),
                    merged_away: false,
                });
                star.push(width + k);
            }
            let merged_left: Vec<usize> = merged.iter().map(|(l, _)| *l).collect();
            star.extend(
                joined
                    .star
                    .iter()
                    .copied()
                    .filter(|i| !merged_left.contains(i)),
            );
            joined.star = star;
            plan = Plan::Project {
                input: Box::new(plan),
                exprs,
            };
        }
        scope = joined;
    }
    Ok((plan, scope, correlated, first_lateral))
}

fn join_kind(join: &Join) -> Result<(JoinKind, &JoinConstraint)> {
    static NONE: JoinConstraint = JoinConstraint::None;
    Ok(match &join.join_operator {
        JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c),
        JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
        JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, c),
        JoinOperator::FullOuter(c) => (JoinKind::Full, c),
        JoinOperator::CrossJoin(JoinConstraint::None) => (JoinKind::Inner, &NONE),
        other => return Err(Error::not_supported(&format!("the join {other:?}"))),
    })
}

/// Merges the columns `names` of the two sides of a join (`USING`, `NATURAL`): the right
/// copies hidden, `*` listing the merged columns first; the condition their equality, and
/// the (left, right) positions merged.
type Merged = (Option<Expr>, Vec<(usize, usize)>);

fn merge_columns(joined: &mut Scope, left_width: usize, names: &[String]) -> Result<Merged> {
    let mut condition: Option<Expr> = None;
    let mut merged_left = Vec::new();
    let mut pairs = Vec::new();
    for name in names {
        let find = |columns: &[crate::scope::ScopeColumn], side: &str| -> Result<usize> {
            let found: Vec<usize> = (0..columns.len())
                .filter(|&i| !columns[i].merged_away && columns[i].name == *name)
                .collect();
            match found.as_slice() {
                [i] => Ok(*i),
                [] => Err(Error::new(
                    SqlState::UNDEFINED_COLUMN,
                    format!("column \"{name}\" specified in USING clause does not exist in {side} table"),
                )),
                _ => Err(Error::new(
                    SqlState::AMBIGUOUS_COLUMN,
                    format!("common column name \"{name}\" appears more than once in {side} table"),
                )),
            }
        };
        let l = find(&joined.columns[..left_width], "left")?;
        let r = left_width + find(&joined.columns[left_width..], "right")?;
        let (lt, rt) = (joined.columns[l].data_type, joined.columns[r].data_type);
        if lt.common_with(rt).is_none() {
            return Err(Error::new(
                SqlState::UNDEFINED_FUNCTION,
                format!("operator does not exist: {} = {}", lt.name(), rt.name()),
            ));
        }
        joined.columns[r].merged_away = true;
        merged_left.push(l);
        pairs.push((l, r));
        let equal = Expr::Compare(
            CmpOp::Eq,
            Box::new(Expr::Column(l)),
            Box::new(Expr::Column(r)),
        );
        condition = Some(match condition {
            None => equal,
            Some(c) => Expr::And(Box::new(c), Box::new(equal)),
        });
    }
    let rest: Vec<usize> = joined
        .star
        .iter()
        .copied()
        .filter(|i| !merged_left.contains(i) && !joined.columns[*i].merged_away)
        .collect();
    joined.star = merged_left.into_iter().chain(rest).collect();
    Ok((condition, pairs))
}

/// A FROM relation that may read the items before it (`left`): a function, or a subquery
/// marked LATERAL, planned inside a binder over them. The last flag says whether it does
/// read them (then it runs per left row).
fn plan_lateral(
    ctx: &Context<'_>,
    factor: &TableFactor,
    parent: Option<&Binder<'_>>,
    left: Option<&Scope>,
) -> Result<(Plan, Scope, bool, bool)> {
    let may_be_lateral = matches!(
        factor,
        TableFactor::Table { args: Some(_), .. }
            | TableFactor::Function { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::Derived { lateral: true, .. }
    );
    let Some(left) = left.filter(|_| may_be_lateral) else {
        let (plan, scope, correlated) = plan_factor(ctx, factor, parent)?;
        return Ok((plan, scope, correlated, false));
    };
    let over_left = Binder::new(ctx, left, parent);
    let (plan, scope, reads_outside) = plan_factor(ctx, factor, Some(&over_left))?;
    Ok((plan, scope, over_left.is_correlated(), reads_outside))
}

/// `generate_series(start, stop [, step])` in FROM.
pub(crate) fn plan_series(
    ctx: &Context<'_>,
    args: &[sqlparser::ast::FunctionArg],
    alias: Option<&TableAlias>,
    parent: Option<&Binder<'_>>,
) -> Result<(Plan, Scope, bool)> {
    let scope = Scope::default();
    let binder = Binder::new(ctx, &scope, parent).in_clause("functions in FROM");
    let bound = args
        .iter()
        .map(|a| match a {
            sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) => {
                binder.bind(e)
            }
            _ => Err(Error::not_supported("this generate_series argument")),
        })
        .collect::<Result<Vec<_>>>()?;
    let types: Vec<Option<DataType>> = bound.iter().map(|b| b.ty).collect();
    let ty = common_type(&types, "generate_series")?;
    if !(2..=3).contains(&bound.len()) || !ty.is_numeric() || ty.is_float() {
        return Err(Error::new(
            SqlState::UNDEFINED_FUNCTION,
            format!(
                "function generate_series({}) does not exist",
                types
                    .iter()
                    .map(|t| t.map_or("unknown", DataType::name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut exprs = bound
        .into_iter()
        .map(|b| b.into_type(ty))
        .collect::<Result<Vec<_>>>()?;
    let step = (exprs.len() == 3).then(|| exprs.remove(2));
    let stop = exprs.remove(1);
    let start = exprs.remove(0);
    // A function of one column names it after its alias when only that is given.
    let column = match alias {
        Some(a) if a.columns.is_empty() => ident_name(&a.name),
        _ => "generate_series".into(),
    };
    let scope = aliased("generate_series", alias, vec![(column, ty)])?;
    Ok((
        Plan::Series { start, stop, step },
        scope,
        binder.is_correlated(),
    ))
}

/// One table, view or subquery of a FROM clause.
fn plan_factor(
    ctx: &Context<'_>,
    factor: &TableFactor,
    parent: Option<&Binder<'_>>,
) -> Result<(Plan, Scope, bool)> {
    match factor {
        TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => {
            if let Some(planned) = plan_system_relation(ctx, name, alias.as_ref())? {
                return Ok(planned);
            }
            let table_name = table_name(name)?;
            if name.0.len() == 1 {
                if let Some(planned) = plan_cte(ctx, &table_name)? {
                    let columns = planned
                        .columns
                        .into_iter()
                        .map(|c| (c.name, c.data_type))
                        .collect();
                    let scope = aliased(&table_name, alias.as_ref(), columns)?;
                    return Ok((planned.plan, scope, false));
                }
            }
            if ctx.catalog.exists(&table_name) {
                ctx.relations.borrow_mut().push(table_name.clone());
            }
            if let Some(view) = ctx.catalog.view(&table_name) {
                let planned = plan_view(ctx, view)?;
                let scope = aliased(
                    &table_name,
                    alias.as_ref(),
                    planned
                        .columns
                        .into_iter()
                        .map(|c| (c.name, c.data_type))
                        .collect(),
                )?;
                return Ok((planned.plan, scope, false));
            }
            let table = ctx.catalog.table(&table_name).map_err(|e| {
                let scope = Scope::default();
                Binder::new(ctx, &scope, None).placed(e, name)
            })?;
            let columns = table
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.data_type))
                .collect::<Vec<_>>();
            let scope = aliased(&table_name, alias.as_ref(), columns)?;
            Ok((
                Plan::Scan {
                    table: table.clone(),
                    needed: None,
                },
                scope,
                false,
            ))
        }
        TableFactor::Table { args: Some(_), .. }
        | TableFactor::Function { .. }
        | TableFactor::UNNEST { .. }
            if let Some(planned) = crate::table_function::plan(ctx, factor, parent)? =>
        {
            Ok(planned)
        }
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            let Some(alias) = alias else {
                return Err(Error::new(
                    SqlState::SYNTAX_ERROR,
                    "subquery in FROM must have an alias",
                ));
            };
            let planned = plan_query(ctx, subquery, parent)?;
            let columns = planned
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.data_type))
                .collect::<Vec<_>>();
            let scope = aliased(&ident_name(&alias.name), Some(alias), columns)?;
            Ok((planned.plan, scope, planned.correlated))
        }
        TableFactor::NestedJoin {
            table_with_joins,
            alias: None,
        } => plan_joins(ctx, table_with_joins, parent, None).map(|(p, s, c, _)| (p, s, c)),
        other => Err(Error::not_supported(&format!("the FROM item {other}"))),
    }
}

/// A relation of `pg_catalog` or `information_schema` (see [`crate::system`]), planned as
/// its rows; `None` if `name` is not one. An unqualified name finds `pg_catalog`'s first,
/// after the WITH queries in scope.
fn plan_system_relation(
    ctx: &Context<'_>,
    name: &sqlparser::ast::ObjectName,
    alias: Option<&TableAlias>,
) -> Result<Option<(Plan, Scope, bool)>> {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(ident_name))
        .collect();
    let (namespace, relation) = match parts.as_slice() {
        [schema, relation] if schema == "pg_catalog" => (crate::system::PG_CATALOG, relation),
        [schema, relation] if schema == "information_schema" => {
            (crate::system::INFORMATION_SCHEMA, relation)
        }
        [relation]
            if crate::system_tables::is_pg_catalog(relation)
                && !ctx.ctes.borrow().iter().any(|c| &c.name == relation) =>
        {
            (crate::system::PG_CATALOG, relation)
        }
        _ => return Ok(None),
    };
    let system = ctx.system();
    let Some((columns, rows)) = crate::system_tables::relation(&system, namespace, relation) else {
        return Err(Error::new(
            SqlState::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", parts.join(".")),
        ));
    };
    let rows: Vec<Vec<Expr>> = rows
        .into_iter()
        .map(|row| row.into_iter().map(Expr::Constant).collect())
        .collect();
    // A relation without rows still has its width.
    let plan = if rows.is_empty() {
        crate::table_function::empty_relation(columns.len())
    } else {
        Plan::Values { rows }
    };
    let scope = aliased(relation, alias, columns)?;
    Ok(Some((plan, scope, false)))
}

/// The plan of the WITH query `name` names, if one is in scope: its query planned where it
/// stands (seeing only the WITH queries before it), a recursive one as a
/// [`Plan::RecursiveCte`], the work table inside its own recursive term.
fn plan_cte(ctx: &Context<'_>, name: &str) -> Result<Option<Planned>> {
    let ctes = ctx.ctes.borrow().clone();
    let Some(position) = ctes.iter().rposition(|c| c.name == name) else {
        return Ok(None);
    };
    let (query, columns, recursive) = match &ctes[position].kind {
        CteKind::WorkTable { id, columns } => {
            return Ok(Some(Planned {
                plan: Plan::WorkTable {
                    id: *id,
                    width: columns.len(),
                },
                columns: columns.clone(),
                correlated: false,
            }))
        }
        CteKind::Query {
            query,
            columns,
            recursive,
        } => (query.clone(), columns.clone(), *recursive),
    };
    // The query sees the WITH queries before it (and, recursive, itself as the work table).
    *ctx.ctes.borrow_mut() = ctes[..position].to_vec();
    let planned = match query.body.as_ref() {
        SetExpr::SetOperation {
            op: SetOperator::Union,
            set_quantifier,
            left,
            right,
        } if recursive && query.order_by.is_none() && query.limit_clause.is_none() => {
            let all = *set_quantifier == SetQuantifier::All;
            plan_recursive(ctx, name, &columns, left, right, all)
        }
        _ => plan_query(ctx, &query, None),
    };
    *ctx.ctes.borrow_mut() = ctes;
    let mut planned = planned?;
    if columns.len() > planned.columns.len() {
        return Err(Error::new(
            SqlState::INVALID_COLUMN_REFERENCE,
            format!(
                "WITH query \"{name}\" has {} columns available but {} columns specified",
                planned.columns.len(),
                columns.len()
            ),
        ));
    }
    for (column, alias) in planned.columns.iter_mut().zip(&columns) {
        column.name = alias.clone();
    }
    Ok(Some(planned))
}

/// `base UNION [ALL] step` of a WITH RECURSIVE query `name`: the step planned with `name`
/// as the work table of the base's columns, its rows cast to them.
fn plan_recursive(
    ctx: &Context<'_>,
    name: &str,
    aliases: &[String],
    base: &SetExpr,
    step: &SetExpr,
    all: bool,
) -> Result<Planned> {
    let base = plan_set_expr(ctx, base, None)?;
    let mut columns = base.columns.clone();
    for (column, alias) in columns.iter_mut().zip(aliases) {
        column.name = alias.clone();
    }
    let id = ctx.subquery_id();
    ctx.ctes.borrow_mut().push(Cte {
        name: name.to_string(),
        kind: CteKind::WorkTable {
            id,
            columns: columns.clone(),
        },
    });
    let step = plan_set_expr(ctx, step, None)?;
    if step.columns.len() != columns.len() {
        return Err(Error::new(
            SqlState::SYNTAX_ERROR,
            "each UNION query must have the same number of columns",
        ));
    }
    Ok(Planned {
        plan: Plan::RecursiveCte {
            id,
            base: Box::new(base.plan),
            step: Box::new(cast_to(step, &columns)),
            all,
        },
        columns,
        correlated: false,
    })
}

/// The plan of a view's query, its columns named as the view names them.
fn plan_view(ctx: &Context<'_>, view: &ViewDef) -> Result<Planned> {
    let statements = crate::parser::parse(&view.definition)?;
    let [Statement::CreateView(create)] = statements.as_slice() else {
        return Err(Error::new(
            SqlState::DATA_CORRUPTED,
            format!("damaged catalog: the definition of view \"{}\"", view.name),
        ));
    };
    let inner = Context::new(&view.definition, ctx.catalog);
    let mut planned = plan_query(&inner, &create.query, None)?;
    for (column, name) in planned.columns.iter_mut().zip(&create.columns) {
        column.name = ident_name(&name.name);
    }
    Ok(planned)
}

/// The columns of view `name` (none if it no longer plans, or while the system catalog
/// is being made for a view that reads it).
pub(crate) fn view_columns(
    catalog: &crate::catalog::Catalog,
    name: &str,
) -> Vec<(String, DataType)> {
    thread_local! {
        static MAKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let Some(view) = catalog.view(name) else {
        return Vec::new();
    };
    if MAKING.with(|m| m.replace(true)) {
        return Vec::new();
    }
    let ctx = Context::new(&view.definition, catalog);
    let columns = plan_view(&ctx, view).map_or_else(
        |_| Vec::new(),
        |p| {
            p.columns
                .into_iter()
                .map(|c| (c.name, c.data_type))
                .collect()
        },
    );
    MAKING.with(|m| m.set(false));
    columns
}

/// The tables and views `view`'s query reads directly (not through other views); none if
/// it no longer plans.
pub(crate) fn view_relations(catalog: &crate::catalog::Catalog, view: &ViewDef) -> Vec<String> {
    let Ok(statements) = crate::parser::parse(&view.definition) else {
        return Vec::new();
    };
    let [Statement::CreateView(create)] = statements.as_slice() else {
        return Vec::new();
    };
    let ctx = Context::new(&view.definition, catalog);
    match plan_query(&ctx, &create.query, None) {
        Ok(_) => ctx.relations.into_inner(),
        Err(_) => Vec::new(),
    }
}

/// The scope of a table or subquery named `name`, renamed by its alias (and the alias's
/// column names, which rename its first columns).
pub(crate) fn aliased(
    name: &str,
    alias: Option<&TableAlias>,
    columns: Vec<(String, DataType)>,
) -> Result<Scope> {
    let Some(alias) = alias else {
        return Ok(Scope::of_table(name, columns));
    };
    if alias.columns.len() > columns.len() {
        return Err(Error::new(
            SqlState::INVALID_COLUMN_REFERENCE,
            format!(
                "table \"{}\" has {} columns available but {} columns specified",
                ident_name(&alias.name),
                columns.len(),
                alias.columns.len()
            ),
        ));
    }
    let columns = columns
        .into_iter()
        .enumerate()
        .map(|(i, (n, t))| match alias.columns.get(i) {
            Some(c) => (ident_name(&c.name), t),
            None => (n, t),
        })
        .collect::<Vec<_>>();
    Ok(Scope::of_table(&ident_name(&alias.name), columns))
}
