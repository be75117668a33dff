//! ARIES recovery, and the undo that aborts share with it.
//!
//! 1. *Analysis* reads the whole log (a checkpoint truncated it to what matters): which
//!    transactions were active at the crash, their last record, whether they committed.
//! 2. *Redo* repeats history from the latest checkpoint's redo point: every change whose page
//!    is older than the record is applied again, whatever its transaction. A change that
//!    replaces a whole page (a format or a full-page image) is applied without reading the
//!    page, which is how a page torn by the crash is rebuilt; any other change to a page that
//!    fails its checksum is reported as corruption naming file and page.
//! 3. *Undo* rolls back the transactions that did not commit, in one pass in decreasing LSN
//!    order over all of them, logging compensation records (CLRs) whose undo-next LSN skips
//!    what is already undone, so a crash during recovery resumes where it stopped. Heap
//!    changes are undone physically, index changes logically (see logrec.rs).

use std::collections::{BinaryHeap, HashMap};

use crate::control::Control;
use crate::error::{Error, Result};
use crate::logrec::{self, Entry, IndexKind};
use crate::page::{Page, PageId, PageType};
use crate::store::{Active, PageStore};
use crate::wal::{LogRecord, Lsn, TxnId};

struct TxnInfo {
    first: Lsn,
    last: Lsn,
    committed: bool,
}

pub(crate) fn recover(
    store: &PageStore,
    records: &[LogRecord],
    control: Option<Control>,
) -> Result<()> {
    let control = control.unwrap_or_default();

    // Analysis.
    let mut txns: HashMap<TxnId, TxnInfo> = HashMap::new();
    let mut max_txn = 0;
    for r in records.iter().filter(|r| r.txn != 0) {
        max_txn = max_txn.max(r.txn);
        if r.kind == logrec::END {
            txns.remove(&r.txn);
            continue;
        }
        let t = txns.entry(r.txn).or_insert(TxnInfo {
            first: r.lsn,
            last: r.lsn,
            committed: false,
        });
        t.last = r.lsn;
        t.committed |= r.kind == logrec::COMMIT;
    }
    store.next_txn.store(
        control.next_txn.max(max_txn + 1),
        std::sync::atomic::Ordering::Release,
    );

    // Redo.
    for r in records.iter().filter(|r| r.lsn >= control.redo) {
        redo_record(store, r)?;
    }

    // Undo the losers, newest record first across all of them.
    let mut last: HashMap<TxnId, Lsn> = HashMap::new();
    let mut todo: BinaryHeap<(Lsn, TxnId)> = BinaryHeap::new();
    for (&txn, info) in &txns {
        if info.committed {
            store.wal.append(txn, info.last, logrec::END, &[])?;
        } else {
            store.active().insert(txn, Active { first: info.first });
            last.insert(txn, info.last);
            todo.push((info.last, txn));
        }
    }
    while let Some((lsn, txn)) = todo.pop() {
        let l = last.get_mut(&txn).expect("every loser has a last LSN");
        let next;
        (next, *l) = undo_one(store, txn, lsn, *l)?;
        if next == 0 {
            store.wal.append(txn, *l, logrec::END, &[])?;
            store.active().remove(&txn);
        } else {
            todo.push((next, txn));
        }
    }
    Ok(())
}

/// Repeats the changes of one record on the pages that predate it.
fn redo_record(store: &PageStore, r: &LogRecord) -> Result<()> {
    let entry = Entry::decode(r)?;
    // A record may change one page several times (a format, then its next pointer): whether
    // the page predates the record is decided at its first change.
    let mut decided: Vec<(PageId, bool)> = Vec::new();
    for change in entry.redo_changes() {
        let id = change.page();
        let mut page = match decided.iter().find(|d| d.0 == id) {
            Some((_, false)) => continue,
            Some((_, true)) => store.pool.fetch_write(id)?,
            None if change.overwrites() => {
                decided.push((id, true));
                store.pool.install(Page::new(id, PageType::Free))?
            }
            None => {
                let page = store.pool.fetch_write(id).map_err(|e| match e {
                    Error::NoSuchPage { .. } => Error::BadLogRecord {
                        lsn: r.lsn,
                        what: format!("changes page {id}, which was never written"),
                    },
                    e => e,
                })?;
                let apply = page.lsn() < r.lsn;
                decided.push((id, apply));
                if !apply {
                    continue;
                }
                page
            }
        };
        change.apply(&mut page).map_err(|e| Error::BadLogRecord {
            lsn: r.lsn,
            what: format!("redo does not fit page {id}: {e}"),
        })?;
        page.set_lsn(r.lsn);
    }
    Ok(())
}

/// Undoes the record at `lsn` of transaction `txn`, whose last record is `last`: logs and
/// applies the compensation, if the record changed anything. Returns the next LSN to undo
/// and the transaction's new last LSN.
pub(crate) fn undo_one(store: &PageStore, txn: TxnId, lsn: Lsn, last: Lsn) -> Result<(Lsn, Lsn)> {
    store.wal.flush(lsn)?;
    let record = store.wal.read_at(lsn)?;
    let undo_next = record.prev_lsn;
    match Entry::decode(&record)? {
        Entry::Change(change) => {
            let Some(inverse) = change.inverse() else {
                return Ok((undo_next, last));
            };
            let mut page = store.write(inverse.page())?;
            let clr = Entry::Clr {
                undo_next,
                change: inverse,
            };
            let last = store.log_txn(txn, last, &clr, &mut page)?;
            drop(page);
            crate::heap::after_undo(store, &change)?;
            Ok((undo_next, last))
        }
        Entry::Index { kind, root, change } => {
            let last = match kind {
                IndexKind::BTree => crate::btree::undo(store, txn, last, root, &change, undo_next)?,
                IndexKind::Hash => crate::hash::undo(store, txn, last, root, &change, undo_next)?,
            };
            Ok((undo_next, last))
        }
        Entry::Clr { undo_next, .. } => Ok((undo_next, last)),
        _ => Ok((undo_next, last)),
    }
}
