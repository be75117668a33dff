//! The rows of the `pg_catalog` relations (declared in [`crate::system_tables`]), made from
//! a [`SystemCatalog`]: one function per relation that has rows to show.

use crate::system::{
    Relation, RelationOf, SystemCatalog, BTREE_AM, DATABASE_OID, HASH_AM, HEAP_AM, PG_CATALOG,
    PG_CLASS_OID, PUBLIC, SCHEMAS, USER_OID,
};
use crate::system_tables::{char_of, int2_array, oid, text};
use crate::value::{DataType, Value};

/// The rows of the `pg_catalog` relation `name`.
pub(crate) fn rows(system: &SystemCatalog, name: &str) -> Vec<Vec<Value>> {
    match name {
        "pg_namespace" => namespace_rows(),
        "pg_class" => class_rows(system),
        "pg_attribute" => attribute_rows(system),
        "pg_attrdef" => attrdef_rows(system),
        "pg_type" => type_rows(),
        "pg_index" => index_rows(system),
        "pg_constraint" => constraint_rows(system),
        "pg_am" => am_rows(),
        "pg_database" => database_rows(system),
        "pg_roles" => roles_rows(system),
        "pg_user" => user_rows(system),
        "pg_collation" => collation_rows(),
        "pg_sequence" => sequence_rows(system),
        "pg_depend" => depend_rows(system),
        "pg_proc" => proc_rows(),
        "pg_settings" => settings_rows(),
        "pg_tablespace" => tablespace_rows(),
        "pg_tables" => tables_rows(system),
        "pg_views" => views_rows(system),
        "pg_indexes" => indexes_rows(system),
        "pg_sequences" => sequences_rows(system),
        _ => Vec::new(),
    }
}

/// The rows of `pg_namespace`.
fn namespace_rows() -> Vec<Vec<Value>> {
    SCHEMAS
        .iter()
        .map(|(o, n, owner)| vec![oid(*o), text(*n), oid(*owner), Value::Null])
        .collect()
}

/// The rows of `pg_class`.
fn class_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    system
        .relations
        .iter()
        .map(|r| class_row(system, r))
        .collect()
}

/// The rows of `pg_attribute`.
fn attribute_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    system
        .relations
        .iter()
        .flat_map(|r| {
            r.columns.iter().enumerate().map(move |(i, c)| {
                let size = crate::wire::size(c.ty);
                vec![
                    oid(r.oid),
                    text(c.name.clone()),
                    oid(c.type_oid),
                    Value::Int4(-1),
                    Value::Int2(size),
                    Value::Int2(i as i16 + 1),
                    Value::Int4(i32::from(matches!(c.ty, DataType::Array(_)))),
                    Value::Int4(-1),
                    Value::Int4(c.typmod),
                    Value::Bool(matches!(size, 1 | 2 | 4 | 8)),
                    char_of(if size == 8 { 'd' } else { 'i' }),
                    char_of(if size > 0 { 'p' } else { 'x' }),
                    text(""),
                    Value::Bool(c.not_null),
                    Value::Bool(c.default.is_some()),
                    Value::Bool(false),
                    text(""),
                    text(""),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Int4(0),
                    oid(collation_of(c.ty)),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]
            })
        })
        .collect()
}

/// The rows of `pg_attrdef`.
fn attrdef_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user_relations = || system.relations.iter().filter(|r| r.namespace == PUBLIC);
    user_relations()
        .flat_map(|r| {
            r.columns.iter().enumerate().filter_map(move |(i, c)| {
                let default = c.default.clone()?;
                Some(vec![
                    oid(r.oid ^ 0x4000_0000 ^ i as u32),
                    oid(r.oid),
                    Value::Int2(i as i16 + 1),
                    text(default),
                ])
            })
        })
        .collect()
}

/// The rows of `pg_index`.
fn index_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user_relations = || system.relations.iter().filter(|r| r.namespace == PUBLIC);
    user_relations()
        .filter_map(|r| match &r.of {
            RelationOf::Index(index) => Some(index_row(system, r, index)),
            _ => None,
        })
        .collect()
}

/// The rows of `pg_constraint`.
fn constraint_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    system
        .constraints
        .iter()
        .map(|c| {
            let fk = c.kind == 'f';
            vec![
                oid(c.oid),
                text(c.name.clone()),
                oid(PUBLIC),
                char_of(c.kind),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                oid(c.table),
                oid(0),
                oid(c.index),
                oid(0),
                oid(c.references),
                char_of(c.on_update),
                char_of(c.on_delete),
                char_of(if fk { 's' } else { ' ' }),
                Value::Bool(true),
                Value::Int4(0),
                Value::Bool(false),
                if c.columns.is_empty() {
                    Value::Null
                } else {
                    int2_array(&c.columns)
                },
                if fk {
                    int2_array(&c.referenced_columns)
                } else {
                    Value::Null
                },
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                if c.kind == 'c' {
                    text(c.definition.clone())
                } else {
                    Value::Null
                },
            ]
        })
        .collect()
}

