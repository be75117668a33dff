//! `bytea` and `uuid`: their text forms, as PostgreSQL 15 reads and writes them.
//!
//! * `bytea` input is the hex format (`\x` then pairs of hex digits, whitespace between
//!   pairs allowed) or the escape format (bytes as themselves, `\\` for a backslash, `\ooo`
//!   for an octal byte); output is always hex (`bytea_output = hex`, the default).
//! * `uuid` input is 32 hex digits, optionally in braces and with a hyphen after any group of
//!   four; output is lower-case `8-4-4-4-12`.

use crate::error::{Error, Result, SqlState};

/// `bytea`'s input function.
pub fn parse_bytea(text: &str) -> Result<Vec<u8>> {
    match text.strip_prefix("\\x") {
        Some(hex) => parse_hex(hex),
        None => parse_escaped(text),
    }
}

fn parse_hex(hex: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(hex.len() / 2);
    let mut chars = hex.chars().filter(|c| !c.is_ascii_whitespace());
    while let Some(high) = chars.next() {
        let Some(low) = chars.next() else {
            return Err(Error::new(
                SqlState::INVALID_PARAMETER_VALUE,
                "invalid hexadecimal data: odd number of digits",
            ));
        };
        out.push((hex_digit(high)? << 4) | hex_digit(low)?);
    }
    Ok(out)
}

fn hex_digit(c: char) -> Result<u8> {
    c.to_digit(16).map(|d| d as u8).ok_or_else(|| {
        Error::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("invalid hexadecimal digit: \"{c}\""),
        )
    })
}

fn parse_escaped(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = bytes.get(i + 1..i + 4).filter(|d| {
                (b'0'..=b'3').contains(&d[0]) && d[1..].iter().all(|b| (b'0'..=b'7').contains(b))
            });
            let Some(d) = octal else {
                return Err(Error::invalid_input("bytea", text));
            };
            out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
        }
    }
    Ok(out)
}

/// `bytea`'s output function: `\x` and lower-case hex.
pub fn format_bytea(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("\\x");
    out.push_str(&hex(bytes));
    out
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// `uuid`'s input function.
pub fn parse_uuid(text: &str) -> Result<[u8; 16]> {
    let bad = || Error::invalid_input("uuid", text);
    let body = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}').ok_or_else(bad)?,
        None => text,
    };
    let mut digits = Vec::with_capacity(32);
    for (i, c) in body.chars().enumerate() {
        if c == '-' && !digits.is_empty() && digits.len() % 4 == 0 && i + 1 < body.len() {
            continue;
        }
        digits.push(c.to_digit(16).ok_or_else(bad)? as u8);
    }
    if digits.len() != 32 || body.contains("--") {
        return Err(bad());
    }
    let mut out = [0; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        out[i] = (pair[0] << 4) | pair[1];
    }
    Ok(out)
}

/// `uuid`'s output function.
pub fn format_uuid(uuid: &[u8; 16]) -> String {
    let h = hex(uuid);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytea_reads_both_formats_and_writes_hex() {
        assert_eq!(parse_bytea("\\x4142 43").unwrap(), b"ABC");
        assert_eq!(parse_bytea("a\\\\b\\001").unwrap(), b"a\\b\x01");
        assert_eq!(format_bytea(b"\x00\xffA"), "\\x00ff41");
        assert_eq!(parse_bytea("\\x4").unwrap_err().state.0, "22023");
        assert_eq!(parse_bytea("\\xzz").unwrap_err().state.0, "22023");
        assert_eq!(parse_bytea("a\\9").unwrap_err().state.0, "22P02");
    }

    #[test]
    fn uuid_reads_postgresqls_spellings() {
        let canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for spelling in [
            canonical,
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(
                format_uuid(&parse_uuid(spelling).unwrap()),
                canonical,
                "{spelling}"
            );
        }
        for bad in [
            "",
            "a0eebc99",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
        ] {
            assert!(parse_uuid(bad).is_err(), "{bad}");
        }
    }
}
