//! The command table: name, arity, flags and key positions (as `COMMAND INFO` reports
//! them), group and summary (for `COMMAND DOCS`), and the handler.
//!
//! Arity follows Redis: positive is exact, negative is a minimum, both counting the command
//! name. Redis's `no-auth` flag lets a command run before AUTH. Three flags are cairn's own
//! ([`CAIRN_FLAGS`], not shown by `COMMAND INFO`) and steer dispatch: `multi-control` (runs at
//! once inside MULTI instead of being queued), `sees-store` (reads the store directly, so the
//! writes of the commands pipelined before it are committed first) and `parks` (changes its
//! one key through the park, [`crate::collections::open`], so it may find that key parked).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::commands::{connection, hash, keys, list, multi, server, set, string, zset};
use crate::dispatch::Handler;

#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: &'static [&'static str],
    /// First key, last key, step (0, 0, 0 for none).
    pub keys: (i32, i32, i32),
    pub group: &'static str,
    pub summary: &'static str,
    pub run: Handler,
}

impl CommandSpec {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// Whether the command goes through the park: it may run with a collection parked.
    pub fn parks(&self) -> bool {
        // The flag is always last: no string comparison for the other commands.
        self.flags.last() == Some(&PARKS)
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }
}

const W: &[&str] = &["write", "denyoom"];
const WF: &[&str] = &["write", "denyoom", "fast"];
/// `WF` and `DF` of the commands that go through the park.
const WFP: &[&str] = &["write", "denyoom", "fast", PARKS];
const DFP: &[&str] = &["write", "fast", PARKS];
const PARKS: &str = "parks";
/// The flags that steer cairn's dispatch, not Redis's.
pub const CAIRN_FLAGS: &[&str] = &["multi-control", "sees-store", PARKS];
const D: &[&str] = &["write"];
const DF: &[&str] = &["write", "fast"];
const R: &[&str] = &["readonly"];
const RF: &[&str] = &["readonly", "fast"];
const CONN: &[&str] = &["fast", "loading", "stale"];
const NOAUTH: &[&str] = &["noscript", "loading", "stale", "fast", "no-auth"];
const MULTI_CONTROL: &[&str] = &["noscript", "loading", "stale", "fast", "multi-control"];
const ADMIN: &[&str] = &["admin", "noscript", "sees-store"];
const BLOCK: &[&str] = &["write", "blocking"];

macro_rules! commands {
    ($( $name:literal, $arity:expr, $flags:expr, ($f:expr, $l:expr, $s:expr), $group:literal, $summary:literal, $run:path; )*) => {
        &[ $( CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: ($f, $l, $s),
            group: $group,
            summary: $summary,
            run: $run,
        }, )* ]
    };
}

