//! The catalog: the tables, columns, indexes and views of a database, kept in cairn-page
//! system heaps so that they survive a restart and a crash like the data they describe.
//!
//! ```text
//! root slot 0: tables  — name text, heap bigint
//! root slot 1: columns — table text, position smallint, name text, type text (int4,
//!                        varchar(8)…), not null boolean, default text (SQL) or NULL
//! root slot 2: indexes — name text, table text, root page bigint, unique boolean,
//!                        primary boolean, key text ("0,2 desc": column positions),
//!                        method text ("btree" or "hash"; absent in rows of older stores),
//!                        constraint boolean (made by a PRIMARY KEY or UNIQUE constraint, not
//!                        CREATE INDEX; absent in older rows: true of primary keys only)
//! root slot 3: views   — name text, definition text (the CREATE VIEW statement)
//! root slot 4: checks  — table text, name text, condition text (SQL)
//! root slot 5: sequences (see [`crate::sequence`])
//! root slot 6: foreign keys (see [`crate::foreign`])
//! ```
//!
//! Rows are in the row format of [`crate::row`]. A columns row of five fields (written
//! before defaults existed) reads as having no default; the indexes and views heaps are
//! created when a store that predates them is opened. The catalog is read whole at open and
//! kept in memory; a DDL statement writes its rows in its transaction and changes the
//! in-memory copy only once that transaction has committed. Tables, indexes and views share
//! one namespace, as PostgreSQL's relations do. A heap or B+tree is created before its
//! catalog rows are written and is not reclaimed if the transaction then fails, nor when its
//! table or index is dropped (cairn-page does not free pages yet): pages leaked, never an
//! object half-made.

use std::collections::BTreeMap;

use cairn_page::{PageId, PageStore, Txn};

use crate::error::{Error, Result, SqlState};
use crate::foreign::{ForeignKeyDef, FOREIGN_KEYS_SLOT};
use crate::row;
use crate::sequence::{SequenceDef, SEQUENCES_SLOT};
use crate::value::{DataType, Value};

const TABLES_SLOT: usize = 0;
const COLUMNS_SLOT: usize = 1;
const INDEXES_SLOT: usize = 2;
const VIEWS_SLOT: usize = 3;
const CHECKS_SLOT: usize = 4;

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    /// `varchar(n)`: the most characters a value may have; `char(n)`: the characters every
    /// value has (padded with spaces).
    pub max_chars: Option<u32>,
    /// `numeric(precision, scale)`: values are rounded to the scale and must fit the
    /// precision.
    pub numeric: Option<(u16, u16)>,
    pub not_null: bool,
    /// The SQL text of its DEFAULT expression.
    pub default: Option<String>,
}

impl ColumnDef {
    /// The column's type as SQL writes it: `integer`, `character varying(8)`…
    pub fn type_name(&self) -> String {
        match (self.data_type, self.max_chars, self.numeric) {
            (DataType::Bpchar, Some(n), _) => format!("character({n})"),
            (_, Some(n), _) => format!("character varying({n})"),
            (_, None, Some((p, s))) => format!("numeric({p},{s})"),
            (_, None, None) => self.data_type.name().to_string(),
        }
    }

    fn stored_type(&self) -> String {
        match (self.data_type, self.max_chars, self.numeric) {
            (DataType::Bpchar, Some(n), _) => format!("bpchar({n})"),
            (_, Some(n), _) => format!("varchar({n})"),
            (_, None, Some((p, s))) => format!("numeric({p},{s})"),
            (_, None, None) => self.data_type.internal_name().to_string(),
        }
    }

