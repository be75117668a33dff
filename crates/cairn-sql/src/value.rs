//! SQL values and their types, with PostgreSQL 15's semantics.
//!
//! A [`Value`] is one datum or NULL; its [`DataType`] is what PostgreSQL calls it. What a type
//! does is PostgreSQL's, function for function:
//!
//! * **input** ([`Value::parse`]: `int4in`, `float8in`, `boolin`…): the text a client sends or
//!   a literal casts from. Surrounding whitespace is allowed; anything else that is not the
//!   type's syntax is `22P02 invalid input syntax for type …`, a number past the type's range
//!   `22003 value "…" is out of range for type …`;
//! * **output** ([`Value::to_text`]): `t`/`f`, integers in decimal, doubles in the shortest
//!   text that reads back to the same bits (as PostgreSQL 12+ with `extra_float_digits = 1`,
//!   its default), positional for decimal exponents -4 to 14 and `1e+15` style beyond;
//! * **arithmetic** ([`Value::arith`]): integers never wrap (`22003 integer out of range`),
//!   integer division truncates toward zero, any division by zero is `22012`; doubles that
//!   overflow or underflow from finite operands are `22003 value out of range: overflow` /
//!   `underflow`; the operands of mixed types meet at the wider one (smallint < integer <
//!   bigint < double precision), as PostgreSQL's cross-type operators do;
//! * **casts** ([`Value::cast`]): between integer widths with range checks, double to integer
//!   rounding half to even (`rint`), bool to and from integer, and anything to and from text
//!   through output and input.
//!
//! NULL is [`Value::Null`] of any type: arithmetic on it gives NULL, comparison gives no
//! answer (`None`, SQL's unknown). The other families of types keep their formats and
//! operators in their own modules ([`crate::numeric`], [`crate::datetime`],
//! [`crate::interval`], [`crate::datetime_ops`], [`crate::bytea`], [`crate::json`]) and
//! meet here: which types convert implicitly ([`DataType::casts_implicitly_to`]), which
//! meet at a common type ([`DataType::common_with`]: the wider number, the later of date <
//! timestamp < timestamptz, text for text and character) and which may be stored in a
//! column of which ([`DataType::assigns_to`]). `character(n)` is a distinct type whose
//! trailing spaces do not count in comparisons, as in PostgreSQL.
//!
//! Object identifiers are `oid` and the `reg…` types (`regclass`, `regtype`,
//! `regnamespace`), which compare as their oids with each other and with integers; a
//! `reg…` value carries the name it prints as, looked up in the catalog when it was made
//! ([`crate::system`]). Arrays ([`crate::array`]) are of any other type.

use std::cmp::Ordering;

use crate::error::{Error, Result, SqlState};
use crate::interval::Interval;
use crate::numeric::Numeric;
use crate::{bytea, datetime, datetime_ops, json};

/// A SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Bool,
    Int2,
    Int4,
    Int8,
    Numeric,
    Float4,
    Float8,
    Text,
    /// `character(n)`: text padded with spaces to its column's length, trailing spaces
    /// insignificant.
    Bpchar,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    /// `oid`: an object identifier, an unsigned 32-bit number.
    Oid,
    /// `regclass`: the oid of a relation, printed as its name.
    RegClass,
    /// `regtype`: the oid of a type, printed as its name.
    RegType,
    /// `regnamespace`: the oid of a schema, printed as its name.
    RegNamespace,
    /// A one-dimensional array of the element type (see [`crate::array`]).
    Array(&'static DataType),
}

impl DataType {
    /// Every type a column may have.
    pub const ALL: [DataType; 18] = {
        let mut all = [DataType::Bool; 18];
        let mut i = 0;
        while i < all.len() {
            all[i] = DataType::BASE[i];
            i += 1;
        }
        all
    };

    /// Every type but the arrays: those of [`DataType::ALL`], then the object identifiers.
    pub const BASE: [DataType; 22] = [
        DataType::Bool,
        DataType::Int2,
        DataType::Int4,
        DataType::Int8,
        DataType::Numeric,
        DataType::Float4,
        DataType::Float8,
        DataType::Text,
        DataType::Bpchar,
        DataType::Bytea,
        DataType::Date,
        DataType::Time,
        DataType::Timestamp,
        DataType::TimestampTz,
        DataType::Interval,
        DataType::Uuid,
        DataType::Json,
        DataType::Jsonb,
        DataType::Oid,
        DataType::RegClass,
        DataType::RegType,
        DataType::RegNamespace,
    ];

