//! Arbitrary bytes from a client, as the Redis door receives them: framed by the RESP
//! parser, then every request run against a keyspace. Nothing may panic, the parser must
//! always make progress or ask for more, and every request gets exactly one reply.

#![no_main]

use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use cairn_kv::{Kv, KvOptions};
use cairn_server::resp::{encode_reply, parse_request};
use libfuzzer_sys::fuzz_target;

/// One keyspace for the whole fuzzing process, in a directory that lives as long.
fn keyspace() -> &'static Arc<Kv> {
    static KV: OnceLock<(tempfile::TempDir, Arc<Kv>)> = OnceLock::new();
    &KV.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = Kv::open(dir.path().join("kv"), KvOptions::default()).expect("open");
        (dir, kv)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let kv = keyspace();
    let mut session = kv.connect("fuzz".into(), "fuzz".into());
    let mut input = BytesMut::from(data);
    let mut out = BytesMut::new();
    loop {
        let before = input.len();
        match parse_request(&mut input) {
            Ok(Some(args)) => {
                assert!(input.len() < before, "a request consumed nothing");
                if args.is_empty() {
                    continue;
                }
                // SHUTDOWN and friends only ask the connection to act; nothing to skip.
                let outcomes = kv.execute_pipeline(&mut session, &[args]);
                assert_eq!(outcomes.len(), 1);
                encode_reply(&outcomes[0].reply, session.protocol, &mut out);
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    kv.disconnect(&mut session);
    // Undo what would starve later runs: a password, a keyspace grown large.
    let mut admin = kv.connect("fuzz".into(), "fuzz".into());
    admin.authenticated = true;
    let _ = kv.execute(&mut admin, &["CONFIG".into(), "SET".into(), "requirepass".into(), "".into()]);
    if kv.engine_stats().live_keys > 10_000 {
        let _ = kv.execute(&mut admin, &["FLUSHALL".into()]);
    }
    kv.disconnect(&mut admin);
});
