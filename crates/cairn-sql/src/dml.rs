//! The statements that change rows: `INSERT … VALUES`, `UPDATE … SET … [WHERE]` and
//! `DELETE FROM … [WHERE]`, each one durable transaction, one writer at a time.
//!
//! A value goes into a column by PostgreSQL's assignment rules (`assign`) and a `NOT NULL`
//! column refuses NULL (`23502`). `UPDATE` and `DELETE` first find every row their `WHERE`
//! keeps, then change them, so a row an update moves is never seen twice (the Halloween
//! problem); a failure anywhere changes nothing.

use std::borrow::Cow;

use cairn_page::{TupleId, Txn};
use sqlparser::ast::{
    AssignmentTarget, Delete, Expr as SqlExpr, FromTable, Insert, ObjectName, OnInsert, SetExpr,
    TableFactor, TableObject, TableWithJoins, Update, UpdateTableFromKind,
};

use crate::bind::{ident_name, Binder, Context, Typed};
use crate::catalog::{Catalog, ColumnDef, TableDef};
use crate::conflict::OnConflictPlan;
use crate::database::Database;
use crate::ddl;
use crate::error::{Error, Result, SqlState};
use crate::exec::{self, Env, SubqueryCache};
use crate::expr::Expr;
use crate::plan::Plan;
use crate::planner;
use crate::returning::Returning;
use crate::row;
use crate::scope::Scope;
use crate::session::{named_table, table_name, Column, QueryResult};
use crate::value::{DataType, Value};
use crate::walk;

/// `INSERT INTO table [(columns)] VALUES (…), …` or `… SELECT …`: each value given its
/// column's type as an assignment does; columns not named are NULL. The rows to insert are
/// all computed before the first is written.
pub(crate) fn insert(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    params: &[Value],
    insert: &Insert,
) -> Result<QueryResult> {
    let catalog = db.catalog();
    let ctx = Context::new(sql, &catalog).with_params(params);
    let BoundInsert {
        table,
        plan,
        qualifier,
        returning,
        on_conflict,
    } = bind_insert(&ctx, insert)?;
    let cache = SubqueryCache::default();
    let env = Env::new(db, &cache).with_params(params);
    let mut rows = exec::run(&plan, &env)?.collect::<Result<Vec<_>>>()?;
    let rules = RowRules::bind(&ctx, table)?;
    for row in &mut rows {
        rules.fit(row, &env)?;
    }
    let mut conflict = on_conflict
        .map(|on| OnConflictPlan::bind(&ctx, &catalog, table, &qualifier, on))
        .transpose()?;
    let mut writer = ddl::writer(db, &catalog, table);
    let mut written = Vec::new();
    for row in rows {
        match &mut conflict {
            None => {
                writer.insert(txn, &row)?;
                written.push(row);
            }
            Some(conflict) => {
                if let Some(row) =
                    conflict.insert(&db.store, &rules, &mut writer, txn, row, &env)?
                {
                    written.push(row);
                }
            }
        }
    }
    crate::foreign::check_children(&db.store, &catalog, table, &written)?;
    returning.result(format!("INSERT 0 {}", written.len()), &written, &env)
}

/// An INSERT bound: its table, the plan of the rows it inserts (each in the table's column
/// order, typed as its columns), the name its rows go by, its RETURNING list and its ON
/// CONFLICT clause (bound when it runs).
struct BoundInsert<'c, 'i> {
    table: &'c TableDef,
    plan: Plan,
    qualifier: String,
    returning: Returning,
    on_conflict: Option<&'i sqlparser::ast::OnConflict>,
}

