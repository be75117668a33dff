//! A database: one cairn-page store (its directory) with its catalog.
//!
//! Statements that write run one at a time (the writer lock) until the MVCC issue brings
//! concurrent transactions; reads take the catalog's read lock. Every statement runs in its
//! own storage transaction (autocommit), durable when it returns.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cairn_page::{PageStore, StoreOptions};

use crate::catalog::Catalog;
use crate::error::Result;

/// A database, shared by its sessions.
pub struct Database {
    pub(crate) store: PageStore,
    catalog: RwLock<Catalog>,
    writer: Mutex<()>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").finish_non_exhaustive()
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
        let store = PageStore::open(dir, options)?;
        let catalog = Catalog::load(&store)?;
        Ok(Arc::new(Database {
            store,
            catalog: RwLock::new(catalog),
            writer: Mutex::new(()),
        }))
    }

    pub(crate) fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn catalog_mut(&self) -> RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Held by a statement that writes, for its duration.
    pub(crate) fn writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }
}
