//! Bound expressions: what the planner makes of the syntax tree's expressions once names and
//! types are resolved, and their evaluation over a row.
//!
//! Evaluation follows SQL's three-valued logic: an operator given NULL gives NULL, except
//! `AND` (false wins over NULL), `OR` (true wins over NULL), `IS [NOT] NULL` and
//! `IS [NOT] DISTINCT FROM`, which always answer true or false. Errors are the operators' own
//! ([`Value::arith`], [`Value::cast`]): evaluation never returns a wrong value instead.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::error::{Error, Result, SqlState};
use crate::exec::Env;
use crate::func::{self, Function};
use crate::plan::Plan;
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

    pub fn holds(self, ordering: Ordering) -> bool {
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
    /// Parameter `$n + 1` of a prepared statement: its value where the statement runs.
    Param(usize),
    /// Column `index` of the current row of the query `depth` levels out: a correlated
    /// subquery's reference to the query around it.
    Outer {
        depth: usize,
        index: usize,
    },
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
    /// `CASE WHEN c THEN v … ELSE e END`: the value of the first true condition's branch
    /// (a `CASE x WHEN …` is bound as `x = …` conditions); only that branch is evaluated.
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Box<Expr>,
    },
    /// The first argument that is not NULL; the rest are not evaluated.
    Coalesce(Vec<Expr>),
    /// `x [NOT] IN (a, b, …)`: `x = a OR x = b …` in three-valued logic.
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `x [NOT] LIKE pattern`, `ILIKE` when `case_insensitive`.
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    /// A scalar function of its arguments.
    Call(Function, Vec<Expr>),
    /// A subquery in an expression.
    Subquery(Box<Subquery>),
    /// A function answered from the system catalog (see [`crate::system_functions`]).
    System(Box<crate::system_functions::SystemCall>),
}

/// A subquery used in an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    /// Unique in its statement: the key of an uncorrelated subquery's cached rows.
    pub id: usize,
    pub plan: Plan,
    /// Whether it names columns of a query around it (so it runs again for each row).
    pub correlated: bool,
    pub kind: SubqueryKind,
}

/// What a subquery's rows make of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT …)`: its one value, NULL for no row, `21000` for more than one.
    Scalar,
    /// `EXISTS (SELECT …)`.
    Exists,
    /// `x op ANY (SELECT …)` (and `IN`), `x op ALL (SELECT …)`.
    Quantified {
        left: Box<Expr>,
        op: CmpOp,
        all: bool,
    },
    /// `ARRAY(SELECT …)`: its rows' values as an array of the element type.
    Array(DataType),
}

impl Expr {
    /// The expression's value as an operand: a column or a constant borrowed where it is,
    /// anything else evaluated (an operator reads its operands, it need not own them).
    fn operand<'r>(&'r self, row: &'r [Value], env: &'r Env<'_>) -> Result<Cow<'r, Value>> {
        Ok(match self {
            Expr::Column(n) => Cow::Borrowed(&row[*n]),
            Expr::Constant(v) => Cow::Borrowed(v),
            Expr::Param(i) => Cow::Borrowed(env.param_ref(*i)),
            other => Cow::Owned(other.eval(row, env)?),
        })
    }

