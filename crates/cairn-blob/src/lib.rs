//! cairn-blob: the content-addressed, deduplicating file store under cairn's blob door.
//!
//! A file added to the store is split into typed **atoms** — PNG chunks, JPEG segments and
//! scans, MP4 boxes and samples, content-defined chunks of everything else — each named by
//! the SHA-256 of its bytes and stored once however many files contain it. A **manifest**
//! lists a file's atoms in order with the whole file's SHA-256; reading a file back
//! concatenates its atoms, checking every atom's hash and the whole file's.
//!
//! * **atoms** (`atom.rs`): hashes, the seed's twelve types;
//! * **splitters** (`split/`): format detection by content, PNG, JPEG, MP4 (samples through
//!   the sample tables, fragments too), and FastCDC content-defined chunking;
//! * **ingestion** (`ingest.rs`): one sequential read, hashing and compression on every core;
//! * **SHA-256** (`sha256.rs`): two hashes side by side on one core (the whole file's and an
//!   atom's), with the x86 SHA extensions;
//! * **compression** (`compress.rs`): zstd or LZ4 per atom, skipped where it does not pay;
//! * **backends** (`backend.rs`, `object.rs`): a sharded local folder, memory, and object
//!   storage (S3 and compatible, GCS, Azure) through the `object_store` crate;
//! * **records** (`records.rs`): atom records with reference counts, manifests and names in a
//!   cairn-log index, whose bloom filter answers "new atom?" without I/O;
//! * **the store** (`store.rs`): add, get (whole or one component), list, verify, remove,
//!   gc and stats, crash-safe in the order it writes.
//!
//! ```
//! # fn main() -> cairn_blob::Result<()> {
//! # let dir = tempfile::tempdir().expect("tempdir");
//! let store = cairn_blob::BlobStore::open(dir.path(), Default::default())?;
//! let report = store.add("notes.txt", &b"hello, atoms".to_vec(), None)?;
//! assert_eq!(report.version, 1);
//! let mut back = Vec::new();
//! store.get("notes.txt", None, None, &mut back)?;
//! assert_eq!(back, b"hello, atoms");
//! # Ok(())
//! # }
//! ```

pub mod atom;
pub mod backend;
pub mod compress;
mod error;
mod ingest;
pub mod object;
pub mod records;
pub mod sha256;
pub mod split;
mod store;

pub use atom::{AtomHash, AtomType};
pub use backend::{Backend, LocalBackend, MemoryBackend};
pub use compress::Compression;
pub use error::{is_storage_full, Error, Result};
pub use object::ObjectBackend;
pub use records::{AtomRecord, ContentRef, Manifest};
pub use store::{
    check_name, AddReport, BlobStore, Component, GcReport, Options, StorageStats, VerifyReport,
};
