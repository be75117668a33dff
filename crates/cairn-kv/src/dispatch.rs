//! From a parsed command (`argv`) to its reply: lookup, arity, authentication, `MULTI`
//! queueing, then the command's handler on a transaction under the keyspace lock.
//!
//! Handlers follow one rule that makes `EXEC` simple: a handler returns an error only before
//! its first write (arguments and types are checked first), so a failed command inside
//! `EXEC` leaves nothing behind and the others still apply, as Redis does.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use cairn_log::PendingCommit;

use crate::commands::table::{lookup, CommandSpec};
use crate::error::{KvError, Result};
use crate::kv::{After, Kv, Outcome};
use crate::reply::Reply;
use crate::session::Session;
use crate::txn::Txn;

/// Turns borrowed arguments into owned bytes: see [`Ctx::keep`].
pub struct Keeper(Bytes);

impl Keeper {
    pub fn keep(&self, arg: &[u8]) -> Bytes {
        Keeper::keep_from(&self.0, arg)
    }

    fn keep_from(frame: &Bytes, arg: &[u8]) -> Bytes {
        let span = frame.as_ptr_range();
        let within = span.start <= arg.as_ptr() && arg.as_ptr_range().end <= span.end;
        if within && !arg.is_empty() {
            frame.slice_ref(arg)
        } else {
            Bytes::copy_from_slice(arg)
        }
    }
}

/// What a handler works with.
pub struct Ctx<'a, 's> {
    pub kv: &'a Arc<Kv>,
    pub session: &'s mut Session,
    pub txn: Txn<'a>,
    pub after: After,
    /// The bytes the pipeline's arguments were cut from, if the caller has them as one
    /// frame: an argument a handler keeps is then a reference into it, not a copy.
    frame: Bytes,
}

impl Ctx<'_, '_> {
    /// `arg` as owned bytes, for a handler that keeps it beyond the command (a value to
    /// store, a member to insert): a slice of the pipeline's frame when it lies there (one
    /// reference count), else a copy.
    pub fn keep(&self, arg: &[u8]) -> Bytes {
        Keeper::keep_from(&self.frame, arg)
    }

    /// What [`Ctx::keep`] does, for a closure that cannot borrow the context.
    pub fn keeper(&self) -> Keeper {
        Keeper(self.frame.clone())
    }

    /// The selected database.
    pub fn db(&self) -> u8 {
        self.session.db
    }

    pub fn resp3(&self) -> bool {
        self.session.protocol >= 3
    }
}

/// Handler of one command: `args[0]` is the command name as the client sent it.
pub type Handler = fn(&mut Ctx<'_, '_>, &[&[u8]]) -> Result<Reply>;

impl Kv {
    /// Runs one command for `session`.
    pub fn execute<A: AsRef<[u8]>>(self: &Arc<Self>, session: &mut Session, argv: &[A]) -> Outcome {
        let argv: Vec<&[u8]> = argv.iter().map(AsRef::as_ref).collect();
        let mut outcomes = self.execute_pipeline(session, &Bytes::new(), &[&argv]);
        outcomes.pop().unwrap_or(Outcome {
            reply: Reply::OK,
            durable: Default::default(),
            after: After::Continue,
        })
    }

    /// Runs the commands a client sent in one go (a pipeline), back to back under one hold
    /// of the keyspace lock, and commits their writes as one batch: one WAL frame, one
    /// fsync to wait for, however many commands. Each command still sees the ones before
    /// it, and a failed command leaves nothing behind (handlers fail before they write), so
    /// the replies are exactly those of running them one by one.
    ///
    /// Stops after a command that asks the connection to do something (QUIT, SHUTDOWN, a
    /// blocking pop that found nothing): the outcomes returned say how many ran.
    ///
    /// The arguments are borrowed, so that a command that only reads them costs no
    /// reference count; those that `frame` holds are kept without a copy (`Ctx::keep`).
    pub fn execute_pipeline(
        self: &Arc<Self>,
        session: &mut Session,
        frame: &Bytes,
        requests: &[&[&[u8]]],
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(requests.len());
        session.info.last_active_ms.store(
            session.info.created.elapsed().as_millis() as u64,
            Ordering::Relaxed,
        );
        let mut state = self.lock_state();
        // One context for the whole pipeline, its transaction committed in place between
        // groups: a transaction is a few hundred bytes, not to be moved for every command.
        let mut ctx = Ctx {
            kv: self,
            session,
            txn: Txn::new(&self.store, &mut state, self.clock.now_ms()),
            after: After::Continue,
            frame: frame.clone(),
        };
        // Replies of the commands whose writes are in the open transaction.
        let mut group_start = 0;
        let mut durable = PendingCommit::default();
        // Counted and recorded once for the pipeline: nobody can look in between, as
        // `CLIENT LIST` and `INFO` wait for the keyspace lock this holds.
        let mut counted = 0;
        let mut last_command = None;
        for &argv in requests {
            counted += u64::from(!argv.is_empty());
            let spec = match self.admit(ctx.session, argv, &mut last_command) {
                Ok(spec) => spec,
                Err(reply) => {
                    outcomes.push(Outcome {
                        reply,
                        durable: Default::default(),
                        after: After::Continue,
                    });
                    continue;
                }
            };
            if spec.has_flag("sees-store") {
                // It reads the store itself (a scan, a checkpoint): commit what came before.
                let committed = ctx.txn.commit();
                settle_group(committed, &mut outcomes[group_start..], &mut durable);
                ctx.txn.now = self.clock.now_ms();
                group_start = outcomes.len();
            }
            let reply = run_handler(spec, &mut ctx, argv);
            let after = std::mem::replace(&mut ctx.after, After::Continue);
            outcomes.push(Outcome {
                reply,
                durable: Default::default(),
                after,
            });
            if after != After::Continue {
                break;
            }
        }
        // The last group may be held for the next pipeline (see `crate::txn`).
        let committed = ctx.txn.commit_or_hold();
        settle_group(committed, &mut outcomes[group_start..], &mut durable);
        drop(ctx);
        self.stats.commands.fetch_add(counted, Ordering::Relaxed);
        if let Some(name) = last_command {
            *session.info.last_command.lock() = name;
        }
        drop(state);
        for outcome in &mut outcomes {
            outcome.durable = durable;
        }
        outcomes
    }

