//! `shoal create PATH`: write a v1 `.torrent` for a file or folder.

use super::{create_options, hash_path};
use crate::cli::CreateArgs;
use crate::exit::Outcome;
use crate::format;
use crate::progress::Mode;
use anyhow::Context;
use std::path::PathBuf;

pub async fn run(args: CreateArgs, mode: Mode) -> anyhow::Result<Outcome> {
    let mut opts = create_options(args.trackers);
    opts.piece_length = args.piece_length;
    opts.private = args.private;
    opts.comment = args.comment;
    let (torrent, meta) = hash_path(&args.path, opts, mode).await?;
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{}.torrent", meta.info.name)));
    std::fs::write(&output, &torrent)
        .with_context(|| format!("cannot write {}", output.display()))?;
    if mode != Mode::Quiet {
        crate::stdout::line(format_args!(
            "wrote {} (info-hash {}, {} in {} pieces of {})",
            output.display(),
            meta.info_hash,
            format::bytes(meta.info.lengths.total()),
            meta.info.lengths.num_pieces(),
            format::bytes(meta.info.piece_length.into()),
        ))?;
    }
    Ok(Outcome::Done)
}
