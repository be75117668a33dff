//! A database: one cairn-page store (its directory) with its catalog.
//!
//! Transactions that write run one at a time (the writer slot, held from a transaction's
//! first write to its end) until the MVCC issue brings concurrent writers; reads take the
//! catalog's read lock.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cairn_page::{PageStore, StoreOptions};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::sequence::Sequences;

/// The one writer slot: the session whose transaction writes, until it ends.
#[derive(Default)]
pub(crate) struct WriterSlot {
    holder: Mutex<Option<u64>>,
    freed: Condvar,
}

impl WriterSlot {
    /// Waits until the slot is free (or already `session`'s) and takes it.
    pub(crate) fn acquire(&self, session: u64) {
        let mut holder = self.holder.lock().unwrap_or_else(|p| p.into_inner());
        while holder.is_some_and(|h| h != session) {
            holder = self.freed.wait(holder).unwrap_or_else(|p| p.into_inner());
        }
        *holder = Some(session);
    }

    /// Gives the slot back if `session` holds it.
    pub(crate) fn release(&self, session: u64) {
        let mut holder = self.holder.lock().unwrap_or_else(|p| p.into_inner());
        if *holder == Some(session) {
            *holder = None;
            self.freed.notify_one();
        }
    }
}

/// A table's definition, for display.
#[derive(Debug, Clone)]
pub struct TableDescription {
    /// (name, type, NOT NULL, DEFAULT)
    pub columns: Vec<(String, String, bool, Option<String>)>,
    /// (name, unique, primary key, columns)
    pub indexes: Vec<(String, bool, bool, Vec<String>)>,
    /// (name, condition)
    pub checks: Vec<(String, String)>,
}

/// A database, shared by its sessions.
pub struct Database {
    pub(crate) store: PageStore,
    catalog: RwLock<Catalog>,
    pub(crate) writer: WriterSlot,
    next_session: AtomicU64,
    /// Counts the catalog's changes: a plan made at one count is stale at another.
    catalog_version: AtomicU64,
    pub(crate) sequences: Sequences,
    /// The database's directory (its `tmp` holds the files of spilling operators).
    dir: std::path::PathBuf,
    /// How many runs or partitions operators have spilled.
    spills: AtomicU64,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").finish_non_exhaustive()
    }
}

impl Drop for Database {
    /// Sequences write their last values back (see [`crate::sequence`]); a failure only
    /// costs the values reserved past them.
    fn drop(&mut self) {
        let _ = self.sequences.flush(&self.store);
    }
}

impl Database {
    /// Opens (creating if needed) the database in `dir`, recovering it after a crash.
    pub fn open(dir: impl AsRef<Path>) -> Result<Arc<Database>> {
        Database::open_with(dir, StoreOptions::default())
    }

    /// Opens the database in `dir` with the store's `options` (`sync_commit: false` is
    /// PostgreSQL's `synchronous_commit = off`: a crash may lose the last commits, never
    /// consistency).
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Arc<Database>> {
        let dir = dir.as_ref().to_path_buf();
        let store = PageStore::open(&dir, options)?;
        let catalog = Catalog::load(&store)?;
        let sequences = Sequences::default();
        sequences.set_definitions(catalog.sequences());
        Ok(Arc::new(Database {
            store,
            catalog: RwLock::new(catalog),
            writer: WriterSlot::default(),
            next_session: AtomicU64::new(1),
            catalog_version: AtomicU64::new(0),
            sequences,
            dir,
            spills: AtomicU64::new(0),
        }))
    }

    pub(crate) fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The catalog, to change: plans made before are stale from now on.
    pub(crate) fn catalog_mut(&self) -> RwLockWriteGuard<'_, Catalog> {
        let guard = self.catalog.write().unwrap_or_else(|p| p.into_inner());
        self.catalog_version.fetch_add(1, Ordering::AcqRel);
        guard
    }

    /// How many times the catalog has been changed.
    pub(crate) fn catalog_version(&self) -> u64 {
        self.catalog_version.load(Ordering::Acquire)
    }

    /// The relations of the catalog, by name: (name, kind), kind one of `table`, `view`,
    /// `index`, `sequence` (what a shell's `\d` lists).
    pub fn relations(&self) -> Vec<(String, &'static str)> {
        let catalog = self.catalog();
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for table in catalog.tables() {
            out.push((table.name.clone(), "table"));
            for index in catalog.indexes_of(&table.name) {
                out.push((index.name.clone(), "index"));
            }
        }
        out.extend(catalog.view_names().map(|v| (v, "view")));
        out.extend(catalog.sequences().map(|s| (s.name.clone(), "sequence")));
        out.sort();
        out
    }

    /// A table's definition, as a shell's `\d TABLE` shows it: its columns (name, type,
    /// NOT NULL, default), its indexes (name, unique, primary, column names) and CHECKs.
    pub fn describe(&self, name: &str) -> Option<TableDescription> {
        let catalog = self.catalog();
        let table = catalog.table(name).ok()?;
        Some(TableDescription {
            columns: table
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.type_name(), c.not_null, c.default.clone()))
                .collect(),
            indexes: catalog
                .indexes_of(name)
                .map(|i| {
                    let columns = i
                        .columns
                        .iter()
                        .map(|(c, desc)| {
                            format!(
                                "{}{}",
                                table.columns[*c].name,
                                if *desc { " DESC" } else { "" }
                            )
                        })
                        .collect();
                    (i.name.clone(), i.unique, i.primary, columns)
                })
                .collect(),
            checks: table.checks.clone(),
        })
    }

    /// Where spilling operators write their temporary files.
    pub(crate) fn temp_dir(&self) -> std::path::PathBuf {
        self.dir.join("tmp")
    }

    /// How many sorted runs and join partitions operators have written to temporary files
    /// since the database was opened.
    pub fn spill_count(&self) -> u64 {
        self.spills.load(Ordering::Relaxed)
    }

    pub(crate) fn count_spill(&self) {
        self.spills.fetch_add(1, Ordering::Relaxed);
    }

    /// A number no other session of this database has.
    pub(crate) fn new_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Reads the catalog again from the store (after a rollback undid catalog rows).
    pub(crate) fn reload_catalog(&self) -> Result<()> {
        let catalog = Catalog::load(&self.store)?;
        self.sequences.set_definitions(catalog.sequences());
        *self.catalog_mut() = catalog;
        Ok(())
    }
}
