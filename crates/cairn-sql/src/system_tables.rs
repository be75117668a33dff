//! The relations of `pg_catalog` and `information_schema`: their columns, and (through
//! [`crate::pg_catalog_rows`] and [`crate::information_schema`]) their rows made from a
//! [`SystemCatalog`].
//!
//! Each relation is declared once, with its columns as PostgreSQL 15 has them, in
//! PostgreSQL's order (a tool selecting `*` or a column by name finds what it expects).
//! Columns of PostgreSQL's internal types are shown as the closest type cairn has: `name`, `"char"`, `xid`, `int2vector`, `oidvector`, `pg_node_tree` and
//! `regproc` as text, `aclitem[]` as `text[]`, information_schema's domains as their base
//! types. The relations about features cairn does not have (triggers, policies,
//! publications, inheritance, extended statistics, comments) exist with their columns and
//! no rows, so that the queries tools send about them run and find nothing.

use crate::system::{Relation, RelationOf, SystemCatalog, INFORMATION_SCHEMA, PG_CATALOG};
use crate::value::{DataType, Value};

/// A system relation: schema, name, oid, kind (`r` table, `v` view) and columns (`name
/// type, …`).
struct SystemTable {
    namespace: u32,
    name: &'static str,
    oid: u32,
    kind: char,
    columns: &'static str,
}

const fn pg(name: &'static str, oid: u32, kind: char, columns: &'static str) -> SystemTable {
    SystemTable {
        namespace: PG_CATALOG,
        name,
        oid,
        kind,
        columns,
    }
}

const fn info(name: &'static str, oid: u32, columns: &'static str) -> SystemTable {
    SystemTable {
        namespace: INFORMATION_SCHEMA,
        name,
        oid,
        kind: 'v',
        columns,
    }
}

