//! The system catalog as PostgreSQL's tools read it: `pg_catalog` and `information_schema`
//! relations over cairn's own catalog, object identifiers, and the functions tools call to
//! describe objects (`format_type`, `pg_get_indexdef`, `pg_get_constraintdef`…).
//!
//! cairn keeps its catalog in its own heaps ([`crate::catalog`]); PostgreSQL's tools (psql's
//! `\d`, drivers, ORMs) read `pg_class`, `pg_attribute` and the rest instead. A statement that
//! names one of those relations, or calls one of those functions, gets a [`SystemCatalog`]:
//! a snapshot of the catalog as PostgreSQL would show it, built once per statement when it
//! is bound ([`SystemCatalog::of`]), from which the relations' rows are made (see
//! [`crate::system_tables`] and [`crate::information_schema`]) and against which the
//! functions answer. The relations are read-only: they are planned as their rows.
//!
//! **Object identifiers.** cairn's catalog names objects; PostgreSQL's numbers them. A
//! user relation's oid is a hash of its name into `16384..2^31` (PostgreSQL's first user
//! oid upwards), a constraint's a hash of its table and name; should two collide, the one
//! whose key sorts later takes the next free number. The same catalog therefore always shows
//! the same oids, across statements and restarts, without storing them. Schemas, types,
//! access methods, roles and the system relations have PostgreSQL's fixed oids (`public`
//! 2200, `pg_catalog` 11, `int4` 23, `btree` 403…).
//!
//! **What is shown.** Every table, view, index and sequence is in schema `public`, owned by
//! the session's user (oid 10, a superuser: cairn has one role per connection, the name the
//! client logged in with). Defaults and CHECK conditions are shown as cairn stores them
//! (the SQL text as written), with a literal default cast to its column's type and a
//! `nextval` argument cast to `regclass`, as PostgreSQL prints them; PostgreSQL's
//! deparser also rewrites expressions (`price > 0` as `price > 0::numeric`), which cairn
//! does not.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::catalog::{Catalog, ColumnDef, IndexDef, TableDef};
use crate::error::{Error, Result, SqlState};
use crate::foreign::Action;
use crate::sequence::SequenceDef;
use crate::value::{DataType, Reg, Value};

/// PostgreSQL's first oid of a user object.
pub const FIRST_USER_OID: u32 = 16384;
pub const PG_CATALOG: u32 = 11;
pub const PUBLIC: u32 = 2200;
pub const INFORMATION_SCHEMA: u32 = 13_000;
/// The session's role: PostgreSQL's bootstrap superuser's oid.
pub const USER_OID: u32 = 10;
/// `pg_database_owner`, owner of schema `public`.
pub const DATABASE_OWNER_OID: u32 = 6171;
pub const DATABASE_OID: u32 = 5;
pub const HEAP_AM: u32 = 2;
pub const BTREE_AM: u32 = 403;
pub const HASH_AM: u32 = 405;
/// The oid of `pg_class` itself (`classid` of `pg_depend` rows about relations).
pub const PG_CLASS_OID: u32 = 1259;

/// The schemas: oid, name, owner.
pub const SCHEMAS: [(u32, &str, u32); 4] = [
    (PG_CATALOG, "pg_catalog", USER_OID),
    (99, "pg_toast", USER_OID),
    (PUBLIC, "public", DATABASE_OWNER_OID),
    (INFORMATION_SCHEMA, "information_schema", USER_OID),
];

/// A relation as `pg_class` shows it.
#[derive(Debug, Clone)]
pub struct Relation {
    pub oid: u32,
    pub name: String,
    pub namespace: u32,
    /// `r` table, `v` view, `i` index, `S` sequence.
    pub kind: char,
    pub columns: Vec<Column>,
    pub of: RelationOf,
}

/// What a relation is in cairn's catalog.
#[derive(Debug, Clone)]
pub enum RelationOf {
    Table(TableDef),
    Index(IndexDef),
    View(String),
    Sequence(SequenceDef),
    /// A relation of `pg_catalog` or `information_schema`.
    System,
}

