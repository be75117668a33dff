//! `ALTER TABLE`: columns added, dropped and renamed, defaults and NOT NULL set and
//! dropped, constraints (CHECK, UNIQUE, PRIMARY KEY) added and dropped, foreign keys dropped
//! (a key a foreign key references is not: `2BP01`, CASCADE not yet), the table renamed.
//!
//! The operations change a copy of the table's definition and indexes; the existing rows
//! are checked against what the change requires (`23502` for a NOT NULL column that holds a
//! NULL, `23514` for a CHECK a row breaks, `23505` for a unique key a row repeats), and
//! rewritten when a column is added with a default or dropped — after which every index of
//! the table is built again from the rewritten rows (a rewritten row may move). The
//! catalog rows are replaced in the statement's transaction. As in PostgreSQL, dropping a
//! column drops the indexes and CHECK constraints that involve it.
//!
//! Not yet as in PostgreSQL: views and CHECK conditions keep the text they were written
//! with, so renaming a column or table they name breaks them (PostgreSQL stores them
//! parsed); changing a column's type is not supported.

use cairn_page::{TupleId, Txn};
use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnOption, RenameTableNameKind,
    TableConstraint,
};

use crate::bind::{ident_name, Context};
use crate::catalog::{Catalog, ColumnDef, IndexDef, TableDef};
use crate::database::Database;
use crate::ddl::{column_type, fill_index, key_column};
use crate::dml::{default_expr, RowRules};
use crate::error::{Error, Result, SqlState};
use crate::exec::{Env, SubqueryCache};

use crate::row;
use crate::session::{table_name, QueryResult};
use crate::value::Value;

/// What a change does to the existing rows.
enum Rewrite {
    /// A column added at the end, with its DEFAULT's expression text, if any.
    Add(Option<String>),
    /// The column at this position removed.
    Drop(usize),
}

/// `ALTER TABLE [IF EXISTS] name operation, …`.
pub(crate) fn alter_table(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    alter: &AlterTable,
) -> Result<QueryResult> {
    let old_name = table_name(&alter.name)?;
    let catalog = db.catalog();
    let Ok(original) = catalog.table(&old_name) else {
        if alter.if_exists {
            return Ok(QueryResult::command("ALTER TABLE"));
        }
        return Err(crate::catalog::undefined(&old_name));
    };
    let mut table = original.clone();
    let mut indexes: Vec<IndexDef> = catalog.indexes_of(&old_name).cloned().collect();
    let mut rewrites = Vec::new();
    let mut new_indexes: Vec<String> = Vec::new();
    let mut dropped_foreign_keys: Vec<String> = Vec::new();
    for operation in &alter.operations {
        apply(
            db,
            &catalog,
            &mut table,
            &mut indexes,
            &mut rewrites,
            &mut new_indexes,
            &mut dropped_foreign_keys,
            operation,
        )?;
    }
    for index in &mut indexes {
        index.table = table.name.clone();
    }
    // The rows: rewritten, then checked against the new definition.
    let ctx = Context::new(sql, &catalog);
    let cache = SubqueryCache::default();
    let env = Env::new(db, &cache);
    let heap = db.store.heap(table.heap)?;
    let mut rows: Vec<(TupleId, Vec<Value>)> = Vec::new();
    for tuple in heap.scan() {
        let (tid, bytes) = tuple?;
        rows.push((tid, row::decode(&bytes)?));
    }
    let rewritten = !rewrites.is_empty();
    for rewrite in &rewrites {
        for (_, row) in rows.iter_mut() {
            match rewrite {
                Rewrite::Add(default) => {
                    let column = table.columns.get(row.len()).cloned();
                    let value = match (default, column) {
                        (Some(text), Some(column)) => {
                            default_expr(&ctx, &column, text)?.eval(&[], &env)?
                        }
                        _ => Value::Null,
                    };
                    row.push(value);
                }
                Rewrite::Drop(position) => {
                    row.remove(*position);
                }
            }
        }
    }
    let rules = RowRules::bind(&ctx, &table)?;
    for (_, row) in rows.iter_mut() {
        rules.fit(row, &env).map_err(|e| existing_rows(e, &table))?;
    }
    let mut bytes = Vec::new();
    for (tid, row) in rows.iter_mut() {
        if rewritten {
            bytes.clear();
            row::encode(row, &mut bytes);
            *tid = heap.update(txn, *tid, &bytes)?;
        }
    }
    // Indexes: new ones filled; all built again after a rewrite.
    for index in &mut indexes {
        let fresh = new_indexes.contains(&index.name);
        if !(rewritten || fresh) {
            continue;
        }
        index.root = if index.hash {
            db.store.create_hash_index()?
        } else {
            db.store.create_btree()?
        };
        fill_index(&db.store, txn, index, &rows)?;
    }
    for name in &dropped_foreign_keys {
        Catalog::erase_foreign_key(&db.store, txn, name, &old_name)?;
    }
    Catalog::rewrite_table(&db.store, txn, &old_name, &table, &indexes)?;
    drop(catalog);
    let mut catalog = db.catalog_mut();
    for name in &dropped_foreign_keys {
        catalog.remove_foreign_key(name, &old_name);
    }
    catalog.replace_table(&old_name, table, indexes);
    Ok(QueryResult::command("ALTER TABLE"))
}