const TABLES: &[SystemTable] = &[
    pg(
        "pg_namespace",
        2615,
        'r',
        "oid oid, nspname name, nspowner oid, nspacl aclitem[]",
    ),
    pg(
        "pg_class",
        1259,
        'r',
        "oid oid, relname name, relnamespace oid, reltype oid, \
        reloftype oid, relowner oid, relam oid, relfilenode oid, reltablespace oid, \
        relpages int4, reltuples float4, relallvisible int4, reltoastrelid oid, \
        relhasindex bool, relisshared bool, relpersistence char, relkind char, relnatts int2, \
        relchecks int2, relhasrules bool, relhastriggers bool, relhassubclass bool, \
        relrowsecurity bool, relforcerowsecurity bool, relispopulated bool, relreplident char, \
        relispartition bool, relrewrite oid, relfrozenxid xid, relminmxid xid, \
        relacl aclitem[], reloptions text[], relpartbound pg_node_tree",
    ),
    pg(
        "pg_attribute",
        1249,
        'r',
        "attrelid oid, attname name, atttypid oid, \
        attstattarget int4, attlen int2, attnum int2, attndims int4, attcacheoff int4, \
        atttypmod int4, attbyval bool, attalign char, attstorage char, attcompression char, \
        attnotnull bool, atthasdef bool, atthasmissing bool, attidentity char, \
        attgenerated char, attisdropped bool, attislocal bool, attinhcount int4, \
        attcollation oid, attacl aclitem[], attoptions text[], attfdwoptions text[], \
        attmissingval text",
    ),
    pg(
        "pg_attrdef",
        2604,
        'r',
        "oid oid, adrelid oid, adnum int2, adbin pg_node_tree",
    ),
    pg(
        "pg_type",
        1247,
        'r',
        "oid oid, typname name, typnamespace oid, typowner oid, \
        typlen int2, typbyval bool, typtype char, typcategory char, typispreferred bool, \
        typisdefined bool, typdelim char, typrelid oid, typsubscript regproc, typelem oid, \
        typarray oid, typinput regproc, typoutput regproc, typreceive regproc, \
        typsend regproc, typmodin regproc, typmodout regproc, typanalyze regproc, \
        typalign char, typstorage char, typnotnull bool, typbasetype oid, typtypmod int4, \
        typndims int4, typcollation oid, typdefaultbin pg_node_tree, typdefault text, \
        typacl aclitem[]",
    ),
    pg(
        "pg_index",
        2610,
        'r',
        "indexrelid oid, indrelid oid, indnatts int2, \
        indnkeyatts int2, indisunique bool, indnullsnotdistinct bool, indisprimary bool, \
        indisexclusion bool, indimmediate bool, indisclustered bool, indisvalid bool, \
        indcheckxmin bool, indisready bool, indislive bool, indisreplident bool, \
        indkey int2vector, indcollation oidvector, indclass oidvector, indoption int2vector, \
        indexprs pg_node_tree, indpred pg_node_tree",
    ),
    pg(
        "pg_constraint",
        2606,
        'r',
        "oid oid, conname name, connamespace oid, contype char, \
        condeferrable bool, condeferred bool, convalidated bool, conrelid oid, contypid oid, \
        conindid oid, conparentid oid, confrelid oid, confupdtype char, confdeltype char, \
        confmatchtype char, conislocal bool, coninhcount int4, connoinherit bool, \
        conkey int2[], confkey int2[], conpfeqop oid[], conppeqop oid[], conffeqop oid[], \
        confdelsetcols int2[], conexclop oid[], conbin pg_node_tree",
    ),
    pg(
        "pg_am",
        2601,
        'r',
        "oid oid, amname name, amhandler regproc, amtype char",
    ),
    pg(
        "pg_database",
        1262,
        'r',
        "oid oid, datname name, datdba oid, encoding int4, \
        datlocprovider char, datistemplate bool, datallowconn bool, datconnlimit int4, \
        datfrozenxid xid, datminmxid xid, dattablespace oid, datcollate text, datctype text, \
        daticulocale text, datcollversion text, datacl aclitem[]",
    ),
    pg(
        "pg_roles",
        12_001,
        'v',
        "rolname name, rolsuper bool, rolinherit bool, \
        rolcreaterole bool, rolcreatedb bool, rolcanlogin bool, rolreplication bool, \
        rolconnlimit int4, rolpassword text, rolvaliduntil timestamptz, rolbypassrls bool, \
        rolconfig text[], oid oid",
    ),
    pg(
        "pg_user",
        12_002,
        'v',
        "usename name, usesysid oid, usecreatedb bool, \
        usesuper bool, userepl bool, usebypassrls bool, passwd text, valuntil timestamptz, \
        useconfig text[]",
    ),
    pg(
        "pg_auth_members",
        1261,
        'r',
        "roleid oid, member oid, grantor oid, \
        admin_option bool",
    ),
    pg(
        "pg_description",
        2609,
        'r',
        "objoid oid, classoid oid, objsubid int4, \
        description text",
    ),
    pg(
        "pg_collation",
        3456,
        'r',
        "oid oid, collname name, collnamespace oid, \
        collowner oid, collprovider char, collisdeterministic bool, collencoding int4, \
        collcollate text, collctype text, colliculocale text, collversion text",
    ),
    pg(
        "pg_sequence",
        2224,
        'r',
        "seqrelid oid, seqtypid oid, seqstart int8, \
        seqincrement int8, seqmax int8, seqmin int8, seqcache int8, seqcycle bool",
    ),
    pg(
        "pg_depend",
        2608,
        'r',
        "classid oid, objid oid, objsubid int4, refclassid oid, \
        refobjid oid, refobjsubid int4, deptype char",
    ),
    pg(
        "pg_settings",
        12_003,
        'v',
        "name text, setting text, unit text, category text, \
        short_desc text, extra_desc text, context text, vartype text, source text, \
        min_val text, max_val text, enumvals text[], boot_val text, reset_val text, \
        sourcefile text, sourceline int4, pending_restart bool",
    ),
    pg(
        "pg_proc",
        1255,
        'r',
        "oid oid, proname name, pronamespace oid, proowner oid, \
        prolang oid, procost float4, prorows float4, provariadic oid, prosupport regproc, \
        prokind char, prosecdef bool, proleakproof bool, proisstrict bool, proretset bool, \
        provolatile char, proparallel char, pronargs int2, pronargdefaults int2, \
        prorettype oid, proargtypes oidvector, proallargtypes oid[], proargmodes char[], \
        proargnames text[], proargdefaults pg_node_tree, protrftypes oid[], prosrc text, \
        probin text, prosqlbody pg_node_tree, proconfig text[], proacl aclitem[]",
    ),
    pg(
        "pg_tablespace",
        1213,
        'r',
        "oid oid, spcname name, spcowner oid, \
        spcacl aclitem[], spcoptions text[]",
    ),
    pg(
        "pg_inherits",
        2611,
        'r',
        "inhrelid oid, inhparent oid, inhseqno int4, \
        inhdetachpending bool",
    ),
    pg(
        "pg_policy",
        3256,
        'r',
        "oid oid, polname name, polrelid oid, polcmd char, \
        polpermissive bool, polroles oid[], polqual pg_node_tree, \
        polwithcheck pg_node_tree",
    ),
    pg(
        "pg_statistic_ext",
        3381,
        'r',
        "oid oid, stxrelid oid, stxname name, \
        stxnamespace oid, stxowner oid, stxstattarget int4, stxkeys int2vector, \
        stxkind char[], stxexprs pg_node_tree",
    ),
    pg(
        "pg_publication",
        6104,
        'r',
        "oid oid, pubname name, pubowner oid, \
        puballtables bool, pubinsert bool, pubupdate bool, pubdelete bool, \
        pubtruncate bool, pubviaroot bool",
    ),
    pg(
        "pg_publication_namespace",
        6237,
        'r',
        "oid oid, pnpubid oid, pnnspid oid",
    ),
    pg(
        "pg_publication_rel",
        6106,
        'r',
        "oid oid, prpubid oid, prrelid oid, \
        prqual pg_node_tree, prattrs int2[]",
    ),
    pg(
        "pg_trigger",
        2620,
        'r',
        "oid oid, tgrelid oid, tgparentid oid, tgname name, \
        tgfoid oid, tgtype int2, tgenabled char, tgisinternal bool, tgconstrrelid oid, \
        tgconstrindid oid, tgconstraint oid, tgdeferrable bool, tginitdeferred bool, \
        tgnargs int2, tgattr int2vector, tgargs bytea, tgqual pg_node_tree, \
        tgoldtable name, tgnewtable name",
    ),
    pg(
        "pg_extension",
        3079,
        'r',
        "oid oid, extname name, extowner oid, \
        extnamespace oid, extrelocatable bool, extversion text, extconfig oid[], \
        extcondition text[]",
    ),
    pg(
        "pg_tables",
        12_004,
        'v',
        "schemaname name, tablename name, tableowner name, \
        tablespace name, hasindexes bool, hasrules bool, hastriggers bool, \
        rowsecurity bool",
    ),
    pg(
        "pg_views",
        12_005,
        'v',
        "schemaname name, viewname name, viewowner name, \
        definition text",
    ),
    pg(
        "pg_indexes",
        12_006,
        'v',
        "schemaname name, tablename name, indexname name, \
        tablespace name, indexdef text",
    ),
    pg(
        "pg_sequences",
        12_007,
        'v',
        "schemaname name, sequencename name, \
        sequenceowner name, data_type regtype, start_value int8, min_value int8, \
        max_value int8, increment_by int8, cycle bool, cache_size int8, last_value int8",
    ),
    pg(
        "pg_matviews",
        12_008,
        'v',
        "schemaname name, matviewname name, \
        matviewowner name, tablespace name, hasindexes bool, ispopulated bool, \
        definition text",
    ),
    info(
        "schemata",
        13_001,
        "catalog_name name, schema_name name, schema_owner name, \
        default_character_set_catalog name, default_character_set_schema name, \
        default_character_set_name name, sql_path text",
    ),
    info(
        "tables",
        13_002,
        "table_catalog name, table_schema name, table_name name, \
        table_type text, self_referencing_column_name name, reference_generation text, \
        user_defined_type_catalog name, user_defined_type_schema name, \
        user_defined_type_name name, is_insertable_into text, is_typed text, \
        commit_action text",
    ),
    info(
        "columns",
        13_003,
        "table_catalog name, table_schema name, table_name name, \
        column_name name, ordinal_position int4, column_default text, is_nullable text, \
        data_type text, character_maximum_length int4, character_octet_length int4, \
        numeric_precision int4, numeric_precision_radix int4, numeric_scale int4, \
        datetime_precision int4, interval_type text, interval_precision int4, \
        character_set_catalog name, character_set_schema name, character_set_name name, \
        collation_catalog name, collation_schema name, collation_name name, \
        domain_catalog name, domain_schema name, domain_name name, udt_catalog name, \
        udt_schema name, udt_name name, scope_catalog name, scope_schema name, \
        scope_name name, maximum_cardinality int4, dtd_identifier name, \
        is_self_referencing text, is_identity text, identity_generation text, \
        identity_start text, identity_increment text, identity_maximum text, \
        identity_minimum text, identity_cycle text, is_generated text, \
        generation_expression text, is_updatable text",
    ),
    info(
        "views",
        13_004,
        "table_catalog name, table_schema name, table_name name, \
        view_definition text, check_option text, is_updatable text, \
        is_insertable_into text, is_trigger_updatable text, is_trigger_deletable text, \
        is_trigger_insertable_into text",
    ),
    info(
        "table_constraints",
        13_005,
        "constraint_catalog name, constraint_schema name, \
        constraint_name name, table_catalog name, table_schema name, table_name name, \
        constraint_type text, is_deferrable text, initially_deferred text, enforced text, \
        nulls_distinct text",
    ),
    info(
        "key_column_usage",
        13_006,
        "constraint_catalog name, constraint_schema name, \
        constraint_name name, table_catalog name, table_schema name, table_name name, \
        column_name name, ordinal_position int4, position_in_unique_constraint int4",
    ),
    info(
        "referential_constraints",
        13_007,
        "constraint_catalog name, \
        constraint_schema name, constraint_name name, unique_constraint_catalog name, \
        unique_constraint_schema name, unique_constraint_name name, match_option text, \
        update_rule text, delete_rule text",
    ),
    info(
        "sequences",
        13_008,
        "sequence_catalog name, sequence_schema name, \
        sequence_name name, data_type text, numeric_precision int4, \
        numeric_precision_radix int4, numeric_scale int4, start_value text, \
        minimum_value text, maximum_value text, increment text, cycle_option text",
    ),
];

