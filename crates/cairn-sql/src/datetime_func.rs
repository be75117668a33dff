//! The date/time functions whose logic is more than a cast or an operator: `extract` and
//! `date_part`, `date_trunc`, `age`, as PostgreSQL 15 defines them.
//!
//! * `extract(field FROM x)` is `numeric` (seconds with their six decimals, `epoch` of a
//!   timestamp too), `date_part('field', x)` the same as `double precision`. Years before
//!   1 AD count down from -1, decades, centuries and millennia as PostgreSQL counts them
//!   (the 21st century begins in 2001). The field of an infinite timestamp is NULL. A field
//!   the type does not have is `0A000 unit "hour" not supported for type date`; a word that
//!   is no field is `22023 unit "…" not recognized for type …`.
//! * `date_trunc('field', x)` truncates a timestamp (or interval) to the field's start; the
//!   week begins on Monday.
//! * `age(a, b)` is the difference as years, months and days of the calendar, borrowing
//!   from the larger field as a person's age is counted (`age('2020-03-01',
//!   '2019-12-31 10:00')` is `2 mons 14:00:00`).

use crate::clock;
use crate::datetime::{
    days_from_ymd, days_in_month, is_infinite_timestamp, split_timestamp, timestamp_of,
    ymd_from_days, UNIX_EPOCH_DAYS, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC,
};
use crate::error::{Error, Result, SqlState};
use crate::func::Function;
use crate::interval::Interval;
use crate::numeric::Numeric;
use crate::value::{DataType, Value};

/// A field of `extract` and `date_trunc`, from the words PostgreSQL accepts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Dow,
    Isodow,
    Doy,
    Isoyear,
    Epoch,
    Timezone,
    TimezoneHour,
    TimezoneMinute,
}

fn field(word: &str) -> Option<Field> {
    use Field::*;
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "microsecond" | "microseconds" | "usec" | "usecs" | "us" | "useconds" => Microseconds,
        "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" | "mseconds" => Milliseconds,
        "second" | "seconds" | "sec" | "secs" | "s" => Second,
        "minute" | "minutes" | "min" | "mins" | "m" => Minute,
        "hour" | "hours" | "hr" | "hrs" | "h" => Hour,
        "day" | "days" | "d" => Day,
        "week" | "weeks" | "w" => Week,
        "month" | "months" | "mon" | "mons" => Month,
        "quarter" | "qtr" => Quarter,
        "year" | "years" | "yr" | "yrs" | "y" => Year,
        "decade" | "decades" | "dec" => Decade,
        "century" | "centuries" | "c" | "cent" => Century,
        "millennium" | "millennia" | "mil" | "mils" => Millennium,
        "dow" => Dow,
        "isodow" => Isodow,
        "doy" => Doy,
        "isoyear" => Isoyear,
        "epoch" => Epoch,
        "timezone" => Timezone,
        "timezone_h" | "timezone_hour" => TimezoneHour,
        "timezone_m" | "timezone_minute" => TimezoneMinute,
        _ => return None,
    })
}

fn not_recognized(word: &str, ty: DataType) -> Error {
    Error::new(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("unit \"{word}\" not recognized for type {}", ty.name()),
    )
}

fn not_supported(word: &str, ty: DataType) -> Error {
    Error::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("unit \"{word}\" not supported for type {}", ty.name()),
    )
}

