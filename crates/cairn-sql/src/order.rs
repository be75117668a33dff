//! `ORDER BY`, `LIMIT` and `OFFSET` of a query, as PostgreSQL resolves and applies them.
//!
//! A sort key is, in PostgreSQL's order of resolution: an integer literal, the position of an
//! output column (`ORDER BY 2`; `42P10` past the select list); a bare name that is an output
//! column's name or alias; else any expression over the query's input row. `ASC` is the
//! default, with NULLs last; `DESC` puts them first; `NULLS FIRST`/`LAST` override. Text
//! sorts byte-wise (the C collation). `LIMIT` and `OFFSET` are constant expressions of type
//! bigint: NULL means none, a negative value is `2201W`/`2201X`.

use std::cmp::Ordering;

use sqlparser::ast::{
    Expr as SqlExpr, LimitClause, OrderBy, OrderByKind, OrderBySort, Value as SqlValue,
};

use crate::bind::{ident_name, Binder};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::value::{DataType, Value};

/// Where a sort key's value comes from.
#[derive(Debug, Clone)]
enum KeySource {
    /// Output column `n`.
    Output(usize),
    /// An expression over the input row.
    Input(Expr),
}

/// One sort key.
#[derive(Debug, Clone)]
pub struct SortKey {
    source: KeySource,
    descending: bool,
    nulls_first: bool,
}

/// The sort keys of `order_by`, resolved against the output column names `outputs` and the
/// input row `binder` binds over.
pub fn sort_keys(
    binder: &Binder<'_>,
    order_by: Option<&OrderBy>,
    outputs: &[String],
) -> Result<Vec<SortKey>> {
    let Some(order_by) = order_by else {
        return Ok(Vec::new());
    };
    let OrderByKind::Expressions(items) = &order_by.kind else {
        return Err(Error::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "ORDER BY ALL is not supported",
        ));
    };
    items
        .iter()
        .map(|item| {
            let descending = match item.options.sort {
                None | Some(OrderBySort::Asc) => false,
                Some(OrderBySort::Desc) => true,
                Some(_) => {
                    return Err(Error::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "ORDER BY … USING is not supported yet",
                    ))
                }
            };
            Ok(SortKey {
                source: key_source(binder, &item.expr, outputs)?,
                descending,
                nulls_first: item.options.nulls_first.unwrap_or(descending),
            })
        })
        .collect()
}

fn key_source(binder: &Binder<'_>, expr: &SqlExpr, outputs: &[String]) -> Result<KeySource> {
    match expr {
        SqlExpr::Value(v) => {
            if let SqlValue::Number(text, _) = &v.value {
                let position: i64 = text.parse().unwrap_or(0);
                return match usize::try_from(position) {
                    Ok(p) if (1..=outputs.len()).contains(&p) => Ok(KeySource::Output(p - 1)),
                    _ => Err(binder.placed(
                        Error::new(
                            SqlState("42P10"),
                            format!("ORDER BY position {text} is not in select list"),
                        ),
                        expr,
                    )),
                };
            }
        }
        SqlExpr::Identifier(ident) => {
            let name = ident_name(ident);
            if let Some(i) = outputs.iter().position(|o| *o == name) {
                return Ok(KeySource::Output(i));
            }
        }
        _ => {}
    }
    let typed = binder.bind(expr)?;
    Ok(KeySource::Input(typed.expr))
}

/// The values of `keys` for one row: its input row and its output row.
pub fn key_values(keys: &[SortKey], input: &[Value], output: &[Value]) -> Result<Vec<Value>> {
    keys.iter()
        .map(|k| match &k.source {
            KeySource::Output(i) => Ok(output[*i].clone()),
            KeySource::Input(e) => e.eval(input),
        })
        .collect()
}

/// Sorts `rows` (each with its key values) by `keys`; equal rows keep their order.
pub fn sort(keys: &[SortKey], rows: &mut [(Vec<Value>, Vec<Value>)]) -> Result<()> {
    let mut failure = None;
    rows.sort_by(|(a, _), (b, _)| {
        for (k, (x, y)) in keys.iter().zip(a.iter().zip(b)) {
            let ordering = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    return if k.nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    return if k.nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, false) => match x.compare(y) {
                    Ok(Some(o)) => o,
                    Ok(None) => Ordering::Equal,
                    Err(e) => {
                        failure.get_or_insert(e);
                        Ordering::Equal
                    }
                },
            };
            let ordering = if k.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        Ordering::Equal
    });
    failure.map_or(Ok(()), Err)
}

/// The (offset, limit) of a query; `None` for no limit.
pub fn offset_and_limit(
    binder: &Binder<'_>,
    clause: Option<&LimitClause>,
) -> Result<(u64, Option<u64>)> {
    let (limit, offset) = match clause {
        None => return Ok((0, None)),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) if limit_by.is_empty() => (limit.as_ref(), offset.as_ref().map(|o| &o.value)),
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        Some(_) => {
            return Err(Error::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "LIMIT BY is not supported",
            ))
        }
    };
    let count = |expr: Option<&SqlExpr>, word: &str, state: &'static str| -> Result<Option<u64>> {
        let Some(expr) = expr else {
            return Ok(None);
        };
        let typed = binder.bind(expr)?;
        let value = typed
            .expr
            .eval(&[])
            .and_then(|v| v.cast(DataType::Int8))
            .map_err(|e| binder.placed(e, expr))?;
        match value {
            Value::Null => Ok(None),
            Value::Int8(n) if n < 0 => Err(Error::new(
                SqlState(state),
                format!("{word} must not be negative"),
            )),
            Value::Int8(n) => Ok(Some(n as u64)),
            _ => unreachable!("cast to bigint"),
        }
    };
    let offset = count(offset, "OFFSET", "2201X")?.unwrap_or(0);
    let limit = count(limit, "LIMIT", "2201W")?;
    Ok((offset, limit))
}
