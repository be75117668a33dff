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
//! 405, 416 for a range outside the file, 500 when an atom is damaged — a damaged atom is
//! never sent: a response already under way is cut off instead.
//!
//! An upload is spooled to `incoming/` in the blob directory and added from there, so a
//! body of any size is streamed to disk, never held in memory; bodies of reads are
//! streamed atom by atom from a blocking task.

use std::convert::Infallible;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use cairn_blob::{BlobStore, Component, Error as BlobError};
use cairn_kv::Credentials;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

type Body = BoxBody<Bytes, std::io::Error>;

/// What every request handler shares.
struct Door {
    store: Arc<BlobStore>,
    incoming: PathBuf,
    /// The password, shared with the Redis door (`CONFIG SET requirepass` reaches both).
    credentials: Arc<Credentials>,
}

/// Serves the blob door on `listener` until `stop` turns true.
pub async fn run(
    listener: TcpListener,
    store: Arc<BlobStore>,
    blob_dir: PathBuf,
    credentials: Arc<Credentials>,
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
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let door = Arc::clone(&door);
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let door = Arc::clone(&door);
                        async move { Ok::<_, Infallible>(door.handle(request).await) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
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
/// `Ok(None)` when absent or not a single byte range (the whole file is then sent).
fn parse_range(value: Option<&HeaderValue>, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            (len.saturating_sub(n), len)
        }
        (start, "") => (start.parse().map_err(|_| ())?, len),
        (start, last) => {
            let (start, last): (u64, u64) = (
                start.parse().map_err(|_| ())?,
                last.parse().map_err(|_| ())?,
            );
            if last < start {
                return Err(());
            }
            (start, (last + 1).min(len))
        }
    };
    if start >= len || start >= end {
        return Err(());
    }
    Ok(Some((start, end)))
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
        let spool = self.incoming.join(format!(
            "{}-{}",
            std::process::id(),
            SPOOL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let result = async {
            let mut file = tokio::fs::File::create(&spool).await?;
            let mut body = request.into_body();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(std::io::Error::other)?;
                if let Some(data) = frame.data_ref() {
                    file.write_all(data).await?;
                }
            }
            file.flush().await?;
            std::io::Result::Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&spool).await;
            return error(StatusCode::BAD_REQUEST, format!("reading the body: {e}"));
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
        assert_eq!(range("bytes=5-1"), Err(()));
        assert_eq!(range("bytes=0-1,5-6"), Ok(None));
        assert_eq!(parse_range(None, 100), Ok(None));
        assert_eq!(percent_decode("a%20b%2Fc"), Some("a b/c".into()));
        assert_eq!(percent_decode("bad%zz"), None);
    }
}
