//! Helpers shared by cairn's tests, and only its tests (every crate takes this one as a
//! dev-dependency): seeded pseudo-random numbers and bytes, a minimal PNG builder for the
//! blob store's splitter, a child process of the running test binary, killed with SIGKILL
//! mid-run, for the crash tests, and the seeds of a power-cut campaign (cairn-fs).

pub mod child;

/// What a power-cut campaign's cuts reached: the cases run, and how many undid unsynced
/// writes, tore one, or undid directory entries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Campaign {
    pub cases: u64,
    pub undid_writes: u64,
    pub torn: u64,
    pub undid_entries: u64,
}

impl std::fmt::Display for Campaign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} power cuts: {} undid writes, {} tore one, {} undid directory entries",
            self.cases, self.undid_writes, self.torn, self.undid_entries
        )
    }
}

/// Runs `case` for the seeds of a power-cut campaign, `CAIRN_POWER_CUT_FIRST` (default 1) to
/// `CAIRN_POWER_CUT_CASES` (default 1,000), tallying what each cut undid.
pub fn power_cut_campaign(mut case: impl FnMut(u64) -> cairn_fs::CutReport) -> Campaign {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let mut campaign = Campaign::default();
    for seed in var("CAIRN_POWER_CUT_FIRST", 1)..=var("CAIRN_POWER_CUT_CASES", 1_000) {
        let report = case(seed);
        campaign.cases += 1;
        campaign.undid_writes += u64::from(report.writes_undone > 0);
        campaign.torn += report.torn as u64;
        campaign.undid_entries += u64::from(report.entries_undone > 0);
    }
    campaign
}

/// Pseudo-random numbers (xorshift64): the same sequence for the same nonzero seed, so a
/// failing case is replayed by its seed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The generator of `seed` (a zero seed, which xorshift cannot leave, becomes 1).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `len` pseudo-random bytes, the same for the same seed: incompressible test data.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..len).map(|_| rng.next() as u8).collect()
}

/// `len` pseudo-random lowercase letters, the same for the same seed.
pub fn noise_text(len: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..len)
        .map(|_| char::from(b'a' + rng.below(26) as u8))
        .collect()
}

/// A PNG chunk: length, type, data and the CRC-32 of type and data.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
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

/// A 64×64 RGB PNG whose pixel data is `idat` and whose tEXt comment is `text`: two such
/// files share their pixels and differ in their metadata.
pub fn png(idat: &[u8], text: &str) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(
        b"IHDR",
        &[0, 0, 0, 64, 0, 0, 0, 64, 8, 2, 0, 0, 0],
    ));
    out.extend(png_chunk(b"tEXt", format!("Comment\0{text}").as_bytes()));
    out.extend(png_chunk(b"IDAT", idat));
    out.extend(png_chunk(b"IEND", b""));
    out
}
