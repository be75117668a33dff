//! The page store: one directory holding the page file, the log and the control file, and
//! the primitives every structure above (heaps, B+trees, hash indexes) changes pages with.
//!
//! ```text
//! DIR/pages.db   the page file (disk.rs); page 1 is the store's meta page, below
//! DIR/wal.log    the write-ahead log (wal.rs), records as logrec.rs lays them out
//! DIR/control    where recovery starts (control.rs)
//!
//! meta page (page 1, type Meta), body:
//! 0   4   magic "CPMT"
//! 4   4   page count: pages allocated so far, pages 0 and 1 included
//! 8   4   head of the free list (0 = empty); freed pages chain through `next page`
//! 12  64  16 root slots (u32 each) where the layers above record their entry pages
//! ```
//!
//! Rules every change follows:
//! * **Log, then apply, under the exclusive latch**: a change is appended to the log and
//!   applied to its page while the page is latched exclusively, and the page's LSN set to the
//!   record's, so a page's log records are in the order its changes happened.
//! * **Full-page images after a checkpoint**: the first change to a page whose LSN predates
//!   the latest checkpoint's redo point logs the page's whole image first. Redo starts at that
//!   point and a logged image replaces the page without reading it, so a page torn by a crash
//!   mid-write is rebuilt from the log; a torn page the log does not cover is reported.
//! * **Allocation is logged state**: the page count and the free list live in the meta page
//!   and change through `Redo` records like any page, in the same record as the structure
//!   change that needs the page (a split allocates its new page in the record that fills it).
//!
//! Checkpoints are fuzzy: they do not stop transactions. One takes the log's current end as
//! its redo point, writes every dirty page out (WAL first), logs a checkpoint record, writes
//! the control file and cuts the log before the redo point or the first record of the oldest
//! active transaction, whichever is older. A background thread takes one when the log has
//! grown past [`StoreOptions::checkpoint_bytes`] since the last; a committer takes it itself
//! past twice that.
//!
//! There is no lock manager yet (a later issue): callers must not let two transactions change
//! the same tuple or index key concurrently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};

use crate::buffer_pool::{BufferPool, PageRead, PageWrite};
use crate::control::Control;
use crate::disk::DiskManager;
use crate::error::{Error, Result};
use crate::logrec::{Change, Entry};
use crate::page::{Page, PageId, PageType, HEADER_LEN};
use crate::wal::{Lsn, TxnId, Wal};

/// The store's meta page.
pub(crate) const META_PAGE: PageId = 1;
const META_MAGIC: [u8; 4] = *b"CPMT";
const PAGE_COUNT: usize = HEADER_LEN + 4;
const FREE_HEAD: usize = HEADER_LEN + 8;
const ROOTS: usize = HEADER_LEN + 12;
/// Root slots in the meta page.
pub const ROOT_SLOTS: usize = 16;

/// Options of [`PageStore::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Frames of the buffer pool (8 KiB each).
    pub frames: usize,
    /// Wait for the log to be durable at commit (the default). When false, a commit is
    /// durable only once a later flush covers it.
    pub sync_commit: bool,
    /// Log bytes after which the checkpointer takes a checkpoint.
    pub checkpoint_bytes: u64,
    /// The file layer every change to the store's files goes through: the operating system's,
    /// or one a test injects faults into.
    pub fs: cairn_fs::Fs,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            frames: crate::buffer_pool::DEFAULT_FRAMES,
            sync_commit: true,
            checkpoint_bytes: 256 << 20,
            fs: cairn_fs::Fs::os(),
        }
    }
}

/// An active transaction: its first LSN, which a log truncation must keep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Active {
    pub first: Lsn,
}

/// A directory holding `pages.db`, `wal.log` and `control`: the store the SQL engine keeps
/// its tables and indexes in. Dropping it stops its checkpointer and takes a last checkpoint.
pub struct PageStore {
    core: Arc<StoreCore>,
    /// What each heap keeps in memory (heap.rs).
    pub(crate) heaps: crate::heap::Spaces,
    /// One lock per hash index (hash.rs).
    pub(crate) hash_locks: crate::hash::HashLocks,
    checkpointer: Option<std::thread::JoinHandle<()>>,
}

