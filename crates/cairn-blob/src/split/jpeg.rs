//! JPEG: markers `FF xx`; SOI, EOI, RSTn and TEM stand alone, every other marker is followed
//! by a 2-byte big-endian length that counts itself. A scan (SOS) is followed by its
//! entropy-coded data, in which `FF` is escaped as `FF 00` and restart markers `FF D0`–`FF D7`
//! may appear; the scan ends at the first other marker.
//!
//! Pieces: SOI and EOI are Container; every scan — SOS header and entropy-coded data — is
//! ImageData, so each scan of a progressive JPEG is its own atom; APPn (EXIF is APP1),
//! COM, quantisation and Huffman tables, frame headers and everything else are Metadata.
//! Fill bytes (`FF` runs before a marker) go with the marker they precede. Bytes after EOI
//! are left for Raw.

use super::{be_u16, Piece, Source, Split};
use crate::atom::AtomType;

/// How much of a scan's entropy-coded data is read at a time while looking for its end.
const SCAN_BLOCK: usize = 1 << 20;

/// Splits a JPEG into marker segments and scans.
pub fn split(source: &dyn Source) -> Result<Split, String> {
    let len = source.len();
    let read = |offset: u64, n: usize| source.read_vec(offset, n).map_err(|e| e.to_string());
    let mut pieces = vec![Piece::new(0, 2, AtomType::Container, "SOI")];
    let mut facts = Vec::new();
    let mut at = 2u64;
    loop {
        // Skip fill bytes: a marker is FF followed by a byte other than FF and 00.
        let start = at;
        let marker = loop {
            if at + 2 > len {
                return Err(format!("the file ends at byte {len} before EOI"));
            }
            let two = read(at, 2)?;
            if two[0] != 0xff {
                return Err(format!("no marker at byte {at}"));
            }
            if two[1] == 0xff {
                at += 1;
                continue;
            }
            if two[1] == 0x00 {
                return Err(format!("an escaped FF 00 outside a scan at byte {at}"));
            }
            break two[1];
        };
        at += 2;
        match marker {
            0xd9 => {
                pieces.push(Piece::new(start, at - start, AtomType::Container, "EOI"));
                return Ok((pieces, facts));
            }
            0xd8 | 0x01 | 0xd0..=0xd7 => {
                pieces.push(Piece::new(
                    start,
                    at - start,
                    AtomType::Metadata,
                    marker_name(marker),
                ));
                continue;
            }
            _ => {}
        }
        if at + 2 > len {
            return Err(format!(
                "marker {} at byte {start} has no length",
                marker_name(marker)
            ));
        }
        let segment_len = u64::from(be_u16(&read(at, 2)?, 0));
        if segment_len < 2 || at + segment_len > len {
            return Err(format!(
                "marker {} at byte {start} has a bad length",
                marker_name(marker)
            ));
        }
        let segment_end = at + segment_len;
        if matches!(marker, 0xc0..=0xcf)
            && !matches!(marker, 0xc4 | 0xc8 | 0xcc)
            && segment_len >= 8
        {
            let frame = read(at, 8)?;
            facts.retain(|(k, _): &(String, String)| k != "width" && k != "height");
            facts.push(("width".into(), be_u16(&frame, 5).to_string()));
            facts.push(("height".into(), be_u16(&frame, 3).to_string()));
            facts.push(("components".into(), frame[7].to_string()));
            facts.push((
                "progressive".into(),
                matches!(marker, 0xc2 | 0xc6 | 0xca | 0xce).to_string(),
            ));
        }
        if marker == 0xda {
            let end = scan_end(source, segment_end)?;
            pieces.push(Piece::new(start, end - start, AtomType::ImageData, "SOS"));
            at = end;
            continue;
        }
        let label = if marker == 0xe1 && segment_len >= 8 && read(at + 2, 6)? == b"Exif\0\0" {
            "APP1 Exif".to_string()
        } else {
            marker_name(marker)
        };
        pieces.push(Piece::new(
            start,
            segment_end - start,
            AtomType::Metadata,
            label,
        ));
        at = segment_end;
    }
}

