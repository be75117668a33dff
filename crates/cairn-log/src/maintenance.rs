//! Checkpoints and compaction, and the background thread that runs them.
//!
//! # Checkpoint
//! 1. Under the writer lock (a moment): rotate the WAL, note the checkpoint LSN `L` (the next
//!    LSN to be written) and every segment with its length at `L`.
//! 2. Fsync every segment written since the last checkpoint (the one active at `L`, those
//!    sealed since, compaction's outputs): sealing does not fsync, so that a roll never stalls
//!    the writer; until this step the WAL holds their records.
//! 3. Write the index and bloom filter snapshots while writers go on (fuzzy; see persist.rs).
//! 4. Fsync the WAL: every write the snapshots may contain is now durable in the WAL, so replay
//!    from `L` will put each record they point to back in place. The index snapshot is
//!    installed (renamed into place) only after this fsync: installed before it, a crash
//!    could leave it pointing at records of writes whose frames were still buffered, and
//!    lost (recovery refuses such an index).
//! 5. Replace `metadata.meta` (the commit point), then delete the WAL files sealed at step 1 and
//!    the segments compaction emptied before this checkpoint began.
//!
//! A crash before step 5 leaves the previous checkpoint in force; the new index snapshot may
//! already be in place, which is safe because it is at least as new as the metadata's LSN and
//! replay only assigns.
//!
//! # Compaction
//! For each sealed segment whose dead share reaches the threshold: copy the records the index
//! still points to (and that have not expired) into a new segment, seal it, publish it, then
//! move each index entry that still points at the old place (a writer may have overwritten the
//! key meanwhile; then the copy is dead). The checkpoint that follows fsyncs the new segment
//! and commits a snapshot that no longer mentions the old one, which is deleted then; until
//! that moment it stays readable. A crash at any step loses nothing: before that checkpoint
//! commits, the previous one (which points into the old segment) is in force, and the new
//! segment is wholly dead to it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{IoContext, Result};
use crate::index::Entry;
use crate::meta::{write_atomically, Meta, SegmentMeta};
use crate::persist;
use crate::segment::{self, Segment, HEADER_LEN};
use crate::store::{now_ms, Inner};
use crate::wal::Wal;

/// Runs a checkpoint (see the module doc). Skipped when nothing changed since the last one.
pub(crate) fn checkpoint(inner: &Inner) -> Result<()> {
    let done = checkpoint_steps(inner);
    // A failed fsync may have dropped dirty pages from the OS cache while marking them clean,
    // so a later checkpoint could record as durable what never reached the disk, and delete
    // the WAL that still held it: the store refuses writes until reopened (PostgreSQL's
    // PANIC on a failed fsync). Only a full disk is worth retrying, since it fails before
    // anything is written in place.
    if let Err(e) = &done {
        if !e.is_storage_full() {
            inner.wal.poison();
        }
    }
    done
}

