//! [`Session`]: the listener plus the set of running torrents.

use crate::bind;
use crate::config::{AddTorrent, SessionConfig};
use crate::discovery::{self, DiscoveryServices, DiscoveryTasks, TorrentLink};
use crate::driver::{self, DriverChannels, DriverContext};
use crate::event::DriverEvent;
use crate::external_addr::{ExternalAddress, ExternalAddresses};
use crate::handle::{TorrentHandle, TorrentState, TorrentStats};
use crate::listener::{self, Registry};
use crate::portmap::{PortMapper, Reachability};
use crate::SessionError;
use shoal_core::{PeerId, Rng};
use shoal_engine::Stats;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;
use tracing::{info, info_span, Instrument};

/// Inputs a driver may have queued before it falls behind and its peers' readers wait. Most
/// inputs are 16 KiB blocks, so this also bounds the bytes waiting here (512 KiB). The
/// driver takes them off quickly, so a deeper queue only holds more of a leecher's memory
/// at the same speed (figures in docs/performance.md, "Leecher memory against rqbit").
const DRIVER_QUEUE: usize = 32;
/// Longest wait for torrents to stop in [`Session::shutdown`].
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running BitTorrent client: one TCP listener and any number of torrents. Must be created
/// and used inside a tokio runtime.
pub struct Session {
    listen_addr: SocketAddr,
    ctx: Arc<DriverContext>,
    registry: Registry,
    listener: JoinHandle<()>,
    drivers: Mutex<Vec<JoinHandle<()>>>,
    /// Trackers, DHT and LSD: the services shared by all torrents.
    discovery: DiscoveryServices,
    /// Each torrent's discovery tasks, waited for (briefly) on shutdown.
    discovery_tasks: Mutex<Vec<DiscoveryTasks>>,
    /// The listen port's mapping on the home router.
    portmap: PortMapper,
}

