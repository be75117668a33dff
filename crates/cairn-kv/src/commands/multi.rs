//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queueing happens in [`crate::dispatch`]; `EXEC` runs the queued commands on the one
//! transaction of its own dispatch, so they commit as one cairn-log batch: no client sees
//! half of them, and after a crash all of them or none are there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::dispatch::{run_queued, Ctx};
use crate::error::{KvError, Result};
use crate::reply::Reply;
use crate::session::Watch;

pub fn multi(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    if ctx.session.multi.is_some() {
        return Err(KvError::NestedMulti("MULTI".into()));
    }
    ctx.session.multi = Some(Vec::new());
    ctx.session.multi_failed = false;
    ctx.session.info.in_multi.store(true, Ordering::Relaxed);
    Ok(Reply::OK)
}

/// Forgets the session's watches (the registry lives under the keyspace lock we hold).
fn unwatch_all(ctx: &mut Ctx<'_, '_>) {
    if let Some(watch) = ctx.session.watch.take() {
        for (db, key, _) in &watch.keys {
            ctx.txn.state.watches.remove(*db, key, &watch.dirty);
        }
        ctx.session.info.watching.store(0, Ordering::Relaxed);
    }
}

fn end_multi(ctx: &mut Ctx<'_, '_>) -> Option<Vec<Vec<Bytes>>> {
    ctx.session.info.in_multi.store(false, Ordering::Relaxed);
    ctx.session.multi_failed = false;
    ctx.session.multi.take()
}

pub fn exec(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    if ctx.session.multi.is_none() {
        return Err(KvError::WithoutMulti("EXEC".into()));
    }
    let failed = ctx.session.multi_failed;
    let queue = end_multi(ctx).unwrap_or_default();
    let watch_broken = ctx.session.watch.as_ref().is_some_and(|w| {
        w.dirty.load(Ordering::Acquire)
            || w.keys
                .iter()
                .any(|(_, _, at)| *at != 0 && *at <= ctx.txn.now)
    });
    unwatch_all(ctx);
    if failed {
        return Err(KvError::ExecAbort);
    }
    if watch_broken {
        return Ok(Reply::NilArray);
    }
    let mut replies = Vec::with_capacity(queue.len());
    for argv in &queue {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_ref()).collect();
        replies.push(run_queued(ctx, &argv));
    }
    Ok(Reply::Array(replies))
}

pub fn discard(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    if ctx.session.multi.is_none() {
        return Err(KvError::WithoutMulti("DISCARD".into()));
    }
    end_multi(ctx);
    unwatch_all(ctx);
    Ok(Reply::OK)
}

pub fn watch(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    if ctx.session.multi.is_some() {
        return Err(KvError::WatchInMulti);
    }
    let db = ctx.db();
    let watch = ctx.session.watch.get_or_insert_with(|| Watch {
        dirty: Arc::new(AtomicBool::new(false)),
        keys: Vec::new(),
    });
    let flag = watch.dirty.clone();
    let mut added = Vec::new();
    for key in &args[1..] {
        if watch.keys.iter().any(|(d, k, _)| *d == db && k == key) {
            continue;
        }
        added.push(*key);
    }
    for key in added {
        let expire_at = ctx.txn.head(db, key)?.map_or(0, |h| h.expire_at);
        ctx.txn.state.watches.add(db, key, &flag);
        if let Some(w) = ctx.session.watch.as_mut() {
            w.keys.push((db, key.to_vec(), expire_at));
        }
    }
    let n = ctx.session.watch.as_ref().map_or(0, |w| w.keys.len());
    ctx.session.info.watching.store(n as u64, Ordering::Relaxed);
    Ok(Reply::OK)
}

pub fn unwatch(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    unwatch_all(ctx);
    Ok(Reply::OK)
}
