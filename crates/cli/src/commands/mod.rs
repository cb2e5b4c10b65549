//! One file per subcommand, plus what several of them share: starting a session, hashing a
//! path into a torrent, and running a torrent until Ctrl-C.

mod create;
mod discovery;
mod get;
mod info;
mod seed;
mod share;

use crate::cli::{Cli, Command, NetArgs};
use crate::exit::Outcome;
use crate::progress::{HashProgress, Mode, TorrentProgress};
use crate::reachability;
use crate::signals;
use anyhow::{bail, Context};
use shoal_core::create::{create_torrent, CreateOptions};
use shoal_core::Metainfo;
use shoal_session::{Session, TorrentHandle, TorrentState};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often progress is redrawn.
const TICK: Duration = Duration::from_millis(500);

pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let mode = Mode::detect(cli.quiet);
    match cli.command {
        Command::Create(args) => create::run(args, mode).await,
        Command::Info(args) => info::run(args).await,
        Command::Share(args) => share::run(args, mode).await,
        Command::Seed(args) => seed::run(args, mode).await,
        Command::Get(args) => get::run(args, mode).await,
    }
}

/// Binds the listener and starts the DHT and LSD unless turned off.
async fn open_session(net: &NetArgs) -> anyhow::Result<Session> {
    let listen = net.listen;
    Session::new(discovery::session_config(net))
        .await
        .with_context(|| format!("cannot listen on {listen}"))
}

/// Hashes `path` on blocking threads (with progress) and returns the torrent bytes, parsed.
async fn hash_path(
    path: &Path,
    opts: CreateOptions,
    mode: Mode,
) -> anyhow::Result<(Vec<u8>, Metainfo)> {
    let path: PathBuf = path.to_path_buf();
    let progress = Arc::new(HashProgress::new(mode));
    let shown = progress.clone();
    let torrent = tokio::task::spawn_blocking(move || {
        create_torrent(&path, &opts, &|done, total| shown.update(done, total))
    })
    .await
    .context("hashing stopped unexpectedly")?;
    progress.finish();
    let torrent = torrent?;
    let meta = Metainfo::from_bytes(&torrent).context("created an unreadable torrent")?;
    Ok((torrent, meta))
}

/// The torrent's own tracker tiers followed by the `--tracker` ones, each its own tier.
fn tracker_tiers(mut tiers: Vec<Vec<String>>, extra: &[String]) -> Vec<Vec<String>> {
    for url in extra {
        if !tiers.iter().flatten().any(|u| u == url) {
            tiers.push(vec![url.clone()]);
        }
    }
    tiers
}

/// Says how the torrent's trackers did, for trackers that never answered or failed last;
/// with -v their failures were already logged as they happened.
fn report_trackers(handle: &TorrentHandle, progress: &TorrentProgress) {
    use shoal_session::TrackerState;
    for t in handle.trackers() {
        let line = match t.state {
            TrackerState::Working { .. } | TrackerState::NotContacted => continue,
            TrackerState::Announcing => format!("tracker {}: no answer yet", t.url),
            TrackerState::Failed(reason) => format!("tracker {} failed: {reason}", t.url),
            TrackerState::Unsupported(reason) => format!("tracker {} not used: {reason}", t.url),
        };
        progress.note(&line);
    }
}

/// Options for a new torrent, dated now.
fn create_options(trackers: Vec<String>) -> CreateOptions {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok();
    CreateOptions {
        trackers,
        creation_date: now.and_then(|d| i64::try_from(d.as_secs()).ok()),
        ..CreateOptions::default()
    }
}

/// Shows progress until Ctrl-C/SIGTERM (then returns) or until the torrent fails; with a
/// reachability watch, also says when how peers can reach us changes.
async fn run_until_interrupted(
    handle: &TorrentHandle,
    progress: &mut TorrentProgress,
    mut reach: Option<reachability::Watch>,
) -> anyhow::Result<()> {
    let interrupted = signals::interrupted();
    tokio::pin!(interrupted);
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            _ = tick.tick() => {
                let stats = handle.stats();
                match &stats.state {
                    TorrentState::Failed(e) => return Err(e.clone().into()),
                    TorrentState::Stopped | TorrentState::Complete => bail!("the torrent stopped"),
                    _ => progress.update(&stats),
                }
                if let Some(line) = reach.as_mut().and_then(reachability::Watch::changed) {
                    progress.note(&line);
                }
            }
        }
    }
}
