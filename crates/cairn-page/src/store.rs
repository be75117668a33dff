//! The page store: storage-level transactions over the buffer pool and the log, and ARIES
//! recovery when it opens.
//!
//! Every change to a page is logged before it is applied, under the page's exclusive latch,
//! and the page's LSN is set to the record's: the log order of a page's records is the order
//! its changes happened. Commit logs a Commit record and (by default) waits until the log is
//! durable past it; abort undoes the transaction's changes newest first, logging each undo as
//! a compensation record (CLR) whose undo-next LSN skips what is already undone.
//!
//! Recovery (ARIES, from the start of the log; checkpoints that shorten it come later):
//! 1. *analysis*: which transactions were active at the crash, and whether they committed;
//! 2. *redo*: repeat history — every change and CLR whose page LSN is older than the record
//!    is applied again, whatever its transaction;
//! 3. *undo*: roll back the transactions that did not commit, in one pass in decreasing LSN
//!    order over all of them, logging CLRs, so a crash during recovery resumes where it
//!    stopped rather than undoing twice.
//!
//! There is no lock manager yet (a later issue): callers must not let two transactions
//! change the same tuple concurrently.

use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::buffer_pool::{BufferPool, PageWrite};
use crate::disk::DiskManager;
use crate::error::{Error, Result};
use crate::logrec::{self, Change, Entry};
use crate::page::{Page, PageId, PageType, SlotId, TupleId};
use crate::wal::{LogRecord, Lsn, TxnId, Wal};

/// Options of [`PageStore::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Frames of the buffer pool.
    pub frames: usize,
    /// Wait for the log to be durable at commit (the default). When false, a commit is
    /// durable only once a later flush covers it.
    pub sync_commit: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            frames: crate::buffer_pool::DEFAULT_FRAMES,
            sync_commit: true,
        }
    }
}

/// A directory holding `pages.db` and `wal.log`.
pub struct PageStore {
    dir: PathBuf,
    pool: BufferPool,
    wal: Arc<Wal>,
    /// Active transactions and their last LSN.
    active: Mutex<HashMap<TxnId, Lsn>>,
    next_txn: AtomicU64,
    sync_commit: bool,
}

impl std::fmt::Debug for PageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStore").field("dir", &self.dir).finish()
    }
}

