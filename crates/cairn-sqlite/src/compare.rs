//! SQLite's ordering of values, its three built-in collations, and comparison of index keys.
//!
//! Values order by storage class first — NULL, then numbers (integers and reals compared
//! exactly with each other), then text by collation, then blobs by `memcmp` and length —
//! which is the order of every index b-tree. BINARY compares text as stored, so in a UTF-16
//! database it compares UTF-16 bytes, as SQLite does; NOCASE (ASCII case folding) and RTRIM
//! (trailing spaces ignored) compare UTF-8, as SQLite converts text for them.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::header::TextEncoding;
use crate::record::{compare_int_real, RawValue, RecordHeader, ValueRef};

/// A collating sequence for text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collation {
    Binary,
    NoCase,
    RTrim,
    /// A collation registered by an application; its order is unknown to this reader, so
    /// seeking an index by such a column is refused.
    Other(String),
}

impl Collation {
    /// The collation called `name` (case-insensitive).
    pub fn from_name(name: &str) -> Collation {
        match name.to_ascii_uppercase().as_str() {
            "BINARY" => Collation::Binary,
            "NOCASE" => Collation::NoCase,
            "RTRIM" => Collation::RTrim,
            _ => Collation::Other(name.to_string()),
        }
    }

    /// The collation's name as SQLite spells it.
    pub fn name(&self) -> &str {
        match self {
            Collation::Binary => "BINARY",
            Collation::NoCase => "NOCASE",
            Collation::RTrim => "RTRIM",
            Collation::Other(name) => name,
        }
    }
}

/// How one column of an index key compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOrder {
    pub collation: Collation,
    pub descending: bool,
}

impl KeyOrder {
    /// Ascending, BINARY: the order of rowids and of columns without a COLLATE clause.
    pub fn binary() -> KeyOrder {
        KeyOrder {
            collation: Collation::Binary,
            descending: false,
        }
    }
}

fn class(value: &ValueRef<'_>) -> u8 {
    match value {
        ValueRef::Null => 0,
        ValueRef::Integer(_) | ValueRef::Real(_) => 1,
        ValueRef::Text(_) => 2,
        ValueRef::Blob(_) => 3,
    }
}

/// Compares two values as SQLite does, text by `collation`; text bytes are in `encoding`.
/// `Collation::Other` compares as BINARY: callers refuse to seek by such columns.
pub fn compare_values(
    a: &ValueRef<'_>,
    b: &ValueRef<'_>,
    collation: &Collation,
    encoding: TextEncoding,
) -> Ordering {
    match (a, b) {
        (ValueRef::Integer(x), ValueRef::Integer(y)) => x.cmp(y),
        (ValueRef::Real(x), ValueRef::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (ValueRef::Integer(x), ValueRef::Real(y)) => compare_int_real(*x, *y),
        (ValueRef::Real(x), ValueRef::Integer(y)) => compare_int_real(*y, *x).reverse(),
        (ValueRef::Text(x), ValueRef::Text(y)) => compare_text(x, y, collation, encoding),
        (ValueRef::Blob(x), ValueRef::Blob(y)) => x.cmp(y),
        _ => class(a).cmp(&class(b)),
    }
}

fn compare_text(a: &[u8], b: &[u8], collation: &Collation, encoding: TextEncoding) -> Ordering {
    match collation {
        Collation::Binary | Collation::Other(_) => a.cmp(b),
        Collation::NoCase => {
            let (a, b) = (as_utf8(a, encoding), as_utf8(b, encoding));
            let fold = |bytes: &[u8]| bytes.iter().map(u8::to_ascii_lowercase).collect::<Vec<_>>();
            if a.iter().any(u8::is_ascii_uppercase) || b.iter().any(u8::is_ascii_uppercase) {
                fold(&a).cmp(&fold(&b))
            } else {
                a.cmp(&b)
            }
        }
        Collation::RTrim => {
            let (a, b) = (as_utf8(a, encoding), as_utf8(b, encoding));
            let trim =
                |bytes: &[u8]| bytes.len() - bytes.iter().rev().take_while(|&&c| c == b' ').count();
            a[..trim(&a)].cmp(&b[..trim(&b)])
        }
    }
}

fn as_utf8(bytes: &[u8], encoding: TextEncoding) -> Cow<'_, [u8]> {
    match encoding {
        TextEncoding::Utf8 => Cow::Borrowed(bytes),
        other => Cow::Owned(other.decode(bytes).into_bytes()),
    }
}

/// Compares the first `probe.len()` values of an index entry with `probe`, column by column
/// in the index's order. `Equal` means the entry starts with the probe.
pub fn compare_prefix(
    header: &RecordHeader,
    payload: &[u8],
    probe: &[RawValue],
    order: &[KeyOrder],
    encoding: TextEncoding,
) -> Ordering {
    for (i, wanted) in probe.iter().enumerate() {
        if i >= header.len() {
            // A shorter entry sorts first, as SQLite's record comparison does.
            return Ordering::Less;
        }
        let column = &order[i];
        let ordering = compare_values(
            &header.value(payload, i),
            &wanted.as_ref(),
            &column.collation,
            encoding,
        );
        let ordering = if column.descending {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: ValueRef<'_>, b: ValueRef<'_>, collation: Collation) -> Ordering {
        compare_values(&a, &b, &collation, TextEncoding::Utf8)
    }

    #[test]
    fn storage_classes_order_null_numbers_text_blobs() {
        let ordered = [
            ValueRef::Null,
            ValueRef::Integer(-5),
            ValueRef::Real(-4.5),
            ValueRef::Integer(7),
            ValueRef::Text(b"A"),
            ValueRef::Text(b"a"),
            ValueRef::Blob(b""),
            ValueRef::Blob(b"\x00"),
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(cmp(*a, *b, Collation::Binary), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn collations_fold_case_and_trailing_spaces() {
        assert_eq!(
            cmp(
                ValueRef::Text(b"ABC"),
                ValueRef::Text(b"abc"),
                Collation::NoCase
            ),
            Ordering::Equal
        );
        assert_eq!(
            cmp(
                ValueRef::Text(b"ABD"),
                ValueRef::Text(b"abc"),
                Collation::NoCase
            ),
            Ordering::Greater
        );
        assert_eq!(
            cmp(
                ValueRef::Text(b"ab  "),
                ValueRef::Text(b"ab"),
                Collation::RTrim
            ),
            Ordering::Equal
        );
        assert_eq!(
            cmp(
                ValueRef::Text(b"ab  "),
                ValueRef::Text(b"ab"),
                Collation::Binary
            ),
            Ordering::Greater
        );
    }
}
