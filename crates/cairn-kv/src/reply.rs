//! A command's answer, independent of the protocol version.
//!
//! The RESP encoder in cairn-server writes it as RESP2 or RESP3: maps, sets, doubles,
//! booleans and the null value have their own RESP3 types and fall back to arrays, bulk
//! strings and integers in RESP2, exactly as Redis does.

use bytes::Bytes;

use crate::error::KvError;
use crate::num::format_double;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`-style status line.
    Status(&'static str),
    /// A status line built at run time (`+PONG`-like text that varies, TYPE's answer).
    StatusText(String),
    Error(KvError),
    Integer(i64),
    Bulk(Bytes),
    /// The null bulk string (`$-1`) in RESP2; `_` in RESP3.
    Nil,
    /// The null array (`*-1`) in RESP2; `_` in RESP3.
    NilArray,
    Array(Vec<Reply>),
    /// Key-value pairs: a RESP3 map, a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A RESP3 set, an array in RESP2.
    Set(Vec<Reply>),
    /// A RESP3 double, a bulk string in RESP2.
    Double(f64),
    /// A RESP3 boolean, the integer 1 or 0 in RESP2.
    Bool(bool),
    /// A RESP3 verbatim string (`=` with format `txt`), a bulk string in RESP2.
    Verbatim(String),
}

impl Reply {
    pub const OK: Reply = Reply::Status("OK");

    pub fn bulk(bytes: impl Into<Bytes>) -> Reply {
        Reply::Bulk(bytes.into())
    }

    pub fn text(s: impl Into<String>) -> Reply {
        Reply::Bulk(Bytes::from(s.into()))
    }

    pub fn optional(bytes: Option<Bytes>) -> Reply {
        bytes.map_or(Reply::Nil, Reply::Bulk)
    }

    /// A float as Redis answers it in RESP2 (a bulk string such as `"3.5"`).
    pub fn double_as_bulk(value: f64) -> Reply {
        Reply::text(format_double(value))
    }

    pub fn bulks<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Reply::Array(items.into_iter().map(|b| Reply::Bulk(b.into())).collect())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl From<KvError> for Reply {
    fn from(e: KvError) -> Reply {
        Reply::Error(e)
    }
}
