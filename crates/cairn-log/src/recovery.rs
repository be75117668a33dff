//! Opening a store: creating a new one, or recovering an existing one from its last
//! checkpoint and its WAL.
//!
//! A directory without `metadata.meta` is a new store only if it holds no data: `create`
//! writes the metadata last, so an interrupted create leaves only empty files (a segment with
//! no record, a WAL with no frame), but a store whose metadata was lost still has its
//! segments and WAL, and opening it as new would truncate them. That is refused with
//! [`Error::Missing`], as is a store whose active WAL is gone (its writes since the last
//! checkpoint would be lost, and the fuzzy index checkpoint may point at their records).
//! Nothing is written before every check has passed.
//!
//! Recovery, in order:
//! 1. take the lock file; read `metadata.meta`, the index and bloom checkpoints;
//! 2. read every WAL file (numbered ones, then the active one, whose torn tail is cut) and keep
//!    the frames from the checkpoint LSN on;
//! 3. open the segments the checkpoint lists (the one that was active with the length it had
//!    then); recreate from scratch any segment that replay will fill (those started after the
//!    checkpoint); open any other segment file that is sealed and valid as a wholly dead segment
//!    (a compaction output or a compacted segment from an interrupted checkpoint: compaction
//!    moves whatever the index still points to in it and deletes it); delete the rest;
//! 4. replay pass 1: copy each frame's records to the places the frame names; then check
//!    that every entry of the index checkpoint points inside its segment (one that does not
//!    means WAL frames are missing);
//! 5. replay pass 2: apply each frame's ops to index and bloom filter, in LSN order;
//! 6. seal the segments replay filled, except the last, which becomes the active one;
//! 7. checkpoint if the WAL holds more than the replay budget (`Options::replay_budget_bytes`)
//!    or sealed WAL files remain; a smaller WAL stays in place for the next open to replay
//!    again, which is the same work as this replay and less than a checkpoint.
//!
//! Pass 2 runs after pass 1 because the (fuzzy) index checkpoint may already point at records
//! of later frames, and comparing keys needs those records in place.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::bloom::Bloom;
use crate::cache::Cache;
use crate::error::{Error, IoContext, Result};
use crate::hash::{HashSeed, KeyHasher};
use crate::index::{Entry, Index};
use crate::layout::Layout;
use crate::meta::{write_atomically, Meta, SegmentMeta};
use crate::options::Options;
use crate::persist;
use crate::segment::{self, Segment, HEADER_LEN};
use crate::store::{now_ms, Inner, Maintenance, Writer};
use crate::table::SegmentTable;
use crate::wal::{Frame, Wal, WalFileContents, CLEAR_SEGMENT};

/// The WAL frames to replay, each with the file it was read from.
type Frames<'w> = Vec<(&'w WalFileContents, Frame<'w>)>;

/// The segments recovery opened, and what it learnt doing so.
struct OpenedSegments {
    segments: BTreeMap<u32, Arc<Segment>>,
    /// Segments the checkpoint lists, with their lengths then.
    listed: BTreeMap<u32, SegmentMeta>,
    /// Segments replay writes records into.
    replay_targets: BTreeSet<u32>,
    /// The highest segment id seen.
    max_id: u32,
    /// Whether invalid unlisted segment files were deleted.
    removed: bool,
}

