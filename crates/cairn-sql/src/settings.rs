//! Run-time settings, as PostgreSQL's configuration parameters: `SET`, `SET LOCAL`, `RESET`,
//! `SHOW`, `current_setting()` and `set_config()`.
//!
//! `PARAMETERS` lists the parameters a session has, with PostgreSQL 15's defaults. Those
//! cairn acts on are checked and normalised as PostgreSQL shows them (`work_mem` as `64MB`,
//! booleans as `on`/`off`); those that fix how values are read and written accept only
//! what cairn does (`TimeZone` UTC, `DateStyle` ISO, `client_encoding` UTF8), so that a client
//! asking for something else is told, not answered in a format it did not ask for; the
//! rest (`application_name`, `search_path`, timeouts of locks cairn does not take…) are kept
//! and shown. An unknown name is `42704`, a read-only one `55P02`.
//!
//! Settings are transactional, as in PostgreSQL: a `SET` rolled back is undone, and a `SET
//! LOCAL` lasts until its transaction ends (see [`crate::session::Session`]).
//!
//! `current_setting()` and `set_config()` are functions evaluated deep in the executor, far
//! from the session: the session hands each statement a snapshot of its settings on its
//! thread ([`Snapshot::enter`]), which they read, and `set_config()` records its change
//! there for the session to apply when the statement ends.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result, SqlState};

/// How a parameter's value is checked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Any text.
    Text,
    /// `on`/`off` (any spelling of a boolean).
    Bool,
    /// An integer in a range.
    Int(i64, i64),
    /// A duration in milliseconds (a bare number, or with `ms`, `s`, `min`, `h`, `d`).
    Millis,
    /// A memory size in kB, from 64kB (a bare number, or with `kB`, `MB`, `GB`).
    Memory,
    /// One of these (case-insensitive; shown as listed).
    OneOf(&'static [&'static str]),
    /// Only what cairn does: values for which the check answers the normalised form.
    Fixed(fn(&str) -> Option<&'static str>),
    /// Cannot be set.
    ReadOnly,
}

/// A parameter: its name as PostgreSQL shows it, its default, its kind.
struct Parameter {
    name: &'static str,
    default: &'static str,
    kind: Kind,
}

const ISOLATION: &[&str] = &[
    "serializable",
    "repeatable read",
    "read committed",
    "read uncommitted",
];

/// The parameters of a session (names compared case-insensitively).
const PARAMETERS: &[Parameter] = &[
    p("application_name", "", Kind::Text),
    p(
        "bytea_output",
        "hex",
        Kind::Fixed(|v| (v == "hex").then_some("hex")),
    ),
    p("client_encoding", "UTF8", Kind::Fixed(utf8)),
    p(
        "client_min_messages",
        "notice",
        Kind::OneOf(&[
            "debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error",
        ]),
    ),
    p("DateStyle", "ISO, MDY", Kind::Fixed(date_style)),
    p(
        "default_transaction_isolation",
        "read committed",
        Kind::OneOf(ISOLATION),
    ),
    p("default_transaction_read_only", "off", Kind::Bool),
    p("enable_hashjoin", "on", Kind::Bool),
    p("enable_indexscan", "on", Kind::Bool),
    p("enable_seqscan", "on", Kind::Bool),
    p("extra_float_digits", "1", Kind::Int(-15, 3)),
    p("idle_in_transaction_session_timeout", "0", Kind::Millis),
    p("integer_datetimes", "on", Kind::ReadOnly),
    p(
        "IntervalStyle",
        "postgres",
        Kind::Fixed(|v| (v == "postgres").then_some("postgres")),
    ),
    p("jit", "off", Kind::Bool),
    p("lc_messages", "C", Kind::Text),
    p("lc_monetary", "C", Kind::Text),
    p("lc_numeric", "C", Kind::Text),
    p("lc_time", "C", Kind::Text),
    p("lock_timeout", "0", Kind::Millis),
    p("max_identifier_length", "63", Kind::ReadOnly),
    p("row_security", "on", Kind::Bool),
    p("search_path", "\"$user\", public", Kind::Text),
    p("server_encoding", "UTF8", Kind::ReadOnly),
    p("server_version", "15.0", Kind::ReadOnly),
    p("server_version_num", "150000", Kind::ReadOnly),
    p("session_authorization", "cairn", Kind::ReadOnly),
    p(
        "standard_conforming_strings",
        "on",
        Kind::Fixed(|v| matches!(v, "on" | "true" | "1").then_some("on")),
    ),
    p("statement_timeout", "0", Kind::Millis),
    p(
        "synchronous_commit",
        "on",
        Kind::OneOf(&["on", "off", "local", "remote_write", "remote_apply"]),
    ),
    p("TimeZone", "UTC", Kind::Fixed(utc)),
    p(
        "transaction_isolation",
        "read committed",
        Kind::OneOf(ISOLATION),
    ),
    p("transaction_read_only", "off", Kind::Bool),
    p("work_mem", "64MB", Kind::Memory),
];