/// A column as `pg_attribute` shows it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: DataType,
    /// The type's oid (`varchar` is 1043, though cairn's type is text).
    pub type_oid: u32,
    /// `atttypmod`: the length plus 4 of `varchar(n)`/`char(n)`, else -1.
    pub typmod: i32,
    pub not_null: bool,
    /// The DEFAULT as PostgreSQL prints it.
    pub default: Option<String>,
}

/// A constraint as `pg_constraint` shows it.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub oid: u32,
    pub name: String,
    /// `p` primary key, `u` unique, `c` check, `f` foreign key.
    pub kind: char,
    pub table: u32,
    /// The index enforcing a key, or the referenced key's index of a foreign key.
    pub index: u32,
    /// The referenced table of a foreign key.
    pub references: u32,
    /// Column numbers (from 1) of the table, and of the referenced table.
    pub columns: Vec<i16>,
    pub referenced_columns: Vec<i16>,
    /// `confupdtype`, `confdeltype` of a foreign key (`a` no action, `r` restrict, `c`
    /// cascade, `n` set null, `d` set default), blank otherwise.
    pub on_update: char,
    pub on_delete: char,
    /// `pg_get_constraintdef`'s text.
    pub definition: String,
}

/// The catalog as PostgreSQL's system relations show it, for one statement.
#[derive(Debug)]
pub struct SystemCatalog {
    pub user: String,
    pub database: String,
    pub relations: Vec<Relation>,
    pub constraints: Vec<Constraint>,
    by_oid: HashMap<u32, usize>,
    by_name: HashMap<(u32, String), usize>,
}

