//! Notices: what a statement tells the client besides its result — PostgreSQL's NOTICE and
//! WARNING messages (`table "t" does not exist, skipping`, `there is no transaction in
//! progress`).
//!
//! Code deep in the engine raises one with [`raise`]; it waits on the thread until the
//! session, when the statement ends, [`take`]s the statement's notices and hands them out
//! with its result ([`crate::session::QueryResult::notices`]), for the wire door to send as
//! NoticeResponse messages before the statement's CommandComplete.

use std::cell::RefCell;

use crate::error::SqlState;

/// One notice: its severity (`NOTICE`, `WARNING`), SQLSTATE and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub severity: &'static str,
    pub state: SqlState,
    pub message: String,
}

thread_local! {
    static RAISED: RefCell<Vec<Notice>> = const { RefCell::new(Vec::new()) };
}

/// Raises a notice of the statement running on this thread.
pub fn raise(severity: &'static str, state: SqlState, message: impl Into<String>) {
    RAISED.with(|r| {
        r.borrow_mut().push(Notice {
            severity,
            state,
            message: message.into(),
        })
    });
}

/// The notices raised on this thread since the last call.
pub fn take() -> Vec<Notice> {
    RAISED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}
