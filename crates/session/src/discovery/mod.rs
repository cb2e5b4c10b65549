//! Peer discovery: the tasks that find peers for a torrent without being told their
//! addresses (trackers; the DHT and local service discovery live next to this file).
//!
//! Design:
//! * Each source runs as its own task per torrent, started by [`start`] right after the
//!   torrent's driver. It talks to the driver only through a [`TorrentLink`]: found peers go
//!   in as [`DriverEvent::AddPeers`] tagged with their [`PeerSource`], and the torrent's
//!   published stats tell the task how much is left and when the torrent stops.
//! * Session-wide services (one DHT node, one LSD socket) live in [`DiscoveryServices`],
//!   held by the `Session` and shared by every torrent.
//! * A source that fails (unreachable tracker, no network) logs why and keeps retrying in the
//!   background; it never stops the torrent.
//! * On shutdown the session waits a short, bounded time for these tasks so trackers get
//!   their "stopped" announce.

pub(crate) mod dht;
pub(crate) mod lsd;
pub(crate) mod tracker;
mod tracker_http;
mod tracker_tls;
mod tracker_udp;

pub use tracker_http::HttpError;
pub use tracker_udp::UdpError;

use crate::event::DriverEvent;
use crate::handle::TorrentStats;
use bytes::Bytes;
use shoal_core::{Info, InfoHash, PeerId};
use shoal_engine::PeerSource;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle};
use tracing::{info_span, Instrument};

/// What one torrent's discovery tasks share.
// Some fields and methods serve only the sources still being written (DHT, LSD).
#[allow(dead_code)]
#[derive(Clone)]
pub(crate) struct TorrentLink {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub listen_port: u16,
    /// BEP 27: a private torrent uses only its trackers (no DHT, no LSD, no PEX). False for
    /// a magnet until its metadata arrives: see [`TorrentLink::stopped_or_private`].
    pub private: bool,
    events: mpsc::Sender<DriverEvent>,
    stats: watch::Receiver<TorrentStats>,
    metadata: watch::Receiver<Option<(Arc<Info>, Bytes)>>,
}

#[allow(dead_code)]
impl TorrentLink {
    pub(crate) fn new(
        info_hash: InfoHash,
        peer_id: PeerId,
        listen_port: u16,
        private: bool,
        events: mpsc::Sender<DriverEvent>,
        stats: watch::Receiver<TorrentStats>,
        metadata: watch::Receiver<Option<(Arc<Info>, Bytes)>>,
    ) -> TorrentLink {
        TorrentLink {
            info_hash,
            peer_id,
            listen_port,
            private,
            events,
            stats,
            metadata,
        }
    }

    /// Hands found peers to the driver; false once the torrent has stopped.
    pub(crate) async fn found(&self, source: PeerSource, peers: Vec<SocketAddr>) -> bool {
        if peers.is_empty() {
            return !self.events.is_closed();
        }
        self.events
            .send(DriverEvent::AddPeers { peers, source })
            .await
            .is_ok()
    }

    /// Current stats snapshot (for tracker `left`/`uploaded`/`downloaded`, and `completed`).
    pub(crate) fn stats(&self) -> TorrentStats {
        self.stats.borrow().clone()
    }

    /// Resolves when the torrent stops (driver gone or state finished), for "stopped" announces.
    pub(crate) async fn stopped(&mut self) {
        // An error means the driver is gone, which is a stop too.
        let _ = self.stats.wait_for(|s| s.state.is_finished()).await;
    }

    /// Resolves when the torrent stops, or once it is known to be private: at once for a
    /// private torrent, or when a magnet's metadata arrives and says so (BEP 27). The DHT
    /// and LSD tasks end there; a magnet cannot know before its metadata.
    pub(crate) async fn stopped_or_private(&mut self) {
        if self.private {
            return;
        }
        let stopped = self.stats.wait_for(|s| s.state.is_finished());
        let private = self
            .metadata
            .wait_for(|m| m.as_ref().is_some_and(|(info, _)| info.private));
        // Either way the caller is done; an error means the driver is gone, a stop too.
        tokio::select! {
            _ = stopped => {}
            result = private => if result.is_ok() {
                self.private = true;
                tracing::info!("the metadata says private (BEP 27): no DHT or LSD for it");
            },
        }
    }

