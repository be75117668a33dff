//! Arrays: one-dimensional, lower bound 1, of any base type — what `ARRAY[…]`,
//! `ARRAY(SELECT …)`, `array_agg` and `'{…}'::T[]` make, and what the system catalog's
//! array columns hold.
//!
//! The text format is PostgreSQL's `array_out`/`array_in`: `{1,2,NULL}`; an element is
//! written in double quotes when it is empty, is `NULL` in any case, or holds a brace, a
//! comma, a quote, a backslash or white space, with `"` and `\` escaped by a backslash.
//! Arrays compare element by element, a shorter prefix first, NULL elements after all
//! others (as PostgreSQL's `btarraycmp`).
//!
//! [`DataType::Array`] holds a `&'static` reference to its element type so that the type
//! stays `Copy`: [`of`] hands out the one static per element type.

use std::cmp::Ordering;

use crate::error::{Error, Result, SqlState};
use crate::value::{Array, DataType, Value};

/// The element types arrays may have, one static each (the referents of
/// [`DataType::Array`]).
static ELEMENTS: [DataType; 22] = DataType::BASE;

/// The type "array of `element`" (an array of arrays is an array of the same element: one
/// dimension only).
pub fn of(element: DataType) -> DataType {
    let element = match element {
        DataType::Array(inner) => *inner,
        other => other,
    };
    ELEMENTS
        .iter()
        .find(|e| **e == element)
        .map_or(DataType::Array(&ELEMENTS[7]), DataType::Array)
}

/// `integer[]`, `text[]`…: the array type's name as PostgreSQL writes it.
pub fn type_name(element: &DataType) -> &'static str {
    match element {
        DataType::Bool => "boolean[]",
        DataType::Int2 => "smallint[]",
        DataType::Int4 => "integer[]",
        DataType::Int8 => "bigint[]",
        DataType::Numeric => "numeric[]",
        DataType::Float4 => "real[]",
        DataType::Float8 => "double precision[]",
        DataType::Bpchar => "character[]",
        DataType::Bytea => "bytea[]",
        DataType::Date => "date[]",
        DataType::Time => "time without time zone[]",
        DataType::Timestamp => "timestamp without time zone[]",
        DataType::TimestampTz => "timestamp with time zone[]",
        DataType::Interval => "interval[]",
        DataType::Uuid => "uuid[]",
        DataType::Json => "json[]",
        DataType::Jsonb => "jsonb[]",
        DataType::Oid => "oid[]",
        DataType::RegClass => "regclass[]",
        DataType::RegType => "regtype[]",
        DataType::RegNamespace => "regnamespace[]",
        DataType::Text | DataType::Array(_) => "text[]",
    }
}

/// `_int4`, `_text`…: the array type's `typname`.
pub fn internal_name(element: &DataType) -> &'static str {
    match element {
        DataType::Bool => "_bool",
        DataType::Int2 => "_int2",
        DataType::Int4 => "_int4",
        DataType::Int8 => "_int8",
        DataType::Numeric => "_numeric",
        DataType::Float4 => "_float4",
        DataType::Float8 => "_float8",
        DataType::Bpchar => "_bpchar",
        DataType::Bytea => "_bytea",
        DataType::Date => "_date",
        DataType::Time => "_time",
        DataType::Timestamp => "_timestamp",
        DataType::TimestampTz => "_timestamptz",
        DataType::Interval => "_interval",
        DataType::Uuid => "_uuid",
        DataType::Json => "_json",
        DataType::Jsonb => "_jsonb",
        DataType::Oid => "_oid",
        DataType::RegClass => "_regclass",
        DataType::RegType => "_regtype",
        DataType::RegNamespace => "_regnamespace",
        DataType::Text | DataType::Array(_) => "_text",
    }
}

/// The array type whose `typname` is `name` (`_int4`).
pub fn from_internal_name(name: &str) -> Option<DataType> {
    ELEMENTS
        .iter()
        .map(DataType::Array)
        .find(|t| t.internal_name() == name)
}

/// The element type's one-byte code in the row format ([`crate::row`]).
pub fn element_code(element: DataType) -> u8 {
    ELEMENTS.iter().position(|e| *e == element).unwrap_or(7) as u8
}

/// The element type of a row-format code.
pub fn element_of_code(code: u8) -> Option<DataType> {
    ELEMENTS.get(usize::from(code)).copied()
}