impl PageStore {
    /// Opens (creating if needed) the store in `dir` and recovers it.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<PageStore> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            file: dir.clone(),
            source,
        })?;
        let disk = Arc::new(DiskManager::open(dir.join("pages.db"))?);
        let (wal, records) = Wal::open(dir.join("wal.log"))?;
        let wal = Arc::new(wal);
        let pool = BufferPool::new(disk, options.frames, wal.clone());
        let store = PageStore {
            dir,
            pool,
            wal,
            active: Mutex::new(HashMap::new()),
            next_txn: AtomicU64::new(1),
            sync_commit: options.sync_commit,
        };
        store.recover(&records)?;
        Ok(store)
    }

    fn active(&self) -> MutexGuard<'_, HashMap<TxnId, Lsn>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a transaction.
    pub fn begin(&self) -> Result<Txn<'_>> {
        let id = self.next_txn.fetch_add(1, Ordering::Relaxed);
        let lsn = self.wal.append(id, 0, logrec::BEGIN, &[])?;
        self.active().insert(id, lsn);
        Ok(Txn {
            store: self,
            id,
            last_lsn: lsn,
            done: false,
        })
    }

    /// The tuple at `tid`, as the latest changes left it.
    pub fn get(&self, tid: TupleId) -> Result<Option<Vec<u8>>> {
        let page = self.pool.fetch_read(tid.0)?;
        Ok(page.get(tid.1).map(<[u8]>::to_vec))
    }

    /// Every tuple of `page`, by slot.
    pub fn tuples(&self, page: PageId) -> Result<Vec<(SlotId, Vec<u8>)>> {
        let p = self.pool.fetch_read(page)?;
        Ok((0..p.slot_count())
            .filter_map(|s| p.get(s).map(|t| (s, t.to_vec())))
            .collect())
    }

    /// Writes every dirty page and makes the log durable.
    pub fn flush(&self) -> Result<()> {
        self.wal.flush(self.wal.next_lsn().saturating_sub(1))?;
        self.pool.flush_all()
    }

    /// Logs `change` for transaction `txn` (as a plain change, or as a CLR with `undo_next`)
    /// and applies it to `page`, which the caller holds exclusively.
    fn log_and_apply(
        &self,
        txn: TxnId,
        prev: Lsn,
        change: &Change,
        clr_undo_next: Option<Lsn>,
        page: &mut Page,
    ) -> Result<Lsn> {
        let mut body = Vec::new();
        let kind = match clr_undo_next {
            Some(undo_next) => {
                body.extend_from_slice(&undo_next.to_le_bytes());
                logrec::CLR
            }
            None => logrec::CHANGE,
        };
        change.encode(&mut body);
        let lsn = self.wal.append(txn, prev, kind, &body)?;
        apply(change, page)?;
        page.set_lsn(lsn);
        Ok(lsn)
    }

    /// Undoes transaction `txn` from `last` back to its beginning, logging CLRs; returns the
    /// LSN of its last record (the last CLR).
    fn rollback(&self, txn: TxnId, mut last: Lsn) -> Result<Lsn> {
        let mut next = last;
        while next != 0 {
            (next, last) = self.undo_one(txn, next, last)?;
        }
        Ok(last)
    }

    /// Undoes the record at `lsn` of transaction `txn`, whose last record is `last`: logs and
    /// applies the compensation, if the record changed anything. Returns the next LSN to undo
    /// and the transaction's new last LSN.
    fn undo_one(&self, txn: TxnId, lsn: Lsn, last: Lsn) -> Result<(Lsn, Lsn)> {
        let (next, undo) = self.undo_step(lsn)?;
        let last = match undo {
            Some((change, undo_next)) => {
                let mut page = self.pool.fetch_write(change.page())?;
                self.log_and_apply(txn, last, &change, Some(undo_next), &mut page)?
            }
            None => last,
        };
        Ok((next, last))
    }

    /// What undoing the record at `lsn` takes: the next LSN to undo, and the compensating
    /// change with its undo-next LSN, if the record changed anything.
    fn undo_step(&self, lsn: Lsn) -> Result<(Lsn, Option<(Change, Lsn)>)> {
        self.wal.flush(lsn)?;
        let record = self.wal.read_at(lsn)?;
        Ok(match Entry::decode(&record)? {
            Entry::Change(change) => match change.inverse() {
                Some(inverse) => (record.prev_lsn, Some((inverse, record.prev_lsn))),
                None => (record.prev_lsn, None),
            },
            Entry::Clr { undo_next, .. } => (undo_next, None),
            _ => (record.prev_lsn, None),
        })
    }

    fn recover(&self, records: &[LogRecord]) -> Result<()> {
        // Analysis.
        let mut txns: HashMap<TxnId, (Lsn, bool)> = HashMap::new();
        let mut max_txn = 0;
        for r in records.iter().filter(|r| r.txn != 0) {
            max_txn = max_txn.max(r.txn);
            match r.kind {
                logrec::END => {
                    txns.remove(&r.txn);
                }
                logrec::COMMIT => {
                    txns.insert(r.txn, (r.lsn, true));
                }
                _ => {
                    let committed = txns.get(&r.txn).is_some_and(|t| t.1);
                    txns.insert(r.txn, (r.lsn, committed));
                }
            }
        }
        self.next_txn.store(max_txn + 1, Ordering::Relaxed);

        // Redo: repeat history.
        for r in records {
            let change = match Entry::decode(r)? {
                Entry::Change(c) | Entry::Clr { change: c, .. } => c,
                _ => continue,
            };
            let mut page = self.fetch_for_redo(&change)?;
            if page.lsn() < r.lsn {
                apply(&change, &mut page).map_err(|e| Error::BadLogRecord {
                    lsn: r.lsn,
                    what: format!("redo does not fit page {}: {e}", change.page()),
                })?;
                page.set_lsn(r.lsn);
            }
        }

        // Undo the losers, newest record first across all of them.
        let mut last: HashMap<TxnId, Lsn> = HashMap::new();
        let mut todo: BinaryHeap<(Lsn, TxnId)> = BinaryHeap::new();
        for (&txn, &(lsn, committed)) in &txns {
            if committed {
                self.wal.append(txn, lsn, logrec::END, &[])?;
            } else {
                last.insert(txn, lsn);
                todo.push((lsn, txn));
            }
        }
        while let Some((lsn, txn)) = todo.pop() {
            let l = last.get_mut(&txn).expect("every loser has a last LSN");
            let next;
            (next, *l) = self.undo_one(txn, lsn, *l)?;
            if next == 0 {
                self.wal.append(txn, *l, logrec::END, &[])?;
            } else {
                todo.push((next, txn));
            }
        }
        self.flush()
    }

    /// The page a redone change applies to; a page format recreates the page if the crash lost
    /// it (its allocation, or its first write).
    fn fetch_for_redo(&self, change: &Change) -> Result<PageWrite<'_>> {
        match (self.pool.fetch_write(change.page()), change) {
            (Ok(page), _) => Ok(page),
            (
                Err(Error::NoSuchPage { .. } | Error::Corrupt { .. }),
                Change::Format { page, page_type },
            ) => {
                self.pool.disk().format_page(*page, *page_type)?;
                self.pool.fetch_write(*page)
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// Applies a change to a page (normal operation, redo and undo alike).
fn apply(change: &Change, page: &mut Page) -> Result<()> {
    match change {
        Change::Insert { slot, tuple, .. } => page.insert_at(*slot, tuple),
        Change::Delete { slot, .. } => page.delete(*slot),
        Change::Update { slot, new, .. } => page.update(*slot, new),
        Change::Format {
            page: id,
            page_type,
        } => {
            *page = Page::new(*id, *page_type);
            Ok(())
        }
    }
}

/// The tuple at `tid` in its (latched) page, or `NoSuchTuple`.
fn existing(page: &Page, tid: TupleId) -> Result<Vec<u8>> {
    page.get(tid.1)
        .map(<[u8]>::to_vec)
        .ok_or(Error::NoSuchTuple {
            page: tid.0,
            slot: tid.1,
        })
}

/// A transaction. Dropping it without [`Txn::commit`] aborts it.
pub struct Txn<'a> {
    store: &'a PageStore,
    id: TxnId,
    last_lsn: Lsn,
    done: bool,
}

impl Txn<'_> {
    pub fn id(&self) -> TxnId {
        self.id
    }

    /// Logs `change` and applies it to `page` (latched by the caller, released here), then
    /// makes it the transaction's last record.
    fn log(&mut self, change: &Change, mut page: PageWrite<'_>) -> Result<()> {
        let lsn = self
            .store
            .log_and_apply(self.id, self.last_lsn, change, None, &mut page)?;
        drop(page);
        self.last_lsn = lsn;
        self.store.active().insert(self.id, lsn);
        Ok(())
    }

    /// Allocates an empty page of `page_type`.
    pub fn allocate_page(&mut self, page_type: PageType) -> Result<PageId> {
        let page = self.store.pool.new_page(page_type)?;
        let id = page.id();
        self.log(
            &Change::Format {
                page: id,
                page_type,
            },
            page,
        )?;
        Ok(id)
    }

    /// Stores `tuple` in `page`; fails with [`Error::PageFull`] (changing nothing) if it does
    /// not fit.
    pub fn insert(&mut self, page: PageId, tuple: &[u8]) -> Result<TupleId> {
        let p = self.store.pool.fetch_write(page)?;
        let slot = p.slot_for_insert(tuple.len())?;
        let change = Change::Insert {
            page,
            slot,
            tuple: tuple.to_vec(),
        };
        self.log(&change, p)?;
        Ok((page, slot))
    }

    /// Replaces the tuple at `tid`.
    pub fn update(&mut self, tid: TupleId, tuple: &[u8]) -> Result<()> {
        let p = self.store.pool.fetch_write(tid.0)?;
        let old = existing(&p, tid)?;
        if tuple.len() > old.len() && tuple.len() - old.len() > p.free_space() {
            return Err(Error::PageFull {
                page: tid.0,
                needed: tuple.len() - old.len(),
            });
        }
        let change = Change::Update {
            page: tid.0,
            slot: tid.1,
            old,
            new: tuple.to_vec(),
        };
        self.log(&change, p)
    }

    /// Removes the tuple at `tid`.
    pub fn delete(&mut self, tid: TupleId) -> Result<()> {
        let p = self.store.pool.fetch_write(tid.0)?;
        let old = existing(&p, tid)?;
        let change = Change::Delete {
            page: tid.0,
            slot: tid.1,
            old,
        };
        self.log(&change, p)
    }

    /// Commits: durable when this returns (with `sync_commit`).
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        let lsn = self
            .store
            .wal
            .append(self.id, self.last_lsn, logrec::COMMIT, &[])?;
        if self.store.sync_commit {
            self.store.wal.flush(lsn)?;
        }
        self.store.wal.append(self.id, lsn, logrec::END, &[])?;
        self.store.active().remove(&self.id);
        Ok(())
    }

    /// Rolls back every change of the transaction.
    pub fn abort(mut self) -> Result<()> {
        self.done = true;
        self.rollback()
    }

    fn rollback(&mut self) -> Result<()> {
        let abort = self
            .store
            .wal
            .append(self.id, self.last_lsn, logrec::ABORT, &[])?;
        let last = self.store.rollback(self.id, abort)?;
        self.store.wal.append(self.id, last, logrec::END, &[])?;
        self.store.active().remove(&self.id);
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> StoreOptions {
        StoreOptions {
            frames: 16,
            sync_commit: true,
        }
    }

    #[test]
    fn committed_changes_survive_reopen_and_aborted_ones_vanish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (page, kept, gone) = {
            let store = PageStore::open(dir.path(), options()).expect("open");
            let mut t = store.begin().expect("begin");
            let page = t.allocate_page(PageType::Data).expect("allocate");
            let kept = t.insert(page, b"kept").expect("insert");
            t.commit().expect("commit");
            let mut t = store.begin().expect("begin");
            let gone = t.insert(page, b"gone").expect("insert");
            t.update(kept, b"changed then undone").expect("update");
            t.abort().expect("abort");
            assert_eq!(store.get(kept).expect("get"), Some(b"kept".to_vec()));
            assert_eq!(store.get(gone).expect("get"), None);
            (page, kept, gone)
        };
        let store = PageStore::open(dir.path(), options()).expect("reopen");
        assert_eq!(store.get(kept).expect("get"), Some(b"kept".to_vec()));
        assert_eq!(store.get(gone).expect("get"), None);
        assert_eq!(store.tuples(page).expect("tuples").len(), 1);
    }

    #[test]
    fn an_unfinished_transaction_is_undone_at_recovery() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (kept, loser) = {
            let store = PageStore::open(dir.path(), options()).expect("open");
            let mut t = store.begin().expect("begin");
            let page = t.allocate_page(PageType::Data).expect("allocate");
            let kept = t.insert(page, b"kept").expect("insert");
            t.commit().expect("commit");
            let mut t = store.begin().expect("begin");
            let loser = t.insert(page, b"never committed").expect("insert");
            t.delete(kept).expect("delete");
            // The dirty pages reach the disk, the transaction never finishes.
            store.pool.flush_all().expect("flush");
            std::mem::forget(t);
            (kept, loser)
        };
        let store = PageStore::open(dir.path(), options()).expect("recover");
        assert_eq!(store.get(kept).expect("get"), Some(b"kept".to_vec()));
        assert_eq!(store.get(loser).expect("get"), None);
        drop(store);
        let store = PageStore::open(dir.path(), options()).expect("recover again");
        assert_eq!(store.get(kept).expect("get"), Some(b"kept".to_vec()));
    }
}
