//! Reading an index: its entries in key order between two bounds, and look-ups of the table
//! rows they point to (the seed's SearchIndex).
//!
//! Bounds are key prefixes compared in the index's own order (its collations, and DESC
//! columns reversed): `Included(k)` as a lower bound starts at the first entry whose first
//! `k.len()` values equal or follow `k`. Probe values take the indexed column's affinity
//! first, as SQLite converts the right side of `column = value`.

use std::cmp::Ordering;
use std::ops::Bound;

use crate::compare::{compare_prefix, Collation};
use crate::cursor::{at_or_after, BtreeCursor};
use crate::error::{Error, Result};
use crate::header::TextEncoding;
use crate::pager::Pager;
use crate::record::{RawValue, RecordHeader, Value, ValueRef};
use crate::rows::{Row, RowFinder};
use crate::schema::{Index, Table, TableKey};

/// Turns look-up values into probe values for `index`: each takes its column's affinity and
/// the database encoding. Refuses more values than the index has columns, and columns whose
/// collation this reader does not know.
pub(crate) fn probe(
    index: &Index,
    values: &[Value],
    encoding: TextEncoding,
) -> Result<Vec<RawValue>> {
    if values.len() > index.columns.len() {
        return Err(Error::InvalidArgument(format!(
            "index {} has {} columns, not {}",
            index.name,
            index.columns.len(),
            values.len()
        )));
    }
    values
        .iter()
        .zip(&index.columns)
        .map(|(value, column)| {
            if let Collation::Other(name) = &column.collation {
                return Err(Error::Unsupported(format!(
                    "column {} of index {} uses collation {name}, which only the application that registered it knows",
                    column.name, index.name
                )));
            }
            Ok(RawValue::encode(&column.affinity.apply(value.clone()), encoding))
        })
        .collect()
}

/// One index entry, borrowed from its page.
pub struct EntryRef<'e> {
    payload: &'e [u8],
    header: &'e RecordHeader,
    index: &'e Index,
}

impl<'e> EntryRef<'e> {
    /// Number of values: the indexed columns, then the rowid or the missing key columns.
    pub fn len(&self) -> usize {
        self.header.len()
    }

    /// True for an entry of no values (never in a valid file).
    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
    }

    /// Value `i` of the entry.
    pub fn get(&self, i: usize) -> ValueRef<'e> {
        self.header.value(self.payload, i)
    }

    /// The rowid of the table row this entry points to (rowid tables).
    pub fn rowid(&self) -> Option<i64> {
        match (&self.index.table_key, self.len().checked_sub(1)) {
            (TableKey::Rowid, Some(last)) => match self.get(last) {
                ValueRef::Integer(rowid) => Some(rowid),
                _ => None,
            },
            _ => None,
        }
    }

    /// The PRIMARY KEY of the row this entry points to (WITHOUT ROWID tables), in key
    /// order; `None` if the entry is too short to hold it.
    pub fn primary_key(&self) -> Option<Vec<RawValue>> {
        let TableKey::PrimaryKey(positions) = &self.index.table_key else {
            return None;
        };
        positions
            .iter()
            .map(|&p| (p < self.len()).then(|| raw(self.get(p))))
            .collect()
    }
}

fn raw(value: ValueRef<'_>) -> RawValue {
    match value {
        ValueRef::Null => RawValue::Null,
        ValueRef::Integer(n) => RawValue::Integer(n),
        ValueRef::Real(r) => RawValue::Real(r),
        ValueRef::Text(bytes) => RawValue::Text(bytes.to_vec()),
        ValueRef::Blob(bytes) => RawValue::Blob(bytes.to_vec()),
    }
}

/// Entries of an index between two bounds, in index order.
pub struct Entries<'d> {
    index: &'d Index,
    cursor: BtreeCursor<'d>,
    header: RecordHeader,
    encoding: TextEncoding,
    lower: Bound<Vec<RawValue>>,
    upper: Bound<Vec<RawValue>>,
}

