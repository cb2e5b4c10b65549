//! `shoal get SOURCE`: download a `.torrent`, magnet link or info-hash into a folder, exit
//! once complete and flushed (or keep seeding with --seed). Re-running after an interruption
//! re-checks what is on disk and fetches only the rest.

use super::{open_session, run_until_interrupted, TICK};
use crate::cli::GetArgs;
use crate::exit::{Failure, Outcome};
use crate::progress::{Mode, TorrentProgress};
use crate::signals;
use crate::source::Source;
use anyhow::Context;
use shoal_session::{AddTorrent, TorrentHandle, TorrentState, TorrentStats};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a finished download waits for trackers still on their first answer, so the
/// exit summary reports them truly (a TLS failure, say) rather than "no answer yet".
const TRACKER_GRACE: Duration = Duration::from_secs(3);

pub async fn run(args: GetArgs, mode: Mode) -> anyhow::Result<Outcome> {
    let source = Source::parse(&args.source)?;
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut peers = args.net.peers.clone();
    let (info, trackers) = match &source {
        Source::Torrent(meta) => (
            Some((Arc::new(meta.info.clone()), meta.info_bytes.clone())),
            meta.trackers.clone(),
        ),
        Source::Magnet(magnet) => {
            peers.extend(magnet.peers.iter().copied());
            // A magnet's `tr` parameters carry no tiers: each is tried in turn.
            (
                None,
                magnet.trackers.iter().map(|t| vec![t.clone()]).collect(),
            )
        }
        Source::InfoHash(_) => (None, Vec::new()),
    };
    let trackers = super::tracker_tiers(trackers, &args.net.trackers);
    let has_trackers = !trackers.is_empty();
    let session = open_session(&args.net).await?;
    let no_peers = peers.is_empty() && trackers.is_empty() && args.net.no_dht && args.net.no_lsd;
    let add = AddTorrent {
        info,
        peers,
        trackers,
        seed: args.seed,
        ..AddTorrent::new(source.info_hash(), &args.output)
    };
    let handle = session.add_torrent(add)?;
    let mut progress = TorrentProgress::new(mode);
    if no_peers && !handle.stats().state.is_complete() {
        // With no hint, tracker, DHT or LSD, a bare link can only be served by peers that
        // dial us; say so rather than wait in silence.
        progress.note(&format!(
            "no peer addresses to try: pass --peer ADDR:PORT, --tracker URL, or a magnet link \
             with x.pe hints; waiting for peers to connect to {}",
            session.listen_addr()
        ));
    }

    let timeout = args.timeout.map(Duration::from_secs);
    let mut result = download(&handle, &mut progress, timeout).await;
    // The last snapshot may have lost the race with completion in `download`'s select.
    progress.observe(&handle.stats());
    if let Some(summary) = progress.sources().summary() {
        progress.note(&summary);
    }
    if has_trackers && matches!(result, Ok(Outcome::Done)) {
        // A download can finish before a tracker's first answer (a fast peer hint); give
        // the trackers a moment so the summary says how each one did.
        handle.trackers_settled(TRACKER_GRACE).await;
    }
    super::report_trackers(&handle, &progress);
    if let Ok(Outcome::Done) = result {
        let stats = handle.stats();
        if mode != Mode::Quiet {
            let name = stats.name.unwrap_or_default();
            crate::stdout::line(args.output.join(name).display())?;
        }
        if args.seed {
            progress.note(&format!(
                "complete; seeding on {} (Ctrl-C to stop)",
                session.listen_addr()
            ));
            result = run_until_interrupted(&handle, &mut progress, None)
                .await
                .map(|()| Outcome::Done);
        }
    }
    progress.finish();
    session.shutdown().await;
    result
}

/// Waits for completion with progress; fails with exit code 3 after `timeout` without
/// progress, and returns `Interrupted` on Ctrl-C.
async fn download(
    handle: &TorrentHandle,
    progress: &mut TorrentProgress,
    timeout: Option<Duration>,
) -> anyhow::Result<Outcome> {
    let interrupted = signals::interrupted();
    tokio::pin!(interrupted);
    let complete = handle.wait_complete();
    tokio::pin!(complete);
    let mut stall = StallWatch::default();
    let mut tick = tokio::time::interval(TICK);
    // Every snapshot, so that the summary sees the peers of a download shorter than a tick.
    let mut snapshots = handle.subscribe();
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(Outcome::Interrupted),
            Ok(()) = snapshots.changed() => {
                let stats = snapshots.borrow_and_update().clone();
                progress.observe(&stats);
            }
            done = &mut complete => {
                done?;
                return Ok(Outcome::Done);
            }
            _ = tick.tick() => {
                let stats = handle.stats();
                progress.update(&stats);
                let idle = stall.idle_for(&stats);
                if let Some(limit) = timeout.filter(|limit| idle >= *limit) {
                    let e = &stats.engine;
                    return Err(Failure::incomplete(format!(
                        "no download progress for {} s ({} peers connected, {} known); giving up",
                        limit.as_secs(),
                        e.connected_peers,
                        e.known_peers
                    ))
                    .into());
                }
            }
        }
    }
}

/// Measures how long a download has made no progress (no payload, no verified piece, no
/// metadata, no re-check step).
#[derive(Default)]
struct StallWatch {
    last: Option<(u64, u32, bool, Option<u32>)>,
    since: Option<Instant>,
}

impl StallWatch {
    fn idle_for(&mut self, stats: &TorrentStats) -> Duration {
        let checking = match stats.state {
            TorrentState::Checking { checked, .. } => Some(checked),
            _ => None,
        };
        let e = &stats.engine;
        let now = (e.downloaded, e.have_pieces, e.has_metadata, checking);
        if self.last != Some(now) || checking.is_some() {
            self.last = Some(now);
            self.since = Some(Instant::now());
        }
        self.since.map_or(Duration::ZERO, |t| t.elapsed())
    }
}
