//! Ingestion: a file's bytes, read once in order, cut into atoms, hashed, deduplicated,
//! compressed and written to the backend, on every core.
//!
//! The reading thread walks the plan's pieces through a [`Window`] on the file: bytes read
//! ahead in large steps into one buffer and handed out from its front, so the file is read
//! with a few large reads whatever the size of its atoms, and no atom's bytes are copied on
//! their way to the workers. A piece of a known type up to the maximum atom size is one atom;
//! Raw pieces, and typed pieces over the maximum, are cut by content-defined chunking (a
//! typed piece so cut becomes a parent atom whose children are the chunks).
//!
//! Consecutive atoms travel together: about a mebibyte of them, as one [`Job`] whose data
//! is a shared slice of the window, goes first to the hashing thread and then to one
//! worker. The hashing thread hashes the whole file and each atom side by side, two SHA-256
//! lanes interleaved on one core over bytes read once (`sha256.rs`: every byte is hashed
//! twice, and this is the cheapest way to do it), and the cut typed pieces; the worker
//! looks each atom up in the index — the bloom filter answers most "new atom" questions
//! without I/O — and compresses and stores the new ones. So a file of a thousand small MP4
//! samples costs a few messages, not a few per sample. Memory is bounded by the channels: a
//! few jobs per worker, each about a mebibyte, or one atom of at most the maximum atom size.
//!
//! Nothing here touches the index's records: the caller commits the manifest and reference
//! counts in one batch once every new atom is durable in the backend, so a crash leaves
//! either a complete file or, at worst, atoms no manifest names (which gc sweeps).

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use bytes::Bytes;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::atom::{AtomHash, AtomType};
use crate::backend::Backend;
use crate::compress::{self, Compression};
use crate::error::{Error, Result};
use crate::records::{atom_key, ContentRef};
use crate::sha256::Sha256Stream;
use crate::split::cdc::Chunker;
use crate::split::mp4::h264_frame_type;
use crate::split::{Piece, Plan, Source};

/// Bytes of atoms gathered into one job before it is sent.
const JOB_BYTES: usize = 1 << 20;
/// Atoms in one job at most, so that a file of tiny pieces still spreads over the workers.
const JOB_ATOMS: usize = 256;
/// The size of the window's blocks (one read each): several jobs' worth.
const WINDOW_BLOCK: usize = 4 << 20;

/// What ingestion needs from the store.
pub(crate) struct Context<'a> {
    pub backend: &'a dyn Backend,
    pub index: &'a cairn_log::Store,
    pub compression: Compression,
    pub max_atom_size: u64,
    pub chunker: Chunker,
    pub workers: usize,
    /// Bytes read so far, for progress bars.
    pub progress: Option<&'a AtomicU64>,
}

/// An atom this ingestion stored for the first time.
#[derive(Debug, Clone)]
pub(crate) struct NewAtom {
    pub hash: AtomHash,
    pub atom_type: AtomType,
    pub size: u64,
    pub stored_size: u64,
    pub label: String,
    pub parent: Option<AtomHash>,
}

/// A typed piece that was cut into children.
#[derive(Debug, Clone)]
pub(crate) struct Parent {
    pub hash: AtomHash,
    pub atom_type: AtomType,
    pub size: u64,
    pub label: String,
    pub children: Vec<AtomHash>,
}

/// The outcome of one ingestion.
pub(crate) struct Ingested {
    pub refs: Vec<ContentRef>,
    pub parents: Vec<Parent>,
    pub new_atoms: Vec<NewAtom>,
    pub sha256: AtomHash,
}

/// One atom of a job.
struct AtomJob {
    seq: usize,
    /// Where the atom starts in the file.
    offset: u64,
    /// Where its bytes are in the job's data.
    range: Range<usize>,
    atom_type: AtomType,
    refine_h264: Option<u8>,
    label: String,
    /// Index into the parents, for chunks of a cut typed piece.
    parent: Option<usize>,
}

/// Consecutive atoms and their bytes: all of them belong to the whole file, and the spans
/// to cut typed pieces (index into the parents).
struct Job {
    data: Bytes,
    atoms: Vec<AtomJob>,
    parent_spans: Vec<(Range<usize>, usize)>,
}

