//! [`Kv`]: the Redis keyspace over one cairn-log store, shared by every connection.
//!
//! Commands run one at a time under the keyspace lock, as Redis runs them on its one thread:
//! each command (and each `EXEC`) is atomic for other clients. The lock is released before
//! the fsync that `appendfsync always` waits for, so concurrent clients share fsyncs.
//!
//! At open the keyspace is scanned once to count keys per database and to collect the keys
//! that have an expiry; a background thread then runs Redis's active expiry cycle ten times a
//! second: sample 20 keys with an expiry per database, delete the expired ones, go on while
//! more than a quarter of a sample had expired, for at most 25 ms.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cairn_log::{Durability, Options, PendingCommit, Store};
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::encoding::{head_key, meta_key, parse_head_key, Head, DATABASES};
use crate::error::Result;
use crate::rand::Rng;
use crate::session::{Clients, Session};
use crate::state::State;
use crate::txn::{Held, Txn, GENERATION_META};

pub(crate) const SEED_META: &str = "seed";

/// Settings of the Redis door.
#[derive(Debug, Clone)]
pub struct KvOptions {
    /// `appendfsync`: when an acknowledged write is durable. Redis's default is everysec.
    pub appendfsync: Durability,
    /// `requirepass`: clients must `AUTH` first when set (and not empty). Read at open;
    /// from then on the password lives in [`Kv::credentials`], which `CONFIG SET` changes.
    pub requirepass: Option<String>,
    /// Byte budget of the engine's cache of hot values.
    pub cache_bytes: usize,
    /// Run the active expiry cycle on a background thread.
    pub active_expiry: bool,
    /// Close connections idle this long (seconds; 0 = never), Redis's `timeout`.
    pub idle_timeout_secs: u64,
    /// The longest bulk string a request may carry, and the longest string APPEND and
    /// SETRANGE may make (`proto-max-bulk-len`; at most [`crate::MAX_STRING_LEN`]).
    pub proto_max_bulk_len: usize,
    /// The most unparsed input a connection may hold (`client-query-buffer-limit`).
    pub client_query_buffer_limit: usize,
    /// The most clients connected at once, over every door (`maxclients`); the server may
    /// lower it to what the open-files limit allows.
    pub maxclients: usize,
    /// The file layer the keyspace's store writes through (the OS's; faults in tests).
    pub fs: cairn_fs::Fs,
    /// What "now" is for expiry: the system clock, or a manual one in tests.
    pub clock: Clock,
}

impl Default for KvOptions {
    fn default() -> Self {
        KvOptions {
            appendfsync: Durability::EverySec,
            requirepass: None,
            cache_bytes: 256 << 20,
            active_expiry: true,
            idle_timeout_secs: 0,
            proto_max_bulk_len: crate::MAX_STRING_LEN,
            client_query_buffer_limit: 1 << 30,
            maxclients: 10_000,
            fs: cairn_fs::Fs::os(),
            clock: Clock::system(),
        }
    }
}

/// The settings a connection reads for each batch of requests ([`Kv::connection_limits`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub proto_max_bulk_len: usize,
    pub client_query_buffer_limit: usize,
    /// Close connections idle this long (`timeout`); `None` for never.
    pub idle_timeout: Option<Duration>,
}

/// Counters for `INFO`.
#[derive(Debug)]
pub struct ServerStats {
    pub started: Instant,
    pub commands: AtomicU64,
    /// Unix seconds of the last successful SAVE / BGSAVE (or of the start).
    pub last_save: AtomicU64,
    pub bgsave_running: AtomicBool,
    pub last_bgsave_ok: AtomicBool,
    pub rewrites: AtomicU64,
}

/// What the connection should do besides sending the reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum After {
    #[default]
    Continue,
    /// `QUIT`: close the connection once the reply is sent.
    Close,
    /// `SHUTDOWN`: stop the server.
    Shutdown,
    /// A blocking command found nothing: run it again when its session's `elements_waiter`
    /// is woken (one of its keys received elements), or give the null reply after
    /// `timeout_ms` (0 = never); then call [`Kv::stop_blocking`].
    Block { timeout_ms: u64 },
}

/// The answer to one command.
#[derive(Debug)]
pub struct Outcome {
    pub reply: crate::Reply,
    /// Wait for this (with [`Kv::wait_durable`]) before sending the reply.
    pub durable: PendingCommit,
    pub after: After,
}

