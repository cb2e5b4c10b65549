//! The Mainline DHT (BEP 5) through the `mainline` crate: one node per session, and one task
//! per torrent that looks up peers for its info-hash and announces our listen port.
//!
//! * The node is built in the background (resolving the bootstrap routers' names may take a
//!   while, or fail, without a network), so neither the session nor a torrent waits for it.
//!   Without a network every lookup simply finds nothing; other sources keep working.
//! * Lookups repeat every [`LOOKUP_INTERVAL`], or sooner (1 s, doubling up to a minute) while
//!   the torrent has no connected peer: a getter started just before its sharer's first
//!   announce lands finds it a second later rather than five. Every round also announces
//!   (seeding or not: a downloader is a peer too), right after its lookup, reusing the
//!   tokens the lookup collected. Our own announce, when a lookup returns it, is dropped.
//! * The routing table's good nodes are saved to the state file every [`SAVE_INTERVAL`] and
//!   at shutdown, and used as extra bootstrap nodes next time, so a restart does not depend
//!   on the public routers.
//! * BEP 5's PORT message: peers that send one are remembered as DHT nodes. `mainline` has no
//!   call to insert a node into a running routing table, so they are saved with the table
//!   and bootstrap the next run.
//! * Private torrents (BEP 27) never use the DHT. `mainline` is IPv4 only (no BEP 32).

use super::TorrentLink;
use futures_lite::StreamExt;
use mainline::async_dht::AsyncDht;
use mainline::Id;
use shoal_discovery::dht_state;
use shoal_engine::PeerSource;
use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::{debug, info, info_span, warn, Instrument};

/// The usual public routers, used when no bootstrap node is configured.
pub const DEFAULT_BOOTSTRAP: &[&str] = &[
    "router.bittorrent.com:6881",
    "dht.transmissionbt.com:6881",
    "router.utorrent.com:6881",
];
/// Lookup period while the torrent has peers.
const LOOKUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Lookup period while the torrent has no connected peer: the first wait, doubled after
/// each fruitless lookup up to the second.
const LOOKUP_INTERVAL_STARVED_FIRST: Duration = Duration::from_secs(1);
const LOOKUP_INTERVAL_STARVED: Duration = Duration::from_secs(60);
/// Longest a single lookup or announce may take before it is given up.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the routing table is written to the state file.
const SAVE_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Saved nodes used to bootstrap: `mainline` queries every bootstrap node while its table
/// has fewer close nodes than that, so the list stays below a bucket's size (20).
const MAX_SAVED_BOOTSTRAP: usize = 16;
/// Nodes learned from PORT messages kept in memory.
const MAX_LEARNED_NODES: usize = 64;

/// How the session's DHT node starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtConfig {
    /// Bootstrap nodes as `host:port`. [`DhtConfig::new`] fills in [`DEFAULT_BOOTSTRAP`].
    pub bootstrap: Vec<String>,
    /// UDP port of the node; 0 picks a free one. A taken port falls back to a free one.
    pub port: u16,
    /// Where the routing table is saved and read back (none: not saved).
    pub state_file: Option<PathBuf>,
    /// IPv4 address the node's socket binds (none: every interface). Set to the peer
    /// listener's address when that is a specific one, so `--listen 127.0.0.1:0` keeps the
    /// DHT on loopback too.
    pub bind_address: Option<Ipv4Addr>,
}

impl DhtConfig {
    /// The public routers, UDP port 6881 (or any free one), no state file.
    pub fn new() -> DhtConfig {
        DhtConfig {
            bootstrap: DEFAULT_BOOTSTRAP.iter().map(|s| s.to_string()).collect(),
            port: 6881,
            state_file: None,
            bind_address: None,
        }
    }
}

impl Default for DhtConfig {
    fn default() -> DhtConfig {
        DhtConfig::new()
    }
}

/// The session's DHT node. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Dht {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` until the node is built; stays `None` if it could not be.
    node: watch::Receiver<NodeState>,
    state_file: Option<PathBuf>,
    /// DHT nodes of peers that sent a PORT message, newest last.
    learned: Mutex<VecDeque<SocketAddrV4>>,
    /// Ends the periodic saver.
    saver: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Clone)]
enum NodeState {
    Starting,
    Running(AsyncDht, u16),
    Failed,
}

