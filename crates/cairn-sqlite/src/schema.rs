//! The schema: what sqlite_schema (page 1's table) lists, and for each table and index how
//! its rows and keys are laid out in records.
//!
//! Layout rules SQLite follows, which this module turns into positions:
//!
//! * a rowid table stores every column except VIRTUAL generated ones, in declared order; an
//!   INTEGER PRIMARY KEY column is an alias of the rowid and stored as NULL;
//! * a WITHOUT ROWID table is an index b-tree whose records hold the PRIMARY KEY columns
//!   first, in key order, then the other stored columns in declared order;
//! * an index record holds the indexed columns, then the rowid — or, for a WITHOUT ROWID
//!   table, the PRIMARY KEY columns the index does not already hold;
//! * PRIMARY KEY and UNIQUE constraints get automatic indexes named
//!   `sqlite_autoindex_<table>_<n>`, numbered in the order the constraints appear, a
//!   constraint identical to an earlier one getting none; these have no SQL of their own, so
//!   their columns come from the table's.

use crate::compare::{Collation, KeyOrder};
use crate::error::{Error, Result};
use crate::header::TextEncoding;
use crate::record::{RawValue, Value};
use crate::sql::{
    parse_create_index, parse_create_table, IndexedColumnDef, KeyConstraint, TableDef,
};

/// A row of sqlite_schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaEntry {
    /// "table", "index", "view" or "trigger".
    pub kind: String,
    pub name: String,
    pub table_name: String,
    /// Root page of the b-tree; 0 for views, triggers and virtual tables.
    pub root_page: u32,
    /// The statement that created it; none for automatic indexes.
    pub sql: Option<String>,
}

/// How values of a column are converted when stored (SQLite's type affinity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    /// The affinity of a declared type, by SQLite's five rules in order.
    pub fn of_declared_type(declared: &str) -> Affinity {
        let upper = declared.to_ascii_uppercase();
        if upper.contains("INT") {
            Affinity::Integer
        } else if ["CHAR", "CLOB", "TEXT"].iter().any(|w| upper.contains(w)) {
            Affinity::Text
        } else if upper.contains("BLOB") || upper.trim().is_empty() {
            Affinity::Blob
        } else if ["REAL", "FLOA", "DOUB"].iter().any(|w| upper.contains(w)) {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Affinity::Integer => "INTEGER",
            Affinity::Text => "TEXT",
            Affinity::Blob => "BLOB",
            Affinity::Real => "REAL",
            Affinity::Numeric => "NUMERIC",
        }
    }

    /// Converts a value as SQLite does when storing it in a column of this affinity, or
    /// when comparing such a column with it.
    pub fn apply(self, value: Value) -> Value {
        match (self, value) {
            (Affinity::Text, Value::Integer(n)) => Value::Text(n.to_string()),
            (Affinity::Text, Value::Real(r)) => Value::Text(format_real(r)),
            (Affinity::Integer | Affinity::Numeric | Affinity::Real, Value::Text(text)) => {
                match parse_number(&text) {
                    Some(number) => self.apply(number),
                    None => Value::Text(text),
                }
            }
            (Affinity::Real, Value::Integer(n)) => Value::Real(n as f64),
            (Affinity::Integer | Affinity::Numeric, Value::Real(r))
                if r.fract() == 0.0
                    && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&r) =>
            {
                Value::Integer(r as i64)
            }
            (_, value) => value,
        }
    }
}

/// Text that is wholly a decimal number (surrounding spaces allowed), as SQLite's numeric
/// affinities recognise it.
fn parse_number(text: &str) -> Option<Value> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty()
        || !trimmed.bytes().any(|b| b.is_ascii_digit())
        || !trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    if let Ok(n) = trimmed.parse::<i64>() {
        return Some(Value::Integer(n));
    }
    trimmed.parse::<f64>().ok().map(Value::Real)
}