/// A job whose atoms are hashed, for a worker.
struct HashedJob {
    data: Bytes,
    atoms: Vec<(AtomJob, AtomHash)>,
}

struct Done {
    seq: usize,
    reference: ContentRef,
    parent: Option<usize>,
    /// Set when this worker stored the atom.
    stored: Option<(u64, String)>,
}

/// Ingests `source` split as `plan`.
pub(crate) fn ingest(source: &dyn Source, plan: &Plan, context: &Context<'_>) -> Result<Ingested> {
    let workers = context.workers.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(4);
    let (hashed_tx, hashed_rx) = mpsc::sync_channel::<HashedJob>(workers * 2);
    let hashed_rx = Mutex::new(hashed_rx);
    let (done_tx, done_rx) = mpsc::channel::<Result<Vec<Done>>>();
    // Atoms some worker of this ingestion has claimed to store: the same bytes twice in one
    // file are stored once.
    let claimed = Mutex::new(HashSet::new());
    // Set by the first worker that fails: the reading and hashing threads stop early, and
    // the jobs still queued are dropped, so that a failing backend (a full disk) fails the
    // add at once rather than after the whole file.
    let failed = AtomicBool::new(false);

    let (read, hashed, results) = std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let (hashed_rx, claimed, failed) = (&hashed_rx, &claimed, &failed);
            scope.spawn(move || loop {
                let job = hashed_rx.lock().recv();
                let Ok(job) = job else { return };
                if failed.load(Ordering::Relaxed) {
                    continue;
                }
                let done: Result<Vec<Done>> = job
                    .atoms
                    .into_iter()
                    .map(|(atom, hash)| store_atom(&job.data, atom, hash, context, claimed))
                    .collect();
                if done.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                if done_tx.send(done).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let failed = &failed;
        let hasher = scope.spawn(move || hash_jobs(job_rx, hashed_tx, failed));
        let read = Reader::new(source, context, job_tx, failed).read(plan);
        let results: Vec<Result<Vec<Done>>> = done_rx.iter().collect();
        let hashed = hasher
            .join()
            .map_err(|_| Error::Backend("the hashing thread failed".into()));
        (read, hashed, results)
    });
    // A worker's error first: the reader's, if it stopped for it, says less.
    let mut done = Vec::new();
    for result in results {
        done.extend(result?);
    }
    let mut parents = read?;
    let (sha256, parent_hashes) = hashed?;
    for (parent, hash) in parents.iter_mut().zip(parent_hashes) {
        parent.hash = hash;
    }
    done.sort_unstable_by_key(|d| d.seq);

    let mut new_atoms = Vec::new();
    let mut refs = Vec::with_capacity(done.len());
    for d in done {
        if let Some(parent) = d.parent {
            parents[parent].children.push(d.reference.hash);
        }
        if let Some((stored_size, label)) = d.stored {
            new_atoms.push(NewAtom {
                hash: d.reference.hash,
                atom_type: d.reference.atom_type,
                size: d.reference.size,
                stored_size,
                label,
                parent: d.parent.map(|p| parents[p].hash),
            });
        }
        refs.push(d.reference);
    }
    Ok(Ingested {
        refs,
        parents,
        new_atoms,
        sha256,
    })
}

/// The hashing thread: each job's atoms hashed beside the whole file (passed on to the
/// workers), and the cut typed pieces; returns the whole file's hash and the pieces'.
fn hash_jobs(
    jobs: mpsc::Receiver<Job>,
    hashed: mpsc::SyncSender<HashedJob>,
    failed: &AtomicBool,
) -> (AtomHash, Vec<AtomHash>) {
    let mut whole = Sha256Stream::default();
    let mut parents: Vec<Sha256> = Vec::new();
    for job in jobs {
        if failed.load(Ordering::Relaxed) {
            continue;
        }
        let hashes = whole.update_with(
            &job.data,
            job.atoms.iter().map(|a| &job.data[a.range.clone()]),
        );
        for (span, parent) in job.parent_spans {
            if parents.len() <= parent {
                parents.resize_with(parent + 1, Sha256::new);
            }
            parents[parent].update(&job.data[span]);
        }
        let atoms = job.atoms.into_iter().zip(hashes).collect();
        // The workers outlive this thread: the channel is open.
        let _ = hashed.send(HashedJob {
            data: job.data,
            atoms,
        });
    }
    let parents = parents
        .into_iter()
        .map(|h| AtomHash(h.finalize().into()))
        .collect();
    (whole.finish(), parents)
}