impl Dht {
    /// Starts building the node in the background and returns at once.
    pub(crate) fn start(config: DhtConfig) -> Dht {
        let (tx, rx) = watch::channel(NodeState::Starting);
        let shared = Arc::new(Shared {
            node: rx,
            state_file: config.state_file.clone(),
            learned: Mutex::default(),
            saver: Mutex::default(),
        });
        let build = tokio::task::spawn_blocking(move || build_node(&config));
        let saver_shared = Arc::downgrade(&shared);
        let saver = tokio::spawn(
            async move {
                let state = match build.await {
                    Ok(Ok((node, port))) => {
                        info!(udp_port = port, "DHT node started");
                        NodeState::Running(node.as_async(), port)
                    }
                    Ok(Err(e)) => {
                        warn!("DHT off: cannot start the node: {e}");
                        NodeState::Failed
                    }
                    Err(e) => {
                        warn!("DHT off: the node's start-up failed: {e}");
                        NodeState::Failed
                    }
                };
                let running = matches!(state, NodeState::Running(..));
                let _ = tx.send(state);
                if !running {
                    return;
                }
                let mut tick = tokio::time::interval(SAVE_INTERVAL);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(shared) = saver_shared.upgrade() else {
                        return;
                    };
                    shared.save().await;
                }
            }
            .instrument(info_span!("dht")),
        );
        *shared.saver.lock().unwrap_or_else(PoisonError::into_inner) = Some(saver);
        Dht { shared }
    }

    /// The node once it runs, with its UDP port; `None` if it could not start.
    async fn node(&self) -> Option<(AsyncDht, u16)> {
        let mut rx = self.shared.node.clone();
        let state = rx
            .wait_for(|s| !matches!(s, NodeState::Starting))
            .await
            .map(|s| s.clone())
            .unwrap_or(NodeState::Failed);
        match state {
            NodeState::Running(node, port) => Some((node, port)),
            _ => None,
        }
    }

    /// The node's UDP port for our PORT messages, once it runs.
    pub(crate) fn port(&self) -> Option<u16> {
        match &*self.shared.node.borrow() {
            NodeState::Running(_, port) => Some(*port),
            _ => None,
        }
    }

    /// A peer told us its DHT node (BEP 5 PORT message). Only IPv4 nodes are kept.
    pub(crate) fn add_node(&self, addr: SocketAddr) {
        let SocketAddr::V4(addr) = addr else { return };
        if addr.port() == 0 {
            return;
        }
        let mut learned = self
            .shared
            .learned
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if learned.contains(&addr) {
            return;
        }
        if learned.len() == MAX_LEARNED_NODES {
            learned.pop_front();
        }
        debug!(node = %addr, "DHT node learned from a PORT message");
        learned.push_back(addr);
    }

    /// Saves the routing table one last time and stops the periodic saves.
    pub(crate) async fn shutdown(&self) {
        if let Some(saver) = self
            .shared
            .saver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            saver.abort();
        }
        self.shared.save().await;
    }
}

impl Shared {
    /// Writes the good nodes of the routing table (and those learned from peers) to the
    /// state file. Failures are logged: a lost state file only costs a slower bootstrap.
    async fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let NodeState::Running(node, _) = self.node.borrow().clone() else {
            return;
        };
        let table = tokio::time::timeout(Duration::from_secs(2), node.to_bootstrap()).await;
        let mut nodes: Vec<String> = table.unwrap_or_default();
        let learned = self
            .learned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        nodes.extend(learned.iter().map(|a| a.to_string()));
        nodes.dedup();
        nodes.truncate(dht_state::MAX_NODES);
        if nodes.is_empty() {
            // Keep what an earlier run saved rather than overwrite it with nothing.
            return;
        }
        let path = path.clone();
        let count = nodes.len();
        let written = tokio::task::spawn_blocking(move || write_state(&path, &nodes)).await;
        match written {
            Ok(Ok(())) => debug!(nodes = count, "DHT routing table saved"),
            Ok(Err(e)) => warn!("cannot save the DHT routing table: {e}"),
            Err(e) => warn!("cannot save the DHT routing table: {e}"),
        }
    }
}