    /// A stored type: (type, length of varchar/char, precision and scale of numeric).
    fn parse_stored_type(text: &str) -> Option<crate::ddl::ColumnType> {
        if let Some((p, s)) = text
            .strip_prefix("numeric(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|r| r.split_once(','))
        {
            return Some((
                DataType::Numeric,
                None,
                Some((p.parse().ok()?, s.parse().ok()?)),
            ));
        }
        let (ty, length) = Self::parse_stored_text_type(text)?;
        Some((ty, length, None))
    }

    fn parse_stored_text_type(text: &str) -> Option<(DataType, Option<u32>)> {
        if let Some(n) = text
            .strip_prefix("varchar(")
            .and_then(|r| r.strip_suffix(')'))
        {
            return Some((DataType::Text, Some(n.parse().ok()?)));
        }
        if let Some(n) = text
            .strip_prefix("bpchar(")
            .and_then(|r| r.strip_suffix(')'))
        {
            return Some((DataType::Bpchar, Some(n.parse().ok()?)));
        }
        Some((DataType::from_internal_name(text)?, None))
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    /// The heap holding its rows.
    pub heap: PageId,
    pub columns: Vec<ColumnDef>,
    /// CHECK constraints: (name, condition as SQL over the table's columns).
    pub checks: Vec<(String, String)>,
}

impl TableDef {
    /// The position of column `name`, if the table has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The position of column `name`, or `42703 column "name" of relation "table" does not
    /// exist` (what INSERT, UPDATE and ALTER TABLE say of a column they name).
    pub fn column_of_relation(&self, name: &str) -> Result<usize> {
        self.column(name).ok_or_else(|| {
            Error::new(
                SqlState::UNDEFINED_COLUMN,
                format!(
                    "column \"{name}\" of relation \"{}\" does not exist",
                    self.name
                ),
            )
        })
    }
}

/// An index of a table: a B+tree from key (the values of its columns) to row.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    pub name: String,
    pub table: String,
    pub root: PageId,
    pub unique: bool,
    /// The table's primary key (unique, its columns NOT NULL).
    pub primary: bool,
    /// The key's columns: (position in the table, descending).
    pub columns: Vec<(usize, bool)>,
    /// A hash index (`USING hash`: one column, equality only, NULLs not indexed) on
    /// cairn-page's hash index; otherwise a B+tree.
    pub hash: bool,
    /// Made by a PRIMARY KEY or UNIQUE constraint (so named in `pg_constraint`), not by
    /// CREATE INDEX.
    pub constraint: bool,
}

/// A view: a stored query.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    pub name: String,
    /// Its `CREATE VIEW` statement.
    pub definition: String,
}

/// Every table, index and view of a database.
#[derive(Debug, Default)]
pub struct Catalog {
    tables: BTreeMap<String, TableDef>,
    indexes: BTreeMap<String, IndexDef>,
    views: BTreeMap<String, ViewDef>,
    sequences: BTreeMap<String, SequenceDef>,
    foreign_keys: Vec<ForeignKeyDef>,
}

