//! The statements that change rows: `INSERT … VALUES`, `UPDATE … SET … [WHERE]` and
//! `DELETE FROM … [WHERE]`, each one durable transaction, one writer at a time.
//!
//! A value goes into a column by PostgreSQL's assignment rules (`assign`) and a `NOT NULL`
//! column refuses NULL (`23502`). `UPDATE` and `DELETE` first find every row their `WHERE`
//! keeps, then change them, so a row an update moves is never seen twice (the Halloween
//! problem); a failure anywhere changes nothing.

use sqlparser::ast::{
    AssignmentTarget, Delete, Expr as SqlExpr, FromTable, Insert, SetExpr, TableObject,
    TableWithJoins, Update,
};

use crate::bind::{Binder, Typed};
use crate::catalog::{ColumnDef, TableDef};
use crate::database::Database;
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::row;
use crate::session::{named_table, table_name, QueryResult};
use crate::value::{DataType, Value};

/// `INSERT INTO table [(columns)] VALUES (…), …`: each value given its column's type as an
/// assignment does; columns not named are NULL.
pub(crate) fn insert(db: &Database, sql: &str, insert: &Insert) -> Result<QueryResult> {
    let TableObject::TableName(name) = &insert.table else {
        return Err(Error::not_supported("INSERT into a table function"));
    };
    let name = table_name(name)?;
    let Some(SetExpr::Values(values)) = insert.source.as_deref().map(|q| q.body.as_ref()) else {
        return Err(Error::not_supported("INSERT without VALUES"));
    };
    if insert.on.is_some() || insert.returning.is_some() {
        return Err(Error::not_supported("ON CONFLICT and RETURNING"));
    }
    let _writer = db.writer();
    let catalog = db.catalog();
    let binder = Binder::new(sql);
    let TableObject::TableName(object) = &insert.table else {
        unreachable!("checked above");
    };
    let table = catalog.table(&name).map_err(|e| binder.placed(e, object))?;
    let targets: Vec<usize> = if insert.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        insert
            .columns
            .iter()
            .map(|c| {
                let column = table_name(c)?;
                table.column(&column).ok_or_else(|| {
                    binder.placed(
                        Error::new(
                            SqlState::UNDEFINED_COLUMN,
                            format!("column \"{column}\" of relation \"{name}\" does not exist"),
                        ),
                        c,
                    )
                })
            })
            .collect::<Result<_>>()?
    };
    let mut rows = Vec::with_capacity(values.rows.len());
    for exprs in &values.rows {
        if exprs.len() > targets.len() {
            return Err(binder.placed(
                Error::new(
                    SqlState::SYNTAX_ERROR,
                    "INSERT has more expressions than target columns",
                ),
                &exprs[targets.len()],
            ));
        }
        let mut row = vec![Value::Null; table.columns.len()];
        for (expr, &target) in exprs.iter().zip(&targets) {
            let column = &table.columns[target];
            let typed = binder.bind(expr)?;
            row[target] = assign(typed, column)
                .map_err(|e| binder.placed(e, expr))?
                .eval(&[])?;
        }
        check_not_null(table, &row)?;
        rows.push(row);
    }
    let store = &db.store;
    let heap = store.heap(table.heap)?;
    let mut txn = store.begin()?;
    let mut bytes = Vec::new();
    for row in &rows {
        bytes.clear();
        row::encode(row, &mut bytes);
        heap.insert(&mut txn, &bytes)?;
    }
    txn.commit()?;
    Ok(QueryResult::command(format!("INSERT 0 {}", rows.len())))
}

