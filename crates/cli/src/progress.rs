//! Progress on stderr: an indicatif bar on a terminal, a plain line every few seconds
//! otherwise (logs, CI), and nothing with --quiet. Plain lines start only after the first
//! interval, so a command that finishes or fails quickly prints nothing but its result.

use crate::format;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shoal_session::{PeerSource, TorrentState, TorrentStats};
use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Time between plain progress lines.
const LINE_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

impl Mode {
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix:>11} [{bar:30}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// Hashing progress for `create` and `share`; `update` may be called from any thread.
pub struct HashProgress {
    mode: Mode,
    bar: Option<ProgressBar>,
    last_line: Mutex<Instant>,
}

impl HashProgress {
    pub fn new(mode: Mode) -> HashProgress {
        let bar = (mode == Mode::Bar).then(|| {
            let bar = new_bar();
            bar.set_prefix("hashing");
            bar
        });
        HashProgress {
            mode,
            bar,
            last_line: Mutex::new(Instant::now()),
        }
    }

    pub fn update(&self, done: u64, total: u64) {
        let text = format!("{} of {}", format::bytes(done), format::bytes(total));
        match (&self.bar, self.mode) {
            (Some(bar), _) => {
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(text);
            }
            (None, Mode::Lines) => {
                let mut last = self
                    .last_line
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if last.elapsed() >= LINE_INTERVAL {
                    *last = Instant::now();
                    eprintln!("hashing: {text}");
                }
            }
            _ => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Progress of a running torrent for `get`, `seed` and `share`.
pub struct TorrentProgress {
    mode: Mode,
    bar: Option<ProgressBar>,
    last_line: Instant,
    sources: PeerSources,
}

/// Where a torrent's peers came from over its run, for the summary.
pub struct PeerSources {
    started: Instant,
    /// When the first peer connected, and where it was found.
    pub first_peer: Option<(Duration, PeerSource)>,
    /// The most peers connected at once from each source.
    pub most: Vec<(PeerSource, usize)>,
    /// Connections with an RC4-encrypted stream over the run.
    pub encrypted: u64,
}

impl PeerSources {
    fn new() -> PeerSources {
        PeerSources {
            started: Instant::now(),
            first_peer: None,
            most: Vec::new(),
            encrypted: 0,
        }
    }

    fn record(&mut self, stats: &TorrentStats) {
        self.encrypted = self.encrypted.max(stats.encrypted_connections);
        for &(source, n) in &stats.engine.peers_by_source {
            if n == 0 {
                continue;
            }
            if self.first_peer.is_none() {
                let after = self.started.elapsed();
                tracing::info!(
                    "first peer connected after {:.2} s (found by {})",
                    after.as_secs_f64(),
                    source_name(source)
                );
                self.first_peer = Some((after, source));
            }
            match self.most.iter_mut().find(|(s, _)| *s == source) {
                Some((_, most)) => *most = (*most).max(n),
                None => self.most.push((source, n)),
            }
        }
    }

    /// One line such as "peers found by tracker 2, dht 1; first peer after 0.31 s (tracker);
    /// encrypted 1". The counts by source are the most connected at once; "encrypted" counts
    /// the connections whose stream was RC4 over the run (a download can end between two
    /// snapshots and leave only that count).
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some((after, source)) = self.first_peer {
            let by: Vec<String> = self
                .most
                .iter()
                .map(|&(s, n)| format!("{} {n}", source_name(s)))
                .collect();
            parts.push(format!(
                "peers found by {}; first peer after {:.2} s ({})",
                by.join(", "),
                after.as_secs_f64(),
                source_name(source)
            ));
        }
        if !parts.is_empty() || self.encrypted > 0 {
            parts.push(format!("encrypted {}", self.encrypted));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// How a peer source is shown to users.
pub fn source_name(source: PeerSource) -> &'static str {
    match source {
        PeerSource::Hint => "hint",
        PeerSource::Tracker => "tracker",
        PeerSource::Dht => "dht",
        PeerSource::Lsd => "lsd",
        PeerSource::Pex => "pex",
        PeerSource::Incoming => "incoming",
    }
}

impl TorrentProgress {
    pub fn new(mode: Mode) -> TorrentProgress {
        TorrentProgress {
            mode,
            bar: (mode == Mode::Bar).then(new_bar),
            last_line: Instant::now(),
            sources: PeerSources::new(),
        }
    }

    /// Notes where the connected peers came from, without drawing anything (for snapshots
    /// between two progress updates).
    pub fn observe(&mut self, stats: &TorrentStats) {
        self.sources.record(stats);
    }

    /// Where peers came from so far.
    pub fn sources(&self) -> &PeerSources {
        &self.sources
    }

    /// A message line (above the bar on a terminal); nothing with --quiet.
    pub fn note(&self, message: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(message),
            (None, Mode::Lines) => eprintln!("{message}"),
            _ => {}
        }
    }

    pub fn update(&mut self, stats: &TorrentStats) {
        self.sources.record(stats);
        let Some((prefix, done, total, text)) = describe(stats) else {
            return;
        };
        match (&self.bar, self.mode) {
            (Some(bar), _) => {
                bar.set_prefix(prefix);
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(text);
            }
            (None, Mode::Lines) if self.last_line.elapsed() >= LINE_INTERVAL => {
                self.last_line = Instant::now();
                eprintln!("{prefix}: {text}");
            }
            _ => {}
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for TorrentProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Label, bar position and length, and text for a snapshot; `None` for final states.
fn describe(stats: &TorrentStats) -> Option<(&'static str, u64, u64, String)> {
    let e = &stats.engine;
    let mut peers = match e.connected_peers {
        1 => "1 peer".to_string(),
        n => format!("{n} peers"),
    };
    let by: Vec<String> = e
        .peers_by_source
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|&(s, n)| format!("{n} {}", source_name(s)))
        .collect();
    if !by.is_empty() {
        peers.push_str(&format!(" ({})", by.join(", ")));
    }
    Some(match &stats.state {
        TorrentState::Checking { checked, total } => (
            "checking",
            u64::from(*checked),
            u64::from(*total),
            format!("{checked} of {total} pieces"),
        ),
        TorrentState::FetchingMetadata => (
            "metadata",
            0,
            1,
            format!("{peers}, {} known", e.known_peers),
        ),
        TorrentState::Downloading => {
            let percent = if e.total_bytes == 0 {
                100.0
            } else {
                e.have_bytes as f64 * 100.0 / e.total_bytes as f64
            };
            let text = format!(
                "{percent:.1}% ({} of {}), {peers}, down {}, up {}",
                format::bytes(e.have_bytes),
                format::bytes(e.total_bytes),
                format::rate(stats.download_rate),
                format::rate(stats.upload_rate),
            );
            ("downloading", e.have_bytes, e.total_bytes, text)
        }
        TorrentState::Seeding => {
            let text = format!(
                "{peers}, uploaded {}, up {}",
                format::bytes(e.uploaded),
                format::rate(stats.upload_rate)
            );
            ("seeding", 1, 1, text)
        }
        TorrentState::Complete | TorrentState::Stopped | TorrentState::Failed(_) => return None,
    })
}