    /// The type's name as PostgreSQL writes it in messages (`format_type`).
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "boolean",
            DataType::Int2 => "smallint",
            DataType::Int4 => "integer",
            DataType::Int8 => "bigint",
            DataType::Numeric => "numeric",
            DataType::Float4 => "real",
            DataType::Float8 => "double precision",
            DataType::Text => "text",
            DataType::Bpchar => "character",
            DataType::Bytea => "bytea",
            DataType::Date => "date",
            DataType::Time => "time without time zone",
            DataType::Timestamp => "timestamp without time zone",
            DataType::TimestampTz => "timestamp with time zone",
            DataType::Interval => "interval",
            DataType::Uuid => "uuid",
            DataType::Json => "json",
            DataType::Jsonb => "jsonb",
            DataType::Oid => "oid",
            DataType::RegClass => "regclass",
            DataType::RegType => "regtype",
            DataType::RegNamespace => "regnamespace",
            DataType::Array(element) => crate::array::type_name(element),
        }
    }

    /// PostgreSQL's internal name of the type (`typname`): `int4`, `float8`…
    pub fn internal_name(self) -> &'static str {
        match self {
            DataType::Bool => "bool",
            DataType::Int2 => "int2",
            DataType::Int4 => "int4",
            DataType::Int8 => "int8",
            DataType::Numeric => "numeric",
            DataType::Float4 => "float4",
            DataType::Float8 => "float8",
            DataType::Text => "text",
            DataType::Bpchar => "bpchar",
            DataType::Bytea => "bytea",
            DataType::Date => "date",
            DataType::Time => "time",
            DataType::Timestamp => "timestamp",
            DataType::TimestampTz => "timestamptz",
            DataType::Interval => "interval",
            DataType::Uuid => "uuid",
            DataType::Json => "json",
            DataType::Jsonb => "jsonb",
            DataType::Oid => "oid",
            DataType::RegClass => "regclass",
            DataType::RegType => "regtype",
            DataType::RegNamespace => "regnamespace",
            DataType::Array(element) => crate::array::internal_name(element),
        }
    }

    /// Whether the type is an object identifier: `oid` or one of the `reg…` types, which
    /// compare as their oids.
    pub fn is_oid(self) -> bool {
        matches!(
            self,
            DataType::Oid | DataType::RegClass | DataType::RegType | DataType::RegNamespace
        )
    }

    /// The type whose [`DataType::internal_name`] is `name`.
    pub fn from_internal_name(name: &str) -> Option<DataType> {
        DataType::BASE
            .into_iter()
            .find(|t| t.internal_name() == name)
            .or_else(|| crate::array::from_internal_name(name))
    }

    /// The rank of a numeric type in PostgreSQL's implicit promotions; `None` if not numeric.
    fn numeric_rank(self) -> Option<u8> {
        match self {
            DataType::Int2 => Some(0),
            DataType::Int4 => Some(1),
            DataType::Int8 => Some(2),
            DataType::Numeric => Some(3),
            DataType::Float4 => Some(4),
            DataType::Float8 => Some(5),
            _ => None,
        }
    }

    pub fn is_numeric(self) -> bool {
        self.numeric_rank().is_some()
    }

    /// The wider of two numeric types (where mixed operands meet), `None` unless both are
    /// numeric.
    pub fn wider_numeric(self, other: DataType) -> Option<DataType> {
        let wider = if self.numeric_rank()? >= other.numeric_rank()? {
            self
        } else {
            other
        };
        // real meets only real as real: with any other number it is double precision.
        Some(if wider == DataType::Float4 && self != other {
            DataType::Float8
        } else {
            wider
        })
    }

    /// The rank of a date/time type among those that convert implicitly (date < timestamp <
    /// timestamptz); `None` for any other.
    fn datetime_rank(self) -> Option<u8> {
        match self {
            DataType::Date => Some(0),
            DataType::Timestamp => Some(1),
            DataType::TimestampTz => Some(2),
            _ => None,
        }
    }

    /// The type values of `self` and `other` meet at when compared or combined (`CASE`,
    /// `UNION`): the same type, the wider number, the later of date < timestamp <
    /// timestamptz, text for text and character; `None` if they do not meet.
    pub fn common_with(self, other: DataType) -> Option<DataType> {
        if self == other {
            return Some(self);
        }
        if let Some(wide) = self.wider_numeric(other) {
            return Some(wide);
        }
        if let (Some(a), Some(b)) = (self.datetime_rank(), other.datetime_rank()) {
            return Some(if a >= b { self } else { other });
        }
        match (self, other) {
            (DataType::Text, DataType::Bpchar) | (DataType::Bpchar, DataType::Text) => {
                Some(DataType::Text)
            }
            // Object identifiers meet each other and the integers as oids (bigint as bigint).
            (a, b) if a.is_oid() && b.is_oid() => Some(DataType::Oid),
            (a, DataType::Int2 | DataType::Int4) | (DataType::Int2 | DataType::Int4, a)
                if a.is_oid() =>
            {
                Some(DataType::Oid)
            }
            (a, DataType::Int8) | (DataType::Int8, a) if a.is_oid() => Some(DataType::Int8),
            _ => None,
        }
    }

    /// Whether a value of `self` may be stored in a column of `to` (PostgreSQL's implicit
    /// and assignment casts): numbers into numbers, date/time types into each other, the
    /// string types into each other, anything into text.
    pub fn assigns_to(self, to: DataType) -> bool {
        let datetime = |t: DataType| t.datetime_rank().is_some();
        let string = |t: DataType| matches!(t, DataType::Text | DataType::Bpchar);
        self == to
            || (self.is_numeric() && to.is_numeric())
            || (datetime(self) && datetime(to))
            || (string(self) && string(to))
            || to == DataType::Text
    }

    /// Whether a value of `self` converts to `to` implicitly (where a function or operator
    /// takes `to`): the same type, a number to a wider one, date to timestamp to
    /// timestamptz, character to text.
    pub fn casts_implicitly_to(self, to: DataType) -> bool {
        self == to
            || (self.is_numeric() && to.is_numeric() && self.wider_numeric(to) == Some(to))
            || (self.is_oid() && to == DataType::Oid)
            || (matches!(self, DataType::Int2 | DataType::Int4) && to.is_oid())
            || matches!((self.datetime_rank(), to.datetime_rank()), (Some(a), Some(b)) if a < b)
            || (self == DataType::Bpchar && to == DataType::Text)
    }

    /// Whether the type is one of the floating-point ones.
    pub fn is_float(self) -> bool {
        matches!(self, DataType::Float4 | DataType::Float8)
    }
}

