//! Reading rows of a table: a full scan in storage order, and single rows by rowid or by
//! PRIMARY KEY.
//!
//! A row is read in place: [`RowRef`] borrows the cursor's page (or its assembled overflow
//! payload) and the record header it decoded, so a scan allocates nothing per row; [`Row`]
//! is the owned copy. Columns are those of [`Table::readable_columns`], in declared order:
//! an INTEGER PRIMARY KEY reads as the rowid, a WITHOUT ROWID table's columns are put back
//! in declared order, and columns missing from a short record read as their default.

use crate::compare::compare_prefix;
use crate::cursor::{at_or_after, BtreeCursor};
use crate::error::{Error, Result};
use crate::header::TextEncoding;
use crate::pager::Pager;
use crate::record::{RawValue, RecordHeader, Value, ValueRef};
use crate::schema::{Affinity, Source, Table};

/// An owned row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The rowid; `None` for a WITHOUT ROWID table.
    pub rowid: Option<i64>,
    /// Values of the table's readable columns in declared order.
    pub values: Vec<Value>,
}

/// A row borrowed from the page it was read from.
pub struct RowRef<'r> {
    rowid: Option<i64>,
    payload: &'r [u8],
    header: &'r RecordHeader,
    table: &'r Table,
    encoding: TextEncoding,
}

impl<'r> RowRef<'r> {
    /// The rowid; `None` for a WITHOUT ROWID table.
    pub fn rowid(&self) -> Option<i64> {
        self.rowid
    }

    /// Number of values: the table's readable columns.
    pub fn len(&self) -> usize {
        self.table.sources.len()
    }

    /// True for a table without readable columns.
    pub fn is_empty(&self) -> bool {
        self.table.sources.is_empty()
    }

    /// Value `i`, in the order of [`Table::readable_columns`].
    #[inline]
    pub fn get(&self, i: usize) -> ValueRef<'r> {
        let (column, source) = self.table.sources[i];
        match source {
            Source::Rowid => ValueRef::Integer(self.rowid.unwrap_or_default()),
            Source::Record(position) if position < self.header.len() => {
                match self.header.value(self.payload, position) {
                    // SQLite stores integral reals as integers to save space and turns
                    // them back when reading a REAL column.
                    ValueRef::Integer(n)
                        if self.table.columns[column].affinity == Affinity::Real =>
                    {
                        ValueRef::Real(n as f64)
                    }
                    value => value,
                }
            }
            Source::Record(_) => self.table.stored_defaults[column].as_ref(),
        }
    }

    /// The owned row.
    pub fn to_row(&self) -> Row {
        Row {
            rowid: self.rowid,
            values: (0..self.len())
                .map(|i| self.get(i).to_value(self.encoding))
                .collect(),
        }
    }
}

/// A scan of a table's rows in storage order: rowid order, or PRIMARY KEY order for a
/// WITHOUT ROWID table.
pub struct Rows<'d> {
    table: &'d Table,
    cursor: BtreeCursor<'d>,
    header: RecordHeader,
    encoding: TextEncoding,
}

impl<'d> Rows<'d> {
    pub(crate) fn new(
        pager: &'d Pager,
        table: &'d Table,
        encoding: TextEncoding,
    ) -> Result<Rows<'d>> {
        check_readable(table)?;
        Ok(Rows {
            table,
            cursor: BtreeCursor::new(pager, table.root_page, !table.without_rowid),
            header: RecordHeader::default(),
            encoding,
        })
    }

    /// The next row, borrowed until the next call.
    pub fn next_row(&mut self) -> Result<Option<RowRef<'_>>> {
        if !self.cursor.step(BtreeCursor::first)? {
            return Ok(None);
        }
        read_row(
            &mut self.cursor,
            &mut self.header,
            self.table,
            self.encoding,
        )
        .map(Some)
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        match self.next_row() {
            Ok(row) => row.map(|row| Ok(row.to_row())),
            Err(error) => {
                self.cursor.finish();
                Some(Err(error))
            }
        }
    }
}

