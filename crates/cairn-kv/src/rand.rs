//! A small fast random generator (SplitMix64) for sampling: `RANDOMKEY`, `SPOP`,
//! `SRANDMEMBER`, `HRANDFIELD`, `ZRANDMEMBER` and the active expiry cycle. Not for secrets.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from the OS-randomised hasher keys.
    pub fn from_entropy() -> Rng {
        Rng(RandomState::new().hash_one(0x5eed_u64))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `count` of `items` picked at random: distinct ones (at most all of them, by a partial
    /// Fisher–Yates shuffle) when `distinct`, else `count` draws that may repeat.
    pub fn sample<T: Clone>(&mut self, mut items: Vec<T>, count: usize, distinct: bool) -> Vec<T> {
        if distinct {
            let n = count.min(items.len());
            for i in 0..n {
                let j = i + self.below((items.len() - i) as u64) as usize;
                items.swap(i, j);
            }
            items.truncate(n);
            items
        } else if items.is_empty() {
            items
        } else {
            (0..count)
                .map(|_| items[self.below(items.len() as u64) as usize].clone())
                .collect()
        }
    }
}