/// Builds the node (blocking: resolves names and binds the socket).
fn build_node(config: &DhtConfig) -> io::Result<(mainline::Dht, u16)> {
    let mut bootstrap: Vec<SocketAddrV4> = resolve_v4(&config.bootstrap);
    if let Some(path) = &config.state_file {
        let saved = read_state(path);
        debug!(nodes = saved.len(), "DHT nodes read from the state file");
        bootstrap.extend(
            saved
                .into_iter()
                .filter(|a| !bootstrap.contains(a))
                .take(MAX_SAVED_BOOTSTRAP)
                .collect::<Vec<_>>(),
        );
    }
    if bootstrap.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no bootstrap node could be resolved",
        ));
    }
    let mut builder = mainline::Dht::builder();
    builder.bootstrap(&bootstrap).port(config.port);
    if let Some(address) = config.bind_address {
        builder.bind_address(address);
    }
    let node = match builder.build() {
        Ok(node) => node,
        Err(e) if config.port != 0 => {
            debug!(
                port = config.port,
                "DHT port taken ({e}); using any free port"
            );
            builder.port(0).build()?
        }
        Err(e) => return Err(e),
    };
    #[allow(deprecated)] // The blocking call is fine here: this runs on a blocking thread.
    let port = node.info().local_addr().port();
    Ok((node, port))
}

/// Resolves `host:port` strings to IPv4 addresses; names that do not resolve are logged and
/// skipped (no network is not an error).
fn resolve_v4(names: &[String]) -> Vec<SocketAddrV4> {
    let mut out = Vec::new();
    for name in names {
        match name.to_socket_addrs() {
            Ok(addrs) => {
                for addr in addrs {
                    if let SocketAddr::V4(v4) = addr {
                        if !out.contains(&v4) {
                            out.push(v4);
                        }
                    }
                }
            }
            Err(e) => debug!(%name, "DHT bootstrap node not resolved: {e}"),
        }
    }
    out
}

fn read_state(path: &Path) -> Vec<SocketAddrV4> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() <= dht_state::MAX_FILE_LEN as u64 => {}
        Ok(_) => {
            warn!(path = %path.display(), "DHT state file too large: ignored");
            return Vec::new();
        }
        Err(_) => return Vec::new(),
    }
    std::fs::read(path)
        .map(|bytes| dht_state::parse(&bytes))
        .unwrap_or_default()
}

/// Writes the state file through a temporary file and a rename, so a crash mid-write never
/// leaves half a file.
fn write_state(path: &Path, nodes: &[String]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, dht_state::format(nodes))?;
    std::fs::rename(&tmp, path)
}

/// One torrent's DHT task: look up peers, announce, wait, repeat, until the torrent stops.
/// Private torrents (BEP 27) never use the DHT; a magnet's task ends as soon as its metadata
/// says private.
pub(crate) async fn run(dht: Dht, link: TorrentLink) {
    if link.private {
        return;
    }
    // A second view of the torrent just to notice it stopping (or turning out private)
    // while a query runs.
    let mut watch = link.clone();
    let Some((node, _)) = (tokio::select! {
        node = dht.node() => node,
        _ = watch.stopped_or_private() => return,
    }) else {
        return;
    };
    let target = Id::from(link.info_hash.0);
    let started = Instant::now();
    let mut first_found = false;
    let mut starved_wait = LOOKUP_INTERVAL_STARVED_FIRST;
    loop {
        // Lookup first, then announce, seed or not: the announce goes to the nodes whose
        // tokens the lookup just collected, so it costs one round trip instead of a
        // second walk through the DHT (mainline's announce alone walks it with `get`),
        // and lands no later than it would on its own.
        let lookup = lookup(&node, target, &link, started, &mut first_found);
        let alive = tokio::select! {
            alive = lookup => alive,
            _ = watch.stopped_or_private() => return,
        };
        if !alive || !announce(&node, target, &link, &mut watch).await {
            return;
        }
        let wait = if link.stats().engine.connected_peers == 0 {
            let wait = starved_wait;
            starved_wait = (starved_wait * 2).min(LOOKUP_INTERVAL_STARVED);
            wait
        } else {
            starved_wait = LOOKUP_INTERVAL_STARVED_FIRST;
            LOOKUP_INTERVAL
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = watch.stopped_or_private() => return,
        }
    }
}