/// `extract(word FROM value)`; `None` (NULL) for a field of an infinite timestamp.
pub fn extract(word: &str, value: &Value) -> Result<Option<Numeric>> {
    let ty = value.data_type().unwrap_or(DataType::Timestamp);
    let f = field(word).ok_or_else(|| not_recognized(word, ty))?;
    let unsupported = || not_supported(word, ty);
    Ok(Some(match value {
        Value::Timestamp(ts) | Value::TimestampTz(ts) => {
            if is_infinite_timestamp(*ts) {
                return Ok(None);
            }
            let tz = matches!(value, Value::TimestampTz(_));
            match f {
                Field::Timezone | Field::TimezoneHour | Field::TimezoneMinute if tz => {
                    Numeric::from_i64(0)
                }
                Field::Epoch => micros_numeric(*ts - UNIX_EPOCH_DAYS * USECS_PER_DAY, 6),
                _ => {
                    let (day, time) = split_timestamp(*ts);
                    match f {
                        Field::Microseconds
                        | Field::Milliseconds
                        | Field::Second
                        | Field::Minute
                        | Field::Hour => clock_field(f, time),
                        _ => date_field(f, day).ok_or_else(unsupported)?,
                    }
                }
            }
        }
        Value::Date(d) => {
            if crate::datetime::is_infinite_date(*d) {
                return Ok(None);
            }
            match f {
                Field::Epoch => Numeric::from_i64(
                    (i64::from(*d) - UNIX_EPOCH_DAYS) * (USECS_PER_DAY / USECS_PER_SEC),
                ),
                _ => date_field(f, i64::from(*d)).ok_or_else(unsupported)?,
            }
        }
        Value::Time(t) => match f {
            Field::Microseconds
            | Field::Milliseconds
            | Field::Second
            | Field::Minute
            | Field::Hour => clock_field(f, *t),
            Field::Epoch => micros_numeric(*t, 6),
            _ => return Err(unsupported()),
        },
        Value::Interval(i) => interval_field(f, i).ok_or_else(unsupported)?,
        _ => return Err(unsupported()),
    }))
}

/// A count of microseconds as seconds with `scale` decimals.
fn micros_numeric(micros: i64, scale: u32) -> Numeric {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let (whole, fraction) = (abs / 1_000_000, abs % 1_000_000);
    let text = if scale == 3 {
        format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
    } else {
        format!("{sign}{whole}.{fraction:06}")
    };
    Numeric::parse(&text).expect("a formatted number")
}

/// A field of the time of day (`time` microseconds since midnight, or an interval's time).
fn clock_field(f: Field, time: i64) -> Numeric {
    let in_minute = time % USECS_PER_MINUTE;
    match f {
        Field::Microseconds => Numeric::from_i64(in_minute),
        Field::Milliseconds => micros_numeric(in_minute, 3),
        Field::Second => micros_numeric(in_minute, 6),
        Field::Minute => Numeric::from_i64(time / USECS_PER_MINUTE % 60),
        _ => Numeric::from_i64(time / USECS_PER_HOUR),
    }
}

/// A field of the date `day` days after 2000-01-01; `None` for a field dates do not have.
fn date_field(f: Field, day: i64) -> Option<Numeric> {
    let ymd = ymd_from_days(day);
    let y = ymd.year;
    let dow = (day + 6).rem_euclid(7);
    Some(Numeric::from_i64(match f {
        Field::Day => i64::from(ymd.day),
        Field::Month => i64::from(ymd.month),
        Field::Quarter => (i64::from(ymd.month) - 1) / 3 + 1,
        Field::Year => {
            if y > 0 {
                y
            } else {
                y - 1
            }
        }
        Field::Decade => {
            if y >= 0 {
                y / 10
            } else {
                -((8 - (y - 1)) / 10)
            }
        }
        Field::Century => {
            if y > 0 {
                (y + 99) / 100
            } else {
                -((99 - (y - 1)) / 100)
            }
        }
        Field::Millennium => {
            if y > 0 {
                (y + 999) / 1000
            } else {
                -((999 - (y - 1)) / 1000)
            }
        }
        Field::Dow => dow,
        Field::Isodow => {
            if dow == 0 {
                7
            } else {
                dow
            }
        }
        Field::Doy => day - days_from_ymd(y, 1, 1) + 1,
        Field::Week => iso_week(day).1,
        Field::Isoyear => iso_week(day).0,
        _ => return None,
    }))
}

