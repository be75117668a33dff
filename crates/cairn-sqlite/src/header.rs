//! The 100-byte database header at the start of page 1.
//!
//! On-disk format (all integers big-endian; offsets in bytes):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 16 | `"SQLite format 3\0"` |
//! | 16 | 2 | page size: a power of two from 512 to 32768, or 1 meaning 65536 |
//! | 18 | 1 | file format write version: 1 rollback journal, 2 WAL |
//! | 19 | 1 | file format read version: 1 or 2; a larger one cannot be read |
//! | 20 | 1 | bytes reserved at the end of every page |
//! | 21 | 1 | maximum embedded payload fraction, must be 64 |
//! | 22 | 1 | minimum embedded payload fraction, must be 32 |
//! | 23 | 1 | leaf payload fraction, must be 32 |
//! | 24 | 4 | file change counter |
//! | 28 | 4 | database size in pages (valid when 92 equals 24) |
//! | 32 | 4 | first freelist trunk page |
//! | 36 | 4 | number of freelist pages |
//! | 40 | 4 | schema cookie |
//! | 44 | 4 | schema format number, 1 to 4 |
//! | 48 | 4 | default page cache size |
//! | 52 | 4 | largest root b-tree page (auto-vacuum), else 0 |
//! | 56 | 4 | text encoding: 1 UTF-8, 2 UTF-16le, 3 UTF-16be |
//! | 60 | 4 | user version |
//! | 64 | 4 | incremental vacuum mode, non-zero for incremental |
//! | 68 | 4 | application id |
//! | 72 | 20 | reserved for expansion, zero |
//! | 92 | 4 | version-valid-for number |
//! | 96 | 4 | SQLITE_VERSION_NUMBER of the last writer |

/// The magic string every SQLite 3 file starts with.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Size of the header.
pub const HEADER_SIZE: usize = 100;

/// How text values are encoded in this database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

impl TextEncoding {
    /// The name SQLite's `PRAGMA encoding` gives.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16Le => "UTF-16le",
            TextEncoding::Utf16Be => "UTF-16be",
        }
    }

    /// Decodes text stored in this encoding; invalid sequences become U+FFFD, as SQLite's own
    /// conversions do.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            TextEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
                let units = bytes.chunks_exact(2).map(|pair| {
                    let pair = [pair[0], pair[1]];
                    if self == TextEncoding::Utf16Le {
                        u16::from_le_bytes(pair)
                    } else {
                        u16::from_be_bytes(pair)
                    }
                });
                char::decode_utf16(units)
                    .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect()
            }
        }
    }

    /// Encodes text the way this database stores it.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            TextEncoding::Utf8 => text.as_bytes().to_vec(),
            TextEncoding::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            TextEncoding::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        }
    }
}

/// The parsed and validated database header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Page size in bytes, 512 to 65536.
    pub page_size: u32,
    /// 1 for the rollback journal, 2 for WAL.
    pub write_version: u8,
    /// 1 for the rollback journal, 2 for WAL.
    pub read_version: u8,
    /// Bytes at the end of each page that are not b-tree content (used by extensions).
    pub reserved_bytes: u8,
    pub change_counter: u32,
    /// The page count stored in the header (trusted only when `version_valid_for` matches
    /// `change_counter`; see [`Header::trusted_page_count`]).
    pub page_count: u32,
    pub first_freelist_trunk: u32,
    pub freelist_pages: u32,
    pub schema_cookie: u32,
    /// 1 to 4; descending indexes need 4. 0 in a database that has no schema yet.
    pub schema_format: u32,
    pub default_cache_size: i32,
    /// Non-zero in an auto-vacuum database: the largest root page number.
    pub largest_root_page: u32,
    pub text_encoding: TextEncoding,
    pub user_version: i32,
    /// Non-zero when auto-vacuum is incremental.
    pub incremental_vacuum: u32,
    pub application_id: i32,
    pub version_valid_for: u32,
    /// SQLITE_VERSION_NUMBER of the library that last wrote the file, e.g. 3050002.
    pub sqlite_version: u32,
}

