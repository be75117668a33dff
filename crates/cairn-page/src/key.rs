//! Order-preserving encoding of index keys: a key made of several typed values becomes bytes
//! whose lexicographic order (`memcmp`) is the key's order, so the B+tree compares keys
//! without decoding them.
//!
//! Each value is a type tag followed by its body:
//!
//! ```text
//! tag   value    body
//! 0x10  Bool     one byte, 0 or 1
//! 0x18  Int      0x20 + n for a positive integer, then its n significant bytes big-endian
//! ..0x28         (1 <= n <= 8); 0x20 alone for zero; 0x20 - n for a negative one, then the
//!                n low bytes of its magnitude's complement. More bytes mean a larger
//!                magnitude, so the tag orders by sign and size and the body within a size;
//!                the shortest form is the only one (the first body byte is never 0x00 for
//!                a positive, never 0xFF for a negative). Small integers, the usual keys,
//!                take 2 to 4 bytes instead of 9
//! 0x30  Float    f64 bits, big-endian, with the sign bit flipped for positives and every
//!                bit flipped for negatives; NaN is made positive and -0.0 made 0.0 first,
//!                so NaN sorts above every number and -0.0 equals 0.0 (PostgreSQL's rules)
//! 0x40  Text     UTF-8 bytes with 0x00 written 0x00 0xFF, then the terminator 0x00 0x00
//! 0x50  Bytes    the same escaping as Text
//! 0xF0  Null     no body: NULL sorts after every value (PostgreSQL's default, NULLS LAST)
//! ```
//!
//! The escaping keeps prefixes ordered: "ab" < "ab\0" < "abc", and no encoded value is a
//! prefix of a different value of the same type, so concatenating values keeps composite keys
//! ordered column by column. Values of different types are ordered by tag; a column holds one
//! type (or NULL), so that order only matters for NULL.

use std::cmp::Ordering;

/// One value of an index key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

const BOOL: u8 = 0x10;
/// The tag of the integer zero; integers of n bytes have tags `INT ± n`.
const INT: u8 = 0x20;
const INT_MIN_TAG: u8 = INT - 8;
const INT_MAX_TAG: u8 = INT + 8;
const FLOAT: u8 = 0x30;
const TEXT: u8 = 0x40;
const BYTES: u8 = 0x50;
const NULL: u8 = 0xF0;

/// Appends the encoding of `values` to `out`.
pub fn encode_key(values: &[KeyValue], out: &mut Vec<u8>) {
    for v in values {
        match v {
            KeyValue::Null => out.push(NULL),
            KeyValue::Bool(b) => out.extend_from_slice(&[BOOL, u8::from(*b)]),
            KeyValue::Int(i) => encode_int(*i, out),
            KeyValue::Float(f) => {
                out.push(FLOAT);
                let f = if f.is_nan() {
                    f64::NAN.copysign(1.0)
                } else if *f == 0.0 {
                    0.0
                } else {
                    *f
                };
                let bits = f.to_bits();
                let ordered = if bits >> 63 == 1 {
                    !bits
                } else {
                    bits ^ (1 << 63)
                };
                out.extend_from_slice(&ordered.to_be_bytes());
            }
            KeyValue::Text(s) => {
                out.push(TEXT);
                escape(s.as_bytes(), out);
            }
            KeyValue::Bytes(b) => {
                out.push(BYTES);
                escape(b, out);
            }
        }
    }
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    let magnitude = i.unsigned_abs();
    let n = (u64::BITS - magnitude.leading_zeros()).div_ceil(8) as usize;
    let body = if i < 0 { !magnitude } else { magnitude };
    out.push(if i < 0 { INT - n as u8 } else { INT + n as u8 });
    out.extend_from_slice(&body.to_be_bytes()[8 - n..]);
}