fn bind_insert<'c, 'i>(ctx: &Context<'c>, insert: &'i Insert) -> Result<BoundInsert<'c, 'i>> {
    let TableObject::TableName(object) = &insert.table else {
        return Err(Error::not_supported("INSERT into a table function"));
    };
    let name = table_name(object)?;
    let on_conflict = match &insert.on {
        None => None,
        Some(OnInsert::OnConflict(on)) => Some(on),
        Some(_) => return Err(Error::not_supported("ON DUPLICATE KEY UPDATE")),
    };
    let catalog = ctx.catalog;
    let empty = Scope::default();
    let binder = Binder::new(ctx, &empty, None).in_clause("VALUES");
    let table = catalog.table(&name).map_err(|e| binder.placed(e, object))?;
    let targets = target_columns(&binder, table, &insert.columns)?;
    let too_many = |node: &dyn Fn(&Binder<'_>, Error) -> Error| {
        node(
            &binder,
            Error::new(
                SqlState::SYNTAX_ERROR,
                "INSERT has more expressions than target columns",
            ),
        )
    };
    let defaults = table
        .columns
        .iter()
        .map(|c| match &c.default {
            Some(text) => default_expr(ctx, c, text),
            None => Ok(Expr::Constant(Value::Null)),
        })
        .collect::<Result<Vec<_>>>()?;
    let plan = match insert.source.as_deref().map(|s| (s, s.body.as_ref())) {
        // DEFAULT VALUES: one row of defaults.
        None => Plan::Values {
            rows: vec![defaults.clone()],
        },
        Some((source, SetExpr::Values(values)))
            if source.order_by.is_none() && source.limit_clause.is_none() =>
        {
            let mut rows = Vec::with_capacity(values.rows.len());
            for exprs in &values.rows {
                if exprs.len() > targets.len() {
                    return Err(too_many(&|b, e| b.placed(e, &exprs[targets.len()])));
                }
                let mut row = defaults.clone();
                for (expr, &target) in exprs.iter().zip(&targets) {
                    if is_default(expr) {
                        continue;
                    }
                    let typed = binder.bind(expr)?;
                    row[target] = assign(typed, &table.columns[target])
                        .map_err(|e| binder.placed(e, expr))?;
                }
                rows.push(row);
            }
            Plan::Values { rows }
        }
        Some((source, _)) => {
            let planned = planner::plan_query(ctx, source, None)?;
            if planned.columns.len() > targets.len() {
                return Err(too_many(&|_, e| e));
            }
            let mut exprs = defaults.clone();
            for (i, (column, &target)) in planned.columns.iter().zip(&targets).enumerate() {
                let typed = Typed {
                    expr: Expr::Column(i),
                    ty: Some(column.data_type),
                };
                exprs[target] = assign(typed, &table.columns[target])?;
            }
            Plan::Project {
                input: Box::new(planned.plan),
                exprs,
            }
        }
    };
    let qualifier = match &insert.table_alias {
        Some(alias) => ident_name(&alias.alias),
        None => table.name.clone(),
    };
    let returning = Returning::bind(ctx, table, &qualifier, insert.returning.as_deref())?;
    Ok(BoundInsert {
        table,
        plan,
        qualifier,
        returning,
        on_conflict,
    })
}

/// The positions of the columns an INSERT names (all, in order, if it names none).
fn target_columns(
    binder: &Binder<'_>,
    table: &TableDef,
    columns: &[ObjectName],
) -> Result<Vec<usize>> {
    if columns.is_empty() {
        return Ok((0..table.columns.len()).collect());
    }
    let mut targets = Vec::new();
    for c in columns {
        let column = table_name(c)?;
        let i = table
            .column_of_relation(&column)
            .map_err(|e| binder.placed(e, c))?;
        if targets.contains(&i) {
            return Err(binder.placed(
                Error::new(
                    SqlState::DUPLICATE_COLUMN,
                    format!("column \"{column}\" specified more than once"),
                ),
                c,
            ));
        }
        targets.push(i);
    }
    Ok(targets)
}

