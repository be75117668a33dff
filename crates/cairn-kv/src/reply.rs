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
    /// An array of bulk strings cut out of a few shared buffers: what LRANGE answers.
    Slices(Slices),
}

/// Byte strings that are slices of a few shared buffers (the chunks of a list), holding one
/// reference per buffer rather than one per string: with short elements, taking and
/// dropping a reference for each was a quarter of the cost of an `LRANGE 0 99`.
///
/// Two `Slices` are equal when they hold the same strings, however they are cut.
#[derive(Debug, Clone, Default)]
pub struct Slices {
    buffers: Vec<Bytes>,
    /// (buffer index, start, end) of each string, in order.
    spans: Vec<(usize, usize, usize)>,
}

impl Slices {
    pub fn with_capacity(strings: usize) -> Slices {
        Slices {
            buffers: Vec::new(),
            spans: Vec::with_capacity(strings),
        }
    }

    /// Adds a buffer that following [`Slices::push_span`] calls cut from; returns its index.
    pub fn add_buffer(&mut self, buffer: Bytes) -> usize {
        self.buffers.push(buffer);
        self.buffers.len() - 1
    }

    /// Appends the string `buffer[range]`, `buffer` being an index from [`Slices::add_buffer`].
    ///
    /// # Panics
    /// If the range is not within that buffer: a bug in the caller, which cut it from there.
    pub fn push_span(&mut self, buffer: usize, range: std::ops::Range<usize>) {
        assert!(range.start <= range.end && range.end <= self.buffers[buffer].len());
        self.spans.push((buffer, range.start, range.end));
    }

    /// Appends a string of its own.
    pub fn push(&mut self, string: Bytes) {
        let end = string.len();
        let buffer = self.add_buffer(string);
        self.spans.push((buffer, 0, end));
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The strings in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .map(|&(buffer, start, end)| &self.buffers[buffer][start..end])
    }

    /// The strings as `Bytes` of their own (each a reference into its buffer).
    pub fn to_bytes(&self) -> Vec<Bytes> {
        self.spans
            .iter()
            .map(|&(buffer, start, end)| self.buffers[buffer].slice(start..end))
            .collect()
    }
}

impl PartialEq for Slices {
    fn eq(&self, other: &Slices) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
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
