//! Whole-value export and import: what `cairn kv export --json` and `cairn kv import --json`
//! are built on (the seed's human-readable snapshot), and what a test or tool uses to walk
//! the keyspace.
//!
//! Export walks every head record and reads each value whole; it holds the keyspace lock one
//! page of keys at a time, so clients keep being served between pages (the export is not a
//! point-in-time image under concurrent writes; SAVE is).

use bytes::Bytes;

use crate::collections::buckets::BucketMap;
use crate::collections::list::List;
use crate::collections::zset::ZSet;
use crate::encoding::{parse_head_key, Head, Kind};
use crate::error::Result;
use crate::kv::Kv;
use crate::txn::Txn;

/// A value read or written whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Bytes),
    Hash(Vec<(Bytes, Bytes)>),
    List(Vec<Bytes>),
    Set(Vec<Bytes>),
    /// (member, score) in score order.
    ZSet(Vec<(Bytes, f64)>),
}

/// One exported key.
#[derive(Debug, Clone, PartialEq)]
pub struct Dumped {
    pub db: u8,
    pub key: Bytes,
    /// Unix ms; 0 for none.
    pub expire_at: u64,
    pub value: Value,
}

fn read_value(txn: &mut Txn<'_>, head: &Head) -> Result<Value> {
    Ok(match head.kind {
        Kind::String => Value::String(head.body.clone()),
        Kind::Hash => Value::Hash(BucketMap::decode(&head.body)?.entries(txn)?),
        Kind::Set => Value::Set(
            BucketMap::decode(&head.body)?
                .entries(txn)?
                .into_iter()
                .map(|(m, _)| m)
                .collect(),
        ),
        Kind::List => Value::List(List::decode(&head.body)?.all(txn)?),
        Kind::ZSet => {
            let mut z = ZSet::decode(&head.body)?;
            let len = z.len;
            Value::ZSet(
                z.range(txn, 0, len.saturating_sub(1))?
                    .into_iter()
                    .map(|(s, m)| (m, s))
                    .collect(),
            )
        }
    })
}

impl Kv {
    /// Calls `each` for every live key of every database, in no particular order.
    pub fn export(&self, mut each: impl FnMut(Dumped) -> Result<()>) -> Result<u64> {
        let mut cursor = 0;
        let mut count = 0;
        loop {
            let mut dumped = Vec::new();
            // The scan reads the store, which must hold every write.
            self.flush_held()?;
            {
                let mut state = self.lock_state();
                let mut txn = Txn::new(&self.store, &mut state, self.clock.now_ms());
                let page = txn.scan(cursor, 512)?;
                for log_key in &page.keys {
                    let Some((db, key)) = parse_head_key(log_key) else {
                        continue;
                    };
                    let Some(head) = txn.head_with_value(db, key)? else {
                        continue;
                    };
                    if (head.kind == Kind::String) != (log_key[0] == b's') {
                        continue;
                    }
                    let value = read_value(&mut txn, &head)?;
                    dumped.push(Dumped {
                        db,
                        key: Bytes::copy_from_slice(key),
                        expire_at: head.expire_at,
                        value,
                    });
                }
                let pending = txn.commit()?;
                drop(state);
                self.store.wait_durable(pending)?;
                cursor = page.cursor;
            }
            for d in dumped {
                count += 1;
                each(d)?;
            }
            if cursor == 0 {
                return Ok(count);
            }
        }
    }

    /// Writes `dumped` as a key, replacing any value it had.
    pub fn import(&self, dumped: Dumped) -> Result<()> {
        self.with_txn(|txn| {
            let Dumped {
                db,
                key,
                expire_at,
                value,
            } = dumped;
            crate::encoding::check_key(&key)?;
            if let Some(old) = txn.head(db, &key)? {
                txn.remove_head(db, &key, &old)?;
            }
            // Redis has no empty collections: importing one leaves no key.
            let empty = match &value {
                Value::String(_) => false,
                Value::Hash(v) => v.is_empty(),
                Value::List(v) | Value::Set(v) => v.is_empty(),
                Value::ZSet(v) => v.is_empty(),
            };
            if empty {
                return Ok(());
            }
            let (kind, body): (Kind, Bytes) = match value {
                Value::String(s) => (Kind::String, s),
                Value::Hash(pairs) => {
                    let mut map = BucketMap::new(txn);
                    for (f, v) in pairs {
                        map.insert(txn, f, v)?;
                    }
                    (Kind::Hash, map.encode().into())
                }
                Value::Set(members) => {
                    let mut map = BucketMap::new(txn);
                    for m in members {
                        map.insert(txn, m, Bytes::new())?;
                    }
                    (Kind::Set, map.encode().into())
                }
                Value::List(items) => {
                    let mut list = List::new(txn);
                    for item in items {
                        list.push_back(txn, item)?;
                    }
                    list.flush(txn)?;
                    (Kind::List, list.encode().into())
                }
                Value::ZSet(members) => {
                    let mut z = ZSet::new(txn);
                    for (m, s) in members {
                        z.insert(txn, m, s)?;
                    }
                    z.flush(txn);
                    (Kind::ZSet, z.encode().into())
                }
            };
            let mut head = Head::new(kind, body);
            head.expire_at = expire_at;
            txn.put_head(db, &key, &head)
        })
    }
}
