//! `json` and `jsonb`: JSON documents, validated on input, with PostgreSQL 15's operators.
//!
//! A `json` value is its input text, kept verbatim (spacing, key order, duplicate keys);
//! a `jsonb` value is its canonical text, which is what PostgreSQL prints for a `jsonb`:
//! object keys unique (the last one written wins) and ordered shorter first, then by bytes;
//! `", "` between elements and `": "` after keys; numbers as `numeric` prints them (`1e2`
//! is `100`, `1.50` stays `1.50`); strings with only the escapes JSON needs. Both are
//! parsed again by each operator: a [`Node`] keeps the byte span of every element, so `->`
//! on a `json` returns the element's text exactly as written, as PostgreSQL's does.
//!
//! Operators: `->` (an object's field by key, an array's element by index, negative from
//! the end for `jsonb`), `->>` (the same as text: a string unquoted, JSON `null` as SQL
//! NULL), `#>`/`#>>` (by a path `'{a,0,b}'`), `@>` (jsonb containment) and `?` (a key
//! or array string exists). Invalid JSON is `22P02 invalid input syntax for type json`.

use std::cmp::Ordering;
use std::ops::Range;

use crate::error::{Error, Result, SqlState};
use crate::numeric::Numeric;

/// A parsed JSON element and where its text is in the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// A number; its text is the node's span.
    Number,
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// How deep arrays and objects may nest (PostgreSQL checks the stack depth instead).
const MAX_DEPTH: usize = 1000;

/// Parses a JSON document (`jsonb`: `\u0000` is refused, as PostgreSQL refuses it there).
pub fn parse(text: &str, jsonb: bool) -> Result<Node> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        jsonb,
    };
    parser.skip_space();
    let node = parser.value(0)?;
    parser.skip_space();
    if parser.at != parser.bytes.len() {
        return Err(parser.invalid());
    }
    Ok(node)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
    jsonb: bool,
}

impl Parser<'_> {
    fn invalid(&self) -> Error {
        Error::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            "invalid input syntax for type json",
        )
    }

    fn skip_space(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let found = self.bytes.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return Err(Error::new(
                SqlState::STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded",
            ));
        }
        self.skip_space();
        let start = self.at;
        let kind = match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_space();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.invalid());
                        }
                        fields.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.invalid());
                        }
                    }
                }
                Kind::Object(fields)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.invalid());
                        }
                    }
                }
                Kind::Array(items)
            }
            Some(b'"') => Kind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Kind::Number
            }
            _ => {
                let rest = &self.text[self.at..];
                let (kind, len) = if rest.starts_with("true") {
                    (Kind::Bool(true), 4)
                } else if rest.starts_with("false") {
                    (Kind::Bool(false), 5)
                } else if rest.starts_with("null") {
                    (Kind::Null, 4)
                } else {
                    return Err(self.invalid());
                };
                self.at += len;
                if self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    return Err(self.invalid());
                }
                kind
            }
        };
        Ok(Node {
            kind,
            span: start..self.at,
        })
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<()> {
        let digits = |p: &mut Self| {
            let from = p.at;
            while p.bytes.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at - from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let first = self.bytes.get(self.at).copied();
        let integer = digits(self);
        if integer == 0 || (first == Some(b'0') && integer > 1) {
            return Err(self.invalid());
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return Err(self.invalid());
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(self.invalid());
            }
        }
        Ok(())
    }

    /// A string, its escapes decoded.
    fn string(&mut self) -> Result<String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(self.invalid());
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let run = self.text[self.at..]
                .find(|c: char| c == '"' || c == '\\' || (c as u32) < 0x20)
                .ok_or_else(|| self.invalid())?;
            out.push_str(&self.text[self.at..self.at + run]);
            self.at += run;
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.at += 1;
                    let escape = *self.bytes.get(self.at).ok_or_else(|| self.invalid())?;
                    self.at += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(self.invalid()),
                    }
                }
                _ => return Err(self.invalid()),
            }
        }
    }

    /// The character of `\uXXXX` (and of a following low surrogate's escape).
    fn unicode_escape(&mut self) -> Result<char> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !self.text[self.at..].starts_with("\\u") {
                return Err(self.invalid());
            }
            self.at += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.invalid());
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        if code == 0 && self.jsonb {
            return Err(Error::new(
                SqlState("22P05"),
                "unsupported Unicode escape sequence",
            ));
        }
        char::from_u32(code).ok_or_else(|| self.invalid())
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.invalid())?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.invalid())?;
        self.at += 4;
        Ok(code)
    }
}

