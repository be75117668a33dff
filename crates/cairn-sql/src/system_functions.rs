//! The functions PostgreSQL's tools call about the catalog and the session: `format_type`,
//! `pg_get_indexdef`, `pg_get_constraintdef`, `pg_table_is_visible`, `current_database()`,
//! the `reg…` casts…
//!
//! A call is bound into a [`SystemCall`] that holds the statement's
//! [`SystemCatalog`](crate::system::SystemCatalog), so that it answers from the same snapshot the statement's system
//! relations were made from, however late the executor evaluates it; what does not depend
//! on a row (the session's user and database) is bound as a constant. Privilege functions
//! answer true: the session's user owns everything. Comments, triggers, publications and
//! extended statistics do not exist in cairn: the functions describing them answer NULL.

use std::fmt;

use crate::bind::{Binder, Typed};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::system::{quote_ident, RelationOf, Shared, PG_CATALOG, PUBLIC};
use crate::value::{DataType, Value};

/// The catalog and session functions as `pg_proc` lists them: name, argument type oids,
/// result type oid, whether it returns rows.
pub const CATALOG_FUNCTIONS: &[(&str, &[u32], u32, bool)] = &[
    ("current_database", &[], 19, false),
    ("current_schema", &[], 19, false),
    ("current_schemas", &[16], 1003, false),
    ("current_setting", &[25], 25, false),
    ("format_type", &[26, 23], 25, false),
    ("generate_series", &[23, 23], 23, true),
    ("has_table_privilege", &[25, 25], 16, false),
    ("obj_description", &[26, 19], 25, false),
    ("pg_backend_pid", &[], 23, false),
    ("pg_encoding_to_char", &[23], 19, false),
    ("pg_get_constraintdef", &[26, 16], 25, false),
    ("pg_get_expr", &[194, 26, 16], 25, false),
    ("pg_get_indexdef", &[26, 23, 16], 25, false),
    ("pg_get_serial_sequence", &[25, 25], 25, false),
    ("pg_get_userbyid", &[26], 19, false),
    ("pg_get_viewdef", &[26, 16], 25, false),
    ("pg_partition_ancestors", &[2205], 2205, true),
    ("pg_table_is_visible", &[26], 16, false),
    ("quote_ident", &[25], 25, false),
    ("set_config", &[25, 25, 16], 25, false),
    ("to_regclass", &[25], 2205, false),
    ("version", &[], 25, false),
];

/// A function answered from the system catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemFunction {
    /// `pg_get_userbyid(role)`.
    UserName,
    /// `pg_table_is_visible(relation)`.
    TableIsVisible,
    /// `format_type(type, typmod)` (not strict in its modifier).
    FormatType,
    /// `pg_get_indexdef(index [, column, pretty])`.
    IndexDefinition,
    /// `pg_get_constraintdef(constraint [, pretty])`.
    ConstraintDefinition,
    /// `pg_get_viewdef(view [, pretty])`.
    ViewDefinition,
    /// `pg_get_serial_sequence(table, column)`.
    SerialSequence,
    /// A cast of an oid to a `reg…` type: the object's name looked up.
    RegOfOid(DataType),
    /// A cast of text to a `reg…` type; `to_regclass()` and the like when `missing_ok`.
    RegOfText { ty: DataType, missing_ok: bool },
}

/// A call of a [`SystemFunction`], with the catalog it answers from.
#[derive(Clone)]
pub struct SystemCall {
    pub function: SystemFunction,
    pub args: Vec<Expr>,
    pub catalog: Shared,
}

impl PartialEq for SystemCall {
    fn eq(&self, other: &SystemCall) -> bool {
        self.function == other.function && self.args == other.args
    }
}

impl fmt::Debug for SystemCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({:?})", self.function, self.args)
    }
}

