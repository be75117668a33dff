//! The bloom filter: answers "this key is absent" without touching the index or a segment.
//!
//! A *scalable* filter: a list of layers, each a *blocked* bloom filter. A key sets, and a
//! lookup tests, [`PROBES`] bits inside one 512-bit block (one cache line), so a lookup costs one
//! cache miss per layer. Inserts go to the newest layer; when it has taken its capacity, a layer
//! of twice the capacity and a tighter false-positive target (more bits per key) is added, so
//! the filter grows with the keyspace while the sum of the layers' false-positive rates stays
//! under 1 % (tested below). Bits are atomics and layers, once added, never move: lookups and
//! inserts take no lock (only adding a layer does).
//!
//! The filter cannot forget: deleted keys leave their bits set. When the store opens and finds
//! more than one layer, or far more inserts than live keys, it rebuilds one right-sized layer from
//! the index's key hashes (no segment is read).
//!
//! ```text
//! bloom_filter.blm (little-endian)
//! 0   4  magic "CLBF"
//! 4   4  format version 1
//! 8   4  layer count
//! 12  4  CRC32C of bytes 0..12
//! then per layer:
//!     0   8  capacity (keys)
//!     8   8  keys inserted
//!     16  8  blocks (of 64 bytes)
//!     24  4  CRC32C of this layer's header bytes 0..24 and of its blocks
//!     28  blocks × 64 bytes of bits (u64 words, little-endian)
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

/// Bits set per key, all in one block.
const PROBES: u32 = 8;
const BLOCK_WORDS: usize = 8;
const BLOCK_BYTES: usize = BLOCK_WORDS * 8;
/// Bits per key of the first layer; each later layer adds [`BITS_PER_KEY_STEP`].
const BASE_BITS_PER_KEY: u64 = 13;
const BITS_PER_KEY_STEP: u64 = 3;
/// Layers double in capacity: 40 of them hold 2^40 times the first one's keys.
const MAX_LAYERS: usize = 40;
const MAGIC: [u8; 4] = *b"CLBF";
const VERSION: u32 = 1;

struct Layer {
    words: Box<[AtomicU64]>,
    blocks: u64,
    capacity: u64,
    inserted: AtomicU64,
    salt: u64,
}

impl Layer {
    fn new(capacity: u64, bits_per_key: u64, salt: u64) -> Layer {
        let blocks = (capacity * bits_per_key).div_ceil(512).max(1);
        Layer::with_blocks(capacity, blocks, salt)
    }

    fn with_blocks(capacity: u64, blocks: u64, salt: u64) -> Layer {
        let words = (0..blocks as usize * BLOCK_WORDS)
            .map(|_| AtomicU64::new(0))
            .collect();
        Layer {
            words,
            blocks,
            capacity,
            inserted: AtomicU64::new(0),
            salt,
        }
    }

    /// The block's first word and the [`PROBES`] bit positions (0..512) of `hash` in it, by
    /// double hashing.
    fn probes(&self, hash: u64) -> (usize, impl Iterator<Item = usize>) {
        let mixed = mix(hash ^ self.salt);
        let block = ((u128::from(mixed) * u128::from(self.blocks)) >> 64) as usize;
        // Both probe hashes must be independent of the bits that chose the block, or keys of
        // one block would share probe patterns.
        let h1 = mix(mixed);
        let h2 = mix(h1) | 1;
        let bits = (0..u64::from(PROBES))
            .map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) >> 55) as usize);
        (block * BLOCK_WORDS, bits)
    }

    fn insert(&self, hash: u64) {
        let (base, bits) = self.probes(hash);
        for bit in bits {
            self.words[base + bit / 64].fetch_or(1 << (bit % 64), Ordering::Relaxed);
        }
        self.inserted.fetch_add(1, Ordering::Relaxed);
    }

    fn may_contain(&self, hash: u64) -> bool {
        let (base, mut bits) = self.probes(hash);
        bits.all(|bit| self.words[base + bit / 64].load(Ordering::Relaxed) & (1 << (bit % 64)) != 0)
    }
}

/// A finaliser (from SplitMix64) spreading the key hash over all bits.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^ (x >> 31)
}

/// The scalable bloom filter.
pub(crate) struct Bloom {
    layers: Box<[OnceLock<Layer>]>,
    /// Layers in use: `layers[..count]` are all set.
    count: AtomicUsize,
    grow: Mutex<()>,
}

