//! Aggregate functions: `count`, `sum`, `avg`, `min`, `max`, `bool_and`/`every`, `bool_or`,
//! `string_agg` and `json_agg`/`jsonb_agg`, each with `DISTINCT` and `FILTER (WHERE …)`.
//!
//! An [`AggCall`] is one aggregate of a query (the binder makes it of a call in the select
//! list, `HAVING` or `ORDER BY`); an [`Accumulator`] folds the rows of one group into its
//! value. As in PostgreSQL, NULL inputs are skipped (`count(*)` counts rows), an aggregate
//! over no row is NULL (`count` is 0), `sum` of smallint or integer is a bigint, and overflow
//! is an error rather than a wrapped value; `sum` of bigint or numeric and `avg` of any exact
//! number are numeric (exact), `avg` of floats a double; `sum` and `avg` of intervals are
//! intervals. `json_agg` keeps NULL inputs, as JSON nulls.

use std::collections::HashSet;

use crate::error::{Error, Result, SqlState};
use crate::exec::Env;
use crate::expr::Expr;
use crate::plan::SortKey;
use crate::value::{ArithOp, DataType, Value};

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count(*)`: rows.
    CountRows,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    BoolAnd,
    BoolOr,
    StringAgg,
    JsonAgg,
    JsonbAgg,
    /// `array_agg(x)`: the inputs as an array, NULLs kept.
    ArrayAgg,
}

impl AggFunc {
    /// The aggregate a function name names, if any.
    pub fn named(name: &str) -> Option<AggFunc> {
        Some(match name {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "avg" => AggFunc::Avg,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "bool_and" | "every" => AggFunc::BoolAnd,
            "bool_or" => AggFunc::BoolOr,
            "string_agg" => AggFunc::StringAgg,
            "json_agg" => AggFunc::JsonAgg,
            "jsonb_agg" => AggFunc::JsonbAgg,
            "array_agg" => AggFunc::ArrayAgg,
            _ => return None,
        })
    }

    /// The result type over an argument of type `arg`; `None` if the aggregate does not take
    /// that type.
    pub fn result_type(self, arg: DataType) -> Option<DataType> {
        use DataType::*;
        match self {
            AggFunc::CountRows | AggFunc::Count => Some(Int8),
            AggFunc::Sum => match arg {
                Int2 | Int4 => Some(Int8),
                Int8 | Numeric => Some(Numeric),
                Float4 | Float8 | Interval => Some(arg),
                _ => None,
            },
            AggFunc::Avg => match arg {
                Int2 | Int4 | Int8 | Numeric => Some(Numeric),
                Float4 | Float8 => Some(Float8),
                Interval => Some(Interval),
                _ => None,
            },
            AggFunc::Min | AggFunc::Max => Some(arg),
            AggFunc::BoolAnd | AggFunc::BoolOr => (arg == Bool).then_some(Bool),
            AggFunc::StringAgg => (arg == Text).then_some(Text),
            AggFunc::JsonAgg => Some(Json),
            AggFunc::JsonbAgg => Some(Jsonb),
            AggFunc::ArrayAgg => match arg {
                Array(_) => None,
                element => Some(crate::array::of(element)),
            },
        }
    }
}

/// One aggregate of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    /// Its arguments over the input row (none for `count(*)`; `string_agg` has two).
    pub args: Vec<Expr>,
    pub distinct: bool,
    pub filter: Option<Expr>,
    pub result_type: DataType,
    /// `ORDER BY` inside the call (`string_agg(x, ',' ORDER BY y DESC)`): for each sort key,
    /// whether it is descending and whether NULLs come first. The keys are the last
    /// `order.len()` of `args`.
    pub order: Vec<(bool, bool)>,
}

impl AggCall {
    /// The arguments the aggregate folds (those before its sort keys).
    fn folded_args(&self) -> usize {
        self.args.len() - self.order.len()
    }
}

/// The running state of one aggregate over one group.
#[derive(Debug)]
pub struct Accumulator {
    count: i64,
    value: Value,
    /// The sum of `avg`'s inputs, in its result type.
    sum: Value,
    seen: Option<HashSet<Vec<u8>>>,
    /// An ordered aggregate's inputs (arguments, then sort keys), folded when it finishes.
    buffered: Option<Vec<Vec<Value>>>,
}

impl Accumulator {
    pub fn new(call: &AggCall) -> Accumulator {
        Accumulator {
            count: 0,
            value: Value::Null,
            sum: Value::Null,
            seen: call.distinct.then(HashSet::new),
            buffered: (!call.order.is_empty()).then(Vec::new),
        }
    }

    /// Folds one input row in.
    pub fn add(&mut self, call: &AggCall, row: &[Value], env: &Env<'_>) -> Result<()> {
        if let Some(filter) = &call.filter {
            if filter.eval(row, env)? != Value::Bool(true) {
                return Ok(());
            }
        }
        if call.func == AggFunc::CountRows {
            self.count += 1;
            return Ok(());
        }
        if let Some(buffered) = &mut self.buffered {
            let inputs = call
                .args
                .iter()
                .map(|a| a.eval(row, env))
                .collect::<Result<Vec<_>>>()?;
            buffered.push(inputs);
            return Ok(());
        }
        let v = call.args[0].eval(row, env)?;
        if matches!(call.func, AggFunc::JsonAgg | AggFunc::JsonbAgg) {
            if let Some(seen) = &mut self.seen {
                if !seen.insert(crate::row::group_key(std::slice::from_ref(&v))) {
                    return Ok(());
                }
            }
            let element = crate::json_func::to_json(&v);
            let mut acc = match std::mem::take(&mut self.value) {
                Value::Text(acc) => acc + ", ",
                _ => String::from("["),
            };
            acc.push_str(&element);
            self.value = Value::Text(acc);
            return Ok(());
        }
        if call.func == AggFunc::ArrayAgg {
            if let Some(seen) = &mut self.seen {
                if !seen.insert(crate::row::group_key(std::slice::from_ref(&v))) {
                    return Ok(());
                }
            }
            match &mut self.value {
                Value::Array(array) => array.items.push(v),
                _ => {
                    let element = match call.result_type {
                        DataType::Array(element) => *element,
                        other => other,
                    };
                    self.value = crate::array::value(element, vec![v]);
                }
            }
            return Ok(());
        }
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen {
            if !seen.insert(crate::row::group_key(std::slice::from_ref(&v))) {
                return Ok(());
            }
        }
        self.count += 1;
        match call.func {
            AggFunc::CountRows
            | AggFunc::Count
            | AggFunc::JsonAgg
            | AggFunc::JsonbAgg
            | AggFunc::ArrayAgg => {}
            AggFunc::Sum => {
                let v = v.cast(call.result_type)?;
                self.value = if self.value.is_null() {
                    v
                } else {
                    self.value.arith(ArithOp::Add, &v).map_err(|e| {
                        if e.state == SqlState::NUMERIC_VALUE_OUT_OF_RANGE {
                            Error::new(e.state, "bigint out of range")
                        } else {
                            e
                        }
                    })?
                };
            }
            AggFunc::Avg => {
                let v = v.cast(call.result_type)?;
                self.sum = if self.sum.is_null() {
                    v
                } else {
                    self.sum.arith(ArithOp::Add, &v)?
                };
            }
            AggFunc::Min | AggFunc::Max => {
                let better = match self.value.compare(&v)? {
                    None => true,
                    Some(o) => (call.func == AggFunc::Min) == o.is_gt(),
                };
                if better {
                    self.value = v;
                }
            }
            AggFunc::BoolAnd | AggFunc::BoolOr => {
                let b = v == Value::Bool(true);
                self.value = Value::Bool(match self.value {
                    Value::Bool(acc) if call.func == AggFunc::BoolAnd => acc && b,
                    Value::Bool(acc) => acc || b,
                    _ => b,
                });
            }
            AggFunc::StringAgg => {
                let delimiter = call.args[1].eval(row, env)?.to_text();
                let text = v.to_text().unwrap_or_default();
                self.value = match std::mem::take(&mut self.value) {
                    Value::Text(mut acc) => {
                        acc.push_str(&delimiter.unwrap_or_default());
                        acc.push_str(&text);
                        Value::Text(acc)
                    }
                    _ => Value::Text(text),
                };
            }
        }
        Ok(())
    }

    /// The aggregate's value over the rows folded in.
    pub fn finish(&self, call: &AggCall, env: &Env<'_>) -> Result<Value> {
        if let Some(buffered) = &self.buffered {
            return finish_ordered(call, buffered, env);
        }
        Ok(match call.func {
            AggFunc::CountRows | AggFunc::Count => Value::Int8(self.count),
            AggFunc::Avg if self.count == 0 => Value::Null,
            AggFunc::Avg if call.result_type == DataType::Interval => match &self.sum {
                Value::Interval(sum) => Value::Interval(sum.div(self.count as f64)?),
                _ => Value::Null,
            },
            AggFunc::JsonAgg | AggFunc::JsonbAgg => match &self.value {
                Value::Text(acc) => {
                    let text = format!("{acc}]");
                    if call.func == AggFunc::JsonbAgg {
                        Value::Jsonb(crate::json::canonical(&text)?)
                    } else {
                        Value::Json(text)
                    }
                }
                _ => Value::Null,
            },
            AggFunc::Avg => self.sum.arith(
                ArithOp::Div,
                &Value::Int8(self.count).cast(call.result_type)?,
            )?,
            _ => self.value.clone(),
        })
    }
}

/// An ordered aggregate's value: its inputs sorted by their keys, then folded in that order
/// by the same aggregate without an ORDER BY.
fn finish_ordered(call: &AggCall, buffered: &[Vec<Value>], env: &Env<'_>) -> Result<Value> {
    let folded = call.folded_args();
    let mut rows = buffered.to_vec();
    let keys: Vec<SortKey> = call
        .order
        .iter()
        .enumerate()
        .map(|(i, &(descending, nulls_first))| SortKey {
            column: folded + i,
            descending,
            nulls_first,
        })
        .collect();
    crate::exec::sort(&keys, &mut rows)?;
    let unordered = AggCall {
        args: (0..folded).map(Expr::Column).collect(),
        filter: None,
        order: Vec::new(),
        ..call.clone()
    };
    let mut acc = Accumulator::new(&unordered);
    for row in &rows {
        acc.add(&unordered, row, env)?;
    }
    acc.finish(&unordered, env)
}