/// `UPDATE table SET column = expr, … [WHERE condition]`.
pub(crate) fn update(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    params: &[Value],
    update: &Update,
) -> Result<QueryResult> {
    let catalog = db.catalog();
    let ctx = Context::new(sql, &catalog).with_params(params);
    let BoundUpdate {
        table,
        others,
        sets,
        filter,
        returning,
    } = bind_update(&ctx, update)?;
    let rules = RowRules::bind(&ctx, table)?;
    let cache = SubqueryCache::default();
    let env = Env::new(db, &cache).with_params(params);
    let other_rows = others.map(|p| rows_of(&p, &env)).transpose()?;
    let mut changes: Vec<(TupleId, Vec<Value>, Vec<Value>)> = Vec::new();
    let path = other_rows.is_none().then_some(filter.as_ref()).flatten();
    for tuple in candidates(&env, &catalog, table, path)? {
        let (tid, old) = tuple?;
        let Some(both) = matching(&old, other_rows.as_deref(), filter.as_ref(), &env)? else {
            continue;
        };
        let mut new = old.clone();
        for (i, expr) in &sets {
            new[*i] = expr.eval(&both, &env)?;
        }
        rules.fit(&mut new, &env)?;
        changes.push((tid, old, new));
    }
    let mut writer = ddl::writer(db, &catalog, table);
    for (tid, old, new) in &changes {
        writer.update(txn, *tid, old, new)?;
    }
    // Parents first (their cascades), then the children this statement gave new keys.
    let old_and_new: Vec<(Vec<Value>, Option<Vec<Value>>)> = changes
        .iter()
        .map(|(_, old, new)| (old.clone(), Some(new.clone())))
        .collect();
    crate::foreign::parents_changed(&db.store, &catalog, txn, table, &old_and_new)?;
    crate::foreign::check_changed_children(&db.store, &catalog, table, &old_and_new)?;
    let written: Vec<Vec<Value>> = changes.into_iter().map(|(_, _, new)| new).collect();
    returning.result(format!("UPDATE {}", written.len()), &written, &env)
}

/// An UPDATE bound: its table, the plan of its FROM tables, its assignments and condition
/// over the target's row followed by theirs, and its RETURNING list.
struct BoundUpdate<'c> {
    table: &'c TableDef,
    others: Option<Plan>,
    sets: Vec<(usize, Expr)>,
    filter: Option<Expr>,
    returning: Returning,
}

fn bind_update<'c>(ctx: &Context<'c>, update: &Update) -> Result<BoundUpdate<'c>> {
    let (table, scope) = target(ctx.catalog, ctx, &update.table)?;
    let from_items = match &update.from {
        None => &[][..],
        Some(UpdateTableFromKind::BeforeSet(t) | UpdateTableFromKind::AfterSet(t)) => t.as_slice(),
    };
    let (others, joined) = other_tables(ctx, &scope, from_items)?;
    let binder = Binder::new(ctx, &joined, None).in_clause("UPDATE");
    let sets = set_clause(&binder, table, &update.assignments)?;
    let filter = condition(&binder, update.selection.as_ref())?;
    let returning = Returning::bind(
        ctx,
        table,
        &qualifier_of(&scope),
        update.returning.as_deref(),
    )?;
    Ok(BoundUpdate {
        table,
        others,
        sets,
        filter,
        returning,
    })
}

/// The name the target table's rows go by in a scope of it.
fn qualifier_of(scope: &Scope) -> String {
    scope
        .columns
        .first()
        .and_then(|c| c.qualifier.clone())
        .unwrap_or_default()
}

/// The assignments of a SET clause (UPDATE, ON CONFLICT DO UPDATE): each column's position
/// and its value's expression, assigned as the column's type; a column set twice is
/// `42701`.
pub(crate) fn set_clause(
    binder: &Binder<'_>,
    table: &TableDef,
    assignments: &[sqlparser::ast::Assignment],
) -> Result<Vec<(usize, Expr)>> {
    let mut sets: Vec<(usize, Expr)> = Vec::new();
    for assignment in assignments {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            return Err(Error::not_supported("assigning a tuple of columns"));
        };
        let column = table_name(name)?;
        let i = table
            .column_of_relation(&column)
            .map_err(|e| binder.placed(e, name))?;
        if sets.iter().any(|(j, _)| *j == i) {
            return Err(binder.placed(
                Error::new(
                    SqlState::DUPLICATE_COLUMN,
                    format!("multiple assignments to same column \"{column}\""),
                ),
                name,
            ));
        }
        let typed = binder.bind(&assignment.value)?;
        let expr =
            assign(typed, &table.columns[i]).map_err(|e| binder.placed(e, &assignment.value))?;
        sets.push((i, expr));
    }
    Ok(sets)
}

