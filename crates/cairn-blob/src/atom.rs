//! Atoms: content-addressed pieces of files, named by the SHA-256 of their bytes and typed
//! by what they are in their file (the seed's twelve AtomTypes).
//!
//! The text form of an atom's name is `atom://sha256:<64 hex digits>`.

use std::fmt;

use sha2::{Digest, Sha256};

/// What an atom is within its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomType {
    /// Container structure: a PNG signature or IEND, JPEG markers, MP4 boxes.
    Container,
    /// A whole video stream (when it is not split into samples).
    VideoStream,
    /// A whole audio stream.
    AudioStream,
    /// A video sample that decodes on its own (a sync sample, a keyframe).
    IFrame,
    /// A video sample predicted from earlier ones.
    PFrame,
    /// A video sample predicted from earlier and later ones.
    BFrame,
    /// An audio sample.
    AudioChunk,
    /// A subtitle sample.
    Subtitle,
    /// Image data: PNG IDAT, a JPEG scan.
    ImageData,
    /// Metadata: PNG IHDR and text chunks, JPEG APPn (EXIF), tables.
    Metadata,
    /// Compressed data of another format.
    Compressed,
    /// Bytes of no known structure, cut by content-defined chunking.
    Raw,
}

impl AtomType {
    /// Every type, in the order of their codes.
    pub const ALL: [AtomType; 12] = [
        AtomType::Container,
        AtomType::VideoStream,
        AtomType::AudioStream,
        AtomType::IFrame,
        AtomType::PFrame,
        AtomType::BFrame,
        AtomType::AudioChunk,
        AtomType::Subtitle,
        AtomType::ImageData,
        AtomType::Metadata,
        AtomType::Compressed,
        AtomType::Raw,
    ];

    /// The type's one-byte code on disk.
    pub fn code(self) -> u8 {
        AtomType::ALL
            .iter()
            .position(|&t| t == self)
            .expect("in ALL") as u8
    }

    /// The type of a code, if it is one.
    pub fn from_code(code: u8) -> Option<AtomType> {
        AtomType::ALL.get(usize::from(code)).copied()
    }

    /// The seed's name, e.g. `IFrame`.
    pub fn name(self) -> &'static str {
        match self {
            AtomType::Container => "Container",
            AtomType::VideoStream => "VideoStream",
            AtomType::AudioStream => "AudioStream",
            AtomType::IFrame => "IFrame",
            AtomType::PFrame => "PFrame",
            AtomType::BFrame => "BFrame",
            AtomType::AudioChunk => "AudioChunk",
            AtomType::Subtitle => "Subtitle",
            AtomType::ImageData => "ImageData",
            AtomType::Metadata => "Metadata",
            AtomType::Compressed => "Compressed",
            AtomType::Raw => "Raw",
        }
    }

    /// True for data already compressed by its format (IDAT, JPEG scans, coded video and
    /// audio): compressing it again costs time and saves nothing.
    pub fn is_precompressed(self) -> bool {
        matches!(
            self,
            AtomType::ImageData
                | AtomType::IFrame
                | AtomType::PFrame
                | AtomType::BFrame
                | AtomType::AudioChunk
                | AtomType::VideoStream
                | AtomType::AudioStream
                | AtomType::Compressed
        )
    }
}

impl fmt::Display for AtomType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The SHA-256 of an atom's bytes: its name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AtomHash(pub [u8; 32]);

impl AtomHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> AtomHash {
        AtomHash(Sha256::digest(bytes).into())
    }

    /// The 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex digits, or the `atom://sha256:` form.
    pub fn parse(text: &str) -> Option<AtomHash> {
        let hex = text.strip_prefix("atom://sha256:").unwrap_or(text);
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(AtomHash(bytes))
    }

    /// The text form, `atom://sha256:<hex>`.
    pub fn uri(&self) -> String {
        format!("atom://sha256:{}", self.to_hex())
    }
}

impl fmt::Debug for AtomHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_hex()[..16])
    }
}

impl fmt::Display for AtomHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_with_a_text_form() {
        let hash = AtomHash::of(b"abc");
        assert_eq!(
            hash.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(AtomHash::parse(&hash.uri()), Some(hash));
        assert_eq!(AtomHash::parse(&hash.to_hex()), Some(hash));
        assert_eq!(AtomHash::parse("atom://sha256:xyz"), None);
    }

    #[test]
    fn type_codes_round_trip() {
        for t in AtomType::ALL {
            assert_eq!(AtomType::from_code(t.code()), Some(t));
        }
        assert_eq!(AtomType::from_code(12), None);
    }
}
