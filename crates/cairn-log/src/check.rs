//! Checking a store without opening it: every file is read and verified, nothing is written.
//!
//! [`check`] takes the directory's lock (a store in use by a server is not checked under
//! it), then reads, each on its own so that one damaged file does not hide another:
//! `metadata.meta`; the index and bloom filter checkpoints; every WAL file, frame by frame;
//! every segment, its header and then record by record (each record's CRC); and finally every
//! index entry, which must lead to a valid record of the same key hash, either in its
//! segment or in a WAL frame that recovery would place there. What fails is reported as
//! [`Damage`] with the file and the offset, as [`Error::Corrupt`] would name it.
//!
//! A torn tail of the active WAL (a crash mid-write) is not damage: recovery cuts it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::bloom::Bloom;
use crate::error::{Error, IoContext, Result};
use crate::index::{Entry, Index};
use crate::layout::Layout;
use crate::meta::Meta;
use crate::persist;
use crate::recovery::take_lock;
use crate::segment::{self, Segment};
use crate::wal::{Wal, WalFileContents, CLEAR_SEGMENT};

/// One damaged place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: PathBuf,
    pub offset: u64,
    pub what: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at offset {}: {}",
            self.file.display(),
            self.offset,
            self.what
        )
    }
}

impl From<Error> for Damage {
    /// The place an error names (offset 0 when it names a file only).
    fn from(error: Error) -> Damage {
        let (file, offset, what) = match error {
            Error::Corrupt { file, offset, what } => (file, offset, what),
            Error::Format { file, what } => (file, 0, what),
            Error::Missing { file, why } => (file, 0, format!("missing ({why})")),
            Error::Io { file, source } => (file, 0, source.to_string()),
            other => (PathBuf::new(), 0, other.to_string()),
        };
        Damage { file, offset, what }
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Files read.
    pub files: usize,
    /// Valid records read in segments, and valid frames in WAL files.
    pub records: u64,
    pub frames: u64,
    /// Index entries that lead to a valid record.
    pub live_entries: u64,
    /// Everything damaged or missing; empty when the store is sound.
    pub damage: Vec<Damage>,
}

impl CheckReport {
    pub fn is_sound(&self) -> bool {
        self.damage.is_empty()
    }

