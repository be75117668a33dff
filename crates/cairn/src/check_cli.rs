//! `cairn check` and `cairn repair`: every store of a data directory verified, and the
//! damaged ones salvaged (the server must be stopped: each store's lock is taken).
//!
//! `check` reads the Redis keyspace (`kv/`) and the blob store's index (`blob/index/`) with
//! `cairn_log::check`, which writes nothing, then, if the index is sound, every atom of
//! every blob version (`BlobStore::verify`, which hashes them). Damage is listed with file
//! and offset; the exit status is 1 when there is any.
//!
//! `repair` runs `cairn_log::repair` on each damaged cairn-log store: the records that read
//! are written to a new store, the damaged one is moved to `DIR/damaged-<unix time>/`, and
//! what was lost is listed. Blob atoms are content-addressed files checked by their hash: a
//! damaged one cannot be rebuilt, and `cairn blob verify` names the files that need it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use cairn_blob::{BlobStore, Options};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The data directory.
    #[arg(long, env = "CAIRN_DATA", default_value = "cairn-data")]
    data: PathBuf,
}

/// The cairn-log stores of a data directory that exist, with their names.
fn log_stores(data: &Path) -> Vec<(&'static str, PathBuf)> {
    [
        ("kv", data.join("kv")),
        ("blob index", data.join("blob/index")),
    ]
    .into_iter()
    .filter(|(_, dir)| dir.exists())
    .collect()
}

pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let stores = log_stores(&args.data);
    if stores.is_empty() {
        anyhow::bail!("{} holds no cairn store", args.data.display());
    }
    let mut damaged = false;
    let mut blob_index_sound = false;
    for (name, dir) in &stores {
        let report =
            cairn_log::check(dir).with_context(|| format!("checking {}", dir.display()))?;
        println!(
            "{name} ({}): {} files, {} segment records, {} WAL frames, {} keys in the index checkpoint: {}",
            dir.display(),
            report.files,
            report.records,
            report.frames,
            report.live_entries,
            if report.is_sound() { "sound" } else { "DAMAGED" }
        );
        for damage in &report.damage {
            println!("  damaged: {damage}");
        }
        damaged |= !report.is_sound();
        if *name == "blob index" {
            blob_index_sound = report.is_sound();
        }
    }
    if blob_index_sound {
        let blob = args.data.join("blob");
        let store = BlobStore::open(&blob, Options::default())
            .with_context(|| format!("opening the blob store in {}", blob.display()))?;
        let report = store.verify(None)?;
        let bad = report.missing.len() + report.corrupt.len();
        println!(
            "blob atoms: {} files, {} atoms, {} bytes: {}",
            report.files,
            report.atoms,
            report.bytes,
            if bad == 0 { "sound" } else { "DAMAGED" }
        );
        for (file, hash) in &report.missing {
            println!("  missing atom {} of {file}", hash.uri());
        }
        for (file, hash) in &report.corrupt {
            println!("  corrupt atom {} of {file}", hash.uri());
        }
        store.close()?;
        damaged |= bad > 0;
    }
    if args.data.join("sql").exists() {
        println!(
            "sql: not checked (the SQL door's page files get their checker with the SQL store)"
        );
    }
    if damaged {
        println!(
            "damage found: `cairn repair --data {}` salvages the cairn-log stores",
            args.data.display()
        );
        std::process::exit(1);
    }
    Ok(())
}

pub fn repair(args: CheckArgs) -> anyhow::Result<()> {
    let stores = log_stores(&args.data);
    if stores.is_empty() {
        anyhow::bail!("{} holds no cairn store", args.data.display());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside_root = args.data.join(format!("damaged-{stamp}"));
    let mut repaired = 0;
    for (name, dir) in &stores {
        let report =
            cairn_log::check(dir).with_context(|| format!("checking {}", dir.display()))?;
        if report.is_sound() {
            println!("{name}: sound, left as it is");
            continue;
        }
        let relative = dir.strip_prefix(&args.data).unwrap_or(dir);
        let aside = aside_root.join(relative);
        if let Some(parent) = aside.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let report = cairn_log::repair(dir, &aside)
            .with_context(|| format!("repairing {}", dir.display()))?;
        repaired += 1;
        println!(
            "{name}: repaired from the {}: {} keys, {} records and {} WAL frames recovered; the damaged store is in {}",
            match report.source {
                cairn_log::RepairSource::IndexCheckpoint => "index checkpoint",
                cairn_log::RepairSource::SegmentScan => "segments (index unreadable)",
            },
            report.keys,
            report.records,
            report.frames,
            report.aside.display()
        );
        for lost in &report.lost {
            println!("  lost: {lost}");
        }
        for caveat in &report.caveats {
            println!("  note: {caveat}");
        }
    }
    if repaired > 0 && args.data.join("blob").exists() {
        println!("then: `cairn blob verify` names blob versions whose atoms or records were lost");
    }
    Ok(())
}
