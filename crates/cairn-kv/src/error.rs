//! The errors a command can answer with.
//!
//! Each variant is one of Redis's error replies; its `Display` is Redis's message without the
//! leading error code, and [`KvError::code`] gives that code (`ERR`, `WRONGTYPE`, …), so the
//! door that speaks RESP writes `-{code} {message}`.

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
    /// The storage engine failed; nothing was changed.
    #[error("storage error: {0}")]
    Storage(String),
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
            _ => "ERR",
        }
    }

    pub(crate) fn other(message: impl Into<String>) -> KvError {
        KvError::Other(message.into())
    }
}

impl From<cairn_log::Error> for KvError {
    fn from(e: cairn_log::Error) -> KvError {
        KvError::Storage(e.to_string())
    }
}

/// The result of a command step.
pub type Result<T, E = KvError> = std::result::Result<T, E>;
