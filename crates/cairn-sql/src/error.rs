//! The one error type of cairn-sql: what went wrong, as PostgreSQL says it.
//!
//! Every error carries its SQLSTATE ([`SqlState`]) and PostgreSQL's primary message text, so
//! the wire door can pass it through unchanged and a client's error handling (which keys on
//! the code) works as against PostgreSQL 15. An error about a place in the statement text
//! carries that place as PostgreSQL's `position`: a 1-based character offset into the text.

use std::fmt;

/// A SQLSTATE: five characters, the first two its class. The constants are the codes cairn
/// raises, named as in PostgreSQL's errcodes.txt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SqlState(pub &'static str);

impl SqlState {
    /// 42601
    pub const SYNTAX_ERROR: SqlState = SqlState("42601");
    /// 22003
    pub const NUMERIC_VALUE_OUT_OF_RANGE: SqlState = SqlState("22003");
    /// 22012
    pub const DIVISION_BY_ZERO: SqlState = SqlState("22012");
    /// 22P02
    pub const INVALID_TEXT_REPRESENTATION: SqlState = SqlState("22P02");
    /// 42804
    pub const DATATYPE_MISMATCH: SqlState = SqlState("42804");
    /// 42883
    pub const UNDEFINED_FUNCTION: SqlState = SqlState("42883");
    /// 0A000
    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState("0A000");
    /// 54001
    pub const STATEMENT_TOO_COMPLEX: SqlState = SqlState("54001");
    /// 42P01
    pub const UNDEFINED_TABLE: SqlState = SqlState("42P01");
    /// 42P07
    pub const DUPLICATE_TABLE: SqlState = SqlState("42P07");
    /// 42703
    pub const UNDEFINED_COLUMN: SqlState = SqlState("42703");
    /// 42701
    pub const DUPLICATE_COLUMN: SqlState = SqlState("42701");
    /// 23502
    pub const NOT_NULL_VIOLATION: SqlState = SqlState("23502");
    /// XX001
    pub const DATA_CORRUPTED: SqlState = SqlState("XX001");
    /// 58030
    pub const IO_ERROR: SqlState = SqlState("58030");

    /// 25P02
    pub const IN_FAILED_SQL_TRANSACTION: SqlState = SqlState("25P02");
    /// 42702
    pub const AMBIGUOUS_COLUMN: SqlState = SqlState("42702");
    /// 21000
    pub const CARDINALITY_VIOLATION: SqlState = SqlState("21000");
    /// 42803
    pub const GROUPING_ERROR: SqlState = SqlState("42803");
    /// 23505
    pub const UNIQUE_VIOLATION: SqlState = SqlState("23505");
    /// 42P10
    pub const INVALID_COLUMN_REFERENCE: SqlState = SqlState("42P10");
    /// 42704
    pub const UNDEFINED_OBJECT: SqlState = SqlState("42704");
    /// 42809
    pub const WRONG_OBJECT_TYPE: SqlState = SqlState("42809");
    /// 42P16
    pub const INVALID_TABLE_DEFINITION: SqlState = SqlState("42P16");
    /// 42710
    pub const DUPLICATE_OBJECT: SqlState = SqlState("42710");
    /// 22023
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState("22023");
    /// 22025
    pub const INVALID_ESCAPE_SEQUENCE: SqlState = SqlState("22025");
    /// 42712
    pub const DUPLICATE_ALIAS: SqlState = SqlState("42712");
    /// 42830
    pub const INVALID_FOREIGN_KEY: SqlState = SqlState("42830");
    /// 2BP01
    pub const DEPENDENT_OBJECTS_STILL_EXIST: SqlState = SqlState("2BP01");
    /// Memory (or a thread) that could not be had.
    pub const OUT_OF_MEMORY: SqlState = SqlState("53200");
    /// A cast that does not exist.
    pub const CANNOT_COERCE: SqlState = SqlState("42846");
    /// Date/time text that is not a date or time.
    pub const INVALID_DATETIME_FORMAT: SqlState = SqlState("22007");
    /// A date/time field or result past its range.
    pub const DATETIME_FIELD_OVERFLOW: SqlState = SqlState("22008");
    /// A string longer than its column's type allows.
    pub const STRING_DATA_RIGHT_TRUNCATION: SqlState = SqlState("22001");