impl Session {
    /// Binds the listener (`config.listen`, port 0 for any unused port; TCP and uTP on the
    /// same port number) and starts accepting.
    pub async fn new(config: SessionConfig) -> io::Result<Session> {
        let bound = bind::bind(config.listen, config.transport, entropy()).await?;
        let listen_addr = bound.addr;
        let peer_id = config
            .peer_id
            .unwrap_or_else(|| PeerId::generate(&mut Rng::new(entropy())));
        let registry = Registry::default();
        // One budget for every connection of every torrent, inbound and outbound.
        let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let accept = listener::run(
            bound.accepting,
            registry.clone(),
            config.handshake_timeout,
            config.encryption,
            config.max_pending_handshakes,
            connections.clone(),
        );
        let listener = tokio::spawn(accept.instrument(info_span!("listener", addr = %listen_addr)));
        info!(%listen_addr, transports = ?config.transport, "listening");
        let external = Arc::new(ExternalAddress::new());
        let discovery = DiscoveryServices::start(
            &config,
            listen_addr,
            bound.utp.as_ref(),
            external.clone(),
            entropy(),
        );
        let portmap = PortMapper::start(
            config.port_mapping.clone(),
            listen_addr,
            config.transport.tcp(),
            config.transport.utp(),
        );
        let ctx = Arc::new(DriverContext {
            peer_id,
            listen_addr,
            listen_port: listen_addr.port(),
            connections,
            connect_timeout: config.connect_timeout,
            handshake_timeout: config.handshake_timeout,
            encryption: config.encryption,
            transports: config.transport,
            utp: bound.utp,
            check_threads: config.check_threads.max(1),
            registry: registry.clone(),
            dht: discovery.dht.clone(),
            external,
        });
        Ok(Session {
            listen_addr,
            ctx,
            registry,
            listener,
            drivers: Mutex::default(),
            discovery,
            discovery_tasks: Mutex::default(),
            portmap,
        })
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    /// Our external addresses as peers (BEP 10 `yourip`) and port mappings agree on them;
    /// `None` until enough have said the same.
    pub fn external_addresses(&self) -> watch::Receiver<ExternalAddresses> {
        self.ctx.external.subscribe()
    }

    /// How peers on the internet can reach us: port mapping's state and the mapping in
    /// force. The receiver wakes on every change; `borrow()` reads the latest.
    pub fn reachability(&self) -> watch::Receiver<Reachability> {
        self.portmap.subscribe()
    }

    /// The peer id this session sends in handshakes and announces.
    pub fn peer_id(&self) -> PeerId {
        self.ctx.peer_id
    }

    /// Starts a torrent. With `info`, existing data under `download_dir` is re-checked first
    /// (unless `data_complete`); without it, the metadata is fetched from peers.
    pub fn add_torrent(&self, add: AddTorrent) -> Result<TorrentHandle, SessionError> {
        if self.listener.is_finished() {
            return Err(SessionError::ShutDown);
        }
        let info_hash = add.info_hash;
        let (events_tx, events_rx) = mpsc::channel(DRIVER_QUEUE);
        if !self.registry.insert(info_hash, events_tx.clone()) {
            return Err(SessionError::Duplicate(info_hash));
        }
        let (stats_tx, stats_rx) = watch::channel(initial_stats(&add));
        let (metadata_tx, metadata_rx) = watch::channel(add.info.clone());
        let (trackers_tx, trackers_rx) = watch::channel(Vec::new());
        let handle = TorrentHandle {
            info_hash,
            stats: stats_rx,
            metadata: metadata_rx,
            trackers: trackers_rx,
            events: events_tx.clone(),
        };
        let (sent_tx, sent_rx) = mpsc::unbounded_channel();
        let chans = DriverChannels {
            events_tx,
            events_rx,
            sent_tx,
            sent_rx,
            stats_tx,
            metadata_tx,
        };
        let link = TorrentLink::new(
            info_hash,
            self.ctx.peer_id,
            self.ctx.listen_port,
            add.info.as_ref().is_some_and(|(info, _)| info.private),
            handle.events.clone(),
            handle.stats.clone(),
            handle.metadata.clone(),
        );
        let trackers = add.trackers.clone();
        let span = info_span!("torrent", %info_hash);
        let task = tokio::spawn(driver::run(self.ctx.clone(), add, chans).instrument(span));
        let mut drivers = self.drivers.lock().unwrap_or_else(PoisonError::into_inner);
        drivers.retain(|d| !d.is_finished());
        drivers.push(task);
        drop(drivers);
        let found = discovery::start(&self.discovery, link, trackers, trackers_tx);
        let mut tasks = self
            .discovery_tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(found);
        Ok(handle)
    }

    /// Stops accepting, stops every torrent (closing its connections) and waits for them,
    /// at most a few seconds; then deletes the port mappings (a few seconds more at most).
    pub async fn shutdown(mut self) {
        self.listener.abort();
        let mut stopped = Vec::new();
        for driver in self.registry.all() {
            let (done, rx) = oneshot::channel();
            match driver.try_send(DriverEvent::Shutdown { done: Some(done) }) {
                Ok(()) => stopped.push(rx),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
                // Its queue is full: it reads none while hashing is behind, and not at all
                // if a write hangs. Deliver from a task of its own, so that the grace below
                // bounds the wait and the other torrents still hear of the shutdown.
                Err(mpsc::error::TrySendError::Full(shutdown)) => {
                    tokio::spawn(async move {
                        let _ = driver.send(shutdown).await;
                    });
                    stopped.push(rx);
                }
            }
        }
        let drivers =
            std::mem::take(&mut *self.drivers.lock().unwrap_or_else(PoisonError::into_inner));
        let all_stopped = async {
            for rx in stopped {
                let _ = rx.await;
            }
            for driver in drivers {
                let _ = driver.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, all_stopped)
            .await
            .is_err()
        {
            tracing::warn!("some torrents did not stop in time");
        }
        // The torrents have stopped, so their discovery tasks are sending their last
        // announces ("stopped" to trackers); give them a little time, then cut them off.
        let tasks = std::mem::take(
            &mut *self
                .discovery_tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let aborts: Vec<_> = tasks.iter().map(DiscoveryTasks::abort_handles).collect();
        let all_joined = async {
            for t in tasks {
                t.join().await;
            }
        };
        if tokio::time::timeout(discovery::SHUTDOWN_GRACE, all_joined)
            .await
            .is_err()
        {
            tracing::warn!("some trackers did not answer the last announce in time");
            for handles in aborts.iter().flatten() {
                handles.abort();
            }
        }
        self.discovery.shutdown().await;
        self.portmap.shutdown().await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn initial_stats(add: &AddTorrent) -> TorrentStats {
    let mut engine = Stats::default();
    let state = match &add.info {
        Some((info, _)) => {
            engine.has_metadata = true;
            engine.total_bytes = info.lengths.total();
            engine.total_pieces = info.lengths.num_pieces();
            TorrentState::Checking {
                checked: 0,
                total: info.lengths.num_pieces(),
            }
        }
        None => TorrentState::FetchingMetadata,
    };
    TorrentStats {
        state,
        engine,
        name: add.info.as_ref().map(|(i, _)| i.name.clone()),
        download_rate: 0,
        upload_rate: 0,
        encrypted_peers: 0,
        encrypted_connections: 0,
        utp_peers: 0,
        utp_connections: 0,
    }
}

/// Seed for the peer id: the clock and the process id, so two sessions in one process or
/// two processes started together still differ.
fn entropy() -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    nanos ^ (u64::from(std::process::id()) << 32) ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
