//! What `CLIENT LIST` and `INFO` tell about other clients' commands, which the keyspace
//! records once per pipeline rather than once per command.

use bytes::Bytes;
use cairn_kv::{Kv, KvOptions, Reply, Session};

fn argv(args: &[&str]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::from(a.to_string())).collect()
}

fn text(kv: &std::sync::Arc<Kv>, session: &mut Session, args: &[&str]) -> String {
    match kv.execute(session, &argv(args)).reply {
        Reply::Verbatim(text) => text,
        Reply::Bulk(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        other => panic!("{args:?}: {other:?}"),
    }
}

fn commands_processed(kv: &std::sync::Arc<Kv>, session: &mut Session) -> u64 {
    let info = text(kv, session, &["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_commands_processed in INFO stats")
}

#[test]
fn a_pipeline_counts_every_command_and_leaves_its_last_known_one_in_client_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = Kv::open(dir.path(), KvOptions::default()).expect("open");
    let mut writer = kv.connect("10.0.0.1:1".into(), "local".into());
    let mut watcher = kv.connect("10.0.0.2:2".into(), "local".into());
    let before = commands_processed(&kv, &mut watcher);
    let outcomes = kv.execute_pipeline(
        &mut writer,
        &Bytes::new(),
        &[
            &[&b"SET"[..], b"k", b"v"],
            &[&b"LPUSH"[..], b"l", b"a"],
            &[&b"GET"[..], b"k"],
            &[&b"NOSUCHCOMMAND"[..], b"x"],
        ],
    );
    assert_eq!(outcomes.len(), 4);
    assert_eq!(outcomes[2].reply, Reply::bulk("v"));
    // INFO itself counts too, as in Redis.
    assert_eq!(commands_processed(&kv, &mut watcher), before + 4 + 1);
    let list = text(&kv, &mut watcher, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("addr=10.0.0.1:1"))
        .expect("the writer is listed");
    assert!(line.contains(" cmd=get "), "{line}");
    kv.disconnect(&mut writer);
    kv.disconnect(&mut watcher);
}
