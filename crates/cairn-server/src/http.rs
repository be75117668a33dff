//! The blob door: HTTP/1.1 over the blob store (hyper).
//!
//! | request | answer |
//! | --- | --- |
//! | `PUT /blobs/{name}` | the body is added under the name (a new version if it exists): 201 and a JSON report |
//! | `GET /blobs/{name}` | the file (`?version=N` for an older one, `?component=audio\|video\|keyframes\|metadata` for part of it); `Range: bytes=…` gives 206 |
//! | `HEAD /blobs/{name}` | its headers: length, ETag (the SHA-256), format |
//! | `DELETE /blobs/{name}` | removes every version: 204 |
//! | `GET /blobs` | the files, as JSON |
//! | `GET /blobs/{name}/atoms` | the atoms of the file, as JSON |
//! | `GET /stats` | storage statistics, as JSON |
//!
//! Errors are JSON `{"error": "…"}` with the status that fits: 400 for a bad name or request,
//! 401 without the password when one is set (`Authorization: Bearer <password>`), 404,
//! 405, 408 for an upload that stalls, 415 for a body in a content coding, 416 for a range
//! outside the file, 501 for a transfer coding other than chunked, 503 over `maxclients`,
//! 507 when the disk is full, 500 when an atom is damaged — a damaged atom is never sent: a
//! response already under way is cut off instead. A `Range` that is not a valid single byte
//! range is ignored and the whole file sent, as RFC 9110 says.
//!
//! Limits: request headers must arrive within 30 seconds of the connection going idle (which
//! also closes idle keep-alive connections), an upload's body may pause at most 60 seconds,
//! and nothing of a body is read before the password is checked. An upload is spooled to
//! `incoming/` in the blob directory and added from there, so a body of any size is streamed
//! to disk, never held in memory; bodies of reads are streamed atom by atom from a blocking
//! task.

use std::convert::Infallible;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cairn_blob::{is_storage_full, BlobStore, Component, Error as BlobError};
use cairn_kv::Credentials;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::admission::{AcceptErrors, Admission};

type Body = BoxBody<Bytes, std::io::Error>;

/// What every request handler shares.
struct Door {
    store: Arc<BlobStore>,
    incoming: PathBuf,
    /// The password, shared with the Redis door (`CONFIG SET requirepass` reaches both).
    credentials: Arc<Credentials>,
}

/// How long a client may take to send a request's headers, counted from when the connection
/// is opened or its previous response was sent.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an upload's body may pause.
const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves the blob door on `listener` until `stop` turns true.
pub async fn run(
    listener: TcpListener,
    store: Arc<BlobStore>,
    blob_dir: PathBuf,
    credentials: Arc<Credentials>,
    admission: Arc<Admission>,
    mut stop: watch::Receiver<bool>,
) {
    let incoming = blob_dir.join("incoming");
    // Uploads a crash interrupted are of no use.
    let _ = std::fs::remove_dir_all(&incoming);
    if let Err(e) = std::fs::create_dir_all(&incoming) {
        tracing::error!("blob door: cannot create {}: {e}", incoming.display());
        return;
    }
    let door = Arc::new(Door {
        store,
        incoming,
        credentials,
    });
    let mut connections = tokio::task::JoinSet::new();
    let mut accept_errors = AcceptErrors::default();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let socket = match accepted {
                    Ok((socket, _)) => socket,
                    Err(e) => {
                        accept_errors.failed("blob door", e).await;
                        continue;
                    }
                };
                let Some(admitted) = admission.admit() else {
                    let _ = socket.try_write(TOO_MANY_CLIENTS);
                    continue;
                };
                let door = Arc::clone(&door);
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let _admitted = admitted;
                    let service = hyper::service::service_fn(move |request| {
                        let door = Arc::clone(&door);
                        async move { Ok::<_, Infallible>(door.handle(request).await) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .serve_connection(TokioIo::new(socket), service);
                    tokio::pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        _ = stop.changed() => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
            }
        }
    }
    while connections.join_next().await.is_some() {}
}