const fn p(name: &'static str, default: &'static str, kind: Kind) -> Parameter {
    Parameter {
        name,
        default,
        kind,
    }
}

fn utf8(v: &str) -> Option<&'static str> {
    matches!(v, "utf8" | "utf-8" | "unicode").then_some("UTF8")
}

fn date_style(v: &str) -> Option<&'static str> {
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let iso = parts
        .iter()
        .all(|p| matches!(*p, "iso" | "mdy" | "us" | "noneuropean"));
    (iso && parts.contains(&"iso")).then_some("ISO, MDY")
}

fn utc(v: &str) -> Option<&'static str> {
    matches!(
        v,
        "utc" | "etc/utc" | "gmt" | "etc/gmt" | "z" | "zulu" | "universal" | "0" | "+00" | "+00:00"
    )
    .then_some("UTC")
}

fn parameter(name: &str) -> Result<&'static Parameter> {
    PARAMETERS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            Error::new(
                SqlState::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )
        })
}

fn invalid(name: &str, value: &str) -> Error {
    Error::new(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

/// `value` for `parameter` as it is shown, or PostgreSQL's error.
fn normalise(parameter: &Parameter, value: &str) -> Result<String> {
    let name = parameter.name;
    let lower = value.trim().to_ascii_lowercase();
    match parameter.kind {
        Kind::Text => Ok(value.to_string()),
        Kind::Bool => match lower.as_str() {
            "on" | "true" | "yes" | "1" | "t" | "y" => Ok("on".into()),
            "off" | "false" | "no" | "0" | "f" | "n" => Ok("off".into()),
            _ => Err(Error::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("parameter \"{name}\" requires a Boolean value"),
            )),
        },
        Kind::Int(min, max) => match lower.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            Ok(n) => Err(Error::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("{n} is outside the valid range for parameter \"{name}\" ({min} .. {max})"),
            )),
            Err(_) => Err(invalid(name, value)),
        },
        Kind::Millis => millis(&lower)
            .map(show_millis)
            .ok_or_else(|| invalid(name, value)),
        Kind::Memory => memory_kb(name, value).map(show_kb),
        Kind::OneOf(choices) => choices
            .iter()
            .find(|c| **c == lower)
            .map(|c| c.to_string())
            .ok_or_else(|| invalid(name, value)),
        Kind::Fixed(check) => check(&lower).map(str::to_string).ok_or_else(|| {
            Error::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!(
                    "cairn supports only {} = '{}' (not \"{value}\")",
                    name, parameter.default
                ),
            )
        }),
        Kind::ReadOnly => Err(Error::new(
            SqlState("55P02"),
            format!("parameter \"{name}\" cannot be changed"),
        )),
    }
}

/// A duration in milliseconds: a bare number, or with a unit.
fn millis(text: &str) -> Option<i64> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: i64 = digits.trim().parse().ok()?;
    let scale = match text[digits.len()..].trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    (n >= 0).then(|| n.saturating_mul(scale))
}

/// Milliseconds as PostgreSQL shows them: the largest unit that divides them.
fn show_millis(ms: i64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ] {
        if ms != 0 && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    if ms == 0 {
        "0".into()
    } else {
        format!("{ms}ms")
    }
}

/// A memory size in kB (from 64kB): a number of kB, or with `kB`, `MB`, `GB`.
fn memory_kb(name: &str, text: &str) -> Result<usize> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: usize = digits.trim().parse().map_err(|_| invalid(name, text))?;
    let kb = match text[digits.len()..].trim() {
        "" | "kB" => n,
        "MB" => n.saturating_mul(1024),
        "GB" => n.saturating_mul(1024 * 1024),
        _ => return Err(invalid(name, text)),
    };
    if kb < 64 {
        return Err(Error::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!(
                "{kb} kB is outside the valid range for parameter \"{name}\" (64 .. 2147483647)"
            ),
        ));
    }
    Ok(kb)
}

fn show_kb(kb: usize) -> String {
    if kb.is_multiple_of(1024 * 1024) {
        format!("{}GB", kb / (1024 * 1024))
    } else if kb.is_multiple_of(1024) {
        format!("{}MB", kb / 1024)
    } else {
        format!("{kb}kB")
    }
}