/// The file's bytes from `start` on: read in blocks of several mebibytes, handed out from
/// the front as shared slices. A block goes back to the window's pool when the last job
/// holding part of it is done, so a file of any size is read through a few blocks, with no
/// fresh memory to fault in and no zeroing per read; only the bytes not yet handed out when
/// a block runs short (less than the chunker's maximum) are copied into the next one.
struct Window<'a> {
    source: &'a dyn Source,
    progress: Option<&'a AtomicU64>,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The file's bytes `start..start + block.len()`, not yet handed out.
    block: Bytes,
    start: u64,
}

/// A block's buffer and how much of it holds file bytes.
struct Block {
    buf: Vec<u8>,
    len: usize,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for Block {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // Blocks enlarged for one large atom are not kept.
        if self.buf.len() == WINDOW_BLOCK {
            self.pool.lock().push(std::mem::take(&mut self.buf));
        }
    }
}

impl<'a> Window<'a> {
    fn new(source: &'a dyn Source, progress: Option<&'a AtomicU64>) -> Window<'a> {
        Window {
            source,
            progress,
            pool: Arc::default(),
            block: Bytes::new(),
            start: 0,
        }
    }

    fn end(&self) -> u64 {
        self.start + self.block.len() as u64
    }

    /// Makes the window reach `until`, reading a new block if it does not already.
    fn fill_to(&mut self, until: u64) -> Result<()> {
        let end = self.end();
        if end >= until {
            return Ok(());
        }
        let kept = self.block.len();
        let size = ((until - self.start) as usize).max(WINDOW_BLOCK);
        let pooled = (size == WINDOW_BLOCK)
            .then(|| self.pool.lock().pop())
            .flatten();
        let mut buf = pooled.unwrap_or_else(|| vec![0; size]);
        buf[..kept].copy_from_slice(&self.block);
        let read = ((size - kept) as u64).min(self.source.len().saturating_sub(end)) as usize;
        let io = |e: std::io::Error| Error::Io {
            path: "the file being added".into(),
            source: e,
        };
        if end + (read as u64) < until {
            return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        self.source
            .read_at(end, &mut buf[kept..kept + read])
            .map_err(io)?;
        if let Some(progress) = self.progress {
            progress.fetch_add(read as u64, Ordering::Relaxed);
        }
        self.block = Bytes::from_owner(Block {
            buf,
            len: kept + read,
            pool: Arc::clone(&self.pool),
        });
        Ok(())
    }

    /// The bytes `from..to` of the file, which the window must hold.
    fn slice(&self, from: u64, to: u64) -> &[u8] {
        &self.block[(from - self.start) as usize..(to - self.start) as usize]
    }

    /// Hands out the bytes from the window's start up to `to`.
    fn take(&mut self, to: u64) -> Bytes {
        let len = (to - self.start) as usize;
        self.start = to;
        self.block.split_to(len)
    }
}

/// The reading thread: the plan's pieces to atoms, gathered into jobs, in order.
struct Reader<'a> {
    window: Window<'a>,
    context: &'a Context<'a>,
    jobs: mpsc::SyncSender<Job>,
    /// Set when a worker failed: stop reading.
    failed: &'a AtomicBool,
    /// Atoms cut and not yet sent; their ranges are relative to the window's start, where
    /// the first of them begins.
    pending: Vec<AtomJob>,
    parent_spans: Vec<(Range<usize>, usize)>,
    parents: Vec<Parent>,
    seq: usize,
}

