//! Binding of the compound expression forms: `CASE`, `COALESCE`/`NULLIF`/`GREATEST`/`LEAST`,
//! `IN`, `BETWEEN`, `LIKE`, subqueries (scalar, `EXISTS`, `IN`, `ANY`/`ALL`), function calls
//! and aggregates.
//!
//! The results of `CASE`, `COALESCE`, `GREATEST`/`LEAST` and the operands of `IN` take
//! PostgreSQL's common type of their parts ([`common_type`]). A subquery is planned here with
//! this binder as its parent, so its names reach the query around it; one that does is
//! correlated and runs per row, one that does not runs once per statement. An aggregate call
//! is only allowed where the binder is grouping (the select list, `HAVING` and `ORDER BY` of
//! a grouped query); its arguments are bound over the query's input rows.

use sqlparser::ast::{
    BinaryOperator, CeilFloorKind, DuplicateTreatment, Expr as SqlExpr, Function as SqlFunction,
    FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments, InTarget,
    ObjectNamePart, OrderByExpr, OrderBySort, Query, TrimWhereField, WindowFrame, WindowFrameBound,
    WindowFrameUnits, WindowType,
};

use crate::aggregate::{AggCall, AggFunc};
use crate::bind::{bool_typed, common_type, ident_name, Binder, Typed, WINDOW_BASE};
use crate::error::{Error, Result, SqlState};
use crate::expr::{CmpOp, Expr, Subquery, SubqueryKind};
use crate::func::{self, Function};
use crate::planner;
use crate::value::{DataType, Value};
use crate::window::{Frame, FrameBound, WindowCall, WindowFunc};