/// The integer whose tag is `tag` (within the integer tags) and whose body starts `bytes`;
/// with the number of body bytes.
fn decode_int(tag: u8, bytes: &[u8]) -> Result<(i64, usize), &'static str> {
    let negative = tag < INT;
    let n = tag.abs_diff(INT) as usize;
    let body = bytes.get(..n).ok_or("truncated integer")?;
    match body.first() {
        Some(0) if !negative => return Err("integer not in its shortest form"),
        Some(0xFF) if negative => return Err("integer not in its shortest form"),
        _ => {}
    }
    let mut raw = [if negative { 0xFF } else { 0 }; 8];
    raw[8 - n..].copy_from_slice(body);
    let x = u64::from_be_bytes(raw);
    let value = if negative {
        let magnitude = !x;
        if magnitude > 1 << 63 {
            return Err("integer out of range");
        }
        (magnitude as i64).wrapping_neg()
    } else {
        i64::try_from(x).map_err(|_| "integer out of range")?
    };
    Ok((value, n))
}

fn escape(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Why bytes are not an encoded key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed index key at byte {at}: {what}")]
pub struct KeyError {
    pub at: usize,
    pub what: &'static str,
}

/// Decodes bytes produced by [`encode_key`].
pub fn decode_key(mut bytes: &[u8]) -> Result<Vec<KeyValue>, KeyError> {
    let total = bytes.len();
    let mut values = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        let at = total - bytes.len();
        let err = |what| KeyError { at, what };
        bytes = rest;
        let value = match tag {
            NULL => KeyValue::Null,
            BOOL => {
                let (&b, rest) = bytes.split_first().ok_or(err("truncated bool"))?;
                bytes = rest;
                match b {
                    0 => KeyValue::Bool(false),
                    1 => KeyValue::Bool(true),
                    _ => return Err(err("bool byte not 0 or 1")),
                }
            }
            INT_MIN_TAG..=INT_MAX_TAG => {
                let (value, n) = decode_int(tag, bytes).map_err(err)?;
                bytes = &bytes[n..];
                KeyValue::Int(value)
            }
            FLOAT => {
                let body: [u8; 8] = bytes
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(err("truncated number"))?;
                bytes = &bytes[8..];
                let x = u64::from_be_bytes(body);
                let bits = if x >> 63 == 1 { x ^ (1 << 63) } else { !x };
                KeyValue::Float(f64::from_bits(bits))
            }
            TEXT | BYTES => {
                let mut raw = Vec::new();
                loop {
                    match bytes {
                        [0, 0, rest @ ..] => {
                            bytes = rest;
                            break;
                        }
                        [0, 0xFF, rest @ ..] => {
                            raw.push(0);
                            bytes = rest;
                        }
                        [0, ..] | [] => return Err(err("unterminated string")),
                        [b, rest @ ..] => {
                            raw.push(*b);
                            bytes = rest;
                        }
                    }
                }
                if tag == TEXT {
                    KeyValue::Text(String::from_utf8(raw).map_err(|_| err("text is not UTF-8"))?)
                } else {
                    KeyValue::Bytes(raw)
                }
            }
            _ => return Err(err("unknown type tag")),
        };
        values.push(value);
    }
    Ok(values)
}