static COMMANDS: &[CommandSpec] = commands! {
    // connection
    "ping", -1, CONN, (0, 0, 0), "connection", "Returns the server's liveliness response.", connection::ping;
    "echo", 2, CONN, (0, 0, 0), "connection", "Returns the given string.", connection::echo;
    "hello", -1, NOAUTH, (0, 0, 0), "connection", "Handshakes with the Redis server.", connection::hello;
    "auth", -2, NOAUTH, (0, 0, 0), "connection", "Authenticates the connection.", connection::auth;
    "select", 2, CONN, (0, 0, 0), "connection", "Changes the selected database.", connection::select;
    "quit", -1, &["noscript", "loading", "stale", "fast", "no-auth", "multi-control"], (0, 0, 0), "connection", "Closes the connection.", connection::quit;
    "reset", 1, &["noscript", "loading", "stale", "fast", "no-auth", "multi-control"], (0, 0, 0), "connection", "Resets the connection.", connection::reset;
    "client", -2, &["admin", "noscript", "loading", "stale"], (0, 0, 0), "connection", "A container for client connection commands.", connection::client;
    "command", -1, &["loading", "stale"], (0, 0, 0), "server", "Returns detailed information about all commands.", connection::command;
    // transactions
    "multi", 1, MULTI_CONTROL, (0, 0, 0), "transactions", "Starts a transaction.", multi::multi;
    "exec", 1, &["noscript", "loading", "stale", "skip-slowlog", "multi-control"], (0, 0, 0), "transactions", "Executes all commands in a transaction.", multi::exec;
    "discard", 1, MULTI_CONTROL, (0, 0, 0), "transactions", "Discards a transaction.", multi::discard;
    "watch", -2, MULTI_CONTROL, (1, -1, 1), "transactions", "Monitors changes to keys to determine the execution of a transaction.", multi::watch;
    "unwatch", 1, &["noscript", "loading", "stale", "fast"], (0, 0, 0), "transactions", "Forgets about watched keys of a transaction.", multi::unwatch;
    // strings
    "get", 2, RF, (1, 1, 1), "string", "Returns the string value of a key.", string::get;
    "set", -3, W, (1, 1, 1), "string", "Sets the string value of a key, ignoring its type.", string::set;
    "update", 3, W, (1, 1, 1), "string", "Sets the string value of a key only if the key exists.", string::update;
    "setnx", 3, WF, (1, 1, 1), "string", "Sets the string value of a key only when the key doesn't exist.", string::setnx;
    "setex", 4, W, (1, 1, 1), "string", "Sets the string value and expiration time of a key.", string::setex;
    "psetex", 4, W, (1, 1, 1), "string", "Sets both string value and expiration time in milliseconds of a key.", string::psetex;
    "getset", 3, WF, (1, 1, 1), "string", "Returns the previous string value of a key after setting it to a new value.", string::getset;
    "getdel", 2, DF, (1, 1, 1), "string", "Returns the string value of a key after deleting the key.", string::getdel;
    "getex", -2, DF, (1, 1, 1), "string", "Returns the string value of a key after setting its expiration time.", string::getex;
    "mget", -2, RF, (1, -1, 1), "string", "Atomically returns the string values of one or more keys.", string::mget;
    "mset", -3, W, (1, -1, 2), "string", "Atomically creates or modifies the string values of one or more keys.", string::mset;
    "msetnx", -3, W, (1, -1, 2), "string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", string::msetnx;
    "append", 3, WF, (1, 1, 1), "string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", string::append;
    "strlen", 2, RF, (1, 1, 1), "string", "Returns the length of a string value.", string::strlen;
    "incr", 2, WF, (1, 1, 1), "string", "Increments the integer value of a key by one.", string::incr;
    "decr", 2, WF, (1, 1, 1), "string", "Decrements the integer value of a key by one.", string::decr;
    "incrby", 3, WF, (1, 1, 1), "string", "Increments the integer value of a key by a number.", string::incrby;
    "decrby", 3, WF, (1, 1, 1), "string", "Decrements a number from the integer value of a key.", string::decrby;
    "incrbyfloat", 3, WF, (1, 1, 1), "string", "Increment the floating point value of a key by a number.", string::incrbyfloat;
    "getrange", 4, R, (1, 1, 1), "string", "Returns a substring of the string stored at a key.", string::getrange;
    "setrange", 4, W, (1, 1, 1), "string", "Overwrites a part of a string value with another by an offset.", string::setrange;
    // keys
    "del", -2, D, (1, -1, 1), "generic", "Deletes one or more keys.", keys::del;
    "delete", -2, D, (1, -1, 1), "generic", "Deletes one or more keys (alias of DEL).", keys::del;
    "unlink", -2, DF, (1, -1, 1), "generic", "Asynchronously deletes one or more keys.", keys::unlink;
    "exists", -2, RF, (1, -1, 1), "generic", "Determines whether one or more keys exist.", keys::exists;
    "touch", -2, RF, (1, -1, 1), "generic", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", keys::touch;
    "type", 2, RF, (1, 1, 1), "generic", "Determines the type of value stored at a key.", keys::type_;
    "rename", 3, D, (1, 2, 1), "generic", "Renames a key and overwrites the destination.", keys::rename;
    "renamenx", 3, DF, (1, 2, 1), "generic", "Renames a key only when the target key name doesn't exist.", keys::renamenx;
    "move", 3, WF, (1, 1, 1), "generic", "Moves a key to another database.", keys::move_to_db;
    "copy", -3, W, (1, 2, 1), "generic", "Copies the value of a key to a new key.", keys::copy;
    "keys", 2, &["readonly", "sees-store"], (0, 0, 0), "generic", "Returns all key names that match a pattern.", keys::keys;
    "scan", -2, &["readonly", "sees-store"], (0, 0, 0), "generic", "Iterates over the key names in the database.", keys::scan;
    "randomkey", 1, &["readonly", "sees-store"], (0, 0, 0), "generic", "Returns a random key name from the database.", keys::randomkey;
    "dbsize", 1, RF, (0, 0, 0), "server", "Returns the number of keys in the database.", keys::dbsize;
    "flushdb", -1, &["write", "sees-store"], (0, 0, 0), "server", "Removes all keys from the current database.", keys::flushdb;
    "flushall", -1, &["write", "sees-store"], (0, 0, 0), "server", "Removes all keys from all databases.", keys::flushall;
    "expire", -3, DF, (1, 1, 1), "generic", "Sets the expiration time of a key in seconds.", keys::expire;
    "pexpire", -3, DF, (1, 1, 1), "generic", "Sets the expiration time of a key in milliseconds.", keys::pexpire;
    "expireat", -3, DF, (1, 1, 1), "generic", "Sets the expiration time of a key to a Unix timestamp.", keys::expireat;
    "pexpireat", -3, DF, (1, 1, 1), "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", keys::pexpireat;
    "ttl", 2, RF, (1, 1, 1), "generic", "Returns the expiration time in seconds of a key.", keys::ttl;
    "pttl", 2, RF, (1, 1, 1), "generic", "Returns the expiration time in milliseconds of a key.", keys::pttl;
    "expiretime", 2, RF, (1, 1, 1), "generic", "Returns the expiration time of a key as a Unix timestamp.", keys::expiretime;
    "pexpiretime", 2, RF, (1, 1, 1), "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", keys::pexpiretime;
    "persist", 2, DF, (1, 1, 1), "generic", "Removes the expiration time of a key.", keys::persist;
    // hashes
    "hset", -4, WFP, (1, 1, 1), "hash", "Creates or modifies the value of a field in a hash.", hash::hset;
    "hmset", -4, WFP, (1, 1, 1), "hash", "Sets the values of multiple fields.", hash::hset;
    "hsetnx", 4, WF, (1, 1, 1), "hash", "Sets the value of a field in a hash only when the field doesn't exist.", hash::hsetnx;
    "hget", 3, RF, (1, 1, 1), "hash", "Returns the value of a field in a hash.", hash::hget;
    "hmget", -3, RF, (1, 1, 1), "hash", "Returns the values of all fields in a hash.", hash::hmget;
    "hdel", -3, DF, (1, 1, 1), "hash", "Deletes one or more fields and their values from a hash.", hash::hdel;
    "hlen", 2, RF, (1, 1, 1), "hash", "Returns the number of fields in a hash.", hash::hlen;
    "hexists", 3, RF, (1, 1, 1), "hash", "Determines whether a field exists in a hash.", hash::hexists;
    "hkeys", 2, R, (1, 1, 1), "hash", "Returns all fields in a hash.", hash::hkeys;
    "hvals", 2, R, (1, 1, 1), "hash", "Returns all values in a hash.", hash::hvals;
    "hgetall", 2, R, (1, 1, 1), "hash", "Returns all fields and values in a hash.", hash::hgetall;
    "hincrby", 4, WF, (1, 1, 1), "hash", "Increments the integer value of a field in a hash by a number.", hash::hincrby;
    "hincrbyfloat", 4, WF, (1, 1, 1), "hash", "Increments the floating point value of a field by a number.", hash::hincrbyfloat;
    "hstrlen", 3, RF, (1, 1, 1), "hash", "Returns the length of the value of a field.", hash::hstrlen;
    "hscan", -3, R, (1, 1, 1), "hash", "Iterates over fields and values of a hash.", hash::hscan;
    "hrandfield", -2, R, (1, 1, 1), "hash", "Returns one or more random fields from a hash.", hash::hrandfield;
    // lists
    "lpush", -3, WFP, (1, 1, 1), "list", "Prepends one or more elements to a list.", list::lpush;
    "rpush", -3, WFP, (1, 1, 1), "list", "Appends one or more elements to a list.", list::rpush;
    "lpushx", -3, WFP, (1, 1, 1), "list", "Prepends one or more elements to a list only when the list exists.", list::lpushx;
    "rpushx", -3, WFP, (1, 1, 1), "list", "Appends an element to a list only when the list exists.", list::rpushx;
    "lpop", -2, DFP, (1, 1, 1), "list", "Returns the first elements in a list after removing it.", list::lpop;
    "rpop", -2, DFP, (1, 1, 1), "list", "Returns and removes the last elements of a list.", list::rpop;
    "llen", 2, RF, (1, 1, 1), "list", "Returns the length of a list.", list::llen;
    "lrange", 4, R, (1, 1, 1), "list", "Returns a range of elements from a list.", list::lrange;
    "lindex", 3, R, (1, 1, 1), "list", "Returns an element from a list by its index.", list::lindex;
    "lset", 4, W, (1, 1, 1), "list", "Sets the value of an element in a list by its index.", list::lset;
    "linsert", 5, W, (1, 1, 1), "list", "Inserts an element before or after another element in a list.", list::linsert;
    "lrem", 4, D, (1, 1, 1), "list", "Removes elements from a list.", list::lrem;
    "ltrim", 4, D, (1, 1, 1), "list", "Removes elements from both ends a list.", list::ltrim;
    "lpos", -3, R, (1, 1, 1), "list", "Returns the index of matching elements in a list.", list::lpos;
    "lmove", 5, W, (1, 2, 1), "list", "Returns an element after popping it from one list and pushing it to another.", list::lmove;
    "rpoplpush", 3, W, (1, 2, 1), "list", "Returns the last element of a list after removing and pushing it to another list.", list::rpoplpush;
    "blpop", -3, BLOCK, (1, -2, 1), "list", "Removes and returns the first element in a list. Blocks until an element is available otherwise.", list::blpop;
    "brpop", -3, BLOCK, (1, -2, 1), "list", "Removes and returns the last element in a list. Blocks until an element is available otherwise.", list::brpop;
    "brpoplpush", 4, BLOCK, (1, 2, 1), "list", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise.", list::brpoplpush;
    "blmove", 6, &["write", "denyoom", "blocking"], (1, 2, 1), "list", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise.", list::blmove;
    // sets
    "sadd", -3, WFP, (1, 1, 1), "set", "Adds one or more members to a set.", set::sadd;
    "srem", -3, DF, (1, 1, 1), "set", "Removes one or more members from a set.", set::srem;
    "smembers", 2, R, (1, 1, 1), "set", "Returns all members of a set.", set::smembers;
    "sismember", 3, RF, (1, 1, 1), "set", "Determines whether a member belongs to a set.", set::sismember;
    "smismember", -3, RF, (1, 1, 1), "set", "Determines whether multiple members belong to a set.", set::smismember;
    "scard", 2, RF, (1, 1, 1), "set", "Returns the number of members in a set.", set::scard;
    "spop", -2, DF, (1, 1, 1), "set", "Returns one or more random members from a set after removing them.", set::spop;
    "srandmember", -2, R, (1, 1, 1), "set", "Get one or multiple random members from a set.", set::srandmember;
    "smove", 4, DF, (1, 2, 1), "set", "Moves a member from one set to another.", set::smove;
    "sinter", -2, R, (1, -1, 1), "set", "Returns the intersect of multiple sets.", set::sinter;
    "sunion", -2, R, (1, -1, 1), "set", "Returns the union of multiple sets.", set::sunion;
    "sdiff", -2, R, (1, -1, 1), "set", "Returns the difference of multiple sets.", set::sdiff;
    "sinterstore", -3, W, (1, -1, 1), "set", "Stores the intersect of multiple sets in a key.", set::sinterstore;
    "sunionstore", -3, W, (1, -1, 1), "set", "Stores the union of multiple sets in a key.", set::sunionstore;
    "sdiffstore", -3, W, (1, -1, 1), "set", "Stores the difference of multiple sets in a key.", set::sdiffstore;
    "sintercard", -3, R, (0, 0, 0), "set", "Returns the number of members of the intersect of multiple sets.", set::sintercard;
    "sscan", -3, R, (1, 1, 1), "set", "Iterates over members of a set.", set::sscan;
    // sorted sets
    "zadd", -4, WFP, (1, 1, 1), "sorted-set", "Adds one or more members to a sorted set, or updates their scores.", zset::zadd;
    "zincrby", 4, WF, (1, 1, 1), "sorted-set", "Increments the score of a member in a sorted set.", zset::zincrby;
    "zrem", -3, DF, (1, 1, 1), "sorted-set", "Removes one or more members from a sorted set.", zset::zrem;
    "zscore", 3, RF, (1, 1, 1), "sorted-set", "Returns the score of a member in a sorted set.", zset::zscore;
    "zmscore", -3, RF, (1, 1, 1), "sorted-set", "Returns the score of one or more members in a sorted set.", zset::zmscore;
    "zcard", 2, RF, (1, 1, 1), "sorted-set", "Returns the number of members in a sorted set.", zset::zcard;
    "zcount", 4, RF, (1, 1, 1), "sorted-set", "Returns the count of members in a sorted set that have scores within a range.", zset::zcount;
    "zlexcount", 4, RF, (1, 1, 1), "sorted-set", "Returns the number of members in a sorted set within a lexicographical range.", zset::zlexcount;
    "zrange", -4, R, (1, 1, 1), "sorted-set", "Returns members in a sorted set within a range of indexes.", zset::zrange;
    "zrangebyscore", -4, R, (1, 1, 1), "sorted-set", "Returns members in a sorted set within a range of scores.", zset::zrangebyscore;
    "zrevrange", -4, R, (1, 1, 1), "sorted-set", "Returns members in a sorted set within a range of indexes in reverse order.", zset::zrevrange;
    "zrangebylex", -4, R, (1, 1, 1), "sorted-set", "Returns members in a sorted set within a lexicographical range.", zset::zrangebylex;
    "zrevrangebylex", -4, R, (1, 1, 1), "sorted-set", "Returns members in a sorted set within a lexicographical range in reverse order.", zset::zrevrangebylex;
    "zrangestore", -5, W, (1, 2, 1), "sorted-set", "Stores a range of members from sorted set in a key.", zset::zrangestore;
    "zrevrangebyscore", -4, R, (1, 1, 1), "sorted-set", "Returns members in a sorted set within a range of scores in reverse order.", zset::zrevrangebyscore;
    "zrank", -3, RF, (1, 1, 1), "sorted-set", "Returns the index of a member in a sorted set ordered by ascending scores.", zset::zrank;
    "zrevrank", -3, RF, (1, 1, 1), "sorted-set", "Returns the index of a member in a sorted set ordered by descending scores.", zset::zrevrank;
    "zremrangebyrank", 4, D, (1, 1, 1), "sorted-set", "Removes members in a sorted set within a range of indexes.", zset::zremrangebyrank;
    "zremrangebyscore", 4, D, (1, 1, 1), "sorted-set", "Removes members in a sorted set within a range of scores.", zset::zremrangebyscore;
    "zremrangebylex", 4, D, (1, 1, 1), "sorted-set", "Removes members in a sorted set within a lexicographical range.", zset::zremrangebylex;
    "zpopmin", -2, DF, (1, 1, 1), "sorted-set", "Returns the lowest-scoring members from a sorted set after removing them.", zset::zpopmin;
    "zpopmax", -2, DF, (1, 1, 1), "sorted-set", "Returns the highest-scoring members from a sorted set after removing them.", zset::zpopmax;
    "bzpopmin", -3, BLOCK, (1, -2, 1), "sorted-set", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise.", zset::bzpopmin;
    "bzpopmax", -3, BLOCK, (1, -2, 1), "sorted-set", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.", zset::bzpopmax;
    "zrandmember", -2, R, (1, 1, 1), "sorted-set", "Returns one or more random members from a sorted set.", zset::zrandmember;
    "zscan", -3, R, (1, 1, 1), "sorted-set", "Iterates over members and scores of a sorted set.", zset::zscan;
    "zunionstore", -4, W, (1, 1, 1), "sorted-set", "Stores the union of multiple sorted sets in a key.", zset::zunionstore;
    "zinterstore", -4, W, (1, 1, 1), "sorted-set", "Stores the intersect of multiple sorted sets in a key.", zset::zinterstore;
    "zdiffstore", -4, W, (1, 1, 1), "sorted-set", "Stores the difference of multiple sorted sets in a key.", zset::zdiffstore;
    "zunion", -3, R, (0, 0, 0), "sorted-set", "Returns the union of multiple sorted sets.", zset::zunion;
    "zinter", -3, R, (0, 0, 0), "sorted-set", "Returns the intersect of multiple sorted sets.", zset::zinter;
    "zdiff", -3, R, (0, 0, 0), "sorted-set", "Returns the difference between multiple sorted sets.", zset::zdiff;
    "zintercard", -3, R, (0, 0, 0), "sorted-set", "Returns the number of members of the intersect of multiple sorted sets.", zset::zintercard;
    // server
    "info", -1, &["loading", "stale"], (0, 0, 0), "server", "Returns information and statistics about the server.", server::info;
    "save", 1, ADMIN, (0, 0, 0), "server", "Synchronously saves the database(s) to disk.", server::save;
    "bgsave", -1, ADMIN, (0, 0, 0), "server", "Asynchronously saves the database(s) to disk.", server::bgsave;
    "lastsave", 1, &["loading", "stale", "fast"], (0, 0, 0), "server", "Returns the Unix timestamp of the last successful save to disk.", server::lastsave;
    "bgrewriteaof", 1, ADMIN, (0, 0, 0), "server", "Asynchronously rewrites the append-only file to disk.", server::bgrewriteaof;
    "config", -2, &["admin", "noscript", "loading", "stale"], (0, 0, 0), "server", "A container for server configuration commands.", server::config;
    "time", 1, &["loading", "stale", "fast"], (0, 0, 0), "server", "Returns the server time.", server::time;
    "shutdown", -1, &["admin", "noscript", "loading", "stale", "sees-store"], (0, 0, 0), "server", "Synchronously saves the database(s) to disk and shuts down the Redis server.", server::shutdown;
};

type Index = HashMap<&'static str, &'static CommandSpec, rustc_hash::FxBuildHasher>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| COMMANDS.iter().map(|c| (c.name, c)).collect())
}

/// The command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    index().get(std::str::from_utf8(lower).ok()?).copied()
}

pub fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter()
}