impl<'a> Binder<'a> {
    pub(crate) fn bind_compound(&self, expr: &SqlExpr) -> Result<Typed> {
        match expr {
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref()),
            SqlExpr::In {
                expr: left,
                target: InTarget::List(list),
                negated,
                ..
            } => {
                let mut parts = vec![self.bind(left)?];
                for item in list {
                    parts.push(self.bind(item)?);
                }
                let types: Vec<Option<DataType>> = parts.iter().map(|p| p.ty).collect();
                let ty = common_type(&types, "IN")?;
                let mut exprs = parts
                    .into_iter()
                    .map(|p| p.into_type(ty))
                    .collect::<Result<Vec<_>>>()?;
                let left = exprs.remove(0);
                Ok(bool_typed(Expr::InList {
                    expr: Box::new(left),
                    list: exprs,
                    negated: *negated,
                }))
            }
            SqlExpr::In {
                expr: left,
                target: InTarget::Subquery(query),
                negated,
                ..
            } => {
                let any = self.quantified(left, CmpOp::Eq, "=", false, query)?;
                Ok(bool_typed(if *negated {
                    Expr::Not(Box::new(any))
                } else {
                    any
                }))
            }
            SqlExpr::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | SqlExpr::AllOp {
                left,
                compare_op,
                right,
            } => {
                let op = cmp_op(compare_op)
                    .ok_or_else(|| Error::not_supported(&format!("ANY/ALL with {compare_op}")))?;
                let all = matches!(expr, SqlExpr::AllOp { .. });
                let SqlExpr::Subquery(query) = right.as_ref() else {
                    return self.quantified_array(left, op, all, right);
                };
                Ok(bool_typed(self.quantified(
                    left,
                    op,
                    op.symbol(),
                    all,
                    query,
                )?))
            }
            SqlExpr::Between {
                expr: x,
                negated,
                low,
                high,
            } => {
                let (a, lo) = self.comparable(x, low, ">=")?;
                let (b, hi) = self.comparable(x, high, "<=")?;
                Ok(bool_typed(if *negated {
                    Expr::Or(
                        Box::new(Expr::Compare(CmpOp::Lt, Box::new(a), Box::new(lo))),
                        Box::new(Expr::Compare(CmpOp::Gt, Box::new(b), Box::new(hi))),
                    )
                } else {
                    Expr::And(
                        Box::new(Expr::Compare(CmpOp::GtEq, Box::new(a), Box::new(lo))),
                        Box::new(Expr::Compare(CmpOp::LtEq, Box::new(b), Box::new(hi))),
                    )
                }))
            }
            SqlExpr::Like {
                negated,
                expr: x,
                pattern,
                escape_char,
                any: false,
            } => self.like(x, pattern, *negated, escape_char.as_deref(), false),
            SqlExpr::ILike {
                negated,
                expr: x,
                pattern,
                escape_char,
                any: false,
            } => self.like(x, pattern, *negated, escape_char.as_deref(), true),
            SqlExpr::Exists { subquery, negated } => {
                let exists = self.subquery(subquery, SubqueryKind::Exists)?;
                Ok(bool_typed(if *negated {
                    Expr::Not(Box::new(exists.expr))
                } else {
                    exists.expr
                }))
            }
            SqlExpr::Subquery(query) => self.subquery(query, SubqueryKind::Scalar),
            SqlExpr::Function(f) => self.function(f),
            SqlExpr::TypedString(typed) => self.typed_string(typed),
            SqlExpr::Interval(interval) => self.interval(interval),
            SqlExpr::Extract { field, expr: x, .. } => {
                let word = SqlExpr::value(sqlparser::ast::Value::SingleQuotedString(
                    field.to_string().to_lowercase(),
                ));
                self.call("extract", &[&word, x])
            }
            SqlExpr::AtTimeZone {
                timestamp,
                time_zone,
            } => self.call("timezone", &[time_zone, timestamp]),
            SqlExpr::Ceil {
                expr: x,
                field: CeilFloorKind::DateTimeField(sqlparser::ast::DateTimeField::NoDateTime),
            } => self.call("ceil", &[x]),
            SqlExpr::Floor {
                expr: x,
                field: CeilFloorKind::DateTimeField(sqlparser::ast::DateTimeField::NoDateTime),
            } => self.call("floor", &[x]),
            SqlExpr::Position { expr: x, r#in } => self.call("strpos", &[r#in, x]),
            SqlExpr::Substring {
                expr: x,
                substring_from,
                substring_for,
                ..
            } => {
                let one = SqlExpr::value(sqlparser::ast::Value::Number("1".into(), false));
                let mut args: Vec<&SqlExpr> = vec![x, substring_from.as_deref().unwrap_or(&one)];
                args.extend(substring_for.as_deref());
                self.call("substr", &args)
            }
            SqlExpr::Trim {
                trim_where,
                trim_what,
                expr: x,
                trim_characters: None,
            } => {
                let name = match trim_where {
                    Some(TrimWhereField::Leading) => "ltrim",
                    Some(TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args: Vec<&SqlExpr> = vec![x];
                args.extend(trim_what.as_deref());
                self.call(name, &args)
            }
            other => Err(Error::not_supported(&format!("the expression {other}"))),
        }
    }

    /// `CASE [operand] WHEN … THEN … [ELSE …] END`: conditions, and results of their common
    /// type.
    fn case(
        &self,
        operand: Option<&SqlExpr>,
        conditions: &[sqlparser::ast::CaseWhen],
        else_result: Option<&SqlExpr>,
    ) -> Result<Typed> {
        let mut branches = Vec::new();
        let mut results = Vec::new();
        for when in conditions {
            let condition = match operand {
                Some(operand) => {
                    let (a, b) = self.comparable(operand, &when.condition, "=")?;
                    Expr::Compare(CmpOp::Eq, Box::new(a), Box::new(b))
                }
                None => self.boolean(&when.condition, "CASE/WHEN")?,
            };
            branches.push(condition);
            results.push(self.bind(&when.result)?);
        }
        let otherwise = match else_result {
            Some(e) => self.bind(e)?,
            None => null(),
        };
        let mut types: Vec<Option<DataType>> = vec![otherwise.ty];
        types.extend(results.iter().map(|r| r.ty));
        let ty = common_type(&types, "CASE")?;
        let branches = branches
            .into_iter()
            .zip(results)
            .map(|(c, r)| Ok((c, r.into_type(ty)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Typed {
            expr: Expr::Case {
                branches,
                otherwise: Box::new(otherwise.into_type(ty)?),
            },
            ty: Some(ty),
        })
    }
    /// `x [NOT] LIKE pattern` (`ILIKE` for `case_insensitive`), both text.
    fn like(
        &self,
        x: &SqlExpr,
        pattern: &SqlExpr,
        negated: bool,
        escape_char: Option<&SqlExpr>,
        case_insensitive: bool,
    ) -> Result<Typed> {
        if escape_char.is_some() {
            return Err(Error::not_supported("LIKE … ESCAPE"));
        }
        let symbol = if case_insensitive { "~~*" } else { "~~" };
        let (a, b) = self.operands(x, pattern)?;
        let (ta, tb) = (a.result_type(), b.result_type());
        if !ta.casts_implicitly_to(DataType::Text) || !tb.casts_implicitly_to(DataType::Text) {
            return Err(self.no_operator(ta, symbol, tb, x));
        }
        Ok(bool_typed(Expr::Like {
            expr: Box::new(a.into_type(DataType::Text)?),
            pattern: Box::new(b.into_type(DataType::Text)?),
            negated,
            case_insensitive,
        }))
    }

    /// A subquery of `kind`, planned inside this binder.
    pub(crate) fn subquery(&self, query: &Query, mut kind: SubqueryKind) -> Result<Typed> {
        let planned = planner::plan_query(self.ctx, query, Some(self))?;
        let mut ty = match (&kind, planned.columns.as_slice()) {
            (SubqueryKind::Exists, _) => DataType::Bool,
            (_, [column]) => column.data_type,
            (_, _) => {
                return Err(Error::new(
                    SqlState::SYNTAX_ERROR,
                    "subquery must return only one column",
                ))
            }
        };
        if let SubqueryKind::Array(element) = &mut kind {
            *element = ty;
            ty = crate::array::of(ty);
        }
        Ok(Typed {
            expr: Expr::Subquery(Box::new(Subquery {
                id: self.ctx.subquery_id(),
                plan: planned.plan,
                correlated: planned.correlated,
                kind,
            })),
            ty: Some(ty),
        })
    }

    /// `left op ANY/ALL (query)`, `IN (query)` being `= ANY`.
    fn quantified(
        &self,
        left: &SqlExpr,
        op: CmpOp,
        symbol: &str,
        all: bool,
        query: &Query,
    ) -> Result<Expr> {
        let planned = planner::plan_query(self.ctx, query, Some(self))?;
        let [column] = planned.columns.as_slice() else {
            return Err(Error::new(
                SqlState::SYNTAX_ERROR,
                if planned.columns.len() > 1 {
                    "subquery has too many columns"
                } else {
                    "subquery has too few columns"
                },
            ));
        };
        let left_typed = self.bind(left)?;
        let lt = left_typed.ty.unwrap_or(column.data_type);
        if lt.common_with(column.data_type).is_none() {
            return Err(self.no_operator(lt, symbol, column.data_type, left));
        }
        let left = left_typed.into_type(lt).map_err(|e| self.placed(e, left))?;
        Ok(Expr::Subquery(Box::new(Subquery {
            id: self.ctx.subquery_id(),
            plan: planned.plan,
            correlated: planned.correlated,
            kind: SubqueryKind::Quantified {
                left: Box::new(left),
                op,
                all,
            },
        })))
    }

    /// A function call: an aggregate, one of the conditional forms, or a scalar function.
    fn function(&self, f: &SqlFunction) -> Result<Typed> {
        let name = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(name)] => ident_name(name),
            [ObjectNamePart::Identifier(schema), ObjectNamePart::Identifier(name)]
                if ident_name(schema) == "pg_catalog" =>
            {
                ident_name(name)
            }
            _ => return Err(Error::not_supported(&format!("the function {}", f.name))),
        };

        let mut order_by: &[OrderByExpr] = &[];
        let (args, distinct, star) = match &f.args {
            FunctionArguments::None => (Vec::new(), false, false),
            FunctionArguments::List(list) => {
                let mut args = Vec::new();
                let mut star = false;
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e),
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                        _ => return Err(Error::not_supported("this function argument")),
                    }
                }
                for clause in &list.clauses {
                    match clause {
                        FunctionArgumentClause::OrderBy(keys) => order_by = keys.as_slice(),
                        _ => return Err(Error::not_supported("this clause in function arguments")),
                    }
                }
                let distinct = list.duplicate_treatment == Some(DuplicateTreatment::Distinct);
                (args, distinct, star)
            }
            FunctionArguments::Subquery(query) if name == "array" => {
                return self.array_subquery(query)
            }
            FunctionArguments::Subquery(_) => {
                return Err(Error::not_supported("a subquery as function arguments"))
            }
        };
        if let Some(over) = &f.over {
            return self.window(&name, over, &args, star, f.filter.as_deref());
        }
        if let Some(func) = AggFunc::named(&name) {
            let modifiers = AggModifiers {
                distinct,
                star,
                filter: f.filter.as_deref(),
                order_by,
            };
            return self.aggregate(&name, func, &args, modifiers);
        }
        if !order_by.is_empty() {
            return Err(Error::new(
                SqlState::WRONG_OBJECT_TYPE,
                format!("ORDER BY specified, but {name} is not an aggregate function"),
            ));
        }
        if distinct || star || f.filter.is_some() {
            return Err(Error::new(
                SqlState::WRONG_OBJECT_TYPE,
                format!(
                    "{} specified, but {name} is not an aggregate function",
                    if distinct {
                        "DISTINCT"
                    } else if star {
                        "*"
                    } else {
                        "FILTER"
                    }
                ),
            ));
        }
        self.call(&name, &args)
    }

    /// A call of the function `name` that is not an aggregate.
    pub(crate) fn call(&self, name: &str, args: &[&SqlExpr]) -> Result<Typed> {
        let mut bound = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<Vec<_>>>()?;
        if let Some(typed) = crate::system_functions::bind(self, name, &mut bound)? {
            return Ok(typed);
        }
        let types: Vec<Option<DataType>> = bound.iter().map(|b| b.ty).collect();
        match (name, bound.len()) {
            ("coalesce" | "greatest" | "least", n) if n > 0 => {
                let ty = common_type(&types, &name.to_uppercase())?;
                let exprs = bound
                    .into_iter()
                    .map(|b| b.into_type(ty))
                    .collect::<Result<Vec<_>>>()?;
                let expr = match name {
                    "coalesce" => Expr::Coalesce(exprs),
                    "greatest" => Expr::Call(Function::Greatest, exprs),
                    _ => Expr::Call(Function::Least, exprs),
                };
                return Ok(Typed { expr, ty: Some(ty) });
            }
            // The type is known when the call is bound (`regtype`, printed as its name).
            ("pg_typeof", 1) => {
                let name = types[0].map_or("unknown", DataType::name);
                return Ok(Typed {
                    expr: Expr::Constant(Value::Text(name.into())),
                    ty: Some(DataType::Text),
                });
            }
            ("nullif", 2) => {
                let (a, b) = self.comparable(args[0], args[1], "=")?;
                let ty = bound[0].ty.or(bound[1].ty);
                return Ok(Typed {
                    expr: Expr::Case {
                        branches: vec![(
                            Expr::Compare(CmpOp::Eq, Box::new(a.clone()), Box::new(b)),
                            Expr::Constant(Value::Null),
                        )],
                        otherwise: Box::new(a),
                    },
                    ty,
                });
            }
            _ => {}
        }
        let resolved = func::resolve(name, &types)?;
        let exprs = bound
            .into_iter()
            .zip(&resolved.arg_types)
            .map(|(b, ty)| b.into_type(*ty))
            .collect::<Result<Vec<_>>>()?;
        Ok(Typed {
            expr: Expr::Call(resolved.function, exprs),
            ty: Some(resolved.result),
        })
    }

    /// An aggregate call: a column of the aggregate row of this grouped level.
    fn aggregate(
        &self,
        name: &str,
        func: AggFunc,
        args: &[&SqlExpr],
        modifiers: AggModifiers<'_>,
    ) -> Result<Typed> {
        let AggModifiers {
            distinct,
            star,
            filter,
            order_by,
        } = modifiers;
        let Some(grouping) = self.grouping() else {
            let message = if self.clause() == "aggregate function calls" {
                "aggregate function calls cannot be nested".to_string()
            } else {
                format!("aggregate functions are not allowed in {}", self.clause())
            };
            return Err(Error::new(SqlState::GROUPING_ERROR, message));
        };
        let input = self.aggregate_input();
        let (func, args, arg_type) = match (func, star, args.len()) {
            (AggFunc::Count, true, 0) => (AggFunc::CountRows, Vec::new(), DataType::Int8),
            (AggFunc::StringAgg, false, 2) => {
                let value = input.bind(args[0])?.into_type(DataType::Text)?;
                let delimiter = input.bind(args[1])?.into_type(DataType::Text)?;
                (func, vec![value, delimiter], DataType::Text)
            }
            (_, false, 1) => {
                let typed = input.bind(args[0])?;
                let ty = typed.result_type();
                (func, vec![typed.into_type(ty)?], ty)
            }
            _ => {
                return Err(Error::new(
                    SqlState::UNDEFINED_FUNCTION,
                    format!("function {name} does not exist with these arguments"),
                ))
            }
        };
        let result_type = func.result_type(arg_type).ok_or_else(|| {
            Error::new(
                SqlState::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", arg_type.name()),
            )
        })?;
        let filter = filter
            .map(|f| input.in_clause("FILTER").boolean(f, "FILTER"))
            .transpose()?;
        let mut args = args;
        let mut order = Vec::with_capacity(order_by.len());
        for key in order_by {
            let typed = input.bind(&key.expr)?;
            let ty = typed.result_type();
            args.push(typed.into_type(ty)?);
            let descending = matches!(key.options.sort, Some(OrderBySort::Desc));
            order.push((descending, key.options.nulls_first.unwrap_or(descending)));
        }
        let call = AggCall {
            func,
            args,
            distinct,
            filter,
            result_type,
            order,
        };
        let mut grouping = grouping.borrow_mut();
        let position = match grouping.aggs.iter().position(|a| *a == call) {
            Some(p) => p,
            None => {
                grouping.aggs.push(call);
                grouping.aggs.len() - 1
            }
        };
        Ok(Typed {
            expr: Expr::Column(grouping.groups.len() + position),
            ty: Some(result_type),
        })
    }
}