    /// Resolves when the state changes (e.g. to complete, for the "completed" event); false
    /// once the driver is gone.
    pub(crate) async fn changed(&mut self) -> bool {
        self.stats.changed().await.is_ok()
    }

    /// True once the torrent no longer runs.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stats.has_changed().is_err() || self.stats.borrow().state.is_finished()
    }
}

/// Session-wide discovery services, shared by every torrent of a `Session`.
#[derive(Default)]
pub(crate) struct DiscoveryServices {
    /// The session's DHT node (`SessionConfig::dht`).
    pub dht: Option<dht::Dht>,
    /// The session's LSD sockets (`SessionConfig::lsd`).
    pub lsd: Option<lsd::Lsd>,
    /// The address families the listener takes peers of; trackers hear from us over each.
    pub families: Vec<crate::dual_stack::Family>,
}

impl DiscoveryServices {
    /// Starts the session-wide services the config asks for. Neither can fail the session:
    /// the DHT starts in the background, and LSD that cannot join a group is left off.
    pub(crate) fn start(
        config: &crate::SessionConfig,
        listen: SocketAddr,
        utp: Option<&Arc<crate::utp::UtpSocket>>,
        external: Arc<crate::external_addr::ExternalAddress>,
        seed: u64,
    ) -> DiscoveryServices {
        let listen_port = listen.port();
        let dht = config.dht.clone().and_then(|dht| {
            match dht::Dht::start(dht, listen, utp, external, seed) {
                Ok(dht) => Some(dht),
                Err(e) => {
                    tracing::warn!("DHT off: cannot open its socket: {e}");
                    None
                }
            }
        });
        let lsd = config
            .lsd
            .as_ref()
            .and_then(|lsd| match lsd::Lsd::start(lsd, listen_port) {
                Ok(lsd) => Some(lsd),
                Err(e) => {
                    tracing::warn!("local service discovery off: {e}");
                    None
                }
            });
        DiscoveryServices {
            dht,
            lsd,
            families: crate::dual_stack::families(listen),
        }
    }

    /// Saves what must outlive the session (the DHT routing table).
    pub(crate) async fn shutdown(&self) {
        if let Some(dht) = &self.dht {
            dht.shutdown().await;
        }
    }
}

/// The running discovery tasks of one torrent.
#[derive(Default)]
pub(crate) struct DiscoveryTasks {
    tasks: Vec<JoinHandle<()>>,
}

impl DiscoveryTasks {
    /// True once every task has ended.
    pub(crate) fn is_finished(&self) -> bool {
        self.tasks.iter().all(JoinHandle::is_finished)
    }

    /// Waits for every task to end (they end soon after their torrent stops).
    pub(crate) async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Handles that end the tasks at once (after the shutdown grace ran out).
    pub(crate) fn abort_handles(&self) -> Vec<AbortHandle> {
        self.tasks.iter().map(JoinHandle::abort_handle).collect()
    }
}

