//! `INSERT … ON CONFLICT`: which existing row a new row conflicts with, and what to do then.
//!
//! The arbiter indexes are the unique indexes the conflict target names (its columns, or a
//! constraint's name), or every unique index of the table for a `DO NOTHING` without a
//! target. A row whose key in an arbiter index is already there (NULLs never conflict) is
//! skipped (`DO NOTHING`) or becomes an update of the row that holds the key (`DO UPDATE
//! SET … [WHERE …]`), whose expressions read that row under the table's name and the row
//! proposed for insertion as `excluded`. A row the command already inserted or updated is
//! found too, and updating it a second time is PostgreSQL's `21000`.

use std::collections::HashSet;

use cairn_page::{PageStore, TupleId, Txn};
use sqlparser::ast::{ConflictTarget, Expr as SqlExpr, OnConflict, OnConflictAction};

use crate::bind::{ident_name, Binder, Context};
use crate::catalog::{Catalog, IndexDef, TableDef};
use crate::dml::{set_clause, RowRules};
use crate::error::{Error, Result, SqlState};
use crate::exec::Env;
use crate::expr::Expr;
use crate::index::{key_of, tid_of, TableWriter};
use crate::row;
use crate::scope::Scope;
use crate::session::table_name;
use crate::value::Value;

/// What to do with a row that conflicts.
pub enum Action {
    Nothing,
    /// The SET assignments (column, expression over existing row ++ proposed row) and the
    /// WHERE condition over the same.
    Update {
        sets: Vec<(usize, Expr)>,
        filter: Option<Expr>,
    },
}

/// An ON CONFLICT clause, bound.
pub struct OnConflictPlan<'c> {
    arbiters: Vec<&'c IndexDef>,
    action: Action,
    /// Rows this command inserted or updated, which it may not update (again).
    written: HashSet<TupleId>,
}

impl<'c> OnConflictPlan<'c> {
    /// Binds `on` for an insert into `table` (named `qualifier` in expressions).
    pub fn bind(
        ctx: &Context<'_>,
        catalog: &'c Catalog,
        table: &'c TableDef,
        qualifier: &str,
        on: &OnConflict,
    ) -> Result<OnConflictPlan<'c>> {
        let unique: Vec<&IndexDef> = catalog
            .indexes_of(&table.name)
            .filter(|i| i.unique)
            .collect();
        let arbiters: Vec<&IndexDef> = match &on.conflict_target {
            None => {
                if matches!(on.action, OnConflictAction::DoUpdate(_)) {
                    return Err(Error::new(
                        SqlState::SYNTAX_ERROR,
                        "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                    ));
                }
                unique
            }
            Some(ConflictTarget::Columns { columns, predicate }) => {
                if predicate.is_some() {
                    return Err(Error::not_supported("ON CONFLICT … WHERE"));
                }
                let mut wanted = Vec::new();
                for c in columns {
                    let name = ident_name(c);
                    wanted.push(table.column(&name).ok_or_else(|| {
                        Error::new(
                            SqlState::UNDEFINED_COLUMN,
                            format!("column \"{name}\" does not exist"),
                        )
                    })?);
                }
                wanted.sort_unstable();
                unique
                    .into_iter()
                    .filter(|i| {
                        let mut cols: Vec<usize> = i.columns.iter().map(|(c, _)| *c).collect();
                        cols.sort_unstable();
                        cols == wanted
                    })
                    .collect()
            }
            Some(ConflictTarget::OnConstraint(name)) => {
                let name = table_name(name)?;
                let found: Vec<&IndexDef> = unique.into_iter().filter(|i| i.name == name).collect();
                if found.is_empty() {
                    return Err(Error::new(
                        SqlState::UNDEFINED_OBJECT,
                        format!(
                            "constraint \"{name}\" for table \"{}\" does not exist",
                            table.name
                        ),
                    ));
                }
                found
            }
        };
        if arbiters.is_empty() && on.conflict_target.is_some() {
            return Err(Error::new(
                SqlState::INVALID_COLUMN_REFERENCE,
                "there is no unique or exclusion constraint matching the ON CONFLICT specification",
            ));
        }
        let action = match &on.action {
            OnConflictAction::DoNothing => Action::Nothing,
            OnConflictAction::DoUpdate(update) => {
                let columns = || table.columns.iter().map(|c| (c.name.clone(), c.data_type));
                let scope = Scope::join(
                    Scope::of_table(qualifier, columns()),
                    Scope::of_table("excluded", columns()),
                );
                let binder = Binder::new(ctx, &scope, None).in_clause("ON CONFLICT DO UPDATE");
                let sets = set_clause(&binder, table, &update.assignments)?;
                let filter = update
                    .selection
                    .as_ref()
                    .map(|c: &SqlExpr| binder.boolean(c, "WHERE"))
                    .transpose()?;
                Action::Update { sets, filter }
            }
        };
        Ok(OnConflictPlan {
            arbiters,
            action,
            written: HashSet::new(),
        })
    }

    /// Inserts `row`, or resolves its conflict; the row written, if one was.
    pub fn insert(
        &mut self,
        store: &PageStore,
        rules: &RowRules<'_>,
        writer: &mut TableWriter<'_>,
        txn: &mut Txn<'_>,
        row: Vec<Value>,
        env: &Env<'_>,
    ) -> Result<Option<Vec<Value>>> {
        let Some(existing) = self.conflicting(store, &row)? else {
            let tid = writer.insert(txn, &row)?;
            self.written.insert(tid);
            return Ok(Some(row));
        };
        let Action::Update { sets, filter } = &self.action else {
            return Ok(None);
        };
        if self.written.contains(&existing) {
            return Err(Error::new(
                SqlState::CARDINALITY_VIOLATION,
                "ON CONFLICT DO UPDATE command cannot affect row a second time",
            ));
        }
        let bytes = store
            .heap(rules.table().heap)?
            .get(existing)?
            .ok_or_else(|| Error::new(SqlState::DATA_CORRUPTED, "an index entry of no row"))?;
        let old = row::decode(&bytes)?;
        let mut both = old.clone();
        both.extend(row);
        if let Some(filter) = filter {
            if filter.eval(&both, env)? != Value::Bool(true) {
                return Ok(None);
            }
        }
        let mut new = old.clone();
        for (i, e) in sets {
            new[*i] = e.eval(&both, env)?;
        }
        rules.fit(&mut new, env)?;
        let moved = writer.update(txn, existing, &old, &new)?;
        self.written.insert(moved);
        Ok(Some(new))
    }

    /// The row an arbiter index already holds `row`'s key for.
    fn conflicting(&self, store: &PageStore, row: &[Value]) -> Result<Option<TupleId>> {
        for index in &self.arbiters {
            let (key, has_null) = key_of(index, row);
            if has_null {
                continue;
            }
            if let Some(value) = store.btree(index.root).get(&key)?.first() {
                return Ok(Some(tid_of(value)?));
            }
        }
        Ok(None)
    }
}
