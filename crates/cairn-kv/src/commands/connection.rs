//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT, COMMAND.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::commands::args::is;
use crate::commands::keys::parse_db;
use crate::commands::table::{all_commands, lookup, CommandSpec, CAIRN_FLAGS};
use crate::dispatch::Ctx;
use crate::error::{KvError, Result};
use crate::kv::After;
use crate::reply::Reply;

/// The Redis version cairn answers with: the command set and replies it follows.
pub const REDIS_VERSION: &str = "7.2.4";

pub fn ping(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    match args.get(1) {
        Some(msg) => Ok(Reply::Bulk(ctx.keep(msg))),
        None => Ok(Reply::Status("PONG")),
    }
}

pub fn echo(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    Ok(Reply::Bulk(ctx.keep(args[1])))
}

/// Checks a password against `requirepass` (in constant time: `Credentials::verify`).
fn check_password(ctx: &mut Ctx<'_, '_>, user: Option<&[u8]>, password: &[u8]) -> Result<()> {
    let credentials = &ctx.kv.credentials;
    if !credentials.required() {
        if user.is_some_and(|u| u != b"default") {
            return Err(KvError::WrongPass);
        }
        return Err(KvError::AuthNotConfigured);
    }
    if !credentials.verify(password) || user.is_some_and(|u| u != b"default") {
        return Err(KvError::WrongPass);
    }
    ctx.session.authenticated = true;
    Ok(())
}

pub fn auth(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    match args.len() {
        2 => check_password(ctx, None, args[1])?,
        3 => check_password(ctx, Some(args[1]), args[2])?,
        _ => return Err(KvError::Syntax),
    }
    Ok(Reply::OK)
}

pub fn hello(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let mut protocol = ctx.session.protocol;
    if let Some(v) = args.get(1) {
        protocol = match crate::num::parse_i64(v) {
            Ok(2) => 2,
            Ok(3) => 3,
            Ok(_) => return Err(KvError::NoProto),
            Err(_) => {
                return Err(KvError::other(
                    "Protocol version is not an integer or out of range",
                ))
            }
        };
    }
    let mut i = 2;
    let mut name = None;
    while i < args.len() {
        if is(args[i], "AUTH") && i + 2 < args.len() {
            check_password(ctx, Some(args[i + 1]), args[i + 2])?;
            i += 3;
        } else if is(args[i], "SETNAME") && i + 1 < args.len() {
            name = Some(args[i + 1]);
            i += 2;
        } else {
            return Err(KvError::other(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args[i])
            )));
        }
    }
    if !ctx.session.authenticated {
        return Err(KvError::NoAuth);
    }
    if let Some(name) = name {
        set_name(ctx, name)?;
    }
    ctx.session.protocol = protocol;
    ctx.session.info.resp.store(protocol, Ordering::Relaxed);
    let s = |t: &str| Reply::text(t.to_string());
    Ok(Reply::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(REDIS_VERSION)),
        (s("proto"), Reply::Integer(i64::from(protocol))),
        (s("id"), Reply::Integer(ctx.session.id() as i64)),
        (s("mode"), s("standalone")),
        (s("role"), s("master")),
        (s("modules"), Reply::Array(vec![])),
    ]))
}

pub fn select(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let db = parse_db(args[1])?;
    ctx.session.set_db(db);
    Ok(Reply::OK)
}

pub fn quit(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    ctx.after = After::Close;
    Ok(Reply::OK)
}