/// The part of a store shared with its checkpointer thread: the pool, the log, the
/// transaction table and the logging rules. A [`PageStore`] dereferences to it.
pub struct StoreCore {
    pub(crate) dir: PathBuf,
    pub(crate) pool: BufferPool,
    pub(crate) wal: Arc<Wal>,
    pub(crate) active: Mutex<HashMap<TxnId, Active>>,
    pub(crate) next_txn: AtomicU64,
    pub(crate) options: StoreOptions,
    /// The redo point of the latest checkpoint: a page whose LSN is older gets a full image
    /// logged before its next change.
    image_horizon: AtomicU64,
    /// Held shared while deciding on and appending a full-page image and the change after it;
    /// exclusive while a checkpoint moves the horizon, so no change slips between.
    horizon_gate: RwLock<()>,
    checkpointing: Mutex<()>,
    /// Wakes the checkpointer: a checkpoint is due, or the store is closing.
    wake: Mutex<Wake>,
    wake_signal: Condvar,
}

#[derive(Debug, Default)]
struct Wake {
    due: bool,
    stop: bool,
}

impl std::ops::Deref for PageStore {
    type Target = StoreCore;

    fn deref(&self) -> &StoreCore {
        &self.core
    }
}

impl std::fmt::Debug for PageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStore").field("dir", &self.dir).finish()
    }
}

/// Counters of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    pub pool: crate::buffer_pool::PoolStats,
    /// fsyncs of the log (group commit makes them fewer than commits).
    pub log_syncs: u64,
    /// Bytes the log holds now.
    pub log_bytes: u64,
    /// Pages allocated (the free ones included).
    pub pages: u32,
}

