//! The types on PostgreSQL's wire: each [`DataType`]'s OID and size, and its values in the
//! protocol's two formats — what PostgreSQL's `typsend`/`typreceive` functions do, kept with
//! the types so that the wire door and the clients cairn tests itself with (the
//! sqllogictest runner's `--wire`) read and write values the same way.
//!
//! The text format is the type's output and input function — [`Value::to_text`] and
//! [`Value::parse`], what psql prints and types. The binary format is PostgreSQL's `send`
//! and `recv` of each type, all integers big-endian:
//!
//! | type | binary |
//! |------|--------|
//! | boolean | one byte, 0 or 1 |
//! | smallint, integer, bigint | two, four, eight bytes |
//! | real, double precision | the IEEE 754 bits, four or eight bytes |
//! | numeric | `ndigits` i16, `weight` i16, `sign` u16 (`0x0000`, `0x4000` negative, `0xC000` NaN), `dscale` u16, then `ndigits` base-10000 digits as i16, the first of weight `weight` |
//! | text, varchar, char(n), json | the UTF-8 bytes |
//! | jsonb | a version byte, 1, then the text |
//! | bytea | the bytes |
//! | date | days since 2000-01-01, i32 |
//! | time | microseconds since midnight, i64 |
//! | timestamp, timestamptz | microseconds since 2000-01-01 00:00 (UTC), i64 |
//! | interval | microseconds i64, days i32, months i32 |
//! | uuid | the 16 bytes |
//! | oid, regclass, regtype, regnamespace | the oid, u32 |
//! | arrays | dimensions i32 (0 or 1), has-NULLs i32, element OID u32, then for one dimension its length i32 and lower bound i32 (1), then each element as length i32 (-1 for NULL) and its binary form |
//!
//! A parameter whose bytes do not fit its type is `22P03 incorrect binary data format`, as
//! PostgreSQL says it; a text parameter gets the type's own input error (`22P02`, `22007`…).

use crate::interval::Interval;
use crate::value::{DataType, Value};
use bytes::{BufMut, BytesMut};

/// PostgreSQL's OID of `ty`.
pub fn oid(ty: DataType) -> u32 {
    match ty {
        DataType::Bool => 16,
        DataType::Int2 => 21,
        DataType::Int4 => 23,
        DataType::Int8 => 20,
        DataType::Numeric => 1700,
        DataType::Float4 => 700,
        DataType::Float8 => 701,
        DataType::Text => 25,
        DataType::Bpchar => 1042,
        DataType::Bytea => 17,
        DataType::Date => 1082,
        DataType::Time => 1083,
        DataType::Timestamp => 1114,
        DataType::TimestampTz => 1184,
        DataType::Interval => 1186,
        DataType::Uuid => 2950,
        DataType::Json => 114,
        DataType::Jsonb => 3802,
        DataType::Oid => 26,
        DataType::RegClass => 2205,
        DataType::RegType => 2206,
        DataType::RegNamespace => 4089,
        DataType::Array(element) => array_oid(*element),
    }
}

/// The OID of the array type of `element`.
fn array_oid(element: DataType) -> u32 {
    match element {
        DataType::Bool => 1000,
        DataType::Int2 => 1005,
        DataType::Int4 => 1007,
        DataType::Int8 => 1016,
        DataType::Numeric => 1231,
        DataType::Float4 => 1021,
        DataType::Float8 => 1022,
        DataType::Bpchar => 1014,
        DataType::Bytea => 1001,
        DataType::Date => 1182,
        DataType::Time => 1183,
        DataType::Timestamp => 1115,
        DataType::TimestampTz => 1185,
        DataType::Interval => 1187,
        DataType::Uuid => 2951,
        DataType::Json => 199,
        DataType::Jsonb => 3807,
        DataType::Oid => 1028,
        DataType::RegClass => 2210,
        DataType::RegType => 2211,
        DataType::RegNamespace => 4090,
        DataType::Text | DataType::Array(_) => 1009,
    }
}

