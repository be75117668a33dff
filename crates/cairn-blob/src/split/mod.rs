//! Splitting a file into typed pieces: which format it is (from its bytes, never its name),
//! and where its structural parts begin and end.
//!
//! A splitter reads only what it needs through [`Source::read_at`] (chunk and box headers,
//! sample tables; JPEG scans are scanned for their end marker) and returns a [`Plan`]: pieces
//! that cover the file exactly, in order, from byte 0 to the end. Whatever a splitter does
//! not recognise — bytes after PNG's IEND or JPEG's EOI, gaps between MP4 samples — becomes
//! a Raw piece, and a file a splitter cannot follow (malformed or truncated) becomes one Raw
//! piece with the reason recorded: ingestion cuts Raw pieces with content-defined chunking,
//! so every file round-trips whatever its shape.

pub mod cdc;
pub mod jpeg;
pub mod mp4;
pub mod png;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::atom::AtomType;

/// Random access to the bytes being split.
pub trait Source: Sync {
    /// Length in bytes.
    fn len(&self) -> u64;

    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from `offset`; an error if the source ends first.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// `len` bytes from `offset`.
    fn read_vec(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.read_at(offset, &mut buf)?;
        Ok(buf)
    }
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.as_slice().read_at(offset, buf)
    }
}

/// A file opened for splitting, with its length taken once.
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    pub fn new(file: File) -> io::Result<FileSource> {
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
}

/// The formats with a splitter of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Mp4,
    Unknown,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Mp4 => "mp4",
            Format::Unknown => "unknown",
        }
    }

    /// The format a file's first bytes announce.
    pub fn detect(head: &[u8]) -> Format {
        if head.starts_with(png::SIGNATURE) {
            Format::Png
        } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
            Format::Jpeg
        } else if head.len() >= 8 && mp4::is_box_start(head) {
            Format::Mp4
        } else {
            Format::Unknown
        }
    }
}

/// A structural part of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub offset: u64,
    pub len: u64,
    pub atom_type: AtomType,
    /// What the part is, e.g. `IDAT`, `SOS`, `moov/trak`, `sample 3 of track 1`.
    pub label: String,
    /// For H.264 video samples whose sync table says "not a keyframe": the NAL length size,
    /// so ingestion can read the slice type from the sample's bytes (P or B).
    pub refine_h264: Option<u8>,
}

impl Piece {
    pub fn new(offset: u64, len: u64, atom_type: AtomType, label: impl Into<String>) -> Piece {
        Piece {
            offset,
            len,
            atom_type,
            label: label.into(),
            refine_h264: None,
        }
    }
}

/// How a file splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub format: Format,
    /// Pieces covering the file in order, without gaps or overlaps.
    pub pieces: Vec<Piece>,
    /// Media facts: dimensions, duration, codecs.
    pub facts: Vec<(String, String)>,
    /// Why the format's splitter gave up, if it did (the file is then one Raw piece).
    pub fallback: Option<String>,
}

/// What a format splitter returns: pieces in order (possibly not reaching the end) and facts.
pub type Split = (Vec<Piece>, Vec<(String, String)>);

/// Splits `source`: detects the format and runs its splitter, falling back to one Raw piece.
pub fn plan(source: &dyn Source) -> Plan {
    let mut head = vec![0u8; source.len().min(16) as usize];
    let format = match source.read_at(0, &mut head) {
        Ok(()) => Format::detect(&head),
        Err(_) => Format::Unknown,
    };
    let split = match format {
        Format::Png => png::split(source),
        Format::Jpeg => jpeg::split(source),
        Format::Mp4 => mp4::split(source),
        Format::Unknown => Ok((Vec::new(), Vec::new())),
    };
    let (pieces, facts, fallback) = match split.and_then(|(pieces, facts)| {
        check_order(&pieces, source.len())?;
        Ok((pieces, facts))
    }) {
        Ok((pieces, facts)) => (pieces, facts, None),
        Err(why) => (Vec::new(), Vec::new(), Some(why)),
    };
    Plan {
        format: if fallback.is_some() {
            Format::Unknown
        } else {
            format
        },
        pieces: fill_gaps(pieces, source.len()),
        facts,
        fallback: fallback.map(|why| format!("{} splitter: {why}", format.name())),
    }
}

/// Pieces must be in order, not overlap and stay within the file.
fn check_order(pieces: &[Piece], len: u64) -> Result<(), String> {
    let mut end = 0;
    for piece in pieces {
        if piece.offset < end {
            return Err(format!(
                "{} at {} overlaps what comes before",
                piece.label, piece.offset
            ));
        }
        end = piece
            .offset
            .checked_add(piece.len)
            .filter(|&e| e <= len)
            .ok_or_else(|| format!("{} at {} runs past the end", piece.label, piece.offset))?;
    }
    Ok(())
}

/// Adds Raw pieces for the bytes no piece covers and drops empty pieces.
fn fill_gaps(pieces: Vec<Piece>, len: u64) -> Vec<Piece> {
    let mut filled = Vec::with_capacity(pieces.len() + 1);
    let mut at = 0;
    for piece in pieces {
        if piece.offset > at {
            filled.push(Piece::new(
                at,
                piece.offset - at,
                AtomType::Raw,
                "unrecognised bytes",
            ));
        }
        at = piece.offset + piece.len;
        if piece.len > 0 {
            filled.push(piece);
        }
    }
    if at < len {
        filled.push(Piece::new(
            at,
            len - at,
            AtomType::Raw,
            "unrecognised bytes",
        ));
    }
    filled
}

/// Big-endian readers over a header already in memory.
pub(crate) fn be_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

pub(crate) fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

pub(crate) fn be_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_bytes_are_one_raw_piece_and_gaps_are_filled() {
        let data = b"just some text".to_vec();
        let plan = plan(&data);
        assert_eq!(plan.format, Format::Unknown);
        assert_eq!(
            plan.pieces,
            vec![Piece::new(0, 14, AtomType::Raw, "unrecognised bytes")]
        );
        let filled = fill_gaps(vec![Piece::new(4, 2, AtomType::Metadata, "x")], 10);
        let spans: Vec<_> = filled
            .iter()
            .map(|p| (p.offset, p.len, p.atom_type))
            .collect();
        assert_eq!(
            spans,
            [
                (0, 4, AtomType::Raw),
                (4, 2, AtomType::Metadata),
                (6, 4, AtomType::Raw)
            ]
        );
    }
}
