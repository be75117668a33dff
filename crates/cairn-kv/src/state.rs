//! The in-memory bookkeeping of the keyspace, guarded by the keyspace lock.
//!
//! * Per database, the number of keys (what `DBSIZE` answers: like Redis, it counts keys whose
//!   expiry has passed but that have not been reclaimed yet) and the set of keys that have an
//!   expiry, from which the active expiry cycle samples (Redis's `expires` dict).
//! * The keys clients `WATCH`, each with the flags of the clients to mark dirty when the key
//!   is written, expires or is flushed.
//!
//! * The writes held between pipelines ([`crate::txn`]), which belong in the store.
//!
//! None of this is persisted: [`crate::Kv::open`] rebuilds it by scanning the head records.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::blocked::BlockedKeys;
use crate::encoding::DATABASES;
use crate::txn::Held;

/// Keys with an expiry, with O(1) insert, remove and uniform random sampling.
#[derive(Debug, Default)]
pub struct VolatileSet {
    keys: Vec<(Vec<u8>, u64)>,
    position: HashMap<Vec<u8>, usize>,
}

impl VolatileSet {
    pub fn set(&mut self, key: &[u8], expire_at: u64) {
        match self.position.get(key) {
            Some(&i) => self.keys[i].1 = expire_at,
            None => {
                self.position.insert(key.to_vec(), self.keys.len());
                self.keys.push((key.to_vec(), expire_at));
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) {
        if let Some(i) = self.position.remove(key) {
            self.keys.swap_remove(i);
            if let Some((moved, _)) = self.keys.get(i) {
                self.position.insert(moved.clone(), i);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn get(&self, key: &[u8]) -> Option<u64> {
        if self.keys.is_empty() {
            return None;
        }
        self.position.get(key).map(|&i| self.keys[i].1)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The entry at `index % len`, for sampling with a random index.
    pub fn nth(&self, index: u64) -> Option<&(Vec<u8>, u64)> {
        if self.keys.is_empty() {
            return None;
        }
        self.keys.get((index % self.keys.len() as u64) as usize)
    }
}

#[derive(Debug, Default)]
pub struct DbState {
    pub keys: u64,
    pub volatile: VolatileSet,
}

/// Who watches which key.
#[derive(Debug, Default)]
pub struct WatchRegistry {
    watchers: HashMap<(u8, Vec<u8>), Vec<Arc<AtomicBool>>>,
}

impl WatchRegistry {
    pub fn add(&mut self, db: u8, key: &[u8], flag: &Arc<AtomicBool>) {
        let list = self.watchers.entry((db, key.to_vec())).or_default();
        if !list.iter().any(|f| Arc::ptr_eq(f, flag)) {
            list.push(flag.clone());
        }
    }

    pub fn remove(&mut self, db: u8, key: &[u8], flag: &Arc<AtomicBool>) {
        let k = (db, key.to_vec());
        if let Some(list) = self.watchers.get_mut(&k) {
            list.retain(|f| !Arc::ptr_eq(f, flag));
            if list.is_empty() {
                self.watchers.remove(&k);
            }
        }
    }

    /// Marks every client watching `key` in `db` dirty.
    /// Every watched key.
    pub fn watched(&self) -> Vec<(u8, Vec<u8>)> {
        self.watchers.keys().cloned().collect()
    }

    pub fn touch(&self, db: u8, key: &[u8]) {
        if self.watchers.is_empty() {
            return;
        }
        if let Some(list) = self.watchers.get(&(db, key.to_vec())) {
            for flag in list {
                flag.store(true, Ordering::Release);
            }
        }
    }
}

/// Everything the keyspace lock guards besides the store itself.
#[derive(Debug)]
pub struct State {
    pub dbs: Vec<DbState>,
    pub watches: WatchRegistry,
    /// The secret SipHash keys of collection buckets (persisted, see `Kv::open`).
    pub seed: (u64, u64),
    /// The next collection generation to hand out.
    pub next_generation: u64,
    /// The last generation reserved in the store: handing out more needs a new reservation.
    pub generation_limit: u64,
    /// Writes since the last SAVE.
    pub changes_since_save: u64,
    pub expired_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Writes of earlier pipelines not yet in the store ([`crate::txn`]'s module doc).
    pub held: Option<Held>,
    /// Clients blocked on keys, woken by the writes that give those keys elements.
    pub blocked: BlockedKeys,
    /// The (db, key) of every string stored in chunks: replacing one must drop its chunks,
    /// and only these keys need their old head read for it.
    pub chunked_strings: std::collections::HashSet<(u8, Vec<u8>)>,
    /// Children of unlinked values still to delete, oldest first ([`crate::reap`]).
    pub reaping: std::collections::VecDeque<crate::reap::ReapJob>,
}

impl State {
    pub fn new() -> State {
        State {
            dbs: (0..DATABASES).map(|_| DbState::default()).collect(),
            watches: WatchRegistry::default(),
            seed: (0, 0),
            next_generation: 0,
            generation_limit: 0,
            changes_since_save: 0,
            expired_keys: 0,
            keyspace_hits: 0,
            keyspace_misses: 0,
            held: None,
            blocked: BlockedKeys::default(),
            chunked_strings: Default::default(),
            reaping: Default::default(),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_set_keeps_positions_consistent() {
        let mut v = VolatileSet::default();
        for i in 0..100u64 {
            v.set(format!("k{i}").as_bytes(), i);
        }
        for i in (0..100u64).step_by(3) {
            v.remove(format!("k{i}").as_bytes());
        }
        assert_eq!(v.len(), 66);
        for (i, (key, _)) in v.keys.iter().enumerate() {
            assert_eq!(v.position.get(key), Some(&i));
        }
        v.set(b"k1", 1000);
        assert_eq!(v.len(), 66);
    }
}
