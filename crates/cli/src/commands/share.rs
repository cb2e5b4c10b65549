//! `shoal share PATH`: hash a file or folder, print its magnet link as the first line of
//! stdout, and seed it until Ctrl-C. The link's `x.pe` hints are the router's public
//! address when port mapping made one (waited for up to 3 s), then this machine's own
//! addresses (loopback and LAN, for peers on the same machine or network); stderr says how
//! peers on the internet can reach us.

use super::{create_options, hash_path, open_session, run_until_interrupted};
use crate::cli::ShareArgs;
use crate::exit::Outcome;
use crate::local_addrs;
use crate::progress::{Mode, TorrentProgress};
use crate::reachability;
use anyhow::Context;
use shoal_session::AddTorrent;
use std::io::Write;
use std::sync::Arc;

pub async fn run(args: ShareArgs, mode: Mode) -> anyhow::Result<Outcome> {
    let path = std::fs::canonicalize(&args.path)
        .with_context(|| format!("cannot share {}", args.path.display()))?;
    // The torrent's data lives in the folder that holds PATH.
    let Some(parent) = path.parent() else {
        anyhow::bail!(
            "cannot share {}: pick a file or a folder below it",
            path.display()
        );
    };
    // Listen first, so that a bad --listen fails before a long hash.
    let session = open_session(&args.net).await?;
    let (torrent, meta) = hash_path(&path, create_options(args.net.trackers.clone()), mode).await?;
    if let Some(out) = &args.torrent_out {
        std::fs::write(out, &torrent).with_context(|| format!("cannot write {}", out.display()))?;
    }
    let add = AddTorrent {
        info: Some((Arc::new(meta.info.clone()), meta.info_bytes.clone())),
        peers: args.net.peers,
        seed: true,
        data_complete: true,
        trackers: meta.trackers.clone(),
        ..AddTorrent::new(meta.info_hash, parent)
    };
    let handle = session.add_torrent(add)?;

    // A mapping made by now (it started with the session, before hashing) puts the public
    // address first among the link's hints.
    let reach = reachability::settle(&session, reachability::SETTLE_LIMIT).await;
    let mut magnet = meta.magnet();
    magnet.peers = local_addrs::hints(reachability::external(&reach), session.listen_addr());
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", magnet.to_uri())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    drop(stdout);

    let mut progress = TorrentProgress::new(mode);
    progress.note(&format!(
        "sharing {} on {} (Ctrl-C to stop)",
        meta.info.name,
        session.listen_addr()
    ));
    let shown = reachability::line(&reach, session.listen_addr(), args.net.no_port_mapping);
    if let Some(line) = &shown {
        progress.note(line);
    }
    let watch = reachability::Watch::new(&session, args.net.no_port_mapping, shown);
    let result = run_until_interrupted(&handle, &mut progress, Some(watch)).await;
    progress.finish();
    session.shutdown().await;
    result.map(|()| Outcome::Done)
}