/// Opens (creating or recovering) the store in `dir`: the steps of the module doc, one
/// function each.
pub(crate) fn open(dir: &Path, options: Options) -> Result<Inner> {
    let layout = Layout::new(dir, options.fs.clone());
    for d in [
        &layout.root,
        &layout.segments,
        &layout.index_dir,
        &layout.wal,
    ] {
        layout.fs.create_dir_all(d).at(d)?;
    }
    let lock = take_lock(&layout)?;
    let (meta, index, bloom) = read_checkpoint(&layout, &options)?;
    let (wal_files, active_valid_len) = read_wal(&layout)?;
    let frames = frames_to_replay(&wal_files, meta.checkpoint_lsn)?;
    let mut opened = open_segments(&layout, &meta, &frames, &options)?;
    let last_placed = place_records(&layout, &meta, &frames, &options, &mut opened)?;
    check_index_within_segments(&index, &opened.segments, &layout)?;
    let active = seal_filled(&layout, &meta, &frames, &opened, last_placed)?;

    let last_lsn = frames
        .last()
        .map_or(meta.checkpoint_lsn - 1, |(_, f)| f.lsn);
    let wal = Wal::open(
        &layout.fs,
        &layout.wal,
        active_valid_len,
        last_lsn,
        options.durability,
    )?;
    let bloom = if bloom.layers() > 1
        || bloom.inserted() > 2 * index.len() as u64 + options.bloom_initial_capacity
    {
        rebuild_bloom(&index, &options)
    } else {
        bloom
    };
    let inner = Inner {
        hasher: KeyHasher::new(meta.seed),
        meta_seed: meta.seed,
        created_ms: meta.created_ms,
        index,
        bloom,
        cache: Cache::new(options.cache_bytes),
        segments: SegmentTable::new(opened.segments),
        writer: Mutex::new(Writer {
            active,
            next_lsn: last_lsn + 1,
            next_segment_id: meta.next_segment_id.max(opened.max_id + 1),
            frame: Vec::new(),
            tombstone: Vec::new(),
        }),
        wal,
        maintenance: Mutex::new(Maintenance::default()),
        bloom_false_positives: AtomicU64::new(0),
        checkpoints: AtomicU64::new(0),
        compactions: AtomicU64::new(0),
        closed: AtomicBool::new(false),
        stop: Mutex::new(false),
        stop_signal: Condvar::new(),
        _lock: lock,
        layout,
        options,
    };
    apply_ops(&inner, &frames);
    drop(frames);
    drop(wal_files);
    crate::maintenance::come_to_rest(&inner)?;
    Ok(inner)
}

/// Step 1: the metadata (a new store's, when the directory holds none and no data), and the
/// index and bloom filter checkpoints. Refuses a store whose metadata or active WAL is gone.
fn read_checkpoint(layout: &Layout, options: &Options) -> Result<(Meta, Index, Bloom)> {
    if !layout.meta().exists() {
        if let Some(evidence) = data_evidence(layout)? {
            return Err(Error::Missing {
                file: layout.meta(),
                why: format!("{} holds data", evidence.display()),
            });
        }
        create(layout, options)?;
    }
    let meta = Meta::read(&layout.meta())?;
    if !layout.active_wal().exists() && Wal::sealed_files(&layout.wal)?.is_empty() {
        // Only a crash inside `Wal::rotate` leaves no active file, and then the sealed one
        // it renamed is there.
        return Err(Error::Missing {
            file: layout.active_wal(),
            why: "the writes since the last checkpoint are logged there".into(),
        });
    }
    let (index, index_lsn) = persist::read_snapshot(&layout.index())?;
    if index_lsn < meta.checkpoint_lsn {
        return Err(Error::corrupt(
            layout.index(),
            16,
            format!(
                "index checkpoint LSN {index_lsn} is older than the metadata's {}",
                meta.checkpoint_lsn
            ),
        ));
    }
    let bloom_bytes = std::fs::read(layout.bloom()).at(&layout.bloom())?;
    let bloom = Bloom::decode(&bloom_bytes)
        .map_err(|(at, what)| Error::corrupt(layout.bloom(), at, what))?;
    Ok((meta, index, bloom))
}

/// Step 2: every WAL file, numbered ones first, then the active one (its torn tail noted);
/// returns them and the valid length of the active one.
fn read_wal(layout: &Layout) -> Result<(Vec<WalFileContents>, Option<usize>)> {
    let mut wal_files = Vec::new();
    for path in Wal::sealed_files(&layout.wal)? {
        wal_files.push(WalFileContents::read(&path, false)?);
    }
    let active_wal = if layout.active_wal().exists() {
        Some(WalFileContents::read(&layout.active_wal(), true)?)
    } else {
        None
    };
    let active_valid_len = active_wal.as_ref().map(|c| c.valid_len);
    if let Some(c) = active_wal {
        if c.has_torn_tail() {
            tracing::warn!(
                "cutting a torn WAL tail at offset {} of {}",
                c.valid_len,
                c.path.display()
            );
        }
        wal_files.push(c);
    }
    Ok((wal_files, active_valid_len))
}

