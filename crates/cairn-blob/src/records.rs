//! The records the store keeps in its cairn-log index, and their encodings.
//!
//! Keys:
//!
//! | key | value |
//! | --- | --- |
//! | `a` + 32-byte hash | [`AtomRecord`]: type, size, stored size, reference count, parent, children, metadata |
//! | `f` + name | [`FileRecord`]: the versions kept under the name |
//! | `m` + name + `0x00` + version (4 bytes, big-endian) | [`Manifest`] of that version |
//!
//! Values start with a format version byte (1), then fields in order: integers big-endian,
//! strings and lists prefixed by a 4-byte count. A record that does not decode is reported
//! as damaged, never guessed at.

use crate::atom::{AtomHash, AtomType};

const VERSION: u8 = 1;

/// Key of an atom's record.
pub fn atom_key(hash: &AtomHash) -> Vec<u8> {
    let mut key = Vec::with_capacity(33);
    key.push(b'a');
    key.extend_from_slice(&hash.0);
    key
}

/// Key of a name's record.
pub fn file_key(name: &str) -> Vec<u8> {
    let mut key = vec![b'f'];
    key.extend_from_slice(name.as_bytes());
    key
}

/// Key of one version's manifest.
pub fn manifest_key(name: &str, version: u32) -> Vec<u8> {
    let mut key = vec![b'm'];
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// What the index knows of an atom.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomRecord {
    pub atom_type: AtomType,
    /// Bytes of the atom.
    pub size: u64,
    /// Bytes it takes in the backend (0 for a parent, which has no bytes of its own).
    pub stored_size: u64,
    /// ContentRefs of all kept manifests that name it (as an atom or as a parent).
    pub refs: u64,
    /// The larger atom this one was cut from, if it was split for exceeding the maximum size.
    pub parent: Option<AtomHash>,
    /// The pieces of a parent atom, in order.
    pub children: Vec<AtomHash>,
    /// What the atom is in the file that first stored it: its label, its track…
    pub metadata: Vec<(String, String)>,
}

/// The names a file is kept under.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRecord {
    /// Versions kept, oldest first.
    pub versions: Vec<u32>,
    /// The number the next version will get.
    pub next_version: u32,
}

/// An atom's place in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRef {
    pub hash: AtomHash,
    pub atom_type: AtomType,
    /// Where the atom starts in the file.
    pub offset: u64,
    pub size: u64,
}

/// One stored version of a file: its atoms in order and what is known of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub name: String,
    pub version: u32,
    pub size: u64,
    /// SHA-256 of the whole file.
    pub sha256: AtomHash,
    /// `png`, `jpeg`, `mp4` or `unknown`.
    pub format: String,
    /// Why the format's splitter gave up, when it did.
    pub fallback: Option<String>,
    /// Media facts: dimensions, duration, codecs.
    pub facts: Vec<(String, String)>,
    /// When it was added, in milliseconds since the Unix epoch.
    pub added_ms: u64,
    /// The atoms, in file order; their bytes concatenated are the file.
    pub refs: Vec<ContentRef>,
    /// Parent atoms of pieces that were split for their size.
    pub parents: Vec<AtomHash>,
}

/// Appends fields.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn new() -> Writer {
        Writer(vec![VERSION])
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn hash(&mut self, h: &AtomHash) {
        self.0.extend_from_slice(&h.0);
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn pairs(&mut self, pairs: &[(String, String)]) {
        self.u32(pairs.len() as u32);
        for (k, v) in pairs {
            self.str(k);
            self.str(v);
        }
    }
}

/// Reads fields, every read checked against the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Result<Reader<'a>, String> {
        match bytes.split_first() {
            Some((&VERSION, rest)) => Ok(Reader { bytes: rest }),
            Some((v, _)) => Err(format!("unknown record version {v}")),
            None => Err("an empty record".into()),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err("the record is truncated".into());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn hash(&mut self) -> Result<AtomHash, String> {
        Ok(AtomHash(self.take(32)?.try_into().expect("32")))
    }
    fn atom_type(&mut self) -> Result<AtomType, String> {
        let code = self.u8()?;
        AtomType::from_code(code).ok_or_else(|| format!("unknown atom type {code}"))
    }
    fn str(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "a string is not UTF-8".into())
    }
    /// A count of items of at least `item_len` bytes each, checked against what is left.
    fn count(&mut self, item_len: usize) -> Result<usize, String> {
        let count = self.u32()? as usize;
        if count.saturating_mul(item_len) > self.bytes.len() {
            return Err("a list is longer than the record".into());
        }
        Ok(count)
    }
    fn pairs(&mut self) -> Result<Vec<(String, String)>, String> {
        let count = self.count(8)?;
        (0..count).map(|_| Ok((self.str()?, self.str()?))).collect()
    }
    fn end(self) -> Result<(), String> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err("bytes after the record".into())
        }
    }
}

