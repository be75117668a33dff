//! The JSON operators and functions over [`crate::json`] documents: `->`, `->>`, `#>`,
//! `#>>`, `@>`, `<@`, `?`, `json_typeof`, `json_array_length`, `to_json`,
//! `json_build_object`, `json_build_array` (each also as `jsonb_…`), with PostgreSQL 15's
//! results: an element of a `json` is its text as written, of a `jsonb` its canonical text;
//! SQL values become JSON as `to_json` makes them (numbers and booleans as themselves,
//! timestamps in ISO 8601 with a `T`, anything else as a string of its text).

use crate::datetime;
use crate::error::{Error, Result, SqlState};
use crate::func::Function;
use crate::json::{self, Kind, Node, Step};
use crate::value::Value;

/// The value of a JSON function for `args` (of its parameter types).
pub fn call(function: Function, args: &[Value]) -> Result<Value> {
    Ok(match function {
        Function::JsonGet | Function::JsonGetText => {
            let (text, jsonb) = document(&args[0]);
            let node = json::parse(text, jsonb)?;
            let step = match &args[1] {
                Value::Int4(i) => Step::Index(i64::from(*i)),
                other => Step::Key(other.to_text().unwrap_or_default()),
            };
            // json's negative indexes select nothing; jsonb's count from the end.
            let step = match step {
                Step::Index(i) if i < 0 && !jsonb => return Ok(Value::Null),
                step => step,
            };
            element(
                function == Function::JsonGetText,
                text,
                jsonb,
                json::select(&node, &step),
            )
        }
        Function::JsonPath | Function::JsonPathText => {
            let (text, jsonb) = document(&args[0]);
            let node = json::parse(text, jsonb)?;
            let path = args[1].to_text().unwrap_or_default();
            let found = json::select_path(&node, &path)?;
            element(function == Function::JsonPathText, text, jsonb, found)
        }
        Function::JsonContains | Function::JsonContained => {
            let (a, b) = if function == Function::JsonContains {
                (&args[0], &args[1])
            } else {
                (&args[1], &args[0])
            };
            let ((a_text, _), (b_text, _)) = (document(a), document(b));
            let (a_node, b_node) = (json::parse(a_text, true)?, json::parse(b_text, true)?);
            Value::Bool(json::contains(a_text, &a_node, b_text, &b_node))
        }
        Function::JsonHasKey => {
            let (text, jsonb) = document(&args[0]);
            let key = args[1].to_text().unwrap_or_default();
            Value::Bool(json::has_key(&json::parse(text, jsonb)?, &key))
        }
        Function::JsonTypeof => {
            let (text, jsonb) = document(&args[0]);
            Value::Text(json::type_name(&json::parse(text, jsonb)?).into())
        }
        Function::JsonArrayLength => {
            let (text, jsonb) = document(&args[0]);
            match json::parse(text, jsonb)?.kind {
                Kind::Array(items) => Value::Int4(items.len() as i32),
                Kind::Object(_) => {
                    return Err(Error::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        "cannot get array length of a non-array",
                    ))
                }
                _ => {
                    return Err(Error::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        "cannot get array length of a scalar",
                    ))
                }
            }
        }
        Function::ToJson => Value::Json(to_json(&args[0])),
        Function::ToJsonb => Value::Jsonb(json::canonical(&to_json(&args[0]))?),
        Function::JsonBuildObject | Function::JsonbBuildObject => {
            let mut out = String::from("{");
            for (i, pair) in args.chunks(2).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let Some(key) = pair[0].to_text() else {
                    return Err(Error::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        format!("argument {}: key must not be null", 2 * i + 1),
                    ));
                };
                json::write_string(&key, &mut out);
                out.push_str(" : ");
                out.push_str(&to_json(&pair[1]));
            }
            out.push('}');
            built(function == Function::JsonbBuildObject, out)?
        }
        Function::JsonBuildArray | Function::JsonbBuildArray => {
            let items: Vec<String> = args.iter().map(to_json).collect();
            let out = format!("[{}]", items.join(", "));
            built(function == Function::JsonbBuildArray, out)?
        }
        other => unreachable!("{other:?} is not a JSON function"),
    })
}

