//! The rows of `information_schema`'s views: the SQL standard's description of the
//! database, as PostgreSQL 15 fills it (its columns are declared with the other system
//! relations in [`crate::system_tables`]).
//!
//! As in PostgreSQL, `tables` and `columns` cover the system relations too, and
//! `table_constraints` lists each NOT NULL column as a CHECK constraint named
//! `NAMESPACE_TABLE_COLUMN_not_null` (by oids). A view's definition is the query it was
//! created with, as written, where PostgreSQL prints its own rendering.

use crate::system::{Constraint, Relation, RelationOf, SystemCatalog, PUBLIC, SCHEMAS};
use crate::system_tables::text;
use crate::value::{DataType, Value};

fn yes_no(b: bool) -> Value {
    text(if b { "YES" } else { "NO" })
}

fn schema_name(namespace: u32) -> Value {
    text(
        SCHEMAS
            .iter()
            .find(|s| s.0 == namespace)
            .map_or("public", |s| s.1),
    )
}

/// The rows of `information_schema.name`.
pub fn rows(system: &SystemCatalog, name: &str) -> Vec<Vec<Value>> {
    let db = || text(system.database.clone());
    let listed = || {
        system
            .relations
            .iter()
            .filter(|r| matches!(r.kind, 'r' | 'v'))
    };
    match name {
        "schemata" => SCHEMAS
            .iter()
            .map(|(_, schema, owner)| {
                let mut row = vec![db(), text(*schema), text(system.role_name(*owner))];
                row.extend([Value::Null, Value::Null, Value::Null, Value::Null]);
                row
            })
            .collect(),
        "tables" => listed()
            .map(|r| {
                let table = r.kind == 'r';
                let mut row = vec![db(), schema_name(r.namespace), text(r.name.clone())];
                row.push(text(if table { "BASE TABLE" } else { "VIEW" }));
                row.extend(std::iter::repeat_n(Value::Null, 5));
                row.extend([yes_no(table), yes_no(false), Value::Null]);
                row
            })
            .collect(),
        "columns" => listed()
            .flat_map(|r| {
                r.columns
                    .iter()
                    .enumerate()
                    .map(move |(i, c)| column_row(system, r, i, c))
            })
            .collect(),
        "views" => listed()
            .filter_map(|r| match &r.of {
                RelationOf::View(definition) => {
                    let mut row = vec![db(), schema_name(r.namespace), text(r.name.clone())];
                    row.extend([text(view_query(definition)), text("NONE")]);
                    row.extend(std::iter::repeat_n(yes_no(false), 5));
                    Some(row)
                }
                _ => None,
            })
            .collect(),
        "table_constraints" => table_constraints(system),
        "key_column_usage" => key_column_usage(system),
        "referential_constraints" => system
            .constraints
            .iter()
            .filter(|c| c.kind == 'f')
            .map(|c| {
                let key = system
                    .relation(c.index)
                    .map_or(Value::Null, |i| text(i.name.clone()));
                let mut row = vec![db(), text("public"), text(c.name.clone())];
                row.extend([db(), text("public"), key, text("NONE")]);
                row.extend([text(rule(c.on_update)), text(rule(c.on_delete))]);
                row
            })
            .collect(),
        "sequences" => system
            .relations
            .iter()
            .filter_map(|r| match &r.of {
                RelationOf::Sequence(s) => {
                    let type_oid = crate::pg_catalog_rows::sequence_type_oid(s.max);
                    let bits = match type_oid {
                        21 => 16,
                        23 => 32,
                        _ => 64,
                    };
                    let mut row = vec![db(), text("public"), text(r.name.clone())];
                    row.push(text(crate::system::format_type(type_oid, -1)));
                    row.extend([Value::Int4(bits), Value::Int4(2), Value::Int4(0)]);
                    for n in [s.start, s.min, s.max, s.increment] {
                        row.push(text(n.to_string()));
                    }
                    row.push(yes_no(false));
                    Some(row)
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A referential action as `information_schema` names it.
fn rule(code: char) -> &'static str {
    match code {
        'c' => "CASCADE",
        'n' => "SET NULL",
        'r' => "RESTRICT",
        _ => "NO ACTION",
    }
}

/// One row of `information_schema.columns`.
fn column_row(
    system: &SystemCatalog,
    r: &Relation,
    i: usize,
    c: &crate::system::Column,
) -> Vec<Value> {
    let int = |n: i32| Value::Int4(n);
    let length = (c.typmod >= 4 && c.ty != DataType::Numeric).then_some(c.typmod - 4);
    let (data_type, udt) = match c.type_oid {
        1043 => ("character varying".to_string(), "varchar".to_string()),
        1042 => ("character".to_string(), "bpchar".to_string()),
        _ => match c.ty {
            DataType::Array(_) => ("ARRAY".to_string(), c.ty.internal_name().to_string()),
            ty => (ty.name().to_string(), ty.internal_name().to_string()),
        },
    };
    let (precision, radix, scale) = match c.ty {
        DataType::Int2 => (int(16), int(2), int(0)),
        DataType::Int4 => (int(32), int(2), int(0)),
        DataType::Int8 => (int(64), int(2), int(0)),
        DataType::Float4 => (int(24), int(2), Value::Null),
        DataType::Float8 => (int(53), int(2), Value::Null),
        DataType::Numeric if c.typmod >= 4 => {
            let modifier = c.typmod - 4;
            (int(modifier >> 16), int(10), int(modifier & 0xffff))
        }
        DataType::Numeric => (Value::Null, int(10), Value::Null),
        _ => (Value::Null, Value::Null, Value::Null),
    };
    let datetime_precision = match c.ty {
        DataType::Date => int(0),
        DataType::Time | DataType::Timestamp | DataType::TimestampTz | DataType::Interval => int(6),
        _ => Value::Null,
    };
    let string = matches!(c.ty, DataType::Text | DataType::Bpchar);
    let octets = match (string, length) {
        (true, Some(n)) => int(n * 4),
        (true, None) => int(1_073_741_824),
        _ => Value::Null,
    };
    let mut row = vec![
        text(system.database.clone()),
        schema_name(r.namespace),
        text(r.name.clone()),
        text(c.name.clone()),
        int(i as i32 + 1),
        c.default.clone().map_or(Value::Null, text),
        yes_no(!c.not_null),
        text(data_type),
        length.map_or(Value::Null, int),
        octets,
        precision,
        radix,
        scale,
        datetime_precision,
        Value::Null,
        Value::Null,
    ];
    row.extend(std::iter::repeat_n(Value::Null, 3));
    row.extend(std::iter::repeat_n(Value::Null, 3));
    row.extend(std::iter::repeat_n(Value::Null, 3));
    row.extend([text(system.database.clone()), text("pg_catalog"), text(udt)]);
    row.extend(std::iter::repeat_n(Value::Null, 4));
    row.extend([text((i + 1).to_string()), yes_no(false), yes_no(false)]);
    row.extend(std::iter::repeat_n(Value::Null, 6));
    row.extend([text("NEVER"), Value::Null, yes_no(r.kind == 'r')]);
    row
}

/// `table_constraints`: the keys, CHECKs and foreign keys, and the NOT NULL columns.
fn table_constraints(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let db = || text(system.database.clone());
    let mut rows = Vec::new();
    for c in &system.constraints {
        let Some(table) = system.relation(c.table) else {
            continue;
        };
        let kind = match c.kind {
            'p' => "PRIMARY KEY",
            'u' => "UNIQUE",
            'f' => "FOREIGN KEY",
            _ => "CHECK",
        };
        let key = matches!(c.kind, 'p' | 'u');
        let mut row = vec![db(), text("public"), text(c.name.clone())];
        row.extend([db(), text("public"), text(table.name.clone()), text(kind)]);
        row.extend([yes_no(false), yes_no(false), yes_no(true)]);
        row.push(if key { yes_no(true) } else { Value::Null });
        rows.push(row);
    }
    for r in system
        .relations
        .iter()
        .filter(|r| r.namespace == PUBLIC && r.kind == 'r')
    {
        for (i, column) in r.columns.iter().enumerate() {
            if !column.not_null {
                continue;
            }
            let name = format!("{PUBLIC}_{}_{}_not_null", r.oid, i + 1);
            let mut row = vec![db(), text("public"), text(name)];
            row.extend([db(), text("public"), text(r.name.clone()), text("CHECK")]);
            row.extend([yes_no(false), yes_no(false), yes_no(true), Value::Null]);
            rows.push(row);
        }
    }
    rows
}

/// `key_column_usage`: each column of each key and foreign key, in key order.
fn key_column_usage(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let db = || text(system.database.clone());
    let mut rows = Vec::new();
    for c in system.constraints.iter().filter(|c| c.kind != 'c') {
        let Some(table) = system.relation(c.table) else {
            continue;
        };
        for (position, attnum) in c.columns.iter().enumerate() {
            let column = table
                .columns
                .get(usize::try_from(*attnum - 1).unwrap_or(usize::MAX))
                .map_or(Value::Null, |col| text(col.name.clone()));
            let in_unique = referenced_position(system, c, position);
            let mut row = vec![db(), text("public"), text(c.name.clone())];
            row.extend([db(), text("public"), text(table.name.clone()), column]);
            row.extend([Value::Int4(position as i32 + 1), in_unique]);
            rows.push(row);
        }
    }
    rows
}

/// For column `position` of a foreign key, the place of the column it references in the
/// referenced key.
fn referenced_position(system: &SystemCatalog, c: &Constraint, position: usize) -> Value {
    if c.kind != 'f' {
        return Value::Null;
    }
    let Some(referenced) = c.referenced_columns.get(position) else {
        return Value::Null;
    };
    let key = system
        .constraints
        .iter()
        .find(|k| matches!(k.kind, 'p' | 'u') && k.index == c.index);
    key.and_then(|k| k.columns.iter().position(|a| a == referenced))
        .map_or(Value::Null, |p| Value::Int4(p as i32 + 1))
}

/// The query of a `CREATE VIEW` statement, as written.
pub fn view_query(definition: &str) -> String {
    match crate::parser::parse(definition).ok().as_deref() {
        Some([sqlparser::ast::Statement::CreateView(create)]) => format!("{};", create.query),
        _ => definition.to_string(),
    }
}
