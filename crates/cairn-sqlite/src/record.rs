//! Varints and the record format: how SQLite stores a row or an index key in a cell.
//!
//! On-disk format: a record is a header and a body. The header starts with its own length in
//! bytes as a varint, followed by one varint "serial type" per column; the body holds the
//! column values back to back, each as long as its serial type says:
//!
//! | serial type | value | body bytes |
//! | --- | --- | --- |
//! | 0 | NULL | 0 |
//! | 1, 2, 3, 4, 5, 6 | big-endian two's-complement integer | 1, 2, 3, 4, 6, 8 |
//! | 7 | big-endian IEEE 754 double | 8 |
//! | 8, 9 | the integers 0 and 1 (schema format 4) | 0 |
//! | 10, 11 | reserved: never in a valid file | — |
//! | N ≥ 12, even | BLOB of (N−12)/2 bytes | (N−12)/2 |
//! | N ≥ 13, odd | TEXT of (N−13)/2 bytes in the database encoding | (N−13)/2 |
//!
//! A varint is 1 to 9 bytes, big-endian, seven bits per byte with the high bit meaning "more
//! follows"; the ninth byte contributes all eight bits.
//!
//! Records can have fewer values than their table has columns (columns added by ALTER TABLE
//! after the row was written); the caller supplies those columns' defaults.

use std::cmp::Ordering;

use crate::header::TextEncoding;

/// Reads a varint at the start of `bytes`: its value and length, or `None` if `bytes` ends
/// inside it.
#[inline]
pub fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..8 {
        let byte = *bytes.get(i)?;
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    let byte = *bytes.get(8)?;
    Some(((value << 8) | u64::from(byte), 9))
}

/// One value of a record, borrowed from the page (or the assembled overflow payload) it was
/// read from. Text is in the database's encoding, undecoded: BINARY collation compares those
/// bytes, as SQLite does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// An owned value, text decoded to a `String`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The storage class name SQLite's `typeof()` gives.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }
}

impl<'a> ValueRef<'a> {
    /// The owned value, text decoded from `encoding`.
    pub fn to_value(self, encoding: TextEncoding) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) => Value::Integer(n),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(bytes) => Value::Text(encoding.decode(bytes)),
            ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
        }
    }
}

/// An owned value with its text in the database's encoding: a default or a probe key made
/// ready to compare with stored values.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl RawValue {
    /// `value` with its text encoded in `encoding`.
    pub fn encode(value: &Value, encoding: TextEncoding) -> RawValue {
        match value {
            Value::Null => RawValue::Null,
            Value::Integer(n) => RawValue::Integer(*n),
            Value::Real(r) => RawValue::Real(*r),
            Value::Text(text) => RawValue::Text(encoding.encode(text)),
            Value::Blob(bytes) => RawValue::Blob(bytes.clone()),
        }
    }

    /// The value borrowed.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            RawValue::Null => ValueRef::Null,
            RawValue::Integer(n) => ValueRef::Integer(*n),
            RawValue::Real(r) => ValueRef::Real(*r),
            RawValue::Text(bytes) => ValueRef::Text(bytes),
            RawValue::Blob(bytes) => ValueRef::Blob(bytes),
        }
    }
}

/// Byte length of a value of serial type `serial` in the body, or `None` for the reserved
/// types 10 and 11.
#[inline]
pub fn serial_len(serial: u64) -> Option<u64> {
    Some(match serial {
        0 | 8 | 9 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        4 => 4,
        5 => 6,
        6 | 7 => 8,
        10 | 11 => return None,
        n => (n - 12) / 2,
    })
}

/// The decoded header of one record: each column's serial type and where its value starts in
/// the payload. A cursor keeps one and refills it for every row, so reading rows allocates
/// nothing once it has grown to the widest record.
#[derive(Debug, Default, Clone)]
pub struct RecordHeader {
    columns: Vec<(u64, u32)>,
}

impl RecordHeader {
    /// Decodes the header of `payload`. The error says what is wrong with the record.
    pub fn parse(&mut self, payload: &[u8]) -> Result<(), String> {
        self.columns.clear();
        let (header_len, mut at) = read_varint(payload).ok_or("record header is truncated")?;
        let header_len = usize::try_from(header_len)
            .ok()
            .filter(|&len| len >= at && len <= payload.len())
            .ok_or_else(|| {
                format!(
                    "record header of {header_len} bytes does not fit a {}-byte payload",
                    payload.len()
                )
            })?;
        let mut body = header_len as u64;
        while at < header_len {
            let (serial, len) = read_varint(&payload[at..header_len])
                .ok_or("record header ends inside a varint")?;
            at += len;
            let size = serial_len(serial)
                .ok_or_else(|| format!("record uses the reserved serial type {serial}"))?;
            if body + size > payload.len() as u64 {
                return Err(format!(
                    "record values need {} bytes but the payload has {}",
                    body + size,
                    payload.len()
                ));
            }
            self.columns.push((serial, body as u32));
            body += size;
        }
        Ok(())
    }

    /// Number of values in the record.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// True for a record of no values.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Value `i` of the record whose header this is; `payload` must be the one parsed.
    #[inline]
    pub fn value<'a>(&self, payload: &'a [u8], i: usize) -> ValueRef<'a> {
        let (serial, start) = self.columns[i];
        decode_value(serial, &payload[start as usize..])
    }
}

