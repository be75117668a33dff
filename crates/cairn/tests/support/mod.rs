//! A blocking RESP client, `cairn serve` child processes and test data, for the binary's
//! tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A tiny blocking RESP client: enough to send commands and read simple replies.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    pub fn call(&mut self, args: &[&str]) -> std::io::Result<Value> {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.writer.write_all(out.as_bytes())?;
        self.read_value()
    }

    fn read_value(&mut self) -> std::io::Result<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        let (kind, rest) = line.split_at(1);
        let bad = || std::io::Error::other(format!("bad reply {line:?}"));
        Ok(match kind {
            "+" => Value::Status(rest.into()),
            "-" => Value::Error(rest.into()),
            ":" => Value::Int(rest.parse().map_err(|_| bad())?),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    Value::Bulk(None)
                } else {
                    let mut buf = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut buf)?;
                    buf.truncate(n as usize);
                    Value::Bulk(Some(buf))
                }
            }
            "*" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    Value::Array(None)
                } else {
                    let mut items = Vec::new();
                    for _ in 0..n {
                        items.push(self.read_value()?);
                    }
                    Value::Array(Some(items))
                }
            }
            _ => return Err(bad()),
        })
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn start_server(dir: &std::path::Path, port: u16) -> Child {
    start_server_with(dir, port, "always")
}

/// `cairn serve` on `dir` with the `appendfsync` policy `appendfsync`.
pub fn start_server_with(dir: &std::path::Path, port: u16, appendfsync: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--appendfsync", appendfsync, "--redis-port"])
        .arg(port.to_string())
        .arg("--http-port")
        .arg(free_port().to_string())
        .args(["--pg-port", "0"])
        .arg("--data")
        .arg(dir)
        .env("CAIRN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cairn serve")
}

pub fn wait_ready(port: u16, child: &mut Child) -> Client {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut c) = Client::connect(port) {
            if c.call(&["PING"]).is_ok() {
                return c;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("cairn serve exited early: {status}");
        }
        assert!(Instant::now() < deadline, "server did not come up");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[allow(unused_imports)]
pub use cairn_test_support::noise;

/// Pseudo-random numbers, the same sequence for the same nonzero seed (xorshift), for the
/// timing of kills and the sizes of rounds.
pub fn random_numbers(seed: u64) -> impl FnMut() -> u64 {
    let mut rng = cairn_test_support::Rng::new(seed);
    move || rng.next()
}
