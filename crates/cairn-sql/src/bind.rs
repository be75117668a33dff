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

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sqlparser::ast::{
    ArrayElemTypeDef, BinaryOperator, CastKind, DataType as SqlType, ExactNumberInfo,
    Expr as SqlExpr, Ident, SelectItem, SetExpr, Spanned, TimezoneInfo, UnaryOperator,
    Value as SqlValue,
};

use crate::aggregate::AggCall;
use crate::catalog::Catalog;
use crate::datetime_ops;
use crate::error::{Error, Result, SqlState};
use crate::expr::{CmpOp, Expr};
use crate::func::Function;
use crate::numeric::Numeric;
use crate::parser::offset_of;
use crate::scope::Scope;
use crate::value::{ArithOp, DataType, Value};
use crate::walk;
use crate::window::WindowCall;

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
            (None, Expr::Param(i)) => {
                // The parameter takes the type its context gives it (see ParamInference).
                ParamInference::record(i, ty);
                Ok(Expr::Cast(Box::new(Expr::Param(i)), ty))
            }
            (Some(t), expr) if t == ty => Ok(expr),
            (_, expr) => Ok(Expr::Cast(Box::new(expr), ty)),
        }
    }
}

/// The types of a statement's parameters as binding infers them, for a client that asks
/// before it runs the statement (the wire protocol's Describe): a parameter whose type the
/// client did not declare takes the type its first context gives it — `id = $1` the type of
/// `id`, `$1 + 1` integer, an INSERT's value its column's — and text if none does, as
/// PostgreSQL infers them.
///
/// Inference runs on one thread, around one statement's binding ([`ParamInference::run`]);
/// a binder, wherever in the planner, records through [`Typed::into_type`], the one place
/// an untyped expression is given a type. Outside inference, recording does nothing.
pub struct ParamInference;

thread_local! {
    static INFERRED: RefCell<Option<Vec<Option<DataType>>>> = const { RefCell::new(None) };
}

impl ParamInference {
    /// Runs `bind` with parameters of the `declared` types (`None`: to infer) and any number
    /// of others; gives its result and every parameter's type, `$1` first.
    pub fn run<R>(
        declared: &[Option<DataType>],
        bind: impl FnOnce() -> Result<R>,
    ) -> Result<(R, Vec<DataType>)> {
        INFERRED.with(|i| *i.borrow_mut() = Some(declared.to_vec()));
        let result = bind();
        let types = INFERRED.with(|i| i.borrow_mut().take()).unwrap_or_default();
        let types = types
            .into_iter()
            .map(|t| t.unwrap_or(DataType::Text))
            .collect();
        Ok((result?, types))
    }

    /// Whether a statement's parameters are being inferred, and if so the type parameter
    /// `i` has so far (declared or inferred); any parameter number is then allowed.
    fn known(i: usize) -> Option<Option<DataType>> {
        INFERRED.with(|inferred| {
            let mut inferred = inferred.borrow_mut();
            let types = inferred.as_mut()?;
            if types.len() <= i {
                types.resize(i + 1, None);
            }
            Some(types[i])
        })
    }

    fn record(i: usize, ty: DataType) {
        INFERRED.with(|inferred| {
            if let Some(types) = inferred.borrow_mut().as_mut() {
                if types.len() <= i {
                    types.resize(i + 1, None);
                }
                types[i].get_or_insert(ty);
            }
        });
    }
}

/// What every binder of one statement shares: its text, the catalog, and the numbering of
/// its subqueries.
pub struct Context<'a> {
    pub sql: &'a str,
    pub catalog: &'a Catalog,
    /// The values of the statement's parameters `$1`, `$2`…
    pub params: &'a [Value],
    next_subquery: Cell<usize>,
    /// The WITH queries in scope, innermost last.
    pub(crate) ctes: RefCell<Vec<Cte>>,
    /// The tables and views the statement reads, by name, as the planner resolves them
    /// (what a view depends on).
    pub(crate) relations: RefCell<Vec<String>>,
    /// The system catalog, once the statement reads it (see [`crate::system`]).
    system: RefCell<Option<crate::system::Shared>>,
}