/// A real as SQLite renders it in text: shortest round-trip digits, `.0` on integral values.
pub fn format_real(r: f64) -> String {
    if r.fract() == 0.0 && r.abs() < 1e15 {
        format!("{r:.1}")
    } else {
        format!("{r:?}")
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// The declared type as written; `""` when the column has none.
    pub declared_type: String,
    pub affinity: Affinity,
    pub not_null: bool,
    /// The value of a constant DEFAULT clause, affinity applied: what rows written before
    /// ALTER TABLE ADD COLUMN read as.
    pub default: Option<Value>,
    /// The DEFAULT clause's text, constant or not.
    pub default_sql: Option<String>,
    pub collation: Collation,
    /// Part of the PRIMARY KEY.
    pub primary_key: bool,
    /// Some(true) for a STORED generated column, Some(false) for VIRTUAL: SQLite computes
    /// virtual columns when read, and they are not in the file.
    pub generated_stored: Option<bool>,
}

impl Column {
    /// False for VIRTUAL generated columns, whose values are not in the file.
    pub fn is_stored(&self) -> bool {
        self.generated_stored != Some(false)
    }
}

/// Where a table column's value is found in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The row's rowid (an INTEGER PRIMARY KEY column).
    Rowid,
    /// Value `n` of the record.
    Record(usize),
}

/// A table: its columns and how its rows are stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub root_page: u32,
    pub sql: Option<String>,
    pub columns: Vec<Column>,
    pub without_rowid: bool,
    pub strict: bool,
    /// The INTEGER PRIMARY KEY column that aliases the rowid.
    pub rowid_alias: Option<usize>,
    /// Columns of the PRIMARY KEY in key order (empty when there is none).
    pub primary_key: Vec<usize>,
    /// A virtual table (CREATE VIRTUAL TABLE): its rows belong to a module, not to a b-tree
    /// of this file.
    pub is_virtual: bool,
    /// For each stored column (see [`Table::readable_columns`]), where its value is.
    pub(crate) sources: Vec<(usize, Source)>,
    /// Key order of a WITHOUT ROWID table's b-tree: its PRIMARY KEY columns.
    pub(crate) key_order: Vec<KeyOrder>,
    /// Each column's default in the database encoding (NULL when it has none), for
    /// records shorter than the table.
    pub(crate) stored_defaults: Vec<RawValue>,
    /// The PRIMARY KEY and UNIQUE constraints, in the order they were written.
    key_constraints: Vec<KeyConstraint>,
}

impl Table {
    /// The columns whose values a row read from the file has, in declared order: all but
    /// VIRTUAL generated columns.
    pub fn readable_columns(&self) -> impl Iterator<Item = &Column> {
        self.sources
            .iter()
            .map(|&(column, _)| &self.columns[column])
    }

    /// Index of the column called `name` (case-insensitive), as SQLite resolves names.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The table sqlite_schema itself, rooted at page 1.
    pub fn schema_table(name: &str) -> Table {
        let sql = format!(
            "CREATE TABLE {name}(type text, name text, tbl_name text, rootpage integer, sql text)"
        );
        Table::from_sql(name, 1, &sql, true, TextEncoding::Utf8)
            .expect("the schema table's SQL parses")
    }

    /// The table created by `sql`, stored at `root_page`. `descending` is false for schema
    /// format 1, where DESC in keys is ignored.
    pub fn from_sql(
        name: &str,
        root_page: u32,
        sql: &str,
        descending: bool,
        encoding: TextEncoding,
    ) -> Result<Table> {
        if sql
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("CREATE VIRTUAL")
        {
            return Ok(Table {
                name: name.to_string(),
                root_page,
                sql: Some(sql.to_string()),
                columns: Vec::new(),
                without_rowid: false,
                strict: false,
                rowid_alias: None,
                primary_key: Vec::new(),
                is_virtual: true,
                sources: Vec::new(),
                key_order: Vec::new(),
                stored_defaults: Vec::new(),
                key_constraints: Vec::new(),
            });
        }
        let def = parse_create_table(sql)
            .map_err(|what| Error::Unsupported(format!("the schema of table {name}: {what}")))?;
        Table::from_def(name, root_page, sql, def, descending, encoding)
    }

