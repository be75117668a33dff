//! Functions that return rows: `generate_series`, `unnest` and `pg_partition_ancestors` in
//! FROM (`pg_catalog.` allowed, and LATERAL: an argument may read the FROM items before
//! it; `WITH ORDINALITY` adding the row number to `pg_partition_ancestors`), and a set-returning
//! function as the whole select list of a SELECT without FROM (`SELECT generate_series(1,
//! 3)`), which is planned as `SELECT * FROM f(…)`, the rows PostgreSQL returns for it.
//!
//! cairn has no partitioned tables: `pg_partition_ancestors(rel)` has no rows for any
//! relation, as PostgreSQL answers for a relation that is not a partition.

use sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, ObjectNamePart,
    Select, SelectItem, TableAlias, TableFactor, TableWithJoins, WildcardAdditionalOptions,
};

use crate::bind::{ident_name, Binder, Context};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::Plan;
use crate::scope::Scope;
use crate::value::{DataType, Value};

/// The set-returning functions.
const SET_RETURNING: &[&str] = &["generate_series", "pg_partition_ancestors", "unnest"];

/// A function's name without `pg_catalog.`, if that is all it is qualified by.
pub(crate) fn function_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(n)] => Some(ident_name(n)),
        [ObjectNamePart::Identifier(schema), ObjectNamePart::Identifier(n)]
            if ident_name(schema) == "pg_catalog" =>
        {
            Some(ident_name(n))
        }
        _ => None,
    }
}

/// A FROM function, if `factor` is one cairn has.
pub(crate) fn plan(
    ctx: &Context<'_>,
    factor: &TableFactor,
    parent: Option<&Binder<'_>>,
) -> Result<Option<(Plan, Scope, bool)>> {
    let (name, args, alias, ordinality) = match factor {
        TableFactor::Table {
            name,
            alias,
            args: Some(args),
            with_ordinality,
            ..
        } => (name, args.args.as_slice(), alias.as_ref(), *with_ordinality),
        TableFactor::Function {
            name,
            args,
            alias,
            with_ordinality,
            ..
        } => (name, args.as_slice(), alias.as_ref(), *with_ordinality),
        TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            with_ordinality: false,
            ..
        } => {
            let [array] = array_exprs.as_slice() else {
                return Err(Error::not_supported("unnest of several arrays"));
            };
            return plan_unnest(ctx, array, alias.as_ref(), parent).map(Some);
        }
        _ => return Ok(None),
    };
    let Some(function) = function_name(name).filter(|n| SET_RETURNING.contains(&n.as_str())) else {
        return Ok(None);
    };
    if function == "generate_series" {
        if ordinality {
            return Err(Error::not_supported("generate_series WITH ORDINALITY"));
        }
        return crate::planner::plan_series(ctx, args, alias, parent).map(Some);
    }
    let scope = Scope::default();
    let binder = Binder::new(ctx, &scope, parent).in_clause("functions in FROM");
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = args else {
        return Err(Error::new(
            crate::error::SqlState::UNDEFINED_FUNCTION,
            format!("function {function} must take one argument"),
        ));
    };
    if function == "unnest" {
        if ordinality {
            return Err(Error::not_supported("unnest WITH ORDINALITY"));
        }
        return plan_unnest(ctx, arg, alias, parent).map(Some);
    }
    // pg_partition_ancestors(regclass): its argument checked, no rows.
    let bound = binder.bind(arg)?;
    crate::system_functions::reg_cast(&binder, bound, DataType::RegClass)?;
    let mut columns = vec![("relid".to_string(), DataType::RegClass)];
    if ordinality {
        columns.push(("ordinality".to_string(), DataType::Int8));
    }
    let plan = empty_relation(columns.len());
    let scope = crate::planner::aliased(&function, alias, columns)?;
    Ok(Some((plan, scope, binder.is_correlated())))
}

/// `unnest(array)`: a row per element.
fn plan_unnest(
    ctx: &Context<'_>,
    arg: &SqlExpr,
    alias: Option<&TableAlias>,
    parent: Option<&Binder<'_>>,
) -> Result<(Plan, Scope, bool)> {
    let scope = Scope::default();
    let binder = Binder::new(ctx, &scope, parent).in_clause("functions in FROM");
    let bound = binder.bind(arg)?;
    let element = match bound.ty {
        Some(DataType::Array(element)) => *element,
        None => DataType::Text,
        Some(other) => {
            return Err(Error::new(
                crate::error::SqlState::UNDEFINED_FUNCTION,
                format!("function unnest({}) does not exist", other.name()),
            ))
        }
    };
    let array = bound.into_type(crate::array::of(element))?;
    // A function of one column names it after its alias when only that is given.
    let column = match alias {
        Some(a) if a.columns.is_empty() => ident_name(&a.name),
        _ => "unnest".into(),
    };
    let scope = crate::planner::aliased("unnest", alias, vec![(column, element)])?;
    Ok((Plan::Unnest { array }, scope, binder.is_correlated()))
}

/// A relation of `width` columns and no rows.
pub(crate) fn empty_relation(width: usize) -> Plan {
    Plan::Filter {
        input: Box::new(Plan::Values {
            rows: vec![vec![Expr::Constant(Value::Null); width]],
        }),
        predicate: Expr::Constant(Value::Bool(false)),
    }
}

/// `SELECT f(…) [AS a]` without FROM, `f` set-returning, as `SELECT * FROM f(…) [AS a]`.
pub(crate) fn select_list_function(select: &Select) -> Option<Select> {
    if !select.from.is_empty()
        || select.selection.is_some()
        || select.having.is_some()
        || select.projection.len() != 1
    {
        return None;
    }
    let (call, alias) = match &select.projection[0] {
        SelectItem::UnnamedExpr(SqlExpr::Function(f)) => (f, None),
        SelectItem::ExprWithAlias {
            expr: SqlExpr::Function(f),
            alias,
        } => (f, Some(alias.clone())),
        _ => return None,
    };
    let name = function_name(&call.name)?;
    if !SET_RETURNING.contains(&name.as_str()) || call.over.is_some() {
        return None;
    }
    let FunctionArguments::List(list) = &call.args else {
        return None;
    };
    let mut rewritten = select.clone();
    rewritten.from = vec![TableWithJoins {
        relation: TableFactor::Function {
            lateral: false,
            name: call.name.clone(),
            args: list.args.clone(),
            with_ordinality: false,
            alias: alias.map(|name| TableAlias {
                explicit: true,
                name,
                columns: Vec::new(),
                at: None,
            }),
        },
        joins: Vec::new(),
    }];
    rewritten.projection = vec![SelectItem::Wildcard(WildcardAdditionalOptions::default())];
    Some(rewritten)
}
