//! cairn-sqlite: reads SQLite 3 database files without SQLite.
//!
//! The SQL door will ATTACH such files and `cairn import` will copy them in; this crate is
//! the reader under both. It is read-only and layered like the format:
//!
//! * **the header** (`header.rs`): the 100 bytes at the start of the file, validated;
//! * **the pager** (`pager.rs`, `wal.rs`, `cache.rs`): pages by number from the database
//!   file or, in WAL mode, from the committed frames of its `-wal` file, through an LRU page
//!   cache with a byte budget (100 MB by default), so a file of any size is read in bounded
//!   memory;
//! * **b-tree pages** (`page.rs`): page headers and the four kinds of cell, payloads split
//!   between the page and overflow chains at SQLite's thresholds;
//! * **records** (`record.rs`): varints and every serial type;
//! * **cursors** (`cursor.rs`): in-order iteration and seeks by rowid or key;
//! * **the schema** (`sql.rs`, `schema.rs`): sqlite_schema's rows, the CREATE statements
//!   parsed into columns, affinities, rowid aliases, WITHOUT ROWID layouts and index keys,
//!   automatic indexes included;
//! * **rows and index entries** (`rows.rs`, `entries.rs`, `compare.rs`): table scans, rows
//!   by rowid or primary key, index ranges and look-ups ordered by SQLite's collations.
//!
//! Every offset and page number read from the file is checked before use: a corrupt or
//! truncated file gives [`Error::Corrupt`] naming the file and page, never a panic, a hang
//! or an allocation larger than the file.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("shop.db");
//! # let conn = rusqlite::Connection::open(&path)?;
//! # conn.execute_batch("CREATE TABLE fruit(id INTEGER PRIMARY KEY, name TEXT, price REAL);
//! #     CREATE INDEX fruit_name ON fruit(name);
//! #     INSERT INTO fruit(name, price) VALUES ('apple', 1.5), ('pear', 2.25);")?;
//! # drop(conn);
//! use cairn_sqlite::{Database, Value};
//!
//! let db = Database::open(&path)?;
//! let fruit = db.table("fruit")?;
//! let names: Vec<Value> = db.rows(fruit)?.map(|row| Ok(row?.values[1].clone()))
//!     .collect::<cairn_sqlite::Result<_>>()?;
//! assert_eq!(names, [Value::Text("apple".into()), Value::Text("pear".into())]);
//!
//! let pears = db.lookup(db.index("fruit_name")?, &[Value::Text("pear".into())])?;
//! assert_eq!(pears[0].rowid, Some(2));
//! assert_eq!(pears[0].values[2], Value::Real(2.25));
//! # Ok(())
//! # }
//! ```

mod cache;
mod compare;
mod cursor;
mod entries;
mod error;
mod header;
mod page;
mod pager;
mod record;
mod rows;
mod schema;
mod sql;
mod wal;

use std::ops::Bound;
use std::path::Path;

pub use compare::Collation;
pub use entries::{Entries, EntryRef};
pub use error::{Error, Result};
pub use header::{Header, TextEncoding};
pub use record::{RawValue, Value, ValueRef};
pub use rows::{Row, RowFinder, RowRef, Rows};
pub use schema::{format_real, Affinity, Column, Index, IndexColumn, Schema, SchemaEntry, Table};
pub use sql::parse_literal;

use pager::Pager;

/// How to open a database.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bytes of pages the cache keeps (at least 16 pages whatever the budget).
    pub cache_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            cache_bytes: 100 * 1024 * 1024,
        }
    }
}

/// An open SQLite database file, read-only.
pub struct Database {
    pager: Pager,
    header: Header,
    schema: Schema,
    schema_table: Table,
}

