//! Ingestion: a file's bytes, read once in order, cut into atoms, hashed, deduplicated,
//! compressed and written to the backend, on every core.
//!
//! The reading thread walks the plan's pieces: a piece of a known type up to the maximum atom
//! size is one atom; Raw pieces, and typed pieces over the maximum, are cut by content-defined
//! chunking (a typed piece so cut becomes a parent atom whose children are the chunks, and
//! the reader hashes it whole). The reader also hashes the whole file. Atoms go through a
//! bounded channel to worker threads that hash them, look them up in the index (the bloom
//! filter answers most "new atom" questions without I/O), and store the new ones. Memory is
//! bounded by the channel: a few atoms per worker, each at most the maximum atom size.
//!
//! Nothing here touches the index's records: the caller commits the manifest and reference
//! counts in one batch once every new atom is durable in the backend, so a crash leaves
//! either a complete file or, at worst, atoms no manifest names (which gc sweeps).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::atom::{AtomHash, AtomType};
use crate::backend::Backend;
use crate::compress::{self, Compression};
use crate::error::{Error, Result};
use crate::records::{atom_key, ContentRef};
use crate::split::cdc::Chunker;
use crate::split::mp4::h264_frame_type;
use crate::split::{Piece, Plan, Source};

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

struct Job {
    seq: usize,
    offset: u64,
    data: Arc<[u8]>,
    atom_type: AtomType,
    refine_h264: Option<u8>,
    label: String,
    /// Index into the parents, for chunks of a cut typed piece.
    parent: Option<usize>,
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
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers * 2);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Result<Done>>();
    // Atoms some worker of this ingestion has claimed to store: the same bytes twice in one
    // file are stored once.
    let claimed = Mutex::new(HashSet::new());

    // The whole file's hash (and the hashes of cut typed pieces) are computed by a thread of
    // their own from the atoms' bytes in order, so the reader only reads and cuts.
    let (hash_tx, hash_rx) = mpsc::sync_channel::<(Arc<[u8]>, Option<usize>)>(16);

    let (read, hashed, results) = std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let (job_rx, claimed) = (&job_rx, &claimed);
            scope.spawn(move || loop {
                let job = job_rx.lock().recv();
                let Ok(job) = job else { return };
                if done_tx.send(store_atom(job, context, claimed)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let hasher = scope.spawn(move || {
            let mut whole = Sha256::new();
            let mut parents: Vec<Sha256> = Vec::new();
            for (data, parent) in hash_rx {
                whole.update(&data);
                if let Some(i) = parent {
                    if parents.len() <= i {
                        parents.resize_with(i + 1, Sha256::new);
                    }
                    parents[i].update(&data);
                }
            }
            let parents: Vec<AtomHash> = parents
                .into_iter()
                .map(|h| AtomHash(h.finalize().into()))
                .collect();
            (AtomHash(whole.finalize().into()), parents)
        });
        let read = read_pieces(source, plan, context, &job_tx, &hash_tx);
        drop(job_tx);
        drop(hash_tx);
        let results: Vec<Result<Done>> = done_rx.iter().collect();
        let hashed = hasher
            .join()
            .map_err(|_| Error::Backend("the hashing thread failed".into()));
        (read, hashed, results)
    });
    let mut parents = read?;
    let (sha256, parent_hashes) = hashed?;
    for (parent, hash) in parents.iter_mut().zip(parent_hashes) {
        parent.hash = hash;
    }
    let mut done = results.into_iter().collect::<Result<Vec<Done>>>()?;
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

/// The reading thread: pieces to jobs, in order, each also sent to the hashing thread.
fn read_pieces(
    source: &dyn Source,
    plan: &Plan,
    context: &Context<'_>,
    jobs: &mpsc::SyncSender<Job>,
    hashes: &mpsc::SyncSender<(Arc<[u8]>, Option<usize>)>,
) -> Result<Vec<Parent>> {
    let io = |e: std::io::Error| Error::Io {
        path: "the file being added".into(),
        source: e,
    };
    let stopped = || Error::Backend("a worker stopped".into());
    let send = |job: Job| -> Result<()> {
        hashes
            .send((Arc::clone(&job.data), job.parent))
            .map_err(|_| stopped())?;
        jobs.send(job).map_err(|_| stopped())
    };
    let mut parents = Vec::new();
    let mut seq = 0;
    let max_chunk = context.chunker.sizes().max;
    let mut buffer: Vec<u8> = Vec::new();
    for piece in &plan.pieces {
        let cut = piece.atom_type == AtomType::Raw || piece.len > context.max_atom_size;
        if !cut {
            let mut data = vec![0u8; piece.len as usize];
            source.read_at(piece.offset, &mut data).map_err(io)?;
            report(context, piece.len);
            send(job(seq, piece, piece.offset, data.into(), None))?;
            seq += 1;
            continue;
        }
        // Content-defined chunks of the piece, read a block at a time. A typed piece so cut
        // becomes a parent; the hashing thread computes its hash.
        let parent = (piece.atom_type != AtomType::Raw).then(|| {
            parents.push(Parent {
                hash: AtomHash([0; 32]),
                atom_type: piece.atom_type,
                size: piece.len,
                label: piece.label.clone(),
                children: Vec::new(),
            });
            parents.len() - 1
        });
        let block = (4 * max_chunk).max(1 << 20);
        let (mut read_to, end) = (piece.offset, piece.offset + piece.len);
        let mut chunk_start = piece.offset;
        // `buffer[..filled]` holds bytes read and not yet cut. Its size is fixed once, so
        // reads go straight into it, with no zeroing or growth per block.
        buffer.resize(block + max_chunk, 0);
        let mut filled = 0;
        loop {
            // Keep at least one maximum chunk ahead, unless the piece ends sooner.
            if filled < max_chunk && read_to < end {
                let n = (end - read_to).min(block as u64) as usize;
                source
                    .read_at(read_to, &mut buffer[filled..filled + n])
                    .map_err(io)?;
                filled += n;
                read_to += n as u64;
                report(context, n as u64);
            }
            if filled == 0 {
                break;
            }
            // Cut every chunk the buffer holds whole, then move what is left to the front.
            let mut start = 0;
            while filled - start >= max_chunk || (read_to == end && start < filled) {
                let len = context.chunker.cut(&buffer[start..filled]);
                let data: Arc<[u8]> = Arc::from(&buffer[start..start + len]);
                send(job(seq, piece, chunk_start, data, parent))?;
                seq += 1;
                chunk_start += len as u64;
                start += len;
            }
            buffer.copy_within(start..filled, 0);
            filled -= start;
        }
    }
    Ok(parents)
}

fn report(context: &Context<'_>, bytes: u64) {
    if let Some(progress) = context.progress {
        progress.fetch_add(bytes, Ordering::Relaxed);
    }
}

fn job(seq: usize, piece: &Piece, offset: u64, data: Arc<[u8]>, parent: Option<usize>) -> Job {
    Job {
        seq,
        offset,
        data,
        atom_type: piece.atom_type,
        refine_h264: piece.refine_h264,
        label: piece.label.clone(),
        parent,
    }
}

/// A worker's part: hash, type, and store the atom if the index does not have it.
fn store_atom(job: Job, context: &Context<'_>, claimed: &Mutex<HashSet<AtomHash>>) -> Result<Done> {
    let hash = AtomHash(Sha256::digest(&job.data).into());
    let atom_type = match job.refine_h264 {
        Some(nal_length) => h264_frame_type(&job.data, nal_length),
        None => job.atom_type,
    };
    let known = context.index.contains(&atom_key(&hash))?;
    let stored = if !known && claimed.lock().insert(hash) {
        let encoded = compress::encode(&job.data, atom_type, context.compression);
        context.backend.put(&hash, &encoded)?;
        Some((encoded.len() as u64, job.label))
    } else {
        None
    };
    Ok(Done {
        seq: job.seq,
        reference: ContentRef {
            hash,
            atom_type,
            offset: job.offset,
            size: job.data.len() as u64,
        },
        parent: job.parent,
        stored,
    })
}