/// An error about a row, said of the existing rows as PostgreSQL says it.
fn existing_rows(e: Error, table: &TableDef) -> Error {
    match e.state.code() {
        "23502" => {
            let column = e.message.split('"').nth(1).unwrap_or_default().to_string();
            Error::new(
                e.state,
                format!(
                    "column \"{column}\" of relation \"{}\" contains null values",
                    table.name
                ),
            )
        }
        "23514" => {
            let constraint = e.message.split('"').nth(3).unwrap_or_default().to_string();
            Error::new(
                e.state,
                format!(
                    "check constraint \"{constraint}\" of relation \"{}\" is violated by some row",
                    table.name
                ),
            )
        }
        _ => e,
    }
}

/// `2BP01` if a foreign key references the key `key` of `table` (PostgreSQL drops it only
/// with CASCADE, which cairn does not have yet).
fn refuse_if_referenced(catalog: &Catalog, table: &TableDef, key: &IndexDef) -> Result<()> {
    let columns: Vec<usize> = key.columns.iter().map(|c| c.0).collect();
    let Some(fk) = catalog
        .foreign_keys()
        .find(|fk| fk.parent == table.name && fk.parent_columns == columns)
    else {
        return Ok(());
    };
    Err(Error::new(
        SqlState("2BP01"),
        format!(
            "cannot drop constraint {} on table {} because other objects depend on it",
            key.name, table.name
        ),
    )
    .with_detail(format!(
        "constraint {} on table {} depends on index {}",
        fk.name, fk.child, key.name
    )))
}

