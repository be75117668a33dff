//! Scalar functions: which function a call names, the types it takes and gives, and its value.
//!
//! [`resolve`] picks the function for a name and the types of its arguments, as PostgreSQL's
//! function resolution would among the functions cairn has: the argument types each
//! parameter takes (an untyped literal is read as that type) and the result type. Every
//! function here is strict (NULL in, NULL out) unless it says otherwise, and its errors are
//! PostgreSQL's (`22003` for `abs` of the smallest integer, `2201F` for the square root of a
//! negative number…). `LIKE` matching is here too.

use crate::error::{Error, Result, SqlState};
use crate::numeric::Numeric;
use crate::value::{ArithOp, DataType, Value};

/// A scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Abs,
    Lower,
    Upper,
    Length,
    Substr,
    Replace,
    Btrim,
    Ltrim,
    Rtrim,
    /// `concat(…)`: the arguments' texts, NULLs skipped (not strict).
    Concat,
    Round,
    Trunc,
    Floor,
    Ceil,
    Sign,
    Sqrt,
    Power,
    Exp,
    Ln,
    Mod,
    /// `greatest(…)`, `least(…)`: of the arguments that are not NULL (not strict).
    Greatest,
    Least,
    Position,
    /// `nextval(sequence)`: reads and advances a sequence (evaluated by the executor, which
    /// has the database).
    Nextval,
    /// `setval(sequence, value)`.
    Setval,
    /// `currval(sequence)`: what `nextval` last gave it in this session.
    Currval,
    /// `lastval()`: what `nextval` last gave in this session.
    Lastval,
    /// `current_setting(name [, missing_ok])`: a setting of the session (see
    /// [`crate::settings`]).
    CurrentSetting,
    /// `set_config(name, value, is_local)`: sets a setting, answers its new value.
    SetConfig,
    /// `version()`: PostgreSQL's version string, naming cairn.
    Version,
    /// `quote_ident(name)`: the name in double quotes if it needs them.
    QuoteIdent,
    /// `quote_literal(text)`: the text as a string literal.
    QuoteLiteral,
    /// `now()`, `CURRENT_TIMESTAMP`, `transaction_timestamp()`: when the transaction began.
    Now,
    StatementTimestamp,
    ClockTimestamp,
    CurrentDate,
    LocalTimestamp,
    LocalTime,
    /// `extract(field FROM x)` (numeric), bound as a call of the field's name and `x`.
    Extract,
    /// `date_part('field', x)` (double precision).
    DatePart,
    DateTrunc,
    /// `age(a, b)`, and `age(x)` from the current date's midnight.
    Age,
    /// `to_timestamp(seconds since 1970)`.
    ToTimestamp,
    MakeDate,
    MakeTime,
    MakeTimestamp,
    JustifyDays,
    JustifyHours,
    JustifyInterval,
    /// `timezone(zone, x)`, what `x AT TIME ZONE zone` is; only UTC and its aliases.
    AtTimeZone,
    /// A cast to `char(n)`: the text cut or padded with spaces to `n` characters.
    PadToLength,
    /// A cast to `varchar(n)`: the text cut to at most `n` characters.
    CutToLength,
    /// A cast to `numeric(p, s)`: rounded to `s` places, checked against `p` digits.
    FitNumeric,
    /// `doc -> key` (or index).
    JsonGet,
    /// `doc ->> key`.
    JsonGetText,
    /// `doc #> path`.
    JsonPath,
    /// `doc #>> path`.
    JsonPathText,
    /// `a @> b`.
    JsonContains,
    /// `a <@ b`.
    JsonContained,
    /// `doc ? key`.
    JsonHasKey,
    JsonTypeof,
    JsonArrayLength,
    ToJson,
    ToJsonb,
    /// `json_build_object(key, value, …)` (not strict: NULL values are JSON nulls).
    JsonBuildObject,
    JsonbBuildObject,
    JsonBuildArray,
    JsonbBuildArray,
    /// `ARRAY[a, b, …]` of elements of the type (not strict: NULL elements kept).
    ArrayBuild(DataType),
    /// `x op ANY (array)` (not strict: three-valued).
    ArrayAny(crate::expr::CmpOp),
    /// `x op ALL (array)`.
    ArrayAll(crate::expr::CmpOp),
    /// `array[i]`.
    ArraySubscript,
    ArrayToString,
    ArrayLength,
    ArrayUpper,
    ArrayLower,
    Cardinality,
    /// `s ~ pattern`.
    RegexMatch,
    /// `s ~* pattern`.
    RegexIMatch,
}

