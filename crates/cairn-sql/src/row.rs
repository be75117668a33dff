//! The on-disk form of a row: what a heap tuple of a table holds.
//!
//! ```text
//! row    = count u16, then per column: tag u8, payload
//! tag    0 NULL (no payload) · 1 boolean (1 byte) · 2 smallint (2) · 3 integer (4) ·
//!        4 bigint (8) · 5 double precision (8, IEEE bits) · 6 text (len u32, UTF-8 bytes) ·
//!        7 numeric (len u32, its text: `-12.50`, `NaN`) · 8 real (4, IEEE bits) ·
//!        9 character (len u32, UTF-8 bytes, padded) · 10 bytea (len u32, bytes) ·
//!        11 date (4: days since 2000-01-01) · 12 time (8: µs since midnight) ·
//!        13 timestamp (8: µs since 2000-01-01) · 14 timestamptz (8: µs since 2000-01-01 UTC) ·
//!        15 interval (16: months i32, days i32, µs i64) · 16 uuid (16 bytes) ·
//!        17 json (len u32, its text) · 18 jsonb (len u32, its canonical text) ·
//!        19 oid (4) · 20 regclass/regtype/regnamespace (len u32, then: type u8 (0 class,
//!        1 type, 2 namespace), oid u32, name UTF-8) · 21 array (len u32, then: element
//!        type u8 (its place in `crate::array`'s list), the elements as a row)
//! ```
//!
//! Little-endian throughout. Each value carries its tag, so a row decodes without its
//! table's definition (the catalog's own rows are read that way) and a tag that disagrees
//! with the catalog is detected. A row that does not decode is `XX001 data_corrupted`, never
//! a wrong value.

use crate::error::{Error, Result, SqlState};
use crate::interval::Interval;
use crate::numeric::Numeric;
use crate::value::{DataType, Reg, Value};