/// An array value of `element`s.
pub fn value(element: DataType, items: Vec<Value>) -> Value {
    Value::Array(Box::new(Array { element, items }))
}

/// The array `text` spells (`array_in`): `{a,"b c",NULL}`, each element read by its type's
/// input function.
pub fn parse(element: &DataType, text: &str) -> Result<Value> {
    let malformed = |why: &str| {
        Error::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!("malformed array literal: \"{text}\""),
        )
        .with_detail(why)
    };
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(|| malformed("Array value must start with \"{\" or dimension information."))?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(value(*element, items));
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut item = String::new();
        let mut quoted = false;
        if chars.next_if_eq(&'"').is_some() {
            quoted = true;
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => item.push(
                        chars
                            .next()
                            .ok_or_else(|| malformed("Unexpected end of input."))?,
                    ),
                    Some(c) => item.push(c),
                    None => return Err(malformed("Unexpected end of input.")),
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                match c {
                    '{' | '}' | '"' => {
                        return Err(malformed(&format!("Unexpected \"{c}\" character.")))
                    }
                    '\\' => item.push(
                        chars
                            .next()
                            .ok_or_else(|| malformed("Unexpected end of input."))?,
                    ),
                    c => item.push(c),
                }
            }
            item.truncate(item.trim_end().len());
            if item.is_empty() {
                return Err(malformed("Unexpected \",\" character."));
            }
        }
        items.push(if !quoted && item.eq_ignore_ascii_case("null") {
            Value::Null
        } else {
            Value::parse(*element, &item)?
        });
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(c) => return Err(malformed(&format!("Unexpected \"{c}\" character."))),
        }
    }
    Ok(value(*element, items))
}

/// The array's text (`array_out`).
pub fn format(array: &Array) -> String {
    let mut out = String::from("{");
    for (i, item) in array.items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(text) = item.to_text() else {
            out.push_str("NULL");
            continue;
        };
        let quote = text.is_empty()
            || text.eq_ignore_ascii_case("null")
            || text
                .chars()
                .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
        if quote {
            out.push('"');
            for c in text.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push('}');
    out
}

/// Element-by-element comparison; a NULL element sorts after every value.
pub fn compare(x: &Array, y: &Array) -> Result<Option<Ordering>> {
    for (a, b) in x.items.iter().zip(&y.items) {
        let ordering = match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.compare(b)?.unwrap_or(Ordering::Equal),
        };
        if ordering != Ordering::Equal {
            return Ok(Some(ordering));
        }
    }
    Ok(Some(x.items.len().cmp(&y.items.len())))
}

/// The array with each element cast to `element`.
pub fn cast(array: &Array, element: DataType) -> Result<Value> {
    let items = array
        .items
        .iter()
        .map(|v| v.cast(element))
        .collect::<Result<Vec<_>>>()?;
    Ok(value(element, items))
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(element: DataType, text: &str) -> String {
        parse(&element, text).unwrap().to_text().unwrap()
    }

    #[test]
    fn text_format_is_postgresqls() {
        assert_eq!(round_trip(DataType::Int4, "{1, 2 ,NULL}"), "{1,2,NULL}");
        assert_eq!(round_trip(DataType::Int4, " { } "), "{}");
        assert_eq!(
            round_trip(DataType::Text, r#"{a,"b c","","null",NULL,"q\"x\\y"}"#),
            r#"{a,"b c","","null",NULL,"q\"x\\y"}"#
        );
        assert_eq!(
            parse(&DataType::Int4, "{1,x}").unwrap_err().state.code(),
            "22P02"
        );
        assert!(parse(&DataType::Int4, "1,2").is_err());
        assert!(parse(&DataType::Int4, "{1,,2}").is_err());
        assert!(parse(&DataType::Text, "{\"a}").is_err());
    }

    #[test]
    fn arrays_compare_element_by_element() {
        let a = |t: &str| match parse(&DataType::Int4, t).unwrap() {
            Value::Array(a) => *a,
            _ => unreachable!(),
        };
        assert_eq!(
            compare(&a("{1,2}"), &a("{1,3}")).unwrap(),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare(&a("{1,2}"), &a("{1}")).unwrap(),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(&a("{1,NULL}"), &a("{1,5}")).unwrap(),
            Some(Ordering::Greater)
        );
        assert_eq!(compare(&a("{}"), &a("{}")).unwrap(), Some(Ordering::Equal));
    }
}