/// A WITH query a FROM clause may name.
#[derive(Debug, Clone)]
pub(crate) struct Cte {
    pub name: String,
    pub kind: CteKind,
}

#[derive(Debug, Clone)]
pub(crate) enum CteKind {
    /// A query (of a `WITH RECURSIVE` when `recursive`), its columns renamed by `columns`.
    Query {
        query: Box<sqlparser::ast::Query>,
        columns: Vec<String>,
        recursive: bool,
    },
    /// Inside the recursive term of a `WITH RECURSIVE`: the rows of the previous step.
    WorkTable {
        id: usize,
        columns: Vec<crate::session::Column>,
    },
}

impl<'a> Context<'a> {
    pub fn new(sql: &'a str, catalog: &'a Catalog) -> Context<'a> {
        Context {
            sql,
            catalog,
            params: &[],
            next_subquery: Cell::new(0),
            ctes: RefCell::new(Vec::new()),
            relations: RefCell::new(Vec::new()),
            system: RefCell::new(None),
        }
    }

    /// The system catalog as this statement sees it, made when first asked for.
    pub fn system(&self) -> crate::system::Shared {
        self.system
            .borrow_mut()
            .get_or_insert_with(|| {
                std::sync::Arc::new(crate::system::SystemCatalog::of(self.catalog, &|view| {
                    crate::planner::view_columns(self.catalog, view)
                }))
            })
            .clone()
    }

    /// Whether the statement read the system catalog (then its plan holds a snapshot of
    /// it and of the session, and is not kept for reuse).
    pub fn reads_system(&self) -> bool {
        self.system.borrow().is_some()
    }

    /// This context, for a statement executed with the values `params` of its parameters.
    pub fn with_params(self, params: &'a [Value]) -> Context<'a> {
        Context { params, ..self }
    }

    /// A new subquery id, unique in the statement.
    pub fn subquery_id(&self) -> usize {
        let id = self.next_subquery.get();
        self.next_subquery.set(id + 1);
        id
    }
}

/// The GROUP BY expressions and aggregates of a grouped query level, as its post-aggregation
/// expressions are bound: those read the [`crate::plan::Plan::Aggregate`] row, the groups'
/// values and then the aggregates'.
#[derive(Debug, Default)]
pub struct Grouping {
    pub groups: Vec<Typed>,
    pub aggs: Vec<AggCall>,
}

/// Binds expressions over a [`Scope`] (the FROM clause of one query level), within the
/// binders of the query levels around it (for correlated subqueries).
pub struct Binder<'a> {
    pub ctx: &'a Context<'a>,
    scope: &'a Scope,
    parent: Option<&'a Binder<'a>>,
    /// Set when an expression names a column of a query level around this one.
    correlated: Rc<Cell<bool>>,
    /// `Some` while binding the select list, `HAVING` or `ORDER BY` of a grouped query.
    grouping: Option<&'a RefCell<Grouping>>,
    /// The clause being bound, for "aggregate functions are not allowed in …".
    clause: &'static str,
    /// `Some` while binding the select list or `ORDER BY`, where window functions may be.
    windows: Option<&'a RefCell<Vec<WindowCall>>>,
}

/// Where a window function's value is, until the planner knows the width of the rows the
/// window operator extends: `Column(WINDOW_BASE + k)` for call `k`.
pub(crate) const WINDOW_BASE: usize = usize::MAX / 2;