/// The parameters a client is told of when they change (PostgreSQL's `GUC_REPORT` ones
/// that can change in a session): the wire door sends each change as a ParameterStatus.
pub const REPORTED: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "default_transaction_read_only",
    "IntervalStyle",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
];

/// A session's settings: each parameter's value as shown (a parameter never set has its
/// default). Cloned cheaply: statements read a snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    values: Arc<BTreeMap<&'static str, String>>,
    /// The database the session connected to (`current_database()`); `None`: `cairn`.
    database: Option<Arc<str>>,
    /// The number the wire door knows the session by (`pg_backend_pid()`).
    backend_pid: i32,
}

impl Settings {
    /// The value of `name` as SHOW shows it.
    pub fn get(&self, name: &str) -> Result<String> {
        let parameter = parameter(name)?;
        Ok(self
            .values
            .get(parameter.name)
            .cloned()
            .unwrap_or_else(|| parameter.default.to_string()))
    }

    /// Sets `name` to `value` (`None`: its default), checked and normalised.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        let parameter = parameter(name)?;
        let value = match value {
            None if matches!(parameter.kind, Kind::ReadOnly) => {
                return normalise(parameter, "").map(|_| ())
            }
            None => parameter.default.to_string(),
            Some(value) => normalise(parameter, value)?,
        };
        Arc::make_mut(&mut self.values).insert(parameter.name, value);
        Ok(())
    }

    /// Records who the session is: the user it logged in as (`session_authorization`,
    /// `current_user`) and the database it asked for (`current_database()`).
    pub fn connect(&mut self, user: &str, database: &str, backend_pid: i32) {
        self.backend_pid = backend_pid;
        if !user.is_empty() {
            Arc::make_mut(&mut self.values).insert("session_authorization", user.to_string());
        }
        if !database.is_empty() {
            self.database = Some(database.into());
        }
    }

    /// The session's user and database.
    pub fn connection(&self) -> (String, String) {
        (
            self.get("session_authorization").unwrap_or_default(),
            self.database.as_deref().unwrap_or("cairn").to_string(),
        )
    }

    /// The [`REPORTED`] parameters whose values differ from `before`'s, with their values.
    pub fn reported_changes(&self, before: &Settings) -> Vec<(&'static str, String)> {
        if Arc::ptr_eq(&self.values, &before.values) {
            return Vec::new();
        }
        REPORTED
            .iter()
            .filter_map(|name| {
                let now = self.get(name).ok()?;
                (before.get(name).ok()? != now).then_some((*name, now))
            })
            .collect()
    }

    /// Every parameter, its value and a description, for `SHOW ALL`.
    pub fn all(&self) -> Vec<(&'static str, String)> {
        PARAMETERS
            .iter()
            .map(|p| (p.name, self.get(p.name).unwrap_or_default()))
            .collect()
    }

    /// The name of `name` as PostgreSQL spells it (`datestyle` → `DateStyle`).
    pub fn canonical_name(name: &str) -> Result<&'static str> {
        parameter(name).map(|p| p.name)
    }

    /// `work_mem` in bytes.
    pub fn work_mem(&self) -> usize {
        let shown = self.get("work_mem").unwrap_or_default();
        memory_kb("work_mem", &shown).unwrap_or(64 << 10) << 10
    }

    /// `statement_timeout` in milliseconds (0: none).
    pub fn statement_timeout_ms(&self) -> i64 {
        millis(
            &self
                .get("statement_timeout")
                .unwrap_or_default()
                .to_ascii_lowercase(),
        )
        .unwrap_or(0)
    }

    /// Whether a commit waits for the log to reach the disk (`synchronous_commit` is not
    /// `off`).
    pub fn synchronous_commit(&self) -> bool {
        self.get("synchronous_commit").is_ok_and(|v| v != "off")
    }
}

/// A change `set_config()` asked for during a statement: parameter, value, whether local.
pub type Change = (String, String, bool);

thread_local! {
    static SNAPSHOT: RefCell<Option<(Settings, Vec<Change>)>> = const { RefCell::new(None) };
}

/// The settings of the statement running on this thread, for as long as it lives.
pub struct Snapshot {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Snapshot {
    /// Hands `settings` to the statement about to run on this thread.
    pub fn enter(settings: &Settings) -> Snapshot {
        SNAPSHOT.with(|s| *s.borrow_mut() = Some((settings.clone(), Vec::new())));
        Snapshot {
            _not_send: std::marker::PhantomData,
        }
    }

