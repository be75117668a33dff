//! Salvaging a damaged store: every record that can still be read is written into a new
//! store, the damaged one is kept aside untouched, and what could not be recovered is
//! reported.
//!
//! Which records are live comes, in order of trust:
//! 1. from the index checkpoint when it reads (it names the live record of every key as of
//!    its LSN): each entry's record is read from its segment, and one that fails its CRC is
//!    reported lost, with its place;
//! 2. otherwise from a scan of every segment in id order, a later record of a key replacing
//!    an earlier one. Deletes are logged only in the WAL, so a key deleted before the last
//!    checkpoint whose record compaction has not yet removed comes back: the report says so;
//! 3. then the WAL frames, in LSN order, up to the first damaged frame: puts and deletes
//!    since the checkpoint (all frames present when the metadata is lost).
//!
//! Expired records are dropped. The new store is built beside the old one
//! (`<dir>.repairing`), closed (so checkpointed), and only then swapped in: the old directory
//! is renamed to `aside`, the new one to `dir`. A crash before the swap leaves the damaged
//! store where it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::Damage;
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::meta::Meta;
use crate::options::{Durability, Options};
use crate::persist;
use crate::record::Record;
use crate::recovery::take_lock;
use crate::segment::{self, Segment};
use crate::store::{now_ms, Store};
use crate::wal::{Wal, WalFileContents, CLEAR_SEGMENT};

/// Where the live records were taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairSource {
    /// The index checkpoint, then the WAL.
    IndexCheckpoint,
    /// A scan of the segments (the index checkpoint was unreadable), then the WAL.
    SegmentScan,
}

/// What [`repair`] did.
#[derive(Debug, Clone)]
pub struct RepairReport {
    pub source: RepairSource,
    /// Where the damaged store now is, as it was found.
    pub aside: PathBuf,
    /// Keys in the repaired store.
    pub keys: u64,
    /// Records read and written to the new store (a key written twice counts twice).
    pub records: u64,
    /// WAL frames replayed.
    pub frames: u64,
    /// What could not be recovered: damaged records, unreadable ends of segments and WAL
    /// files, missing files.
    pub lost: Vec<Damage>,
    /// What the repair could not tell (see [`RepairSource::SegmentScan`]).
    pub caveats: Vec<String>,
}

/// Repairs the store in `dir` (see the module doc), moving the damaged one to `aside`
/// (which must not exist, and must be on the same file system).
pub fn repair(dir: &Path, aside: &Path) -> Result<RepairReport> {
    if aside.exists() {
        return Err(Error::io(
            aside,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
        ));
    }
    let layout = Layout::new(dir, cairn_fs::Fs::os());
    let lock = take_lock(&layout)?;
    let building = dir.with_extension("repairing");
    if building.exists() {
        // What an interrupted repair left: it was never swapped in.
        std::fs::remove_dir_all(&building).at(&building)?;
    }
    let options = Options {
        durability: Durability::No,
        background_maintenance: false,
        ..Options::default()
    };
    let target = Store::open(&building, options)?;
    let mut salvage = Salvage {
        target: &target,
        now: now_ms(),
        records: 0,
        lost: Vec::new(),
        value: Vec::new(),
    };
    let meta = Meta::read(&layout.meta()).map_err(|e| salvage.lose(e)).ok();
    let segments = open_segments(&layout, meta.as_ref(), &mut salvage)?;
    let mut past_ends = Vec::new();
    let source = match persist::read_snapshot(&layout.index()) {
        Ok((index, _)) => {
            past_ends = salvage.take_indexed(&index, &segments)?;
            RepairSource::IndexCheckpoint
        }
        Err(e) => {
            salvage.lose(e);
            salvage.take_scanned(&segments)?;
            RepairSource::SegmentScan
        }
    };
    let checkpoint_lsn = meta.as_ref().map_or(0, |m| m.checkpoint_lsn);
    let (frames, placed) = salvage.replay_wal(&layout, checkpoint_lsn)?;
    for e in past_ends {
        if !placed.contains(&(e.segment, e.offset)) {
            salvage.lose(Error::corrupt(
                layout.segments.join(segment::file_name(e.segment)),
                e.offset,
                "the index names a record past the segment's end that no WAL frame holds",
            ));
        }
    }
    let (records, lost) = (salvage.records, salvage.lost);
    let keys = target.stats().live_keys;
    // Checkpointed, so that opening the repaired store replays nothing.
    target.checkpoint()?;
    target.close()?;
    drop(segments);
    drop(lock);
    std::fs::rename(dir, aside).at(aside)?;
    std::fs::rename(&building, dir).at(dir)?;
    let mut caveats = Vec::new();
    if source == RepairSource::SegmentScan {
        caveats.push(
            "the index checkpoint was unreadable, so live records were found by scanning the \
             segments: keys deleted before the last checkpoint whose records were not yet \
             compacted away are back"
                .to_string(),
        );
    }
    Ok(RepairReport {
        source,
        aside: aside.to_path_buf(),
        keys,
        records,
        frames,
        lost,
        caveats,
    })
}