/// One SQL value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Numeric(Numeric),
    Float4(f32),
    Float8(f64),
    Text(String),
    /// A `character(n)` value, padded as stored.
    Bpchar(String),
    Bytea(Vec<u8>),
    /// Days since 2000-01-01 (see [`crate::datetime`]).
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 2000-01-01 00:00.
    Timestamp(i64),
    /// Microseconds since 2000-01-01 00:00 UTC.
    TimestampTz(i64),
    Interval(Interval),
    Uuid([u8; 16]),
    /// A `json` document as its input text.
    Json(String),
    /// A `jsonb` document as its canonical text (see [`crate::json`]).
    Jsonb(String),
    /// An `oid`.
    Oid(u32),
    /// A `regclass`, `regtype` or `regnamespace`: an oid and the name it prints as.
    Reg(Box<Reg>),
    /// An array: its element type and elements (see [`crate::array`]).
    Array(Box<Array>),
}

/// The value of a `reg…` type: an object's oid and its name, as looked up in the catalog
/// when the value was made (see [`crate::system`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Reg {
    /// `RegClass`, `RegType` or `RegNamespace`.
    pub ty: DataType,
    pub oid: u32,
    /// The object's name as the type prints it (the oid in decimal for an unknown object).
    pub name: String,
}

/// An array value: one dimension, lower bound 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub element: DataType,
    pub items: Vec<Value>,
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl Value {
    /// The value's type; `None` for NULL, which has whatever type its context gives it.
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Bool,
            Value::Int2(_) => DataType::Int2,
            Value::Int4(_) => DataType::Int4,
            Value::Int8(_) => DataType::Int8,
            Value::Numeric(_) => DataType::Numeric,
            Value::Float4(_) => DataType::Float4,
            Value::Float8(_) => DataType::Float8,
            Value::Text(_) => DataType::Text,
            Value::Bpchar(_) => DataType::Bpchar,
            Value::Bytea(_) => DataType::Bytea,
            Value::Date(_) => DataType::Date,
            Value::Time(_) => DataType::Time,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::TimestampTz(_) => DataType::TimestampTz,
            Value::Interval(_) => DataType::Interval,
            Value::Uuid(_) => DataType::Uuid,
            Value::Json(_) => DataType::Json,
            Value::Jsonb(_) => DataType::Jsonb,
            Value::Oid(_) => DataType::Oid,
            Value::Reg(reg) => reg.ty,
            Value::Array(array) => crate::array::of(array.element),
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value of type `ty` that `text` spells (the type's input function).
    pub fn parse(ty: DataType, text: &str) -> Result<Value> {
        match ty {
            DataType::Bool => parse_bool(text.trim())
                .map(Value::Bool)
                .ok_or_else(|| Error::invalid_input(ty.name(), text)),
            DataType::Int2 => parse_int(text, ty, i64::from(i16::MIN), i64::from(i16::MAX))
                .map(|n| Value::Int2(n as i16)),
            DataType::Int4 => parse_int(text, ty, i64::from(i32::MIN), i64::from(i32::MAX))
                .map(|n| Value::Int4(n as i32)),
            DataType::Int8 => parse_int(text, ty, i64::MIN, i64::MAX).map(Value::Int8),
            DataType::Numeric => Numeric::parse(text)
                .map(Value::Numeric)
                .ok_or_else(|| Error::invalid_input(ty.name(), text)),
            DataType::Float4 => parse_float4(text).map(Value::Float4),
            DataType::Float8 => parse_float8(text).map(Value::Float8),
            DataType::Text => Ok(Value::Text(text.to_string())),
            DataType::Bpchar => Ok(Value::Bpchar(text.to_string())),
            DataType::Bytea => bytea::parse_bytea(text).map(Value::Bytea),
            DataType::Date => datetime::parse_date(text).map(Value::Date),
            DataType::Time => datetime::parse_time(text).map(Value::Time),
            DataType::Timestamp => datetime::parse_timestamp(text, false).map(Value::Timestamp),
            DataType::TimestampTz => datetime::parse_timestamp(text, true).map(Value::TimestampTz),
            DataType::Interval => Interval::parse(text).map(Value::Interval),
            DataType::Uuid => bytea::parse_uuid(text.trim()).map(Value::Uuid),
            DataType::Json => json::parse(text, false).map(|_| Value::Json(text.to_string())),
            DataType::Jsonb => json::canonical(text).map(Value::Jsonb),
            DataType::Oid => parse_int(text, ty, i64::from(i32::MIN), i64::from(u32::MAX))
                .map(|n| Value::Oid(n as u32)),
            // Without the catalog only a number is understood; the binder resolves names
            // (see `crate::system::reg_cast`).
            DataType::RegClass | DataType::RegType | DataType::RegNamespace => {
                let oid = parse_int(text, DataType::Oid, 0, i64::from(u32::MAX))?;
                Ok(Value::Reg(Box::new(Reg {
                    ty,
                    oid: oid as u32,
                    name: oid.to_string(),
                })))
            }
            DataType::Array(element) => crate::array::parse(element, text),
        }
    }

    /// The value as text (the type's output function); `None` for NULL.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => (if *b { "t" } else { "f" }).to_string(),
            Value::Int2(n) => n.to_string(),
            Value::Int4(n) => n.to_string(),
            Value::Int8(n) => n.to_string(),
            Value::Numeric(n) => n.to_text(),
            Value::Float4(x) => format_float4(*x),
            Value::Float8(x) => format_float8(*x),
            Value::Text(s) | Value::Bpchar(s) | Value::Json(s) | Value::Jsonb(s) => s.clone(),
            Value::Bytea(b) => bytea::format_bytea(b),
            Value::Date(d) => datetime::format_date(*d),
            Value::Time(t) => datetime::format_time(*t),
            Value::Timestamp(t) => datetime::format_timestamp(*t, false),
            Value::TimestampTz(t) => datetime::format_timestamp(*t, true),
            Value::Interval(i) => i.to_text(),
            Value::Uuid(u) => bytea::format_uuid(u),
            Value::Oid(n) => n.to_string(),
            Value::Reg(reg) => reg.name.clone(),
            Value::Array(array) => crate::array::format(array),
        })
    }

    /// `self op other` for numeric operands, NULL if either is NULL.
    pub fn arith(&self, op: ArithOp, other: &Value) -> Result<Value> {
        // The common case first: two integers of one width, no conversion to make.
        match (self, other) {
            (Value::Int4(x), Value::Int4(y)) => {
                return int_arith(
                    i64::from(*x),
                    op,
                    i64::from(*y),
                    i64::from(i32::MIN),
                    i64::from(i32::MAX),
                    "integer",
                )
                .map(|n| Value::Int4(n as i32))
            }
            (Value::Int8(x), Value::Int8(y)) => return int8_arith(*x, op, *y).map(Value::Int8),
            _ => {}
        }
        let (Some(a), Some(b)) = (self.data_type(), other.data_type()) else {
            return Ok(Value::Null);
        };
        let Some(wide) = a.wider_numeric(b) else {
            if let Some(value) = datetime_ops::arith(self, op, other)? {
                return Ok(value);
            }
            return Err(Error::new(
                SqlState::UNDEFINED_FUNCTION,
                format!(
                    "operator does not exist: {} {} {}",
                    a.name(),
                    op.symbol(),
                    b.name()
                ),
            ));
        };
        match (self.cast(wide)?, other.cast(wide)?) {
            (Value::Int2(x), Value::Int2(y)) => int_arith(
                i64::from(x),
                op,
                i64::from(y),
                i64::from(i16::MIN),
                i64::from(i16::MAX),
                "smallint",
            )
            .map(|n| Value::Int2(n as i16)),
            (Value::Int4(x), Value::Int4(y)) => int_arith(
                i64::from(x),
                op,
                i64::from(y),
                i64::from(i32::MIN),
                i64::from(i32::MAX),
                "integer",
            )
            .map(|n| Value::Int4(n as i32)),
            (Value::Int8(x), Value::Int8(y)) => int8_arith(x, op, y).map(Value::Int8),
            (Value::Float8(x), Value::Float8(y)) => float8_arith(x, op, y).map(Value::Float8),
            (Value::Float4(x), Value::Float4(y)) => float8_arith(f64::from(x), op, f64::from(y))
                .and_then(|r| {
                    let narrow = r as f32;
                    if narrow.is_infinite() && r.is_finite() {
                        return Err(Error::new(
                            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                            "value out of range: overflow",
                        ));
                    }
                    Ok(Value::Float4(narrow))
                }),
            (Value::Numeric(x), Value::Numeric(y)) => match op {
                ArithOp::Add => x.add(&y),
                ArithOp::Sub => x.sub(&y),
                ArithOp::Mul => x.mul(&y),
                ArithOp::Div => x.div(&y),
                ArithOp::Rem => x.rem(&y),
            }
            .map(Value::Numeric),
            _ => unreachable!("both operands were cast to {wide:?}"),
        }
    }

    /// Compares two values of comparable types; `None` if either is NULL (SQL's unknown).
    /// Numbers of different types compare as the wider type; NaN is above every other double
    /// and equal to itself, as in PostgreSQL.
    pub fn compare(&self, other: &Value) -> Result<Option<Ordering>> {
        // The common cases first: values of one type that compare as Rust's.
        match (self, other) {
            (Value::Int4(x), Value::Int4(y)) => return Ok(Some(x.cmp(y))),
            (Value::Int8(x), Value::Int8(y)) => return Ok(Some(x.cmp(y))),
            (Value::Text(x), Value::Text(y)) => return Ok(Some(x.cmp(y))),
            (
                Value::Int2(_) | Value::Int4(_) | Value::Int8(_),
                Value::Int2(_) | Value::Int4(_) | Value::Int8(_),
            ) => return Ok(Some(self.as_i64().cmp(&other.as_i64()))),
            _ => {}
        }
        let (Some(a), Some(b)) = (self.data_type(), other.data_type()) else {
            return Ok(None);
        };
        Ok(Some(match (self, other) {
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (Value::Text(x), Value::Text(y)) => x.cmp(y),
            (Value::Bpchar(x), Value::Bpchar(y)) => {
                x.trim_end_matches(' ').cmp(y.trim_end_matches(' '))
            }
            (Value::Bytea(x), Value::Bytea(y)) => x.cmp(y),
            (Value::Uuid(x), Value::Uuid(y)) => x.cmp(y),
            (Value::Jsonb(x), Value::Jsonb(y)) => x.cmp(y),
            (Value::Array(x), Value::Array(y)) => return crate::array::compare(x, y),
            _ if a.is_oid() || b.is_oid() => match (self.oid(), other.oid()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => {
                    return Err(Error::new(
                        SqlState::UNDEFINED_FUNCTION,
                        format!("operator does not exist: {} = {}", a.name(), b.name()),
                    ))
                }
            },
            (Value::Time(x), Value::Time(y)) => x.cmp(y),
            (Value::Interval(x), Value::Interval(y)) => x.compare(y),
            (Value::Date(x), Value::Date(y)) => x.cmp(y),
            (Value::Timestamp(x), Value::Timestamp(y))
            | (Value::TimestampTz(x), Value::TimestampTz(y)) => x.cmp(y),
            // Different types that meet at one (date and timestamp, text and character).
            _ if let Some(common) = (a != b && !a.is_numeric())
                .then(|| a.common_with(b))
                .flatten() =>
            {
                return self.cast(common)?.compare(&other.cast(common)?);
            }
            _ => match a.wider_numeric(b) {
                Some(wide) => match (self.cast(wide)?, other.cast(wide)?) {
                    (Value::Float8(x), Value::Float8(y)) => compare_floats(x, y),
                    (Value::Float4(x), Value::Float4(y)) => {
                        compare_floats(f64::from(x), f64::from(y))
                    }
                    (Value::Numeric(x), Value::Numeric(y)) => x.compare(&y),
                    (x, y) => x.as_i64().cmp(&y.as_i64()),
                },
                _ => {
                    return Err(Error::new(
                        SqlState::UNDEFINED_FUNCTION,
                        format!("operator does not exist: {} = {}", a.name(), b.name()),
                    ))
                }
            },
        }))
    }

    /// The value as type `ty` (an explicit cast).
    pub fn cast(&self, ty: DataType) -> Result<Value> {
        if self.data_type() == Some(ty) || self.is_null() {
            return Ok(self.clone());
        }
        match (self, ty) {
            (Value::Text(s), _) => Value::parse(ty, s),
            // character to text drops the padding; text to character keeps it as is.
            (Value::Bpchar(s), DataType::Text) => {
                Ok(Value::Text(s.trim_end_matches(' ').to_string()))
            }
            (Value::Bpchar(s), _) => Value::parse(ty, s.trim_end_matches(' ')),
            (Value::Json(s), DataType::Jsonb) => Value::parse(ty, s),
            (Value::Jsonb(s), DataType::Json) => Ok(Value::Json(s.clone())),
            (
                Value::Date(_)
                | Value::Time(_)
                | Value::Timestamp(_)
                | Value::TimestampTz(_)
                | Value::Interval(_),
                DataType::Date
                | DataType::Time
                | DataType::Timestamp
                | DataType::TimestampTz
                | DataType::Interval,
            ) => datetime_ops::cast(self, ty),
            // bool's cast to text is 'true'/'false' (its output is 't'/'f').
            (Value::Bool(b), DataType::Text) => Ok(Value::Text(b.to_string())),
            (Value::Array(array), DataType::Array(element)) => crate::array::cast(array, *element),
            (Value::Oid(_) | Value::Reg(_), DataType::Int8) => {
                Ok(Value::Int8(self.oid().unwrap_or(0)))
            }
            (Value::Oid(_) | Value::Reg(_), DataType::Int4) => {
                Ok(Value::Int4(self.oid().unwrap_or(0) as u32 as i32))
            }
            (Value::Oid(_) | Value::Reg(_), DataType::Oid) => {
                Ok(Value::Oid(self.oid().unwrap_or(0) as u32))
            }
            (Value::Int2(_) | Value::Int4(_) | Value::Int8(_), DataType::Oid) => {
                let n = self.as_i64();
                if !(i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&n) {
                    return Err(Error::out_of_range("OID"));
                }
                Ok(Value::Oid(n as u32))
            }
            (_, DataType::Text) => Ok(Value::Text(self.to_text().unwrap_or_default())),
            (_, DataType::Bpchar) => Ok(Value::Bpchar(self.to_text().unwrap_or_default())),
            (Value::Bool(b), DataType::Int4) => Ok(Value::Int4(i32::from(*b))),
            (Value::Int4(n), DataType::Bool) => Ok(Value::Bool(*n != 0)),
            (Value::Float8(x), DataType::Int2 | DataType::Int4 | DataType::Int8) => {
                float_to_int(*x, ty)
            }
            (Value::Float4(x), DataType::Int2 | DataType::Int4 | DataType::Int8) => {
                float_to_int(f64::from(*x), ty)
            }
            (Value::Int2(_) | Value::Int4(_) | Value::Int8(_), DataType::Float8) => {
                Ok(Value::Float8(self.as_i64() as f64))
            }
            (Value::Int2(_) | Value::Int4(_) | Value::Int8(_), DataType::Float4) => {
                Ok(Value::Float4(self.as_i64() as f32))
            }
            (Value::Int2(_) | Value::Int4(_) | Value::Int8(_), DataType::Numeric) => {
                Ok(Value::Numeric(Numeric::from_i64(self.as_i64())))
            }
            (Value::Float4(x), DataType::Float8) => Ok(Value::Float8(float4_to_float8(*x))),
            (Value::Float8(x), DataType::Float4) => {
                let narrow = *x as f32;
                if narrow.is_infinite() && x.is_finite() {
                    return Err(Error::new(
                        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                        "value out of range: overflow",
                    ));
                }
                Ok(Value::Float4(narrow))
            }
            (Value::Float4(x), DataType::Numeric) => {
                Numeric::from_f64(float4_to_float8(*x)).map(Value::Numeric)
            }
            (Value::Float8(x), DataType::Numeric) => Numeric::from_f64(*x).map(Value::Numeric),
            (Value::Numeric(n), DataType::Float8) => Ok(Value::Float8(n.to_f64())),
            (Value::Numeric(n), DataType::Float4) => Ok(Value::Float4(n.to_f64() as f32)),
            (Value::Numeric(n), DataType::Int2 | DataType::Int4 | DataType::Int8) => {
                if n.is_nan() {
                    return Err(Error::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("cannot convert NaN to {}", ty.name()),
                    ));
                }
                let word = match ty {
                    DataType::Int2 => "smallint",
                    DataType::Int4 => "integer",
                    _ => "bigint",
                };
                let n = n.round_to_i64().ok_or_else(|| Error::out_of_range(word))?;
                int_to_int(n, ty).map_err(|_| Error::out_of_range(word))
            }
            (Value::Int2(_) | Value::Int4(_) | Value::Int8(_), _) => int_to_int(self.as_i64(), ty),
            _ => Err(Error::new(
                SqlState::CANNOT_COERCE,
                format!(
                    "cannot cast type {} to {}",
                    self.data_type().map_or("unknown", DataType::name),
                    ty.name()
                ),
            )),
        }
    }

    /// The oid of an `oid` or `reg…` value, or of an integer; `None` for anything else.
    pub fn oid(&self) -> Option<i64> {
        match self {
            Value::Oid(n) => Some(i64::from(*n)),
            Value::Reg(reg) => Some(i64::from(reg.oid)),
            Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => Some(self.as_i64()),
            _ => None,
        }
    }

    /// An integer value as i64 (0 for anything else; callers check the type first).
    fn as_i64(&self) -> i64 {
        match self {
            Value::Int2(n) => i64::from(*n),
            Value::Int4(n) => i64::from(*n),
            Value::Int8(n) => *n,
            _ => 0,
        }
    }
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Rem => "%",
        }
    }
}

