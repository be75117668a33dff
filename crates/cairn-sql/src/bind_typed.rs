//! Binding the forms of the newer types' syntax: the literal forms of typed constants —
//! `DATE '2020-01-01'`, `TIMESTAMP '…'`, `UUID '…'` (any type name before a string), and
//! `INTERVAL '1 day'`, also with a unit after the string (`INTERVAL '3' DAY`) — and the JSON
//! operators. A typed constant is read by its type's input function when bound, so bad text
//! is an error placed at the literal, before anything runs.

use sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, Interval as SqlInterval, TypedString, Value as SqlValue,
};

use crate::bind::{data_type_of, Binder, Typed};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::func::Function;
use crate::value::{DataType, Value};

impl Binder<'_> {
    /// `type 'text'`.
    pub(crate) fn typed_string(&self, typed: &TypedString) -> Result<Typed> {
        let ty = data_type_of(&typed.data_type)?;
        let text = string_of(&typed.value.value)?;
        Ok(Typed {
            expr: Expr::Constant(Value::parse(ty, &text)?),
            ty: Some(ty),
        })
    }

    /// `INTERVAL 'text' [unit]`.
    pub(crate) fn interval(&self, interval: &SqlInterval) -> Result<Typed> {
        let SqlExpr::Value(value) = interval.value.as_ref() else {
            return Err(Error::not_supported("an INTERVAL of an expression"));
        };
        let mut text = string_of(&value.value)?;
        if let Some(unit) = &interval.leading_field {
            // A bare number counts the leading unit (`'3' DAY`); a clock keeps its meaning.
            if !text.contains(':') && !text.trim().contains(' ') {
                text = format!("{text} {}", unit.to_string().to_lowercase());
            }
        }
        Ok(Typed {
            expr: Expr::Constant(Value::parse(DataType::Interval, &text)?),
            ty: Some(DataType::Interval),
        })
    }
}

fn string_of(value: &SqlValue) -> Result<String> {
    match value {
        SqlValue::SingleQuotedString(s) | SqlValue::EscapedStringLiteral(s) => Ok(s.clone()),
        SqlValue::DollarQuotedString(s) => Ok(s.value.clone()),
        other => Err(Error::not_supported(&format!("the literal {other}"))),
    }
}

impl Binder<'_> {
    /// A JSON operator: `->`, `->>` (a key or an index), `#>`, `#>>` (a path), `@>`, `<@`
    /// and `?` (jsonb). An untyped document is read as `jsonb` where only `jsonb` has the
    /// operator, else as `json`; an untyped key as text.
    pub(crate) fn json_operator(
        &self,
        left: &SqlExpr,
        op: &BinaryOperator,
        right: &SqlExpr,
    ) -> Result<Typed> {
        let (a, b) = (self.bind(left)?, self.bind(right)?);
        let jsonb_only = matches!(
            op,
            BinaryOperator::AtArrow | BinaryOperator::ArrowAt | BinaryOperator::Question
        );
        let doc_type = match a.ty {
            Some(t @ (DataType::Json | DataType::Jsonb)) if !jsonb_only || t == DataType::Jsonb => {
                t
            }
            None if jsonb_only => DataType::Jsonb,
            None => DataType::Json,
            Some(t) => {
                return Err(self.no_operator(t, &op.to_string(), b.result_type(), left));
            }
        };
        let key_type = match (op, b.ty) {
            (BinaryOperator::AtArrow | BinaryOperator::ArrowAt, None | Some(DataType::Jsonb)) => {
                DataType::Jsonb
            }
            (BinaryOperator::Arrow | BinaryOperator::LongArrow, Some(DataType::Int4)) => {
                DataType::Int4
            }
            (
                BinaryOperator::Arrow
                | BinaryOperator::LongArrow
                | BinaryOperator::HashArrow
                | BinaryOperator::HashLongArrow
                | BinaryOperator::Question,
                None | Some(DataType::Text),
            ) => DataType::Text,
            (_, _) => {
                return Err(self.no_operator(doc_type, &op.to_string(), b.result_type(), left));
            }
        };
        let (function, result) = match op {
            BinaryOperator::Arrow => (Function::JsonGet, doc_type),
            BinaryOperator::LongArrow => (Function::JsonGetText, DataType::Text),
            BinaryOperator::HashArrow => (Function::JsonPath, doc_type),
            BinaryOperator::HashLongArrow => (Function::JsonPathText, DataType::Text),
            BinaryOperator::AtArrow => (Function::JsonContains, DataType::Bool),
            BinaryOperator::ArrowAt => (Function::JsonContained, DataType::Bool),
            _ => (Function::JsonHasKey, DataType::Bool),
        };
        let args = vec![
            a.into_type(doc_type).map_err(|e| self.placed(e, left))?,
            b.into_type(key_type).map_err(|e| self.placed(e, right))?,
        ];
        Ok(Typed {
            expr: Expr::Call(function, args),
            ty: Some(result),
        })
    }
}