impl Catalog {
    /// Reads the catalog of `store`, creating its system heaps where they are missing.
    pub fn load(store: &PageStore) -> Result<Catalog> {
        for slot in [
            TABLES_SLOT,
            COLUMNS_SLOT,
            INDEXES_SLOT,
            VIEWS_SLOT,
            CHECKS_SLOT,
            SEQUENCES_SLOT,
            FOREIGN_KEYS_SLOT,
        ] {
            if store.root(slot)? == 0 {
                let heap = store.create_heap()?;
                let mut txn = store.begin()?;
                txn.set_root(slot, heap)?;
                txn.commit()?;
            }
        }
        let mut catalog = Catalog::default();
        for row in rows(store, TABLES_SLOT)? {
            match row.as_slice() {
                [Value::Text(name), Value::Int8(heap)] => {
                    let heap = PageId::try_from(*heap).map_err(|_| damaged("a table's heap"))?;
                    catalog.tables.insert(
                        name.clone(),
                        TableDef {
                            name: name.clone(),
                            heap,
                            columns: Vec::new(),
                            checks: Vec::new(),
                        },
                    );
                }
                _ => return Err(damaged("a row of the tables heap")),
            }
        }
        let mut columns: Vec<(String, i16, ColumnDef)> = Vec::new();
        for row in rows(store, COLUMNS_SLOT)? {
            let (table, position, column) = column_of_row(&row)?;
            columns.push((table, position, column));
        }
        columns.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        for (table, _, column) in columns {
            catalog
                .tables
                .get_mut(&table)
                .ok_or_else(|| damaged("a column of no table"))?
                .columns
                .push(column);
        }
        for row in rows(store, INDEXES_SLOT)? {
            let index = index_of_row(&row)?;
            let table = catalog
                .tables
                .get(&index.table)
                .ok_or_else(|| damaged("an index of no table"))?;
            if index.columns.iter().any(|(c, _)| *c >= table.columns.len()) {
                return Err(damaged("an index of a column its table lacks"));
            }
            catalog.indexes.insert(index.name.clone(), index);
        }
        for row in rows(store, CHECKS_SLOT)? {
            match row.as_slice() {
                [Value::Text(table), Value::Text(name), Value::Text(condition)] => catalog
                    .tables
                    .get_mut(table)
                    .ok_or_else(|| damaged("a check of no table"))?
                    .checks
                    .push((name.clone(), condition.clone())),
                _ => return Err(damaged("a row of the checks heap")),
            }
        }
        for row in rows(store, FOREIGN_KEYS_SLOT)? {
            let fk = ForeignKeyDef::of_row(&row).ok_or_else(|| damaged("a foreign key"))?;
            catalog.foreign_keys.push(fk);
        }
        for row in rows(store, SEQUENCES_SLOT)? {
            let def = crate::sequence::of_row(&row).ok_or_else(|| damaged("a sequence"))?;
            catalog.sequences.insert(def.name.clone(), def);
        }
        for row in rows(store, VIEWS_SLOT)? {
            match row.as_slice() {
                [Value::Text(name), Value::Text(definition)] => {
                    catalog.views.insert(
                        name.clone(),
                        ViewDef {
                            name: name.clone(),
                            definition: definition.clone(),
                        },
                    );
                }
                _ => return Err(damaged("a row of the views heap")),
            }
        }
        Ok(catalog)
    }

    /// The table `name`, or `42P01 relation "name" does not exist`.
    pub fn table(&self, name: &str) -> Result<&TableDef> {
        self.tables.get(name).ok_or_else(|| undefined(name))
    }

    pub fn view(&self, name: &str) -> Option<&ViewDef> {
        self.views.get(name)
    }

    pub fn views(&self) -> impl Iterator<Item = &ViewDef> {
        self.views.values()
    }

    pub fn foreign_keys(&self) -> impl Iterator<Item = &ForeignKeyDef> {
        self.foreign_keys.iter()
    }

    pub fn add_foreign_key(&mut self, fk: ForeignKeyDef) {
        self.foreign_keys.push(fk);
    }

    /// Writes `fk`'s catalog row in `txn`.
    pub fn write_foreign_key(
        store: &PageStore,
        txn: &mut Txn<'_>,
        fk: &ForeignKeyDef,
    ) -> Result<()> {
        insert(store, txn, FOREIGN_KEYS_SLOT, &fk.row())
    }

