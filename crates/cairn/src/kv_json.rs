//! `cairn kv export --json FILE` and `cairn kv import --json FILE`: the Redis keyspace as a
//! human-readable JSON document (the seed's snapshot.json).
//!
//! ```json
//! {"format": "cairn-kv", "version": 1, "keys": [
//!   {"db": 0, "key": "user:1", "type": "hash", "value": {"name": "ada"}, "expire_at": null},
//!   {"db": 0, "key": "q", "type": "list", "value": ["a", "b"], "expire_at": 1767225600000},
//!   {"db": 0, "key": "z", "type": "zset", "value": [["m", 1.5]], "expire_at": null}
//! ]}
//! ```
//!
//! Byte strings that are UTF-8 are JSON strings; any other is `{"hex": "…"}`. `expire_at` is
//! unix milliseconds. Export writes one key per line as it walks the keyspace; import reads
//! the whole document, then writes each key (replacing what was there).

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use cairn_kv::{Dumped, Kv, KvOptions, Value};
use serde_json::{json, Map, Value as Json};

#[derive(Debug, clap::Subcommand)]
pub enum KvCommand {
    /// Write every key of every database to FILE as JSON.
    Export {
        #[arg(long, value_name = "FILE")]
        json: PathBuf,
        #[arg(long, env = "CAIRN_DATA", default_value = "cairn-data")]
        data: PathBuf,
    },
    /// Read keys from a JSON FILE written by export, replacing existing values.
    Import {
        #[arg(long, value_name = "FILE")]
        json: PathBuf,
        #[arg(long, env = "CAIRN_DATA", default_value = "cairn-data")]
        data: PathBuf,
    },
}

