//! [`TorrentHandle`]: the caller's view of one torrent running in a session.

use crate::discovery::tracker::{TrackerState, TrackerStatus};
use crate::event::DriverEvent;
use crate::TorrentError;
use bytes::Bytes;
use shoal_core::{Info, InfoHash};
use shoal_engine::{PeerSource, Stats};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Where a torrent is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorrentState {
    /// Hashing data already on disk: `checked` of `total` pieces done.
    Checking {
        /// Pieces hashed so far.
        checked: u32,
        /// Pieces in the torrent.
        total: u32,
    },
    /// A magnet download waiting for the info dictionary from peers.
    FetchingMetadata,
    /// Fetching pieces from peers (and serving the ones it has).
    Downloading,
    /// Complete, flushed to disk, and uploading to others.
    Seeding,
    /// Complete and flushed; the torrent stopped because it was not asked to seed.
    Complete,
    /// Stopped (by the caller or a session shutdown) before it completed.
    Stopped,
    /// Stopped by an error, typically from the disk (full disk, permissions).
    Failed(TorrentError),
}

impl TorrentState {
    /// True once the data is complete and durable on disk.
    pub fn is_complete(&self) -> bool {
        matches!(self, TorrentState::Seeding | TorrentState::Complete)
    }

    /// True when the torrent no longer runs.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            TorrentState::Complete | TorrentState::Stopped | TorrentState::Failed(_)
        )
    }
}

/// A snapshot for progress display, published about twice a second.
#[derive(Debug, Clone)]
pub struct TorrentStats {
    /// Where the torrent is in its life.
    pub state: TorrentState,
    /// The engine's counters (pieces, bytes, peers).
    pub engine: Stats,
    /// Torrent name once the metadata is known.
    pub name: Option<String>,
    /// Smoothed payload bytes per second.
    pub download_rate: u64,
    /// Smoothed payload bytes per second sent to peers.
    pub upload_rate: u64,
    /// Connected peers whose stream is RC4-encrypted (Message Stream Encryption).
    pub encrypted_peers: usize,
    /// Connections with an RC4-encrypted stream since the torrent started, ended or not
    /// (a download can finish between two snapshots).
    pub encrypted_connections: u64,
}

/// A handle on a torrent added to a [`crate::Session`]. Cheap to clone; dropping it does not
/// stop the torrent.
#[derive(Clone)]
pub struct TorrentHandle {
    pub(crate) info_hash: InfoHash,
    pub(crate) stats: watch::Receiver<TorrentStats>,
    pub(crate) metadata: watch::Receiver<Option<(Arc<Info>, Bytes)>>,
    pub(crate) trackers: watch::Receiver<Vec<TrackerStatus>>,
    pub(crate) events: mpsc::Sender<DriverEvent>,
}

impl TorrentHandle {
    /// The torrent this handle controls.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The latest snapshot.
    pub fn stats(&self) -> TorrentStats {
        self.stats.borrow().clone()
    }

    /// A receiver that wakes on each new snapshot (for progress displays).
    pub fn subscribe(&self) -> watch::Receiver<TorrentStats> {
        self.stats.clone()
    }

    /// Resolves once every piece is verified and flushed to disk. Fails if the torrent
    /// stopped first, with the disk error when there was one.
    pub async fn wait_complete(&self) -> Result<(), TorrentError> {
        let mut rx = self.stats.clone();
        let waited = rx
            .wait_for(|s| s.state.is_complete() || s.state.is_finished())
            .await
            .map(|stats| stats.state.clone());
        // On error the driver is gone; its last snapshot says how it ended.
        let state = waited.unwrap_or_else(|_| rx.borrow().state.clone());
        match state {
            s if s.is_complete() => Ok(()),
            TorrentState::Failed(e) => Err(e),
            _ => Err(TorrentError::Stopped),
        }
    }

    /// The info dictionary and its exact bytes: at once for a torrent added with them,
    /// otherwise once fetched from peers. Fails if the torrent stops first.
    pub async fn metadata(&self) -> Result<(Arc<Info>, Bytes), TorrentError> {
        let mut rx = self.metadata.clone();
        let waited = rx.wait_for(Option::is_some).await.map(|meta| meta.clone());
        if let Some(meta) = waited.ok().flatten().or_else(|| rx.borrow().clone()) {
            return Ok(meta);
        }
        match self.stats.borrow().state.clone() {
            TorrentState::Failed(e) => Err(e),
            _ => Err(TorrentError::Stopped),
        }
    }

    /// Each tracker of the torrent and how it is doing (empty without trackers).
    pub fn trackers(&self) -> Vec<TrackerStatus> {
        self.trackers.borrow().clone()
    }

    /// Waits, at most `limit`, until some tracker has been asked and none is waiting for an
    /// answer, or the torrent's tracker task has ended, so that a summary printed at exit says
    /// how each tracker did. Meant for torrents with trackers: without any it waits `limit`.
    pub async fn trackers_settled(&self, limit: Duration) {
        let mut board = self.trackers.clone();
        let settled = |statuses: &Vec<TrackerStatus>| {
            statuses.iter().all(|s| s.state != TrackerState::Announcing)
                && statuses
                    .iter()
                    .any(|s| s.state != TrackerState::NotContacted)
        };
        // An error means the tracker task ended: its last word is on the board already.
        let _ = tokio::time::timeout(limit, board.wait_for(settled)).await;
    }

    /// Dials these peers too (duplicates and known peers are ignored by the engine).
    pub async fn add_peers(&self, peers: Vec<SocketAddr>) {
        // A send error means the torrent already stopped: nothing to dial for.
        let add = DriverEvent::AddPeers {
            peers,
            source: PeerSource::Hint,
        };
        let _ = self.events.send(add).await;
    }

    /// Stops the torrent (closing its connections) and waits until it has stopped.
    pub async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self
            .events
            .send(DriverEvent::Shutdown { done: Some(done) })
            .await
            .is_ok()
        {
            let _ = stopped.await;
        }
    }
}
