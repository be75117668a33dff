//! Sequences: `CREATE SEQUENCE`, `nextval`/`setval`, and the sequences behind `SERIAL` and
//! identity columns.
//!
//! A sequence's definition is a catalog row (root slot 5) that also holds how far it has
//! been reserved: the last value any `nextval` may have returned. As PostgreSQL logs a
//! sequence 32 values ahead, a `nextval` that passes the reservation writes a new one 32
//! values on, in a storage transaction of its own committed at once — so a sequence never
//! goes back, not after a rollback (sequences are not transactional, as in PostgreSQL) nor
//! after a crash, which may skip up to 32 values; a database closed cleanly writes each
//! sequence's last value back, and goes on from it. Between reservations `nextval` only
//! counts in memory.
//!
//! ```text
//! root slot 5: sequences — name text, increment bigint, start bigint, min bigint,
//!                          max bigint, owner text ("table.column") or NULL, reserved bigint
//!                          or NULL (nothing handed out yet)
//! ```

use std::collections::HashMap;
use std::sync::Mutex;

use cairn_page::{PageStore, Txn};

use crate::error::{Error, Result, SqlState};
use crate::row;
use crate::value::Value;

pub(crate) const SEQUENCES_SLOT: usize = 5;

/// How many values a reservation covers.
const RESERVE: i64 = 32;

/// A sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceDef {
    pub name: String,
    pub increment: i64,
    pub start: i64,
    pub min: i64,
    pub max: i64,
    /// The column whose DEFAULT it feeds (SERIAL, identity), dropped with its table.
    pub owner: Option<String>,
}

/// Where a sequence is at.
#[derive(Debug, Clone, Copy)]
struct State {
    /// The last value handed out, if any.
    last: Option<i64>,
    /// The last value the catalog row covers.
    reserved: Option<i64>,
}

/// The sequences of a database and where each is at (read apart from the catalog's lock, as
/// expressions call them while a statement holds it).
#[derive(Debug, Default)]
pub struct Sequences {
    defs: Mutex<HashMap<String, SequenceDef>>,
    states: Mutex<HashMap<String, State>>,
}

impl Sequences {
    /// Replaces the definitions known (at open, and after the catalog changed).
    pub fn set_definitions<'a>(&self, defs: impl IntoIterator<Item = &'a SequenceDef>) {
        let defs: HashMap<String, SequenceDef> = defs
            .into_iter()
            .map(|d| (d.name.clone(), d.clone()))
            .collect();
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states.retain(|name, _| defs.contains_key(name));
        *self.defs.lock().unwrap_or_else(|p| p.into_inner()) = defs;
    }

    /// `Ok` if sequence `name` exists, else `42P01`.
    pub fn exists(&self, name: &str) -> Result<()> {
        self.definition(name).map(|_| ())
    }

    fn definition(&self, name: &str) -> Result<SequenceDef> {
        self.defs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| crate::catalog::undefined(name))
    }

    /// `nextval(name)`: the sequence's start, then each value `increment` on; past its
    /// bounds, `2200H`.
    pub fn nextval(&self, store: &PageStore, name: &str) -> Result<i64> {
        let def = self.definition(name)?;
        let def = &def;
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let state = match states.get(&def.name) {
            Some(s) => *s,
            None => {
                let reserved = read_reserved(store, &def.name)?;
                State {
                    last: reserved,
                    reserved,
                }
            }
        };
        let value = match state.last {
            None => def.start,
            Some(last) => last
                .checked_add(def.increment)
                .unwrap_or(if def.increment > 0 {
                    i64::MAX
                } else {
                    i64::MIN
                }),
        };
        if value > def.max || value < def.min || (state.last == Some(value)) {
            let (word, bound) = if def.increment > 0 {
                ("maximum", def.max)
            } else {
                ("minimum", def.min)
            };
            return Err(Error::new(
                SqlState("2200H"),
                format!(
                    "nextval: reached {word} value of sequence \"{}\" ({bound})",
                    def.name
                ),
            ));
        }
        let covered = state.reserved.is_some_and(|r| {
            if def.increment > 0 {
                value <= r
            } else {
                value >= r
            }
        });
        let mut reserved = state.reserved;
        if !covered {
            let ahead = value
                .saturating_add(def.increment.saturating_mul(RESERVE - 1))
                .clamp(def.min, def.max);
            write_reserved(store, &def.name, Some(ahead))?;
            reserved = Some(ahead);
        }
        states.insert(
            def.name.clone(),
            State {
                last: Some(value),
                reserved,
            },
        );
        Ok(value)
    }

    /// Writes each sequence's last value as its reservation, so that a database closed
    /// cleanly goes on where it was rather than past its reservations.
    pub fn flush(&self, store: &PageStore) -> Result<()> {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        for (name, state) in states.iter_mut() {
            if state.last.is_some() && state.last != state.reserved {
                write_reserved(store, name, state.last)?;
                state.reserved = state.last;
            }
        }
        Ok(())
    }

    /// Starts sequence `name` over: the next `nextval` gives its start (`TRUNCATE …
    /// RESTART IDENTITY`, `ALTER SEQUENCE … RESTART`). Like a `nextval`, not undone if the
    /// transaction rolls back.
    pub fn restart(&self, store: &PageStore, name: &str) -> Result<()> {
        let def = self.definition(name)?;
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        write_reserved(store, &def.name, None)?;
        states.insert(
            def.name.clone(),
            State {
                last: None,
                reserved: None,
            },
        );
        Ok(())
    }

    /// `setval(name, value)`: the next `nextval` gives the value after `value`.
    pub fn setval(&self, store: &PageStore, name: &str, value: i64) -> Result<i64> {
        let def = self.definition(name)?;
        let def = &def;
        if value > def.max || value < def.min {
            return Err(Error::new(
                SqlState("22003"),
                format!(
                    "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                    def.name, def.min, def.max
                ),
            ));
        }
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        write_reserved(store, &def.name, Some(value))?;
        states.insert(
            def.name.clone(),
            State {
                last: Some(value),
                reserved: Some(value),
            },
        );
        Ok(value)
    }
}

