//! Binding: the syntax tree's expressions made [`Expr`]s, every operator's operand types
//! resolved and checked as PostgreSQL does, every error placed in the statement text.
//!
//! Literals are typed as PostgreSQL types them: an integer literal is `integer` if it fits,
//! else `bigint` (numeric beyond that, and for decimals and exponents: not supported yet); a
//! quoted string and `NULL` are of *unknown* type until an operator gives them the type of
//! its other operand (`'1' + 1` is `integer` arithmetic, and `'x' + 1` is the integer input
//! error, placed at the literal), else `text`. A minus sign before a numeric literal is folded
//! into it, as PostgreSQL's grammar does (`-2147483648` is an integer, `-(-2147483648)` a
//! bigint). Output columns are named as PostgreSQL names them: the alias, the type of an
//! outermost cast (`int4`), else `?column?`.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, Expr as SqlExpr, Ident, Spanned, UnaryOperator,
    Value as SqlValue,
};

use crate::catalog::TableDef;
use crate::error::{Error, Result, SqlState};
use crate::expr::{CmpOp, Expr};
use crate::parser::offset_of;
use crate::value::{ArithOp, DataType, Value};

/// A bound expression with its type; `None` while it is an untyped literal.
#[derive(Debug, Clone)]
pub struct Typed {
    pub expr: Expr,
    pub ty: Option<DataType>,
}

impl Typed {
    /// The type the expression's values have in a result: an untyped literal is text.
    pub fn result_type(&self) -> DataType {
        self.ty.unwrap_or(DataType::Text)
    }

    /// The expression as type `ty`: an untyped literal read as a value of `ty` now (so its
    /// input error comes at bind time, as in PostgreSQL), an expression of type `ty` as it is,
    /// anything else cast when evaluated.
    pub fn into_type(self, ty: DataType) -> Result<Expr> {
        match (self.ty, self.expr) {
            (None, Expr::Constant(v)) => v.cast(ty).map(Expr::Constant),
            (Some(t), expr) if t == ty => Ok(expr),
            (_, expr) => Ok(Expr::Cast(Box::new(expr), ty)),
        }
    }
}

/// Binds the expressions of one statement, whose text is `sql`, over the columns of `scope`
/// (the table of its FROM, if any).
pub struct Binder<'a> {
    sql: &'a str,
    scope: Option<&'a TableDef>,
}

impl<'a> Binder<'a> {
    pub fn new(sql: &'a str) -> Binder<'a> {
        Binder { sql, scope: None }
    }

    /// A binder whose column references name the columns of `table`.
    pub fn over(sql: &'a str, table: &'a TableDef) -> Binder<'a> {
        Binder {
            sql,
            scope: Some(table),
        }
    }

    /// The column `name` (of `qualifier`, if given) of the scope.
    fn column(&self, qualifier: Option<&str>, name: &str) -> Result<Typed> {
        let found = self.scope.and_then(|table| {
            if qualifier.is_some_and(|q| q != table.name) {
                return None;
            }
            table.column(name).map(|i| (i, table.columns[i].data_type))
        });
        match found {
            Some((i, ty)) => Ok(Typed {
                expr: Expr::Column(i),
                ty: Some(ty),
            }),
            None => Err(Error::new(
                SqlState::UNDEFINED_COLUMN,
                match qualifier {
                    Some(q) => format!("column {q}.{name} does not exist"),
                    None => format!("column \"{name}\" does not exist"),
                },
            )),
        }
    }

    /// The 1-based character position where `node` starts.
    fn position_of(&self, node: &impl Spanned) -> Option<usize> {
        let start = node.span().start;
        offset_of(self.sql, start.line as usize, start.column as usize)
    }

    /// `error`, placed at `node` unless it is placed already.
    pub fn placed(&self, error: Error, node: &impl Spanned) -> Error {
        match self.position_of(node) {
            Some(p) if error.position.is_none() => error.at(p),
            _ => error,
        }
    }

