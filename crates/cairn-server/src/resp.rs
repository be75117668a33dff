//! RESP framing as pure functions over bytes: requests in (multibulk or inline), replies out
//! (RESP2 or RESP3). The connection only buffers; everything here is testable without
//! sockets.
//!
//! Limits are Redis's: a bulk string of at most `proto-max-bulk-len` (512 MiB by default),
//! at most 2^31 - 1 arguments (what the connection's query buffer limit lets through),
//! inline requests and count lines of at most 64 KiB; before a client authenticates, at most
//! 10 arguments of at most 16 KiB ([`Limits`]). A request over a limit, or malformed, is a
//! [`ProtocolError`] whose text is Redis's; the connection answers it and closes.
//!
//! A request that arrives over many reads is scanned once: the scan of an incomplete
//! multibulk request resumes where it stopped, and says how long the input must grow
//! ([`Requests::wanted`]) so that a large bulk string is read into a buffer of its size.

use bytes::{BufMut, Bytes, BytesMut};
use cairn_kv::{format_double, strict_i64, Reply};

/// The longest bulk string accepted by default (`proto-max-bulk-len`).
pub const MAX_BULK_LEN: usize = 512 << 20;
/// The longest inline request or header line.
pub const MAX_INLINE: usize = 64 << 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub struct ProtocolError(pub String);

fn protocol(msg: impl Into<String>) -> ProtocolError {
    ProtocolError(msg.into())
}

/// The position of the `\r\n` ending the line that starts at `from`, if complete.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let cr = at + buf.get(at..)?.iter().position(|&b| b == b'\r')?;
        if *buf.get(cr + 1)? == b'\n' {
            return Some(cr);
        }
        at = cr + 1;
    }
}

/// An argument found by [`scan_request`]: where it lies in the buffer, or, for an inline
/// request whose quotes and escapes change its bytes, the bytes themselves.
#[derive(Debug)]
enum Piece {
    At(std::ops::Range<usize>),
    Owned(Bytes),
}

impl Piece {
    /// The argument, sliced from `frame` (the scanned bytes, frozen) if it lies there.
    fn cut_from(self, frame: &Bytes) -> Bytes {
        match self {
            Piece::At(range) => frame.slice(range),
            Piece::Owned(bytes) => bytes,
        }
    }

    /// The argument's bytes, borrowed from `frame` if it lies there.
    fn in_frame<'a>(&'a self, frame: &'a [u8]) -> &'a [u8] {
        match self {
            Piece::At(range) => &frame[range.clone()],
            Piece::Owned(bytes) => bytes,
        }
    }
}

/// What a request is held to. A client that has yet to authenticate gets Redis's much
/// smaller limits (at most 10 arguments of at most 16 KiB), so that it cannot make the server
/// hold more than a little of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string (`proto-max-bulk-len`).
    pub max_bulk: usize,
    /// Whether the client has authenticated (or needs not).
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bulk: MAX_BULK_LEN,
            authenticated: true,
        }
    }
}

/// The most arguments, and the longest bulk string, a client may send before it authenticates
/// (Redis's numbers).
const UNAUTHENTICATED_MULTIBULK: i64 = 10;
const UNAUTHENTICATED_BULK: i64 = 16 << 10;

/// How far the scan of an incomplete multibulk request got, so that the next read resumes
/// there rather than scanning its arguments again: without it a request of a million
/// arguments arriving in a thousand reads would be scanned a thousand times.
#[derive(Debug, Default)]
struct Resume {
    /// Where the request starts in the input, when one is incomplete.
    start: Option<usize>,
    /// Where its next bulk string starts.
    next: usize,
    /// How many bulk strings it still lacks.
    remaining: i64,
    /// Where its arguments so far lie.
    args: Vec<std::ops::Range<usize>>,
}

impl Resume {
    /// Moves every position `by` bytes down, as the input's front is cut off.
    fn shift(&mut self, by: usize) {
        if let Some(start) = &mut self.start {
            *start -= by;
            self.next -= by;
            for range in &mut self.args {
                *range = range.start - by..range.end - by;
            }
        }
    }
}

