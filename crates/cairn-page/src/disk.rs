//! The disk manager: a file of 8 KiB pages, read and written whole, checksummed.
//!
//! ```text
//! page 0: the file header, a page of type Meta whose body holds
//!         0   4  magic "CPGF"
//!         4   4  format version 1
//!         8   4  page size (8192)
//!         12  4  page count (page 0 included)
//!         16  4  head of the free list (0 = empty)
//! pages 1..: pages of any other type; freed pages have type Free and chain through their
//!            `next page` field into the free list
//! ```
//!
//! Allocation reuses the free list first and grows the file otherwise; a freed page is
//! reused before the file grows. Every read verifies the page's checksum and id, so a torn or
//! misplaced page is an error naming the file and page, never data.
//!
//! Not yet crash-safe on its own: the header and the free list are rewritten in place. The
//! WAL (a later layer) logs allocation and free, and recovery redoes them.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::page::{Page, PageId, PageType, PAGE_SIZE};

const MAGIC: [u8; 4] = *b"CPGF";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy)]
struct Header {
    pages: u32,
    free_head: PageId,
}

/// A page file.
#[derive(Debug)]
pub struct DiskManager {
    path: PathBuf,
    file: File,
    header: Mutex<Header>,
}

impl DiskManager {
    /// Opens the page file at `path`, creating it (with its header page) if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<DiskManager> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io {
            file: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let disk = DiskManager {
            path: path.clone(),
            file,
            header: Mutex::new(Header {
                pages: 1,
                free_head: 0,
            }),
        };
        if len == 0 {
            disk.write_header(Header {
                pages: 1,
                free_head: 0,
            })?;
            disk.file.sync_all().map_err(io)?;
            return Ok(disk);
        }
        if len % PAGE_SIZE as u64 != 0 {
            return Err(Error::Format {
                file: path,
                what: format!("{len} bytes is not a whole number of {PAGE_SIZE}-byte pages"),
            });
        }
        let header = disk.read_header(len)?;
        *disk.lock_header() = header;
        Ok(disk)
    }

    fn lock_header(&self) -> std::sync::MutexGuard<'_, Header> {
        self.header
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read_header(&self, len: u64) -> Result<Header> {
        let mut raw = Box::new([0u8; PAGE_SIZE]);
        self.file
            .read_exact_at(&mut raw[..], 0)
            .map_err(|source| Error::Io {
                file: self.path.clone(),
                source,
            })?;
        if raw[crate::page::HEADER_LEN..crate::page::HEADER_LEN + 4] != MAGIC {
            return Err(Error::Format {
                file: self.path.clone(),
                what: "bad magic".into(),
            });
        }
        let page = Page::from_bytes(raw, 0, &self.path)?;
        let body = page.body();
        let field =
            |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        if field(4) != VERSION || field(8) as usize != PAGE_SIZE {
            return Err(Error::Format {
                file: self.path.clone(),
                what: format!("version {} with {}-byte pages", field(4), field(8)),
            });
        }
        let header = Header {
            pages: field(12),
            free_head: field(16),
        };
        if u64::from(header.pages) * PAGE_SIZE as u64 > len
            || header.free_head >= header.pages.max(1)
        {
            return Err(Error::Corrupt {
                file: self.path.clone(),
                page: 0,
                what: format!(
                    "header counts {} pages, free list at {}",
                    header.pages, header.free_head
                ),
            });
        }
        Ok(header)
    }

    fn write_header(&self, header: Header) -> Result<()> {
        let mut page = Page::new(0, PageType::Meta);
        let body = page.body_mut();
        body[0..4].copy_from_slice(&MAGIC);
        body[4..8].copy_from_slice(&VERSION.to_le_bytes());
        body[8..12].copy_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
        body[12..16].copy_from_slice(&header.pages.to_le_bytes());
        body[16..20].copy_from_slice(&header.free_head.to_le_bytes());
        self.write_raw(0, page.seal())
    }

    fn write_raw(&self, id: PageId, bytes: &[u8; PAGE_SIZE]) -> Result<()> {
        self.file
            .write_all_at(bytes, u64::from(id) * PAGE_SIZE as u64)
            .map_err(|source| Error::Io {
                file: self.path.clone(),
                source,
            })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Pages in the file, the header page included.
    pub fn page_count(&self) -> u32 {
        self.lock_header().pages
    }

    /// Reads page `id`, verifying its checksum and id.
    pub fn read_page(&self, id: PageId) -> Result<Page> {
        self.read_page_unlocked(id, self.page_count())
    }

    /// Writes `page` at its id (sealing its checksum).
    pub fn write_page(&self, page: &mut Page) -> Result<()> {
        let id = page.id();
        let pages = self.page_count();
        if id == 0 || id >= pages {
            return Err(Error::NoSuchPage {
                file: self.path.clone(),
                page: id,
                pages,
            });
        }
        self.write_raw(id, page.seal())
    }

    /// A new empty page of `page_type`: a freed page if there is one, else a new one at the
    /// end of the file. It is written before it is returned.
    pub fn allocate_page(&self, page_type: PageType) -> Result<Page> {
        let mut header = self.lock_header();
        let id = if header.free_head != 0 {
            let id = header.free_head;
            let freed = self.read_page_unlocked(id, header.pages)?;
            if freed.page_type() != Some(PageType::Free) {
                return Err(Error::Corrupt {
                    file: self.path.clone(),
                    page: id,
                    what: "page on the free list is not free".into(),
                });
            }
            header.free_head = freed.next_page();
            id
        } else {
            header.pages += 1;
            header.pages - 1
        };
        let mut page = Page::new(id, page_type);
        self.write_raw(id, page.seal())?;
        self.write_header(*header)?;
        Ok(page)
    }

    /// Writes an empty page of `page_type` at `id`, growing the file (with empty pages for any
    /// gap) if `id` lies past its end. Recovery's redo of a page format uses it for a page
    /// whose allocation, or whose first write, a crash lost.
    pub fn format_page(&self, id: PageId, page_type: PageType) -> Result<()> {
        let mut header = self.lock_header();
        if id == 0 {
            return Err(Error::NoSuchPage {
                file: self.path.clone(),
                page: id,
                pages: header.pages,
            });
        }
        let first = if id >= header.pages { header.pages } else { id };
        for p in first..=id {
            let mut page = Page::new(p, page_type);
            self.write_raw(p, page.seal())?;
        }
        if id >= header.pages {
            header.pages = id + 1;
            self.write_header(*header)?;
        }
        Ok(())
    }

    /// Puts page `id` on the free list.
    pub fn free_page(&self, id: PageId) -> Result<()> {
        let mut header = self.lock_header();
        if id == 0 || id >= header.pages {
            return Err(Error::NoSuchPage {
                file: self.path.clone(),
                page: id,
                pages: header.pages,
            });
        }
        let mut page = Page::new(id, PageType::Free);
        page.set_next_page(header.free_head);
        self.write_raw(id, page.seal())?;
        header.free_head = id;
        self.write_header(*header)
    }

    fn read_page_unlocked(&self, id: PageId, pages: u32) -> Result<Page> {
        if id == 0 || id >= pages {
            return Err(Error::NoSuchPage {
                file: self.path.clone(),
                page: id,
                pages,
            });
        }
        let mut raw = Box::new([0u8; PAGE_SIZE]);
        self.file
            .read_exact_at(&mut raw[..], u64::from(id) * PAGE_SIZE as u64)
            .map_err(|source| Error::Io {
                file: self.path.clone(),
                source,
            })?;
        Page::from_bytes(raw, id, &self.path)
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|source| Error::Io {
            file: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pages.db");
        let id = {
            let disk = DiskManager::open(&path).expect("create");
            let mut page = disk.allocate_page(PageType::Data).expect("allocate");
            page.insert(b"hello").expect("insert");
            disk.write_page(&mut page).expect("write");
            disk.sync().expect("sync");
            page.id()
        };
        let disk = DiskManager::open(&path).expect("reopen");
        assert_eq!(disk.page_count(), 2);
        assert_eq!(
            disk.read_page(id).expect("read").get(0),
            Some(&b"hello"[..])
        );
    }

    #[test]
    fn freed_pages_are_reused_before_the_file_grows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let disk = DiskManager::open(dir.path().join("p.db")).expect("create");
        let ids: Vec<_> = (0..4)
            .map(|_| disk.allocate_page(PageType::Data).expect("allocate").id())
            .collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        disk.free_page(2).expect("free");
        disk.free_page(4).expect("free");
        assert_eq!(
            disk.allocate_page(PageType::Index).expect("allocate").id(),
            4
        );
        assert_eq!(
            disk.allocate_page(PageType::Index).expect("allocate").id(),
            2
        );
        assert_eq!(
            disk.allocate_page(PageType::Index).expect("allocate").id(),
            5
        );
        drop(disk);
        let disk = DiskManager::open(dir.path().join("p.db")).expect("reopen");
        assert_eq!(disk.page_count(), 6);
    }

    #[test]
    fn a_flipped_byte_is_reported_with_file_and_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.db");
        let disk = DiskManager::open(&path).expect("create");
        let mut page = disk.allocate_page(PageType::Data).expect("allocate");
        page.insert(b"payload").expect("insert");
        disk.write_page(&mut page).expect("write");
        drop(disk);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[PAGE_SIZE + PAGE_SIZE - 3] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        let disk = DiskManager::open(&path).expect("the header is intact");
        match disk.read_page(1) {
            Err(Error::Corrupt { file, page: 1, .. }) => assert_eq!(file, path),
            other => panic!("expected corruption of page 1, got {other:?}"),
        }
    }

    #[test]
    fn other_files_and_bad_ids_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("not-ours");
        std::fs::write(&path, vec![b'x'; PAGE_SIZE]).expect("write");
        assert!(matches!(
            DiskManager::open(&path),
            Err(Error::Format { .. })
        ));
        std::fs::write(&path, b"short").expect("write");
        assert!(matches!(
            DiskManager::open(&path),
            Err(Error::Format { .. })
        ));
        let disk = DiskManager::open(dir.path().join("p.db")).expect("create");
        assert!(matches!(disk.read_page(0), Err(Error::NoSuchPage { .. })));
        assert!(matches!(disk.read_page(7), Err(Error::NoSuchPage { .. })));
        assert!(matches!(disk.free_page(7), Err(Error::NoSuchPage { .. })));
    }
}