    /// The column name PostgreSQL gives a select-list expression without an alias.
    pub fn column_name(expr: &SqlExpr) -> String {
        match expr {
            SqlExpr::Cast { data_type, .. } => match data_type_of(data_type) {
                Ok(ty) => ty.internal_name().into(),
                Err(_) => "?column?".into(),
            },
            SqlExpr::Nested(inner) => Binder::column_name(inner),
            SqlExpr::Identifier(ident) => ident_name(ident),
            SqlExpr::CompoundIdentifier(parts) => {
                parts.last().map_or_else(|| "?column?".into(), ident_name)
            }
            _ => "?column?".into(),
        }
    }

    pub fn bind(&self, expr: &SqlExpr) -> Result<Typed> {
        self.bind_inner(expr).map_err(|e| self.placed(e, expr))
    }

    fn bind_inner(&self, expr: &SqlExpr) -> Result<Typed> {
        match expr {
            SqlExpr::Value(v) => literal(&v.value),
            SqlExpr::Identifier(ident) => self.column(None, &ident_name(ident)),
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => {
                self.column(Some(&ident_name(&parts[0])), &ident_name(&parts[1]))
            }
            SqlExpr::Nested(inner) => self.bind(inner),
            SqlExpr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: inner,
            } => match fold_negative(inner) {
                Some(text) => number(&text),
                None => {
                    let operand = self.numeric_operand(inner, "-")?;
                    Ok(Typed {
                        ty: operand.ty,
                        expr: Expr::Negate(Box::new(operand.expr)),
                    })
                }
            },
            SqlExpr::UnaryOp {
                op: UnaryOperator::Plus,
                expr: inner,
            } => self.numeric_operand(inner, "+"),
            SqlExpr::UnaryOp {
                op: UnaryOperator::Not,
                expr: inner,
            } => Ok(Typed {
                expr: Expr::Not(Box::new(self.boolean(inner, "NOT")?)),
                ty: Some(DataType::Bool),
            }),
            SqlExpr::BinaryOp { left, op, right } => self.binary(left, op, right),
            SqlExpr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr: inner,
                data_type,
                format: None,
            } => {
                let ty = data_type_of(data_type)?;
                let operand = self.bind(inner)?;
                Ok(Typed {
                    expr: operand
                        .into_type(ty)
                        .map_err(|e| self.placed(e, inner.as_ref()))?,
                    ty: Some(ty),
                })
            }
            SqlExpr::IsNull(inner) => Ok(Typed {
                expr: Expr::IsNull(Box::new(self.bind(inner)?.expr)),
                ty: Some(DataType::Bool),
            }),
            SqlExpr::IsNotNull(inner) => Ok(Typed {
                expr: Expr::Not(Box::new(Expr::IsNull(Box::new(self.bind(inner)?.expr)))),
                ty: Some(DataType::Bool),
            }),
            SqlExpr::IsDistinctFrom(a, b) | SqlExpr::IsNotDistinctFrom(a, b) => {
                let (a, b) = self.comparable(a, b, "=")?;
                let distinct = Expr::IsDistinctFrom(Box::new(a), Box::new(b));
                Ok(Typed {
                    expr: if matches!(expr, SqlExpr::IsDistinctFrom(..)) {
                        distinct
                    } else {
                        Expr::Not(Box::new(distinct))
                    },
                    ty: Some(DataType::Bool),
                })
            }
            other => Err(Error::not_supported(&format!("the expression {other}"))),
        }
    }

    fn binary(&self, left: &SqlExpr, op: &BinaryOperator, right: &SqlExpr) -> Result<Typed> {
        let arith = match op {
            BinaryOperator::Plus => Some(ArithOp::Add),
            BinaryOperator::Minus => Some(ArithOp::Sub),
            BinaryOperator::Multiply => Some(ArithOp::Mul),
            BinaryOperator::Divide => Some(ArithOp::Div),
            BinaryOperator::Modulo => Some(ArithOp::Rem),
            _ => None,
        };
        if let Some(arith) = arith {
            let (a, b) = self.operands(left, right)?;
            let (ta, tb) = (
                a.ty.unwrap_or(DataType::Text),
                b.ty.unwrap_or(DataType::Text),
            );
            let wide = ta
                .wider_numeric(tb)
                .filter(|w| arith != ArithOp::Rem || *w != DataType::Float8)
                .ok_or_else(|| self.no_operator(ta, arith.symbol(), tb, left))?;
            return Ok(Typed {
                expr: Expr::Arith(arith, Box::new(a.expr), Box::new(b.expr)),
                ty: Some(wide),
            });
        }
        let compare = match op {
            BinaryOperator::Eq => Some(CmpOp::Eq),
            BinaryOperator::NotEq => Some(CmpOp::NotEq),
            BinaryOperator::Lt => Some(CmpOp::Lt),
            BinaryOperator::LtEq => Some(CmpOp::LtEq),
            BinaryOperator::Gt => Some(CmpOp::Gt),
            BinaryOperator::GtEq => Some(CmpOp::GtEq),
            _ => None,
        };
        if let Some(cmp) = compare {
            let (a, b) = self.comparable(left, right, cmp.symbol())?;
            return Ok(Typed {
                expr: Expr::Compare(cmp, Box::new(a), Box::new(b)),
                ty: Some(DataType::Bool),
            });
        }
        match op {
            BinaryOperator::And | BinaryOperator::Or => {
                let word = if *op == BinaryOperator::And {
                    "AND"
                } else {
                    "OR"
                };
                let (a, b) = (self.boolean(left, word)?, self.boolean(right, word)?);
                let expr = if *op == BinaryOperator::And {
                    Expr::And(Box::new(a), Box::new(b))
                } else {
                    Expr::Or(Box::new(a), Box::new(b))
                };
                Ok(Typed {
                    expr,
                    ty: Some(DataType::Bool),
                })
            }
            BinaryOperator::StringConcat => {
                let (a, b) = (self.bind(left)?, self.bind(right)?);
                let text = |t: &Typed| t.ty.is_none_or(|ty| ty == DataType::Text);
                if !text(&a) && !text(&b) {
                    return Err(self.no_operator(a.result_type(), "||", b.result_type(), left));
                }
                Ok(Typed {
                    expr: Expr::Concat(Box::new(a.expr), Box::new(b.expr)),
                    ty: Some(DataType::Text),
                })
            }
            other => Err(Error::not_supported(&format!("the operator {other}"))),
        }
    }

    /// Both operands of a binary operator, an untyped literal given the other's type.
    fn operands(&self, left: &SqlExpr, right: &SqlExpr) -> Result<(Typed, Typed)> {
        let (a, b) = (self.bind(left)?, self.bind(right)?);
        Ok(match (a.ty, b.ty) {
            (None, Some(ty)) => (
                Typed {
                    expr: a.into_type(ty).map_err(|e| self.placed(e, left))?,
                    ty: Some(ty),
                },
                b,
            ),
            (Some(ty), None) => {
                let b = Typed {
                    expr: b.into_type(ty).map_err(|e| self.placed(e, right))?,
                    ty: Some(ty),
                };
                (a, b)
            }
            _ => (a, b),
        })
    }

    /// The operands of a comparison, of types that compare (numbers with numbers, or the
    /// same type).
    fn comparable(&self, left: &SqlExpr, right: &SqlExpr, symbol: &str) -> Result<(Expr, Expr)> {
        let (a, b) = self.operands(left, right)?;
        let (ta, tb) = (a.result_type(), b.result_type());
        if ta != tb && ta.wider_numeric(tb).is_none() {
            return Err(self.no_operator(ta, symbol, tb, left));
        }
        Ok((a.expr, b.expr))
    }

    fn numeric_operand(&self, expr: &SqlExpr, symbol: &str) -> Result<Typed> {
        let operand = self.bind(expr)?;
        match operand.ty {
            Some(ty) if ty.is_numeric() => Ok(operand),
            ty => Err(Error::new(
                SqlState::UNDEFINED_FUNCTION,
                format!(
                    "operator does not exist: {symbol} {}",
                    ty.map_or("unknown", DataType::name)
                ),
            )),
        }
    }

    /// An operand of AND, OR or NOT, or a WHERE condition (`word` names which): boolean (an
    /// untyped literal read as one).
    pub fn boolean(&self, expr: &SqlExpr, word: &str) -> Result<Expr> {
        let operand = self.bind(expr)?;
        match operand.ty {
            None => operand
                .into_type(DataType::Bool)
                .map_err(|e| self.placed(e, expr)),
            Some(DataType::Bool) => Ok(operand.expr),
            Some(ty) => Err(self.placed(
                Error::new(
                    SqlState::DATATYPE_MISMATCH,
                    format!(
                        "argument of {word} must be type boolean, not type {}",
                        ty.name()
                    ),
                ),
                expr,
            )),
        }
    }

    /// `operator does not exist: a <op> b`, placed at the operator.
    fn no_operator(&self, a: DataType, symbol: &str, b: DataType, left: &SqlExpr) -> Error {
        let error = Error::new(
            SqlState::UNDEFINED_FUNCTION,
            format!(
                "operator does not exist: {} {symbol} {}",
                a.name(),
                b.name()
            ),
        );
        let end = left.span().end;
        let from = offset_of(self.sql, end.line as usize, end.column as usize);
        let at = from.and_then(|from| {
            let rest: String = self.sql.chars().skip(from - 1).collect();
            rest.find(symbol).map(|i| from + rest[..i].chars().count())
        });
        match at {
            Some(p) => error.at(p),
            None => error,
        }
    }
}

