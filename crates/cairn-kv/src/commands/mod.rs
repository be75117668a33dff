//! The command handlers, one module per command family, and the table that names them.

pub mod args;
pub mod connection;
pub mod hash;
pub mod keys;
pub mod list;
pub mod multi;
pub mod server;
pub mod set;
pub mod stored;
pub mod string;
pub mod table;
pub mod zset;