    fn from_def(
        name: &str,
        root_page: u32,
        sql: &str,
        def: TableDef,
        descending: bool,
        encoding: TextEncoding,
    ) -> Result<Table> {
        let invalid =
            |what: String| Error::Unsupported(format!("the schema of table {name}: {what}"));
        let mut columns: Vec<Column> = def
            .columns
            .iter()
            .map(|c| {
                let affinity = if def.strict && c.declared_type.eq_ignore_ascii_case("ANY") {
                    Affinity::Blob
                } else {
                    Affinity::of_declared_type(&c.declared_type)
                };
                Column {
                    name: c.name.clone(),
                    declared_type: c.declared_type.clone(),
                    affinity,
                    not_null: c.not_null,
                    default: c.default.clone().map(|v| affinity.apply(v)),
                    default_sql: c.default_sql.clone(),
                    collation: c
                        .collation
                        .as_deref()
                        .map_or(Collation::Binary, Collation::from_name),
                    primary_key: false,
                    generated_stored: c.generated_stored,
                }
            })
            .collect();
        let mut table = Table {
            name: name.to_string(),
            root_page,
            sql: Some(sql.to_string()),
            columns: Vec::new(),
            without_rowid: def.without_rowid,
            strict: def.strict,
            rowid_alias: None,
            primary_key: Vec::new(),
            is_virtual: false,
            sources: Vec::new(),
            key_order: Vec::new(),
            stored_defaults: Vec::new(),
            key_constraints: def.keys.clone(),
        };
        if let Some(pk) = def.keys.iter().find(|k| k.primary) {
            for key_column in &pk.columns {
                let column = columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&key_column.name))
                    .filter(|_| !key_column.is_expression)
                    .ok_or_else(|| {
                        invalid(format!("PRIMARY KEY names no column {}", key_column.name))
                    })?;
                if !table.primary_key.contains(&column) {
                    table.primary_key.push(column);
                    table.key_order.push(KeyOrder {
                        collation: key_column.collation.as_deref().map_or_else(
                            || columns[column].collation.clone(),
                            Collation::from_name,
                        ),
                        descending: descending && key_column.descending,
                    });
                }
                columns[column].primary_key = true;
            }
            if !def.without_rowid
                && table.primary_key.len() == 1
                && columns[table.primary_key[0]]
                    .declared_type
                    .trim()
                    .eq_ignore_ascii_case("INTEGER")
                && !pk.column_level_desc
            {
                table.rowid_alias = Some(table.primary_key[0]);
            }
        }
        if def.without_rowid && table.primary_key.is_empty() {
            return Err(invalid(
                "a WITHOUT ROWID table without a PRIMARY KEY".into(),
            ));
        }

        table.sources = record_sources(&table, &columns);
        table.stored_defaults = columns
            .iter()
            .map(|c| RawValue::encode(c.default.as_ref().unwrap_or(&Value::Null), encoding))
            .collect();
        table.columns = columns;
        Ok(table)
    }

    /// The PRIMARY KEY and UNIQUE constraints that have automatic indexes, in the order of
    /// their numbers (`sqlite_autoindex_<table>_1` first); the WITHOUT ROWID primary key
    /// takes a number but is the table itself.
    fn automatic_index_constraints(&self) -> Vec<&KeyConstraint> {
        let mut created: Vec<&KeyConstraint> = Vec::new();
        for constraint in &self.key_constraints {
            let is_alias = constraint.primary && self.rowid_alias.is_some();
            let duplicate = created
                .iter()
                .any(|earlier| same_key(earlier, constraint, self));
            if !is_alias && !duplicate {
                created.push(constraint);
            }
        }
        created
    }
}

fn same_key(a: &KeyConstraint, b: &KeyConstraint, table: &Table) -> bool {
    let collation = |c: &IndexedColumnDef| {
        c.collation
            .as_deref()
            .map(Collation::from_name)
            .unwrap_or_else(|| {
                table
                    .column_index(&c.name)
                    .map_or(Collation::Binary, |i| table.columns[i].collation.clone())
            })
    };
    a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| x.name.eq_ignore_ascii_case(&y.name) && collation(x) == collation(y))
}

/// A column of an index key.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexColumn {
    /// The table column's name, or the expression's text.
    pub name: String,
    /// The table column, `None` for an expression.
    pub column: Option<usize>,
    pub collation: Collation,
    pub descending: bool,
    /// The column's affinity, applied to values looked up by it (BLOB for expressions).
    pub affinity: Affinity,
}

/// How an index entry leads to its table row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TableKey {
    /// The last value of the record is the rowid.
    Rowid,
    /// The PRIMARY KEY values are at these record positions, in key order.
    PrimaryKey(Vec<usize>),
}

/// An index: its key columns and record layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub name: String,
    pub table: String,
    pub root_page: u32,
    pub sql: Option<String>,
    pub unique: bool,
    /// The WHERE clause of a partial index.
    pub partial: Option<String>,
    /// The indexed columns (not the rowid or key columns appended to each entry).
    pub columns: Vec<IndexColumn>,
    /// Comparison of every value of an entry, appended ones included.
    pub(crate) order: Vec<KeyOrder>,
    pub(crate) table_key: TableKey,
}