    /// The five-character code.
    pub fn code(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An error of cairn-sql, with PostgreSQL's code and message: an [`ErrorDetail`] behind a
/// box, so that a `Result` of a [`crate::value::Value`] is no larger than the value — every
/// expression evaluates to one, row after row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.message)]
pub struct Error(Box<ErrorDetail>);

/// What an [`Error`] says (its fields read through the error: `e.state`, `e.message`).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDetail {
    /// The SQLSTATE.
    pub state: SqlState,
    /// PostgreSQL's primary message (lowercase, no trailing period).
    pub message: String,
    /// Where in the statement text the error is: a 1-based character offset.
    pub position: Option<usize>,
    /// What was being done (PostgreSQL's CONTEXT field): `COPY t, line 3, column a: "x"`.
    pub context: Option<String>,
    /// PostgreSQL's DETAIL field: `Key (a)=(1) already exists.`
    pub detail: Option<String>,
    /// PostgreSQL's HINT field: what the user might do about it.
    pub hint: Option<String>,
}

/// PostgreSQL's HINT of an error, where it gives one whatever the case: a function or an
/// operator that does not exist for the types given.
fn hint_of(state: SqlState, message: &str) -> Option<String> {
    if state != SqlState::UNDEFINED_FUNCTION || !message.ends_with("does not exist") {
        if state == SqlState::UNDEFINED_FUNCTION && message.starts_with("operator does not exist") {
            return Some(
                "No operator matches the given name and argument types. You might need to add explicit type casts."
                    .into(),
            );
        }
        return None;
    }
    message.starts_with("function ").then(|| {
        "No function matches the given name and argument types. You might need to add explicit type casts."
            .into()
    })
}

impl std::ops::Deref for Error {
    type Target = ErrorDetail;
    fn deref(&self) -> &ErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorDetail {
        &mut self.0
    }
}

impl Error {
    pub fn new(state: SqlState, message: impl Into<String>) -> Error {
        let message = message.into();
        let hint = hint_of(state, &message);
        Error(Box::new(ErrorDetail {
            state,
            message,
            position: None,
            context: None,
            detail: None,
            hint,
        }))
    }

    /// The same error, placed at character `position` (1-based) of the statement text.
    pub fn at(mut self, position: usize) -> Error {
        self.position = Some(position);
        self
    }

    /// The same error, with a detail (PostgreSQL's DETAIL).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    /// The same error, with what was being done when it happened.
    pub fn with_context(mut self, context: impl Into<String>) -> Error {
        self.context = Some(context.into());
        self
    }

    /// The same error, placed nowhere (for text that is not the statement's).
    pub fn unplaced(mut self) -> Error {
        self.position = None;
        self
    }

    /// `0A000 <what> is not supported yet`: SQL cairn does not run yet.
    pub(crate) fn not_supported(what: &str) -> Error {
        Error::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("{what} is not supported yet"),
        )
    }

    /// `<type> out of range`, as an arithmetic overflow of a fixed-width integer says it.
    pub(crate) fn out_of_range(type_word: &str) -> Error {
        Error::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{type_word} out of range"),
        )
    }

    pub(crate) fn division_by_zero() -> Error {
        Error::new(SqlState::DIVISION_BY_ZERO, "division by zero")
    }

    /// `invalid input syntax for type <type>: "<text>"`: text that is not a value of the type.
    pub(crate) fn invalid_input(type_name: &str, text: &str) -> Error {
        Error::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {type_name}: \"{text}\""),
        )
    }
}

impl From<cairn_page::Error> for Error {
    /// A storage error: damage is `XX001`, a failed or refused write `58030`, a row too large
    /// `54000`; its text is the engine's.
    fn from(e: cairn_page::Error) -> Error {
        let state = match &e {
            cairn_page::Error::Corrupt { .. } | cairn_page::Error::Format { .. } => {
                SqlState::DATA_CORRUPTED
            }
            cairn_page::Error::TupleTooLarge { .. } => SqlState("54000"),
            _ => SqlState::IO_ERROR,
        };
        Error::new(state, e.to_string())
    }
}

/// Result alias of cairn-sql.
pub type Result<T, E = Error> = std::result::Result<T, E>;