/// The answer to a connection over `maxclients`, written as it is accepted.
const TOO_MANY_CLIENTS: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 43\r\nconnection: close\r\n\r\n{\"error\": \"max number of clients reached\"}\n";

fn json(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(format!("{value}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed()
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response<Body> {
    json(status, serde_json::json!({ "error": message.to_string() }))
}

/// The status of a store error.
fn store_error(e: BlobError) -> Response<Body> {
    let status = match &e {
        BlobError::InvalidName { .. } | BlobError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        BlobError::NotFound(_) => StatusCode::NOT_FOUND,
        e if e.is_storage_full() => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e)
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The query parameter `key`, decoded.
fn query_param(request: &Request<Incoming>, key: &str) -> Option<String> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v)).flatten()
    })
}

/// A single `bytes=` range of a `len`-byte file, as [start, end); `Err` when unsatisfiable;
/// `Ok(None)` when absent, invalid (`bytes=5-2`, `bytes=abc`) or not a single byte range:
/// RFC 9110 says to ignore such a header and send the whole file.
fn parse_range(value: Option<&HeaderValue>, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        // Digits only: `parse` would take a sign. Past u64, a last position means "to the end".
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().unwrap_or(u64::MAX))
    };
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            Some(0) => return Err(()),
            Some(n) => (len.saturating_sub(n), len),
            None => return Ok(None),
        },
        (start, "") => match number(start) {
            Some(start) => (start, len),
            None => return Ok(None),
        },
        (start, last) => match (number(start), number(last)) {
            (Some(start), Some(last)) if last >= start => (start, last.saturating_add(1).min(len)),
            _ => return Ok(None),
        },
    };
    if start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// Why an upload's body cannot be stored as sent: a transfer coding other than chunked
/// (hyper undoes only chunked; RFC 9112 says 501), or a content coding (415).
fn unsupported_coding(request: &Request<Incoming>) -> Option<Response<Body>> {
    let headers = request.headers();
    for value in headers.get_all(header::TRANSFER_ENCODING) {
        let text = value.to_str().unwrap_or("?");
        if text
            .split(',')
            .any(|coding| !coding.trim().eq_ignore_ascii_case("chunked"))
        {
            return Some(error(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "transfer coding {text:?} is not supported: send the body as it is, or chunked"
                ),
            ));
        }
    }
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = value.to_str().unwrap_or("?");
        if !text.trim().eq_ignore_ascii_case("identity") {
            return Some(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content coding {text:?} is not supported: the body is stored as sent, so send it decoded"),
            ));
        }
    }
    None
}

/// Sends what is written to it as body frames (from a blocking task).
struct FrameWriter(mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>);