/// Step 2 (continued): the frames from the checkpoint LSN on, which must follow it without
/// a gap.
fn frames_to_replay(wal_files: &[WalFileContents], checkpoint_lsn: u64) -> Result<Frames<'_>> {
    let frames: Frames<'_> = wal_files
        .iter()
        .flat_map(|f| f.frames().map(move |frame| (f, frame)))
        .filter(|(_, frame)| frame.lsn >= checkpoint_lsn)
        .collect();
    if let Some((file, first)) = frames.first() {
        if first.lsn != checkpoint_lsn {
            return Err(Error::corrupt(
                &file.path,
                0,
                format!(
                    "WAL resumes at LSN {}, the checkpoint needs {checkpoint_lsn}",
                    first.lsn
                ),
            ));
        }
    }
    for pair in frames.windows(2) {
        if pair[1].1.lsn != pair[0].1.lsn + 1 {
            return Err(Error::corrupt(
                &pair[1].0.path,
                0,
                format!("WAL skips from LSN {} to {}", pair[0].1.lsn, pair[1].1.lsn),
            ));
        }
    }
    Ok(frames)
}

/// Step 3: the segments the checkpoint lists; other valid sealed segment files as wholly
/// dead (compaction outputs); invalid ones not to be replayed into are deleted.
fn open_segments(
    layout: &Layout,
    meta: &Meta,
    frames: &Frames<'_>,
    options: &Options,
) -> Result<OpenedSegments> {
    let listed: BTreeMap<u32, SegmentMeta> = meta.segments.iter().map(|s| (s.id, *s)).collect();
    let replay_targets: BTreeSet<u32> = frames
        .iter()
        .flat_map(|(_, f)| f.ops.iter().map(|op| op.segment))
        .filter(|&id| is_placed(id))
        .collect();
    // Replay appends these bytes to a segment: the active one is mapped to hold them even
    // when it is already larger than `max_segment_size` (a store reopened with a smaller one).
    let mut replayed_bytes: BTreeMap<u32, u64> = BTreeMap::new();
    for (_, frame) in frames {
        for op in frame.ops.iter().filter(|op| is_placed(op.segment)) {
            *replayed_bytes.entry(op.segment).or_default() += op.bytes.len() as u64;
        }
    }
    let mut segments = BTreeMap::new();
    for s in listed.values() {
        let capacity = if s.id == meta.active_segment {
            let replayed = replayed_bytes.get(&s.id).copied().unwrap_or(0);
            options.max_segment_size.max(s.len + replayed)
        } else {
            0
        };
        let seg = Segment::open(&layout.fs, &layout.segments, s.id, Some(s.len), capacity)?;
        seg.set_records(s.records);
        seg.set_dead_bytes(s.dead);
        segments.insert(s.id, Arc::new(seg));
    }
    let mut max_id = meta.next_segment_id.saturating_sub(1);
    let mut removed = false;
    for entry in std::fs::read_dir(&layout.segments).at(&layout.segments)? {
        let entry = entry.at(&layout.segments)?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(segment::parse_file_name) else {
            continue;
        };
        max_id = max_id.max(id);
        if listed.contains_key(&id) || replay_targets.contains(&id) {
            continue;
        }
        match Segment::open(&layout.fs, &layout.segments, id, None, 0) {
            Ok(seg) => {
                seg.set_dead_bytes(seg.len() - HEADER_LEN);
                segments.insert(id, Arc::new(seg));
            }
            Err(_) => {
                let path = entry.path();
                layout.fs.remove_file(&path).at(&path)?;
                removed = true;
            }
        }
    }
    Ok(OpenedSegments {
        segments,
        listed,
        replay_targets,
        max_id,
        removed,
    })
}

