//! The clock SQL reads: `now()` and `CURRENT_TIMESTAMP` are the time the current transaction
//! began, `statement_timestamp()` the time the current statement began, and
//! `clock_timestamp()` the time of the call, as in PostgreSQL.
//!
//! A session runs its statements on the calling thread, one at a time, so the two instants
//! are kept per thread: [`Session`](crate::session::Session) sets them (through
//! [`StatementClock::start`]) before it runs a statement, and every expression evaluated for
//! that statement, wherever in the engine, reads the same values. Outside any session
//! (a unit test evaluating an expression) both are the time of the call.
//!
//! Times are microseconds since 2000-01-01 00:00 UTC, a `timestamptz`.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::datetime::{UNIX_EPOCH_DAYS, USECS_PER_DAY};

thread_local! {
    static TRANSACTION: Cell<Option<i64>> = const { Cell::new(None) };
    static STATEMENT: Cell<Option<i64>> = const { Cell::new(None) };
}

/// The time now, as a `timestamptz`.
pub fn clock_timestamp() -> i64 {
    let since_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    since_unix + UNIX_EPOCH_DAYS * USECS_PER_DAY
}

/// When the current transaction began.
pub fn transaction_timestamp() -> i64 {
    TRANSACTION.with(Cell::get).unwrap_or_else(clock_timestamp)
}

/// When the current statement began.
pub fn statement_timestamp() -> i64 {
    STATEMENT.with(Cell::get).unwrap_or_else(clock_timestamp)
}

/// The clock of one statement on this thread, set for as long as it lives.
pub struct StatementClock {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl StatementClock {
    /// Starts a statement of the transaction that began at `transaction` (`None`: the
    /// statement is its own transaction, beginning now); returns the transaction's start.
    pub fn start(transaction: Option<i64>) -> (StatementClock, i64) {
        let now = clock_timestamp();
        let began = transaction.unwrap_or(now);
        TRANSACTION.with(|t| t.set(Some(began)));
        STATEMENT.with(|s| s.set(Some(now)));
        (
            StatementClock {
                _not_send: std::marker::PhantomData,
            },
            began,
        )
    }
}

impl Drop for StatementClock {
    fn drop(&mut self) {
        TRANSACTION.with(|t| t.set(None));
        STATEMENT.with(|s| s.set(None));
    }
}