    /// The expression's value over `row`, in `env`.
    pub fn eval(&self, row: &[Value], env: &Env<'_>) -> Result<Value> {
        Ok(match self {
            Expr::Constant(v) => v.clone(),
            Expr::Column(n) => row[*n].clone(),
            Expr::Outer { depth, index } => env.outer(*depth)[*index].clone(),
            Expr::Param(i) => env.param(*i),
            Expr::Arith(op, a, b) => a.operand(row, env)?.arith(*op, &*b.operand(row, env)?)?,
            Expr::Negate(a) => negate(a.eval(row, env)?)?,
            Expr::Compare(op, a, b) => {
                compare(*op, &*a.operand(row, env)?, &*b.operand(row, env)?)?
            }
            Expr::And(a, b) => match truth(a.eval(row, env)?) {
                Some(false) => Value::Bool(false),
                first => match (first, truth(b.eval(row, env)?)) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                },
            },
            Expr::Or(a, b) => match truth(a.eval(row, env)?) {
                Some(true) => Value::Bool(true),
                first => match (first, truth(b.eval(row, env)?)) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                },
            },
            Expr::Not(a) => match truth(a.eval(row, env)?) {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Expr::Concat(a, b) => {
                match (a.eval(row, env)?.to_text(), b.eval(row, env)?.to_text()) {
                    (Some(x), Some(y)) => Value::Text(x + &y),
                    _ => Value::Null,
                }
            }
            Expr::Cast(a, ty) => a.eval(row, env)?.cast(*ty)?,
            Expr::IsNull(a) => Value::Bool(a.eval(row, env)?.is_null()),
            Expr::IsDistinctFrom(a, b) => {
                let (x, y) = (a.eval(row, env)?, b.eval(row, env)?);
                Value::Bool(match (x.is_null(), y.is_null()) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    (false, false) => x.compare(&y)? != Some(Ordering::Equal),
                })
            }
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (condition, value) in branches {
                    if truth(condition.eval(row, env)?) == Some(true) {
                        return value.eval(row, env);
                    }
                }
                otherwise.eval(row, env)?
            }
            Expr::Coalesce(args) => {
                for arg in args {
                    let v = arg.eval(row, env)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Value::Null
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let x = expr.eval(row, env)?;
                let mut answer = Value::Bool(false);
                for item in list {
                    match compare(CmpOp::Eq, &x, &item.eval(row, env)?)? {
                        Value::Bool(true) => {
                            answer = Value::Bool(true);
                            break;
                        }
                        Value::Null => answer = Value::Null,
                        _ => {}
                    }
                }
                if *negated {
                    not(answer)
                } else {
                    answer
                }
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => match (expr.eval(row, env)?, pattern.eval(row, env)?) {
                (Value::Text(s), Value::Text(p)) => {
                    let matched = func::like(&s, &p, *case_insensitive)?;
                    Value::Bool(matched != *negated)
                }
                _ => Value::Null,
            },
            Expr::Call(
                function @ (Function::Nextval
                | Function::Setval
                | Function::Currval
                | Function::Lastval),
                args,
            ) => {
                let values = args
                    .iter()
                    .map(|a| a.eval(row, env))
                    .collect::<Result<Vec<_>>>()?;
                sequence_call(*function, &values, env)?
            }
            Expr::Call(function, args) => {
                let values = args
                    .iter()
                    .map(|a| a.eval(row, env))
                    .collect::<Result<Vec<_>>>()?;
                function.call(&values)?
            }
            Expr::Subquery(subquery) => subquery.eval(row, env)?,
            Expr::System(call) => {
                let values = call
                    .args
                    .iter()
                    .map(|a| a.eval(row, env))
                    .collect::<Result<Vec<_>>>()?;
                call.eval(&values)?
            }
        })
    }

    /// The expression made the NULL constant when it is a strict operator (one that gives NULL
    /// for a NULL operand) with a NULL constant operand: PostgreSQL's planner simplifies
    /// these before anything runs, so `x / 0 = NULL` is NULL, not a division by zero.
    pub fn fold_strict_null(self) -> Expr {
        let null = |e: &Expr| matches!(e, Expr::Constant(Value::Null));
        let strict_null = match &self {
            Expr::Arith(_, a, b) | Expr::Compare(_, a, b) | Expr::Concat(a, b) => {
                null(a) || null(b)
            }
            Expr::Negate(a) | Expr::Cast(a, _) => null(a),
            Expr::Like { expr, pattern, .. } => null(expr) || null(pattern),
            // `NULL IN (…)` is `NULL = … OR …`: NULL whatever the list.
            Expr::InList { expr, .. } => null(expr),
            Expr::Call(function, args) => function.is_strict() && args.iter().any(null),
            _ => false,
        };
        if strict_null {
            Expr::Constant(Value::Null)
        } else {
            self
        }
    }

    /// Whether the expression reads no column of its input row (it may read outer rows).
    pub fn is_constant(&self) -> bool {
        let mut constant = true;
        self.visit(&mut |e| {
            if let Expr::Column(_) = e {
                constant = false;
            }
        });
        constant
    }

    /// The expression with each input column `i` read as column `f(i)` (the subqueries'
    /// own plans unchanged).
    pub fn map_columns(&self, f: &dyn Fn(usize) -> usize) -> Expr {
        let m = |e: &Expr| Box::new(e.map_columns(f));
        match self {
            Expr::Column(i) => Expr::Column(f(*i)),
            Expr::Constant(_) | Expr::Outer { .. } | Expr::Param(_) => self.clone(),
            Expr::Arith(op, a, b) => Expr::Arith(*op, m(a), m(b)),
            Expr::Negate(a) => Expr::Negate(m(a)),
            Expr::Compare(op, a, b) => Expr::Compare(*op, m(a), m(b)),
            Expr::And(a, b) => Expr::And(m(a), m(b)),
            Expr::Or(a, b) => Expr::Or(m(a), m(b)),
            Expr::Not(a) => Expr::Not(m(a)),
            Expr::Concat(a, b) => Expr::Concat(m(a), m(b)),
            Expr::Cast(a, ty) => Expr::Cast(m(a), *ty),
            Expr::IsNull(a) => Expr::IsNull(m(a)),
            Expr::IsDistinctFrom(a, b) => Expr::IsDistinctFrom(m(a), m(b)),
            Expr::Case {
                branches,
                otherwise,
            } => Expr::Case {
                branches: branches
                    .iter()
                    .map(|(c, v)| (c.map_columns(f), v.map_columns(f)))
                    .collect(),
                otherwise: m(otherwise),
            },
            Expr::Coalesce(args) => Expr::Coalesce(args.iter().map(|a| a.map_columns(f)).collect()),
            Expr::Call(function, args) => {
                Expr::Call(*function, args.iter().map(|a| a.map_columns(f)).collect())
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: m(expr),
                list: list.iter().map(|a| a.map_columns(f)).collect(),
                negated: *negated,
            },
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => Expr::Like {
                expr: m(expr),
                pattern: m(pattern),
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            Expr::Subquery(s) => {
                let mut s = s.clone();
                if let SubqueryKind::Quantified { left, .. } = &mut s.kind {
                    **left = left.map_columns(f);
                }
                Expr::Subquery(s)
            }
            Expr::System(call) => {
                let mut call = call.clone();
                call.args = call.args.iter().map(|a| a.map_columns(f)).collect();
                Expr::System(call)
            }
        }
    }

    /// Calls `f` on this expression and each expression inside it (not inside subqueries).
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Constant(_) | Expr::Column(_) | Expr::Outer { .. } | Expr::Param(_) => {}
            Expr::Negate(a) | Expr::Not(a) | Expr::Cast(a, _) | Expr::IsNull(a) => a.visit(f),
            Expr::Arith(_, a, b)
            | Expr::Compare(_, a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Concat(a, b)
            | Expr::IsDistinctFrom(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (c, v) in branches {
                    c.visit(f);
                    v.visit(f);
                }
                otherwise.visit(f);
            }
            Expr::Coalesce(args) | Expr::Call(_, args) => args.iter().for_each(|a| a.visit(f)),
            Expr::InList { expr, list, .. } => {
                expr.visit(f);
                list.iter().for_each(|a| a.visit(f));
            }
            Expr::Like { expr, pattern, .. } => {
                expr.visit(f);
                pattern.visit(f);
            }
            Expr::Subquery(s) => {
                if let SubqueryKind::Quantified { left, .. } = &s.kind {
                    left.visit(f);
                }
            }
            Expr::System(call) => call.args.iter().for_each(|a| a.visit(f)),
        }
    }
}