impl Header {
    /// Parses and validates the header. The error is a sentence saying what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Header, String> {
        if bytes.len() < HEADER_SIZE {
            return Err(format!(
                "the file is truncated: {} bytes long, shorter than the 100-byte header",
                bytes.len()
            ));
        }
        if &bytes[..16] != MAGIC {
            return Err("the file does not start with \"SQLite format 3\"".into());
        }
        let u32_at = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let raw_page_size = u16::from_be_bytes([bytes[16], bytes[17]]);
        let page_size = match raw_page_size {
            1 => 65536,
            n if (512..=32768).contains(&n) && n.is_power_of_two() => u32::from(n),
            n => {
                return Err(format!(
                    "page size {n} is not a power of two from 512 to 65536"
                ))
            }
        };
        let (write_version, read_version) = (bytes[18], bytes[19]);
        // A write version above 2 only makes the file read-only to SQLite; a read version
        // above 2 means a format this reader does not know.
        if read_version > 2 {
            return Err(format!(
                "file format read version {read_version} is not 1 or 2: written by a newer SQLite"
            ));
        }
        let reserved_bytes = bytes[20];
        if page_size - u32::from(reserved_bytes) < 480 {
            return Err(format!(
                "{reserved_bytes} reserved bytes leave fewer than 480 usable bytes in a {page_size}-byte page"
            ));
        }
        if (bytes[21], bytes[22], bytes[23]) != (64, 32, 32) {
            return Err(format!(
                "payload fractions {}/{}/{} are not 64/32/32",
                bytes[21], bytes[22], bytes[23]
            ));
        }
        let schema_format = u32_at(44);
        if schema_format > 4 {
            return Err(format!("schema format {schema_format} is not 1 to 4"));
        }
        let text_encoding = match u32_at(56) {
            // A database whose schema was never written has no encoding yet; SQLite then
            // uses UTF-8.
            0 | 1 => TextEncoding::Utf8,
            2 => TextEncoding::Utf16Le,
            3 => TextEncoding::Utf16Be,
            n => return Err(format!("text encoding {n} is not 1, 2 or 3")),
        };
        Ok(Header {
            page_size,
            write_version,
            read_version,
            reserved_bytes,
            change_counter: u32_at(24),
            page_count: u32_at(28),
            first_freelist_trunk: u32_at(32),
            freelist_pages: u32_at(36),
            schema_cookie: u32_at(40),
            schema_format,
            default_cache_size: u32_at(48) as i32,
            largest_root_page: u32_at(52),
            text_encoding,
            user_version: u32_at(60) as i32,
            incremental_vacuum: u32_at(64),
            application_id: u32_at(68) as i32,
            version_valid_for: u32_at(92),
            sqlite_version: u32_at(96),
        })
    }

    /// Bytes of each page available to b-tree content.
    pub fn usable_size(&self) -> u32 {
        self.page_size - u32::from(self.reserved_bytes)
    }

    /// True when the file is in WAL mode (SQLite looks at the read version).
    pub fn wal_mode(&self) -> bool {
        self.read_version == 2
    }

    /// True when the database uses auto-vacuum (pointer-map pages).
    pub fn auto_vacuum(&self) -> bool {
        self.largest_root_page != 0
    }

    /// The header's page count when SQLite would trust it: non-zero and written by a
    /// version that maintains it (version-valid-for equal to the change counter).
    pub fn trusted_page_count(&self) -> Option<u32> {
        (self.page_count != 0 && self.version_valid_for == self.change_counter)
            .then_some(self.page_count)
    }

    /// The writer's version as text, e.g. "3.50.2".
    pub fn sqlite_version_text(&self) -> String {
        let v = self.sqlite_version;
        format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Vec<u8> {
        let mut bytes = vec![0u8; 100];
        bytes[..16].copy_from_slice(MAGIC);
        bytes[16..18].copy_from_slice(&4096u16.to_be_bytes());
        bytes[18] = 1;
        bytes[19] = 1;
        bytes[21..24].copy_from_slice(&[64, 32, 32]);
        bytes[44..48].copy_from_slice(&4u32.to_be_bytes());
        bytes[56..60].copy_from_slice(&1u32.to_be_bytes());
        bytes
    }

    #[test]
    fn parses_a_valid_header_and_the_65536_encoding() {
        let header = Header::parse(&valid()).expect("valid");
        assert_eq!(header.page_size, 4096);
        assert_eq!(header.text_encoding, TextEncoding::Utf8);
        let mut big = valid();
        big[16..18].copy_from_slice(&1u16.to_be_bytes());
        assert_eq!(Header::parse(&big).expect("valid").page_size, 65536);
    }

    #[test]
    fn refuses_what_is_not_sqlite() {
        type Damage = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(Damage, &str)> = vec![
            (Box::new(|b| b.truncate(50)), "shorter"),
            (Box::new(|b| b[0] = b'X'), "does not start"),
            (
                Box::new(|b| b[16..18].copy_from_slice(&1000u16.to_be_bytes())),
                "power of two",
            ),
            (Box::new(|b| b[19] = 3), "newer SQLite"),
            (Box::new(|b| b[21] = 65), "fractions"),
            (
                Box::new(|b| b[56..60].copy_from_slice(&9u32.to_be_bytes())),
                "encoding",
            ),
            (
                Box::new(|b| {
                    b[16..18].copy_from_slice(&512u16.to_be_bytes());
                    b[20] = 40;
                }),
                "usable",
            ),
        ];
        for (damage, expected) in cases {
            let mut bytes = valid();
            damage(&mut bytes);
            let error = Header::parse(&bytes).expect_err(expected);
            assert!(
                error.contains(expected),
                "{error} should mention {expected}"
            );
        }
    }

    #[test]
    fn utf16_round_trips() {
        for encoding in [
            TextEncoding::Utf16Le,
            TextEncoding::Utf16Be,
            TextEncoding::Utf8,
        ] {
            let text = "héllo, 世界 🎉";
            assert_eq!(encoding.decode(&encoding.encode(text)), text);
        }
    }
}