/// A resolved call: the function, the type each argument is given, and the result type.
#[derive(Debug)]
pub struct Resolved {
    pub function: Function,
    pub arg_types: Vec<DataType>,
    pub result: DataType,
}

/// The function `name` over arguments of `args` types (`None`: an untyped literal), or
/// `42883 function name(types) does not exist`.
pub fn resolve(name: &str, args: &[Option<DataType>]) -> Result<Resolved> {
    use DataType::*;
    let numeric = |n: usize| -> Option<DataType> {
        args.iter()
            .take(n)
            .try_fold(None::<DataType>, |acc, t| match (acc, t) {
                (a, None) => Some(a),
                (None, Some(t)) if t.is_numeric() => Some(Some(*t)),
                (Some(a), Some(t)) => a.wider_numeric(*t).map(Some),
                _ => None,
            })
            .map(|t| t.unwrap_or(Float8))
    };
    let texts = |n: usize| vec![Text; n];
    let resolved = match (name, args.len()) {
        ("abs", 1) => numeric(1).map(|t| Resolved {
            function: Function::Abs,
            arg_types: vec![t],
            result: t,
        }),
        ("lower", 1) => fixed(Function::Lower, &[Text], Text),
        ("upper", 1) => fixed(Function::Upper, &[Text], Text),
        ("length" | "char_length" | "character_length", 1) => {
            fixed(Function::Length, &[Text], Int4)
        }
        ("substr" | "substring", 2) => fixed(Function::Substr, &[Text, Int4], Text),
        ("substr" | "substring", 3) => fixed(Function::Substr, &[Text, Int4, Int4], Text),
        ("replace", 3) => fixed(Function::Replace, &texts(3), Text),
        ("btrim", 1 | 2) => fixed(Function::Btrim, &texts(args.len()), Text),
        ("ltrim", 1 | 2) => fixed(Function::Ltrim, &texts(args.len()), Text),
        ("rtrim", 1 | 2) => fixed(Function::Rtrim, &texts(args.len()), Text),
        ("strpos", 2) => fixed(Function::Position, &texts(2), Int4),
        ("nextval", 1) => fixed(Function::Nextval, &[Text], Int8),
        ("currval", 1) => fixed(Function::Currval, &[Text], Int8),
        ("lastval", 0) => fixed(Function::Lastval, &[], Int8),
        ("current_setting", 1) => fixed(Function::CurrentSetting, &[Text], Text),
        ("current_setting", 2) => fixed(Function::CurrentSetting, &[Text, Bool], Text),
        ("set_config", 3) => fixed(Function::SetConfig, &[Text, Text, Bool], Text),
        ("version", 0) => fixed(Function::Version, &[], Text),
        ("quote_ident", 1) => fixed(Function::QuoteIdent, &[Text], Text),
        ("quote_literal", 1) => fixed(Function::QuoteLiteral, &[Text], Text),
        ("concat", n) if n > 0 => Some(Resolved {
            function: Function::Concat,
            arg_types: args.iter().map(|t| t.unwrap_or(Text)).collect(),
            result: Text,
        }),
        ("round" | "trunc" | "floor" | "ceil" | "ceiling" | "sign", 1)
            if args[0] == Some(Numeric) =>
        {
            let function = match name {
                "round" => Function::Round,
                "trunc" => Function::Trunc,
                "floor" => Function::Floor,
                "sign" => Function::Sign,
                _ => Function::Ceil,
            };
            fixed(function, &[Numeric], Numeric)
        }
        ("round", 2) => fixed(Function::Round, &[Numeric, Int4], Numeric),
        ("trunc", 2) => fixed(Function::Trunc, &[Numeric, Int4], Numeric),
        ("round", 1) => fixed(Function::Round, &[Float8], Float8),
        ("trunc", 1) => fixed(Function::Trunc, &[Float8], Float8),
        ("floor", 1) => fixed(Function::Floor, &[Float8], Float8),
        ("ceil" | "ceiling", 1) => fixed(Function::Ceil, &[Float8], Float8),
        ("sign", 1) => fixed(Function::Sign, &[Float8], Float8),
        ("sqrt", 1) => fixed(Function::Sqrt, &[Float8], Float8),
        ("exp", 1) => fixed(Function::Exp, &[Float8], Float8),
        ("ln", 1) => fixed(Function::Ln, &[Float8], Float8),
        ("power" | "pow", 2) => fixed(Function::Power, &[Float8, Float8], Float8),
        ("mod", 2) => numeric(2).filter(|t| !t.is_float()).map(|t| Resolved {
            function: Function::Mod,
            arg_types: vec![t, t],
            result: t,
        }),
        _ => resolve_datetime(name, args)
            .or_else(|| resolve_json(name, args))
            .or_else(|| crate::array_func::resolve(name, args)),
    };
    resolved
        .filter(|r| accepts(&r.arg_types, args))
        .ok_or_else(|| {
            Error::new(
                SqlState::UNDEFINED_FUNCTION,
                format!(
                    "function {name}({}) does not exist",
                    args.iter()
                        .map(|t| t.map_or("unknown", DataType::name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

/// A function taking no more than the parameters `params` and giving `result`.
fn fixed(function: Function, params: &[DataType], result: DataType) -> Option<Resolved> {
    Some(Resolved {
        function,
        arg_types: params.to_vec(),
        result,
    })
}

/// The date/time functions' part of [`resolve`].
fn resolve_datetime(name: &str, args: &[Option<DataType>]) -> Option<Resolved> {
    use DataType::*;
    match (name, args.len()) {
        ("now" | "current_timestamp" | "transaction_timestamp", 0) => {
            fixed(Function::Now, &[], TimestampTz)
        }
        ("statement_timestamp", 0) => fixed(Function::StatementTimestamp, &[], TimestampTz),
        ("clock_timestamp", 0) => fixed(Function::ClockTimestamp, &[], TimestampTz),
        ("current_date", 0) => fixed(Function::CurrentDate, &[], Date),
        ("localtimestamp", 0) => fixed(Function::LocalTimestamp, &[], Timestamp),
        ("localtime", 0) => fixed(Function::LocalTime, &[], Time),
        ("extract", 2) => datetime_arg(args[1], &[Timestamp, TimestampTz, Date, Time, Interval])
            .map(|t| Resolved {
                function: Function::Extract,
                arg_types: vec![Text, t],
                result: Numeric,
            }),
        ("date_part", 2) => {
            datetime_arg(args[1], &[Timestamp, TimestampTz, Time, Interval]).map(|t| Resolved {
                function: Function::DatePart,
                arg_types: vec![Text, t],
                result: Float8,
            })
        }
        ("date_trunc", 2) => {
            datetime_arg(args[1], &[Timestamp, TimestampTz, Interval]).map(|t| Resolved {
                function: Function::DateTrunc,
                arg_types: vec![Text, t],
                result: t,
            })
        }
        ("age", 1) => datetime_arg(args[0], &[Timestamp, TimestampTz]).map(|t| Resolved {
            function: Function::Age,
            arg_types: vec![t],
            result: Interval,
        }),
        ("age", 2) => {
            let common = match (args[0], args[1]) {
                (Some(a), Some(b)) => a.common_with(b),
                (Some(t), None) | (None, Some(t)) => Some(t),
                (None, None) => Some(TimestampTz),
            };
            datetime_arg(common, &[Timestamp, TimestampTz]).map(|t| Resolved {
                function: Function::Age,
                arg_types: vec![t, t],
                result: Interval,
            })
        }
        ("to_timestamp", 1) => fixed(Function::ToTimestamp, &[Float8], TimestampTz),
        ("make_date", 3) => fixed(Function::MakeDate, &[Int4, Int4, Int4], Date),
        ("make_time", 3) => fixed(Function::MakeTime, &[Int4, Int4, Float8], Time),
        ("make_timestamp", 6) => fixed(
            Function::MakeTimestamp,
            &[Int4, Int4, Int4, Int4, Int4, Float8],
            Timestamp,
        ),
        ("justify_days", 1) => fixed(Function::JustifyDays, &[Interval], Interval),
        ("justify_hours", 1) => fixed(Function::JustifyHours, &[Interval], Interval),
        ("justify_interval", 1) => fixed(Function::JustifyInterval, &[Interval], Interval),
        ("timezone", 2) => datetime_arg(args[1], &[TimestampTz, Timestamp]).map(|t| Resolved {
            function: Function::AtTimeZone,
            arg_types: vec![Text, t],
            result: if t == Timestamp {
                TimestampTz
            } else {
                Timestamp
            },
        }),
        ("setval", 2) => fixed(Function::Setval, &[Text, Int8], Int8),
        _ => None,
    }
}

/// The JSON functions' part of [`resolve`].
fn resolve_json(name: &str, args: &[Option<DataType>]) -> Option<Resolved> {
    use DataType::*;
    match (name, args.len()) {
        ("json_typeof", 1) => fixed(Function::JsonTypeof, &[Json], Text),
        ("jsonb_typeof", 1) => fixed(Function::JsonTypeof, &[Jsonb], Text),
        ("json_array_length", 1) => fixed(Function::JsonArrayLength, &[Json], Int4),
        ("jsonb_array_length", 1) => fixed(Function::JsonArrayLength, &[Jsonb], Int4),
        ("to_json" | "to_jsonb", 1) => Some(Resolved {
            function: if name == "to_json" {
                Function::ToJson
            } else {
                Function::ToJsonb
            },
            arg_types: vec![args[0].unwrap_or(Text)],
            result: if name == "to_json" { Json } else { Jsonb },
        }),
        ("json_build_object" | "jsonb_build_object", n) if n % 2 == 0 => Some(Resolved {
            function: if name == "json_build_object" {
                Function::JsonBuildObject
            } else {
                Function::JsonbBuildObject
            },
            arg_types: args.iter().map(|t| t.unwrap_or(Text)).collect(),
            result: if name == "json_build_object" {
                Json
            } else {
                Jsonb
            },
        }),
        ("json_build_array" | "jsonb_build_array", _) => Some(Resolved {
            function: if name == "json_build_array" {
                Function::JsonBuildArray
            } else {
                Function::JsonbBuildArray
            },
            arg_types: args.iter().map(|t| t.unwrap_or(Text)).collect(),
            result: if name == "json_build_array" {
                Json
            } else {
                Jsonb
            },
        }),
        _ => None,
    }
}

/// Whether arguments of types `args` can be given as `params`: each argument's type converts
/// implicitly to its parameter's, and an untyped literal to anything.
fn accepts(params: &[DataType], args: &[Option<DataType>]) -> bool {
    params
        .iter()
        .zip(args)
        .all(|(p, a)| a.is_none_or(|a| a.casts_implicitly_to(*p)))
}

/// The parameter type, of the date/time types a function takes (`types`, the preferred one
/// first), an argument of type `arg` is given: its own if the function takes it, else the
/// first it converts to implicitly (a date where a timestamp is taken).
fn datetime_arg(arg: Option<DataType>, types: &[DataType]) -> Option<DataType> {
    match arg {
        None => types.first().copied(),
        Some(t) if types.contains(&t) => Some(t),
        Some(t) => types.iter().copied().find(|p| t.casts_implicitly_to(*p)),
    }
}

impl Function {
    /// Whether the function is NULL for any NULL argument.
    pub fn is_strict(self) -> bool {
        !matches!(
            self,
            Function::Concat
                | Function::Greatest
                | Function::Least
                | Function::JsonBuildObject
                | Function::JsonbBuildObject
                | Function::JsonBuildArray
                | Function::JsonbBuildArray
                | Function::ArrayBuild(_)
                | Function::ArrayAny(_)
                | Function::ArrayAll(_)
                | Function::ArrayToString
        )
    }

    /// Whether the function is one of [`crate::array_func`]'s.
    fn is_array(self) -> bool {
        matches!(
            self,
            Function::ArrayBuild(_)
                | Function::ArrayAny(_)
                | Function::ArrayAll(_)
                | Function::ArraySubscript
                | Function::ArrayToString
                | Function::ArrayLength
                | Function::ArrayUpper
                | Function::ArrayLower
                | Function::Cardinality
                | Function::RegexMatch
                | Function::RegexIMatch
        )
    }

    /// Whether the function is one of [`crate::datetime_func`]'s.
    fn is_datetime(self) -> bool {
        matches!(
            self,
            Function::Now
                | Function::StatementTimestamp
                | Function::ClockTimestamp
                | Function::CurrentDate
                | Function::LocalTimestamp
                | Function::LocalTime
                | Function::Extract
                | Function::DatePart
                | Function::DateTrunc
                | Function::Age
                | Function::ToTimestamp
                | Function::MakeDate
                | Function::MakeTime
                | Function::MakeTimestamp
                | Function::JustifyDays
                | Function::JustifyHours
                | Function::JustifyInterval
                | Function::AtTimeZone
        )
    }

    /// Whether the function is one of [`crate::json_func`]'s.
    fn is_json(self) -> bool {
        matches!(
            self,
            Function::JsonGet
                | Function::JsonGetText
                | Function::JsonPath
                | Function::JsonPathText
                | Function::JsonContains
                | Function::JsonContained
                | Function::JsonHasKey
                | Function::JsonTypeof
                | Function::JsonArrayLength
                | Function::ToJson
                | Function::ToJsonb
                | Function::JsonBuildObject
                | Function::JsonbBuildObject
                | Function::JsonBuildArray
                | Function::JsonbBuildArray
        )
    }

    /// The session functions' part of [`Function::call`] (`None` for the others).
    fn call_session(self, args: &[Value]) -> Result<Option<Value>> {
        let text = |i: usize| match &args[i] {
            Value::Text(s) => s.as_str(),
            _ => "",
        };
        Ok(Some(match self {
            Function::CurrentSetting => {
                let missing_ok = matches!(args.get(1), Some(Value::Bool(true)));
                match crate::settings::current_setting(text(0), missing_ok)? {
                    Some(value) => Value::Text(value),
                    None => Value::Null,
                }
            }
            Function::SetConfig => Value::Text(crate::settings::set_config(
                text(0),
                text(1),
                matches!(args[2], Value::Bool(true)),
            )?),
            Function::QuoteIdent => Value::Text(crate::system::quote_ident(text(0))),
            Function::QuoteLiteral => {
                let quoted = text(0).replace('\'', "''");
                Value::Text(if quoted.contains('\\') {
                    format!("E'{}'", quoted.replace('\\', "\\\\"))
                } else {
                    format!("'{quoted}'")
                })
            }
            Function::Version => Value::Text(format!(
                "PostgreSQL 15.0 (cairn {}) on {}-linux, compiled by rustc, 64-bit",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::ARCH
            )),
            _ => return Ok(None),
        }))
    }

    /// Whether the function may give another value or change something each call (never
    /// computed ahead).
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Function::Nextval
                | Function::Setval
                | Function::ClockTimestamp
                | Function::CurrentSetting
                | Function::SetConfig
        )
    }

    /// The function's value for `args` (already of its parameter types).
    pub fn call(self, args: &[Value]) -> Result<Value> {
        if matches!(self, Function::Greatest | Function::Least) {
            // NULLs are skipped; the arguments are of one type.
            let mut best = Value::Null;
            for v in args.iter().filter(|v| !v.is_null()) {
                let better = match best.compare(v)? {
                    None => true,
                    Some(o) => (self == Function::Greatest) == o.is_lt(),
                };
                if better {
                    best = v.clone();
                }
            }
            return Ok(best);
        }
        if self.is_strict() && args.iter().any(Value::is_null) {
            return Ok(Value::Null);
        }
        if self.is_datetime() {
            return crate::datetime_func::call(self, args);
        }
        if let Some(value) = self.call_session(args)? {
            return Ok(value);
        }
        if self.is_json() {
            return crate::json_func::call(self, args);
        }
        if self.is_array() {
            return crate::array_func::call(self, args);
        }
        let text = |i: usize| match &args[i] {
            Value::Text(s) => s.as_str(),
            _ => "",
        };
        let float = |i: usize| match args[i] {
            Value::Float8(x) => x,
            _ => f64::NAN,
        };
        Ok(match self {
            Function::Abs => match &args[0] {
                Value::Float8(x) => Value::Float8(x.abs()),
                v if v.compare(&Value::Int2(0))? == Some(std::cmp::Ordering::Less) => {
                    Value::Int2(0)
                        .cast(v.data_type().expect("not null"))?
                        .arith(ArithOp::Sub, v)?
                }
                v => v.clone(),
            },
            Function::Lower => Value::Text(text(0).to_lowercase()),
            Function::Upper => Value::Text(text(0).to_uppercase()),
            Function::Length => Value::Int4(text(0).chars().count() as i32),
            Function::Substr => substr(text(0), &args[1], args.get(2))?,
            Function::Replace => Value::Text(if text(1).is_empty() {
                text(0).to_string()
            } else {
                text(0).replace(text(1), text(2))
            }),
            Function::Btrim | Function::Ltrim | Function::Rtrim => {
                let set: Vec<char> = if args.len() > 1 {
                    text(1).chars().collect()
                } else {
                    vec![' ']
                };
                let s = text(0);
                let s = if self == Function::Rtrim {
                    s
                } else {
                    s.trim_start_matches(set.as_slice())
                };
                let s = if self == Function::Ltrim {
                    s
                } else {
                    s.trim_end_matches(set.as_slice())
                };
                Value::Text(s.to_string())
            }
            Function::Concat => Value::Text(args.iter().filter_map(Value::to_text).collect()),
            Function::Position => Value::Int4(match text(0).find(text(1)) {
                Some(byte) => text(0)[..byte].chars().count() as i32 + 1,
                None => 0,
            }),
            Function::Round
            | Function::Trunc
            | Function::Floor
            | Function::Ceil
            | Function::Sign
                if matches!(args[0], Value::Numeric(_)) =>
            {
                let Value::Numeric(n) = &args[0] else {
                    unreachable!("matched above")
                };
                let digits = match args.get(1) {
                    Some(Value::Int4(d)) => i64::from(*d),
                    _ => 0,
                };
                Value::Numeric(numeric_call(self, n, digits))
            }
            Function::Round => Value::Float8(float(0).round_ties_even()),
            Function::Trunc => Value::Float8(float(0).trunc()),
            Function::Floor => Value::Float8(float(0).floor()),
            Function::Ceil => Value::Float8(float(0).ceil()),
            Function::Sign => Value::Float8(if float(0) > 0.0 {
                1.0
            } else if float(0) < 0.0 {
                -1.0
            } else {
                0.0
            }),
            Function::Sqrt => {
                if float(0) < 0.0 {
                    return Err(Error::new(
                        SqlState("2201F"),
                        "cannot take square root of a negative number",
                    ));
                }
                Value::Float8(float(0).sqrt())
            }
            Function::Exp => finite(float(0).exp())?,
            Function::Ln => {
                let x = float(0);
                if x == 0.0 {
                    return Err(Error::new(
                        SqlState("2201E"),
                        "cannot take logarithm of zero",
                    ));
                }
                if x < 0.0 {
                    return Err(Error::new(
                        SqlState("2201E"),
                        "cannot take logarithm of a negative number",
                    ));
                }
                Value::Float8(x.ln())
            }
            Function::Power => {
                let (x, y) = (float(0), float(1));
                if x == 0.0 && y < 0.0 {
                    return Err(Error::new(
                        SqlState("2201F"),
                        "zero raised to a negative power is undefined",
                    ));
                }
                if x < 0.0 && y.fract() != 0.0 {
                    return Err(Error::new(
                        SqlState("2201F"),
                        "a negative number raised to a non-integer power yields a complex result",
                    ));
                }
                finite(x.powf(y))?
            }
            Function::Mod => args[0].arith(ArithOp::Rem, &args[1])?,
            Function::PadToLength | Function::CutToLength => fit_length(self, args),
            Function::FitNumeric => match (&args[0], &args[1], &args[2]) {
                (Value::Numeric(n), Value::Int4(p), Value::Int4(s)) => {
                    Value::Numeric(n.fit(*p as u16, *s as u16)?)
                }
                (other, _, _) => other.clone(),
            },
            Function::Greatest | Function::Least => unreachable!("answered above"),
            Function::Nextval | Function::Setval | Function::Currval | Function::Lastval => {
                unreachable!("the executor calls sequences")
            }
            other => unreachable!("{other:?} is answered by its own module, above"),
        })
    }
}

/// A cast to `char(n)` (padded) or `varchar(n)` (cut): `args` are the text and `n`.
fn fit_length(function: Function, args: &[Value]) -> Value {
    let (Value::Text(s) | Value::Bpchar(s)) = &args[0] else {
        return args[0].clone();
    };
    let n = match args[1] {
        Value::Int4(n) => n.max(0) as usize,
        _ => usize::MAX,
    };
    let mut cut: String = s.chars().take(n).collect();
    if function == Function::PadToLength {
        let have = cut.chars().count();
        cut.extend(std::iter::repeat_n(' ', n - have));
        Value::Bpchar(cut)
    } else {
        Value::Text(cut)
    }
}

/// `round`, `trunc`, `floor`, `ceil`, `sign` of a numeric (`digits` after the point for the
/// first two).
fn numeric_call(function: Function, n: &Numeric, digits: i64) -> Numeric {
    match function {
        Function::Round => n.round(digits),
        Function::Trunc => n.trunc(digits),
        Function::Sign => Numeric::from_i64(i64::from(n.signum())),
        Function::Floor | Function::Ceil => {
            let truncated = n.trunc(0);
            let up = function == Function::Ceil;
            let exact = truncated.compare(n).is_eq();
            if exact || n.is_nan() || (n.signum() < 0) == up {
                truncated
            } else {
                truncated
                    .add(&Numeric::from_i64(if up { 1 } else { -1 }))
                    .unwrap_or(truncated)
            }
        }
        _ => unreachable!("only the rounding functions"),
    }
}

/// An overflowing float result is PostgreSQL's `22003`.
fn finite(x: f64) -> Result<Value> {
    if x.is_infinite() {
        return Err(Error::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: overflow",
        ));
    }
    Ok(Value::Float8(x))
}

/// `substr(s, start [, count])`, 1-based, as PostgreSQL clips it.
fn substr(s: &str, start: &Value, count: Option<&Value>) -> Result<Value> {
    let start = match start {
        Value::Int4(n) => i64::from(*n),
        _ => 1,
    };
    let end = match count {
        None => i64::MAX,
        Some(Value::Int4(n)) if *n < 0 => {
            return Err(Error::new(
                SqlState("22011"),
                "negative substring length not allowed",
            ))
        }
        Some(Value::Int4(n)) => start.saturating_add(i64::from(*n)),
        Some(_) => i64::MAX,
    };
    let from = start.max(1);
    if end <= from {
        return Ok(Value::Text(String::new()));
    }
    Ok(Value::Text(
        s.chars()
            .skip((from - 1) as usize)
            .take(usize::try_from(end - from).unwrap_or(usize::MAX))
            .collect(),
    ))
}

/// Whether `s` matches the LIKE `pattern` (`%` any run, `_` one character, `\` escapes).
pub fn like(s: &str, pattern: &str, case_insensitive: bool) -> Result<bool> {
    let fold = |t: &str| -> Vec<char> {
        if case_insensitive {
            t.to_lowercase().chars().collect()
        } else {
            t.chars().collect()
        }
    };
    let (s, p) = (fold(s), fold(pattern));
    // Pattern tokens: Some(c) a literal character, None for `_`; `%` is Any.
    enum Token {
        One(Option<char>),
        Any,
    }
    let mut tokens = Vec::new();
    let mut chars = p.iter();
    while let Some(&c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One(None),
            '\\' => match chars.next() {
                Some(&e) => Token::One(Some(e)),
                None => {
                    return Err(Error::new(
                        SqlState::INVALID_ESCAPE_SEQUENCE,
                        "LIKE pattern must not end with escape character",
                    ))
                }
            },
            c => Token::One(Some(c)),
        });
    }
    // matches[j]: whether s[..i] matches tokens[..j], row by row over i.
    let mut matches = vec![false; tokens.len() + 1];
    matches[0] = true;
    for j in 0..tokens.len() {
        matches[j + 1] = matches[j] && matches!(tokens[j], Token::Any);
    }
    for &c in &s {
        let mut next = vec![false; tokens.len() + 1];
        for j in 0..tokens.len() {
            next[j + 1] = match tokens[j] {
                Token::Any => next[j] || matches[j + 1],
                Token::One(None) => matches[j],
                Token::One(Some(t)) => matches[j] && t == c,
            };
        }
        matches = next;
    }
    Ok(matches[tokens.len()])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_postgresql() {
        assert!(like("hello", "h%o", false).unwrap());
        assert!(like("hello", "_ello", false).unwrap());
        assert!(!like("hello", "_llo", false).unwrap());
        assert!(like("50%", "50\\%", false).unwrap());
        assert!(!like("500", "50\\%", false).unwrap());
        assert!(like("HeLLo", "hello", true).unwrap());
        assert!(like("", "%", false).unwrap());
        assert!(like("abc", "%%c", false).unwrap());
        assert_eq!(
            like("a", "a\\", false).unwrap_err().state,
            SqlState::INVALID_ESCAPE_SEQUENCE
        );
    }

    #[test]
    fn substr_clips_as_postgresql() {
        let s = |start, count: Option<i32>| {
            substr(
                "hello",
                &Value::Int4(start),
                count.map(Value::Int4).as_ref(),
            )
            .unwrap()
        };
        assert_eq!(s(2, Some(3)), Value::Text("ell".into()));
        assert_eq!(s(0, Some(3)), Value::Text("he".into()));
        assert_eq!(s(-5, Some(3)), Value::Text("".into()));
        assert_eq!(s(4, None), Value::Text("lo".into()));
    }

    #[test]
    fn unknown_functions_and_argument_types_are_42883() {
        let error = resolve("nosuch", &[Some(DataType::Int4)]).unwrap_err();
        assert_eq!(error.message, "function nosuch(integer) does not exist");
        let error = resolve("lower", &[Some(DataType::Int4)]).unwrap_err();
        assert_eq!(error.state, SqlState::UNDEFINED_FUNCTION);
        assert_eq!(
            resolve("abs", &[Some(DataType::Int8)]).unwrap().result,
            DataType::Int8
        );
    }
}