/// The Redis keyspace: open once, share as `Arc<Kv>`.
pub struct Kv {
    pub(crate) store: Store,
    pub(crate) state: Mutex<State>,
    pub clients: Clients,
    pub(crate) options: Mutex<KvOptions>,
    pub(crate) credentials: Arc<Credentials>,
    pub stats: ServerStats,
    pub(crate) rng: Mutex<Rng>,
    /// Clients waiting in a blocking command.
    pub blocked_clients: AtomicU64,
    /// Lines the server adds to `INFO server` (`tcp_port`, `executable`…).
    pub info_fields: Mutex<Vec<(String, String)>>,
    dir: PathBuf,
    stop: Mutex<bool>,
    stop_signal: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// What "now" is for expiry.
    pub(crate) clock: Clock,
}

impl Kv {
    /// Opens (creating if needed) the keyspace stored in `dir`, a cairn-log directory.
    pub fn open(dir: impl AsRef<Path>, options: KvOptions) -> Result<Arc<Kv>> {
        let dir = dir.as_ref().to_path_buf();
        let log_options = Options {
            durability: options.appendfsync,
            cache_bytes: options.cache_bytes,
            fs: options.fs.clone(),
            ..Options::default()
        };
        let store = Store::open(&dir, log_options)?;
        let mut state = State::new();
        state.seed = load_seed(&store)?;
        let generation = match store.get(&meta_key(GENERATION_META))? {
            Some(b) if b.len() == 8 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b);
                u64::from_le_bytes(a)
            }
            _ => 1,
        };
        state.next_generation = generation;
        state.generation_limit = generation;
        rebuild_bookkeeping(&store, &mut state)?;
        let active_expiry = options.active_expiry;
        let clock = options.clock.clone();
        let kv = Arc::new(Kv {
            store,
            state: Mutex::new(state),
            clients: Clients::default(),
            credentials: Arc::new(Credentials::new(options.requirepass.as_deref())),
            options: Mutex::new(options),
            stats: ServerStats {
                started: Instant::now(),
                commands: AtomicU64::new(0),
                last_save: AtomicU64::new(clock.now_ms() / 1000),
                bgsave_running: AtomicBool::new(false),
                last_bgsave_ok: AtomicBool::new(true),
                rewrites: AtomicU64::new(0),
            },
            rng: Mutex::new(Rng::from_entropy()),
            blocked_clients: AtomicU64::new(0),
            info_fields: Mutex::new(Vec::new()),
            dir,
            stop: Mutex::new(false),
            stop_signal: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            clock,
        });
        if active_expiry {
            let weak = Arc::downgrade(&kv);
            let handle = std::thread::Builder::new()
                .name("cairn-kv-expire".into())
                .spawn(move || expiry_thread(weak))
                .map_err(|e| crate::KvError::Other(format!("starting expiry thread: {e}")))?;
            kv.threads.lock().push(handle);
        }
        Ok(kv)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new session for a client connected from `addr` to `laddr`.
    pub fn connect(&self, addr: String, laddr: String) -> Session {
        let info = self.clients.register(addr, laddr);
        Session::new(info, !self.credentials.required())
    }

    /// Takes a session that was blocked off the keys it waited on.
    pub fn stop_blocking(&self, session: &mut Session) {
        if let Some((db, keys)) = session.blocked_on.take() {
            let mut state = self.state.lock();
            for key in &keys {
                state.blocked.unregister(db, key, &session.elements_waiter);
            }
        }
    }

    /// Ends a session: forgets its watches and its client entry.
    pub fn disconnect(&self, session: &mut Session) {
        self.stop_blocking(session);
        self.unwatch(session);
        self.clients.unregister(session.id());
    }

    pub(crate) fn unwatch(&self, session: &mut Session) {
        if let Some(watch) = session.watch.take() {
            let mut state = self.state.lock();
            for (db, key, _) in &watch.keys {
                state.watches.remove(*db, key, &watch.dirty);
            }
            session.info.watching.store(0, Ordering::Relaxed);
        }
    }

    /// Waits until the writes of a command are durable under `appendfsync` (blocking: call it
    /// off the async executor).
    pub fn wait_durable(&self, pending: PendingCommit) -> Result<()> {
        Ok(self.store.wait_durable(pending)?)
    }

    /// What a connection is held to, as `CONFIG SET` left it: read once per batch of
    /// requests, under one lock.
    pub fn connection_limits(&self) -> ConnectionLimits {
        let o = self.options.lock();
        ConnectionLimits {
            proto_max_bulk_len: o.proto_max_bulk_len,
            client_query_buffer_limit: o.client_query_buffer_limit,
            idle_timeout: (o.idle_timeout_secs > 0)
                .then(|| Duration::from_secs(o.idle_timeout_secs)),
        }
    }

    /// The most clients connected at once (`maxclients`).
    pub fn maxclients(&self) -> usize {
        self.options.lock().maxclients
    }

    /// Whether authentication is configured (`requirepass`).
    pub fn requires_auth(&self) -> bool {
        self.credentials.required()
    }

    /// The password every door checks, shared with the other doors.
    pub fn credentials(&self) -> Arc<Credentials> {
        Arc::clone(&self.credentials)
    }

    /// Whether replies must wait for an fsync (`appendfsync always`).
    pub fn fsync_every_write(&self) -> bool {
        self.options.lock().appendfsync == Durability::Always
    }

    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Runs `f` on a transaction over the keyspace and commits it.
    pub fn with_txn<T>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<T>) -> Result<T> {
        let mut state = self.state.lock();
        let mut txn = Txn::new(&self.store, &mut state, self.clock.now_ms());
        let value = f(&mut txn)?;
        let pending = txn.commit()?;
        drop(state);
        self.store.wait_durable(pending)?;
        Ok(value)
    }

    /// Writes the writes pipelines held (see the `txn` module) to the store.
    pub fn flush_held(&self) -> Result<()> {
        self.flush_held_when(|_| true)
    }

    /// Writes the held writes to the store if they have been held their time (the expiry
    /// thread's tick, for when no pipeline comes to do it).
    fn flush_held_if_due(&self) -> Result<()> {
        self.flush_held_when(|held| held.due(self.clock.now_ms()))
    }

    fn flush_held_when(&self, flush: impl FnOnce(&Held) -> bool) -> Result<()> {
        let mut state = self.state.lock();
        if !state.held.as_ref().is_some_and(flush) {
            return Ok(());
        }
        let pending = Txn::new(&self.store, &mut state, self.clock.now_ms()).commit()?;
        drop(state);
        self.store.wait_durable(pending)?;
        Ok(())
    }

    /// SAVE: makes everything durable and checkpoints the engine (index, bloom filter,
    /// metadata written; WAL retired), the point-in-time image a restart starts from.
    pub fn save(&self) -> Result<()> {
        self.flush_held()?;
        self.checkpoint_engine()?;
        self.state.lock().changes_since_save = 0;
        Ok(())
    }

    /// SAVE's work without touching the keyspace lock (for handlers, which hold it).
    pub(crate) fn checkpoint_engine(&self) -> Result<()> {
        self.store.flush()?;
        self.store.checkpoint()?;
        self.stats
            .last_save
            .store(self.clock.now_ms() / 1000, Ordering::Relaxed);
        Ok(())
    }

    /// BGREWRITEAOF: compacts the log (rewrites segments holding mostly dead records).
    pub fn rewrite_log(&self) -> Result<usize> {
        let n = self.store.compact()?;
        self.stats.rewrites.fetch_add(1, Ordering::Relaxed);
        Ok(n)
    }

    pub fn engine_stats(&self) -> cairn_log::Stats {
        self.store.stats()
    }

    /// Stops the expiry thread, makes everything durable and checkpoints.
    pub fn close(&self) -> Result<()> {
        *self.stop.lock() = true;
        self.stop_signal.notify_all();
        let threads: Vec<_> = self.threads.lock().drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
        self.flush_held()?;
        self.store.flush()?;
        self.store.shut_down()?;
        Ok(())
    }

    /// One round of the active expiry cycle; returns the number of keys expired.
    pub fn active_expire_cycle(&self, budget: Duration) -> Result<u64> {
        let started = Instant::now();
        let mut state = self.state.lock();
        let now = self.clock.now_ms();
        let mut expired = 0;
        let mut rng = self.rng.lock();
        for db in 0..DATABASES as u8 {
            loop {
                let sampled: Vec<(Vec<u8>, u64)> = {
                    let set = &state.dbs[usize::from(db)].volatile;
                    if set.is_empty() {
                        break;
                    }
                    (0..20.min(set.len()))
                        .filter_map(|_| set.nth(rng.next_u64()).cloned())
                        .collect()
                };
                let due: Vec<Vec<u8>> = sampled
                    .iter()
                    .filter(|(_, at)| *at <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                if due.is_empty() {
                    break;
                }
                let mut txn = Txn::new(&self.store, &mut state, now);
                let mut missing = Vec::new();
                for key in &due {
                    let present = txn.exists(&head_key(db, key, true))?
                        || txn.exists(&head_key(db, key, false))?;
                    if !present {
                        missing.push(key);
                    } else if txn.head(db, key)?.is_none() {
                        expired += 1;
                    }
                }
                // Expiry writes are not waited for: like Redis's, they are replayed or
                // redone after a crash (an expired key is never returned either way).
                let _ = txn.commit()?;
                for key in missing {
                    state.dbs[usize::from(db)].volatile.remove(key);
                }
                if due.len() * 4 <= sampled.len() || started.elapsed() >= budget {
                    break;
                }
            }
        }
        Ok(expired)
    }
}

