//! Spilling: sorts and hash joins that outgrow their memory budget (`work_mem`, 64 MiB by
//! default, PostgreSQL's setting by name) go on in temporary files and still finish.
//!
//! * A sort fills memory, sorts it and writes it out as a sorted run, again and again; the
//!   runs are then merged, each read a row at a time, ties taken from the earlier run so
//!   that the sort stays stable.
//! * A hash join whose build side outgrows the budget becomes a Grace hash join: both sides
//!   are written out in partitions by the hash of their key, and each pair of partitions is
//!   joined in memory in turn.
//!
//! Temporary files live in the `tmp` directory of the database's directory, anonymous (the
//! operating system removes them when they close, crash included). A row is written as its
//! [`crate::row`] encoding after its length (u32, little-endian).

use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result, SqlState};
use crate::exec::Row;
use crate::row;
use crate::value::Value;

/// The default memory budget of an operator.
pub const DEFAULT_WORK_MEM: usize = 64 << 20;

/// About how much memory a row takes.
pub fn row_size(row: &[Value]) -> usize {
    24 + row
        .iter()
        .map(|v| match v {
            Value::Text(s) => 32 + s.len(),
            Value::Numeric(_) => 64,
            _ => 16,
        })
        .sum::<usize>()
}

fn io(e: std::io::Error) -> Error {
    Error::new(
        SqlState::IO_ERROR,
        format!("could not write or read a temporary file: {e}"),
    )
}

/// A temporary file of rows, written then read once from its start.
pub struct SpillFile {
    writer: BufWriter<File>,
    rows: usize,
}

impl SpillFile {
    /// A new, empty file in `dir`.
    pub fn new(dir: &Path) -> Result<SpillFile> {
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = tempfile::tempfile_in(dir).map_err(io)?;
        Ok(SpillFile {
            writer: BufWriter::new(file),
            rows: 0,
        })
    }

    pub fn push(&mut self, row: &[Value]) -> Result<()> {
        let mut bytes = Vec::new();
        row::encode(row, &mut bytes);
        self.writer
            .write_all(&(bytes.len() as u32).to_le_bytes())
            .and_then(|()| self.writer.write_all(&bytes))
            .map_err(io)?;
        self.rows += 1;
        Ok(())
    }

    /// The rows written, in order.
    pub fn read(self) -> Result<SpillReader> {
        let mut file = self.writer.into_inner().map_err(|e| io(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(SpillReader {
            reader: BufReader::new(file),
            left: self.rows,
        })
    }
}

/// The rows of a [`SpillFile`], read back.
pub struct SpillReader {
    reader: BufReader<File>,
    left: usize,
}

impl Iterator for SpillReader {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut read = || -> Result<Row> {
            let mut len = [0u8; 4];
            self.reader.read_exact(&mut len).map_err(io)?;
            let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
            self.reader.read_exact(&mut bytes).map_err(io)?;
            row::decode(&bytes)
        };
        Some(read())
    }
}

/// A row comparison (the sort's keys, stable).
pub type Order<'a> = Box<dyn Fn(&Row, &Row) -> Result<Ordering> + 'a>;

/// Sorts `rows` by `order` within `budget` bytes of memory, spilling sorted runs to `dir`
/// and merging them when they do not fit. Calls `spilled` once per run written.
pub fn sort<'a>(
    rows: impl Iterator<Item = Result<Row>>,
    order: Order<'a>,
    budget: usize,
    dir: &Path,
    spilled: &mut dyn FnMut(),
) -> Result<Box<dyn Iterator<Item = Result<Row>> + 'a>> {
    let mut buffer: Vec<Row> = Vec::new();
    let mut size = 0;
    let mut runs: Vec<SpillFile> = Vec::new();
    let sort_buffer = |buffer: &mut Vec<Row>| -> Result<()> {
        let mut failure = None;
        buffer.sort_by(|a, b| {
            order(a, b).unwrap_or_else(|e| {
                failure.get_or_insert(e);
                Ordering::Equal
            })
        });
        failure.map_or(Ok(()), Err)
    };
    for row in rows {
        let row = row?;
        size += row_size(&row);
        buffer.push(row);
        if size > budget {
            sort_buffer(&mut buffer)?;
            let mut run = SpillFile::new(dir)?;
            for row in buffer.drain(..) {
                run.push(&row)?;
            }
            runs.push(run);
            spilled();
            size = 0;
        }
    }
    sort_buffer(&mut buffer)?;
    if runs.is_empty() {
        return Ok(Box::new(buffer.into_iter().map(Ok)));
    }
    // The runs, read back a row at a time; the last rows stay in memory as the last run.
    let mut readers: Vec<Box<dyn Iterator<Item = Result<Row>>>> = Vec::new();
    for run in runs {
        readers.push(Box::new(run.read()?));
    }
    readers.push(Box::new(buffer.into_iter().map(Ok)));
    let mut heads: Vec<Option<Row>> = Vec::with_capacity(readers.len());
    for reader in readers.iter_mut() {
        heads.push(reader.next().transpose()?);
    }
    Ok(Box::new(Merge {
        readers,
        heads,
        order,
    }))
}

/// A k-way merge of sorted runs.
struct Merge<'a> {
    readers: Vec<Box<dyn Iterator<Item = Result<Row>>>>,
    heads: Vec<Option<Row>>,
    order: Order<'a>,
}

impl Iterator for Merge<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let mut best: Option<usize> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let Some(row) = head else { continue };
            best = match best {
                None => Some(i),
                Some(b) => {
                    let current = self.heads[b].as_ref().expect("a head");
                    // Ties go to the earlier run: the sort stays stable.
                    match (self.order)(row, current) {
                        Ok(Ordering::Less) => Some(i),
                        Ok(_) => Some(b),
                        Err(e) => return Some(Err(e)),
                    }
                }
            };
        }
        let b = best?;
        let row = self.heads[b].take().expect("the best head");
        match self.readers[b].next().transpose() {
            Ok(next) => self.heads[b] = next,
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(row))
    }
}
