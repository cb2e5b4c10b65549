//! Printing results to stdout without `println!`, which panics when the reader has gone
//! away (`shoal info x.torrent | head -1`).

use anyhow::Context;
use std::io::{self, Write};

/// Writes `text` and a newline to stdout. A closed pipe is not an error: whoever read the
/// output took what they wanted. Any other write failure is.
pub fn line(text: impl std::fmt::Display) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}