/// Starts the discovery tasks for one torrent, right after its driver was spawned.
pub(crate) fn start(
    services: &DiscoveryServices,
    link: TorrentLink,
    trackers: Vec<Vec<String>>,
    tracker_board: tracker::StatusBoard,
) -> DiscoveryTasks {
    let mut tasks = DiscoveryTasks::default();
    if let Some(dht) = &services.dht {
        let span = info_span!("dht", info_hash = %link.info_hash);
        let task = dht::run(dht.clone(), link.clone()).instrument(span);
        tasks.tasks.push(tokio::spawn(task));
    }
    if let Some(lsd) = &services.lsd {
        let span = info_span!("lsd", info_hash = %link.info_hash);
        let task = lsd::run(lsd.clone(), link.clone()).instrument(span);
        tasks.tasks.push(tokio::spawn(task));
    }
    let tiers: Vec<Vec<String>> = trackers
        .into_iter()
        .map(|tier| tier.into_iter().filter(|u| !u.trim().is_empty()).collect())
        .filter(|tier: &Vec<String>| !tier.is_empty())
        .collect();
    if !tiers.is_empty() {
        let span = info_span!("trackers", info_hash = %link.info_hash);
        tasks.tasks.push(tokio::spawn(
            tracker::run(link, tiers, tracker_board, services.families.clone()).instrument(span),
        ));
    }
    tasks
}

/// Longest wait in `Session::shutdown` for the discovery tasks' last announces.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A [`TorrentLink`] wired to channels a test drives in place of the torrent's driver.
#[cfg(test)]
pub(crate) mod test_link {
    use super::*;
    use crate::handle::TorrentState;

    /// The driver's ends of a test link's channels.
    pub(crate) struct FakeDriver {
        pub events: mpsc::Receiver<DriverEvent>,
        /// Held so the torrent looks running: dropping it reads as the driver gone.
        #[allow(dead_code)]
        pub stats: watch::Sender<TorrentStats>,
        pub metadata: watch::Sender<Option<(Arc<Info>, Bytes)>>,
    }

    /// A link for a magnet (no metadata yet, not known to be private).
    pub(crate) fn magnet(info_hash: InfoHash) -> (TorrentLink, FakeDriver) {
        let (events_tx, events) = mpsc::channel(16);
        let (stats, stats_rx) = watch::channel(TorrentStats {
            state: TorrentState::FetchingMetadata,
            engine: shoal_engine::Stats::default(),
            name: None,
            download_rate: 0,
            upload_rate: 0,
            encrypted_peers: 0,
            encrypted_connections: 0,
            utp_peers: 0,
            utp_connections: 0,
        });
        let (metadata, metadata_rx) = watch::channel(None);
        let link = TorrentLink::new(
            info_hash,
            PeerId([7; 20]),
            6881,
            false,
            events_tx,
            stats_rx,
            metadata_rx,
        );
        let driver = FakeDriver {
            events,
            stats,
            metadata,
        };
        (link, driver)
    }

    /// The metadata a magnet receives: a one-file info dictionary, private or not.
    pub(crate) fn metadata(private: bool) -> Option<(Arc<Info>, Bytes)> {
        let mut raw =
            b"d6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaa".to_vec();
        if private {
            raw.extend_from_slice(b"7:privatei1e");
        }
        raw.push(b'e');
        let info = Info::from_bytes(&raw).expect("a valid info dictionary");
        assert_eq!(info.private, private);
        Some((Arc::new(info), Bytes::from(raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::test_link;
    use shoal_core::InfoHash;
    use std::time::Duration;

    #[tokio::test]
    async fn a_magnet_turns_private_when_its_metadata_says_so() {
        let (mut link, driver) = test_link::magnet(InfoHash([1; 20]));
        let mut waiting = link.clone();
        let ended = tokio::spawn(async move {
            waiting.stopped_or_private().await;
            waiting.private
        });
        // Public metadata changes nothing.
        driver.metadata.send_replace(test_link::metadata(false));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!ended.is_finished(), "ended on public metadata");
        driver.metadata.send_replace(test_link::metadata(true));
        let private = tokio::time::timeout(Duration::from_secs(5), ended)
            .await
            .expect("ends within 5 s of private metadata")
            .unwrap();
        assert!(private);
        // Known private now: ends at once.
        tokio::time::timeout(Duration::from_secs(1), link.stopped_or_private())
            .await
            .expect("at once");
        drop(driver);
    }
}