/// Refuses tables that have no b-tree in this file.
pub(crate) fn check_readable(table: &Table) -> Result<()> {
    if table.is_virtual {
        return Err(Error::Unsupported(format!(
            "{} is a virtual table: its rows belong to a module, not to the file",
            table.name
        )));
    }
    Ok(())
}

/// The row the cursor stands on.
fn read_row<'c>(
    cursor: &'c mut BtreeCursor<'_>,
    header: &'c mut RecordHeader,
    table: &'c Table,
    encoding: TextEncoding,
) -> Result<RowRef<'c>> {
    let rowid = if table.without_rowid {
        None
    } else {
        Some(cursor.rowid()?)
    };
    if let Err(what) = header.parse(cursor.payload()?) {
        return Err(cursor.corrupt(what));
    }
    let payload = cursor.payload()?;
    Ok(RowRef {
        rowid,
        payload,
        header,
        table,
        encoding,
    })
}

/// Finds single rows of one table, reusing its cursor between look-ups.
pub struct RowFinder<'d> {
    table: &'d Table,
    cursor: BtreeCursor<'d>,
    header: RecordHeader,
    encoding: TextEncoding,
}

impl<'d> RowFinder<'d> {
    pub(crate) fn new(
        pager: &'d Pager,
        table: &'d Table,
        encoding: TextEncoding,
    ) -> Result<RowFinder<'d>> {
        check_readable(table)?;
        Ok(RowFinder {
            table,
            cursor: BtreeCursor::new(pager, table.root_page, !table.without_rowid),
            header: RecordHeader::default(),
            encoding,
        })
    }

    /// The row with this rowid, in a rowid table.
    pub fn by_rowid(&mut self, rowid: i64) -> Result<Option<RowRef<'_>>> {
        if self.table.without_rowid {
            return Err(Error::InvalidArgument(format!(
                "{} is a WITHOUT ROWID table: find its rows by PRIMARY KEY",
                self.table.name
            )));
        }
        if !self.cursor.seek_rowid(rowid)? || self.cursor.rowid()? != rowid {
            return Ok(None);
        }
        read_row(
            &mut self.cursor,
            &mut self.header,
            self.table,
            self.encoding,
        )
        .map(Some)
    }

    /// The row with these PRIMARY KEY values (in key order, text in the database encoding),
    /// in a WITHOUT ROWID table.
    pub fn by_primary_key(&mut self, key: &[RawValue]) -> Result<Option<RowRef<'_>>> {
        let table = self.table;
        if !table.without_rowid {
            return Err(Error::InvalidArgument(format!(
                "{} has rowids: find its rows by rowid",
                table.name
            )));
        }
        if key.len() != table.primary_key.len() {
            return Err(Error::InvalidArgument(format!(
                "the PRIMARY KEY of {} has {} columns, not {}",
                table.name,
                table.primary_key.len(),
                key.len()
            )));
        }
        let encoding = self.encoding;
        let mut header = RecordHeader::default();
        let found = self.cursor.seek_key(|page, payload| {
            header.parse(payload).map_err(|what| page.corrupt(what))?;
            let ordering = compare_prefix(&header, payload, key, &table.key_order, encoding);
            Ok(at_or_after(ordering, true))
        })?;
        if !found {
            return Ok(None);
        }
        let payload = self.cursor.payload()?;
        header
            .parse(payload)
            .map_err(|what| self.cursor.corrupt(what))?;
        let payload = self.cursor.payload()?;
        if compare_prefix(&header, payload, key, &table.key_order, encoding)
            != std::cmp::Ordering::Equal
        {
            return Ok(None);
        }
        read_row(
            &mut self.cursor,
            &mut self.header,
            self.table,
            self.encoding,
        )
        .map(Some)
    }
}