/// The ISO 8601 year and week of a day.
fn iso_week(day: i64) -> (i64, i64) {
    let isodow = (day + 5).rem_euclid(7) + 1; // Monday 1 … Sunday 7
    let thursday = day - isodow + 4;
    let year = ymd_from_days(thursday).year;
    let week = (thursday - days_from_ymd(year, 1, 1)) / 7 + 1;
    (year, week)
}

fn interval_field(f: Field, i: &Interval) -> Option<Numeric> {
    let years = i64::from(i.months / 12);
    Some(match f {
        Field::Microseconds | Field::Milliseconds | Field::Second | Field::Minute | Field::Hour => {
            let magnitude = clock_field(f, i.micros.abs());
            if i.micros < 0 {
                magnitude.neg()
            } else {
                magnitude
            }
        }
        Field::Day => Numeric::from_i64(i64::from(i.days)),
        Field::Month => Numeric::from_i64(i64::from(i.months % 12)),
        Field::Quarter => Numeric::from_i64(i64::from(i.months % 12) / 3 + 1),
        Field::Year => Numeric::from_i64(years),
        Field::Decade => Numeric::from_i64(years / 10),
        Field::Century => Numeric::from_i64(years / 100),
        Field::Millennium => Numeric::from_i64(years / 1000),
        Field::Epoch => {
            // A year is 365.25 days here, a month 30 (PostgreSQL 15's interval epoch).
            let day_seconds = i128::from(years) * 31_557_600
                + i128::from(i.months % 12) * 30 * 86_400
                + i128::from(i.days) * 86_400;
            let micros = day_seconds * 1_000_000 + i128::from(i.micros);
            let sign = if micros < 0 { "-" } else { "" };
            let abs = micros.unsigned_abs();
            Numeric::parse(&format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000))
                .expect("a formatted number")
        }
        _ => return None,
    })
}

/// `date_trunc(word, value)` for a timestamp, timestamptz or interval.
pub fn date_trunc(word: &str, value: &Value) -> Result<Value> {
    let ty = value.data_type().unwrap_or(DataType::Timestamp);
    let f = field(word).ok_or_else(|| not_recognized(word, ty))?;
    match value {
        Value::Timestamp(ts) => truncate_timestamp(f, *ts, word, ty).map(Value::Timestamp),
        Value::TimestampTz(ts) => truncate_timestamp(f, *ts, word, ty).map(Value::TimestampTz),
        Value::Interval(i) => truncate_interval(f, i, word).map(Value::Interval),
        _ => Err(not_supported(word, ty)),
    }
}

fn truncate_timestamp(f: Field, ts: i64, word: &str, ty: DataType) -> Result<i64> {
    if is_infinite_timestamp(ts) {
        return Ok(ts);
    }
    let (day, time) = split_timestamp(ts);
    let ymd = ymd_from_days(day);
    let whole = |unit: i64| Ok(day * USECS_PER_DAY + time - time % unit);
    let start_of_year = |year: i64| timestamp_of(days_from_ymd(year, 1, 1), 0);
    match f {
        Field::Microseconds => Ok(ts),
        Field::Milliseconds => whole(1000),
        Field::Second => whole(USECS_PER_SEC),
        Field::Minute => whole(USECS_PER_MINUTE),
        Field::Hour => whole(USECS_PER_HOUR),
        Field::Day => timestamp_of(day, 0),
        Field::Week => timestamp_of(day - (day + 5).rem_euclid(7), 0),
        Field::Month => timestamp_of(days_from_ymd(ymd.year, ymd.month, 1), 0),
        Field::Quarter => {
            let month = (ymd.month - 1) / 3 * 3 + 1;
            timestamp_of(days_from_ymd(ymd.year, month, 1), 0)
        }
        Field::Year => start_of_year(ymd.year),
        Field::Decade => start_of_year(ymd.year.div_euclid(10) * 10),
        Field::Century => start_of_year((ymd.year - 1).div_euclid(100) * 100 + 1),
        Field::Millennium => start_of_year((ymd.year - 1).div_euclid(1000) * 1000 + 1),
        _ => Err(not_supported(word, ty)),
    }
}

