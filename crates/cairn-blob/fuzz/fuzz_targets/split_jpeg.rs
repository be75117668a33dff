//! Splits arbitrary bytes that start like a JPEG file: the plan must cover the input
//! exactly, in order, whatever the bytes — a malformed file falls back to Raw, never panics,
//! hangs or allocates beyond the input's size.

#![no_main]

use cairn_blob::split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let data: Vec<u8> = [&&[0xff, 0xd8, 0xff][..], input].concat();
    let plan = split::plan(&data);
    let mut at = 0;
    for piece in &plan.pieces {
        assert_eq!(piece.offset, at, "pieces are contiguous");
        assert!(piece.len > 0, "no empty pieces");
        at += piece.len;
    }
    assert_eq!(at, data.len() as u64, "pieces cover the file");
});