impl SystemCatalog {
    /// The system catalog of `catalog`, the columns of each view as `view_columns` plans
    /// them, seen by the session on this thread (its user and database).
    pub fn of(
        catalog: &Catalog,
        view_columns: &dyn Fn(&str) -> Vec<(String, DataType)>,
    ) -> SystemCatalog {
        let (user, database) = crate::settings::connection();
        let mut relations = Vec::new();
        let oids = relation_oids(catalog);
        let oid = |name: &str| oids.get(name).copied().unwrap_or(0);
        for table in catalog.tables() {
            relations.push(Relation {
                oid: oid(&table.name),
                name: table.name.clone(),
                namespace: PUBLIC,
                kind: 'r',
                columns: table.columns.iter().map(column_of).collect(),
                of: RelationOf::Table(table.clone()),
            });
        }
        for view in catalog.views() {
            relations.push(Relation {
                oid: oid(&view.name),
                name: view.name.clone(),
                namespace: PUBLIC,
                kind: 'v',
                columns: view_columns(&view.name)
                    .into_iter()
                    .map(|(name, ty)| plain_column(&name, ty))
                    .collect(),
                of: RelationOf::View(view.definition.clone()),
            });
        }
        for table in catalog.tables() {
            for index in catalog.indexes_of(&table.name) {
                relations.push(Relation {
                    oid: oid(&index.name),
                    name: index.name.clone(),
                    namespace: PUBLIC,
                    kind: 'i',
                    columns: index
                        .columns
                        .iter()
                        .map(|(c, _)| column_of(&table.columns[*c]))
                        .map(|c| Column {
                            not_null: false,
                            default: None,
                            ..c
                        })
                        .collect(),
                    of: RelationOf::Index(index.clone()),
                });
            }
        }
        for sequence in catalog.sequences() {
            relations.push(Relation {
                oid: oid(&sequence.name),
                name: sequence.name.clone(),
                namespace: PUBLIC,
                kind: 'S',
                columns: ["last_value", "log_cnt"]
                    .iter()
                    .map(|n| plain_column(n, DataType::Int8))
                    .chain([plain_column("is_called", DataType::Bool)])
                    .collect(),
                of: RelationOf::Sequence(sequence.clone()),
            });
        }
        relations.extend(crate::system_tables::relations());
        let mut system = SystemCatalog {
            user,
            database,
            relations,
            constraints: Vec::new(),
            by_oid: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (i, r) in system.relations.iter().enumerate() {
            system.by_oid.insert(r.oid, i);
            system.by_name.insert((r.namespace, r.name.clone()), i);
        }
        system.constraints = constraints(catalog, &system);
        system
    }

    /// The relation of oid `oid`.
    pub fn relation(&self, oid: u32) -> Option<&Relation> {
        self.by_oid.get(&oid).map(|i| &self.relations[*i])
    }

    /// The relation a name (`t`, `public.t`, `pg_catalog.pg_class`, quoted parts kept as
    /// written) names, as `regclass` input finds it: unqualified, in `pg_catalog` then
    /// `public`.
    pub fn relation_named(&self, name: &str) -> Option<&Relation> {
        let parts = split_qualified(name);
        let lookup = |ns: u32, n: &str| self.by_name.get(&(ns, n.to_string()));
        let index = match parts.as_slice() {
            [n] => lookup(PG_CATALOG, n).or_else(|| lookup(PUBLIC, n)),
            [schema, n] => SCHEMAS
                .iter()
                .find(|s| s.1 == schema)
                .and_then(|s| lookup(s.0, n)),
            _ => None,
        }?;
        Some(&self.relations[*index])
    }

    /// The name `regclass` prints for `oid`: the relation's name (schema-qualified outside
    /// `public` and `pg_catalog`), or the number for no relation.
    pub fn relation_text(&self, oid: u32) -> String {
        match self.relation(oid) {
            Some(r) if r.namespace == INFORMATION_SCHEMA => {
                format!("information_schema.{}", quote_ident(&r.name))
            }
            Some(r) => quote_ident(&r.name),
            None => oid.to_string(),
        }
    }

    /// The name of role `oid` (`pg_get_userbyid`): `unknown (OID=n)` for no role.
    pub fn role_name(&self, oid: u32) -> String {
        match oid {
            USER_OID => self.user.clone(),
            DATABASE_OWNER_OID => "pg_database_owner".into(),
            _ => format!("unknown (OID={oid})"),
        }
    }

    /// The constraint of oid `oid`.
    pub fn constraint(&self, oid: u32) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.oid == oid)
    }

    /// A `regclass`, `regtype` or `regnamespace` value of `text` (a name, or an oid in
    /// decimal), or `42P01`/`42704`/`3F000` if it names nothing.
    pub fn reg_of_text(&self, ty: DataType, text: &str) -> Result<Value> {
        let text = text.trim();
        if let Ok(oid) = text.parse::<u32>() {
            return Ok(self.reg_of_oid(ty, oid));
        }
        let found = match ty {
            DataType::RegClass => self.relation_named(text).map(|r| r.oid),
            DataType::RegType => type_oid_named(text),
            _ => SCHEMAS.iter().find(|s| s.1 == unquote(text)).map(|s| s.0),
        };
        match found {
            Some(oid) => Ok(self.reg_of_oid(ty, oid)),
            None => Err(match ty {
                DataType::RegClass => Error::new(
                    SqlState::UNDEFINED_TABLE,
                    format!("relation \"{text}\" does not exist"),
                ),
                DataType::RegType => Error::new(
                    SqlState::UNDEFINED_OBJECT,
                    format!("type \"{text}\" does not exist"),
                ),
                _ => Error::new(
                    SqlState("3F000"),
                    format!("schema \"{text}\" does not exist"),
                ),
            }),
        }
    }

    /// The `reg…` value of `oid`, named as the type prints it.
    pub fn reg_of_oid(&self, ty: DataType, oid: u32) -> Value {
        let name = match ty {
            DataType::RegClass => self.relation_text(oid),
            DataType::RegType => match format_type(oid, -1) {
                unknown if unknown == "???" => oid.to_string(),
                name => name,
            },
            _ => SCHEMAS
                .iter()
                .find(|s| s.0 == oid)
                .map_or_else(|| oid.to_string(), |s| s.1.to_string()),
        };
        Value::Reg(Box::new(Reg { ty, oid, name }))
    }
}