/// Step 4, replay pass 1: each frame's records to the places it names (creating the
/// segments started after the checkpoint); returns the last segment written.
fn place_records(
    layout: &Layout,
    meta: &Meta,
    frames: &Frames<'_>,
    options: &Options,
    opened: &mut OpenedSegments,
) -> Result<Option<u32>> {
    let mut last_placed = None;
    for (file, frame) in frames {
        for op in frame.ops.iter().filter(|op| is_placed(op.segment)) {
            let seg = match opened.segments.get(&op.segment) {
                Some(seg)
                    if !opened.listed.contains_key(&op.segment)
                        || op.segment == meta.active_segment =>
                {
                    Arc::clone(seg)
                }
                Some(_) => {
                    return Err(Error::corrupt(
                        &file.path,
                        0,
                        format!(
                            "WAL frame {} writes into sealed segment {}",
                            frame.lsn, op.segment
                        ),
                    ));
                }
                None => {
                    let capacity = options
                        .max_segment_size
                        .max(HEADER_LEN + op.bytes.len() as u64);
                    let seg = Arc::new(Segment::create(
                        &layout.fs,
                        &layout.segments,
                        op.segment,
                        capacity,
                        now_ms(),
                    )?);
                    opened.segments.insert(op.segment, Arc::clone(&seg));
                    seg
                }
            };
            if seg.len() != op.offset {
                return Err(Error::corrupt(
                    &file.path,
                    0,
                    format!(
                        "WAL frame {} places a record at {} of segment {} which holds {} bytes",
                        frame.lsn,
                        op.offset,
                        op.segment,
                        seg.len()
                    ),
                ));
            }
            seg.append(op.bytes, 1)?;
            last_placed = Some(op.segment);
            opened.max_id = opened.max_id.max(op.segment);
        }
    }
    Ok(last_placed)
}

/// Step 6: seals the segments replay filled, except the last, which becomes the active one
/// (returned); makes the segment directory's new and deleted files durable.
fn seal_filled(
    layout: &Layout,
    meta: &Meta,
    frames: &Frames<'_>,
    opened: &OpenedSegments,
    last_placed: Option<u32>,
) -> Result<Arc<Segment>> {
    let active_id = last_placed.unwrap_or(meta.active_segment);
    for (id, seg) in &opened.segments {
        let filled = opened.replay_targets.contains(id);
        if *id != active_id && (filled || *id == meta.active_segment) {
            seg.seal()?;
        }
    }
    if !frames.is_empty() || opened.removed {
        segment::sync_dir(&layout.fs, &layout.segments)?;
    }
    opened
        .segments
        .get(&active_id)
        .map(Arc::clone)
        .ok_or_else(|| {
            Error::corrupt(
                layout.meta(),
                44,
                format!("active segment {active_id} is missing"),
            )
        })
}

/// Step 5, replay pass 2: each frame's ops, in LSN order, to the index and bloom filter.
fn apply_ops(inner: &Inner, frames: &Frames<'_>) {
    for (_, frame) in frames {
        for op in &frame.ops {
            let hash = op.record.hash;
            if op.segment == CLEAR_SEGMENT {
                inner.apply_clear();
            } else if op.record.is_tombstone() {
                inner.apply_delete(hash, op.record.key);
            } else {
                let old = inner.apply_put(
                    Entry {
                        hash,
                        segment: op.segment,
                        offset: op.offset,
                        size: op.bytes.len() as u32,
                        timestamp: frame.lsn,
                    },
                    op.record.key,
                );
                // The checkpointed filter may predate this key even when the (fuzzy) index
                // checkpoint already has it.
                if old.is_some() {
                    inner.bloom.insert(hash);
                }
            }
        }
    }
}

/// Whether an op of segment `id` places a record: not a delete (0), not a clear.
fn is_placed(id: u32) -> bool {
    id != 0 && id != CLEAR_SEGMENT
}

/// The first file showing that `layout` already holds a store's data, when its metadata is
/// missing: a segment other than the first, the first with a record in it, a numbered WAL
/// file, or an active WAL with a frame. An interrupted [`create`] leaves none of these.
fn data_evidence(layout: &Layout) -> Result<Option<std::path::PathBuf>> {
    for entry in std::fs::read_dir(&layout.segments).at(&layout.segments)? {
        let path = entry.at(&layout.segments)?.path();
        let id = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(segment::parse_file_name);
        match id {
            Some(1) if !first_bytes_after(&path, HEADER_LEN)? => {}
            Some(_) => return Ok(Some(path)),
            None => {}
        }
    }
    if let Some(sealed) = Wal::sealed_files(&layout.wal)?.into_iter().next() {
        return Ok(Some(sealed));
    }
    let active = layout.active_wal();
    if active.exists() && first_bytes_after(&active, crate::wal::FILE_HEADER_LEN as u64)? {
        return Ok(Some(active));
    }
    Ok(None)
}