/// Writes `def`'s catalog row in `txn`.
pub fn write(store: &PageStore, txn: &mut Txn<'_>, def: &SequenceDef) -> Result<()> {
    let mut bytes = Vec::new();
    row::encode(&row_of(def, None), &mut bytes);
    store
        .heap(store.root(SEQUENCES_SLOT)?)?
        .insert(txn, &bytes)?;
    Ok(())
}

fn row_of(def: &SequenceDef, reserved: Option<i64>) -> Vec<Value> {
    vec![
        Value::Text(def.name.clone()),
        Value::Int8(def.increment),
        Value::Int8(def.start),
        Value::Int8(def.min),
        Value::Int8(def.max),
        def.owner.clone().map_or(Value::Null, Value::Text),
        reserved.map_or(Value::Null, Value::Int8),
    ]
}

/// The definition and reservation a catalog row holds.
pub fn of_row(row: &[Value]) -> Option<SequenceDef> {
    match row {
        [Value::Text(name), Value::Int8(increment), Value::Int8(start), Value::Int8(min), Value::Int8(max), owner, _] => {
            Some(SequenceDef {
                name: name.clone(),
                increment: *increment,
                start: *start,
                min: *min,
                max: *max,
                owner: match owner {
                    Value::Text(o) => Some(o.clone()),
                    _ => None,
                },
            })
        }
        _ => None,
    }
}

fn read_reserved(store: &PageStore, name: &str) -> Result<Option<i64>> {
    for tuple in store.heap(store.root(SEQUENCES_SLOT)?)?.scan() {
        let row = row::decode(&tuple?.1)?;
        if matches!(&row[0], Value::Text(n) if n == name) {
            return Ok(match row.get(6) {
                Some(Value::Int8(r)) => Some(*r),
                _ => None,
            });
        }
    }
    Err(crate::catalog::undefined(name))
}

/// Rewrites the reservation of `name`, committed at once.
fn write_reserved(store: &PageStore, name: &str, reserved: Option<i64>) -> Result<()> {
    let heap = store.heap(store.root(SEQUENCES_SLOT)?)?;
    for tuple in heap.scan() {
        let (tid, bytes) = tuple?;
        let row = row::decode(&bytes)?;
        if !matches!(&row[0], Value::Text(n) if n == name) {
            continue;
        }
        let def = of_row(&row)
            .ok_or_else(|| Error::new(SqlState::DATA_CORRUPTED, "damaged catalog: a sequence"))?;
        let mut out = Vec::new();
        row::encode(&row_of(&def, reserved), &mut out);
        let mut txn = store.begin()?;
        heap.update(&mut txn, tid, &out)?;
        txn.commit()?;
        return Ok(());
    }
    Err(crate::catalog::undefined(name))
}

/// What a session's `nextval` and `setval` calls gave, per sequence, and which sequence
/// `nextval` last advanced: what `currval` and `lastval` answer. Not transactional, as in
/// PostgreSQL (a rolled-back `nextval` still counts). The session hands it to the statement
/// running on its thread ([`SessionValues::enter`]) and takes it back when it ends.
#[derive(Debug, Default, Clone)]
pub struct SessionValues {
    values: HashMap<String, i64>,
    last: Option<String>,
}

thread_local! {
    static SESSION_VALUES: std::cell::RefCell<Option<SessionValues>> =
        const { std::cell::RefCell::new(None) };
}

/// The statement's hold on its session's [`SessionValues`].
pub struct EnteredValues {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl SessionValues {
    /// Hands `values` to the statement about to run on this thread.
    pub fn enter(values: SessionValues) -> EnteredValues {
        SESSION_VALUES.with(|v| *v.borrow_mut() = Some(values));
        EnteredValues {
            _not_send: std::marker::PhantomData,
        }
    }
}

impl EnteredValues {
    /// The values, with what the statement's calls added.
    pub fn leave(self) -> SessionValues {
        SESSION_VALUES.with(|v| v.borrow_mut().take().unwrap_or_default())
    }
}

impl Drop for EnteredValues {
    fn drop(&mut self) {
        SESSION_VALUES.with(|v| *v.borrow_mut() = None);
    }
}

/// Records that `nextval` (`advanced`) or `setval` gave `value` for sequence `name`.
pub fn remember(name: &str, value: i64, advanced: bool) {
    SESSION_VALUES.with(|v| {
        if let Some(values) = v.borrow_mut().as_mut() {
            values.values.insert(name.to_string(), value);
            if advanced {
                values.last = Some(name.to_string());
            }
        }
    });
}

/// `currval(name)`: the value `nextval` last gave sequence `name` in this session.
pub fn currval(name: &str) -> Result<i64> {
    SESSION_VALUES
        .with(|v| {
            v.borrow()
                .as_ref()
                .and_then(|s| s.values.get(name).copied())
        })
        .ok_or_else(|| {
            Error::new(
                SqlState("55000"),
                format!("currval of sequence \"{name}\" is not yet defined in this session"),
            )
        })
}

/// `lastval()`: the value `nextval` last gave, of any sequence, in this session.
pub fn lastval() -> Result<i64> {
    SESSION_VALUES
        .with(|v| {
            let values = v.borrow();
            let values = values.as_ref()?;
            values.values.get(values.last.as_ref()?).copied()
        })
        .ok_or_else(|| {
            Error::new(
                SqlState("55000"),
                "lastval is not yet defined in this session",
            )
        })
}
