//! The thread that owns a connection's SQL session.
//!
//! cairn-sql is synchronous: a statement reads and writes pages, waits for the log to reach
//! the disk at COMMIT, and may wait for another session's transaction to release the writer
//! slot. None of that may happen on the doors' runtime, whose one thread serves every Redis
//! and PostgreSQL client. So each PostgreSQL connection gets a thread of its own (as each
//! gets a process in PostgreSQL) that owns its [`Session`] and runs what the connection's
//! task sends it, one job at a time, in order; the task awaits each answer. The thread ends
//! when the connection is dropped, and with it the session (rolling back an open
//! transaction).

use std::sync::mpsc;
use std::sync::Arc;

use cairn_sql::interrupt::Interrupt;
use cairn_sql::{Database, Session};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// Who a connection's session is for.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub user: String,
    pub database: String,
    pub pid: i32,
}

/// A handle on a connection's session thread.
#[derive(Debug, Clone)]
pub struct SessionThread {
    jobs: mpsc::Sender<Job>,
    interrupt: Interrupt,
}

/// The session thread is gone: it could not be started, or a job panicked.
#[derive(Debug, thiserror::Error)]
#[error("the session's thread has stopped")]
pub struct Stopped;

impl SessionThread {
    /// Starts a thread with a new session of `db`, for `user` connected to `database` as
    /// backend `pid`.
    pub fn start(db: Arc<Database>, identity: &Identity) -> Result<SessionThread, Stopped> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let mut session = Session::new(db);
        session.connect(&identity.user, &identity.database, identity.pid);
        let interrupt = session.interrupt();
        std::thread::Builder::new()
            .name("cairn-pg-session".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job(&mut session);
                }
            })
            .map_err(|_| Stopped)?;
        Ok(SessionThread { jobs, interrupt })
    }

    /// Cancels the statement the session is running, if any (a CancelRequest).
    pub fn cancel(&self) {
        self.interrupt.cancel();
    }

    /// Queues `job` to run on the session after the jobs sent before it; its answer is
    /// awaited when the connection needs it (at once, or after reading the next message).
    pub fn submit<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> R + Send + 'static,
    ) -> Result<Pending<R>, Stopped> {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Box::new(move |session| {
                let _ = answer.send(job(session));
            }))
            .map_err(|_| Stopped)?;
        Ok(Pending(answered))
    }
}

/// The answer of a job submitted to a session thread, to come.
#[derive(Debug)]
pub struct Pending<R>(oneshot::Receiver<R>);

impl<R> Pending<R> {
    pub async fn answer(self) -> Result<R, Stopped> {
        self.0.await.map_err(|_| Stopped)
    }
}