fn checkpoint_steps(inner: &Inner) -> Result<()> {
    let mut maintenance = inner.maintenance.lock();
    let wal_files = Wal::sealed_files(&inner.layout.wal)?;
    if inner.wal.bytes_since_rotation() == 0
        && maintenance.obsolete.is_empty()
        && wal_files.is_empty()
    {
        return Ok(());
    }
    let (lsn, active, next_segment_id, segments, to_sync) = {
        let w = inner.writer.lock();
        inner.wal.rotate()?;
        let segments: Vec<SegmentMeta> = inner
            .segments
            .all()
            .values()
            .filter(|s| !maintenance.obsolete.contains(&s.id()))
            .map(|s| SegmentMeta {
                id: s.id(),
                len: s.len(),
                records: s.records(),
                dead: s.dead_bytes(),
            })
            .collect();
        let all = inner.segments.all();
        let to_sync: Vec<Arc<Segment>> = segments
            .iter()
            .filter_map(|s| all.get(&s.id))
            .filter(|s| s.needs_sync())
            .cloned()
            .collect();
        (
            w.next_lsn,
            Arc::clone(&w.active),
            w.next_segment_id,
            segments,
            to_sync,
        )
    };
    for segment in to_sync {
        segment.sync()?;
    }
    // The WAL is made durable before the snapshot is installed: the snapshot may hold
    // entries of writes whose frames were still in the WAL's buffer.
    persist::write_snapshot(
        &inner.layout.fs,
        &inner.index,
        &inner.layout.index(),
        lsn,
        || inner.wal.sync_now().map(|_| ()),
    )?;
    write_atomically(
        &inner.layout.fs,
        &inner.layout.bloom(),
        &inner.bloom.encode(),
    )?;
    inner.wal.sync_now()?;
    let meta = Meta {
        seed: inner.meta_seed,
        created_ms: inner.created_ms,
        checkpoint_lsn: lsn,
        next_segment_id,
        active_segment: active.id(),
        segments,
    };
    write_atomically(&inner.layout.fs, &inner.layout.meta(), &meta.encode())?;

    for path in Wal::sealed_files(&inner.layout.wal)? {
        inner.layout.fs.remove_file(&path).at(&path)?;
    }
    segment::sync_dir(&inner.layout.fs, &inner.layout.wal)?;
    let obsolete = std::mem::take(&mut maintenance.obsolete);
    if !obsolete.is_empty() {
        inner.segments.remove(&obsolete);
        for id in obsolete {
            let path = inner.layout.segments.join(segment::file_name(id));
            inner.layout.fs.remove_file(&path).at(&path)?;
        }
        segment::sync_dir(&inner.layout.fs, &inner.layout.segments)?;
    }
    inner.checkpoints.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Brings the store to rest, at close or at the end of recovery: a checkpoint when one is
/// worth its cost — the WAL holds more than the replay budget since the last one, sealed WAL
/// files or compacted segments wait for one — and otherwise a WAL fsync, which leaves the
/// writes since the last checkpoint for the next open to replay.
pub(crate) fn come_to_rest(inner: &Inner) -> Result<()> {
    let pending = !inner.maintenance.lock().obsolete.is_empty()
        || !Wal::sealed_files(&inner.layout.wal)?.is_empty();
    if pending || inner.wal.bytes_since_rotation() > inner.options.replay_budget_bytes {
        checkpoint(inner)
    } else {
        inner.wal.sync_now().map(drop)
    }
}

/// The sealed segments worth compacting: empty ones, and those whose dead share reaches the
/// threshold.
fn candidates(inner: &Inner) -> Vec<Arc<Segment>> {
    let active = inner.writer.lock().active.id();
    let obsolete = inner.maintenance.lock().obsolete.clone();
    inner
        .segments
        .all()
        .values()
        .filter(|s| s.id() != active && !obsolete.contains(&s.id()))
        .filter(|s| {
            let data = s.len() - HEADER_LEN;
            data == 0 || s.dead_bytes() as f64 >= inner.options.compaction_threshold * data as f64
        })
        .cloned()
        .collect()
}

/// Whether [`compact`] would find work.
pub(crate) fn has_candidates(inner: &Inner) -> bool {
    !candidates(inner).is_empty()
}

/// Compacts every candidate segment, then checkpoints; returns how many were compacted.
pub(crate) fn compact(inner: &Inner) -> Result<usize> {
    let victims = candidates(inner);
    if victims.is_empty() {
        return Ok(0);
    }
    {
        let mut maintenance = inner.maintenance.lock();
        for victim in &victims {
            compact_one(inner, victim)?;
            maintenance.obsolete.push(victim.id());
        }
    }
    inner
        .compactions
        .fetch_add(victims.len() as u64, Ordering::Relaxed);
    checkpoint(inner)?;
    Ok(victims.len())
}

/// Moves the live records of `victim` into a new segment and repoints the index at them.
fn compact_one(inner: &Inner, victim: &Segment) -> Result<()> {
    let now = now_ms();
    let mut live = Vec::new();
    let mut expired = Vec::new();
    for item in victim.iter() {
        let (offset, rec, len) = item?;
        let here = Entry {
            hash: rec.hash,
            segment: victim.id(),
            offset,
            size: len as u32,
            timestamp: 0,
        };
        let found = inner
            .index
            .read(rec.hash)
            .with_hash(rec.hash)
            .find(|e| e.same_place(&here))
            .copied();
        match found {
            Some(e) if rec.is_expired(now) => expired.push(e),
            Some(e) => live.push(e),
            None => {}
        }
    }
    if !live.is_empty() {
        let id = {
            let mut w = inner.writer.lock();
            w.next_segment_id += 1;
            w.next_segment_id - 1
        };
        let bytes: u64 = live.iter().map(|e| u64::from(e.size)).sum();
        let out = Segment::create(
            &inner.layout.fs,
            &inner.layout.segments,
            id,
            HEADER_LEN + bytes,
            now,
        )?;
        let mut moves = Vec::with_capacity(live.len());
        for e in &live {
            let rec = victim.bytes(e.offset, u64::from(e.size)).ok_or_else(|| {
                crate::Error::corrupt(victim.path(), e.offset, "record past the segment's end")
            })?;
            let offset = out.append(rec, 1)?;
            moves.push((
                *e,
                Entry {
                    segment: id,
                    offset,
                    ..*e
                },
            ));
        }
        out.seal()?;
        segment::sync_dir(&inner.layout.fs, &inner.layout.segments)?;
        let out = Arc::new(out);
        inner.segments.insert(Arc::clone(&out));
        for (from, to) in moves {
            if !inner.index.write(from.hash).relocate(&from, to) {
                out.add_dead_bytes(u64::from(to.size));
            }
        }
    }
    for e in expired {
        let removed = inner
            .index
            .write(e.hash)
            .remove::<()>(e.hash, |x| Ok(x.same_place(&e)));
        debug_assert!(removed.is_ok());
    }
    Ok(())
}

/// The background thread: checkpoints when the WAL has grown enough, compacts when a segment
/// qualifies. Returns when the store closes.
pub(crate) fn run_background(inner: &Inner) {
    loop {
        {
            let mut stop = inner.stop.lock();
            if *stop {
                return;
            }
            inner
                .stop_signal
                .wait_for(&mut stop, inner.options.maintenance_interval);
            if *stop {
                return;
            }
        }
        if inner.wal.check_poisoned().is_err() {
            return;
        }
        let result = (|| {
            if inner.wal.bytes_since_rotation() >= inner.options.checkpoint_wal_bytes {
                checkpoint(inner)?;
            }
            if has_candidates(inner) {
                compact(inner)?;
            }
            Ok::<(), crate::Error>(())
        })();
        if let Err(e) = result {
            tracing::error!(
                "background maintenance of {}: {e}",
                inner.layout.root.display()
            );
        }
    }
}
