//! How collections are laid out over child records, one module per layout.
//!
//! * [`buckets`]: a linear-hashing table of small buckets, for hashes and sets (and the
//!   member → score side of sorted sets).
//! * [`list`]: a deque of fixed-capacity chunks, for lists.
//! * [`zset`]: a counted B+tree of (score, member), for sorted sets' order and ranks.
//! * [`chunks`]: fixed-size chunks, for large strings.
//!
//! [`open`] is what they share: decoding, writing back, and the collection a pipeline keeps
//! decoded between commands.

pub mod buckets;
pub mod chunks;
pub mod list;
pub mod open;
pub mod zset;

use crate::encoding::{Head, Kind};
use crate::error::Result;
use crate::txn::Txn;

/// Child records numbered `from..to` of a generation, under one type prefix: every child
/// key of every layout is `child_key(generation, prefix | number (u64 BE))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildRange {
    pub generation: u64,
    pub prefix: u8,
    pub from: u64,
    pub to: u64,
}

impl ChildRange {
    /// The log key of child `number`.
    pub fn key(&self, number: u64) -> Vec<u8> {
        let mut part = vec![self.prefix];
        part.extend_from_slice(&number.to_be_bytes());
        crate::encoding::child_key(self.generation, &part)
    }

    pub fn len(&self) -> u64 {
        self.to.saturating_sub(self.from)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where the child records of the value whose head is `head` may be: every record
/// [`drop_children`] would delete lies in these ranges (some numbers of a range may have no
/// record, as a sorted set's freed nodes).
pub fn child_ranges(head: &Head) -> Result<Vec<ChildRange>> {
    Ok(match head.kind {
        Kind::String => head
            .chunks
            .map(|c| chunks::child_range(&c))
            .into_iter()
            .collect(),
        Kind::Hash | Kind::Set => buckets::BucketMap::decode(&head.body)?
            .child_range()
            .into_iter()
            .collect(),
        Kind::List => list::List::decode(&head.body)?
            .child_range()
            .into_iter()
            .collect(),
        Kind::ZSet => zset::ZSet::decode(&head.body)?.child_ranges(),
    })
}

/// Deletes every child record of the collection whose head is `head` (the chunks of a
/// string stored in chunks).
pub fn drop_children(txn: &mut Txn<'_>, head: &Head) -> Result<()> {
    match head.kind {
        Kind::String => {
            if let Some(c) = head.chunks {
                chunks::drop_chunks(txn, &c);
            }
            Ok(())
        }
        Kind::Hash | Kind::Set => buckets::BucketMap::decode(&head.body)?.drop_children(txn),
        Kind::List => list::List::decode(&head.body)?.drop_children(txn),
        Kind::ZSet => zset::ZSet::decode(&head.body)?.drop_children(txn),
    }
}

/// A copy of the value of `head` under a new generation (COPY): strings share their bytes,
/// collections get their elements rewritten under fresh child records.
pub fn deep_copy(txn: &mut Txn<'_>, head: &Head) -> Result<Head> {
    let body = match head.kind {
        Kind::String => head.body.clone(),
        Kind::Hash | Kind::Set => {
            let src = buckets::BucketMap::decode(&head.body)?;
            let mut dst = buckets::BucketMap::new(txn);
            for (f, v) in src.entries(txn)? {
                dst.insert(txn, f, v)?;
            }
            dst.encode().into()
        }
        Kind::List => {
            let mut src = list::List::decode(&head.body)?;
            let mut dst = list::List::new(txn);
            for item in src.all(txn)? {
                dst.push_back(txn, item)?;
            }
            dst.flush(txn)?;
            dst.encode().into()
        }
        Kind::ZSet => {
            let mut src = zset::ZSet::decode(&head.body)?;
            let mut dst = zset::ZSet::new(txn);
            let len = src.len;
            for (score, member) in src.range(txn, 0, len.saturating_sub(1))? {
                dst.insert(txn, member, score)?;
            }
            dst.flush(txn);
            dst.encode().into()
        }
    };
    // A string is written again, in chunks of its own when large: two keys never share them.
    Ok(Head {
        kind: head.kind,
        expire_at: head.expire_at,
        body,
        chunks: None,
    })
}