/// The canonical `jsonb` text of `text` (validated).
pub fn canonical(text: &str) -> Result<String> {
    let node = parse(text, true)?;
    let mut out = String::with_capacity(text.len());
    write_canonical(text, &node, &mut out);
    Ok(out)
}

/// Appends the canonical text of `node` (of the document `text`).
pub fn write_canonical(text: &str, node: &Node, out: &mut String) {
    match &node.kind {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Number => {
            let raw = &text[node.span.clone()];
            match Numeric::parse(raw) {
                Some(n) => out.push_str(&n.to_text()),
                None => out.push_str(raw),
            }
        }
        Kind::String(s) => write_string(s, out),
        Kind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_canonical(text, item, out);
            }
            out.push(']');
        }
        Kind::Object(fields) => {
            out.push('{');
            for (i, (key, value)) in unique_sorted(fields).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(key, out);
                out.push_str(": ");
                write_canonical(text, value, out);
            }
            out.push('}');
        }
    }
}

/// An object's fields as `jsonb` keeps them: one per key (the last), shorter keys first.
fn unique_sorted(fields: &[(String, Node)]) -> Vec<&(String, Node)> {
    let mut sorted: Vec<(usize, &(String, Node))> = fields.iter().enumerate().collect();
    sorted.sort_by(|(i, (a, _)), (j, (b, _))| key_order(a, b).then(j.cmp(i)));
    sorted.dedup_by(|later, earlier| later.1 .0 == earlier.1 .0);
    sorted.into_iter().map(|(_, field)| field).collect()
}

/// `jsonb`'s order of object keys: by length, then bytes.
fn key_order(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Appends `s` as a JSON string.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A step of a path into a document: an object key, or an array index (negative from the
/// end).
#[derive(Debug, Clone)]
pub enum Step {
    Key(String),
    Index(i64),
}

/// The element `step` selects in `node`, if there is one.
pub fn select<'n>(node: &'n Node, step: &Step) -> Option<&'n Node> {
    match (&node.kind, step) {
        (Kind::Object(fields), Step::Key(key)) => {
            fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
        }
        (Kind::Array(items), Step::Index(i)) => {
            let len = items.len() as i64;
            let at = if *i < 0 { len + i } else { *i };
            usize::try_from(at).ok().and_then(|at| items.get(at))
        }
        _ => None,
    }
}

/// The element at the end of a path given as text (`{a,0,b}`): each step a key of an object
/// or, for an array, an index.
pub fn select_path<'n>(node: &'n Node, path: &str) -> Result<Option<&'n Node>> {
    let inner = path
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .ok_or_else(|| {
            Error::new(
                SqlState::INVALID_TEXT_REPRESENTATION,
                format!("malformed array literal: \"{path}\""),
            )
        })?;
    let mut current = node;
    if inner.trim().is_empty() {
        return Ok(Some(current));
    }
    for part in inner.split(',') {
        let part = part.trim().trim_matches('"');
        let step = match (&current.kind, part.parse::<i64>()) {
            (Kind::Array(_), Ok(i)) => Step::Index(i),
            (Kind::Array(_), Err(_)) => return Ok(None),
            _ => Step::Key(part.to_string()),
        };
        match select(current, &step) {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// An element as `->>` gives it: a string's contents, any other element's text, JSON
/// `null` as `None`.
pub fn as_text(text: &str, node: &Node) -> Option<String> {
    match &node.kind {
        Kind::Null => None,
        Kind::String(s) => Some(s.clone()),
        _ => Some(text[node.span.clone()].to_string()),
    }
}

/// `a @> b` of two `jsonb` documents: every element of `b` is in `a` (objects by key,
/// arrays as sets; a scalar array contains its scalar).
pub fn contains(a_text: &str, a: &Node, b_text: &str, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Object(fields), Kind::Object(wanted)) => wanted.iter().all(|(key, want)| {
            fields
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .is_some_and(|(_, have)| contains(a_text, have, b_text, want))
        }),
        (Kind::Array(items), Kind::Array(wanted)) => wanted.iter().all(|want| {
            items.iter().any(|have| {
                !matches!(have.kind, Kind::Array(_)) == !matches!(want.kind, Kind::Array(_))
                    && contains(a_text, have, b_text, want)
            })
        }),
        (Kind::Array(items), _) if !matches!(b.kind, Kind::Object(_)) => items
            .iter()
            .any(|have| scalar_equal(a_text, have, b_text, b)),
        _ => scalar_equal(a_text, a, b_text, b),
    }
}

