//! FOREIGN KEY constraints: a child table's key columns hold, when none of them is NULL,
//! the values of a row of the parent table's primary key or unique key.
//!
//! Checked per statement, after the statement's own writes (so that a statement may insert
//! a parent and its children, or a row that refers to itself): a child row whose key has
//! no parent is `23503 insert or update on table … violates foreign key constraint …`. A
//! parent row deleted or whose key changes while children refer to it takes the
//! constraint's action: `NO ACTION`/`RESTRICT` (the default) refuse with `23503 update or
//! delete on table … violates foreign key constraint … on table …`; `ON DELETE CASCADE`
//! deletes the children (and what refers to them, in turn); `ON DELETE SET NULL` sets their
//! key columns NULL; `ON UPDATE CASCADE` gives the children the parent's new key, `ON UPDATE
//! SET NULL` sets theirs NULL.
//!
//! ```text
//! root slot 6: foreign keys — name text, child text, child columns text ("0,2"),
//!              parent text, parent columns text, on delete text (a, r, c, n), on update text
//! ```

use std::collections::HashMap;

use cairn_page::{PageStore, TupleId, Txn};

use crate::catalog::{Catalog, TableDef};
use crate::error::{Error, Result, SqlState};
use crate::index::{key_of, TableWriter};
use crate::row::{self, group_key};
use crate::value::Value;

pub(crate) const FOREIGN_KEYS_SLOT: usize = 6;

/// What a foreign key does when its parent row goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
}