/// The rows of `pg_am`.
fn am_rows() -> Vec<Vec<Value>> {
    [
        (HEAP_AM, "heap", 't'),
        (BTREE_AM, "btree", 'i'),
        (HASH_AM, "hash", 'i'),
    ]
    .iter()
    .map(|(o, n, kind)| {
        vec![
            oid(*o),
            text(*n),
            text(format!("{n}handler")),
            char_of(*kind),
        ]
    })
    .collect()
}

/// The rows of `pg_database`.
fn database_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    vec![vec![
        oid(DATABASE_OID),
        text(system.database.clone()),
        oid(USER_OID),
        Value::Int4(6),
        char_of('c'),
        Value::Bool(false),
        Value::Bool(true),
        Value::Int4(-1),
        text("0"),
        text("1"),
        oid(1663),
        // Text compares by code point and cases by Unicode: C.UTF-8's collation and ctype.
        text("C.UTF-8"),
        text("C.UTF-8"),
        Value::Null,
        Value::Null,
        Value::Null,
    ]]
}

/// The rows of `pg_roles`.
fn roles_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user = || text(system.user.clone());
    vec![vec![
        user(),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
        Value::Int4(-1),
        text("********"),
        Value::Null,
        Value::Bool(true),
        Value::Null,
        oid(USER_OID),
    ]]
}

/// The rows of `pg_user`.
fn user_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user = || text(system.user.clone());
    vec![vec![
        user(),
        oid(USER_OID),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
        text("********"),
        Value::Null,
        Value::Null,
    ]]
}

/// The rows of `pg_collation`.
fn collation_rows() -> Vec<Vec<Value>> {
    [
        (100, "default", 'd', ""),
        (950, "C", 'c', "C"),
        (951, "POSIX", 'c', "POSIX"),
    ]
    .iter()
    .map(|(o, n, provider, locale)| {
        let locale = if locale.is_empty() {
            Value::Null
        } else {
            text(*locale)
        };
        vec![
            oid(*o),
            text(*n),
            oid(PG_CATALOG),
            oid(USER_OID),
            char_of(*provider),
            Value::Bool(true),
            Value::Int4(-1),
            locale.clone(),
            locale,
            Value::Null,
            Value::Null,
        ]
    })
    .collect()
}

/// The rows of `pg_sequence`.
fn sequence_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user_relations = || system.relations.iter().filter(|r| r.namespace == PUBLIC);
    user_relations()
        .filter_map(|r| match &r.of {
            RelationOf::Sequence(s) => Some(vec![
                oid(r.oid),
                oid(sequence_type_oid(s.max)),
                Value::Int8(s.start),
                Value::Int8(s.increment),
                Value::Int8(s.max),
                Value::Int8(s.min),
                Value::Int8(1),
                Value::Bool(false),
            ]),
            _ => None,
        })
        .collect()
}

/// The rows of `pg_settings`.
fn settings_rows() -> Vec<Vec<Value>> {
    crate::settings::shown()
        .into_iter()
        .map(|(name, setting)| {
            let mut row = vec![text(name), text(setting.clone())];
            row.extend([Value::Null, text("cairn"), Value::Null, Value::Null]);
            row.extend([text("user"), text("string"), text("default")]);
            row.extend([Value::Null, Value::Null, Value::Null]);
            row.extend([text(setting.clone()), text(setting)]);
            row.extend([Value::Null, Value::Null, Value::Bool(false)]);
            row
        })
        .collect()
}

/// The rows of `pg_tablespace`.
fn tablespace_rows() -> Vec<Vec<Value>> {
    vec![
        vec![
            oid(1663),
            text("pg_default"),
            oid(USER_OID),
            Value::Null,
            Value::Null,
        ],
        vec![
            oid(1664),
            text("pg_global"),
            oid(USER_OID),
            Value::Null,
            Value::Null,
        ],
    ]
}

/// The rows of `pg_tables`.
fn tables_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user = || text(system.user.clone());
    let user_relations = || system.relations.iter().filter(|r| r.namespace == PUBLIC);
    user_relations()
        .filter(|r| r.kind == 'r')
        .map(|r| {
            let has_indexes = user_relations()
                .any(|i| matches!(&i.of, RelationOf::Index(d) if d.table == r.name));
            vec![
                text("public"),
                text(r.name.clone()),
                user(),
                Value::Null,
                Value::Bool(has_indexes),
                Value::Bool(false),
                Value::Bool(has_triggers(system, r)),
                Value::Bool(false),
            ]
        })
        .collect()
}

