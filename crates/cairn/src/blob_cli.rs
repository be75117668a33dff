//! `cairn blob …`: the blob store of a data directory (`<data>/blob`), from the command line:
//! add, get, ls, atoms, verify, rm, gc, stats. Long work shows a progress bar on a terminal;
//! each command ends with a summary table.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use cairn_blob::{BlobStore, Component, Compression, Options};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{grid, print};

#[derive(Subcommand)]
pub enum BlobCommand {
    /// Add files and directories (recursively), as `restic backup` does: each file is stored
    /// under its path as given (a directory's files under the directory's path, then their
    /// path below it), a new version where the name exists.
    Add {
        /// Files and directories to add.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Store the one FILE given under this name instead of its path.
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// Codec for new atoms: zstd, zstd:LEVEL (1-22), lz4 or none.
        #[arg(long, default_value = "zstd")]
        compression: String,
    },
    /// Write NAME (or one component of it) to standard output or to a file; or, for a
    /// directory (NAME ending in `/`, or a prefix of stored paths), restore every file under
    /// it into the `--output` directory.
    Get {
        name: String,
        /// Write here instead of standard output (only once the file is verified); for a
        /// directory, the directory to restore into.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Only these atoms, in file order: audio, video, keyframes or metadata.
        #[arg(long)]
        component: Option<String>,
        /// This version instead of the latest.
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the stored files.
    Ls {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the atoms of NAME.
    Atoms {
        name: String,
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-read and re-hash every atom (of NAME, or of every file); exit 1 if any is missing
    /// or corrupt.
    Verify {
        name: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove every version of NAME (its atoms are freed by gc).
    Rm {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete the atoms no file uses any more.
    Gc {
        /// Report what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Storage statistics: atoms, bytes, deduplication.
    Stats {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(clap::Args)]
pub struct StoreArgs {
    /// The data directory (the one `cairn serve` uses; it must not be running).
    #[arg(long, env = "CAIRN_DATA", default_value = "cairn-data")]
    data: PathBuf,
    /// Where atoms go: s3://bucket/prefix (S3 or compatible: AWS_* variables, AWS_ENDPOINT
    /// for MinIO), gs://bucket/prefix, az://container/prefix, or a local folder. Recorded
    /// on first use; the default is `<data>/blob/atoms`.
    #[arg(long, env = "CAIRN_BLOB_BACKEND")]
    backend: Option<String>,
}

impl StoreArgs {
    fn open(&self, options: Options) -> anyhow::Result<BlobStore> {
        let dir = self.data.join("blob");
        let options = Options {
            backend_url: self.backend.clone(),
            ..options
        };
        BlobStore::open(&dir, options)
            .with_context(|| format!("opening the blob store in {}", dir.display()))
    }
}

pub fn run(command: BlobCommand) -> anyhow::Result<()> {
    let mut out = String::new();
    match command {
        BlobCommand::Add {
            paths,
            name,
            store,
            compression,
        } => add(paths, name, store, compression, &mut out)?,
        BlobCommand::Get {
            name,
            output,
            component,
            version,
            store,
        } => get(name, output, component, version, store)?,
        BlobCommand::Ls { store } => ls(store, &mut out)?,
        BlobCommand::Atoms {
            name,
            version,
            store,
        } => atoms(name, version, store, &mut out)?,
        BlobCommand::Verify { name, store } => verify(name, store, &mut out)?,
        BlobCommand::Rm { name, store } => rm(name, store, &mut out)?,
        BlobCommand::Gc { dry_run, store } => gc(dry_run, store, &mut out)?,
        BlobCommand::Stats { store } => stats(store, &mut out)?,
    }
    print(&out)
}

/// `cairn blob add`: every file of `paths`, under one progress bar over their total size,
/// then a summary. A file that cannot be added is reported and the others go on, as restic
/// does; the command then fails.
fn add(
    paths: Vec<PathBuf>,
    name: Option<String>,
    store: StoreArgs,
    compression: String,
    out: &mut String,
) -> anyhow::Result<()> {
    let compression = Compression::parse(&compression).with_context(|| {
        format!("unknown compression {compression:?}: zstd, zstd:LEVEL, lz4 or none")
    })?;
    let files = files_to_add(&paths, name)?;
    let store = store.open(Options {
        compression,
        ..Options::default()
    })?;
    let total: u64 = files.iter().map(|f| f.len).sum();
    let progress = AtomicU64::new(0);
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    let started = std::time::Instant::now();
    with_progress(total, "adding", &progress, || {
        for file in &files {
            match store.add_file(&file.name, &file.path, Some(&progress)) {
                Ok(report) => reports.push(report),
                Err(e) => failed.push(format!("{}: {e}", file.path.display())),
            }
        }
    });
    store.close()?;
    add_summary(&reports, started.elapsed().as_secs_f64(), out)?;
    for line in &failed {
        eprintln!("error: {line}");
    }
    if !failed.is_empty() {
        print(out)?;
        out.clear();
        anyhow::bail!(
            "{} of {} files could not be added",
            failed.len(),
            files.len()
        );
    }
    Ok(())
}

/// A file to add: where it is, the name it is stored under, its size.
struct FileToAdd {
    path: PathBuf,
    name: String,
    len: u64,
}

/// The files `paths` name, directories walked recursively in name order; each named by its
/// path as given (without a leading `/` or `./`, with `/` separators), or `name` for a single
/// file.
fn files_to_add(paths: &[PathBuf], name: Option<String>) -> anyhow::Result<Vec<FileToAdd>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            walk(path, &stored_name(path), &mut files)?;
        } else {
            files.push(FileToAdd {
                path: path.clone(),
                name: stored_name(path),
                len: meta.len(),
            });
        }
    }
    if let Some(name) = name {
        match files.as_mut_slice() {
            [one] if paths.len() == 1 && !paths[0].is_dir() => one.name = name,
            _ => anyhow::bail!("--as names a single file; give one FILE"),
        }
    }
    Ok(files)
}

/// The files under directory `dir`, stored under `prefix/…`.
fn walk(dir: &Path, prefix: &str, files: &mut Vec<FileToAdd>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let name = if prefix.is_empty() {
            file_name
        } else {
            format!("{prefix}/{file_name}")
        };
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, &name, files)?;
        } else if kind.is_file() {
            let len = entry
                .metadata()
                .with_context(|| format!("reading {}", path.display()))?
                .len();
            files.push(FileToAdd { path, name, len });
        } else {
            eprintln!("skipping {}: not a regular file", path.display());
        }
    }
    Ok(())
}

/// The name a path is stored under: its normal components joined by `/` (`.` and a leading
/// `/` dropped; `..` kept, for the store to refuse).
fn stored_name(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The table of an add: one row per file (the first 20), then the totals.
fn add_summary(
    reports: &[cairn_blob::AddReport],
    seconds: f64,
    out: &mut String,
) -> anyhow::Result<()> {
    const SHOWN: usize = 20;
    let mut files = grid(&[
        "name",
        "version",
        "size",
        "format",
        "atoms",
        "new atoms",
        "new bytes",
        "stored",
        "MB/s",
    ]);
    for report in reports.iter().take(SHOWN) {
        let mb_s = report.size as f64 / 1e6 / report.seconds.max(1e-9);
        files.add_row(vec![
            report.name.clone(),
            report.version.to_string(),
            report.size.to_string(),
            report.format.clone(),
            report.atoms.to_string(),
            report.new_atoms.to_string(),
            report.new_bytes.to_string(),
            report.stored_bytes.to_string(),
            format!("{mb_s:.1}"),
        ]);
    }
    if !reports.is_empty() {
        writeln!(out, "{files}")?;
    }
    if reports.len() > SHOWN {
        writeln!(out, "… and {} more files", reports.len() - SHOWN)?;
    }
    for report in reports {
        if let Some(why) = &report.fallback {
            writeln!(
                out,
                "note: {}: {why}; the file was cut into content-defined chunks",
                report.name
            )?;
        }
    }
    if reports.len() > 1 {
        let sum = |f: fn(&cairn_blob::AddReport) -> u64| reports.iter().map(f).sum::<u64>();
        let size = sum(|r| r.size);
        let mut totals = grid(&[
            "files",
            "size",
            "atoms",
            "new atoms",
            "new bytes",
            "stored",
            "MB/s",
        ]);
        totals.add_row(vec![
            reports.len().to_string(),
            size.to_string(),
            sum(|r| r.atoms as u64).to_string(),
            sum(|r| r.new_atoms as u64).to_string(),
            sum(|r| r.new_bytes).to_string(),
            sum(|r| r.stored_bytes).to_string(),
            format!("{:.1}", size as f64 / 1e6 / seconds.max(1e-9)),
        ]);
        writeln!(out, "{totals}")?;
    }
    Ok(())
}

/// `cairn blob get`.
fn get(
    name: String,
    output: Option<PathBuf>,
    component: Option<String>,
    version: Option<u32>,
    store: StoreArgs,
) -> anyhow::Result<()> {
    let component = component
        .map(|c| {
            Component::parse(&c).with_context(|| {
                format!("unknown component {c:?}: audio, video, keyframes or metadata")
            })
        })
        .transpose()?;
    let store = store.open(Options::default())?;
    if let Some(files) = directory_files(&store, &name)? {
        let Some(dir) = output else {
            anyhow::bail!(
                "{name} is a directory of {} files: give --output DIR to restore it",
                files.len()
            );
        };
        anyhow::ensure!(
            component.is_none(),
            "--component applies to one file, not a directory"
        );
        return restore_directory(&store, &name, &files, version, &dir);
    }
    match output {
        Some(path) => {
            let written = write_verified(&store, &name, version, component, &path)?;
            eprintln!("wrote {written} bytes to {}", path.display());
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            store.get(&name, version, component, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// The stored names under directory `name` (`name` ending in `/`, or a prefix of stored paths
/// followed by `/`), when `name` is not itself a stored file.
fn directory_files(store: &BlobStore, name: &str) -> anyhow::Result<Option<Vec<String>>> {
    let prefix = format!("{}/", name.trim_end_matches('/'));
    let names = store.names()?;
    if !name.ends_with('/') && names.iter().any(|n| n == name) {
        return Ok(None);
    }
    let under: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with(&prefix) || prefix == "/")
        .collect();
    Ok((!under.is_empty()).then_some(under))
}

/// Restores every file of `files` (stored names under `name`) into `dir`, each at its path
/// below `name`, written to a temporary file and renamed once verified.
fn restore_directory(
    store: &BlobStore,
    name: &str,
    files: &[String],
    version: Option<u32>,
    dir: &Path,
) -> anyhow::Result<()> {
    let prefix = format!("{}/", name.trim_end_matches('/'));
    let total: u64 = files
        .iter()
        .map(|f| store.manifest(f, version).map(|m| m.size))
        .sum::<Result<u64, _>>()?;
    let progress = AtomicU64::new(0);
    with_progress(total, "restoring", &progress, || {
        for stored in files {
            let relative = stored.strip_prefix(&prefix).unwrap_or(stored);
            let path = dir.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let written = write_verified(store, stored, version, None, &path)
                .with_context(|| format!("restoring {stored}"))?;
            progress.fetch_add(written, Ordering::Relaxed);
        }
        anyhow::Ok(())
    })?;
    eprintln!(
        "restored {} files, {total} bytes, into {}",
        files.len(),
        dir.display()
    );
    Ok(())
}

/// `cairn blob ls`.
fn ls(store: StoreArgs, out: &mut String) -> anyhow::Result<()> {
    let store = store.open(Options::default())?;
    let mut grid = grid(&["name", "versions", "size", "format", "atoms", "sha256"]);
    for manifest in store.list()? {
        let versions = store.versions(&manifest.name)?.len();
        grid.add_row(vec![
            manifest.name,
            versions.to_string(),
            manifest.size.to_string(),
            manifest.format,
            manifest.refs.len().to_string(),
            manifest.sha256.to_hex(),
        ]);
    }
    writeln!(out, "{grid}")?;
    Ok(())
}

/// `cairn blob atoms`.
fn atoms(
    name: String,
    version: Option<u32>,
    store: StoreArgs,
    out: &mut String,
) -> anyhow::Result<()> {
    let store = store.open(Options::default())?;
    let manifest = store.manifest(&name, version)?;
    let mut grid = grid(&[
        "#", "offset", "size", "type", "atom", "refs", "stored", "label",
    ]);
    for (i, (reference, record)) in store.atoms_of(&name, version)?.into_iter().enumerate() {
        let label = record
            .as_ref()
            .and_then(|r| {
                r.metadata
                    .iter()
                    .find(|(k, _)| k == "label")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default();
        grid.add_row(vec![
            i.to_string(),
            reference.offset.to_string(),
            reference.size.to_string(),
            reference.atom_type.to_string(),
            reference.hash.uri(),
            record.as_ref().map_or("-".into(), |r| r.refs.to_string()),
            record
                .as_ref()
                .map_or("-".into(), |r| r.stored_size.to_string()),
            label,
        ]);
    }
    writeln!(out, "{grid}")?;
    writeln!(
        out,
        "{} version {}: {} bytes, {}, sha256 {}",
        manifest.name,
        manifest.version,
        manifest.size,
        manifest.format,
        manifest.sha256.to_hex()
    )?;
    for (fact, value) in &manifest.facts {
        writeln!(out, "  {fact}: {value}")?;
    }
    Ok(())
}

/// `cairn blob verify`.
fn verify(name: Option<String>, store: StoreArgs, out: &mut String) -> anyhow::Result<()> {
    let store = store.open(Options::default())?;
    let spinner = spinner("verifying");
    let report = store.verify(name.as_deref());
    spinner.finish_and_clear();
    let report = report?;
    let mut grid = grid(&["files", "atoms", "bytes", "missing", "corrupt"]);
    grid.add_row(vec![
        report.files.to_string(),
        report.atoms.to_string(),
        report.bytes.to_string(),
        report.missing.len().to_string(),
        report.corrupt.len().to_string(),
    ]);
    writeln!(out, "{grid}")?;
    for (file, hash) in &report.missing {
        writeln!(out, "missing: {file}: {}", hash.uri())?;
    }
    for (file, hash) in &report.corrupt {
        writeln!(out, "corrupt: {file}: {}", hash.uri())?;
    }
    if !report.missing.is_empty() || !report.corrupt.is_empty() {
        print(out)?;
        std::process::exit(1);
    }
    Ok(())
}

/// `cairn blob rm`.
fn rm(name: String, store: StoreArgs, out: &mut String) -> anyhow::Result<()> {
    let store = store.open(Options::default())?;
    let versions = store.remove(&name)?;
    store.close()?;
    writeln!(
        out,
        "removed {name} ({versions} version{}); run gc to free its atoms",
        if versions == 1 { "" } else { "s" }
    )?;
    Ok(())
}

/// `cairn blob gc`.
fn gc(dry_run: bool, store: StoreArgs, out: &mut String) -> anyhow::Result<()> {
    let store = store.open(Options::default())?;
    let spinner = spinner(if dry_run {
        "looking for unused atoms"
    } else {
        "collecting"
    });
    let report = store.gc(dry_run);
    spinner.finish_and_clear();
    let report = report?;
    store.close()?;
    let mut grid = grid(&["", "atoms", "stored bytes", "stray files"]);
    grid.add_row(vec![
        if dry_run { "would delete" } else { "deleted" }.to_string(),
        report.atoms.to_string(),
        report.stored_bytes.to_string(),
        report.strays.to_string(),
    ]);
    writeln!(out, "{grid}")?;
    if report.strays > 0 && !report.strays_deleted {
        writeln!(
            out,
            "note: {} stray atom files were left: the backend is not this store's own folder, \
             and another store may be using them",
            report.strays
        )?;
    }
    Ok(())
}

/// `cairn blob stats`.
fn stats(store: StoreArgs, out: &mut String) -> anyhow::Result<()> {
    let store = store.open(Options::default())?;
    let stats = store.stats()?;
    let mut grid = grid(&["statistic", "value"]);
    for (name, value) in [
        ("files", stats.files.to_string()),
        ("versions", stats.versions.to_string()),
        ("atoms", stats.total_atoms.to_string()),
        ("atoms used once", stats.unique_atoms.to_string()),
        ("atoms shared", stats.dedup_atoms.to_string()),
        (
            "bytes added (all versions)",
            stats.logical_bytes.to_string(),
        ),
        ("bytes of distinct atoms", stats.atom_bytes.to_string()),
        ("bytes stored (compressed)", stats.stored_bytes.to_string()),
        ("saved by deduplication", stats.dedup_savings.to_string()),
        (
            "deduplication ratio",
            format!("{:.1}%", stats.dedup_ratio()),
        ),
        ("backend", store.backend()),
    ] {
        grid.add_row(vec![name.to_string(), value]);
    }
    writeln!(out, "{grid}")?;
    Ok(())
}

/// A file name beside `path` for writing before the rename into place.
/// Writes `name` (or one component of it) to `path`: into a temporary file beside it, synced,
/// then renamed over `path`, so `path` only ever holds a whole, verified file; the temporary
/// file is removed if anything fails. Returns the bytes written.
fn write_verified(
    store: &BlobStore,
    name: &str,
    version: Option<u32>,
    component: Option<Component>,
    path: &Path,
) -> anyhow::Result<u64> {
    let temp = temp_beside(path);
    let written = (|| {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&temp).with_context(|| format!("creating {}", temp.display()))?,
        );
        let written = store.get(name, version, component, &mut file)?;
        file.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .with_context(|| format!("writing {}", temp.display()))?;
        anyhow::Ok(written)
    })();
    match written {
        Ok(written) => {
            std::fs::rename(&temp, path).with_context(|| format!("writing {}", path.display()))?;
            Ok(written)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&temp);
            Err(error)
        }
    }
}

fn temp_beside(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".cairn-{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Runs `work` with a byte progress bar fed by `progress` (hidden when not on a terminal).
fn with_progress<T>(len: u64, what: &str, progress: &AtomicU64, work: impl FnOnce() -> T) -> T {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let bar = &bar;
        scope.spawn(move || {
            // Redraw every 100 ms until the work ends (the sender is dropped then).
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                finished.recv_timeout(Duration::from_millis(100))
            {
                bar.set_position(progress.load(Ordering::Relaxed));
            }
        });
        let result = work();
        drop(done);
        result
    });
    bar.finish_and_clear();
    result
}

fn spinner(what: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(what.to_string());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
