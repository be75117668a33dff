//! Store options for tests that look at files: no fsync, no background maintenance, and
//! 32 KiB segments, so that a few thousand keys span several of them.

use cairn_log::{Durability, Options};

pub fn options() -> Options {
    Options {
        durability: Durability::No,
        background_maintenance: false,
        max_segment_size: 32 << 10,
        ..Options::default()
    }
}