/// `DELETE FROM table [WHERE condition]`.
pub(crate) fn delete(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    params: &[Value],
    delete: &Delete,
) -> Result<QueryResult> {
    let catalog = db.catalog();
    let ctx = Context::new(sql, &catalog).with_params(params);
    let BoundDelete {
        table,
        others,
        filter,
        returning,
    } = bind_delete(&ctx, delete)?;
    let cache = SubqueryCache::default();
    let env = Env::new(db, &cache).with_params(params);
    let other_rows = others.map(|p| rows_of(&p, &env)).transpose()?;
    let mut doomed = Vec::new();
    let path = other_rows.is_none().then_some(filter.as_ref()).flatten();
    for tuple in candidates(&env, &catalog, table, path)? {
        let (tid, row) = tuple?;
        if matching(&row, other_rows.as_deref(), filter.as_ref(), &env)?.is_some() {
            doomed.push((tid, row));
        }
    }
    let mut writer = ddl::writer(db, &catalog, table);
    for (tid, row) in &doomed {
        writer.delete(txn, *tid, row)?;
    }
    let gone: Vec<(Vec<Value>, Option<Vec<Value>>)> =
        doomed.iter().map(|(_, row)| (row.clone(), None)).collect();
    crate::foreign::parents_changed(&db.store, &catalog, txn, table, &gone)?;
    let deleted: Vec<Vec<Value>> = doomed.into_iter().map(|(_, row)| row).collect();
    returning.result(format!("DELETE {}", deleted.len()), &deleted, &env)
}

/// A DELETE bound: its table, the plan of its USING tables, its condition over the
/// target's row followed by theirs, and its RETURNING list.
struct BoundDelete<'c> {
    table: &'c TableDef,
    others: Option<Plan>,
    filter: Option<Expr>,
    returning: Returning,
}

fn bind_delete<'c>(ctx: &Context<'c>, delete: &Delete) -> Result<BoundDelete<'c>> {
    let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
    let [from] = from.as_slice() else {
        return Err(Error::not_supported("DELETE from several tables"));
    };
    if !delete.tables.is_empty() {
        return Err(Error::not_supported("DELETE of several tables"));
    }
    let (table, scope) = target(ctx.catalog, ctx, from)?;
    let (others, joined) = other_tables(ctx, &scope, delete.using.as_deref().unwrap_or(&[]))?;
    let binder = Binder::new(ctx, &joined, None);
    let filter = condition(&binder, delete.selection.as_ref())?;
    let returning = Returning::bind(
        ctx,
        table,
        &qualifier_of(&scope),
        delete.returning.as_deref(),
    )?;
    Ok(BoundDelete {
        table,
        others,
        filter,
        returning,
    })
}

/// The columns an INSERT, UPDATE or DELETE returns (its RETURNING list's; none without
/// one), binding it as it would run without running it: what a client's Describe learns,
/// with the parameters' types ([`crate::bind::ParamInference`]).
pub(crate) fn describe(
    ctx: &Context<'_>,
    statement: &sqlparser::ast::Statement,
) -> Result<Vec<Column>> {
    use sqlparser::ast::Statement;
    Ok(match statement {
        Statement::Insert(insert) => {
            let bound = bind_insert(ctx, insert)?;
            if let Some(on) = bound.on_conflict {
                OnConflictPlan::bind(ctx, ctx.catalog, bound.table, &bound.qualifier, on)?;
            }
            bound.returning.columns().to_vec()
        }
        Statement::Update(update) => bind_update(ctx, update)?.returning.columns().to_vec(),
        Statement::Delete(delete) => bind_delete(ctx, delete)?.returning.columns().to_vec(),
        _ => Vec::new(),
    })
}

