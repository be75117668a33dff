//! Storage-level transactions: what the SQL engine begins, changes heaps and indexes within,
//! and commits or aborts.
//!
//! A transaction's records are chained by `prev LSN` from its `Begin`. Commit logs `Commit`
//! and (with `sync_commit`, the default) waits until the log is durable past it; concurrent
//! committers share fsyncs (group commit, wal.rs). Abort undoes the changes newest first,
//! logging a compensation record for each (recovery.rs). Pages a transaction stops using
//! (the overflow pages of a value it deleted or replaced) are freed only after its commit, so
//! an abort never finds them reused.

use crate::error::Result;
use crate::logrec::{self, Change, Entry};
use crate::page::{Page, PageId};
use crate::store::{patch_u32, root_offset, Active, PageStore, META_PAGE};
use crate::wal::{Lsn, TxnId};

/// A transaction. Dropping it without [`Txn::commit`] aborts it.
pub struct Txn<'a> {
    pub(crate) store: &'a PageStore,
    id: TxnId,
    last_lsn: Lsn,
    done: bool,
    /// First pages of overflow chains to free once committed.
    pub(crate) free_at_commit: Vec<PageId>,
    /// Heap space kept for this transaction's undo: (heap, page, bytes).
    pub(crate) reserved: Vec<(PageId, PageId, usize)>,
}

impl<'a> Txn<'a> {
    pub(crate) fn begin(store: &'a PageStore) -> Result<Txn<'a>> {
        let id = store
            .next_txn
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        // Registered under the lock of the active table, so that a checkpoint either sees
        // this transaction or took its redo point at or before its first record: either way
        // the log it keeps holds the record (which an undo of the transaction reads).
        let mut active = store.active();
        let lsn = store.wal.append(id, 0, logrec::BEGIN, &[])?;
        active.insert(id, Active { first: lsn });
        drop(active);
        Ok(Txn {
            store,
            id,
            last_lsn: lsn,
            done: false,
            free_at_commit: Vec::new(),
            reserved: Vec::new(),
        })
    }

    pub fn id(&self) -> TxnId {
        self.id
    }

    /// The store the transaction runs in.
    pub fn store(&self) -> &'a PageStore {
        self.store
    }

    /// Logs `entry` (one change to `page`, latched exclusively by the caller) as this
    /// transaction's next record and applies it.
    pub(crate) fn log(&mut self, entry: &Entry, page: &mut Page) -> Result<()> {
        self.last_lsn = self.store.log_txn(self.id, self.last_lsn, entry, page)?;
        Ok(())
    }

    /// Sets root slot `slot` of the meta page to `page` (undone if the transaction aborts).
    pub fn set_root(&mut self, slot: usize, page: PageId) -> Result<()> {
        let offset = root_offset(slot)?;
        let mut meta = self.store.write(META_PAGE)?;
        let old = meta.u32_at(offset);
        let change = patch_u32(META_PAGE, offset, old, page);
        self.log(&Entry::Change(change), &mut meta)
    }

    /// Commits: durable when this returns (with `sync_commit`).
    pub fn commit(self) -> Result<()> {
        self.finish_commit(true)
    }

    /// Commits without waiting for the log to reach the disk (PostgreSQL's
    /// `synchronous_commit = off`): visible at once, and durable once a later synced commit,
    /// a checkpoint or a clean close flushes the log. A crash before that loses the
    /// transaction — with every one after it, the log being one sequence — but never part of
    /// it: no page it changed reaches the disk before its log records.
    pub fn commit_unsynced(self) -> Result<()> {
        self.finish_commit(false)
    }

    fn finish_commit(mut self, sync: bool) -> Result<()> {
        self.done = true;
        let store = self.store;
        let lsn = store
            .wal
            .append(self.id, self.last_lsn, logrec::COMMIT, &[])?;
        if sync && store.options.sync_commit {
            store.wal.flush(lsn)?;
        }
        store.wal.append(self.id, lsn, logrec::END, &[])?;
        store.active().remove(&self.id);
        crate::heap::release(store, std::mem::take(&mut self.reserved))?;
        for first in std::mem::take(&mut self.free_at_commit) {
            crate::heap::free_chain(store, first)?;
        }
        store.after_commit()
    }

    /// Sets the transaction aside between uses, without committing or aborting it: what a
    /// SQL session keeps while its client sends the next statement of a transaction block.
    /// [`PageStore::resume`] takes it up again. A transaction set aside and never resumed
    /// stays active (its log is kept) until the store closes; recovery then undoes it.
    pub fn suspend(mut self) -> SuspendedTxn {
        self.done = true;
        SuspendedTxn {
            id: self.id,
            last_lsn: self.last_lsn,
            free_at_commit: std::mem::take(&mut self.free_at_commit),
            reserved: std::mem::take(&mut self.reserved),
        }
    }

    /// Rolls back every change of the transaction.
    pub fn abort(mut self) -> Result<()> {
        self.done = true;
        self.rollback()
    }

    fn rollback(&mut self) -> Result<()> {
        let store = self.store;
        let abort = store
            .wal
            .append(self.id, self.last_lsn, logrec::ABORT, &[])?;
        let (mut next, mut last) = (abort, abort);
        while next != 0 {
            (next, last) = crate::recovery::undo_one(store, self.id, next, last)?;
        }
        store.wal.append(self.id, last, logrec::END, &[])?;
        store.active().remove(&self.id);
        self.free_at_commit.clear();
        crate::heap::release(store, std::mem::take(&mut self.reserved))
    }

    /// Logs a physical change to a heap page (undone by its inverse).
    pub(crate) fn log_change(&mut self, change: Change, page: &mut Page) -> Result<()> {
        self.log(&Entry::Change(change), page)
    }
}

/// A transaction set aside by [`Txn::suspend`]; it borrows nothing.
#[derive(Debug)]
#[must_use = "a suspended transaction stays active until resumed and ended"]
pub struct SuspendedTxn {
    id: TxnId,
    last_lsn: Lsn,
    free_at_commit: Vec<PageId>,
    reserved: Vec<(PageId, PageId, usize)>,
}

impl SuspendedTxn {
    pub fn id(&self) -> TxnId {
        self.id
    }
}

impl PageStore {
    /// Takes up a transaction [`Txn::suspend`] set aside (of this store).
    pub fn resume(&self, suspended: SuspendedTxn) -> Txn<'_> {
        Txn {
            store: self,
            id: suspended.id,
            last_lsn: suspended.last_lsn,
            done: false,
            free_at_commit: suspended.free_at_commit,
            reserved: suspended.reserved,
        }
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            // A failure here leaves the transaction to recovery, which undoes it.
            let _ = self.rollback();
        }
    }
}