impl Write for FrameWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Frame::data(Bytes::copy_from_slice(buf))))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Door {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        if self.credentials.required() {
            let authorized = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
                .is_some_and(|token| self.credentials.verify(token));
            if !authorized {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "this door needs Authorization: Bearer <password>",
                );
            }
        }
        let path = request.uri().path().to_string();
        let method = request.method().clone();
        if path == "/stats" {
            return match method {
                Method::GET => self.blocking(|store| store.stats()).await.map_or_else(store_error, |s| {
                    json(
                        StatusCode::OK,
                        serde_json::json!({
                            "files": s.files, "versions": s.versions, "total_atoms": s.total_atoms,
                            "unique_atoms": s.unique_atoms, "dedup_atoms": s.dedup_atoms,
                            "logical_bytes": s.logical_bytes, "atom_bytes": s.atom_bytes,
                            "stored_bytes": s.stored_bytes, "dedup_savings": s.dedup_savings,
                            "dedup_ratio": s.dedup_ratio(),
                        }),
                    )
                }),
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "only GET"),
            };
        }
        if path == "/blobs" || path == "/blobs/" {
            return match method {
                Method::GET => self.blocking(|store| store.list()).await.map_or_else(store_error, |list| {
                    let files: Vec<_> = list
                        .iter()
                        .map(|m| {
                            serde_json::json!({
                                "name": m.name, "version": m.version, "size": m.size, "sha256": m.sha256.to_hex(),
                                "format": m.format, "atoms": m.refs.len(),
                            })
                        })
                        .collect();
                    json(StatusCode::OK, serde_json::Value::Array(files))
                }),
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "only GET"),
            };
        }
        let Some(rest) = path.strip_prefix("/blobs/") else {
            return error(StatusCode::NOT_FOUND, format!("no such resource: {path}"));
        };
        let (raw_name, atoms) = match rest.strip_suffix("/atoms") {
            Some(name) => (name, true),
            None => (rest, false),
        };
        let Some(name) = percent_decode(raw_name) else {
            return error(
                StatusCode::BAD_REQUEST,
                "the name is not valid percent-encoded UTF-8",
            );
        };
        if let Err(e) = cairn_blob::check_name(&name) {
            return store_error(e);
        }
        let version = match query_param(&request, "version").map(|v| v.parse::<u32>()) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "version must be a number"),
        };
        if atoms {
            return match method {
                Method::GET => self.atoms(name, version).await,
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "only GET"),
            };
        }
        match method {
            Method::PUT => self.put(name, request).await,
            Method::GET | Method::HEAD => self.get(name, version, request).await,
            Method::DELETE => match self.blocking(move |store| store.remove(&name)).await {
                Ok(_) => {
                    let mut response = Response::new(full(Bytes::new()));
                    *response.status_mut() = StatusCode::NO_CONTENT;
                    response
                }
                Err(e) => store_error(e),
            },
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "PUT, GET, HEAD or DELETE"),
        }
    }

    /// Runs store work on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&BlobStore) -> cairn_blob::Result<T> + Send + 'static,
    ) -> cairn_blob::Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .unwrap_or_else(|e| Err(BlobError::Backend(format!("a worker failed: {e}"))))
    }

    async fn put(&self, name: String, request: Request<Incoming>) -> Response<Body> {
        if let Some(refusal) = unsupported_coding(&request) {
            return refusal;
        }
        let spool = self.incoming.join(format!(
            "{}-{}",
            std::process::id(),
            SPOOL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let spooled = spool_body(&spool, request.into_body()).await;
        if let Err(refusal) = spooled {
            let _ = tokio::fs::remove_file(&spool).await;
            return refusal;
        }
        let path = spool.clone();
        let added = self
            .blocking(move |store| store.add_file(&name, &path, None))
            .await;
        let _ = tokio::fs::remove_file(&spool).await;
        match added {
            Ok(report) => json(
                StatusCode::CREATED,
                serde_json::json!({
                    "name": report.name, "version": report.version, "size": report.size,
                    "format": report.format, "atoms": report.atoms, "new_atoms": report.new_atoms,
                    "new_bytes": report.new_bytes, "stored_bytes": report.stored_bytes,
                    "fallback": report.fallback,
                }),
            ),
            Err(e) => store_error(e),
        }
    }

    async fn atoms(&self, name: String, version: Option<u32>) -> Response<Body> {
        match self
            .blocking(move |store| store.atoms_of(&name, version))
            .await
        {
            Ok(atoms) => {
                let list: Vec<_> = atoms
                    .iter()
                    .map(|(r, record)| {
                        serde_json::json!({
                            "atom": r.hash.uri(), "type": r.atom_type.name(), "offset": r.offset, "size": r.size,
                            "refs": record.as_ref().map(|r| r.refs),
                            "stored_size": record.as_ref().map(|r| r.stored_size),
                            "parent": record.as_ref().and_then(|r| r.parent).map(|p| p.uri()),
                            "metadata": record.as_ref().map(|r| {
                                r.metadata
                                    .iter()
                                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                                    .collect::<serde_json::Map<_, _>>()
                            }),
                        })
                    })
                    .collect();
                json(StatusCode::OK, serde_json::Value::Array(list))
            }
            Err(e) => store_error(e),
        }
    }

    async fn get(
        &self,
        name: String,
        version: Option<u32>,
        request: Request<Incoming>,
    ) -> Response<Body> {
        let component = match query_param(&request, "component") {
            None => None,
            Some(text) => match Component::parse(&text) {
                Some(component) => Some(component),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "component must be audio, video, keyframes or metadata",
                    )
                }
            },
        };
        let lookup = name.clone();
        let manifest = match self
            .blocking(move |store| store.manifest(&lookup, version))
            .await
        {
            Ok(manifest) => manifest,
            Err(e) => return store_error(e),
        };
        let len = match component {
            None => manifest.size,
            Some(c) => manifest
                .refs
                .iter()
                .filter(|r| c.includes(r.atom_type))
                .map(|r| r.size)
                .sum(),
        };
        let range = if component.is_none() {
            match parse_range(request.headers().get(header::RANGE), len) {
                Ok(range) => range,
                Err(()) => {
                    let mut response = error(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "the range is outside the file",
                    );
                    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                        response.headers_mut().insert(header::CONTENT_RANGE, value);
                    }
                    return response;
                }
            }
        } else {
            None
        };
        let (status, start, end) = match range {
            Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end),
            None => (StatusCode::OK, 0, len),
        };
        let body = if request.method() == Method::HEAD {
            full(Bytes::new())
        } else {
            let (sender, receiver) = mpsc::channel(4);
            let store = Arc::clone(&self.store);
            let version = Some(manifest.version);
            tokio::task::spawn_blocking(move || {
                let errors = sender.clone();
                let mut out = FrameWriter(sender);
                let result = match (component, range) {
                    (Some(c), _) => store.get(&name, version, Some(c), &mut out),
                    (None, Some((start, end))) => {
                        store.get_range(&name, version, start, end, &mut out)
                    }
                    (None, None) => store.get(&name, version, None, &mut out),
                };
                if let Err(e) = result {
                    tracing::warn!("blob door: reading {name}: {e}");
                    // Ends the response abnormally: the client sees a cut-off transfer.
                    let _ = errors.blocking_send(Err(std::io::Error::other(e.to_string())));
                }
            });
            ChannelBody(receiver).boxed()
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(&manifest.format)),
        );
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", manifest.sha256.to_hex())) {
            headers.insert(header::ETAG, etag);
        }
        if let Ok(version) = HeaderValue::from_str(&manifest.version.to_string()) {
            headers.insert("x-cairn-version", version);
        }
        if status == StatusCode::PARTIAL_CONTENT {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)) {
                headers.insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}