/// The type a client means by `oid` in Parse: `None` for 0 (unspecified: inferred) and for
/// types cairn does not have, which are inferred too. `varchar` and `name` are text.
pub fn from_oid(oid: u32) -> Option<DataType> {
    match oid {
        1043 | 19 => Some(DataType::Text),
        1015 | 1003 => Some(crate::array::of(DataType::Text)),
        _ => DataType::BASE
            .into_iter()
            .flat_map(|ty| [ty, crate::array::of(ty)])
            .find(|ty| self::oid(*ty) == oid),
    }
}

/// The `typlen` of `ty` (RowDescription's type size): its width, or -1 for varying.
pub fn size(ty: DataType) -> i16 {
    match ty {
        DataType::Bool => 1,
        DataType::Int2 => 2,
        DataType::Int4
        | DataType::Float4
        | DataType::Date
        | DataType::Oid
        | DataType::RegClass
        | DataType::RegType
        | DataType::RegNamespace => 4,
        DataType::Int8
        | DataType::Float8
        | DataType::Time
        | DataType::Timestamp
        | DataType::TimestampTz => 8,
        DataType::Interval | DataType::Uuid => 16,
        DataType::Numeric
        | DataType::Text
        | DataType::Bpchar
        | DataType::Bytea
        | DataType::Json
        | DataType::Jsonb
        | DataType::Array(_) => -1,
    }
}

/// Appends `value` in binary format to `out` (not NULL: the caller writes NULL's length).
pub fn encode_binary(value: &Value, out: &mut BytesMut) {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.put_u8(u8::from(*b)),
        Value::Int2(n) => out.put_i16(*n),
        Value::Int4(n) => out.put_i32(*n),
        Value::Int8(n) => out.put_i64(*n),
        Value::Float4(x) => out.put_u32(x.to_bits()),
        Value::Float8(x) => out.put_u64(x.to_bits()),
        Value::Numeric(n) => encode_numeric(&n.to_text(), out),
        Value::Text(s) | Value::Bpchar(s) | Value::Json(s) => out.put_slice(s.as_bytes()),
        Value::Jsonb(s) => {
            out.put_u8(1);
            out.put_slice(s.as_bytes());
        }
        Value::Bytea(b) => out.put_slice(b),
        Value::Date(d) => out.put_i32(*d),
        Value::Time(t) | Value::Timestamp(t) | Value::TimestampTz(t) => out.put_i64(*t),
        Value::Interval(i) => {
            out.put_i64(i.micros);
            out.put_i32(i.days);
            out.put_i32(i.months);
        }
        Value::Uuid(u) => out.put_slice(u),
        Value::Oid(n) => out.put_u32(*n),
        Value::Reg(reg) => out.put_u32(reg.oid),
        Value::Array(array) => encode_array(array, out),
    }
}