/// `TRUNCATE [TABLE] name, … [CASCADE | RESTRICT]`: every row of the tables gone, their
/// indexes emptied with them, in the statement's transaction. A table another table's
/// foreign key references is refused (`0A000`) unless that table is truncated too, or
/// CASCADE adds it; foreign key actions do not run, as in PostgreSQL. `RESTART IDENTITY`
/// starts the sequences the tables' SERIAL and identity columns own over — at once, not
/// undone by a ROLLBACK (PostgreSQL's is transactional).
pub(crate) fn truncate(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    truncate: &sqlparser::ast::Truncate,
) -> Result<QueryResult> {
    use sqlparser::ast::{CascadeOption, TruncateIdentityOption};
    let restart = matches!(truncate.identity, Some(TruncateIdentityOption::Restart));
    let catalog = db.catalog();
    let mut tables = Vec::new();
    for target in &truncate.table_names {
        let table = named_table(&catalog, sql, &target.name)?;
        if !tables.contains(&table.name) {
            tables.push(table.name.clone());
        }
    }
    let cascade = matches!(truncate.cascade, Some(CascadeOption::Cascade));
    while let Some(fk) = catalog
        .foreign_keys()
        .find(|f| tables.contains(&f.parent) && !tables.contains(&f.child))
    {
        if !cascade {
            return Err(Error::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!(
                    "cannot truncate a table referenced in a foreign key constraint (table \"{}\" references \"{}\")",
                    fk.child, fk.parent
                ),
            ));
        }
        tables.push(fk.child.clone());
    }
    for name in &tables {
        let table = catalog.table(name)?;
        let rows = db
            .store
            .heap(table.heap)?
            .scan()
            .map(|tuple| {
                let (tid, bytes) = tuple?;
                Ok((tid, row::decode(&bytes)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut writer = ddl::writer(db, &catalog, table);
        for (tid, row) in &rows {
            writer.delete(txn, *tid, row)?;
        }
    }
    if restart {
        for sequence in catalog.sequences() {
            let owned = sequence
                .owner
                .as_deref()
                .and_then(|o| o.split_once('.'))
                .is_some_and(|(table, _)| tables.iter().any(|t| t == table));
            if owned {
                db.sequences.restart(&db.store, &sequence.name)?;
            }
        }
    }
    Ok(QueryResult::command("TRUNCATE TABLE"))
}

/// The other tables of an `UPDATE … FROM` or `DELETE … USING` (their plan, if any), and
/// the scope of the target's row followed by theirs.
fn other_tables(
    ctx: &Context<'_>,
    target: &Scope,
    items: &[TableWithJoins],
) -> Result<(Option<Plan>, Scope)> {
    if items.is_empty() {
        return Ok((None, target.clone()));
    }
    let (plan, scope, _) = planner::plan_from(ctx, items, None)?;
    Ok((Some(plan), Scope::join(target.clone(), scope)))
}

/// Rows of a table with their tuple ids, as an UPDATE or DELETE reads them.
type Candidates<'a> = Box<dyn Iterator<Item = Result<(TupleId, Vec<Value>)>> + 'a>;

/// The rows of `table` an UPDATE or DELETE may change, with their tuple ids: those an index
/// finds when the conjuncts of `condition` (over the table's row alone) bound one, as a
/// query's access path would (see [`crate::access`]), else every row. The condition still
/// decides which of them the statement changes.
fn candidates<'a>(
    env: &'a Env<'a>,
    catalog: &Catalog,
    table: &TableDef,
    condition: Option<&Expr>,
) -> Result<Candidates<'a>> {
    let heap = env.db.store.heap(table.heap)?;
    let mut conjuncts = Vec::new();
    if let Some(condition) = condition {
        crate::optimizer::split(condition.clone(), &mut conjuncts);
    }
    let scan = Plan::Scan {
        table: table.clone(),
        needed: None,
    };
    if let Plan::Filter { input, .. } = crate::access::filtered(catalog, scan, conjuncts) {
        if let Plan::IndexScan {
            table,
            index,
            prefix,
            lower,
            upper,
            ..
        } = *input
        {
            let bounds = (prefix.as_slice(), lower.as_ref(), upper.as_ref());
            if let Some(tids) = exec::index_tids(env, &table, &index, bounds)? {
                let rows = tids.into_iter().filter_map(move |tid| match heap.get(tid) {
                    Ok(Some(bytes)) => Some(row::decode(&bytes).map(|row| (tid, row))),
                    Ok(None) => None,
                    Err(e) => Some(Err(e.into())),
                });
                return Ok(Box::new(rows));
            }
        }
    }
    Ok(Box::new(heap.scan().map(|tuple| {
        let (tid, bytes) = tuple?;
        Ok((tid, row::decode(&bytes)?))
    })))
}

fn rows_of(plan: &Plan, env: &Env<'_>) -> Result<Vec<Vec<Value>>> {
    exec::run(plan, env)?.collect()
}

/// The target `row` joined with the first row of the other tables for which `filter`
/// holds (the row itself, not copied, when there are no other tables); `None` if none does.
fn matching<'r>(
    row: &'r [Value],
    others: Option<&[Vec<Value>]>,
    filter: Option<&Expr>,
    env: &Env<'_>,
) -> Result<Option<Cow<'r, [Value]>>> {
    let Some(others) = others else {
        return Ok(keeps(filter, row, env)?.then_some(Cow::Borrowed(row)));
    };
    for other in others {
        let mut both = row.to_vec();
        both.extend_from_slice(other);
        if keeps(filter, &both, env)? {
            return Ok(Some(Cow::Owned(both)));
        }
    }
    Ok(None)
}

