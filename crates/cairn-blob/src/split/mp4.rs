//! MP4 / ISO-BMFF: a tree of boxes, each `size (4, big-endian; 1 = a 64-bit size follows,
//! 0 = to the end of the file), type (4)`, then its payload.
//!
//! Pieces, in file order:
//! * top-level boxes other than `moov` and `mdat` (ftyp, free, sidx, moof…) whole: moof
//!   (a fragment's sample tables) is Metadata, the rest Container;
//! * `moov` as its 8-byte header (Container) and each child box (mvhd, trak…, Metadata);
//! * `mdat` as its header (Container) and then its samples, found through the sample tables:
//!   `stsz`/`stz2` sizes, `stco`/`co64` chunk offsets, `stsc` samples per chunk, `stss` sync
//!   samples — or, in a fragmented file, each `moof`'s `tfhd` and `trun` with the `trex`
//!   defaults. A video sample is IFrame when it is a sync sample, else PFrame (BFrame when its
//!   H.264 slice header says so, read at ingestion); audio samples are AudioChunk; subtitle
//!   and text samples Subtitle; samples of other tracks Raw. Bytes of an mdat between samples
//!   are left for Raw, so nothing is lost.
//!
//! Everything read from the file is bounds-checked; a box that runs past its parent, sample
//! tables that disagree with each other, or samples outside their mdat make the whole file
//! fall back to Raw.

use std::collections::HashMap;

use super::{be_u16, be_u32, be_u64, Piece, Source, Split};
use crate::atom::AtomType;

/// Top-level box types that can start an MP4 file.
const FIRST_BOXES: [&[u8; 4]; 8] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"moof",
];

/// The largest moov or moof read into memory.
const MAX_TABLE_BOX: u64 = 256 << 20;

/// True when `head` starts with a box header of a type an MP4 file starts with.
pub fn is_box_start(head: &[u8]) -> bool {
    let size = be_u32(head, 0);
    (size == 1 || size >= 8) && FIRST_BOXES.iter().any(|kind| &head[4..8] == *kind)
}

/// A box header.
#[derive(Debug, Clone, Copy)]
struct BoxHeader {
    start: u64,
    header_len: u64,
    size: u64,
    kind: [u8; 4],
}

impl BoxHeader {
    fn end(&self) -> u64 {
        self.start + self.size
    }

    fn name(&self) -> String {
        String::from_utf8_lossy(&self.kind).into_owned()
    }
}

/// The payload of a moov or moof box, read into memory (at most [`MAX_TABLE_BOX`] bytes).
fn read_table_box(source: &dyn Source, header: &BoxHeader) -> Result<Vec<u8>, String> {
    if header.size > MAX_TABLE_BOX {
        return Err(format!("a {} of {} bytes", header.name(), header.size));
    }
    source
        .read_vec(
            header.start + header.header_len,
            (header.size - header.header_len) as usize,
        )
        .map_err(|e| e.to_string())
}

/// Reads the header of the box at `at`, which must end by `limit`.
fn read_header(source: &dyn Source, at: u64, limit: u64) -> Result<BoxHeader, String> {
    if at + 8 > limit {
        return Err(format!("a box header at byte {at} runs past its parent"));
    }
    let mut head = [0u8; 16];
    let n = (limit - at).min(16) as usize;
    source
        .read_at(at, &mut head[..n])
        .map_err(|e| e.to_string())?;
    header_from(&head[..n], at, limit)
}

/// Parses a box header from `bytes` (at least 8, 16 for a 64-bit size), at file offset `at`.
fn header_from(bytes: &[u8], at: u64, limit: u64) -> Result<BoxHeader, String> {
    let kind: [u8; 4] = bytes[4..8].try_into().expect("4 bytes");
    let (size, header_len) = match be_u32(bytes, 0) {
        0 => (limit - at, 8),
        1 if bytes.len() >= 16 => (be_u64(bytes, 8), 16),
        1 => return Err(format!("box at byte {at} has a truncated 64-bit size")),
        n => (u64::from(n), 8),
    };
    if size < header_len || at.checked_add(size).is_none_or(|end| end > limit) {
        return Err(format!(
            "box {} at byte {at} of size {size} runs past its parent",
            String::from_utf8_lossy(&kind)
        ));
    }
    Ok(BoxHeader {
        start: at,
        header_len,
        size,
        kind,
    })
}