/// One operation, applied to the copies of the definition and indexes (a foreign key to
/// drop is named in `dropped_foreign_keys`).
#[allow(clippy::too_many_arguments)]
fn apply(
    db: &Database,
    catalog: &Catalog,
    table: &mut TableDef,
    indexes: &mut Vec<IndexDef>,
    rewrites: &mut Vec<Rewrite>,
    new_indexes: &mut Vec<String>,
    dropped_foreign_keys: &mut Vec<String>,
    operation: &AlterTableOperation,
) -> Result<()> {
    match operation {
        AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            column_position: None,
            ..
        } => add_column(table, rewrites, column_def, *if_not_exists)?,
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for c in column_names {
                let name = ident_name(c);
                let Some(position) = table.column(&name) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(table.column_of_relation(&name).expect_err("absent"));
                };
                table.columns.remove(position);
                indexes.retain(|i| !i.columns.iter().any(|(c, _)| *c == position));
                for index in indexes.iter_mut() {
                    for (c, _) in index.columns.iter_mut() {
                        if *c > position {
                            *c -= 1;
                        }
                    }
                }
                table.checks.retain(|(_, text)| !mentions(text, &name));
                rewrites.push(Rewrite::Drop(position));
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => {
            let (old, new) = (ident_name(old_column_name), ident_name(new_column_name));
            let position = table.column_of_relation(&old)?;
            if table.column(&new).is_some() {
                return Err(Error::new(
                    SqlState::DUPLICATE_COLUMN,
                    format!(
                        "column \"{new}\" of relation \"{}\" already exists",
                        table.name
                    ),
                ));
            }
            table.columns[position].name = new;
        }
        AlterTableOperation::RenameTable { table_name: kind } => {
            let (RenameTableNameKind::As(name) | RenameTableNameKind::To(name)) = kind;
            let new = table_name(name)?;
            if catalog.exists(&new) {
                return Err(Error::new(
                    SqlState::DUPLICATE_TABLE,
                    format!("relation \"{new}\" already exists"),
                ));
            }
            table.name = new;
        }
        AlterTableOperation::AlterColumn { column_name, op } => {
            let position = table.column_of_relation(&ident_name(column_name))?;
            match op {
                AlterColumnOperation::SetNotNull => table.columns[position].not_null = true,
                AlterColumnOperation::DropNotNull => {
                    if indexes
                        .iter()
                        .any(|i| i.primary && i.columns.iter().any(|(c, _)| *c == position))
                    {
                        return Err(Error::new(
                            SqlState::INVALID_TABLE_DEFINITION,
                            format!(
                                "column \"{}\" is in a primary key",
                                table.columns[position].name
                            ),
                        ));
                    }
                    table.columns[position].not_null = false;
                }
                AlterColumnOperation::SetDefault { value } => {
                    table.columns[position].default = Some(value.to_string())
                }
                AlterColumnOperation::DropDefault => table.columns[position].default = None,
                other => return Err(Error::not_supported(&format!("ALTER COLUMN … {other}"))),
            }
        }
        AlterTableOperation::AddConstraint { constraint, .. } => {
            add_constraint(db, catalog, table, indexes, new_indexes, constraint)?
        }
        AlterTableOperation::DropConstraint {
            if_exists, name, ..
        } => drop_constraint(
            catalog,
            table,
            indexes,
            dropped_foreign_keys,
            &ident_name(name),
            *if_exists,
        )?,
        other => return Err(Error::not_supported(&format!("ALTER TABLE … {other}"))),
    }
    Ok(())
}

/// `DROP CONSTRAINT name`: a CHECK, a key's index (unless a foreign key references it) or
/// a foreign key of the table; `42704` if none is named so (and no IF EXISTS).
fn drop_constraint(
    catalog: &Catalog,
    table: &mut TableDef,
    indexes: &mut Vec<IndexDef>,
    dropped_foreign_keys: &mut Vec<String>,
    name: &str,
    if_exists: bool,
) -> Result<()> {
    let checks = table.checks.len();
    table.checks.retain(|(n, _)| n != name);
    if let Some(key) = indexes.iter().find(|i| i.constraint && i.name == name) {
        refuse_if_referenced(catalog, table, key)?;
    }
    let backing = indexes.len();
    indexes.retain(|i| !(i.constraint && i.name == name));
    let foreign = catalog
        .foreign_keys()
        .any(|fk| fk.name == name && fk.child == table.name);
    if foreign && !dropped_foreign_keys.iter().any(|n| n == name) {
        dropped_foreign_keys.push(name.to_string());
    }
    let found = table.checks.len() < checks || indexes.len() < backing || foreign;
    if !found && !if_exists {
        return Err(Error::new(
            SqlState::UNDEFINED_OBJECT,
            format!(
                "constraint \"{name}\" of relation \"{}\" does not exist",
                table.name
            ),
        ));
    }
    Ok(())
}

