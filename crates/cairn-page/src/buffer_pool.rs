//! The buffer pool: a fixed set of frames caching pages of one [`DiskManager`].
//!
//! A page is used through a guard: [`BufferPool::fetch_read`] / [`BufferPool::fetch_write`]
//! pin its frame (so it cannot be evicted) and take its latch, shared or exclusive; dropping
//! the guard releases the latch, then the pin. Many threads use the pool at once: the page
//! table and the free frames sit behind one mutex held only for a lookup and for the I/O of a
//! miss; pins are atomic counts (taken under the mutex, released without it), access history
//! is atomic (replacer.rs), and the pages themselves are guarded by their frames' latches.
//!
//! Invariants:
//! * a pinned frame is never evicted; a frame is evictable exactly when its pin count is 0,
//!   and a pin is only taken under the state mutex, where victims are chosen;
//! * WAL before data: a dirty page is written only after the log is durable up to the page's
//!   LSN ([`LogFlush::flush_to`]);
//! * a page is in at most one frame, and the page table maps exactly the frames holding one.
//!
//! Eviction follows LRU-2 (replacer.rs), which keeps repeatedly used pages resident through
//! sequential scans.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::disk::DiskManager;
use crate::error::{Error, Result};
use crate::page::{Page, PageId, PageType};
use crate::replacer::{History, LruK};

/// What the pool needs from the write-ahead log: make it durable up to an LSN.
pub trait LogFlush: Send + Sync {
    fn flush_to(&self, lsn: u64) -> Result<()>;
}

/// For a pool whose pages carry no logged changes (LSN 0): nothing to flush first.
#[derive(Debug, Default)]
pub struct Unlogged;

impl LogFlush for Unlogged {
    fn flush_to(&self, lsn: u64) -> Result<()> {
        debug_assert_eq!(lsn, 0, "an unlogged pool holds a page with a logged change");
        Ok(())
    }
}

/// A frame: everything a page hit touches, on one cache line.
#[repr(align(64))]
struct Frame {
    latch: RwLock<Page>,
    pins: AtomicU32,
    dirty: AtomicBool,
    history: History,
}

/// Page ids are not chosen by clients: rustc's fast multiplicative hash, on the path every
/// page access takes.
type PageTable = HashMap<PageId, usize, rustc_hash::FxBuildHasher>;

struct State {
    table: PageTable,
    owner: Vec<Option<PageId>>,
    free: Vec<usize>,
    /// Where the replacer's clock hand stands.
    hand: usize,
}

/// Hit and miss counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub hits: u64,
    pub misses: u64,
    pub writes: u64,
}

/// The buffer pool.
pub struct BufferPool {
    disk: Arc<DiskManager>,
    log: Arc<dyn LogFlush>,
    frames: Box<[Frame]>,
    state: Mutex<State>,
    replacer: LruK,
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
}

impl std::fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferPool")
            .field("file", &self.disk.path())
            .field("frames", &self.frames.len())
            .finish()
    }
}

/// Default size: 128 MiB of frames.
pub const DEFAULT_FRAMES: usize = (128 << 20) / crate::page::PAGE_SIZE;

impl BufferPool {
    pub fn new(disk: Arc<DiskManager>, frames: usize, log: Arc<dyn LogFlush>) -> BufferPool {
        let frames = frames.max(1);
        BufferPool {
            disk,
            log,
            frames: (0..frames)
                .map(|_| Frame {
                    latch: RwLock::new(Page::new(0, PageType::Free)),
                    pins: AtomicU32::new(0),
                    dirty: AtomicBool::new(false),
                    history: History::default(),
                })
                .collect(),
            state: Mutex::new(State {
                table: PageTable::default(),
                owner: vec![None; frames],
                free: (0..frames).rev().collect(),
                hand: 0,
            }),
            replacer: LruK::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    pub fn disk(&self) -> &DiskManager {
        &self.disk
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Page `id`, shared.
    pub fn fetch_read(&self, id: PageId) -> Result<PageRead<'_>> {
        let frame = self.pin(id, None)?;
        let latch = self.frames[frame]
            .latch
            .read()
            .unwrap_or_else(|p| p.into_inner());
        Ok(PageRead {
            pool: self,
            frame,
            latch: Some(latch),
        })
    }

    /// Page `id`, exclusive; it is marked dirty.
    pub fn fetch_write(&self, id: PageId) -> Result<PageWrite<'_>> {
        let frame = self.pin(id, None)?;
        Ok(self.write_guard(frame))
    }

    /// Installs `page` (built in memory: a new page, or a logged full-page image) in place of
    /// whatever page of its id the pool or the disk held, exclusive. The disk copy is not read,
    /// so this is how recovery repairs a torn page.
    pub fn install(&self, page: Page) -> Result<PageWrite<'_>> {
        let frame = self.pin(page.id(), Some(page))?;
        Ok(self.write_guard(frame))
    }

