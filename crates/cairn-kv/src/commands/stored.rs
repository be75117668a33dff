//! Loading a collection for a command and saving it back: the same steps for every type.
//!
//! A command loads the head of its key (checking the type), decodes the collection's
//! descriptor, changes the collection (which may write child records), and saves: the
//! descriptor goes back into the head record, or, when the collection is now empty, the key
//! is deleted with every child record, as Redis deletes emptied collections.

use bytes::Bytes;

use crate::collections::buckets::BucketMap;
use crate::collections::list::List;
use crate::collections::zset::ZSet;
use crate::dispatch::Ctx;
use crate::encoding::{check_key, Head, Kind};
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
    fn finish(&mut self, _txn: &mut Txn<'_>) -> Result<Vec<u8>> {
        Ok(self.encode())
    }
    fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()> {
        BucketMap::drop_children(self, txn)
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
}

/// The collection of `kind` at `key`: `None` if absent, `WRONGTYPE` if another type.
pub fn load<T: Stored>(ctx: &mut Ctx<'_, '_>, key: &[u8], kind: Kind) -> Result<Option<(Head, T)>> {
    let db = ctx.db();
    match ctx.txn.typed_head(db, key, kind)? {
        Some(head) => {
            let value = T::decode(&head.body)?;
            Ok(Some((head, value)))
        }
        None => Ok(None),
    }
}

/// The collection of `kind` at `key`, or a new empty one.
pub fn load_or_new<T: Stored>(ctx: &mut Ctx<'_, '_>, key: &[u8], kind: Kind) -> Result<(Head, T)> {
    check_key(key)?;
    match load(ctx, key, kind)? {
        Some(found) => Ok(found),
        None => Ok((Head::new(kind, Bytes::new()), T::create(&mut ctx.txn))),
    }
}

/// Writes the collection back under `key`; an emptied one deletes the key.
pub fn save<T: Stored>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    mut head: Head,
    value: &mut T,
) -> Result<()> {
    let body = value.finish(&mut ctx.txn)?;
    let db = ctx.db();
    if value.size() == 0 {
        // Dropped through the current descriptor: it knows every record this command made.
        value.drop_children(&mut ctx.txn)?;
        if ctx.txn.head_of_kind(db, key, head.kind)?.is_some() {
            ctx.txn.forget_head(db, key, &head);
        }
        return Ok(());
    }
    head.body = body.into();
    ctx.txn.put_head(db, key, &head)
}
