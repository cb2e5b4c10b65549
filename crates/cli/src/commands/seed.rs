//! `shoal seed TORRENT --data DIR`: check the data already in DIR and seed it until Ctrl-C.

use super::{open_session, run_until_interrupted, TICK};
use crate::cli::SeedArgs;
use crate::exit::Outcome;
use crate::progress::{Mode, TorrentProgress};
use crate::signals;
use crate::source::read_torrent;
use anyhow::bail;
use shoal_session::{AddTorrent, TorrentHandle, TorrentState};
use std::sync::Arc;

pub async fn run(args: SeedArgs, mode: Mode) -> anyhow::Result<Outcome> {
    let meta = read_torrent(&args.torrent)?;
    if !args.data.is_dir() {
        bail!("{} is not a folder", args.data.display());
    }
    let session = open_session(&args.net).await?;
    let add = AddTorrent {
        info: Some((Arc::new(meta.info.clone()), meta.info_bytes.clone())),
        peers: args.net.peers,
        seed: true,
        trackers: super::tracker_tiers(meta.trackers.clone(), &args.net.trackers),
        ..AddTorrent::new(meta.info_hash, &args.data)
    };
    let handle = session.add_torrent(add)?;
    let mut progress = TorrentProgress::new(mode);

    let result = match wait_checked(&handle, &mut progress).await {
        Ok(false) => Ok(Outcome::Done),
        Ok(true) => {
            let stats = handle.stats().engine;
            let (have, total) = (stats.have_pieces, stats.total_pieces);
            if have == 0 && total > 0 {
                Err(anyhow::anyhow!(
                    "no data of {} found in {} (it should hold {})",
                    meta.info.name,
                    args.data.display(),
                    meta.info.name
                ))
            } else {
                if have < total {
                    progress.note(&format!(
                        "warning: only {have} of {total} pieces found in {}; seeding those and fetching the rest from peers",
                        args.data.display()
                    ));
                }
                progress.note(&format!(
                    "seeding {} on {} (Ctrl-C to stop)",
                    meta.info.name,
                    session.listen_addr()
                ));
                let reach =
                    crate::reachability::settle(&session, crate::reachability::SETTLE_LIMIT).await;
                let listen = session.listen_addr();
                let off = args.net.no_port_mapping;
                let shown = crate::reachability::line(&reach, listen, off);
                if let Some(line) = &shown {
                    progress.note(line);
                }
                let watch = crate::reachability::Watch::new(&session, off, shown);
                run_until_interrupted(&handle, &mut progress, Some(watch))
                    .await
                    .map(|()| Outcome::Done)
            }
        }
        Err(e) => Err(e),
    };
    progress.finish();
    session.shutdown().await;
    result
}

/// Shows the check's progress until it is over. `Ok(false)` when interrupted first.
async fn wait_checked(
    handle: &TorrentHandle,
    progress: &mut TorrentProgress,
) -> anyhow::Result<bool> {
    let interrupted = signals::interrupted();
    tokio::pin!(interrupted);
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(false),
            _ = tick.tick() => {
                let stats = handle.stats();
                match &stats.state {
                    TorrentState::Checking { .. } => progress.update(&stats),
                    TorrentState::Failed(e) => return Err(e.clone().into()),
                    _ => return Ok(true),
                }
            }
        }
    }
}