/// The rows of `pg_views`.
fn views_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user = || text(system.user.clone());
    let user_relations = || system.relations.iter().filter(|r| r.namespace == PUBLIC);
    user_relations()
        .filter_map(|r| match &r.of {
            RelationOf::View(definition) => Some(vec![
                text("public"),
                text(r.name.clone()),
                user(),
                text(crate::information_schema::view_query(definition)),
            ]),
            _ => None,
        })
        .collect()
}

/// The rows of `pg_indexes`.
fn indexes_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user_relations = || system.relations.iter().filter(|r| r.namespace == PUBLIC);
    user_relations()
        .filter_map(|r| match &r.of {
            RelationOf::Index(index) => Some(vec![
                text("public"),
                text(index.table.clone()),
                text(r.name.clone()),
                Value::Null,
                text(
                    crate::system_functions::index_definition(system, r.oid, 0).unwrap_or_default(),
                ),
            ]),
            _ => None,
        })
        .collect()
}

/// The rows of `pg_sequences`.
fn sequences_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    let user = || text(system.user.clone());
    let user_relations = || system.relations.iter().filter(|r| r.namespace == PUBLIC);
    user_relations()
        .filter_map(|r| match &r.of {
            RelationOf::Sequence(s) => Some(vec![
                text("public"),
                text(r.name.clone()),
                user(),
                system.reg_of_oid(DataType::RegType, sequence_type_oid(s.max)),
                Value::Int8(s.start),
                Value::Int8(s.min),
                Value::Int8(s.max),
                Value::Int8(s.increment),
                Value::Bool(false),
                Value::Int8(1),
                Value::Null,
            ]),
            _ => None,
        })
        .collect()
}

/// `pg_proc`: the functions tools look up (see
/// [`CATALOG_FUNCTIONS`](crate::system_functions::CATALOG_FUNCTIONS)).
fn proc_rows() -> Vec<Vec<Value>> {
    crate::system_functions::CATALOG_FUNCTIONS
        .iter()
        .enumerate()
        .map(|(i, (name, args, result, set))| {
            let arg_types: Vec<String> = args.iter().map(u32::to_string).collect();
            let mut row = vec![
                oid(9000 + i as u32),
                text(*name),
                oid(PG_CATALOG),
                oid(USER_OID),
                oid(12),
                Value::Float4(1.0),
                Value::Float4(if *set { 1000.0 } else { 0.0 }),
                oid(0),
                text("-"),
                char_of('f'),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(*set),
                char_of('s'),
                char_of('s'),
                Value::Int2(args.len() as i16),
                Value::Int2(0),
                oid(*result),
                text(arg_types.join(" ")),
            ];
            row.extend(std::iter::repeat_n(Value::Null, 5));
            row.push(text(*name));
            row.extend(std::iter::repeat_n(Value::Null, 4));
            row
        })
        .collect()
}

/// A relation's `pg_class` row.
fn class_row(system: &SystemCatalog, r: &Relation) -> Vec<Value> {
    let (am, has_index, checks) = match &r.of {
        RelationOf::Table(table) => (
            HEAP_AM,
            system
                .relations
                .iter()
                .any(|i| matches!(&i.of, RelationOf::Index(d) if d.table == table.name)),
            table.checks.len(),
        ),
        RelationOf::Index(index) => (if index.hash { HASH_AM } else { BTREE_AM }, false, 0),
        RelationOf::System if r.kind == 'r' => (HEAP_AM, false, 0),
        _ => (0, false, 0),
    };
    vec![
        oid(r.oid),
        text(r.name.clone()),
        oid(r.namespace),
        oid(0),
        oid(0),
        oid(USER_OID),
        oid(am),
        oid(r.oid),
        oid(0),
        Value::Int4(0),
        Value::Float4(-1.0),
        Value::Int4(0),
        oid(0),
        Value::Bool(has_index),
        Value::Bool(false),
        char_of('p'),
        char_of(r.kind),
        Value::Int2(r.columns.len() as i16),
        Value::Int2(checks as i16),
        Value::Bool(r.kind == 'v'),
        Value::Bool(has_triggers(system, r)),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(true),
        char_of(if r.kind == 'r' { 'd' } else { 'n' }),
        Value::Bool(false),
        oid(0),
        text("0"),
        text("1"),
        Value::Null,
        Value::Null,
        Value::Null,
    ]
}

/// Whether a table takes part in a foreign key (PostgreSQL enforces those with triggers,
/// and tools look for them where `relhastriggers` says).
fn has_triggers(system: &SystemCatalog, r: &Relation) -> bool {
    system
        .constraints
        .iter()
        .any(|c| c.kind == 'f' && (c.table == r.oid || c.references == r.oid))
}

