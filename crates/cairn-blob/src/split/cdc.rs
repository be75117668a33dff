//! Content-defined chunking: FastCDC (Xia et al., USENIX ATC 2016) with normalized chunking.
//!
//! A gear hash rolls over the bytes (`fp = (fp << 1) + GEAR[byte]`, so each fingerprint
//! depends on the last 64 bytes) and a chunk ends where `fp & mask == 0`. Before the average
//! size the mask has more bits (cuts are rarer), after it fewer (cuts come sooner), which
//! pulls chunk sizes towards the average; no chunk is shorter than `min` (except the last)
//! or longer than `max`. Because cut points depend only on nearby content, inserting or
//! removing bytes moves the cuts near the edit and leaves the others — and so the chunks,
//! and their hashes — unchanged.
//!
//! The gear table is fixed (generated from a constant seed): changing it would change every
//! cut point and so every Raw atom's hash.

/// Chunk sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizes {
    pub min: usize,
    pub avg: usize,
    pub max: usize,
}

impl ChunkSizes {
    /// 16 KiB, 64 KiB, 256 KiB: the default for Raw data.
    pub const DEFAULT: ChunkSizes = ChunkSizes {
        min: 16 << 10,
        avg: 64 << 10,
        max: 256 << 10,
    };
}

/// A chunker for one set of sizes: its masks precomputed.
#[derive(Debug, Clone, Copy)]
pub struct Chunker {
    sizes: ChunkSizes,
    mask_small: u64,
    mask_large: u64,
}

const GEAR: [u64; 256] = gear_table();

const fn gear_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut state = 0x6361_6972_6e2d_6364u64; // "cairn-cd"
    let mut i = 0;
    while i < 256 {
        // SplitMix64.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
}

/// A mask of `bits` one-bits spread over the fingerprint's upper 48 bits, which depend on
/// the most bytes.
fn spread_mask(bits: u32) -> u64 {
    let mut mask = 0u64;
    for j in 0..bits {
        mask |= 1 << (63 - j * 48 / bits);
    }
    mask
}

impl Chunker {
    /// A chunker cutting at `sizes`; `avg` should be a power of two.
    pub fn new(sizes: ChunkSizes) -> Chunker {
        assert!(sizes.min <= sizes.avg && sizes.avg <= sizes.max && sizes.min > 0);
        let bits = sizes.avg.max(2).ilog2();
        Chunker {
            sizes,
            mask_small: spread_mask(bits + 2),
            mask_large: spread_mask(bits.saturating_sub(2).max(1)),
        }
    }

    pub fn sizes(&self) -> ChunkSizes {
        self.sizes
    }

    /// Length of the chunk that starts `data`. `data` must hold at least `max` bytes unless
    /// it is the end of the stream; the whole of a shorter `data` is then one chunk if no
    /// cut point is found.
    pub fn cut(&self, data: &[u8]) -> usize {
        let ChunkSizes { min, avg, max } = self.sizes;
        if data.len() <= min {
            return data.len();
        }
        let normal = avg.min(data.len());
        let end = max.min(data.len());
        let mut fp = 0u64;
        if let Some(cut) = scan(data, min, normal, &mut fp, self.mask_small) {
            return cut;
        }
        scan(data, normal, end, &mut fp, self.mask_large).unwrap_or(end)
    }

    /// The lengths of the chunks of a whole buffer, in order.
    pub fn chunks(&self, mut data: &[u8]) -> Vec<usize> {
        let mut lengths = Vec::new();
        while !data.is_empty() {
            let len = self.cut(data);
            lengths.push(len);
            data = &data[len..];
        }
        lengths
    }
}