/// A call of the catalog or session function `name` over `args`, bound; `None` if `name`
/// is not one.
/// `args` are taken only when `name` is one (else left for the other functions).
pub(crate) fn bind(
    binder: &Binder<'_>,
    name: &str,
    args: &mut Vec<Typed>,
) -> Result<Option<Typed>> {
    use DataType::{Bool, Int4, Oid, Text};
    let ctx = binder.ctx;
    let constant = |v: Value, ty: DataType| {
        Ok(Some(Typed {
            expr: Expr::Constant(v),
            ty: Some(ty),
        }))
    };
    let n = args.len();
    let (function, params, result): (SystemFunction, &[DataType], DataType) = match (name, n) {
        ("current_database" | "current_catalog", 0) => {
            return constant(Value::Text(ctx.system().database.clone()), Text)
        }
        ("current_user" | "session_user" | "current_role" | "user", 0) => {
            return constant(Value::Text(ctx.system().user.clone()), Text)
        }
        ("current_schema", 0) => return constant(Value::Text("public".into()), Text),
        ("current_schemas", 1) => {
            let names = ["pg_catalog", "public"].map(|s| Value::Text(s.into()));
            return constant(
                crate::array::value(Text, names.to_vec()),
                crate::array::of(Text),
            );
        }
        ("pg_backend_pid", 0) => {
            return constant(Value::Int4(crate::settings::backend_pid()), Int4)
        }
        ("pg_is_in_recovery", 0) => return constant(Value::Bool(false), Bool),
        (
            "has_table_privilege"
            | "has_schema_privilege"
            | "has_database_privilege"
            | "has_column_privilege"
            | "has_sequence_privilege"
            | "has_function_privilege"
            | "pg_has_role",
            2..=4,
        ) => return constant(Value::Bool(true), Bool),
        ("obj_description" | "col_description" | "shobj_description", 1..=2)
        | ("pg_get_statisticsobjdef_columns" | "pg_get_triggerdef", 1..=2) => {
            return constant(Value::Null, Text)
        }
        ("pg_relation_is_publishable", 1) => return constant(Value::Bool(false), Bool),
        ("pg_encoding_to_char", 1) => {
            let expr = std::mem::take(args).remove(0).into_type(Int4)?;
            let utf8 = Expr::Compare(
                crate::expr::CmpOp::Eq,
                Box::new(expr),
                Box::new(Expr::Constant(Value::Int4(6))),
            );
            return Ok(Some(Typed {
                expr: Expr::Case {
                    branches: vec![(utf8, Expr::Constant(Value::Text("UTF8".into())))],
                    otherwise: Box::new(Expr::Constant(Value::Text(String::new()))),
                },
                ty: Some(Text),
            }));
        }
        ("pg_get_expr", 2 | 3) => {
            let text = std::mem::take(args).remove(0).into_type(Text)?;
            return Ok(Some(Typed {
                expr: text,
                ty: Some(Text),
            }));
        }
        ("pg_get_userbyid", 1) => (SystemFunction::UserName, &[Oid], Text),
        ("pg_table_is_visible", 1) => (SystemFunction::TableIsVisible, &[Oid], Bool),
        ("format_type", 2) => (SystemFunction::FormatType, &[Oid, Int4], Text),
        ("pg_get_indexdef", 1) => (SystemFunction::IndexDefinition, &[Oid], Text),
        ("pg_get_indexdef", 3) => (SystemFunction::IndexDefinition, &[Oid, Int4, Bool], Text),
        ("pg_get_constraintdef", 1) => (SystemFunction::ConstraintDefinition, &[Oid], Text),
        ("pg_get_constraintdef", 2) => (SystemFunction::ConstraintDefinition, &[Oid, Bool], Text),
        ("pg_get_viewdef", 1) => (SystemFunction::ViewDefinition, &[Oid], Text),
        ("pg_get_viewdef", 2) => (SystemFunction::ViewDefinition, &[Oid, Bool], Text),
        ("pg_get_serial_sequence", 2) => (SystemFunction::SerialSequence, &[Text, Text], Text),
        ("to_regclass" | "to_regtype" | "to_regnamespace", 1) => {
            let ty = match name {
                "to_regclass" => DataType::RegClass,
                "to_regtype" => DataType::RegType,
                _ => DataType::RegNamespace,
            };
            let function = SystemFunction::RegOfText {
                ty,
                missing_ok: true,
            };
            return Ok(Some(call(
                binder,
                function,
                std::mem::take(args),
                &[Text],
                ty,
            )?));
        }
        _ => return Ok(None),
    };
    call(binder, function, std::mem::take(args), params, result).map(Some)
}

/// `function` over `args` given the types `params`.
fn call(
    binder: &Binder<'_>,
    function: SystemFunction,
    args: Vec<Typed>,
    params: &[DataType],
    result: DataType,
) -> Result<Typed> {
    let args = args
        .into_iter()
        .zip(params)
        .map(|(a, ty)| a.into_type(*ty))
        .collect::<Result<Vec<_>>>()?;
    Ok(Typed {
        expr: Expr::System(Box::new(SystemCall {
            function,
            args,
            catalog: binder.ctx.system(),
        })),
        ty: Some(result),
    })
}

/// `expr::ty` for a `reg…` type `ty`: a name resolved now if it is a constant, else looked
/// up when evaluated.
pub(crate) fn reg_cast(binder: &Binder<'_>, operand: Typed, ty: DataType) -> Result<Expr> {
    if operand.ty == Some(ty) {
        return Ok(operand.expr);
    }
    match (&operand.expr, operand.ty) {
        (Expr::Constant(Value::Null), _) => Ok(Expr::Constant(Value::Null)),
        (Expr::Constant(Value::Text(text)), None | Some(DataType::Text)) => binder
            .ctx
            .system()
            .reg_of_text(ty, text)
            .map(Expr::Constant),
        (_, Some(t))
            if t.is_oid() || matches!(t, DataType::Int2 | DataType::Int4 | DataType::Int8) =>
        {
            Ok(Expr::System(Box::new(SystemCall {
                function: SystemFunction::RegOfOid(ty),
                args: vec![operand.into_type(DataType::Oid)?],
                catalog: binder.ctx.system(),
            })))
        }
        (_, None | Some(DataType::Text | DataType::Bpchar)) => {
            Ok(Expr::System(Box::new(SystemCall {
                function: SystemFunction::RegOfText {
                    ty,
                    missing_ok: false,
                },
                args: vec![operand.into_type(DataType::Text)?],
                catalog: binder.ctx.system(),
            })))
        }
        (_, Some(t)) => Err(Error::new(
            SqlState::CANNOT_COERCE,
            format!("cannot cast type {} to {}", t.name(), ty.name()),
        )),
    }
}