pub fn reset(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> Result<Reply> {
    ctx.session.multi = None;
    ctx.session.multi_failed = false;
    ctx.session.info.in_multi.store(false, Ordering::Relaxed);
    if let Some(watch) = ctx.session.watch.take() {
        for (db, key, _) in &watch.keys {
            ctx.txn.state.watches.remove(*db, key, &watch.dirty);
        }
    }
    ctx.session.info.watching.store(0, Ordering::Relaxed);
    ctx.session.set_db(0);
    ctx.session.protocol = 2;
    ctx.session.info.resp.store(2, Ordering::Relaxed);
    *ctx.session.info.name.lock() = None;
    ctx.session.authenticated = !ctx.kv.credentials.required();
    Ok(Reply::Status("RESET"))
}

fn set_name(ctx: &mut Ctx<'_, '_>, name: &[u8]) -> Result<()> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(KvError::other(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    *ctx.session.info.name.lock() =
        (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
    Ok(())
}

pub fn client(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let sub = String::from_utf8_lossy(args[1]).to_ascii_uppercase();
    let arity_error = || KvError::WrongArity(format!("client|{}", sub.to_ascii_lowercase()));
    match (sub.as_str(), args.len()) {
        ("ID", 2) => Ok(Reply::Integer(ctx.session.id() as i64)),
        ("SETNAME", 3) => {
            set_name(ctx, args[2])?;
            Ok(Reply::OK)
        }
        ("GETNAME", 2) => Ok(Reply::optional(
            ctx.session.info.name.lock().clone().map(Bytes::from),
        )),
        ("LIST", _) => {
            let mut text = String::new();
            for c in ctx.kv.clients.all() {
                text.push_str(&c.describe());
                text.push('\n');
            }
            Ok(Reply::Verbatim(text))
        }
        ("INFO", 2) => Ok(Reply::Verbatim(format!(
            "{}\n",
            ctx.session.info.describe()
        ))),
        ("SETINFO", 4) => {
            let value = String::from_utf8_lossy(args[3]).into_owned();
            if is(args[2], "LIB-NAME") {
                *ctx.session.info.lib_name.lock() = Some(value);
            } else if is(args[2], "LIB-VER") {
                *ctx.session.info.lib_ver.lock() = Some(value);
            } else {
                return Err(KvError::other(format!(
                    "Unrecognized option '{}'",
                    String::from_utf8_lossy(args[2])
                )));
            }
            Ok(Reply::OK)
        }
        ("ID" | "SETNAME" | "GETNAME" | "INFO" | "SETINFO", _) => Err(arity_error()),
        _ => Err(KvError::UnknownSubcommand {
            command: "CLIENT".into(),
            sub: String::from_utf8_lossy(args[1]).into_owned(),
        }),
    }
}

/// One entry of `COMMAND` / `COMMAND INFO`, in Redis 7's shape.
fn command_info(spec: &CommandSpec) -> Reply {
    Reply::Array(vec![
        Reply::text(spec.name),
        Reply::Integer(i64::from(spec.arity)),
        Reply::Set(
            spec.flags
                .iter()
                .filter(|f| !CAIRN_FLAGS.contains(f))
                .map(|f| Reply::Status(f))
                .collect(),
        ),
        Reply::Integer(i64::from(spec.keys.0)),
        Reply::Integer(i64::from(spec.keys.1)),
        Reply::Integer(i64::from(spec.keys.2)),
        Reply::Set(vec![Reply::StatusText(format!("@{}", spec.group))]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
    ])
}

fn command_docs(spec: &CommandSpec) -> Reply {
    let s = |t: &str| Reply::text(t.to_string());
    Reply::Map(vec![
        (s("summary"), s(spec.summary)),
        (s("since"), s("1.0.0")),
        (s("group"), s(spec.group)),
    ])
}

pub fn command(_ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> Result<Reply> {
    let Some(sub) = args.get(1) else {
        return Ok(Reply::Array(all_commands().map(command_info).collect()));
    };
    let names = &args[2..];
    if is(sub, "COUNT") {
        Ok(Reply::Integer(all_commands().count() as i64))
    } else if is(sub, "INFO") {
        if names.is_empty() {
            return Ok(Reply::Array(all_commands().map(command_info).collect()));
        }
        Ok(Reply::Array(
            names
                .iter()
                .map(|n| lookup(n).map_or(Reply::NilArray, command_info))
                .collect(),
        ))
    } else if is(sub, "DOCS") {
        let specs: Vec<&CommandSpec> = if names.is_empty() {
            all_commands().collect()
        } else {
            names.iter().filter_map(|n| lookup(n)).collect()
        };
        Ok(Reply::Map(
            specs
                .into_iter()
                .map(|s| (Reply::text(s.name), command_docs(s)))
                .collect(),
        ))
    } else if is(sub, "LIST") {
        Ok(Reply::bulks(all_commands().map(|s| s.name)))
    } else {
        Err(KvError::UnknownSubcommand {
            command: "COMMAND".into(),
            sub: String::from_utf8_lossy(sub).into_owned(),
        })
    }
}