/// Opens every segment file that opens, each read to the length the metadata gives it (or
/// its header's, or as far as its records are valid for an active segment the metadata
/// does not list).
fn open_segments(
    layout: &Layout,
    meta: Option<&Meta>,
    salvage: &mut Salvage<'_>,
) -> Result<BTreeMap<u32, Segment>> {
    let listed: BTreeMap<u32, u64> = meta
        .map(|m| m.segments.iter().map(|s| (s.id, s.len)).collect())
        .unwrap_or_default();
    let mut segments = BTreeMap::new();
    for entry in std::fs::read_dir(&layout.segments).at(&layout.segments)? {
        let entry = entry.at(&layout.segments)?;
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(segment::parse_file_name)
        else {
            continue;
        };
        let opened = match listed.get(&id) {
            Some(&len) => Segment::open(&layout.fs, &layout.segments, id, Some(len), 0),
            None => match Segment::open(&layout.fs, &layout.segments, id, None, 0) {
                // Its header says nothing of its length while it is active: take the valid
                // records from its start.
                Ok(seg) if seg.len() == segment::HEADER_LEN => {
                    let len = valid_prefix(&entry.path())?;
                    drop(seg);
                    Segment::open(&layout.fs, &layout.segments, id, Some(len), 0)
                }
                other => other,
            },
        };
        match opened {
            Ok(seg) => {
                segments.insert(id, seg);
            }
            Err(e) => {
                salvage.lose(e);
            }
        }
    }
    if let Some(meta) = meta {
        for s in &meta.segments {
            if !segments.contains_key(&s.id)
                && !layout.segments.join(segment::file_name(s.id)).exists()
            {
                salvage.lose(Error::Missing {
                    file: layout.segments.join(segment::file_name(s.id)),
                    why: "the metadata lists it".into(),
                });
            }
        }
    }
    Ok(segments)
}

/// The length of the valid records at the start of the segment file at `path`, header
/// included.
fn valid_prefix(path: &Path) -> Result<u64> {
    let bytes = std::fs::read(path).at(path)?;
    let mut at = segment::HEADER_LEN as usize;
    while let Some(Ok((_, len))) = bytes.get(at..).map(Record::parse) {
        at += len;
    }
    Ok(at.min(bytes.len()) as u64)
}

/// The records recovered so far, written to the new store as they are found.
struct Salvage<'a> {
    target: &'a Store,
    now: u64,
    records: u64,
    lost: Vec<Damage>,
    /// Reused to decompress values.
    value: Vec<u8>,
}