/// What scanning found at the front of the unscanned input.
enum Scan {
    /// A complete request, which ends here.
    Complete(usize),
    /// An incomplete one, which needs the input to reach at least this long.
    Incomplete(usize),
}

/// Requests cut off the front of the input in one go, for a connection to run as one
/// pipeline: one frozen frame and where each argument lies in it, in vectors reused from
/// batch to batch. The arguments are handed out borrowed ([`Requests::args`]), so a
/// request costs no allocation and no reference count of its own; a command that keeps an
/// argument takes a reference to the frame then (`cairn_kv::Ctx::keep`).
#[derive(Debug, Default)]
pub struct Requests {
    /// The bytes the requests were cut from.
    frame: Bytes,
    /// Every request's arguments, in order.
    pieces: Vec<Piece>,
    /// Request `i` is `pieces[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: Vec<usize>,
    /// The scan of the incomplete request left in the input, if any.
    resume: Resume,
    /// How long the input must grow for that request to be complete, as far as is known.
    wanted: usize,
}

impl Requests {
    /// Takes up to `max` complete requests off the front of `input`, in place of the ones
    /// held; returns the protocol error that stopped the scan, if any (the requests before
    /// it are taken and still run). Blank lines and `*0` are consumed and not counted.
    pub fn take(
        &mut self,
        input: &mut BytesMut,
        max: usize,
        limits: Limits,
    ) -> Option<ProtocolError> {
        self.clear();
        self.wanted = 0;
        let mut taken = 0;
        let mut error = None;
        while self.ends.len() < max {
            match scan_request(input, taken, &mut self.pieces, limits, &mut self.resume) {
                Ok(Scan::Complete(next)) => {
                    taken = next;
                    if self.ends.last().copied().unwrap_or(0) < self.pieces.len() {
                        self.ends.push(self.pieces.len());
                    }
                }
                Ok(Scan::Incomplete(wanted)) => {
                    self.wanted = wanted - taken;
                    break;
                }
                Err(e) => {
                    self.resume = Resume::default();
                    error = Some(e);
                    break;
                }
            }
        }
        self.pieces.truncate(self.ends.last().copied().unwrap_or(0));
        self.frame = input.split_to(taken).freeze();
        self.resume.shift(taken);
        error
    }

    /// How long the input must be, at least, for the request left incomplete at its front to
    /// be complete: a connection reading a large bulk string sizes its buffer once from it.
    pub fn wanted(&self) -> usize {
        self.wanted
    }

    /// Lets go of the requests held, and so of the frame they are cut from: done before
    /// reading more, so that the input buffer's memory can be reused rather than kept.
    pub fn clear(&mut self) {
        self.frame = Bytes::new();
        self.ends.clear();
        self.pieces.clear();
    }

    /// The bytes the requests' arguments were cut from (inline arguments rewritten by
    /// quotes or escapes excepted).
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// Every request's arguments, borrowed; request `i` is `args[requests.bounds(i)]`.
    pub fn args(&self) -> Vec<&[u8]> {
        self.pieces
            .iter()
            .map(|piece| piece.in_frame(&self.frame))
            .collect()
    }