/// Decodes one value of serial type `serial` from the start of `body`, which the header
/// parse has checked is long enough.
#[inline]
fn decode_value(serial: u64, body: &[u8]) -> ValueRef<'_> {
    let int = |n: usize| {
        let mut value = i64::from(body[0] as i8);
        for &byte in &body[1..n] {
            value = (value << 8) | i64::from(byte);
        }
        ValueRef::Integer(value)
    };
    match serial {
        0 => ValueRef::Null,
        1 => int(1),
        2 => int(2),
        3 => int(3),
        4 => int(4),
        5 => int(6),
        6 => int(8),
        7 => {
            let bits = u64::from_be_bytes(body[..8].try_into().expect("8 bytes checked"));
            let value = f64::from_bits(bits);
            // SQLite never stores NaN; a NaN read back is NULL to it.
            if value.is_nan() {
                ValueRef::Null
            } else {
                ValueRef::Real(value)
            }
        }
        8 => ValueRef::Integer(0),
        9 => ValueRef::Integer(1),
        n if n % 2 == 0 => ValueRef::Blob(&body[..((n - 12) / 2) as usize]),
        n => ValueRef::Text(&body[..((n - 13) / 2) as usize]),
    }
}

/// Compares an integer with a real exactly, as SQLite does (no rounding of large integers).
pub fn compare_int_real(int: i64, real: f64) -> Ordering {
    if real < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    if real >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    let truncated = real as i64;
    match int.cmp(&truncated) {
        Ordering::Equal => (int as f64).partial_cmp(&real).unwrap_or(Ordering::Equal),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_varint(value: u64) -> Vec<u8> {
        if value >> 56 != 0 {
            let mut out = Vec::new();
            let high = value >> 8;
            for i in (0..8).rev() {
                out.push(((high >> (7 * i)) & 0x7f) as u8 | 0x80);
            }
            out.push(value as u8);
            return out;
        }
        let mut groups = vec![(value & 0x7f) as u8];
        let mut rest = value >> 7;
        while rest != 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        groups.reverse();
        groups
    }

    #[test]
    fn varints_round_trip_at_every_length() {
        for value in [
            0,
            1,
            127,
            128,
            16383,
            16384,
            1 << 35,
            (1 << 56) - 1,
            1 << 56,
            u64::MAX,
        ] {
            let bytes = write_varint(value);
            assert_eq!(read_varint(&bytes), Some((value, bytes.len())), "{value}");
            assert_eq!(read_varint(&bytes[..bytes.len() - 1]), None);
        }
    }

    #[test]
    fn decodes_every_serial_type() {
        // Header: length 11, then the serial types of the values below.
        let payload = [
            11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,    // header
            0xff, // -1
            0x01, 0x00, // 256
            0x80, 0x00, 0x00, // -8388608
            0x7f, 0xff, 0xff, 0xff, // i32::MAX
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // 2^32
            0x80, 0, 0, 0, 0, 0, 0, 0, // i64::MIN
            0x3f, 0xf8, 0, 0, 0, 0, 0, 0, // 1.5
        ];
        let mut header = RecordHeader::default();
        header.parse(&payload).expect("valid record");
        let values: Vec<_> = (0..header.len())
            .map(|i| header.value(&payload, i))
            .collect();
        assert_eq!(
            values,
            vec![
                ValueRef::Null,
                ValueRef::Integer(-1),
                ValueRef::Integer(256),
                ValueRef::Integer(-8388608),
                ValueRef::Integer(i64::from(i32::MAX)),
                ValueRef::Integer(1 << 32),
                ValueRef::Integer(i64::MIN),
                ValueRef::Real(1.5),
                ValueRef::Integer(0),
                ValueRef::Integer(1),
            ]
        );
        let text_and_blob = [3, 12 + 2 * 2, 13 + 2 * 3, 0xde, 0xad, b'a', b'b', b'c'];
        header.parse(&text_and_blob).expect("valid record");
        assert_eq!(
            header.value(&text_and_blob, 0),
            ValueRef::Blob(&[0xde, 0xad])
        );
        assert_eq!(header.value(&text_and_blob, 1), ValueRef::Text(b"abc"));
    }

    #[test]
    fn refuses_records_that_do_not_fit() {
        let mut header = RecordHeader::default();
        assert!(header.parse(&[]).is_err());
        assert!(header.parse(&[5, 1]).is_err(), "header longer than payload");
        assert!(header.parse(&[2, 10]).is_err(), "reserved serial type");
        assert!(header.parse(&[2, 6, 1, 2]).is_err(), "value past the end");
        assert!(header.parse(&[2, 0x81]).is_err(), "varint past the header");
    }

    #[test]
    fn integers_compare_with_reals_exactly() {
        assert_eq!(compare_int_real(3, 3.5), Ordering::Less);
        assert_eq!(compare_int_real(-3, -3.5), Ordering::Greater);
        assert_eq!(compare_int_real(3, 3.0), Ordering::Equal);
        assert_eq!(compare_int_real(i64::MAX, 9.3e18), Ordering::Less);
        assert_eq!(compare_int_real(i64::MIN, -9.3e18), Ordering::Greater);
        // 2^53 + 1 is not a double; it must not compare equal to 2^53.
        assert_eq!(
            compare_int_real((1 << 53) + 1, 9007199254740992.0),
            Ordering::Greater
        );
    }
}
