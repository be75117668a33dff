//! The control file: where recovery starts.
//!
//! ```text
//! control (32 bytes, little-endian)
//! 0   4  magic "CPCT"
//! 4   4  format version 1
//! 8   8  redo LSN of the latest completed checkpoint: every change logged before it is in
//!        the page file, so redo starts there
//! 16  8  next transaction id at that checkpoint (ids are never reused, even after the log
//!        that mentioned them is truncated)
//! 24  4  reserved, zero
//! 28  4  CRC32C of bytes 0..28
//! ```
//!
//! It is replaced whole by writing `control.tmp`, syncing it and renaming it over `control`,
//! so a crash leaves the old or the new one. A missing file means no checkpoint yet: redo
//! starts at the beginning of the log.

use std::path::Path;

use cairn_fs::Fs;

use crate::error::{Error, Result};
use crate::wal::{Lsn, TxnId};

const MAGIC: [u8; 4] = *b"CPCT";
const VERSION: u32 = 1;
const LEN: usize = 32;

/// What the latest checkpoint recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Control {
    pub redo: Lsn,
    pub next_txn: TxnId,
}

impl Control {
    /// Reads the control file of `dir`; `None` if there is none yet.
    pub fn read(dir: &Path) -> Result<Option<Control>> {
        let path = dir.join("control");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { file: path, source }),
        };
        let bad = |what: &str| Error::Format {
            file: path.clone(),
            what: what.into(),
        };
        if bytes.len() != LEN || bytes[0..4] != MAGIC {
            return Err(bad("not a cairn-page control file"));
        }
        let crc = u32::from_le_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]);
        if crc != crc32c::crc32c(&bytes[..28]) {
            return Err(bad("control file fails its checksum"));
        }
        let u64_at = |at: usize| {
            let mut a = [0; 8];
            a.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(a)
        };
        if u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) != VERSION {
            return Err(bad("control file of an unknown version"));
        }
        Ok(Some(Control {
            redo: u64_at(8),
            next_txn: u64_at(16),
        }))
    }

    /// Replaces the control file of `dir` atomically.
    pub fn write(&self, fs: &Fs, dir: &Path) -> Result<()> {
        let mut bytes = [0u8; LEN];
        bytes[0..4].copy_from_slice(&MAGIC);
        bytes[4..8].copy_from_slice(&VERSION.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.redo.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.next_txn.to_le_bytes());
        let crc = crc32c::crc32c(&bytes[..28]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
        let path = dir.join("control");
        fs.write_atomically(&path, &bytes)
            .map_err(|source| Error::Io { file: path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Control::read(dir.path()).expect("read"), None);
        let c = Control {
            redo: 4096,
            next_txn: 17,
        };
        c.write(&Fs::os(), dir.path()).expect("write");
        assert_eq!(Control::read(dir.path()).expect("read"), Some(c));
        let path = dir.path().join("control");
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[9] ^= 1;
        std::fs::write(&path, bytes).expect("write");
        assert!(Control::read(dir.path()).is_err());
    }
}