fn truncate_interval(f: Field, i: &Interval, word: &str) -> Result<Interval> {
    let keep_time = |unit: i64| Interval {
        micros: i.micros - i.micros % unit,
        ..*i
    };
    let months = |unit: i32| Interval {
        months: i.months - i.months % unit,
        ..Interval::ZERO
    };
    Ok(match f {
        Field::Microseconds => *i,
        Field::Milliseconds => keep_time(1000),
        Field::Second => keep_time(USECS_PER_SEC),
        Field::Minute => keep_time(USECS_PER_MINUTE),
        Field::Hour => keep_time(USECS_PER_HOUR),
        Field::Day => Interval { micros: 0, ..*i },
        Field::Month => months(1),
        Field::Quarter => months(3),
        Field::Year => months(12),
        Field::Decade => months(120),
        Field::Century => months(1200),
        Field::Millennium => months(12_000),
        _ => {
            return Err(Error::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("unit \"{word}\" not supported for type interval"),
            ))
        }
    })
}

/// `age(a, b)`: `a - b` in calendar years, months and days, then time.
pub fn age(a: i64, b: i64) -> Result<Interval> {
    if is_infinite_timestamp(a) || is_infinite_timestamp(b) {
        return Err(Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            "cannot subtract infinite timestamps",
        ));
    }
    let fields = |ts: i64| {
        let (day, time) = split_timestamp(ts);
        (ymd_from_days(day), time)
    };
    let ((ya, ta), (yb, tb)) = (fields(a), fields(b));
    let mut time = ta - tb;
    let mut days = i64::from(ya.day) - i64::from(yb.day);
    let mut months = i64::from(ya.month) - i64::from(yb.month);
    let mut years = ya.year - yb.year;
    let backwards = a < b;
    if backwards {
        (time, days, months, years) = (-time, -days, -months, -years);
    }
    if time < 0 {
        time += USECS_PER_DAY;
        days -= 1;
    }
    // Borrow days from the month before the later date's.
    let (borrow_year, borrow_month) = if backwards {
        (ya.year, ya.month)
    } else {
        (yb.year, yb.month)
    };
    while days < 0 {
        days += i64::from(days_in_month(borrow_year, borrow_month));
        months -= 1;
    }
    if months < 0 {
        months += 12;
        years -= 1;
    }
    if backwards {
        (time, days, months, years) = (-time, -days, -months, -years);
    }
    let overflow = || Error::new(SqlState::DATETIME_FIELD_OVERFLOW, "interval out of range");
    Ok(Interval {
        months: i32::try_from(years * 12 + months).map_err(|_| overflow())?,
        days: i32::try_from(days).map_err(|_| overflow())?,
        micros: time,
    })
}

