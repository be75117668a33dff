//! SHA-256 of a stream and of the messages cut from it, hashed side by side on one core.
//!
//! Ingestion hashes every byte twice: once for the whole file's hash, once for the atom it
//! belongs to. With the x86 SHA extensions a 64-byte block is a chain of 32 `sha256rnds2`
//! instructions, each waiting for the last, which leaves the SHA unit idle most of the time;
//! two independent messages, their rounds interleaved, fill it. Measured on cairn's 2-core
//! development machine (Xeon, Sapphire Rapids class): over bytes in cache, one message
//! 1.7 GB/s and two side by side 2.15 GB/s in all; over bytes streamed from memory, 1.2 and
//! 2.0 GB/s — two hashes of the same bytes read them once.
//!
//! Hashing is organised in two **lanes**, each a SHA-256 state and a queue of **runs** of
//! 64-byte blocks: slices of the caller's bytes, or blocks assembled here (a block straddling
//! two calls, a message's padded tail). `pair` compresses the lanes' blocks two at a time,
//! one from each lane, then what is left of the longer lane alone. A run may end a message:
//! the lane's state is then that message's digest, and starts over.
//!
//! Without the SHA extensions (or off x86-64), blocks go one at a time to the `sha2` crate's
//! compression function: the same digests, no pairing.
//!
//! Kept only while it pays: `bench/src/sha256` runs the ingest path's hashing (1 MiB jobs of
//! 64 KiB atoms, file and atom hashes) here and with `sha2` alone. Measured (2026-12, the
//! machine above, SHA-NI in both): 1,088 MB/s of file bytes against `sha2`'s 917, 1.19×.

use crate::atom::AtomHash;

type Block = [u8; 64];

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The whole file's hash, fed in order, piece by piece.
pub struct Sha256Stream {
    state: [u32; 8],
    /// Bytes of a block not yet complete.
    partial: Block,
    partial_len: usize,
    len: u64,
}

impl Default for Sha256Stream {
    fn default() -> Self {
        Sha256Stream {
            state: IV,
            partial: [0; 64],
            partial_len: 0,
            len: 0,
        }
    }
}

impl Sha256Stream {
    /// Feeds `data` to the stream and returns the SHA-256 of each of `messages` (usually
    /// slices of `data`), hashed beside it.
    pub fn update_with<'a>(
        &mut self,
        data: &[u8],
        messages: impl IntoIterator<Item = &'a [u8]>,
    ) -> Vec<AtomHash> {
        let mut stream = Lane::new(self.state);
        self.len += data.len() as u64;
        let mut rest = data;
        if self.partial_len > 0 {
            let take = rest.len().min(64 - self.partial_len);
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&rest[..take]);
            self.partial_len += take;
            rest = &rest[take..];
            if self.partial_len == 64 {
                stream.push_owned([self.partial, [0; 64]], 1, false);
                self.partial_len = 0;
            }
        }
        if self.partial_len == 0 {
            let (blocks, tail) = rest.as_chunks::<64>();
            stream.push_blocks(blocks);
            self.partial[..tail.len()].copy_from_slice(tail);
            self.partial_len = tail.len();
        }

        let mut atoms = Lane::new(IV);
        for message in messages {
            atoms.push_message(message);
        }
        pair(&mut stream, &mut atoms);
        self.state = stream.state;
        atoms.digests
    }

    /// The SHA-256 of everything fed.
    pub fn finish(self) -> AtomHash {
        let mut lane = Lane::new(self.state);
        let (padded, count) = padded_tail(&self.partial[..self.partial_len], self.len);
        lane.push_owned(padded, count, true);
        pair(&mut lane, &mut Lane::new(IV));
        lane.digests[0]
    }
}