/// Announces our listen port for the torrent; false once the torrent has stopped.
async fn announce(
    node: &AsyncDht,
    target: Id,
    link: &TorrentLink,
    watch: &mut TorrentLink,
) -> bool {
    let announce = tokio::time::timeout(
        QUERY_TIMEOUT,
        node.announce_peer(target, Some(link.listen_port)),
    );
    tokio::select! {
        result = announce => match result {
            Ok(Ok(_)) => debug!("announced on the DHT"),
            Ok(Err(e)) => debug!("DHT announce failed: {e}"),
            Err(_) => debug!("DHT announce timed out"),
        },
        _ = watch.stopped_or_private() => return false,
    }
    true
}

/// One `get_peers` lookup, handing each batch of peers to the driver as it arrives; false
/// once the torrent has stopped.
async fn lookup(
    node: &AsyncDht,
    target: Id,
    link: &TorrentLink,
    started: Instant,
    first_found: &mut bool,
) -> bool {
    let public_ip = node.info().await.public_address().map(|a| *a.ip());
    let mut stream = node.get_peers(target);
    let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
    let mut found = 0usize;
    loop {
        let batch = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(_) => {
                debug!("DHT lookup timed out");
                break;
            }
        };
        let peers: Vec<SocketAddr> = batch
            .into_iter()
            .filter(|&peer| !is_own(peer, link.listen_port, public_ip))
            .map(SocketAddr::V4)
            .collect();
        if peers.is_empty() {
            continue;
        }
        found += peers.len();
        if !*first_found {
            *first_found = true;
            info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "DHT: first peers found"
            );
        }
        if !link.found(PeerSource::Dht, peers).await {
            return false;
        }
    }
    debug!(found, "DHT lookup done");
    true
}

/// True for our own announce coming back from a lookup: our listen port at a loopback or
/// unspecified address, or at the public address other nodes see us at. (Another client on
/// this host or behind our NAT has another port.)
fn is_own(peer: SocketAddrV4, listen_port: u16, public_ip: Option<Ipv4Addr>) -> bool {
    let ip = *peer.ip();
    peer.port() == listen_port && (ip.is_loopback() || ip.is_unspecified() || Some(ip) == public_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_announce_is_recognised() {
        let public = Some(Ipv4Addr::new(203, 0, 113, 5));
        let own = |addr: &str| is_own(addr.parse().unwrap(), 6881, public);
        assert!(own("127.0.0.1:6881"));
        assert!(own("127.0.0.2:6881"));
        assert!(own("203.0.113.5:6881"));
        assert!(!own("127.0.0.1:6882"), "another client on this host");
        assert!(!own("203.0.113.5:6882"), "another client behind our NAT");
        assert!(!own("198.51.100.1:6881"), "someone else on our port");
        assert!(!is_own("10.0.0.1:6881".parse().unwrap(), 6881, None));
    }

    #[test]
    fn state_file_round_trip_and_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dht.nodes");
        let nodes: Vec<String> = (0..300)
            .map(|i| format!("10.0.{}.{}:6881", i / 256, i % 256))
            .collect();
        write_state(&path, &nodes).unwrap();
        let back = read_state(&path);
        assert_eq!(back.len(), dht_state::MAX_NODES);
        assert_eq!(back[0], "10.0.0.0:6881".parse::<SocketAddrV4>().unwrap());
        std::fs::write(&path, vec![b'x'; dht_state::MAX_FILE_LEN + 1]).unwrap();
        assert!(read_state(&path).is_empty());
        assert!(read_state(&dir.path().join("missing")).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_magnet_whose_metadata_says_private_leaves_the_dht() {
        let testnet = mainline::Testnet::builder(8).build().unwrap();
        let dht = Dht::start(DhtConfig {
            bootstrap: testnet.bootstrap.clone(),
            port: 0,
            state_file: None,
            bind_address: Some(Ipv4Addr::LOCALHOST),
        });
        let (link, driver) = super::super::test_link::magnet(shoal_core::InfoHash([9; 20]));
        let task = tokio::spawn(run(dht.clone(), link));
        // Let it start its lookups with the metadata unknown.
        tokio::time::timeout(Duration::from_secs(10), async {
            while dht.port().is_none() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the DHT node starts");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!task.is_finished(), "ended before the metadata arrived");

        driver
            .metadata
            .send_replace(super::super::test_link::metadata(true));
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the DHT task ends within 5 s of private metadata")
            .unwrap();
        dht.shutdown().await;
    }
}
