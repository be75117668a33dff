//! From a parsed command (`argv`) to its reply: lookup, arity, authentication, `MULTI`
//! queueing, then the command's handler on a transaction under the keyspace lock.
//!
//! Handlers follow one rule that makes `EXEC` simple: a handler returns an error only before
//! its first write (arguments and types are checked first), so a failed command inside
//! `EXEC` leaves nothing behind and the others still apply, as Redis does.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::commands::table::{lookup, CommandSpec};
use crate::error::{KvError, Result};
use crate::kv::{now_ms, After, Kv, Outcome};
use crate::reply::Reply;
use crate::session::Session;
use crate::txn::Txn;

/// What a handler works with.
pub struct Ctx<'a, 's> {
    pub kv: &'a Arc<Kv>,
    pub session: &'s mut Session,
    pub txn: Txn<'a>,
    pub after: After,
}

impl Ctx<'_, '_> {
    /// The selected database.
    pub fn db(&self) -> u8 {
        self.session.db
    }

    pub fn resp3(&self) -> bool {
        self.session.protocol >= 3
    }
}

/// Handler of one command: `args[0]` is the command name as the client sent it.
pub type Handler = fn(&mut Ctx<'_, '_>, &[Bytes]) -> Result<Reply>;

impl Kv {
    /// Runs one command for `session`.
    pub fn execute(self: &Arc<Self>, session: &mut Session, argv: &[Bytes]) -> Outcome {
        let reply = |reply: Reply| Outcome {
            reply,
            durable: Default::default(),
            after: After::Continue,
        };
        let Some(name) = argv.first() else {
            return reply(Reply::Status("OK"));
        };
        self.stats.commands.fetch_add(1, Ordering::Relaxed);
        session.info.last_active_ms.store(
            session.info.created.elapsed().as_millis() as u64,
            Ordering::Relaxed,
        );
        let Some(spec) = lookup(name) else {
            let err = KvError::UnknownCommand {
                name: String::from_utf8_lossy(name).into_owned(),
                args: argv[1..]
                    .iter()
                    .take(20)
                    .map(|a| format!("'{}' ", String::from_utf8_lossy(a)))
                    .collect(),
            };
            if session.multi.is_some() {
                session.multi_failed = true;
            }
            return reply(err.into());
        };
        *session.info.last_command.lock() = spec.name;
        if !session.authenticated && !spec.has_flag("no-auth") {
            if session.multi.is_some() {
                session.multi_failed = true;
            }
            return reply(KvError::NoAuth.into());
        }
        if !spec.arity_ok(argv.len()) {
            if session.multi.is_some() {
                session.multi_failed = true;
            }
            return reply(KvError::WrongArity(spec.name.to_string()).into());
        }
        if session.multi.is_some() && !spec.has_flag("multi-control") {
            if let Some(queue) = &mut session.multi {
                queue.push(argv.to_vec());
            }
            return reply(Reply::Status("QUEUED"));
        }
        self.run(session, spec, argv)
    }

    fn run(self: &Arc<Self>, session: &mut Session, spec: &CommandSpec, argv: &[Bytes]) -> Outcome {
        let mut state = self.lock_state();
        let txn = Txn::new(&self.store, &mut state, now_ms());
        let mut ctx = Ctx {
            kv: self,
            session,
            txn,
            after: After::Continue,
        };
        let result = (spec.run)(&mut ctx, argv);
        let after = ctx.after;
        let pushed = ctx.txn.list_pushed;
        let (reply, durable) = match result {
            Ok(reply) => match ctx.txn.commit() {
                Ok(pending) => (reply, pending),
                Err(e) => (Reply::Error(e), Default::default()),
            },
            Err(e) => (Reply::Error(e), Default::default()),
        };
        drop(state);
        if pushed {
            self.list_ready.notify_waiters();
        }
        Outcome {
            reply,
            durable,
            after,
        }
    }
}

/// Runs `argv` inside an `EXEC` on the transaction of `ctx`. A blocking command never
/// blocks there: it answers as if its timeout had passed, as in Redis.
pub fn run_queued(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let reply = match lookup(&argv[0]) {
        Some(spec) => (spec.run)(ctx, argv).unwrap_or_else(Reply::Error),
        None => Reply::Error(KvError::other("unknown command inside EXEC")),
    };
    if matches!(ctx.after, After::Block { .. }) {
        ctx.after = After::Continue;
    }
    reply
}