pub fn run(command: KvCommand) -> anyhow::Result<()> {
    match command {
        KvCommand::Export { json, data } => {
            let kv = open(&data)?;
            let file = std::fs::File::create(&json)
                .with_context(|| format!("creating {}", json.display()))?;
            let mut out = BufWriter::new(file);
            writeln!(
                out,
                "{{\"format\": \"cairn-kv\", \"version\": 1, \"keys\": ["
            )?;
            let mut first = true;
            let mut io_error = None;
            let n = kv.export(|d| {
                let line = serde_json::to_string(&to_json(&d)).unwrap_or_default();
                let sep = if first { "" } else { ",\n" };
                first = false;
                if let Err(e) = write!(out, "{sep}{line}") {
                    io_error.get_or_insert(e);
                }
                Ok(())
            })?;
            if let Some(e) = io_error {
                return Err(e).with_context(|| format!("writing {}", json.display()));
            }
            writeln!(out, "\n]}}")?;
            out.flush()?;
            kv.close()?;
            println!("exported {n} keys to {}", json.display());
        }
        KvCommand::Import { json, data } => {
            let file = std::fs::File::open(&json)
                .with_context(|| format!("opening {}", json.display()))?;
            let doc: Json = serde_json::from_reader(BufReader::new(file))
                .with_context(|| format!("reading {}", json.display()))?;
            if doc.get("format").and_then(Json::as_str) != Some("cairn-kv") {
                bail!("{} is not a cairn-kv export", json.display());
            }
            let keys = doc
                .get("keys")
                .and_then(Json::as_array)
                .ok_or_else(|| anyhow!("{}: no \"keys\" array", json.display()))?;
            let dumped = keys
                .iter()
                .enumerate()
                .map(|(i, k)| from_json(k).with_context(|| format!("key #{i}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let kv = open(&data)?;
            let n = dumped.len();
            for d in dumped {
                kv.import(d)?;
            }
            kv.close()?;
            println!("imported {n} keys from {}", json.display());
        }
    }
    Ok(())
}

fn open(data: &Path) -> anyhow::Result<std::sync::Arc<Kv>> {
    let dir = data.join("kv");
    let options = KvOptions {
        active_expiry: false,
        ..KvOptions::default()
    };
    Kv::open(&dir, options).with_context(|| format!("opening {}", dir.display()))
}

fn bytes_json(b: &Bytes) -> Json {
    match std::str::from_utf8(b) {
        Ok(s) => Json::String(s.to_string()),
        Err(_) => json!({ "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() }),
    }
}

fn json_bytes(v: &Json) -> anyhow::Result<Bytes> {
    match v {
        Json::String(s) => Ok(Bytes::from(s.clone())),
        Json::Object(o) => {
            let hex = o
                .get("hex")
                .and_then(Json::as_str)
                .ok_or_else(|| anyhow!("a byte string is a string or {{\"hex\": …}}"))?;
            if hex.len() % 2 != 0 {
                bail!("odd-length hex string");
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| anyhow!("hex: {e}")))
                .collect::<anyhow::Result<Vec<u8>>>()
                .map(Bytes::from)
        }
        _ => bail!("a byte string is a string or {{\"hex\": …}}"),
    }
}

fn to_json(d: &Dumped) -> Json {
    let (kind, value) = match &d.value {
        Value::String(s) => ("string", bytes_json(s)),
        Value::Hash(pairs) => {
            let mut map = Map::new();
            let mut binary = Vec::new();
            for (f, v) in pairs {
                match std::str::from_utf8(f) {
                    Ok(f) => {
                        map.insert(f.to_string(), bytes_json(v));
                    }
                    Err(_) => binary.push(json!([bytes_json(f), bytes_json(v)])),
                }
            }
            if binary.is_empty() {
                ("hash", Json::Object(map))
            } else {
                // Fields that are not UTF-8 cannot be object keys: pairs instead.
                let mut all: Vec<Json> = map.into_iter().map(|(f, v)| json!([f, v])).collect();
                all.extend(binary);
                ("hash", Json::Array(all))
            }
        }
        Value::List(items) => ("list", Json::Array(items.iter().map(bytes_json).collect())),
        Value::Set(items) => ("set", Json::Array(items.iter().map(bytes_json).collect())),
        Value::ZSet(items) => (
            "zset",
            Json::Array(
                items
                    .iter()
                    .map(|(m, s)| json!([bytes_json(m), score_json(*s)]))
                    .collect(),
            ),
        ),
    };
    json!({
        "db": d.db,
        "key": bytes_json(&d.key),
        "type": kind,
        "value": value,
        "expire_at": if d.expire_at == 0 { Json::Null } else { json!(d.expire_at) },
    })
}

/// Scores are JSON numbers, except the infinities, which JSON lacks: "inf" / "-inf".
fn score_json(s: f64) -> Json {
    if s.is_finite() {
        json!(s)
    } else {
        Json::String(if s > 0.0 { "inf" } else { "-inf" }.into())
    }
}

fn json_score(v: &Json) -> anyhow::Result<f64> {
    match v {
        Json::Number(n) => n.as_f64().ok_or_else(|| anyhow!("bad score")),
        Json::String(s) if s == "inf" => Ok(f64::INFINITY),
        Json::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
        _ => bail!("a score is a number, \"inf\" or \"-inf\""),
    }
}

fn from_json(k: &Json) -> anyhow::Result<Dumped> {
    let db = k
        .get("db")
        .and_then(Json::as_u64)
        .filter(|d| *d < cairn_kv::DATABASES as u64)
        .ok_or_else(|| anyhow!("\"db\" must be 0..15"))? as u8;
    let key = json_bytes(k.get("key").ok_or_else(|| anyhow!("no \"key\""))?)?;
    let expire_at = match k.get("expire_at") {
        None | Some(Json::Null) => 0,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| anyhow!("\"expire_at\" is unix ms"))?,
    };
    let value = k.get("value").ok_or_else(|| anyhow!("no \"value\""))?;
    let array = || {
        value
            .as_array()
            .ok_or_else(|| anyhow!("\"value\" must be an array"))
    };
    let value = match k.get("type").and_then(Json::as_str) {
        Some("string") => Value::String(json_bytes(value)?),
        Some("list") => Value::List(
            array()?
                .iter()
                .map(json_bytes)
                .collect::<anyhow::Result<_>>()?,
        ),
        Some("set") => Value::Set(
            array()?
                .iter()
                .map(json_bytes)
                .collect::<anyhow::Result<_>>()?,
        ),
        Some("hash") => Value::Hash(match value {
            Json::Object(map) => map
                .iter()
                .map(|(f, v)| Ok((Bytes::from(f.clone()), json_bytes(v)?)))
                .collect::<anyhow::Result<_>>()?,
            _ => array()?
                .iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([f, v]) => Ok((json_bytes(f)?, json_bytes(v)?)),
                    _ => bail!("hash pairs are [field, value]"),
                })
                .collect::<anyhow::Result<_>>()?,
        }),
        Some("zset") => Value::ZSet(
            array()?
                .iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([m, s]) => Ok((json_bytes(m)?, json_score(s)?)),
                    _ => bail!("sorted set members are [member, score]"),
                })
                .collect::<anyhow::Result<_>>()?,
        ),
        other => bail!("unknown type {other:?}"),
    };
    Ok(Dumped {
        db,
        key,
        expire_at,
        value,
    })
}