/// `UPDATE table SET column = expr, … [WHERE condition]`.
pub(crate) fn update(db: &Database, sql: &str, update: &Update) -> Result<QueryResult> {
    if update.from.is_some() || update.returning.is_some() {
        return Err(Error::not_supported("UPDATE … FROM and RETURNING"));
    }
    let _writer = db.writer();
    let catalog = db.catalog();
    let (table, binder) = target(&catalog, sql, &update.table)?;
    let mut sets: Vec<(usize, Expr)> = Vec::new();
    for assignment in &update.assignments {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            return Err(Error::not_supported("assigning a tuple of columns"));
        };
        let column = table_name(name)?;
        let i = table.column(&column).ok_or_else(|| {
            binder.placed(
                Error::new(
                    SqlState::UNDEFINED_COLUMN,
                    format!(
                        "column \"{column}\" of relation \"{}\" does not exist",
                        table.name
                    ),
                ),
                name,
            )
        })?;
        let typed = binder.bind(&assignment.value)?;
        let expr =
            assign(typed, &table.columns[i]).map_err(|e| binder.placed(e, &assignment.value))?;
        sets.push((i, expr));
    }
    let filter = condition(&binder, update.selection.as_ref())?;
    let heap = db.store.heap(table.heap)?;
    let mut changes = Vec::new();
    for tuple in heap.scan() {
        let (tid, bytes) = tuple?;
        let old = row::decode(&bytes)?;
        if !keeps(filter.as_ref(), &old)? {
            continue;
        }
        let mut new = old.clone();
        for (i, expr) in &sets {
            new[*i] = expr.eval(&old)?;
        }
        check_not_null(table, &new)?;
        changes.push((tid, new));
    }
    let mut txn = db.store.begin()?;
    let mut bytes = Vec::new();
    for (tid, new) in &changes {
        bytes.clear();
        row::encode(new, &mut bytes);
        heap.update(&mut txn, *tid, &bytes)?;
    }
    txn.commit()?;
    Ok(QueryResult::command(format!("UPDATE {}", changes.len())))
}

/// `DELETE FROM table [WHERE condition]`.
pub(crate) fn delete(db: &Database, sql: &str, delete: &Delete) -> Result<QueryResult> {
    let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
    let [from] = from.as_slice() else {
        return Err(Error::not_supported("DELETE from several tables"));
    };
    if delete.using.is_some() || delete.returning.is_some() || !delete.tables.is_empty() {
        return Err(Error::not_supported("DELETE … USING and RETURNING"));
    }
    let _writer = db.writer();
    let catalog = db.catalog();
    let (table, binder) = target(&catalog, sql, from)?;
    let filter = condition(&binder, delete.selection.as_ref())?;
    let heap = db.store.heap(table.heap)?;
    let mut doomed = Vec::new();
    for tuple in heap.scan() {
        let (tid, bytes) = tuple?;
        if keeps(filter.as_ref(), &row::decode(&bytes)?)? {
            doomed.push(tid);
        }
    }
    let mut txn = db.store.begin()?;
    for tid in &doomed {
        heap.delete(&mut txn, *tid)?;
    }
    txn.commit()?;
    Ok(QueryResult::command(format!("DELETE {}", doomed.len())))
}

/// The table an UPDATE or DELETE names, and a binder over its columns.
fn target<'c>(
    catalog: &'c crate::catalog::Catalog,
    sql: &'c str,
    from: &TableWithJoins,
) -> Result<(&'c TableDef, Binder<'c>)> {
    let table = named_table(catalog, sql, from)?;
    Ok((table, Binder::over(sql, table)))
}

/// A WHERE condition, boolean (an untyped literal read as one).
pub(crate) fn condition(binder: &Binder<'_>, condition: Option<&SqlExpr>) -> Result<Option<Expr>> {
    condition.map(|c| binder.boolean(c, "WHERE")).transpose()
}

/// Whether `filter` keeps `row` (only a true condition does).
pub(crate) fn keeps(filter: Option<&Expr>, row: &[Value]) -> Result<bool> {
    match filter {
        Some(f) => Ok(f.eval(row)? == Value::Bool(true)),
        None => Ok(true),
    }
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
            ));
        }
    }
    Ok(())
}

/// `typed` as a value of `column`, by PostgreSQL's assignment rules: an untyped literal read
/// as the column's type, numbers between numeric types (range-checked when evaluated), and
/// anything into text; any other type is `42804`.
fn assign(typed: Typed, column: &ColumnDef) -> Result<Expr> {
    let to = column.data_type;
    let allowed = match typed.ty {
        None => true,
        Some(from) => from == to || (from.is_numeric() && to.is_numeric()) || to == DataType::Text,
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