impl<'a> Binder<'a> {
    /// A binder over `scope`, inside the binder of the query around it, if any.
    pub fn new(
        ctx: &'a Context<'a>,
        scope: &'a Scope,
        parent: Option<&'a Binder<'a>>,
    ) -> Binder<'a> {
        Binder {
            ctx,
            scope,
            parent,
            correlated: Rc::new(Cell::new(false)),
            grouping: None,
            clause: "WHERE",
            windows: None,
        }
    }

    /// This binder, collecting the window function calls it binds into `windows`.
    pub fn with_windows(&self, windows: &'a RefCell<Vec<WindowCall>>) -> Binder<'a> {
        Binder {
            windows: Some(windows),
            correlated: Rc::clone(&self.correlated),
            ..*self
        }
    }

    pub(crate) fn windows(&self) -> Option<&'a RefCell<Vec<WindowCall>>> {
        self.windows
    }

    /// This binder, for the expressions after aggregation of a grouped query.
    pub fn grouped(&self, grouping: &'a RefCell<Grouping>) -> Binder<'a> {
        Binder {
            grouping: Some(grouping),
            correlated: Rc::clone(&self.correlated),
            ..*self
        }
    }

    /// This binder, for the expressions of `clause` (which may not hold aggregates).
    pub fn in_clause(&self, clause: &'static str) -> Binder<'a> {
        Binder {
            grouping: None,
            windows: None,
            clause,
            correlated: Rc::clone(&self.correlated),
            ..*self
        }
    }

    /// Whether an expression bound so far names a column of a query level around this one.
    pub fn is_correlated(&self) -> bool {
        self.correlated.get()
    }

    pub fn scope(&self) -> &'a Scope {
        self.scope
    }

    pub fn sql(&self) -> &'a str {
        self.ctx.sql
    }

    /// The column `name` (of `qualifier`, if given): of this level's scope, else of a level
    /// around it.
    fn column(&self, qualifier: Option<&str>, name: &str) -> Result<Typed> {
        if let Some(i) = self.scope.find(qualifier, name)? {
            return Ok(Typed {
                expr: Expr::Column(i),
                ty: Some(self.scope.columns[i].data_type),
            });
        }
        if let Some(parent) = self.parent {
            if let Some((depth, index, ty)) = parent.outer_column(qualifier, name)? {
                self.correlated.set(true);
                return Ok(Typed {
                    expr: Expr::Outer { depth, index },
                    ty: Some(ty),
                });
            }
        }
        Err(match qualifier {
            Some(q) if !self.knows_qualifier(q) => Error::new(
                SqlState::UNDEFINED_TABLE,
                format!("missing FROM-clause entry for table \"{q}\""),
            ),
            Some(q) => Error::new(
                SqlState::UNDEFINED_COLUMN,
                format!("column {q}.{name} does not exist"),
            ),
            None => Error::new(
                SqlState::UNDEFINED_COLUMN,
                format!("column \"{name}\" does not exist"),
            ),
        })
    }

    fn knows_qualifier(&self, qualifier: &str) -> bool {
        self.scope.has_qualifier(qualifier)
            || self.parent.is_some_and(|p| p.knows_qualifier(qualifier))
    }

    /// Column `name` as a subquery inside this level sees it: (depth, position, type) of the
    /// row it will read, this level's (depth 1) or one around it. In a grouped level, only a
    /// grouped column can be seen, at its place in the aggregate row.
    fn outer_column(
        &self,
        qualifier: Option<&str>,
        name: &str,
    ) -> Result<Option<(usize, usize, DataType)>> {
        if let Some(i) = self.scope.find(qualifier, name)? {
            let ty = self.scope.columns[i].data_type;
            let Some(grouping) = self.grouping else {
                return Ok(Some((1, i, ty)));
            };
            let position = grouping
                .borrow()
                .groups
                .iter()
                .position(|g| g.expr == Expr::Column(i));
            return match position {
                Some(k) => Ok(Some((1, k, ty))),
                None => Err(self.ungrouped(i)),
            };
        }
        let Some(parent) = self.parent else {
            return Ok(None);
        };
        let found = parent.outer_column(qualifier, name)?;
        if found.is_some() {
            self.correlated.set(true);
        }
        Ok(found.map(|(depth, i, ty)| (depth + 1, i, ty)))
    }

    /// `42803` for scope column `i` used outside an aggregate in a grouped query.
    fn ungrouped(&self, i: usize) -> Error {
        let column = &self.scope.columns[i];
        Error::new(
            SqlState::GROUPING_ERROR,
            format!(
                "column \"{}{}\" must appear in the GROUP BY clause or be used in an aggregate function",
                column.qualifier.as_deref().map(|q| format!("{q}.")).unwrap_or_default(),
                column.name
            ),
        )
    }

    /// Parameter `$n` of a prepared statement: read where the statement runs, typed as the
    /// value it is bound with now (NULL untyped, like a NULL literal), so that a plan made
    /// for values of these types serves every execution with values of the same types.
    fn parameter(&self, name: &str) -> Result<Typed> {
        let index = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1));
        if let Some((i, Some(ty))) = index.map(|i| (i, ParamInference::known(i))) {
            return Ok(Typed {
                ty,
                expr: Expr::Param(i),
            });
        }
        match index.and_then(|i| Some((i, self.ctx.params.get(i)?))) {
            Some((i, v)) => Ok(Typed {
                ty: v.data_type(),
                expr: Expr::Param(i),
            }),
            None => Err(Error::new(
                SqlState("42P02"),
                format!("there is no parameter {name}"),
            )),
        }
    }

    /// The 1-based character position where `node` starts.
    fn position_of(&self, node: &impl Spanned) -> Option<usize> {
        let start = node.span().start;
        offset_of(self.ctx.sql, start.line as usize, start.column as usize)
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
            SqlExpr::Cast { data_type, .. } => match data_type {
                SqlType::Varchar(_) | SqlType::CharacterVarying(_) => "varchar".into(),
                _ => match data_type_of(data_type) {
                    Ok(ty) => ty.internal_name().into(),
                    Err(_) => "?column?".into(),
                },
            },
            SqlExpr::Nested(inner) => Binder::column_name(inner),
            SqlExpr::Identifier(ident) => ident_name(ident),
            SqlExpr::CompoundIdentifier(parts) => {
                parts.last().map_or_else(|| "?column?".into(), ident_name)
            }
            SqlExpr::Function(f) => f
                .name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map_or_else(|| "?column?".into(), ident_name),
            SqlExpr::Case { .. } => "case".into(),
            SqlExpr::TypedString(typed) => match data_type_of(&typed.data_type) {
                Ok(ty) => ty.internal_name().into(),
                Err(_) => "?column?".into(),
            },
            SqlExpr::Interval(_) => "interval".into(),
            SqlExpr::Extract { .. } => "extract".into(),
            SqlExpr::AtTimeZone { .. } => "timezone".into(),
            SqlExpr::Exists { negated: false, .. } => "exists".into(),
            SqlExpr::Subquery(query) => match query.body.as_ref() {
                SetExpr::Select(select) => match select.projection.as_slice() {
                    [SelectItem::UnnamedExpr(e)] => Binder::column_name(e),
                    [SelectItem::ExprWithAlias { alias, .. }] => ident_name(alias),
                    _ => "?column?".into(),
                },
                _ => "?column?".into(),
            },
            SqlExpr::Ceil { .. } => "ceil".into(),
            SqlExpr::Floor { .. } => "floor".into(),
            SqlExpr::Substring { .. } => "substring".into(),
            SqlExpr::Position { .. } => "position".into(),
            SqlExpr::Trim { .. } => "btrim".into(),
            _ => "?column?".into(),
        }
    }

    pub fn bind(&self, expr: &SqlExpr) -> Result<Typed> {
        let typed = self.bind_inner(expr).map_err(|e| self.placed(e, expr))?;
        Ok(Typed {
            expr: typed.expr.fold_strict_null(),
            ty: typed.ty,
        })
    }

    fn bind_inner(&self, expr: &SqlExpr) -> Result<Typed> {
        if let Some(grouping) = self.grouping {
            if let Some(typed) = self.as_group(expr, grouping)? {
                return Ok(typed);
            }
        }
        match expr {
            SqlExpr::Value(v) => match &v.value {
                SqlValue::Placeholder(name) => self.parameter(name),
                other => literal(other),
            },
            SqlExpr::Identifier(ident) => self.column(None, &ident_name(ident)),
            SqlExpr::CompoundIdentifier(parts) => match parts.as_slice() {
                [table, column] => self.column(Some(&ident_name(table)), &ident_name(column)),
                [schema, table, column] if ident_name(schema) == "public" => {
                    self.column(Some(&ident_name(table)), &ident_name(column))
                }
                _ => Err(Error::not_supported("column names of more than two parts")),
            },
            SqlExpr::Nested(inner) => self.bind(inner),
            SqlExpr::Collate { expr, collation } => self.collated(expr, collation),
            SqlExpr::Array(array) => self.array_literal(&array.elem),
            SqlExpr::CompoundFieldAccess { root, access_chain } => {
                self.subscripted(root, access_chain)
            }
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
            } => Ok(bool_typed(Expr::Not(Box::new(self.boolean(inner, "NOT")?)))),
            SqlExpr::BinaryOp { left, op, right } => self.binary(left, op, right),
            SqlExpr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr: inner,
                data_type,
                format: None,
            } => {
                let ty = data_type_of(data_type)?;
                let operand = self.bind(inner)?;
                if ty.is_oid() && ty != DataType::Oid {
                    return Ok(Typed {
                        expr: crate::system_functions::reg_cast(self, operand, ty)
                            .map_err(|e| self.placed(e, inner.as_ref()))?,
                        ty: Some(ty),
                    });
                }
                let expr = operand
                    .into_type(ty)
                    .map_err(|e| self.placed(e, inner.as_ref()))?;
                Ok(Typed {
                    expr: length_cast(expr, data_type),
                    ty: Some(ty),
                })
            }
            SqlExpr::IsNull(inner) | SqlExpr::IsUnknown(inner) => {
                Ok(bool_typed(Expr::IsNull(Box::new(self.bind(inner)?.expr))))
            }
            SqlExpr::IsNotNull(inner) | SqlExpr::IsNotUnknown(inner) => Ok(bool_typed(Expr::Not(
                Box::new(Expr::IsNull(Box::new(self.bind(inner)?.expr))),
            ))),
            SqlExpr::IsTrue(inner)
            | SqlExpr::IsNotTrue(inner)
            | SqlExpr::IsFalse(inner)
            | SqlExpr::IsNotFalse(inner) => {
                let operand = self.boolean(inner, "IS TRUE")?;
                let want = matches!(expr, SqlExpr::IsTrue(_) | SqlExpr::IsNotTrue(_));
                let distinct = Expr::IsDistinctFrom(
                    Box::new(operand),
                    Box::new(Expr::Constant(Value::Bool(want))),
                );
                Ok(bool_typed(
                    if matches!(expr, SqlExpr::IsTrue(_) | SqlExpr::IsFalse(_)) {
                        Expr::Not(Box::new(distinct))
                    } else {
                        distinct
                    },
                ))
            }
            SqlExpr::IsDistinctFrom(a, b) | SqlExpr::IsNotDistinctFrom(a, b) => {
                let (a, b) = self.comparable(a, b, "=")?;
                let distinct = Expr::IsDistinctFrom(Box::new(a), Box::new(b));
                Ok(bool_typed(if matches!(expr, SqlExpr::IsDistinctFrom(..)) {
                    distinct
                } else {
                    Expr::Not(Box::new(distinct))
                }))
            }
            _ => self.bind_compound(expr),
        }
    }

    /// In a grouped query: `expr` as a column of the aggregate row if it is one of the GROUP
    /// BY expressions; `42803` if it is a column of this level that is not grouped; `None`
    /// to bind it part by part.
    fn as_group(&self, expr: &SqlExpr, grouping: &RefCell<Grouping>) -> Result<Option<Typed>> {
        if matches!(expr, SqlExpr::Value(_))
            || walk::has_aggregate(expr)
            || walk::has_subquery(expr)
        {
            return Ok(None);
        }
        let input = self.in_clause("GROUP BY");
        if let Ok(typed) = input.bind(expr) {
            let grouping = grouping.borrow();
            if let Some(k) = grouping.groups.iter().position(|g| g.expr == typed.expr) {
                return Ok(Some(Typed {
                    expr: Expr::Column(k),
                    ty: typed.ty,
                }));
            }
            if let Expr::Column(i) = typed.expr {
                return Err(self.ungrouped(i));
            }
        }
        Ok(None)
    }

    /// This binder for `clause`, keeping its grouping (window function arguments read the
    /// rows after grouping) but collecting no windows.
    pub(crate) fn in_clause_keeping_grouping(&self, clause: &'static str) -> Binder<'a> {
        Binder {
            windows: None,
            clause,
            correlated: Rc::clone(&self.correlated),
            ..*self
        }
    }

    /// This level's binder for the arguments of an aggregate: over the input rows.
    pub(crate) fn aggregate_input(&self) -> Binder<'a> {
        self.in_clause("aggregate function calls")
    }

    /// The grouping this binder binds post-aggregation expressions for.
    pub(crate) fn grouping(&self) -> Option<&'a RefCell<Grouping>> {
        self.grouping
    }

    pub(crate) fn clause(&self) -> &'static str {
        self.clause
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
            let (a, b) = self.arith_operands(left, arith, right)?;
            let (ta, tb) = (
                a.ty.unwrap_or(DataType::Text),
                b.ty.unwrap_or(DataType::Text),
            );
            let wide = ta
                .wider_numeric(tb)
                .filter(|w| arith != ArithOp::Rem || !w.is_float())
                .or_else(|| datetime_ops::arith_type(ta, arith, tb))
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
            BinaryOperator::Arrow
            | BinaryOperator::LongArrow
            | BinaryOperator::HashArrow
            | BinaryOperator::HashLongArrow
            | BinaryOperator::AtArrow
            | BinaryOperator::ArrowAt
            | BinaryOperator::Question => self.json_operator(left, op, right),
            BinaryOperator::StringConcat => {
                // character's padding is not part of its text.
                let unpadded = |t: Typed| -> Result<Typed> {
                    if t.ty == Some(DataType::Bpchar) {
                        Ok(Typed {
                            expr: t.into_type(DataType::Text)?,
                            ty: Some(DataType::Text),
                        })
                    } else {
                        Ok(t)
                    }
                };
                let (a, b) = (unpadded(self.bind(left)?)?, unpadded(self.bind(right)?)?);
                let text = |t: &Typed| t.ty.is_none_or(|ty| ty == DataType::Text);
                if !text(&a) && !text(&b) {
                    return Err(self.no_operator(a.result_type(), "||", b.result_type(), left));
                }
                Ok(Typed {
                    expr: Expr::Concat(Box::new(a.expr), Box::new(b.expr)),
                    ty: Some(DataType::Text),
                })
            }
            BinaryOperator::PGExp => self.call("power", &[left, right]),
            BinaryOperator::PGRegexMatch => self.regex_match(left, right, false, false),
            BinaryOperator::PGRegexIMatch => self.regex_match(left, right, true, false),
            BinaryOperator::PGRegexNotMatch => self.regex_match(left, right, false, true),
            BinaryOperator::PGRegexNotIMatch => self.regex_match(left, right, true, true),
            BinaryOperator::PGCustomBinaryOperator(parts) => {
                self.qualified_operator(left, parts, right)
            }
            other => Err(Error::not_supported(&format!("the operator {other}"))),
        }
    }

    /// The operands of an arithmetic operator: an untyped literal given the other's type, or
    /// for the date/time operators the type that makes the operator exist
    /// (`now() + '1 day'` adds an interval).
    fn arith_operands(
        &self,
        left: &SqlExpr,
        op: ArithOp,
        right: &SqlExpr,
    ) -> Result<(Typed, Typed)> {
        let (a, b) = (self.bind(left)?, self.bind(right)?);
        let literal_as = |known: DataType| {
            if known.is_numeric() {
                known
            } else {
                datetime_ops::literal_type(known, op).unwrap_or(known)
            }
        };
        Ok(match (a.ty, b.ty) {
            (None, Some(known)) => {
                let ty = literal_as(known);
                let a = Typed {
                    expr: a.into_type(ty).map_err(|e| self.placed(e, left))?,
                    ty: Some(ty),
                };
                (a, b)
            }
            (Some(known), None) => {
                let ty = literal_as(known);
                let b = Typed {
                    expr: b.into_type(ty).map_err(|e| self.placed(e, right))?,
                    ty: Some(ty),
                };
                (a, b)
            }
            _ => (a, b),
        })
    }

    /// Both operands of a binary operator, an untyped literal given the other's type.
    pub(crate) fn operands(&self, left: &SqlExpr, right: &SqlExpr) -> Result<(Typed, Typed)> {
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
    pub(crate) fn comparable(
        &self,
        left: &SqlExpr,
        right: &SqlExpr,
        symbol: &str,
    ) -> Result<(Expr, Expr)> {
        let (a, b) = self.operands(left, right)?;
        let (ta, tb) = (a.result_type(), b.result_type());
        if ta.common_with(tb).is_none() {
            return Err(self.no_operator(ta, symbol, tb, left));
        }
        Ok((a.expr, b.expr))
    }

    fn numeric_operand(&self, expr: &SqlExpr, symbol: &str) -> Result<Typed> {
        let operand = self.bind(expr)?;
        match operand.ty {
            Some(ty) if ty.is_numeric() || (ty == DataType::Interval && symbol == "-") => {
                Ok(operand)
            }
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
    pub(crate) fn no_operator(
        &self,
        a: DataType,
        symbol: &str,
        b: DataType,
        left: &SqlExpr,
    ) -> Error {
        let error = Error::new(
            SqlState::UNDEFINED_FUNCTION,
            format!(
                "operator does not exist: {} {symbol} {}",
                a.name(),
                b.name()
            ),
        );
        let end = left.span().end;
        let from = offset_of(self.ctx.sql, end.line as usize, end.column as usize);
        let at = from.and_then(|from| {
            let rest: String = self.ctx.sql.chars().skip(from - 1).collect();
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
        SqlValue::SingleQuotedString(s) | SqlValue::EscapedStringLiteral(s) => Ok(Typed {
            expr: Expr::Constant(Value::Text(s.clone())),
            ty: None,
        }),
        SqlValue::DollarQuotedString(s) => Ok(Typed {
            expr: Expr::Constant(Value::Text(s.value.clone())),
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

/// A numeric literal: integer if it fits, else bigint, else (or with a point or an exponent)
/// numeric.
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
    match Numeric::parse(text) {
        Some(n) => Ok(Typed {
            expr: Expr::Constant(Value::Numeric(n)),
            ty: Some(DataType::Numeric),
        }),
        None => Err(Error::invalid_input("numeric", text)),
    }
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
        } => fold_negative(inner).map(|t| match t.strip_prefix('-') {
            Some(positive) => positive.to_string(),
            None => format!("-{t}"),
        }),
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
        SqlType::Real | SqlType::Float4 => DataType::Float4,
        SqlType::Float(info) => match info {
            ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _)
                if *p == 0 || *p > 53 =>
            {
                return Err(Error::new(
                    SqlState::INVALID_PARAMETER_VALUE,
                    if *p == 0 {
                        "precision for type float must be at least 1 bit"
                    } else {
                        "precision for type float must be less than 54 bits"
                    },
                ))
            }
            ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _)
                if *p <= 24 =>
            {
                DataType::Float4
            }
            _ => DataType::Float8,
        },
        SqlType::Numeric(_) | SqlType::Decimal(_) | SqlType::Dec(_) => DataType::Numeric,
        SqlType::Text | SqlType::Varchar(_) | SqlType::CharacterVarying(_) => DataType::Text,
        SqlType::Char(_) | SqlType::Character(_) => DataType::Bpchar,
        SqlType::Bytea => DataType::Bytea,
        SqlType::JSON => DataType::Json,
        SqlType::JSONB => DataType::Jsonb,
        SqlType::Uuid => DataType::Uuid,
        SqlType::Date => DataType::Date,
        SqlType::Interval { .. } => DataType::Interval,
        SqlType::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => DataType::Time,
        SqlType::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            DataType::Timestamp
        }
        SqlType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => {
            DataType::TimestampTz
        }
        SqlType::Regclass => DataType::RegClass,
        SqlType::Array(ArrayElemTypeDef::SquareBracket(element, None))
        | SqlType::Array(ArrayElemTypeDef::AngleBracket(element)) => {
            crate::array::of(data_type_of(element)?)
        }
        SqlType::Custom(name, modifiers) if modifiers.is_empty() => {
            // pg_catalog is always searched; a quoted name is taken as written.
            let name = match name.0.as_slice() {
                [schema, last] if schema.to_string().to_lowercase() == "pg_catalog" => {
                    last.to_string()
                }
                _ => name.to_string(),
            };
            let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
                Some("char") => "text".to_string(),
                Some(quoted) => quoted.to_string(),
                None => name.to_lowercase(),
            };
            let name = match name.as_str() {
                "name" => "text".to_string(),
                _ => name,
            };
            DataType::from_internal_name(&name)
                .filter(|t| !matches!(t, DataType::Bpchar))
                .or(match name.as_str() {
                    "bpchar" => Some(DataType::Bpchar),
                    "varchar" => Some(DataType::Text),
                    _ => None,
                })
                .ok_or_else(|| {
                    Error::new(
                        SqlState::UNDEFINED_OBJECT,
                        format!("type \"{name}\" does not exist"),
                    )
                })?
        }
        other => return Err(Error::not_supported(&format!("type {other}"))),
    })
}

