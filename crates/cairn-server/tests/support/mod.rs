//! A cairn Redis door started in-process on a free loopback port, and a raw RESP client for
//! checking replies byte for byte.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use cairn_kv::{Kv, KvOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    pub kv: Arc<Kv>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(dir: &Path, options: KvOptions) -> TestServer {
        let kv = Kv::open(dir, options).expect("open keyspace");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let admission = cairn_server::admission::Admission::new(kv.clone());
        let task = tokio::spawn(cairn_server::run_redis(
            listener,
            kv.clone(),
            admission,
            async {
                let _ = stopped.await;
            },
        ));
        TestServer {
            addr,
            kv,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    pub async fn raw(&self) -> Raw {
        Raw {
            stream: TcpStream::connect(self.addr).await.expect("connect"),
            pending: Vec::new(),
        }
    }

    /// Stops the server and waits until the keyspace is closed and released.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}

/// Sends commands as RESP arrays and reads raw replies.
pub struct Raw {
    pub stream: TcpStream,
    /// Bytes read past the last reply returned.
    pending: Vec<u8>,
}

impl Raw {
    pub async fn send(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.stream.write_all(out.as_bytes()).await.expect("write");
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one complete reply (of any RESP type) as text.
    pub async fn reply(&mut self) -> String {
        let mut buf = std::mem::take(&mut self.pending);
        loop {
            if let Some(n) = complete(&buf, 0) {
                self.pending = buf.split_off(n);
                return String::from_utf8_lossy(&buf).into_owned();
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.stream.read(&mut chunk),
            )
            .await
            .expect("reply in time")
            .expect("read");
            if n == 0 {
                return format!("<closed>{}", String::from_utf8_lossy(&buf));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn call(&mut self, args: &[&str]) -> String {
        self.send(args).await;
        self.reply().await
    }

    /// Whether the server closed the connection (reads until EOF).
    pub async fn closed(&mut self) -> bool {
        let mut chunk = [0u8; 64];
        matches!(
            tokio::time::timeout(
                std::time::Duration::from_secs(5),
                self.stream.read(&mut chunk)
            )
            .await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// The length of the complete reply at `at`, if complete.
fn complete(buf: &[u8], at: usize) -> Option<usize> {
    let end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let header = std::str::from_utf8(&buf[at + 1..end]).ok()?;
    let after = end + 2;
    match buf[at] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' => Some(after),
        b'$' | b'=' => {
            let n: i64 = header.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let stop = after + n as usize + 2;
            (buf.len() >= stop).then_some(stop)
        }
        b'*' | b'~' | b'%' => {
            let n: i64 = header.parse().ok()?;
            let items = if buf[at] == b'%' { n * 2 } else { n };
            let mut pos = after;
            for _ in 0..items.max(0) {
                pos = complete(buf, pos)?;
            }
            Some(pos)
        }
        _ => None,
    }
}