    pub fn view_names(&self) -> impl Iterator<Item = String> + '_ {
        self.views.keys().cloned()
    }

    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.get(name)
    }

    /// The indexes of table `table`.
    pub fn indexes_of<'c>(&'c self, table: &'c str) -> impl Iterator<Item = &'c IndexDef> + 'c {
        self.indexes.values().filter(move |i| i.table == table)
    }

    pub fn tables(&self) -> impl Iterator<Item = &TableDef> {
        self.tables.values()
    }

    /// Whether a table, index or view is named `name`.
    pub fn exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
            || self.indexes.contains_key(name)
            || self.views.contains_key(name)
            || self.sequences.contains_key(name)
    }

    /// Writes `table`'s catalog rows in `txn`; [`Catalog::add_table`] it once `txn` commits.
    pub fn write_table(store: &PageStore, txn: &mut Txn<'_>, table: &TableDef) -> Result<()> {
        insert(
            store,
            txn,
            TABLES_SLOT,
            &[
                Value::Text(table.name.clone()),
                Value::Int8(i64::from(table.heap)),
            ],
        )?;
        for (position, column) in table.columns.iter().enumerate() {
            insert(
                store,
                txn,
                COLUMNS_SLOT,
                &[
                    Value::Text(table.name.clone()),
                    Value::Int2(position as i16),
                    Value::Text(column.name.clone()),
                    Value::Text(column.stored_type()),
                    Value::Bool(column.not_null),
                    column.default.clone().map_or(Value::Null, Value::Text),
                ],
            )?;
        }
        for (name, condition) in &table.checks {
            insert(
                store,
                txn,
                CHECKS_SLOT,
                &[
                    Value::Text(table.name.clone()),
                    Value::Text(name.clone()),
                    Value::Text(condition.clone()),
                ],
            )?;
        }
        Ok(())
    }

    /// Writes `index`'s catalog row in `txn`.
    pub fn write_index(store: &PageStore, txn: &mut Txn<'_>, index: &IndexDef) -> Result<()> {
        let key = index
            .columns
            .iter()
            .map(|(c, desc)| format!("{c}{}", if *desc { " desc" } else { "" }))
            .collect::<Vec<_>>()
            .join(",");
        insert(
            store,
            txn,
            INDEXES_SLOT,
            &[
                Value::Text(index.name.clone()),
                Value::Text(index.table.clone()),
                Value::Int8(i64::from(index.root)),
                Value::Bool(index.unique),
                Value::Bool(index.primary),
                Value::Text(key),
                Value::Text(if index.hash { "hash" } else { "btree" }.into()),
                Value::Bool(index.constraint),
            ],
        )
    }

    /// Writes `view`'s catalog row in `txn`.
    pub fn write_view(store: &PageStore, txn: &mut Txn<'_>, view: &ViewDef) -> Result<()> {
        insert(
            store,
            txn,
            VIEWS_SLOT,
            &[
                Value::Text(view.name.clone()),
                Value::Text(view.definition.clone()),
            ],
        )
    }

    /// Rewrites, in `txn`, the catalog rows of table `old_name` as those of `table` and its
    /// `indexes` (ALTER TABLE); its sequences' rows are left as they are.
    pub fn rewrite_table(
        store: &PageStore,
        txn: &mut Txn<'_>,
        old_name: &str,
        table: &TableDef,
        indexes: &[IndexDef],
    ) -> Result<()> {
        let named =
            |row: &[Value], field: usize| matches!(&row[field], Value::Text(n) if n == old_name);
        erase(store, txn, TABLES_SLOT, |row| named(row, 0))?;
        erase(store, txn, COLUMNS_SLOT, |row| named(row, 0))?;
        erase(store, txn, CHECKS_SLOT, |row| named(row, 0))?;
        erase(store, txn, INDEXES_SLOT, |row| named(row, 1))?;
        Catalog::write_table(store, txn, table)?;
        for index in indexes {
            Catalog::write_index(store, txn, index)?;
        }
        Ok(())
    }

    /// Replaces, once committed, table `old_name` and its indexes by `table` and `indexes`.
    pub fn replace_table(&mut self, old_name: &str, table: TableDef, indexes: Vec<IndexDef>) {
        self.tables.remove(old_name);
        self.indexes.retain(|_, i| i.table != old_name);
        for index in indexes {
            self.indexes.insert(index.name.clone(), index);
        }
        self.tables.insert(table.name.clone(), table);
    }

    /// Deletes, in `txn`, the catalog rows of table `name`: its own, its columns' and its
    /// indexes'.
    pub fn erase_table(store: &PageStore, txn: &mut Txn<'_>, name: &str) -> Result<()> {
        let named =
            |row: &[Value], field: usize| matches!(&row[field], Value::Text(n) if n == name);
        erase(store, txn, TABLES_SLOT, |row| named(row, 0))?;
        erase(store, txn, COLUMNS_SLOT, |row| named(row, 0))?;
        erase(store, txn, CHECKS_SLOT, |row| named(row, 0))?;
        erase(store, txn, FOREIGN_KEYS_SLOT, |row| named(row, 1))?;
        let owned = format!("{name}.");
        erase(
            store,
            txn,
            SEQUENCES_SLOT,
            |row| matches!(&row[5], Value::Text(o) if o.starts_with(&owned)),
        )?;
        erase(store, txn, INDEXES_SLOT, |row| named(row, 1))
    }

    /// Deletes, in `txn`, the catalog row of the foreign key constraint `name` of table
    /// `child`.
    pub fn erase_foreign_key(
        store: &PageStore,
        txn: &mut Txn<'_>,
        name: &str,
        child: &str,
    ) -> Result<()> {
        erase(
            store,
            txn,
            FOREIGN_KEYS_SLOT,
            |row| matches!((&row[0], &row[1]), (Value::Text(n), Value::Text(c)) if n == name && c == child),
        )
    }

    /// Deletes, in `txn`, the catalog row of index `name`.
    pub fn erase_index(store: &PageStore, txn: &mut Txn<'_>, name: &str) -> Result<()> {
        erase(
            store,
            txn,
            INDEXES_SLOT,
            |row| matches!(&row[0], Value::Text(n) if n == name),
        )
    }

    /// Deletes, in `txn`, the catalog row of view `name`.
    pub fn erase_view(store: &PageStore, txn: &mut Txn<'_>, name: &str) -> Result<()> {
        erase(
            store,
            txn,
            VIEWS_SLOT,
            |row| matches!(&row[0], Value::Text(n) if n == name),
        )
    }

    /// Adds a table whose rows are committed.
    pub fn add_table(&mut self, table: TableDef) {
        self.tables.insert(table.name.clone(), table);
    }

    pub fn add_index(&mut self, index: IndexDef) {
        self.indexes.insert(index.name.clone(), index);
    }

    pub fn add_view(&mut self, view: ViewDef) {
        self.views.insert(view.name.clone(), view);
    }

    /// Forgets a table (and its indexes) whose catalog rows' deletion is committed.
    pub fn remove_table(&mut self, name: &str) {
        self.tables.remove(name);
        self.indexes.retain(|_, i| i.table != name);
        self.foreign_keys.retain(|f| f.child != name);
        let owned = format!("{name}.");
        self.sequences
            .retain(|_, s| !s.owner.as_ref().is_some_and(|o| o.starts_with(&owned)));
    }

    /// Forgets the foreign key constraint `name` of table `child`.
    pub fn remove_foreign_key(&mut self, name: &str, child: &str) {
        self.foreign_keys
            .retain(|f| !(f.name == name && f.child == child));
    }

    pub fn remove_index(&mut self, name: &str) {
        self.indexes.remove(name);
    }

    pub fn remove_view(&mut self, name: &str) {
        self.views.remove(name);
    }

    pub fn sequence(&self, name: &str) -> Option<&SequenceDef> {
        self.sequences.get(name)
    }

    pub fn sequences(&self) -> impl Iterator<Item = &SequenceDef> {
        self.sequences.values()
    }

    pub fn add_sequence(&mut self, def: SequenceDef) {
        self.sequences.insert(def.name.clone(), def);
    }

    /// Forgets a sequence whose catalog row's deletion is committed.
    pub fn remove_sequence(&mut self, name: &str) {
        self.sequences.remove(name);
    }

    /// Deletes, in `txn`, the catalog row of sequence `name`.
    pub fn erase_sequence(store: &PageStore, txn: &mut Txn<'_>, name: &str) -> Result<()> {
        erase(
            store,
            txn,
            SEQUENCES_SLOT,
            |row| matches!(&row[0], Value::Text(n) if n == name),
        )
    }
}