    fn write_guard(&self, frame: usize) -> PageWrite<'_> {
        let latch = self.frames[frame]
            .latch
            .write()
            .unwrap_or_else(|p| p.into_inner());
        self.frames[frame].dirty.store(true, Ordering::Release);
        PageWrite {
            pool: self,
            frame,
            latch: Some(latch),
        }
    }

    /// Pins the frame of page `id`, reading it in on a miss; with `fresh`, that page replaces
    /// whatever copy the frame or the disk holds.
    fn pin(&self, id: PageId, fresh: Option<Page>) -> Result<usize> {
        let mut st = self.lock_state();
        if let Some(&frame) = st.table.get(&id) {
            // Pins are only taken under the state lock, so a frame the replacer sees unpinned
            // there stays so while it evicts it.
            self.frames[frame].pins.fetch_add(1, Ordering::AcqRel);
            drop(st);
            self.replacer.access(&self.frames[frame].history);
            match fresh {
                // Resident already: the fresh page replaces the cached copy once latched.
                Some(page) => {
                    *self.frames[frame]
                        .latch
                        .write()
                        .unwrap_or_else(|p| p.into_inner()) = page;
                }
                None => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                }
            }
            return Ok(frame);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let frame = match st.free.pop() {
            Some(frame) => frame,
            None => {
                let mut hand = st.hand;
                let frame = self
                    .replacer
                    .victim(&mut hand, self.frames.len(), |f| {
                        let frame = &self.frames[f];
                        (frame.pins.load(Ordering::Acquire) == 0 && st.owner[f].is_some())
                            .then_some(&frame.history)
                    })
                    .ok_or(Error::PoolExhausted {
                        frames: self.frames.len(),
                    })?;
                st.hand = hand;
                self.evict(&mut st, frame)?;
                frame
            }
        };
        let page = match fresh {
            Some(page) => page,
            None => match self.disk.read_page(id) {
                Ok(page) => page,
                Err(e) => {
                    st.free.push(frame);
                    return Err(e);
                }
            },
        };
        *self.frames[frame]
            .latch
            .write()
            .unwrap_or_else(|p| p.into_inner()) = page;
        self.frames[frame].dirty.store(false, Ordering::Release);
        self.frames[frame].pins.store(1, Ordering::Release);
        st.table.insert(id, frame);
        st.owner[frame] = Some(id);
        self.frames[frame].history.reset();
        self.replacer.access(&self.frames[frame].history);
        Ok(frame)
    }

    /// Writes the (unpinned) frame's page out if dirty and forgets it.
    fn evict(&self, st: &mut State, frame: usize) -> Result<()> {
        if self.frames[frame].dirty.load(Ordering::Acquire) {
            let mut page = self.frames[frame]
                .latch
                .write()
                .unwrap_or_else(|p| p.into_inner());
            self.write_out(&mut page)?;
            self.frames[frame].dirty.store(false, Ordering::Release);
        }
        if let Some(old) = st.owner[frame].take() {
            st.table.remove(&old);
        }
        Ok(())
    }

    /// WAL before data: the log first, up to the page's LSN, then the page.
    fn write_out(&self, page: &mut Page) -> Result<()> {
        self.log.flush_to(page.lsn())?;
        self.disk.write_page(page)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn unpin(&self, frame: usize) {
        self.frames[frame].pins.fetch_sub(1, Ordering::AcqRel);
    }

    /// Writes every dirty page out (WAL first) and syncs the file.
    pub fn flush_all(&self) -> Result<()> {
        for frame in self.frames.iter() {
            if frame.dirty.load(Ordering::Acquire) {
                let mut page = frame.latch.write().unwrap_or_else(|p| p.into_inner());
                if frame.dirty.swap(false, Ordering::AcqRel) {
                    if let Err(e) = self.write_out(&mut page) {
                        frame.dirty.store(true, Ordering::Release);
                        return Err(e);
                    }
                }
            }
        }
        self.disk.sync()
    }
}

/// A pinned page, shared.
pub struct PageRead<'a> {
    pool: &'a BufferPool,
    frame: usize,
    latch: Option<RwLockReadGuard<'a, Page>>,
}

impl Deref for PageRead<'_> {
    type Target = Page;
    fn deref(&self) -> &Page {
        self.latch.as_ref().expect("held until drop")
    }
}

impl Drop for PageRead<'_> {
    fn drop(&mut self) {
        self.latch.take();
        self.pool.unpin(self.frame);
    }
}

/// A pinned page, exclusive.
pub struct PageWrite<'a> {
    pool: &'a BufferPool,
    frame: usize,
    latch: Option<RwLockWriteGuard<'a, Page>>,
}

impl Deref for PageWrite<'_> {
    type Target = Page;
    fn deref(&self) -> &Page {
        self.latch.as_ref().expect("held until drop")
    }
}

impl DerefMut for PageWrite<'_> {
    fn deref_mut(&mut self) -> &mut Page {
        self.latch.as_mut().expect("held until drop")
    }
}