/// A box held in memory: its type and payload.
type InMemoryBox<'a> = ([u8; 4], &'a [u8]);

/// The child boxes of a box held in memory.
fn children(payload: &[u8]) -> Result<Vec<InMemoryBox<'_>>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= payload.len() {
        let header = header_from(&payload[at..], at as u64, payload.len() as u64)?;
        out.push((
            header.kind,
            &payload[at + header.header_len as usize..header.end() as usize],
        ));
        at = header.end() as usize;
    }
    Ok(out)
}

fn child<'a>(payload: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, String> {
    Ok(children(payload)?
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, p)| p))
}

/// Checks that `bytes` holds `need` bytes.
fn need(bytes: &[u8], need: usize, what: &str) -> Result<(), String> {
    if bytes.len() < need {
        return Err(format!("{what} is truncated"));
    }
    Ok(())
}

/// What a track is, from its `trak` box.
#[derive(Debug, Default, Clone)]
struct Track {
    id: u32,
    handler: [u8; 4],
    codec: [u8; 4],
    /// NAL length size of an H.264 track.
    nal_length: Option<u8>,
    width: u32,
    height: u32,
    timescale: u32,
    duration: u64,
    /// Samples from the sample tables: (offset, size, sync).
    samples: Vec<(u64, u64, bool)>,
    /// Default sample size and flags for fragments (`trex`).
    default_size: u32,
    default_flags: u32,
}

impl Track {
    fn sample_type(&self, sync: bool) -> (AtomType, Option<u8>) {
        match &self.handler {
            b"vide" if sync => (AtomType::IFrame, None),
            b"vide" => (AtomType::PFrame, self.nal_length),
            b"soun" => (AtomType::AudioChunk, None),
            b"sbtl" | b"subt" | b"text" | b"clcp" => (AtomType::Subtitle, None),
            _ => (AtomType::Raw, None),
        }
    }

    fn describe(&self) -> String {
        let handler = match &self.handler {
            b"vide" => "video",
            b"soun" => "audio",
            b"sbtl" | b"subt" | b"text" | b"clcp" => "subtitles",
            _ => "other",
        };
        let mut text = format!(
            "{handler} {}",
            String::from_utf8_lossy(&self.codec).trim_end_matches('\0')
        );
        if self.width > 0 {
            text.push_str(&format!(" {}x{}", self.width, self.height));
        }
        text
    }
}