/// PostgreSQL's `parse_bool`: any prefix of true/false/yes/no (at least "of" and "on" for
/// off/on), or 1/0, case-insensitively.
fn parse_bool(text: &str) -> Option<bool> {
    let lower = text.to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| lower.len() >= min && word.starts_with(&lower);
    if prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || lower == "1" {
        Some(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || lower == "0" {
        Some(false)
    } else {
        None
    }
}

/// An integer in `min..=max`: optional sign and decimal digits, surrounded by optional
/// whitespace (PostgreSQL 15's `pg_strtoint`).
fn parse_int(text: &str, ty: DataType, min: i64, max: i64) -> Result<i64> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(ty.name(), text));
    }
    let out_of_range = || {
        Error::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{text}\" is out of range for type {}", ty.name()),
        )
    };
    let n: i64 = trimmed.parse().map_err(|_| out_of_range())?;
    if n < min || n > max {
        return Err(out_of_range());
    }
    Ok(n)
}

/// A double: a decimal number, `Infinity`/`inf` (signed) or `NaN`, surrounded by optional
/// whitespace; a finite number too large or too small (but not zero) for a double is out of
/// range, as in `float8in`.
fn parse_float8(text: &str) -> Result<f64> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let valid = !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let x: f64 = match trimmed.parse() {
        Ok(x) if valid => x,
        _ => return Err(Error::invalid_input(DataType::Float8.name(), text)),
    };
    let word = trimmed.trim_start_matches(['+', '-']).to_ascii_lowercase();
    let named = matches!(word.as_str(), "inf" | "infinity" | "nan");
    let nonzero_digits = trimmed
        .split(['e', 'E'])
        .next()
        .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)));
    if (x.is_infinite() && !named) || (x == 0.0 && nonzero_digits) {
        return Err(Error::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{text}\" is out of range for type double precision"),
        ));
    }
    Ok(x)
}