impl Drop for PageWrite<'_> {
    fn drop(&mut self) {
        self.latch.take();
        self.pool.unpin(self.frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(frames: usize, log: Arc<dyn LogFlush>) -> (tempfile::TempDir, BufferPool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let disk = Arc::new(
            DiskManager::open(&cairn_fs::Fs::os(), dir.path().join("pages.db")).expect("open"),
        );
        (dir, BufferPool::new(disk, frames, log))
    }

    #[test]
    fn a_working_set_larger_than_the_pool_reads_back() {
        let (_dir, pool) = pool(8, Arc::new(Unlogged));
        let ids: Vec<PageId> = (0..100u32)
            .map(|i| {
                let mut p = pool
                    .install(Page::new(i + 1, PageType::Data))
                    .expect("new page");
                p.insert(&i.to_le_bytes()).expect("insert");
                p.id()
            })
            .collect();
        for (i, &id) in ids.iter().enumerate().rev() {
            let p = pool.fetch_read(id).expect("fetch");
            assert_eq!(p.get(0), Some(&(i as u32).to_le_bytes()[..]));
        }
        assert!(
            pool.stats().writes >= 92,
            "evictions wrote dirty pages: {:?}",
            pool.stats()
        );
        pool.flush_all().expect("flush");
    }

    #[test]
    fn pinned_pages_are_never_evicted() {
        let (_dir, pool) = pool(3, Arc::new(Unlogged));
        let held: Vec<_> = (1..=3)
            .map(|id| pool.install(Page::new(id, PageType::Data)).expect("new"))
            .collect();
        assert!(matches!(
            pool.install(Page::new(4, PageType::Data)),
            Err(Error::PoolExhausted { frames: 3 })
        ));
        drop(held);
        pool.install(Page::new(4, PageType::Data))
            .expect("a frame is free again");
    }

    #[test]
    fn hot_pages_survive_a_sequential_scan() {
        let (_dir, pool) = pool(10, Arc::new(Unlogged));
        let ids: Vec<PageId> = (1..=60)
            .map(|id| {
                pool.install(Page::new(id, PageType::Data))
                    .expect("new")
                    .id()
            })
            .collect();
        pool.flush_all().expect("flush");
        let hot = &ids[..4];
        for _ in 0..3 {
            for &id in hot {
                pool.fetch_read(id).expect("fetch");
            }
        }
        for &id in &ids[4..] {
            pool.fetch_read(id).expect("scan");
        }
        let before = pool.stats();
        for &id in hot {
            pool.fetch_read(id).expect("fetch");
        }
        let after = pool.stats();
        assert_eq!(after.misses, before.misses, "the scan evicted hot pages");
        assert_eq!(after.hits, before.hits + 4);
    }

    /// Records how far the log was flushed, and checks every page written is covered.
    struct CheckingLog {
        flushed: AtomicU64,
    }

    impl LogFlush for CheckingLog {
        fn flush_to(&self, lsn: u64) -> Result<()> {
            self.flushed.fetch_max(lsn, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn the_log_is_flushed_past_a_page_before_the_page_is_written() {
        let log = Arc::new(CheckingLog {
            flushed: AtomicU64::new(0),
        });
        let (_dir, pool) = pool(2, log.clone());
        let mut ids = Vec::new();
        for lsn in 1..=20u64 {
            let mut p = pool
                .install(Page::new(lsn as PageId, PageType::Data))
                .expect("new");
            p.set_lsn(lsn * 10);
            ids.push(p.id());
        }
        for &id in &ids[..18] {
            let on_disk = pool
                .disk()
                .read_page(id)
                .expect("evicted pages are on disk");
            assert!(on_disk.lsn() <= log.flushed.load(Ordering::SeqCst));
        }
    }

    #[test]
    fn concurrent_writers_lose_no_update() {
        let (_dir, pool) = pool(6, Arc::new(Unlogged));
        let ids: Vec<PageId> = (1..=24)
            .map(|id| {
                let mut p = pool.install(Page::new(id, PageType::Data)).expect("new");
                p.insert(&0u64.to_le_bytes()).expect("insert");
                p.id()
            })
            .collect();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (pool, ids) = (&pool, &ids);
                s.spawn(move || {
                    let mut x = t + 1;
                    for _ in 0..500 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let id = ids[(x % ids.len() as u64) as usize];
                        if x % 3 == 0 {
                            let p = pool.fetch_read(id).expect("read");
                            assert_eq!(p.get(0).map(<[u8]>::len), Some(8));
                        } else {
                            let mut p = pool.fetch_write(id).expect("write");
                            let n = u64::from_le_bytes(
                                p.get(0).expect("counter").try_into().expect("8 bytes"),
                            );
                            p.update(0, &(n + 1).to_le_bytes()).expect("update");
                        }
                    }
                });
            }
        });
        let total: u64 = ids
            .iter()
            .map(|&id| {
                let p = pool.fetch_read(id).expect("read");
                u64::from_le_bytes(p.get(0).expect("counter").try_into().expect("8 bytes"))
            })
            .sum();
        let expected: u64 = (0..4u64)
            .map(|t| {
                let mut x = t + 1;
                (0..500)
                    .filter(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x % 3 != 0
                    })
                    .count() as u64
            })
            .sum();
        assert_eq!(total, expected);
    }
}
