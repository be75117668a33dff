//! The state of one client connection: selected database, protocol version, authentication,
//! the queued commands of a `MULTI`, the keys it `WATCH`es; and the registry of connected
//! clients that `CLIENT LIST` and `INFO clients` read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;

/// What `CLIENT LIST` shows of a connection, shared between the session and the registry.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub created: Instant,
    pub name: Mutex<Option<String>>,
    pub lib_name: Mutex<Option<String>>,
    pub lib_ver: Mutex<Option<String>>,
    pub db: AtomicU8,
    pub resp: AtomicU8,
    /// Milliseconds since `created` at the last command.
    pub last_active_ms: AtomicU64,
    pub last_command: Mutex<&'static str>,
    pub in_multi: AtomicBool,
    pub watching: AtomicU64,
}

impl ClientInfo {
    /// One line of `CLIENT LIST` / the answer of `CLIENT INFO`, in Redis's field order.
    pub fn describe(&self) -> String {
        let age = self.created.elapsed().as_secs();
        let idle_ms = (self.created.elapsed().as_millis() as u64)
            .saturating_sub(self.last_active_ms.load(Ordering::Relaxed));
        let flags = if self.in_multi.load(Ordering::Relaxed) {
            "x"
        } else {
            "N"
        };
        format!(
            "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} watch={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.name.lock().as_deref().unwrap_or(""),
            age,
            idle_ms / 1000,
            flags,
            self.db.load(Ordering::Relaxed),
            if self.in_multi.load(Ordering::Relaxed) { 0 } else { -1 },
            self.watching.load(Ordering::Relaxed),
            self.last_command.lock(),
            self.resp.load(Ordering::Relaxed),
            self.lib_name.lock().as_deref().unwrap_or(""),
            self.lib_ver.lock().as_deref().unwrap_or(""),
        )
    }
}

/// The connected clients.
#[derive(Debug, Default)]
pub struct Clients {
    next_id: AtomicU64,
    map: Mutex<HashMap<u64, Arc<ClientInfo>>>,
    pub total_connections: AtomicU64,
}

impl Clients {
    pub fn register(&self, addr: String, laddr: String) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            db: AtomicU8::new(0),
            resp: AtomicU8::new(2),
            last_active_ms: AtomicU64::new(0),
            last_command: Mutex::new("NULL"),
            in_multi: AtomicBool::new(false),
            watching: AtomicU64::new(0),
        });
        self.map.lock().insert(id, info.clone());
        self.total_connections.fetch_add(1, Ordering::Relaxed);
        info
    }

    pub fn unregister(&self, id: u64) {
        self.map.lock().remove(&id);
    }

    pub fn connected(&self) -> usize {
        self.map.lock().len()
    }

    /// Every client, by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        let mut all: Vec<_> = self.map.lock().values().cloned().collect();
        all.sort_by_key(|c| c.id);
        all
    }
}

/// The keys a session watches.
#[derive(Debug)]
pub struct Watch {
    /// Set by any write to a watched key; read by `EXEC`.
    pub dirty: Arc<AtomicBool>,
    /// (db, key, expiry the key had when watched, 0 for none).
    pub keys: Vec<(u8, Vec<u8>, u64)>,
}

/// One connection's state.
#[derive(Debug)]
pub struct Session {
    pub info: Arc<ClientInfo>,
    pub db: u8,
    /// 2 or 3 (HELLO).
    pub protocol: u8,
    pub authenticated: bool,
    /// Commands queued since `MULTI`; `None` outside a transaction.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A queued command was refused: `EXEC` answers `EXECABORT`.
    pub multi_failed: bool,
    pub watch: Option<Watch>,
    /// Woken when a key this client is blocked on receives elements (see `crate::blocked`).
    pub elements_waiter: Arc<tokio::sync::Notify>,
    /// The keys `elements_waiter` is registered on: (db, keys).
    pub blocked_on: Option<(u8, Vec<Vec<u8>>)>,
}

impl Session {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Session {
        Session {
            info,
            db: 0,
            protocol: 2,
            authenticated,
            multi: None,
            multi_failed: false,
            watch: None,
            elements_waiter: Arc::new(tokio::sync::Notify::new()),
            blocked_on: None,
        }
    }

    pub fn id(&self) -> u64 {
        self.info.id
    }

    pub fn set_db(&mut self, db: u8) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}