/// An identifier as PostgreSQL reads it: folded to lower case unless quoted.
pub fn ident_name(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// A literal's bound constant: numbers typed by their size, strings and NULL untyped.
fn literal(value: &SqlValue) -> Result<Typed> {
    match value {
        SqlValue::Number(text, _) => number(text),
        SqlValue::SingleQuotedString(s) => Ok(Typed {
            expr: Expr::Constant(Value::Text(s.clone())),
            ty: None,
        }),
        SqlValue::Boolean(b) => Ok(Typed {
            expr: Expr::Constant(Value::Bool(*b)),
            ty: Some(DataType::Bool),
        }),
        SqlValue::Null => Ok(Typed {
            expr: Expr::Constant(Value::Null),
            ty: None,
        }),
        other => Err(Error::not_supported(&format!("the literal {other}"))),
    }
}

/// An integer literal: integer if it fits, else bigint.
fn number(text: &str) -> Result<Typed> {
    if let Ok(n) = text.parse::<i32>() {
        return Ok(Typed {
            expr: Expr::Constant(Value::Int4(n)),
            ty: Some(DataType::Int4),
        });
    }
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Typed {
            expr: Expr::Constant(Value::Int8(n)),
            ty: Some(DataType::Int8),
        });
    }
    Err(Error::not_supported(&format!(
        "the numeric literal {text} (type numeric)"
    )))
}

/// The text of `-expr` when `expr` is a numeric literal (or a negated one, in parentheses):
/// PostgreSQL's grammar folds the sign into the constant.
fn fold_negative(expr: &SqlExpr) -> Option<String> {
    match expr {
        SqlExpr::Value(v) => match &v.value {
            SqlValue::Number(text, _) => Some(format!("-{text}")),
            _ => None,
        },
        SqlExpr::Nested(inner) => fold_negative(inner),
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => fold_negative(inner).map(|t| t.trim_start_matches('-').to_string()),
        _ => None,
    }
}

/// A type named in SQL.
pub(crate) fn data_type_of(ty: &SqlType) -> Result<DataType> {
    Ok(match ty {
        SqlType::Bool | SqlType::Boolean => DataType::Bool,
        SqlType::SmallInt(_) | SqlType::Int2(_) => DataType::Int2,
        SqlType::Int(_) | SqlType::Integer(_) | SqlType::Int4(_) => DataType::Int4,
        SqlType::BigInt(_) | SqlType::Int8(_) => DataType::Int8,
        SqlType::Float8 | SqlType::DoublePrecision => DataType::Float8,
        SqlType::Text => DataType::Text,
        other => return Err(Error::not_supported(&format!("type {other}"))),
    })
}