/// The oid of each user relation of `catalog`, by name (see the module's essay).
fn relation_oids(catalog: &Catalog) -> BTreeMap<String, u32> {
    let mut names: Vec<String> = catalog
        .tables()
        .map(|t| t.name.clone())
        .chain(catalog.view_names())
        .chain(catalog.tables().flat_map(|t| {
            catalog
                .indexes_of(&t.name)
                .map(|i| i.name.clone())
                .collect::<Vec<_>>()
        }))
        .chain(catalog.sequences().map(|s| s.name.clone()))
        .collect();
    names.sort();
    let mut taken = HashSet::new();
    names
        .into_iter()
        .map(|name| {
            let oid = free_oid(&name, &mut taken);
            (name, oid)
        })
        .collect()
}

/// The hashed oid of `key`, or the next one free of `taken`; taken with it.
fn free_oid(key: &str, taken: &mut HashSet<u32>) -> u32 {
    // FNV-1a: stable across versions and platforms, unlike the standard library's hasher.
    let hash = key.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let span = (1u32 << 31) - FIRST_USER_OID;
    let mut oid = FIRST_USER_OID + hash % span;
    while !taken.insert(oid) {
        oid = FIRST_USER_OID + (oid - FIRST_USER_OID + 1) % span;
    }
    oid
}

/// A table's column as `pg_attribute` and `pg_attrdef` show it.
fn column_of(def: &ColumnDef) -> Column {
    let (type_oid, typmod) = match (def.data_type, def.max_chars, def.numeric) {
        (DataType::Bpchar, Some(n), _) => (1042, n as i32 + 4),
        (_, Some(n), _) => (1043, n as i32 + 4),
        (_, None, Some((p, s))) => (1700, ((i32::from(p) << 16) | i32::from(s)) + 4),
        (ty, None, None) => (crate::wire::oid(ty), -1),
    };
    Column {
        name: def.name.clone(),
        ty: def.data_type,
        type_oid,
        typmod,
        not_null: def.not_null,
        default: def.default.as_deref().map(|d| shown_default(d, def)),
    }
}

fn plain_column(name: &str, ty: DataType) -> Column {
    Column {
        name: name.to_string(),
        ty,
        type_oid: crate::wire::oid(ty),
        typmod: -1,
        not_null: false,
        default: None,
    }
}

/// A DEFAULT as PostgreSQL prints it: a string literal cast to the column's type
/// (`'x'::text`), a sequence's name cast to regclass (`nextval('s'::regclass)`).
fn shown_default(sql: &str, column: &ColumnDef) -> String {
    if let Some(sequence) = sql
        .strip_prefix("nextval('")
        .and_then(|r| r.strip_suffix("')"))
    {
        return format!("nextval('{sequence}'::regclass)");
    }
    let is_literal = sql.len() >= 2
        && sql.starts_with('\'')
        && sql.ends_with('\'')
        && !sql[1..sql.len() - 1].replace("''", "").contains('\'');
    if is_literal {
        let ty = match (column.data_type, column.max_chars) {
            (DataType::Bpchar, _) => "bpchar".to_string(),
            (_, Some(_)) => "character varying".to_string(),
            (ty, None) => ty.name().to_string(),
        };
        return format!("{sql}::{ty}");
    }
    sql.to_string()
}

