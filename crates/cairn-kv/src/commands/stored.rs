//! Loading a collection for a command and saving it back: the same steps for every type.
//!
//! A command loads the head of its key (checking the type), decodes the collection's
//! descriptor, changes the collection (which may write child records), and saves it
//! ([`write_back`]). The commands flagged `parks` use [`change`] instead, which leaves the
//! collection decoded in the transaction for the next command of the pipeline (see
//! [`crate::collections::open`]).

use bytes::Bytes;

use crate::collections::open::{write_back, Parked, Stored};
use crate::dispatch::Ctx;
use crate::encoding::{check_key, Head, Kind};
use crate::error::{KvError, Result};
use crate::txn::Txn;

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
pub fn save<T: Stored>(ctx: &mut Ctx<'_, '_>, key: &[u8], head: Head, value: &mut T) -> Result<()> {
    let db = ctx.db();
    write_back(&mut ctx.txn, db, key, head, value)
}

/// Runs `step` on the collection of `kind` at `key` (a new empty one if it is absent and
/// `create` is set; `None`, without running `step`, if it is absent otherwise) and leaves it
/// parked in the transaction. `step` returns its result and whether it changed the
/// collection; like every handler, it may fail only before its first change (a failure of
/// the engine excepted: that one fails the whole pipeline group, whose earlier changes may be
/// in the parked collection).
pub fn change<T: Stored, R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    kind: Kind,
    create: bool,
    step: impl FnOnce(&mut Txn<'_>, &mut T) -> Result<(R, bool)>,
) -> Result<Option<R>> {
    let db = ctx.db();
    let mut parked = match ctx.txn.take_parked(db, key)? {
        Some(parked) if parked.head.kind != kind => {
            ctx.txn.park(parked);
            return Err(KvError::WrongType);
        }
        Some(parked) => parked,
        None => {
            if create {
                check_key(key)?;
            }
            let (head, value) = match load::<T>(ctx, key, kind)? {
                Some(found) => found,
                None if create => (Head::new(kind, Bytes::new()), T::create(&mut ctx.txn)),
                None => return Ok(None),
            };
            let mut value = value.into_open();
            value.cache_children();
            Box::new(Parked {
                db,
                key: key.to_vec(),
                head,
                value,
                changed: false,
            })
        }
    };
    let Some(value) = T::in_open(&mut parked.value) else {
        ctx.txn.park(parked);
        return Err(KvError::WrongType);
    };
    let outcome = step(&mut ctx.txn, value);
    match &outcome {
        Ok((_, changed)) => parked.changed |= changed,
        Err(e @ (KvError::Storage(_) | KvError::Damaged { .. })) => ctx.txn.poison(e.clone()),
        Err(_) => {}
    }
    ctx.txn.park(parked);
    outcome.map(|(result, _)| Some(result))
}