/// Writes an upload's body to `spool`; the response to send instead when the client fails
/// (400), stalls (408) or the disk does (507 when full, else 500).
async fn spool_body(spool: &std::path::Path, mut body: Incoming) -> Result<(), Response<Body>> {
    let disk = |e: std::io::Error| {
        let status = if is_storage_full(&e) {
            StatusCode::INSUFFICIENT_STORAGE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        error(status, format!("storing the upload: {e}"))
    };
    let mut file = tokio::fs::File::create(spool).await.map_err(disk)?;
    loop {
        let frame = match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.frame()).await {
            Err(_) => {
                return Err(error(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body stopped arriving",
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("reading the body: {e}"),
                ))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            file.write_all(data).await.map_err(disk)?;
        }
    }
    file.flush().await.map_err(disk)
}

static SPOOL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn content_type(format: &str) -> &'static str {
    match format {
        "png" => "image/png",
        "jpeg" => "image/jpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// A response body fed by a channel: frames a blocking task sends, in order.
struct ChannelBody(mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let range =
            |text: &str| parse_range(Some(&HeaderValue::from_str(text).expect("header")), 100);
        assert_eq!(range("bytes=0-9"), Ok(Some((0, 10))));
        assert_eq!(range("bytes=90-"), Ok(Some((90, 100))));
        assert_eq!(range("bytes=-5"), Ok(Some((95, 100))));
        assert_eq!(range("bytes=95-200"), Ok(Some((95, 100))));
        assert_eq!(range("bytes=100-"), Err(()));
        assert_eq!(range("bytes=-0"), Err(()));
        // Invalid ranges are ignored (the whole file is sent), not refused.
        assert_eq!(range("bytes=5-1"), Ok(None));
        assert_eq!(range("bytes=abc"), Ok(None));
        assert_eq!(range("bytes=+5-9"), Ok(None));
        assert_eq!(range("bytes=0-1,5-6"), Ok(None));
        assert_eq!(range("bytes=0-18446744073709551615"), Ok(Some((0, 100))));
        assert_eq!(range("bytes=0-99999999999999999999999"), Ok(Some((0, 100))));
        assert_eq!(parse_range(None, 100), Ok(None));
        assert_eq!(percent_decode("a%20b%2Fc"), Some("a b/c".into()));
        assert_eq!(percent_decode("bad%zz"), None);
    }

    #[test]
    fn a_full_disk_is_507_not_a_bad_request() {
        let full = || std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(is_storage_full(&full()));
        let store_full = BlobError::Io {
            path: "atoms/ab".into(),
            source: full(),
        };
        assert_eq!(
            store_error(store_full).status(),
            StatusCode::INSUFFICIENT_STORAGE
        );
        let other = BlobError::Io {
            path: "atoms/ab".into(),
            source: std::io::Error::from_raw_os_error(libc::EIO),
        };
        assert_eq!(
            store_error(other).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
