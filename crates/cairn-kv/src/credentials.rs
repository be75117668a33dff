//! The password every door checks (`requirepass`): one store shared by the Redis door, the
//! blob door and the PostgreSQL door to come, so that `CONFIG SET requirepass` reaches them
//! all at once.
//!
//! Invariants: an empty password is no password (`--requirepass ''` leaves the server
//! open, so it counts as unset); while a door listens on an address other than loopback
//! ([`Credentials::set_exposed`]), the password cannot be removed. A candidate is compared
//! in time that depends on its own length only, never on where it first differs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

/// The shared password and whether a door is exposed beyond loopback.
#[derive(Debug, Default)]
pub struct Credentials {
    password: RwLock<Option<Arc<[u8]>>>,
    exposed: AtomicBool,
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("an empty password would leave a server listening beyond loopback open to anyone")]
    WouldExposeServer,
}

impl Credentials {
    /// Credentials with `password` (none when `None` or empty).
    pub fn new(password: Option<&str>) -> Credentials {
        let credentials = Credentials::default();
        credentials.replace(password.unwrap_or_default());
        credentials
    }

    /// Whether clients must authenticate.
    pub fn required(&self) -> bool {
        self.password.read().is_some()
    }

    /// The password, for `CONFIG GET requirepass` (empty when none).
    pub fn password(&self) -> String {
        self.password
            .read()
            .as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default()
    }

    /// Whether `candidate` is the password; false when none is set.
    pub fn verify(&self, candidate: &[u8]) -> bool {
        let password = self.password.read().clone();
        password.is_some_and(|p| constant_time_eq(&p, candidate))
    }

    /// Sets the password (`""` removes it), unless that would open an exposed server.
    pub fn set(&self, password: &str) -> Result<(), CredentialsError> {
        if password.is_empty() && self.exposed.load(Ordering::Acquire) {
            return Err(CredentialsError::WouldExposeServer);
        }
        self.replace(password);
        Ok(())
    }

    /// Records that a door listens on an address other than loopback (the server refuses to
    /// start so without a password, and from then on the password cannot be removed).
    pub fn set_exposed(&self, exposed: bool) {
        self.exposed.store(exposed, Ordering::Release);
    }

    fn replace(&self, password: &str) {
        *self.password.write() = (!password.is_empty()).then(|| Arc::from(password.as_bytes()));
    }
}

/// Compares two byte strings in time that depends on `candidate`'s length only.
fn constant_time_eq(expected: &[u8], candidate: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != candidate.len());
    for (i, &b) in candidate.iter().enumerate() {
        let e = expected
            .get(i % expected.len().max(1))
            .copied()
            .unwrap_or(0);
        diff |= b ^ e;
    }
    // The length difference is folded in above; `black_box` keeps the loop from being
    // shortened into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_password_is_no_password() {
        let c = Credentials::new(Some(""));
        assert!(!c.required());
        assert!(!c.verify(b""));
        c.set("s3cret").expect("set");
        assert!(c.required());
        assert!(c.verify(b"s3cret"));
        assert!(!c.verify(b"s3cre"));
        assert!(!c.verify(b"s3cret!"));
        assert!(!c.verify(b""));
        c.set("").expect("loopback: may be cleared");
        assert!(!c.required());
    }

    #[test]
    fn an_exposed_server_keeps_its_password() {
        let c = Credentials::new(Some("pw"));
        c.set_exposed(true);
        assert_eq!(c.set(""), Err(CredentialsError::WouldExposeServer));
        assert!(c.verify(b"pw"));
        c.set("new").expect("rotation is allowed");
        assert!(c.verify(b"new") && !c.verify(b"pw"));
    }

    #[test]
    fn comparison_checks_every_byte() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"abc", b"abcabc"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