    /// Where request `i`'s arguments are in [`Requests::args`].
    pub fn bounds(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Takes one request off the front of `buf`: `Ok(Some(args))` (empty for a blank line or
/// `*0`), `Ok(None)` when more bytes are needed.
pub fn parse_request(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let mut pieces = Vec::new();
    let scanned = scan_request(
        buf,
        0,
        &mut pieces,
        Limits::default(),
        &mut Resume::default(),
    )?;
    let Scan::Complete(end) = scanned else {
        return Ok(None);
    };
    let frame = buf.split_to(end).freeze();
    Ok(Some(
        pieces
            .into_iter()
            .map(|piece| piece.cut_from(&frame))
            .collect(),
    ))
}

/// Checks the request starting at `at` in `buf` and appends where its arguments lie to
/// `pieces`. An incomplete multibulk request's arguments so far are kept in `resume`
/// instead, for the next call to go on from.
fn scan_request(
    buf: &[u8],
    at: usize,
    pieces: &mut Vec<Piece>,
    limits: Limits,
    resume: &mut Resume,
) -> Result<Scan, ProtocolError> {
    let Some(&first) = buf.get(at) else {
        return Ok(Scan::Incomplete(at + 1));
    };
    if first != b'*' {
        return scan_inline(buf, at, pieces);
    }
    let first_piece = pieces.len();
    let (mut next, mut remaining) = if resume.start == Some(at) {
        resume.start = None;
        pieces.extend(resume.args.drain(..).map(Piece::At));
        (resume.next, resume.remaining)
    } else {
        let Some(end) = line_end(buf, at + 1) else {
            if buf.len() - at > MAX_INLINE {
                return Err(protocol("too big mbulk count string"));
            }
            return Ok(Scan::Incomplete(buf.len() + 1));
        };
        let count =
            strict_i64(&buf[at + 1..end]).ok_or_else(|| protocol("invalid multibulk length"))?;
        if count > i64::from(i32::MAX) {
            return Err(protocol("invalid multibulk length"));
        }
        if count > UNAUTHENTICATED_MULTIBULK && !limits.authenticated {
            return Err(protocol("unauthenticated multibulk length"));
        }
        (end + 2, count.max(0))
    };
    while remaining > 0 {
        match bulk_at(buf, next, limits)? {
            Bulk::Complete { body, end } => {
                pieces.push(Piece::At(body));
                next = end;
                remaining -= 1;
            }
            Bulk::Incomplete(wanted) => {
                *resume = Resume {
                    start: Some(at),
                    next,
                    remaining,
                    args: pieces
                        .drain(first_piece..)
                        .map(|piece| match piece {
                            Piece::At(range) => range,
                            Piece::Owned(_) => unreachable!("multibulk arguments lie in the input"),
                        })
                        .collect(),
                };
                return Ok(Scan::Incomplete(wanted));
            }
        }
    }
    Ok(Scan::Complete(next))
}

/// What scanning found of one bulk string.
enum Bulk {
    /// Its body, and where it ends (past its CRLF).
    Complete {
        body: std::ops::Range<usize>,
        end: usize,
    },
    /// Incomplete: the input must grow at least this long.
    Incomplete(usize),
}

/// The bulk string whose `$` header starts at `at`.
fn bulk_at(buf: &[u8], at: usize, limits: Limits) -> Result<Bulk, ProtocolError> {
    match buf.get(at) {
        None => return Ok(Bulk::Incomplete(at + 1)),
        Some(b'$') => {}
        Some(&other) => {
            return Err(protocol(format!("expected '$', got '{}'", other as char)));
        }
    }
    let Some(end) = line_end(buf, at + 1) else {
        if buf.len() - at > MAX_INLINE {
            return Err(protocol("too big bulk count string"));
        }
        return Ok(Bulk::Incomplete(buf.len() + 1));
    };
    let len = strict_i64(&buf[at + 1..end]).ok_or_else(|| protocol("invalid bulk length"))?;
    if !(0..=limits.max_bulk as i64).contains(&len) {
        return Err(protocol("invalid bulk length"));
    }
    if len > UNAUTHENTICATED_BULK && !limits.authenticated {
        return Err(protocol("unauthenticated bulk length"));
    }
    let start = end + 2;
    let stop = start + len as usize;
    if buf.len() < stop + 2 {
        // Nothing is reserved here: the connection sizes its buffer from `Requests::wanted`.
        return Ok(Bulk::Incomplete(stop + 2));
    }
    if &buf[stop..stop + 2] != b"\r\n" {
        return Err(protocol("invalid bulk format"));
    }
    Ok(Bulk::Complete {
        body: start..stop,
        end: stop + 2,
    })
}

/// An inline request: one line, arguments split on spaces, with `"…"` (escapes) and `'…'`.
fn scan_inline(buf: &[u8], at: usize, pieces: &mut Vec<Piece>) -> Result<Scan, ProtocolError> {
    let rest = &buf[at..];
    let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
        if rest.len() > MAX_INLINE {
            return Err(protocol("too big inline request"));
        }
        return Ok(Scan::Incomplete(buf.len() + 1));
    };
    if newline > MAX_INLINE {
        return Err(protocol("too big inline request"));
    }
    let line = &rest[..newline];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let args = split_inline(line).ok_or_else(|| protocol("unbalanced quotes in request"))?;
    pieces.extend(args.into_iter().map(Piece::Owned));
    Ok(Scan::Complete(at + newline + 1))
}

/// Splits an inline line like Redis's `sdssplitargs`; `None` on unbalanced quotes.
pub fn split_inline(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut arg = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    match line.get(i)? {
                        b'\\' if i + 1 < line.len() => {
                            let c = line[i + 1];
                            let hex = |b: u8| (b as char).to_digit(16);
                            if c == b'x' && i + 3 < line.len() {
                                if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                                    arg.push((h * 16 + l) as u8);
                                    i += 4;
                                    continue;
                                }
                            }
                            arg.push(match c {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'a' => 7,
                                other => other,
                            });
                            i += 2;
                        }
                        b'"' => {
                            i += 1;
                            if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                                return None;
                            }
                            break;
                        }
                        &c => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    match line.get(i)? {
                        b'\\' if line.get(i + 1) == Some(&b'\'') => {
                            arg.push(b'\'');
                            i += 2;
                        }
                        b'\'' => {
                            i += 1;
                            if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                                return None;
                            }
                            break;
                        }
                        &c => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    arg.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push(Bytes::from(arg));
    }
    Some(args)
}

