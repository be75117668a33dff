//! Bound expressions: what the planner makes of the syntax tree's expressions once names and
//! types are resolved, and their evaluation over a row.
//!
//! Evaluation follows SQL's three-valued logic: an operator given NULL gives NULL, except
//! `AND` (false wins over NULL), `OR` (true wins over NULL), `IS [NOT] NULL` and
//! `IS [NOT] DISTINCT FROM`, which always answer true or false. Errors are the operators' own
//! ([`Value::arith`], [`Value::cast`]): evaluation never returns a wrong value instead.

use std::cmp::Ordering;

use crate::error::Result;
use crate::value::{ArithOp, DataType, Value};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            CmpOp::Eq => ordering.is_eq(),
            CmpOp::NotEq => ordering.is_ne(),
            CmpOp::Lt => ordering.is_lt(),
            CmpOp::LtEq => ordering.is_le(),
            CmpOp::Gt => ordering.is_gt(),
            CmpOp::GtEq => ordering.is_ge(),
        }
    }
}

/// A bound expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Constant(Value),
    /// Column `n` of the input row.
    Column(usize),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Negate(Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// `a || b`, both as text.
    Concat(Box<Expr>, Box<Expr>),
    Cast(Box<Expr>, DataType),
    IsNull(Box<Expr>),
    /// `a IS DISTINCT FROM b`: inequality where NULL equals NULL.
    IsDistinctFrom(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The expression's value over `row`.
    pub fn eval(&self, row: &[Value]) -> Result<Value> {
        Ok(match self {
            Expr::Constant(v) => v.clone(),
            Expr::Column(n) => row[*n].clone(),
            Expr::Arith(op, a, b) => a.eval(row)?.arith(*op, &b.eval(row)?)?,
            Expr::Negate(a) => {
                let v = a.eval(row)?;
                match v.data_type() {
                    None => Value::Null,
                    Some(DataType::Float8) => Value::Float8(0.0).arith(ArithOp::Sub, &v)?,
                    // 0 - v in v's own type, so that negating the minimum overflows there.
                    Some(ty) => Value::Int2(0).cast(ty)?.arith(ArithOp::Sub, &v)?,
                }
            }
            Expr::Compare(op, a, b) => match a.eval(row)?.compare(&b.eval(row)?)? {
                Some(ordering) => Value::Bool(op.holds(ordering)),
                None => Value::Null,
            },
            Expr::And(a, b) => match (truth(a.eval(row)?), truth(b.eval(row)?)) {
                (Some(false), _) | (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            },
            Expr::Or(a, b) => match (truth(a.eval(row)?), truth(b.eval(row)?)) {
                (Some(true), _) | (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            },
            Expr::Not(a) => match truth(a.eval(row)?) {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Expr::Concat(a, b) => match (a.eval(row)?.to_text(), b.eval(row)?.to_text()) {
                (Some(x), Some(y)) => Value::Text(x + &y),
                _ => Value::Null,
            },
            Expr::Cast(a, ty) => a.eval(row)?.cast(*ty)?,
            Expr::IsNull(a) => Value::Bool(a.eval(row)?.is_null()),
            Expr::IsDistinctFrom(a, b) => {
                let (x, y) = (a.eval(row)?, b.eval(row)?);
                Value::Bool(match (x.is_null(), y.is_null()) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    (false, false) => x.compare(&y)? != Some(Ordering::Equal),
                })
            }
        })
    }
}

/// A boolean value as Rust's, NULL as `None` (the planner checked the type).
fn truth(v: Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}