/// What an aggregate call says besides its arguments: `DISTINCT`, `*`, `FILTER (WHERE …)`
/// and `ORDER BY` inside its parentheses.
struct AggModifiers<'e> {
    distinct: bool,
    star: bool,
    filter: Option<&'e SqlExpr>,
    order_by: &'e [OrderByExpr],
}

impl<'a> Binder<'a> {
    /// A window function call: a column the window operator adds to this level's rows.
    fn window(
        &self,
        name: &str,
        over: &WindowType,
        args: &[&SqlExpr],
        star: bool,
        filter: Option<&SqlExpr>,
    ) -> Result<Typed> {
        let Some(windows) = self.windows() else {
            let message = if self.clause() == "window function calls" {
                "window function calls cannot be nested".to_string()
            } else {
                format!("window functions are not allowed in {}", self.clause())
            };
            return Err(Error::new(SqlState("42P20"), message));
        };
        let WindowType::WindowSpec(spec) = over else {
            return Err(Error::not_supported("named windows"));
        };
        if spec.window_name.is_some() {
            return Err(Error::not_supported("named windows"));
        }
        // The arguments and keys read this level's rows (after grouping, if it groups).
        let inner = self.in_clause_keeping_grouping("window function calls");
        let bound = args
            .iter()
            .map(|a| inner.bind(a))
            .collect::<Result<Vec<_>>>()?;
        let arg_type = |k: usize| bound.get(k).map(Typed::result_type);
        let (func, result) = match (WindowFunc::named(name), AggFunc::named(name)) {
            (Some(func), _) => {
                if star || filter.is_some() {
                    return Err(Error::not_supported(
                        "* or FILTER with this window function",
                    ));
                }
                let result = match func {
                    WindowFunc::RowNumber
                    | WindowFunc::Rank
                    | WindowFunc::DenseRank
                    | WindowFunc::Ntile => DataType::Int8,
                    WindowFunc::PercentRank | WindowFunc::CumeDist => DataType::Float8,
                    _ => arg_type(0).ok_or_else(|| {
                        Error::new(
                            SqlState::UNDEFINED_FUNCTION,
                            format!("function {name}() does not exist"),
                        )
                    })?,
                };
                (func, result)
            }
            (None, Some(agg)) => {
                let (agg, agg_args, ty) = match (agg, star, bound.len()) {
                    (AggFunc::Count, true, 0) => (AggFunc::CountRows, Vec::new(), DataType::Int8),
                    (_, false, 1) => {
                        let ty = bound[0].result_type();
                        (agg, vec![bound[0].clone().into_type(ty)?], ty)
                    }
                    _ => {
                        return Err(Error::new(
                            SqlState::UNDEFINED_FUNCTION,
                            format!("function {name} does not exist with these arguments"),
                        ))
                    }
                };
                let result_type = agg.result_type(ty).ok_or_else(|| {
                    Error::new(
                        SqlState::UNDEFINED_FUNCTION,
                        format!("function {name}({}) does not exist", ty.name()),
                    )
                })?;
                let filter = filter.map(|f| inner.boolean(f, "FILTER")).transpose()?;
                let call = AggCall {
                    func: agg,
                    args: agg_args,
                    distinct: false,
                    filter,
                    result_type,
                    order: Vec::new(),
                };
                (WindowFunc::Aggregate(call), result_type)
            }
            (None, None) => {
                return Err(Error::new(
                    SqlState::WRONG_OBJECT_TYPE,
                    format!(
                    "OVER specified, but {name} is not a window function nor an aggregate function"
                ),
                ))
            }
        };
        // lag/lead/first_value… take their value argument as it is; offsets as bigint.
        let mut call_args = Vec::new();
        for (k, b) in bound.into_iter().enumerate() {
            let ty = match (&func, k) {
                (WindowFunc::Lag | WindowFunc::Lead, 2) => result,
                (_, 0) if matches!(func, WindowFunc::Ntile) => DataType::Int8,
                (_, 0) => b.result_type(),
                _ => DataType::Int8,
            };
            call_args.push(b.into_type(ty)?);
        }
        let partition = spec
            .partition_by
            .iter()
            .map(|e| inner.bind(e).map(|t| t.expr))
            .collect::<Result<Vec<_>>>()?;
        let order = spec
            .order_by
            .iter()
            .map(|o| {
                let descending = matches!(o.options.sort, Some(OrderBySort::Desc));
                Ok((
                    inner.bind(&o.expr)?.expr,
                    descending,
                    o.options.nulls_first.unwrap_or(descending),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let frame = frame_of(spec.window_frame.as_ref(), !spec.order_by.is_empty())?;
        let mut windows = windows.borrow_mut();
        windows.push(WindowCall {
            func,
            args: call_args,
            partition,
            order,
            frame,
        });
        Ok(Typed {
            expr: Expr::Column(WINDOW_BASE + windows.len() - 1),
            ty: Some(result),
        })
    }
}

/// A window's frame: the default (the partition up to the current row's peers with ORDER
/// BY, the whole partition without) or the one given.
fn frame_of(frame: Option<&WindowFrame>, ordered: bool) -> Result<Frame> {
    let Some(frame) = frame else {
        return Ok(Frame {
            rows: false,
            start: FrameBound::UnboundedPreceding,
            end: if ordered {
                FrameBound::CurrentRow
            } else {
                FrameBound::UnboundedFollowing
            },
        });
    };
    let rows = match frame.units {
        WindowFrameUnits::Rows => true,
        WindowFrameUnits::Range => false,
        WindowFrameUnits::Groups => return Err(Error::not_supported("GROUPS frames")),
    };
    let bound = |b: &WindowFrameBound| -> Result<FrameBound> {
        let offset = |e: &SqlExpr| -> Result<u64> {
            match e {
                SqlExpr::Value(v) => match &v.value {
                    sqlparser::ast::Value::Number(n, _) if rows => n.parse().map_err(|_| {
                        Error::new(
                            SqlState("22013"),
                            "frame starting offset must not be negative",
                        )
                    }),
                    _ => Err(Error::not_supported("this frame offset")),
                },
                _ => Err(Error::not_supported("this frame offset")),
            }
        };
        Ok(match b {
            WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(e)?),
            WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(e)?),
        })
    };
    Ok(Frame {
        rows,
        start: bound(&frame.start_bound)?,
        end: match &frame.end_bound {
            Some(b) => bound(b)?,
            None => FrameBound::CurrentRow,
        },
    })
}

/// An untyped NULL.
fn null() -> Typed {
    Typed {
        expr: Expr::Constant(Value::Null),
        ty: None,
    }
}

/// The comparison a binary operator is, if it is one.
pub(crate) fn cmp_op(op: &BinaryOperator) -> Option<CmpOp> {
    Some(match op {
        BinaryOperator::Eq => CmpOp::Eq,
        BinaryOperator::NotEq => CmpOp::NotEq,
        BinaryOperator::Lt => CmpOp::Lt,
        BinaryOperator::LtEq => CmpOp::LtEq,
        BinaryOperator::Gt => CmpOp::Gt,
        BinaryOperator::GtEq => CmpOp::GtEq,
        _ => return None,
    })
}