/// Reads a track's description and sample tables.
fn parse_trak(trak: &[u8], max_samples: u64) -> Result<Track, String> {
    let mut track = Track::default();
    if let Some(tkhd) = child(trak, b"tkhd")? {
        need(tkhd, 4, "tkhd")?;
        let (id_at, size_at) = if tkhd[0] == 1 { (20, 88) } else { (12, 76) };
        need(tkhd, id_at + 4, "tkhd")?;
        track.id = be_u32(tkhd, id_at);
        if tkhd.len() >= size_at + 8 {
            track.width = be_u32(tkhd, size_at) >> 16;
            track.height = be_u32(tkhd, size_at + 4) >> 16;
        }
    }
    let mdia = child(trak, b"mdia")?.ok_or("a trak without mdia")?;
    if let Some(mdhd) = child(mdia, b"mdhd")? {
        need(mdhd, 4, "mdhd")?;
        if mdhd[0] == 1 {
            need(mdhd, 32, "mdhd")?;
            track.timescale = be_u32(mdhd, 20);
            track.duration = be_u64(mdhd, 24);
        } else {
            need(mdhd, 20, "mdhd")?;
            track.timescale = be_u32(mdhd, 12);
            track.duration = u64::from(be_u32(mdhd, 16));
        }
    }
    if let Some(hdlr) = child(mdia, b"hdlr")? {
        need(hdlr, 12, "hdlr")?;
        track.handler = hdlr[8..12].try_into().expect("4 bytes");
    }
    let Some(stbl) = child(mdia, b"minf")?
        .map(|minf| child(minf, b"stbl"))
        .transpose()?
        .flatten()
    else {
        return Ok(track);
    };
    if let Some(stsd) = child(stbl, b"stsd")? {
        if stsd.len() >= 16 {
            track.codec = stsd[12..16].try_into().expect("4 bytes");
            // An avc1/avc3 sample entry: 8-byte header, 78 bytes of visual fields, then boxes.
            if matches!(&track.codec, b"avc1" | b"avc3") && stsd.len() > 8 + 86 {
                let entry_end = (8 + be_u32(stsd, 8) as usize).min(stsd.len());
                if let Some(avcc) = children(&stsd[8 + 86..entry_end.max(8 + 86)])
                    .ok()
                    .and_then(|boxes| boxes.into_iter().find(|(k, _)| k == b"avcC"))
                {
                    if avcc.1.len() >= 5 {
                        track.nal_length = Some((avcc.1[4] & 3) + 1);
                    }
                }
            }
        }
    }
    track.samples = sample_table(stbl, max_samples)?;
    Ok(track)
}

/// The samples of a track from its `stbl`: (offset, size, sync).
fn sample_table(stbl: &[u8], max_samples: u64) -> Result<Vec<(u64, u64, bool)>, String> {
    let sizes: Vec<u64> = if let Some(stsz) = child(stbl, b"stsz")? {
        need(stsz, 12, "stsz")?;
        let (uniform, count) = (be_u32(stsz, 4), u64::from(be_u32(stsz, 8)));
        if count > max_samples {
            return Err(format!("stsz claims {count} samples"));
        }
        if uniform != 0 {
            vec![u64::from(uniform); count as usize]
        } else {
            need(stsz, 12 + 4 * count as usize, "stsz")?;
            (0..count as usize)
                .map(|i| u64::from(be_u32(stsz, 12 + 4 * i)))
                .collect()
        }
    } else if let Some(stz2) = child(stbl, b"stz2")? {
        need(stz2, 12, "stz2")?;
        let (field, count) = (stz2[7], u64::from(be_u32(stz2, 8)));
        if count > max_samples || !matches!(field, 4 | 8 | 16) {
            return Err("stz2 is invalid".into());
        }
        need(
            stz2,
            12 + (count as usize * usize::from(field)).div_ceil(8),
            "stz2",
        )?;
        (0..count as usize)
            .map(|i| match field {
                4 => u64::from(stz2[12 + i / 2] >> (4 * (1 - i % 2)) & 0xf),
                8 => u64::from(stz2[12 + i]),
                _ => u64::from(be_u16(stz2, 12 + 2 * i)),
            })
            .collect()
    } else {
        return Ok(Vec::new());
    };
    let chunk_offsets: Vec<u64> = if let Some(stco) = child(stbl, b"stco")? {
        need(stco, 8, "stco")?;
        let count = be_u32(stco, 4) as usize;
        need(stco, 8 + 4 * count, "stco")?;
        (0..count)
            .map(|i| u64::from(be_u32(stco, 8 + 4 * i)))
            .collect()
    } else if let Some(co64) = child(stbl, b"co64")? {
        need(co64, 8, "co64")?;
        let count = be_u32(co64, 4) as usize;
        need(co64, 8 + 8 * count, "co64")?;
        (0..count).map(|i| be_u64(co64, 8 + 8 * i)).collect()
    } else {
        return Err("a sample table without chunk offsets".into());
    };
    let stsc = child(stbl, b"stsc")?.ok_or("a sample table without stsc")?;
    need(stsc, 8, "stsc")?;
    let runs = be_u32(stsc, 4) as usize;
    need(stsc, 8 + 12 * runs, "stsc")?;
    let runs: Vec<(u32, u32)> = (0..runs)
        .map(|i| (be_u32(stsc, 8 + 12 * i), be_u32(stsc, 12 + 12 * i)))
        .collect();
    let sync: Option<Vec<u32>> = match child(stbl, b"stss")? {
        Some(stss) => {
            need(stss, 8, "stss")?;
            let count = be_u32(stss, 4) as usize;
            need(stss, 8 + 4 * count, "stss")?;
            Some((0..count).map(|i| be_u32(stss, 8 + 4 * i)).collect())
        }
        None => None,
    };

    // Walk the chunks: each holds the samples-per-chunk of the stsc run it falls in.
    let mut samples = Vec::with_capacity(sizes.len());
    let mut next_sample = 0usize;
    for (chunk, &chunk_offset) in chunk_offsets.iter().enumerate() {
        let chunk_number = chunk as u32 + 1;
        let per_chunk = runs
            .iter()
            .take_while(|(first, _)| *first <= chunk_number)
            .last()
            .map_or(0, |(_, n)| *n) as usize;
        let mut offset = chunk_offset;
        for _ in 0..per_chunk {
            let Some(&size) = sizes.get(next_sample) else {
                return Err("stsc lists more samples than stsz".into());
            };
            let number = next_sample as u32 + 1;
            let is_sync = sync
                .as_ref()
                .is_none_or(|s| s.binary_search(&number).is_ok());
            samples.push((offset, size, is_sync));
            offset = offset
                .checked_add(size)
                .ok_or("a sample offset overflows")?;
            next_sample += 1;
        }
    }
    if next_sample != sizes.len() {
        return Err(format!(
            "stsc places {next_sample} of {} samples",
            sizes.len()
        ));
    }
    Ok(samples)
}

