//! What the CLI commands print: aligned tables, and writes to standard output that end
//! quietly when the reader goes away (`cairn … | head`).

use std::io::Write;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table as Grid};

/// A table for people, with `header` (none when empty).
pub fn grid(header: &[&str]) -> Grid {
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED);
    if !header.is_empty() {
        grid.set_header(header);
    }
    grid
}

/// Writes `text` to standard output; a closed pipe is not an error worth reporting.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
