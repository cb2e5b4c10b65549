//! The torrent driver: one task per torrent that owns the engine and performs what it asks.
//!
//! Loop: take one input (channel event, engine deadline, stats tick), feed it to the engine,
//! drain the engine's actions, then sleep until the next input or deadline. Nothing else
//! holds the engine, so no lock guards its state.

mod actions;
mod check;
mod events;
mod own_addr;

use crate::config::AddTorrent;
use crate::disk::{PendingPieces, SharedStorage, VerifyQueue};
use crate::event::{BlocksSent, DriverEvent};
use crate::handle::{TorrentState, TorrentStats};
use crate::listener::Registry;
use crate::rates::RateMeter;
use crate::TorrentError;
use bytes::Bytes;
use check::CheckOutcome;
use shoal_core::{Bitfield, Info, InfoHash, PeerId};
use shoal_engine::{Config, PeerKey, PeerSource, Torrent};
use shoal_storage::FileStorage;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tracing::{debug, info, warn};

/// Messages queued for one peer's writer before the peer counts as too slow and is dropped.
const PEER_QUEUE: usize = 2048;
/// How often stats are published.
const STATS_INTERVAL: Duration = Duration::from_millis(500);

/// Session-wide settings every driver needs.
pub(crate) struct DriverContext {
    pub peer_id: PeerId,
    /// Where the session listens: peers found at this address are ourselves.
    pub listen_addr: SocketAddr,
    pub listen_port: u16,
    /// The session's connection budget: each connection's task holds one slot, from before
    /// its dial (or after its inbound handshake) until the connection ends.
    pub connections: Arc<Semaphore>,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub encryption: crate::config::Encryption,
    pub transports: crate::config::Transports,
    /// The session's uTP socket, when uTP is allowed.
    pub utp: Option<Arc<crate::utp::UtpSocket>>,
    pub check_threads: usize,
    pub registry: Registry,
    /// The session's DHT node: sets the handshake's DHT bit; its port goes to the engine,
    /// which sends it in PORT messages, and the engine's `DhtNode`s go to it.
    pub dht: Option<crate::discovery::dht::Dht>,
    /// Votes for our external address; the engine's `AddressReported`s go here.
    pub external: Arc<crate::external_addr::ExternalAddress>,
}

/// The channels a driver is started with.
pub(crate) struct DriverChannels {
    pub events_tx: mpsc::Sender<DriverEvent>,
    pub events_rx: mpsc::Receiver<DriverEvent>,
    pub sent_tx: mpsc::UnboundedSender<BlocksSent>,
    pub sent_rx: mpsc::UnboundedReceiver<BlocksSent>,
    pub stats_tx: watch::Sender<TorrentStats>,
    pub metadata_tx: watch::Sender<Option<(Arc<Info>, Bytes)>>,
}

/// The driver's view of one connection.
struct PeerLink {
    /// Dropping this closes the connection once its queue is written.
    tx: mpsc::Sender<Outgoing>,
    addr: SocketAddr,
    outbound: bool,
    /// The engine accepted the handshake.
    connected: bool,
    /// The stream is RC4-encrypted (for the stats).
    encrypted: bool,
    /// The connection runs over uTP (for the stats).
    utp: bool,
    /// Block payload bytes received on, and sent over, this connection, for the log:
    /// which peers the data came from and went to (the hole-punching tests read it).
    received: u64,
    sent: u64,
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        if self.received > 0 || self.sent > 0 {
            debug!(
                addr = %self.addr,
                received = self.received,
                sent = self.sent,
                "connection gone after moving blocks"
            );
        }
    }
}

use crate::event::Outgoing;