/// An array as `array_send` writes it: dimensions (0 or 1), a has-NULLs flag, the element
/// OID, the length and lower bound (1), then each element as length (-1 for NULL) and
/// bytes.
fn encode_array(array: &crate::value::Array, out: &mut BytesMut) {
    let has_null = array.items.iter().any(Value::is_null);
    out.put_i32(i32::from(!array.items.is_empty()));
    out.put_i32(i32::from(has_null));
    out.put_u32(oid(array.element));
    if array.items.is_empty() {
        return;
    }
    out.put_i32(array.items.len() as i32);
    out.put_i32(1);
    for item in &array.items {
        if item.is_null() {
            out.put_i32(-1);
            continue;
        }
        let at = out.len();
        out.put_i32(0);
        encode_binary(item, out);
        let len = (out.len() - at - 4) as i32;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// An array in `array_recv`'s format, of elements of `element`; `None` if malformed or not
/// one-dimensional.
fn decode_array(element: DataType, bytes: &[u8]) -> Option<Value> {
    let mut rest = bytes;
    let mut int = || -> Option<i32> {
        let (head, tail) = rest.split_first_chunk::<4>()?;
        rest = tail;
        Some(i32::from_be_bytes(*head))
    };
    let dims = int()?;
    let _has_null = int()?;
    let _element_oid = int()?;
    let len = match dims {
        0 => 0,
        1 => {
            let len = int()?;
            let _lower = int()?;
            usize::try_from(len).ok()?
        }
        _ => return None,
    };
    let mut items = Vec::with_capacity(len.min(1024));
    for _ in 0..len {
        let (head, tail) = rest.split_first_chunk::<4>()?;
        let size = i32::from_be_bytes(*head);
        rest = tail;
        if size < 0 {
            items.push(Value::Null);
            continue;
        }
        let size = usize::try_from(size).ok()?;
        if rest.len() < size {
            return None;
        }
        let (item, tail) = rest.split_at(size);
        rest = tail;
        items.push(decode_binary(element, item)?);
    }
    rest.is_empty().then(|| crate::array::value(element, items))
}

/// A numeric's text (`-12.3400`, `NaN`; never an exponent) as `numeric_send` writes it.
fn encode_numeric(text: &str, out: &mut BytesMut) {
    if text == "NaN" {
        out.put_slice(&[0, 0, 0, 0, 0xC0, 0, 0, 0]);
        return;
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let int_part = int_part.trim_start_matches('0');
    // Base-10000 digits: the integer part grouped from the point leftwards, the fraction
    // from the point rightwards, each padded to whole groups with zeros.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let int_digits = format!("{}{int_part}", "0".repeat(int_pad));
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let frac_digits = format!("{frac_part}{}", "0".repeat(frac_pad));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
            .collect()
    };
    let mut digits = group(&int_digits);
    let mut weight = digits.len() as i16 - 1;
    digits.extend(group(&frac_digits));
    // Leading zero groups (a value below 1) lower the weight; trailing ones are dropped.
    let leading = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..leading);
    weight -= leading as i16;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    out.put_i16(digits.len() as i16);
    out.put_i16(weight);
    out.put_u16(if negative && !digits.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(frac_part.len() as u16);
    for d in digits {
        out.put_i16(d);
    }
}

/// A numeric in binary format, as its text, or `None` if the bytes are not one.
fn decode_numeric(bytes: &[u8]) -> Option<String> {
    let header = bytes.get(..8)?;
    let ndigits = i16::from_be_bytes([header[0], header[1]]);
    let weight = i16::from_be_bytes([header[2], header[3]]);
    let sign = u16::from_be_bytes([header[4], header[5]]);
    let dscale = u16::from_be_bytes([header[6], header[7]]);
    if sign == 0xC000 {
        return Some("NaN".into());
    }
    let body = &bytes[8..];
    if ndigits < 0 || body.len() != ndigits as usize * 2 || !matches!(sign, 0 | 0x4000) {
        return None;
    }
    let digits: Vec<i16> = body
        .chunks(2)
        .map(|c| i16::from_be_bytes([c[0], c[1]]))
        .collect();
    if digits.iter().any(|d| !(0..10_000).contains(d)) || dscale > 16_383 {
        return None;
    }
    if !(-10_000..10_000).contains(&weight) {
        return None;
    }
    // Digit i has weight `weight - i`: write the integer groups, then the fraction's.
    let mut int_part = String::new();
    let mut frac_part = String::new();
    for w in (0..=weight.max(0)).rev() {
        let i = (weight - w) as usize;
        let d = if weight >= 0 {
            digits.get(i).copied().unwrap_or(0)
        } else {
            0
        };
        int_part.push_str(&format!("{d:04}"));
    }
    for w in 1..=(i32::from(dscale) + 3) / 4 {
        let i = i32::from(weight) + w;
        let d = usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0);
        frac_part.push_str(&format!("{d:04}"));
    }
    frac_part.truncate(usize::from(dscale));
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    })
}