impl AtomRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(self.atom_type.code());
        w.u64(self.size);
        w.u64(self.stored_size);
        w.u64(self.refs);
        match &self.parent {
            Some(parent) => {
                w.u8(1);
                w.hash(parent);
            }
            None => w.u8(0),
        }
        w.u32(self.children.len() as u32);
        for child in &self.children {
            w.hash(child);
        }
        w.pairs(&self.metadata);
        w.0
    }

    pub fn decode(bytes: &[u8]) -> Result<AtomRecord, String> {
        let mut r = Reader::new(bytes)?;
        let atom_type = r.atom_type()?;
        let (size, stored_size, refs) = (r.u64()?, r.u64()?, r.u64()?);
        let parent = match r.u8()? {
            0 => None,
            1 => Some(r.hash()?),
            other => return Err(format!("bad parent flag {other}")),
        };
        let count = r.count(32)?;
        let children = (0..count).map(|_| r.hash()).collect::<Result<_, _>>()?;
        let metadata = r.pairs()?;
        r.end()?;
        Ok(AtomRecord {
            atom_type,
            size,
            stored_size,
            refs,
            parent,
            children,
            metadata,
        })
    }
}

impl FileRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.next_version);
        w.u32(self.versions.len() as u32);
        for v in &self.versions {
            w.u32(*v);
        }
        w.0
    }

    pub fn decode(bytes: &[u8]) -> Result<FileRecord, String> {
        let mut r = Reader::new(bytes)?;
        let next_version = r.u32()?;
        let count = r.count(4)?;
        let versions = (0..count).map(|_| r.u32()).collect::<Result<_, _>>()?;
        r.end()?;
        Ok(FileRecord {
            versions,
            next_version,
        })
    }
}

impl Manifest {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(&self.name);
        w.u32(self.version);
        w.u64(self.size);
        w.hash(&self.sha256);
        w.str(&self.format);
        match &self.fallback {
            Some(why) => {
                w.u8(1);
                w.str(why);
            }
            None => w.u8(0),
        }
        w.pairs(&self.facts);
        w.u64(self.added_ms);
        w.u32(self.refs.len() as u32);
        for r in &self.refs {
            w.hash(&r.hash);
            w.u8(r.atom_type.code());
            w.u64(r.offset);
            w.u64(r.size);
        }
        w.u32(self.parents.len() as u32);
        for p in &self.parents {
            w.hash(p);
        }
        w.0
    }

    pub fn decode(bytes: &[u8]) -> Result<Manifest, String> {
        let mut r = Reader::new(bytes)?;
        let name = r.str()?;
        let version = r.u32()?;
        let size = r.u64()?;
        let sha256 = r.hash()?;
        let format = r.str()?;
        let fallback = match r.u8()? {
            0 => None,
            1 => Some(r.str()?),
            other => return Err(format!("bad fallback flag {other}")),
        };
        let facts = r.pairs()?;
        let added_ms = r.u64()?;
        let count = r.count(49)?;
        let refs = (0..count)
            .map(|_| {
                Ok(ContentRef {
                    hash: r.hash()?,
                    atom_type: r.atom_type()?,
                    offset: r.u64()?,
                    size: r.u64()?,
                })
            })
            .collect::<Result<_, String>>()?;
        let count = r.count(32)?;
        let parents = (0..count).map(|_| r.hash()).collect::<Result<_, _>>()?;
        r.end()?;
        Ok(Manifest {
            name,
            version,
            size,
            sha256,
            format,
            fallback,
            facts,
            added_ms,
            refs,
            parents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_refused() {
        let atom = AtomRecord {
            atom_type: AtomType::IFrame,
            size: 10,
            stored_size: 11,
            refs: 3,
            parent: Some(AtomHash::of(b"p")),
            children: vec![AtomHash::of(b"c")],
            metadata: vec![("label".into(), "sample 1".into())],
        };
        assert_eq!(AtomRecord::decode(&atom.encode()), Ok(atom.clone()));
        let manifest = Manifest {
            name: "a.mp4".into(),
            version: 2,
            size: 10,
            sha256: AtomHash::of(b"file"),
            format: "mp4".into(),
            fallback: None,
            facts: vec![("width".into(), "640".into())],
            added_ms: 5,
            refs: vec![ContentRef {
                hash: AtomHash::of(b"x"),
                atom_type: AtomType::Raw,
                offset: 0,
                size: 10,
            }],
            parents: vec![],
        };
        assert_eq!(Manifest::decode(&manifest.encode()), Ok(manifest.clone()));
        let file = FileRecord {
            versions: vec![1, 3],
            next_version: 4,
        };
        assert_eq!(FileRecord::decode(&file.encode()), Ok(file));
        let encoded = manifest.encode();
        for cut in 0..encoded.len() {
            assert!(Manifest::decode(&encoded[..cut]).is_err());
        }
        // A list count larger than the record cannot make the decoder allocate for it.
        let mut huge_count = vec![VERSION, 0];
        huge_count.extend_from_slice(&[0; 24]);
        huge_count.push(0);
        huge_count.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(AtomRecord::decode(&huge_count).is_err());
    }
}