/// Where the entropy-coded data that starts at `from` ends: at the first marker that is not
/// an escaped `FF 00`, a restart marker or a fill byte before one of those.
fn scan_end(source: &dyn Source, from: u64) -> Result<u64, String> {
    let len = source.len();
    let mut at = from;
    let mut block = vec![0u8; SCAN_BLOCK];
    while at < len {
        // One byte of overlap, so a marker split across blocks is seen whole.
        let n = (len - at).min(SCAN_BLOCK as u64) as usize;
        source
            .read_at(at, &mut block[..n])
            .map_err(|e| e.to_string())?;
        let bytes = &block[..n];
        let mut i = 0;
        while i + 1 < n {
            if bytes[i] == 0xff {
                match bytes[i + 1] {
                    0x00 | 0xd0..=0xd7 | 0xff => {}
                    _ => return Ok(at + i as u64),
                }
            }
            i += 1;
        }
        if n as u64 == len - at {
            break;
        }
        at += (n - 1) as u64;
    }
    Err(format!("the scan that starts at byte {from} never ends"))
}

fn marker_name(marker: u8) -> String {
    match marker {
        0xc4 => "DHT".into(),
        0xcc => "DAC".into(),
        0xc0..=0xcf => format!("SOF{}", marker - 0xc0),
        0xd0..=0xd7 => format!("RST{}", marker - 0xd0),
        0xd8 => "SOI".into(),
        0xda => "SOS".into(),
        0xdb => "DQT".into(),
        0xdd => "DRI".into(),
        0xe0..=0xef => format!("APP{}", marker - 0xe0),
        0xfe => "COM".into(),
        0x01 => "TEM".into(),
        other => format!("marker {other:02X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xff, marker];
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A structurally valid JPEG: two scans as a progressive file has, with escaped FFs and
    /// restart markers in the entropy-coded data.
    fn jpeg() -> Vec<u8> {
        let mut out = vec![0xff, 0xd8];
        out.extend(segment(0xe1, b"Exif\0\0MM\0*"));
        out.extend(segment(0xdb, &[0; 65]));
        out.extend(segment(0xc2, &[8, 0, 16, 0, 32, 3, 1, 0x22, 0]));
        out.extend(segment(0xc4, &[0; 20]));
        out.extend(segment(0xda, &[1, 1, 0, 0, 63, 0]));
        out.extend([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56]);
        out.extend(segment(0xda, &[1, 1, 0, 1, 63, 0]));
        out.extend([0x78, 0xff, 0xff, 0xd1, 0x9a]);
        out.extend([0xff, 0xd9]);
        out
    }

    #[test]
    fn splits_segments_and_each_scan() {
        let file = jpeg();
        let (pieces, facts) = split(&file).expect("splits");
        let kinds: Vec<_> = pieces
            .iter()
            .map(|p| (p.label.as_str(), p.atom_type))
            .collect();
        assert_eq!(
            kinds,
            [
                ("SOI", AtomType::Container),
                ("APP1 Exif", AtomType::Metadata),
                ("DQT", AtomType::Metadata),
                ("SOF2", AtomType::Metadata),
                ("DHT", AtomType::Metadata),
                ("SOS", AtomType::ImageData),
                ("SOS", AtomType::ImageData),
                ("EOI", AtomType::Container),
            ]
        );
        assert_eq!(pieces.iter().map(|p| p.len).sum::<u64>(), file.len() as u64);
        assert!(facts.contains(&("width".into(), "32".into())));
        assert!(facts.contains(&("progressive".into(), "true".into())));
    }

    #[test]
    fn truncated_or_broken_files_are_refused() {
        let file = jpeg();
        for cut in [3, 10, 40, file.len() - 1] {
            assert!(split(&file[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        let mut broken = file.clone();
        broken[2] = 0x00;
        assert!(split(&broken).is_err());
    }
}