impl Drop for Kv {
    fn drop(&mut self) {
        *self.stop.lock() = true;
        self.stop_signal.notify_all();
    }
}

fn expiry_thread(kv: Weak<Kv>) {
    loop {
        let Some(kv) = kv.upgrade() else { return };
        {
            let mut stop = kv.stop.lock();
            if *stop {
                return;
            }
            kv.stop_signal
                .wait_for(&mut stop, Duration::from_millis(100));
            if *stop {
                return;
            }
        }
        if let Err(e) = kv.flush_held_if_due() {
            tracing::warn!("writing held writes: {e}");
        }
        if let Err(e) = kv.active_expire_cycle(Duration::from_millis(25)) {
            tracing::warn!("active expiry: {e}");
        }
        if let Err(e) = kv.reap() {
            tracing::warn!("freeing unlinked values: {e}");
        }
    }
}

/// The bucket-hash secret: read from the store, or made and stored on first open.
/// The seed's record: both keys, little-endian.
pub(crate) fn encode_seed((k0, k1): (u64, u64)) -> Vec<u8> {
    let mut bytes = k0.to_le_bytes().to_vec();
    bytes.extend_from_slice(&k1.to_le_bytes());
    bytes
}

fn load_seed(store: &Store) -> Result<(u64, u64)> {
    if let Some(b) = store.get(&meta_key(SEED_META))? {
        if b.len() == 16 {
            let mut k0 = [0u8; 8];
            let mut k1 = [0u8; 8];
            k0.copy_from_slice(&b[..8]);
            k1.copy_from_slice(&b[8..]);
            return Ok((u64::from_le_bytes(k0), u64::from_le_bytes(k1)));
        }
    }
    let mut rng = Rng::from_entropy();
    let seed = (rng.next_u64(), rng.next_u64());
    store.put(&meta_key(SEED_META), &encode_seed(seed), None)?;
    store.flush()?;
    Ok(seed)
}

