//! Stopping a running statement: a cancel request (PostgreSQL's CancelRequest, from another
//! connection) or `statement_timeout`.
//!
//! A session owns an [`Interrupt`]; whoever holds a clone of it (the wire door, keyed by the
//! connection's cancel key) may [`Interrupt::cancel`] the statement running now. Before each
//! statement the session arms a watch on its thread ([`Watch::arm`]) with the interrupt and
//! the statement's deadline; the executor's scans call [`check`] for every row they read,
//! which fails with PostgreSQL's `57014` once the statement is cancelled or late (the clock
//! is read every [`CLOCK_EVERY`] checks). The error then rolls the statement back as any
//! error does. A cancel that arrives between statements is forgotten, as in PostgreSQL.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result, SqlState};

/// Rows between two readings of the clock for `statement_timeout`.
pub const CLOCK_EVERY: u32 = 1024;

/// A session's cancel flag, shared with whoever may cancel its statements.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Cancels the statement running now, if any.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// What the statement running on this thread is watched for.
struct Armed {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
    until_clock: Cell<u32>,
}

thread_local! {
    static ARMED: std::cell::RefCell<Option<Armed>> = const { std::cell::RefCell::new(None) };
}

/// The watch over one statement on this thread, for as long as it lives.
pub struct Watch {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Watch {
    /// Watches the statement about to run on this thread: cancelled through `interrupt`
    /// (any earlier cancel forgotten), late after `timeout` (none if zero).
    pub fn arm(interrupt: &Interrupt, timeout: Duration) -> Watch {
        interrupt.0.store(false, Ordering::Release);
        let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
        ARMED.with(|a| {
            *a.borrow_mut() = Some(Armed {
                flag: Arc::clone(&interrupt.0),
                deadline,
                until_clock: Cell::new(CLOCK_EVERY),
            })
        });
        Watch {
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        ARMED.with(|a| *a.borrow_mut() = None);
    }
}

/// `57014` if the statement running on this thread was cancelled or is past its deadline.
pub fn check() -> Result<()> {
    ARMED.with(|a| {
        let armed = a.borrow();
        let Some(armed) = armed.as_ref() else {
            return Ok(());
        };
        if armed.flag.load(Ordering::Acquire) {
            return Err(Error::new(
                SqlState("57014"),
                "canceling statement due to user request",
            ));
        }
        if let Some(deadline) = armed.deadline {
            let left = armed.until_clock.get();
            if left > 0 {
                armed.until_clock.set(left - 1);
            } else {
                armed.until_clock.set(CLOCK_EVERY);
                if Instant::now() >= deadline {
                    return Err(Error::new(
                        SqlState("57014"),
                        "canceling statement due to statement timeout",
                    ));
                }
            }
        }
        Ok(())
    })
}