/// The table an UPDATE or DELETE names, and the scope of its rows (under its alias).
fn target<'c>(
    catalog: &'c Catalog,
    ctx: &Context<'_>,
    from: &TableWithJoins,
) -> Result<(&'c TableDef, Scope)> {
    if !from.joins.is_empty() {
        return Err(Error::not_supported("joins in UPDATE or DELETE"));
    }
    let TableFactor::Table { name, alias, .. } = &from.relation else {
        return Err(Error::not_supported("this UPDATE or DELETE target"));
    };
    let table = named_table(catalog, ctx.sql, name)?;
    let qualifier = match alias {
        Some(alias) => ident_name(&alias.name),
        None => table.name.clone(),
    };
    let scope = Scope::of_table(
        &qualifier,
        table.columns.iter().map(|c| (c.name.clone(), c.data_type)),
    );
    Ok((table, scope))
}

/// A WHERE condition, boolean (an untyped literal read as one).
pub(crate) fn condition(binder: &Binder<'_>, condition: Option<&SqlExpr>) -> Result<Option<Expr>> {
    condition
        .map(|c| binder.in_clause("WHERE").boolean(c, "WHERE"))
        .transpose()
}

/// Whether `filter` keeps `row` (only a true condition does).
pub(crate) fn keeps(filter: Option<&Expr>, row: &[Value], env: &Env<'_>) -> Result<bool> {
    match filter {
        Some(f) => Ok(f.eval(row, env)? == Value::Bool(true)),
        None => Ok(true),
    }
}

/// Whether a VALUES item is the keyword `DEFAULT`.
fn is_default(expr: &SqlExpr) -> bool {
    matches!(expr, SqlExpr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// The bound DEFAULT expression `text` of `column`.
pub(crate) fn default_expr(ctx: &Context<'_>, column: &ColumnDef, text: &str) -> Result<Expr> {
    let expr = crate::parser::parse_expr(text)?;
    if walk::has_subquery(&expr) {
        return Err(Error::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "cannot use subquery in DEFAULT expression",
        ));
    }
    let scope = Scope::default();
    let binder = Binder::new(ctx, &scope, None).in_clause("DEFAULT expressions");
    let typed = binder.bind(&expr).map_err(Error::unplaced)?;
    assign(typed, column)
}

/// What a row must satisfy to be written to a table: its columns' types and NOT NULL, and
/// the table's CHECK constraints.
pub struct RowRules<'t> {
    table: &'t TableDef,
    /// Each CHECK: its name and condition over the table's row.
    checks: Vec<(&'t str, Expr)>,
}

impl<'t> RowRules<'t> {
    /// The rules of `table`, its CHECK conditions bound (no subqueries, boolean).
    pub(crate) fn bind(ctx: &Context<'_>, table: &'t TableDef) -> Result<RowRules<'t>> {
        let scope = Scope::of_table(
            &table.name,
            table.columns.iter().map(|c| (c.name.clone(), c.data_type)),
        );
        let binder = Binder::new(ctx, &scope, None).in_clause("check constraints");
        let mut checks = Vec::new();
        for (name, text) in &table.checks {
            let expr = crate::parser::parse_expr(text)?;
            if walk::has_subquery(&expr) {
                return Err(Error::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "cannot use subquery in check constraint",
                ));
            }
            let condition = binder.boolean(&expr, "CHECK").map_err(Error::unplaced)?;
            checks.push((name.as_str(), condition));
        }
        Ok(RowRules { table, checks })
    }

    pub(crate) fn table(&self) -> &'t TableDef {
        self.table
    }

    /// `row` made to fit: [`fit_row`], then every CHECK (`23514` when one is false).
    pub(crate) fn fit(&self, row: &mut [Value], env: &Env<'_>) -> Result<()> {
        fit_row(self.table, row)?;
        for (name, condition) in &self.checks {
            if condition.eval(row, env)? == Value::Bool(false) {
                return Err(Error::new(
                    SqlState("23514"),
                    format!(
                        "new row for relation \"{}\" violates check constraint \"{name}\"",
                        self.table.name
                    ),
                )
                .with_detail(failing_row(row)));
            }
        }
        Ok(())
    }
}

