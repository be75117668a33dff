//! The operators and casts of the date/time types, PostgreSQL's set of them:
//!
//! ```text
//! date ± integer → date          date - date → integer        date + time → timestamp
//! date ± interval → timestamp    timestamp ± interval → timestamp (timestamptz likewise)
//! timestamp - timestamp → interval (whole days split out: '1 day 12:00:00')
//! time ± interval → time (wrapping at midnight)               time - time → interval
//! interval ± interval, interval × number, interval ÷ number → interval
//! ```
//!
//! Operands of different date/time types meet at the later of date < timestamp <
//! timestamptz first (`date - timestamp` is a timestamp difference). Adding months keeps
//! the day of the month, clamped to the month's last day (`2020-01-31 + 1 month` is
//! `2020-02-29`). Results past the types' ranges are `22008`, never wrapped values; an
//! infinite timestamp plus an interval stays infinite.

use crate::datetime::{
    self, date_of, days_from_ymd, days_in_month, is_infinite_date, is_infinite_timestamp,
    split_timestamp, timestamp_of, ymd_from_days, USECS_PER_DAY,
};
use crate::error::{Error, Result, SqlState};
use crate::interval::Interval;
use crate::value::{ArithOp, DataType, Value};

/// The type of `a op b` for the date/time operators, `None` if there is no such operator.
pub fn arith_type(a: DataType, op: ArithOp, b: DataType) -> Option<DataType> {
    use ArithOp::*;
    use DataType::*;
    let int = |t: DataType| matches!(t, Int2 | Int4);
    Some(match (a, op, b) {
        (Date, Add | Sub, n) if int(n) => Date,
        (n, Add, Date) if int(n) => Date,
        (Date, Sub, Date) => Int4,
        (Date | Timestamp, Add | Sub, Interval) | (Interval, Add, Date | Timestamp) => Timestamp,
        (TimestampTz, Add | Sub, Interval) | (Interval, Add, TimestampTz) => TimestampTz,
        (Date, Add, Time) | (Time, Add, Date) => Timestamp,
        (Time, Add | Sub, Interval) | (Interval, Add, Time) => Time,
        (Time, Sub, Time)
        | (Timestamp, Sub, Timestamp)
        | (TimestampTz, Sub, TimestampTz)
        | (Interval, Add | Sub, Interval) => Interval,
        (Interval, Mul | Div, n) | (n, Mul, Interval) if n.is_numeric() => Interval,
        (a, Sub, b) if a != b && a.common_with(b).is_some() => {
            arith_type(a.common_with(b)?, Sub, a.common_with(b)?)?
        }
        _ => return None,
    })
}

/// The type an untyped literal takes as the other operand of `known op literal` (or
/// `literal op known`): the known type when the operator exists for it on both sides, as
/// PostgreSQL's resolution prefers, else the one type that makes the operator exist.
pub fn literal_type(known: DataType, op: ArithOp) -> Option<DataType> {
    if arith_type(known, op, known).is_some() {
        return Some(known);
    }
    match (known, op) {
        (DataType::Timestamp | DataType::TimestampTz | DataType::Time, ArithOp::Add) => {
            Some(DataType::Interval)
        }
        (DataType::Interval, ArithOp::Mul | ArithOp::Div) => Some(DataType::Float8),
        _ => None,
    }
}