/// A document's text and whether it is a `jsonb`.
fn document(value: &Value) -> (&str, bool) {
    match value {
        Value::Jsonb(s) => (s, true),
        Value::Json(s) | Value::Text(s) => (s, false),
        _ => ("null", false),
    }
}

/// The result of `->`-like operators: the element as a document of the input's type, or as
/// text (`as_text`); NULL when there is no such element.
fn element(as_text: bool, text: &str, jsonb: bool, node: Option<&Node>) -> Value {
    match node {
        None => Value::Null,
        Some(node) if as_text => json::as_text(text, node).map_or(Value::Null, Value::Text),
        Some(node) => {
            let raw = text[node.span.clone()].to_string();
            if jsonb {
                Value::Jsonb(raw)
            } else {
                Value::Json(raw)
            }
        }
    }
}

fn built(jsonb: bool, text: String) -> Result<Value> {
    Ok(if jsonb {
        Value::Jsonb(json::canonical(&text)?)
    } else {
        Value::Json(text)
    })
}

/// A SQL value as JSON text (`to_json`).
pub fn to_json(value: &Value) -> String {
    let quoted = |s: &str| {
        let mut out = String::new();
        json::write_string(s, &mut out);
        out
    };
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_) => {
            value.to_text().unwrap_or_default()
        }
        Value::Float4(_) | Value::Float8(_) => {
            let text = value.to_text().unwrap_or_default();
            if text.parse::<f64>().is_ok_and(f64::is_finite) {
                text
            } else {
                quoted(&text)
            }
        }
        Value::Json(s) | Value::Jsonb(s) => s.clone(),
        Value::Timestamp(t) | Value::TimestampTz(t) if !datetime::is_infinite_timestamp(*t) => {
            let tz = matches!(value, Value::TimestampTz(_));
            let text = datetime::format_timestamp(*t, false).replacen(' ', "T", 1);
            quoted(&if tz { text + "+00:00" } else { text })
        }
        other => quoted(&other.to_text().unwrap_or_default()),
    }
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn call_text(f: Function, args: &[Value]) -> Option<String> {
        call(f, args).unwrap().to_text()
    }

    #[test]
    fn operators_return_what_postgresql_returns() {
        let doc = Value::Json(r#"{"a": {"b" :1}, "l": [1, "x", null]}"#.into());
        let key = |k: &str| Value::Text(k.into());
        assert_eq!(
            call_text(Function::JsonGet, &[doc.clone(), key("a")]).as_deref(),
            Some(r#"{"b" :1}"#)
        );
        assert_eq!(
            call_text(Function::JsonPathText, &[doc.clone(), key("{l,1}")]).as_deref(),
            Some("x")
        );
        assert_eq!(
            call_text(Function::JsonPathText, &[doc.clone(), key("{l,2}")]),
            None
        );
        assert_eq!(
            call_text(Function::JsonGet, &[doc.clone(), Value::Int4(-1)]),
            None
        );
        let b = Value::Jsonb(json::canonical(r#"[1, 2, 3]"#).unwrap());
        assert_eq!(
            call_text(Function::JsonGet, &[b.clone(), Value::Int4(-1)]).as_deref(),
            Some("3")
        );
        assert_eq!(
            call_text(
                Function::JsonbBuildObject,
                &[key("b"), Value::Int4(1), key("a"), Value::Null]
            )
            .as_deref(),
            Some(r#"{"a": null, "b": 1}"#)
        );
        assert_eq!(
            call_text(
                Function::JsonBuildObject,
                &[key("b"), Value::Float8(f64::NAN)]
            )
            .as_deref(),
            Some(r#"{"b" : "NaN"}"#)
        );
        assert_eq!(
            call(Function::JsonArrayLength, &[doc]).unwrap_err().message,
            "cannot get array length of a non-array"
        );
    }
}
