//! The errors a command can answer with.
//!
//! Each variant is one of Redis's error replies; its `Display` is Redis's message without the
//! leading error code, and [`KvError::code`] gives that code (`ERR`, `WRONGTYPE`, …), so the
//! door that speaks RESP writes `-{code} {message}`.

use std::sync::Arc;

/// What went wrong with one command.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum KvError {
    #[error("unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("unknown subcommand '{sub}'. Try {command} HELP.")]
    UnknownSubcommand { command: String, sub: String },
    #[error("wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("value is not an integer or out of range")]
    NotAnInteger,
    #[error("value is not a valid float")]
    NotAFloat,
    #[error("increment or decrement would overflow")]
    Overflow,
    #[error("syntax error")]
    Syntax,
    #[error("no such key")]
    NoSuchKey,
    #[error("index out of range")]
    IndexOutOfRange,
    #[error("DB index is out of range")]
    DbIndexOutOfRange,
    #[error("Authentication required.")]
    NoAuth,
    #[error("invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")]
    AuthNotConfigured,
    #[error("Transaction discarded because of previous errors.")]
    ExecAbort,
    #[error("{0} calls can not be nested")]
    NestedMulti(String),
    #[error("{0} without MULTI")]
    WithoutMulti(String),
    #[error("WATCH inside MULTI is not allowed")]
    WatchInMulti,
    #[error("Protocol version is not supported")]
    NoProto,
    /// An error whose whole text is given, after the `ERR` code.
    #[error("{0}")]
    Other(String),
    /// The storage engine failed; nothing was changed. The engine's error is kept whole
    /// (a poisoned store, corruption with its file and offset, a full disk) for the door's
    /// logs and for callers that act on it.
    #[error("storage error: {0}")]
    Storage(StorageError),
    /// A record of the key's value does not decode: its data on disk is damaged. The key is
    /// empty until the command that met it names it ([`KvError::for_key`]).
    #[error("damaged data of key '{key}': {what}")]
    Damaged { key: String, what: String },
}

/// An error of the storage engine, shared by every reply it fails (a refused batch fails a
/// whole pipeline group).
#[derive(Debug, Clone)]
pub struct StorageError(pub Arc<cairn_log::Error>);

impl StorageError {
    /// The engine's error.
    pub fn engine(&self) -> &cairn_log::Error {
        &self.0
    }
}

impl PartialEq for StorageError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl KvError {
    /// Redis's error code: the first word of the error reply.
    pub fn code(&self) -> &'static str {
        match self {
            KvError::WrongType => "WRONGTYPE",
            KvError::NoAuth => "NOAUTH",
            KvError::WrongPass => "WRONGPASS",
            KvError::ExecAbort => "EXECABORT",
            KvError::NoProto => "NOPROTO",
            // Redis answers writes it cannot persist (a failed AOF write or fsync) with
            // MISCONF; a client's retry logic keys on that code.
            KvError::Storage(e)
                if e.engine().is_storage_full()
                    || matches!(e.engine(), cairn_log::Error::Poisoned) =>
            {
                "MISCONF"
            }
            _ => "ERR",
        }
    }

    pub(crate) fn other(message: impl Into<String>) -> KvError {
        KvError::Other(message.into())
    }

    /// A damaged record, its key not yet known.
    pub(crate) fn damaged(what: impl Into<String>) -> KvError {
        KvError::Damaged {
            key: String::new(),
            what: what.into(),
        }
    }

    /// Names `key` in a [`KvError::Damaged`] that does not name one yet.
    pub fn for_key(self, key: &[u8]) -> KvError {
        match self {
            KvError::Damaged { key: k, what } if k.is_empty() => KvError::Damaged {
                key: String::from_utf8_lossy(key).into_owned(),
                what,
            },
            other => other,
        }
    }

    /// Whether the engine refused the write for want of disk space (nothing was changed; it
    /// can succeed once space is freed).
    pub fn is_storage_full(&self) -> bool {
        matches!(self, KvError::Storage(e) if e.engine().is_storage_full())
    }
}

impl From<cairn_log::Error> for KvError {
    fn from(e: cairn_log::Error) -> KvError {
        KvError::Storage(StorageError(Arc::new(e)))
    }
}

/// The result of a command step.
pub type Result<T, E = KvError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_record_names_its_key_once_known_and_engine_errors_keep_their_detail() {
        let e = KvError::damaged("the key's head record does not decode").for_key(b"user:1");
        assert_eq!(
            e.to_string(),
            "damaged data of key 'user:1': the key's head record does not decode"
        );
        // A key already named is kept.
        assert_eq!(e.clone().for_key(b"other"), e);
        let engine = cairn_log::Error::Corrupt {
            file: "segments/segment_000003.dat".into(),
            offset: 4096,
            what: "record checksum mismatch".into(),
        };
        let e = KvError::from(engine);
        assert_eq!(e.code(), "ERR");
        let KvError::Storage(s) = &e else {
            panic!("{e:?}")
        };
        assert!(matches!(
            s.engine(),
            cairn_log::Error::Corrupt { offset: 4096, .. }
        ));
        assert!(e.to_string().contains("segment_000003.dat at offset 4096"));
        assert_eq!(KvError::from(cairn_log::Error::Poisoned).code(), "MISCONF");
    }
}