/// Rolls the gear hash `fp` over `data[from..to]` and returns the position just past the
/// first byte where `fp & mask == 0`, or `None` with `fp` rolled to `to`.
///
/// Four bytes a step: the fingerprint after byte `k` of a step is the one before the step
/// shifted by `k + 1` plus the step's gear values shifted into place, so the four are
/// computed side by side instead of each waiting on the last (the loop-carried chain is one
/// shift and one add per four bytes). The cut points are exactly those of the byte-by-byte
/// rule.
#[inline(always)]
fn scan(data: &[u8], from: usize, to: usize, fp: &mut u64, mask: u64) -> Option<usize> {
    let gear = |i: usize| GEAR[usize::from(data[i])];
    let mut f = *fp;
    let mut i = from;
    while i + 4 <= to {
        let (g0, g1, g2, g3) = (gear(i), gear(i + 1), gear(i + 2), gear(i + 3));
        let f0 = (f << 1).wrapping_add(g0);
        let t1 = (g0 << 1).wrapping_add(g1);
        let f1 = (f << 2).wrapping_add(t1);
        let t2 = (t1 << 1).wrapping_add(g2);
        let f2 = (f << 3).wrapping_add(t2);
        let f3 = (f << 4).wrapping_add((t2 << 1).wrapping_add(g3));
        if (f0 & mask == 0) | (f1 & mask == 0) | (f2 & mask == 0) | (f3 & mask == 0) {
            let hit = [f0, f1, f2, f3].iter().position(|f| f & mask == 0);
            return hit.map(|k| i + k + 1);
        }
        f = f3;
        i += 4;
    }
    while i < to {
        f = (f << 1).wrapping_add(gear(i));
        i += 1;
        if f & mask == 0 {
            return Some(i);
        }
    }
    *fp = f;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn chunks_cover_the_data_within_bounds_near_the_average() {
        let chunker = Chunker::new(ChunkSizes::DEFAULT);
        let data = noise(8 << 20, 1);
        let lengths = chunker.chunks(&data);
        assert_eq!(lengths.iter().sum::<usize>(), data.len());
        let (last, rest) = lengths.split_last().expect("chunks");
        assert!(rest.iter().all(|&l| (16 << 10..=256 << 10).contains(&l)));
        assert!(*last <= 256 << 10);
        let mean = data.len() / lengths.len();
        assert!((40 << 10..100 << 10).contains(&mean), "mean chunk {mean}");
    }

    #[test]
    fn an_insertion_changes_only_the_chunks_near_it() {
        let chunker = Chunker::new(ChunkSizes::DEFAULT);
        let data = noise(4 << 20, 2);
        let mut edited = data.clone();
        edited.splice(1_000_000..1_000_000, b"inserted bytes".iter().copied());
        let pieces = |d: &[u8]| {
            let mut at = 0;
            chunker
                .chunks(d)
                .into_iter()
                .map(|len| {
                    at += len;
                    d[at - len..at].to_vec()
                })
                .collect::<std::collections::HashSet<_>>()
        };
        let (before, after) = (pieces(&data), pieces(&edited));
        let shared = before.intersection(&after).count();
        assert!(
            shared + 3 >= before.len(),
            "{shared} of {} chunks survive",
            before.len()
        );
    }

    /// The byte-by-byte rule of the module doc, which the four-bytes-a-step scan must match.
    fn reference_cut(chunker: &Chunker, data: &[u8]) -> usize {
        let ChunkSizes { min, avg, max } = chunker.sizes;
        if data.len() <= min {
            return data.len();
        }
        let mut fp = 0u64;
        for (i, &byte) in data.iter().enumerate().take(max).skip(min) {
            fp = (fp << 1).wrapping_add(GEAR[usize::from(byte)]);
            let mask = if i < avg {
                chunker.mask_small
            } else {
                chunker.mask_large
            };
            if fp & mask == 0 {
                return i + 1;
            }
        }
        max.min(data.len())
    }

    #[test]
    fn cuts_are_those_of_the_byte_by_byte_rule() {
        // Small sizes, so that many cuts, both masks and every loop tail are exercised.
        for (min, avg, max) in [(64, 256, 1024), (61, 256, 997), (1, 2, 3), (16, 16, 16)] {
            let chunker = Chunker::new(ChunkSizes { min, avg, max });
            for seed in 1..40u64 {
                let data = noise(3000 + seed as usize * 37, seed);
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let len = chunker.cut(rest);
                    assert_eq!(
                        len,
                        reference_cut(&chunker, rest),
                        "sizes {min}/{avg}/{max}"
                    );
                    rest = &rest[len..];
                }
            }
        }
    }
}
