//! The functions and operators of arrays — `ARRAY[…]`, `x op ANY (array)`, `a[i]`,
//! `array_to_string`, `array_length`, `array_upper`, `array_lower`, `cardinality` — and
//! the regular expression operators `~`, `~*`, `!~`, `!~*`.
//!
//! Arrays are one-dimensional with lower bound 1 (see [`crate::array`]): a subscript out of
//! range is NULL, and asking for a dimension other than 1 answers NULL, as PostgreSQL does
//! for dimensions an array does not have. Regular expressions are Rust's `regex` syntax,
//! which agrees with PostgreSQL's advanced regular expressions on what tools write (classes,
//! anchors, alternation, repetition); a pattern it cannot compile is `2201B`.

use std::cell::RefCell;

use crate::error::{Error, Result, SqlState};
use crate::expr::CmpOp;
use crate::func::{Function, Resolved};
use crate::value::{Array, DataType, Value};

/// The array functions' part of [`crate::func::resolve`].
pub fn resolve(name: &str, args: &[Option<DataType>]) -> Option<Resolved> {
    use DataType::{Int4, Text};
    let array = args
        .first()
        .copied()
        .flatten()
        .filter(|t| matches!(t, DataType::Array(_)));
    let (function, params, result) = match (name, args.len()) {
        ("array_to_string", 2 | 3) => {
            let array = array?;
            let params = [array, Text, Text];
            return Some(Resolved {
                function: Function::ArrayToString,
                arg_types: params[..args.len()].to_vec(),
                result: Text,
            });
        }
        ("array_length", 2) => (Function::ArrayLength, vec![array?, Int4], Int4),
        ("array_upper", 2) => (Function::ArrayUpper, vec![array?, Int4], Int4),
        ("array_lower", 2) => (Function::ArrayLower, vec![array?, Int4], Int4),
        ("cardinality", 1) => (Function::Cardinality, vec![array?], Int4),
        _ => return None,
    };
    Some(Resolved {
        function,
        arg_types: params,
        result,
    })
}

/// The value of an array function or operator.
pub fn call(function: Function, args: &[Value]) -> Result<Value> {
    let array = |i: usize| match args.get(i) {
        Some(Value::Array(a)) => Some(a.as_ref()),
        _ => None,
    };
    let int = |i: usize| match args.get(i) {
        Some(Value::Int4(n)) => Some(*n),
        _ => None,
    };
    Ok(match function {
        Function::ArrayBuild(element) => crate::array::value(element, args.to_vec()),
        Function::ArrayAny(op) | Function::ArrayAll(op) => quantified(
            op,
            matches!(function, Function::ArrayAll(_)),
            &args[0],
            &args[1],
        )?,
        Function::ArraySubscript => match (array(0), int(1)) {
            (Some(a), Some(i)) if i >= 1 => {
                a.items.get(i as usize - 1).cloned().unwrap_or(Value::Null)
            }
            _ => Value::Null,
        },
        Function::ArrayToString => match array(0) {
            Some(a) => to_string(a, args.get(1), args.get(2)),
            None => Value::Null,
        },
        Function::ArrayLength | Function::ArrayUpper => match (array(0), int(1)) {
            (Some(a), Some(1)) if !a.items.is_empty() => Value::Int4(a.items.len() as i32),
            _ => Value::Null,
        },
        Function::ArrayLower => match (array(0), int(1)) {
            (Some(a), Some(1)) if !a.items.is_empty() => Value::Int4(1),
            _ => Value::Null,
        },
        Function::Cardinality => match array(0) {
            Some(a) => Value::Int4(a.items.len() as i32),
            None => Value::Null,
        },
        Function::RegexMatch | Function::RegexIMatch => match (&args[0], &args[1]) {
            (Value::Text(s), Value::Text(p)) => {
                Value::Bool(regex_match(s, p, function == Function::RegexIMatch)?)
            }
            _ => Value::Null,
        },
        other => unreachable!("{other:?} is not an array function"),
    })
}

/// `x op ANY (array)` (or ALL) in three-valued logic: true if one comparison is (false if
/// one is, for ALL), else NULL if one was unknown; an empty array gives false (true).
fn quantified(op: CmpOp, all: bool, x: &Value, array: &Value) -> Result<Value> {
    let Value::Array(array) = array else {
        return Ok(Value::Null);
    };
    let decisive = !all;
    let mut answer = Value::Bool(all);
    for item in &array.items {
        match x.compare(item)? {
            Some(ordering) if op.holds(ordering) == decisive => return Ok(Value::Bool(decisive)),
            Some(_) => {}
            None => answer = Value::Null,
        }
    }
    Ok(answer)
}