/// `42P01 relation "name" does not exist`.
pub fn undefined(name: &str) -> Error {
    Error::new(
        SqlState::UNDEFINED_TABLE,
        format!("relation \"{name}\" does not exist"),
    )
}

/// The decoded rows of the catalog heap at root `slot`.
fn rows(store: &PageStore, slot: usize) -> Result<Vec<Vec<Value>>> {
    store
        .heap(store.root(slot)?)?
        .scan()
        .map(|tuple| row::decode(&tuple?.1))
        .collect()
}

fn insert(store: &PageStore, txn: &mut Txn<'_>, slot: usize, values: &[Value]) -> Result<()> {
    let mut bytes = Vec::new();
    row::encode(values, &mut bytes);
    store.heap(store.root(slot)?)?.insert(txn, &bytes)?;
    Ok(())
}

/// Deletes the rows of the catalog heap at `slot` that `doomed` picks.
fn erase(
    store: &PageStore,
    txn: &mut Txn<'_>,
    slot: usize,
    doomed: impl Fn(&[Value]) -> bool,
) -> Result<()> {
    let heap = store.heap(store.root(slot)?)?;
    let mut tids = Vec::new();
    for tuple in heap.scan() {
        let (tid, bytes) = tuple?;
        if doomed(&row::decode(&bytes)?) {
            tids.push(tid);
        }
    }
    for tid in tids {
        heap.delete(txn, tid)?;
    }
    Ok(())
}