impl Database {
    /// Opens the database at `path` with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, Options::default())
    }

    /// Opens the database at `path`: reads its header, its WAL if it is in WAL mode, and its
    /// schema.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Database> {
        let (pager, header) = Pager::open(path.as_ref(), options.cache_bytes)?;
        let schema_table = Table::schema_table("sqlite_schema");
        let mut database = Database {
            pager,
            header,
            schema: Schema::default(),
            schema_table,
        };
        let entries = database.read_schema_entries()?;
        database.schema = Schema::from_entries(
            entries,
            database.header.schema_format >= 4,
            database.header.text_encoding,
        );
        Ok(database)
    }

    fn read_schema_entries(&self) -> Result<Vec<SchemaEntry>> {
        let mut rows = Rows::new(&self.pager, &self.schema_table, self.header.text_encoding)?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next_row()? {
            let text = |i: usize| match row.get(i) {
                ValueRef::Text(bytes) => Some(self.header.text_encoding.decode(bytes)),
                _ => None,
            };
            entries.push(SchemaEntry {
                kind: text(0).unwrap_or_default(),
                name: text(1).unwrap_or_default(),
                table_name: text(2).unwrap_or_default(),
                root_page: match row.get(3) {
                    ValueRef::Integer(page) => u32::try_from(page).unwrap_or(0),
                    _ => 0,
                },
                sql: text(4),
            });
        }
        Ok(entries)
    }

    /// The database header (from the WAL when page 1 was changed there).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Pages in the database as this reader sees it.
    pub fn page_count(&self) -> u32 {
        self.pager.page_count()
    }

    /// Committed WAL frames this reader applies over the database file.
    pub fn wal_frames(&self) -> u64 {
        self.pager.wal_frames()
    }

    /// Decodes text read from this database.
    pub fn decode_text(&self, bytes: &[u8]) -> String {
        self.header.text_encoding.decode(bytes)
    }

    /// The table called `name` (case-insensitive); `sqlite_schema` and `sqlite_master` name
    /// the schema table.
    pub fn table(&self, name: &str) -> Result<&Table> {
        if ["sqlite_schema", "sqlite_master"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
        {
            return Ok(&self.schema_table);
        }
        self.schema
            .table(name)
            .ok_or_else(|| self.missing(name, Error::NoSuchTable(name.to_string())))
    }

    /// The index called `name` (case-insensitive).
    pub fn index(&self, name: &str) -> Result<&Index> {
        self.schema
            .index(name)
            .ok_or_else(|| self.missing(name, Error::NoSuchIndex(name.to_string())))
    }

    /// Why the object `name` is not in the schema: its SQL was not understood, or else
    /// `not_found`.
    fn missing(&self, name: &str, not_found: Error) -> Error {
        match self
            .schema
            .unreadable
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, why)) => Error::Unsupported(why.clone()),
            None => not_found,
        }
    }

    /// The table an index belongs to.
    pub fn table_of(&self, index: &Index) -> Result<&Table> {
        self.table(&index.table)
    }

    /// All rows of `table` in storage order.
    pub fn rows<'d>(&'d self, table: &'d Table) -> Result<Rows<'d>> {
        Rows::new(&self.pager, table, self.header.text_encoding)
    }

    /// Number of rows of `table` (read from the b-tree's cell counts, no record decoded).
    pub fn count_rows(&self, table: &Table) -> Result<u64> {
        rows::check_readable(table)?;
        cursor::BtreeCursor::new(&self.pager, table.root_page, !table.without_rowid).count()
    }

    /// A finder of single rows of `table`, for many look-ups with one cursor.
    pub fn row_finder<'d>(&'d self, table: &'d Table) -> Result<RowFinder<'d>> {
        RowFinder::new(&self.pager, table, self.header.text_encoding)
    }

    /// The row of `table` with this rowid.
    pub fn row(&self, table: &Table, rowid: i64) -> Result<Option<Row>> {
        Ok(self
            .row_finder(table)?
            .by_rowid(rowid)?
            .map(|row| row.to_row()))
    }

    /// The row of a WITHOUT ROWID `table` with these PRIMARY KEY values, in key order; each
    /// takes its column's affinity.
    pub fn row_by_primary_key(&self, table: &Table, key: &[Value]) -> Result<Option<Row>> {
        let encoding = self.header.text_encoding;
        let key: Vec<RawValue> = key
            .iter()
            .zip(&table.primary_key)
            .map(|(value, &column)| {
                RawValue::encode(
                    &table.columns[column].affinity.apply(value.clone()),
                    encoding,
                )
            })
            .chain(
                key.iter()
                    .skip(table.primary_key.len())
                    .map(|v| RawValue::encode(v, encoding)),
            )
            .collect();
        Ok(self
            .row_finder(table)?
            .by_primary_key(&key)?
            .map(|row| row.to_row()))
    }

    /// Entries of `index` from `lower` to `upper`, bounds being key prefixes in index order.
    pub fn entries<'d>(
        &'d self,
        index: &'d Index,
        lower: Bound<&[Value]>,
        upper: Bound<&[Value]>,
    ) -> Result<Entries<'d>> {
        Entries::new(&self.pager, index, self.header.text_encoding, lower, upper)
    }

    /// The rows whose `index` key starts with `key` (equality on the first `key.len()`
    /// indexed columns), in index order.
    pub fn lookup(&self, index: &Index, key: &[Value]) -> Result<Vec<Row>> {
        let table = self.table_of(index)?;
        let encoding = self.header.text_encoding;
        entries::lookup(&self.pager, table, index, key, encoding)
    }

    /// Reads everything the file holds — every row of every table, every entry of every
    /// index, the freelist — and returns the number of rows and entries read. This is how
    /// to find out whether a file is wholly readable: the first damage found is the error.
    pub fn read_everything(&self) -> Result<u64> {
        let mut read = 0;
        for table in self.schema.tables.iter().chain([&self.schema_table]) {
            if table.is_virtual {
                continue;
            }
            let mut rows = self.rows(table)?;
            while let Some(row) = rows.next_row()? {
                read += 1;
                for i in 0..row.len() {
                    std::hint::black_box(row.get(i));
                }
            }
        }
        for index in &self.schema.indexes {
            let mut entries = self.entries(index, Bound::Unbounded, Bound::Unbounded)?;
            while let Some(entry) = entries.next_entry()? {
                read += 1;
                for i in 0..entry.len() {
                    std::hint::black_box(entry.get(i));
                }
            }
        }
        self.freelist_pages()?;
        Ok(read)
    }

    /// Walks the freelist and returns its page count, checking it against the header's.
    pub fn freelist_pages(&self) -> Result<u32> {
        let mut trunk = self.header.first_freelist_trunk;
        let mut count: u64 = 0;
        let mut trunks = 0u32;
        let per_trunk = (self.pager.usable_size() / 4 - 2) as u32;
        while trunk != 0 {
            trunks += 1;
            if trunks > self.pager.page_count() {
                return Err(self.pager.corrupt(trunk, "the freelist loops"));
            }
            let page = self.pager.page(trunk)?;
            let bytes = page.bytes();
            let word = |at: usize| {
                u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            };
            let leaves = word(4);
            if leaves > per_trunk {
                return Err(page.corrupt(format!(
                    "freelist trunk lists {leaves} pages, more than fit"
                )));
            }
            for i in 0..leaves as usize {
                let leaf = word(8 + 4 * i);
                if leaf == 0 || leaf > self.pager.page_count() {
                    return Err(page.corrupt(format!("freelist leaf page {leaf} is out of range")));
                }
            }
            count += 1 + u64::from(leaves);
            trunk = word(0);
        }
        if count != u64::from(self.header.freelist_pages) {
            return Err(self.pager.corrupt(
                1,
                format!(
                    "the freelist holds {count} pages, the header says {}",
                    self.header.freelist_pages
                ),
            ));
        }
        Ok(count as u32)
    }
}