/// The value of a date/time function of [`crate::func`] for `args` (of its parameter types,
/// none NULL).
pub fn call(function: Function, args: &[Value]) -> Result<Value> {
    let text = |i: usize| match &args[i] {
        Value::Text(s) => s.as_str(),
        _ => "",
    };
    let int = |i: usize| match args[i] {
        Value::Int4(n) => i64::from(n),
        _ => 0,
    };
    let float = |i: usize| match args[i] {
        Value::Float8(x) => x,
        _ => f64::NAN,
    };
    let interval = |i: usize| match args[i] {
        Value::Interval(iv) => iv,
        _ => Interval::ZERO,
    };
    let today = || split_timestamp(clock::transaction_timestamp()).0;
    Ok(match function {
        Function::Now => Value::TimestampTz(clock::transaction_timestamp()),
        Function::StatementTimestamp => Value::TimestampTz(clock::statement_timestamp()),
        Function::ClockTimestamp => Value::TimestampTz(clock::clock_timestamp()),
        Function::CurrentDate => Value::Date(today() as i32),
        Function::LocalTimestamp => Value::Timestamp(clock::transaction_timestamp()),
        Function::LocalTime => Value::Time(split_timestamp(clock::transaction_timestamp()).1),
        Function::Extract => match extract(text(0), &args[1])? {
            Some(n) => Value::Numeric(n),
            None => Value::Null,
        },
        Function::DatePart => {
            let value = match &args[1] {
                // date_part takes a date as the timestamp of its midnight.
                Value::Date(_) => args[1].cast(DataType::Timestamp)?,
                other => other.clone(),
            };
            match extract(text(0), &value)? {
                Some(n) => Value::Float8(n.to_f64()),
                None => Value::Null,
            }
        }
        Function::DateTrunc => date_trunc(text(0), &args[1])?,
        Function::Age => {
            let (a, b) = match args {
                [Value::Timestamp(b) | Value::TimestampTz(b)] => (today() * USECS_PER_DAY, *b),
                [Value::Timestamp(a), Value::Timestamp(b)]
                | [Value::TimestampTz(a), Value::TimestampTz(b)] => (*a, *b),
                _ => unreachable!("age takes timestamps: {args:?}"),
            };
            Value::Interval(age(a, b)?)
        }
        Function::ToTimestamp => Value::TimestampTz(to_timestamp(float(0))?),
        Function::MakeDate => Value::Date(make_date(int(0), int(1), int(2))?),
        Function::MakeTime => Value::Time(make_time(int(0), int(1), float(2))?),
        Function::MakeTimestamp => {
            let day = i64::from(make_date(int(0), int(1), int(2))?);
            Value::Timestamp(timestamp_of(day, make_time(int(3), int(4), float(5))?)?)
        }
        Function::JustifyDays => Value::Interval(interval(0).justify_days()),
        Function::JustifyHours => Value::Interval(interval(0).justify_hours()),
        Function::JustifyInterval => Value::Interval(interval(0).justify_hours().justify_days()),
        Function::AtTimeZone => {
            if !matches!(
                text(0).to_ascii_lowercase().as_str(),
                "utc" | "gmt" | "z" | "zulu" | "etc/utc" | "etc/gmt" | "universal"
            ) {
                return Err(Error::new(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("time zone \"{}\" not recognized", text(0)),
                ));
            }
            match args[1] {
                Value::Timestamp(t) => Value::TimestampTz(t),
                Value::TimestampTz(t) => Value::Timestamp(t),
                _ => Value::Null,
            }
        }
        other => unreachable!("{other:?} is not a date/time function"),
    })
}

/// `to_timestamp(seconds)`: seconds since 1970-01-01 UTC.
fn to_timestamp(seconds: f64) -> Result<i64> {
    if seconds.is_nan() {
        return Err(Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            "timestamp cannot be NaN",
        ));
    }
    if seconds.is_infinite() {
        return Ok(if seconds > 0.0 {
            crate::datetime::TIMESTAMP_INFINITY
        } else {
            crate::datetime::TIMESTAMP_NEG_INFINITY
        });
    }
    let micros = (seconds * 1e6).round();
    if micros.abs() > 9.2e18 {
        return Err(Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            format!("timestamp out of range: \"{seconds}\""),
        ));
    }
    crate::datetime::check_timestamp(micros as i64 + UNIX_EPOCH_DAYS * USECS_PER_DAY)
}

/// `make_date(year, month, day)`: a negative year is BC.
fn make_date(year: i64, month: i64, day: i64) -> Result<i32> {
    let out_of_range = || {
        Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            format!("date field value out of range: {year}-{month:02}-{day:02}"),
        )
    };
    let astronomical = if year < 0 { year + 1 } else { year };
    if year == 0
        || !(1..=12).contains(&month)
        || day < 1
        || day > i64::from(days_in_month(astronomical, month as u32))
    {
        return Err(out_of_range());
    }
    crate::datetime::date_of(days_from_ymd(astronomical, month as u32, day as u32))
        .map_err(|_| out_of_range())
}