impl Subquery {
    fn eval(&self, row: &[Value], env: &Env<'_>) -> Result<Value> {
        let rows = env.subquery_rows(self, row)?;
        match &self.kind {
            SubqueryKind::Exists => Ok(Value::Bool(!rows.is_empty())),
            SubqueryKind::Array(element) => Ok(crate::array::value(
                *element,
                rows.iter().map(|r| r[0].clone()).collect(),
            )),
            SubqueryKind::Scalar => match rows.as_slice() {
                [] => Ok(Value::Null),
                [one] => Ok(one[0].clone()),
                _ => Err(Error::new(
                    SqlState::CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression",
                )),
            },
            SubqueryKind::Quantified { left, op, all } => {
                let x = left.eval(row, env)?;
                // ANY: true if one comparison is; ALL: false if one is; else NULL if one was.
                let decisive = !*all;
                let mut answer = Value::Bool(*all);
                for r in rows.iter() {
                    match compare(*op, &x, &r[0])? {
                        Value::Bool(b) if b == decisive => return Ok(Value::Bool(decisive)),
                        Value::Null => answer = Value::Null,
                        _ => {}
                    }
                }
                Ok(answer)
            }
        }
    }
}

/// `nextval(name)` or `setval(name, value)` (NULL arguments give NULL).
fn sequence_call(function: Function, args: &[Value], env: &Env<'_>) -> Result<Value> {
    if function == Function::Lastval {
        return crate::sequence::lastval().map(Value::Int8);
    }
    let Some(Value::Text(name)) = args.first() else {
        return Ok(Value::Null);
    };
    // A sequence named as regclass text: folded to lower case unless quoted, `public.` allowed.
    let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => name.to_lowercase(),
    };
    let name = name.strip_prefix("public.").unwrap_or(&name);
    let store = &env.db.store;
    Ok(match (function, args.get(1)) {
        (Function::Setval, Some(Value::Int8(v))) => {
            let value = env.db.sequences.setval(store, name, *v)?;
            crate::sequence::remember(name, value, false);
            Value::Int8(value)
        }
        (Function::Setval, _) => Value::Null,
        (Function::Currval, _) => {
            // An unknown sequence is named as such before "not yet defined".
            env.db.sequences.exists(name)?;
            Value::Int8(crate::sequence::currval(name)?)
        }
        _ => {
            let value = env.db.sequences.nextval(store, name)?;
            crate::sequence::remember(name, value, true);
            Value::Int8(value)
        }
    })
}

/// `a op b` in three-valued logic.
fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<Value> {
    Ok(match a.compare(b)? {
        Some(ordering) => Value::Bool(op.holds(ordering)),
        None => Value::Null,
    })
}

fn negate(v: Value) -> Result<Value> {
    Ok(match v.data_type() {
        None => Value::Null,
        Some(DataType::Interval) => match v {
            Value::Interval(i) => Value::Interval(i.neg()?),
            _ => unreachable!("an interval"),
        },
        Some(DataType::Float8) => Value::Float8(0.0).arith(ArithOp::Sub, &v)?,
        Some(DataType::Float4) => Value::Float4(0.0).arith(ArithOp::Sub, &v)?,
        // 0 - v in v's own type, so that negating the minimum overflows there.
        Some(ty) => Value::Int2(0).cast(ty)?.arith(ArithOp::Sub, &v)?,
    })
}

fn not(v: Value) -> Value {
    match v {
        Value::Bool(b) => Value::Bool(!b),
        other => other,
    }
}

/// A boolean value as Rust's, NULL as `None` (the planner checked the type).
fn truth(v: Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}
