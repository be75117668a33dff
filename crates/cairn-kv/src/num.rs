//! Numbers as Redis reads and writes them.
//!
//! Integers follow Redis's `string2ll`: an optional `-`, no `+`, no spaces, no leading zeros,
//! within `i64`. Floats follow `strtold` minus NaN; they print either the way `INCRBYFLOAT`
//! does (plain decimal, never an exponent) or the way scores are shown (`%.17g`, shortest
//! round-trip digits, exponent outside 1e-4..1e17).

use crate::error::{KvError, Result};

/// Parses a whole argument as a signed 64-bit integer, Redis-strict.
pub fn parse_i64(bytes: &[u8]) -> Result<i64> {
    strict_i64(bytes).ok_or(KvError::NotAnInteger)
}

/// Reads an integer as Redis's `string2ll` does, which is how Redis reads both integer
/// arguments and the RESP headers of a request: an optional `-`, then digits with no
/// leading zero (`0` alone excepted), not `-0`, within `i64`; no `+`, no spaces.
pub fn strict_i64(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!negative).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    // Accumulated below zero, so that `i64::MIN` fits.
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative {
        Some(n)
    } else {
        n.checked_neg()
    }
}

/// Parses a float argument; NaN and text that is not wholly a number are refused.
pub fn parse_f64(bytes: &[u8]) -> Result<f64> {
    let text = std::str::from_utf8(bytes).map_err(|_| KvError::NotAFloat)?;
    if text.is_empty() || text.starts_with(|c: char| c.is_whitespace()) {
        return Err(KvError::NotAFloat);
    }
    let value: f64 = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => text.parse().map_err(|_| KvError::NotAFloat)?,
    };
    if value.is_nan() {
        return Err(KvError::NotAFloat);
    }
    Ok(value)
}

/// A float the way `INCRBYFLOAT` stores and answers it: decimal digits, no exponent.
pub fn format_human(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let text = format!("{value}");
    if text == "-0" {
        "0".to_string()
    } else {
        text
    }
}

/// A float the way Redis shows scores: the shortest digits that read back the same value, in
/// exponent form (`1.5e+300`) when the exponent is below -4 or at least 17.
pub fn format_double(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..17).contains(&exp) {
        format!("{value}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_parsed_as_strictly_as_redis() {
        assert_eq!(parse_i64(b"42").ok(), Some(42));
        assert_eq!(parse_i64(b"-9223372036854775808").ok(), Some(i64::MIN));
        assert_eq!(parse_i64(b"0").ok(), Some(0));
        for bad in [
            &b""[..],
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1.0",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"-",
            b"--1",
            b"1-",
        ] {
            assert_eq!(parse_i64(bad), Err(KvError::NotAnInteger), "{bad:?}");
        }
        assert_eq!(parse_i64(b"9223372036854775807").ok(), Some(i64::MAX));
    }

    proptest::proptest! {
        #[test]
        fn every_integer_reads_back_from_its_decimal_text(n in proptest::prelude::any::<i64>()) {
            proptest::prop_assert_eq!(strict_i64(n.to_string().as_bytes()), Some(n));
        }
    }

    #[test]
    fn floats_refuse_nan_and_accept_infinities() {
        assert_eq!(parse_f64(b"1.5").ok(), Some(1.5));
        assert_eq!(parse_f64(b"-inf").ok(), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf").ok(), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"5e3").ok(), Some(5000.0));
        assert!(parse_f64(b"nan").is_err());
        assert!(parse_f64(b"1x").is_err());
        assert!(parse_f64(b" 1").is_err());
    }

    #[test]
    fn doubles_print_like_redis() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_double(1.5e300), "1.5e+300");
        assert_eq!(format_double(1e-5), "1e-05");
        assert_eq!(format_double(123456789.0), "123456789");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_human(10.5 + 0.1), "10.6");
        assert_eq!(format_human(5000.0), "5000");
    }
}
