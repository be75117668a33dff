//! SHA-256 on the blob store's ingest path: cairn's `Sha256Stream` against the `sha2` crate.
//!
//! Ingest hashes every byte twice: into the whole file's hash and into the hash of the atom it
//! belongs to. The input is what the ingest pipeline hands the hashing thread: jobs of 1 MiB
//! (`JOB_BYTES`) cut into atoms of 64 KiB (the content-defined chunker's average). cairn hashes
//! the file and the atoms of a job side by side (`Sha256Stream::update_with`); the peer is the
//! plain way, with `sha2`: the job into the file's hasher, then each atom into a fresh one.
//! Both see the same bytes in the same jobs and must agree on every digest.
//!
//! Usage: sha256 [MB] (default 512). Prints MB/s of file bytes for each and their ratio; best
//! of three rounds.

use std::time::Instant;

use cairn_blob::sha256::Sha256Stream;
use sha2::{Digest, Sha256};

const JOB: usize = 1 << 20;
const ATOM: usize = 64 << 10;

fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn cairn(data: &[u8]) -> ([u8; 32], Vec<[u8; 32]>) {
    let mut whole = Sha256Stream::default();
    let mut atoms = Vec::new();
    for job in data.chunks(JOB) {
        let hashes = whole.update_with(job, job.chunks(ATOM));
        atoms.extend(hashes.into_iter().map(|h| h.0));
    }
    (whole.finish().0, atoms)
}

fn peer(data: &[u8]) -> ([u8; 32], Vec<[u8; 32]>) {
    let mut whole = Sha256::new();
    let mut atoms = Vec::new();
    for job in data.chunks(JOB) {
        whole.update(job);
        for atom in job.chunks(ATOM) {
            atoms.push(Sha256::digest(atom).into());
        }
    }
    (whole.finalize().into(), atoms)
}

fn best_of_three(
    data: &[u8],
    f: fn(&[u8]) -> ([u8; 32], Vec<[u8; 32]>),
) -> (f64, ([u8; 32], Vec<[u8; 32]>)) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..3 {
        let start = Instant::now();
        let r = f(data);
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("three rounds"))
}

fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(512);
    let data = noise(mb << 20);
    let (t_cairn, r_cairn) = best_of_three(&data, cairn);
    let (t_peer, r_peer) = best_of_three(&data, peer);
    assert_eq!(r_cairn, r_peer, "the digests differ");
    let rate = |t: f64| mb as f64 / t;
    println!(
        "SHA-256 of the ingest path: {mb} MB in 1 MiB jobs of 64 KiB atoms, file and atom hashes"
    );
    println!("| engine | MB/s | ratio (cairn / sha2) |");
    println!("| --- | --- | --- |");
    println!(
        "| cairn Sha256Stream | {:.0} | {:.2} |",
        rate(t_cairn),
        t_peer / t_cairn
    );
    println!("| sha2 0.10 | {:.0} | 1.00 |", rate(t_peer));
}