impl<'a> Reader<'a> {
    fn new(
        source: &'a dyn Source,
        context: &'a Context<'a>,
        jobs: mpsc::SyncSender<Job>,
        failed: &'a AtomicBool,
    ) -> Reader<'a> {
        Reader {
            window: Window::new(source, context.progress),
            context,
            jobs,
            failed,
            pending: Vec::new(),
            parent_spans: Vec::new(),
            parents: Vec::new(),
            seq: 0,
        }
    }

    /// Cuts and sends every piece; returns the cut typed pieces, their hashes still to come
    /// from the hashing thread. Dropping the reader closes the channels.
    fn read(mut self, plan: &Plan) -> Result<Vec<Parent>> {
        let max_chunk = self.context.chunker.sizes().max as u64;
        for piece in &plan.pieces {
            let end = piece.offset + piece.len;
            if piece.atom_type != AtomType::Raw && piece.len <= self.context.max_atom_size {
                self.window.fill_to(end)?;
                self.push(piece, piece.offset, piece.len, None)?;
                continue;
            }
            // Content-defined chunks of the piece. A typed piece so cut becomes a parent.
            let parent = (piece.atom_type != AtomType::Raw).then(|| {
                self.parents.push(Parent {
                    hash: AtomHash([0; 32]),
                    atom_type: piece.atom_type,
                    size: piece.len,
                    label: piece.label.clone(),
                    children: Vec::new(),
                });
                self.parents.len() - 1
            });
            let mut at = piece.offset;
            while at < end {
                // The chunker needs a maximum chunk ahead, unless the piece ends sooner.
                let ahead = (at + max_chunk).min(end);
                self.window.fill_to(ahead)?;
                let len = self.context.chunker.cut(self.window.slice(at, ahead)) as u64;
                self.push(piece, at, len, parent)?;
                at += len;
            }
        }
        self.send()?;
        Ok(self.parents)
    }

    /// Adds the atom `offset..offset + len` of `piece` to the pending job, and sends the job
    /// when it is full.
    fn push(&mut self, piece: &Piece, offset: u64, len: u64, parent: Option<usize>) -> Result<()> {
        let start = (offset - self.window.start) as usize;
        let range = start..start + len as usize;
        if let Some(parent) = parent {
            match self.parent_spans.last_mut() {
                Some((span, p)) if *p == parent && span.end == start => span.end = range.end,
                _ => self.parent_spans.push((range.clone(), parent)),
            }
        }
        self.pending.push(AtomJob {
            seq: self.seq,
            offset,
            range,
            atom_type: piece.atom_type,
            refine_h264: piece.refine_h264,
            label: piece.label.clone(),
            parent,
        });
        self.seq += 1;
        let pending_bytes = start + len as usize;
        if pending_bytes >= JOB_BYTES || self.pending.len() >= JOB_ATOMS {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the pending atoms as one job to the hashing thread.
    fn send(&mut self) -> Result<()> {
        let Some(last) = self.pending.last() else {
            return Ok(());
        };
        if self.failed.load(Ordering::Relaxed) {
            return Err(Error::Backend("stopped: a worker failed".into()));
        }
        let data = self.window.take(last.offset + last.range.len() as u64);
        self.jobs
            .send(Job {
                data,
                atoms: std::mem::take(&mut self.pending),
                parent_spans: std::mem::take(&mut self.parent_spans),
            })
            .map_err(|_| Error::Backend("the hashing thread stopped".into()))
    }
}

/// A worker's part for one atom: type it, and store it if the index does not have it.
fn store_atom(
    data: &[u8],
    atom: AtomJob,
    hash: AtomHash,
    context: &Context<'_>,
    claimed: &Mutex<HashSet<AtomHash>>,
) -> Result<Done> {
    let data = &data[atom.range];
    let atom_type = match atom.refine_h264 {
        Some(nal_length) => h264_frame_type(data, nal_length),
        None => atom.atom_type,
    };
    let known = context.index.contains(&atom_key(&hash))?;
    let stored = if !known && claimed.lock().insert(hash) {
        let encoded = compress::encode(data, atom_type, context.compression);
        context.backend.put(&hash, &encoded)?;
        Some((encoded.len() as u64, atom.label))
    } else {
        None
    };
    Ok(Done {
        seq: atom.seq,
        reference: ContentRef {
            hash,
            atom_type,
            offset: atom.offset,
            size: data.len() as u64,
        },
        parent: atom.parent,
        stored,
    })
}
