//! The pager: pages by number, from the WAL's committed frames when it holds them, else from
//! the database file, through the LRU page cache.
//!
//! Invariants: a page number outside 1..=page_count, or one past the end of the file, is a
//! corruption error naming the page; the pager never reads a byte it has not bounds-checked
//! and never allocates more than one page per read, so its memory is the cache budget plus
//! the pages callers hold.
//!
//! The pager reads the file as it is when opened: a reader of a database another process is
//! writing sees the WAL's commits as of `open`, like a SQLite read transaction.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::cache::LruCache;
use crate::error::{Error, Result};
use crate::header::{Header, HEADER_SIZE};
use crate::page::{BtreePage, PageData, PayloadRef};
use crate::wal::WalIndex;

/// Reads pages of one SQLite database.
pub struct Pager {
    file: File,
    path: Arc<Path>,
    file_len: u64,
    page_size: u32,
    usable: u32,
    page_count: u32,
    wal: Option<(File, WalIndex)>,
    cache: Mutex<LruCache>,
}

impl Pager {
    /// Opens the database at `path` with a page cache of `cache_bytes`, and returns it with
    /// the current header (from the WAL when page 1 was changed there).
    pub fn open(path: &Path, cache_bytes: usize) -> Result<(Pager, Header)> {
        let io = |source| Error::Io {
            file: path.to_path_buf(),
            source,
        };
        let not_sqlite = |what: String| Error::NotSqlite {
            file: path.to_path_buf(),
            what,
        };
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut first = vec![0u8; HEADER_SIZE.min(file_len as usize)];
        file.read_exact_at(&mut first, 0).map_err(io)?;
        let header = Header::parse(&first).map_err(not_sqlite)?;
        if file_len < u64::from(header.page_size) {
            return Err(not_sqlite(format!(
                "the file is truncated: {file_len} bytes, less than one {}-byte page",
                header.page_size
            )));
        }

        if !header.wal_mode() {
            refuse_hot_journal(path)?;
        }
        let wal = if header.wal_mode() {
            let wal_path = wal_path(path);
            match File::open(&wal_path) {
                Ok(wal_file) => WalIndex::read(&wal_file, header.page_size)
                    .map_err(|source| Error::Io {
                        file: wal_path.clone(),
                        source,
                    })?
                    .map(|index| (wal_file, index)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => {
                    return Err(Error::Io {
                        file: wal_path,
                        source,
                    })
                }
            }
        } else {
            None
        };

        let file_pages = (file_len / u64::from(header.page_size)).min(u64::from(u32::MAX)) as u32;
        let page_count = match &wal {
            Some((_, index)) => index.page_count,
            None => match header.trusted_page_count() {
                Some(count) if count > file_pages => {
                    return Err(Error::Corrupt {
                        file: path.to_path_buf(),
                        page: file_pages + 1,
                        what: format!(
                            "the file is truncated: the header counts {count} pages, the file holds {file_pages}"
                        ),
                    })
                }
                Some(count) => count,
                None => file_pages,
            },
        };
        let mut pager = Pager {
            file,
            path: Arc::from(path),
            file_len,
            page_size: header.page_size,
            usable: header.usable_size(),
            page_count,
            wal,
            cache: Mutex::new(LruCache::new(cache_bytes, header.page_size as usize)),
        };
        // In WAL mode page 1, and with it the header, may be newer in the WAL.
        let header = if pager.wal.is_some() {
            let page = pager.page(1)?;
            let current = Header::parse(page.bytes()).map_err(not_sqlite)?;
            if current.page_size != header.page_size {
                return Err(page.corrupt("the WAL's copy of page 1 changes the page size"));
            }
            pager.usable = current.usable_size();
            current
        } else {
            header
        };
        Ok((pager, header))
    }

    /// Pages in the database.
    pub fn page_count(&self) -> u32 {
        self.page_count
    }

    /// Bytes of each page available to b-tree content.
    pub fn usable_size(&self) -> usize {
        self.usable as usize
    }

    /// Number of committed WAL frames this reader sees, 0 when there is no WAL.
    pub fn wal_frames(&self) -> u64 {
        self.wal.as_ref().map_or(0, |(_, index)| index.frames)
    }

    /// The error for a problem with page `page`.
    pub fn corrupt(&self, page: u32, what: impl Into<String>) -> Error {
        Error::Corrupt {
            file: self.path.to_path_buf(),
            page,
            what: what.into(),
        }
    }

    /// Page `number`, from the cache or read.
    pub fn page(&self, number: u32) -> Result<Arc<PageData>> {
        if number == 0 || number > self.page_count {
            return Err(self.corrupt(
                number,
                format!(
                    "page number out of range: the database has {} pages",
                    self.page_count
                ),
            ));
        }
        if let Some(page) = self.cache.lock().get(number) {
            return Ok(page);
        }
        let page = Arc::new(self.read_page(number)?);
        let mut cache = self.cache.lock();
        // Another thread may have read it meanwhile; keep the cached copy.
        if let Some(cached) = cache.get(number) {
            return Ok(cached);
        }
        cache.insert(number, Arc::clone(&page));
        Ok(page)
    }

    /// Page `number` parsed as a b-tree page.
    pub fn btree_page(&self, number: u32) -> Result<BtreePage> {
        BtreePage::parse(self.page(number)?, self.usable as usize)
    }

    fn read_page(&self, number: u32) -> Result<PageData> {
        let mut bytes = vec![0u8; self.page_size as usize].into_boxed_slice();
        let (file, offset, path) = match self
            .wal
            .as_ref()
            .and_then(|(file, index)| Some((file, index.page_offset(number)?)))
        {
            Some((file, offset)) => (file, offset, wal_path(&self.path)),
            None => {
                let offset = u64::from(number - 1) * u64::from(self.page_size);
                if offset + u64::from(self.page_size) > self.file_len {
                    return Err(self.corrupt(
                        number,
                        format!("the file is truncated: it ends at byte {}", self.file_len),
                    ));
                }
                (&self.file, offset, self.path.to_path_buf())
            }
        };
        file.read_exact_at(&mut bytes, offset)
            .map_err(|source| Error::Io { file: path, source })?;
        Ok(PageData::with_file(number, Arc::clone(&self.path), bytes))
    }

    /// Appends the whole payload of a cell that spills to `out`, following its overflow
    /// chain. The chain's length is fixed by the payload size, which must fit the file, so a
    /// corrupt size cannot make it allocate beyond the file's size; a chain that loops or
    /// leaves the file is an error.
    pub fn read_overflow(
        &self,
        page: &BtreePage,
        payload: &PayloadRef,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let per_page = self.usable as u64 - 4;
        let spilled = payload.total - payload.local.len() as u64;
        let pages_needed = spilled.div_ceil(per_page);
        if pages_needed > u64::from(self.page_count) {
            return Err(page.corrupt(format!(
                "a payload of {} bytes needs {pages_needed} overflow pages, more than the file has",
                payload.total
            )));
        }
        out.clear();
        out.reserve(payload.total as usize);
        out.extend_from_slice(&page.data().bytes()[payload.local.clone()]);
        let mut chain = Vec::with_capacity(pages_needed as usize);
        let mut next = payload.overflow;
        let mut remaining = spilled;
        while remaining > 0 {
            if next == 0 {
                return Err(page.corrupt(format!("overflow chain ends {remaining} bytes early")));
            }
            chain.push(next);
            let overflow = self.page(next)?;
            let bytes = overflow.bytes();
            let take = remaining.min(per_page) as usize;
            out.extend_from_slice(&bytes[4..4 + take]);
            remaining -= take as u64;
            next = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        if chain.len() > 1 {
            chain.sort_unstable();
            if chain.windows(2).any(|pair| pair[0] == pair[1]) {
                return Err(page.corrupt("overflow chain loops"));
            }
        }
        Ok(())
    }
}

/// The file beside a database with `suffix` appended to its name (`-wal`, `-journal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The WAL file beside a database.
fn wal_path(path: &Path) -> PathBuf {
    sibling(path, "-wal")
}

/// The magic number a rollback journal starts with while it is live.
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/// Refuses a database with a hot rollback journal: a writer died (or is still working)
/// mid-transaction, and the file holds pages SQLite would roll back before reading. Reading
/// it as it is would show a half-written transaction. A journal that is empty or whose
/// header is zeroed (a committed transaction in PERSIST mode) is not hot.
fn refuse_hot_journal(path: &Path) -> Result<()> {
    let journal = sibling(path, "-journal");
    let Ok(file) = File::open(&journal) else {
        return Ok(());
    };
    let mut magic = [0u8; 8];
    if file.read_exact_at(&mut magic, 0).is_ok() && magic == JOURNAL_MAGIC {
        return Err(Error::HotJournal {
            file: path.to_path_buf(),
            journal,
        });
    }
    Ok(())
}
