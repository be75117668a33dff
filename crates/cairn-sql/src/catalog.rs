//! The catalog: the tables of a database and their columns, kept in cairn-page system heaps so
//! that they survive a restart and a crash like the data they describe.
//!
//! ```text
//! root slot 0: the tables heap  — one row per table: name text, heap bigint
//! root slot 1: the columns heap — one row per column: table text, position smallint,
//!                                 name text, type text (int4, text…), not null boolean
//! ```
//!
//! Rows are in the row format of [`crate::row`]. The catalog is read whole at open and kept
//! in memory; a DDL statement writes its rows in its transaction and changes the in-memory
//! copy only once that transaction has committed. A table's heap is created before its rows
//! are written and is not reclaimed if the transaction then fails (cairn-page's heaps are not
//! transactional to create): a page leaked, never a table half-made.

use std::collections::BTreeMap;

use cairn_page::{PageId, PageStore, Txn};

use crate::error::{Error, Result, SqlState};
use crate::row;
use crate::value::{DataType, Value};

const TABLES_SLOT: usize = 0;
const COLUMNS_SLOT: usize = 1;

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    pub not_null: bool,
}

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    /// The heap holding its rows.
    pub heap: PageId,
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
    /// The position of column `name`, if the table has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// Every table of a database.
#[derive(Debug, Default)]
pub struct Catalog {
    tables: BTreeMap<String, TableDef>,
}

impl Catalog {
    /// Reads the catalog of `store`, creating its system heaps in a new store.
    pub fn load(store: &PageStore) -> Result<Catalog> {
        if store.root(TABLES_SLOT)? == 0 {
            let (tables, columns) = (store.create_heap()?, store.create_heap()?);
            let mut txn = store.begin()?;
            txn.set_root(TABLES_SLOT, tables)?;
            txn.set_root(COLUMNS_SLOT, columns)?;
            txn.commit()?;
        }
        let mut catalog = Catalog::default();
        for tuple in store.heap(store.root(TABLES_SLOT)?)?.scan() {
            let (_, bytes) = tuple?;
            match row::decode(&bytes)?.as_slice() {
                [Value::Text(name), Value::Int8(heap)] => {
                    let heap = PageId::try_from(*heap).map_err(|_| damaged("a table's heap"))?;
                    catalog.tables.insert(
                        name.clone(),
                        TableDef {
                            name: name.clone(),
                            heap,
                            columns: Vec::new(),
                        },
                    );
                }
                _ => return Err(damaged("a row of the tables heap")),
            }
        }
        let mut columns: Vec<(String, i16, ColumnDef)> = Vec::new();
        for tuple in store.heap(store.root(COLUMNS_SLOT)?)?.scan() {
            let (_, bytes) = tuple?;
            match row::decode(&bytes)?.as_slice() {
                [Value::Text(table), Value::Int2(position), Value::Text(name), Value::Text(ty), Value::Bool(not_null)] =>
                {
                    let data_type = DataType::from_internal_name(ty)
                        .ok_or_else(|| damaged("a column's type"))?;
                    columns.push((
                        table.clone(),
                        *position,
                        ColumnDef {
                            name: name.clone(),
                            data_type,
                            not_null: *not_null,
                        },
                    ));
                }
                _ => return Err(damaged("a row of the columns heap")),
            }
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
        Ok(catalog)
    }

    /// The table `name`, or `42P01 relation "name" does not exist`.
    pub fn table(&self, name: &str) -> Result<&TableDef> {
        self.tables.get(name).ok_or_else(|| {
            Error::new(
                SqlState::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            )
        })
    }

    pub fn exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// Writes `table`'s catalog rows in `txn`; [`Catalog::add`] it once `txn` commits.
    pub fn write_table(store: &PageStore, txn: &mut Txn<'_>, table: &TableDef) -> Result<()> {
        let mut bytes = Vec::new();
        row::encode(
            &[
                Value::Text(table.name.clone()),
                Value::Int8(i64::from(table.heap)),
            ],
            &mut bytes,
        );
        store.heap(store.root(TABLES_SLOT)?)?.insert(txn, &bytes)?;
        let columns = store.heap(store.root(COLUMNS_SLOT)?)?;
        for (position, column) in table.columns.iter().enumerate() {
            bytes.clear();
            row::encode(
                &[
                    Value::Text(table.name.clone()),
                    Value::Int2(position as i16),
                    Value::Text(column.name.clone()),
                    Value::Text(column.data_type.internal_name().into()),
                    Value::Bool(column.not_null),
                ],
                &mut bytes,
            );
            columns.insert(txn, &bytes)?;
        }
        Ok(())
    }

    /// Adds a table whose rows are committed.
    pub fn add(&mut self, table: TableDef) {
        self.tables.insert(table.name.clone(), table);
    }
}

fn damaged(what: &str) -> Error {
    Error::new(SqlState::DATA_CORRUPTED, format!("damaged catalog: {what}"))
}