/// Samples of one `moof` fragment, from its `traf`s: (offset, size, sync, track id).
fn fragment_samples(
    moof: &[u8],
    moof_start: u64,
    tracks: &HashMap<u32, Track>,
    max_samples: u64,
) -> Result<Vec<(u64, u64, bool, u32)>, String> {
    let mut samples = Vec::new();
    for (kind, traf) in children(moof)? {
        if &kind != b"traf" {
            continue;
        }
        let tfhd = child(traf, b"tfhd")?.ok_or("a traf without tfhd")?;
        need(tfhd, 8, "tfhd")?;
        let flags = be_u32(tfhd, 0) & 0xff_ffff;
        let track_id = be_u32(tfhd, 4);
        let track = tracks
            .get(&track_id)
            .ok_or_else(|| format!("a fragment of unknown track {track_id}"))?;
        let mut at = 8;
        let mut base = moof_start;
        let mut default_size = track.default_size;
        let mut default_flags = track.default_flags;
        if flags & 0x1 != 0 {
            need(tfhd, at + 8, "tfhd")?;
            base = be_u64(tfhd, at);
            at += 8;
        }
        if flags & 0x2 != 0 {
            at += 4;
        }
        if flags & 0x8 != 0 {
            at += 4;
        }
        if flags & 0x10 != 0 {
            need(tfhd, at + 4, "tfhd")?;
            default_size = be_u32(tfhd, at);
            at += 4;
        }
        if flags & 0x20 != 0 {
            need(tfhd, at + 4, "tfhd")?;
            default_flags = be_u32(tfhd, at);
        }
        let mut next_offset = base;
        for (kind, trun) in children(traf)? {
            if &kind != b"trun" {
                continue;
            }
            need(trun, 8, "trun")?;
            let flags = be_u32(trun, 0) & 0xff_ffff;
            let count = u64::from(be_u32(trun, 4));
            if count + samples.len() as u64 > max_samples {
                return Err(format!("trun claims {count} samples"));
            }
            let mut at = 8;
            let mut offset = next_offset;
            if flags & 0x1 != 0 {
                need(trun, at + 4, "trun")?;
                offset = base.wrapping_add(be_u32(trun, at) as i32 as i64 as u64);
                at += 4;
            }
            let mut first_flags = None;
            if flags & 0x4 != 0 {
                need(trun, at + 4, "trun")?;
                first_flags = Some(be_u32(trun, at));
                at += 4;
            }
            let per_sample = 4 * [0x100, 0x200, 0x400, 0x800]
                .iter()
                .filter(|&&f| flags & f != 0)
                .count();
            need(trun, at + per_sample * count as usize, "trun")?;
            for i in 0..count as usize {
                let mut field = at + i * per_sample;
                if flags & 0x100 != 0 {
                    field += 4;
                }
                let size = if flags & 0x200 != 0 {
                    let size = be_u32(trun, field);
                    field += 4;
                    size
                } else {
                    default_size
                };
                let sample_flags = if flags & 0x400 != 0 {
                    be_u32(trun, field)
                } else if i == 0 {
                    first_flags.unwrap_or(default_flags)
                } else {
                    default_flags
                };
                let sync = sample_flags & 0x1_0000 == 0;
                samples.push((offset, u64::from(size), sync, track_id));
                offset = offset
                    .checked_add(u64::from(size))
                    .ok_or("a sample offset overflows")?;
            }
            next_offset = offset;
        }
    }
    Ok(samples)
}