/// The constraints of `catalog`: keys, CHECKs and foreign keys.
fn constraints(catalog: &Catalog, system: &SystemCatalog) -> Vec<Constraint> {
    let oid_of = |name: &str| {
        system
            .by_name
            .get(&(PUBLIC, name.to_string()))
            .map_or(0, |i| system.relations[*i].oid)
    };
    let mut taken: HashSet<u32> = system.relations.iter().map(|r| r.oid).collect();
    let mut found = Vec::new();
    for table in catalog.tables() {
        let column_names = |positions: &[usize]| {
            positions
                .iter()
                .map(|p| quote_ident(&table.columns[*p].name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for index in catalog.indexes_of(&table.name).filter(|i| i.constraint) {
            let positions: Vec<usize> = index.columns.iter().map(|c| c.0).collect();
            let word = if index.primary {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            };
            found.push(Constraint {
                oid: 0,
                name: index.name.clone(),
                kind: if index.primary { 'p' } else { 'u' },
                table: oid_of(&table.name),
                index: oid_of(&index.name),
                references: 0,
                columns: positions.iter().map(|p| *p as i16 + 1).collect(),
                referenced_columns: Vec::new(),
                on_update: ' ',
                on_delete: ' ',
                definition: format!("{word} ({})", column_names(&positions)),
            });
        }
        for (name, condition) in &table.checks {
            found.push(Constraint {
                oid: 0,
                name: name.clone(),
                kind: 'c',
                table: oid_of(&table.name),
                index: 0,
                references: 0,
                columns: Vec::new(),
                referenced_columns: Vec::new(),
                on_update: ' ',
                on_delete: ' ',
                definition: format!("CHECK ({condition})"),
            });
        }
    }
    for fk in catalog.foreign_keys() {
        let (Ok(child), Ok(parent)) = (catalog.table(&fk.child), catalog.table(&fk.parent)) else {
            continue;
        };
        let names = |t: &TableDef, positions: &[usize]| {
            positions
                .iter()
                .map(|p| quote_ident(&t.columns[*p].name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let key_index = catalog.indexes_of(&fk.parent).find(|i| {
            i.unique && i.columns.iter().map(|c| c.0).collect::<Vec<_>>() == fk.parent_columns
        });
        let mut definition = format!(
            "FOREIGN KEY ({}) REFERENCES {}({})",
            names(child, &fk.child_columns),
            quote_ident(&parent.name),
            names(parent, &fk.parent_columns)
        );
        for (word, action) in [("UPDATE", fk.on_update), ("DELETE", fk.on_delete)] {
            if let Some(text) = action_text(action) {
                definition.push_str(&format!(" ON {word} {text}"));
            }
        }
        found.push(Constraint {
            oid: 0,
            name: fk.name.clone(),
            kind: 'f',
            table: oid_of(&fk.child),
            index: key_index.map_or(0, |i| oid_of(&i.name)),
            references: oid_of(&fk.parent),
            columns: fk.child_columns.iter().map(|p| *p as i16 + 1).collect(),
            referenced_columns: fk.parent_columns.iter().map(|p| *p as i16 + 1).collect(),
            on_update: action_code(fk.on_update),
            on_delete: action_code(fk.on_delete),
            definition,
        });
    }
    let mut keyed: Vec<(String, usize)> = found
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("{}\u{0}{}", c.table, c.name), i))
        .collect();
    keyed.sort();
    for (key, i) in keyed {
        found[i].oid = free_oid(&key, &mut taken);
    }
    found
}

/// A foreign key action as `pg_get_constraintdef` writes it; `None` for NO ACTION.
fn action_text(action: Action) -> Option<&'static str> {
    match action {
        Action::NoAction => None,
        Action::Restrict => Some("RESTRICT"),
        Action::Cascade => Some("CASCADE"),
        Action::SetNull => Some("SET NULL"),
    }
}

fn action_code(action: Action) -> char {
    match action {
        Action::NoAction => 'a',
        Action::Restrict => 'r',
        Action::Cascade => 'c',
        Action::SetNull => 'n',
    }
}

/// `format_type(oid, typmod)`: the type's name as SQL writes it, with its modifier.
pub fn format_type(oid: u32, typmod: i32) -> String {
    let with_length = |word: &str| {
        if typmod >= 4 {
            format!("{word}({})", typmod - 4)
        } else {
            word.to_string()
        }
    };
    match oid {
        1043 => with_length("character varying"),
        1042 => with_length("character"),
        19 => "name".into(),
        18 => "\"char\"".into(),
        22 => "int2vector".into(),
        30 => "oidvector".into(),
        194 => "pg_node_tree".into(),
        1034 => "aclitem[]".into(),
        1700 if typmod >= 4 => {
            let modifier = typmod - 4;
            format!("numeric({},{})", modifier >> 16, modifier & 0xffff)
        }
        _ => match crate::wire::from_oid(oid) {
            Some(ty) => ty.name().to_string(),
            None => "???".into(),
        },
    }
}

/// The oid of the type a name names: as [`type_named`], and the types cairn shows apart
/// from its own (`varchar` 1043, `character` 1042, `name` 19, `"char"` 18).
pub fn type_oid_named(name: &str) -> Option<u32> {
    let lower = name.trim().to_lowercase();
    let lower = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
    match lower {
        "varchar" | "character varying" => Some(1043),
        "bpchar" | "character" | "char" => Some(1042),
        "name" => Some(19),
        "\"char\"" => Some(18),
        _ => type_named(lower).map(crate::wire::oid),
    }
}

/// The type a name (`int4`, `integer`, `pg_catalog.text`, `character varying`) names.
pub fn type_named(name: &str) -> Option<DataType> {
    let name = name.trim().to_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    if let Some(element) = name.strip_suffix("[]") {
        return type_named(element).map(crate::array::of);
    }
    DataType::from_internal_name(name).or(match name {
        "integer" | "int" => Some(DataType::Int4),
        "smallint" => Some(DataType::Int2),
        "bigint" => Some(DataType::Int8),
        "boolean" => Some(DataType::Bool),
        "real" => Some(DataType::Float4),
        "double precision" => Some(DataType::Float8),
        "varchar" | "character varying" | "name" => Some(DataType::Text),
        "character" | "char" => Some(DataType::Bpchar),
        "timestamp without time zone" => Some(DataType::Timestamp),
        "timestamp with time zone" => Some(DataType::TimestampTz),
        "time without time zone" => Some(DataType::Time),
        _ => None,
    })
}

/// `quote_ident`: the name as is if it needs no quotes, else in double quotes.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && KEYWORDS.binary_search(&name).is_err();
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// PostgreSQL's keywords that are not unreserved (reserved, column-name and type-or-function
/// name keywords): `quote_ident` quotes them. Sorted.
const KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// A possibly schema-qualified name split at its dots, each part unquoted (or folded to
/// lower case if unquoted).
fn split_qualified(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = name.trim().chars().peekable();
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                parts.push(finish_part(&mut current, was_quoted));
                was_quoted = false;
            }
            c => current.push(c),
        }
    }
    parts.push(finish_part(&mut current, was_quoted));
    parts
}

