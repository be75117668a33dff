//! Binding of arrays and of the operators tools send in PostgreSQL's own spelling:
//! `ARRAY[…]`, `ARRAY(SELECT …)`, `x op ANY/ALL (array)`, `a[i]`, the regular expression
//! operators `~ ~* !~ !~*`, `OPERATOR(pg_catalog.op)`, and `COLLATE`.
//!
//! An array's elements take their common type, as `CASE` branches do; an `ARRAY[]` of
//! untyped literals is `text[]`. A quantified comparison with an array reads an untyped
//! literal on the right (`'{1,2}'`) as an array of the left's type. `COLLATE` accepts the
//! collations cairn has — `default`, `C` and `POSIX`, which all compare by code point —
//! and names any other as PostgreSQL does (`42704`).

use sqlparser::ast::{AccessExpr, BinaryOperator, Expr as SqlExpr, ObjectName, Query, Subscript};

use crate::bind::{bool_typed, common_type, Binder, Typed};
use crate::error::{Error, Result, SqlState};
use crate::expr::{CmpOp, Expr, SubqueryKind};
use crate::func::Function;
use crate::value::DataType;

impl Binder<'_> {
    /// `ARRAY[a, b, …]`.
    pub(crate) fn array_literal(&self, items: &[SqlExpr]) -> Result<Typed> {
        let bound = items
            .iter()
            .map(|e| self.bind(e))
            .collect::<Result<Vec<_>>>()?;
        let types: Vec<Option<DataType>> = bound.iter().map(|b| b.ty).collect();
        let element = match common_type(&types, "ARRAY")? {
            DataType::Array(inner) => *inner,
            other => other,
        };
        let exprs = bound
            .into_iter()
            .map(|b| b.into_type(element))
            .collect::<Result<Vec<_>>>()?;
        Ok(Typed {
            expr: Expr::Call(Function::ArrayBuild(element), exprs),
            ty: Some(crate::array::of(element)),
        })
    }

    /// `ARRAY(SELECT …)`: the subquery's one column, its rows in order, as an array.
    pub(crate) fn array_subquery(&self, query: &Query) -> Result<Typed> {
        self.subquery(query, SubqueryKind::Array(DataType::Text))
    }

    /// `left op ANY (array)` or `ALL`.
    pub(crate) fn quantified_array(
        &self,
        left: &SqlExpr,
        op: CmpOp,
        all: bool,
        right: &SqlExpr,
    ) -> Result<Typed> {
        let (a, b) = (self.bind(left)?, self.bind(right)?);
        let element = match (b.ty, a.ty) {
            (Some(DataType::Array(element)), _) => *element,
            (None, Some(ty)) => ty,
            (None, None) => DataType::Text,
            (Some(other), _) => {
                return Err(self.placed(
                    Error::new(
                        SqlState::DATATYPE_MISMATCH,
                        format!(
                            "op ANY/ALL (array) requires array on right side, not {}",
                            other.name()
                        ),
                    ),
                    right,
                ))
            }
        };
        let lt = a.ty.unwrap_or(element);
        let common = lt
            .common_with(element)
            .ok_or_else(|| self.no_operator(lt, op.symbol(), element, left))?;
        let array = b.into_type(crate::array::of(element))?;
        let array = if common == element {
            array
        } else {
            Expr::Cast(Box::new(array), crate::array::of(common))
        };
        let function = if all {
            Function::ArrayAll(op)
        } else {
            Function::ArrayAny(op)
        };
        Ok(bool_typed(Expr::Call(
            function,
            vec![a.into_type(common)?, array],
        )))
    }

    /// `root[i]…`: array subscripts.
    pub(crate) fn subscripted(&self, root: &SqlExpr, chain: &[AccessExpr]) -> Result<Typed> {
        let mut typed = self.bind(root)?;
        for access in chain {
            let AccessExpr::Subscript(Subscript::Index { index }) = access else {
                return Err(Error::not_supported("this field access or slice"));
            };
            let Some(DataType::Array(element)) = typed.ty else {
                return Err(Error::new(
                    SqlState::DATATYPE_MISMATCH,
                    format!(
                        "cannot subscript type {} because it does not support subscripting",
                        typed.ty.map_or("unknown", DataType::name)
                    ),
                ));
            };
            let index = self.bind(index)?.into_type(DataType::Int4)?;
            typed = Typed {
                expr: Expr::Call(Function::ArraySubscript, vec![typed.expr, index]),
                ty: Some(*element),
            };
        }
        Ok(typed)
    }

    /// `s ~ pattern` and its case-insensitive and negated forms.
    pub(crate) fn regex_match(
        &self,
        left: &SqlExpr,
        right: &SqlExpr,
        case_insensitive: bool,
        negated: bool,
    ) -> Result<Typed> {
        let (a, b) = self.operands(left, right)?;
        let string =
            |t: Option<DataType>| t.is_none_or(|t| matches!(t, DataType::Text | DataType::Bpchar));
        if !string(a.ty) || !string(b.ty) {
            let symbol = match (case_insensitive, negated) {
                (false, false) => "~",
                (true, false) => "~*",
                (false, true) => "!~",
                (true, true) => "!~*",
            };
            return Err(self.no_operator(a.result_type(), symbol, b.result_type(), left));
        }
        let function = if case_insensitive {
            Function::RegexIMatch
        } else {
            Function::RegexMatch
        };
        let matched = Expr::Call(
            function,
            vec![a.into_type(DataType::Text)?, b.into_type(DataType::Text)?],
        );
        Ok(bool_typed(if negated {
            Expr::Not(Box::new(matched))
        } else {
            matched
        }))
    }

    /// `OPERATOR(schema.op)`: the operator `op` (of `pg_catalog`).
    pub(crate) fn qualified_operator(
        &self,
        left: &SqlExpr,
        parts: &[String],
        right: &SqlExpr,
    ) -> Result<Typed> {
        let (schema, symbol) = match parts {
            [symbol] => ("pg_catalog", symbol.as_str()),
            [schema, symbol] => (schema.as_str(), symbol.as_str()),
            _ => ("", ""),
        };
        let op = match symbol {
            "~" => BinaryOperator::PGRegexMatch,
            "~*" => BinaryOperator::PGRegexIMatch,
            "!~" => BinaryOperator::PGRegexNotMatch,
            "!~*" => BinaryOperator::PGRegexNotIMatch,
            "=" => BinaryOperator::Eq,
            "<>" | "!=" => BinaryOperator::NotEq,
            "<" => BinaryOperator::Lt,
            "<=" => BinaryOperator::LtEq,
            ">" => BinaryOperator::Gt,
            ">=" => BinaryOperator::GtEq,
            "+" => BinaryOperator::Plus,
            "-" => BinaryOperator::Minus,
            "*" => BinaryOperator::Multiply,
            "/" => BinaryOperator::Divide,
            "%" => BinaryOperator::Modulo,
            "||" => BinaryOperator::StringConcat,
            _ => BinaryOperator::Custom(String::new()),
        };
        if schema != "pg_catalog" || matches!(op, BinaryOperator::Custom(_)) {
            return Err(Error::new(
                SqlState::UNDEFINED_FUNCTION,
                format!("operator does not exist: {}", parts.join(".")),
            ));
        }
        self.bind(&SqlExpr::BinaryOp {
            left: Box::new(left.clone()),
            op,
            right: Box::new(right.clone()),
        })
    }

    /// `expr COLLATE name`.
    pub(crate) fn collated(&self, expr: &SqlExpr, collation: &ObjectName) -> Result<Typed> {
        let name = collation.to_string();
        let last = name.rsplit('.').next().unwrap_or("").trim_matches('"');
        if !matches!(last, "default" | "C" | "POSIX" | "ucs_basic") {
            return Err(Error::new(
                SqlState::UNDEFINED_OBJECT,
                format!("collation \"{last}\" for encoding \"UTF8\" does not exist"),
            ));
        }
        self.bind(expr)
    }
}