/// `array_to_string(array, delimiter [, null_string])`: NULL elements skipped unless a
/// text is given for them.
fn to_string(array: &Array, delimiter: Option<&Value>, null: Option<&Value>) -> Value {
    let Some(Value::Text(delimiter)) = delimiter else {
        return Value::Null;
    };
    let null = match null {
        Some(Value::Text(t)) => Some(t.as_str()),
        _ => None,
    };
    let parts: Vec<String> = array
        .items
        .iter()
        .filter_map(|v| v.to_text().or_else(|| null.map(str::to_string)))
        .collect();
    Value::Text(parts.join(delimiter))
}

thread_local! {
    /// The last patterns compiled on this thread: a query tests one pattern against many rows.
    static PATTERNS: RefCell<Vec<(String, bool, regex::Regex)>> = const { RefCell::new(Vec::new()) };
}

/// How many compiled patterns a thread keeps.
const KEPT_PATTERNS: usize = 16;

/// Whether `s` matches the regular expression `pattern` anywhere (`~`; `~*` ignoring case).
pub fn regex_match(s: &str, pattern: &str, case_insensitive: bool) -> Result<bool> {
    PATTERNS.with(|kept| {
        let mut kept = kept.borrow_mut();
        if let Some((_, _, re)) = kept
            .iter()
            .find(|(p, ci, _)| p == pattern && *ci == case_insensitive)
        {
            return Ok(re.is_match(s));
        }
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                let why = e.to_string();
                let why = why
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ");
                Error::new(
                    SqlState("2201B"),
                    format!("invalid regular expression: {why}"),
                )
            })?;
        let matched = re.is_match(s);
        if kept.len() == KEPT_PATTERNS {
            kept.remove(0);
        }
        kept.push((pattern.to_string(), case_insensitive, re));
        Ok(matched)
    })
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn ints(text: &str) -> Value {
        crate::array::parse(&DataType::Int4, text).unwrap()
    }

    #[test]
    fn any_and_all_follow_three_valued_logic() {
        let any =
            |x: i32, a: &str| quantified(CmpOp::Eq, false, &Value::Int4(x), &ints(a)).unwrap();
        assert_eq!(any(2, "{1,2}"), Value::Bool(true));
        assert_eq!(any(3, "{1,2}"), Value::Bool(false));
        assert_eq!(any(3, "{1,NULL}"), Value::Null);
        assert_eq!(any(3, "{}"), Value::Bool(false));
        let all = quantified(CmpOp::Lt, true, &Value::Int4(0), &ints("{1,2}")).unwrap();
        assert_eq!(all, Value::Bool(true));
    }

    #[test]
    fn array_functions_answer_as_postgresql() {
        let a = ints("{1,NULL,3}");
        let call = |f: Function, rest: &[Value]| {
            let mut args = vec![a.clone()];
            args.extend_from_slice(rest);
            call(f, &args).unwrap()
        };
        let comma = Value::Text(",".into());
        assert_eq!(
            call(Function::ArrayToString, std::slice::from_ref(&comma)),
            Value::Text("1,3".into())
        );
        assert_eq!(
            call(Function::ArrayToString, &[comma, Value::Text("*".into())]),
            Value::Text("1,*,3".into())
        );
        assert_eq!(
            call(Function::ArrayUpper, &[Value::Int4(1)]),
            Value::Int4(3)
        );
        assert_eq!(call(Function::ArrayUpper, &[Value::Int4(2)]), Value::Null);
        assert_eq!(
            call(Function::ArraySubscript, &[Value::Int4(3)]),
            Value::Int4(3)
        );
        assert_eq!(
            call(Function::ArraySubscript, &[Value::Int4(4)]),
            Value::Null
        );
        assert_eq!(call(Function::Cardinality, &[]), Value::Int4(3));
    }

    #[test]
    fn regular_expressions_match_anywhere() {
        assert!(regex_match("pg_toast", "^pg_", false).unwrap());
        assert!(!regex_match("public", "^pg_", false).unwrap());
        assert!(regex_match("Table", "^(table)$", true).unwrap());
        assert_eq!(
            regex_match("x", "(", false).unwrap_err().state.code(),
            "2201B"
        );
    }
}