/// NaN equal to NaN and above every other float, as PostgreSQL orders floats.
fn compare_floats(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (false, false) => x.partial_cmp(&y).expect("neither is NaN"),
        (nan_x, nan_y) => nan_x.cmp(&nan_y),
    }
}

/// A real widened to double precision as PostgreSQL does it (`float4_float8`: exactly).
fn float4_to_float8(x: f32) -> f64 {
    f64::from(x)
}

/// A real (`float4in`): as a double, then out of range if it does not fit a real.
fn parse_float4(text: &str) -> Result<f32> {
    let x = parse_float8(text)
        .map_err(|e| Error::new(e.state, e.message.replace("double precision", "real")))?;
    let narrow = x as f32;
    if (narrow.is_infinite() && x.is_finite()) || (narrow == 0.0 && x != 0.0) {
        return Err(Error::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{text}\" is out of range for type real"),
        ));
    }
    Ok(narrow)
}

/// A real as PostgreSQL prints it: the shortest digits that read back to the same real,
/// positional when the decimal exponent is in -4..6.
pub fn format_float4(x: f32) -> String {
    if x.is_nan() || x.is_infinite() || x == 0.0 {
        return format_float8(f64::from(x));
    }
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e}'s exponent is a number");
    if (-4..6).contains(&exponent) {
        return format!("{x}");
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// A double as PostgreSQL prints it: the shortest digits that read back exactly, positional
/// when the decimal exponent is in -4..15, else `d.ddde+XX`.
pub fn format_float8(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` is the shortest round-trip form: "-1.2345e17".
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e}'s exponent is a number");
    if (-4..15).contains(&exponent) {
        return format!("{x}");
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// Integer arithmetic checked against `min..=max` (the operand type's range).
fn int_arith(x: i64, op: ArithOp, y: i64, min: i64, max: i64, word: &str) -> Result<i64> {
    let n = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div if y == 0 => return Err(Error::division_by_zero()),
        ArithOp::Div => x / y,
        ArithOp::Rem if y == 0 => return Err(Error::division_by_zero()),
        ArithOp::Rem => x % y,
    };
    if n < min || n > max {
        return Err(Error::out_of_range(word));
    }
    Ok(n)
}

fn int8_arith(x: i64, op: ArithOp, y: i64) -> Result<i64> {
    let n = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div if y == 0 => return Err(Error::division_by_zero()),
        ArithOp::Div => x.checked_div(y),
        ArithOp::Rem if y == 0 => return Err(Error::division_by_zero()),
        // i64::MIN % -1 is 0 in PostgreSQL (it special-cases the trap).
        ArithOp::Rem => Some(x.checked_rem(y).unwrap_or(0)),
    };
    n.ok_or_else(|| Error::out_of_range("bigint"))
}

fn float8_arith(x: f64, op: ArithOp, y: f64) -> Result<f64> {
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div if y == 0.0 => return Err(Error::division_by_zero()),
        ArithOp::Div => x / y,
        ArithOp::Rem => {
            return Err(Error::new(
                SqlState::UNDEFINED_FUNCTION,
                "operator does not exist: double precision % double precision",
            ))
        }
    };
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(Error::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: overflow",
        ));
    }
    let underflow = match op {
        ArithOp::Mul => x != 0.0 && y != 0.0,
        ArithOp::Div => x != 0.0 && y.is_finite(),
        _ => false,
    };
    if r == 0.0 && underflow {
        return Err(Error::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: underflow",
        ));
    }
    Ok(r)
}

/// An integer as a narrower or wider integer type, range-checked.
fn int_to_int(n: i64, ty: DataType) -> Result<Value> {
    match ty {
        DataType::Int2 => i16::try_from(n)
            .map(Value::Int2)
            .map_err(|_| Error::out_of_range("smallint")),
        DataType::Int4 => i32::try_from(n)
            .map(Value::Int4)
            .map_err(|_| Error::out_of_range("integer")),
        DataType::Int8 => Ok(Value::Int8(n)),
        _ => unreachable!("int_to_int takes integer types"),
    }
}

/// A double rounded half to even (`rint`), as an integer type, range-checked.
fn float_to_int(x: f64, ty: DataType) -> Result<Value> {
    let word = match ty {
        DataType::Int2 => "smallint",
        DataType::Int4 => "integer",
        _ => "bigint",
    };
    let r = x.round_ties_even();
    // 2^63 is the first double past i64::MAX; every double below it converts exactly.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r) {
        return Err(Error::out_of_range(word));
    }
    int_to_int(r as i64, ty).map_err(|_| Error::out_of_range(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<Value>) -> (String, String) {
        let e = r.expect_err("an error");
        (e.state.code().to_string(), e.message.clone())
    }

    /// Every expected text below is what PostgreSQL 15.18 answered to the same input.
    #[test]
    fn input_follows_postgresql() {
        assert_eq!(Value::parse(DataType::Int4, " 12 "), Ok(Value::Int4(12)));
        assert_eq!(Value::parse(DataType::Int4, "+12"), Ok(Value::Int4(12)));
        assert_eq!(Value::parse(DataType::Int4, "-0"), Ok(Value::Int4(0)));
        assert_eq!(
            err(Value::parse(DataType::Int4, "abc")),
            (
                "22P02".into(),
                "invalid input syntax for type integer: \"abc\"".into()
            )
        );
        for bad in ["", "1e3", "0x1F", "1_000", "1 2"] {
            assert!(Value::parse(DataType::Int4, bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            err(Value::parse(DataType::Int4, "99999999999")),
            (
                "22003".into(),
                "value \"99999999999\" is out of range for type integer".into()
            )
        );
        assert_eq!(
            err(Value::parse(DataType::Int8, "9223372036854775808")).1,
            "value \"9223372036854775808\" is out of range for type bigint"
        );
        assert_eq!(
            Value::parse(DataType::Int8, "-9223372036854775808"),
            Ok(Value::Int8(i64::MIN))
        );
        assert_eq!(Value::parse(DataType::Int2, " -5"), Ok(Value::Int2(-5)));
        assert_eq!(
            err(Value::parse(DataType::Float8, "x")),
            (
                "22P02".into(),
                "invalid input syntax for type double precision: \"x\"".into()
            )
        );
        assert_eq!(
            err(Value::parse(DataType::Float8, "1e400")).1,
            "\"1e400\" is out of range for type double precision"
        );
        assert_eq!(
            err(Value::parse(DataType::Float8, "1e-400")).1,
            "\"1e-400\" is out of range for type double precision"
        );
        assert_eq!(
            Value::parse(DataType::Float8, "  1.5  "),
            Ok(Value::Float8(1.5))
        );
        assert_eq!(
            Value::parse(DataType::Float8, "-inf"),
            Ok(Value::Float8(f64::NEG_INFINITY))
        );
        assert!(
            matches!(Value::parse(DataType::Float8, "nan"), Ok(Value::Float8(x)) if x.is_nan())
        );
        for (text, want) in [
            ("yes", true),
            ("of", false),
            (" t ", true),
            ("on", true),
            ("OFF", false),
            ("1", true),
            ("n", false),
        ] {
            assert_eq!(
                Value::parse(DataType::Bool, text),
                Ok(Value::Bool(want)),
                "{text:?}"
            );
        }
        assert_eq!(
            err(Value::parse(DataType::Bool, "maybe")).1,
            "invalid input syntax for type boolean: \"maybe\""
        );
        assert!(Value::parse(DataType::Bool, "o").is_err());
    }

    #[test]
    fn doubles_print_as_postgresql_prints_them() {
        for (x, want) in [
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "1e+20"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123.456, "123.456"),
            (-0.0, "-0"),
            (100.0, "100"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(format_float8(x), want, "{x:e}");
        }
    }

    #[test]
    fn arithmetic_never_wraps_and_divides_like_postgresql() {
        let i4 = Value::Int4;
        assert_eq!(
            err(i4(i32::MAX).arith(ArithOp::Add, &i4(1))),
            ("22003".into(), "integer out of range".into())
        );
        assert_eq!(
            err(Value::Int2(i16::MAX).arith(ArithOp::Add, &Value::Int2(1))).1,
            "smallint out of range"
        );
        assert_eq!(
            err(Value::Int8(i64::MAX).arith(ArithOp::Add, &i4(1))).1,
            "bigint out of range"
        );
        assert_eq!(
            err(i4(1).arith(ArithOp::Div, &i4(0))),
            ("22012".into(), "division by zero".into())
        );
        assert_eq!(err(i4(5).arith(ArithOp::Rem, &i4(0))).1, "division by zero");
        assert_eq!(
            err(i4(i32::MIN).arith(ArithOp::Div, &i4(-1))).1,
            "integer out of range"
        );
        let results: Vec<Value> = [
            (7, 2, ArithOp::Div),
            (-7, 2, ArithOp::Div),
            (-7, 3, ArithOp::Rem),
            (7, -3, ArithOp::Rem),
        ]
        .into_iter()
        .map(|(a, b, op)| i4(a).arith(op, &i4(b)).expect("arith"))
        .collect();
        assert_eq!(results, vec![i4(3), i4(-3), i4(-1), i4(1)]);
        assert_eq!(
            Value::Int8(i64::MIN).arith(ArithOp::Rem, &Value::Int8(-1)),
            Ok(Value::Int8(0))
        );
        // Mixed types meet at the wider one.
        assert_eq!(
            Value::Int2(2).arith(ArithOp::Mul, &Value::Int8(3)),
            Ok(Value::Int8(6))
        );
        assert_eq!(
            i4(1).arith(ArithOp::Div, &Value::Float8(4.0)),
            Ok(Value::Float8(0.25))
        );
        assert_eq!(
            err(Value::Float8(1.0).arith(ArithOp::Div, &i4(0))).1,
            "division by zero"
        );
        assert_eq!(
            err(Value::Float8(1e300).arith(ArithOp::Mul, &Value::Float8(1e300))).1,
            "value out of range: overflow"
        );
        assert_eq!(
            err(Value::Float8(1e-300).arith(ArithOp::Mul, &Value::Float8(1e-300))).1,
            "value out of range: underflow"
        );
        assert_eq!(
            Value::Float8(f64::INFINITY).arith(ArithOp::Add, &Value::Float8(1.0)),
            Ok(Value::Float8(f64::INFINITY))
        );
        assert_eq!(i4(1).arith(ArithOp::Add, &Value::Null), Ok(Value::Null));
    }

    #[test]
    fn casts_round_half_to_even_and_check_ranges() {
        let to_i4 = |x: f64| Value::Float8(x).cast(DataType::Int4);
        assert_eq!(to_i4(2.5), Ok(Value::Int4(2)));
        assert_eq!(to_i4(3.5), Ok(Value::Int4(4)));
        assert_eq!(to_i4(-2.5), Ok(Value::Int4(-2)));
        assert_eq!(err(to_i4(1e10)).1, "integer out of range");
        assert_eq!(
            err(Value::Int4(70_000).cast(DataType::Int2)).1,
            "smallint out of range"
        );
        assert_eq!(
            err(Value::Float8(9.3e18).cast(DataType::Int8)).1,
            "bigint out of range"
        );
        assert_eq!(Value::Bool(true).cast(DataType::Int4), Ok(Value::Int4(1)));
        assert_eq!(Value::Int4(0).cast(DataType::Bool), Ok(Value::Bool(false)));
        assert_eq!(
            Value::Float8(1e20).cast(DataType::Text),
            Ok(Value::Text("1e+20".into()))
        );
        assert_eq!(
            Value::Text(" 42".into()).cast(DataType::Int8),
            Ok(Value::Int8(42))
        );
        assert_eq!(Value::Null.cast(DataType::Int4), Ok(Value::Null));
    }

    #[test]
    fn comparison_is_unknown_with_null_and_numeric_across_types() {
        assert_eq!(Value::Int4(1).compare(&Value::Null), Ok(None));
        assert_eq!(
            Value::Int2(3).compare(&Value::Float8(2.5)),
            Ok(Some(Ordering::Greater))
        );
        assert_eq!(
            Value::Float8(f64::NAN).compare(&Value::Float8(f64::INFINITY)),
            Ok(Some(Ordering::Greater))
        );
        assert_eq!(
            Value::Float8(-0.0).compare(&Value::Float8(0.0)),
            Ok(Some(Ordering::Equal))
        );
        assert_eq!(
            Value::Text("a".into()).compare(&Value::Text("b".into())),
            Ok(Some(Ordering::Less))
        );
        assert!(Value::Text("1".into()).compare(&Value::Int4(1)).is_err());
    }
}