/// `expr` cast to the length a `char(n)` or `varchar(n)` type names: cut to `n` characters,
/// and a `char(n)` padded to them, as PostgreSQL's explicit casts do.
fn length_cast(expr: Expr, ty: &SqlType) -> Expr {
    use sqlparser::ast::CharacterLength;
    let (function, length) = match ty {
        SqlType::Char(Some(CharacterLength::IntegerLength { length, .. }))
        | SqlType::Character(Some(CharacterLength::IntegerLength { length, .. })) => {
            (Function::PadToLength, *length)
        }
        SqlType::Varchar(Some(CharacterLength::IntegerLength { length, .. }))
        | SqlType::CharacterVarying(Some(CharacterLength::IntegerLength { length, .. })) => {
            (Function::CutToLength, *length)
        }
        SqlType::Numeric(info) | SqlType::Decimal(info) | SqlType::Dec(info) => {
            return match crate::ddl::numeric_typmod(info) {
                Ok(Some((p, s))) => Expr::Call(
                    Function::FitNumeric,
                    vec![
                        expr,
                        Expr::Constant(Value::Int4(i32::from(p))),
                        Expr::Constant(Value::Int4(i32::from(s))),
                    ],
                ),
                _ => expr,
            }
        }
        _ => return expr,
    };
    let length = Value::Int4(i32::try_from(length).unwrap_or(i32::MAX));
    Expr::Call(function, vec![expr, Expr::Constant(length)])
}

/// A boolean expression, typed.
pub(crate) fn bool_typed(expr: Expr) -> Typed {
    Typed {
        expr,
        ty: Some(DataType::Bool),
    }
}

/// The type PostgreSQL's `select_common_type` gives the results of `context` (`CASE`,
/// `COALESCE`, `UNION`, …) of types `types`: text if all are untyped literals, the widest
/// number if all typed ones are numbers, else their one type; `42804` otherwise.
pub fn common_type(types: &[Option<DataType>], context: &str) -> Result<DataType> {
    let mut common: Option<DataType> = None;
    for ty in types.iter().flatten() {
        common = Some(match common {
            None => *ty,
            Some(c) if c == *ty => c,
            Some(c) => c.common_with(*ty).ok_or_else(|| {
                Error::new(
                    SqlState::DATATYPE_MISMATCH,
                    format!(
                        "{context} types {} and {} cannot be matched",
                        c.name(),
                        ty.name()
                    ),
                )
            })?,
        });
    }
    Ok(common.unwrap_or(DataType::Text))
}