impl<'d> Entries<'d> {
    /// Entries of `index` between two bounds (see [`Entries::seek`]).
    pub(crate) fn new(
        pager: &'d Pager,
        index: &'d Index,
        encoding: TextEncoding,
        lower: Bound<&[Value]>,
        upper: Bound<&[Value]>,
    ) -> Result<Entries<'d>> {
        let mut entries = Entries {
            index,
            cursor: BtreeCursor::new(pager, index.root_page, false),
            header: RecordHeader::default(),
            encoding,
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        };
        entries.seek(lower, upper)?;
        Ok(entries)
    }

    /// Starts over between new bounds — key prefixes in index order, each value taking its
    /// column's affinity — reusing this reader's cursor and buffers (for many look-ups).
    pub fn seek(&mut self, lower: Bound<&[Value]>, upper: Bound<&[Value]>) -> Result<()> {
        let (index, encoding) = (self.index, self.encoding);
        let convert = |bound: Bound<&[Value]>| -> Result<Bound<Vec<RawValue>>> {
            Ok(match bound {
                Bound::Included(key) => Bound::Included(probe(index, key, encoding)?),
                Bound::Excluded(key) => Bound::Excluded(probe(index, key, encoding)?),
                Bound::Unbounded => Bound::Unbounded,
            })
        };
        self.lower = convert(lower)?;
        self.upper = convert(upper)?;
        self.cursor.restart();
        Ok(())
    }

    /// The next entry within the bounds, borrowed until the next call.
    pub fn next_entry(&mut self) -> Result<Option<EntryRef<'_>>> {
        let (lower, order, encoding, header) = (
            &self.lower,
            &self.index.order,
            self.encoding,
            &mut self.header,
        );
        let positioned = self.cursor.step(|cursor| {
            let (key, inclusive) = match lower {
                Bound::Unbounded => return cursor.first(),
                Bound::Included(key) => (key, true),
                Bound::Excluded(key) => (key, false),
            };
            cursor.seek_key(|page, payload| {
                header.parse(payload).map_err(|what| page.corrupt(what))?;
                let ordering = compare_prefix(header, payload, key, order, encoding);
                Ok(at_or_after(ordering, inclusive))
            })
        })?;
        if !positioned {
            return Ok(None);
        }
        let payload = self.cursor.payload()?;
        if let Err(what) = self.header.parse(payload) {
            return Err(self.cursor.corrupt(what));
        }
        let past_end = match &self.upper {
            Bound::Unbounded => false,
            Bound::Included(key) | Bound::Excluded(key) => {
                let ordering =
                    compare_prefix(&self.header, payload, key, &self.index.order, self.encoding);
                ordering == Ordering::Greater
                    || (ordering == Ordering::Equal && matches!(self.upper, Bound::Excluded(_)))
            }
        };
        if past_end {
            self.cursor.finish();
            return Ok(None);
        }
        let payload = self.cursor.payload()?;
        Ok(Some(EntryRef {
            payload,
            header: &self.header,
            index: self.index,
        }))
    }
}

/// Finds the rows of `table` whose `index` entries start with `key`: the index seek, then
/// one table look-up per entry.
pub(crate) fn lookup(
    pager: &Pager,
    table: &Table,
    index: &Index,
    key: &[Value],
    encoding: TextEncoding,
) -> Result<Vec<Row>> {
    let mut entries = Entries::new(
        pager,
        index,
        encoding,
        Bound::Included(key),
        Bound::Included(key),
    )?;
    let mut finder = RowFinder::new(pager, table, encoding)?;
    let mut rows = Vec::new();
    while let Some(entry) = entries.next_entry()? {
        let row = match &index.table_key {
            TableKey::Rowid => {
                let rowid = entry.rowid().ok_or_else(|| {
                    pager.corrupt(
                        index.root_page,
                        format!("an entry of index {} has no rowid", index.name),
                    )
                })?;
                finder.by_rowid(rowid)?.map(|row| row.to_row())
            }
            TableKey::PrimaryKey(_) => {
                let key = entry.primary_key().ok_or_else(|| {
                    pager.corrupt(
                        index.root_page,
                        format!("an entry of index {} lacks its key", index.name),
                    )
                })?;
                finder.by_primary_key(&key)?.map(|row| row.to_row())
            }
        };
        match row {
            Some(row) => rows.push(row),
            None => {
                return Err(pager.corrupt(
                    table.root_page,
                    format!(
                        "index {} points to a row table {} does not have",
                        index.name, table.name
                    ),
                ))
            }
        }
    }
    Ok(rows)
}
