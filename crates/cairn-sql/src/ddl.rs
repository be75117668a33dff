//! The statements that change the catalog: `CREATE TABLE`, `CREATE [UNIQUE] INDEX`,
//! `CREATE VIEW` and `DROP TABLE | INDEX | VIEW`, each one durable transaction, one writer at a
//! time.
//!
//! A `PRIMARY KEY` is a unique index named `TABLE_pkey` whose columns become NOT NULL; a
//! `UNIQUE` constraint a unique index named `TABLE_COLUMN_key` (PostgreSQL's names). An
//! index is filled from the table's rows in the statement that creates it, and creating a
//! unique index over duplicate keys fails with `23505`. A view's definition is kept as its
//! statement's text and planned again at each use; it is checked (planned once) when created.

use cairn_page::{PageStore, Txn};
use sqlparser::ast::{
    ColumnOption, CreateIndex, CreateTable, CreateView, Expr as SqlExpr, GeneratedAs, IndexColumn,
    IndexType, ObjectName, ObjectType, OrderByExpr, SequenceOptions, TableConstraint,
};

use crate::bind::{data_type_of, ident_name, Binder, Context};
use crate::catalog::{undefined, Catalog, ColumnDef, IndexDef, TableDef, ViewDef};
use crate::database::Database;
use crate::error::{Error, Result, SqlState};
use crate::foreign::ForeignKeyDef;
use crate::index::{add_entry, TableWriter};
use crate::planner;
use crate::row;
use crate::scope::Scope;
use crate::sequence::SequenceDef;
use crate::session::{table_name, QueryResult};

/// An index a CREATE TABLE asks for: its name, columns and whether it is the primary key.
struct KeyConstraint {
    name: String,
    columns: Vec<usize>,
    primary: bool,
}

/// What a CREATE TABLE defines, as its columns and constraints are read.
#[derive(Default)]
struct NewTable {
    columns: Vec<ColumnDef>,
    keys: Vec<KeyConstraint>,
    checks: Vec<(String, String)>,
    sequences: Vec<SequenceDef>,
    references: Vec<(Vec<usize>, sqlparser::ast::ForeignKeyConstraint)>,
}

/// A column of table `name` and what its options define.
fn add_column(name: &str, column: &sqlparser::ast::ColumnDef, new: &mut NewTable) -> Result<()> {
    let NewTable {
        columns,
        keys,
        checks,
        sequences,
        references,
    } = new;
    let column_name = ident_name(&column.name);
    if columns.iter().any(|c| c.name == column_name) {
        return Err(Error::new(
            SqlState::DUPLICATE_COLUMN,
            format!("column \"{column_name}\" specified more than once"),
        ));
    }
    let serial = serial_type(&column.data_type);
    let (data_type, max_chars, numeric) = match serial {
        Some(ty) => (ty, None, None),
        None => column_type(&column.data_type)?,
    };
    let mut def = ColumnDef {
        name: column_name.clone(),
        data_type,
        max_chars,
        numeric,
        not_null: false,
        default: None,
    };
    let mut owns_sequence = serial.is_some();
    let position = columns.len();
    for option in &column.options {
        match &option.option {
            ColumnOption::NotNull => def.not_null = true,
            ColumnOption::Null => def.not_null = false,
            ColumnOption::Default(expr) => def.default = Some(expr.to_string()),
            ColumnOption::PrimaryKey(_) => keys.push(KeyConstraint {
                name: format!("{name}_pkey"),
                columns: vec![position],
                primary: true,
            }),
            ColumnOption::Unique(_) => keys.push(KeyConstraint {
                name: format!("{name}_{column_name}_key"),
                columns: vec![position],
                primary: false,
            }),
            ColumnOption::Generated {
                generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
                generation_expr: None,
                ..
            } => {
                owns_sequence = true;
                def.not_null = true;
            }
            ColumnOption::ForeignKey(fk) => {
                // `CONSTRAINT name REFERENCES …` names it on the column option.
                let mut fk = fk.clone();
                if fk.name.is_none() {
                    fk.name = option.name.clone();
                }
                references.push((vec![position], fk))
            }
            ColumnOption::Check(check) => checks.push((
                check
                    .name
                    .as_ref()
                    .map_or_else(|| format!("{name}_{column_name}_check"), ident_name),
                check.expr.to_string(),
            )),
            _ => return Err(Error::not_supported(&format!("the column option {option}"))),
        }
    }
    if owns_sequence {
        // SERIAL and identity columns: a sequence of the column's own, its DEFAULT.
        let sequence = format!("{name}_{column_name}_seq");
        def.not_null = true;
        def.default = Some(format!("nextval('{sequence}')"));
        sequences.push(SequenceDef {
            name: sequence,
            increment: 1,
            start: 1,
            min: 1,
            max: max_of(def.data_type),
            owner: Some(format!("{name}.{column_name}")),
        });
    }
    columns.push(def);

    Ok(())
}