/// Counts keys per database and collects the keys with an expiry, by scanning every head.
fn rebuild_bookkeeping(store: &Store, state: &mut State) -> Result<()> {
    let reap_prefix = meta_key(crate::reap::REAP_META);
    let mut cursor = 0;
    loop {
        let page = store.scan(cursor, 1024)?;
        for log_key in &page.keys {
            let reap_name = log_key
                .strip_prefix(reap_prefix.as_slice())
                .and_then(|_| std::str::from_utf8(&log_key[1..]).ok());
            if let Some(name) = reap_name {
                if let Some(bytes) = store.get(log_key)? {
                    state
                        .reaping
                        .push_back(crate::reap::ReapJob::decode(name, &bytes)?);
                }
                continue;
            }
            let Some((db, key)) = parse_head_key(log_key) else {
                continue;
            };
            let Some(bytes) = store.get(log_key)? else {
                continue;
            };
            let head = Head::decode(bytes, log_key[0] == b's')?;
            if head.chunks.is_some() {
                state.chunked_strings.insert((db, key.to_vec()));
            }
            let db_state = &mut state.dbs[usize::from(db)];
            db_state.keys += 1;
            if head.expire_at != 0 {
                db_state.volatile.set(key, head.expire_at);
            }
        }
        cursor = page.cursor;
        if cursor == 0 {
            return Ok(());
        }
    }
}