/// A parameter of type `ty` sent in binary format; `None` if its bytes are not one.
pub fn decode_binary(ty: DataType, bytes: &[u8]) -> Option<Value> {
    fn array<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
        bytes.try_into().ok()
    }
    let utf8 = |b: &[u8]| std::str::from_utf8(b).ok().map(str::to_string);
    Some(match ty {
        DataType::Bool => match bytes {
            [b] => Value::Bool(*b != 0),
            _ => return None,
        },
        DataType::Int2 => Value::Int2(i16::from_be_bytes(array(bytes)?)),
        DataType::Int4 => Value::Int4(i32::from_be_bytes(array(bytes)?)),
        DataType::Int8 => Value::Int8(i64::from_be_bytes(array(bytes)?)),
        DataType::Float4 => Value::Float4(f32::from_bits(u32::from_be_bytes(array(bytes)?))),
        DataType::Float8 => Value::Float8(f64::from_bits(u64::from_be_bytes(array(bytes)?))),
        DataType::Numeric => Value::parse(DataType::Numeric, &decode_numeric(bytes)?).ok()?,
        DataType::Text => Value::Text(utf8(bytes)?),
        DataType::Bpchar => Value::Bpchar(utf8(bytes)?),
        DataType::Json => Value::parse(DataType::Json, &utf8(bytes)?).ok()?,
        DataType::Jsonb => match bytes.split_first() {
            Some((1, text)) => Value::parse(DataType::Jsonb, &utf8(text)?).ok()?,
            _ => return None,
        },
        DataType::Bytea => Value::Bytea(bytes.to_vec()),
        DataType::Date => Value::Date(i32::from_be_bytes(array(bytes)?)),
        DataType::Time => Value::Time(i64::from_be_bytes(array(bytes)?)),
        DataType::Timestamp => Value::Timestamp(i64::from_be_bytes(array(bytes)?)),
        DataType::TimestampTz => Value::TimestampTz(i64::from_be_bytes(array(bytes)?)),
        DataType::Interval => {
            let b: [u8; 16] = array(bytes)?;
            Value::Interval(Interval {
                micros: i64::from_be_bytes(array(&b[..8])?),
                days: i32::from_be_bytes(array(&b[8..12])?),
                months: i32::from_be_bytes(array(&b[12..])?),
            })
        }
        DataType::Uuid => Value::Uuid(array(bytes)?),
        DataType::Oid => Value::Oid(u32::from_be_bytes(array(bytes)?)),
        DataType::RegClass | DataType::RegType | DataType::RegNamespace => {
            let oid = u32::from_be_bytes(array(bytes)?);
            Value::Reg(Box::new(crate::value::Reg {
                ty,
                oid,
                name: oid.to_string(),
            }))
        }
        DataType::Array(element) => decode_array(*element, bytes)?,
    })
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_round_trip(text: &str) -> String {
        let mut out = BytesMut::new();
        encode_numeric(text, &mut out);
        decode_numeric(&out).unwrap()
    }

    #[test]
    fn numerics_survive_the_binary_format() {
        for text in [
            "0",
            "1",
            "-1",
            "10000",
            "12345.678",
            "-0.0001",
            "0.00012300",
            "99999999.99",
            "NaN",
            "123456789012345678901234567890.5",
            "0.5",
            "1.0000",
        ] {
            assert_eq!(numeric_round_trip(text), text, "{text}");
        }
    }

    #[test]
    fn numerics_are_written_as_postgresql_sends_them() {
        // SELECT numeric_send(12345.678) on PostgreSQL 15: 0003 0001 0000 0003 0001 0929 1A7C
        let mut out = BytesMut::new();
        encode_numeric("12345.678", &mut out);
        assert_eq!(
            out.as_ref(),
            [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C]
        );
    }

    #[test]
    fn every_type_round_trips_through_binary() {
        let values = [
            Value::Bool(true),
            Value::Int2(-7),
            Value::Int4(1 << 20),
            Value::Int8(-(1 << 40)),
            Value::Float4(1.5),
            Value::Float8(-2.25),
            Value::Text("héllo".into()),
            Value::Bytea(vec![0, 255, 1]),
            Value::Date(-3),
            Value::Time(3_600_000_000),
            Value::Timestamp(1_000_000),
            Value::TimestampTz(-1),
            Value::Interval(Interval {
                months: 14,
                days: -3,
                micros: 5,
            }),
            Value::Uuid([7; 16]),
            Value::Jsonb("{\"a\": 1}".into()),
        ];
        for value in values {
            let ty = value.data_type().unwrap();
            let mut out = BytesMut::new();
            encode_binary(&value, &mut out);
            assert_eq!(decode_binary(ty, &out), Some(value));
        }
    }

    #[test]
    fn malformed_binary_parameters_are_refused() {
        assert_eq!(decode_binary(DataType::Int4, &[0, 0, 1]), None);
        assert_eq!(decode_binary(DataType::Text, &[0xff]), None);
        assert_eq!(
            decode_binary(DataType::Numeric, &[0, 1, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert_eq!(decode_binary(DataType::Jsonb, b"{}"), None);
    }
}