/// The type cairn shows a system column of PostgreSQL type `name` as.
fn column_type(name: &str) -> DataType {
    let text_array = crate::array::of(DataType::Text);
    match name {
        "oid" => DataType::Oid,
        "bool" => DataType::Bool,
        "int2" => DataType::Int2,
        "int4" => DataType::Int4,
        "int8" => DataType::Int8,
        "float4" => DataType::Float4,
        "timestamptz" => DataType::TimestampTz,
        "bytea" => DataType::Bytea,
        "regtype" => DataType::RegType,
        "oid[]" => crate::array::of(DataType::Oid),
        "int2[]" => crate::array::of(DataType::Int2),
        "text[]" | "aclitem[]" | "char[]" => text_array,
        _ => DataType::Text,
    }
}

/// The system relations, as [`SystemCatalog`] lists them with the user's.
pub fn relations() -> Vec<Relation> {
    TABLES
        .iter()
        .map(|t| Relation {
            oid: t.oid,
            name: t.name.to_string(),
            namespace: t.namespace,
            kind: t.kind,
            columns: columns(t)
                .into_iter()
                .map(|(name, ty)| crate::system::Column {
                    name,
                    ty,
                    type_oid: crate::wire::oid(ty),
                    typmod: -1,
                    not_null: false,
                    default: None,
                })
                .collect(),
            of: RelationOf::System,
        })
        .collect()
}