/// One sample to cut: offset, size, type, the H.264 refinement it may get, its label.
type Sample = (u64, u64, AtomType, Option<u8>, String);

/// What moov says: the tracks by id, the facts to record, and the kinds of its children.
type MoovContents = (HashMap<u32, Track>, Vec<(String, String)>, Vec<[u8; 4]>);

/// Splits an MP4 into boxes and samples: the top-level boxes, the tracks moov describes,
/// every sample of theirs (in moov's tables and in fragments), then the pieces in file order.
pub fn split(source: &dyn Source) -> Result<Split, String> {
    let len = source.len();
    let mut top = Vec::new();
    let mut at = 0;
    while at < len {
        let header = read_header(source, at, len)?;
        at = header.end();
        top.push(header);
    }
    // Every sample is at least a byte of the file, so there cannot be more of them.
    let max_samples = len.min(50_000_000);
    let (tracks, facts, moov_children) = read_moov(source, &top, max_samples)?;
    let samples = typed_samples(source, &top, &tracks, max_samples)?;
    let pieces = pieces_in_order(source, &top, &moov_children, &samples)?;
    Ok((pieces, facts))
}

/// The tracks of moov, the facts it gives (duration, one line per track), and its children.
fn read_moov(
    source: &dyn Source,
    top: &[BoxHeader],
    max_samples: u64,
) -> Result<MoovContents, String> {
    // The tracks, from moov.
    let mut tracks: HashMap<u32, Track> = HashMap::new();
    let mut facts = Vec::new();
    let moov = top
        .iter()
        .find(|b| &b.kind == b"moov")
        .ok_or("no moov box")?;
    let moov_bytes = read_table_box(source, moov)?;
    let moov_children = children(&moov_bytes)?;
    for (kind, payload) in &moov_children {
        match kind {
            b"mvhd" => {
                need(payload, 4, "mvhd")?;
                let (timescale, duration) = if payload[0] == 1 {
                    need(payload, 32, "mvhd")?;
                    (be_u32(payload, 20), be_u64(payload, 24))
                } else {
                    need(payload, 20, "mvhd")?;
                    (be_u32(payload, 12), u64::from(be_u32(payload, 16)))
                };
                if timescale > 0 {
                    facts.push((
                        "duration_seconds".into(),
                        format!("{:.3}", duration as f64 / f64::from(timescale)),
                    ));
                }
            }
            b"trak" => {
                let track = parse_trak(payload, max_samples)?;
                tracks.insert(track.id, track);
            }
            b"mvex" => {
                for (kind, trex) in children(payload)? {
                    if &kind == b"trex" && trex.len() >= 24 {
                        if let Some(track) = tracks.get_mut(&be_u32(trex, 4)) {
                            track.default_size = be_u32(trex, 16);
                            track.default_flags = be_u32(trex, 20);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut ids: Vec<_> = tracks.keys().copied().collect();
    ids.sort_unstable();
    for id in &ids {
        facts.push((format!("track_{id}"), tracks[id].describe()));
    }

    let kinds = moov_children.iter().map(|(kind, _)| *kind).collect();
    Ok((tracks, facts, kinds))
}

/// Every sample of every track, with its type, in file order; empty ones dropped.
fn typed_samples(
    source: &dyn Source,
    top: &[BoxHeader],
    tracks: &HashMap<u32, Track>,
    max_samples: u64,
) -> Result<Vec<Sample>, String> {
    let mut ids: Vec<_> = tracks.keys().copied().collect();
    ids.sort_unstable();
    let mut samples: Vec<Sample> = Vec::new();
    for id in &ids {
        let track = &tracks[id];
        for (i, &(offset, size, sync)) in track.samples.iter().enumerate() {
            let (atom_type, refine) = track.sample_type(sync);
            samples.push((
                offset,
                size,
                atom_type,
                refine,
                format!("sample {} of track {id}", i + 1),
            ));
        }
    }
    for header in top.iter().filter(|b| &b.kind == b"moof") {
        let moof = read_table_box(source, header)?;
        for (offset, size, sync, id) in fragment_samples(&moof, header.start, tracks, max_samples)?
        {
            let (atom_type, refine) = tracks[&id].sample_type(sync);
            samples.push((
                offset,
                size,
                atom_type,
                refine,
                format!("fragment sample of track {id}"),
            ));
        }
        if samples.len() as u64 > max_samples {
            return Err("more samples than the file has bytes".into());
        }
    }
    samples.retain(|s| s.1 > 0);
    samples.sort_unstable_by_key(|s| s.0);

    Ok(samples)
}

/// The pieces of the file in order: top-level boxes, moov's children, and each mdat's
/// header then the samples inside it.
fn pieces_in_order(
    source: &dyn Source,
    top: &[BoxHeader],
    moov_children: &[[u8; 4]],
    samples: &[Sample],
) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut next_sample = 0;
    for header in top {
        match &header.kind {
            b"moov" => {
                pieces.push(Piece::new(
                    header.start,
                    header.header_len,
                    AtomType::Container,
                    "moov",
                ));
                let mut at = header.start + header.header_len;
                for kind in moov_children {
                    let child_header = read_header(source, at, header.end())?;
                    let atom_type = if matches!(kind, b"free" | b"skip") {
                        AtomType::Container
                    } else {
                        AtomType::Metadata
                    };
                    pieces.push(Piece::new(
                        at,
                        child_header.size,
                        atom_type,
                        format!("moov/{}", child_header.name()),
                    ));
                    at = child_header.end();
                }
            }
            b"mdat" => {
                pieces.push(Piece::new(
                    header.start,
                    header.header_len,
                    AtomType::Container,
                    "mdat",
                ));
                let payload_start = header.start + header.header_len;
                if next_sample < samples.len() && samples[next_sample].0 < payload_start {
                    return Err(format!(
                        "a sample at byte {} lies outside every mdat",
                        samples[next_sample].0
                    ));
                }
                while next_sample < samples.len() && samples[next_sample].0 < header.end() {
                    let (offset, size, atom_type, refine, label) = samples[next_sample].clone();
                    if offset + size > header.end() {
                        return Err(format!("{label} runs past its mdat"));
                    }
                    let mut piece = Piece::new(offset, size, atom_type, label);
                    piece.refine_h264 = refine;
                    pieces.push(piece);
                    next_sample += 1;
                }
            }
            b"moof" => pieces.push(Piece::new(
                header.start,
                header.size,
                AtomType::Metadata,
                "moof",
            )),
            _ => pieces.push(Piece::new(
                header.start,
                header.size,
                AtomType::Container,
                header.name(),
            )),
        }
    }
    if next_sample < samples.len() {
        return Err(format!(
            "a sample at byte {} lies outside every mdat",
            samples[next_sample].0
        ));
    }
    Ok(pieces)
}

/// The frame type of an H.264 sample whose NAL units are prefixed by `nal_length`-byte
/// lengths: IFrame for an IDR or I slice, BFrame for a B slice, else PFrame.
pub fn h264_frame_type(sample: &[u8], nal_length: u8) -> AtomType {
    let n = usize::from(nal_length);
    let mut at = 0;
    while at + n < sample.len() {
        let len = sample[at..at + n]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        let nal = &sample[at + n..(at + n).saturating_add(len).min(sample.len())];
        at = at + n + len;
        let Some(&first) = nal.first() else { continue };
        match first & 0x1f {
            5 => return AtomType::IFrame,
            1 => {
                // Slice header: first_mb_in_slice ue(v), slice_type ue(v). Emulation
                // prevention bytes (00 00 03) are removed first.
                let mut rbsp = Vec::with_capacity(16);
                let mut zeros = 0;
                for &b in nal[1..].iter().take(24) {
                    if zeros >= 2 && b == 3 {
                        zeros = 0;
                        continue;
                    }
                    zeros = if b == 0 { zeros + 1 } else { 0 };
                    rbsp.push(b);
                }
                let mut bits = BitReader {
                    bytes: &rbsp,
                    at: 0,
                };
                let slice_type = bits.ue().and_then(|_| bits.ue());
                return match slice_type.map(|t| t % 5) {
                    Some(1) => AtomType::BFrame,
                    Some(2) | Some(4) => AtomType::IFrame,
                    _ => AtomType::PFrame,
                };
            }
            _ => {}
        }
    }
    AtomType::PFrame
}

/// Reads Exp-Golomb codes.
struct BitReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.bytes.get(self.at / 8)?;
        let bit = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u32::from(bit))
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let mut value = 1u32;
        for _ in 0..zeros {
            value = value << 1 | self.bit()?;
        }
        Some(value - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn full_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut payload = vec![0, 0, 0, 0];
        payload.extend_from_slice(body);
        mp4_box(kind, &payload)
    }

    fn words(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// A file with one video track of three samples (sync, non-sync, sync) in two chunks,
    /// with a gap between the chunks, and one audio track of two samples.
    pub fn small_mp4() -> Vec<u8> {
        let ftyp = mp4_box(b"ftyp", b"isom\0\0\0\x01isomavc1");
        // mdat payload layout, offsets relative to the payload start:
        // video 0..10, 10..15 | gap 15..19 | audio 19..23, 23..30 | video 30..42
        let mdat_payload: Vec<u8> = (0..42u8).collect();
        let mdat_start = ftyp.len() as u32;
        let base = mdat_start + 8;
        let video_stbl = [
            full_box(
                b"stsd",
                &[0, 0, 0, 1, 0, 0, 0, 16, b'a', b'v', b'c', b'1', 0, 0, 0, 0],
            ),
            full_box(b"stsz", &words(&[0, 3, 10, 5, 12])),
            full_box(b"stsc", &words(&[2, 1, 2, 1, 2, 1, 1])),
            full_box(b"stco", &words(&[2, base, base + 30])),
            full_box(b"stss", &words(&[2, 1, 3])),
        ]
        .concat();
        let audio_stbl = [
            full_box(b"stsz", &words(&[0, 2, 4, 7])),
            full_box(b"stsc", &words(&[1, 1, 2, 1])),
            full_box(b"stco", &words(&[1, base + 19])),
        ]
        .concat();
        let trak = |id: u32, handler: &[u8; 4], stbl: &[u8]| {
            let mut tkhd = vec![0u8; 80];
            tkhd[8..12].copy_from_slice(&id.to_be_bytes());
            let hdlr = full_box(b"hdlr", &[&[0u8; 4][..], handler, &[0u8; 12]].concat());
            let mdhd = full_box(b"mdhd", &words(&[0, 0, 1000, 2000, 0]));
            let minf = mp4_box(b"minf", &mp4_box(b"stbl", stbl));
            mp4_box(
                b"trak",
                &[
                    full_box(b"tkhd", &tkhd),
                    mp4_box(b"mdia", &[mdhd, hdlr, minf].concat()),
                ]
                .concat(),
            )
        };
        let mvhd = full_box(b"mvhd", &words(&[0, 0, 1000, 2000]));
        let moov = mp4_box(
            b"moov",
            &[
                mvhd,
                trak(1, b"vide", &video_stbl),
                trak(2, b"soun", &audio_stbl),
            ]
            .concat(),
        );
        [ftyp, mp4_box(b"mdat", &mdat_payload), moov].concat()
    }

    #[test]
    fn splits_boxes_and_samples_by_the_sample_tables() {
        let file = small_mp4();
        let (pieces, facts) = split(&file).expect("splits");
        let spans: Vec<_> = pieces
            .iter()
            .map(|p| (p.label.as_str(), p.len, p.atom_type))
            .collect();
        assert_eq!(
            &spans[..7],
            [
                ("ftyp", 24, AtomType::Container),
                ("mdat", 8, AtomType::Container),
                ("sample 1 of track 1", 10, AtomType::IFrame),
                ("sample 2 of track 1", 5, AtomType::PFrame),
                ("sample 1 of track 2", 4, AtomType::AudioChunk),
                ("sample 2 of track 2", 7, AtomType::AudioChunk),
                ("sample 3 of track 1", 12, AtomType::IFrame),
            ]
        );
        assert_eq!(pieces[7].label, "moov");
        assert!(pieces[8..].iter().all(|p| p.label.starts_with("moov/")));
        assert!(facts.contains(&("duration_seconds".into(), "2.000".into())));
        // Through the planner the gap between the samples becomes Raw, and all is covered.
        let plan = super::super::plan(&file);
        assert_eq!(plan.fallback, None);
        assert_eq!(
            plan.pieces.iter().map(|p| p.len).sum::<u64>(),
            file.len() as u64
        );
        assert!(plan
            .pieces
            .iter()
            .any(|p| p.atom_type == AtomType::Raw && p.len == 4));
    }

    #[test]
    fn broken_tables_fall_back() {
        let mut file = small_mp4();
        // Point the second video chunk past the end of the mdat.
        let at = file.windows(4).position(|w| w == b"stco").expect("stco") + 4 + 8 + 4;
        file[at..at + 4].copy_from_slice(&9999u32.to_be_bytes());
        assert!(split(&file).is_err());
        let plan = super::super::plan(&file);
        assert!(plan.fallback.is_some());
        assert_eq!(plan.pieces.len(), 1);
        for cut in [10, 30, 70, file.len() - 1] {
            assert!(split(&file[..cut].to_vec()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn h264_slice_types() {
        // NAL length 4; a non-IDR slice: header 0x41, then ue(0)=1, ue(1)=010 → B slice.
        let b_slice = [0, 0, 0, 2, 0x41, 0b1010_0000];
        assert_eq!(h264_frame_type(&b_slice, 4), AtomType::BFrame);
        let p_slice = [0, 0, 0, 2, 0x41, 0b1100_0000]; // ue(0), ue(0) → P
        assert_eq!(h264_frame_type(&p_slice, 4), AtomType::PFrame);
        let idr = [0, 0, 0, 1, 0x65];
        assert_eq!(h264_frame_type(&idr, 4), AtomType::IFrame);
        assert_eq!(
            h264_frame_type(&[0, 0, 0, 9], 4),
            AtomType::PFrame,
            "truncated"
        );
    }
}