/// An index's `pg_index` row.
fn index_row(system: &SystemCatalog, r: &Relation, index: &crate::catalog::IndexDef) -> Vec<Value> {
    let table = system
        .relation_named(&format!(
            "public.{}",
            crate::system::quote_ident(&index.table)
        ))
        .map_or(0, |t| t.oid);
    let key: Vec<String> = index
        .columns
        .iter()
        .map(|(c, _)| (c + 1).to_string())
        .collect();
    let options: Vec<String> = index
        .columns
        .iter()
        .map(|(_, desc)| if *desc { "3" } else { "0" }.to_string())
        .collect();
    let n = index.columns.len() as i16;
    vec![
        oid(r.oid),
        oid(table),
        Value::Int2(n),
        Value::Int2(n),
        Value::Bool(index.unique),
        Value::Bool(false),
        Value::Bool(index.primary),
        Value::Bool(false),
        Value::Bool(true),
        Value::Bool(false),
        Value::Bool(true),
        Value::Bool(false),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(false),
        text(key.join(" ")),
        text(vec!["0"; index.columns.len()].join(" ")),
        text(vec!["0"; index.columns.len()].join(" ")),
        text(options.join(" ")),
        Value::Null,
        Value::Null,
    ]
}

/// `pg_depend`'s rows that tools read: a SERIAL's sequence belongs to its column.
fn depend_rows(system: &SystemCatalog) -> Vec<Vec<Value>> {
    system
        .relations
        .iter()
        .filter_map(|r| {
            let RelationOf::Sequence(sequence) = &r.of else {
                return None;
            };
            let (table, column) = sequence.owner.as_deref()?.split_once('.')?;
            let table = system.relation_named(&format!("public.\"{table}\""))?;
            let attnum = table.columns.iter().position(|c| c.name == column)? + 1;
            Some(vec![
                oid(PG_CLASS_OID),
                oid(r.oid),
                Value::Int4(0),
                oid(PG_CLASS_OID),
                oid(table.oid),
                Value::Int4(attnum as i32),
                char_of('a'),
            ])
        })
        .collect()
}

/// The oid of a sequence's type, told by its maximum.
pub(crate) fn sequence_type_oid(max: i64) -> u32 {
    if max == i64::from(i16::MAX) {
        21
    } else if max == i64::from(i32::MAX) {
        23
    } else {
        20
    }
}

/// The collation of a type's values: `default` (100) for the string types, else none.
fn collation_of(ty: DataType) -> u32 {
    match ty {
        DataType::Text | DataType::Bpchar => 100,
        _ => 0,
    }
}

/// `pg_type`: every type cairn has, its array type, and `varchar` and `name`.
fn type_rows() -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for ty in DataType::BASE {
        let array = crate::array::of(ty);
        rows.push(type_row(
            crate::wire::oid(ty),
            ty.internal_name(),
            ty,
            0,
            crate::wire::oid(array),
        ));
        rows.push(type_row(
            crate::wire::oid(array),
            array.internal_name(),
            array,
            crate::wire::oid(ty),
            0,
        ));
    }
    rows.push(type_row(1043, "varchar", DataType::Text, 0, 1015));
    rows.push(type_row(19, "name", DataType::Text, 0, 1003));
    rows
}

fn type_row(type_oid: u32, name: &str, ty: DataType, element: u32, array: u32) -> Vec<Value> {
    let size = crate::wire::size(ty);
    let category = match ty {
        DataType::Array(_) => 'A',
        DataType::Bool => 'B',
        t if t.is_numeric() || t.is_oid() => 'N',
        DataType::Text | DataType::Bpchar => 'S',
        DataType::Date | DataType::Time | DataType::Timestamp | DataType::TimestampTz => 'D',
        DataType::Interval => 'T',
        _ => 'U',
    };
    let mut row = vec![
        oid(type_oid),
        text(name),
        oid(PG_CATALOG),
        oid(USER_OID),
        Value::Int2(size),
        Value::Bool(matches!(size, 1 | 2 | 4 | 8)),
        char_of('b'),
        char_of(category),
        Value::Bool(false),
        Value::Bool(true),
        char_of(','),
        oid(0),
        text(if element != 0 {
            "array_subscript_handler"
        } else {
            "-"
        }),
        oid(element),
        oid(array),
    ];
    for suffix in ["in", "out", "recv", "send"] {
        row.push(text(format!("{name}{suffix}")));
    }
    row.extend([text("-"), text("-"), text("-")]);
    row.extend([
        char_of(if size == 8 { 'd' } else { 'i' }),
        char_of(if size > 0 { 'p' } else { 'x' }),
        Value::Bool(false),
        oid(0),
        Value::Int4(-1),
        Value::Int4(0),
        oid(collation_of(ty)),
        Value::Null,
        Value::Null,
        Value::Null,
    ]);
    row
}
