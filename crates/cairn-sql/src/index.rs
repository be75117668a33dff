//! Table writes with their indexes: every row change goes to the heap and to each index of
//! the table in the same storage transaction, so that an index always holds exactly one
//! entry per row.
//!
//! An index entry is a cairn-page B+tree pair:
//!
//! ```text
//! key   = the row's values of the index columns, in cairn-page's order-preserving key
//!         encoding (integers of every width as one integer, dates, times and timestamps
//!         as their integer, an interval as its length, NULL after every value)
//! value = the row's TupleId: page u32, slot u16, big-endian
//! ```
//!
//! A hash index (`USING hash`) keeps the same pairs in cairn-page's hash index, for one
//! column and without NULLs.
//!
//! A unique index refuses a second entry with an equal key (`23505`), except when the key
//! holds a NULL: NULLs are distinct from each other, as PostgreSQL's unique constraints
//! have them by default. A descending column is stored ascending like the others; a scan
//! that wants it descending reads the tree backwards.

use cairn_page::{encode_key, KeyValue, PageStore, TupleId, Txn};

use crate::catalog::{IndexDef, TableDef};
use crate::error::{Error, Result, SqlState};
use crate::row;
use crate::value::Value;

/// The key bytes of `row` in `index`, and whether a key column is NULL.
pub fn key_of(index: &IndexDef, row: &[Value]) -> (Vec<u8>, bool) {
    let mut has_null = false;
    let values: Vec<KeyValue> = index
        .columns
        .iter()
        .map(|&(c, _)| {
            let v = key_value(&row[c]);
            has_null |= v == KeyValue::Null;
            v
        })
        .collect();
    let mut key = Vec::new();
    encode_key(&values, &mut key);
    (key, has_null)
}

/// A value as an index key value.
pub fn key_value(value: &Value) -> KeyValue {
    match value {
        Value::Null => KeyValue::Null,
        Value::Bool(b) => KeyValue::Bool(*b),
        Value::Int2(n) => KeyValue::Int(i64::from(*n)),
        Value::Int4(n) => KeyValue::Int(i64::from(*n)),
        Value::Int8(n) => KeyValue::Int(*n),
        Value::Float8(x) => KeyValue::Float(*x),
        Value::Float4(x) => KeyValue::Float(f64::from(*x)),
        Value::Numeric(n) => KeyValue::Bytes(n.order_key()),
        Value::Text(s) => KeyValue::Text(s.clone()),
        // Trailing spaces of character(n) are insignificant.
        Value::Bpchar(s) => KeyValue::Text(s.trim_end_matches(' ').to_string()),
        Value::Bytea(b) => KeyValue::Bytes(b.clone()),
        Value::Json(s) | Value::Jsonb(s) => KeyValue::Text(s.clone()),
        Value::Uuid(u) => KeyValue::Bytes(u.to_vec()),
        Value::Oid(n) => KeyValue::Int(i64::from(*n)),
        Value::Reg(reg) => KeyValue::Int(i64::from(reg.oid)),
        // Arrays key by their encoding: equal arrays meet, the order is not theirs.
        Value::Array(_) => {
            let mut bytes = Vec::new();
            crate::row::encode(std::slice::from_ref(value), &mut bytes);
            KeyValue::Bytes(bytes)
        }
        Value::Date(d) => KeyValue::Int(i64::from(*d)),
        Value::Time(t) | Value::Timestamp(t) | Value::TimestampTz(t) => KeyValue::Int(*t),
        Value::Interval(i) => KeyValue::Bytes(interval_order_key(i)),
    }
}

/// Bytes whose order is the intervals' (by their length, a month being 30 days).
pub fn interval_order_key(interval: &crate::interval::Interval) -> Vec<u8> {
    let flipped = interval.total_micros() ^ i128::MIN;
    flipped.to_be_bytes().to_vec()
}

/// A row's address as an index entry's value.
pub fn tid_bytes(tid: TupleId) -> [u8; 6] {
    let mut out = [0; 6];
    out[..4].copy_from_slice(&tid.0.to_be_bytes());
    out[4..].copy_from_slice(&tid.1.to_be_bytes());
    out
}

/// The row address an index entry's value holds.
pub fn tid_of(bytes: &[u8]) -> Result<TupleId> {
    match bytes {
        [a, b, c, d, e, f] => Ok((
            u32::from_be_bytes([*a, *b, *c, *d]),
            u16::from_be_bytes([*e, *f]),
        )),
        _ => Err(Error::new(
            SqlState::DATA_CORRUPTED,
            "damaged index entry: its row address",
        )),
    }
}

/// Writes the rows of one table and its indexes.
pub struct TableWriter<'a> {
    store: &'a PageStore,
    table: &'a TableDef,
    indexes: Vec<&'a IndexDef>,
    bytes: Vec<u8>,
}