/// `make_time(hour, minute, seconds)`.
fn make_time(hour: i64, minute: i64, seconds: f64) -> Result<i64> {
    let micros = (seconds * 1e6).round();
    let total = (hour * 60 + minute) * USECS_PER_MINUTE + micros as i64;
    if !(0..=23).contains(&hour)
        || !(0..=59).contains(&minute)
        || !(0.0..=60.0).contains(&seconds)
        || total > USECS_PER_DAY
    {
        return Err(Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            format!("time field value out of range: {hour}:{minute:02}:{seconds:02}"),
        ));
    }
    Ok(total)
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn v(ty: DataType, text: &str) -> Value {
        Value::parse(ty, text).expect(text)
    }

    fn ex(word: &str, value: &Value) -> String {
        extract(word, value).expect(word).expect("finite").to_text()
    }

    #[test]
    fn extract_follows_postgresql() {
        use DataType::*;
        let ts = v(Timestamp, "2020-01-01 10:11:12.5");
        assert_eq!(ex("second", &ts), "12.500000");
        assert_eq!(ex("milliseconds", &ts), "12500.000");
        assert_eq!(ex("epoch", &ts), "1577873472.500000");
        assert_eq!(ex("dow", &ts), "3");
        assert_eq!(ex("doy", &v(Date, "2020-12-31")), "366");
        assert_eq!(ex("week", &v(Date, "2021-01-03")), "53");
        assert_eq!(ex("isoyear", &v(Date, "2021-01-03")), "2020");
        assert_eq!(ex("century", &v(Date, "2000-12-31")), "20");
        assert_eq!(ex("century", &v(Date, "2001-01-01")), "21");
        assert_eq!(ex("year", &v(Date, "0044-03-15 BC")), "-44");
        assert_eq!(ex("epoch", &v(Date, "2020-01-01")), "1577836800");
        assert_eq!(
            ex("epoch", &v(Interval, "1 year 2 mons 3 days 04:05:06.5")),
            "37015506.500000"
        );
        assert_eq!(ex("hour", &v(Interval, "-36 hours")), "-36");
        assert_eq!(
            extract("hour", &v(Date, "2020-01-01")).unwrap_err().message,
            "unit \"hour\" not supported for type date"
        );
        assert_eq!(extract("foo", &ts).unwrap_err().state.0, "22023");
        assert_eq!(extract("year", &v(Timestamp, "infinity")).unwrap(), None);
    }

    #[test]
    fn date_trunc_and_age_follow_postgresql() {
        use DataType::*;
        let trunc = |w: &str, t: &str| date_trunc(w, &v(Timestamp, t)).unwrap().to_text().unwrap();
        assert_eq!(trunc("month", "2020-02-15 10:00"), "2020-02-01 00:00:00");
        assert_eq!(trunc("week", "2020-01-05 10:00"), "2019-12-30 00:00:00");
        assert_eq!(trunc("quarter", "2020-08-15"), "2020-07-01 00:00:00");
        assert_eq!(trunc("century", "2020-08-15"), "2001-01-01 00:00:00");
        assert_eq!(
            trunc("hour", "2020-08-15 10:59:59.9"),
            "2020-08-15 10:00:00"
        );
        let ts = |t: &str| {
            Value::parse(Timestamp, t).map(|v| match v {
                Value::Timestamp(t) => t,
                _ => unreachable!(),
            })
        };
        let age_of = |a: &str, b: &str| age(ts(a).unwrap(), ts(b).unwrap()).unwrap().to_text();
        assert_eq!(age_of("2020-03-01", "2019-12-31 10:00"), "2 mons 14:00:00");
        assert_eq!(
            age_of("2001-04-10", "1957-06-13"),
            "43 years 9 mons 27 days"
        );
        assert_eq!(
            age_of("1957-06-13", "2001-04-10"),
            "-43 years -9 mons -27 days"
        );
    }
}