/// The SHA-256 of each of `messages`, two at a time.
pub(crate) fn hash_each<'a>(messages: impl IntoIterator<Item = &'a [u8]>) -> Vec<AtomHash> {
    let messages: Vec<&[u8]> = messages.into_iter().collect();
    let half = messages.len().div_ceil(2);
    let (mut first, mut second) = (Lane::new(IV), Lane::new(IV));
    for (lane, part) in [
        (&mut first, &messages[..half]),
        (&mut second, &messages[half..]),
    ] {
        for message in part {
            lane.push_message(message);
        }
    }
    pair(&mut first, &mut second);
    first.digests.extend(second.digests);
    first.digests
}

/// The last block or two of a message of `len` bytes whose last `tail.len() < 64` bytes
/// are `tail`: the tail, the 0x80 byte, zeros, and the length in bits, big-endian.
fn padded_tail(tail: &[u8], len: u64) -> ([Block; 2], usize) {
    let mut blocks = [[0u8; 64]; 2];
    let count = if tail.len() + 9 <= 64 { 1 } else { 2 };
    let flat = blocks.as_flattened_mut();
    flat[..tail.len()].copy_from_slice(tail);
    flat[tail.len()] = 0x80;
    flat[count * 64 - 8..count * 64].copy_from_slice(&(len * 8).to_be_bytes());
    (blocks, count)
}

/// Blocks for one lane, in order.
enum Run<'a> {
    Borrowed(&'a [Block]),
    /// One or two blocks assembled here; `ends` when they end a message.
    Owned {
        blocks: [Block; 2],
        count: usize,
        ends: bool,
    },
}

/// A lane's runs, and how far it is through them.
#[derive(Default)]
struct Queue<'a> {
    runs: Vec<Run<'a>>,
    /// The run being compressed, and how many of its blocks are done.
    run: usize,
    done: usize,
}

impl Queue<'_> {
    /// The blocks of the current run not yet compressed (empty when the lane is done).
    fn pending(&self) -> &[Block] {
        match self.runs.get(self.run) {
            None => &[],
            Some(Run::Borrowed(blocks)) => &blocks[self.done..],
            Some(Run::Owned { blocks, count, .. }) => &blocks[self.done..*count],
        }
    }
}

/// A SHA-256 state, the blocks still to compress into it, and the digests of the messages
/// it finished.
struct Lane<'a> {
    state: [u32; 8],
    queue: Queue<'a>,
    digests: Vec<AtomHash>,
}

impl<'a> Lane<'a> {
    fn new(state: [u32; 8]) -> Lane<'a> {
        Lane {
            state,
            queue: Queue::default(),
            digests: Vec::new(),
        }
    }

    fn push_blocks(&mut self, blocks: &'a [Block]) {
        if !blocks.is_empty() {
            self.queue.runs.push(Run::Borrowed(blocks));
        }
    }

    fn push_owned(&mut self, blocks: [Block; 2], count: usize, ends: bool) {
        self.queue.runs.push(Run::Owned {
            blocks,
            count,
            ends,
        });
    }

    /// Queues the whole of `message`, ending with its padded tail.
    fn push_message(&mut self, message: &'a [u8]) {
        let (blocks, tail) = message.as_chunks::<64>();
        self.push_blocks(blocks);
        let (padded, count) = padded_tail(tail, message.len() as u64);
        self.push_owned(padded, count, true);
    }

    /// Records that `n` more blocks of the current run were compressed into the state.
    fn advance(&mut self, n: usize) {
        let queue = &mut self.queue;
        queue.done += n;
        let (len, ends) = match &queue.runs[queue.run] {
            Run::Borrowed(blocks) => (blocks.len(), false),
            Run::Owned { count, ends, .. } => (*count, *ends),
        };
        if queue.done == len {
            if ends {
                let mut digest = [0u8; 32];
                for (out, word) in digest.chunks_exact_mut(4).zip(self.state) {
                    out.copy_from_slice(&word.to_be_bytes());
                }
                self.digests.push(AtomHash(digest));
                self.state = IV;
            }
            queue.run += 1;
            queue.done = 0;
        }
    }
}