    /// The checks before a command runs: known, authenticated, right arity, not to be
    /// queued in MULTI. `Err` is the reply when it must not run now. A known command's name
    /// goes to `last_command` (what `CLIENT LIST` shows as `cmd=`).
    fn admit(
        &self,
        session: &mut Session,
        argv: &[&[u8]],
        last_command: &mut Option<&'static str>,
    ) -> std::result::Result<&'static CommandSpec, Reply> {
        let Some(name) = argv.first() else {
            return Err(Reply::OK);
        };
        let refused = |session: &mut Session, err: KvError| {
            if session.multi.is_some() {
                session.multi_failed = true;
            }
            Err(Reply::Error(err))
        };
        let Some(spec) = lookup(name) else {
            let err = KvError::UnknownCommand {
                name: String::from_utf8_lossy(name).into_owned(),
                args: argv[1..]
                    .iter()
                    .take(20)
                    .map(|a| format!("'{}' ", String::from_utf8_lossy(a)))
                    .collect(),
            };
            return refused(session, err);
        };
        *last_command = Some(spec.name);
        if !session.authenticated && !spec.has_flag("no-auth") {
            return refused(session, KvError::NoAuth);
        }
        if !spec.arity_ok(argv.len()) {
            return refused(session, KvError::WrongArity(spec.name.to_string()));
        }
        if session.multi.is_some() && !spec.has_flag("multi-control") {
            if let Some(queue) = &mut session.multi {
                queue.push(argv.iter().map(|a| Bytes::copy_from_slice(a)).collect());
            }
            return Err(Reply::Status("QUEUED"));
        }
        Ok(spec)
    }
}

/// Takes in how a group's transaction was committed (or held); if the engine refused the
/// batch, none of the group's writes happened, and every reply of the group says so.
fn settle_group(
    committed: Result<PendingCommit>,
    replies: &mut [Outcome],
    durable: &mut PendingCommit,
) {
    match committed {
        Ok(pending) => *durable = (*durable).max(pending),
        Err(e) => {
            for outcome in replies {
                outcome.reply = Reply::Error(e.clone());
            }
        }
    }
}

/// Runs a command's handler. One that does not go through the park (not flagged `parks`)
/// first has the parked collection written back, so that it sees every key as it is.
fn run_handler(spec: &CommandSpec, ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> Reply {
    if !spec.parks() {
        ctx.txn.write_back_parked();
    }
    (spec.run)(ctx, argv).unwrap_or_else(|e| Reply::Error(name_damaged_key(e, argv)))
}

/// A damaged record met by a command names the key it belongs to: the command's first
/// argument, for the commands that take keys (a handler that reads other keys names them
/// itself through [`KvError::for_key`]).
fn name_damaged_key(e: KvError, argv: &[&[u8]]) -> KvError {
    match (&e, argv.get(1)) {
        (KvError::Damaged { key, .. }, Some(first)) if key.is_empty() => e.for_key(first),
        _ => e,
    }
}

/// Runs `argv` inside an `EXEC` on the transaction of `ctx`. A blocking command never
/// blocks there: it answers as if its timeout had passed, as in Redis.
pub fn run_queued(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> Reply {
    let reply = match lookup(argv[0]) {
        Some(spec) => run_handler(spec, ctx, argv),
        None => Reply::Error(KvError::other("unknown command inside EXEC")),
    };
    if matches!(ctx.after, After::Block { .. }) {
        ctx.after = After::Continue;
        if let Some((db, keys)) = ctx.session.blocked_on.take() {
            for key in &keys {
                ctx.txn
                    .state
                    .blocked
                    .unregister(db, key, &ctx.session.elements_waiter);
            }
        }
    }
    reply
}
