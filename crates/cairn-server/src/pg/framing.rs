//! What a client may send, checked before pgwire decodes it: whole frames of sane length,
//! and little of anything before authentication.
//!
//! - **Frames.** The startup packets (SSLRequest, StartupMessage, CancelRequest) are a
//!   4-byte length (itself included) and a body, at most 10,000 bytes as PostgreSQL allows;
//!   every later message is a type byte, a 4-byte length (itself included, so at least 4)
//!   and a body, at most 1 GB. [`next_message`] cuts exactly one frame off the connection's
//!   input and hands only that frame to pgwire's decoder, so that a decoder reading a
//!   string past its message's end, or a length that lies, cannot mix two messages: a
//!   frame that does not decode to exactly one message is a protocol violation (`08P01`)
//!   and closes the connection, as in PostgreSQL.
//! - **Before authentication.** The protocol lets a message claim up to 1 GB, and a frame
//!   is buffered until it is whole; after authentication that is the client's right
//!   (PostgreSQL's limit is the same), before it a stranger could hold memory with a
//!   claimed length and a trickle of bytes. [`Guarded`] counts the bytes read until
//!   [`Guarded::authenticated`] lifts the cap; past the cap, reading fails and the
//!   connection closes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::PgWireError;
use pgwire::messages::PgWireFrontendMessage;
use pgwire::tokio::server::PgWireMessageServerCodec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio_util::codec::{Decoder, Framed};

/// The longest startup packet (PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`).
const MAX_STARTUP_PACKET: usize = 10_000;

/// The longest message (PostgreSQL's `PQ_LARGE_MESSAGE_LIMIT`: 1 GB less one byte).
const MAX_MESSAGE: usize = 0x3fff_ffff;

/// The next message of the client on `socket`, from the bytes in `inbound` and what the
/// socket gives: `Ok(None)` when the client has left, `Ok(Some(Err(_)))` for a frame that
/// breaks the protocol.
pub async fn next_message<S, IO: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static>(
    socket: &mut Framed<Guarded<IO>, PgWireMessageServerCodec<S>>,
    inbound: &mut BytesMut,
) -> io::Result<Option<Result<PgWireFrontendMessage, PgWireError>>> {
    loop {
        let typed = !matches!(
            socket.state(),
            PgWireConnectionState::AwaitingSslRequest | PgWireConnectionState::AwaitingStartup
        );
        match frame_length(inbound, typed) {
            Err(e) => return Ok(Some(Err(e))),
            Ok(Some(length)) if inbound.len() >= length => {
                let mut frame = inbound.split_to(length);
                if typed && !well_formed(frame[0], &frame[5..]) {
                    return Ok(Some(Err(violation("invalid message format"))));
                }
                return Ok(Some(match socket.codec_mut().decode(&mut frame) {
                    Ok(Some(message)) if frame.is_empty() => Ok(message),
                    Ok(_) => Err(violation("invalid message format")),
                    Err(e) => Err(e),
                }));
            }
            Ok(_) => {}
        }
        if inbound.capacity() - inbound.len() < 1024 {
            inbound.reserve(8 << 10);
        }
        if socket.get_mut().read_buf(inbound).await? == 0 {
            return Ok(None);
        }
    }
}

/// The length of the frame at the head of `inbound` (type byte included), once its header
/// has arrived.
fn frame_length(inbound: &[u8], typed: bool) -> Result<Option<usize>, PgWireError> {
    let (at, min, max) = if typed {
        (1, 4, MAX_MESSAGE)
    } else {
        (0, 8, MAX_STARTUP_PACKET)
    };
    let Some(header) = inbound.get(at..at + 4) else {
        return Ok(None);
    };
    let length = i32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    match usize::try_from(length) {
        Ok(length) if (min..=max).contains(&length) => Ok(Some(at + length)),
        _ => Err(violation(&format!("invalid message length {length}"))),
    }
}

/// Whether the body of a message of type `kind` holds its fields exactly, as PostgreSQL's
/// `pq_getmsg*` functions read them (pgwire's decoders assume it and would read past the end
/// of a short one). Types without fixed fields (CopyData, the password family) pass.
fn well_formed(kind: u8, body: &[u8]) -> bool {
    let mut fields = Fields(body);
    let complete = match kind {
        b'Q' | b'f' => fields.cstring(),
        b'P' => {
            fields.cstring()
                && fields.cstring()
                && fields.count().is_some_and(|n| fields.skip(n * 4))
        }
        b'B' => {
            fields.cstring()
                && fields.cstring()
                && fields.count().is_some_and(|n| fields.skip(n * 2))
                && fields
                    .count()
                    .is_some_and(|n| (0..n).all(|_| fields.value()))
                && fields.count().is_some_and(|n| fields.skip(n * 2))
        }
        b'D' | b'C' => fields.skip(1) && fields.cstring(),
        b'E' => fields.cstring() && fields.skip(4),
        b'S' | b'H' | b'c' | b'X' => true,
        _ => return true,
    };
    complete && fields.0.is_empty()
}