impl SystemCall {
    /// The call's value for the values of its arguments.
    pub fn eval(&self, args: &[Value]) -> Result<Value> {
        let catalog = &self.catalog;
        let oid = |i: usize| args.get(i).and_then(Value::oid).map(|n| n as u32);
        let text = |i: usize| match args.get(i) {
            Some(Value::Text(s)) => Some(s.as_str()),
            _ => None,
        };
        if self.function != SystemFunction::FormatType && args.first().is_some_and(Value::is_null) {
            return Ok(Value::Null);
        }
        let answer = match self.function {
            SystemFunction::UserName => oid(0).map(|o| Value::Text(catalog.role_name(o))),
            SystemFunction::TableIsVisible => oid(0).map(|o| {
                Value::Bool(
                    catalog
                        .relation(o)
                        .is_some_and(|r| matches!(r.namespace, PUBLIC | PG_CATALOG)),
                )
            }),
            SystemFunction::FormatType => match (oid(0), args.get(1)) {
                (None, _) => None,
                (Some(o), Some(Value::Int4(typmod))) => {
                    Some(Value::Text(crate::system::format_type(o, *typmod)))
                }
                (Some(o), _) => Some(Value::Text(crate::system::format_type(o, -1))),
            },
            SystemFunction::IndexDefinition => {
                let column = match args.get(1) {
                    Some(Value::Int4(c)) => *c,
                    _ => 0,
                };
                oid(0)
                    .and_then(|o| index_definition(catalog, o, column))
                    .map(Value::Text)
            }
            SystemFunction::ConstraintDefinition => oid(0)
                .and_then(|o| catalog.constraint(o))
                .map(|c| Value::Text(c.definition.clone())),
            SystemFunction::ViewDefinition => {
                oid(0)
                    .and_then(|o| catalog.relation(o))
                    .and_then(|r| match &r.of {
                        RelationOf::View(definition) => Some(Value::Text(format!(
                            " {}",
                            crate::information_schema::view_query(definition)
                        ))),
                        _ => None,
                    })
            }
            SystemFunction::SerialSequence => {
                let (Some(table), Some(column)) = (text(0), text(1)) else {
                    return Ok(Value::Null);
                };
                let table = catalog.relation_named(table).ok_or_else(|| {
                    Error::new(
                        SqlState::UNDEFINED_TABLE,
                        format!("relation \"{table}\" does not exist"),
                    )
                })?;
                let owner = format!("{}.{column}", table.name);
                catalog
                    .relations
                    .iter()
                    .find(|r| matches!(&r.of, RelationOf::Sequence(s) if s.owner.as_deref() == Some(owner.as_str())))
                    .map(|r| Value::Text(format!("public.{}", quote_ident(&r.name))))
            }
            SystemFunction::RegOfOid(ty) => oid(0).map(|o| catalog.reg_of_oid(ty, o)),
            SystemFunction::RegOfText { ty, missing_ok } => match text(0) {
                None => None,
                Some(t) => match catalog.reg_of_text(ty, t) {
                    Ok(v) => Some(v),
                    Err(_) if missing_ok => None,
                    Err(e) => return Err(e),
                },
            },
        };
        Ok(answer.unwrap_or(Value::Null))
    }
}

/// `pg_get_indexdef(index, column)`: the CREATE INDEX statement (column 0) or the name of
/// key column `column`.
pub fn index_definition(
    catalog: &crate::system::SystemCatalog,
    oid: u32,
    column: i32,
) -> Option<String> {
    let relation = catalog.relation(oid)?;
    let RelationOf::Index(index) = &relation.of else {
        return None;
    };
    let table = catalog
        .relations
        .iter()
        .find(|r| r.namespace == PUBLIC && r.kind == 'r' && r.name == index.table)?;
    if column > 0 {
        let (position, _) = index.columns.get(usize::try_from(column - 1).ok()?)?;
        return Some(quote_ident(&table.columns.get(*position)?.name));
    }
    let keys = index
        .columns
        .iter()
        .map(|(position, desc)| {
            let name = quote_ident(&table.columns[*position].name);
            if *desc {
                format!("{name} DESC")
            } else {
                name
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "CREATE {}INDEX {} ON public.{} USING {} ({keys})",
        if index.unique { "UNIQUE " } else { "" },
        quote_ident(&index.name),
        quote_ident(&table.name),
        if index.hash { "hash" } else { "btree" },
    ))
}