    fn note(&mut self, error: Error) {
        let damage = Damage::from(error);
        // A damaged record is met twice: by the segment scan and by its index entry.
        if !self.damage.contains(&damage) {
            self.damage.push(damage);
        }
    }
}

/// Where a WAL frame since the checkpoint puts a record: recovery writes it there, so an
/// index entry may point at it before the segment holds it.
type Placed = HashMap<(u32, u64), (u64, u32)>;

/// Checks the store in `dir` (see the module doc). Fails only when the directory cannot be
/// read at all or is in use; damage is in the report.
pub fn check(dir: &Path) -> Result<CheckReport> {
    let layout = Layout::new(dir, cairn_fs::Fs::os());
    let _lock = take_lock(&layout)?;
    let mut report = CheckReport::default();

    let meta = read_file(&mut report, &layout.meta(), Meta::read);
    let index = read_file(&mut report, &layout.index(), persist::read_snapshot);
    read_file(&mut report, &layout.bloom(), |path| {
        let bytes = std::fs::read(path).at(path)?;
        Bloom::decode(&bytes).map_err(|(at, what)| Error::corrupt(path, at, what))
    });
    let checkpoint_lsn = meta.as_ref().map_or(0, |m| m.checkpoint_lsn);
    let placed = check_wal(&mut report, &layout, checkpoint_lsn, meta.is_some())?;
    let segments = check_segments(&mut report, &layout, meta.as_ref())?;
    if let Some((index, _)) = &index {
        check_index(&mut report, index, &segments, &placed, &layout);
    }
    Ok(report)
}

/// Reads one file with `read`, noting its damage; `None` when it could not be read.
fn read_file<T>(
    report: &mut CheckReport,
    path: &Path,
    read: impl FnOnce(&Path) -> Result<T>,
) -> Option<T> {
    report.files += 1;
    match read(path) {
        Ok(value) => Some(value),
        Err(e) => {
            report.note(e);
            None
        }
    }
}

/// Reads every WAL file frame by frame; returns where the frames since the checkpoint put
/// their records.
fn check_wal(
    report: &mut CheckReport,
    layout: &Layout,
    checkpoint_lsn: u64,
    has_meta: bool,
) -> Result<Placed> {
    let files = Wal::files_in_order(&layout.wal)?;
    if has_meta && files.is_empty() {
        report.note(Error::Missing {
            file: layout.active_wal(),
            why: "the writes since the last checkpoint are logged there".into(),
        });
    }
    let mut placed = Placed::new();
    for (path, is_active) in files {
        report.files += 1;
        let (contents, damage) = WalFileContents::read_up_to_damage(&path, is_active)?;
        if let Some(damage) = damage {
            report.note(damage);
        }
        for frame in contents.frames() {
            report.frames += 1;
            if frame.lsn < checkpoint_lsn {
                continue;
            }
            for op in frame
                .ops
                .iter()
                .filter(|op| op.segment != 0 && op.segment != CLEAR_SEGMENT)
            {
                placed.insert(
                    (op.segment, op.offset),
                    (op.record.hash, op.bytes.len() as u32),
                );
            }
        }
    }
    Ok(placed)
}

/// Opens every segment file and reads its records; returns the segments that opened.
fn check_segments(
    report: &mut CheckReport,
    layout: &Layout,
    meta: Option<&Meta>,
) -> Result<BTreeMap<u32, Segment>> {
    let listed: HashMap<u32, u64> = meta
        .map(|m| m.segments.iter().map(|s| (s.id, s.len)).collect())
        .unwrap_or_default();
    let mut ids: Vec<u32> = Vec::new();
    for entry in std::fs::read_dir(&layout.segments).at(&layout.segments)? {
        let entry = entry.at(&layout.segments)?;
        if let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(segment::parse_file_name)
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    if let Some(meta) = meta {
        for s in &meta.segments {
            if !ids.contains(&s.id) {
                report.note(Error::Missing {
                    file: layout.segments.join(segment::file_name(s.id)),
                    why: "the metadata lists it".into(),
                });
            }
        }
    }
    let mut segments = BTreeMap::new();
    for id in ids {
        report.files += 1;
        // A listed segment is read to the length the checkpoint gave it (the active one has
        // no length in its header); any other to what its header says.
        match Segment::open(
            &layout.fs,
            &layout.segments,
            id,
            listed.get(&id).copied(),
            0,
        ) {
            Ok(seg) => {
                for item in seg.iter() {
                    match item {
                        Ok(_) => report.records += 1,
                        Err(e) => report.note(e),
                    }
                }
                segments.insert(id, seg);
            }
            Err(e) => report.note(e),
        }
    }
    Ok(segments)
}

/// Checks that every index entry leads to a valid record of its key hash.
fn check_index(
    report: &mut CheckReport,
    index: &Index,
    segments: &BTreeMap<u32, Segment>,
    placed: &Placed,
    layout: &Layout,
) {
    /// Entries reported one by one; past this, only counted.
    const LISTED: usize = 1000;
    let mut bad = 0usize;
    for n in 0..crate::index::SHARDS {
        index.shard(n).for_each(|e: &Entry| {
            let problem = entry_problem(e, segments, placed, layout);
            match problem {
                None => report.live_entries += 1,
                Some(error) => {
                    bad += 1;
                    if bad <= LISTED {
                        report.note(error);
                    }
                }
            }
        });
    }
    if bad > LISTED {
        report.damage.push(Damage {
            file: layout.index(),
            offset: 0,
            what: format!(
                "{} more index entries lead to no valid record",
                bad - LISTED
            ),
        });
    }
}

/// Why index entry `e` does not lead to a valid record, if it does not.
fn entry_problem(
    e: &Entry,
    segments: &BTreeMap<u32, Segment>,
    placed: &Placed,
    layout: &Layout,
) -> Option<Error> {
    let Some(seg) = segments.get(&e.segment) else {
        return Some(Error::corrupt(
            layout.segments.join(segment::file_name(e.segment)),
            e.offset,
            "an index entry points into this segment, which is missing or unreadable",
        ));
    };
    if e.offset + u64::from(e.size) > seg.len() {
        return match placed.get(&(e.segment, e.offset)) {
            Some(&(hash, size)) if hash == e.hash && size == e.size => None,
            _ => Some(Error::corrupt(
                seg.path(),
                e.offset,
                "an index entry points past the segment's end, and no WAL frame puts a record there",
            )),
        };
    }
    match seg.record(e.offset, u64::from(e.size)) {
        Ok(rec) if rec.hash == e.hash => None,
        Ok(_) => Some(Error::corrupt(
            seg.path(),
            e.offset,
            "the record an index entry points at is of another key",
        )),
        Err(e) => Some(e),
    }
}