impl Index {
    /// The index described by `entry` on `table`.
    pub fn from_entry(entry: &SchemaEntry, table: &Table, descending: bool) -> Result<Index> {
        let invalid = |what: String| {
            Error::Unsupported(format!("the schema of index {}: {what}", entry.name))
        };
        let (unique, partial, key_columns) = match &entry.sql {
            Some(sql) => {
                let def = parse_create_index(sql).map_err(invalid)?;
                (def.unique, def.partial, def.columns)
            }
            None => {
                let number = entry
                    .name
                    .rsplit('_')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|_| entry.name.starts_with("sqlite_autoindex_"))
                    .ok_or_else(|| {
                        invalid("an index without SQL that is not an automatic index".into())
                    })?;
                let constraints = table.automatic_index_constraints();
                let constraint = constraints.get(number.wrapping_sub(1)).ok_or_else(|| {
                    invalid(format!(
                        "table {} has no constraint number {number}",
                        table.name
                    ))
                })?;
                (true, None, constraint.columns.clone())
            }
        };
        let columns: Vec<IndexColumn> = key_columns
            .iter()
            .map(|def| {
                let column = (!def.is_expression)
                    .then(|| table.column_index(&def.name))
                    .flatten();
                IndexColumn {
                    name: column
                        .map_or_else(|| def.name.clone(), |c| table.columns[c].name.clone()),
                    column,
                    collation: def
                        .collation
                        .as_deref()
                        .map(Collation::from_name)
                        .unwrap_or_else(|| {
                            column.map_or(Collation::Binary, |c| table.columns[c].collation.clone())
                        }),
                    descending: descending && def.descending,
                    affinity: column.map_or(Affinity::Blob, |c| table.columns[c].affinity),
                }
            })
            .collect();
        let mut order: Vec<KeyOrder> = columns
            .iter()
            .map(|c| KeyOrder {
                collation: c.collation.clone(),
                descending: c.descending,
            })
            .collect();
        let table_key = if table.without_rowid {
            let mut positions = Vec::new();
            for (key_position, &pk_column) in table.primary_key.iter().enumerate() {
                let pk_order = &table.key_order[key_position];
                let already = columns
                    .iter()
                    .position(|c| c.column == Some(pk_column) && c.collation == pk_order.collation);
                match already {
                    Some(position) => positions.push(position),
                    None => {
                        positions.push(order.len());
                        order.push(pk_order.clone());
                    }
                }
            }
            TableKey::PrimaryKey(positions)
        } else {
            order.push(KeyOrder::binary());
            TableKey::Rowid
        };
        Ok(Index {
            name: entry.name.clone(),
            table: table.name.clone(),
            root_page: entry.root_page,
            sql: entry.sql.clone(),
            unique,
            partial,
            columns,
            order,
            table_key,
        })
    }
}

/// Everything sqlite_schema describes.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Every row of sqlite_schema, in its order.
    pub entries: Vec<SchemaEntry>,
    pub tables: Vec<Table>,
    pub indexes: Vec<Index>,
    /// Objects whose SQL this reader could not understand, with the reason; they are left
    /// out of `tables` and `indexes` rather than failing the whole schema.
    pub unreadable: Vec<(String, String)>,
}

impl Schema {
    /// Builds the schema from the rows of sqlite_schema.
    pub fn from_entries(
        entries: Vec<SchemaEntry>,
        descending: bool,
        encoding: TextEncoding,
    ) -> Schema {
        let mut schema = Schema {
            entries,
            ..Schema::default()
        };
        for entry in schema.entries.iter().filter(|e| e.kind == "table") {
            match entry.sql.as_deref() {
                Some(sql) => {
                    match Table::from_sql(&entry.name, entry.root_page, sql, descending, encoding) {
                        Ok(table) => schema.tables.push(table),
                        Err(error) => schema
                            .unreadable
                            .push((entry.name.clone(), error.to_string())),
                    }
                }
                None => schema
                    .unreadable
                    .push((entry.name.clone(), "a table without SQL".into())),
            }
        }
        for entry in schema.entries.iter().filter(|e| e.kind == "index") {
            let built = match schema
                .tables
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(&entry.table_name))
            {
                Some(table) => Index::from_entry(entry, table, descending),
                None => Err(Error::NoSuchTable(entry.table_name.clone())),
            };
            match built {
                Ok(index) => schema.indexes.push(index),
                Err(error) => schema
                    .unreadable
                    .push((entry.name.clone(), error.to_string())),
            }
        }
        schema
    }

    /// The table called `name` (case-insensitive); sqlite_schema and sqlite_master name the
    /// schema table itself.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The index called `name` (case-insensitive).
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
    }

    /// The indexes of table `name`.
    pub fn indexes_of<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Index> + 's {
        self.indexes
            .iter()
            .filter(move |i| i.table.eq_ignore_ascii_case(name))
    }
}