impl Action {
    fn code(self) -> &'static str {
        match self {
            Action::NoAction => "a",
            Action::Restrict => "r",
            Action::Cascade => "c",
            Action::SetNull => "n",
        }
    }

    fn of_code(code: &str) -> Option<Action> {
        Some(match code {
            "a" => Action::NoAction,
            "r" => Action::Restrict,
            "c" => Action::Cascade,
            "n" => Action::SetNull,
            _ => return None,
        })
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyDef {
    pub name: String,
    pub child: String,
    pub child_columns: Vec<usize>,
    pub parent: String,
    pub parent_columns: Vec<usize>,
    pub on_delete: Action,
    pub on_update: Action,
}

impl ForeignKeyDef {
    pub(crate) fn row(&self) -> Vec<Value> {
        let positions = |p: &[usize]| p.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        vec![
            Value::Text(self.name.clone()),
            Value::Text(self.child.clone()),
            Value::Text(positions(&self.child_columns)),
            Value::Text(self.parent.clone()),
            Value::Text(positions(&self.parent_columns)),
            Value::Text(self.on_delete.code().into()),
            Value::Text(self.on_update.code().into()),
        ]
    }

    pub(crate) fn of_row(row: &[Value]) -> Option<ForeignKeyDef> {
        let positions =
            |t: &str| -> Option<Vec<usize>> { t.split(',').map(|p| p.parse().ok()).collect() };
        match row {
            [Value::Text(name), Value::Text(child), Value::Text(cc), Value::Text(parent), Value::Text(pc), Value::Text(d), Value::Text(u)] => {
                Some(ForeignKeyDef {
                    name: name.clone(),
                    child: child.clone(),
                    child_columns: positions(cc)?,
                    parent: parent.clone(),
                    parent_columns: positions(pc)?,
                    on_delete: Action::of_code(d)?,
                    on_update: Action::of_code(u)?,
                })
            }
            _ => None,
        }
    }

    /// The child's key in `row`, if none of its values is NULL.
    fn child_key(&self, row: &[Value]) -> Option<Vec<Value>> {
        key(row, &self.child_columns)
    }
}

fn key(row: &[Value], columns: &[usize]) -> Option<Vec<Value>> {
    let values: Vec<Value> = columns.iter().map(|&c| row[c].clone()).collect();
    (!values.iter().any(Value::is_null)).then_some(values)
}

/// Checks that every row of `rows` (new rows of `table`) has its parents.
pub(crate) fn check_children(
    store: &PageStore,
    catalog: &Catalog,
    table: &TableDef,
    rows: &[Vec<Value>],
) -> Result<()> {
    for fk in catalog.foreign_keys().filter(|f| f.child == table.name) {
        let parent = catalog.table(&fk.parent)?;
        let index = catalog
            .indexes_of(&parent.name)
            .find(|i| i.unique && same_columns(&i.columns, &fk.parent_columns))
            .ok_or_else(|| damaged(fk))?;
        for row in rows {
            let Some(child_key) = fk.child_key(row) else {
                continue;
            };
            // The parent's key values, in the index's column order.
            let mut probe = vec![Value::Null; parent.columns.len()];
            for (value, &column) in child_key.iter().zip(&fk.parent_columns) {
                probe[column] = value.cast(parent.columns[column].data_type)?;
            }
            let (key_bytes, _) = key_of(index, &probe);
            if store.btree(index.root).get(&key_bytes)?.is_empty() {
                let key = crate::index::key_text(table, &fk.child_columns, &child_key);
                return Err(Error::new(
                    SqlState("23503"),
                    format!(
                        "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                        table.name, fk.name
                    ),
                )
                .with_detail(format!(
                    "Key {key} is not present in table \"{}\".",
                    parent.name
                )));
            }
        }
    }
    Ok(())
}

/// [`check_children`] for the rows of an UPDATE whose key under a foreign key changed.
pub(crate) fn check_changed_children(
    store: &PageStore,
    catalog: &Catalog,
    table: &TableDef,
    changes: &[(Vec<Value>, Option<Vec<Value>>)],
) -> Result<()> {
    let changed: Vec<Vec<Value>> = changes
        .iter()
        .filter_map(|(old, new)| {
            let new = new.as_ref()?;
            let moved = catalog
                .foreign_keys()
                .filter(|f| f.child == table.name)
                .any(|f| f.child_columns.iter().any(|&c| old[c] != new[c]));
            moved.then(|| new.clone())
        })
        .collect();
    check_children(store, catalog, table, &changed)
}

fn same_columns(index: &[(usize, bool)], columns: &[usize]) -> bool {
    let mut a: Vec<usize> = index.iter().map(|(c, _)| *c).collect();
    let mut b = columns.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

fn damaged(fk: &ForeignKeyDef) -> Error {
    Error::new(
        SqlState::DATA_CORRUPTED,
        format!(
            "damaged catalog: the key foreign key \"{}\" refers to",
            fk.name
        ),
    )
}

/// Applies the actions of the foreign keys that refer to `table` for parent rows whose
/// keys went away: `gone` holds (old row, new row or `None` if deleted). As PostgreSQL
/// orders them: RESTRICT refuses at once, then CASCADE and SET NULL act, then NO ACTION
/// refuses if children still refer to a key that went away.
pub(crate) fn parents_changed(
    store: &PageStore,
    catalog: &Catalog,
    txn: &mut Txn<'_>,
    table: &TableDef,
    gone: &[(Vec<Value>, Option<Vec<Value>>)],
) -> Result<()> {
    let fks: Vec<(&ForeignKeyDef, GoneKeys, Action)> = catalog
        .foreign_keys()
        .filter(|f| f.parent == table.name)
        .filter_map(|fk| {
            let (keys, updated) = gone_keys(fk, gone);
            let action = if updated { fk.on_update } else { fk.on_delete };
            (!keys.is_empty()).then_some((fk, keys, action))
        })
        .collect();
    for phase in [Action::Restrict, Action::Cascade, Action::NoAction] {
        for (fk, keys, action) in &fks {
            let acts = match phase {
                Action::Cascade => matches!(action, Action::Cascade | Action::SetNull),
                other => *action == other,
            };
            if !acts {
                continue;
            }
            let child = catalog.table(&fk.child)?;
            let children = referring(store, child, fk, keys)?;
            if children.is_empty() {
                continue;
            }
            if phase != Action::Cascade {
                let referenced = children
                    .first()
                    .and_then(|(_, row)| fk.child_key(row))
                    .unwrap_or_default();
                let key = crate::index::key_text(table, &fk.parent_columns, &referenced);
                return Err(Error::new(
                    SqlState("23503"),
                    format!(
                        "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
                        table.name, fk.name, child.name
                    ),
                )
                .with_detail(format!(
                    "Key {key} is still referenced from table \"{}\".",
                    child.name
                )));
            }
            let mut writer =
                TableWriter::new(store, child, catalog.indexes_of(&child.name).collect());
            let mut changed = Vec::new();
            for (tid, row) in children {
                let parent_key = fk
                    .child_key(&row)
                    .and_then(|k| keys.get(&group_key(&k)).cloned().flatten());
                if *action == Action::Cascade {
                    let Some(parent_key) = parent_key else {
                        writer.delete(txn, tid, &row)?;
                        changed.push((row, None));
                        continue;
                    };
                    // ON UPDATE CASCADE: the child takes the parent's new key.
                    let mut new = row.clone();
                    for (&c, value) in fk.child_columns.iter().zip(parent_key) {
                        new[c] = value.cast(child.columns[c].data_type)?;
                    }
                    writer.update(txn, tid, &row, &new)?;
                    changed.push((row, Some(new)));
                    continue;
                }
                let mut new = row.clone();
                for &c in &fk.child_columns {
                    if child.columns[c].not_null {
                        return Err(Error::new(
                            SqlState::NOT_NULL_VIOLATION,
                            format!(
                                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                                child.columns[c].name, child.name
                            ),
                        ));
                    }
                    new[c] = Value::Null;
                }
                writer.update(txn, tid, &row, &new)?;
                changed.push((row, Some(new)));
            }
            parents_changed(store, catalog, txn, child, &changed)?;
        }
    }
    Ok(())
}

/// The parent keys a statement took away (as group keys), each with the key its row has
/// now if it was updated (`None` if deleted).
type GoneKeys = HashMap<Vec<u8>, Option<Vec<Value>>>;

/// The keys of `fk`'s parent that `gone` took away, and whether an update (not a delete)
/// took one.
fn gone_keys(fk: &ForeignKeyDef, gone: &[(Vec<Value>, Option<Vec<Value>>)]) -> (GoneKeys, bool) {
    let mut keys = HashMap::new();
    let mut updated = false;
    for (old, new) in gone {
        // A NULL key had no children.
        let Some(old_key) = key(old, &fk.parent_columns) else {
            continue;
        };
        let new_key = new.as_ref().and_then(|n| key(n, &fk.parent_columns));
        if new_key
            .as_ref()
            .is_some_and(|k| group_key(k) == group_key(&old_key))
        {
            continue;
        }
        updated |= new.is_some();
        keys.insert(group_key(&old_key), new_key);
    }
    (keys, updated)
}

/// The rows of `child` whose key under `fk` is one of `keys`.
fn referring(
    store: &PageStore,
    child: &TableDef,
    fk: &ForeignKeyDef,
    keys: &GoneKeys,
) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let mut out = Vec::new();
    for tuple in store.heap(child.heap)?.scan() {
        let (tid, bytes) = tuple?;
        let row = row::decode(&bytes)?;
        // Keys compare as group keys: integers of every width alike.
        if fk
            .child_key(&row)
            .is_some_and(|k| keys.contains_key(&group_key(&k)))
        {
            out.push((tid, row));
        }
    }
    Ok(out)
}