/// `row` made to fit `table`: `varchar(n)` and `char(n)` values checked (`22001`; trailing
/// spaces past the limit are cut, as PostgreSQL does), `char(n)` padded to `n`, NOT NULL
/// columns checked (`23502`).
fn fit_row(table: &TableDef, row: &mut [Value]) -> Result<()> {
    for (value, column) in row.iter_mut().zip(&table.columns) {
        if let (Some((precision, scale)), Value::Numeric(n)) = (column.numeric, &*value) {
            *value = Value::Numeric(n.fit(precision, scale)?);
        }
        if let (Some(max), Value::Text(s) | Value::Bpchar(s)) = (column.max_chars, &mut *value) {
            let max = max as usize;
            if let Some((cut, _)) = s.char_indices().nth(max) {
                if s[cut..].chars().any(|c| c != ' ') {
                    return Err(Error::new(
                        SqlState::STRING_DATA_RIGHT_TRUNCATION,
                        format!("value too long for type {}", column.type_name()),
                    ));
                }
                s.truncate(cut);
            }
            if column.data_type == DataType::Bpchar {
                let have = s.chars().count();
                s.extend(std::iter::repeat_n(' ', max - have));
            }
        }
    }
    check_not_null(table, row)
}

/// `Failing row contains (…)`: PostgreSQL's DETAIL of a row a constraint refuses, each
/// value's text cut to 64 bytes, NULL as `null`.
fn failing_row(row: &[Value]) -> String {
    let values: Vec<String> = row
        .iter()
        .map(|v| match v.to_text() {
            None => "null".to_string(),
            Some(mut text) => {
                if text.len() > 64 {
                    let mut cut = 64;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                }
                text
            }
        })
        .collect();
    format!("Failing row contains ({}).", values.join(", "))
}

/// `23502` if `row` has NULL in a NOT NULL column of `table`.
fn check_not_null(table: &TableDef, row: &[Value]) -> Result<()> {
    for (value, column) in row.iter().zip(&table.columns) {
        if column.not_null && value.is_null() {
            return Err(Error::new(
                SqlState::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    column.name, table.name
                ),
            )
            .with_detail(failing_row(row)));
        }
    }
    Ok(())
}

/// `typed` as a value of `column`, by PostgreSQL's assignment rules: an untyped literal read
/// as the column's type, numbers between numeric types (range-checked when evaluated), and
/// anything into text; any other type is `42804`.
pub(crate) fn assign(typed: Typed, column: &ColumnDef) -> Result<Expr> {
    let to = column.data_type;
    let allowed = match typed.ty {
        None => true,
        Some(from) => from.assigns_to(to),
    };
    if !allowed {
        let from = typed.result_type();
        return Err(Error::new(
            SqlState::DATATYPE_MISMATCH,
            format!(
                "column \"{}\" is of type {} but expression is of type {}",
                column.name,
                to.name(),
                from.name()
            ),
        ));
    }
    typed.into_type(to)
}