impl std::fmt::Debug for Bloom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bloom")
            .field("layers", &self.layers())
            .finish()
    }
}

impl Bloom {
    /// An empty filter whose first layer holds `capacity` keys.
    pub fn new(capacity: u64) -> Bloom {
        Bloom::from_layers(vec![Layer::new(capacity.max(1024), BASE_BITS_PER_KEY, 0)])
    }

    fn from_layers(layers: Vec<Layer>) -> Bloom {
        let count = layers.len();
        let slots: Box<[OnceLock<Layer>]> = (0..MAX_LAYERS).map(|_| OnceLock::new()).collect();
        for (slot, layer) in slots.iter().zip(layers) {
            let _ = slot.set(layer);
        }
        Bloom {
            layers: slots,
            count: AtomicUsize::new(count),
            grow: Mutex::new(()),
        }
    }

    fn in_use(&self) -> impl Iterator<Item = &Layer> + '_ {
        let n = self.count.load(Ordering::Acquire);
        self.layers[..n].iter().filter_map(OnceLock::get)
    }

    fn last(&self) -> (usize, &Layer) {
        let n = self.count.load(Ordering::Acquire);
        let layer = self.layers[n - 1]
            .get()
            .expect("layers below count are set");
        (n, layer)
    }

    pub fn insert(&self, hash: u64) {
        let (n, last) = self.last();
        if last.inserted.load(Ordering::Relaxed) < last.capacity || n == MAX_LAYERS {
            last.insert(hash);
            return;
        }
        let _grow = self.grow.lock();
        let (n, last) = self.last();
        if last.inserted.load(Ordering::Relaxed) >= last.capacity && n < MAX_LAYERS {
            let bits = BASE_BITS_PER_KEY + BITS_PER_KEY_STEP * n as u64;
            let _ = self.layers[n].set(Layer::new(last.capacity * 2, bits, mix(n as u64)));
            self.count.store(n + 1, Ordering::Release);
        }
        self.last().1.insert(hash);
    }

    /// False means the key was certainly never inserted.
    pub fn may_contain(&self, hash: u64) -> bool {
        self.in_use().any(|l| l.may_contain(hash))
    }

    pub fn layers(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Keys inserted over all layers (deleted keys included).
    pub fn inserted(&self) -> u64 {
        self.in_use()
            .map(|l| l.inserted.load(Ordering::Relaxed))
            .sum()
    }

    /// Bytes of bits held.
    pub fn bytes(&self) -> u64 {
        self.in_use().map(|l| l.blocks * 64).sum()
    }

    /// Serialises the filter (format in the module doc).
    pub fn encode(&self) -> Vec<u8> {
        let layers: Vec<&Layer> = self.in_use().collect();
        let mut out = Vec::with_capacity(
            16 + layers
                .iter()
                .map(|l| 28 + l.blocks as usize * 64)
                .sum::<usize>(),
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(layers.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        for layer in layers {
            let start = out.len();
            out.extend_from_slice(&layer.capacity.to_le_bytes());
            out.extend_from_slice(&layer.inserted.load(Ordering::Relaxed).to_le_bytes());
            out.extend_from_slice(&layer.blocks.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            for w in layer.words.iter() {
                out.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
            let crc =
                crc32c::crc32c_append(crc32c::crc32c(&out[start..start + 24]), &out[start + 28..]);
            out[start + 24..start + 28].copy_from_slice(&crc.to_le_bytes());
        }
        out
    }

    /// Parses [`Bloom::encode`]'s output. Errors carry the offset of the damaged part.
    pub fn decode(bytes: &[u8]) -> Result<Bloom, (u64, String)> {
        let field = |at: usize, n: usize| {
            bytes
                .get(at..at + n)
                .ok_or((at as u64, "truncated".to_string()))
        };
        let u32_at = |at: usize| -> Result<u32, (u64, String)> {
            Ok(u32::from_le_bytes(
                field(at, 4)?
                    .try_into()
                    .map_err(|_| (at as u64, "truncated".to_string()))?,
            ))
        };
        let u64_at = |at: usize| -> Result<u64, (u64, String)> {
            Ok(u64::from_le_bytes(
                field(at, 8)?
                    .try_into()
                    .map_err(|_| (at as u64, "truncated".to_string()))?,
            ))
        };
        if field(0, 4)? != MAGIC {
            return Err((0, "bad bloom filter magic".into()));
        }
        if u32_at(4)? != VERSION {
            return Err((4, "unknown bloom filter version".into()));
        }
        if crc32c::crc32c(field(0, 12)?) != u32_at(12)? {
            return Err((12, "bloom filter header checksum mismatch".into()));
        }
        let count = u32_at(8)?;
        let mut at = 16usize;
        let mut layers = Vec::new();
        for n in 0..count {
            let capacity = u64_at(at)?;
            let inserted = u64_at(at + 8)?;
            let blocks = u64_at(at + 16)?;
            let stored_crc = u32_at(at + 24)?;
            let len = usize::try_from(blocks)
                .ok()
                .and_then(|b| b.checked_mul(BLOCK_BYTES))
                .ok_or((at as u64 + 16, "impossible block count".to_string()))?;
            let bits = bytes
                .get(at + 28..at + 28 + len)
                .ok_or((at as u64, "bloom layer truncated".to_string()))?;
            let crc = crc32c::crc32c_append(crc32c::crc32c(field(at, 24)?), bits);
            if crc != stored_crc || blocks == 0 {
                return Err((at as u64, format!("bloom layer {n} checksum mismatch")));
            }
            let layer =
                Layer::with_blocks(capacity, blocks, if n == 0 { 0 } else { mix(u64::from(n)) });
            for (w, chunk) in layer.words.iter().zip(bits.chunks_exact(8)) {
                let mut x = [0u8; 8];
                x.copy_from_slice(chunk);
                w.store(u64::from_le_bytes(x), Ordering::Relaxed);
            }
            layer.inserted.store(inserted, Ordering::Relaxed);
            layers.push(layer);
            at += 28 + len;
        }
        if layers.is_empty() || layers.len() > MAX_LAYERS || at != bytes.len() {
            return Err((
                at as u64,
                "bloom filter has trailing or missing layers".into(),
            ));
        }
        Ok(Bloom::from_layers(layers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(bloom: &Bloom, probes: u64) -> f64 {
        let hits = (0..probes)
            .filter(|i| bloom.may_contain(mix(i + (1 << 40))))
            .count();
        hits as f64 / probes as f64
    }

    #[test]
    fn no_false_negatives() {
        let bloom = Bloom::new(10_000);
        for i in 0..50_000u64 {
            bloom.insert(mix(i));
        }
        assert!((0..50_000u64).all(|i| bloom.may_contain(mix(i))));
    }

    #[test]
    fn false_positives_stay_under_one_percent_at_capacity() {
        let bloom = Bloom::new(100_000);
        for i in 0..100_000u64 {
            bloom.insert(mix(i));
        }
        assert_eq!(bloom.layers(), 1);
        let fp = rate(&bloom, 200_000);
        assert!(fp < 0.01, "false-positive rate {fp}");
    }

    #[test]
    fn false_positives_stay_under_one_percent_as_it_grows() {
        let bloom = Bloom::new(2048);
        // 2048 + 4096 + ... : fill seven layers to their capacity.
        let total = 2048u64 * ((1 << 7) - 1);
        for i in 0..total {
            bloom.insert(mix(i));
        }
        assert_eq!(bloom.layers(), 7);
        let fp = rate(&bloom, 400_000);
        assert!(
            fp < 0.01,
            "false-positive rate {fp} over {} layers",
            bloom.layers()
        );
        // Layers tighten geometrically, so the sum converges: more layers would add little.
        assert!(
            fp < 0.008,
            "false-positive rate {fp} leaves too little room for growth"
        );
    }

    #[test]
    fn encoding_round_trips_and_detects_flips() {
        let bloom = Bloom::new(1024);
        for i in 0..3000u64 {
            bloom.insert(mix(i));
        }
        let bytes = bloom.encode();
        let back = Bloom::decode(&bytes).expect("decodes");
        assert_eq!(back.layers(), bloom.layers());
        assert!((0..3000u64).all(|i| back.may_contain(mix(i))));
        for at in [0, 5, 9, 13, 20, 40, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x04;
            assert!(Bloom::decode(&bad).is_err(), "flip at {at} accepted");
        }
        assert!(Bloom::decode(&bytes[..bytes.len() - 3]).is_err());
    }
}