/// `ADD COLUMN`: the column at the end, the rows to get its default (or NULL).
fn add_column(
    table: &mut TableDef,
    rewrites: &mut Vec<Rewrite>,
    column_def: &sqlparser::ast::ColumnDef,
    if_not_exists: bool,
) -> Result<()> {
    let name = ident_name(&column_def.name);
    if table.column(&name).is_some() {
        if if_not_exists {
            return Ok(());
        }
        return Err(Error::new(
            SqlState::DUPLICATE_COLUMN,
            format!(
                "column \"{name}\" of relation \"{}\" already exists",
                table.name
            ),
        ));
    }
    let (data_type, max_chars, numeric) = column_type(&column_def.data_type)?;
    let mut column = ColumnDef {
        name: name.clone(),
        data_type,
        max_chars,
        numeric,
        not_null: false,
        default: None,
    };
    for option in &column_def.options {
        match &option.option {
            ColumnOption::NotNull => column.not_null = true,
            ColumnOption::Null => column.not_null = false,
            ColumnOption::Default(e) => column.default = Some(e.to_string()),
            ColumnOption::Check(check) => table.checks.push((
                check
                    .name
                    .as_ref()
                    .map_or_else(|| format!("{}_{name}_check", table.name), ident_name),
                check.expr.to_string(),
            )),
            other => {
                return Err(Error::not_supported(&format!(
                    "the column option {other} in ALTER TABLE"
                )))
            }
        }
    }
    rewrites.push(Rewrite::Add(column.default.clone()));
    table.columns.push(column);
    Ok(())
}

/// `ADD CONSTRAINT`: a CHECK, or a UNIQUE or PRIMARY KEY index (filled later).
fn add_constraint(
    db: &Database,
    catalog: &Catalog,
    table: &mut TableDef,
    indexes: &mut Vec<IndexDef>,
    new_indexes: &mut Vec<String>,
    constraint: &TableConstraint,
) -> Result<()> {
    match constraint {
        TableConstraint::Check(check) => {
            let mut name = format!("{}_check", table.name);
            let mut k = 0;
            while table.checks.iter().any(|(n, _)| *n == name) {
                k += 1;
                name = format!("{}_check{k}", table.name);
            }
            let name = check.name.as_ref().map_or(name, ident_name);
            table.checks.push((name, check.expr.to_string()));
        }
        TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) => {
            let (primary, name, columns) = match constraint {
                TableConstraint::PrimaryKey(pk) => (true, pk.name.as_ref(), &pk.columns),
                TableConstraint::Unique(u) => (false, u.name.as_ref(), &u.columns),
                _ => unreachable!("matched above"),
            };
            if primary && indexes.iter().any(|i| i.primary) {
                return Err(Error::new(
                    SqlState::INVALID_TABLE_DEFINITION,
                    format!(
                        "multiple primary keys for table \"{}\" are not allowed",
                        table.name
                    ),
                ));
            }
            let positions = columns
                .iter()
                .map(|c| key_column(&table.columns, &c.column))
                .collect::<Result<Vec<_>>>()?;
            let default = if primary {
                format!("{}_pkey", table.name)
            } else {
                let names: Vec<&str> = positions
                    .iter()
                    .map(|&p| table.columns[p].name.as_str())
                    .collect();
                format!("{}_{}_key", table.name, names.join("_"))
            };
            let name = name.map_or(default, ident_name);
            if catalog.exists(&name) || indexes.iter().any(|i| i.name == name) {
                return Err(Error::new(
                    SqlState::DUPLICATE_TABLE,
                    format!("relation \"{name}\" already exists"),
                ));
            }
            if primary {
                for &p in &positions {
                    table.columns[p].not_null = true;
                }
            }
            new_indexes.push(name.clone());
            indexes.push(IndexDef {
                name,
                table: table.name.clone(),
                root: db.store.create_btree()?,
                unique: true,
                primary,
                columns: positions.into_iter().map(|c| (c, false)).collect(),
                hash: false,
                constraint: true,
            });
        }
        other => return Err(Error::not_supported(&format!("the constraint {other}"))),
    }
    Ok(())
}

/// Whether the SQL condition `text` names column `name`.
fn mentions(text: &str, name: &str) -> bool {
    let Ok(expr) = crate::parser::parse_expr(text) else {
        return true;
    };
    let mut found = false;
    crate::walk::identifiers(&expr, &mut |ident| found |= ident == name);
    found
}