/// A table constraint of table `name`: a key, a CHECK or a FOREIGN KEY.
fn add_constraint(name: &str, constraint: &TableConstraint, new: &mut NewTable) -> Result<()> {
    let NewTable {
        columns,
        keys,
        checks,
        references,
        ..
    } = new;
    let (primary, constraint_name, index_columns) = match constraint {
        TableConstraint::PrimaryKey(pk) => (true, pk.name.as_ref(), &pk.columns),
        TableConstraint::Unique(u) => (false, u.name.as_ref(), &u.columns),
        TableConstraint::ForeignKey(fk) => {
            let positions = fk
                .columns
                .iter()
                .map(|c| {
                    let n = ident_name(c);
                    columns.iter().position(|d| d.name == n).ok_or_else(|| {
                        Error::new(
                            SqlState::UNDEFINED_COLUMN,
                            format!("column \"{n}\" referenced in foreign key constraint does not exist"),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            references.push((positions, fk.clone()));
            return Ok(());
        }
        TableConstraint::Check(check) => {
            // PostgreSQL names a table's CHECK TABLE_check, then TABLE_check1, …
            let taken = |n: &String| checks.iter().any(|(c, _)| c == n);
            let mut default = format!("{name}_check");
            let mut k = 0;
            while taken(&default) {
                k += 1;
                default = format!("{name}_check{k}");
            }
            checks.push((
                check.name.as_ref().map_or(default, ident_name),
                check.expr.to_string(),
            ));
            return Ok(());
        }
        other => return Err(Error::not_supported(&format!("the constraint {other}"))),
    };
    let positions = index_columns
        .iter()
        .map(|c| key_column(columns, &c.column))
        .collect::<Result<Vec<_>>>()?;
    let default_name = if primary {
        format!("{name}_pkey")
    } else {
        let names: Vec<&str> = positions
            .iter()
            .map(|&p| columns[p].name.as_str())
            .collect();
        format!("{name}_{}_key", names.join("_"))
    };
    keys.push(KeyConstraint {
        name: constraint_name.map_or(default_name, ident_name),
        columns: positions,
        primary,
    });

    Ok(())
}

/// `CREATE TABLE [IF NOT EXISTS] name (column type [options], …, [constraints])`.
pub(crate) fn create_table(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    create: &CreateTable,
) -> Result<QueryResult> {
    if let Some(query) = &create.query {
        return create_table_as(db, txn, sql, create, query);
    }
    let name = table_name(&create.name)?;
    let mut new = NewTable::default();
    for column in &create.columns {
        add_column(&name, column, &mut new)?;
    }
    for constraint in &create.constraints {
        add_constraint(&name, constraint, &mut new)?;
    }
    let NewTable {
        mut columns,
        keys,
        checks,
        sequences,
        references,
    } = new;
    if keys.iter().filter(|k| k.primary).count() > 1 {
        return Err(Error::new(
            SqlState::INVALID_TABLE_DEFINITION,
            format!("multiple primary keys for table \"{name}\" are not allowed"),
        ));
    }
    for key in keys.iter().filter(|k| k.primary) {
        for &c in &key.columns {
            columns[c].not_null = true;
        }
    }
    for sequence in &sequences {
        if db.catalog().exists(&sequence.name) {
            return Err(Error::new(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists", sequence.name),
            ));
        }
    }
    check_defaults(db, sql, &columns)?;
    {
        // Each CHECK must bind over the table's columns, as a boolean without subqueries.
        let catalog = db.catalog();
        let ctx = Context::new(sql, &catalog);
        let probe = TableDef {
            name: name.clone(),
            heap: 0,
            columns: columns.clone(),
            checks: checks.clone(),
        };
        crate::dml::RowRules::bind(&ctx, &probe)?;
    }
    if db.catalog().exists(&name) {
        if create.if_not_exists {
            exists_skipping(&name);
            return Ok(QueryResult::command("CREATE TABLE"));
        }
        return Err(Error::new(
            SqlState::DUPLICATE_TABLE,
            format!("relation \"{name}\" already exists"),
        ));
    }
    let store = &db.store;
    let table = TableDef {
        name,
        heap: store.create_heap()?,
        columns,
        checks,
    };
    let mut indexes = Vec::new();
    for key in keys {
        if indexes.iter().any(|i: &IndexDef| i.name == key.name) || db.catalog().exists(&key.name) {
            return Err(Error::new(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists", key.name),
            ));
        }
        indexes.push(IndexDef {
            name: key.name,
            table: table.name.clone(),
            root: store.create_btree()?,
            unique: true,
            primary: key.primary,
            columns: key.columns.into_iter().map(|c| (c, false)).collect(),
            hash: false,
            constraint: true,
        });
    }
    let foreign_keys = references
        .iter()
        .map(|(positions, fk)| foreign_key(&db.catalog(), &table, &indexes, positions, fk))
        .collect::<Result<Vec<_>>>()?;
    Catalog::write_table(store, txn, &table)?;
    for index in &indexes {
        Catalog::write_index(store, txn, index)?;
    }
    for fk in &foreign_keys {
        Catalog::write_foreign_key(store, txn, fk)?;
    }
    for sequence in &sequences {
        crate::sequence::write(store, txn, sequence)?;
    }
    let mut catalog = db.catalog_mut();
    catalog.add_table(table);
    for index in indexes {
        catalog.add_index(index);
    }
    for sequence in sequences {
        catalog.add_sequence(sequence);
    }
    for fk in foreign_keys {
        catalog.add_foreign_key(fk);
    }
    db.sequences.set_definitions(catalog.sequences());
    Ok(QueryResult::command("CREATE TABLE"))
}

/// A FOREIGN KEY of the new table `child` (with its `keys`) on columns `positions`,
/// resolved: the parent table (`child` itself for a self-reference), the referenced columns
/// (its primary key's when none are named), which a unique key of the parent must cover
/// exactly (`42830`).
fn foreign_key(
    catalog: &Catalog,
    child: &TableDef,
    keys: &[IndexDef],
    positions: &[usize],
    fk: &sqlparser::ast::ForeignKeyConstraint,
) -> Result<ForeignKeyDef> {
    use crate::foreign::Action;
    let parent_name = table_name(&fk.foreign_table)?;
    let (parent, parent_keys): (&TableDef, Vec<&IndexDef>) = if parent_name == child.name {
        (child, keys.iter().collect())
    } else {
        let parent = catalog.table(&parent_name)?;
        (parent, catalog.indexes_of(&parent_name).collect())
    };
    let parent_columns: Vec<usize> = if fk.referred_columns.is_empty() {
        let primary = parent_keys.iter().find(|i| i.primary).ok_or_else(|| {
            Error::new(
                SqlState::INVALID_FOREIGN_KEY,
                format!("there is no primary key for referenced table \"{parent_name}\""),
            )
        })?;
        primary.columns.iter().map(|(c, _)| *c).collect()
    } else {
        fk.referred_columns
            .iter()
            .map(|c| {
                let n = ident_name(c);
                parent.column(&n).ok_or_else(|| {
                    Error::new(
                        SqlState::UNDEFINED_COLUMN,
                        format!(
                            "column \"{n}\" referenced in foreign key constraint does not exist"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?
    };
    if parent_columns.len() != positions.len() {
        return Err(Error::new(
            SqlState::INVALID_FOREIGN_KEY,
            "number of referencing and referenced columns for foreign key disagree",
        ));
    }
    let mut sorted = parent_columns.clone();
    sorted.sort_unstable();
    let covered = parent_keys.iter().any(|i| {
        let mut cols: Vec<usize> = i.columns.iter().map(|(c, _)| *c).collect();
        cols.sort_unstable();
        i.unique && cols == sorted
    });
    if !covered {
        return Err(Error::new(
            SqlState::INVALID_FOREIGN_KEY,
            format!(
                "there is no unique constraint matching given keys for referenced table \"{parent_name}\""
            ),
        ));
    }
    for (&c, &p) in positions.iter().zip(&parent_columns) {
        let (ct, pt) = (child.columns[c].data_type, parent.columns[p].data_type);
        let integers = |t: crate::value::DataType| {
            t.is_numeric() && !t.is_float() && t != crate::value::DataType::Numeric
        };
        if ct != pt && !(integers(ct) && integers(pt)) {
            return Err(Error::new(
                SqlState::DATATYPE_MISMATCH,
                format!(
                    "foreign key constraint cannot be implemented: key columns are of incompatible types: {} and {}",
                    ct.name(),
                    pt.name()
                ),
            ));
        }
    }
    let action = |a: Option<&sqlparser::ast::ReferentialAction>, word: &str| -> Result<Action> {
        use sqlparser::ast::ReferentialAction as R;
        Ok(match a {
            None | Some(R::NoAction) => Action::NoAction,
            Some(R::Restrict) => Action::Restrict,
            Some(R::Cascade) => Action::Cascade,
            Some(R::SetNull) => Action::SetNull,
            Some(other) => return Err(Error::not_supported(&format!("ON {word} {other}"))),
        })
    };
    let names: Vec<&str> = positions
        .iter()
        .map(|&p| child.columns[p].name.as_str())
        .collect();
    Ok(ForeignKeyDef {
        name: fk.name.as_ref().map_or_else(
            || format!("{}_{}_fkey", child.name, names.join("_")),
            ident_name,
        ),
        child: child.name.clone(),
        child_columns: positions.to_vec(),
        parent: parent_name,
        parent_columns,
        on_delete: action(fk.on_delete.as_ref(), "DELETE")?,
        on_update: action(fk.on_update.as_ref(), "UPDATE")?,
    })
}

/// The integer type of `SERIAL`, `BIGSERIAL` and `SMALLSERIAL` (and their `serialN` names).
fn serial_type(ty: &sqlparser::ast::DataType) -> Option<crate::value::DataType> {
    let sqlparser::ast::DataType::Custom(name, modifiers) = ty else {
        return None;
    };
    if !modifiers.is_empty() || name.0.len() != 1 {
        return None;
    }
    match name.to_string().to_lowercase().as_str() {
        "serial" | "serial4" => Some(crate::value::DataType::Int4),
        "bigserial" | "serial8" => Some(crate::value::DataType::Int8),
        "smallserial" | "serial2" => Some(crate::value::DataType::Int2),
        _ => None,
    }
}

/// The largest value of an integer type (a sequence's default maximum for it).
fn max_of(ty: crate::value::DataType) -> i64 {
    match ty {
        crate::value::DataType::Int2 => i64::from(i16::MAX),
        crate::value::DataType::Int4 => i64::from(i32::MAX),
        _ => i64::MAX,
    }
}

/// `CREATE SEQUENCE [IF NOT EXISTS] name [INCREMENT [BY] n] [MINVALUE n] [MAXVALUE n]
/// [START [WITH] n]`.
pub(crate) fn create_sequence(
    db: &Database,
    txn: &mut Txn<'_>,
    name: &ObjectName,
    if_not_exists: bool,
    options: &[SequenceOptions],
) -> Result<QueryResult> {
    let name = table_name(name)?;
    let number = |e: &SqlExpr| -> Result<i64> {
        let text = e.to_string().replace(' ', "");
        text.parse()
            .map_err(|_| Error::not_supported(&format!("the sequence option value {e}")))
    };
    let mut increment = 1;
    let (mut min, mut max, mut start) = (None, None, None);
    for option in options {
        match option {
            SequenceOptions::IncrementBy(e, _) => increment = number(e)?,
            SequenceOptions::MinValue(e) => min = e.as_ref().map(&number).transpose()?,
            SequenceOptions::MaxValue(e) => max = e.as_ref().map(&number).transpose()?,
            SequenceOptions::StartWith(e, _) => start = Some(number(e)?),
            SequenceOptions::Cache(_) => {}
            other => {
                return Err(Error::not_supported(&format!(
                    "the sequence option {other}"
                )))
            }
        }
    }
    if increment == 0 {
        return Err(Error::new(
            SqlState::INVALID_PARAMETER_VALUE,
            "INCREMENT must not be zero",
        ));
    }
    let min = min.unwrap_or(if increment > 0 { 1 } else { i64::MIN });
    let max = max.unwrap_or(if increment > 0 { i64::MAX } else { -1 });
    let start = start.unwrap_or(if increment > 0 { min } else { max });
    if start < min || start > max {
        return Err(Error::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!(
                "START value ({start}) cannot be {} than {} ({})",
                if start < min { "less" } else { "greater" },
                if start < min { "MINVALUE" } else { "MAXVALUE" },
                if start < min { min } else { max }
            ),
        ));
    }
    if db.catalog().exists(&name) {
        if if_not_exists {
            exists_skipping(&name);
            return Ok(QueryResult::command("CREATE SEQUENCE"));
        }
        return Err(Error::new(
            SqlState::DUPLICATE_TABLE,
            format!("relation \"{name}\" already exists"),
        ));
    }
    let def = SequenceDef {
        name,
        increment,
        start,
        min,
        max,
        owner: None,
    };
    crate::sequence::write(&db.store, txn, &def)?;
    let mut catalog = db.catalog_mut();
    catalog.add_sequence(def);
    db.sequences.set_definitions(catalog.sequences());
    Ok(QueryResult::command("CREATE SEQUENCE"))
}

/// `CREATE TABLE name AS query`: a table of the query's columns (their names and types),
/// holding its rows; PostgreSQL's tag `SELECT n`.
fn create_table_as(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    create: &CreateTable,
    query: &sqlparser::ast::Query,
) -> Result<QueryResult> {
    if !create.columns.is_empty() {
        return Err(Error::not_supported(
            "column definitions in CREATE TABLE … AS",
        ));
    }
    let name = table_name(&create.name)?;
    let (columns, rows) = {
        let catalog = db.catalog();
        if catalog.exists(&name) {
            if create.if_not_exists {
                exists_skipping(&name);
                return Ok(QueryResult::command("CREATE TABLE AS"));
            }
            return Err(Error::new(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let ctx = Context::new(sql, &catalog);
        let planned = planner::plan_query(&ctx, query, None)?;
        let cache = crate::exec::SubqueryCache::default();
        let env = crate::exec::Env::new(db, &cache);
        let rows = crate::exec::run(&planned.plan, &env)?.collect::<Result<Vec<_>>>()?;
        (planned.columns, rows)
    };
    let mut defs: Vec<ColumnDef> = Vec::new();
    for column in columns {
        if defs.iter().any(|d| d.name == column.name) {
            return Err(Error::new(
                SqlState::DUPLICATE_COLUMN,
                format!("column \"{}\" specified more than once", column.name),
            ));
        }
        defs.push(ColumnDef {
            name: column.name,
            data_type: column.data_type,
            max_chars: None,
            numeric: None,
            not_null: false,
            default: None,
        });
    }
    let table = TableDef {
        name,
        heap: db.store.create_heap()?,
        columns: defs,
        checks: Vec::new(),
    };
    Catalog::write_table(&db.store, txn, &table)?;
    let mut writer = TableWriter::new(&db.store, &table, Vec::new());
    for row in &rows {
        writer.insert(txn, row)?;
    }
    db.catalog_mut().add_table(table);
    Ok(QueryResult::command(format!("SELECT {}", rows.len())))
}

/// A column's declared type: its data type and, for `varchar(n)` and `char(n)`, its
/// length.
/// A declared column type: the type, the length of `varchar(n)`/`char(n)`, the precision
/// and scale of `numeric(p, s)`.
pub(crate) type ColumnType = (crate::value::DataType, Option<u32>, Option<(u16, u16)>);

pub(crate) fn column_type(ty: &sqlparser::ast::DataType) -> Result<ColumnType> {
    use crate::value::DataType;
    use sqlparser::ast::DataType as SqlType;
    match ty {
        SqlType::Varchar(length) | SqlType::CharacterVarying(length) => Ok((
            DataType::Text,
            declared_length(length.as_ref(), "varchar")?,
            None,
        )),
        // character without a length is character(1).
        SqlType::Char(length) | SqlType::Character(length) => Ok((
            DataType::Bpchar,
            Some(declared_length(length.as_ref(), "char")?.unwrap_or(1)),
            None,
        )),
        SqlType::Numeric(info) | SqlType::Decimal(info) | SqlType::Dec(info) => {
            Ok((DataType::Numeric, None, numeric_typmod(info)?))
        }
        other => Ok((data_type_of(other)?, None, None)),
    }
}

/// The precision and scale `numeric(p [, s])` declares: precision 1 to 1000, scale 0 to
/// the precision, as PostgreSQL 15 allows; `None` for plain `numeric`.
pub(crate) fn numeric_typmod(info: &sqlparser::ast::ExactNumberInfo) -> Result<Option<(u16, u16)>> {
    use sqlparser::ast::ExactNumberInfo;
    let (precision, scale) = match info {
        ExactNumberInfo::None => return Ok(None),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, u64::try_from(*s).unwrap_or(u64::MAX)),
    };
    if !(1..=1000).contains(&precision) {
        return Err(Error::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("NUMERIC precision {precision} must be between 1 and 1000"),
        ));
    }
    if scale > precision {
        return Err(Error::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("NUMERIC scale {scale} must be between 0 and precision {precision}"),
        ));
    }
    Ok(Some((precision as u16, scale as u16)))
}

/// The length `varchar(n)` or `char(n)` declares (`word` names the type in errors): 1 to
/// 10,485,760 characters, as PostgreSQL allows; `None` if none is given.
fn declared_length(
    length: Option<&sqlparser::ast::CharacterLength>,
    word: &str,
) -> Result<Option<u32>> {
    use sqlparser::ast::CharacterLength;
    match length {
        None => Ok(None),
        Some(CharacterLength::IntegerLength { length, .. }) => u32::try_from(*length)
            .ok()
            .filter(|n| (1..=10_485_760).contains(n))
            .map(Some)
            .ok_or_else(|| {
                Error::new(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("length for type {word} must be at least 1"),
                )
            }),
        Some(CharacterLength::Max) => Err(Error::not_supported(&format!("{word}(max)"))),
    }
}

/// Each column's DEFAULT must bind (no column references, a type that assigns).
fn check_defaults(db: &Database, sql: &str, columns: &[ColumnDef]) -> Result<()> {
    let catalog = db.catalog();
    let ctx = Context::new(sql, &catalog);
    for column in columns {
        if let Some(default) = &column.default {
            crate::dml::default_expr(&ctx, column, default)?;
        }
    }
    Ok(())
}

/// The position of a key column named in a constraint or index.
pub(crate) fn key_column(columns: &[ColumnDef], expr: &OrderByExpr) -> Result<usize> {
    let SqlExpr::Identifier(ident) = &expr.expr else {
        return Err(Error::not_supported("index keys that are expressions"));
    };
    let name = ident_name(ident);
    columns.iter().position(|c| c.name == name).ok_or_else(|| {
        Error::new(
            SqlState::UNDEFINED_COLUMN,
            format!("column \"{name}\" named in key does not exist"),
        )
    })
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table [USING btree] (column [ASC|DESC], …)`
/// or `CREATE INDEX … USING hash (column)`.
pub(crate) fn create_index(
    db: &Database,
    txn: &mut Txn<'_>,
    create: &CreateIndex,
) -> Result<QueryResult> {
    if create.predicate.is_some() || !create.include.is_empty() {
        return Err(Error::not_supported("partial and covering indexes"));
    }
    let hash = match &create.using {
        None | Some(IndexType::BTree) => false,
        Some(IndexType::Hash) => true,
        Some(other) => return Err(Error::not_supported(&format!("index method {other}"))),
    };
    if hash {
        let refused = if create.unique {
            Some("unique indexes")
        } else if create.columns.len() > 1 {
            Some("multicolumn indexes")
        } else if create
            .columns
            .iter()
            .any(|c| c.column.options.sort.is_some())
        {
            Some("ASC/DESC options")
        } else {
            None
        };
        if let Some(what) = refused {
            return Err(Error::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("access method \"hash\" does not support {what}"),
            ));
        }
    }
    let table_name = table_name(&create.table_name)?;
    let (index, rows) = {
        let catalog = db.catalog();
        let table = catalog.table(&table_name)?;
        let columns = create
            .columns
            .iter()
            .map(|c: &IndexColumn| {
                let position = key_column(&table.columns, &c.column).map_err(|e| {
                    if e.state == SqlState::UNDEFINED_COLUMN {
                        Error::new(e.state, e.message.replace(" named in key", ""))
                    } else {
                        e
                    }
                })?;
                Ok((
                    position,
                    matches!(
                        c.column.options.sort,
                        Some(sqlparser::ast::OrderBySort::Desc)
                    ),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let name = match &create.name {
            Some(name) => crate::session::table_name(name)?,
            None => {
                let names: Vec<&str> = columns
                    .iter()
                    .map(|&(c, _)| table.columns[c].name.as_str())
                    .collect();
                format!("{table_name}_{}_idx", names.join("_"))
            }
        };
        if catalog.exists(&name) {
            if create.if_not_exists {
                exists_skipping(&name);
                return Ok(QueryResult::command("CREATE INDEX"));
            }
            return Err(Error::new(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let index = IndexDef {
            name,
            table: table_name.clone(),
            root: if hash {
                db.store.create_hash_index()?
            } else {
                db.store.create_btree()?
            },
            unique: create.unique,
            primary: false,
            columns,
            hash,
            constraint: false,
        };
        (index, table_rows(&db.store, table)?)
    };
    fill_index(&db.store, txn, &index, &rows)?;
    Catalog::write_index(&db.store, txn, &index)?;
    db.catalog_mut().add_index(index);
    Ok(QueryResult::command("CREATE INDEX"))
}

/// Fills a new `index` with the entries of `rows` (each with its address); a unique index
/// over a repeated key is `23505 could not create unique index`.
pub(crate) fn fill_index(
    store: &PageStore,
    txn: &mut Txn<'_>,
    index: &IndexDef,
    rows: &[(cairn_page::TupleId, Vec<crate::value::Value>)],
) -> Result<()> {
    for (tid, row) in rows {
        add_entry(store, txn, index, row, *tid).map_err(|e| {
            if e.state == SqlState::UNIQUE_VIOLATION {
                Error::new(
                    e.state,
                    format!("could not create unique index \"{}\"", index.name),
                )
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// Every row of `table` with its address.
fn table_rows(
    store: &PageStore,
    table: &TableDef,
) -> Result<Vec<(cairn_page::TupleId, Vec<crate::value::Value>)>> {
    store
        .heap(table.heap)?
        .scan()
        .map(|tuple| {
            let (tid, bytes) = tuple?;
            Ok((tid, row::decode(&bytes)?))
        })
        .collect()
}

/// `CREATE VIEW name [(columns)] AS query`.
pub(crate) fn create_view(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    create: &CreateView,
) -> Result<QueryResult> {
    if create.materialized || create.or_replace || create.temporary {
        return Err(Error::not_supported("this kind of view"));
    }
    let name = table_name(&create.name)?;
    {
        let catalog = db.catalog();
        if catalog.exists(&name) {
            if create.if_not_exists {
                exists_skipping(&name);
                return Ok(QueryResult::command("CREATE VIEW"));
            }
            return Err(Error::new(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let ctx = Context::new(sql, &catalog);
        let planned = planner::plan_query(&ctx, &create.query, None)?;
        if create.columns.len() > planned.columns.len() {
            return Err(Error::new(
                SqlState::SYNTAX_ERROR,
                "CREATE VIEW specifies more column names than columns",
            ));
        }
    }
    let view = ViewDef {
        name,
        definition: create.to_string(),
    };
    Catalog::write_view(&db.store, txn, &view)?;
    db.catalog_mut().add_view(view);
    Ok(QueryResult::command("CREATE VIEW"))
}

/// `DROP TABLE | INDEX | VIEW [IF EXISTS] name, …`.
pub(crate) fn drop(
    db: &Database,
    txn: &mut Txn<'_>,
    sql: &str,
    object_type: ObjectType,
    if_exists: bool,
    cascade: bool,
    names: &[ObjectName],
) -> Result<QueryResult> {
    let (kind, tag) = match object_type {
        ObjectType::Table => ("table", "DROP TABLE"),
        ObjectType::Index => ("index", "DROP INDEX"),
        ObjectType::View => ("view", "DROP VIEW"),
        ObjectType::Sequence => ("sequence", "DROP SEQUENCE"),
        other => return Err(Error::not_supported(&format!("DROP {other}"))),
    };
    let mut doomed = Vec::new();
    // What CASCADE drops with them: the foreign keys that reference a dropped table and the
    // views that read a dropped relation (or a view dropped so).
    let mut cascaded_keys: Vec<(String, String)> = Vec::new();
    let mut cascaded_views: Vec<String> = Vec::new();
    {
        let catalog = db.catalog();
        let ctx = Context::new(sql, &catalog);
        let scope = Scope::default();
        let binder = Binder::new(&ctx, &scope, None);
        for object in names {
            let name = table_name(object)?;
            let found = match object_type {
                ObjectType::Table => catalog.table(&name).is_ok(),
                ObjectType::Index => catalog.index(&name).is_some(),
                ObjectType::Sequence => catalog.sequence(&name).is_some(),
                _ => catalog.view(&name).is_some(),
            };
            if found {
                refuse_or_cascade(
                    &catalog,
                    (object_type, kind, &name),
                    names,
                    cascade,
                    &mut cascaded_keys,
                )?;
            }
            if found {
                if object_type == ObjectType::Index
                    && catalog.index(&name).is_some_and(|i| i.unique && i.primary)
                {
                    return Err(Error::new(
                        SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                        format!(
                            "cannot drop index {name} because constraint {name} on table {} requires it",
                            catalog.index(&name).map(|i| i.table.clone()).unwrap_or_default()
                        ),
                    ));
                }
                doomed.push(name);
            } else if catalog.exists(&name) {
                return Err(binder.placed(
                    Error::new(
                        SqlState::WRONG_OBJECT_TYPE,
                        format!(
                            "\"{name}\" is not a{} {kind}",
                            if kind == "index" { "n" } else { "" }
                        ),
                    ),
                    object,
                ));
            } else if if_exists {
                crate::notice::raise(
                    "NOTICE",
                    SqlState("00000"),
                    format!("{kind} \"{name}\" does not exist, skipping"),
                );
            } else {
                return Err(match object_type {
                    ObjectType::Table => undefined(&name),
                    _ => Error::new(
                        SqlState::UNDEFINED_OBJECT,
                        format!("{kind} \"{name}\" does not exist"),
                    ),
                });
            }
        }
        if cascade && matches!(object_type, ObjectType::Table | ObjectType::View) {
            cascaded_views = views_reading(&catalog, &doomed);
        }
    }
    for view in &cascaded_views {
        Catalog::erase_view(&db.store, txn, view)?;
    }
    for (key, child) in &cascaded_keys {
        Catalog::erase_foreign_key(&db.store, txn, key, child)?;
    }
    for name in &doomed {
        match object_type {
            ObjectType::Table => Catalog::erase_table(&db.store, txn, name)?,
            ObjectType::Index => Catalog::erase_index(&db.store, txn, name)?,
            ObjectType::Sequence => Catalog::erase_sequence(&db.store, txn, name)?,
            _ => Catalog::erase_view(&db.store, txn, name)?,
        }
    }
    let mut catalog = db.catalog_mut();
    for view in &cascaded_views {
        catalog.remove_view(view);
    }
    for (key, child) in &cascaded_keys {
        catalog.remove_foreign_key(key, child);
    }
    for name in &doomed {
        match object_type {
            ObjectType::Table => catalog.remove_table(name),
            ObjectType::Index => catalog.remove_index(name),
            ObjectType::Sequence => catalog.remove_sequence(name),
            _ => catalog.remove_view(name),
        }
    }
    db.sequences.set_definitions(catalog.sequences());
    Ok(QueryResult::command(tag))
}

/// What a DROP must do about the objects that depend on `name` (of `object_type`, called
/// `kind` in messages) besides the others it drops (`names`): without CASCADE, a foreign key
/// of another table that references it or a view that reads it is `2BP01`; with CASCADE the
/// foreign keys are added to `cascaded_keys` (name, table) — the views it drops are found
/// once every dropped object is known.
fn refuse_or_cascade(
    catalog: &Catalog,
    (object_type, kind, name): (ObjectType, &str, &str),
    names: &[ObjectName],
    cascade: bool,
    cascaded_keys: &mut Vec<(String, String)>,
) -> Result<()> {
    if object_type == ObjectType::Table {
        let mut referencing = catalog
            .foreign_keys()
            .filter(|f| f.parent == name && f.child != name && !names_dropped(names, &f.child));
        if cascade {
            cascaded_keys.extend(referencing.map(|f| (f.name.clone(), f.child.clone())));
        } else if let Some(fk) = referencing.next() {
            return Err(Error::new(
                SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop table {name} because other objects depend on it (constraint {} on table {})",
                    fk.name, fk.child
                ),
            ));
        }
    }
    if !cascade && matches!(object_type, ObjectType::Table | ObjectType::View) {
        let dependent = catalog.views().find(|v| {
            v.name != name
                && !names_dropped(names, &v.name)
                && crate::planner::view_relations(catalog, v)
                    .iter()
                    .any(|r| r == name)
        });
        if let Some(view) = dependent {
            return Err(Error::new(
                SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop {kind} {name} because other objects depend on it (view {} depends on {kind} {name})",
                    view.name
                ),
            ));
        }
    }
    Ok(())
}

/// The views that read one of `dropped`, or a view that does, and so on: what CASCADE
/// drops with them.
fn views_reading(catalog: &Catalog, dropped: &[String]) -> Vec<String> {
    let mut gone = dropped.to_vec();
    let mut views = Vec::new();
    while let Some(view) = catalog.views().find(|v| {
        !gone.contains(&v.name)
            && crate::planner::view_relations(catalog, v)
                .iter()
                .any(|r| gone.contains(r))
    }) {
        gone.push(view.name.clone());
        views.push(view.name.clone());
    }
    views
}

/// Whether `table` is among the objects a DROP names.
fn names_dropped(names: &[ObjectName], table: &str) -> bool {
    names
        .iter()
        .any(|n| table_name(n).is_ok_and(|n| n == table))
}

/// The writer of `table`'s rows and all its indexes.
pub(crate) fn writer<'a>(
    db: &'a Database,
    catalog: &'a Catalog,
    table: &'a TableDef,
) -> TableWriter<'a> {
    TableWriter::new(&db.store, table, catalog.indexes_of(&table.name).collect())
}

/// `NOTICE 42P07 relation "name" already exists, skipping`: what a `CREATE … IF NOT EXISTS`
/// of an existing relation tells the client.
fn exists_skipping(name: &str) {
    crate::notice::raise(
        "NOTICE",
        SqlState::DUPLICATE_TABLE,
        format!("relation \"{name}\" already exists, skipping"),
    );
}