struct Driver {
    ctx: Arc<DriverContext>,
    info_hash: InfoHash,
    engine: Torrent,
    info: Option<Arc<Info>>,
    storage: Option<SharedStorage>,
    pending: PendingPieces,
    peers: HashMap<PeerKey, PeerLink>,
    next_key: u64,
    /// Every address we were told about or dialed (and where it came from), to re-dial after
    /// an engine restart.
    known_addrs: HashMap<SocketAddr, PeerSource>,
    download_dir: PathBuf,
    seed: bool,
    state: TorrentState,
    /// Bumped when the engine is replaced, so results meant for the old one are ignored.
    generation: u64,
    /// Limits concurrent piece hashing to the number of cores.
    hash_slots: Arc<Semaphore>,
    /// Finished pieces waiting for a hashing slot.
    to_verify: VerifyQueue,
    /// Peers dropped by the driver itself, to report to the engine after the current drain.
    closed_by_us: Vec<PeerKey>,
    /// Set when the torrent must stop; the value is its final state.
    stopping: Option<TorrentState>,
    /// A magnet's metadata arrived and files already exist: re-check before going on.
    resume_check: Option<(Arc<Info>, Bytes)>,
    waiters: Vec<oneshot::Sender<()>>,
    chans: DriverChannels,
    down: RateMeter,
    up: RateMeter,
    /// Connections whose stream was RC4-encrypted, over the torrent's run.
    encrypted_connections: u64,
    /// Connections over uTP, over the torrent's run.
    utp_connections: u64,
}