/// Where each stored column's value is in a row: after the key columns, in order, in a
/// WITHOUT ROWID table's record; the rowid for a rowid alias; else its place in the record.
fn record_sources(table: &Table, columns: &[Column]) -> Vec<(usize, Source)> {
    let stored: Vec<usize> = (0..columns.len())
        .filter(|&c| columns[c].is_stored())
        .collect();
    if table.without_rowid {
        let mut position = table.primary_key.len();
        let mut sources = Vec::new();
        for &column in &stored {
            let source = match table.primary_key.iter().position(|&k| k == column) {
                Some(key_position) => Source::Record(key_position),
                None => {
                    position += 1;
                    Source::Record(position - 1)
                }
            };
            sources.push((column, source));
        }
        sources
    } else {
        stored
            .iter()
            .enumerate()
            .map(|(position, &column)| {
                let source = if table.rowid_alias == Some(column) {
                    Source::Rowid
                } else {
                    Source::Record(position)
                };
                (column, source)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_follows_sqlites_rules() {
        for (declared, affinity) in [
            ("INT", Affinity::Integer),
            ("TINYINT", Affinity::Integer),
            ("VARCHAR(255)", Affinity::Text),
            ("CLOB", Affinity::Text),
            ("", Affinity::Blob),
            ("BLOB", Affinity::Blob),
            ("DOUBLE PRECISION", Affinity::Real),
            ("FLOATING POINT", Affinity::Integer),
            ("DECIMAL(10,5)", Affinity::Numeric),
            ("BOOLEAN", Affinity::Numeric),
        ] {
            assert_eq!(Affinity::of_declared_type(declared), affinity, "{declared}");
        }
        assert_eq!(
            Affinity::Integer.apply(Value::Text(" 42 ".into())),
            Value::Integer(42)
        );
        assert_eq!(
            Affinity::Integer.apply(Value::Text("4x".into())),
            Value::Text("4x".into())
        );
        assert_eq!(
            Affinity::Numeric.apply(Value::Text("3.0".into())),
            Value::Integer(3)
        );
        assert_eq!(
            Affinity::Real.apply(Value::Text("3".into())),
            Value::Real(3.0)
        );
        assert_eq!(
            Affinity::Text.apply(Value::Integer(7)),
            Value::Text("7".into())
        );
        assert_eq!(
            Affinity::Blob.apply(Value::Text("7".into())),
            Value::Text("7".into())
        );
    }

    #[test]
    fn rowid_tables_alias_integer_primary_keys_only() {
        let alias = Table::from_sql(
            "t",
            2,
            "CREATE TABLE t(a, id INTEGER PRIMARY KEY, b)",
            true,
            TextEncoding::Utf8,
        )
        .expect("ok");
        assert_eq!(alias.rowid_alias, Some(1));
        assert_eq!(alias.sources[1], (1, Source::Rowid));
        let int = Table::from_sql(
            "t",
            2,
            "CREATE TABLE t(id INT PRIMARY KEY)",
            true,
            TextEncoding::Utf8,
        )
        .expect("ok");
        assert_eq!(int.rowid_alias, None);
        let desc = Table::from_sql(
            "t",
            2,
            "CREATE TABLE t(id INTEGER PRIMARY KEY DESC)",
            true,
            TextEncoding::Utf8,
        )
        .expect("ok");
        assert_eq!(desc.rowid_alias, None, "SQLite's quirk");
        let table_level = Table::from_sql(
            "t",
            2,
            "CREATE TABLE t(id integer, PRIMARY KEY(id DESC))",
            true,
            TextEncoding::Utf8,
        )
        .expect("ok");
        assert_eq!(table_level.rowid_alias, Some(0));
    }

    #[test]
    fn without_rowid_records_put_the_key_first() {
        let table = Table::from_sql(
            "t",
            2,
            "CREATE TABLE t(a, b, c AS (a + 1), d, PRIMARY KEY(d, b)) WITHOUT ROWID",
            true,
            TextEncoding::Utf8,
        )
        .expect("ok");
        assert_eq!(table.primary_key, vec![3, 1]);
        assert_eq!(
            table.sources,
            vec![
                (0, Source::Record(2)),
                (1, Source::Record(1)),
                (3, Source::Record(0))
            ]
        );
    }
}