impl Salvage<'_> {
    /// Notes what was lost.
    fn lose(&mut self, error: Error) {
        self.lost.push(Damage::from(error));
    }

    /// Writes `record` (a put or a delete) to the new store; a record whose value does not
    /// decode is lost.
    fn apply(&mut self, record: &Record<'_>, file: &Path, offset: u64) -> Result<()> {
        if record.is_tombstone() {
            self.target.delete(record.key)?;
            return Ok(());
        }
        if record.is_expired(self.now) {
            self.target.delete(record.key)?;
            return Ok(());
        }
        self.value.clear();
        if let Err(why) = record.value_into(&mut self.value) {
            self.lose(Error::corrupt(file, offset, why.to_string()));
            return Ok(());
        }
        let expires_at = (record.expires_at != 0).then_some(record.expires_at);
        self.target.put(record.key, &self.value, expires_at)?;
        self.records += 1;
        Ok(())
    }

    /// The live records the index checkpoint names; returns the entries that point past
    /// their segment's end, whose records only the WAL can bring.
    fn take_indexed(
        &mut self,
        index: &crate::index::Index,
        segments: &BTreeMap<u32, Segment>,
    ) -> Result<Vec<crate::index::Entry>> {
        let mut past_ends = Vec::new();
        let mut places = Vec::with_capacity(index.len());
        for n in 0..crate::index::SHARDS {
            index.shard(n).for_each(|e| places.push(*e));
        }
        // In place order: segments are read front to back.
        places.sort_unstable_by_key(|e| (e.segment, e.offset));
        for e in places {
            let Some(seg) = segments.get(&e.segment) else {
                // A segment that failed to open was reported then.
                continue;
            };
            if e.offset + u64::from(e.size) > seg.len() {
                past_ends.push(e);
                continue;
            }
            match seg.record(e.offset, u64::from(e.size)) {
                Ok(rec) if rec.hash == e.hash => self.apply(&rec, seg.path(), e.offset)?,
                Ok(_) => self.lose(Error::corrupt(
                    seg.path(),
                    e.offset,
                    "the record the index names is of another key",
                )),
                Err(error) => self.lose(error),
            }
        }
        Ok(past_ends)
    }

    /// Every valid record of every segment, in id and offset order.
    fn take_scanned(&mut self, segments: &BTreeMap<u32, Segment>) -> Result<()> {
        for seg in segments.values() {
            for item in seg.iter() {
                match item {
                    Ok((offset, rec, _)) => self.apply(&rec, seg.path(), offset)?,
                    Err(Error::Corrupt { file, offset, what }) => {
                        let what = format!(
                            "{what}; the {} bytes after it cannot be read in order",
                            seg.len().saturating_sub(offset)
                        );
                        self.lost.push(Damage { file, offset, what });
                    }
                    Err(other) => self.lose(other),
                }
            }
        }
        Ok(())
    }

    /// Replays the WAL frames from `checkpoint_lsn` on, up to the first damaged one; returns
    /// how many it replayed and the segment places their records were logged for.
    fn replay_wal(
        &mut self,
        layout: &Layout,
        checkpoint_lsn: u64,
    ) -> Result<(u64, std::collections::HashSet<(u32, u64)>)> {
        let mut placed = std::collections::HashSet::new();
        let mut replayed = 0;
        for (path, active) in Wal::files_in_order(&layout.wal)? {
            let (contents, damage) = WalFileContents::read_up_to_damage(&path, active)?;
            for frame in contents.frames().filter(|f| f.lsn >= checkpoint_lsn) {
                for op in &frame.ops {
                    if op.segment == CLEAR_SEGMENT {
                        let _ = self.target.clear()?;
                        continue;
                    }
                    self.apply(&op.record, &path, 0)?;
                    placed.insert((op.segment, op.offset));
                }
                replayed += 1;
            }
            if let Some(damage) = damage {
                // Later frames cannot be trusted to follow the damaged one in order.
                self.lose(damage);
                self.lost.push(Damage {
                    file: path,
                    offset: contents.valid_len as u64,
                    what: "frames after this point, and in later WAL files, were not replayed"
                        .into(),
                });
                break;
            }
        }
        Ok((replayed, placed))
    }
}
