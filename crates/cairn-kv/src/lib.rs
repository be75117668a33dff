//! cairn-kv: the Redis data model and command semantics, stored in cairn-log. No sockets:
//! the RESP door in cairn-server parses frames into argument vectors, calls
//! [`Kv::execute`], and writes the [`Reply`] back in RESP2 or RESP3.
//!
//! # Life of a command
//!
//! 1. [`Kv::execute`] (`dispatch.rs`) looks the name up in the command table
//!    (`commands/table.rs`), checks arity and authentication, and queues the command if the
//!    session is inside `MULTI`.
//! 2. Otherwise it takes the keyspace lock and runs the handler on a transaction (`txn::Txn`): reads go
//!    through the transaction's cache to cairn-log, writes are buffered.
//! 3. The transaction commits as one cairn-log batch (atomic across crashes), the lock is
//!    released, and the connection waits for durability (`appendfsync always`) before it
//!    sends the reply, so concurrent clients share fsyncs.
//!
//! The commands of one pipeline share a transaction ([`Kv::execute_pipeline`]), and the
//! collection commands a pipeline repeats (LPUSH, RPOP, SADD, HSET, ZADD…) keep their
//! collection decoded between commands, writing it back once (`collections/open.rs`).
//!
//! # Keyspace layout
//!
//! `encoding.rs` describes how keys map to log records: one head record per Redis key
//! (strings whole; collections as a small descriptor) and child records for collection
//! elements, laid out per type in `collections/` so that no change rewrites a large
//! collection: hashes and sets are linear-hashing tables of small buckets, lists are deques
//! of fixed-size chunks.
//!
//! # Expiry
//!
//! Expiry times live in the head records. An expired key is deleted when it is next touched
//! (lazy expiry) and by the active expiry cycle, which samples the keys that have an expiry
//! the way Redis does. An expired key is never returned, also right after a restart, since
//! every read checks the time.

mod blocked;
mod clock;
mod collections;
mod commands;
mod credentials;
mod dispatch;
mod encoding;
mod error;
mod glob;
mod kv;
mod num;
mod rand;
mod reap;
mod reply;
mod session;
mod snapshot;
mod state;
mod txn;

pub use cairn_log::{Durability, PendingCommit};
pub use clock::{now_ms, Clock};
pub use credentials::{Credentials, CredentialsError};
pub use encoding::DATABASES;
pub use error::{KvError, Result, StorageError};
pub use kv::{After, ConnectionLimits, Kv, KvOptions, Outcome};
pub use num::{format_double, strict_i64};
pub use reply::{Reply, Slices};
pub use session::{ClientInfo, Session};
pub use snapshot::{Dumped, Value};

/// The longest string value: Redis's largest `proto-max-bulk-len` default, 512 MiB (the head
/// record's own bytes fit in cairn-log's margin above it).
pub const MAX_STRING_LEN: usize = 512 << 20;