    /// The changes `set_config()` made during the statement, in order.
    pub fn changes(self) -> Vec<Change> {
        SNAPSHOT.with(|s| {
            s.borrow_mut()
                .as_mut()
                .map(|(_, changes)| std::mem::take(changes))
                .unwrap_or_default()
        })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        SNAPSHOT.with(|s| *s.borrow_mut() = None);
    }
}

/// `current_setting(name [, missing_ok])`: the statement's value of `name` (`None` for an
/// unknown name when `missing_ok`).
pub fn current_setting(name: &str, missing_ok: bool) -> Result<Option<String>> {
    let value = SNAPSHOT.with(|s| match s.borrow().as_ref() {
        Some((settings, _)) => settings.get(name),
        None => Settings::default().get(name),
    });
    match value {
        Ok(value) => Ok(Some(value)),
        Err(_) if missing_ok => Ok(None),
        Err(e) => Err(e),
    }
}

/// The user and database of the session whose statement runs on this thread.
pub fn connection() -> (String, String) {
    SNAPSHOT.with(|s| match s.borrow().as_ref() {
        Some((settings, _)) => settings.connection(),
        None => Settings::default().connection(),
    })
}

/// `pg_backend_pid()` of the session whose statement runs on this thread.
pub fn backend_pid() -> i32 {
    SNAPSHOT.with(|s| {
        s.borrow()
            .as_ref()
            .map_or(0, |(settings, _)| settings.backend_pid)
    })
}

/// Every setting of the statement's session, as `SHOW ALL` and `pg_settings` show them.
pub fn shown() -> Vec<(&'static str, String)> {
    SNAPSHOT.with(|s| match s.borrow().as_ref() {
        Some((settings, _)) => settings.all(),
        None => Settings::default().all(),
    })
}

/// `set_config(name, value, is_local)`: sets `name` for the rest of the statement and, once
/// it ends, for the session (or its transaction); answers the new value as shown.
pub fn set_config(name: &str, value: &str, local: bool) -> Result<String> {
    SNAPSHOT.with(|s| {
        let mut snapshot = s.borrow_mut();
        let (settings, changes) = snapshot.get_or_insert_with(|| (Settings::default(), Vec::new()));
        settings.set(name, Some(value))?;
        changes.push((name.to_string(), value.to_string(), local));
        settings.get(name)
    })
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_shown_as_postgresql_shows_them() {
        let mut s = Settings::default();
        assert_eq!(s.get("datestyle").unwrap(), "ISO, MDY");
        s.set("work_mem", Some("4096")).unwrap();
        assert_eq!(s.get("work_mem").unwrap(), "4MB");
        assert_eq!(s.work_mem(), 4 << 20);
        s.set("statement_timeout", Some("1500")).unwrap();
        assert_eq!(s.get("statement_timeout").unwrap(), "1500ms");
        s.set("statement_timeout", Some("2min")).unwrap();
        assert_eq!(s.statement_timeout_ms(), 120_000);
        s.set("jit", Some("yes")).unwrap();
        assert_eq!(s.get("jit").unwrap(), "on");
        s.set("TimeZone", Some("Etc/UTC")).unwrap();
        assert_eq!(s.get("timezone").unwrap(), "UTC");
        assert_eq!(
            s.set("TimeZone", Some("Europe/Paris"))
                .unwrap_err()
                .state
                .code(),
            "0A000"
        );
        assert_eq!(
            s.set("nosuch", Some("1")).unwrap_err().state.code(),
            "42704"
        );
        assert_eq!(
            s.set("server_version", Some("16"))
                .unwrap_err()
                .state
                .code(),
            "55P02"
        );
        assert_eq!(
            s.set("work_mem", Some("1kB")).unwrap_err().state.code(),
            "22023"
        );
        s.set("work_mem", None).unwrap();
        assert_eq!(s.get("work_mem").unwrap(), "64MB");
    }

    #[test]
    fn set_config_is_seen_by_the_rest_of_the_statement() {
        let settings = Settings::default();
        let snapshot = Snapshot::enter(&settings);
        assert_eq!(set_config("application_name", "x", false).unwrap(), "x");
        assert_eq!(
            current_setting("application_name", false)
                .unwrap()
                .as_deref(),
            Some("x")
        );
        assert_eq!(current_setting("nosuch", true).unwrap(), None);
        assert_eq!(
            snapshot.changes(),
            vec![("application_name".to_string(), "x".to_string(), false)]
        );
    }
}