/// The fields of a message body, read front to back.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    /// Skips `n` bytes, if there are as many.
    fn skip(&mut self, n: usize) -> bool {
        match self.0.get(n..) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    /// Skips a NUL-terminated string.
    fn cstring(&mut self) -> bool {
        match self.0.iter().position(|b| *b == 0) {
            Some(end) => self.skip(end + 1),
            None => false,
        }
    }

    /// A 16-bit count (not negative).
    fn count(&mut self) -> Option<usize> {
        let bytes = self.0.get(..2)?;
        let n = i16::from_be_bytes([bytes[0], bytes[1]]);
        self.skip(2);
        usize::try_from(n).ok()
    }

    /// A Bind parameter: a 32-bit length (-1 for NULL) and that many bytes.
    fn value(&mut self) -> bool {
        let Some(bytes) = self.0.get(..4) else {
            return false;
        };
        let n = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        self.skip(4);
        match n {
            -1 => true,
            n => usize::try_from(n).is_ok_and(|n| self.skip(n)),
        }
    }
}

/// A protocol violation: a FATAL error, after which the connection closes.
pub fn violation(message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(pgwire::error::ErrorInfo::new(
        "FATAL".into(),
        "08P01".into(),
        message.into(),
    )))
}

/// A client socket whose reads are capped until authentication.
pub struct Guarded<IO> {
    inner: IO,
    /// Bytes the client may still send before authenticating; `None` once it has.
    allowance: Option<u64>,
}

impl<IO> Guarded<IO> {
    pub fn new(inner: IO, pre_auth_bytes: u64) -> Guarded<IO> {
        Guarded {
            inner,
            allowance: Some(pre_auth_bytes),
        }
    }

    /// The client has authenticated: no cap from now on.
    pub fn authenticated(&mut self) {
        self.allowance = None;
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(allowance) = this.allowance else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        if allowance == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the client sent too much before authenticating",
            )));
        }
        // Before authentication, read through a small buffer of our own, no more than the
        // allowance (a copy of at most `PRE_AUTH_BYTES` in a connection's life).
        let mut staging = [0u8; 4096];
        let window = usize::try_from(allowance)
            .unwrap_or(usize::MAX)
            .min(buf.remaining())
            .min(staging.len());
        let mut limited = ReadBuf::new(&mut staging[..window]);
        let polled = Pin::new(&mut this.inner).poll_read(cx, &mut limited);
        if let Poll::Ready(Ok(())) = polled {
            let read = limited.filled();
            buf.put_slice(read);
            this.allowance = Some(allowance - read.len() as u64);
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_must_hold_their_fields_exactly() {
        assert!(well_formed(b'Q', b"SELECT 1\0"));
        assert!(!well_formed(b'Q', b"SELECT 1"));
        assert!(!well_formed(b'Q', b"SELECT 1\0extra"));
        // Parse: name, query, one parameter type.
        assert!(well_formed(b'P', b"s\0SELECT $1\0\x00\x01\x00\x00\x00\x17"));
        assert!(!well_formed(b'P', b"s\0SELECT $1\0\x00"));
        assert!(!well_formed(
            b'P',
            b"s\0SELECT $1\0\x00\x02\x00\x00\x00\x17"
        ));
        // Bind: portal, statement, no formats, one NULL and one 1-byte value, no result formats.
        let bind = b"\0s\0\x00\x00\x00\x02\xff\xff\xff\xff\x00\x00\x00\x01x\x00\x00";
        assert!(well_formed(b'B', bind));
        assert!(!well_formed(b'B', &bind[..bind.len() - 3]));
        assert!(!well_formed(
            b'B',
            b"\0s\0\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x00"
        ));
        assert!(well_formed(b'E', b"\0\x00\x00\x00\x00"));
        assert!(!well_formed(b'E', b"\0\x00\x00"));
        assert!(!well_formed(b'S', b"x"));
    }
}