/// Appends `reply` to `out` in RESP2 (`protocol == 2`) or RESP3.
pub fn encode_reply(reply: &Reply, protocol: u8, out: &mut BytesMut) {
    let resp3 = protocol >= 3;
    match reply {
        Reply::Status(s) => line(out, b'+', s.as_bytes()),
        Reply::StatusText(s) => line(out, b'+', s.as_bytes()),
        Reply::Error(e) => {
            if let cairn_kv::KvError::Storage(s) = e {
                tracing::error!(error = ?s.engine(), "storage error answered to a client: {s}");
            }
            let text = format!("{} {e}", e.code()).replace(['\r', '\n'], " ");
            line(out, b'-', text.as_bytes());
        }
        Reply::Integer(n) => header(out, b':', *n),
        Reply::Bulk(b) => bulk(out, b),
        Reply::Nil if resp3 => out.put_slice(b"_\r\n"),
        Reply::Nil => out.put_slice(b"$-1\r\n"),
        Reply::NilArray if resp3 => out.put_slice(b"_\r\n"),
        Reply::NilArray => out.put_slice(b"*-1\r\n"),
        Reply::Array(items) => {
            header(out, b'*', items.len() as i64);
            for item in items {
                encode_reply(item, protocol, out);
            }
        }
        Reply::Set(items) => {
            line(
                out,
                if resp3 { b'~' } else { b'*' },
                items.len().to_string().as_bytes(),
            );
            for item in items {
                encode_reply(item, protocol, out);
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                header(out, b'%', pairs.len() as i64);
            } else {
                header(out, b'*', pairs.len() as i64 * 2);
            }
            for (k, v) in pairs {
                encode_reply(k, protocol, out);
                encode_reply(v, protocol, out);
            }
        }
        Reply::Double(d) if resp3 => line(out, b',', format_double(*d).as_bytes()),
        Reply::Double(d) => bulk(out, format_double(*d).as_bytes()),
        Reply::Bool(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Reply::Bool(b) => line(out, b':', if *b { b"1" } else { b"0" }),
        Reply::Verbatim(text) if resp3 => {
            header(out, b'=', text.len() as i64 + 4);
            out.put_slice(b"txt:");
            out.put_slice(text.as_bytes());
            out.put_slice(b"\r\n");
        }
        Reply::Verbatim(text) => bulk(out, text.as_bytes()),
        Reply::Slices(strings) => {
            header(out, b'*', strings.len() as i64);
            for string in strings.iter() {
                bulk(out, string);
            }
        }
    }
}

fn line(out: &mut BytesMut, kind: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(kind);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

/// `kind` then `n` in decimal then CRLF, without allocating.
fn header(out: &mut BytesMut, kind: u8, n: i64) {
    let mut line = [0u8; 24];
    let len = format_header(&mut line, kind, n);
    out.extend_from_slice(&line[..len]);
}

/// Writes `kind`, `n` in decimal and CRLF at the start of `line`; returns the length.
fn format_header(line: &mut [u8; 24], kind: u8, n: i64) -> usize {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    line[0] = kind;
    let mut len = 1;
    if n < 0 {
        line[1] = b'-';
        len = 2;
    }
    let digits = &digits[at..];
    line[len..len + digits.len()].copy_from_slice(digits);
    len += digits.len();
    line[len..len + 2].copy_from_slice(b"\r\n");
    len + 2
}

/// Bulk strings shorter than this take their header from [`BULK_HEADERS`].
const SHORT_BULK: usize = 100;

/// `$N\r\n` for N below [`SHORT_BULK`], and its length, built at compile time. Copying a
/// header from here costs a load; formatting it into a stack buffer byte by byte and then
/// copying that costs a store-forwarding stall on the read-back, which was most of the
/// time spent encoding an `LRANGE 0 99` of short elements.
static BULK_HEADERS: [([u8; 5], usize); SHORT_BULK] = bulk_headers();

const fn bulk_headers() -> [([u8; 5], usize); SHORT_BULK] {
    let mut table = [([0u8; 5], 0); SHORT_BULK];
    let mut n = 0;
    while n < SHORT_BULK {
        let (line, len) = &mut table[n];
        line[0] = b'$';
        *len = 1;
        if n >= 10 {
            line[*len] = b'0' + (n / 10) as u8;
            *len += 1;
        }
        line[*len] = b'0' + (n % 10) as u8;
        line[*len + 1] = b'\r';
        line[*len + 2] = b'\n';
        *len += 3;
        n += 1;
    }
    table
}

/// A bulk string: one reservation, three copies.
fn bulk(out: &mut BytesMut, body: &[u8]) {
    let mut formatted = [0u8; 24];
    let header = match BULK_HEADERS.get(body.len()) {
        Some((line, len)) => &line[..*len],
        None => {
            let len = format_header(&mut formatted, b'$', body.len() as i64);
            &formatted[..len]
        }
    };
    out.reserve(header.len() + body.len() + 2);
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(args) = parse_request(&mut buf)? {
            out.push(args);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_requests_parse_in_pieces() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n";
        for cut in 0..input.len() {
            let mut buf = BytesMut::from(&input[..cut]);
            let mut got = Vec::new();
            while let Ok(Some(args)) = parse_request(&mut buf) {
                got.push(args);
            }
            buf.extend_from_slice(&input[cut..]);
            while let Ok(Some(args)) = parse_request(&mut buf) {
                got.push(args);
            }
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(
                got[0],
                vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("value")]
            );
            assert_eq!(got[1], vec![Bytes::from("PING")]);
        }
    }

    /// Request `i` of a batch, its arguments borrowed.
    fn request(requests: &Requests, i: usize) -> Vec<&[u8]> {
        requests.args()[requests.bounds(i)].to_vec()
    }

    #[test]
    fn a_batch_takes_every_complete_request_and_leaves_the_rest() {
        let input = b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n\r\n*0\r\nPING x\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET";
        let mut buf = BytesMut::from(&input[..]);
        let mut requests = Requests::default();
        assert_eq!(requests.take(&mut buf, 512, Limits::default()), None);
        assert_eq!(requests.len(), 3, "blank line and *0 are not requests");
        assert_eq!(request(&requests, 0), [&b"GET"[..], b"a"]);
        assert_eq!(request(&requests, 1), [&b"PING"[..], b"x"]);
        assert_eq!(request(&requests, 2), [&b"PING"[..]]);
        let frame = requests.frame().as_ptr_range();
        assert!(
            [0, 2]
                .into_iter()
                .flat_map(|i| request(&requests, i))
                .all(|a| frame.contains(&a.as_ptr())),
            "a multibulk request's arguments are borrowed from the frame, not copied"
        );
        assert_eq!(&buf[..], b"*2\r\n$3\r\nGET", "the partial request stays");
        buf.extend_from_slice(b"\r\n$1\r\nb\r\n");
        assert_eq!(requests.take(&mut buf, 512, Limits::default()), None);
        assert_eq!(requests.len(), 1);
        assert_eq!(request(&requests, 0), [&b"GET"[..], b"b"]);
        assert!(buf.is_empty());
    }

    #[test]
    fn a_batch_stops_at_its_limit_and_at_a_protocol_error() {
        let mut buf = BytesMut::from(&b"PING\r\n".repeat(5)[..]);
        let mut requests = Requests::default();
        assert_eq!(requests.take(&mut buf, 3, Limits::default()), None);
        assert_eq!(requests.len(), 3);
        assert_eq!(buf.len(), 2 * 6);
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*1\r\n+OK\r\n"[..]);
        assert_eq!(
            requests.take(&mut buf, 512, Limits::default()),
            Some(protocol("expected '$', got '+'"))
        );
        assert_eq!(requests.len(), 1, "the request before the error still runs");
        assert_eq!(request(&requests, 0), [&b"PING"[..]]);
        requests.clear();
        assert!(requests.is_empty());
    }

    #[test]
    fn a_request_arriving_in_pieces_is_scanned_once_and_comes_out_whole() {
        let mut input = b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n$2\r\nEX\r\n".to_vec();
        input.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        for step in 1..8 {
            let mut buf = BytesMut::new();
            let mut requests = Requests::default();
            let mut got = Vec::new();
            for chunk in input.chunks(step) {
                buf.extend_from_slice(chunk);
                assert_eq!(requests.take(&mut buf, 512, Limits::default()), None);
                for i in 0..requests.len() {
                    got.push(request(&requests, i).concat());
                }
                if requests.is_empty() {
                    assert!(requests.wanted() > buf.len(), "step {step}");
                }
            }
            assert_eq!(got, [&b"SETkvalueEX"[..], b"PING"], "step {step}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn a_large_bulk_says_how_much_input_it_needs() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$100000\r\nabc"[..]);
        let mut requests = Requests::default();
        assert_eq!(requests.take(&mut buf, 512, Limits::default()), None);
        assert!(requests.is_empty());
        assert_eq!(requests.wanted(), 13 + 9 + 100_000 + 2);
    }

    #[test]
    fn a_client_that_has_not_authenticated_is_held_to_small_limits() {
        let unauthenticated = Limits {
            authenticated: false,
            ..Limits::default()
        };
        let take = |input: &[u8], limits| {
            let mut buf = BytesMut::from(input);
            Requests::default().take(&mut buf, 1, limits)
        };
        let many = format!("*11\r\n{}", "$1\r\na\r\n".repeat(11));
        assert_eq!(
            take(many.as_bytes(), unauthenticated),
            Some(protocol("unauthenticated multibulk length"))
        );
        assert_eq!(take(many.as_bytes(), Limits::default()), None);
        // The header alone is refused: nothing of a 500 MB body needs to arrive.
        assert_eq!(
            take(b"*2\r\n$4\r\nAUTH\r\n$500000000\r\n", unauthenticated),
            Some(protocol("unauthenticated bulk length"))
        );
        assert_eq!(
            take(b"*2\r\n$4\r\nAUTH\r\n$16384\r\n", unauthenticated),
            None,
            "16 KiB is still allowed"
        );
        assert_eq!(
            take(b"*1\r\n$600000000\r\n", unauthenticated),
            Some(protocol("invalid bulk length")),
            "over proto-max-bulk-len is reported as such first, as Redis does"
        );
    }

    #[test]
    fn inline_requests_split_like_redis() {
        let got = parse_all(b"set k \"a b\\x41\\n\" 'c d'\r\nPING\n").ok();
        assert_eq!(
            got,
            Some(vec![
                vec![
                    Bytes::from("set"),
                    Bytes::from("k"),
                    Bytes::from("a bA\n"),
                    Bytes::from("c d")
                ],
                vec![Bytes::from("PING")],
            ])
        );
        assert_eq!(
            parse_all(b"set k \"open\r\n"),
            Err(protocol("unbalanced quotes in request"))
        );
    }

    #[test]
    fn limits_and_malformed_frames_are_protocol_errors() {
        assert_eq!(
            parse_all(b"*2\r\n+OK\r\n"),
            Err(protocol("expected '$', got '+'"))
        );
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(protocol("invalid multibulk length"))
        );
        assert_eq!(
            parse_all(b"*2147483648\r\n"),
            Err(protocol("invalid multibulk length"))
        );
        assert_eq!(
            parse_all(b"*2147483647\r\n$1\r\n"),
            Ok(vec![]),
            "Redis's limit"
        );
        assert_eq!(
            parse_all(b"*1\r\n$536870913\r\n"),
            Err(protocol("invalid bulk length"))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n"),
            Err(protocol("invalid bulk length"))
        );
        for header in [
            &b"$+3"[..],
            b"$ 3",
            b"$3 ",
            b"$-",
            b"$",
            b"$99999999999999999999",
            b"$03",
        ] {
            let mut frame = b"*1\r\n".to_vec();
            frame.extend_from_slice(header);
            frame.extend_from_slice(b"\r\nabc\r\n");
            assert_eq!(
                parse_all(&frame),
                Err(protocol("invalid bulk length")),
                "{}",
                String::from_utf8_lossy(header)
            );
        }
        assert_eq!(parse_all(b"*-1\r\n"), Ok(vec![vec![]]));
        assert_eq!(
            parse_all(b"*1\r\n$1\r\nab\r\n"),
            Err(protocol("invalid bulk format"))
        );
        let long = vec![b'a'; MAX_INLINE + 10];
        assert_eq!(parse_all(&long), Err(protocol("too big inline request")));
    }

    #[test]
    fn integers_encode_in_decimal() {
        let mut out = BytesMut::new();
        for n in [0i64, 7, -7, 1234567890, i64::MIN, i64::MAX] {
            out.clear();
            encode_reply(&Reply::Integer(n), 2, &mut out);
            assert_eq!(out, format!(":{n}\r\n").as_bytes());
        }
    }

    #[test]
    fn replies_encode_in_both_protocols() {
        let reply = Reply::Map(vec![(Reply::text("a"), Reply::Double(1.5))]);
        let mut out = BytesMut::new();
        encode_reply(&reply, 2, &mut out);
        assert_eq!(&out[..], b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
        out.clear();
        encode_reply(&reply, 3, &mut out);
        assert_eq!(&out[..], b"%1\r\n$1\r\na\r\n,1.5\r\n");
        out.clear();
        encode_reply(&Reply::Nil, 3, &mut out);
        encode_reply(&Reply::NilArray, 2, &mut out);
        assert_eq!(&out[..], b"_\r\n*-1\r\n");
    }

    #[test]
    fn integers_encode_at_their_extremes() {
        for n in [0, 7, -1, 10, -10, i64::MAX, i64::MIN] {
            let mut out = BytesMut::new();
            encode_reply(&Reply::Integer(n), 2, &mut out);
            assert_eq!(&out[..], format!(":{n}\r\n").as_bytes());
        }
        let mut out = BytesMut::new();
        encode_reply(&Reply::bulk(vec![b'x'; 1234]), 2, &mut out);
        assert_eq!(&out[..8], b"$1234\r\nx");
        assert_eq!(out.len(), 7 + 1234 + 2);
    }

    #[test]
    fn bulk_strings_of_every_short_length_and_past_it_carry_their_length() {
        for n in [0, 1, 9, 10, 11, 99, 100, 101, 1000] {
            let mut out = BytesMut::new();
            encode_reply(&Reply::bulk(vec![b'a'; n]), 2, &mut out);
            let mut expected = format!("${n}\r\n").into_bytes();
            expected.extend(std::iter::repeat_n(b'a', n));
            expected.extend_from_slice(b"\r\n");
            assert_eq!(&out[..], &expected[..], "length {n}");
        }
    }

    #[test]
    fn slices_encode_as_an_array_of_bulk_strings() {
        let mut slices = cairn_kv::Slices::default();
        let chunk = slices.add_buffer(Bytes::from_static(b"onetwo"));
        slices.push_span(chunk, 0..3);
        slices.push(Bytes::from_static(b""));
        slices.push_span(chunk, 3..6);
        for protocol in [2, 3] {
            let mut out = BytesMut::new();
            encode_reply(&Reply::Slices(slices.clone()), protocol, &mut out);
            assert_eq!(&out[..], b"*3\r\n$3\r\none\r\n$0\r\n\r\n$3\r\ntwo\r\n");
        }
        assert_eq!(
            Reply::Slices(slices),
            Reply::Slices({
                let mut same = cairn_kv::Slices::default();
                for s in ["one", "", "two"] {
                    same.push(Bytes::from(s));
                }
                same
            })
        );
    }

    /// Takes every request of `input` delivered in pieces cut at `cuts`, one batch after each
    /// piece: the requests' arguments and the protocol error that ended them, if any.
    fn take_in_pieces(
        input: &[u8],
        cuts: &[usize],
        max: usize,
    ) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut buf = BytesMut::new();
        let mut requests = Requests::default();
        let mut out = Vec::new();
        let mut at = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        points.push(input.len());
        points.sort_unstable();
        for point in points {
            buf.extend_from_slice(&input[at..point.max(at)]);
            at = point.max(at);
            loop {
                let error = requests.take(&mut buf, max, Limits::default());
                for i in 0..requests.len() {
                    out.push(request(&requests, i).iter().map(|a| a.to_vec()).collect());
                }
                if error.is_some() {
                    return (out, error);
                }
                if requests.len() < max {
                    break;
                }
            }
        }
        (out, None)
    }

    /// A stream of well-formed and malformed requests.
    fn stream() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let arg = proptest::collection::vec(any::<u8>(), 0..20);
        let request = prop_oneof![
            4 => proptest::collection::vec(arg, 0..6).prop_map(|args| {
                let mut out = format!("*{}\r\n", args.len()).into_bytes();
                for a in args {
                    out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                    out.extend_from_slice(&a);
                    out.extend_from_slice(b"\r\n");
                }
                out
            }),
            1 => "[a-z ]{0,12}".prop_map(|line| format!("{line}\r\n").into_bytes()),
            1 => proptest::collection::vec(any::<u8>(), 0..8),
        ];
        proptest::collection::vec(request, 0..8).prop_map(|requests| requests.concat())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_all(&input);
        }

        /// However the input is cut into reads, and however many requests a batch takes, the
        /// resumed scan yields the requests (and the error) of scanning it whole.
        #[test]
        fn a_stream_read_in_pieces_gives_the_requests_of_reading_it_whole(
            input in stream(),
            cuts in proptest::collection::vec(0usize..1000, 0..12),
            max in 1usize..4,
        ) {
            let whole = take_in_pieces(&input, &[], 512);
            let pieces = take_in_pieces(&input, &cuts, max);
            proptest::prop_assert_eq!(pieces, whole);
        }
    }
}