/// Compresses every queued block of both lanes: two at a time while both have some.
fn pair(a: &mut Lane<'_>, b: &mut Lane<'_>) {
    loop {
        let (pending_a, pending_b) = (a.queue.pending(), b.queue.pending());
        let n = match (pending_a.len(), pending_b.len()) {
            (0, 0) => return,
            (0, n) => {
                compress(&mut b.state, pending_b);
                b.advance(n);
                continue;
            }
            (n, 0) => {
                compress(&mut a.state, pending_a);
                a.advance(n);
                continue;
            }
            (x, y) => x.min(y),
        };
        compress_pair(&mut a.state, &pending_a[..n], &mut b.state, &pending_b[..n]);
        a.advance(n);
        b.advance(n);
    }
}

fn compress(state: &mut [u32; 8], blocks: &[Block]) {
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        // SAFETY: the CPU has the extensions the function is compiled for.
        unsafe { shani::compress(state, blocks) };
        return;
    }
    compress_portable(state, blocks);
}

/// The `sha2` crate's compression function, block by block.
fn compress_portable(state: &mut [u32; 8], blocks: &[Block]) {
    for block in blocks {
        let block = sha2::digest::generic_array::GenericArray::from_slice(block);
        sha2::compress256(state, std::slice::from_ref(block));
    }
}

/// Compresses `blocks_a` into `a` and `blocks_b` into `b`, which have as many blocks.
fn compress_pair(a: &mut [u32; 8], blocks_a: &[Block], b: &mut [u32; 8], blocks_b: &[Block]) {
    debug_assert_eq!(blocks_a.len(), blocks_b.len());
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        // SAFETY: the CPU has the extensions the function is compiled for.
        unsafe { shani::compress_pair(a, blocks_a, b, blocks_b) };
        return;
    }
    compress(a, blocks_a);
    compress(b, blocks_b);
}

/// The SHA-NI compression function, for one lane or two interleaved (Intel's "Intel SHA
/// Extensions" paper, as the `sha2` crate implements it for one lane).
#[cfg(target_arch = "x86_64")]
mod shani {
    use std::arch::x86_64::*;

    use super::Block;

    const K: [u32; 64] = [
        0x428a_2f98,
        0x7137_4491,
        0xb5c0_fbcf,
        0xe9b5_dba5,
        0x3956_c25b,
        0x59f1_11f1,
        0x923f_82a4,
        0xab1c_5ed5,
        0xd807_aa98,
        0x1283_5b01,
        0x2431_85be,
        0x550c_7dc3,
        0x72be_5d74,
        0x80de_b1fe,
        0x9bdc_06a7,
        0xc19b_f174,
        0xe49b_69c1,
        0xefbe_4786,
        0x0fc1_9dc6,
        0x240c_a1cc,
        0x2de9_2c6f,
        0x4a74_84aa,
        0x5cb0_a9dc,
        0x76f9_88da,
        0x983e_5152,
        0xa831_c66d,
        0xb003_27c8,
        0xbf59_7fc7,
        0xc6e0_0bf3,
        0xd5a7_9147,
        0x06ca_6351,
        0x1429_2967,
        0x27b7_0a85,
        0x2e1b_2138,
        0x4d2c_6dfc,
        0x5338_0d13,
        0x650a_7354,
        0x766a_0abb,
        0x81c2_c92e,
        0x9272_2c85,
        0xa2bf_e8a1,
        0xa81a_664b,
        0xc24b_8b70,
        0xc76c_51a3,
        0xd192_e819,
        0xd699_0624,
        0xf40e_3585,
        0x106a_a070,
        0x19a4_c116,
        0x1e37_6c08,
        0x2748_774c,
        0x34b0_bcb5,
        0x391c_0cb3,
        0x4ed8_aa4a,
        0x5b9c_ca4f,
        0x682e_6ff3,
        0x748f_82ee,
        0x78a5_636f,
        0x84c8_7814,
        0x8cc7_0208,
        0x90be_fffa,
        0xa450_6ceb,
        0xbef9_a3f7,
        0xc671_78f2,
    ];