/// `a op b` over date/time values; `Ok(None)` if there is no such operator.
pub fn arith(a: &Value, op: ArithOp, b: &Value) -> Result<Option<Value>> {
    use ArithOp::*;
    Ok(Some(match (a, op, b) {
        (Value::Date(d), Add | Sub, n @ (Value::Int2(_) | Value::Int4(_))) => {
            let n = int_of(n);
            if is_infinite_date(*d) {
                return Ok(Some(a.clone()));
            }
            let n = if op == Sub { -n } else { n };
            Value::Date(date_of(i64::from(*d) + n)?)
        }
        (Value::Int2(_) | Value::Int4(_), Add, Value::Date(_)) => return arith(b, Add, a),
        (Value::Date(x), Sub, Value::Date(y)) => {
            if is_infinite_date(*x) || is_infinite_date(*y) {
                return Err(Error::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    "cannot subtract infinite dates",
                ));
            }
            Value::Int4(x - y)
        }
        (Value::Date(_), Add | Sub, Value::Interval(_)) => {
            return arith(&a.cast(DataType::Timestamp)?, op, b)
        }
        (Value::Timestamp(t), Add | Sub, Value::Interval(i)) => {
            Value::Timestamp(add_interval(*t, &signed(i, op)?)?)
        }
        (Value::TimestampTz(t), Add | Sub, Value::Interval(i)) => {
            Value::TimestampTz(add_interval(*t, &signed(i, op)?)?)
        }
        (Value::Interval(_), Add, Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_)) => {
            return arith(b, Add, a)
        }
        (Value::Date(d), Add, Value::Time(t)) | (Value::Time(t), Add, Value::Date(d)) => {
            Value::Timestamp(timestamp_of(i64::from(*d), *t)?)
        }
        (Value::Time(t), Add | Sub, Value::Interval(i)) => {
            let i = signed(i, op)?;
            Value::Time((t + i.micros % USECS_PER_DAY).rem_euclid(USECS_PER_DAY))
        }
        (Value::Interval(_), Add, Value::Time(_)) => return arith(b, Add, a),
        (Value::Time(x), Sub, Value::Time(y)) => Value::Interval(Interval {
            micros: x - y,
            ..Interval::ZERO
        }),
        (Value::Timestamp(x), Sub, Value::Timestamp(y))
        | (Value::TimestampTz(x), Sub, Value::TimestampTz(y)) => {
            if is_infinite_timestamp(*x) || is_infinite_timestamp(*y) {
                return Err(Error::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    "cannot subtract infinite timestamps",
                ));
            }
            let micros = x.checked_sub(*y).ok_or_else(interval_overflow)?;
            Value::Interval(
                Interval {
                    micros,
                    ..Interval::ZERO
                }
                .justify_hours(),
            )
        }
        (Value::Interval(x), Add, Value::Interval(y)) => Value::Interval(x.add(y)?),
        (Value::Interval(x), Sub, Value::Interval(y)) => Value::Interval(x.sub(y)?),
        (Value::Interval(i), Mul, n) | (n, Mul, Value::Interval(i)) if is_number(n) => {
            Value::Interval(i.mul(float_of(n))?)
        }
        (Value::Interval(i), Div, n) if is_number(n) => Value::Interval(i.div(float_of(n))?),
        _ => {
            let (Some(ta), Some(tb)) = (a.data_type(), b.data_type()) else {
                return Ok(Some(Value::Null));
            };
            match ta.common_with(tb) {
                Some(common) if ta != tb && op == Sub && arith_type(ta, op, tb).is_some() => {
                    return arith(&a.cast(common)?, op, &b.cast(common)?)
                }
                _ => return Ok(None),
            }
        }
    }))
}

/// The interval to add for `op`: itself for `+`, negated for `-`.
fn signed(i: &Interval, op: ArithOp) -> Result<Interval> {
    if op == ArithOp::Sub {
        i.neg()
    } else {
        Ok(*i)
    }
}

/// `ts + interval`: months first (the day clamped to the month's length), then days, then
/// time (PostgreSQL's `timestamp_pl_interval`).
pub fn add_interval(ts: i64, interval: &Interval) -> Result<i64> {
    if is_infinite_timestamp(ts) {
        return Ok(ts);
    }
    let mut ts = ts;
    if interval.months != 0 {
        let (day, time) = split_timestamp(ts);
        let ymd = ymd_from_days(day);
        let total = ymd.year * 12 + i64::from(ymd.month) - 1 + i64::from(interval.months);
        let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        let day_of_month = ymd.day.min(days_in_month(year, month));
        ts = timestamp_of(days_from_ymd(year, month, day_of_month), time)?;
    }
    let out_of_range = || Error::new(SqlState::DATETIME_FIELD_OVERFLOW, "timestamp out of range");
    ts = ts
        .checked_add(i64::from(interval.days) * USECS_PER_DAY)
        .and_then(|t| t.checked_add(interval.micros))
        .ok_or_else(out_of_range)?;
    datetime::check_timestamp(ts).map_err(|_| out_of_range())
}