fn column_of_row(row: &[Value]) -> Result<(String, i16, ColumnDef)> {
    let (table, position, name, ty, not_null, default) = match row {
        [Value::Text(t), Value::Int2(p), Value::Text(n), Value::Text(ty), Value::Bool(nn)] => {
            (t, p, n, ty, nn, None)
        }
        [Value::Text(t), Value::Int2(p), Value::Text(n), Value::Text(ty), Value::Bool(nn), d] => {
            let default = match d {
                Value::Null => None,
                Value::Text(d) => Some(d.clone()),
                _ => return Err(damaged("a column's default")),
            };
            (t, p, n, ty, nn, default)
        }
        _ => return Err(damaged("a row of the columns heap")),
    };
    let (data_type, max_chars, numeric) =
        ColumnDef::parse_stored_type(ty).ok_or_else(|| damaged("a column's type"))?;
    Ok((
        table.clone(),
        *position,
        ColumnDef {
            name: name.clone(),
            data_type,
            max_chars,
            numeric,
            not_null: *not_null,
            default,
        },
    ))
}

fn index_of_row(row: &[Value]) -> Result<IndexDef> {
    // A row of six fields was written before hash indexes existed (a B+tree), one of seven
    // before constraints were told from CREATE INDEX (a constraint if primary).
    let (row, constraint) = match row {
        [fields @ .., Value::Bool(constraint)] if row.len() == 8 => (fields, Some(*constraint)),
        fields => (fields, None),
    };
    let (fields, method) = match row {
        [fields @ .., Value::Text(method)] if row.len() == 7 => (fields, method.as_str()),
        fields => (fields, "btree"),
    };
    let [Value::Text(name), Value::Text(table), Value::Int8(root), Value::Bool(unique), Value::Bool(primary), Value::Text(key)] =
        fields
    else {
        return Err(damaged("a row of the indexes heap"));
    };
    let hash = match method {
        "btree" => false,
        "hash" => true,
        _ => return Err(damaged("an index's method")),
    };
    let columns = key
        .split(',')
        .map(|part| {
            let (position, desc) = match part.strip_suffix(" desc") {
                Some(p) => (p, true),
                None => (part, false),
            };
            Ok((position.parse().map_err(|_| damaged("an index key"))?, desc))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(IndexDef {
        name: name.clone(),
        table: table.clone(),
        root: PageId::try_from(*root).map_err(|_| damaged("an index's root"))?,
        unique: *unique,
        primary: *primary,
        columns,
        hash,
        constraint: constraint.unwrap_or(*primary),
    })
}

fn damaged(what: &str) -> Error {
    Error::new(SqlState::DATA_CORRUPTED, format!("damaged catalog: {what}"))
}
