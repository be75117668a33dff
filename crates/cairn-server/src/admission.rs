//! Admission of connections over every door, the open-files limit it depends on, and what a
//! listener does when `accept` fails.
//!
//! At most `maxclients` connections are open at once over all doors together (Redis's
//! setting, 10,000 by default), and never more than the open-files limit leaves after
//! [`RESERVED_FDS`] descriptors kept for the stores' own files (segments, WAL, atoms, spooled
//! uploads): a client over the limit is told so and closed, instead of a flood of idle
//! connections taking the descriptors a write needs. As Redis does, a limit lowered by the
//! open-files limit is logged once at start.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_kv::Kv;

/// Descriptors kept for the stores' files, never given to clients.
pub const RESERVED_FDS: usize = 128;

/// The count of open connections, shared by the doors.
pub struct Admission {
    open: AtomicUsize,
    /// What the open-files limit allows, whatever `maxclients` says.
    fd_cap: usize,
    kv: Arc<Kv>,
}

/// A connection counted as open until it is dropped.
pub struct Admitted(Arc<Admission>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// Counts connections against `kv`'s `maxclients` and the process's open-files limit.
    pub fn new(kv: Arc<Kv>) -> Arc<Admission> {
        let fd_cap = open_files_limit().map_or(usize::MAX, |limit| {
            if limit > 2 * RESERVED_FDS {
                limit - RESERVED_FDS
            } else {
                limit / 2
            }
        });
        let wanted = kv.maxclients();
        if wanted > fd_cap {
            tracing::warn!(
                "maxclients is {wanted} but the open files limit allows {fd_cap} clients \
                 ({RESERVED_FDS} descriptors are kept for the stores): at most {fd_cap} will be served"
            );
        }
        Arc::new(Admission {
            open: AtomicUsize::new(0),
            fd_cap,
            kv,
        })
    }

    /// The most connections served at once now.
    pub fn limit(&self) -> usize {
        self.kv.maxclients().min(self.fd_cap)
    }

    /// Counts one more connection, or `None` when the limit is reached.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let limit = self.limit();
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| Admitted(Arc::clone(self)))
    }
}

/// The process's open-files limit (soft and hard), if it can be read.
fn nofile_limit() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed to it.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (got == 0).then_some(limit)
}

/// The soft limit of open files, if it can be read and is finite.
fn open_files_limit() -> Option<usize> {
    nofile_limit()
        .filter(|limit| limit.rlim_cur != libc::RLIM_INFINITY)
        .map(|limit| usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

/// Raises the soft limit of open files to the hard limit, as Redis does for `maxclients`:
/// each client is a socket, and the default soft limit (often 1024) would cap clients well
/// below "thousands". A failure only leaves the limit where it was.
pub(crate) fn raise_fd_limit() {
    let Some(limit) = nofile_limit().filter(|l| l.rlim_cur < l.rlim_max) else {
        return;
    };
    let wanted = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct passed to it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
        tracing::debug!("open files limit raised to {}", limit.rlim_max);
    }
}

/// What a listener does when `accept` fails (out of descriptors, mostly): wait a little
/// before trying again, and log at most once a second, with how many failures it did not log.
#[derive(Debug, Default)]
pub struct AcceptErrors {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    /// Notes a failed accept of `door`, logs it if a second has passed, then pauses.
    pub async fn failed(&mut self, door: &str, error: std::io::Error) {
        let now = Instant::now();
        if self
            .last_logged
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            if self.unlogged > 0 {
                tracing::warn!(
                    "{door}: accept failed: {error} (and {} more times since the last report)",
                    self.unlogged
                );
            } else {
                tracing::warn!("{door}: accept failed: {error}");
            }
            self.last_logged = Some(now);
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