    pub fn available() -> bool {
        is_x86_feature_detected!("sha")
            && is_x86_feature_detected!("sse4.1")
            && is_x86_feature_detected!("ssse3")
    }

    /// One lane's registers: the state as the instructions want it (ABEF and CDGH), the
    /// state at the block's start, and the message schedule's last four words-of-four.
    struct Regs {
        abef: __m128i,
        cdgh: __m128i,
        saved: (__m128i, __m128i),
        w: [__m128i; 4],
    }

    impl Regs {
        #[inline(always)]
        unsafe fn load(state: &[u32; 8]) -> Regs {
            // SAFETY (all intrinsics here): the callers are compiled with the SHA, SSSE3
            // and SSE4.1 features, which they checked the CPU has; `state` is 32 bytes.
            unsafe {
                let ptr = state.as_ptr().cast::<__m128i>();
                let dcba = _mm_loadu_si128(ptr);
                let efgh = _mm_shuffle_epi32(_mm_loadu_si128(ptr.add(1)), 0x1B);
                let cdab = _mm_shuffle_epi32(dcba, 0xB1);
                let zero = _mm_setzero_si128();
                Regs {
                    abef: _mm_alignr_epi8(cdab, efgh, 8),
                    cdgh: _mm_blend_epi16(efgh, cdab, 0xF0),
                    saved: (zero, zero),
                    w: [zero; 4],
                }
            }
        }

        #[inline(always)]
        unsafe fn store(&self, state: &mut [u32; 8]) {
            // SAFETY: as in `load`.
            unsafe {
                let feba = _mm_shuffle_epi32(self.abef, 0x1B);
                let dchg = _mm_shuffle_epi32(self.cdgh, 0xB1);
                let ptr = state.as_mut_ptr().cast::<__m128i>();
                _mm_storeu_si128(ptr, _mm_blend_epi16(feba, dchg, 0xF0));
                _mm_storeu_si128(ptr.add(1), _mm_alignr_epi8(dchg, feba, 8));
            }
        }

        /// Loads a block's sixteen words, big-endian.
        #[inline(always)]
        unsafe fn begin(&mut self, block: &Block) {
            // SAFETY: as in `load`; `block` is 64 bytes.
            unsafe {
                let swap = _mm_set_epi64x(
                    0x0C0D_0E0F_0809_0A0Bu64 as i64,
                    0x0405_0607_0001_0203u64 as i64,
                );
                let ptr = block.as_ptr().cast::<__m128i>();
                for (i, w) in self.w.iter_mut().enumerate() {
                    *w = _mm_shuffle_epi8(_mm_loadu_si128(ptr.add(i)), swap);
                }
                self.saved = (self.abef, self.cdgh);
            }
        }

        /// Rounds `4 * i .. 4 * i + 4`, extending the message schedule first from round 16.
        #[inline(always)]
        unsafe fn rounds4(&mut self, i: usize) {
            // SAFETY: as in `load`; `K` has 64 words and `i < 16`.
            unsafe {
                if i >= 4 {
                    let (w0, w1, w2, w3) = (
                        self.w[i % 4],
                        self.w[(i + 1) % 4],
                        self.w[(i + 2) % 4],
                        self.w[(i + 3) % 4],
                    );
                    let t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
                    self.w[i % 4] = _mm_sha256msg2_epu32(t, w3);
                }
                let k = _mm_loadu_si128(K.as_ptr().add(4 * i).cast::<__m128i>());
                let t = _mm_add_epi32(self.w[i % 4], k);
                self.cdgh = _mm_sha256rnds2_epu32(self.cdgh, self.abef, t);
                self.abef = _mm_sha256rnds2_epu32(self.abef, self.cdgh, _mm_shuffle_epi32(t, 0x0E));
            }
        }

        #[inline(always)]
        unsafe fn end(&mut self) {
            // SAFETY: as in `load`.
            unsafe {
                self.abef = _mm_add_epi32(self.abef, self.saved.0);
                self.cdgh = _mm_add_epi32(self.cdgh, self.saved.1);
            }
        }
    }