/// The SQL order of two key values of one column (NULLS LAST, NaN above numbers, -0 = 0):
/// the order [`encode_key`] preserves.
pub fn compare_values(a: &KeyValue, b: &KeyValue) -> Ordering {
    use KeyValue::*;
    let rank = |v: &KeyValue| match v {
        Bool(_) => 1,
        Int(_) => 2,
        Float(_) => 3,
        Text(_) => 4,
        Bytes(_) => 5,
        Null => 6,
    };
    match (a, b) {
        (Bool(x), Bool(y)) => x.cmp(y),
        (Int(x), Int(y)) => x.cmp(y),
        (Float(x), Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        },
        (Text(x), Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Bytes(x), Bytes(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(values: &[KeyValue]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_key(values, &mut out);
        out
    }

    fn model_cmp(a: &[KeyValue], b: &[KeyValue]) -> Ordering {
        for (x, y) in a.iter().zip(b) {
            match compare_values(x, y) {
                Ordering::Equal => continue,
                other => return other,
            }
        }
        a.len().cmp(&b.len())
    }

    #[test]
    fn edge_values_order_as_sql_does() {
        let ints = [
            i64::MIN,
            i64::MIN + 1,
            -(1 << 32),
            -65537,
            -65536,
            -256,
            -255,
            -1,
            0,
            1,
            255,
            256,
            65535,
            1 << 40,
            i64::MAX,
        ];
        for w in ints.windows(2) {
            let (a, b) = (key(&[KeyValue::Int(w[0])]), key(&[KeyValue::Int(w[1])]));
            assert!(a < b, "{w:?}");
            assert_eq!(decode_key(&a), Ok(vec![KeyValue::Int(w[0])]));
        }
        assert_eq!(key(&[KeyValue::Int(0)]), [INT]);
        assert_eq!(
            key(&[KeyValue::Int(1_000_000)]),
            [INT + 3, 0x0F, 0x42, 0x40]
        );
        let floats = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            1e-300,
            2.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for w in floats.windows(2) {
            assert!(
                key(&[KeyValue::Float(w[0])]) <= key(&[KeyValue::Float(w[1])]),
                "{w:?}"
            );
        }
        assert_eq!(key(&[KeyValue::Float(-0.0)]), key(&[KeyValue::Float(0.0)]));
        assert_eq!(
            key(&[KeyValue::Float(-f64::NAN)]),
            key(&[KeyValue::Float(f64::NAN)])
        );
        let text = ["", "a", "a\0", "a\0b", "ab", "b"];
        for w in text.windows(2) {
            assert!(
                key(&[KeyValue::Text(w[0].into())]) < key(&[KeyValue::Text(w[1].into())]),
                "{w:?}"
            );
        }
        assert!(
            key(&[KeyValue::Int(i64::MAX)]) < key(&[KeyValue::Null]),
            "NULLS LAST"
        );
    }

    #[test]
    fn malformed_keys_are_errors() {
        for bad in [
            &[0x99][..],
            &[INT + 3, 1, 2],
            &[INT + 2, 0, 7],
            &[INT - 1, 0xFF],
            &[INT + 8, 0x80, 0, 0, 0, 0, 0, 0, 0],
            &[INT - 8, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE],
            &[TEXT, b'a'],
            &[TEXT, 0, 7],
            &[BOOL, 2],
        ] {
            assert!(decode_key(bad).is_err(), "{bad:?}");
        }
    }

    fn column() -> impl Strategy<Value = KeyValue> {
        prop_oneof![
            1 => Just(KeyValue::Null),
            1 => any::<bool>().prop_map(KeyValue::Bool),
            3 => any::<i64>().prop_map(KeyValue::Int),
            3 => (-70_000i64..70_000).prop_map(KeyValue::Int),
            3 => any::<f64>().prop_map(KeyValue::Float),
            3 => "[a\\x00b]{0,4}".prop_map(KeyValue::Text),
            2 => prop::collection::vec(prop_oneof![Just(0u8), Just(1), Just(0xFF)], 0..4).prop_map(KeyValue::Bytes),
        ]
    }

    proptest! {
        #[test]
        fn byte_order_is_value_order(a in prop::collection::vec(column(), 0..4), b in prop::collection::vec(column(), 0..4)) {
            prop_assert_eq!(key(&a).cmp(&key(&b)), model_cmp(&a, &b), "{:?} vs {:?}", a, b);
        }

        #[test]
        fn decoding_inverts_encoding(a in prop::collection::vec(column(), 0..4)) {
            let back = decode_key(&key(&a)).expect("decodes");
            prop_assert_eq!(back.len(), a.len());
            for (x, y) in back.iter().zip(&a) {
                prop_assert_eq!(compare_values(x, y), Ordering::Equal, "{:?} vs {:?}", x, y);
            }
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_key(&bytes);
        }
    }
}
