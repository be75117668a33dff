//! Small helpers shared by the command handlers: option words, integer arguments, writing
//! string values, turning Redis ranges into positions.

use bytes::Bytes;

use crate::dispatch::Ctx;
use crate::encoding::{Head, Kind};
use crate::error::{KvError, Result};
use crate::kv::After;
use crate::num::{parse_f64, parse_i64};
use crate::reply::Reply;

/// Whether `arg` is the option word `word` (ASCII case-insensitive).
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

pub fn int(arg: &[u8]) -> Result<i64> {
    parse_i64(arg)
}

/// The live string value of `key`: `None` if absent, `WRONGTYPE` if another type.
pub fn get_string(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<Head>> {
    let db = ctx.db();
    ctx.txn.typed_head(db, key, Kind::String)
}

/// Sets `key` to the string `value` with expiry `expire_at` (0 for none).
pub fn put_string(ctx: &mut Ctx<'_, '_>, key: &[u8], value: Bytes, expire_at: u64) -> Result<()> {
    crate::encoding::check_key(key)?;
    if value.len() > crate::MAX_STRING_LEN {
        return Err(KvError::other(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    let mut head = Head::new(Kind::String, value);
    head.expire_at = expire_at;
    let db = ctx.db();
    ctx.txn.put_head(db, key, &head)
}

/// Redis's `start`/`end` (inclusive, negative counting from the end) over a sequence of
/// `len` items, as a range of positions; `None` when it selects nothing.
pub fn clamp_range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    if start > end || start >= len || end < 0 {
        None
    } else {
        Some((start as u64, end as u64))
    }
}

/// An expiry argument: `seconds` or `milliseconds` from now, or an absolute unix time in
/// either unit, as a unix-ms instant. Errors name the command as Redis does.
pub fn expire_at(
    ctx: &Ctx<'_, '_>,
    arg: &[u8],
    unit_ms: bool,
    absolute: bool,
    command: &str,
) -> Result<i64> {
    let value = int(arg)?;
    let invalid = || KvError::other(format!("invalid expire time in '{command}' command"));
    let ms = if unit_ms {
        value
    } else {
        value.checked_mul(1000).ok_or_else(invalid)?
    };
    if absolute {
        Ok(ms)
    } else {
        ms.checked_add(ctx.txn.now as i64).ok_or_else(invalid)
    }
}

/// The timeout argument of the blocking commands, in milliseconds (0 = forever).
pub fn timeout_ms(arg: &[u8]) -> Result<u64> {
    let secs =
        parse_f64(arg).map_err(|_| KvError::other("timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(KvError::other("timeout is negative"));
    }
    if !secs.is_finite() || secs > 1e12 {
        return Err(KvError::other("timeout is out of range"));
    }
    Ok((secs * 1000.0).ceil() as u64)
}

/// Asks the connection to block the command for up to `timeout` ms (0 = forever), running it
/// again whenever one of `keys` receives elements; the reply is the one for a timeout.
pub fn block(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]], timeout: u64) -> Reply {
    ctx.after = After::Block {
        timeout_ms: timeout,
    };
    let db = ctx.db();
    for key in keys {
        ctx.txn
            .state
            .blocked
            .register(db, key, &ctx.session.elements_waiter);
    }
    ctx.session.blocked_on = Some((db, keys.iter().map(|k| k.to_vec()).collect()));
    Reply::NilArray
}

#[cfg(test)]
mod tests {
    use super::clamp_range;

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(3, 1, 5), None);
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(0, -6, 5), None);
        assert_eq!(clamp_range(0, 0, 0), None);
    }
}
