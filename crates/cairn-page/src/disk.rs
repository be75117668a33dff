//! The disk manager: a file of 8 KiB pages, read and written whole, checksummed.
//!
//! ```text
//! page 0: the file header, written once when the file is created and never again
//!         (a page of type Meta whose body holds):
//!         0   4  magic "CPGF"
//!         4   4  format version 2
//!         8   4  page size (8192)
//! pages 1..: the store's pages; page 1 is the store's meta page (allocation state, roots),
//!            see store.rs
//! ```
//!
//! The disk manager knows nothing of allocation: which pages are in use is logged state in the
//! store's meta page, changed through the WAL like any other page, so a crash never leaves it
//! half-written. Here a page is read or written at its id; writing past the end grows the
//! file. Every read verifies the page's checksum and id, so a torn or misplaced page is an
//! error naming the file and page, never data.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

use cairn_fs::Fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::page::{Page, PageId, PageType, PAGE_SIZE};

const MAGIC: [u8; 4] = *b"CPGF";
const VERSION: u32 = 2;

/// A page file.
#[derive(Debug)]
pub struct DiskManager {
    path: PathBuf,
    file: File,
    fs: Fs,
    /// Pages physically in the file, page 0 included.
    pages: AtomicU32,
}

impl DiskManager {
    /// Opens the page file at `path`, creating it (with its header page) if it does not exist.
    pub fn open(fs: &Fs, path: impl AsRef<Path>) -> Result<DiskManager> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io {
            file: path.clone(),
            source,
        };
        if !path.exists() {
            // Created whole or not at all (temporary file, fsync, rename): a power cut during
            // creation cannot leave a torn header for the next open to refuse.
            let mut header = header_page();
            fs.write_atomically(&path, header.seal()).map_err(io)?;
        }
        let file = fs
            .open(&path, OpenOptions::new().read(true).write(true))
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let disk = DiskManager {
            path: path.clone(),
            file,
            fs: fs.clone(),
            pages: AtomicU32::new(1),
        };
        if len == 0 {
            // Left empty by an interrupted creation of an earlier version.
            disk.write_header()?;
            fs.sync_all(&disk.file).map_err(io)?;
            return Ok(disk);
        }
        // A crash while the file grows can leave a partial last page; it was never durable
        // (the WAL holds what it should contain), so only whole pages count.
        if len < PAGE_SIZE as u64 {
            return Err(Error::Format {
                file: path,
                what: format!("{len} bytes is shorter than the file header"),
            });
        }
        disk.check_header()?;
        disk.pages
            .store((len / PAGE_SIZE as u64) as u32, Ordering::Release);
        Ok(disk)
    }

    fn check_header(&self) -> Result<()> {
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
        Ok(())
    }

    fn write_header(&self) -> Result<()> {
        self.write_raw(0, header_page().seal())
    }

    fn write_raw(&self, id: PageId, bytes: &[u8; PAGE_SIZE]) -> Result<()> {
        self.fs
            .write_at(&self.file, bytes, u64::from(id) * PAGE_SIZE as u64)
            .map_err(|source| Error::Io {
                file: self.path.clone(),
                source,
            })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Pages physically in the file, the header page included.
    pub fn page_count(&self) -> u32 {
        self.pages.load(Ordering::Acquire)
    }

    /// Reads page `id`, verifying its checksum and id.
    pub fn read_page(&self, id: PageId) -> Result<Page> {
        let pages = self.page_count();
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

    /// Writes `page` at its id (sealing its checksum), growing the file if it lies past the
    /// end.
    pub fn write_page(&self, page: &mut Page) -> Result<()> {
        let id = page.id();
        if id == 0 {
            return Err(Error::NoSuchPage {
                file: self.path.clone(),
                page: id,
                pages: self.page_count(),
            });
        }
        self.write_raw(id, page.seal())?;
        self.pages.fetch_max(id + 1, Ordering::AcqRel);
        Ok(())
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<()> {
        self.fs.sync_data(&self.file).map_err(|source| Error::Io {
            file: self.path.clone(),
            source,
        })
    }
}

/// Page 0: the file header.
fn header_page() -> Page {
    let mut page = Page::new(0, PageType::Meta);
    let body = page.body_mut();
    body[0..4].copy_from_slice(&MAGIC);
    body[4..8].copy_from_slice(&VERSION.to_le_bytes());
    body[8..12].copy_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pages.db");
        {
            let disk = DiskManager::open(&Fs::os(), &path).expect("create");
            let mut page = Page::new(3, PageType::Data);
            page.insert(b"hello").expect("insert");
            disk.write_page(&mut page).expect("write");
            disk.sync().expect("sync");
        }
        let disk = DiskManager::open(&Fs::os(), &path).expect("reopen");
        assert_eq!(disk.page_count(), 4);
        assert_eq!(disk.read_page(3).expect("read").get(0), Some(&b"hello"[..]));
        assert!(
            matches!(disk.read_page(2), Err(Error::Corrupt { page: 2, .. })),
            "a page never written is not data"
        );
    }

    #[test]
    fn a_flipped_byte_is_reported_with_file_and_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.db");
        let disk = DiskManager::open(&Fs::os(), &path).expect("create");
        let mut page = Page::new(1, PageType::Data);
        page.insert(b"payload").expect("insert");
        disk.write_page(&mut page).expect("write");
        drop(disk);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[PAGE_SIZE + PAGE_SIZE - 3] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        let disk = DiskManager::open(&Fs::os(), &path).expect("the header is intact");
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
            DiskManager::open(&Fs::os(), &path),
            Err(Error::Format { .. })
        ));
        std::fs::write(&path, b"short").expect("write");
        assert!(matches!(
            DiskManager::open(&Fs::os(), &path),
            Err(Error::Format { .. })
        ));
        let disk = DiskManager::open(&Fs::os(), dir.path().join("p.db")).expect("create");
        assert!(matches!(disk.read_page(0), Err(Error::NoSuchPage { .. })));
        assert!(matches!(disk.read_page(7), Err(Error::NoSuchPage { .. })));
    }
}