/// Appends the encoding of `row` to `out`.
pub fn encode(row: &[Value], out: &mut Vec<u8>) {
    out.extend_from_slice(&(row.len() as u16).to_le_bytes());
    for value in row {
        match value {
            Value::Null => out.push(0),
            Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
            Value::Int2(n) => {
                out.push(2);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Int4(n) => {
                out.push(3);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Int8(n) => {
                out.push(4);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Float8(x) => {
                out.push(5);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            Value::Text(s) => {
                out.push(6);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Numeric(n) => {
                let text = n.to_text();
                out.push(7);
                out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Value::Float4(x) => {
                out.push(8);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            Value::Bpchar(s) => {
                out.push(9);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Bytea(b) => {
                out.push(10);
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(b);
            }
            Value::Date(d) => {
                out.push(11);
                out.extend_from_slice(&d.to_le_bytes());
            }
            Value::Time(t) => {
                out.push(12);
                out.extend_from_slice(&t.to_le_bytes());
            }
            Value::Timestamp(t) => {
                out.push(13);
                out.extend_from_slice(&t.to_le_bytes());
            }
            Value::TimestampTz(t) => {
                out.push(14);
                out.extend_from_slice(&t.to_le_bytes());
            }
            Value::Interval(i) => {
                out.push(15);
                out.extend_from_slice(&i.months.to_le_bytes());
                out.extend_from_slice(&i.days.to_le_bytes());
                out.extend_from_slice(&i.micros.to_le_bytes());
            }
            Value::Uuid(u) => {
                out.push(16);
                out.extend_from_slice(u);
            }
            Value::Json(s) | Value::Jsonb(s) => {
                out.push(if matches!(value, Value::Json(_)) {
                    17
                } else {
                    18
                });
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Oid(n) => {
                out.push(19);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Reg(reg) => {
                out.push(20);
                let kind = match reg.ty {
                    DataType::RegType => 1,
                    DataType::RegNamespace => 2,
                    _ => 0,
                };
                out.extend_from_slice(&(5 + reg.name.len() as u32).to_le_bytes());
                out.push(kind);
                out.extend_from_slice(&reg.oid.to_le_bytes());
                out.extend_from_slice(reg.name.as_bytes());
            }
            Value::Array(array) => {
                out.push(21);
                let mut payload = vec![crate::array::element_code(array.element)];
                encode(&array.items, &mut payload);
                out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                out.extend_from_slice(&payload);
            }
        }
    }
}

/// A key under which rows that SQL counts as equal (for `GROUP BY`, `DISTINCT`, set
/// operations) are equal bytes: each number as its value in the widest type (an integer as a
/// bigint, a double with `-0` as `0` and every NaN as one NaN), NULL equal to NULL.
pub fn group_key(row: &[Value]) -> Vec<u8> {
    let normal: Vec<Value> = row
        .iter()
        .map(|v| match v {
            Value::Int2(n) => Value::Int8(i64::from(*n)),
            Value::Int4(n) => Value::Int8(i64::from(*n)),
            Value::Float8(x) if *x == 0.0 => Value::Float8(0.0),
            Value::Float8(x) if x.is_nan() => Value::Float8(f64::NAN),
            Value::Float4(x) => Value::Float8(if x.is_nan() {
                f64::NAN
            } else {
                f64::from(*x) + 0.0
            }),
            Value::Numeric(n) => Value::Numeric(n.strip_trailing_zeros()),
            Value::Bpchar(s) => Value::Bpchar(s.trim_end_matches(' ').to_string()),
            Value::Interval(i) => Value::Bytea(crate::index::interval_order_key(i)),
            other => other.clone(),
        })
        .collect();
    let mut out = Vec::new();
    encode(&normal, &mut out);
    out
}

/// A length-prefixed run of bytes.
fn take_bytes<'b>(rest: &mut &'b [u8]) -> Result<&'b [u8]> {
    let len = u32::from_le_bytes(take(rest)?) as usize;
    if rest.len() < len {
        return Err(corrupt("a value runs past its row"));
    }
    let (bytes, tail) = rest.split_at(len);
    *rest = tail;
    Ok(bytes)
}

/// A length-prefixed UTF-8 string.
fn take_text(rest: &mut &[u8]) -> Result<String> {
    String::from_utf8(take_bytes(rest)?.to_vec()).map_err(|_| corrupt("a text value is not UTF-8"))
}

/// The row encoded in `bytes`, with only the columns `needed` marks decoded (the others
/// NULL); all when `needed` is `None` (or shorter than the row).
pub fn decode_needed(bytes: &[u8], needed: Option<&[bool]>) -> Result<Vec<Value>> {
    let mut row = Vec::new();
    decode_needed_into(bytes, needed, &mut row)?;
    Ok(row)
}

/// [`decode_needed`] into `row`, which is emptied first (its allocation kept).
pub fn decode_needed_into(
    bytes: &[u8],
    needed: Option<&[bool]>,
    row: &mut Vec<Value>,
) -> Result<()> {
    let needed = needed.unwrap_or(&[]);
    let mut rest = bytes;
    let count = u16::from_le_bytes(take::<2>(&mut rest)?);
    row.clear();
    row.reserve(usize::from(count));
    for i in 0..usize::from(count) {
        if needed.get(i).copied().unwrap_or(true) {
            row.push(decode_value(&mut rest)?);
            continue;
        }
        let [tag] = take::<1>(&mut rest)?;
        let skip = match tag {
            0 => 0,
            1 => 1,
            2 => 2,
            3 | 8 | 11 | 19 => 4,
            4 | 5 | 12 | 13 | 14 => 8,
            15 | 16 => 16,
            6 | 7 | 9 | 10 | 17 | 18 | 20 | 21 => u32::from_le_bytes(take(&mut rest)?) as usize,
            other => return Err(corrupt(&format!("unknown value tag {other}"))),
        };
        if rest.len() < skip {
            return Err(corrupt("a value runs past its row"));
        }
        rest = &rest[skip..];
        row.push(Value::Null);
    }
    if !rest.is_empty() {
        return Err(corrupt("bytes after the last column"));
    }
    Ok(())
}

/// The row encoded in `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Vec<Value>> {
    decode_needed(bytes, Some(&[]))
}

/// One value (tag and payload) off the front of `rest`.
fn decode_value(rest: &mut &[u8]) -> Result<Value> {
    let [tag] = take::<1>(rest)?;
    Ok(match tag {
        0 => Value::Null,
        1 => Value::Bool(take::<1>(rest)?[0] != 0),
        2 => Value::Int2(i16::from_le_bytes(take(rest)?)),
        3 => Value::Int4(i32::from_le_bytes(take(rest)?)),
        4 => Value::Int8(i64::from_le_bytes(take(rest)?)),
        5 => Value::Float8(f64::from_bits(u64::from_le_bytes(take(rest)?))),
        6 => Value::Text(take_text(rest)?),
        7 => Value::Numeric(
            Numeric::parse(&take_text(rest)?)
                .ok_or_else(|| corrupt("a numeric value is not a number"))?,
        ),
        8 => Value::Float4(f32::from_bits(u32::from_le_bytes(take(rest)?))),
        9 => Value::Bpchar(take_text(rest)?),
        10 => Value::Bytea(take_bytes(rest)?.to_vec()),
        11 => Value::Date(i32::from_le_bytes(take(rest)?)),
        12 => Value::Time(i64::from_le_bytes(take(rest)?)),
        13 => Value::Timestamp(i64::from_le_bytes(take(rest)?)),
        14 => Value::TimestampTz(i64::from_le_bytes(take(rest)?)),
        15 => Value::Interval(Interval {
            months: i32::from_le_bytes(take(rest)?),
            days: i32::from_le_bytes(take(rest)?),
            micros: i64::from_le_bytes(take(rest)?),
        }),
        16 => Value::Uuid(take(rest)?),
        17 => Value::Json(take_text(rest)?),
        18 => Value::Jsonb(take_text(rest)?),
        19 => Value::Oid(u32::from_le_bytes(take(rest)?)),
        20 => {
            let mut payload = take_bytes(rest)?;
            let [kind] = take::<1>(&mut payload)?;
            let oid = u32::from_le_bytes(take(&mut payload)?);
            let name = String::from_utf8(payload.to_vec())
                .map_err(|_| corrupt("a reg value's name is not UTF-8"))?;
            let ty = match kind {
                0 => DataType::RegClass,
                1 => DataType::RegType,
                2 => DataType::RegNamespace,
                _ => return Err(corrupt("unknown reg type")),
            };
            Value::Reg(Box::new(Reg { ty, oid, name }))
        }
        21 => {
            let mut payload = take_bytes(rest)?;
            let [code] = take::<1>(&mut payload)?;
            let element = crate::array::element_of_code(code)
                .ok_or_else(|| corrupt("unknown array element type"))?;
            crate::array::value(element, decode(payload)?)
        }
        other => return Err(corrupt(&format!("unknown value tag {other}"))),
    })
}

fn take<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N]> {
    if rest.len() < N {
        return Err(corrupt("a row is cut short"));
    }
    let (head, tail) = rest.split_at(N);
    *rest = tail;
    Ok(head.try_into().expect("N bytes"))
}

fn corrupt(what: &str) -> Error {
    Error::new(SqlState::DATA_CORRUPTED, format!("damaged row: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_damage_is_an_error() {
        let row = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int2(-7),
            Value::Int4(i32::MIN),
            Value::Int8(i64::MAX),
            Value::Float8(-0.0),
            Value::Text("héllo".into()),
        ];
        let mut bytes = Vec::new();
        encode(&row, &mut bytes);
        assert_eq!(decode(&bytes), Ok(row));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        bytes[2] = 99;
        assert_eq!(
            decode(&bytes).expect_err("bad tag").state,
            SqlState::DATA_CORRUPTED
        );
    }
}