impl<'a> TableWriter<'a> {
    pub fn new(
        store: &'a PageStore,
        table: &'a TableDef,
        indexes: Vec<&'a IndexDef>,
    ) -> TableWriter<'a> {
        TableWriter {
            store,
            table,
            indexes,
            bytes: Vec::new(),
        }
    }

    pub fn insert(&mut self, txn: &mut Txn<'_>, row: &[Value]) -> Result<TupleId> {
        self.bytes.clear();
        row::encode(row, &mut self.bytes);
        let tid = self.store.heap(self.table.heap)?.insert(txn, &self.bytes)?;
        for index in &self.indexes {
            add_entry(self.store, txn, index, row, tid)
                .map_err(|e| duplicate_detail(e, self.table, index, row))?;
        }
        Ok(tid)
    }

    pub fn delete(&mut self, txn: &mut Txn<'_>, tid: TupleId, row: &[Value]) -> Result<()> {
        self.store.heap(self.table.heap)?.delete(txn, tid)?;
        for index in &self.indexes {
            remove_entry(self.store, txn, index, row, tid)?;
        }
        Ok(())
    }

    pub fn update(
        &mut self,
        txn: &mut Txn<'_>,
        tid: TupleId,
        old: &[Value],
        new: &[Value],
    ) -> Result<TupleId> {
        self.bytes.clear();
        row::encode(new, &mut self.bytes);
        let moved = self
            .store
            .heap(self.table.heap)?
            .update(txn, tid, &self.bytes)?;
        for index in &self.indexes {
            let (old_key, _) = key_of(index, old);
            let (new_key, _) = key_of(index, new);
            if old_key == new_key && moved == tid {
                continue;
            }
            remove_entry(self.store, txn, index, old, tid)?;
            add_entry(self.store, txn, index, new, moved)
                .map_err(|e| duplicate_detail(e, self.table, index, new))?;
        }
        Ok(moved)
    }
}

/// A unique violation of `index` by `row` with PostgreSQL's detail: `Key (a)=(1) already
/// exists.`; any other error as it is.
fn duplicate_detail(e: Error, table: &TableDef, index: &IndexDef, row: &[Value]) -> Error {
    if e.state != SqlState::UNIQUE_VIOLATION {
        return e;
    }
    let columns: Vec<usize> = index.columns.iter().map(|(c, _)| *c).collect();
    let values: Vec<Value> = columns.iter().map(|c| row[*c].clone()).collect();
    let key = key_text(table, &columns, &values);
    e.with_detail(format!("Key {key} already exists."))
}

/// A key as PostgreSQL's details write it: `(a, b)=(1, x)` (NULL as `null`).
pub fn key_text(table: &TableDef, columns: &[usize], values: &[Value]) -> String {
    let names: Vec<&str> = columns
        .iter()
        .map(|c| table.columns[*c].name.as_str())
        .collect();
    let values: Vec<String> = values
        .iter()
        .map(|v| v.to_text().unwrap_or_else(|| "null".into()))
        .collect();
    format!("({})=({})", names.join(", "), values.join(", "))
}

/// Adds the entry of `row` (at `tid`) to `index`; `23505` if a unique index has its key.
pub fn add_entry(
    store: &PageStore,
    txn: &mut Txn<'_>,
    index: &IndexDef,
    row: &[Value],
    tid: TupleId,
) -> Result<()> {
    let (key, has_null) = key_of(index, row);
    if index.hash {
        // A hash index serves only equality, which NULL never satisfies: NULLs stay out.
        if !has_null {
            store
                .hash_index(index.root)
                .insert(txn, &key, &tid_bytes(tid))?;
        }
        return Ok(());
    }
    let unique = index.unique && !has_null;
    match store
        .btree(index.root)
        .insert(txn, &key, &tid_bytes(tid), unique)
    {
        Err(cairn_page::Error::DuplicateKey { .. }) => Err(Error::new(
            SqlState::UNIQUE_VIOLATION,
            format!(
                "duplicate key value violates unique constraint \"{}\"",
                index.name
            ),
        )),
        other => Ok(other?),
    }
}

/// Removes the entry of `row` (at `tid`) from `index`.
fn remove_entry(
    store: &PageStore,
    txn: &mut Txn<'_>,
    index: &IndexDef,
    row: &[Value],
    tid: TupleId,
) -> Result<()> {
    let (key, has_null) = key_of(index, row);
    if index.hash {
        if !has_null {
            store
                .hash_index(index.root)
                .delete(txn, &key, &tid_bytes(tid))?;
        }
        return Ok(());
    }
    store.btree(index.root).delete(txn, &key, &tid_bytes(tid))?;
    Ok(())
}