impl PageStore {
    /// Opens (creating if needed) the store in `dir` and recovers it.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<PageStore> {
        let dir = dir.as_ref().to_path_buf();
        options
            .fs
            .create_dir_all(&dir)
            .map_err(|source| Error::Io {
                file: dir.clone(),
                source,
            })?;
        let disk = Arc::new(DiskManager::open(&options.fs, dir.join("pages.db"))?);
        // Zero-fill the log a quarter checkpoint interval ahead: a truncation rewrites the file.
        let preallocate = (options.checkpoint_bytes / 4).clamp(64 << 10, 8 << 20);
        let (wal, records) = Wal::open_with(&options.fs, dir.join("wal.log"), preallocate)?;
        let control = Control::read(&dir)?;
        let wal = Arc::new(wal);
        let pool = BufferPool::new(disk, options.frames, wal.clone());
        let core = Arc::new(StoreCore {
            dir,
            pool,
            wal,
            active: Mutex::new(HashMap::new()),
            next_txn: AtomicU64::new(1),
            options,
            image_horizon: AtomicU64::new(0),
            horizon_gate: RwLock::new(()),
            checkpointing: Mutex::new(()),
            wake: Mutex::new(Wake::default()),
            wake_signal: Condvar::new(),
        });
        let mut store = PageStore {
            core: core.clone(),
            heaps: Mutex::new(HashMap::new()),
            hash_locks: Mutex::new(HashMap::new()),
            checkpointer: None,
        };
        crate::recovery::recover(&store, &records, control)?;
        drop(records);
        store.create_meta_if_new()?;
        store.checkpoint()?;
        let thread = std::thread::Builder::new()
            .name("cairn-page checkpointer".into())
            .spawn(move || core.run_checkpointer())
            .map_err(|source| Error::Io {
                file: store.dir.clone(),
                source,
            })?;
        store.checkpointer = Some(thread);
        Ok(store)
    }

    fn create_meta_if_new(&self) -> Result<()> {
        match self.pool.fetch_read(META_PAGE) {
            Ok(_) => return Ok(()),
            Err(Error::NoSuchPage { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut meta = Page::new(META_PAGE, PageType::Meta);
        meta.patch(HEADER_LEN, &META_MAGIC)?;
        meta.patch(PAGE_COUNT, &2u32.to_le_bytes())?;
        let mut page = self.pool.install(Page::new(META_PAGE, PageType::Meta))?;
        self.log_redo(vec![Change::image_of(&meta)], &mut [&mut page])?;
        Ok(())
    }

    /// Starts a transaction.
    pub fn begin(&self) -> Result<crate::txn::Txn<'_>> {
        crate::txn::Txn::begin(self)
    }

    /// Closes the store cleanly: a checkpoint, so the next open has nothing to redo. Dropping
    /// the store does the same, ignoring errors.
    pub fn close(mut self) -> Result<()> {
        self.stop_checkpointer();
        self.checkpoint().map(drop)
    }

    fn stop_checkpointer(&mut self) {
        if let Some(thread) = self.checkpointer.take() {
            self.core.lock_wake().stop = true;
            self.core.wake_signal.notify_all();
            let _ = thread.join();
        }
    }
}

impl StoreCore {
    pub(crate) fn active(&self) -> MutexGuard<'_, HashMap<TxnId, Active>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The page in root slot `slot` (0 if unset): where the layer above keeps its entry
    /// points (a catalog's heap, say).
    pub fn root(&self, slot: usize) -> Result<PageId> {
        let meta = self.pool.fetch_read(META_PAGE)?;
        Ok(meta.u32_at(root_offset(slot)?))
    }

    /// Counters: buffer pool hits and misses, log fsyncs, sizes.
    pub fn stats(&self) -> Result<StoreStats> {
        let meta = self.pool.fetch_read(META_PAGE)?;
        Ok(StoreStats {
            pool: self.pool.stats(),
            log_syncs: self.wal.syncs(),
            log_bytes: self.wal.next_lsn() - self.wal.base_lsn(),
            pages: meta.u32_at(PAGE_COUNT),
        })
    }

    /// Writes every dirty page and makes the log durable.
    pub fn flush(&self) -> Result<()> {
        self.wal.flush(self.wal.next_lsn().saturating_sub(1))?;
        self.pool.flush_all()
    }

    /// The error for page `page` of the page file describing something impossible.
    pub(crate) fn corrupt(&self, page: PageId, what: impl Into<String>) -> Error {
        Error::Corrupt {
            file: self.pool.disk().path().into(),
            page,
            what: what.into(),
        }
    }

    pub(crate) fn read(&self, page: PageId) -> Result<PageRead<'_>> {
        self.pool.fetch_read(page)
    }

    pub(crate) fn write(&self, page: PageId) -> Result<PageWrite<'_>> {
        self.pool.fetch_write(page)
    }

    /// Takes a checkpoint now (see the module doc); returns its redo point.
    pub fn checkpoint(&self) -> Result<Lsn> {
        let done = self.checkpoint_steps();
        // A failed write or fsync of the page file may have left the OS cache holding pages
        // it will never write, marked clean: a later checkpoint would then cut the log that
        // still holds their changes. The store refuses writes until reopened (PostgreSQL
        // PANICs on a failed fsync for the same reason); only a full disk, which fails before
        // anything is written in place, is worth retrying.
        if let Err(e) = &done {
            if !e.is_storage_full() {
                self.wal.poison();
            }
        }
        done
    }

    fn checkpoint_steps(&self) -> Result<Lsn> {
        let _one = self.checkpointing.lock().unwrap_or_else(|p| p.into_inner());
        let redo = {
            let _gate = self.horizon_gate.write().unwrap_or_else(|p| p.into_inner());
            let redo = self.wal.next_lsn();
            self.image_horizon.store(redo, Ordering::Release);
            redo
        };
        self.pool.flush_all()?;
        // The transactions to keep the log of are read before the checkpoint record is
        // logged: one that ends after this point has its END (and the CLRs of an abort) after
        // that record, perhaps not durable when the log is cut, so recovery may still find it
        // a loser and undo it, reading its records back to its first.
        let oldest_active = self.active().values().map(|a| a.first).min();
        let next_txn = self.next_txn.load(Ordering::Acquire);
        let (kind, body) = Entry::Checkpoint { redo, next_txn }.encode();
        let lsn = self.wal.append(0, 0, kind, &body)?;
        self.wal.flush(lsn)?;
        Control { redo, next_txn }.write(&self.options.fs, &self.dir)?;
        let cut = oldest_active.map_or(redo, |first| first.min(redo));
        self.wal.truncate_before(cut)?;
        Ok(redo)
    }

    fn lock_wake(&self) -> MutexGuard<'_, Wake> {
        self.wake.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Log bytes appended since the latest checkpoint began.
    fn log_since_checkpoint(&self) -> u64 {
        self.wal
            .next_lsn()
            .saturating_sub(self.image_horizon.load(Ordering::Acquire))
    }

    /// Called after each commit: wakes the checkpointer once the log has grown past
    /// [`StoreOptions::checkpoint_bytes`]; if it has grown past twice that (the checkpointer
    /// cannot keep up), the committer takes the checkpoint itself, so the log stays bounded.
    pub(crate) fn after_commit(&self) -> Result<()> {
        let since = self.log_since_checkpoint();
        if since < self.options.checkpoint_bytes {
            return Ok(());
        }
        if since >= 2 * self.options.checkpoint_bytes {
            return self.checkpoint().map(drop);
        }
        let mut wake = self.lock_wake();
        if !wake.due {
            wake.due = true;
            self.wake_signal.notify_all();
        }
        Ok(())
    }

    /// The checkpointer thread: a checkpoint whenever one is due, until the store closes.
    fn run_checkpointer(&self) {
        loop {
            {
                let mut wake = self.lock_wake();
                while !wake.due && !wake.stop {
                    wake = self
                        .wake_signal
                        .wait_timeout(wake, std::time::Duration::from_secs(1))
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    if self.log_since_checkpoint() >= self.options.checkpoint_bytes {
                        wake.due = true;
                    }
                }
                if wake.stop {
                    return;
                }
                wake.due = false;
            }
            // A failure (an I/O error) leaves the log longer; the next commit past twice the
            // threshold retries in the foreground and reports it.
            let _ = self.checkpoint();
        }
    }

    /// Logs a full image of `page` if this is its first change since the latest checkpoint;
    /// returns the image's LSN if it did. The caller holds the horizon gate shared.
    fn image_if_first_change(&self, page: &Page) -> Result<Option<Lsn>> {
        if page.lsn() >= self.image_horizon.load(Ordering::Acquire) {
            return Ok(None);
        }
        let (kind, body) = Entry::Redo(vec![Change::image_of(page)]).encode();
        self.wal.append(0, 0, kind, &body).map(Some)
    }

    /// Logs `entry` (a transaction's record carrying one change to `page`, latched
    /// exclusively by the caller) and applies its change.
    pub(crate) fn log_txn(
        &self,
        txn: TxnId,
        prev: Lsn,
        entry: &Entry,
        page: &mut Page,
    ) -> Result<Lsn> {
        let (kind, body) = entry.encode();
        let lsn = {
            let _gate = self.horizon_gate.read().unwrap_or_else(|p| p.into_inner());
            self.image_if_first_change(page)?;
            self.wal.append(txn, prev, kind, &body)?
        };
        for change in entry.redo_changes() {
            change.apply(page)?;
        }
        page.set_lsn(lsn);
        Ok(lsn)
    }

    /// Logs `changes` as one redo-only record of no transaction and applies them to `pages`
    /// (every page a change names, latched exclusively by the caller). Pages changed for the
    /// first time since the checkpoint get their full image in the same record.
    pub(crate) fn log_redo(&self, changes: Vec<Change>, pages: &mut [&mut Page]) -> Result<Lsn> {
        let _gate = self.horizon_gate.read().unwrap_or_else(|p| p.into_inner());
        let horizon = self.image_horizon.load(Ordering::Acquire);
        let mut all = Vec::with_capacity(changes.len() + 1);
        for page in pages.iter() {
            let first = changes.iter().find(|c| c.page() == page.id());
            if page.lsn() < horizon && !first.is_some_and(Change::overwrites) {
                all.push(Change::image_of(page));
            }
        }
        all.extend(changes);
        let entry = Entry::Redo(all);
        let (kind, body) = entry.encode();
        let lsn = self.wal.append(0, 0, kind, &body)?;
        for change in entry.redo_changes() {
            let page = pages
                .iter_mut()
                .find(|p| p.id() == change.page())
                .ok_or_else(|| Error::BadLogRecord {
                    lsn,
                    what: format!("change to page {} whose latch is not held", change.page()),
                })?;
            change.apply(page)?;
        }
        for page in pages.iter_mut() {
            page.set_lsn(lsn);
        }
        Ok(lsn)
    }

    /// Changes a byte of `page` that is a hint (a free-space category, say): not logged, so a
    /// crash may lose it, and whoever reads it must check what it claims. Like PostgreSQL's
    /// hint bits under data checksums, the page's first change since the checkpoint still
    /// logs its full image, so that writing it out cannot leave a torn page the log cannot
    /// repair.
    pub(crate) fn set_hint(&self, page: &mut Page, offset: usize, bytes: &[u8]) -> Result<()> {
        if page.bytes_at(offset, bytes.len()) == bytes {
            return Ok(());
        }
        let _gate = self.horizon_gate.read().unwrap_or_else(|p| p.into_inner());
        if let Some(lsn) = self.image_if_first_change(page)? {
            page.set_lsn(lsn);
        }
        page.patch(offset, bytes)
    }

    /// Starts an allocation: pages taken and released under the meta page's exclusive latch,
    /// logged with the structure change that uses them (see [`Allocation`]). The meta page is
    /// always the last latch taken before the (unreachable) pages allocated, so latch order
    /// stays acyclic.
    pub(crate) fn allocation(&self) -> Result<Allocation<'_>> {
        let meta = self.pool.fetch_write(META_PAGE)?;
        let head = meta.u32_at(FREE_HEAD);
        let count = meta.u32_at(PAGE_COUNT);
        Ok(Allocation {
            store: self,
            meta,
            head,
            count,
            old_head: head,
            old_count: count,
            released: Vec::new(),
        })
    }

    /// Allocates an empty page of `page_type` and returns it latched exclusively.
    pub(crate) fn allocate(&self, page_type: PageType) -> Result<PageWrite<'_>> {
        let mut alloc = self.allocation()?;
        let id = alloc.take()?;
        let mut page = self.pool.install(Page::new(id, page_type))?;
        let mut changes = alloc.changes();
        changes.push(Change::Format {
            page: id,
            page_type,
        });
        self.log_redo(changes, &mut [&mut alloc.meta, &mut page])?;
        Ok(page)
    }

    /// Frees `page`, which the caller holds exclusively and nothing points to any more.
    pub(crate) fn free(&self, mut page: PageWrite<'_>) -> Result<()> {
        let mut alloc = self.allocation()?;
        let image = alloc.release(page.id());
        let mut changes = alloc.changes();
        changes.push(Change::image_of(&image));
        self.log_redo(changes, &mut [&mut alloc.meta, &mut page])?;
        Ok(())
    }
}