/// Whether the file at `path` has a non-zero byte among the 8 that follow its `header` bytes:
/// the length field of a first record or frame.
fn first_bytes_after(path: &Path, header: u64) -> Result<bool> {
    let file = File::open(path).at(path)?;
    let mut first = [0u8; 8];
    let len = file.metadata().at(path)?.len();
    let n = len.saturating_sub(header).min(8) as usize;
    segment::read_exact_at(&file, &mut first[..n], header).at(path)?;
    Ok(first.iter().any(|&b| b != 0))
}

/// Checks that every entry of the index checkpoint points at bytes its segment holds, once
/// replay has put back the records of the WAL: an entry past a segment's end means frames the
/// checkpoint relied on are gone, and writing into that segment would overwrite records the
/// index still needs.
fn check_index_within_segments(
    index: &Index,
    segments: &BTreeMap<u32, Arc<Segment>>,
    layout: &Layout,
) -> Result<()> {
    let mut bad = None;
    for n in 0..crate::index::SHARDS {
        index.shard(n).for_each(|e| {
            let end = e.offset + u64::from(e.size);
            let held = segments.get(&e.segment).map(|s| s.len());
            if bad.is_none() && held.is_none_or(|len| end > len) {
                bad = Some((*e, held));
            }
        });
        if let Some((e, held)) = bad {
            let what = match held {
                Some(len) => format!(
                    "an entry points at bytes {}..{} of segment {}, which holds {len}: WAL frames are missing",
                    e.offset,
                    e.offset + u64::from(e.size),
                    e.segment
                ),
                None => format!(
                    "an entry points into segment {}, which is missing",
                    e.segment
                ),
            };
            return Err(Error::corrupt(layout.index(), 0, what));
        }
    }
    Ok(())
}

/// Takes `LOCK`, or fails with [`Error::Locked`] when another handle holds it.
pub(crate) fn take_lock(layout: &Layout) -> Result<File> {
    let path = layout.lock();
    let file = layout
        .fs
        .open(
            &path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .at(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
            dir: layout.root.clone(),
            lock: path,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

/// Writes the files of an empty store. `metadata.meta` comes last: until it exists, the
/// directory is not a store and the next open starts over.
fn create(layout: &Layout, options: &Options) -> Result<()> {
    let created_ms = now_ms();
    let seg = Segment::create(
        &layout.fs,
        &layout.segments,
        1,
        options.max_segment_size,
        created_ms,
    )?;
    drop(seg);
    segment::sync_dir(&layout.fs, &layout.segments)?;
    for path in Wal::sealed_files(&layout.wal)? {
        layout.fs.remove_file(&path).at(&path)?;
    }
    drop(Wal::open(
        &layout.fs,
        &layout.wal,
        None,
        0,
        options.durability,
    )?);
    persist::write_snapshot(&layout.fs, &Index::default(), &layout.index(), 1, || Ok(()))?;
    write_atomically(
        &layout.fs,
        &layout.bloom(),
        &Bloom::new(options.bloom_initial_capacity).encode(),
    )?;
    let meta = Meta {
        seed: HashSeed::random(),
        created_ms,
        checkpoint_lsn: 1,
        next_segment_id: 2,
        active_segment: 1,
        segments: vec![SegmentMeta {
            id: 1,
            len: HEADER_LEN,
            records: 0,
            dead: 0,
        }],
    };
    write_atomically(&layout.fs, &layout.meta(), &meta.encode())
}

/// A single right-sized layer holding every key of the index.
fn rebuild_bloom(index: &Index, options: &Options) -> Bloom {
    let bloom = Bloom::new((2 * index.len() as u64).max(options.bloom_initial_capacity));
    for n in 0..crate::index::SHARDS {
        index.shard(n).for_each(|e| bloom.insert(e.hash));
    }
    bloom
}
