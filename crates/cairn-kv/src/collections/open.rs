//! A collection decoded for change, its writing back, and the one collection a pipeline
//! keeps open between commands (the *park*).
//!
//! Every collection command decodes its key's descriptor into a layout ([`BucketMap`],
//! [`List`], [`ZSet`]), changes it, and writes it back with [`write_back`]: the descriptor
//! goes into the head record or, for a collection the command emptied, the key is deleted
//! with every child record, as Redis deletes emptied collections.
//!
//! A pipeline often repeats one command on one key (`LPUSH` after `LPUSH`, `RPOP` after
//! `RPOP`). For the commands flagged `parks` in the command table, the transaction keeps the
//! collection decoded between commands ([`Parked`]) and writes it back once: when a command
//! wants another key, when a command that does not go through the park runs, and at commit.
//! Sixteen pushes then decode and encode the list once instead of sixteen times.
//!
//! Invariant: while a collection is parked, the transaction's records of its head (and of
//! the child records it holds in memory) are stale. Only [`crate::commands::stored::change`]
//! reads a parked key; dispatch writes the park back before running any command without the
//! `parks` flag, and [`Txn::commit`] writes it back before the batch. A parked collection
//! that is empty stands for a deleted key: it is written back (deleting the key) before a
//! command looks at the key again.

use bytes::Bytes;

use crate::collections::buckets::BucketMap;
use crate::collections::list::List;
use crate::collections::zset::ZSet;
use crate::encoding::Head;
use crate::error::Result;
use crate::txn::Txn;

/// A collection layout stored as a descriptor plus child records.
pub trait Stored: Sized {
    fn decode(body: &Bytes) -> Result<Self>;
    /// An empty collection under a new generation.
    fn create(txn: &mut Txn<'_>) -> Self;
    fn size(&self) -> u64;
    /// Writes what the structure still holds in memory (chunks, nodes) and returns its
    /// descriptor.
    fn finish(&mut self, txn: &mut Txn<'_>) -> Result<Vec<u8>>;
    fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()>;
    fn into_open(self) -> Open;
    /// The layout inside `open`, if it is of this type.
    fn in_open(open: &mut Open) -> Option<&mut Self>;
}

/// Any decoded collection.
#[derive(Debug)]
pub enum Open {
    Buckets(BucketMap),
    List(List),
    ZSet(ZSet),
}

/// The collection a transaction keeps decoded between the commands of a pipeline.
#[derive(Debug)]
pub struct Parked {
    pub db: u8,
    pub key: Vec<u8>,
    /// The head as loaded; its body is rewritten from the collection on write-back.
    pub head: Head,
    pub value: Open,
    /// A command changed the collection since it was loaded: it must be written back.
    pub changed: bool,
}

impl Open {
    /// Whether the collection may stay decoded between pipelines, with the writes held for
    /// the next one (`crate::txn`). A list may not: it keeps the chunks it loads in a short
    /// vector searched in order, made for one pipeline, which would grow with every push.
    pub fn may_stay_decoded(&self) -> bool {
        !matches!(self, Open::List(_))
    }

    /// Lets a collection that is to stay decoded across commands keep the child records it
    /// decodes (a hash's or set's buckets; a sorted set keeps its own anyway).
    pub fn cache_children(&mut self) {
        if let Open::Buckets(map) = self {
            map.cache_buckets();
        }
    }
}

impl Parked {
    pub fn size(&self) -> u64 {
        match &self.value {
            Open::Buckets(map) => map.size(),
            Open::List(list) => list.size(),
            Open::ZSet(z) => z.size(),
        }
    }

    /// Writes the collection back if a command changed it.
    pub fn write_back(self, txn: &mut Txn<'_>) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        let (db, key, head) = (self.db, self.key, self.head);
        match self.value {
            Open::Buckets(mut map) => write_back(txn, db, &key, head, &mut map),
            Open::List(mut list) => write_back(txn, db, &key, head, &mut list),
            Open::ZSet(mut z) => write_back(txn, db, &key, head, &mut z),
        }
    }
}

/// Writes a changed collection back under `key`; an emptied one deletes the key.
pub fn write_back<T: Stored>(
    txn: &mut Txn<'_>,
    db: u8,
    key: &[u8],
    mut head: Head,
    value: &mut T,
) -> Result<()> {
    let body = value.finish(txn)?;
    if value.size() == 0 {
        // Dropped through the current descriptor: it knows every record the commands made.
        value.drop_children(txn)?;
        if txn.head_of_kind(db, key, head.kind)?.is_some() {
            txn.forget_head(db, key, &head);
        }
        return Ok(());
    }
    head.body = body.into();
    txn.put_head(db, key, &head)
}

impl Stored for BucketMap {
    fn decode(body: &Bytes) -> Result<Self> {
        BucketMap::decode(body)
    }
    fn create(txn: &mut Txn<'_>) -> Self {
        BucketMap::new(txn)
    }
    fn size(&self) -> u64 {
        self.len
    }
    fn finish(&mut self, txn: &mut Txn<'_>) -> Result<Vec<u8>> {
        self.flush(txn);
        Ok(self.encode())
    }
    fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()> {
        BucketMap::drop_children(self, txn)
    }
    fn into_open(self) -> Open {
        Open::Buckets(self)
    }
    fn in_open(open: &mut Open) -> Option<&mut Self> {
        match open {
            Open::Buckets(map) => Some(map),
            _ => None,
        }
    }
}

impl Stored for List {
    fn decode(body: &Bytes) -> Result<Self> {
        List::decode(body)
    }
    fn create(txn: &mut Txn<'_>) -> Self {
        List::new(txn)
    }
    fn size(&self) -> u64 {
        self.len
    }
    fn finish(&mut self, txn: &mut Txn<'_>) -> Result<Vec<u8>> {
        self.flush(txn)?;
        Ok(self.encode())
    }
    fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()> {
        List::drop_children(self, txn)
    }
    fn into_open(self) -> Open {
        Open::List(self)
    }
    fn in_open(open: &mut Open) -> Option<&mut Self> {
        match open {
            Open::List(list) => Some(list),
            _ => None,
        }
    }
}

impl Stored for ZSet {
    fn decode(body: &Bytes) -> Result<Self> {
        ZSet::decode(body)
    }
    fn create(txn: &mut Txn<'_>) -> Self {
        ZSet::new(txn)
    }
    fn size(&self) -> u64 {
        self.len
    }
    fn finish(&mut self, txn: &mut Txn<'_>) -> Result<Vec<u8>> {
        self.flush(txn);
        Ok(self.encode())
    }
    fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()> {
        ZSet::drop_children(self, txn)
    }
    fn into_open(self) -> Open {
        Open::ZSet(self)
    }
    fn in_open(open: &mut Open) -> Option<&mut Self> {
        match open {
            Open::ZSet(z) => Some(z),
            _ => None,
        }
    }
}