/// Pages being taken from (and given back to) the store under the meta page's exclusive
/// latch. Nothing changes until the caller logs [`Allocation::changes`] (the meta page's new
/// free-list head and page count) in the same record as the pages' new contents, through
/// [`PageStore::log_redo`] with [`Allocation::meta`] among the pages.
pub(crate) struct Allocation<'s> {
    store: &'s StoreCore,
    pub meta: PageWrite<'s>,
    head: PageId,
    count: u32,
    old_head: PageId,
    old_count: u32,
    /// Pages released here, with the free-list successor each was given.
    released: Vec<(PageId, PageId)>,
}

impl Allocation<'_> {
    /// A page id to use: the head of the free list, else a new page at the end of the file.
    /// The caller installs its content and logs it whole (a format or an image).
    pub fn take(&mut self) -> Result<PageId> {
        if let Some(i) = self.released.iter().position(|r| r.0 == self.head) {
            let (id, next) = self.released.swap_remove(i);
            self.head = next;
            return Ok(id);
        }
        if self.head != 0 {
            let id = self.head;
            let freed = self.store.pool.fetch_read(id)?;
            if freed.page_type() != Some(PageType::Free) {
                return Err(self.store.corrupt(id, "page on the free list is not free"));
            }
            self.head = freed.next_page();
            return Ok(id);
        }
        self.count += 1;
        Ok(self.count - 1)
    }

    /// Puts page `id` (latched by the caller, unreachable) on the free list; returns the
    /// free page it becomes, for the caller to log as its image.
    pub fn release(&mut self, id: PageId) -> Page {
        let mut page = Page::new(id, PageType::Free);
        page.set_next_page(self.head);
        self.released.push((id, self.head));
        self.head = id;
        page
    }

    /// The meta-page changes that record what was taken and released.
    pub fn changes(&self) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.head != self.old_head {
            changes.push(patch_u32(META_PAGE, FREE_HEAD, self.old_head, self.head));
        }
        if self.count != self.old_count {
            changes.push(patch_u32(META_PAGE, PAGE_COUNT, self.old_count, self.count));
        }
        changes
    }
}

impl Drop for PageStore {
    fn drop(&mut self) {
        // `close` stopped the checkpointer and took the last checkpoint already.
        if self.checkpointer.is_some() {
            self.stop_checkpointer();
            // A failure leaves the work to recovery at the next open.
            let _ = self.checkpoint();
        }
    }
}

pub(crate) fn root_offset(slot: usize) -> Result<usize> {
    if slot >= ROOT_SLOTS {
        return Err(Error::NoSuchRoot { slot });
    }
    Ok(ROOTS + 4 * slot)
}

/// A patch of the u32 at `offset` of `page` from `old` to `new`.
pub(crate) fn patch_u32(page: PageId, offset: usize, old: u32, new: u32) -> Change {
    Change::Patch {
        page,
        offset: offset as u16,
        old: old.to_le_bytes().to_vec(),
        new: new.to_le_bytes().to_vec(),
    }
}