fn scalar_equal(a_text: &str, a: &Node, b_text: &str, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Null, Kind::Null) => true,
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::String(x), Kind::String(y)) => x == y,
        (Kind::Number, Kind::Number) => {
            match (
                Numeric::parse(&a_text[a.span.clone()]),
                Numeric::parse(&b_text[b.span.clone()]),
            ) {
                (Some(x), Some(y)) => x.compare(&y) == Ordering::Equal,
                _ => false,
            }
        }
        _ => false,
    }
}

/// `doc ? key`: `key` is a key of the top-level object, or a string of the top-level array.
pub fn has_key(node: &Node, key: &str) -> bool {
    match &node.kind {
        Kind::Object(fields) => fields.iter().any(|(k, _)| k == key),
        Kind::Array(items) => items
            .iter()
            .any(|i| matches!(&i.kind, Kind::String(s) if s == key)),
        Kind::String(s) => s == key,
        _ => false,
    }
}

/// `json_typeof`: `object`, `array`, `string`, `number`, `boolean` or `null`.
pub fn type_name(node: &Node) -> &'static str {
    match node.kind {
        Kind::Null => "null",
        Kind::Bool(_) => "boolean",
        Kind::Number => "number",
        Kind::String(_) => "string",
        Kind::Array(_) => "array",
        Kind::Object(_) => "object",
    }
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_is_canonical_as_in_postgresql() {
        assert_eq!(
            canonical(r#"{"b":1, "a" : [1.50,1e2,"x\u00e9\n"], "b": true, "aa": null}"#).unwrap(),
            r#"{"a": [1.50, 100, "xé\n"], "b": true, "aa": null}"#
        );
        assert_eq!(canonical(" 12 ").unwrap(), "12");
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "tru",
            "nulls",
            "{\"a\" 1}",
            "\"\\x\"",
            "'a'",
        ] {
            assert_eq!(
                canonical(bad).unwrap_err().state.0,
                "22P02",
                "{bad} should be refused"
            );
        }
        assert_eq!(canonical(r#""\u0000""#).unwrap_err().state.0, "22P05");
        assert!(parse(r#""\u0000""#, false).is_ok());
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        assert!(parse(&deep, false).is_err());
    }

    #[test]
    fn operators_select_and_contain() {
        let text = r#"{"a": {"b": [10, 20, {"c": "x"}]}, "n": null}"#;
        let doc = parse(text, false).unwrap();
        let a = select(&doc, &Step::Key("a".into())).unwrap();
        assert_eq!(&text[a.span.clone()], r#"{"b": [10, 20, {"c": "x"}]}"#);
        let c = select_path(&doc, "{a,b,-1,c}").unwrap().unwrap();
        assert_eq!(as_text(text, c).as_deref(), Some("x"));
        assert_eq!(
            as_text(text, select(&doc, &Step::Key("n".into())).unwrap()),
            None
        );
        assert!(select_path(&doc, "{a,x}").unwrap().is_none());
        let small = r#"{"a": {"b": [20]}}"#;
        assert!(contains(text, &doc, small, &parse(small, true).unwrap()));
        let other = r#"{"a": {"b": [30]}}"#;
        assert!(!contains(text, &doc, other, &parse(other, true).unwrap()));
        assert!(has_key(&doc, "n") && !has_key(&doc, "z"));
    }
}