    /// # Safety
    /// The CPU must have SHA, SSSE3 and SSE4.1 ([`available`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub unsafe fn compress(state: &mut [u32; 8], blocks: &[Block]) {
        // SAFETY: the features `Regs` needs are enabled here, and present (the contract).
        unsafe {
            let mut regs = Regs::load(state);
            for block in blocks {
                regs.begin(block);
                for i in 0..16 {
                    regs.rounds4(i);
                }
                regs.end();
            }
            regs.store(state);
        }
    }

    /// Both lanes' rounds interleaved, four by four, so that each lane's `sha256rnds2`
    /// chain runs while the other's waits.
    ///
    /// # Safety
    /// The CPU must have SHA, SSSE3 and SSE4.1 ([`available`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub unsafe fn compress_pair(
        state_a: &mut [u32; 8],
        blocks_a: &[Block],
        state_b: &mut [u32; 8],
        blocks_b: &[Block],
    ) {
        // SAFETY: as in `compress`.
        unsafe {
            let (mut a, mut b) = (Regs::load(state_a), Regs::load(state_b));
            for (block_a, block_b) in blocks_a.iter().zip(blocks_b) {
                a.begin(block_a);
                b.begin(block_b);
                for i in 0..16 {
                    a.rounds4(i);
                    b.rounds4(i);
                }
                a.end();
                b.end();
            }
            a.store(state_a);
            b.store(state_b);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::*;

    fn reference(bytes: &[u8]) -> AtomHash {
        AtomHash(Sha256::digest(bytes).into())
    }

    #[test]
    fn known_digests() {
        let mut stream = Sha256Stream::default();
        assert_eq!(stream.update_with(b"abc", []), []);
        assert_eq!(
            stream.finish().to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Sha256Stream::default().finish().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sha_extensions_compress_as_the_portable_function() {
        if !shani::available() {
            return;
        }
        let blocks: Vec<Block> = (0..9u8)
            .map(|i| std::array::from_fn(|j| i.wrapping_mul(31).wrapping_add(j as u8)))
            .collect();
        let (mut portable, mut one, mut two) = (IV, IV, [IV; 2]);
        compress_portable(&mut portable, &blocks);
        let [first, second] = &mut two;
        // SAFETY: checked above.
        unsafe {
            shani::compress(&mut one, &blocks);
            shani::compress_pair(first, &blocks, second, &blocks);
        }
        assert_eq!(one, portable);
        assert_eq!(two, [portable; 2]);
    }

    proptest! {
        /// A stream fed in any pieces, and messages cut anywhere, hashed side by side:
        /// every digest is the `sha2` crate's.
        #[test]
        fn side_by_side_digests_are_sha256(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            feeds in proptest::collection::vec(0usize..400, 1..8),
            cuts in proptest::collection::vec(0usize..1000, 0..12),
        ) {
            let mut stream = Sha256Stream::default();
            let mut at = 0;
            for (i, feed) in feeds.iter().enumerate() {
                let end = if i + 1 == feeds.len() { data.len() } else { (at + feed).min(data.len()) };
                let piece = &data[at..end];
                // Messages: consecutive slices of this piece, with lengths from `cuts`.
                let mut messages = Vec::new();
                let mut from = 0;
                for cut in &cuts {
                    let to = (from + cut).min(piece.len());
                    messages.push(&piece[from..to]);
                    from = to;
                }
                let digests = stream.update_with(piece, messages.iter().copied());
                let expected: Vec<AtomHash> = messages.iter().map(|m| reference(m)).collect();
                prop_assert_eq!(digests, expected);
                prop_assert_eq!(hash_each(messages.iter().copied()), messages.iter().map(|m| reference(m)).collect::<Vec<_>>());
                at = end;
            }
            prop_assert_eq!(stream.finish(), reference(&data));
        }
    }
}