fn finish_part(current: &mut String, quoted: bool) -> String {
    let part = std::mem::take(current);
    if quoted {
        part
    } else {
        part.to_lowercase()
    }
}

fn unquote(name: &str) -> String {
    split_qualified(name).pop().unwrap_or_default()
}

/// Shared by every expression of a statement that calls a catalog function.
pub type Shared = Arc<SystemCatalog>;

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_stable_and_distinct() {
        let mut taken = HashSet::new();
        let a = free_oid("t", &mut taken);
        let b = free_oid("t", &mut taken);
        assert_ne!(a, b, "a second claim of one key gets the next oid");
        assert_eq!(b, a + 1);
        let mut fresh = HashSet::new();
        assert_eq!(free_oid("t", &mut fresh), a, "the same key, the same oid");
        assert!((FIRST_USER_OID..1 << 31).contains(&a));
    }

    #[test]
    fn names_split_and_quote_as_postgresql() {
        assert_eq!(split_qualified("Public.T"), vec!["public", "t"]);
        assert_eq!(split_qualified("\"My\"\"T\""), vec!["My\"T"]);
        assert_eq!(quote_ident("t_1"), "t_1");
        assert_eq!(quote_ident("T"), "\"T\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
    }

    #[test]
    fn types_format_with_their_modifiers() {
        assert_eq!(format_type(1043, 12), "character varying(8)");
        assert_eq!(format_type(1043, -1), "character varying");
        assert_eq!(format_type(1700, ((10 << 16) | 2) + 4), "numeric(10,2)");
        assert_eq!(format_type(23, -1), "integer");
        assert_eq!(format_type(1007, -1), "integer[]");
        assert_eq!(
            type_named("pg_catalog.int2[]"),
            Some(crate::array::of(DataType::Int2))
        );
    }
}