/// A date/time value cast to another date/time type.
pub fn cast(value: &Value, ty: DataType) -> Result<Value> {
    Ok(match (value, ty) {
        (Value::Date(d), DataType::Timestamp) => Value::Timestamp(datetime::date_to_timestamp(*d)?),
        (Value::Date(d), DataType::TimestampTz) => {
            Value::TimestampTz(datetime::date_to_timestamp(*d)?)
        }
        (Value::Timestamp(t) | Value::TimestampTz(t), DataType::Date) => {
            Value::Date(datetime::timestamp_to_date(*t)?)
        }
        (Value::Timestamp(t), DataType::TimestampTz) => Value::TimestampTz(*t),
        (Value::TimestampTz(t), DataType::Timestamp) => Value::Timestamp(*t),
        (Value::Timestamp(t) | Value::TimestampTz(t), DataType::Time) => {
            if is_infinite_timestamp(*t) {
                return Err(Error::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    "timestamp out of range",
                ));
            }
            Value::Time(split_timestamp(*t).1)
        }
        (Value::Time(t), DataType::Interval) => Value::Interval(Interval {
            micros: *t,
            ..Interval::ZERO
        }),
        (Value::Interval(i), DataType::Time) => Value::Time(i.micros.rem_euclid(USECS_PER_DAY)),
        _ => {
            return Err(Error::new(
                SqlState::CANNOT_COERCE,
                format!(
                    "cannot cast type {} to {}",
                    value.data_type().map_or("unknown", DataType::name),
                    ty.name()
                ),
            ))
        }
    })
}

fn is_number(v: &Value) -> bool {
    v.data_type().is_some_and(DataType::is_numeric)
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int2(n) => i64::from(*n),
        Value::Int4(n) => i64::from(*n),
        _ => 0,
    }
}

fn float_of(v: &Value) -> f64 {
    match v.cast(DataType::Float8) {
        Ok(Value::Float8(x)) => x,
        _ => f64::NAN,
    }
}

fn interval_overflow() -> Error {
    Error::new(SqlState::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn v(ty: DataType, text: &str) -> Value {
        Value::parse(ty, text).expect(text)
    }

    fn op(a: &Value, op: ArithOp, b: &Value) -> String {
        a.arith(op, b)
            .expect("operator")
            .to_text()
            .expect("not null")
    }

    #[test]
    fn operators_follow_postgresql() {
        use DataType::*;
        let ts = v(Timestamp, "2020-01-31 10:00");
        assert_eq!(
            op(&ts, ArithOp::Add, &v(Interval, "1 month")),
            "2020-02-29 10:00:00"
        );
        assert_eq!(
            op(&ts, ArithOp::Sub, &v(Interval, "1 day 2 hours")),
            "2020-01-30 08:00:00"
        );
        assert_eq!(
            op(
                &v(Timestamp, "2020-01-01"),
                ArithOp::Sub,
                &v(Timestamp, "2019-12-30 12:00")
            ),
            "1 day 12:00:00"
        );
        assert_eq!(
            op(&v(Date, "2020-03-01"), ArithOp::Sub, &v(Date, "2020-01-01")),
            "60"
        );
        assert_eq!(
            op(&v(Date, "2020-02-28"), ArithOp::Add, &Value::Int4(2)),
            "2020-03-01"
        );
        assert_eq!(
            op(&Value::Int4(1), ArithOp::Add, &v(Date, "2020-02-28")),
            "2020-02-29"
        );
        assert_eq!(
            op(&v(Date, "2020-01-01"), ArithOp::Add, &v(Interval, "1 hour")),
            "2020-01-01 01:00:00"
        );
        assert_eq!(
            op(&v(Time, "23:00"), ArithOp::Add, &v(Interval, "2 hours")),
            "01:00:00"
        );
        assert_eq!(
            op(
                &v(Date, "2020-01-02"),
                ArithOp::Sub,
                &v(Timestamp, "2020-01-01 12:00")
            ),
            "12:00:00"
        );
        assert_eq!(
            op(&v(Interval, "1 day"), ArithOp::Mul, &Value::Int4(3)),
            "3 days"
        );
        assert_eq!(
            v(Date, "5874897-12-31")
                .arith(ArithOp::Add, &Value::Int4(1))
                .unwrap_err()
                .state
                .0,
            "22008"
        );
        assert_eq!(
            arith_type(Date, ArithOp::Sub, Timestamp),
            Some(DataType::Interval)
        );
        assert_eq!(arith_type(Date, ArithOp::Mul, Date), None);
    }
}
