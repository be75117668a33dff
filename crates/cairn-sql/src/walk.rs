//! Questions about a syntax-tree expression answered before binding it: does it call an
//! aggregate (then its query level is grouped), does it hold a subquery.
//!
//! Both look through every expression form cairn binds, and not into subqueries: an
//! aggregate inside a subquery belongs to the subquery's level.

use sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget, ObjectNamePart,
};

use crate::aggregate::AggFunc;

/// Whether `expr` calls an aggregate function at its own query level.
pub fn has_aggregate(expr: &SqlExpr) -> bool {
    any(expr, &|e| match e {
        SqlExpr::Function(f) => {
            f.over.is_none()
                && matches!(f.name.0.as_slice(), [ObjectNamePart::Identifier(i)]
                    if AggFunc::named(&i.value.to_lowercase()).is_some())
        }
        _ => false,
    })
}

/// Whether `expr` holds a subquery.
pub fn has_subquery(expr: &SqlExpr) -> bool {
    any(expr, &|e| {
        matches!(
            e,
            SqlExpr::Subquery(_)
                | SqlExpr::Exists { .. }
                | SqlExpr::In {
                    target: InTarget::Subquery(_),
                    ..
                }
        )
    })
}

/// Calls `f` with the name of each column `expr` names (the last part of a qualified name).
pub fn identifiers(expr: &SqlExpr, f: &mut dyn FnMut(&str)) {
    match expr {
        SqlExpr::Identifier(i) => f(&crate::bind::ident_name(i)),
        SqlExpr::CompoundIdentifier(parts) => {
            if let Some(last) = parts.last() {
                f(&crate::bind::ident_name(last));
            }
        }
        other => children(other).into_iter().for_each(|c| identifiers(c, f)),
    }
}

/// Whether `test` holds for `expr` or an expression inside it (not inside subqueries).
fn any(expr: &SqlExpr, test: &dyn Fn(&SqlExpr) -> bool) -> bool {
    test(expr) || children(expr).into_iter().any(|c| any(c, test))
}

/// The expressions directly inside `expr`.
fn children(expr: &SqlExpr) -> Vec<&SqlExpr> {
    match expr {
        SqlExpr::Nested(e)
        | SqlExpr::UnaryOp { expr: e, .. }
        | SqlExpr::Cast { expr: e, .. }
        | SqlExpr::IsNull(e)
        | SqlExpr::IsNotNull(e)
        | SqlExpr::IsTrue(e)
        | SqlExpr::IsNotTrue(e)
        | SqlExpr::IsFalse(e)
        | SqlExpr::IsNotFalse(e)
        | SqlExpr::IsUnknown(e)
        | SqlExpr::IsNotUnknown(e)
        | SqlExpr::Ceil { expr: e, .. }
        | SqlExpr::Floor { expr: e, .. }
        | SqlExpr::Collate { expr: e, .. } => vec![e],
        SqlExpr::BinaryOp { left, right, .. }
        | SqlExpr::IsDistinctFrom(left, right)
        | SqlExpr::IsNotDistinctFrom(left, right)
        | SqlExpr::AnyOp { left, right, .. }
        | SqlExpr::AllOp { left, right, .. } => vec![left, right],
        SqlExpr::Like { expr, pattern, .. } | SqlExpr::ILike { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        SqlExpr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        SqlExpr::In { expr, target, .. } => {
            let mut all = vec![expr.as_ref()];
            if let InTarget::List(list) = target {
                all.extend(list);
            }
            all
        }
        SqlExpr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut all: Vec<&SqlExpr> = operand.iter().map(|e| e.as_ref()).collect();
            for when in conditions {
                all.push(&when.condition);
                all.push(&when.result);
            }
            all.extend(else_result.iter().map(|e| e.as_ref()));
            all
        }
        SqlExpr::Function(f) => {
            let mut all: Vec<&SqlExpr> = Vec::new();
            if let FunctionArguments::List(list) = &f.args {
                for arg in &list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } = arg
                    {
                        all.push(e);
                    }
                }
                for clause in &list.clauses {
                    if let sqlparser::ast::FunctionArgumentClause::OrderBy(keys) = clause {
                        all.extend(keys.iter().map(|k| &k.expr));
                    }
                }
            }
            all.extend(f.filter.iter().map(|e| e.as_ref()));
            all
        }
        SqlExpr::Position { expr, r#in } => vec![expr, r#in],
        SqlExpr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut all = vec![expr.as_ref()];
            all.extend(substring_from.iter().map(|e| e.as_ref()));
            all.extend(substring_for.iter().map(|e| e.as_ref()));
            all
        }
        SqlExpr::Trim {
            expr, trim_what, ..
        } => {
            let mut all = vec![expr.as_ref()];
            all.extend(trim_what.iter().map(|e| e.as_ref()));
            all
        }
        SqlExpr::Tuple(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}