/// Runs one torrent until it stops (shutdown, failure, or completion without seeding).
pub(crate) async fn run(ctx: Arc<DriverContext>, add: AddTorrent, mut chans: DriverChannels) {
    let info_hash = add.info_hash;
    let mut peers: Vec<(SocketAddr, PeerSource)> =
        add.peers.iter().map(|&a| (a, PeerSource::Hint)).collect();
    let mut have = None;
    let mut storage: Option<SharedStorage> = None;
    let publish_state = |chans: &DriverChannels, state: TorrentState| {
        chans.stats_tx.send_modify(|s| s.state = state);
    };
    if let Some((info, _)) = &add.info {
        let opened = match FileStorage::open(&add.download_dir, info) {
            Ok(opened) => opened,
            Err(e) => {
                warn!("cannot open storage: {e}");
                publish_state(&chans, TorrentState::Failed(TorrentError::from(e)));
                ctx.registry.remove_if_same(&info_hash, &chans.events_tx);
                return;
            }
        };
        // A fresh download has nothing to check (the check would look for every piece's
        // files in turn and find none).
        let needs_check = !add.data_complete && opened.any_file_exists();
        let opened: SharedStorage = Arc::new(opened);
        storage = Some(opened.clone());
        if add.data_complete {
            have = Some(Bitfield::full(info.lengths.num_pieces()));
        } else if !needs_check {
            have = Some(Bitfield::new(info.lengths.num_pieces()));
        } else {
            let stats_tx = chans.stats_tx.clone();
            let outcome = check::check_existing(
                opened,
                info.clone(),
                ctx.check_threads,
                &mut chans.events_rx,
                &mut peers,
                |checked, total| {
                    stats_tx.send_modify(|s| s.state = TorrentState::Checking { checked, total })
                },
            )
            .await;
            match outcome {
                CheckOutcome::Done(found) => {
                    info!(
                        pieces = found.count(),
                        total = found.len(),
                        "checked existing data"
                    );
                    have = Some(found);
                }
                CheckOutcome::Stopped(done) => {
                    publish_state(&chans, TorrentState::Stopped);
                    ctx.registry.remove_if_same(&info_hash, &chans.events_tx);
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
            }
        }
    }

    let now = Instant::now();
    let config = engine_config(
        &ctx,
        info_hash,
        add.seed,
        add.info.as_ref().map(|(i, _)| &**i),
    );
    let engine = Torrent::new(now, info_hash, add.info.clone(), have, config);
    let mut driver = Driver {
        info: add.info.as_ref().map(|(i, _)| i.clone()),
        storage,
        engine,
        info_hash,
        pending: PendingPieces::default(),
        peers: HashMap::new(),
        next_key: 0,
        known_addrs: HashMap::new(),
        download_dir: add.download_dir,
        seed: add.seed,
        state: TorrentState::FetchingMetadata,
        generation: 0,
        hash_slots: Arc::new(Semaphore::new(ctx.check_threads.max(1))),
        to_verify: VerifyQueue::default(),
        closed_by_us: Vec::new(),
        stopping: None,
        resume_check: None,
        waiters: Vec::new(),
        down: RateMeter::new(now),
        up: RateMeter::new(now),
        encrypted_connections: 0,
        utp_connections: 0,
        ctx,
        chans,
    };
    driver.start(&peers);
    driver.event_loop().await;
}

/// The engine's configuration for this torrent.
fn engine_config(
    ctx: &DriverContext,
    info_hash: InfoHash,
    seed: bool,
    info: Option<&Info>,
) -> Config {
    let mut config = Config::new(ctx.peer_id);
    config.listen_port = Some(ctx.listen_port);
    // BEP 5 `PORT` messages; a private torrent never sends them (the engine sees to it).
    config.dht_port = ctx.dht.as_ref().and_then(|dht| dht.port());
    config.seed_when_complete = seed;
    config.private = info.is_some_and(|i| i.private);
    // BEP 55 dials are uTP only: without a uTP socket the torrent does not announce it.
    config.holepunch = ctx.utp.is_some();
    // Distinct tie-breaking per torrent even though the peer id is shared.
    let mut salt = [0u8; 8];
    salt.copy_from_slice(&info_hash.0[..8]);
    config.rng_seed ^= u64::from_le_bytes(salt);
    config
}

impl Driver {
    /// After the engine is built: announce the state, dial the first peers, and finish at
    /// once if the data is already complete.
    fn start(&mut self, peers: &[(SocketAddr, PeerSource)]) {
        self.state = if self.info.is_some() {
            TorrentState::Downloading
        } else {
            TorrentState::FetchingMetadata
        };
        if let Some(info) = &self.info {
            self.chans
                .metadata_tx
                .send_replace(Some((info.clone(), self.info_bytes())));
        }
        for &(addr, source) in peers {
            self.add_peers(&[addr], source);
        }
        if self.engine.is_complete() {
            self.on_completed();
        }
        self.drain();
        self.publish();
    }

    fn info_bytes(&self) -> Bytes {
        self.chans
            .metadata_tx
            .borrow()
            .as_ref()
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    }

    fn add_peers(&mut self, peers: &[SocketAddr], source: PeerSource) {
        // Trackers and others hand us our own address back; dialing it only wastes a
        // connection that the engine then refuses.
        let peers: Vec<SocketAddr> = peers
            .iter()
            .copied()
            .filter(|&a| !own_addr::is_own(a, self.ctx.listen_addr))
            .collect();
        if peers.is_empty() {
            return;
        }
        let peers = &peers[..];
        for &addr in peers {
            self.known_addrs.entry(addr).or_insert(source);
        }
        self.engine
            .handle_peers_found(Instant::now(), peers, source);
    }

    async fn event_loop(&mut self) {
        let mut stats_tick = tokio::time::interval(STATS_INTERVAL);
        loop {
            if let Some((info, bytes)) = self.resume_check.take() {
                self.restart_after_check(info, bytes).await;
            }
            if let Some(final_state) = self.stopping.take() {
                self.close(final_state);
                return;
            }
            let deadline = self
                .engine
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            // While too many finished pieces wait for hashing, peer messages stay unread.
            let take_events = !self.to_verify.is_full();
            let hash_slots = self.hash_slots.clone();
            tokio::select! {
                slot = hash_slots.acquire_owned(), if !self.to_verify.is_empty() => {
                    // The semaphore is never closed.
                    if let Ok(slot) = slot {
                        self.start_verify(slot);
                    }
                }
                // Read whatever hashing is doing: see `BlocksSent`.
                Some(sent) = self.chans.sent_rx.recv() => self.on_blocks_sent(sent),
                event = self.chans.events_rx.recv(), if take_events => match event {
                    Some(event) => self.on_event(event),
                    // Unreachable while the driver holds a sender, but stop cleanly anyway.
                    None => self.stop(None),
                },
                _ = sleep_until_some(deadline) => self.engine.handle_timeout(Instant::now()),
                _ = stats_tick.tick() => self.publish(),
            }
            self.drain();
        }
    }

    /// Applies every pending engine action, then reports peers the driver dropped itself
    /// (which may produce more actions), until the engine is quiet.
    fn drain(&mut self) {
        loop {
            while let Some(action) = self.engine.poll_action() {
                self.apply(action);
            }
            if self.closed_by_us.is_empty() {
                return;
            }
            let now = Instant::now();
            for key in std::mem::take(&mut self.closed_by_us) {
                self.engine.handle_peer_closed(now, key);
            }
        }
    }

    fn new_key(&mut self) -> PeerKey {
        self.next_key += 1;
        PeerKey(self.next_key)
    }

    /// Sends the latest snapshot to every handle.
    fn publish(&mut self) {
        let now = Instant::now();
        let engine = self.engine.stats();
        let stats = TorrentStats {
            state: self.state.clone(),
            name: self.info.as_ref().map(|i| i.name.clone()),
            download_rate: self.down.update(now, engine.downloaded),
            upload_rate: self.up.update(now, engine.uploaded),
            encrypted_peers: self
                .peers
                .values()
                .filter(|p| p.connected && p.encrypted)
                .count(),
            encrypted_connections: self.encrypted_connections,
            utp_peers: self.peers.values().filter(|p| p.connected && p.utp).count(),
            utp_connections: self.utp_connections,
            engine,
        };
        self.chans.stats_tx.send_replace(stats);
    }

    /// Asks the loop to stop after the current input; `done` fires once stopped.
    fn stop(&mut self, done: Option<oneshot::Sender<()>>) {
        self.waiters.extend(done);
        let final_state = if self.state.is_complete() {
            TorrentState::Complete
        } else {
            TorrentState::Stopped
        };
        self.stopping.get_or_insert(final_state);
    }

    fn fail(&mut self, error: TorrentError) {
        info!("torrent stopped: {error}");
        self.stopping = Some(TorrentState::Failed(error));
    }

    /// Drops every connection, publishes the final state and leaves the registry.
    fn close(&mut self, final_state: TorrentState) {
        self.engine.shutdown(Instant::now());
        while self.engine.poll_action().is_some() {}
        self.peers.clear();
        self.pending.clear();
        self.to_verify.clear();
        self.state = final_state;
        self.publish();
        self.ctx
            .registry
            .remove_if_same(&self.info_hash, &self.chans.events_tx);
        for done in self.waiters.drain(..) {
            let _ = done.send(());
        }
        debug!(state = ?self.state, "torrent stopped");
    }

    /// Replaces the engine by one that knows which pieces are already on disk (a magnet
    /// download resumed after its metadata arrived). The old engine's peers are dropped and
    /// their addresses dialed again.
    async fn restart_after_check(&mut self, info: Arc<Info>, info_bytes: Bytes) {
        let Some(storage) = self.storage.clone() else {
            return;
        };
        info!("files exist already: re-checking before resuming");
        self.engine.shutdown(Instant::now());
        while self.engine.poll_action().is_some() {}
        self.peers.clear();
        self.pending.clear();
        self.to_verify.clear();
        self.generation += 1;
        let mut peers = Vec::new();
        let stats_tx = self.chans.stats_tx.clone();
        let outcome = check::check_existing(
            storage,
            info.clone(),
            self.ctx.check_threads,
            &mut self.chans.events_rx,
            &mut peers,
            |checked, total| {
                stats_tx.send_modify(|s| s.state = TorrentState::Checking { checked, total })
            },
        )
        .await;
        let have = match outcome {
            CheckOutcome::Done(have) => have,
            CheckOutcome::Stopped(done) => return self.stop(done),
        };
        let config = engine_config(&self.ctx, self.info_hash, self.seed, Some(&info));
        let now = Instant::now();
        self.engine = Torrent::new(
            now,
            self.info_hash,
            Some((info, info_bytes)),
            Some(have),
            config,
        );
        peers.extend(self.known_addrs.iter().map(|(&a, &s)| (a, s)));
        self.start(&peers);
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
