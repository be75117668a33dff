//! UNLINK's lazy freeing: a large value's head goes at once, its child records in the
//! background, a bounded number at a time, as Redis frees them in a background thread.
//!
//! UNLINK of a value with more than [`LAZY_FREE_MIN`] child records deletes its head and, in
//! the same batch, writes a reap record naming where its children are (their
//! [`ChildRange`]s); after the commit the job joins the queue in the keyspace state. The
//! expiry thread then deletes up to [`REAP_BATCH`] children per batch, for at most
//! [`REAP_BUDGET`] per tick, each batch rewriting the reap record with its progress (or
//! deleting it with the last children). Generations are never reused, so the children of an
//! unlinked value are nobody else's; a crash leaves the reap record, and the next open puts the
//! job back in the queue.
//!
//! ```text
//! reap record:  meta 'reap:' + first generation (16 hex digits) →
//!               (generation u64, prefix u8, from u64, to u64)*   ranges still to delete
//! ```

use std::time::{Duration, Instant};

use crate::collections::ChildRange;
use crate::encoding::{meta_key, Reader, Writer};
use crate::error::Result;
use crate::kv::Kv;
use crate::txn::Txn;

/// Values with at most this many child records are freed at once, as Redis's
/// `LAZYFREE_THRESHOLD` frees small values synchronously.
pub const LAZY_FREE_MIN: u64 = 64;
/// Children deleted per batch (one keyspace-lock hold).
const REAP_BATCH: u64 = 1024;
/// Time spent freeing per expiry-thread tick.
const REAP_BUDGET: Duration = Duration::from_millis(10);
/// The prefix of reap records' names.
pub const REAP_META: &str = "reap:";

/// The children of one unlinked value still to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReapJob {
    /// Its record's name.
    name: String,
    ranges: Vec<ChildRange>,
}

impl ReapJob {
    /// A job for `ranges` (not empty).
    pub fn new(ranges: Vec<ChildRange>) -> ReapJob {
        let first = ranges.first().map_or(0, |r| r.generation);
        ReapJob {
            name: format!("{REAP_META}{first:016x}"),
            ranges,
        }
    }

    /// The log key of its reap record.
    pub fn record_key(&self) -> Vec<u8> {
        meta_key(&self.name)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        for r in &self.ranges {
            w.u64(r.generation).u8(r.prefix).u64(r.from).u64(r.to);
        }
        w.0
    }

    /// The job a reap record named `name` (without the meta prefix) holds.
    pub fn decode(name: &str, bytes: &[u8]) -> Result<ReapJob> {
        let mut r = Reader::new(bytes);
        let mut ranges = Vec::new();
        while !r.is_empty() {
            ranges.push(ChildRange {
                generation: r.u64()?,
                prefix: r.u8()?,
                from: r.u64()?,
                to: r.u64()?,
            });
        }
        Ok(ReapJob {
            name: name.to_string(),
            ranges,
        })
    }

    /// Queues the deletes of up to `n` children in `txn`; true when none is left.
    fn delete_some(&mut self, txn: &mut Txn<'_>, n: u64) -> bool {
        let mut left = n;
        while left > 0 {
            let Some(range) = self.ranges.first_mut() else {
                break;
            };
            let end = range.to.min(range.from + left);
            for number in range.from..end {
                txn.delete(range.key(number));
            }
            left -= end - range.from;
            range.from = end;
            if range.is_empty() {
                self.ranges.remove(0);
            }
        }
        self.ranges.is_empty()
    }
}

impl Kv {
    /// Frees unlinked values' children for at most `REAP_BUDGET` (10 ms); returns how many jobs
    /// remain.
    pub fn reap(&self) -> Result<usize> {
        let started = Instant::now();
        loop {
            let remaining = self.reap_batch()?;
            if remaining == 0 || started.elapsed() >= REAP_BUDGET {
                return Ok(remaining);
            }
        }
    }

    /// Deletes one batch of the first job's children; returns how many jobs remain.
    fn reap_batch(&self) -> Result<usize> {
        let mut state = self.lock_state();
        let Some(mut job) = state.reaping.pop_front() else {
            return Ok(0);
        };
        let before = job.clone();
        let mut txn = Txn::new(&self.store, &mut state, self.clock.now_ms());
        let done = job.delete_some(&mut txn, REAP_BATCH);
        if done {
            txn.delete(job.record_key());
        } else {
            txn.put(job.record_key(), job.encode());
        }
        let committed = txn.commit();
        drop(txn);
        match committed {
            Ok(_) if done => {}
            Ok(_) => state.reaping.push_front(job),
            Err(e) => {
                // Tried again on the next tick, from where the record says.
                state.reaping.push_front(before);
                return Err(e);
            }
        }
        Ok(state.reaping.len())
    }
}