fn columns(table: &SystemTable) -> Vec<(String, DataType)> {
    table
        .columns
        .split(',')
        .map(|c| {
            let (name, ty) = c.trim().split_once(' ').unwrap_or((c.trim(), "text"));
            (name.to_string(), column_type(ty.trim()))
        })
        .collect()
}

/// A relation's columns: names and types.
pub type Columns = Vec<(String, DataType)>;

/// The columns and rows of system relation `name` of schema `namespace`, if there is one.
pub fn relation(
    system: &SystemCatalog,
    namespace: u32,
    name: &str,
) -> Option<(Columns, Vec<Vec<Value>>)> {
    let table = TABLES
        .iter()
        .find(|t| t.namespace == namespace && t.name == name)?;
    let rows = if namespace == INFORMATION_SCHEMA {
        crate::information_schema::rows(system, name)
    } else {
        crate::pg_catalog_rows::rows(system, name)
    };
    Some((columns(table), rows))
}

/// Whether `name` is a relation of `pg_catalog` (which an unqualified name finds first).
pub fn is_pg_catalog(name: &str) -> bool {
    TABLES
        .iter()
        .any(|t| t.namespace == PG_CATALOG && t.name == name)
}

pub(crate) fn oid(n: u32) -> Value {
    Value::Oid(n)
}

pub(crate) fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

pub(crate) fn char_of(c: char) -> Value {
    Value::Text(c.to_string())
}

pub(crate) fn int2_array(items: &[i16]) -> Value {
    crate::array::value(
        DataType::Int2,
        items.iter().map(|n| Value::Int2(*n)).collect(),
    )
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_its_relations_columns_and_types() {
        let catalog = crate::catalog::Catalog::default();
        let system = SystemCatalog::of(&catalog, &|_| Vec::new());
        for table in TABLES {
            let (columns, rows) = relation(&system, table.namespace, table.name).unwrap();
            for row in rows {
                assert_eq!(row.len(), columns.len(), "{}", table.name);
                for (value, (name, ty)) in row.iter().zip(&columns) {
                    if let Some(actual) = value.data_type() {
                        assert_eq!(actual, *ty, "{}.{name}", table.name);
                    }
                }
            }
        }
    }
}
