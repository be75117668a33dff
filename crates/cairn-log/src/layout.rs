//! Where each file of a store lives, exactly as the seed lays it out:
//!
//! ```text
//! DIR/
//!   LOCK                      held (flock) by the process that has the store open
//!   segments/segment_000001.dat …
//!   index/hash_index.idx      checkpoint of the hash index (persist.rs)
//!   index/bloom_filter.blm    checkpoint of the bloom filter (bloom.rs)
//!   index/metadata.meta       the checkpoint record (meta.rs)
//!   wal/wal_000001.log …      WAL files sealed by a checkpoint, deleted once it is durable
//!   wal/wal_active.log        the WAL being appended to
//!   wal/wal_active.next       the next active file, prepared by a rotation before it renames
//! ```

use std::path::{Path, PathBuf};

use cairn_fs::Fs;

use crate::wal;

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
    pub segments: PathBuf,
    pub index_dir: PathBuf,
    pub wal: PathBuf,
    /// The file layer every change to these files goes through.
    pub fs: Fs,
}

impl Layout {
    pub fn new(root: &Path, fs: Fs) -> Layout {
        Layout {
            root: root.into(),
            segments: root.join("segments"),
            index_dir: root.join("index"),
            wal: root.join("wal"),
            fs,
        }
    }

    pub fn lock(&self) -> PathBuf {
        self.root.join("LOCK")
    }

    pub fn index(&self) -> PathBuf {
        self.index_dir.join("hash_index.idx")
    }

    pub fn bloom(&self) -> PathBuf {
        self.index_dir.join("bloom_filter.blm")
    }

    pub fn meta(&self) -> PathBuf {
        self.index_dir.join("metadata.meta")
    }

    pub fn active_wal(&self) -> PathBuf {
        self.wal.join(wal::ACTIVE_NAME)
    }
}
