//! PNG: the 8-byte signature, then chunks of `length (4, big-endian), type (4 ASCII
//! letters), data, CRC-32 (4)`, from IHDR to IEND.
//!
//! Pieces: the signature and IEND are Container; IDAT chunks (zlib-compressed pixels) are
//! ImageData; IHDR, PLTE, tRNS and every other chunk (text, EXIF, colour and physical
//! information) are Metadata. Bytes after IEND are left for Raw. Chunk CRCs are not checked:
//! a piece only has to round-trip, and damaged data is kept exactly as it came.

use super::{be_u32, Piece, Source, Split};
use crate::atom::AtomType;

/// The PNG signature.
pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// The largest chunk length PNG allows.
const MAX_CHUNK: u32 = 0x7fff_ffff;

/// Splits a PNG into its signature and chunks.
pub fn split(source: &dyn Source) -> Result<Split, String> {
    let len = source.len();
    let mut pieces = vec![Piece::new(0, 8, AtomType::Container, "signature")];
    let mut facts = Vec::new();
    let mut at = 8u64;
    let mut header = [0u8; 8];
    loop {
        if at + 12 > len {
            return Err(format!("the file ends at byte {len} before IEND"));
        }
        source.read_at(at, &mut header).map_err(|e| e.to_string())?;
        let data_len = be_u32(&header, 0);
        let kind = &header[4..8];
        if data_len > MAX_CHUNK || !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(format!("no valid chunk at byte {at}"));
        }
        let name = String::from_utf8_lossy(kind).into_owned();
        if pieces.len() == 1 && name != "IHDR" {
            return Err(format!("the first chunk is {name}, not IHDR"));
        }
        let total = 12 + u64::from(data_len);
        if at + total > len {
            return Err(format!("chunk {name} at byte {at} runs past the end"));
        }
        let atom_type = match kind {
            b"IDAT" => AtomType::ImageData,
            b"IEND" => AtomType::Container,
            _ => AtomType::Metadata,
        };
        if kind == b"IHDR" && data_len >= 13 {
            let ihdr = source.read_vec(at + 8, 13).map_err(|e| e.to_string())?;
            facts.push(("width".into(), be_u32(&ihdr, 0).to_string()));
            facts.push(("height".into(), be_u32(&ihdr, 4).to_string()));
            facts.push(("bit_depth".into(), ihdr[8].to_string()));
            facts.push(("color_type".into(), ihdr[9].to_string()));
        }
        pieces.push(Piece::new(at, total, atom_type, name));
        at += total;
        if kind == b"IEND" {
            return Ok((pieces, facts));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk with a correct CRC (computed bit by bit; tests only).
    pub fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut crc = 0xffff_ffffu32;
        for &byte in kind.iter().chain(data) {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&(!crc).to_be_bytes());
        out
    }

    fn png(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        for (kind, data) in chunks {
            out.extend(chunk(kind, data));
        }
        out
    }

    #[test]
    fn splits_every_chunk_with_its_type() {
        let ihdr = [0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0];
        let file = png(&[
            (b"IHDR", &ihdr),
            (b"tEXt", b"k\0v"),
            (b"IDAT", b"abc"),
            (b"IDAT", b"de"),
            (b"IEND", b""),
        ]);
        let (pieces, facts) = split(&file).expect("splits");
        let kinds: Vec<_> = pieces
            .iter()
            .map(|p| (p.label.as_str(), p.atom_type))
            .collect();
        assert_eq!(
            kinds,
            [
                ("signature", AtomType::Container),
                ("IHDR", AtomType::Metadata),
                ("tEXt", AtomType::Metadata),
                ("IDAT", AtomType::ImageData),
                ("IDAT", AtomType::ImageData),
                ("IEND", AtomType::Container),
            ]
        );
        assert_eq!(pieces.iter().map(|p| p.len).sum::<u64>(), file.len() as u64);
        assert!(facts.contains(&("width".into(), "3".into())));
    }

    #[test]
    fn malformed_files_are_refused() {
        let good = png(&[(b"IHDR", &[0; 13]), (b"IEND", b"")]);
        assert!(
            split(&good[..good.len() - 3].to_vec()).is_err(),
            "truncated"
        );
        let mut bad_length = good.clone();
        bad_length[8] = 0xff;
        assert!(split(&bad_length).is_err());
        let no_ihdr = png(&[(b"IDAT", b"x"), (b"IEND", b"")]);
        assert!(split(&no_ihdr).is_err());
    }
}
