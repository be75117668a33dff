//! The engines compared, behind one small trait. Each is opened with its defaults except for
//! durability, which `Sync` sets the same way for all.

use std::path::Path;

/// How writes reach the disk, for every engine alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// No fsync per write (each engine's relaxed mode); one durable sync at the end of each
    /// write phase, inside its timing.
    End,
    /// Every write is durable (fsynced) before it returns.
    Always,
}

pub trait Engine: Send + std::marker::Sync {
    fn put(&self, key: &[u8], value: &[u8]);
    fn get(&self, key: &[u8]) -> bool;
    /// Makes every write so far durable.
    fn sync(&self);
}

pub const ENGINES: [&str; 4] = ["cairn-log", "fjall", "redb", "sled"];

/// Opens engine `name` in `dir`; `None` when it has no mode for `sync` (sled cannot fsync).
pub fn open(name: &str, dir: &Path, sync: Sync) -> Option<Box<dyn Engine>> {
    Some(match name {
        "cairn-log" => Box::new(CairnLog::open(dir, sync)),
        "fjall" => Box::new(Fjall::open(dir, sync)),
        "redb" => Box::new(Redb::open(dir, sync)),
        "sled" if sync == Sync::End => Box::new(Sled(sled::open(dir).expect("sled open"))),
        _ => return None,
    })
}

pub struct CairnLog(cairn_log::Store);

impl CairnLog {
    fn open(dir: &Path, sync: Sync) -> CairnLog {
        let durability = match sync {
            Sync::End => cairn_log::Durability::No,
            Sync::Always => cairn_log::Durability::Always,
        };
        let options = cairn_log::Options {
            durability,
            ..cairn_log::Options::default()
        };
        CairnLog(cairn_log::Store::open(dir, options).expect("cairn-log open"))
    }
}

impl Engine for CairnLog {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.0.put(key, value, None).expect("cairn-log put");
    }
    fn get(&self, key: &[u8]) -> bool {
        self.0.get(key).expect("cairn-log get").is_some()
    }
    fn sync(&self) {
        self.0.flush().expect("cairn-log flush");
    }
}

pub struct Fjall {
    db: fjall::Database,
    items: fjall::Keyspace,
    sync: Sync,
}

impl Fjall {
    fn open(dir: &Path, sync: Sync) -> Fjall {
        let db = fjall::Database::builder(dir).open().expect("fjall open");
        let items = db
            .keyspace("items", fjall::KeyspaceCreateOptions::default)
            .expect("fjall keyspace");
        Fjall { db, items, sync }
    }
}

impl Engine for Fjall {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.items.insert(key, value).expect("fjall insert");
        if self.sync == Sync::Always {
            self.db
                .persist(fjall::PersistMode::SyncData)
                .expect("fjall persist");
        }
    }
    fn get(&self, key: &[u8]) -> bool {
        self.items.get(key).expect("fjall get").is_some()
    }
    fn sync(&self) {
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .expect("fjall persist");
    }
}

const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("items");

pub struct Redb {
    db: redb::Database,
    durability: redb::Durability,
}

impl Redb {
    fn open(dir: &Path, sync: Sync) -> Redb {
        let db = redb::Database::create(dir.join("redb.db")).expect("redb open");
        let durability = match sync {
            Sync::End => redb::Durability::None,
            Sync::Always => redb::Durability::Immediate,
        };
        let redb = Redb { db, durability };
        redb.commit(redb::Durability::Immediate, |_| {});
        redb
    }

    fn commit(&self, durability: redb::Durability, f: impl FnOnce(&mut redb::Table<&[u8], &[u8]>)) {
        let mut tx = self.db.begin_write().expect("redb begin");
        tx.set_durability(durability).expect("redb durability");
        {
            let mut table = tx.open_table(TABLE).expect("redb table");
            f(&mut table);
        }
        tx.commit().expect("redb commit");
    }
}

impl Engine for Redb {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.commit(self.durability, |t| {
            t.insert(key, value).expect("redb insert");
        });
    }
    fn get(&self, key: &[u8]) -> bool {
        use redb::ReadableDatabase;
        let tx = self.db.begin_read().expect("redb read");
        let table = tx.open_table(TABLE).expect("redb table");
        let found = table.get(key).expect("redb get").is_some();
        drop(table);
        found
    }
    fn sync(&self) {
        self.commit(redb::Durability::Immediate, |_| {});
    }
}

pub struct Sled(sled::Db);

impl Engine for Sled {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.0.insert(key, value).expect("sled insert");
    }
    fn get(&self, key: &[u8]) -> bool {
        self.0.get(key).expect("sled get").is_some()
    }
    fn sync(&self) {
        // Not an fsync of everything (sled's flush writes its log buffers out); sled has no
        // durable column for that reason.
        self.0.flush().expect("sled flush");
    }
}
